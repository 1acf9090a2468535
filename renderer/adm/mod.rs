//! ADM documents (ITU-R BS.2076-2): the typed elements of one
//! `audioFormatExtended`, by kind and in document order, with lookup by ID.
//!
//! - Takes: ADM XML text ([`xml::parse`]), e.g. a BW64 `axml` chunk, an
//!   `ebuCoreMain`/`ituADM` file or an S-ADM frame (BS.2125).
//! - Produces: a [`Document`] whose every ID reference resolves — to an
//!   element of the file or to one of the built-in ITU-R BS.2094 common
//!   definitions ([`common_definitions`]), merged in on demand — and a list of
//!   [`Notice`](crate::notice::Notice)s (unknown elements skipped, common definitions overridden,
//!   flags repaired).
//! - Refuses ([`AdmError`]): malformed XML, no `audioFormatExtended`, missing
//!   IDs, values that do not parse, duplicate IDs, dangling references. Every
//!   error names the file, the line (and column where known), the element and
//!   its ID.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod common_definitions;
pub mod elements;
pub mod stream;
pub mod writer;
pub mod xml;

use std::collections::HashMap;
use std::fmt;

use crate::notice::Notices;
use elements::{
    AudioChannelFormat, AudioContent, AudioObject, AudioPackFormat, AudioProgramme, AudioStreamFormat,
    AudioTrackFormat, AudioTrackUid, BlockKind, SILENT_TRACK_UID,
};

/// A place in an input file: `file:line:column` (1-based; `column` 0 when
/// only the line is known).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (0, _) => write!(f, "{}", self.file),
            (l, 0) => write!(f, "{}:{l}", self.file),
            (l, c) => write!(f, "{}:{l}:{c}", self.file),
        }
    }
}

/// `<element ID>` for messages, or `<element>` when the ID is unknown.
fn tag(element: &str, id: &Option<String>) -> String {
    match id {
        Some(id) => format!("<{element} {id}>"),
        None => format!("<{element}>"),
    }
}

/// Why an ADM document was refused: an [`AdmErrorKind`], boxed so that
/// `Result`s stay small on the parser's hot path and in callers' error types.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(transparent)]
pub struct AdmError(Box<AdmErrorKind>);

impl AdmError {
    /// What went wrong, to match on.
    pub fn kind(&self) -> &AdmErrorKind {
        &self.0
    }

    pub fn into_kind(self) -> AdmErrorKind {
        *self.0
    }

    /// Where the error is, when it is in the file.
    pub fn location(&self) -> Option<&Location> {
        match self.kind() {
            AdmErrorKind::Xml { at, .. }
            | AdmErrorKind::Missing { at, .. }
            | AdmErrorKind::InvalidValue { at, .. }
            | AdmErrorKind::DuplicateId { at, .. }
            | AdmErrorKind::DanglingReference { at, .. } => Some(at),
            AdmErrorKind::NotAdm { .. } => None,
        }
    }
}

impl From<AdmErrorKind> for AdmError {
    fn from(kind: AdmErrorKind) -> Self {
        AdmError(Box::new(kind))
    }
}

/// The kinds of [`AdmError`]. Every variant carries where (file, line,
/// column), which element and, where known, its ID.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AdmErrorKind {
    /// Not well-formed XML (includes a document cut short).
    #[error("adm: {at}: malformed XML: {message}")]
    Xml { at: Location, message: String },

    /// The XML holds no `audioFormatExtended` element anywhere.
    #[error("adm: {file}: not an ADM document: no <audioFormatExtended> element (root element: <{root}>)")]
    NotAdm { file: String, root: String },

    /// A required attribute (an ID, a `coordinate`, …) or sub-element is absent.
    #[error("adm: {at}: {} has no {missing}", tag(element, id))]
    Missing {
        at: Location,
        element: String,
        id: Option<String>,
        /// The attribute or sub-element that is required.
        missing: String,
    },

    /// A value that does not parse or is not allowed (number, time, boolean,
    /// enumeration such as `gainUnit`, `screenEdgeLock`, `bound`, `coordinate`).
    #[error("adm: {at}: {} has invalid {what} {value:?} (expected {expected})", tag(element, id))]
    InvalidValue {
        at: Location,
        element: String,
        id: Option<String>,
        /// The attribute or sub-element holding the value.
        what: String,
        value: String,
        expected: String,
    },

    /// Two elements of one kind share an ID.
    #[error("adm: {at}: duplicate {element} ID {id} (first defined at line {first_line})")]
    DuplicateId {
        at: Location,
        element: String,
        id: String,
        first_line: u32,
    },

    /// An ID reference that resolves neither to an element of the file nor to
    /// a BS.2094 common definition.
    #[error(
        "adm: {at}: <{element} {id}> references {target} ({reference}), which is neither defined in the file nor a common definition"
    )]
    DanglingReference {
        at: Location,
        element: String,
        id: String,
        /// The referencing sub-element, e.g. `audioPackFormatIDRef`.
        reference: String,
        /// The missing ID.
        target: String,
    },
}

/// One ID → position map per element kind.
#[derive(Clone, Debug, Default)]
struct Index {
    programmes: HashMap<String, usize>,
    contents: HashMap<String, usize>,
    objects: HashMap<String, usize>,
    packs: HashMap<String, usize>,
    channels: HashMap<String, usize>,
    streams: HashMap<String, usize>,
    track_formats: HashMap<String, usize>,
    track_uids: HashMap<String, usize>,
}

/// All elements of one ADM document, by kind, in document order; built-in
/// common definitions the file references follow the file's own elements.
///
/// Lookups by ID go through an index built while parsing. The vectors are
/// public for reading and for tests; after editing them, call
/// [`Document::reindex`] (lookups stay correct without it, only slower).
#[derive(Clone, Debug, Default)]
pub struct Document {
    /// `version` attribute of `audioFormatExtended`, e.g. `ITU-R_BS.2076-2`.
    pub version: Option<String>,
    /// Local names from the root to `audioFormatExtended`, `/`-separated,
    /// e.g. `ebuCoreMain/coreMetadata/format/audioFormatExtended`.
    pub root_path: String,
    pub programmes: Vec<AudioProgramme>,
    pub contents: Vec<AudioContent>,
    pub objects: Vec<AudioObject>,
    pub packs: Vec<AudioPackFormat>,
    pub channels: Vec<AudioChannelFormat>,
    pub streams: Vec<AudioStreamFormat>,
    pub track_formats: Vec<AudioTrackFormat>,
    pub track_uids: Vec<AudioTrackUid>,
    index: Index,
}

/// Lookup through the index when it is in step with the vector, by scan
/// otherwise (after a caller edited the public vectors without reindexing).
fn find<'d, T>(items: &'d [T], map: &HashMap<String, usize>, id: &str, id_of: fn(&T) -> &str) -> Option<&'d T> {
    if map.len() == items.len() {
        match map.get(id) {
            None => return None,
            Some(&i) => {
                if let Some(item) = items.get(i).filter(|item| id_of(item) == id) {
                    return Some(item);
                }
            }
        }
    }
    items.iter().find(|item| id_of(item) == id)
}

/// Appends `item` unless `id` is taken; `Err(index of the holder)` if it is.
fn push_unique<T>(items: &mut Vec<T>, map: &mut HashMap<String, usize>, id: &str, item: T) -> Result<(), usize> {
    if let Some(&i) = map.get(id) {
        return Err(i);
    }
    map.insert(id.to_owned(), items.len());
    items.push(item);
    Ok(())
}

fn build_map<T>(items: &[T], id_of: fn(&T) -> &str) -> HashMap<String, usize> {
    let mut map = HashMap::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        map.entry(id_of(item).to_owned()).or_insert(i);
    }
    map
}

macro_rules! kinds {
    ($( $field:ident, $ty:ty, $get:ident, $push:ident; )*) => {
        impl Document {
            $(
                #[doc = concat!("The element with this ID among `", stringify!($field), "`.")]
                pub fn $get(&self, id: &str) -> Option<&$ty> {
                    find(&self.$field, &self.index.$field, id, |x| x.id.as_str())
                }

                #[doc = concat!("Appends to `", stringify!($field),
                    "`; `Err(existing)` if the ID is already taken.")]
                pub fn $push(&mut self, item: $ty) -> Result<(), &$ty> {
                    let id = item.id.clone();
                    match push_unique(&mut self.$field, &mut self.index.$field, &id, item) {
                        Ok(()) => Ok(()),
                        Err(i) => match self.$field.get(i) {
                            Some(existing) => Err(existing),
                            None => Ok(()),
                        },
                    }
                }
            )*

            /// Rebuilds the ID index after the public vectors were edited.
            /// With duplicate IDs, the first one wins.
            pub fn reindex(&mut self) {
                $( self.index.$field = build_map(&self.$field, |x| x.id.as_str()); )*
            }
        }
    };
}

kinds! {
    programmes, AudioProgramme, programme, push_programme;
    contents, AudioContent, content, push_content;
    objects, AudioObject, object, push_object;
    packs, AudioPackFormat, pack, push_pack;
    channels, AudioChannelFormat, channel, push_channel;
    streams, AudioStreamFormat, stream, push_stream;
    track_formats, AudioTrackFormat, track_format, push_track_format;
    track_uids, AudioTrackUid, track_uid, push_track_uid;
}

/// What a reference points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Content,
    Object,
    Pack,
    Channel,
    Stream,
    TrackFormat,
    TrackUid,
}

/// One ID reference, for checking after parsing.
struct Ref {
    kind: Kind,
    target: String,
    element: &'static str,
    id: String,
    reference: &'static str,
    line: u32,
}

impl Document {
    fn has(&self, kind: Kind, id: &str) -> bool {
        match kind {
            Kind::Content => self.content(id).is_some(),
            Kind::Object => self.object(id).is_some(),
            Kind::Pack => self.pack(id).is_some(),
            Kind::Channel => self.channel(id).is_some(),
            Kind::Stream => self.stream(id).is_some(),
            Kind::TrackFormat => self.track_format(id).is_some(),
            // BS.2076 §5.9: the silent track needs no definition.
            Kind::TrackUid => id == SILENT_TRACK_UID || self.track_uid(id).is_some(),
        }
    }

    /// Adds the common definition `id` of `kind`, if there is one, and queues
    /// its own references. Returns whether it was found.
    fn add_common(&mut self, kind: Kind, id: &str, refs: &mut Vec<Ref>) -> bool {
        match kind {
            Kind::Pack => match common_definitions::pack(id) {
                Some(p) => {
                    pack_refs(&p, refs);
                    let _ = self.push_pack(p);
                    true
                }
                None => false,
            },
            Kind::Channel => match common_definitions::channel(id) {
                Some(c) => {
                    channel_refs(&c, refs);
                    let _ = self.push_channel(c);
                    true
                }
                None => false,
            },
            Kind::Stream => match common_definitions::stream(id) {
                Some(s) => {
                    stream_refs(&s, refs);
                    let _ = self.push_stream(s);
                    true
                }
                None => false,
            },
            Kind::TrackFormat => match common_definitions::track_format(id) {
                Some(t) => {
                    track_format_refs(&t, refs);
                    let _ = self.push_track_format(t);
                    true
                }
                None => false,
            },
            Kind::Content | Kind::Object | Kind::TrackUid => false,
        }
    }

    /// Second pass after parsing: notes file elements that override common
    /// definitions, merges in the common definitions the file references but
    /// does not define (transitively), and refuses dangling references — the
    /// first one in document order.
    pub(crate) fn resolve(&mut self, file: &str, notices: &mut Notices) -> Result<(), AdmError> {
        // BS.2076 §4: the common definitions' IDs are reserved; a file
        // that defines one itself wins, as in ear's `load_common_definitions`.
        let mut overridden = Vec::new();
        let ids = self
            .packs
            .iter()
            .map(|x| ("audioPackFormat", &x.id, x.origin.line))
            .chain(
                self.channels
                    .iter()
                    .map(|x| ("audioChannelFormat", &x.id, x.origin.line)),
            )
            .chain(self.streams.iter().map(|x| ("audioStreamFormat", &x.id, x.origin.line)))
            .chain(
                self.track_formats
                    .iter()
                    .map(|x| ("audioTrackFormat", &x.id, x.origin.line)),
            );
        for (element, id, line) in ids {
            if common_definitions::contains(id) {
                overridden.push((element, id.clone(), line));
            }
        }
        for (element, id, line) in overridden {
            notices.add(
                "common-definition-overridden",
                id.as_str(),
                format!("{element} {id} (line {line}) replaces the ITU-R BS.2094 common definition with the same ID"),
            );
        }

        let mut refs = Vec::new();
        for p in &self.programmes {
            for t in &p.content_refs {
                refs.push(Ref::new(
                    Kind::Content,
                    t,
                    "audioProgramme",
                    &p.id,
                    "audioContentIDRef",
                    p.origin.line,
                ));
            }
        }
        for c in &self.contents {
            for t in &c.object_refs {
                refs.push(Ref::new(
                    Kind::Object,
                    t,
                    "audioContent",
                    &c.id,
                    "audioObjectIDRef",
                    c.origin.line,
                ));
            }
        }
        for o in &self.objects {
            let l = o.origin.line;
            for t in &o.pack_refs {
                refs.push(Ref::new(Kind::Pack, t, "audioObject", &o.id, "audioPackFormatIDRef", l));
            }
            for t in &o.object_refs {
                refs.push(Ref::new(Kind::Object, t, "audioObject", &o.id, "audioObjectIDRef", l));
            }
            for t in &o.complementary_refs {
                refs.push(Ref::new(
                    Kind::Object,
                    t,
                    "audioObject",
                    &o.id,
                    "audioComplementaryObjectIDRef",
                    l,
                ));
            }
            for t in &o.track_uid_refs {
                refs.push(Ref::new(Kind::TrackUid, t, "audioObject", &o.id, "audioTrackUIDRef", l));
            }
        }
        for p in &self.packs {
            pack_refs(p, &mut refs);
        }
        for c in &self.channels {
            channel_refs(c, &mut refs);
        }
        for s in &self.streams {
            stream_refs(s, &mut refs);
        }
        for t in &self.track_formats {
            track_format_refs(t, &mut refs);
        }
        for u in &self.track_uids {
            let l = u.origin.line;
            if let Some(t) = &u.track_format_ref {
                refs.push(Ref::new(
                    Kind::TrackFormat,
                    t,
                    "audioTrackUID",
                    &u.id,
                    "audioTrackFormatIDRef",
                    l,
                ));
            }
            if let Some(t) = &u.channel_ref {
                refs.push(Ref::new(
                    Kind::Channel,
                    t,
                    "audioTrackUID",
                    &u.id,
                    "audioChannelFormatIDRef",
                    l,
                ));
            }
            if let Some(t) = &u.pack_ref {
                refs.push(Ref::new(
                    Kind::Pack,
                    t,
                    "audioTrackUID",
                    &u.id,
                    "audioPackFormatIDRef",
                    l,
                ));
            }
        }

        // Common definitions added here append their own references, which
        // this same loop then resolves.
        let mut i = 0;
        while let Some(r) = refs.get(i) {
            i += 1;
            if self.has(r.kind, &r.target) {
                continue;
            }
            let (kind, target) = (r.kind, r.target.clone());
            if self.add_common(kind, &target, &mut refs) {
                continue;
            }
            let Some(r) = refs.get(i - 1) else { break };
            return Err(AdmErrorKind::DanglingReference {
                at: Location {
                    file: file.to_owned(),
                    line: r.line,
                    column: 0,
                },
                element: r.element.to_owned(),
                id: r.id.clone(),
                reference: r.reference.to_owned(),
                target: r.target.clone(),
            }
            .into());
        }
        Ok(())
    }
}

impl Ref {
    fn new(kind: Kind, target: &str, element: &'static str, id: &str, reference: &'static str, line: u32) -> Ref {
        Ref {
            kind,
            target: target.to_owned(),
            element,
            id: id.to_owned(),
            reference,
            line,
        }
    }
}

fn pack_refs(p: &AudioPackFormat, refs: &mut Vec<Ref>) {
    let l = p.origin.line;
    for t in &p.channel_refs {
        refs.push(Ref::new(
            Kind::Channel,
            t,
            "audioPackFormat",
            &p.id,
            "audioChannelFormatIDRef",
            l,
        ));
    }
    for t in &p.pack_refs {
        refs.push(Ref::new(
            Kind::Pack,
            t,
            "audioPackFormat",
            &p.id,
            "audioPackFormatIDRef",
            l,
        ));
    }
    for t in &p.matrix_refs {
        refs.push(Ref::new(
            Kind::Pack,
            t,
            "audioPackFormat",
            &p.id,
            "encode/decode/input/outputPackFormatIDRef",
            l,
        ));
    }
}

fn channel_refs(c: &AudioChannelFormat, refs: &mut Vec<Ref>) {
    for b in &c.blocks {
        if let BlockKind::Matrix(m) = &b.kind {
            let l = b.origin.line;
            if let Some(t) = &m.output_channel_ref {
                refs.push(Ref::new(
                    Kind::Channel,
                    t,
                    "audioChannelFormat",
                    &c.id,
                    "outputChannelFormatIDRef",
                    l,
                ));
            }
            for k in &m.coefficients {
                refs.push(Ref::new(
                    Kind::Channel,
                    &k.input_channel_ref,
                    "audioChannelFormat",
                    &c.id,
                    "coefficient",
                    l,
                ));
            }
        }
    }
}

fn stream_refs(s: &AudioStreamFormat, refs: &mut Vec<Ref>) {
    let l = s.origin.line;
    if let Some(t) = &s.channel_ref {
        refs.push(Ref::new(
            Kind::Channel,
            t,
            "audioStreamFormat",
            &s.id,
            "audioChannelFormatIDRef",
            l,
        ));
    }
    if let Some(t) = &s.pack_ref {
        refs.push(Ref::new(
            Kind::Pack,
            t,
            "audioStreamFormat",
            &s.id,
            "audioPackFormatIDRef",
            l,
        ));
    }
    for t in &s.track_format_refs {
        refs.push(Ref::new(
            Kind::TrackFormat,
            t,
            "audioStreamFormat",
            &s.id,
            "audioTrackFormatIDRef",
            l,
        ));
    }
}

fn track_format_refs(t: &AudioTrackFormat, refs: &mut Vec<Ref>) {
    if let Some(s) = &t.stream_ref {
        refs.push(Ref::new(
            Kind::Stream,
            s,
            "audioTrackFormat",
            &t.id,
            "audioStreamFormatIDRef",
            t.origin.line,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use elements::{Origin, TypeDefinition};

    fn pack(id: &str) -> AudioPackFormat {
        AudioPackFormat {
            id: id.into(),
            name: String::new(),
            type_definition: TypeDefinition::Objects,
            channel_refs: vec![],
            pack_refs: vec![],
            absolute_distance: None,
            importance: None,
            normalization: None,
            nfc_ref_dist: None,
            screen_ref: None,
            matrix_refs: vec![],
            origin: Origin::default(),
        }
    }

    #[test]
    fn lookup_push_and_reindex() {
        let mut d = Document::default();
        assert!(d.push_pack(pack("AP_00031001")).is_ok());
        assert!(d.push_pack(pack("AP_00031002")).is_ok());
        assert!(d.push_pack(pack("AP_00031001")).is_err());
        assert_eq!(d.pack("AP_00031002").map(|p| p.id.as_str()), Some("AP_00031002"));
        assert!(d.pack("AP_00031003").is_none());
        // Edited behind the index's back: still correct, then reindexed.
        d.packs.swap(0, 1);
        assert_eq!(d.pack("AP_00031001").map(|p| p.id.as_str()), Some("AP_00031001"));
        d.packs.push(pack("AP_00031004"));
        assert!(d.pack("AP_00031004").is_some());
        d.reindex();
        assert!(d.pack("AP_00031004").is_some());
        assert!(d.pack("AP_00031001").is_some());
    }

    #[test]
    fn location_display() {
        let l = |line, column| Location {
            file: "f.xml".into(),
            line,
            column,
        };
        assert_eq!(l(3, 7).to_string(), "f.xml:3:7");
        assert_eq!(l(3, 0).to_string(), "f.xml:3");
        assert_eq!(l(0, 0).to_string(), "f.xml");
    }
}
