//! The ADM data model (ITU-R BS.2076-2): every element admix reads, typed,
//! with the place it came from. Field names are the ADM names in Rust case;
//! each doc comment gives the BS.2076 spelling so that grep finds either.
//!
//! References between elements are kept as ID strings (`*_refs`); the parser
//! checks that each resolves (after the BS.2094 common definitions are merged
//! in) and [`crate::scene`] follows them.

use crate::time::Time;
use serde::Serialize;

/// Where an element was read from: 1-based XML line (0 for built-in common
/// definitions and for JSON input).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Origin {
    pub line: u32,
    /// True for elements that come from the built-in BS.2094 common definitions.
    pub common_definition: bool,
}

/// `typeDefinition` / `typeLabel` (BS.2076-2 Table 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TypeDefinition {
    /// `DirectSpeakers`, typeLabel 0001
    DirectSpeakers,
    /// `Matrix`, 0002
    Matrix,
    /// `Objects`, 0003
    Objects,
    /// `HOA`, 0004
    Hoa,
    /// `Binaural`, 0005
    Binaural,
}

impl TypeDefinition {
    pub fn from_label(label: &str) -> Option<Self> {
        let l = label.trim_start_matches('0');
        Some(match l {
            "1" => Self::DirectSpeakers,
            "2" => Self::Matrix,
            "3" => Self::Objects,
            "4" => Self::Hoa,
            "5" => Self::Binaural,
            _ => return None,
        })
    }
    pub fn from_definition(def: &str) -> Option<Self> {
        Some(match def {
            "DirectSpeakers" => Self::DirectSpeakers,
            "Matrix" => Self::Matrix,
            "Objects" => Self::Objects,
            "HOA" => Self::Hoa,
            "Binaural" => Self::Binaural,
            _ => return None,
        })
    }
    pub fn label(self) -> &'static str {
        match self {
            Self::DirectSpeakers => "0001",
            Self::Matrix => "0002",
            Self::Objects => "0003",
            Self::Hoa => "0004",
            Self::Binaural => "0005",
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::DirectSpeakers => "DirectSpeakers",
            Self::Matrix => "Matrix",
            Self::Objects => "Objects",
            Self::Hoa => "HOA",
            Self::Binaural => "Binaural",
        }
    }
}

/// `loudnessMetadata` (BS.2076-2 §5.8), kept for reports.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LoudnessMetadata {
    /// `loudnessMethod`
    pub loudness_method: Option<String>,
    /// `integratedLoudness` (LUFS)
    pub integrated_loudness: Option<f64>,
    /// `loudnessRange` (LU)
    pub loudness_range: Option<f64>,
    /// `maxTruePeak` (dBTP)
    pub max_true_peak: Option<f64>,
    /// `dialogueLoudness` (LUFS)
    pub dialogue_loudness: Option<f64>,
}

/// A screen: `audioProgrammeReferenceScreen`, or the reproduction screen.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum Screen {
    Polar {
        /// `aspectRatio`
        aspect_ratio: f64,
        /// `screenCentrePosition` azimuth, elevation, distance
        centre_azimuth: f64,
        centre_elevation: f64,
        centre_distance: f64,
        /// `screenWidth` azimuth (degrees)
        width_azimuth: f64,
    },
    Cartesian {
        aspect_ratio: f64,
        /// `screenCentrePosition` X, Y, Z
        centre_x: f64,
        centre_y: f64,
        centre_z: f64,
        /// `screenWidth` X
        width_x: f64,
    },
}

impl Screen {
    /// BS.2076-2 default screen (and ear's default reproduction screen):
    /// polar, centre 0/0/1, 58° wide, aspect ratio 1.78.
    pub const DEFAULT: Screen = Screen::Polar {
        aspect_ratio: 1.78,
        centre_azimuth: 0.0,
        centre_elevation: 0.0,
        centre_distance: 1.0,
        width_azimuth: 58.0,
    };
}

/// `audioProgramme`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AudioProgramme {
    /// `audioProgrammeID`
    pub id: String,
    /// `audioProgrammeName`
    pub name: String,
    /// `audioProgrammeLanguage`
    pub language: Option<String>,
    /// `start`
    pub start: Option<Time>,
    /// `end`
    pub end: Option<Time>,
    /// `audioContentIDRef`
    pub content_refs: Vec<String>,
    /// `audioProgrammeReferenceScreen`
    pub reference_screen: Option<Screen>,
    pub loudness: Vec<LoudnessMetadata>,
    pub origin: Origin,
}

/// `dialogue` of audioContent / audioObject: 0 non-dialogue, 1 dialogue, 2 mixed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dialogue {
    NonDialogue,
    Dialogue,
    Mixed,
}

/// `audioContent`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AudioContent {
    /// `audioContentID`
    pub id: String,
    /// `audioContentName`
    pub name: String,
    /// `audioContentLanguage`
    pub language: Option<String>,
    /// `audioObjectIDRef`
    pub object_refs: Vec<String>,
    /// `dialogue` element value
    pub dialogue: Option<Dialogue>,
    pub loudness: Vec<LoudnessMetadata>,
    pub origin: Origin,
}

/// `positionOffset` of an audioObject (BS.2076-2 §5.3.5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct PositionOffset {
    /// coordinate="azimuth" (degrees)
    pub azimuth: Option<f64>,
    /// coordinate="elevation"
    pub elevation: Option<f64>,
    /// coordinate="distance"
    pub distance: Option<f64>,
    /// coordinate="X"
    pub x: Option<f64>,
    /// coordinate="Y"
    pub y: Option<f64>,
    /// coordinate="Z"
    pub z: Option<f64>,
}

/// `audioObject`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AudioObject {
    /// `audioObjectID`
    pub id: String,
    /// `audioObjectName`
    pub name: String,
    /// `start`
    pub start: Option<Time>,
    /// `duration`
    pub duration: Option<Time>,
    /// `dialogue` attribute
    pub dialogue: Option<Dialogue>,
    /// `importance` (0..10)
    pub importance: Option<i32>,
    /// `interact`
    pub interact: Option<bool>,
    /// `audioPackFormatIDRef`
    pub pack_refs: Vec<String>,
    /// `audioObjectIDRef` (nested objects)
    pub object_refs: Vec<String>,
    /// `audioComplementaryObjectIDRef`
    pub complementary_refs: Vec<String>,
    /// `audioTrackUIDRef`
    pub track_uid_refs: Vec<String>,
    /// `gain`, converted to linear (gainUnit="dB" is converted at parse time)
    pub gain: f64,
    /// `mute`
    pub mute: bool,
    /// `headLocked`
    pub head_locked: Option<bool>,
    /// `positionOffset`
    pub position_offset: Option<PositionOffset>,
    pub origin: Origin,
}

/// `audioPackFormat`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AudioPackFormat {
    /// `audioPackFormatID`
    pub id: String,
    /// `audioPackFormatName`
    pub name: String,
    /// `typeDefinition` / `typeLabel`
    pub type_definition: TypeDefinition,
    /// `audioChannelFormatIDRef`
    pub channel_refs: Vec<String>,
    /// `audioPackFormatIDRef` (nested packs)
    pub pack_refs: Vec<String>,
    /// `absoluteDistance`
    pub absolute_distance: Option<f64>,
    /// `importance`
    pub importance: Option<i32>,
    /// HOA: `normalization`
    pub normalization: Option<String>,
    /// HOA: `nfcRefDist`
    pub nfc_ref_dist: Option<f64>,
    /// HOA: `screenRef`
    pub screen_ref: Option<bool>,
    /// Matrix: `encodePackFormatIDRef`, `decodePackFormatIDRef`,
    /// `inputPackFormatIDRef`, `outputPackFormatIDRef`
    pub matrix_refs: Vec<String>,
    pub origin: Origin,
}

/// `frequency` of an audioChannelFormat.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Frequency {
    /// typeDefinition="lowPass" (Hz)
    pub low_pass: Option<f64>,
    /// typeDefinition="highPass" (Hz)
    pub high_pass: Option<f64>,
}

impl Frequency {
    /// BS.2127 §7.3.x / ear `renderer_common.is_lfe`: a channel is LFE when it
    /// has a low-pass at or below 200 Hz and no high-pass.
    pub fn is_lfe(&self) -> bool {
        matches!(self.low_pass, Some(f) if f <= 200.0) && self.high_pass.is_none()
    }
}

/// `audioChannelFormat`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AudioChannelFormat {
    /// `audioChannelFormatID`
    pub id: String,
    /// `audioChannelFormatName`
    pub name: String,
    pub type_definition: TypeDefinition,
    pub frequency: Frequency,
    /// `audioBlockFormat`s, in document order (empty when they are
    /// `deferred`)
    pub blocks: Vec<BlockFormat>,
    /// Where the blocks are in the source, when they were left there (Objects
    /// channels of a file read with [`crate::adm::stream::read_document`]:
    /// dense automation is read block by block during the render).
    pub deferred: Option<crate::adm::stream::DeferredBlocks>,
    pub origin: Origin,
}

/// `audioStreamFormat`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AudioStreamFormat {
    /// `audioStreamFormatID`
    pub id: String,
    pub name: String,
    /// `formatLabel`/`formatDefinition` (0001 = PCM)
    pub format_label: Option<String>,
    /// `audioChannelFormatIDRef`
    pub channel_ref: Option<String>,
    /// `audioPackFormatIDRef` (Dolby files give both pack and channel: accepted)
    pub pack_ref: Option<String>,
    /// `audioTrackFormatIDRef`
    pub track_format_refs: Vec<String>,
    pub origin: Origin,
}

/// `audioTrackFormat`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AudioTrackFormat {
    /// `audioTrackFormatID`
    pub id: String,
    pub name: String,
    pub format_label: Option<String>,
    /// `audioStreamFormatIDRef`
    pub stream_ref: Option<String>,
    pub origin: Origin,
}

/// `audioTrackUID`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AudioTrackUid {
    /// `UID`
    pub id: String,
    /// `sampleRate`
    pub sample_rate: Option<u32>,
    /// `bitDepth`
    pub bit_depth: Option<u32>,
    /// `audioTrackFormatIDRef`
    pub track_format_ref: Option<String>,
    /// `audioChannelFormatIDRef` (BS.2076-2: a UID may point straight at a channel)
    pub channel_ref: Option<String>,
    /// `audioPackFormatIDRef`
    pub pack_ref: Option<String>,
    pub origin: Origin,
}

/// The silent track UID (BS.2076-2 §5.9): references to it carry no audio.
pub const SILENT_TRACK_UID: &str = "ATU_00000000";

/// `screenEdgeLock` on a position coordinate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ScreenEdgeLock {
    /// from azimuth / X: `left` or `right`
    pub horizontal: Option<HorizontalEdge>,
    /// from elevation / Z: `top` or `bottom`
    pub vertical: Option<VerticalEdge>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HorizontalEdge {
    Left,
    Right,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerticalEdge {
    Top,
    Bottom,
}

/// Position of an Objects block.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum ObjectPosition {
    /// degrees, ADM convention (azimuth anticlockwise, positive = left)
    Polar {
        azimuth: f64,
        elevation: f64,
        distance: f64,
    },
    /// the room cube: X right, Y front, Z up, each −1..1
    Cartesian { x: f64, y: f64, z: f64 },
}

/// `channelLock`
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ChannelLock {
    /// `maxDistance`
    pub max_distance: Option<f64>,
}

/// `objectDivergence`
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ObjectDivergence {
    pub value: f64,
    /// `azimuthRange` (degrees)
    pub azimuth_range: Option<f64>,
    /// `positionRange`
    pub position_range: Option<f64>,
}

/// `jumpPosition`
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct JumpPosition {
    pub flag: bool,
    /// `interpolationLength`
    pub interpolation_length: Option<Time>,
}

/// A `zone` of `zoneExclusion`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum Zone {
    Cartesian {
        min_x: f64,
        max_x: f64,
        min_y: f64,
        max_y: f64,
        min_z: f64,
        max_z: f64,
    },
    Polar {
        min_elevation: f64,
        max_elevation: f64,
        min_azimuth: f64,
        max_azimuth: f64,
    },
}

/// `headphoneVirtualise` (BS.2076-2)
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct HeadphoneVirtualise {
    /// `bypass`: true = no HRTF, stereo fold
    pub bypass: bool,
    /// `DRR`: direct-to-reverberant ratio in dB
    pub drr: Option<f64>,
}

/// audioBlockFormat with typeDefinition Objects.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ObjectBlock {
    pub position: ObjectPosition,
    /// `screenEdgeLock` on the position coordinates
    pub screen_edge_lock: ScreenEdgeLock,
    /// `cartesian` flag
    pub cartesian: bool,
    /// `width` (degrees, or cube units when cartesian)
    pub width: f64,
    /// `height`
    pub height: f64,
    /// `depth`
    pub depth: f64,
    /// `gain`, linear
    pub gain: f64,
    /// `diffuse` 0..1
    pub diffuse: f64,
    /// `channelLock` (present with value 1)
    pub channel_lock: Option<ChannelLock>,
    /// `objectDivergence`
    pub object_divergence: Option<ObjectDivergence>,
    /// `jumpPosition`
    pub jump_position: JumpPosition,
    /// `screenRef`
    pub screen_ref: bool,
    /// `importance`
    pub importance: i32,
    /// `zoneExclusion`
    pub zone_exclusion: Vec<Zone>,
    /// `headLocked`
    pub head_locked: bool,
    /// `headphoneVirtualise`
    pub headphone_virtualise: Option<HeadphoneVirtualise>,
}

impl Default for ObjectBlock {
    /// ADM defaults (BS.2076-2 Table 16), at the front on the sphere.
    fn default() -> Self {
        ObjectBlock {
            position: ObjectPosition::Polar {
                azimuth: 0.0,
                elevation: 0.0,
                distance: 1.0,
            },
            screen_edge_lock: ScreenEdgeLock::default(),
            cartesian: false,
            width: 0.0,
            height: 0.0,
            depth: 0.0,
            gain: 1.0,
            diffuse: 0.0,
            channel_lock: None,
            object_divergence: None,
            jump_position: JumpPosition::default(),
            screen_ref: false,
            importance: 10,
            zone_exclusion: Vec::new(),
            head_locked: false,
            headphone_virtualise: None,
        }
    }
}

/// A DirectSpeakers coordinate with optional bounds
/// (`<position coordinate=".." bound="min|max">`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct BoundCoordinate {
    pub value: f64,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl BoundCoordinate {
    pub fn exact(value: f64) -> Self {
        BoundCoordinate {
            value,
            min: None,
            max: None,
        }
    }
}

/// Position of a DirectSpeakers block.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum SpeakerPosition {
    Polar {
        azimuth: BoundCoordinate,
        elevation: BoundCoordinate,
        distance: BoundCoordinate,
    },
    Cartesian {
        x: BoundCoordinate,
        y: BoundCoordinate,
        z: BoundCoordinate,
    },
}

/// audioBlockFormat with typeDefinition DirectSpeakers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DirectSpeakersBlock {
    /// `speakerLabel`s in document order (earlier ones have priority)
    pub speaker_labels: Vec<String>,
    pub position: SpeakerPosition,
    pub screen_edge_lock: ScreenEdgeLock,
    /// `gain` (BS.2076-2), linear
    pub gain: f64,
    pub head_locked: bool,
    pub headphone_virtualise: Option<HeadphoneVirtualise>,
}

/// audioBlockFormat with typeDefinition HOA.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct HoaBlock {
    pub equation: Option<String>,
    pub order: Option<i32>,
    pub degree: Option<i32>,
    pub normalization: Option<String>,
    pub nfc_ref_dist: Option<f64>,
    pub screen_ref: Option<bool>,
}

/// One `coefficient` of a Matrix block.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct MatrixCoefficient {
    /// `inputChannelFormatIDRef`
    pub input_channel_ref: String,
    pub gain: Option<f64>,
    pub phase: Option<f64>,
    pub delay: Option<f64>,
}

/// audioBlockFormat with typeDefinition Matrix.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct MatrixBlock {
    /// `outputChannelFormatIDRef`
    pub output_channel_ref: Option<String>,
    pub coefficients: Vec<MatrixCoefficient>,
}

/// The type-specific part of an audioBlockFormat.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum BlockKind {
    Objects(ObjectBlock),
    DirectSpeakers(DirectSpeakersBlock),
    Hoa(HoaBlock),
    Matrix(MatrixBlock),
    Binaural,
}

/// `audioBlockFormat`
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BlockFormat {
    /// `audioBlockFormatID`
    pub id: String,
    /// `rtime` (relative to the audioObject start)
    pub rtime: Option<Time>,
    /// `duration`
    pub duration: Option<Time>,
    pub kind: BlockKind,
    pub origin: Origin,
}
