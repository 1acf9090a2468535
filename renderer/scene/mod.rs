//! The render scene: what to render, resolved from an ADM document and the
//! file's track table (BS.2127 §6.1 item selection). Takes a
//! [`crate::adm::Document`] plus the `chna` (or implicit) track mapping;
//! produces render items, each with its input track, its metadata blocks at
//! exact times and its ramps; refuses references that lead nowhere,
//! overlapping or negative-duration blocks (with element ID and XML line).
//!
//! Everything the renderer will not render as the file asks (Matrix and
//! Binaural items on loudspeakers, repaired block times, …) is a [`Notice`];
//! HOA sets that cannot be decoded are reported by the engines.
//!
//! [`build`] (in `build.rs`) selects the items (BS.2127 §6.1); `timing.rs`
//! places each channel's blocks on the timeline, repairs near-misses and
//! computes the ramps.

mod build;
mod timing;

pub use build::{SceneOptions, TrackTable, build};

use crate::adm::elements::{DirectSpeakersBlock, HoaBlock, ObjectBlock, Screen};
use crate::io::BinauralRenderMode;
use crate::notice::Notice;
use crate::panning::DirectSpeakersContext;
use crate::time::Time;
use serde::Serialize;

/// Dolby headphone render mode of an object (dbmd Atmos supplemental
/// segment) or the `--headphone-mode` override.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HeadphoneMode {
    /// No HRTF: a plain stereo fold.
    Off,
    Near,
    Mid,
    Far,
}

impl HeadphoneMode {
    /// The mode a `dbmd` track entry indicates (`None` for "not indicated").
    pub fn from_dbmd(mode: BinauralRenderMode) -> Option<HeadphoneMode> {
        match mode {
            BinauralRenderMode::Off => Some(HeadphoneMode::Off),
            BinauralRenderMode::Near => Some(HeadphoneMode::Near),
            BinauralRenderMode::Mid => Some(HeadphoneMode::Mid),
            BinauralRenderMode::Far => Some(HeadphoneMode::Far),
            BinauralRenderMode::NotIndicated(_) => None,
        }
    }

    /// `off` | `near` | `mid` | `far` (as in `--headphone-mode` and inspect's JSON).
    pub fn name(self) -> &'static str {
        match self {
            HeadphoneMode::Off => "off",
            HeadphoneMode::Near => "near",
            HeadphoneMode::Mid => "mid",
            HeadphoneMode::Far => "far",
        }
    }
}

/// Where an item's samples come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackSource {
    /// 0-based channel index of the input audio (chna trackIndex − 1).
    Channel(u32),
    /// `ATU_00000000`, or a track the file does not have: silence.
    Silent,
}

/// A metadata block on the programme's timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct TimedBlock<B> {
    /// `audioBlockFormatID`
    pub id: String,
    /// Absolute start: audioObject start + rtime (or the object start for a
    /// block without timing).
    pub start: Time,
    /// Absolute end; `None` for a block without timing in an object without
    /// duration (it lasts to the end of the programme).
    pub end: Option<Time>,
    /// End of the gain ramp from the previous block's gains (BS.2127 §7.2):
    /// `Some(t)` with start < t ≤ end when this block starts exactly where
    /// the previous one ended — t = end without jumpPosition, start +
    /// interpolationLength with it; `None` when the gains jump at `start`
    /// (first block, after a gap, or jumpPosition without interpolation length).
    pub ramp_end: Option<Time>,
    /// The block, with the audioObject's positionOffset already applied.
    pub block: B,
}

/// What kind of item, with its blocks.
#[derive(Clone, Debug, PartialEq)]
pub enum ItemKind {
    Object {
        blocks: Vec<TimedBlock<ObjectBlock>>,
    },
    DirectSpeakers {
        blocks: Vec<TimedBlock<DirectSpeakersBlock>>,
        /// frequency and common-definition pack, for LFE and mapping rules
        context: DirectSpeakersContext,
    },
    /// One channel of an HOA signal set; rendered with the decoder designed
    /// for all channels of its `group` together (BS.2127 §9, ear's AllRAD).
    Hoa {
        blocks: Vec<TimedBlock<HoaBlock>>,
        /// The HOA items decoded together: the audioObject path and the root
        /// audioPackFormat (`AO_1001/AP_00041001`).
        group: String,
        /// `normalization` from the block or the pack path (default SN3D).
        normalization: String,
    },
    /// Parsed, reported, not rendered.
    Matrix,
    /// Parsed, reported; passed to the headphone output by the binaural stage.
    Binaural,
}

impl ItemKind {
    /// `object` | `direct_speakers` | `hoa` | `matrix` | `binaural` (inspect's `kind`).
    pub fn name(&self) -> &'static str {
        match self {
            ItemKind::Object { .. } => "object",
            ItemKind::DirectSpeakers { .. } => "direct_speakers",
            ItemKind::Hoa { .. } => "hoa",
            ItemKind::Matrix => "matrix",
            ItemKind::Binaural => "binaural",
        }
    }

    pub fn block_count(&self) -> usize {
        match self {
            ItemKind::Object { blocks } => blocks.len(),
            ItemKind::DirectSpeakers { blocks, .. } => blocks.len(),
            ItemKind::Hoa { blocks, .. } => blocks.len(),
            ItemKind::Matrix | ItemKind::Binaural => 0,
        }
    }
}

/// One render item: one input track with its metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct RenderItem {
    /// Stable identifier for reports: `<audioObjectID>/<audioChannelFormatID>`
    /// (or the track UID and channel when there is no object).
    pub id: String,
    /// audioObject name (or channel name).
    pub name: String,
    pub track: TrackSource,
    /// audioObject gains along the path (linear), multiplied; 0 when muted.
    pub gain: f64,
    pub kind: ItemKind,
    /// From the dbmd chunk for this track, when present and indicated.
    pub headphone_mode: Option<HeadphoneMode>,
    /// The audioContent this item belongs to marks dialogue (dialogue=1, or
    /// the object's own dialogue attribute).
    pub dialogue: bool,
    /// The audioContent ID, when the item comes from a programme/content.
    pub content_id: Option<String>,
    /// The audioObject IDs from the root object down to this item's object.
    pub object_path: Vec<String>,
    /// True for block-level data in cartesian coordinates (inspect's `cartesian`).
    pub cartesian: bool,
}

/// The programme chosen for rendering.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProgrammeInfo {
    pub id: String,
    pub name: String,
}

/// Everything the renderer needs, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Scene {
    pub sample_rate: u32,
    /// Length of the input audio in frames.
    pub frames: u64,
    /// Number of input tracks (channels of the audio).
    pub tracks: u32,
    /// The selected programme, if the document has any.
    pub programme: Option<ProgrammeInfo>,
    /// Every programme in the document (id, name), for `inspect`.
    pub programmes: Vec<ProgrammeInfo>,
    /// The programme's audioProgrammeReferenceScreen (default screen when absent).
    pub reference_screen: Screen,
    pub items: Vec<RenderItem>,
    pub notices: Vec<Notice>,
}

/// Which timing rule a block breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimingProblem {
    /// Starts a sample period or more before the previous block ends.
    Overlap,
    /// Ends before it starts.
    NegativeDuration,
    /// Ends after its audioObject.
    EndsAfterObject,
    /// `rtime` without `duration`, and nothing says where the block ends.
    RtimeWithoutDuration,
    /// Times too large or too fine for exact arithmetic.
    Overflow,
}

/// `line N`, or `common definition` for built-in elements.
fn at_line(line: u32) -> String {
    if line == 0 {
        "common definition".to_string()
    } else {
        format!("line {line}")
    }
}

fn in_object(object: &str) -> String {
    if object.is_empty() {
        String::new()
    } else {
        format!(" (audioObject {object})")
    }
}

/// Why a scene could not be built. Each variant names the element (by ID)
/// and its XML line; the file is named by the caller ([`crate::Error`]).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SceneError {
    /// `--programme` names no audioProgramme of the document.
    #[error("no audioProgramme {requested:?} in the document (it has: {})", if available.is_empty() { "none".to_string() } else { available.join(", ") })]
    UnknownProgramme { requested: String, available: Vec<String> },
    /// The audioObject's track UIDs do not fit the channels of its packs.
    #[error("{}: <audioObject {object}>: {detail}", at_line(*line))]
    PackMismatch { object: String, line: u32, detail: String },
    /// An audioTrackUID that leads to no audioChannelFormat (line 0: known
    /// from the chna chunk only).
    #[error("{}: <audioTrackUID {uid}>: {detail}", if *line == 0 { "chna".to_string() } else { at_line(*line) })]
    TrackUid { uid: String, line: u32, detail: String },
    /// A block's times break a rule of BS.2127 §7.2 beyond what admix repairs.
    #[error("{}: <audioBlockFormat {block}>{}: {detail}", at_line(*line), in_object(object))]
    BlockTiming {
        block: String,
        /// audioObject ID ("" in chna-only mode).
        object: String,
        line: u32,
        problem: TimingProblem,
        detail: String,
    },
    /// References that loop, nest too deep, or lead nowhere.
    #[error("{}: <{element}>: {detail}", at_line(*line))]
    Structure { element: String, line: u32, detail: String },
}
