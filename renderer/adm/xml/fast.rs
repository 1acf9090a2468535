//! A fast reader for the common shape of an Objects `audioBlockFormat`, the
//! element a long master repeats hundreds of thousands of times (Pro Tools
//! writes one per object every few tens of milliseconds):
//!
//! ```xml
//! <audioBlockFormat audioBlockFormatID="AB_00031001_00000002" rtime="00:00:00.02000" duration="00:00:00.02000">
//!   <position coordinate="azimuth">-179.64</position>
//!   <position coordinate="elevation">0.0</position>
//!   <cartesian>0</cartesian>
//!   <width>40.0</width>
//!   <jumpPosition interpolationLength="0.005">1</jumpPosition>
//! </audioBlockFormat>
//! ```
//!
//! It answers only where it is sure that the general parser
//! ([`super::Parser::block`]) reads the block to the same value with no
//! notice; for anything else — a comment, CDATA, an entity, a namespace
//! prefix, an element or attribute it does not know, a repeated element, a
//! value that does not convert, a block that would be noticed or refused —
//! it answers `None` and the general parser reads that block. So it changes
//! speed only: the rules stay in the general parser, and the value
//! conversions are the general parser's own functions.

use super::{Conv, Coord, boolean, integer, memo_convert, number, seconds, time};
use crate::adm::elements::{BlockFormat, BlockKind, JumpPosition, ObjectBlock, ObjectPosition, Origin};
use crate::time::Time;

/// Reads the Objects audioBlockFormat at the start of `text`, a block of
/// channel `channel_id` that starts at line `line`: the block and the bytes
/// it took, or `None` (see the module comment). `memo` are the general
/// parser's last `duration` and `interpolationLength` conversions.
pub(super) fn objects_block(
    text: &str,
    channel_id: &str,
    line: u32,
    memo: &mut [(String, Time); 2],
) -> Option<(BlockFormat, usize)> {
    let mut s = Scan {
        s: text,
        b: text.as_bytes(),
        i: 0,
    };
    s.eat(b'<')?;
    if s.name()? != "audioBlockFormat" {
        return None;
    }
    let (mut id, mut rtime, mut duration) = (None, None, None);
    let empty = s.attrs(|k, v| {
        let slot = match k {
            "audioBlockFormatID" => &mut id,
            "rtime" => &mut rtime,
            "duration" => &mut duration,
            // lstart/lduration are noticed; others left to the general parser
            _ => return None,
        };
        slot.replace(v).is_none().then_some(())
    })?;
    if empty {
        return None;
    }
    // BS.2076 §6: an ID that names another channel is noticed
    let id: &str = id?.trim();
    if !id.starts_with("AB_") || id.get(3..11) != channel_id.get(3..11) {
        return None;
    }
    let rtime = convert(rtime, time)?;
    let duration = match duration {
        Some(v) => Some(memo_convert(&mut memo[0], v, time).ok()?),
        None => None,
    };

    let mut b = ObjectBlock::default();
    let mut coords: [Option<f64>; 6] = [None; 6];
    let mut seen = 0u32;
    let mut cartesian_flag = None;
    loop {
        s.ws();
        if s.b.get(s.i..s.i + 2) == Some(b"</") {
            s.end("audioBlockFormat")?;
            break;
        }
        s.eat(b'<')?;
        let name = s.name()?;
        let bit = match name {
            "position" => {
                let mut coord = None;
                let empty = s.attrs(|k, v| (k == "coordinate" && coord.replace(v).is_none()).then_some(()))?;
                if empty {
                    return None;
                }
                let c = Coord::parse(coord?).ok()?;
                let v = number(s.text_then_end(name)?).ok()?;
                if coords.get_mut(c as usize)?.replace(v).is_some() {
                    return None;
                }
                continue;
            }
            "cartesian" => 0,
            "width" => 1,
            "height" => 2,
            "depth" => 3,
            "gain" => 4,
            "diffuse" => 5,
            "jumpPosition" => 6,
            "screenRef" => 7,
            "importance" => 8,
            "headLocked" => 9,
            _ => return None,
        };
        if seen & (1 << bit) != 0 {
            return None;
        }
        seen |= 1 << bit;
        let mut length = None;
        let empty = s.attrs(|k, v| {
            (name == "jumpPosition" && k == "interpolationLength" && length.replace(v).is_none()).then_some(())
        })?;
        if empty {
            return None;
        }
        let t = s.text_then_end(name)?;
        match name {
            "cartesian" => cartesian_flag = Some(boolean(t).ok()?),
            "width" => b.width = number(t).ok()?,
            "height" => b.height = number(t).ok()?,
            "depth" => b.depth = number(t).ok()?,
            "gain" => b.gain = number(t).ok()?,
            "diffuse" => b.diffuse = number(t).ok()?,
            "jumpPosition" => {
                let interpolation_length = match length {
                    Some(v) => Some(memo_convert(&mut memo[1], v, seconds).ok()?),
                    None => None,
                };
                b.jump_position = JumpPosition {
                    flag: boolean(t).ok()?,
                    interpolation_length,
                };
            }
            "screenRef" => b.screen_ref = boolean(t).ok()?,
            "importance" => b.importance = integer(t).ok()?,
            _ => b.head_locked = boolean(t).ok()?,
        }
    }
    let at = |c: Coord| coords.get(c as usize).copied().flatten();
    let polar = coords.get(..3)?.iter().any(Option::is_some);
    let cartesian = coords.get(3..)?.iter().any(Option::is_some);
    b.position = match (polar, cartesian) {
        (true, false) => ObjectPosition::Polar {
            azimuth: at(Coord::Azimuth)?,
            elevation: at(Coord::Elevation)?,
            distance: at(Coord::Distance).unwrap_or(1.0),
        },
        (false, true) => ObjectPosition::Cartesian {
            x: at(Coord::X)?,
            y: at(Coord::Y)?,
            z: at(Coord::Z).unwrap_or(0.0),
        },
        // both systems, or no position: refused by the general parser
        _ => return None,
    };
    b.cartesian = cartesian;
    // a contradicting cartesian flag is noticed
    if cartesian_flag.is_some_and(|f| f != cartesian) {
        return None;
    }
    let block = BlockFormat {
        id: id.to_owned(),
        rtime,
        duration,
        kind: BlockKind::Objects(b),
        origin: Origin {
            line,
            common_definition: false,
        },
    };
    Some((block, s.i))
}

/// `conv` of an optional value; `None` when it does not convert.
fn convert<T>(v: Option<&str>, conv: fn(&str) -> Conv<T>) -> Option<Option<T>> {
    match v {
        Some(v) => conv(v).ok().map(Some),
        None => Some(None),
    }
}

/// A cursor over the text; every method answers `None` for what it does
/// not read.
struct Scan<'t> {
    s: &'t str,
    b: &'t [u8],
    i: usize,
}

impl<'t> Scan<'t> {
    /// Skips whitespace; whether there was any.
    fn ws(&mut self) -> bool {
        let start = self.i;
        while let Some(b' ' | b'\t' | b'\r' | b'\n') = self.b.get(self.i) {
            self.i += 1;
        }
        self.i > start
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.b.get(self.i) == Some(&c)).then(|| self.i += 1)
    }

    /// A name without a namespace prefix (ASCII letters, digits, `_-.`).
    fn name(&mut self) -> Option<&'t str> {
        let start = self.i;
        while let Some(c) = self.b.get(self.i) {
            if !(c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.')) {
                break;
            }
            self.i += 1;
        }
        // ASCII bytes: the slice ends on character boundaries
        self.s.get(start..self.i).filter(|n| !n.is_empty())
    }

    /// The attributes of the start tag whose name was just read, each given
    /// to `f` (which answers `None` to give up), up to `>` or `/>`: whether
    /// the element is self-closing. Gives up on a value that XML would
    /// normalise or unescape (`&`, tabs, line ends) or that holds `<`.
    fn attrs(&mut self, mut f: impl FnMut(&'t str, &'t str) -> Option<()>) -> Option<bool> {
        loop {
            let spaced = self.ws();
            match self.b.get(self.i)? {
                b'>' => {
                    self.i += 1;
                    return Some(false);
                }
                b'/' => {
                    self.i += 1;
                    self.eat(b'>')?;
                    return Some(true);
                }
                _ if !spaced => return None,
                _ => {}
            }
            let key = self.name()?;
            self.ws();
            self.eat(b'=')?;
            self.ws();
            let quote = *self.b.get(self.i)?;
            if quote != b'"' && quote != b'\'' {
                return None;
            }
            let start = self.i + 1;
            let len = memchr::memchr(quote, self.b.get(start..)?)?;
            let value = self.b.get(start..start + len)?;
            if value.iter().any(|c| matches!(c, b'&' | b'<' | b'\t' | b'\n' | b'\r')) {
                return None;
            }
            self.i = start + len + 1;
            f(key, self.s.get(start..start + len)?)?;
        }
    }

    /// The text up to the next `<` (no entity), then the end tag `</name>`.
    fn text_then_end(&mut self, name: &str) -> Option<&'t str> {
        let start = self.i;
        // the first '<' or '&' (an entity: left to the general parser)
        let len = memchr::memchr2(b'<', b'&', self.b.get(start..)?)?;
        if self.b[start + len] == b'&' {
            return None;
        }
        let text = self.s.get(start..start + len)?;
        self.i = start + len;
        self.end(name)?;
        Some(text)
    }

    /// `</name>`, whitespace allowed before `>`.
    fn end(&mut self, name: &str) -> Option<()> {
        self.eat(b'<')?;
        self.eat(b'/')?;
        if self.name()? != name {
            return None;
        }
        self.ws();
        self.eat(b'>')
    }
}

#[cfg(test)]
mod tests {
    use super::super::{BlockState, TypeDefinition, parse_blocks, parse_one_block};
    use super::*;
    use std::collections::VecDeque;

    const DEMO: &str = r#"<audioBlockFormat audioBlockFormatID="AB_00031001_00000001" rtime="00:00:00.00000" duration="00:00:00.02000">
          <position coordinate="azimuth">-180.0</position>
          <position coordinate="elevation">0.0</position>
          <position coordinate="distance">1.0</position>
          <cartesian>0</cartesian>
          <width>40.0</width>
          <height>20.0</height>
        </audioBlockFormat>"#;

    /// The general parser's reading of the block at the start of `text`,
    /// and whether it noticed anything.
    fn general(text: &str, line: u32) -> Option<(BlockFormat, usize, bool)> {
        let mut state = BlockState::default();
        let mut out = VecDeque::new();
        let used = parse_one_block(
            text,
            "t.xml",
            line,
            TypeDefinition::Objects,
            "AC_00031001",
            &mut state,
            &mut out,
        )
        .ok()?;
        let block = out.pop_front()?;
        Some((block, used, !state.notices.is_empty()))
    }

    #[test]
    fn reads_the_demo_shape_as_the_general_parser_does() {
        let text = format!("{DEMO}\n  <!-- next -->");
        let mut memo = Default::default();
        let (fast, used) = objects_block(&text, "AC_00031001", 7, &mut memo).expect("the demo's shape is read");
        let (want, want_used, noticed) = general(&text, 7).unwrap();
        assert_eq!((fast, used), (want, want_used));
        assert!(!noticed);
        assert_eq!(&text[used..used + 1], "\n");
    }

    /// Pieces a block is made of, and damage done to them: the fast path
    /// must read exactly what the general parser reads, or leave the block
    /// to it, whatever the mix.
    #[test]
    fn equals_the_general_parser_on_generated_blocks() {
        let mut x = 0x2545_f491_u64;
        let mut rnd = move |n: usize| (crate::rng::xorshift64(&mut x) % n as u64) as usize;
        const ATTRS: [&str; 12] = [
            r#"audioBlockFormatID="AB_00031001_00000007""#,
            r#"audioBlockFormatID='AB_00031001_00000008'"#,
            r#"audioBlockFormatID="AB_00041001_00000001""#,
            r#"audioBlockFormatID=" AB_00031001_00000009 ""#,
            r#"rtime="00:00:01.50000""#,
            r#"rtime = '00:00:00.8S375'"#,
            r#"rtime="soon""#,
            r#"duration="00:00:00.02000""#,
            r#"duration="00:00:00.02&#48;00""#,
            r#"lstart="00:00:00.00000""#,
            r#"other="x""#,
            r#"duration="00:00:00.04000""#,
        ];
        const CHILDREN: [&str; 34] = [
            r#"<position coordinate="azimuth">30.5</position>"#,
            r#"<position coordinate="elevation">-10</position>"#,
            r#"<position coordinate="distance"> 0.5 </position>"#,
            r#"<position coordinate="X">0.25</position>"#,
            r#"<position coordinate="Y">-1</position>"#,
            r#"<position coordinate="Z">1e-1</position>"#,
            r#"<position coordinate='azimuth' >-110</position >"#,
            r#"<position coordinate="azimuth" screenEdgeLock="left">0</position>"#,
            r#"<position coordinate="elevation" bound="max">10</position>"#,
            r#"<position coordinate="height">1</position>"#,
            r#"<position>1</position>"#,
            r#"<position coordinate="azimuth">NaN</position>"#,
            r#"<position coordinate="azimuth">&#49;0</position>"#,
            "<cartesian>1</cartesian>",
            "<cartesian>false</cartesian>",
            "<width>20</width>",
            "<height>10</height>",
            "<depth>0.2</depth>",
            "<gain>0.5</gain>",
            r#"<gain gainUnit="dB">-6</gain>"#,
            "<diffuse>0.3</diffuse>",
            "<jumpPosition>1</jumpPosition>",
            r#"<jumpPosition interpolationLength="0.005">1</jumpPosition>"#,
            r#"<jumpPosition interpolationLength="-1">1</jumpPosition>"#,
            "<screenRef>1</screenRef>",
            "<importance>5</importance>",
            "<headLocked>1</headLocked>",
            "<channelLock>1</channelLock>",
            "<width/>",
            "<width>wide</width>",
            "<!-- a comment -->",
            "<![CDATA[x]]>",
            "<adm:width>3</adm:width>",
            "stray text",
        ];
        const GOOD: [usize; 11] = [13, 14, 15, 16, 17, 18, 20, 21, 22, 24, 25];
        let (mut fast_read, mut cases) = (0, 0);
        for _ in 0..20_000 {
            let mut text = String::from("<audioBlockFormat");
            // mostly the regular shape (ID, times; a whole position; a few
            // other elements), with now and then any attribute or element
            let mut attrs = vec![rnd(2), 4, [7, 11][rnd(2)]];
            if rnd(3) == 0 {
                attrs.push(rnd(ATTRS.len()));
            }
            for _ in 0..attrs.len() {
                let a = attrs.swap_remove(rnd(attrs.len()));
                text.push_str([" ", "\n   ", "  "][rnd(3)]);
                text.push_str(ATTRS[a]);
            }
            text.push_str([">", " >", "/>"][if rnd(40) == 0 { 2 } else { rnd(2) }]);
            let mut children: Vec<usize> = if rnd(2) == 0 { vec![0, 1] } else { vec![3, 4] };
            if rnd(2) == 0 {
                children.push(if children[0] == 0 { 2 } else { 5 });
            }
            for _ in 0..rnd(4) {
                children.push(GOOD[rnd(GOOD.len())]);
            }
            if rnd(3) == 0 {
                children.push(rnd(CHILDREN.len()));
            }
            for _ in 0..children.len() {
                let c = children.swap_remove(rnd(children.len()));
                text.push_str(["\n    ", "", " \r\n\t"][rnd(3)]);
                text.push_str(CHILDREN[c]);
            }
            text.push_str(
                ["\n</audioBlockFormat>", "</audioBlockFormat >", "</audioBlockFormt>"]
                    [if rnd(30) == 0 { 2 } else { rnd(2) }],
            );
            text.push_str(["", "\n<audioBlockFormat", " trailing"][rnd(3)]);
            // now and then a cut-off block, as the end of a read leaves one
            if rnd(10) == 0 {
                let mut cut = rnd(text.len());
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.truncate(cut);
            }
            cases += 1;
            let mut memo = Default::default();
            let line = 1 + rnd(1000) as u32;
            if let Some((block, used)) = objects_block(&text, "AC_00031001", line, &mut memo) {
                fast_read += 1;
                let Some((want, want_used, noticed)) = general(&text, line) else {
                    panic!("read by the fast path only:\n{text}");
                };
                assert_eq!(block, want, "{text}");
                assert_eq!(used, want_used, "{text}");
                assert!(!noticed, "the general parser noticed something:\n{text}");
            }
        }
        // both kinds of answer were exercised
        assert!(
            fast_read > 4_000 && fast_read < cases - 4_000,
            "{fast_read} of {cases} read fast"
        );
    }

    #[test]
    fn parse_blocks_mixes_both_paths_with_lines_and_offsets() {
        // a fast block, a commented one, one the fast path leaves (dB gain),
        // a fast one again, then a broken one: the blocks, their lines, the
        // error's offset
        let b = |n: u32, extra: &str| {
            format!(
                "<audioBlockFormat audioBlockFormatID=\"AB_00031001_{n:08}\" rtime=\"00:00:0{n}.00000\" duration=\"00:00:01.00000\">\n  <position coordinate=\"azimuth\">{n}</position>\n  <position coordinate=\"elevation\">0</position>{extra}\n</audioBlockFormat>\n"
            )
        };
        let broken =
            "<audioBlockFormat audioBlockFormatID=\"AB_00031001_00000005\">\n<width>x</width></audioBlockFormat>\n";
        let text = format!(
            "{}<!-- two\nlines -->\n{}{}{}",
            b(1, ""),
            b(2, ""),
            b(3, "<gain gainUnit=\"dB\">-6</gain>"),
            b(4, "")
        );
        let whole = format!("{text}{broken}");
        let mut state = BlockState::default();
        let mut out = VecDeque::new();
        let r = parse_blocks(
            &whole,
            "t.xml",
            10,
            TypeDefinition::Objects,
            "AC_00031001",
            &mut state,
            &mut out,
        );
        let (_, at, line) = r.expect_err("the last block is refused");
        assert_eq!(at, text.len(), "the error names the refused block's start");
        assert_eq!(line, 28, "and its line");
        let lines: Vec<u32> = out.iter().map(|b| b.origin.line).collect();
        assert_eq!(lines, vec![10, 16, 20, 24]);
        let gains: Vec<f64> = out
            .iter()
            .map(|b| match &b.kind {
                BlockKind::Objects(o) => o.gain,
                _ => f64::NAN,
            })
            .collect();
        assert_eq!(gains[..2], [1.0, 1.0]);
        assert!((gains[2] - 10f64.powf(-0.3)).abs() < 1e-15);
    }
}
