//! ADM XML reader (ITU-R BS.2076-2): streams the text once with quick-xml —
//! no DOM, so a two-hour master's `axml` of hundreds of MB costs one pass and
//! the typed [`Document`] only. (Section numbers cited below are those of
//! BS.2076-3's table of contents, e.g. §5.4.3 audioBlockFormat sub-elements,
//! §9.1 gain, §10.3 zoneExclusion.)
//!
//! - Takes: the XML as text, and the name of the file it came from (for
//!   messages). `audioFormatExtended` is found wherever it is: the root,
//!   `ebuCoreMain/coreMetadata/format`, `ituADM/coreMetadata/format` or an
//!   S-ADM `frame` (BS.2125). Namespace prefixes are ignored.
//! - Produces: the [`Document`], with the BS.2094 common definitions it
//!   references merged in, and [`Notice`]s: `unknown-element` (one per
//!   distinct name, skipped with its content), `unsupported-element` /
//!   `unsupported-attribute` (BS.2076 data admix's model does not carry),
//!   `cartesian-flag-mismatch`, `type-definition-inferred`,
//!   `block-id-mismatch`, `common-definition-overridden`,
//!   `multiple-audio-format-extended`.
//!   Unknown attributes are skipped silently.
//! - Refuses ([`AdmError`]): malformed or truncated XML, a document without
//!   `audioFormatExtended`, a missing ID or required attribute, values that
//!   do not parse (numbers, times, booleans, `gainUnit`, `screenEdgeLock`,
//!   `coordinate`, `bound`, …), duplicate IDs and dangling references.
//!   Never panics, whatever the input.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::{HashMap, HashSet};

use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use super::elements::{
    AudioChannelFormat, AudioContent, AudioObject, AudioPackFormat, AudioProgramme, AudioStreamFormat,
    AudioTrackFormat, AudioTrackUid, BlockFormat, BlockKind, BoundCoordinate, ChannelLock, Dialogue,
    DirectSpeakersBlock, Frequency, HeadphoneVirtualise, HoaBlock, HorizontalEdge, JumpPosition, LoudnessMetadata,
    MatrixBlock, MatrixCoefficient, ObjectBlock, ObjectDivergence, ObjectPosition, Origin, PositionOffset, Screen,
    ScreenEdgeLock, SpeakerPosition, TypeDefinition, VerticalEdge, Zone,
};
use super::stream::{DeferredBlocks, XmlSource, newlines};
use super::{AdmError, AdmErrorKind, Document, Location};
use crate::notice::{Notice, Notices};
use crate::time::Time;

mod fast;

/// Parses an ADM document. `source` names the input in messages (a file
/// name, or e.g. `master.wav (axml)`).
///
/// ```
/// let xml = r#"<audioFormatExtended>
///   <audioObject audioObjectID="AO_1001" audioObjectName="dialogue">
///     <audioPackFormatIDRef>AP_00010001</audioPackFormatIDRef>
///   </audioObject>
/// </audioFormatExtended>"#;
/// let (doc, _notices) = admix::adm::xml::parse(xml, "example.xml").unwrap();
/// assert_eq!(doc.object("AO_1001").unwrap().name, "dialogue");
/// // The mono pack and its channel come from the BS.2094 common definitions.
/// assert!(doc.pack("AP_00010001").unwrap().origin.common_definition);
/// assert!(doc.channel("AC_00010003").is_some());
/// ```
pub fn parse(xml: &str, source: &str) -> Result<(Document, Vec<Notice>), AdmError> {
    // a BOM may precede the text
    let xml = xml.strip_prefix('\u{feff}').unwrap_or(xml);
    parse_document(xml, source, &[], None)
}

/// Parses a skeleton document (see [`super::stream::read_document`]): `xml`
/// is the document with the audioBlockFormats of the channels in
/// `deferred.spans` cut out, and `removed` says how many lines were cut
/// before each offset (so messages name the lines of the original file).
/// Objects channels keep their blocks in the source
/// ([`AudioChannelFormat::deferred`]); the blocks of every other channel are
/// read back here.
pub(crate) fn parse_skeleton(
    xml: &str,
    source: &str,
    removed: &[(usize, u32)],
    deferred: Deferred<'_>,
) -> Result<(Document, Vec<Notice>), AdmError> {
    parse_document(xml, source, removed, Some(deferred))
}

/// [`parse`] and [`parse_skeleton`].
fn parse_document(
    xml: &str,
    source: &str,
    removed: &[(usize, u32)],
    deferred: Option<Deferred<'_>>,
) -> Result<(Document, Vec<Notice>), AdmError> {
    // axml chunks are often padded with NULs
    let xml = xml.trim_end_matches(|c: char| c == '\0' || c.is_ascii_whitespace());
    let mut p = Parser::new(xml, source);
    p.lines = Lines::new(xml, 1, removed);
    p.deferred = deferred;
    p.document()?;
    let Parser {
        mut doc, mut notices, ..
    } = p;
    doc.resolve(source, &mut notices)?;
    Ok((doc, notices.into_vec()))
}

/// Parses the audioBlockFormats of `xml`, a fragment of channel `channel_id`
/// (of `type_definition`) that starts at line `line` of `file`, onto `out`;
/// anything else in the fragment (whitespace, comments, other elements,
/// already read with the skeleton) is skipped. Returns the line the fragment
/// ends on; on error, also the offset (and line) where the top-level element
/// that failed starts (the blocks before it are in `out`): a fragment cut
/// inside an element fails there, and the caller reads on from that offset.
pub(crate) fn parse_blocks(
    xml: &str,
    file: &str,
    line: u32,
    type_definition: TypeDefinition,
    channel_id: &str,
    state: &mut BlockState,
    out: &mut std::collections::VecDeque<BlockFormat>,
) -> Result<u32, (AdmError, usize, u32)> {
    let bytes = xml.as_bytes();
    let (mut at, mut line) = (0, line.max(1));
    loop {
        while let Some(&c @ (b' ' | b'\t' | b'\r' | b'\n')) = bytes.get(at) {
            line = line.saturating_add(u32::from(c == b'\n'));
            at += 1;
        }
        let Some(rest) = xml.get(at..).filter(|r| !r.is_empty()) else {
            return Ok(line);
        };
        let fast = match type_definition {
            TypeDefinition::Objects => fast::objects_block(rest, channel_id, line, &mut state.memo),
            _ => None,
        };
        let used = match fast {
            Some((block, used)) => {
                out.push_back(block);
                used
            }
            None => {
                parse_one_block(rest, file, line, type_definition, channel_id, state, out).map_err(|(e, off)| {
                    let failed = line.saturating_add(newlines(bytes.get(at..at + off).unwrap_or_default()));
                    (e, off + at, failed)
                })?
            }
        };
        let used = used.clamp(1, rest.len());
        line = line.saturating_add(newlines(bytes.get(at..at + used).unwrap_or_default()));
        at += used;
    }
}

/// [`parse_blocks`] with the general parser, for what starts `xml`: one
/// element (or text, comment, …); the bytes it took.
fn parse_one_block(
    xml: &str,
    file: &str,
    line: u32,
    type_definition: TypeDefinition,
    channel_id: &str,
    state: &mut BlockState,
    out: &mut std::collections::VecDeque<BlockFormat>,
) -> Result<usize, (AdmError, usize)> {
    let mut p = Parser::new(xml, file);
    p.lines = Lines::new(xml, line, &[]);
    p.once = std::mem::take(&mut state.once);
    p.memo = std::mem::take(&mut state.memo);
    let result = match p.next() {
        Ok((Ev::Open(e, empty), off)) => {
            let r = if local(&e) == "audioBlockFormat" {
                p.block(&e, empty, off, type_definition, channel_id)
                    .map(|b| out.push_back(b))
            } else {
                p.skip(&e, empty)
            };
            r.map_err(|e| (e, off))
        }
        Ok(_) => Ok(()),
        Err(e) => Err((e, 0)),
    };
    let used = usize::try_from(p.reader.buffer_position()).unwrap_or(usize::MAX);
    state.once = std::mem::take(&mut p.once);
    state.memo = std::mem::take(&mut p.memo);
    state.notices.extend(p.notices.into_vec());
    result.map(|()| used)
}

/// Line (and column) of byte offsets. Offsets are asked for in increasing
/// order while parsing, so a cursor moves forward through the text and each
/// byte is counted once: no table of line starts to hold for a 500 MB file,
/// and no scan from the start per element. An offset before the cursor (only
/// on error paths) counts again from the start.
struct Lines<'a> {
    text: &'a [u8],
    /// (offset, line at offset, offset of that line's start)
    cursor: Cell<(usize, u32, usize)>,
    /// Line number of the text's first line (a block fragment read from the
    /// middle of a file starts at its line there).
    base: u32,
    /// Lines taken out of the text before each offset (a skeleton document
    /// whose audioBlockFormats were cut out, see [`super::stream`]):
    /// `(offset, lines removed before it)`, increasing.
    removed: &'a [(usize, u32)],
}

impl<'a> Lines<'a> {
    fn new(text: &'a str, base: u32, removed: &'a [(usize, u32)]) -> Self {
        Lines {
            text: text.as_bytes(),
            cursor: Cell::new((0, 1, 0)),
            base: base.max(1),
            removed,
        }
    }

    /// (1-based line in the original file, byte offset of the line's start)
    fn seek(&self, offset: usize) -> (u32, usize) {
        let offset = offset.min(self.text.len());
        let (mut pos, mut line, mut start) = self.cursor.get();
        if offset < pos {
            (pos, line, start) = (0, 1, 0);
        }
        let chunk = self.text.get(pos..offset).unwrap_or_default();
        let newlines = chunk.iter().filter(|&&b| b == b'\n').count();
        if newlines > 0 {
            line = line.saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX));
            if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
                start = pos + i + 1;
            }
        }
        self.cursor.set((offset, line, start));
        let cut = match self.removed.partition_point(|&(o, _)| o <= offset) {
            0 => 0,
            k => self.removed.get(k - 1).map_or(0, |&(_, n)| n),
        };
        (line.saturating_add(self.base - 1).saturating_add(cut), start)
    }

    fn line(&self, offset: usize) -> u32 {
        self.seek(offset).0
    }

    /// (line, column in characters), for error messages.
    fn line_col(&self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.text.len());
        let (line, start) = self.seek(offset);
        let col = match self.text.get(start..offset) {
            Some(s) => String::from_utf8_lossy(s).chars().count() + 1,
            None => 1,
        };
        (line, u32::try_from(col).unwrap_or(u32::MAX))
    }
}

/// One XML event as the parser sees it.
enum Ev<'a> {
    /// Start tag; `true` when self-closing.
    Open(BytesStart<'a>, bool),
    Close,
    Text(Cow<'a, str>),
    Eof,
}

/// Local name of an element (namespace prefix dropped).
fn local<'e>(e: &'e BytesStart<'_>) -> &'e str {
    e.local_name().into_inner()
}

/// The attributes of `e` as (local name, unescaped value).
fn attributes<'e>(e: &'e BytesStart<'_>) -> impl Iterator<Item = Result<(&'e str, Cow<'e, str>), String>> + 'e {
    e.attributes().map(|a| {
        let a = a.map_err(|err| format!("bad attribute: {err}"))?;
        let key = a.key.local_name().into_inner();
        let value = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|err| format!("bad value of attribute {key}: {err}"))?;
        Ok((key, value))
    })
}

/// The element whose content is being read, for messages: name and ID.
#[derive(Clone, Copy)]
struct Ctx<'c> {
    element: &'static str,
    id: &'c str,
}

// Value readers: `Err` holds what was expected.
type Conv<T> = Result<T, &'static str>;

fn number(v: &str) -> Conv<f64> {
    match v.trim().parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err("a finite number"),
    }
}

fn integer(v: &str) -> Conv<i32> {
    v.trim().parse().map_err(|_| "an integer")
}

fn unsigned(v: &str) -> Conv<u32> {
    v.trim().parse().map_err(|_| "a non-negative integer")
}

/// xs:boolean
fn boolean(v: &str) -> Conv<bool> {
    match v.trim() {
        "1" | "true" => Ok(true),
        "0" | "false" => Ok(false),
        _ => Err("0, 1, true or false"),
    }
}

/// BS.2076 §5.13 time parameters format.
fn time(v: &str) -> Conv<Time> {
    Time::parse(v).map_err(|_| "a time hh:mm:ss.fffff or hh:mm:ss.zzzzzSfffff")
}

/// `interpolationLength`: seconds as a decimal number.
fn seconds(v: &str) -> Conv<Time> {
    Time::parse_decimal_seconds(v).map_err(|_| "a non-negative number of seconds")
}

/// `dialogue` (BS.2076 §5.7.3): 0 non-dialogue, 1 dialogue, 2 mixed.
fn dialogue(v: &str) -> Conv<Dialogue> {
    match v.trim() {
        "0" => Ok(Dialogue::NonDialogue),
        "1" => Ok(Dialogue::Dialogue),
        "2" => Ok(Dialogue::Mixed),
        _ => Err("0, 1 or 2"),
    }
}

fn identity(v: &str) -> Conv<String> {
    Ok(v.trim().to_owned())
}

/// Applies `conv` to an optional attribute value.
fn opt<T>(v: Option<&Cow<'_, str>>, conv: fn(&str) -> Conv<T>) -> Result<Option<T>, &'static str> {
    v.map(|v| conv(v)).transpose()
}

/// `conv(text)`, remembering the last text converted in `memo` (long
/// masters repeat the same `duration` on every block).
fn memo_convert(memo: &mut (String, Time), text: &str, conv: fn(&str) -> Conv<Time>) -> Conv<Time> {
    if !memo.0.is_empty() && memo.0 == text {
        return Ok(memo.1);
    }
    let t = conv(text)?;
    memo.0.clear();
    memo.0.push_str(text);
    memo.1 = t;
    Ok(t)
}

/// `position`'s `coordinate` attribute.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Coord {
    Azimuth,
    Elevation,
    Distance,
    X,
    Y,
    Z,
}

impl Coord {
    fn parse(v: &str) -> Conv<Coord> {
        Ok(match v.trim() {
            "azimuth" => Coord::Azimuth,
            "elevation" => Coord::Elevation,
            "distance" => Coord::Distance,
            "X" => Coord::X,
            "Y" => Coord::Y,
            "Z" => Coord::Z,
            _ => return Err("azimuth, elevation, distance, X, Y or Z"),
        })
    }
}

/// `bound` of a DirectSpeakers position (BS.2076 §5.4.3).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Bound {
    Value,
    Min,
    Max,
}

/// One `position` element, read.
struct PositionElement {
    coord: Coord,
    bound: Bound,
    value: f64,
}

/// A coordinate's value and bounds, as gathered from `position` elements.
#[derive(Clone, Copy, Default)]
struct Gathered {
    value: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
}

/// The `position` elements of one block, gathered per coordinate.
#[derive(Default)]
struct Positions {
    coords: [Gathered; 6],
    edge: ScreenEdgeLock,
    bounds_seen: bool,
}

impl Positions {
    fn slot(&mut self, c: Coord) -> &mut Gathered {
        // In bounds: `Coord` has six variants, the array six slots.
        &mut self.coords[c as usize]
    }
    fn get(&self, c: Coord) -> Gathered {
        self.coords.get(c as usize).copied().unwrap_or_default()
    }
    fn add(&mut self, p: PositionElement) {
        let slot = self.slot(p.coord);
        match p.bound {
            Bound::Value => slot.value = Some(p.value),
            Bound::Min => slot.min = Some(p.value),
            Bound::Max => slot.max = Some(p.value),
        }
        if p.bound != Bound::Value {
            self.bounds_seen = true;
        }
    }
    fn any(&self, polar: bool) -> bool {
        let set = if polar {
            [Coord::Azimuth, Coord::Elevation, Coord::Distance]
        } else {
            [Coord::X, Coord::Y, Coord::Z]
        };
        set.iter().any(|&c| {
            let g = self.get(c);
            g.value.is_some() || g.min.is_some() || g.max.is_some()
        })
    }
}

/// Known BS.2076 elements admix reads past without a notice: labels,
/// interaction ranges and other descriptive metadata that change nothing
/// in a render.
fn descriptive(name: &str) -> bool {
    matches!(
        name,
        "audioProgrammeLabel"
            | "audioContentLabel"
            | "audioObjectLabel"
            | "audioPackFormatLabel"
            | "audioChannelFormatLabel"
            | "audioComplementaryObjectGroupLabel"
            | "audioObjectInteraction"
            | "audioMXFLookUp"
            | "authoringInformation"
            | "profileList"
            | "tagList"
            | "alternativeValueSetIDRef"
            | "maxMomentary"
            | "maxShortTerm"
            | "importance"
            | "speakerLabel"
    )
}

struct Parser<'a> {
    reader: Reader<&'a [u8]>,
    file: &'a str,
    lines: Lines<'a>,
    doc: Document,
    notices: Notices,
    /// Notice kind → subjects already reported (one notice per name).
    once: HashMap<&'static str, HashSet<String>>,
    /// Last text → time conversions of `duration` and `interpolationLength`,
    /// which long masters repeat on every block.
    memo: [(String, Time); 2],
    /// Channels whose audioBlockFormats were cut out of a skeleton document,
    /// by audioChannelFormatID, and where to read them.
    deferred: Option<Deferred<'a>>,
}

/// What a skeleton parse needs besides the text (see [`super::stream`]).
pub(crate) struct Deferred<'a> {
    pub spans: HashMap<String, DeferredBlocks>,
    pub source: &'a XmlSource,
}

/// Parser state that lives across the fragments of one channel's blocks.
#[derive(Default)]
pub(crate) struct BlockState {
    once: HashMap<&'static str, HashSet<String>>,
    memo: [(String, Time); 2],
    pub notices: Notices,
}

impl<'a> Parser<'a> {
    fn new(xml: &'a str, file: &'a str) -> Self {
        Parser {
            reader: Reader::from_str(xml),
            file,
            lines: Lines::new(xml, 1, &[]),
            doc: Document::default(),
            notices: Notices::default(),
            once: HashMap::new(),
            memo: [(String::new(), Time::ZERO), (String::new(), Time::ZERO)],
            deferred: None,
        }
    }

    // ---- places and errors -------------------------------------------------

    fn origin(&self, off: usize) -> Origin {
        Origin {
            line: self.lines.line(off),
            common_definition: false,
        }
    }

    fn at(&self, off: usize) -> Location {
        let (line, column) = self.lines.line_col(off);
        Location {
            file: self.file.to_owned(),
            line,
            column,
        }
    }

    fn xml_at(&self, off: usize, message: String) -> AdmError {
        AdmErrorKind::Xml {
            at: self.at(off),
            message,
        }
        .into()
    }

    fn xml_error(&self, err: quick_xml::Error) -> AdmError {
        let off = usize::try_from(self.reader.error_position()).unwrap_or(usize::MAX);
        self.xml_at(off, err.to_string())
    }

    fn missing(&self, off: usize, element: &str, id: Option<&str>, missing: &str) -> AdmError {
        AdmErrorKind::Missing {
            at: self.at(off),
            element: element.to_owned(),
            id: id.map(str::to_owned),
            missing: missing.to_owned(),
        }
        .into()
    }

    fn invalid(&self, off: usize, ctx: Ctx<'_>, what: &str, value: &str, expected: &str) -> AdmError {
        AdmErrorKind::InvalidValue {
            at: self.at(off),
            element: ctx.element.to_owned(),
            id: (!ctx.id.is_empty()).then(|| ctx.id.to_owned()),
            what: what.to_owned(),
            value: value.trim().to_owned(),
            expected: expected.to_owned(),
        }
        .into()
    }

    fn duplicate(&self, off: usize, element: &str, dup: (u32, String)) -> AdmError {
        AdmErrorKind::DuplicateId {
            at: self.at(off),
            element: element.to_owned(),
            id: dup.1,
            first_line: dup.0,
        }
        .into()
    }

    /// Converts attribute `key`'s value, or says what is wrong with it.
    fn attr<T>(
        &self,
        off: usize,
        ctx: Ctx<'_>,
        key: &str,
        v: Option<&Cow<'_, str>>,
        conv: fn(&str) -> Conv<T>,
    ) -> Result<Option<T>, AdmError> {
        opt(v, conv).map_err(|expected| {
            let value = v.map(|v| v.as_ref()).unwrap_or_default();
            self.invalid(off, ctx, key, value, expected)
        })
    }

    /// [`Self::attr`] for a time, remembering the last text converted in `slot`.
    fn memo_time(
        &mut self,
        slot: usize,
        off: usize,
        ctx: Ctx<'_>,
        key: &str,
        v: Option<&Cow<'_, str>>,
        conv: fn(&str) -> Conv<Time>,
    ) -> Result<Option<Time>, AdmError> {
        let Some(text) = v else { return Ok(None) };
        let converted = match self.memo.get_mut(slot) {
            Some(memo) => memo_convert(memo, text, conv),
            None => conv(text),
        };
        converted
            .map(Some)
            .map_err(|expected| self.invalid(off, ctx, key, text, expected))
    }

    fn notice_once(&mut self, kind: &'static str, subject: &str, message: impl FnOnce() -> String) {
        let seen = self.once.entry(kind).or_default();
        if !seen.contains(subject) {
            seen.insert(subject.to_owned());
            self.notices.add(kind, subject, message());
        }
    }

    // ---- events ------------------------------------------------------------

    fn next(&mut self) -> Result<(Ev<'a>, usize), AdmError> {
        loop {
            let off = usize::try_from(self.reader.buffer_position()).unwrap_or(usize::MAX);
            let ev = self.reader.read_event().map_err(|e| self.xml_error(e))?;
            let ev = match ev {
                Event::Start(e) => Ev::Open(e, false),
                Event::Empty(e) => Ev::Open(e, true),
                Event::End(_) => Ev::Close,
                Event::Text(t) => Ev::Text(t.into_inner()),
                Event::CData(t) => Ev::Text(t.into_inner()),
                Event::GeneralRef(r) => Ev::Text(self.entity(&r, off)?),
                Event::Eof => Ev::Eof,
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => continue,
            };
            return Ok((ev, off));
        }
    }

    /// `&name;` in text: the five predefined entities and character references.
    fn entity(&self, r: &BytesRef<'a>, off: usize) -> Result<Cow<'a, str>, AdmError> {
        if let Some(c) = r.resolve_char_ref().map_err(|e| self.xml_error(e))? {
            return Ok(Cow::Owned(c.to_string()));
        }
        Ok(Cow::Borrowed(match &**r {
            "lt" => "<",
            "gt" => ">",
            "amp" => "&",
            "apos" => "'",
            "quot" => "\"",
            other => return Err(self.xml_at(off, format!("undefined entity &{other};"))),
        }))
    }

    fn truncated(&self, element: &str, opened: usize) -> AdmError {
        let end = self.lines.text.len();
        self.xml_at(
            end,
            format!(
                "document ends inside <{element}> (opened at line {})",
                self.lines.line(opened)
            ),
        )
    }

    /// Skips the content of an element whose start tag was just read.
    fn skip(&mut self, e: &BytesStart<'a>, empty: bool) -> Result<(), AdmError> {
        if !empty {
            self.reader.read_to_end(e.name()).map_err(|err| self.xml_error(err))?;
        }
        Ok(())
    }

    /// Skips an element this parser does not know, noting its name once.
    fn unknown(&mut self, e: &BytesStart<'a>, empty: bool, off: usize, parent: &str) -> Result<(), AdmError> {
        let name = local(e);
        if !descriptive(name) {
            let line = self.lines.line(off);
            self.notice_once("unknown-element", name, || {
                format!("<{name}> (first at line {line}, in <{parent}>) is not an element admix reads; skipped with its content")
            });
        }
        self.skip(e, empty)
    }

    /// Skips a BS.2076 element that admix's data model does not carry, noting
    /// it once per (element, context).
    fn unsupported(&mut self, e: &BytesStart<'a>, empty: bool, off: usize, parent: &str) -> Result<(), AdmError> {
        let name = local(e);
        let line = self.lines.line(off);
        self.notice_once("unsupported-element", &format!("{parent}/{name}"), || {
            format!("<{name}> in <{parent}> (first at line {line}) is not supported and was ignored")
        });
        self.skip(e, empty)
    }

    /// Calls `f(parser, local name, start tag, self-closing, offset)` for each
    /// child element until the end tag of the element opened at `off`; a
    /// child for which `f` returns `Ok(false)` is skipped as unknown.
    fn children<F>(&mut self, empty: bool, parent: &'static str, off: usize, mut f: F) -> Result<(), AdmError>
    where
        F: FnMut(&mut Self, &str, &BytesStart<'a>, bool, usize) -> Result<bool, AdmError>,
    {
        if empty {
            return Ok(());
        }
        loop {
            let (ev, o) = self.next()?;
            match ev {
                Ev::Open(e, empty) => {
                    if !f(self, local(&e), &e, empty, o)? {
                        self.unknown(&e, empty, o, parent)?;
                    }
                }
                Ev::Close => return Ok(()),
                Ev::Text(_) => {}
                Ev::Eof => return Err(self.truncated(parent, off)),
            }
        }
    }

    /// The text content of the element just opened (child elements skipped).
    fn text(&mut self, e: &BytesStart<'a>, empty: bool, off: usize) -> Result<Cow<'a, str>, AdmError> {
        if empty {
            return Ok(Cow::Borrowed(""));
        }
        let mut acc: Option<Cow<'a, str>> = None;
        loop {
            let (ev, o) = self.next()?;
            match ev {
                Ev::Text(t) => {
                    acc = Some(match acc {
                        None => t,
                        Some(mut a) => {
                            a.to_mut().push_str(&t);
                            a
                        }
                    })
                }
                Ev::Close => return Ok(acc.unwrap_or(Cow::Borrowed(""))),
                Ev::Open(child, empty) => {
                    let parent = local(e).to_owned();
                    self.unknown(&child, empty, o, &parent)?;
                }
                Ev::Eof => return Err(self.truncated(local(e), off)),
            }
        }
    }

    /// The text of the element just opened, converted.
    fn value<T>(
        &mut self,
        e: &BytesStart<'a>,
        empty: bool,
        off: usize,
        ctx: Ctx<'_>,
        conv: fn(&str) -> Conv<T>,
    ) -> Result<T, AdmError> {
        let text = self.text(e, empty, off)?;
        conv(&text).map_err(|expected| self.invalid(off, ctx, &format!("<{}>", local(e)), &text, expected))
    }

    /// An `…IDRef` element: its text, which must not be empty.
    fn id_ref(&mut self, e: &BytesStart<'a>, empty: bool, off: usize, ctx: Ctx<'_>) -> Result<String, AdmError> {
        let text = self.text(e, empty, off)?;
        let id = text.trim();
        if id.is_empty() {
            return Err(self.invalid(off, ctx, &format!("<{}>", local(e)), "", "an ID"));
        }
        Ok(id.to_owned())
    }

    /// A 0..1 `…IDRef`: a second one is refused.
    fn single_ref(
        &mut self,
        slot: &mut Option<String>,
        e: &BytesStart<'a>,
        empty: bool,
        off: usize,
        ctx: Ctx<'_>,
    ) -> Result<(), AdmError> {
        let id = self.id_ref(e, empty, off, ctx)?;
        if slot.is_some() {
            let what = format!("<{}>", local(e));
            return Err(self.invalid(off, ctx, &what, &id, "at most one such reference"));
        }
        *slot = Some(id);
        Ok(())
    }

    /// `gain` with `gainUnit` (BS.2076 §9.1): linear value.
    fn gain(&mut self, e: &BytesStart<'a>, empty: bool, off: usize, ctx: Ctx<'_>) -> Result<f64, AdmError> {
        let mut db = false;
        for a in attributes(e) {
            let (k, v) = a.map_err(|m| self.xml_at(off, m))?;
            if k == "gainUnit" {
                db = match v.trim() {
                    "linear" => false,
                    "dB" => true,
                    _ => return Err(self.invalid(off, ctx, "<gain> gainUnit", &v, "linear or dB")),
                };
            }
        }
        let g = self.value(e, empty, off, ctx, number)?;
        if !db {
            return Ok(g);
        }
        let lin = 10f64.powf(g / 20.0);
        if lin.is_finite() {
            Ok(lin)
        } else {
            Err(self.invalid(off, ctx, "<gain>", &format!("{g} dB"), "a gain that fits a float"))
        }
    }

    /// `headphoneVirtualise bypass DRR` (BS.2076 §9.5).
    fn headphone_virtualise(
        &mut self,
        e: &BytesStart<'a>,
        empty: bool,
        off: usize,
        ctx: Ctx<'_>,
    ) -> Result<HeadphoneVirtualise, AdmError> {
        let (mut bypass, mut drr) = (None, None);
        for a in attributes(e) {
            let (k, v) = a.map_err(|m| self.xml_at(off, m))?;
            match k {
                "bypass" => bypass = self.attr(off, ctx, "bypass", Some(&v), boolean)?,
                "DRR" => drr = self.attr(off, ctx, "DRR", Some(&v), number)?,
                _ => {}
            }
        }
        self.skip(e, empty)?;
        Ok(HeadphoneVirtualise {
            bypass: bypass.unwrap_or(false),
            drr,
        })
    }

    /// Reads `typeLabel` / `typeDefinition` (BS.2076 §5.3.1, §5.5.1): either may be
    /// given; both must agree; with neither, the type comes from the ID
    /// (`AP_yyyyxxxx`, `AC_yyyyxxxx`, yyyy = type label) with a notice.
    fn type_definition(
        &mut self,
        off: usize,
        ctx: Ctx<'_>,
        label: Option<&Cow<'_, str>>,
        definition: Option<&Cow<'_, str>>,
    ) -> Result<TypeDefinition, AdmError> {
        let from_label = match label {
            Some(l) => Some(
                TypeDefinition::from_label(l.trim())
                    .ok_or_else(|| self.invalid(off, ctx, "typeLabel", l, "0001, 0002, 0003, 0004 or 0005"))?,
            ),
            None => None,
        };
        let from_def = match definition {
            Some(d) => Some(TypeDefinition::from_definition(d.trim()).ok_or_else(|| {
                self.invalid(
                    off,
                    ctx,
                    "typeDefinition",
                    d,
                    "DirectSpeakers, Matrix, Objects, HOA or Binaural",
                )
            })?),
            None => None,
        };
        match (from_label, from_def) {
            (Some(l), Some(d)) if l != d => Err(self.invalid(
                off,
                ctx,
                "typeLabel",
                label.map(|l| l.as_ref()).unwrap_or_default(),
                &format!("{} to match typeDefinition {}", d.label(), d.name()),
            )),
            (Some(t), _) | (None, Some(t)) => Ok(t),
            (None, None) => {
                let inferred = ctx.id.get(3..7).and_then(TypeDefinition::from_label);
                match inferred {
                    Some(t) => {
                        let line = self.lines.line(off);
                        self.notices.add(
                            "type-definition-inferred",
                            ctx.id,
                            format!(
                                "{} {} (line {line}) has no typeDefinition or typeLabel; {} taken from its ID",
                                ctx.element,
                                ctx.id,
                                t.name()
                            ),
                        );
                        Ok(t)
                    }
                    None => Err(self.missing(off, ctx.element, Some(ctx.id), "typeDefinition or typeLabel")),
                }
            }
        }
    }

    // ---- the document ------------------------------------------------------

    /// Walks the whole document; `audioFormatExtended` may be anywhere.
    fn document(&mut self) -> Result<(), AdmError> {
        let mut stack: Vec<(String, usize)> = Vec::new();
        let mut root: Option<String> = None;
        let mut found = false;
        loop {
            let (ev, off) = self.next()?;
            match ev {
                Ev::Open(e, empty) => {
                    let name = local(&e);
                    if root.is_none() {
                        root = Some(name.to_owned());
                    }
                    if name == "audioFormatExtended" {
                        if found {
                            let line = self.lines.line(off);
                            self.notices.add(
                                "multiple-audio-format-extended",
                                "audioFormatExtended",
                                format!("a second <audioFormatExtended> at line {line} was merged into the first"),
                            );
                        } else {
                            let mut path: Vec<&str> = stack.iter().map(|(n, _)| n.as_str()).collect();
                            path.push(name);
                            self.doc.root_path = path.join("/");
                        }
                        found = true;
                        self.audio_format_extended(&e, empty, off)?;
                    } else if !empty {
                        stack.push((name.to_owned(), off));
                    }
                }
                Ev::Close => {
                    stack.pop();
                }
                Ev::Text(_) => {}
                Ev::Eof => {
                    if let Some((name, opened)) = stack.last() {
                        return Err(self.truncated(name, *opened));
                    }
                    break;
                }
            }
        }
        if found {
            Ok(())
        } else {
            Err(AdmErrorKind::NotAdm {
                file: self.file.to_owned(),
                root: root.unwrap_or_default(),
            }
            .into())
        }
    }

    fn audio_format_extended(&mut self, e: &BytesStart<'a>, empty: bool, off: usize) -> Result<(), AdmError> {
        for a in attributes(e) {
            let (k, v) = a.map_err(|m| self.xml_at(off, m))?;
            if k == "version" && self.doc.version.is_none() {
                self.doc.version = Some(v.trim().to_owned());
            }
        }
        self.children(empty, "audioFormatExtended", off, |p, name, e, empty, o| {
            match name {
                "audioProgramme" => p.programme(e, empty, o)?,
                "audioContent" => p.content(e, empty, o)?,
                "audioObject" => p.object(e, empty, o)?,
                "audioPackFormat" => p.pack(e, empty, o)?,
                "audioChannelFormat" => p.channel(e, empty, o)?,
                "audioStreamFormat" => p.stream(e, empty, o)?,
                "audioTrackFormat" => p.track_format(e, empty, o)?,
                "audioTrackUID" => p.track_uid(e, empty, o)?,
                _ if descriptive(name) => p.skip(e, empty)?,
                _ => return Ok(false),
            }
            Ok(true)
        })
    }

    // ---- audioProgramme, audioContent, audioObject -------------------------

    fn programme(&mut self, e: &BytesStart<'a>, empty: bool, off: usize) -> Result<(), AdmError> {
        const EL: &str = "audioProgramme";
        let (mut id, mut name, mut language, mut start, mut end) = (None, None, None, None, None);
        for a in attributes(e) {
            let (k, v) = a.map_err(|m| self.xml_at(off, m))?;
            match k {
                "audioProgrammeID" => id = Some(v.trim().to_owned()),
                "audioProgrammeName" => name = Some(v.into_owned()),
                "audioProgrammeLanguage" => language = Some(v.into_owned()),
                "start" => start = Some(v),
                "end" => end = Some(v),
                _ => {}
            }
        }
        let id = id.ok_or_else(|| self.missing(off, EL, None, "audioProgrammeID"))?;
        let ctx = Ctx { element: EL, id: &id };
        let start = self.attr(off, ctx, "start", start.as_ref(), time)?;
        let end = self.attr(off, ctx, "end", end.as_ref(), time)?;
        let mut p = AudioProgramme {
            id: id.clone(),
            name: name.unwrap_or_default(),
            language,
            start,
            end,
            content_refs: Vec::new(),
            reference_screen: None,
            loudness: Vec::new(),
            origin: self.origin(off),
        };
        self.children(empty, EL, off, |s, name, e, empty, o| {
            match name {
                "audioContentIDRef" => p.content_refs.push(s.id_ref(e, empty, o, ctx)?),
                "loudnessMetadata" => p.loudness.push(s.loudness(e, empty, o, ctx)?),
                "audioProgrammeReferenceScreen" => p.reference_screen = Some(s.screen(e, empty, o, ctx)?),
                _ if descriptive(name) => s.skip(e, empty)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        let pushed = self.doc.push_programme(p).map_err(|f| (f.origin.line, f.id.clone()));
        pushed.map_err(|dup| self.duplicate(off, EL, dup))
    }

    /// `loudnessMetadata` (BS.2076 §5.7.4, §5.8.4).
    fn loudness(
        &mut self,
        e: &BytesStart<'a>,
        empty: bool,
        off: usize,
        ctx: Ctx<'_>,
    ) -> Result<LoudnessMetadata, AdmError> {
        let mut l = LoudnessMetadata::default();
        for a in attributes(e) {
            let (k, v) = a.map_err(|m| self.xml_at(off, m))?;
            if k == "loudnessMethod" {
                l.loudness_method = Some(v.into_owned());
            }
        }
        self.children(empty, "loudnessMetadata", off, |s, name, e, empty, o| {
            match name {
                "integratedLoudness" => l.integrated_loudness = Some(s.value(e, empty, o, ctx, number)?),
                "loudnessRange" => l.loudness_range = Some(s.value(e, empty, o, ctx, number)?),
                "maxTruePeak" => l.max_true_peak = Some(s.value(e, empty, o, ctx, number)?),
                // BS.2076-1 files spell it `dialogLoudness`.
                "dialogueLoudness" | "dialogLoudness" => l.dialogue_loudness = Some(s.value(e, empty, o, ctx, number)?),
                _ if descriptive(name) => s.skip(e, empty)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(l)
    }

    /// `audioProgrammeReferenceScreen` (BS.2076 §5.8.3, §10.5): polar, or
    /// cartesian when X/Y/Z are given. Polar values default to
    /// [`Screen::DEFAULT`]'s; cartesian ones are all required.
    fn screen(&mut self, e: &BytesStart<'a>, empty: bool, off: usize, ctx: Ctx<'_>) -> Result<Screen, AdmError> {
        const EL: &str = "audioProgrammeReferenceScreen";
        let mut aspect = None;
        for a in attributes(e) {
            let (k, v) = a.map_err(|m| self.xml_at(off, m))?;
            if k == "aspectRatio" {
                aspect = self.attr(off, ctx, "aspectRatio", Some(&v), number)?;
            }
        }
        // azimuth, elevation, distance, X, Y, Z of the centre; azimuth, X of the width
        let mut centre: [Option<f64>; 6] = [None; 6];
        let mut width: [Option<f64>; 2] = [None; 2];
        self.children(empty, EL, off, |s, name, e, empty, o| {
            let keys: &[&str] = match name {
                "screenCentrePosition" => &["azimuth", "elevation", "distance", "X", "Y", "Z"],
                "screenWidth" => &["azimuth", "X"],
                _ => return Ok(false),
            };
            for a in attributes(e) {
                let (k, v) = a.map_err(|m| s.xml_at(o, m))?;
                if let Some(i) = keys.iter().position(|&key| key == k) {
                    let x = s.attr(o, ctx, &format!("{name} {k}"), Some(&v), number)?;
                    let slot = if name == "screenWidth" {
                        width.get_mut(i)
                    } else {
                        centre.get_mut(i)
                    };
                    if let Some(slot) = slot {
                        *slot = x;
                    }
                }
            }
            s.skip(e, empty)?;
            Ok(true)
        })?;
        let [az, el, dist, x, y, z] = centre;
        let [w_az, w_x] = width;
        let aspect_ratio = aspect.unwrap_or(1.78);
        let cartesian = x.is_some() || y.is_some() || z.is_some() || w_x.is_some();
        if !cartesian {
            // BS.2076 §5.8.3 defaults: centre straight ahead, 58° wide.
            return Ok(Screen::Polar {
                aspect_ratio,
                centre_azimuth: az.unwrap_or(0.0),
                centre_elevation: el.unwrap_or(0.0),
                centre_distance: dist.unwrap_or(1.0),
                width_azimuth: w_az.unwrap_or(58.0),
            });
        }
        if az.is_some() || el.is_some() || dist.is_some() || w_az.is_some() {
            return Err(self.invalid(off, ctx, EL, "polar and cartesian values", "one coordinate system"));
        }
        match (x, y, z, w_x) {
            (Some(centre_x), Some(centre_y), Some(centre_z), Some(width_x)) => Ok(Screen::Cartesian {
                aspect_ratio,
                centre_x,
                centre_y,
                centre_z,
                width_x,
            }),
            _ => Err(self.missing(off, EL, Some(ctx.id), "screenCentrePosition X, Y, Z and screenWidth X")),
        }
    }

    fn content(&mut self, e: &BytesStart<'a>, empty: bool, off: usize) -> Result<(), AdmError> {
        const EL: &str = "audioContent";
        let (mut id, mut name, mut language) = (None, None, None);
        for a in attributes(e) {
            let (k, v) = a.map_err(|m| self.xml_at(off, m))?;
            match k {
                "audioContentID" => id = Some(v.trim().to_owned()),
                "audioContentName" => name = Some(v.into_owned()),
                "audioContentLanguage" => language = Some(v.into_owned()),
                _ => {}
            }
        }
        let id = id.ok_or_else(|| self.missing(off, EL, None, "audioContentID"))?;
        let ctx = Ctx { element: EL, id: &id };
        let mut c = AudioContent {
            id: id.clone(),
            name: name.unwrap_or_default(),
            language,
            object_refs: Vec::new(),
            dialogue: None,
            loudness: Vec::new(),
            origin: self.origin(off),
        };
        self.children(empty, EL, off, |s, name, e, empty, o| {
            match name {
                "audioObjectIDRef" => c.object_refs.push(s.id_ref(e, empty, o, ctx)?),
                "loudnessMetadata" => c.loudness.push(s.loudness(e, empty, o, ctx)?),
                "dialogue" => c.dialogue = Some(s.value(e, empty, o, ctx, dialogue)?),
                _ if descriptive(name) => s.skip(e, empty)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        let pushed = self.doc.push_content(c).map_err(|f| (f.origin.line, f.id.clone()));
        pushed.map_err(|dup| self.duplicate(off, EL, dup))
    }

    fn object(&mut self, e: &BytesStart<'a>, empty: bool, off: usize) -> Result<(), AdmError> {
        const EL: &str = "audioObject";
        let (mut id, mut name) = (None, None);
        let (mut start, mut duration, mut dial, mut importance, mut interact) = (None, None, None, None, None);
        for a in attributes(e) {
            let (k, v) = a.map_err(|m| self.xml_at(off, m))?;
            match k {
                "audioObjectID" => id = Some(v.trim().to_owned()),
                "audioObjectName" => name = Some(v.into_owned()),
                "start" => start = Some(v),
                "duration" => duration = Some(v),
                "dialogue" => dial = Some(v),
                "importance" => importance = Some(v),
                "interact" => interact = Some(v),
                _ => {}
            }
        }
        let id = id.ok_or_else(|| self.missing(off, EL, None, "audioObjectID"))?;
        let ctx = Ctx { element: EL, id: &id };
        let mut ob = AudioObject {
            id: id.clone(),
            name: name.unwrap_or_default(),
            start: self.attr(off, ctx, "start", start.as_ref(), time)?,
            duration: self.attr(off, ctx, "duration", duration.as_ref(), time)?,
            dialogue: self.attr(off, ctx, "dialogue", dial.as_ref(), dialogue)?,
            importance: self.attr(off, ctx, "importance", importance.as_ref(), integer)?,
            interact: self.attr(off, ctx, "interact", interact.as_ref(), boolean)?,
            pack_refs: Vec::new(),
            object_refs: Vec::new(),
            complementary_refs: Vec::new(),
            track_uid_refs: Vec::new(),
            gain: 1.0,
            mute: false,
            head_locked: None,
            position_offset: None,
            origin: self.origin(off),
        };
        self.children(empty, EL, off, |s, name, e, empty, o| {
            match name {
                "audioPackFormatIDRef" => ob.pack_refs.push(s.id_ref(e, empty, o, ctx)?),
                "audioObjectIDRef" => ob.object_refs.push(s.id_ref(e, empty, o, ctx)?),
                "audioComplementaryObjectIDRef" => ob.complementary_refs.push(s.id_ref(e, empty, o, ctx)?),
                "audioTrackUIDRef" => ob.track_uid_refs.push(s.id_ref(e, empty, o, ctx)?),
                "gain" => ob.gain = s.gain(e, empty, o, ctx)?,
                "mute" => ob.mute = s.value(e, empty, o, ctx, boolean)?,
                "headLocked" => ob.head_locked = Some(s.value(e, empty, o, ctx, boolean)?),
                "positionOffset" => {
                    let (coord, v) = s.position_offset(e, empty, o, ctx)?;
                    let po = ob.position_offset.get_or_insert_with(PositionOffset::default);
                    let slot = match coord {
                        Coord::Azimuth => &mut po.azimuth,
                        Coord::Elevation => &mut po.elevation,
                        Coord::Distance => &mut po.distance,
                        Coord::X => &mut po.x,
                        Coord::Y => &mut po.y,
                        Coord::Z => &mut po.z,
                    };
                    *slot = Some(v);
                }
                _ if descriptive(name) => s.skip(e, empty)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        let pushed = self.doc.push_object(ob).map_err(|f| (f.origin.line, f.id.clone()));
        pushed.map_err(|dup| self.duplicate(off, EL, dup))
    }

    /// `positionOffset coordinate=…` (BS.2076 §5.6.2).
    fn position_offset(
        &mut self,
        e: &BytesStart<'a>,
        empty: bool,
        off: usize,
        ctx: Ctx<'_>,
    ) -> Result<(Coord, f64), AdmError> {
        let mut coord = None;
        for a in attributes(e) {
            let (k, v) = a.map_err(|m| self.xml_at(off, m))?;
            if k == "coordinate" {
                coord = self.attr(off, ctx, "positionOffset coordinate", Some(&v), Coord::parse)?;
            }
        }
        let coord = coord.ok_or_else(|| self.missing(off, ctx.element, Some(ctx.id), "positionOffset coordinate"))?;
        Ok((coord, self.value(e, empty, off, ctx, number)?))
    }

    // ---- audioPackFormat ----------------------------------------------------

    fn pack(&mut self, e: &BytesStart<'a>, empty: bool, off: usize) -> Result<(), AdmError> {
        const EL: &str = "audioPackFormat";
        let (mut id, mut name, mut label, mut def) = (None, None, None, None);
        let (mut abs, mut importance, mut norm, mut nfc, mut screen_ref) = (None, None, None, None, None);
        for a in attributes(e) {
            let (k, v) = a.map_err(|m| self.xml_at(off, m))?;
            match k {
                "audioPackFormatID" => id = Some(v.trim().to_owned()),
                "audioPackFormatName" => name = Some(v.into_owned()),
                "typeLabel" => label = Some(v),
                "typeDefinition" => def = Some(v),
                "absoluteDistance" => abs = Some(v),
                "importance" => importance = Some(v),
                // BS.2076-2 HOA pack parameters, as attributes
                "normalization" => norm = Some(v),
                "nfcRefDist" => nfc = Some(v),
                "screenRef" => screen_ref = Some(v),
                _ => {}
            }
        }
        let id = id.ok_or_else(|| self.missing(off, EL, None, "audioPackFormatID"))?;
        let ctx = Ctx { element: EL, id: &id };
        let type_definition = self.type_definition(off, ctx, label.as_ref(), def.as_ref())?;
        let mut p = AudioPackFormat {
            id: id.clone(),
            name: name.unwrap_or_default(),
            type_definition,
            channel_refs: Vec::new(),
            pack_refs: Vec::new(),
            absolute_distance: self.attr(off, ctx, "absoluteDistance", abs.as_ref(), number)?,
            importance: self.attr(off, ctx, "importance", importance.as_ref(), integer)?,
            normalization: self.attr(off, ctx, "normalization", norm.as_ref(), identity)?,
            nfc_ref_dist: self.attr(off, ctx, "nfcRefDist", nfc.as_ref(), number)?,
            screen_ref: self.attr(off, ctx, "screenRef", screen_ref.as_ref(), boolean)?,
            matrix_refs: Vec::new(),
            origin: self.origin(off),
        };
        self.children(empty, EL, off, |s, name, e, empty, o| {
            match name {
                "audioChannelFormatIDRef" => p.channel_refs.push(s.id_ref(e, empty, o, ctx)?),
                "audioPackFormatIDRef" => p.pack_refs.push(s.id_ref(e, empty, o, ctx)?),
                "encodePackFormatIDRef"
                | "decodePackFormatIDRef"
                | "inputPackFormatIDRef"
                | "outputPackFormatIDRef" => p.matrix_refs.push(s.id_ref(e, empty, o, ctx)?),
                // BS.2076-1 HOA pack parameters, as elements
                "normalization" => p.normalization = Some(s.value(e, empty, o, ctx, identity)?),
                "nfcRefDist" => p.nfc_ref_dist = Some(s.value(e, empty, o, ctx, number)?),
                "screenRef" => p.screen_ref = Some(s.value(e, empty, o, ctx, boolean)?),
                _ if descriptive(name) => s.skip(e, empty)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        let pushed = self.doc.push_pack(p).map_err(|f| (f.origin.line, f.id.clone()));
        pushed.map_err(|dup| self.duplicate(off, EL, dup))
    }

    // ---- audioChannelFormat and audioBlockFormat ---------------------------

    fn channel(&mut self, e: &BytesStart<'a>, empty: bool, off: usize) -> Result<(), AdmError> {
        const EL: &str = "audioChannelFormat";
        let (mut id, mut name, mut label, mut def) = (None, None, None, None);
        for a in attributes(e) {
            let (k, v) = a.map_err(|m| self.xml_at(off, m))?;
            match k {
                "audioChannelFormatID" => id = Some(v.trim().to_owned()),
                "audioChannelFormatName" => name = Some(v.into_owned()),
                "typeLabel" => label = Some(v),
                "typeDefinition" => def = Some(v),
                _ => {}
            }
        }
        let id = id.ok_or_else(|| self.missing(off, EL, None, "audioChannelFormatID"))?;
        let ctx = Ctx { element: EL, id: &id };
        let type_definition = self.type_definition(off, ctx, label.as_ref(), def.as_ref())?;
        let mut c = AudioChannelFormat {
            id: id.clone(),
            name: name.unwrap_or_default(),
            type_definition,
            frequency: Frequency::default(),
            blocks: Vec::new(),
            deferred: None,
            origin: self.origin(off),
        };
        // In a skeleton document the blocks were cut out: Objects blocks stay
        // in the source (the renderer reads them as the timeline reaches
        // them); the few blocks of the other types are read back now.
        if let Some(d) = &mut self.deferred
            && let Some(span) = d.spans.remove(&id)
        {
            if type_definition == TypeDefinition::Objects {
                c.deferred = Some(span);
            } else {
                let mut cursor = super::stream::BlockCursor::new(d.source.clone(), &span, type_definition, &id);
                while let Some(b) = cursor.next_block()? {
                    c.blocks.push(b);
                }
                self.notices.extend(cursor.take_notices());
            }
        }
        self.children(empty, EL, off, |s, name, e, empty, o| {
            match name {
                "audioBlockFormat" => c.blocks.push(s.block(e, empty, o, type_definition, &id)?),
                "frequency" => {
                    let mut kind = None;
                    for a in attributes(e) {
                        let (k, v) = a.map_err(|m| s.xml_at(o, m))?;
                        if k == "typeDefinition" {
                            kind = Some(v);
                        }
                    }
                    let hz = s.value(e, empty, o, ctx, number)?;
                    match kind.as_deref().map(str::trim) {
                        Some("lowPass") => c.frequency.low_pass = Some(hz),
                        Some("highPass") => c.frequency.high_pass = Some(hz),
                        Some(other) => {
                            return Err(s.invalid(o, ctx, "<frequency> typeDefinition", other, "lowPass or highPass"));
                        }
                        None => {
                            return Err(s.missing(o, EL, Some(&id), "frequency typeDefinition"));
                        }
                    }
                }
                _ if descriptive(name) => s.skip(e, empty)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        c.blocks.shrink_to_fit();
        let pushed = self.doc.push_channel(c).map_err(|f| (f.origin.line, f.id.clone()));
        pushed.map_err(|dup| self.duplicate(off, EL, dup))
    }

    fn block(
        &mut self,
        e: &BytesStart<'a>,
        empty: bool,
        off: usize,
        type_definition: TypeDefinition,
        channel_id: &str,
    ) -> Result<BlockFormat, AdmError> {
        const EL: &str = "audioBlockFormat";
        let (mut id, mut rtime, mut duration) = (None, None, None);
        let mut local_time = false;
        for a in attributes(e) {
            let (k, v) = a.map_err(|m| self.xml_at(off, m))?;
            match k {
                "audioBlockFormatID" => id = Some(v.trim().to_owned()),
                "rtime" => rtime = Some(v),
                "duration" => duration = Some(v),
                "lstart" | "lduration" => local_time = true,
                _ => {}
            }
        }
        let id = id.ok_or_else(|| self.missing(off, EL, None, "audioBlockFormatID"))?;
        // BS.2076 §6: AB_yyyyxxxx_zzzzzzzz carries its channel's yyyyxxxx.
        if !id.starts_with("AB_") || id.get(3..11) != channel_id.get(3..11) {
            let line = self.lines.line(off);
            self.notice_once("block-id-mismatch", channel_id, || {
                format!(
                    "audioChannelFormat {channel_id} holds audioBlockFormat {id} (line {line}), whose ID names another channel; kept as it is"
                )
            });
        }
        let ctx = Ctx { element: EL, id: &id };
        let rtime = self.attr(off, ctx, "rtime", rtime.as_ref(), time)?;
        let duration = self.memo_time(0, off, ctx, "duration", duration.as_ref(), time)?;
        if local_time {
            let line = self.lines.line(off);
            self.notice_once("unsupported-attribute", "lstart", || {
                format!(
                    "audioBlockFormat lstart/lduration (BS.2125 frame-local times, first at line {line}) are not supported and were ignored"
                )
            });
        }
        let origin = self.origin(off);
        let kind = match type_definition {
            TypeDefinition::Objects => BlockKind::Objects(self.objects_block(empty, off, ctx)?),
            TypeDefinition::DirectSpeakers => BlockKind::DirectSpeakers(self.direct_speakers_block(empty, off, ctx)?),
            TypeDefinition::Hoa => BlockKind::Hoa(self.hoa_block(empty, off, ctx)?),
            TypeDefinition::Matrix => BlockKind::Matrix(self.matrix_block(empty, off, ctx)?),
            TypeDefinition::Binaural => {
                self.children(empty, EL, off, |s, name, e, empty, o| {
                    match name {
                        "gain" | "headLocked" | "headphoneVirtualise" => {
                            s.unsupported(e, empty, o, "Binaural audioBlockFormat")?
                        }
                        _ if descriptive(name) => s.skip(e, empty)?,
                        _ => return Ok(false),
                    }
                    Ok(true)
                })?;
                BlockKind::Binaural
            }
        };
        Ok(BlockFormat {
            id,
            rtime,
            duration,
            kind,
            origin,
        })
    }

    /// One `position` element: coordinate, bound, screenEdgeLock, value.
    fn position(
        &mut self,
        e: &BytesStart<'a>,
        empty: bool,
        off: usize,
        ctx: Ctx<'_>,
        edge: &mut ScreenEdgeLock,
    ) -> Result<PositionElement, AdmError> {
        let (mut coord, mut bound, mut lock) = (None, None, None);
        for a in attributes(e) {
            let (k, v) = a.map_err(|m| self.xml_at(off, m))?;
            match k {
                "coordinate" => coord = Some(v),
                "bound" => bound = Some(v),
                "screenEdgeLock" => lock = Some(v),
                _ => {}
            }
        }
        let coord = match &coord {
            Some(c) => Coord::parse(c).map_err(|exp| self.invalid(off, ctx, "<position> coordinate", c, exp))?,
            None => {
                return Err(self.missing(off, ctx.element, Some(ctx.id), "position coordinate"));
            }
        };
        let bound = match bound.as_deref().map(str::trim) {
            None => Bound::Value,
            Some("min") => Bound::Min,
            Some("max") => Bound::Max,
            Some(other) => {
                return Err(self.invalid(off, ctx, "<position> bound", other, "min or max"));
            }
        };
        if let Some(l) = &lock {
            // BS.2076 §5.4.3: left/right on azimuth or X, top/bottom on elevation or Z.
            match (coord, l.trim()) {
                (Coord::Azimuth | Coord::X, "left") => edge.horizontal = Some(HorizontalEdge::Left),
                (Coord::Azimuth | Coord::X, "right") => edge.horizontal = Some(HorizontalEdge::Right),
                (Coord::Elevation | Coord::Z, "top") => edge.vertical = Some(VerticalEdge::Top),
                (Coord::Elevation | Coord::Z, "bottom") => edge.vertical = Some(VerticalEdge::Bottom),
                (Coord::Azimuth | Coord::X, v) => {
                    return Err(self.invalid(off, ctx, "<position> screenEdgeLock", v, "left or right"));
                }
                (Coord::Elevation | Coord::Z, v) => {
                    return Err(self.invalid(off, ctx, "<position> screenEdgeLock", v, "top or bottom"));
                }
                (_, v) => {
                    return Err(self.invalid(
                        off,
                        ctx,
                        "<position> screenEdgeLock",
                        v,
                        "screenEdgeLock only on azimuth, elevation, X or Z",
                    ));
                }
            }
        }
        let value = self.value(e, empty, off, ctx, number)?;
        Ok(PositionElement { coord, bound, value })
    }

    /// Notes a `cartesian` element that contradicts the coordinates given;
    /// the coordinates win.
    fn cartesian_mismatch(&mut self, off: usize, ctx: Ctx<'_>, flag: Option<bool>, coords_cartesian: bool) {
        if flag.is_some_and(|f| f != coords_cartesian) {
            let line = self.lines.line(off);
            let (said, used) = if coords_cartesian {
                ("0", "X/Y/Z")
            } else {
                ("1", "azimuth/elevation")
            };
            self.notices.add(
                "cartesian-flag-mismatch",
                ctx.id,
                format!(
                    "audioBlockFormat {} (line {line}) says cartesian={said} but gives {used} coordinates; the coordinates were followed",
                    ctx.id
                ),
            );
        }
    }

    /// Objects audioBlockFormat (BS.2076 §5.4.3, §10; defaults of
    /// [`ObjectBlock::default`]).
    fn objects_block(&mut self, empty: bool, off: usize, ctx: Ctx<'_>) -> Result<ObjectBlock, AdmError> {
        let mut b = ObjectBlock::default();
        let mut pos = Positions::default();
        let mut cartesian_flag = None;
        self.children(empty, "audioBlockFormat", off, |s, name, e, empty, o| {
            match name {
                "position" => {
                    let p = s.position(e, empty, o, ctx, &mut pos.edge)?;
                    if p.bound != Bound::Value {
                        let line = s.lines.line(o);
                        s.notice_once("unsupported-attribute", "Objects position bound", || {
                            format!("position bound= in an Objects audioBlockFormat (first at line {line}) is only defined for DirectSpeakers; ignored")
                        });
                    } else {
                        pos.add(p);
                    }
                }
                "cartesian" => cartesian_flag = Some(s.value(e, empty, o, ctx, boolean)?),
                "width" => b.width = s.value(e, empty, o, ctx, number)?,
                "height" => b.height = s.value(e, empty, o, ctx, number)?,
                "depth" => b.depth = s.value(e, empty, o, ctx, number)?,
                "gain" => b.gain = s.gain(e, empty, o, ctx)?,
                "diffuse" => b.diffuse = s.value(e, empty, o, ctx, number)?,
                "channelLock" => {
                    let mut max_distance = None;
                    for a in attributes(e) {
                        let (k, v) = a.map_err(|m| s.xml_at(o, m))?;
                        if k == "maxDistance" {
                            max_distance = s.attr(o, ctx, "channelLock maxDistance", Some(&v), number)?;
                        }
                    }
                    let on = s.value(e, empty, o, ctx, boolean)?;
                    b.channel_lock = on.then_some(ChannelLock { max_distance });
                }
                "objectDivergence" => {
                    let (mut azimuth_range, mut position_range) = (None, None);
                    for a in attributes(e) {
                        let (k, v) = a.map_err(|m| s.xml_at(o, m))?;
                        match k {
                            "azimuthRange" => azimuth_range = s.attr(o, ctx, "azimuthRange", Some(&v), number)?,
                            "positionRange" => position_range = s.attr(o, ctx, "positionRange", Some(&v), number)?,
                            _ => {}
                        }
                    }
                    let value = s.value(e, empty, o, ctx, number)?;
                    b.object_divergence = Some(ObjectDivergence {
                        value,
                        azimuth_range,
                        position_range,
                    });
                }
                "jumpPosition" => {
                    let mut interpolation_length = None;
                    for a in attributes(e) {
                        let (k, v) = a.map_err(|m| s.xml_at(o, m))?;
                        if k == "interpolationLength" {
                            interpolation_length = s.memo_time(1, o, ctx, "interpolationLength", Some(&v), seconds)?;
                        }
                    }
                    let flag = s.value(e, empty, o, ctx, boolean)?;
                    b.jump_position = JumpPosition {
                        flag,
                        interpolation_length,
                    };
                }
                "screenRef" => b.screen_ref = s.value(e, empty, o, ctx, boolean)?,
                "importance" => b.importance = s.value(e, empty, o, ctx, integer)?,
                "headLocked" => b.head_locked = s.value(e, empty, o, ctx, boolean)?,
                "headphoneVirtualise" => b.headphone_virtualise = Some(s.headphone_virtualise(e, empty, o, ctx)?),
                "zoneExclusion" => s.zone_exclusion(empty, o, ctx, &mut b.zone_exclusion)?,
                _ if descriptive(name) => s.skip(e, empty)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        let polar = pos.any(true);
        let cartesian = pos.any(false);
        b.position = match (polar, cartesian) {
            (true, true) => {
                return Err(self.invalid(
                    off,
                    ctx,
                    "<position>",
                    "azimuth/elevation and X/Y/Z",
                    "one coordinate system",
                ));
            }
            (false, false) => return Err(self.missing(off, ctx.element, Some(ctx.id), "position")),
            (true, false) => {
                let azimuth = pos.get(Coord::Azimuth).value;
                let elevation = pos.get(Coord::Elevation).value;
                let (Some(azimuth), Some(elevation)) = (azimuth, elevation) else {
                    let which = if azimuth.is_none() { "azimuth" } else { "elevation" };
                    return Err(self.missing(
                        off,
                        ctx.element,
                        Some(ctx.id),
                        &format!("position coordinate=\"{which}\""),
                    ));
                };
                ObjectPosition::Polar {
                    azimuth,
                    elevation,
                    distance: pos.get(Coord::Distance).value.unwrap_or(1.0),
                }
            }
            (false, true) => {
                let (x, y) = (pos.get(Coord::X).value, pos.get(Coord::Y).value);
                let (Some(x), Some(y)) = (x, y) else {
                    let which = if x.is_none() { "X" } else { "Y" };
                    return Err(self.missing(
                        off,
                        ctx.element,
                        Some(ctx.id),
                        &format!("position coordinate=\"{which}\""),
                    ));
                };
                ObjectPosition::Cartesian {
                    x,
                    y,
                    z: pos.get(Coord::Z).value.unwrap_or(0.0),
                }
            }
        };
        b.screen_edge_lock = pos.edge;
        b.cartesian = cartesian;
        self.cartesian_mismatch(off, ctx, cartesian_flag, cartesian);
        Ok(b)
    }

    /// `zoneExclusion` with cartesian or polar `zone`s (BS.2076 §10.3).
    fn zone_exclusion(&mut self, empty: bool, off: usize, ctx: Ctx<'_>, zones: &mut Vec<Zone>) -> Result<(), AdmError> {
        const KEYS: [&str; 10] = [
            "minX",
            "maxX",
            "minY",
            "maxY",
            "minZ",
            "maxZ",
            "minElevation",
            "maxElevation",
            "minAzimuth",
            "maxAzimuth",
        ];
        self.children(empty, "zoneExclusion", off, |s, name, e, empty, o| {
            if name != "zone" {
                return Ok(false);
            }
            let mut v: [Option<f64>; 10] = [None; 10];
            for a in attributes(e) {
                let (k, val) = a.map_err(|m| s.xml_at(o, m))?;
                if let Some(i) = KEYS.iter().position(|&key| key == k) {
                    let x = s.attr(o, ctx, &format!("zone {k}"), Some(&val), number)?;
                    if let Some(slot) = v.get_mut(i) {
                        *slot = x;
                    }
                }
            }
            s.skip(e, empty)?;
            let [min_x, max_x, min_y, max_y, min_z, max_z, min_el, max_el, min_az, max_az] = v;
            let cart = [min_x, max_x, min_y, max_y, min_z, max_z];
            let polar = [min_el, max_el, min_az, max_az];
            let zone = if cart.iter().any(Option::is_some) && polar.iter().all(Option::is_none) {
                match cart {
                    [
                        Some(min_x),
                        Some(max_x),
                        Some(min_y),
                        Some(max_y),
                        Some(min_z),
                        Some(max_z),
                    ] => Zone::Cartesian {
                        min_x,
                        max_x,
                        min_y,
                        max_y,
                        min_z,
                        max_z,
                    },
                    _ => {
                        return Err(s.missing(
                            o,
                            ctx.element,
                            Some(ctx.id),
                            "zone minX, maxX, minY, maxY, minZ and maxZ",
                        ));
                    }
                }
            } else if polar.iter().any(Option::is_some) && cart.iter().all(Option::is_none) {
                match polar {
                    [
                        Some(min_elevation),
                        Some(max_elevation),
                        Some(min_azimuth),
                        Some(max_azimuth),
                    ] => Zone::Polar {
                        min_elevation,
                        max_elevation,
                        min_azimuth,
                        max_azimuth,
                    },
                    _ => {
                        return Err(s.missing(
                            o,
                            ctx.element,
                            Some(ctx.id),
                            "zone minElevation, maxElevation, minAzimuth and maxAzimuth",
                        ));
                    }
                }
            } else {
                return Err(s.invalid(o, ctx, "<zone>", "", "either minX…maxZ or minElevation…maxAzimuth"));
            };
            zones.push(zone);
            Ok(true)
        })
    }

    /// DirectSpeakers audioBlockFormat (BS.2076 §5.4.3).
    fn direct_speakers_block(
        &mut self,
        empty: bool,
        off: usize,
        ctx: Ctx<'_>,
    ) -> Result<DirectSpeakersBlock, AdmError> {
        let mut labels = Vec::new();
        let mut pos = Positions::default();
        let (mut gain, mut head_locked, mut hv, mut cartesian_flag) = (1.0, false, None, None);
        self.children(empty, "audioBlockFormat", off, |s, name, e, empty, o| {
            match name {
                "speakerLabel" => labels.push(s.text(e, empty, o)?.trim().to_owned()),
                "position" => {
                    let p = s.position(e, empty, o, ctx, &mut pos.edge)?;
                    pos.add(p);
                }
                "cartesian" => cartesian_flag = Some(s.value(e, empty, o, ctx, boolean)?),
                "gain" => gain = s.gain(e, empty, o, ctx)?,
                "headLocked" => head_locked = s.value(e, empty, o, ctx, boolean)?,
                "headphoneVirtualise" => hv = Some(s.headphone_virtualise(e, empty, o, ctx)?),
                _ if descriptive(name) => s.skip(e, empty)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        let polar = pos.any(true);
        let cartesian = pos.any(false);
        let coord = |c: Coord, default: Option<f64>| -> Result<BoundCoordinate, &'static str> {
            let g = pos.get(c);
            let value = match (g.value, default) {
                (Some(v), _) => v,
                (None, Some(d)) if g.min.is_none() && g.max.is_none() => d,
                _ => return Err(c.name()),
            };
            Ok(BoundCoordinate {
                value,
                min: g.min,
                max: g.max,
            })
        };
        let missing = |s: &Self, c: &str| {
            s.missing(
                off,
                ctx.element,
                Some(ctx.id),
                &format!("position coordinate=\"{c}\" value"),
            )
        };
        let position = match (polar, cartesian) {
            (true, true) => {
                return Err(self.invalid(
                    off,
                    ctx,
                    "<position>",
                    "azimuth/elevation and X/Y/Z",
                    "one coordinate system",
                ));
            }
            (false, false) => return Err(self.missing(off, ctx.element, Some(ctx.id), "position")),
            (true, false) => SpeakerPosition::Polar {
                azimuth: coord(Coord::Azimuth, None).map_err(|c| missing(self, c))?,
                elevation: coord(Coord::Elevation, None).map_err(|c| missing(self, c))?,
                distance: coord(Coord::Distance, Some(1.0)).map_err(|c| missing(self, c))?,
            },
            (false, true) => SpeakerPosition::Cartesian {
                x: coord(Coord::X, None).map_err(|c| missing(self, c))?,
                y: coord(Coord::Y, None).map_err(|c| missing(self, c))?,
                z: coord(Coord::Z, Some(0.0)).map_err(|c| missing(self, c))?,
            },
        };
        self.cartesian_mismatch(off, ctx, cartesian_flag, cartesian);
        Ok(DirectSpeakersBlock {
            speaker_labels: labels,
            position,
            screen_edge_lock: pos.edge,
            gain,
            head_locked,
            headphone_virtualise: hv,
        })
    }

    /// HOA audioBlockFormat (BS.2076 §5.4.3).
    fn hoa_block(&mut self, empty: bool, off: usize, ctx: Ctx<'_>) -> Result<HoaBlock, AdmError> {
        let mut b = HoaBlock::default();
        self.children(empty, "audioBlockFormat", off, |s, name, e, empty, o| {
            match name {
                "equation" => b.equation = Some(s.text(e, empty, o)?.trim().to_owned()),
                "order" => b.order = Some(s.value(e, empty, o, ctx, integer)?),
                "degree" => b.degree = Some(s.value(e, empty, o, ctx, integer)?),
                "normalization" => b.normalization = Some(s.value(e, empty, o, ctx, identity)?),
                "nfcRefDist" => b.nfc_ref_dist = Some(s.value(e, empty, o, ctx, number)?),
                "screenRef" => b.screen_ref = Some(s.value(e, empty, o, ctx, boolean)?),
                "gain" | "headLocked" | "headphoneVirtualise" => s.unsupported(e, empty, o, "HOA audioBlockFormat")?,
                _ if descriptive(name) => s.skip(e, empty)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(b)
    }

    /// Matrix audioBlockFormat (BS.2076 §5.4.3, §5.5.4).
    fn matrix_block(&mut self, empty: bool, off: usize, ctx: Ctx<'_>) -> Result<MatrixBlock, AdmError> {
        let mut b = MatrixBlock::default();
        self.children(empty, "audioBlockFormat", off, |s, name, e, empty, o| {
            match name {
                // BS.2076-1 spells it `outputChannelIDRef`.
                "outputChannelFormatIDRef" | "outputChannelIDRef" => {
                    s.single_ref(&mut b.output_channel_ref, e, empty, o, ctx)?
                }
                "matrix" => {
                    let coefficients = &mut b.coefficients;
                    s.children(empty, "matrix", o, |s, name, e, empty, o| {
                        if name != "coefficient" {
                            return Ok(false);
                        }
                        coefficients.push(s.coefficient(e, empty, o, ctx)?);
                        Ok(true)
                    })?;
                }
                "gain" | "headLocked" | "headphoneVirtualise" => {
                    s.unsupported(e, empty, o, "Matrix audioBlockFormat")?
                }
                _ if descriptive(name) => s.skip(e, empty)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        Ok(b)
    }

    /// `coefficient gain phase delay` whose text is the input channel's ID.
    fn coefficient(
        &mut self,
        e: &BytesStart<'a>,
        empty: bool,
        off: usize,
        ctx: Ctx<'_>,
    ) -> Result<MatrixCoefficient, AdmError> {
        let mut c = MatrixCoefficient::default();
        let mut input_attr = None;
        for a in attributes(e) {
            let (k, v) = a.map_err(|m| self.xml_at(off, m))?;
            match k {
                "gain" => c.gain = self.attr(off, ctx, "coefficient gain", Some(&v), number)?,
                "phase" => c.phase = self.attr(off, ctx, "coefficient phase", Some(&v), number)?,
                "delay" => c.delay = self.attr(off, ctx, "coefficient delay", Some(&v), number)?,
                "inputChannelFormatIDRef" => input_attr = Some(v.trim().to_owned()),
                _ => {}
            }
        }
        let text = self.text(e, empty, off)?;
        let input = match (text.trim(), input_attr) {
            ("", Some(a)) if !a.is_empty() => a,
            ("", _) => {
                return Err(self.missing(off, ctx.element, Some(ctx.id), "coefficient input channel ID"));
            }
            (t, _) => t.to_owned(),
        };
        c.input_channel_ref = input;
        Ok(c)
    }

    // ---- audioStreamFormat, audioTrackFormat, audioTrackUID ----------------

    fn stream(&mut self, e: &BytesStart<'a>, empty: bool, off: usize) -> Result<(), AdmError> {
        const EL: &str = "audioStreamFormat";
        let (mut id, mut name, mut label, mut def) = (None, None, None, None);
        for a in attributes(e) {
            let (k, v) = a.map_err(|m| self.xml_at(off, m))?;
            match k {
                "audioStreamFormatID" => id = Some(v.trim().to_owned()),
                "audioStreamFormatName" => name = Some(v.into_owned()),
                "formatLabel" => label = Some(v.trim().to_owned()),
                "formatDefinition" => def = Some(v.trim().to_owned()),
                _ => {}
            }
        }
        let id = id.ok_or_else(|| self.missing(off, EL, None, "audioStreamFormatID"))?;
        let ctx = Ctx { element: EL, id: &id };
        let mut s = AudioStreamFormat {
            id: id.clone(),
            name: name.unwrap_or_default(),
            format_label: format_label(label, def),
            channel_ref: None,
            pack_ref: None,
            track_format_refs: Vec::new(),
            origin: self.origin(off),
        };
        self.children(empty, EL, off, |p, name, e, empty, o| {
            match name {
                "audioChannelFormatIDRef" => p.single_ref(&mut s.channel_ref, e, empty, o, ctx)?,
                // Dolby Atmos masters give a pack as well as the channel: both kept.
                "audioPackFormatIDRef" => p.single_ref(&mut s.pack_ref, e, empty, o, ctx)?,
                "audioTrackFormatIDRef" => s.track_format_refs.push(p.id_ref(e, empty, o, ctx)?),
                _ if descriptive(name) => p.skip(e, empty)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        let pushed = self.doc.push_stream(s).map_err(|f| (f.origin.line, f.id.clone()));
        pushed.map_err(|dup| self.duplicate(off, EL, dup))
    }

    fn track_format(&mut self, e: &BytesStart<'a>, empty: bool, off: usize) -> Result<(), AdmError> {
        const EL: &str = "audioTrackFormat";
        let (mut id, mut name, mut label, mut def) = (None, None, None, None);
        for a in attributes(e) {
            let (k, v) = a.map_err(|m| self.xml_at(off, m))?;
            match k {
                "audioTrackFormatID" => id = Some(v.trim().to_owned()),
                "audioTrackFormatName" => name = Some(v.into_owned()),
                "formatLabel" => label = Some(v.trim().to_owned()),
                "formatDefinition" => def = Some(v.trim().to_owned()),
                _ => {}
            }
        }
        let id = id.ok_or_else(|| self.missing(off, EL, None, "audioTrackFormatID"))?;
        let ctx = Ctx { element: EL, id: &id };
        let mut t = AudioTrackFormat {
            id: id.clone(),
            name: name.unwrap_or_default(),
            format_label: format_label(label, def),
            stream_ref: None,
            origin: self.origin(off),
        };
        self.children(empty, EL, off, |p, name, e, empty, o| {
            match name {
                "audioStreamFormatIDRef" => p.single_ref(&mut t.stream_ref, e, empty, o, ctx)?,
                _ if descriptive(name) => p.skip(e, empty)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        let pushed = self.doc.push_track_format(t).map_err(|f| (f.origin.line, f.id.clone()));
        pushed.map_err(|dup| self.duplicate(off, EL, dup))
    }

    fn track_uid(&mut self, e: &BytesStart<'a>, empty: bool, off: usize) -> Result<(), AdmError> {
        const EL: &str = "audioTrackUID";
        let (mut id, mut rate, mut depth) = (None, None, None);
        for a in attributes(e) {
            let (k, v) = a.map_err(|m| self.xml_at(off, m))?;
            match k {
                "UID" => id = Some(v.trim().to_owned()),
                "sampleRate" => rate = Some(v),
                "bitDepth" => depth = Some(v),
                _ => {}
            }
        }
        let id = id.ok_or_else(|| self.missing(off, EL, None, "UID"))?;
        let ctx = Ctx { element: EL, id: &id };
        let mut u = AudioTrackUid {
            id: id.clone(),
            sample_rate: self.attr(off, ctx, "sampleRate", rate.as_ref(), unsigned)?,
            bit_depth: self.attr(off, ctx, "bitDepth", depth.as_ref(), unsigned)?,
            track_format_ref: None,
            channel_ref: None,
            pack_ref: None,
            origin: self.origin(off),
        };
        self.children(empty, EL, off, |p, name, e, empty, o| {
            match name {
                "audioTrackFormatIDRef" => p.single_ref(&mut u.track_format_ref, e, empty, o, ctx)?,
                "audioChannelFormatIDRef" => p.single_ref(&mut u.channel_ref, e, empty, o, ctx)?,
                "audioPackFormatIDRef" => p.single_ref(&mut u.pack_ref, e, empty, o, ctx)?,
                _ if descriptive(name) => p.skip(e, empty)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        let pushed = self.doc.push_track_uid(u).map_err(|f| (f.origin.line, f.id.clone()));
        pushed.map_err(|dup| self.duplicate(off, EL, dup))
    }
}

/// `formatLabel`, else `formatDefinition` (`PCM` = `0001`, BS.2076 §5.1.1, §5.2.1).
fn format_label(label: Option<String>, definition: Option<String>) -> Option<String> {
    label.or_else(|| {
        definition.map(|d| match d.as_str() {
            "PCM" => "0001".to_owned(),
            _ => d,
        })
    })
}

impl Coord {
    fn name(self) -> &'static str {
        match self {
            Coord::Azimuth => "azimuth",
            Coord::Elevation => "elevation",
            Coord::Distance => "distance",
            Coord::X => "X",
            Coord::Y => "Y",
            Coord::Z => "Z",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn afe(body: &str) -> String {
        format!(
            "<?xml version=\"1.0\"?>\n<audioFormatExtended version=\"ITU-R_BS.2076-2\">\n{body}\n</audioFormatExtended>\n"
        )
    }

    fn ok(xml: &str) -> (Document, Vec<Notice>) {
        match parse(xml, "t.xml") {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    }

    fn err(xml: &str) -> AdmErrorKind {
        match parse(xml, "t.xml") {
            Ok(_) => panic!("parsed:\n{xml}"),
            Err(e) => e.into_kind(),
        }
    }

    fn kinds(notices: &[Notice]) -> Vec<&'static str> {
        notices.iter().map(|n| n.kind).collect()
    }

    /// One Objects channel holding `block` (the inside of an audioBlockFormat).
    fn objects_block(block: &str) -> Result<(ObjectBlock, Vec<Notice>), AdmError> {
        let xml = afe(&format!(
            r#"<audioChannelFormat audioChannelFormatID="AC_00031001" audioChannelFormatName="o" typeDefinition="Objects">
<audioBlockFormat audioBlockFormatID="AB_00031001_00000001" rtime="00:00:01.5" duration="00:00:00.24000S48000">{block}</audioBlockFormat>
</audioChannelFormat>"#
        ));
        let (doc, notices) = parse(&xml, "t.xml")?;
        let c = doc.channel("AC_00031001").unwrap();
        assert_eq!(c.blocks[0].rtime, Time::new(3, 2));
        assert_eq!(c.blocks[0].duration, Time::new(1, 2));
        match &c.blocks[0].kind {
            BlockKind::Objects(b) => Ok((b.clone(), notices)),
            other => panic!("{other:?}"),
        }
    }

    fn ds_block(block: &str) -> Result<DirectSpeakersBlock, AdmError> {
        let xml = afe(&format!(
            r#"<audioChannelFormat audioChannelFormatID="AC_00011001" audioChannelFormatName="d" typeLabel="0001">
<audioBlockFormat audioBlockFormatID="AB_00011001_00000001">{block}</audioBlockFormat>
</audioChannelFormat>"#
        ));
        let (doc, _) = parse(&xml, "t.xml")?;
        match &doc.channel("AC_00011001").unwrap().blocks[0].kind {
            BlockKind::DirectSpeakers(b) => Ok(b.clone()),
            other => panic!("{other:?}"),
        }
    }

    const POLAR: &str = r#"<position coordinate="azimuth">30</position><position coordinate="elevation">10</position>"#;

    #[test]
    fn programme_with_loudness_and_screens() {
        let (doc, notices) = ok(&afe(r#"
<audioProgramme audioProgrammeID="APR_1001" audioProgrammeName="Main" audioProgrammeLanguage="en" start="00:00:00.00000" end="00:10:00.5" maxDuckingDepth="-15">
  <audioContentIDRef>ACO_1001</audioContentIDRef>
  <loudnessMetadata loudnessMethod="ITU-R BS.1770"><integratedLoudness>-23.0</integratedLoudness><loudnessRange>5</loudnessRange>
    <maxTruePeak>-1</maxTruePeak><maxMomentary>-8</maxMomentary><dialogLoudness>-24</dialogLoudness></loudnessMetadata>
  <audioProgrammeReferenceScreen aspectRatio="2.39"><screenCentrePosition azimuth="5" elevation="1" distance="1"/><screenWidth azimuth="40"/></audioProgrammeReferenceScreen>
  <audioProgrammeLabel language="en">Good morning</audioProgrammeLabel>
</audioProgramme>
<audioProgramme audioProgrammeID="APR_1002" audioProgrammeName="Cart">
  <audioProgrammeReferenceScreen><screenCentrePosition X="0.1" Y="-1" Z="0.2"/><screenWidth X="0.3"/></audioProgrammeReferenceScreen>
</audioProgramme>
<audioContent audioContentID="ACO_1001" audioContentName="c"/>"#));
        assert!(notices.is_empty(), "{notices:?}");
        let p = doc.programme("APR_1001").unwrap();
        assert_eq!(p.name, "Main");
        assert_eq!(p.language.as_deref(), Some("en"));
        assert_eq!(p.start, Some(Time::ZERO));
        assert_eq!(p.end, Time::new(1201, 2));
        assert_eq!(p.content_refs, ["ACO_1001"]);
        assert_eq!(p.origin.line, 4);
        assert_eq!(
            p.loudness,
            [LoudnessMetadata {
                loudness_method: Some("ITU-R BS.1770".into()),
                integrated_loudness: Some(-23.0),
                loudness_range: Some(5.0),
                max_true_peak: Some(-1.0),
                dialogue_loudness: Some(-24.0),
            }]
        );
        assert_eq!(
            p.reference_screen,
            Some(Screen::Polar {
                aspect_ratio: 2.39,
                centre_azimuth: 5.0,
                centre_elevation: 1.0,
                centre_distance: 1.0,
                width_azimuth: 40.0
            })
        );
        assert_eq!(
            doc.programme("APR_1002").unwrap().reference_screen,
            Some(Screen::Cartesian {
                aspect_ratio: 1.78,
                centre_x: 0.1,
                centre_y: -1.0,
                centre_z: 0.2,
                width_x: 0.3
            })
        );
        assert!(matches!(
            err(&afe(r#"<audioProgramme audioProgrammeID="APR_1001" start="1.5"/>"#)),
            AdmErrorKind::InvalidValue { what, .. } if what == "start"
        ));
        assert!(matches!(
            err(&afe(r#"<audioProgramme audioProgrammeName="x"/>"#)),
            AdmErrorKind::Missing { missing, .. } if missing == "audioProgrammeID"
        ));
    }

    #[test]
    fn empty_reference_screen_is_the_default_screen() {
        let (doc, _) = ok(&afe(
            r#"<audioProgramme audioProgrammeID="APR_1001"><audioProgrammeReferenceScreen/></audioProgramme>"#,
        ));
        assert_eq!(doc.programmes[0].reference_screen, Some(Screen::DEFAULT));
        let e = err(&afe(
            r#"<audioProgramme audioProgrammeID="APR_1001"><audioProgrammeReferenceScreen>
  <screenCentrePosition X="0" Y="1" Z="0"/></audioProgrammeReferenceScreen></audioProgramme>"#,
        ));
        assert!(
            matches!(&e, AdmErrorKind::Missing { missing, .. } if missing.contains("screenWidth")),
            "{e:?}"
        );
    }

    #[test]
    fn content_dialogue_and_references() {
        let (doc, _) = ok(&afe(r#"
<audioContent audioContentID="ACO_1001" audioContentName="Dialog" audioContentLanguage="de">
  <audioObjectIDRef>AO_1001</audioObjectIDRef>
  <dialogue dialogueContentKind="2">1</dialogue>
  <loudnessMetadata><dialogueLoudness>-20</dialogueLoudness></loudnessMetadata>
</audioContent>
<audioObject audioObjectID="AO_1001" audioObjectName="o"/>"#));
        let c = doc.content("ACO_1001").unwrap();
        assert_eq!(c.dialogue, Some(Dialogue::Dialogue));
        assert_eq!(c.object_refs, ["AO_1001"]);
        assert_eq!(c.language.as_deref(), Some("de"));
        assert_eq!(c.loudness[0].dialogue_loudness, Some(-20.0));
        let e = err(&afe(
            r#"<audioContent audioContentID="ACO_1001"><dialogue>3</dialogue></audioContent>"#,
        ));
        assert!(
            matches!(e, AdmErrorKind::InvalidValue { ref what, ref value, .. } if what == "<dialogue>" && value == "3"),
            "{e:?}"
        );
    }

    #[test]
    fn object_attributes_and_children() {
        let (doc, notices) = ok(&afe(r#"
<audioObject audioObjectID="AO_1001" audioObjectName="Obj" start="00:00:01.00000" duration="00:00:10.00000" dialogue="2" importance="7" interact="1" disableDucking="1">
  <audioPackFormatIDRef>AP_00010002</audioPackFormatIDRef>
  <audioObjectIDRef>AO_1002</audioObjectIDRef>
  <audioComplementaryObjectIDRef>AO_1002</audioComplementaryObjectIDRef>
  <audioTrackUIDRef>ATU_00000001</audioTrackUIDRef>
  <audioTrackUIDRef>ATU_00000000</audioTrackUIDRef>
  <gain gainUnit="dB">-6</gain>
  <mute>1</mute>
  <headLocked>true</headLocked>
  <positionOffset coordinate="azimuth">30</positionOffset>
  <positionOffset coordinate="distance">0.5</positionOffset>
  <audioObjectLabel language="en">Object</audioObjectLabel>
  <audioObjectInteraction onOffInteract="1"><gainInteractionRange bound="min">0.5</gainInteractionRange></audioObjectInteraction>
</audioObject>
<audioObject audioObjectID="AO_1002" audioObjectName="Child"><positionOffset coordinate="X">-0.2</positionOffset></audioObject>
<audioTrackUID UID="ATU_00000001" sampleRate=" 48000" bitDepth="24"/>"#));
        assert!(notices.is_empty(), "{notices:?}");
        let o = doc.object("AO_1001").unwrap();
        assert_eq!(o.start, Some(Time::from_seconds_int(1)));
        assert_eq!(o.duration, Some(Time::from_seconds_int(10)));
        assert_eq!(o.dialogue, Some(Dialogue::Mixed));
        assert_eq!((o.importance, o.interact), (Some(7), Some(true)));
        assert_eq!(o.pack_refs, ["AP_00010002"]);
        assert_eq!(o.object_refs, ["AO_1002"]);
        assert_eq!(o.complementary_refs, ["AO_1002"]);
        assert_eq!(o.track_uid_refs, ["ATU_00000001", "ATU_00000000"]);
        assert!((o.gain - 0.501_187_233_627_272_3).abs() < 1e-12);
        assert!(o.mute);
        assert_eq!(o.head_locked, Some(true));
        assert_eq!(
            o.position_offset,
            Some(PositionOffset {
                azimuth: Some(30.0),
                distance: Some(0.5),
                ..PositionOffset::default()
            })
        );
        assert_eq!(doc.object("AO_1002").unwrap().position_offset.unwrap().x, Some(-0.2));
        assert_eq!(doc.object("AO_1002").unwrap().gain, 1.0);
        assert_eq!(doc.track_uid("ATU_00000001").unwrap().sample_rate, Some(48000));
        // The stereo pack came from the common definitions.
        assert!(doc.pack("AP_00010002").unwrap().origin.common_definition);

        let e = err(&afe(
            r#"<audioObject audioObjectID="AO_1001"><gain gainUnit="dBFS">1</gain></audioObject>"#,
        ));
        assert!(
            matches!(&e, AdmErrorKind::InvalidValue { id: Some(id), value, .. } if id == "AO_1001" && value == "dBFS"),
            "{e:?}"
        );
        let e = err(&afe(
            r#"<audioObject audioObjectID="AO_1001"><mute>yes</mute></audioObject>"#,
        ));
        assert!(
            matches!(&e, AdmErrorKind::InvalidValue { what, .. } if what == "<mute>"),
            "{e:?}"
        );
        let e = err(&afe(
            r#"<audioObject audioObjectID="AO_1001"><positionOffset coordinate="W">1</positionOffset></audioObject>"#,
        ));
        assert!(
            matches!(&e, AdmErrorKind::InvalidValue { value, .. } if value == "W"),
            "{e:?}"
        );
    }

    #[test]
    fn pack_type_label_and_definition() {
        let (doc, notices) = ok(&afe(r#"
<audioPackFormat audioPackFormatID="AP_00031001" audioPackFormatName="a" typeLabel="0003" absoluteDistance="2.5" importance="8"/>
<audioPackFormat audioPackFormatID="AP_00041001" audioPackFormatName="b" typeDefinition="HOA" normalization="N3D" nfcRefDist="2" screenRef="1">
  <audioChannelFormatIDRef>AC_00040001</audioChannelFormatIDRef>
</audioPackFormat>
<audioPackFormat audioPackFormatID="AP_00041002" audioPackFormatName="c" typeLabel="0004" typeDefinition="HOA">
  <normalization>SN3D</normalization><nfcRefDist>1.5</nfcRefDist><screenRef>0</screenRef>
  <audioPackFormatIDRef>AP_00041001</audioPackFormatIDRef>
</audioPackFormat>
<audioPackFormat audioPackFormatID="AP_00021001" audioPackFormatName="m">
  <inputPackFormatIDRef>AP_00010003</inputPackFormatIDRef><decodePackFormatIDRef>AP_00021001</decodePackFormatIDRef>
</audioPackFormat>"#));
        let a = doc.pack("AP_00031001").unwrap();
        assert_eq!(a.type_definition, TypeDefinition::Objects);
        assert_eq!((a.absolute_distance, a.importance), (Some(2.5), Some(8)));
        let b = doc.pack("AP_00041001").unwrap();
        assert_eq!(
            (
                b.type_definition,
                b.normalization.as_deref(),
                b.nfc_ref_dist,
                b.screen_ref
            ),
            (TypeDefinition::Hoa, Some("N3D"), Some(2.0), Some(true))
        );
        let c = doc.pack("AP_00041002").unwrap();
        assert_eq!(
            (c.normalization.as_deref(), c.nfc_ref_dist, c.screen_ref),
            (Some("SN3D"), Some(1.5), Some(false))
        );
        assert_eq!(c.pack_refs, ["AP_00041001"]);
        let m = doc.pack("AP_00021001").unwrap();
        assert_eq!(m.type_definition, TypeDefinition::Matrix);
        assert_eq!(m.matrix_refs, ["AP_00010003", "AP_00021001"]);
        assert_eq!(kinds(&notices), ["type-definition-inferred"]);
        assert!(doc.pack("AP_00010003").is_some());

        let e = err(&afe(
            r#"<audioPackFormat audioPackFormatID="AP_00031001" typeLabel="0001" typeDefinition="Objects"/>"#,
        ));
        assert!(
            matches!(&e, AdmErrorKind::InvalidValue { what, .. } if what == "typeLabel"),
            "{e:?}"
        );
        let e = err(&afe(
            r#"<audioPackFormat audioPackFormatID="AP_00031001" typeDefinition="Ambisonics"/>"#,
        ));
        assert!(
            matches!(&e, AdmErrorKind::InvalidValue { what, .. } if what == "typeDefinition"),
            "{e:?}"
        );
        let e = err(&afe(r#"<audioPackFormat audioPackFormatID="AP_x"/>"#));
        assert!(
            matches!(&e, AdmErrorKind::Missing { missing, .. } if missing.contains("typeDefinition")),
            "{e:?}"
        );
    }

    #[test]
    fn channel_frequency() {
        let (doc, _) = ok(&afe(r#"
<audioChannelFormat audioChannelFormatID="AC_00011001" audioChannelFormatName="LFE" typeDefinition="DirectSpeakers">
  <frequency typeDefinition="lowPass">120</frequency>
  <audioBlockFormat audioBlockFormatID="AB_00011001_00000001"><speakerLabel>LFE1</speakerLabel>
    <position coordinate="azimuth">0</position><position coordinate="elevation">-30</position></audioBlockFormat>
</audioChannelFormat>
<audioChannelFormat audioChannelFormatID="AC_00011002" audioChannelFormatName="Mid" typeDefinition="DirectSpeakers">
  <frequency typeDefinition="lowPass">2000</frequency><frequency typeDefinition="highPass">150</frequency>
</audioChannelFormat>"#));
        let lfe = doc.channel("AC_00011001").unwrap();
        assert!(lfe.frequency.is_lfe());
        assert_eq!(lfe.blocks.len(), 1);
        let mid = doc.channel("AC_00011002").unwrap();
        assert_eq!(
            mid.frequency,
            Frequency {
                low_pass: Some(2000.0),
                high_pass: Some(150.0)
            }
        );
        assert!(mid.blocks.is_empty());
        let e = err(&afe(
            r#"<audioChannelFormat audioChannelFormatID="AC_00011001" typeLabel="0001"><frequency typeDefinition="bandPass">1</frequency></audioChannelFormat>"#,
        ));
        assert!(
            matches!(&e, AdmErrorKind::InvalidValue { value, .. } if value == "bandPass"),
            "{e:?}"
        );
    }

    #[test]
    fn objects_block_every_parameter() {
        let (b, notices) = objects_block(
            r#"
  <position coordinate="azimuth" screenEdgeLock="right">-30.0</position>
  <position coordinate="elevation" screenEdgeLock="top">10.0</position>
  <position coordinate="distance">0.5</position>
  <width>45</width><height>20</height><depth>0.2</depth>
  <gain gainUnit="linear">0.8</gain><diffuse>0.5</diffuse>
  <channelLock maxDistance="1.5">1</channelLock>
  <objectDivergence azimuthRange="60" positionRange="0.25">0.5
  </objectDivergence>
  <jumpPosition interpolationLength="0.005208">1</jumpPosition>
  <screenRef>1</screenRef><importance>3</importance><headLocked>1</headLocked>
  <headphoneVirtualise bypass="1" DRR="-60"/>
  <zoneExclusion>
    <zone minX="-1" maxX="-0.7" minY="-1" maxY="1" minZ="-1" maxZ="1">LeftSide</zone>
    <zone minElevation="-90" maxElevation="-45" minAzimuth="90" maxAzimuth="180">RearRightBottom</zone>
  </zoneExclusion>
  <speakerLabel>ignored</speakerLabel>"#,
        )
        .unwrap();
        assert!(notices.is_empty(), "{notices:?}");
        assert_eq!(
            b,
            ObjectBlock {
                position: ObjectPosition::Polar {
                    azimuth: -30.0,
                    elevation: 10.0,
                    distance: 0.5
                },
                screen_edge_lock: ScreenEdgeLock {
                    horizontal: Some(HorizontalEdge::Right),
                    vertical: Some(VerticalEdge::Top)
                },
                cartesian: false,
                width: 45.0,
                height: 20.0,
                depth: 0.2,
                gain: 0.8,
                diffuse: 0.5,
                channel_lock: Some(ChannelLock {
                    max_distance: Some(1.5)
                }),
                object_divergence: Some(ObjectDivergence {
                    value: 0.5,
                    azimuth_range: Some(60.0),
                    position_range: Some(0.25)
                }),
                jump_position: JumpPosition {
                    flag: true,
                    interpolation_length: Time::new(5208, 1_000_000)
                },
                screen_ref: true,
                importance: 3,
                zone_exclusion: vec![
                    Zone::Cartesian {
                        min_x: -1.0,
                        max_x: -0.7,
                        min_y: -1.0,
                        max_y: 1.0,
                        min_z: -1.0,
                        max_z: 1.0
                    },
                    Zone::Polar {
                        min_elevation: -90.0,
                        max_elevation: -45.0,
                        min_azimuth: 90.0,
                        max_azimuth: 180.0
                    }
                ],
                head_locked: true,
                headphone_virtualise: Some(HeadphoneVirtualise {
                    bypass: true,
                    drr: Some(-60.0)
                }),
            }
        );
    }

    #[test]
    fn objects_block_defaults_and_coordinates() {
        // BS.2076-2 Table 16: everything but the position omitted.
        let (b, _) = objects_block(POLAR).unwrap();
        let expected = ObjectBlock {
            position: ObjectPosition::Polar {
                azimuth: 30.0,
                elevation: 10.0,
                distance: 1.0,
            },
            ..ObjectBlock::default()
        };
        assert_eq!(b, expected);

        // Cartesian: Z defaults to 0; `cartesian` follows the coordinates.
        let (b, notices) = objects_block(
            r#"<cartesian>1</cartesian><position coordinate="X">-0.5</position><position coordinate="Y">1</position>"#,
        )
        .unwrap();
        assert_eq!(
            b.position,
            ObjectPosition::Cartesian {
                x: -0.5,
                y: 1.0,
                z: 0.0
            }
        );
        assert!(b.cartesian && notices.is_empty());
        let (b, notices) = objects_block(r#"<position coordinate="X">0.5</position><position coordinate="Y">0</position><position coordinate="Z">1</position>"#).unwrap();
        assert!(b.cartesian && notices.is_empty());

        // The flag contradicts the coordinates: coordinates win, with a notice.
        let (b, notices) = objects_block(&format!("<cartesian>1</cartesian>{POLAR}")).unwrap();
        assert!(!b.cartesian);
        assert_eq!(kinds(&notices), ["cartesian-flag-mismatch"]);
        assert_eq!(notices[0].subject, "AB_00031001_00000001");

        // channelLock 0 = none; jumpPosition 0.
        let (b, _) = objects_block(&format!(
            "{POLAR}<channelLock maxDistance=\"1\">0</channelLock><jumpPosition>0</jumpPosition>"
        ))
        .unwrap();
        assert_eq!(b.channel_lock, None);
        assert_eq!(b.jump_position, JumpPosition::default());

        for (bad, what) in [
            (r#"<position coordinate="azimuth">30</position>"#, "elevation"),
            (r#"<position coordinate="Y">1</position>"#, "X"),
            ("<width>1</width>", "position"),
        ] {
            match objects_block(bad).map_err(AdmError::into_kind) {
                Err(AdmErrorKind::Missing { missing, id, .. }) => {
                    assert!(missing.contains(what), "{missing}");
                    assert_eq!(id.as_deref(), Some("AB_00031001_00000001"));
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        for (bad, what) in [
            (format!("{POLAR}<position coordinate=\"X\">1</position>"), "<position>"),
            (format!("{POLAR}<width>wide</width>"), "<width>"),
            (format!("{POLAR}<width>NaN</width>"), "<width>"),
            (
                format!("{POLAR}<jumpPosition interpolationLength=\"-1\">1</jumpPosition>"),
                "interpolationLength",
            ),
            (
                format!("{POLAR}<zoneExclusion><zone minX=\"0\">z</zone></zoneExclusion>"),
                "",
            ),
            (
                r#"<position coordinate="azimuth" screenEdgeLock="top">30</position>"#.into(),
                "screenEdgeLock",
            ),
            (
                r#"<position coordinate="azimuth" screenEdgeLock="middle">30</position>"#.into(),
                "screenEdgeLock",
            ),
        ] {
            match objects_block(&bad).map_err(AdmError::into_kind) {
                Err(AdmErrorKind::InvalidValue { what: w, .. }) => assert!(w.contains(what), "{bad}: {w}"),
                Err(AdmErrorKind::Missing { missing, .. }) => assert!(missing.contains("zone"), "{bad}: {missing}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn direct_speakers_block_with_bounds() {
        let b = ds_block(
            r#"<speakerLabel>M+030</speakerLabel><speakerLabel>urn:itu:bs:2051:0:speaker:M+030</speakerLabel>
  <position coordinate="azimuth" screenEdgeLock="left">30</position>
  <position coordinate="azimuth" bound="min">25</position><position coordinate="azimuth" bound="max">35</position>
  <position coordinate="elevation">0</position>
  <gain gainUnit="dB">-3</gain><headLocked>1</headLocked><importance>5</importance>
  <headphoneVirtualise bypass="0" DRR="60"/>"#,
        )
        .unwrap();
        assert_eq!(b.speaker_labels, ["M+030", "urn:itu:bs:2051:0:speaker:M+030"]);
        assert_eq!(
            b.position,
            SpeakerPosition::Polar {
                azimuth: BoundCoordinate {
                    value: 30.0,
                    min: Some(25.0),
                    max: Some(35.0)
                },
                elevation: BoundCoordinate::exact(0.0),
                distance: BoundCoordinate::exact(1.0),
            }
        );
        assert_eq!(b.screen_edge_lock.horizontal, Some(HorizontalEdge::Left));
        assert!((b.gain - 10f64.powf(-3.0 / 20.0)).abs() < 1e-15);
        assert!(b.head_locked);
        assert_eq!(
            b.headphone_virtualise,
            Some(HeadphoneVirtualise {
                bypass: false,
                drr: Some(60.0)
            })
        );

        let b = ds_block(
            r#"<cartesian>1</cartesian><position coordinate="X">-1</position><position coordinate="Y">1</position><position coordinate="Z" bound="max">0.1</position>"#,
        )
        .map_err(AdmError::into_kind);
        assert!(
            matches!(b, Err(AdmErrorKind::Missing { ref missing, .. }) if missing.contains("\"Z\"")),
            "{b:?}"
        );
        let b = ds_block(r#"<position coordinate="X">-1</position><position coordinate="Y">1</position>"#).unwrap();
        assert_eq!(
            b.position,
            SpeakerPosition::Cartesian {
                x: BoundCoordinate::exact(-1.0),
                y: BoundCoordinate::exact(1.0),
                z: BoundCoordinate::exact(0.0)
            }
        );
        let e = ds_block(r#"<position coordinate="X" bound="wrong">-0.1</position>"#)
            .unwrap_err()
            .into_kind();
        assert!(
            matches!(&e, AdmErrorKind::InvalidValue { value, at, .. } if value == "wrong" && at.line == 4),
            "{e:?}"
        );
        let e = ds_block(r#"<position coordinate="W">0.5</position>"#)
            .unwrap_err()
            .into_kind();
        assert!(
            matches!(&e, AdmErrorKind::InvalidValue { value, .. } if value == "W"),
            "{e:?}"
        );
        let e = ds_block(r#"<position>0.5</position>"#).unwrap_err().into_kind();
        assert!(
            matches!(&e, AdmErrorKind::Missing { missing, .. } if missing.contains("coordinate")),
            "{e:?}"
        );
    }

    #[test]
    fn hoa_matrix_and_binaural_blocks() {
        let (doc, notices) = ok(&afe(r#"
<audioChannelFormat audioChannelFormatID="AC_00041001" audioChannelFormatName="W" typeDefinition="HOA">
  <audioBlockFormat audioBlockFormatID="AB_00041001_00000001"><equation>1</equation><order>1</order><degree>-1</degree>
    <normalization>SN3D</normalization><nfcRefDist>2.0</nfcRefDist><screenRef>0</screenRef><gain>0.5</gain></audioBlockFormat>
</audioChannelFormat>
<audioChannelFormat audioChannelFormatID="AC_00021001" audioChannelFormatName="Lo" typeDefinition="Matrix">
  <audioBlockFormat audioBlockFormatID="AB_00021001_00000001">
    <matrix><coefficient gain="0.5" phase="90" delay="1.5" gainVar="g">AC_00010003</coefficient>
      <coefficient>AC_00010001</coefficient></matrix>
    <outputChannelIDRef>AC_00010001</outputChannelIDRef>
  </audioBlockFormat>
</audioChannelFormat>
<audioChannelFormat audioChannelFormatID="AC_00051001" audioChannelFormatName="L" typeDefinition="Binaural">
  <audioBlockFormat audioBlockFormatID="AB_00051001_00000001"/>
</audioChannelFormat>"#));
        let BlockKind::Hoa(h) = &doc.channel("AC_00041001").unwrap().blocks[0].kind else {
            panic!()
        };
        assert_eq!(
            *h,
            HoaBlock {
                equation: Some("1".into()),
                order: Some(1),
                degree: Some(-1),
                normalization: Some("SN3D".into()),
                nfc_ref_dist: Some(2.0),
                screen_ref: Some(false)
            }
        );
        assert_eq!(kinds(&notices), ["unsupported-element"]);
        let BlockKind::Matrix(m) = &doc.channel("AC_00021001").unwrap().blocks[0].kind else {
            panic!()
        };
        assert_eq!(m.output_channel_ref.as_deref(), Some("AC_00010001"));
        assert_eq!(
            m.coefficients,
            [
                MatrixCoefficient {
                    input_channel_ref: "AC_00010003".into(),
                    gain: Some(0.5),
                    phase: Some(90.0),
                    delay: Some(1.5)
                },
                MatrixCoefficient {
                    input_channel_ref: "AC_00010001".into(),
                    ..MatrixCoefficient::default()
                }
            ]
        );
        // Matrix references resolve through the common definitions too.
        assert!(doc.channel("AC_00010003").unwrap().origin.common_definition);
        assert_eq!(doc.channel("AC_00051001").unwrap().blocks[0].kind, BlockKind::Binaural);

        let e = err(&afe(
            r#"<audioChannelFormat audioChannelFormatID="AC_00021001" typeLabel="0002">
  <audioBlockFormat audioBlockFormatID="AB_00021001_00000001"><matrix><coefficient>AC_00021999</coefficient></matrix></audioBlockFormat>
</audioChannelFormat>"#,
        ));
        assert!(
            matches!(&e, AdmErrorKind::DanglingReference { target, .. } if target == "AC_00021999"),
            "{e:?}"
        );
    }

    #[test]
    fn streams_tracks_and_uids() {
        let (doc, notices) = ok(&afe(r#"
<audioStreamFormat audioStreamFormatID="AS_00031001" audioStreamFormatName="s" formatDefinition="PCM">
  <audioChannelFormatIDRef>AC_00031001</audioChannelFormatIDRef>
  <audioPackFormatIDRef>AP_00031001</audioPackFormatIDRef>
  <audioTrackFormatIDRef>AT_00031001_01</audioTrackFormatIDRef>
</audioStreamFormat>
<audioTrackFormat audioTrackFormatID="AT_00031001_01" audioTrackFormatName="t" formatLabel="0001">
  <audioStreamFormatIDRef>AS_00031001</audioStreamFormatIDRef>
</audioTrackFormat>
<audioPackFormat audioPackFormatID="AP_00031001" typeLabel="0003"><audioChannelFormatIDRef>AC_00031001</audioChannelFormatIDRef></audioPackFormat>
<audioChannelFormat audioChannelFormatID="AC_00031001" typeLabel="0003"/>
<audioTrackUID UID="ATU_00000001" sampleRate="48000" bitDepth="24">
  <audioTrackFormatIDRef>AT_00031001_01</audioTrackFormatIDRef><audioPackFormatIDRef>AP_00031001</audioPackFormatIDRef>
</audioTrackUID>
<audioTrackUID UID="ATU_00000002"><audioChannelFormatIDRef>AC_00010004</audioChannelFormatIDRef>
  <audioPackFormatIDRef>AP_00010003</audioPackFormatIDRef><audioMXFLookUp><packageUIDRef>x</packageUIDRef></audioMXFLookUp></audioTrackUID>"#));
        assert!(notices.is_empty(), "{notices:?}");
        let s = doc.stream("AS_00031001").unwrap();
        assert_eq!(s.format_label.as_deref(), Some("0001"));
        assert_eq!(
            (s.channel_ref.as_deref(), s.pack_ref.as_deref()),
            (Some("AC_00031001"), Some("AP_00031001"))
        );
        assert_eq!(s.track_format_refs, ["AT_00031001_01"]);
        assert_eq!(
            doc.track_format("AT_00031001_01").unwrap().stream_ref.as_deref(),
            Some("AS_00031001")
        );
        let u = doc.track_uid("ATU_00000001").unwrap();
        assert_eq!((u.sample_rate, u.bit_depth), (Some(48000), Some(24)));
        let u = doc.track_uid("ATU_00000002").unwrap();
        assert_eq!(u.channel_ref.as_deref(), Some("AC_00010004"));
        assert_eq!(doc.packs.len(), 2);
        assert_eq!(doc.channels.len(), 1 + 6);

        let e = err(&afe(r#"<audioStreamFormat audioStreamFormatID="AS_00031001">
  <audioChannelFormatIDRef>AC_00010001</audioChannelFormatIDRef><audioChannelFormatIDRef>AC_00010002</audioChannelFormatIDRef>
</audioStreamFormat>"#));
        assert!(
            matches!(&e, AdmErrorKind::InvalidValue { value, .. } if value == "AC_00010002"),
            "{e:?}"
        );
        let e = err(&afe(r#"<audioTrackUID UID="ATU_00000001" bitDepth="-24"/>"#));
        assert!(
            matches!(&e, AdmErrorKind::InvalidValue { what, .. } if what == "bitDepth"),
            "{e:?}"
        );
        let e = err(&afe(
            r#"<audioTrackUID><audioPackFormatIDRef> </audioPackFormatIDRef></audioTrackUID>"#,
        ));
        assert!(
            matches!(&e, AdmErrorKind::Missing { missing, .. } if missing == "UID"),
            "{e:?}"
        );
        let e = err(&afe(
            r#"<audioTrackUID UID="ATU_00000001"><audioPackFormatIDRef> </audioPackFormatIDRef></audioTrackUID>"#,
        ));
        assert!(
            matches!(&e, AdmErrorKind::InvalidValue { expected, .. } if expected == "an ID"),
            "{e:?}"
        );
    }

    #[test]
    fn roots_namespaces_and_version() {
        let body = r#"<audioObject audioObjectID="AO_1001" audioObjectName="o"/>"#;
        for (xml, root) in [
            (afe(body), "audioFormatExtended"),
            (
                format!(
                    r#"<ebuCoreMain xmlns="urn:ebu:metadata-schema:ebuCore" xmlns:dc="http://purl.org/dc/elements/1.1/"><coreMetadata><title><dc:title>t</dc:title></title><format><audioFormatExtended>{body}</audioFormatExtended></format></coreMetadata></ebuCoreMain>"#
                ),
                "ebuCoreMain/coreMetadata/format/audioFormatExtended",
            ),
            (
                format!(
                    r#"<ituADM xmlns="urn:metadata-schema:adm"><coreMetadata><format><audioFormatExtended>{body}</audioFormatExtended></format></coreMetadata></ituADM>"#
                ),
                "ituADM/coreMetadata/format/audioFormatExtended",
            ),
            (
                format!(
                    r#"<frame version="ITU-R_BS.2125-1"><frameHeader><frameFormat frameFormatID="FF_00000001" start="00:00:00.00000S48000"/></frameHeader><audioFormatExtended>{body}</audioFormatExtended><audioFormatCustom><x/></audioFormatCustom></frame>"#
                ),
                "frame/audioFormatExtended",
            ),
            (
                r#"<e:ebuCoreMain xmlns:e="urn:ebu"><e:coreMetadata><e:format><a:audioFormatExtended xmlns:a="urn:adm"><a:audioObject audioObjectID="AO_1001"/></a:audioFormatExtended></e:format></e:coreMetadata></e:ebuCoreMain>"#.to_owned(),
                "ebuCoreMain/coreMetadata/format/audioFormatExtended",
            ),
        ] {
            let (doc, notices) = ok(&xml);
            assert_eq!(doc.root_path, root);
            assert!(doc.object("AO_1001").is_some(), "{root}");
            assert!(notices.is_empty(), "{root}: {notices:?}");
        }
        assert_eq!(ok(&afe("")).0.version.as_deref(), Some("ITU-R_BS.2076-2"));
        assert!(
            matches!(err("<ADM><element name=\"audioProgramme\"/></ADM>"), AdmErrorKind::NotAdm { root, .. } if root == "ADM")
        );
        assert!(matches!(err(""), AdmErrorKind::NotAdm { .. }));
        // A BOM before, NULs after (padded axml chunks).
        let (doc, _) = ok(&format!("\u{feff}{}\0\0\0", afe(body)));
        assert_eq!(doc.objects.len(), 1);
    }

    #[test]
    fn unknown_elements_are_skipped_with_one_notice_per_name() {
        let (doc, notices) = ok(&afe(r#"
<audioObject audioObjectID="AO_1001" audioObjectName="o" futureAttribute="x">
  <futureThing a="1"><audioTrackUIDRef>ATU_99999999</audioTrackUIDRef></futureThing>
  <futureThing/>
  <gain>0.5<sub/></gain>
</audioObject>
<futureThing/>
<otherThing>text</otherThing>"#));
        assert_eq!(doc.object("AO_1001").unwrap().gain, 0.5);
        // The reference inside the unknown element was skipped with it.
        assert!(doc.object("AO_1001").unwrap().track_uid_refs.is_empty());
        let subjects: Vec<_> = notices.iter().map(|n| (n.kind, n.subject.as_str())).collect();
        assert_eq!(
            subjects,
            [
                ("unknown-element", "futureThing"),
                ("unknown-element", "sub"),
                ("unknown-element", "otherThing")
            ]
        );
        assert!(notices[0].message.contains("line 5"), "{}", notices[0].message);
    }

    #[test]
    fn malformed_xml_is_refused_with_its_place() {
        let e = err(
            "<audioFormatExtended>\n  <audioObject audioObjectID=\"AO_1001\">\n  </audioPackFormat>\n</audioFormatExtended>",
        );
        let AdmErrorKind::Xml { at, message } = &e else {
            panic!("{e:?}")
        };
        assert_eq!((at.file.as_str(), at.line), ("t.xml", 3), "{message}");
        // Cut short inside an element.
        let e =
            err(&afe(r#"<audioObject audioObjectID="AO_1001"><gain>0.5</gain>"#)
                .replace("</audioFormatExtended>\n", ""));
        assert!(
            matches!(&e, AdmErrorKind::Xml { message, .. } if message.contains("ends inside <audioObject>")),
            "{e:?}"
        );
        let e = err("<ebuCoreMain><coreMetadata><format><audioFormatExtended/></format>");
        assert!(
            matches!(&e, AdmErrorKind::Xml { message, .. } if message.contains("<coreMetadata>")),
            "{e:?}"
        );
        let e = err(&afe(
            r#"<audioObject audioObjectID="AO_1001" audioObjectName="a &bogus; b"/>"#,
        ));
        assert!(matches!(&e, AdmErrorKind::Xml { .. }), "{e:?}");
        let e = err(&afe(
            r#"<audioObject audioObjectID="AO_1001" audioObjectName="a" audioObjectName="b"/>"#,
        ));
        assert!(matches!(&e, AdmErrorKind::Xml { .. }), "{e:?}");
    }

    #[test]
    fn entities_cdata_and_line_ends() {
        let (doc, _) = ok(&afe(
            "<audioObject audioObjectID=\"AO_1001\" audioObjectName=\"R&amp;B &#x2014; &quot;1&quot;\">\r\n<gain><![CDATA[0.25]]></gain>\r\n</audioObject>\r\n<audioContent audioContentID=\"ACO_1001\" audioContentName=\"c\"><audioObjectIDRef>AO_&#x31;001</audioObjectIDRef></audioContent>",
        ));
        let o = doc.object("AO_1001").unwrap();
        assert_eq!(o.name, "R&B \u{2014} \"1\"");
        assert_eq!(o.gain, 0.25);
        assert_eq!(doc.content("ACO_1001").unwrap().object_refs, ["AO_1001"]);
        assert_eq!(doc.content("ACO_1001").unwrap().origin.line, 6);
        // The whole document on one line: lines stay 1, columns count.
        let e = err(r#"<audioFormatExtended><audioObject audioObjectID="AO_1001" start="x"/></audioFormatExtended>"#);
        let AdmErrorKind::InvalidValue { at, .. } = &e else {
            panic!("{e:?}")
        };
        assert_eq!((at.line, at.column), (1, 22));
    }

    #[test]
    fn overriding_a_common_definition_is_noticed() {
        let (doc, notices) = ok(&afe(r#"
<audioPackFormat audioPackFormatID="AP_00010002" audioPackFormatName="my stereo" typeLabel="0001">
  <audioChannelFormatIDRef>AC_00010001</audioChannelFormatIDRef>
</audioPackFormat>
<audioObject audioObjectID="AO_1001"><audioPackFormatIDRef>AP_00010002</audioPackFormatIDRef></audioObject>"#));
        let p = doc.pack("AP_00010002").unwrap();
        assert_eq!(p.name, "my stereo");
        assert!(!p.origin.common_definition);
        assert_eq!(p.channel_refs.len(), 1);
        assert_eq!(kinds(&notices), ["common-definition-overridden"]);
        assert!(doc.channel("AC_00010001").unwrap().origin.common_definition);
        assert!(doc.channel("AC_00010002").is_none());
    }

    #[test]
    fn local_frame_times_are_noticed() {
        let body = format!(
            r#"<audioChannelFormat audioChannelFormatID="AC_00031001" typeLabel="0003">
<audioBlockFormat audioBlockFormatID="AB_00031001_00000001" lstart="00:00:00.1S2">{POLAR}</audioBlockFormat></audioChannelFormat>"#
        );
        let (_, notices) = ok(&afe(&body));
        assert_eq!(kinds(&notices), ["unsupported-attribute"]);
    }

    #[test]
    fn lines_cursor_counts_forward_and_back() {
        let l = Lines::new("a\nbb\n\nccc", 1, &[]);
        assert_eq!(l.line_col(0), (1, 1));
        assert_eq!(l.line_col(3), (2, 2));
        assert_eq!(l.line_col(6), (4, 1));
        assert_eq!(l.line_col(9), (4, 4));
        assert_eq!(l.line_col(99), (4, 4));
        assert_eq!(l.line_col(2), (2, 1));
        assert_eq!(l.line(5), 3);
    }
}
