//! Writing ADM XML (BS.2076-2) from a [`Document`]: what admix puts in the
//! `axml` chunk of its own files — the DirectSpeakers description of a
//! render, and the demo master. Every element the data model holds is
//! written, so `xml::parse(write(doc))` gives the document back (tested).
//! Elements that come from the built-in common definitions are not written
//! (files reference them, as BS.2094 intends).

use super::Document;
use super::elements::*;
use crate::time::Time;
use std::fmt::Write;

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c => o.push(c),
        }
    }
    o
}

/// ADM time text: clock form `hh:mm:ss.fffff` when the time has an exact
/// decimal expansion of at most 9 digits, else the fractional form
/// `hh:mm:ss.zzzzzSfffff` (BS.2076-2 §…) with the time's own denominator.
pub fn time_text(t: Time) -> String {
    let (num, den) = (t.numer(), t.denom());
    let neg = num < 0;
    let num = num.unsigned_abs();
    let den = den.unsigned_abs().max(1);
    let whole = num / den;
    let rem = num % den;
    let (h, m, s) = (whole / 3600, (whole / 60) % 60, whole % 60);
    let sign = if neg { "-" } else { "" };
    // exact decimal with ≤ 9 digits?
    for digits in 5..=9u32 {
        let scale = 10u64.pow(digits);
        if (rem as u128 * scale as u128).is_multiple_of(den as u128) {
            let frac = (rem as u128 * scale as u128 / den as u128) as u64;
            return format!("{sign}{h:02}:{m:02}:{s:02}.{frac:0width$}", width = digits as usize);
        }
    }
    format!("{sign}{h:02}:{m:02}:{s:02}.{rem}S{den}")
}

fn f(v: f64) -> String {
    // shortest round-trip representation
    let s = format!("{v}");
    if s.contains('.') || s.contains('e') || s.contains("inf") || s.contains("NaN") {
        s
    } else {
        format!("{s}.0")
    }
}

fn td_attrs(t: TypeDefinition) -> String {
    format!("typeLabel=\"{}\" typeDefinition=\"{}\"", t.label(), t.name())
}

fn edge_attrs(sel: &ScreenEdgeLock, horizontal: bool) -> String {
    match (horizontal, sel.horizontal, sel.vertical) {
        (true, Some(HorizontalEdge::Left), _) => " screenEdgeLock=\"left\"".into(),
        (true, Some(HorizontalEdge::Right), _) => " screenEdgeLock=\"right\"".into(),
        (false, _, Some(VerticalEdge::Top)) => " screenEdgeLock=\"top\"".into(),
        (false, _, Some(VerticalEdge::Bottom)) => " screenEdgeLock=\"bottom\"".into(),
        _ => String::new(),
    }
}

fn write_block(o: &mut String, b: &BlockFormat) {
    let mut attrs = format!("audioBlockFormatID=\"{}\"", esc(&b.id));
    if let (Some(r), Some(d)) = (b.rtime, b.duration) {
        let _ = write!(attrs, " rtime=\"{}\" duration=\"{}\"", time_text(r), time_text(d));
    }
    let _ = writeln!(o, "        <audioBlockFormat {attrs}>");
    let p = "          ";
    match &b.kind {
        BlockKind::Objects(ob) => {
            match ob.position {
                ObjectPosition::Polar {
                    azimuth,
                    elevation,
                    distance,
                } => {
                    let sel = &ob.screen_edge_lock;
                    let _ = writeln!(
                        o,
                        "{p}<position coordinate=\"azimuth\"{}>{}</position>",
                        edge_attrs(sel, true),
                        f(azimuth)
                    );
                    let _ = writeln!(
                        o,
                        "{p}<position coordinate=\"elevation\"{}>{}</position>",
                        edge_attrs(sel, false),
                        f(elevation)
                    );
                    let _ = writeln!(o, "{p}<position coordinate=\"distance\">{}</position>", f(distance));
                }
                ObjectPosition::Cartesian { x, y, z } => {
                    let sel = &ob.screen_edge_lock;
                    let _ = writeln!(
                        o,
                        "{p}<position coordinate=\"X\"{}>{}</position>",
                        edge_attrs(sel, true),
                        f(x)
                    );
                    let _ = writeln!(o, "{p}<position coordinate=\"Y\">{}</position>", f(y));
                    let _ = writeln!(
                        o,
                        "{p}<position coordinate=\"Z\"{}>{}</position>",
                        edge_attrs(sel, false),
                        f(z)
                    );
                }
            }
            let _ = writeln!(o, "{p}<cartesian>{}</cartesian>", u8::from(ob.cartesian));
            for (name, v, default) in [
                ("width", ob.width, 0.0),
                ("height", ob.height, 0.0),
                ("depth", ob.depth, 0.0),
                ("gain", ob.gain, 1.0),
                ("diffuse", ob.diffuse, 0.0),
            ] {
                if v != default {
                    let _ = writeln!(o, "{p}<{name}>{}</{name}>", f(v));
                }
            }
            if let Some(cl) = ob.channel_lock {
                match cl.max_distance {
                    Some(md) => {
                        let _ = writeln!(o, "{p}<channelLock maxDistance=\"{}\">1</channelLock>", f(md));
                    }
                    None => {
                        let _ = writeln!(o, "{p}<channelLock>1</channelLock>");
                    }
                }
            }
            if let Some(d) = ob.object_divergence {
                let mut a = String::new();
                if let Some(r) = d.azimuth_range {
                    let _ = write!(a, " azimuthRange=\"{}\"", f(r));
                }
                if let Some(r) = d.position_range {
                    let _ = write!(a, " positionRange=\"{}\"", f(r));
                }
                let _ = writeln!(o, "{p}<objectDivergence{a}>{}</objectDivergence>", f(d.value));
            }
            if ob.jump_position.flag {
                match ob.jump_position.interpolation_length {
                    Some(l) => {
                        let _ = writeln!(
                            o,
                            "{p}<jumpPosition interpolationLength=\"{}\">1</jumpPosition>",
                            f(l.as_f64())
                        );
                    }
                    None => {
                        let _ = writeln!(o, "{p}<jumpPosition>1</jumpPosition>");
                    }
                }
            }
            if ob.screen_ref {
                let _ = writeln!(o, "{p}<screenRef>1</screenRef>");
            }
            if ob.importance != 10 {
                let _ = writeln!(o, "{p}<importance>{}</importance>", ob.importance);
            }
            if !ob.zone_exclusion.is_empty() {
                let _ = writeln!(o, "{p}<zoneExclusion>");
                for z in &ob.zone_exclusion {
                    match *z {
                        Zone::Cartesian {
                            min_x,
                            max_x,
                            min_y,
                            max_y,
                            min_z,
                            max_z,
                        } => {
                            let _ = writeln!(
                                o,
                                "{p}  <zone minX=\"{}\" maxX=\"{}\" minY=\"{}\" maxY=\"{}\" minZ=\"{}\" maxZ=\"{}\"/>",
                                f(min_x),
                                f(max_x),
                                f(min_y),
                                f(max_y),
                                f(min_z),
                                f(max_z)
                            );
                        }
                        Zone::Polar {
                            min_elevation,
                            max_elevation,
                            min_azimuth,
                            max_azimuth,
                        } => {
                            let _ = writeln!(
                                o,
                                "{p}  <zone minElevation=\"{}\" maxElevation=\"{}\" minAzimuth=\"{}\" maxAzimuth=\"{}\"/>",
                                f(min_elevation),
                                f(max_elevation),
                                f(min_azimuth),
                                f(max_azimuth)
                            );
                        }
                    }
                }
                let _ = writeln!(o, "{p}</zoneExclusion>");
            }
            if ob.head_locked {
                let _ = writeln!(o, "{p}<headLocked>1</headLocked>");
            }
            if let Some(hv) = ob.headphone_virtualise {
                let drr = hv.drr.map(|d| format!(" DRR=\"{}\"", f(d))).unwrap_or_default();
                let _ = writeln!(o, "{p}<headphoneVirtualise bypass=\"{}\"{drr}/>", u8::from(hv.bypass));
            }
        }
        BlockKind::DirectSpeakers(ds) => {
            for l in &ds.speaker_labels {
                let _ = writeln!(o, "{p}<speakerLabel>{}</speakerLabel>", esc(l));
            }
            let coord = |o: &mut String, name: &str, c: &BoundCoordinate, edge: String| {
                let _ = writeln!(o, "{p}<position coordinate=\"{name}\"{edge}>{}</position>", f(c.value));
                if let Some(m) = c.min {
                    let _ = writeln!(
                        o,
                        "{p}<position coordinate=\"{name}\" bound=\"min\">{}</position>",
                        f(m)
                    );
                }
                if let Some(m) = c.max {
                    let _ = writeln!(
                        o,
                        "{p}<position coordinate=\"{name}\" bound=\"max\">{}</position>",
                        f(m)
                    );
                }
            };
            let sel = &ds.screen_edge_lock;
            match &ds.position {
                SpeakerPosition::Polar {
                    azimuth,
                    elevation,
                    distance,
                } => {
                    coord(o, "azimuth", azimuth, edge_attrs(sel, true));
                    coord(o, "elevation", elevation, edge_attrs(sel, false));
                    coord(o, "distance", distance, String::new());
                }
                SpeakerPosition::Cartesian { x, y, z } => {
                    coord(o, "X", x, edge_attrs(sel, true));
                    coord(o, "Y", y, String::new());
                    coord(o, "Z", z, edge_attrs(sel, false));
                    let _ = writeln!(o, "{p}<cartesian>1</cartesian>");
                }
            }
            if ds.gain != 1.0 {
                let _ = writeln!(o, "{p}<gain>{}</gain>", f(ds.gain));
            }
        }
        BlockKind::Hoa(h) => {
            if let Some(v) = &h.equation {
                let _ = writeln!(o, "{p}<equation>{}</equation>", esc(v));
            }
            if let Some(v) = h.order {
                let _ = writeln!(o, "{p}<order>{v}</order>");
            }
            if let Some(v) = h.degree {
                let _ = writeln!(o, "{p}<degree>{v}</degree>");
            }
            if let Some(v) = &h.normalization {
                let _ = writeln!(o, "{p}<normalization>{}</normalization>", esc(v));
            }
        }
        BlockKind::Matrix(_) | BlockKind::Binaural => {}
    }
    let _ = writeln!(o, "        </audioBlockFormat>");
}

/// The whole document as ADM XML (`ebuCoreMain` wrapper, version BS.2076-2).
pub fn write(doc: &Document) -> String {
    let mut o = String::new();
    o.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    o.push_str("<ebuCoreMain xmlns=\"urn:ebu:metadata-schema:ebuCore_2016\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" schema=\"EBU_CORE_20161117.xsd\" version=\"1.7\">\n");
    o.push_str("  <coreMetadata>\n    <format>\n");
    o.push_str("      <audioFormatExtended version=\"ITU-R_BS.2076-2\">\n");
    for p in &doc.programmes {
        let mut a = format!(
            "audioProgrammeID=\"{}\" audioProgrammeName=\"{}\"",
            esc(&p.id),
            esc(&p.name)
        );
        if let Some(l) = &p.language {
            let _ = write!(a, " audioProgrammeLanguage=\"{}\"", esc(l));
        }
        if let Some(t) = p.start {
            let _ = write!(a, " start=\"{}\"", time_text(t));
        }
        if let Some(t) = p.end {
            let _ = write!(a, " end=\"{}\"", time_text(t));
        }
        let _ = writeln!(o, "        <audioProgramme {a}>");
        for r in &p.content_refs {
            let _ = writeln!(o, "          <audioContentIDRef>{}</audioContentIDRef>", esc(r));
        }
        let _ = writeln!(o, "        </audioProgramme>");
    }
    for c in &doc.contents {
        let _ = writeln!(
            o,
            "        <audioContent audioContentID=\"{}\" audioContentName=\"{}\">",
            esc(&c.id),
            esc(&c.name)
        );
        for r in &c.object_refs {
            let _ = writeln!(o, "          <audioObjectIDRef>{}</audioObjectIDRef>", esc(r));
        }
        if let Some(d) = c.dialogue {
            let (v, attr) = match d {
                Dialogue::NonDialogue => (0, "nonDialogueContentKind=\"0\""),
                Dialogue::Dialogue => (1, "dialogueContentKind=\"0\""),
                Dialogue::Mixed => (2, "mixedContentKind=\"0\""),
            };
            let _ = writeln!(o, "          <dialogue {attr}>{v}</dialogue>");
        }
        let _ = writeln!(o, "        </audioContent>");
    }
    for ob in &doc.objects {
        let mut a = format!(
            "audioObjectID=\"{}\" audioObjectName=\"{}\"",
            esc(&ob.id),
            esc(&ob.name)
        );
        if let Some(t) = ob.start {
            let _ = write!(a, " start=\"{}\"", time_text(t));
        }
        if let Some(t) = ob.duration {
            let _ = write!(a, " duration=\"{}\"", time_text(t));
        }
        let _ = writeln!(o, "        <audioObject {a}>");
        for r in &ob.pack_refs {
            let _ = writeln!(o, "          <audioPackFormatIDRef>{}</audioPackFormatIDRef>", esc(r));
        }
        for r in &ob.object_refs {
            let _ = writeln!(o, "          <audioObjectIDRef>{}</audioObjectIDRef>", esc(r));
        }
        for r in &ob.complementary_refs {
            let _ = writeln!(
                o,
                "          <audioComplementaryObjectIDRef>{}</audioComplementaryObjectIDRef>",
                esc(r)
            );
        }
        if ob.gain != 1.0 {
            let _ = writeln!(o, "          <gain>{}</gain>", f(ob.gain));
        }
        if ob.mute {
            let _ = writeln!(o, "          <mute>1</mute>");
        }
        for r in &ob.track_uid_refs {
            let _ = writeln!(o, "          <audioTrackUIDRef>{}</audioTrackUIDRef>", esc(r));
        }
        let _ = writeln!(o, "        </audioObject>");
    }
    for p in doc.packs.iter().filter(|p| !p.origin.common_definition) {
        let _ = writeln!(
            o,
            "        <audioPackFormat audioPackFormatID=\"{}\" audioPackFormatName=\"{}\" {}>",
            esc(&p.id),
            esc(&p.name),
            td_attrs(p.type_definition)
        );
        for r in &p.channel_refs {
            let _ = writeln!(
                o,
                "          <audioChannelFormatIDRef>{}</audioChannelFormatIDRef>",
                esc(r)
            );
        }
        for r in &p.pack_refs {
            let _ = writeln!(o, "          <audioPackFormatIDRef>{}</audioPackFormatIDRef>", esc(r));
        }
        let _ = writeln!(o, "        </audioPackFormat>");
    }
    for c in doc.channels.iter().filter(|c| !c.origin.common_definition) {
        let _ = writeln!(
            o,
            "        <audioChannelFormat audioChannelFormatID=\"{}\" audioChannelFormatName=\"{}\" {}>",
            esc(&c.id),
            esc(&c.name),
            td_attrs(c.type_definition)
        );
        if let Some(lp) = c.frequency.low_pass {
            let _ = writeln!(
                o,
                "          <frequency typeDefinition=\"lowPass\">{}</frequency>",
                f(lp)
            );
        }
        if let Some(hp) = c.frequency.high_pass {
            let _ = writeln!(
                o,
                "          <frequency typeDefinition=\"highPass\">{}</frequency>",
                f(hp)
            );
        }
        for b in &c.blocks {
            write_block(&mut o, b);
        }
        let _ = writeln!(o, "        </audioChannelFormat>");
    }
    for s in doc.streams.iter().filter(|s| !s.origin.common_definition) {
        let _ = writeln!(
            o,
            "        <audioStreamFormat audioStreamFormatID=\"{}\" audioStreamFormatName=\"{}\" formatLabel=\"0001\" formatDefinition=\"PCM\">",
            esc(&s.id),
            esc(&s.name)
        );
        if let Some(r) = &s.channel_ref {
            let _ = writeln!(
                o,
                "          <audioChannelFormatIDRef>{}</audioChannelFormatIDRef>",
                esc(r)
            );
        }
        if let Some(r) = &s.pack_ref {
            let _ = writeln!(o, "          <audioPackFormatIDRef>{}</audioPackFormatIDRef>", esc(r));
        }
        for r in &s.track_format_refs {
            let _ = writeln!(o, "          <audioTrackFormatIDRef>{}</audioTrackFormatIDRef>", esc(r));
        }
        let _ = writeln!(o, "        </audioStreamFormat>");
    }
    for t in doc.track_formats.iter().filter(|t| !t.origin.common_definition) {
        let _ = writeln!(
            o,
            "        <audioTrackFormat audioTrackFormatID=\"{}\" audioTrackFormatName=\"{}\" formatLabel=\"0001\" formatDefinition=\"PCM\">",
            esc(&t.id),
            esc(&t.name)
        );
        if let Some(r) = &t.stream_ref {
            let _ = writeln!(
                o,
                "          <audioStreamFormatIDRef>{}</audioStreamFormatIDRef>",
                esc(r)
            );
        }
        let _ = writeln!(o, "        </audioTrackFormat>");
    }
    for u in &doc.track_uids {
        let mut a = format!("UID=\"{}\"", esc(&u.id));
        if let Some(r) = u.sample_rate {
            let _ = write!(a, " sampleRate=\"{r}\"");
        }
        if let Some(b) = u.bit_depth {
            let _ = write!(a, " bitDepth=\"{b}\"");
        }
        let _ = writeln!(o, "        <audioTrackUID {a}>");
        if let Some(r) = &u.track_format_ref {
            let _ = writeln!(o, "          <audioTrackFormatIDRef>{}</audioTrackFormatIDRef>", esc(r));
        }
        if let Some(r) = &u.channel_ref {
            let _ = writeln!(
                o,
                "          <audioChannelFormatIDRef>{}</audioChannelFormatIDRef>",
                esc(r)
            );
        }
        if let Some(r) = &u.pack_ref {
            let _ = writeln!(o, "          <audioPackFormatIDRef>{}</audioPackFormatIDRef>", esc(r));
        }
        let _ = writeln!(o, "        </audioTrackUID>");
    }
    o.push_str("      </audioFormatExtended>\n    </format>\n  </coreMetadata>\n</ebuCoreMain>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_text_forms() {
        assert_eq!(time_text(Time::parse("00:00:01.5").unwrap()), "00:00:01.50000");
        assert_eq!(time_text(Time::new(1, 3).unwrap()), "00:00:00.1S3");
        assert_eq!(time_text(Time::new(5208, 1_000_000).unwrap()), "00:00:00.005208");
        assert_eq!(time_text(Time::from_samples(480_001, 48000)), "00:00:10.1S48000");
        for t in ["00:00:00.1S3", "00:00:10.1S48000", "01:02:03.25000"] {
            let parsed = Time::parse(t).unwrap();
            assert_eq!(Time::parse(&time_text(parsed)).unwrap(), parsed);
        }
    }
}

#[cfg(test)]
mod round_trip {
    use crate::adm::xml::parse;
    use crate::demo::{DemoSpec, document};

    /// Written documents parse back to the same elements.
    #[test]
    fn demo_document_round_trips() {
        let spec = DemoSpec {
            objects: 9,
            seconds: 0.1,
            ..DemoSpec::default()
        };
        let (doc, _) = document(&spec, 4800);
        let text = super::write(&doc);
        let (back, notices) = parse(&text, "demo.xml").unwrap();
        assert!(notices.is_empty(), "{notices:?}");
        let strip = |mut c: crate::adm::elements::AudioChannelFormat| {
            c.origin = Default::default();
            for b in &mut c.blocks {
                b.origin = Default::default();
            }
            c
        };
        assert_eq!(
            back.channels.iter().filter(|c| !c.origin.common_definition).count(),
            doc.channels.len()
        );
        for (a, b) in doc
            .channels
            .iter()
            .zip(back.channels.iter().filter(|c| !c.origin.common_definition))
        {
            assert_eq!(strip(a.clone()), strip(b.clone()));
        }
        assert_eq!(back.objects.len(), doc.objects.len());
        for (a, b) in doc.objects.iter().zip(&back.objects) {
            assert_eq!(
                (&a.id, &a.pack_refs, &a.track_uid_refs),
                (&b.id, &b.pack_refs, &b.track_uid_refs)
            );
        }
        assert_eq!(
            back.contents.iter().map(|c| c.dialogue).collect::<Vec<_>>(),
            doc.contents.iter().map(|c| c.dialogue).collect::<Vec<_>>()
        );
    }
}
