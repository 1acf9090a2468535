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
mod stream;
mod timing;

pub use build::{SceneOptions, TrackTable, build};
pub use stream::{BlockFeed, ObjectBlocks};

use crate::adm::elements::{DirectSpeakersBlock, HoaBlock, Screen};
use crate::io::BinauralRenderMode;
use crate::notice::{self, Notice};
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
        /// All in memory, or streamed from the file a window at a time.
        blocks: ObjectBlocks,
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

impl Scene {
    /// The Objects items whose blocks are streamed from the file.
    fn streamed(&mut self) -> impl Iterator<Item = &mut ObjectBlocks> {
        self.items.iter_mut().filter_map(|it| match &mut it.kind {
            ItemKind::Object { blocks } if blocks.is_streamed() => Some(blocks),
            _ => None,
        })
    }

    /// The block readers of a render, started from each streamed item's
    /// first block (every render reads them from the start); the items'
    /// windows are emptied.
    pub fn block_feed(&mut self) -> BlockFeed {
        BlockFeed::new(&mut self.items, self.sample_rate, &self.notices)
    }

    /// Before the chunk of samples `[c0, c1)`: fills what the chunk needs of
    /// every streamed item's blocks from `feed` (reading now what was not
    /// read ahead). Their notices (timing repairs, …) stay in `feed` until
    /// [`Self::end_block_feed`].
    pub fn feed_blocks(&mut self, feed: &BlockFeed, c0: i64, c1: i64) -> Result<(), SceneError> {
        feed.feed(&mut self.items, c0, c1)
    }

    /// After a render (finished or not): the notices of the blocks it read
    /// join the scene's (not repeating those already there).
    pub fn end_block_feed(&mut self, feed: &mut BlockFeed) {
        self.notices.extend(feed.take_notices());
    }

    /// After the chunk ending at sample `c1`: drops the blocks every engine
    /// has entered.
    pub fn release_blocks(&mut self, c1: i64) {
        let rate = self.sample_rate;
        for b in self.streamed() {
            b.release(c1, rate);
        }
    }

    /// Reads every streamed item's blocks to the end without holding them,
    /// checking them as a render would (`inspect`); their notices join the
    /// scene's. Returns, per item, (blocks, start of the first, end of the
    /// last — `Some(None)` when it lasts to the end of the programme).
    pub fn scan_blocks(&mut self) -> Result<Vec<BlockSummary>, SceneError> {
        let mut n = notice::Notices::after(&self.notices);
        let mut out = Vec::with_capacity(self.items.len());
        for it in &self.items {
            out.push(match &it.kind {
                ItemKind::Object { blocks } => blocks.scan(&mut n)?,
                ItemKind::DirectSpeakers { blocks, .. } => BlockSummary::of(blocks),
                ItemKind::Hoa { blocks, .. } => BlockSummary::of(blocks),
                ItemKind::Matrix | ItemKind::Binaural => BlockSummary {
                    count: 0,
                    start: None,
                    end: None,
                },
            });
        }
        self.notices.extend(n.into_vec());
        Ok(out)
    }

    /// Blocks the last render left unread, over all streamed items (they
    /// end before its start; see [`BlockFeed::start_at`]).
    pub fn skipped_blocks(&self) -> usize {
        self.items
            .iter()
            .map(|it| match &it.kind {
                ItemKind::Object { blocks } => blocks.skipped(),
                _ => 0,
            })
            .sum()
    }

    /// Most blocks any streamed item held at once (bounded whatever the
    /// programme's length; for tests and reports).
    pub fn peak_held_blocks(&self) -> usize {
        self.items
            .iter()
            .filter_map(|it| match &it.kind {
                ItemKind::Object { blocks } if blocks.is_streamed() => Some(blocks.peak_held()),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }
}

/// An item's blocks at a glance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockSummary {
    pub count: usize,
    pub start: Option<Time>,
    /// `Some(None)`: the last block lasts to the end of the programme.
    pub end: Option<Option<Time>>,
}

impl BlockSummary {
    fn of<B>(blocks: &[TimedBlock<B>]) -> BlockSummary {
        BlockSummary {
            count: blocks.len(),
            start: blocks.first().map(|b| b.start),
            end: blocks.last().map(|b| b.end),
        }
    }
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
    /// An audioBlockFormat read during the render (see
    /// [`crate::adm::stream`]) that does not parse.
    #[error(transparent)]
    Adm(crate::adm::AdmError),
}
