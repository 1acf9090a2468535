//! [`build`]: from an ADM [`Document`] and the file's track table to a
//! [`Scene`], following ITU-R BS.2127 §6.1 item selection as the EBU ADM
//! Renderer (`ear` 2.1.0, `select_items`) does it:
//!
//! 1. **Programme**: the one asked for by ID, else the one with the lowest ID
//!    (ear's rule; a `multiple-programmes` notice says so when there are several).
//! 2. **Content → objects**: each audioContent of the programme, each of its
//!    audioObjects and every path down their nested `audioObjectIDRef`s (a
//!    child reached along two paths is rendered twice, as in ear, with an
//!    `object-rendered-twice` notice). Without a programme: every root
//!    audioObject (one no other object nests). Without objects either: the
//!    track UIDs alone (chna-only mode), each with the pack its chna entry or
//!    audioTrackUID names.
//! 3. **Complementary objects**: only the first object of each group (the one
//!    holding the `audioComplementaryObjectIDRef`s) is rendered; the others
//!    are not (ear's default when nothing is selected).
//! 4. **Pack allocation** (per audioObject): every channel of every
//!    referenced audioPackFormat (nested packs included) is given exactly one
//!    of the object's audioTrackUIDs whose channel — through audioTrackFormat
//!    → audioStreamFormat → audioChannelFormat, or the UID's own
//!    audioChannelFormatIDRef — is that channel, and whose
//!    audioPackFormatIDRef lies on the pack path to it; silent UIDs
//!    (`ATU_00000000`) fill the channels left. Impossible allocations are a
//!    [`SceneError::PackMismatch`] naming the object, UIDs, channels, packs.
//! 5. **Items**: one per allocated channel, with its track, its blocks timed
//!    (see [`super::timing`]), object gain × mute folded along the object
//!    path, positionOffset added to each Objects block's position, dialogue,
//!    and the Dolby headphone mode of its track.
//!
//! Tracks: a UID's channel index is its chna `trackIndex` − 1. Without a
//! chna (an `--adm FILE.xml` with WAV stems) the document's audioTrackUIDs,
//! in document order, take channels 0, 1, 2, …. A UID whose track is past
//! the audio's channel count, or that no chna entry lists, reads as silence
//! (with a notice).

use std::collections::{HashMap, HashSet, VecDeque};

use crate::adm::Document;
use crate::adm::common_definitions;
use crate::adm::elements::{
    AudioChannelFormat, AudioContent, AudioObject, AudioPackFormat, AudioTrackUid, BlockFormat, BlockKind, Dialogue,
    ObjectPosition, PositionOffset, SILENT_TRACK_UID, Screen, SpeakerPosition, TypeDefinition,
};
use crate::io::ChnaEntry;
use crate::notice::Notices;
use crate::panning::DirectSpeakersContext;
use crate::time::Time;

use super::ObjectBlocks;
use super::stream::{StreamSpec, head_locked_notice, object_block, offset_ignored_notice};
use super::timing::{ObjectTiming, place};
use super::{HeadphoneMode, ItemKind, ProgrammeInfo, RenderItem, Scene, SceneError, TimedBlock, TrackSource};
use crate::adm::stream::XmlSource;

/// What the caller chooses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SceneOptions {
    /// audioProgrammeID to render; `None` = the lowest ID.
    pub programme: Option<String>,
}

/// The audio the document describes: its shape, and which audioTrackUID
/// each channel carries.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrackTable {
    pub sample_rate: u32,
    /// Length of the audio in frames.
    pub frames: u64,
    /// Channels of the audio (all stems together).
    pub channels: u32,
    /// The `chna` entries (track_index 1-based). `None` when there is no
    /// chna (ADM XML beside WAV stems): the document's audioTrackUIDs are
    /// then taken in document order onto channels 0, 1, 2, ….
    pub chna: Option<Vec<ChnaEntry>>,
    /// Dolby headphone render mode per channel (0-based), from the `dbmd`
    /// chunk; shorter than `channels` (or empty) where it says nothing.
    pub headphone_modes: Vec<Option<HeadphoneMode>>,
}

/// Deepest audioObject or audioPackFormat nesting followed.
const MAX_NESTING: usize = 64;
/// Most audioObject paths, and most audioPackFormat paths under one pack
/// (nesting can multiply them).
const MAX_PATHS: usize = 1 << 18;
/// Most edge visits spent on pack allocation in one document.
const MAX_ALLOCATION_WORK: u64 = 200_000_000;

fn is_silent(uid: &str) -> bool {
    uid.eq_ignore_ascii_case(SILENT_TRACK_UID)
}

/// An audioTrackUID and where its samples are.
#[derive(Clone, Debug)]
struct UidEntry {
    id: String,
    source: TrackSource,
    /// audioTrackFormatID (or audioChannelFormatID) from the chna.
    chna_track_ref: Option<String>,
    chna_pack_ref: Option<String>,
    /// Why the track is silent, said once the UID is used (`track-out-of-range`).
    out_of_range: Option<String>,
}

/// One UID ready for allocation.
struct Track<'c> {
    uid: String,
    line: u32,
    channel: &'c AudioChannelFormat,
    /// How the channel was reached, for messages (`AT_…` or `AC_…`).
    via: String,
    pack_ref: Option<String>,
    source: TrackSource,
}

/// A channel of a pack referenced by an object, to be given a track.
struct Slot<'c> {
    channel: &'c AudioChannelFormat,
    /// Packs from the referenced pack down to the one listing the channel.
    path: Vec<&'c AudioPackFormat>,
}

impl Slot<'_> {
    fn accepts(&self, t: &Track<'_>) -> bool {
        std::ptr::eq(self.channel, t.channel)
            && t.pack_ref
                .as_deref()
                .is_none_or(|p| self.path.iter().any(|q| q.id.eq_ignore_ascii_case(p)))
    }
    fn key(&self) -> (&str, Vec<&str>) {
        (
            self.channel.id.as_str(),
            self.path.iter().map(|p| p.id.as_str()).collect(),
        )
    }
}

/// The document plus the common definitions only the chna reaches.
struct Ctx<'d> {
    doc: &'d Document,
    extra: Document,
    table: &'d TrackTable,
    /// uppercase UID → entry
    uids: HashMap<String, UidEntry>,
    /// UIDs in track order (chna order, or document order without chna).
    uid_order: Vec<String>,
    /// uppercase UID → element
    uid_elements: HashMap<String, &'d AudioTrackUid>,
    /// Where deferred blocks are ([`AudioChannelFormat::deferred`]).
    source: Option<&'d XmlSource>,
}

impl<'d> Ctx<'d> {
    fn pack(&self, id: &str) -> Option<&AudioPackFormat> {
        self.doc.pack(id).or_else(|| self.extra.pack(id))
    }
    fn channel(&self, id: &str) -> Option<&AudioChannelFormat> {
        self.doc.channel(id).or_else(|| self.extra.channel(id))
    }

    fn new(doc: &'d Document, table: &'d TrackTable, notices: &mut Notices) -> Ctx<'d> {
        let uid_elements: HashMap<String, &AudioTrackUid> =
            doc.track_uids.iter().map(|u| (u.id.to_ascii_uppercase(), u)).collect();
        let mut uids: HashMap<String, UidEntry> = HashMap::new();
        let mut uid_order = Vec::new();
        let mut extra = Document::default();
        let channel_count = table.channels;
        match &table.chna {
            Some(entries) => {
                for e in entries {
                    if is_silent(&e.uid) {
                        notices.add(
                            "chna-silent-uid",
                            e.uid.as_str(),
                            format!(
                                "chna track {} lists {SILENT_TRACK_UID}, the UID reserved for silence; entry ignored",
                                e.track_index
                            ),
                        );
                        continue;
                    }
                    let key = e.uid.to_ascii_uppercase();
                    if let Some(prev) = uids.get(&key) {
                        let prev_track = match prev.source {
                            TrackSource::Channel(c) => (c + 1).to_string(),
                            TrackSource::Silent => "?".into(),
                        };
                        notices.add(
                            "chna-duplicate-uid",
                            e.uid.as_str(),
                            format!(
                                "chna lists {} again on track {} (first on track {prev_track}); the first entry is used",
                                e.uid, e.track_index
                            ),
                        );
                        continue;
                    }
                    let (source, out_of_range) = if u32::from(e.track_index) > channel_count || e.track_index == 0 {
                        let why = format!(
                            "chna puts {} on track {}, but the audio has {channel_count} channels: it is silent",
                            e.uid, e.track_index
                        );
                        (TrackSource::Silent, Some(why))
                    } else {
                        (TrackSource::Channel(u32::from(e.track_index) - 1), None)
                    };
                    let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_string());
                    let entry = UidEntry {
                        id: uid_elements.get(&key).map_or_else(|| e.uid.clone(), |u| u.id.clone()),
                        source,
                        chna_track_ref: nonempty(&e.track_ref),
                        chna_pack_ref: nonempty(&e.pack_ref),
                        out_of_range,
                    };
                    if let Some(el) = uid_elements.get(&key) {
                        check_chna_against_axml(el, &entry, notices);
                    }
                    // The chna may name formats the axml does not define:
                    // the BS.2094 common definitions supply them.
                    for r in [&entry.chna_track_ref, &entry.chna_pack_ref].into_iter().flatten() {
                        add_common_closure(doc, &mut extra, r);
                    }
                    uid_order.push(key.clone());
                    uids.insert(key, entry);
                }
            }
            None => {
                for (i, u) in doc.track_uids.iter().enumerate() {
                    let key = u.id.to_ascii_uppercase();
                    let (source, out_of_range) = match u32::try_from(i) {
                        Ok(c) if c < channel_count => (TrackSource::Channel(c), None),
                        _ => {
                            let why = format!(
                                "{} is audioTrackUID number {} in document order, but the audio has \
                                 {channel_count} channels: it is silent",
                                u.id,
                                i + 1
                            );
                            (TrackSource::Silent, Some(why))
                        }
                    };
                    uid_order.push(key.clone());
                    uids.insert(
                        key,
                        UidEntry {
                            id: u.id.clone(),
                            source,
                            chna_track_ref: None,
                            chna_pack_ref: None,
                            out_of_range,
                        },
                    );
                }
            }
        }
        Ctx {
            doc,
            extra,
            table,
            uids,
            uid_order,
            uid_elements,
            source: None,
        }
    }

    /// Resolves a UID to its channel, pack reference and samples.
    fn track(&self, uid: &str, referrer: &str, notices: &mut Notices) -> Result<Track<'_>, SceneError> {
        let key = uid.to_ascii_uppercase();
        let element = self.uid_elements.get(&key).copied();
        let entry = self.uids.get(&key);
        let line = element.map_or(0, |e| e.origin.line);
        let source = match entry {
            Some(e) => {
                if let Some(why) = &e.out_of_range {
                    notices.add("track-out-of-range", e.id.as_str(), why.as_str());
                }
                e.source
            }
            None => {
                notices.add(
                    "track-unmapped",
                    uid,
                    format!("{uid} (referenced by {referrer}) is not listed in the chna chunk: it is silent"),
                );
                TrackSource::Silent
            }
        };
        let uid_err = |detail: String| SceneError::TrackUid {
            uid: uid.to_string(),
            line,
            detail,
        };
        let channel_ref = element.and_then(|e| e.channel_ref.clone());
        let track_ref = element
            .and_then(|e| e.track_format_ref.clone())
            .or_else(|| entry.and_then(|e| e.chna_track_ref.clone()));
        let pack_ref = element
            .and_then(|e| e.pack_ref.clone())
            .or_else(|| entry.and_then(|e| e.chna_pack_ref.clone()));
        let (channel_id, via) = match (channel_ref, track_ref) {
            (Some(c), _) => (c.clone(), c),
            (None, Some(t)) if t.len() > 3 && t[..3].eq_ignore_ascii_case("AC_") => (t.clone(), t),
            (None, Some(t)) => {
                let tf = self
                    .doc
                    .track_format(&t)
                    .or_else(|| self.extra.track_format(&t))
                    .ok_or_else(|| {
                        uid_err(format!(
                            "its audioTrackFormat {t} is neither in the document nor a common definition"
                        ))
                    })?;
                let s = tf
                    .stream_ref
                    .as_deref()
                    .ok_or_else(|| uid_err(format!("its audioTrackFormat {t} has no audioStreamFormatIDRef")))?;
                let stream = self
                    .doc
                    .stream(s)
                    .or_else(|| self.extra.stream(s))
                    .ok_or_else(|| uid_err(format!("audioStreamFormat {s} (from {t}) is not defined")))?;
                let c = stream.channel_ref.clone().ok_or_else(|| {
                    uid_err(format!(
                        "its audioStreamFormat {s} (via {t}) has no audioChannelFormatIDRef (coded audio is not supported)"
                    ))
                })?;
                (c, t)
            }
            (None, None) => {
                return Err(uid_err(
                    "has neither an audioTrackFormatIDRef nor an audioChannelFormatIDRef, and no chna entry supplies one"
                        .into(),
                ));
            }
        };
        let channel = self
            .channel(&channel_id)
            .ok_or_else(|| uid_err(format!("its audioChannelFormat {channel_id} is not defined")))?;
        Ok(Track {
            uid: entry.map_or_else(|| uid.to_string(), |e| e.id.clone()),
            line,
            channel,
            via,
            pack_ref,
            source,
        })
    }

    /// Every path from `root` through nested packs to a pack listing channels.
    fn pack_paths(&self, root: &str, element: &str, line: u32) -> Result<Vec<Vec<&AudioPackFormat>>, SceneError> {
        let mut out = Vec::new();
        let mut path = Vec::new();
        self.pack_paths_rec(root, element, line, &mut path, &mut out)?;
        Ok(out)
    }

    fn pack_paths_rec<'c>(
        &'c self,
        id: &str,
        element: &str,
        line: u32,
        path: &mut Vec<&'c AudioPackFormat>,
        out: &mut Vec<Vec<&'c AudioPackFormat>>,
    ) -> Result<(), SceneError> {
        let structure = |detail: String| SceneError::Structure {
            element: element.to_string(),
            line,
            detail,
        };
        let pack = self
            .pack(id)
            .ok_or_else(|| structure(format!("audioPackFormat {id} is not defined")))?;
        if path.iter().any(|p| std::ptr::eq(*p, pack)) {
            return Err(structure(format!(
                "audioPackFormat {id} contains itself (a loop of audioPackFormatIDRefs)"
            )));
        }
        if path.len() >= MAX_NESTING {
            return Err(structure(format!("audioPackFormats nest more than {MAX_NESTING} deep")));
        }
        if out.len() >= MAX_PATHS {
            return Err(structure(format!(
                "audioPackFormat {id}: more than {MAX_PATHS} nested pack paths"
            )));
        }
        path.push(pack);
        out.push(path.clone());
        for sub in &pack.pack_refs {
            self.pack_paths_rec(sub, element, line, path, out)?;
        }
        path.pop();
        Ok(())
    }
}

/// Adds to `extra` the common definition `id` (track, stream, channel or
/// pack format) and everything it references, unless `doc` defines it.
fn add_common_closure(doc: &Document, extra: &mut Document, id: &str) {
    let mut work = vec![id.to_string()];
    while let Some(id) = work.pop() {
        let upper = id.to_ascii_uppercase();
        let prefix = upper.get(..3).unwrap_or("");
        match prefix {
            "AT_" if doc.track_format(&id).is_none() && extra.track_format(&id).is_none() => {
                if let Some(t) = common_definitions::track_format(&id) {
                    work.extend(t.stream_ref.clone());
                    let _ = extra.push_track_format(t);
                }
            }
            "AS_" if doc.stream(&id).is_none() && extra.stream(&id).is_none() => {
                if let Some(s) = common_definitions::stream(&id) {
                    work.extend(s.channel_ref.clone());
                    work.extend(s.pack_ref.clone());
                    let _ = extra.push_stream(s);
                }
            }
            "AC_" if doc.channel(&id).is_none() && extra.channel(&id).is_none() => {
                if let Some(c) = common_definitions::channel(&id) {
                    let _ = extra.push_channel(c);
                }
            }
            "AP_" if doc.pack(&id).is_none() && extra.pack(&id).is_none() => {
                if let Some(p) = common_definitions::pack(&id) {
                    work.extend(p.channel_refs.iter().cloned());
                    work.extend(p.pack_refs.iter().cloned());
                    let _ = extra.push_pack(p);
                }
            }
            _ => {}
        }
    }
}

fn check_chna_against_axml(el: &AudioTrackUid, entry: &UidEntry, notices: &mut Notices) {
    let axml_track = el.track_format_ref.as_deref().or(el.channel_ref.as_deref());
    if let (Some(a), Some(c)) = (axml_track, entry.chna_track_ref.as_deref())
        && !a.eq_ignore_ascii_case(c)
    {
        notices.add(
            "chna-axml-mismatch",
            el.id.as_str(),
            format!("chna gives {} the format {c}, the axml {a}; the axml is used", el.id),
        );
    }
    if let (Some(a), Some(c)) = (el.pack_ref.as_deref(), entry.chna_pack_ref.as_deref())
        && !a.eq_ignore_ascii_case(c)
    {
        notices.add(
            "chna-axml-mismatch",
            el.id.as_str(),
            format!("chna gives {} the pack {c}, the axml {a}; the axml is used", el.id),
        );
    }
}

/// Where an item comes from in the programme/content/object tree.
struct Selection<'d> {
    content: Option<&'d AudioContent>,
    objects: Vec<&'d AudioObject>,
}

fn object_paths<'d>(
    doc: &'d Document,
    obj: &'d AudioObject,
    content: Option<&'d AudioContent>,
    path: &mut Vec<&'d AudioObject>,
    out: &mut Vec<Selection<'d>>,
) -> Result<(), SceneError> {
    let structure = |detail: String| SceneError::Structure {
        element: format!("audioObject {}", obj.id),
        line: obj.origin.line,
        detail,
    };
    if path.iter().any(|o| std::ptr::eq(*o, obj)) {
        return Err(structure("contains itself (a loop of audioObjectIDRefs)".into()));
    }
    if path.len() >= MAX_NESTING {
        return Err(structure(format!("audioObjects nest more than {MAX_NESTING} deep")));
    }
    if out.len() >= MAX_PATHS {
        return Err(structure(format!("more than {MAX_PATHS} audioObject paths")));
    }
    path.push(obj);
    out.push(Selection {
        content,
        objects: path.clone(),
    });
    for sub in &obj.object_refs {
        let child = doc
            .object(sub)
            .ok_or_else(|| structure(format!("audioObject {sub} is not defined")))?;
        object_paths(doc, child, content, path, out)?;
    }
    path.pop();
    Ok(())
}

/// True for an ITU common-definition pack (`AP_0001xxxx`, xxxx < 1000 hex).
fn is_common_pack(p: &AudioPackFormat) -> bool {
    p.origin.common_definition || {
        let id = p.id.to_ascii_uppercase();
        id.len() == 11
            && id.starts_with("AP_0001")
            && u32::from_str_radix(id.get(7..).unwrap_or(""), 16).is_ok_and(|n| n < 0x1000)
    }
}

/// Finds a track for every real UID and a slot for each; `Ok(None)` when
/// impossible. `budget` counts edge visits.
fn allocate(adj: &[Vec<usize>], slots: usize, budget: &mut u64) -> Option<(Vec<usize>, Vec<Option<usize>>)> {
    let mut track_slot: Vec<Option<usize>> = vec![None; adj.len()];
    let mut slot_track: Vec<Option<usize>> = vec![None; slots];
    for t in 0..adj.len() {
        if !augment(t, adj, &mut track_slot, &mut slot_track, budget, None) {
            return None;
        }
    }
    let track_slot = track_slot.into_iter().collect::<Option<Vec<_>>>()?;
    Some((track_slot, slot_track))
}

/// Breadth-first augmenting path from the free track `t` (Kuhn's matching,
/// without recursion). `forbid` = slots `t` itself may not take.
fn augment(
    t: usize,
    adj: &[Vec<usize>],
    track_slot: &mut [Option<usize>],
    slot_track: &mut [Option<usize>],
    budget: &mut u64,
    forbid: Option<&dyn Fn(usize) -> bool>,
) -> bool {
    let mut parent: Vec<Option<usize>> = vec![None; slot_track.len()];
    let mut queue = VecDeque::from([t]);
    let mut found = None;
    'search: while let Some(u) = queue.pop_front() {
        for &s in adj.get(u).map_or(&[][..], Vec::as_slice) {
            *budget = budget.saturating_sub(1);
            if *budget == 0 {
                return false;
            }
            if parent.get(s).is_none_or(Option::is_some) {
                continue;
            }
            if u == t && forbid.is_some_and(|f| f(s)) {
                continue;
            }
            parent[s] = Some(u);
            match slot_track.get(s).copied().flatten() {
                None => {
                    found = Some(s);
                    break 'search;
                }
                Some(w) => queue.push_back(w),
            }
        }
    }
    let Some(mut s) = found else { return false };
    loop {
        let Some(u) = parent.get(s).copied().flatten() else {
            return false;
        };
        let prev = track_slot.get(u).copied().flatten();
        track_slot[u] = Some(s);
        slot_track[s] = Some(u);
        if u == t {
            return true;
        }
        let Some(p) = prev else { return false };
        s = p;
    }
}

/// Builds the render scene. See the module docs for the rules.
///
/// `source` is where the blocks of channels read as a skeleton are
/// ([`crate::adm::stream::read_document`]); `None` for a document parsed
/// whole (every channel holds its blocks).
pub fn build(
    doc: &Document,
    tracks: &TrackTable,
    options: &SceneOptions,
    source: Option<&XmlSource>,
) -> Result<Scene, SceneError> {
    let mut notices = Notices::default();
    let mut ctx = Ctx::new(doc, tracks, &mut notices);
    ctx.source = source;

    let programmes: Vec<ProgrammeInfo> = doc
        .programmes
        .iter()
        .map(|p| ProgrammeInfo {
            id: p.id.clone(),
            name: p.name.clone(),
        })
        .collect();
    let programme = match &options.programme {
        Some(want) => Some(
            doc.programme(want)
                .or_else(|| doc.programmes.iter().find(|p| p.id.eq_ignore_ascii_case(want)))
                .ok_or_else(|| SceneError::UnknownProgramme {
                    requested: want.clone(),
                    available: programmes.iter().map(|p| p.id.clone()).collect(),
                })?,
        ),
        None => {
            let lowest = doc.programmes.iter().min_by(|a, b| a.id.cmp(&b.id));
            if let (Some(p), true) = (lowest, doc.programmes.len() > 1) {
                notices.add(
                    "multiple-programmes",
                    p.id.as_str(),
                    format!(
                        "{} audioProgrammes; rendering {} (the lowest ID); choose another with --programme",
                        doc.programmes.len(),
                        p.id
                    ),
                );
            }
            lowest
        }
    };

    // Complementary objects: all but the first of each group are left out.
    let mut not_selected: HashSet<&str> = HashSet::new();
    for o in &doc.objects {
        for c in &o.complementary_refs {
            if !c.eq_ignore_ascii_case(&o.id) {
                not_selected.insert(c.as_str());
            }
        }
    }

    let mut selections: Vec<Selection<'_>> = Vec::new();
    let mut path = Vec::new();
    if let Some(p) = programme {
        for cid in &p.content_refs {
            let content = doc.content(cid).ok_or_else(|| SceneError::Structure {
                element: format!("audioProgramme {}", p.id),
                line: p.origin.line,
                detail: format!("audioContent {cid} is not defined"),
            })?;
            for oid in &content.object_refs {
                let obj = doc.object(oid).ok_or_else(|| SceneError::Structure {
                    element: format!("audioContent {}", content.id),
                    line: content.origin.line,
                    detail: format!("audioObject {oid} is not defined"),
                })?;
                object_paths(doc, obj, Some(content), &mut path, &mut selections)?;
            }
        }
        orphan_notices(doc, &mut notices);
    } else if !doc.objects.is_empty() {
        let nested: HashSet<&str> = doc
            .objects
            .iter()
            .flat_map(|o| o.object_refs.iter().map(String::as_str))
            .collect();
        let mut roots = doc
            .objects
            .iter()
            .filter(|o| !nested.contains(o.id.as_str()))
            .peekable();
        if roots.peek().is_none()
            && let Some(first) = doc.objects.first()
        {
            return Err(SceneError::Structure {
                element: format!("audioObject {}", first.id),
                line: first.origin.line,
                detail: "every audioObject is nested in another, so none is a root: the audioObjectIDRefs loop".into(),
            });
        }
        for obj in roots {
            object_paths(doc, obj, None, &mut path, &mut selections)?;
        }
    }
    selections.retain(|s| !s.objects.iter().any(|o| not_selected.contains(o.id.as_str())));

    let programme_end = programme.and_then(|p| p.end?.checked_sub(p.start.unwrap_or(Time::ZERO)));
    let audio_end = (tracks.sample_rate > 0 && tracks.frames > 0)
        .then(|| {
            i64::try_from(tracks.frames)
                .ok()
                .map(|f| Time::from_samples(f, tracks.sample_rate))
        })
        .flatten();
    let mut out = Items {
        items: Vec::new(),
        ids: HashMap::new(),
        rate: tracks.sample_rate,
        budget: MAX_ALLOCATION_WORK,
        timeline_end: programme_end
            .map(|e| (e, "programme"))
            .or(audio_end.map(|e| (e, "audio"))),
    };
    if programme.is_none() && doc.objects.is_empty() {
        chna_only(&ctx, &mut out, &mut notices)?;
    } else {
        for sel in &selections {
            object_items(&ctx, sel, &mut out, &mut notices)?;
        }
    }

    Ok(Scene {
        sample_rate: tracks.sample_rate,
        frames: tracks.frames,
        tracks: tracks.channels,
        programme: programme.map(|p| ProgrammeInfo {
            id: p.id.clone(),
            name: p.name.clone(),
        }),
        programmes,
        reference_screen: programme.and_then(|p| p.reference_screen).unwrap_or(Screen::DEFAULT),
        items: out.items,
        notices: notices.into_vec(),
    })
}

/// Objects no programme reaches (through contents, nesting or complementary
/// groups) are not rendered: say so.
fn orphan_notices(doc: &Document, notices: &mut Notices) {
    let mut reached: HashSet<&str> = HashSet::new();
    let mut work: Vec<&str> = doc
        .programmes
        .iter()
        .flat_map(|p| p.content_refs.iter())
        .filter_map(|c| doc.content(c))
        .flat_map(|c| c.object_refs.iter().map(String::as_str))
        .collect();
    while let Some(id) = work.pop() {
        if !reached.insert(id) {
            continue;
        }
        if let Some(o) = doc.object(id) {
            work.extend(o.object_refs.iter().map(String::as_str));
            work.extend(o.complementary_refs.iter().map(String::as_str));
        }
    }
    for o in doc.objects.iter().filter(|o| !reached.contains(o.id.as_str())) {
        notices.add(
            "object-not-in-programme",
            o.id.as_str(),
            format!(
                "audioObject {} (line {}) belongs to no audioProgramme: it is not rendered",
                o.id, o.origin.line
            ),
        );
    }
}

/// The items made so far.
struct Items {
    items: Vec<RenderItem>,
    /// base id → times used
    ids: HashMap<String, usize>,
    rate: u32,
    budget: u64,
    /// See [`ObjectTiming::timeline_end`].
    timeline_end: Option<(Time, &'static str)>,
}

impl Items {
    fn unique_id(&mut self, base: String, notices: &mut Notices) -> String {
        let n = self.ids.entry(base.clone()).or_insert(0);
        *n += 1;
        if *n == 1 {
            base
        } else {
            notices.add(
                "object-rendered-twice",
                base.as_str(),
                format!(
                    "{base} is reached along {n} audioObject paths and is rendered once per path (as in BS.2127); \
                     this copy is {base}#{n}"
                ),
            );
            format!("{base}#{n}")
        }
    }
}

fn object_items(ctx: &Ctx<'_>, sel: &Selection<'_>, out: &mut Items, notices: &mut Notices) -> Result<(), SceneError> {
    let Some(&obj) = sel.objects.last() else {
        return Ok(());
    };
    if obj.head_locked == Some(true) {
        notices.add(
            "head-locked-not-supported",
            obj.id.as_str(),
            format!(
                "audioObject {} is headLocked; admix renders it as if it were not",
                obj.id
            ),
        );
    }
    let mismatch = |detail: String| SceneError::PackMismatch {
        object: obj.id.clone(),
        line: obj.origin.line,
        detail,
    };
    let referrer = format!("audioObject {}", obj.id);
    let mut real = Vec::new();
    let mut silent = 0usize;
    for uid in &obj.track_uid_refs {
        if is_silent(uid) {
            silent += 1;
        } else {
            real.push(ctx.track(uid, &referrer, notices)?);
        }
    }
    let mut pack_refs: Vec<String> = obj.pack_refs.clone();
    if pack_refs.is_empty() {
        if real.is_empty() && silent == 0 {
            return Ok(()); // a grouping object: its children carry the audio
        }
        if real.is_empty() {
            notices.add(
                "silent-object",
                obj.id.as_str(),
                format!(
                    "audioObject {} references only silent tracks and no audioPackFormat: nothing to render",
                    obj.id
                ),
            );
            return Ok(());
        }
        for t in &real {
            if let Some(p) = &t.pack_ref
                && !pack_refs.iter().any(|q| q.eq_ignore_ascii_case(p))
            {
                pack_refs.push(p.clone());
            }
        }
        if pack_refs.is_empty() {
            return Err(mismatch(
                "references audioTrackUIDs but no audioPackFormat, and its audioTrackUIDs name none either".into(),
            ));
        }
        notices.add(
            "pack-inferred",
            obj.id.as_str(),
            format!(
                "audioObject {} has no audioPackFormatIDRef; using {} from its audioTrackUIDs",
                obj.id,
                pack_refs.join(", ")
            ),
        );
    }

    // Matrix packs are reported, not rendered: one item per track.
    let matrix = pack_refs
        .iter()
        .filter_map(|p| ctx.pack(p))
        .any(|p| p.type_definition == TypeDefinition::Matrix);
    if matrix {
        let sources = real
            .iter()
            .map(|t| (Some(t), t.source))
            .chain(std::iter::repeat_n((None, TrackSource::Silent), silent));
        for (t, source) in sources {
            let channel = t.map_or("silent", |t| t.channel.id.as_str());
            let id = out.unique_id(format!("{}/{channel}", obj.id), notices);
            notices.add(
                "not-rendered-matrix",
                id.as_str(),
                format!("Matrix item {id} (pack {}) is not rendered", pack_refs.join(", ")),
            );
            out.items.push(base_item(ctx, sel, id, source, ItemKind::Matrix, false));
        }
        return Ok(());
    }

    let mut slots: Vec<Slot<'_>> = Vec::new();
    for p in &pack_refs {
        for path in ctx.pack_paths(p, &referrer, obj.origin.line)? {
            let Some(&last) = path.last() else { continue };
            for c in &last.channel_refs {
                let channel = ctx.channel(c).ok_or_else(|| {
                    mismatch(format!(
                        "audioPackFormat {} lists audioChannelFormat {c}, which is not defined",
                        last.id
                    ))
                })?;
                slots.push(Slot {
                    channel,
                    path: path.clone(),
                });
            }
        }
    }

    let describe_tracks = || {
        real.iter()
            .map(|t| {
                format!(
                    "{} → {} (via {}{})",
                    t.uid,
                    t.channel.id,
                    t.via,
                    t.pack_ref.as_ref().map(|p| format!(", pack {p}")).unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let packs = pack_refs.join(", ");
    // Candidate slots of each track: its channel, on a path through its pack.
    let mut by_channel: HashMap<*const AudioChannelFormat, Vec<usize>> = HashMap::new();
    for (k, slot) in slots.iter().enumerate() {
        by_channel.entry(std::ptr::from_ref(slot.channel)).or_default().push(k);
    }
    let adj: Vec<Vec<usize>> = real
        .iter()
        .map(|t| {
            by_channel
                .get(&std::ptr::from_ref(t.channel))
                .map(|c| {
                    c.iter()
                        .copied()
                        .filter(|&k| slots.get(k).is_some_and(|x| x.accepts(t)))
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    for (t, candidates) in real.iter().zip(&adj) {
        if candidates.is_empty() {
            let in_pack = by_channel.contains_key(&std::ptr::from_ref(t.channel));
            return Err(mismatch(if in_pack {
                format!(
                    "audioTrackUID {} (line {}) carries audioChannelFormat {} via {}, which {packs} holds, \
                     but its audioPackFormatIDRef {} is not on the pack path to it",
                    t.uid,
                    t.line,
                    t.channel.id,
                    t.via,
                    t.pack_ref.as_deref().unwrap_or("-")
                )
            } else if slots.is_empty() {
                format!(
                    "audioTrackUID {} (line {}) carries audioChannelFormat {} via {}, but audioPackFormat {packs} \
                     lists no audioChannelFormat at all",
                    t.uid, t.line, t.channel.id, t.via
                )
            } else {
                format!(
                    "audioTrackUID {} (line {}) carries audioChannelFormat {} via {}, which audioPackFormat {packs} \
                     does not contain",
                    t.uid, t.line, t.channel.id, t.via
                )
            }));
        }
    }
    if slots.len() != real.len() + silent {
        return Err(mismatch(format!(
            "audioPackFormat {packs} has {} channels ({}) but the object references {} audioTrackUIDs ({} silent): {}",
            slots.len(),
            slots
                .iter()
                .map(|s| s.channel.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            real.len() + silent,
            silent,
            describe_tracks()
        )));
    }
    let Some((track_slot, slot_track)) = allocate(&adj, slots.len(), &mut out.budget) else {
        if out.budget == 0 {
            return Err(mismatch("pack allocation is too complex (work limit reached)".into()));
        }
        return Err(mismatch(format!(
            "no allocation of its audioTrackUIDs to the channels of {packs} exists (several tracks claim the same \
             channel): {}",
            describe_tracks()
        )));
    };
    // Ambiguity: could some track take a channel on another pack path?
    for (t, &s) in track_slot.iter().enumerate() {
        let Some(slot) = slots.get(s) else { continue };
        let key = slot.key();
        let alternatives = adj
            .get(t)
            .is_some_and(|a| a.iter().any(|&o| slots.get(o).is_some_and(|x| x.key() != key)));
        if !alternatives {
            continue;
        }
        let mut ts: Vec<Option<usize>> = track_slot.iter().copied().map(Some).collect();
        let mut st = slot_track.clone();
        ts[t] = None;
        st[s] = None;
        let same_key = |o: usize| slots.get(o).is_some_and(|x| x.key() == key);
        if augment(t, &adj, &mut ts, &mut st, &mut out.budget, Some(&same_key)) {
            notices.add(
                "pack-allocation-ambiguous",
                obj.id.as_str(),
                format!(
                    "audioTrackUID {} of audioObject {} fits more than one channel path of {packs}; the first in \
                     document order is used",
                    real.get(t).map_or("", |x| x.uid.as_str()),
                    obj.id
                ),
            );
            break;
        }
    }
    for (s, slot) in slots.iter().enumerate() {
        let source = match slot_track.get(s).copied().flatten() {
            Some(t) => real.get(t).map_or(TrackSource::Silent, |x| x.source),
            None => TrackSource::Silent,
        };
        let base = format!("{}/{}", obj.id, slot.channel.id);
        make_item(ctx, sel, base, slot.channel, &slot.path, source, out, notices)?;
    }
    Ok(())
}

/// Tracks alone (no programme, no objects): each UID with the pack its chna
/// entry or audioTrackUID names; tracks naming the same pack fill its
/// channels in track order, a new copy of the pack when one is full.
fn chna_only(ctx: &Ctx<'_>, out: &mut Items, notices: &mut Notices) -> Result<(), SceneError> {
    struct Instance<'c> {
        pack: String,
        slots: Vec<Slot<'c>>,
        /// (samples, UID) per slot
        filled: Vec<Option<(TrackSource, String)>>,
    }
    let mut instances: Vec<Instance<'_>> = Vec::new();
    // uppercase pack ID → its instances
    let mut by_pack: HashMap<String, Vec<usize>> = HashMap::new();
    let mut loose: Vec<Track<'_>> = Vec::new();
    let sel = Selection {
        content: None,
        objects: Vec::new(),
    };
    for key in &ctx.uid_order {
        let Some(entry) = ctx.uids.get(key) else { continue };
        let t = ctx.track(&entry.id, "the chna chunk", notices)?;
        let Some(p) = t.pack_ref.clone() else {
            loose.push(t);
            continue;
        };
        let same_pack = by_pack.entry(p.to_ascii_uppercase()).or_default();
        let free = same_pack.iter().find_map(|&k| {
            let inst = instances.get(k)?;
            let i = (0..inst.slots.len())
                .find(|&i| inst.filled.get(i).is_some_and(Option::is_none) && inst.slots[i].accepts(&t))?;
            Some((k, i))
        });
        match free {
            Some((k, i)) => {
                if let Some(slot) = instances.get_mut(k).and_then(|inst| inst.filled.get_mut(i)) {
                    *slot = Some((t.source, t.uid.clone()));
                }
            }
            None => {
                let mut slots = Vec::new();
                for path in ctx.pack_paths(&p, &format!("audioTrackUID {}", t.uid), t.line)? {
                    let Some(&last) = path.last() else { continue };
                    for c in &last.channel_refs {
                        if let Some(channel) = ctx.channel(c) {
                            slots.push(Slot {
                                channel,
                                path: path.clone(),
                            });
                        }
                    }
                }
                let Some(i) = slots.iter().position(|s| s.accepts(&t)) else {
                    return Err(SceneError::TrackUid {
                        uid: t.uid.clone(),
                        line: t.line,
                        detail: format!(
                            "carries audioChannelFormat {} via {}, which its audioPackFormat {p} does not contain",
                            t.channel.id, t.via
                        ),
                    });
                };
                let mut filled = vec![None; slots.len()];
                filled[i] = Some((t.source, t.uid.clone()));
                same_pack.push(instances.len());
                instances.push(Instance { pack: p, slots, filled });
            }
        }
    }
    for inst in &instances {
        let missing: Vec<&str> = inst
            .slots
            .iter()
            .zip(&inst.filled)
            .filter(|(_, f)| f.is_none())
            .map(|(s, _)| s.channel.id.as_str())
            .collect();
        if !missing.is_empty() {
            notices.add(
                "pack-incomplete",
                inst.pack.as_str(),
                format!(
                    "no track carries {} of audioPackFormat {}; the channels present are rendered",
                    missing.join(", "),
                    inst.pack
                ),
            );
        }
        for (slot, f) in inst.slots.iter().zip(&inst.filled) {
            let Some((source, uid)) = f else { continue };
            let base = format!("{uid}/{}", slot.channel.id);
            make_item(ctx, &sel, base, slot.channel, &slot.path, *source, out, notices)?;
        }
    }
    for t in &loose {
        let base = format!("{}/{}", t.uid, t.channel.id);
        make_item(ctx, &sel, base, t.channel, &[], t.source, out, notices)?;
    }
    Ok(())
}

fn base_item(
    ctx: &Ctx<'_>,
    sel: &Selection<'_>,
    id: String,
    track: TrackSource,
    kind: ItemKind,
    cartesian: bool,
) -> RenderItem {
    let obj = sel.objects.last();
    let gain = sel
        .objects
        .iter()
        .map(|o| if o.mute { 0.0 } else { o.gain })
        .product::<f64>();
    let dialogue = sel.content.is_some_and(|c| c.dialogue == Some(Dialogue::Dialogue))
        || sel.objects.iter().any(|o| o.dialogue == Some(Dialogue::Dialogue));
    let headphone_mode = match track {
        TrackSource::Channel(c) => usize::try_from(c)
            .ok()
            .and_then(|c| ctx.table.headphone_modes.get(c).copied().flatten()),
        TrackSource::Silent => None,
    };
    RenderItem {
        id,
        name: obj.map(|o| o.name.clone()).unwrap_or_default(),
        track,
        gain,
        kind,
        headphone_mode,
        dialogue,
        content_id: sel.content.map(|c| c.id.clone()),
        object_path: sel.objects.iter().map(|o| o.id.clone()).collect(),
        cartesian,
    }
}

/// Sum of the positionOffsets along the object path.
fn position_offset(sel: &Selection<'_>) -> Option<PositionOffset> {
    let mut any = false;
    let mut sum = PositionOffset::default();
    let add = |a: &mut Option<f64>, b: Option<f64>| {
        if let Some(b) = b {
            *a = Some(a.unwrap_or(0.0) + b);
        }
    };
    for o in &sel.objects {
        if let Some(p) = o.position_offset {
            any = true;
            add(&mut sum.azimuth, p.azimuth);
            add(&mut sum.elevation, p.elevation);
            add(&mut sum.distance, p.distance);
            add(&mut sum.x, p.x);
            add(&mut sum.y, p.y);
            add(&mut sum.z, p.z);
        }
    }
    any.then_some(sum)
}

#[allow(
    clippy::too_many_arguments,
    reason = "one call site per selection mode; a struct would only rename them"
)]
fn make_item(
    ctx: &Ctx<'_>,
    sel: &Selection<'_>,
    base_id: String,
    channel: &AudioChannelFormat,
    pack_path: &[&AudioPackFormat],
    source: TrackSource,
    out: &mut Items,
    notices: &mut Notices,
) -> Result<(), SceneError> {
    let id = out.unique_id(base_id, notices);
    let obj = sel.objects.last();
    let timing = ObjectTiming {
        object: obj.map_or_else(String::new, |o| o.id.clone()),
        start: obj.and_then(|o| o.start).unwrap_or(Time::ZERO),
        duration: obj.and_then(|o| o.duration),
        timeline_end: out.timeline_end,
    };
    let rate = out.rate;
    let deferred = channel.deferred.as_ref().zip(ctx.source);
    if channel.blocks.is_empty() && deferred.is_none() {
        notices.add(
            "channel-without-blocks",
            id.as_str(),
            format!(
                "audioChannelFormat {} has no audioBlockFormat: item {id} is silent",
                channel.id
            ),
        );
    }
    let offset = position_offset(sel);
    let mut head_locked = false;
    let (kind, cartesian) = match channel.type_definition {
        TypeDefinition::Objects => {
            let (blocks, offset_ignored) = match deferred {
                Some((span, source)) => {
                    let spec = StreamSpec {
                        source: source.clone(),
                        span: span.clone(),
                        channel_id: channel.id.clone(),
                        item_id: id.clone(),
                        timing: timing.clone(),
                        rate,
                        offset,
                    };
                    // the stream says position-offset-ignored / headLocked itself
                    (ObjectBlocks::streamed(spec, notices)?, false)
                }
                None => {
                    let placed = place(
                        &channel.blocks,
                        &timing,
                        rate,
                        |b| match &b.kind {
                            BlockKind::Objects(o) => Some(o.jump_position),
                            _ => None,
                        },
                        notices,
                    )?;
                    let mut blocks = Vec::with_capacity(placed.len());
                    let mut offset_ignored = false;
                    for (b, p) in channel.blocks.iter().zip(placed) {
                        if let Some((tb, ignored)) = object_block(b.clone(), p, offset.as_ref()) {
                            offset_ignored |= ignored;
                            head_locked |= tb.block.head_locked;
                            blocks.push(tb);
                        }
                    }
                    (ObjectBlocks::from_vec(blocks), offset_ignored)
                }
            };
            if offset_ignored {
                offset_ignored_notice(notices, &id, &timing.object, &channel.id);
            }
            let cartesian = blocks.first().is_some_and(|b| b.block.cartesian);
            (ItemKind::Object { blocks }, cartesian)
        }
        TypeDefinition::DirectSpeakers => {
            let placed = place(&channel.blocks, &timing, rate, |_| None, notices)?;
            let mut blocks = Vec::with_capacity(placed.len());
            for (b, p) in channel.blocks.iter().zip(placed) {
                let BlockKind::DirectSpeakers(db) = &b.kind else {
                    continue;
                };
                head_locked |= db.head_locked;
                blocks.push(timed(b, &p, db.clone()));
            }
            let cartesian = blocks
                .first()
                .is_some_and(|b| matches!(b.block.position, SpeakerPosition::Cartesian { .. }));
            let common_pack = pack_path.last().filter(|p| is_common_pack(p)).map(|p| p.id.clone());
            let context = DirectSpeakersContext {
                frequency: channel.frequency,
                common_pack,
            };
            if offset.is_some() {
                notices.add(
                    "position-offset-ignored",
                    id.as_str(),
                    format!(
                        "positionOffset of {} is not applied to DirectSpeakers channel {}",
                        timing.object, channel.id
                    ),
                );
            }
            (ItemKind::DirectSpeakers { blocks, context }, cartesian)
        }
        TypeDefinition::Hoa => {
            let placed = place(&channel.blocks, &timing, rate, |_| None, notices)?;
            let blocks: Vec<TimedBlock<crate::adm::elements::HoaBlock>> = channel
                .blocks
                .iter()
                .zip(placed)
                .filter_map(|(b, p)| match &b.kind {
                    BlockKind::Hoa(h) => Some(timed(b, &p, h.clone())),
                    _ => None,
                })
                .collect();
            // normalization: the block's, else the innermost pack's that
            // says, else SN3D (BS.2076-2 default)
            let normalization = blocks
                .first()
                .and_then(|b| b.block.normalization.clone())
                .or_else(|| pack_path.iter().rev().find_map(|p| p.normalization.clone()))
                .unwrap_or_else(|| "SN3D".to_string());
            let group = format!(
                "{}/{}",
                sel.objects.iter().map(|o| o.id.as_str()).collect::<Vec<_>>().join("/"),
                pack_path.first().map_or(channel.id.as_str(), |p| p.id.as_str())
            );
            (
                ItemKind::Hoa {
                    blocks,
                    group,
                    normalization,
                },
                false,
            )
        }
        TypeDefinition::Matrix => {
            notices.add(
                "not-rendered-matrix",
                id.as_str(),
                format!("Matrix item {id} (channel {}) is not rendered", channel.id),
            );
            (ItemKind::Matrix, false)
        }
        TypeDefinition::Binaural => {
            notices.add(
                "not-rendered-binaural",
                id.as_str(),
                format!(
                    "Binaural item {id} (channel {}) is not rendered to loudspeakers (headphone output only)",
                    channel.id
                ),
            );
            (ItemKind::Binaural, false)
        }
    };
    if head_locked {
        head_locked_notice(notices, &id, &channel.id);
    }
    if let Some(root) = pack_path.first()
        && root.type_definition != channel.type_definition
    {
        notices.add(
            "type-mismatch",
            id.as_str(),
            format!(
                "audioPackFormat {} is {} but its audioChannelFormat {} is {}; the channel's type is used",
                root.id,
                root.type_definition.name(),
                channel.id,
                channel.type_definition.name()
            ),
        );
    }
    out.items.push(base_item(ctx, sel, id, source, kind, cartesian));
    Ok(())
}

fn timed<B>(b: &BlockFormat, p: &super::timing::Placed, block: B) -> TimedBlock<B> {
    TimedBlock {
        id: b.id.clone(),
        start: p.start,
        end: p.end,
        ramp_end: p.ramp_end,
        block,
    }
}

/// Adds `off` to `pos` (BS.2076-2 positionOffset); false when the offset is
/// given only in the other coordinate system.
pub(super) fn apply_offset(pos: &mut ObjectPosition, off: &PositionOffset) -> bool {
    let polar = off.azimuth.is_some() || off.elevation.is_some() || off.distance.is_some();
    let cart = off.x.is_some() || off.y.is_some() || off.z.is_some();
    match pos {
        ObjectPosition::Polar {
            azimuth,
            elevation,
            distance,
        } => {
            *azimuth += off.azimuth.unwrap_or(0.0);
            *elevation += off.elevation.unwrap_or(0.0);
            *distance += off.distance.unwrap_or(0.0);
            polar || !cart
        }
        ObjectPosition::Cartesian { x, y, z } => {
            *x += off.x.unwrap_or(0.0);
            *y += off.y.unwrap_or(0.0);
            *z += off.z.unwrap_or(0.0);
            cart || !polar
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adm::xml;

    const HEAD: &str =
        r#"<?xml version="1.0"?><ebuCoreMain><coreMetadata><format><audioFormatExtended version="ITU-R_BS.2076-2">"#;
    const TAIL: &str = "</audioFormatExtended></format></coreMetadata></ebuCoreMain>";

    /// An Objects channel `n` (pack AP_0003100n, channel AC_0003100n, track
    /// format AT_0003100n_01, UID ATU_0000000n) with the given blocks.
    fn object_channel(n: u32, blocks: &str) -> String {
        format!(
            r#"<audioPackFormat audioPackFormatID="AP_0003100{n}" audioPackFormatName="p{n}" typeDefinition="Objects">
  <audioChannelFormatIDRef>AC_0003100{n}</audioChannelFormatIDRef></audioPackFormat>
<audioChannelFormat audioChannelFormatID="AC_0003100{n}" audioChannelFormatName="c{n}" typeDefinition="Objects">{blocks}</audioChannelFormat>
<audioStreamFormat audioStreamFormatID="AS_0003100{n}" audioStreamFormatName="s{n}" formatDefinition="PCM">
  <audioChannelFormatIDRef>AC_0003100{n}</audioChannelFormatIDRef><audioTrackFormatIDRef>AT_0003100{n}_01</audioTrackFormatIDRef></audioStreamFormat>
<audioTrackFormat audioTrackFormatID="AT_0003100{n}_01" audioTrackFormatName="t{n}" formatDefinition="PCM">
  <audioStreamFormatIDRef>AS_0003100{n}</audioStreamFormatIDRef></audioTrackFormat>
<audioTrackUID UID="ATU_0000000{n}"><audioTrackFormatIDRef>AT_0003100{n}_01</audioTrackFormatIDRef>
  <audioPackFormatIDRef>AP_0003100{n}</audioPackFormatIDRef></audioTrackUID>
"#
        )
    }

    fn block(n: u32, k: u32, az: f64) -> String {
        format!(
            r#"<audioBlockFormat audioBlockFormatID="AB_0003100{n}_0000000{k}"><position coordinate="azimuth">{az}</position><position coordinate="elevation">0</position></audioBlockFormat>"#
        )
    }

    fn table(channels: u32) -> TrackTable {
        TrackTable {
            sample_rate: 48_000,
            frames: 48_000,
            channels,
            chna: None,
            headphone_modes: Vec::new(),
        }
    }

    fn scene(body: &str, t: &TrackTable, programme: Option<&str>) -> Result<Scene, SceneError> {
        let (doc, _) = xml::parse(&format!("{HEAD}{body}{TAIL}"), "t.xml").unwrap();
        build(
            &doc,
            t,
            &SceneOptions {
                programme: programme.map(str::to_string),
            },
            None,
        )
    }

    fn kinds(s: &Scene) -> Vec<&'static str> {
        s.notices.iter().map(|n| n.kind).collect()
    }

    #[test]
    fn root_objects_gain_mute_offset_and_dialogue() {
        let body = format!(
            r#"<audioContent audioContentID="ACO_1001" audioContentName="c"><audioObjectIDRef>AO_1001</audioObjectIDRef><dialogue dialogueContentKind="1">1</dialogue></audioContent>
<audioProgramme audioProgrammeID="APR_1001" audioProgrammeName="main"><audioContentIDRef>ACO_1001</audioContentIDRef></audioProgramme>
<audioObject audioObjectID="AO_1001" audioObjectName="parent"><audioObjectIDRef>AO_1002</audioObjectIDRef><gain>0.5</gain>
  <positionOffset coordinate="azimuth">10</positionOffset></audioObject>
<audioObject audioObjectID="AO_1002" audioObjectName="child"><audioPackFormatIDRef>AP_00031001</audioPackFormatIDRef>
  <audioTrackUIDRef>ATU_00000001</audioTrackUIDRef><gain>0.5</gain><positionOffset coordinate="azimuth">5</positionOffset></audioObject>
<audioObject audioObjectID="AO_1003" audioObjectName="muted"><audioPackFormatIDRef>AP_00031002</audioPackFormatIDRef>
  <audioTrackUIDRef>ATU_00000002</audioTrackUIDRef><mute>1</mute></audioObject>
{}{}"#,
            object_channel(1, &block(1, 1, 30.0)),
            object_channel(2, &block(2, 1, 0.0))
        );
        let s = scene(&body, &table(2), None).unwrap();
        assert_eq!(s.items.len(), 1, "AO_1003 is not in the programme");
        let i = &s.items[0];
        assert_eq!(i.id, "AO_1002/AC_00031001");
        assert_eq!(i.object_path, ["AO_1001", "AO_1002"]);
        assert_eq!(i.gain, 0.25);
        assert!(i.dialogue);
        assert_eq!(i.content_id.as_deref(), Some("ACO_1001"));
        assert_eq!(i.track, TrackSource::Channel(0));
        let ItemKind::Object { blocks } = &i.kind else { panic!() };
        assert_eq!(
            blocks[0].block.position,
            ObjectPosition::Polar {
                azimuth: 45.0,
                elevation: 0.0,
                distance: 1.0
            }
        );
        assert_eq!(kinds(&s), ["object-not-in-programme"]);

        // No programme: every root object, muted one with gain 0.
        let body = body
            .replace("<audioProgramme", "<audioProgrammeX")
            .replace("</audioProgramme>", "</audioProgrammeX>");
        let (doc, _) = xml::parse(
            &format!("{HEAD}{}{TAIL}", body.replace("audioProgrammeX", "unknownThing")),
            "t.xml",
        )
        .unwrap();
        let s = build(&doc, &table(2), &SceneOptions::default(), None).unwrap();
        assert_eq!(s.items.len(), 2);
        assert_eq!(s.items[1].gain, 0.0);
        assert!(s.programme.is_none());
    }

    #[test]
    fn programme_choice_and_unknown_programme() {
        let body = format!(
            r#"<audioProgramme audioProgrammeID="APR_1002" audioProgrammeName="b"><audioContentIDRef>ACO_1002</audioContentIDRef></audioProgramme>
<audioProgramme audioProgrammeID="APR_1001" audioProgrammeName="a"><audioContentIDRef>ACO_1001</audioContentIDRef></audioProgramme>
<audioContent audioContentID="ACO_1001" audioContentName="c1"><audioObjectIDRef>AO_1001</audioObjectIDRef></audioContent>
<audioContent audioContentID="ACO_1002" audioContentName="c2"><audioObjectIDRef>AO_1002</audioObjectIDRef></audioContent>
<audioObject audioObjectID="AO_1001" audioObjectName="o1"><audioPackFormatIDRef>AP_00031001</audioPackFormatIDRef><audioTrackUIDRef>ATU_00000001</audioTrackUIDRef></audioObject>
<audioObject audioObjectID="AO_1002" audioObjectName="o2"><audioPackFormatIDRef>AP_00031002</audioPackFormatIDRef><audioTrackUIDRef>ATU_00000002</audioTrackUIDRef></audioObject>
{}{}"#,
            object_channel(1, &block(1, 1, 30.0)),
            object_channel(2, &block(2, 1, 0.0))
        );
        let s = scene(&body, &table(2), None).unwrap();
        assert_eq!(s.programme.as_ref().unwrap().id, "APR_1001");
        assert_eq!(s.items[0].track, TrackSource::Channel(0));
        assert_eq!(s.programmes.len(), 2);
        assert_eq!(kinds(&s), ["multiple-programmes"]);
        let s = scene(&body, &table(2), Some("APR_1002")).unwrap();
        assert_eq!(s.items[0].id, "AO_1002/AC_00031002");
        assert_eq!(s.items[0].track, TrackSource::Channel(1));
        assert!(s.notices.is_empty());
        let e = scene(&body, &table(2), Some("APR_1003")).unwrap_err();
        assert_eq!(
            e,
            SceneError::UnknownProgramme {
                requested: "APR_1003".into(),
                available: vec!["APR_1002".into(), "APR_1001".into()]
            }
        );
        assert!(e.to_string().contains("APR_1002, APR_1001"), "{e}");
    }

    #[test]
    fn complementary_objects_keep_the_first_of_each_group() {
        let body = format!(
            r#"<audioObject audioObjectID="AO_1001" audioObjectName="english"><audioPackFormatIDRef>AP_00031001</audioPackFormatIDRef><audioTrackUIDRef>ATU_00000001</audioTrackUIDRef>
  <audioComplementaryObjectIDRef>AO_1002</audioComplementaryObjectIDRef></audioObject>
<audioObject audioObjectID="AO_1002" audioObjectName="french"><audioPackFormatIDRef>AP_00031002</audioPackFormatIDRef><audioTrackUIDRef>ATU_00000002</audioTrackUIDRef></audioObject>
{}{}"#,
            object_channel(1, &block(1, 1, 30.0)),
            object_channel(2, &block(2, 1, 0.0))
        );
        let s = scene(&body, &table(2), None).unwrap();
        assert_eq!(
            s.items.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
            ["AO_1001/AC_00031001"]
        );
    }

    #[test]
    fn tracks_silent_out_of_range_and_chna() {
        let body = format!(
            r#"<audioObject audioObjectID="AO_1001" audioObjectName="o"><audioPackFormatIDRef>AP_00031001</audioPackFormatIDRef><audioTrackUIDRef>ATU_00000000</audioTrackUIDRef></audioObject>
<audioObject audioObjectID="AO_1002" audioObjectName="o"><audioPackFormatIDRef>AP_00031002</audioPackFormatIDRef><audioTrackUIDRef>ATU_00000002</audioTrackUIDRef></audioObject>
{}{}"#,
            object_channel(1, &block(1, 1, 30.0)),
            object_channel(2, &block(2, 1, 0.0))
        );
        // Document order: ATU_1 → channel 0, ATU_2 → channel 1 (past the end of 1 channel).
        let s = scene(&body, &table(1), None).unwrap();
        assert_eq!(s.items[0].track, TrackSource::Silent);
        assert_eq!(s.items[1].track, TrackSource::Silent);
        assert_eq!(kinds(&s), ["track-out-of-range"]);
        // chna puts ATU_2 on track 5 of 8, and lists a dbmd mode for it.
        let mut t = table(8);
        t.chna = Some(vec![ChnaEntry {
            track_index: 5,
            uid: "ATU_00000002".into(),
            track_ref: "AT_00031002_01".into(),
            pack_ref: "AP_00031002".into(),
        }]);
        t.headphone_modes = vec![None, None, None, None, Some(HeadphoneMode::Far)];
        let s = scene(&body, &t, None).unwrap();
        assert_eq!(s.items[1].track, TrackSource::Channel(4));
        assert_eq!(s.items[1].headphone_mode, Some(HeadphoneMode::Far));
        assert!(s.notices.is_empty(), "{:?}", s.notices);
        t.chna.as_mut().unwrap()[0].track_index = 9;
        let s = scene(&body, &t, None).unwrap();
        assert_eq!(s.items[1].track, TrackSource::Silent);
        assert_eq!(kinds(&s), ["track-out-of-range"]);
    }

    #[test]
    fn pack_mismatch_names_object_uid_channel_and_pack() {
        let body = format!(
            r#"<audioObject audioObjectID="AO_1001" audioObjectName="o"><audioPackFormatIDRef>AP_00031002</audioPackFormatIDRef><audioTrackUIDRef>ATU_00000001</audioTrackUIDRef></audioObject>
{}{}"#,
            object_channel(1, &block(1, 1, 30.0)),
            object_channel(2, &block(2, 1, 0.0))
        );
        let e = scene(&body, &table(2), None).unwrap_err();
        let SceneError::PackMismatch { object, line, .. } = &e else {
            panic!("{e}")
        };
        assert_eq!((object.as_str(), *line), ("AO_1001", 1));
        let m = e.to_string();
        for part in ["ATU_00000001", "AC_00031001", "AT_00031001_01", "AP_00031002", "line 1"] {
            assert!(m.contains(part), "{part} missing from {m}");
        }
        // two tracks for a one-channel pack
        let body = body.replace(
            "<audioTrackUIDRef>ATU_00000001</audioTrackUIDRef>",
            "<audioTrackUIDRef>ATU_00000002</audioTrackUIDRef><audioTrackUIDRef>ATU_00000000</audioTrackUIDRef>",
        );
        let e = scene(&body, &table(2), None).unwrap_err();
        assert!(e.to_string().contains("has 1 channels"), "{e}");
    }

    #[test]
    fn nested_packs_and_common_definitions() {
        // A stereo common-definition bed and a nested Objects pack.
        let body = format!(
            r#"<audioObject audioObjectID="AO_1001" audioObjectName="bed"><audioPackFormatIDRef>AP_00010002</audioPackFormatIDRef>
  <audioTrackUIDRef>ATU_00000003</audioTrackUIDRef><audioTrackUIDRef>ATU_00000004</audioTrackUIDRef></audioObject>
<audioObject audioObjectID="AO_1002" audioObjectName="nested"><audioPackFormatIDRef>AP_00031009</audioPackFormatIDRef>
  <audioTrackUIDRef>ATU_00000002</audioTrackUIDRef><audioTrackUIDRef>ATU_00000001</audioTrackUIDRef></audioObject>
<audioPackFormat audioPackFormatID="AP_00031009" audioPackFormatName="outer" typeDefinition="Objects">
  <audioPackFormatIDRef>AP_00031001</audioPackFormatIDRef><audioPackFormatIDRef>AP_00031002</audioPackFormatIDRef></audioPackFormat>
<audioTrackUID UID="ATU_00000003"><audioTrackFormatIDRef>AT_00010001_01</audioTrackFormatIDRef><audioPackFormatIDRef>AP_00010002</audioPackFormatIDRef></audioTrackUID>
<audioTrackUID UID="ATU_00000004"><audioChannelFormatIDRef>AC_00010002</audioChannelFormatIDRef><audioPackFormatIDRef>AP_00010002</audioPackFormatIDRef></audioTrackUID>
{}{}"#,
            object_channel(1, &block(1, 1, 30.0)),
            object_channel(2, &block(2, 1, 0.0))
        );
        // Document order of the UIDs: ATU_3, ATU_4, ATU_1, ATU_2.
        let s = scene(&body, &table(4), None).unwrap();
        let ids: Vec<_> = s.items.iter().map(|i| (i.id.as_str(), i.track)).collect();
        assert_eq!(
            ids,
            [
                ("AO_1001/AC_00010001", TrackSource::Channel(0)),
                ("AO_1001/AC_00010002", TrackSource::Channel(1)),
                ("AO_1002/AC_00031001", TrackSource::Channel(2)),
                ("AO_1002/AC_00031002", TrackSource::Channel(3)),
            ]
        );
        let ItemKind::DirectSpeakers { context, blocks } = &s.items[0].kind else {
            panic!()
        };
        assert_eq!(context.common_pack.as_deref(), Some("AP_00010002"));
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].end, None);
    }

    #[test]
    fn chna_only_tracks_use_their_pack_and_common_definitions() {
        let doc = Document::default();
        let entry = |t: u16, uid: &str, tr: &str| ChnaEntry {
            track_index: t,
            uid: uid.into(),
            track_ref: tr.into(),
            pack_ref: "AP_00010002".into(),
        };
        let mut t = table(4);
        t.chna = Some(vec![
            entry(1, "ATU_00000001", "AT_00010001_01"),
            entry(2, "ATU_00000002", "AT_00010002_01"),
            entry(3, "ATU_00000003", "AT_00010001_01"),
        ]);
        let s = build(&doc, &t, &SceneOptions::default(), None).unwrap();
        let ids: Vec<_> = s.items.iter().map(|i| (i.id.as_str(), i.track)).collect();
        assert_eq!(
            ids,
            [
                ("ATU_00000001/AC_00010001", TrackSource::Channel(0)),
                ("ATU_00000002/AC_00010002", TrackSource::Channel(1)),
                ("ATU_00000003/AC_00010001", TrackSource::Channel(2)),
            ]
        );
        assert_eq!(kinds(&s), ["pack-incomplete"]);
        t.chna.as_mut().unwrap()[0].track_ref = "AT_00031001_01".into();
        let e = build(&doc, &t, &SceneOptions::default(), None).unwrap_err();
        assert!(e.to_string().starts_with("chna: <audioTrackUID ATU_00000001>"), "{e}");
    }

    #[test]
    fn timing_errors_name_block_object_and_line() {
        let blocks = r#"
<audioBlockFormat audioBlockFormatID="AB_00031001_00000001" rtime="00:00:00.00000" duration="00:00:00.50000"><position coordinate="azimuth">0</position><position coordinate="elevation">0</position></audioBlockFormat>
<audioBlockFormat audioBlockFormatID="AB_00031001_00000002" rtime="00:00:00.40000" duration="00:00:00.50000"><position coordinate="azimuth">0</position><position coordinate="elevation">0</position></audioBlockFormat>"#;
        let body = format!(
            r#"<audioObject audioObjectID="AO_1001" audioObjectName="o"><audioPackFormatIDRef>AP_00031001</audioPackFormatIDRef><audioTrackUIDRef>ATU_00000001</audioTrackUIDRef></audioObject>
{}"#,
            object_channel(1, blocks)
        );
        let e = scene(&body, &table(1), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 6: <audioBlockFormat AB_00031001_00000002> (audioObject AO_1001): starts at 00:00:00.4, before the \
             previous block AB_00031001_00000001 ends at 00:00:00.5 (overlap of 00:00:00.1, one sample period or more)"
        );
    }

    #[test]
    fn loops_and_exploding_nesting_are_errors() {
        // 40 levels of packs, each nesting both packs of the next: 2^40 paths.
        let mut body = String::from(
            r#"<audioObject audioObjectID="AO_1001" audioObjectName="o"><audioPackFormatIDRef>AP_00031100</audioPackFormatIDRef><audioTrackUIDRef>ATU_00000001</audioTrackUIDRef></audioObject>"#,
        );
        for level in 0..40 {
            let subs = if level < 39 {
                format!(
                    "<audioPackFormatIDRef>AP_000311{:02x}</audioPackFormatIDRef><audioPackFormatIDRef>AP_000312{:02x}</audioPackFormatIDRef>",
                    level + 1,
                    level + 1
                )
            } else {
                "<audioChannelFormatIDRef>AC_00031001</audioChannelFormatIDRef>".to_string()
            };
            for side in [0x11, 0x12] {
                body += &format!(
                    r#"<audioPackFormat audioPackFormatID="AP_0003{side:02x}{level:02x}" audioPackFormatName="p" typeDefinition="Objects">{subs}</audioPackFormat>"#
                );
            }
        }
        body += &object_channel(1, &block(1, 1, 0.0))
            .replace("<audioPackFormatIDRef>AP_00031001</audioPackFormatIDRef>", "");
        let t = std::time::Instant::now();
        let e = scene(&body, &table(1), None).unwrap_err();
        assert!(e.to_string().contains("nested pack paths"), "{e}");
        assert!(t.elapsed().as_secs() < 10);

        let body = format!(
            r#"<audioObject audioObjectID="AO_1001" audioObjectName="a"><audioObjectIDRef>AO_1002</audioObjectIDRef></audioObject>
<audioObject audioObjectID="AO_1002" audioObjectName="b"><audioObjectIDRef>AO_1001</audioObjectIDRef></audioObject>
<audioObject audioObjectID="AO_1003" audioObjectName="root"><audioObjectIDRef>AO_1001</audioObjectIDRef></audioObject>{}"#,
            object_channel(1, &block(1, 1, 0.0))
        );
        let e = scene(&body, &table(1), None).unwrap_err();
        assert!(e.to_string().contains("contains itself"), "{e}");
        let body = body.replace(r#"<audioObject audioObjectID="AO_1003" audioObjectName="root"><audioObjectIDRef>AO_1001</audioObjectIDRef></audioObject>"#, "");
        let e = scene(&body, &table(1), None).unwrap_err();
        assert!(e.to_string().contains("none is a root"), "{e}");
    }

    #[test]
    fn matching_prefers_document_order_and_finds_swaps() {
        // track 0 fits slots 0 and 1, track 1 only slot 0: the matching must move track 0.
        let adj = vec![vec![0, 1], vec![0]];
        let mut budget = 1000;
        let (ts, st) = allocate(&adj, 2, &mut budget).unwrap();
        assert_eq!(ts, [1, 0]);
        assert_eq!(st, [Some(1), Some(0)]);
        assert!(allocate(&[vec![0], vec![0]], 2, &mut budget).is_none());
        let mut budget = 1;
        assert!(allocate(&adj, 2, &mut budget).is_none());
    }
}
