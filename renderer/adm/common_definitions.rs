//! The ITU-R BS.2094 common definitions, built in: the audioPackFormats,
//! audioChannelFormats, audioStreamFormats and audioTrackFormats with IDs
//! below `xxxx = 1000` that ADM files reference without defining.
//!
//! - Takes: an ID (`AP_0001000c`, `AC_00010004`, `AS_00040005`,
//!   `AT_00010001_01`; hex digits in either case).
//! - Produces: the element, typed as [`super::elements`] and marked
//!   `Origin { line: 0, common_definition: true }`, on demand — nothing is
//!   built until a file references it (see [`super::Document`]'s merge).
//! - Refuses: IDs that are not common definitions (`None`).
//!
//! Tables written by the project from the standard's tables (BS.2094-1,
//! plus the BS.2094-2 additions), checked against three published
//! machine-readable copies: EBU libadm `common_definitions.xml`, EBU ear
//! `2094_common_definitions.xml` and Dolby pmd_tool `common_adm_def_v15.xml`.
//! Where they disagree:
//! - `AP_00010016` (7.1.2, 2+7+0) = M±030, M+000, LFE, M±090, M±135, U±090,
//!   as in libadm and pmd v15; ear's copy (and pmd v9) put a top-centre
//!   T+000 (`AC_0001000c`) in place of M+090, which is a transcription error.
//! - `AP_00010010` is 10.1 (4+5+1), as in BS.2127-0 Table 15, ear and
//!   libadm; pmd v15 reuses the ID for 22.0 and puts 4+5+1 at `AP_00010006`,
//!   which is kept too (same channels).
//! - Left out: pmd v15's `AP_0001001d` (named 5.0.2 but listing the LFE
//!   channel) and `AP_0001001a` (listed without channels), and pmd v15's HOA
//!   packs, whose channel lists are shifted by one pack.
//! - Speaker labels are the BS.2051 URNs (`urn:itu:bs:2051:0:speaker:M+030`,
//!   LFE channels `LFE`, `LFEL`, `LFER`) as in BS.2094-1; consumers strip the
//!   URN prefix, as ear does. The room-centric (cartesian) channels
//!   `AC_000108xx` of pmd v15 carry its labels (`M_FL`, `M_FSL67`, …).

use super::elements::{
    AudioChannelFormat, AudioPackFormat, AudioStreamFormat, AudioTrackFormat, BlockFormat, BlockKind, BoundCoordinate,
    DirectSpeakersBlock, Frequency, HoaBlock, HorizontalEdge, Origin, ScreenEdgeLock, SpeakerPosition, TypeDefinition,
};
use HorizontalEdge::{Left, Right};
use Pos::{Cart, Polar};

const COMMON: Origin = Origin {
    line: 0,
    common_definition: true,
};

/// BS.2094-1: LFE channels carry a 120 Hz low-pass `frequency`.
const LFE_LOW_PASS_HZ: f64 = 120.0;

/// Nominal position of a loudspeaker channel.
#[derive(Clone, Copy)]
enum Pos {
    /// azimuth, elevation (degrees); distance 1
    Polar(f64, f64),
    /// X, Y, Z in the room cube
    Cart(f64, f64, f64),
}

/// A DirectSpeakers channel `AC_0001nnnn`.
struct DsChannel {
    n: u16,
    name: &'static str,
    label: &'static str,
    pos: Pos,
    edge: Option<HorizontalEdge>,
    lfe: bool,
}

const fn ds(
    n: u16,
    name: &'static str,
    label: &'static str,
    pos: Pos,
    edge: Option<HorizontalEdge>,
    lfe: bool,
) -> DsChannel {
    DsChannel {
        n,
        name,
        label,
        pos,
        edge,
        lfe,
    }
}

/// A DirectSpeakers pack `AP_0001nnnn`: its channels `AC_0001xxxx`, in order.
struct DsPack {
    n: u16,
    name: &'static str,
    channels: &'static [u16],
}

const fn dpack(n: u16, name: &'static str, channels: &'static [u16]) -> DsPack {
    DsPack { n, name, channels }
}

/// BS.2094-1 loudspeaker channels (polar, `AC_000100xx`; `0029`–`002c` from BS.2094-2)
/// and BS.2094-2 room-centric channels (`AC_000108xx`).
#[rustfmt::skip]
static DS_CHANNELS: &[DsChannel] = &[
    ds(0x0001, "FrontLeft", "urn:itu:bs:2051:0:speaker:M+030", Polar(30.0, 0.0), None, false),
    ds(0x0002, "FrontRight", "urn:itu:bs:2051:0:speaker:M-030", Polar(-30.0, 0.0), None, false),
    ds(0x0003, "FrontCentre", "urn:itu:bs:2051:0:speaker:M+000", Polar(0.0, 0.0), None, false),
    ds(0x0004, "LowFrequencyEffects", "urn:itu:bs:2051:0:speaker:LFE", Polar(0.0, -30.0), None, true),
    ds(0x0005, "SurroundLeft", "urn:itu:bs:2051:0:speaker:M+110", Polar(110.0, 0.0), None, false),
    ds(0x0006, "SurroundRight", "urn:itu:bs:2051:0:speaker:M-110", Polar(-110.0, 0.0), None, false),
    ds(0x0007, "FrontLeftOfCentre", "urn:itu:bs:2051:0:speaker:M+022", Polar(22.5, 0.0), None, false),
    ds(0x0008, "FrontRightOfCentre", "urn:itu:bs:2051:0:speaker:M-022", Polar(-22.5, 0.0), None, false),
    ds(0x0009, "BackCentre", "urn:itu:bs:2051:0:speaker:M+180", Polar(180.0, 0.0), None, false),
    ds(0x000a, "SideLeft", "urn:itu:bs:2051:0:speaker:M+090", Polar(90.0, 0.0), None, false),
    ds(0x000b, "SideRight", "urn:itu:bs:2051:0:speaker:M-090", Polar(-90.0, 0.0), None, false),
    ds(0x000c, "TopCentre", "urn:itu:bs:2051:0:speaker:T+000", Polar(0.0, 90.0), None, false),
    ds(0x000d, "TopFrontLeft", "urn:itu:bs:2051:0:speaker:U+030", Polar(30.0, 30.0), None, false),
    ds(0x000e, "TopFrontCentre", "urn:itu:bs:2051:0:speaker:U+000", Polar(0.0, 30.0), None, false),
    ds(0x000f, "TopFrontRight", "urn:itu:bs:2051:0:speaker:U-030", Polar(-30.0, 30.0), None, false),
    ds(0x0010, "TopSurroundLeft", "urn:itu:bs:2051:0:speaker:U+110", Polar(110.0, 30.0), None, false),
    ds(0x0011, "TopBackCentre", "urn:itu:bs:2051:0:speaker:U+180", Polar(180.0, 30.0), None, false),
    ds(0x0012, "TopSurroundRight", "urn:itu:bs:2051:0:speaker:U-110", Polar(-110.0, 30.0), None, false),
    ds(0x0013, "TopSideLeft", "urn:itu:bs:2051:0:speaker:U+090", Polar(90.0, 30.0), None, false),
    ds(0x0014, "TopSideRight", "urn:itu:bs:2051:0:speaker:U-090", Polar(-90.0, 30.0), None, false),
    ds(0x0015, "BottomFrontCentre", "urn:itu:bs:2051:0:speaker:B+000", Polar(0.0, -30.0), None, false),
    ds(0x0016, "BottomFrontLeftMid", "urn:itu:bs:2051:0:speaker:B+045", Polar(45.0, -30.0), None, false),
    ds(0x0017, "BottomFrontRightMid", "urn:itu:bs:2051:0:speaker:B-045", Polar(-45.0, -30.0), None, false),
    ds(0x0018, "FrontLeftWide", "urn:itu:bs:2051:0:speaker:M+060", Polar(60.0, 0.0), None, false),
    ds(0x0019, "FrontRightWide", "urn:itu:bs:2051:0:speaker:M-060", Polar(-60.0, 0.0), None, false),
    ds(0x001a, "BackLeftMidDiffuse", "urn:itu:bs:2051:0:speaker:M+135_Diff", Polar(135.0, 0.0), None, false),
    ds(0x001b, "BackRightMidDiffuse", "urn:itu:bs:2051:0:speaker:M-135_Diff", Polar(-135.0, 0.0), None, false),
    ds(0x001c, "BackLeftMid", "urn:itu:bs:2051:0:speaker:M+135", Polar(135.0, 0.0), None, false),
    ds(0x001d, "BackRightMid", "urn:itu:bs:2051:0:speaker:M-135", Polar(-135.0, 0.0), None, false),
    ds(0x001e, "TopBackLeftMid", "urn:itu:bs:2051:0:speaker:U+135", Polar(135.0, 30.0), None, false),
    ds(0x001f, "TopBackRightMid", "urn:itu:bs:2051:0:speaker:U-135", Polar(-135.0, 30.0), None, false),
    ds(0x0020, "LowFrequencyEffectsL", "urn:itu:bs:2051:0:speaker:LFEL", Polar(45.0, -30.0), None, true),
    ds(0x0021, "LowFrequencyEffectsR", "urn:itu:bs:2051:0:speaker:LFER", Polar(-45.0, -30.0), None, true),
    ds(0x0022, "TopFrontLeftMid", "urn:itu:bs:2051:0:speaker:U+045", Polar(45.0, 30.0), None, false),
    ds(0x0023, "TopFrontRightMid", "urn:itu:bs:2051:0:speaker:U-045", Polar(-45.0, 30.0), None, false),
    ds(0x0024, "FrontLeftScreen", "urn:itu:bs:2051:0:speaker:M+SC", Polar(25.0, 0.0), Some(Left), false),
    ds(0x0025, "FrontRightScreen", "urn:itu:bs:2051:0:speaker:M-SC", Polar(-25.0, 0.0), Some(Right), false),
    ds(0x0026, "FrontLeftMid", "urn:itu:bs:2051:0:speaker:M+045", Polar(45.0, 0.0), None, false),
    ds(0x0027, "FrontRightMid", "urn:itu:bs:2051:0:speaker:M-045", Polar(-45.0, 0.0), None, false),
    ds(0x0028, "UpperTopBackCentre", "urn:itu:bs:2051:0:speaker:UH+180", Polar(180.0, 45.0), None, false),
    ds(0x0029, "BackLeft", "M+150", Polar(150.0, 0.0), None, false),
    ds(0x002a, "BackRight", "M-150", Polar(-150.0, 0.0), None, false),
    ds(0x002b, "BottomFrontLeft", "urn:itu:bs:2051:0:speaker:B+030", Polar(30.0, -30.0), None, false),
    ds(0x002c, "BottomFrontRight", "urn:itu:bs:2051:0:speaker:B-030", Polar(-30.0, -30.0), None, false),
    ds(0x0801, "FrontLeft_Cart", "M_FL", Cart(-1.0, 1.0, 0.0), None, false),
    ds(0x0802, "FrontRight_Cart", "M_FR", Cart(1.0, 1.0, 0.0), None, false),
    ds(0x0803, "FrontCentre_Cart", "M_FC", Cart(0.0, 1.0, 0.0), None, false),
    ds(0x0804, "LowFrequencyEffects_Cart", "LFE", Cart(0.0, 1.0, -1.0), None, true),
    ds(0x0805, "BackLeft_Cart", "M_BL", Cart(-1.0, -1.0, 0.0), None, false),
    ds(0x0806, "BackRight_Cart", "M_BR", Cart(1.0, -1.0, 0.0), None, false),
    ds(0x0807, "FrontLeftCentreMid_Cart", "M_FL50", Cart(-0.5, 1.0, 0.0), None, false),
    ds(0x0808, "FrontRightCentreMid_Cart", "M_FR50", Cart(0.5, 1.0, 0.0), None, false),
    ds(0x0809, "BackCentre_Cart", "M_BC", Cart(0.0, -1.0, 0.0), None, false),
    ds(0x080a, "SideLeft_Cart", "M_SL", Cart(-1.0, 0.0, 0.0), None, false),
    ds(0x080b, "SideRight_Cart", "M_SR", Cart(1.0, 0.0, 0.0), None, false),
    ds(0x080c, "TopCentre_Cart", "U_TC", Cart(0.0, 0.0, 1.0), None, false),
    ds(0x080d, "TopFrontLeft_Cart", "U_FL", Cart(-1.0, 1.0, 1.0), None, false),
    ds(0x080e, "TopFrontCentre_Cart", "U_FC", Cart(0.0, 1.0, 1.0), None, false),
    ds(0x080f, "TopFrontRight_Cart", "U_FR", Cart(1.0, 1.0, 1.0), None, false),
    ds(0x0810, "TopBackLeft_Cart", "U_BL", Cart(-1.0, -1.0, 1.0), None, false),
    ds(0x0811, "TopBackCentre_Cart", "U_BC", Cart(0.0, -1.0, 1.0), None, false),
    ds(0x0812, "TopBackRight_Cart", "U_BR", Cart(1.0, -1.0, 1.0), None, false),
    ds(0x0813, "TopSideLeft_Cart", "U_SL", Cart(-1.0, 0.0, 1.0), None, false),
    ds(0x0814, "TopSideRight_Cart", "U_SR", Cart(1.0, 0.0, 1.0), None, false),
    ds(0x0815, "BottomFrontCentre_Cart", "B_FC", Cart(0.0, 1.0, -1.0), None, false),
    ds(0x0816, "BottomFrontLeft_Cart", "B_FL", Cart(-1.0, 1.0, -1.0), None, false),
    ds(0x0817, "BottomFrontRight_Cart", "B_FR", Cart(1.0, 1.0, -1.0), None, false),
    ds(0x0818, "FrontSideLeftFar_Cart", "M_FSL67", Cart(-1.0, 0.667, 0.0), None, false),
    ds(0x0819, "FrontSideRightFar_Cart", "M_FSR67", Cart(1.0, 0.667, 0.0), None, false),
    ds(0x0820, "LowFrequencyEffects1_Cart", "LFE1", Cart(-1.0, 1.0, -1.0), None, true),
    ds(0x0821, "LowFrequencyEffects2_Cart", "LFE2", Cart(1.0, 1.0, -1.0), None, true),
    ds(0x0824, "FrontLeftScreen_Cart", "M_FLSc", Cart(-0.5, 1.0, 0.0), Some(Left), false),
    ds(0x0825, "FrontRightScreen_Cart", "M_FRSc", Cart(0.5, 1.0, 0.0), Some(Right), false),
    ds(0x0828, "TopBackCentreFar_Cart", "U_BC67", Cart(0.0, -0.667, 1.0), None, false),
    ds(0x0829, "BackLeftCentreMid_Cart", "M_BL50", Cart(-0.5, -1.0, 0.0), None, false),
    ds(0x082a, "BackRightCentreMid_Cart", "M_BR50", Cart(0.5, -1.0, 0.0), None, false),
];

/// BS.2094-1 packs and BS.2094-2 additions (polar packs `AP_000100xx`,
/// room-centric packs `AP_000108xx`).
#[rustfmt::skip]
static DS_PACKS: &[DsPack] = &[
    dpack(0x0001, "urn:itu:bs:775:3:pack:mono_(0+1+0)", &[0x3]),
    dpack(0x0002, "urn:itu:bs:2051:0:pack:stereo_(0+2+0)", &[0x1, 0x2]),
    dpack(0x000a, "urn:itu:bs:775:3:pack:3.0_(0+3+0)", &[0x1, 0x2, 0x3]),
    dpack(0x000b, "urn:itu:bs:775:3:pack:4.0_(0+4+0)", &[0x1, 0x2, 0x3, 0x9]),
    dpack(0x000c, "urn:itu:bs:2051:0:pack:5.0_(0+5+0)", &[0x1, 0x2, 0x3, 0x5, 0x6]),
    dpack(0x0003, "urn:itu:bs:2051:0:pack:5.1_(0+5+0)", &[0x1, 0x2, 0x3, 0x4, 0x5, 0x6]),
    dpack(0x000d, "6.1_(0+6+0)", &[0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0x9]),
    dpack(0x000e, "7.1front_(0+7+0)", &[0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0x26, 0x27]),
    dpack(0x000f, "7.1back_(0+7+0)", &[0x1, 0x2, 0x3, 0x4, 0xa, 0xb, 0x1c, 0x1d]),
    dpack(0x0004, "urn:itu:bs:2051:0:pack:7.1top_(2+5+0)", &[0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0xd, 0xf]),
    dpack(0x0012, "7.1side_5.1+sc_(0+7+0)", &[0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0x24, 0x25]),
    dpack(0x0013, "7.1topside_5.1.2_(2+5+0)", &[0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0x13, 0x14]),
    dpack(0x0014, "9.1screen_5.1.2+sc_(2+7+0)", &[0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0x13, 0x14, 0x24, 0x25]),
    dpack(0x0016, "9.1_7.1.2_(2+7+0)", &[0x1, 0x2, 0x3, 0x4, 0xa, 0xb, 0x1c, 0x1d, 0x13, 0x14]),
    dpack(0x0005, "urn:itu:bs:2051:0:pack:9.1_5.1.4_(4+5+0)", &[0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0xd, 0xf, 0x10, 0x12]),
    dpack(0x0010, "urn:itu:bs:2051:0:pack:10.1_(4+5+1)", &[0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0xd, 0xf, 0x10, 0x12, 0x15]),
    dpack(0x0007, "urn:itu:bs:2051:0:pack:10.2_(3+7+0)", &[0x3, 0x1, 0x2, 0x22, 0x23, 0xa, 0xb, 0x1c, 0x1d, 0x28, 0x20, 0x21]),
    dpack(0x0015, "11.1_5.1.4+sc_(4+7+0)", &[0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0xd, 0xf, 0x10, 0x12, 0x24, 0x25]),
    dpack(0x0017, "11.1_7.1.4_(4+7+0)", &[0x1, 0x2, 0x3, 0x4, 0xa, 0xb, 0x1c, 0x1d, 0x22, 0x23, 0x1e, 0x1f]),
    dpack(0x0008, "urn:itu:bs:2051:0:pack:13.1_(4+9+0)", &[0x1, 0x2, 0x3, 0x4, 0xa, 0xb, 0x1c, 0x1d, 0x22, 0x23, 0x1e, 0x1f, 0x24, 0x25]),
    dpack(0x0009, "urn:itu:bs:2051:0:pack:22.2_(9+10+3)", &[0x18, 0x19, 0x3, 0x20, 0x1c, 0x1d, 0x1, 0x2, 0x9, 0x21, 0xa, 0xb, 0x22, 0x23, 0xe, 0xc, 0x1e, 0x1f, 0x13, 0x14, 0x11, 0x15, 0x16, 0x17]),
    dpack(0x0011, "Auro-3D_(9+9+0)", &[0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0xa, 0xb, 0x1a, 0x1b, 0xd, 0xf, 0xe, 0x10, 0x12, 0x13, 0x14, 0x1e, 0x1f]),
    dpack(0x001b, "7.0back_(0+7+0)", &[0x1, 0x2, 0x3, 0xa, 0xb, 0x1c, 0x1d]),
    dpack(0x001c, "7.0top_(2+5+0)", &[0x1, 0x2, 0x3, 0x5, 0x6, 0xd, 0xf]),
    dpack(0x0020, "Auro-3D_8.0_(4+4+0)", &[0x1, 0x2, 0x5, 0x6, 0xd, 0xf, 0x10, 0x12]),
    dpack(0x001e, "9.0_5.0.4_(4+5+0)", &[0x1, 0x2, 0x3, 0x5, 0x6, 0xd, 0xf, 0x10, 0x12]),
    dpack(0x0006, "urn:itu:bs:2051:0:pack:10.1_(4+5+1)", &[0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0xd, 0xf, 0x10, 0x12, 0x15]),
    dpack(0x0021, "Auro-3D_10.1_(5+5+0)", &[0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0xd, 0xf, 0x10, 0x12, 0xc]),
    dpack(0x001f, "11.0_7.0.4_(4+7+0)", &[0x1, 0x2, 0x3, 0xa, 0xb, 0x1c, 0x1d, 0x22, 0x23, 0x1e, 0x1f]),
    dpack(0x0022, "Auro-3D_11.1_(6+5+0)", &[0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0xd, 0xf, 0x10, 0x12, 0xc, 0xe]),
    dpack(0x0023, "Auro-3D_11.1_(4+7+0)", &[0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0x29, 0x2a, 0xd, 0xf, 0x10, 0x12]),
    dpack(0x0025, "360RA_13.0+(5+5+3)", &[0x3, 0x1, 0x2, 0x5, 0x6, 0xe, 0xd, 0xf, 0x10, 0x12, 0x15, 0x2b, 0x2c]),
    dpack(0x0018, "13.1_9.1.4_(4+9+0)", &[0x1, 0x2, 0x3, 0x4, 0xa, 0xb, 0x1c, 0x1d, 0x18, 0x19, 0x22, 0x23, 0x1e, 0x1f]),
    dpack(0x0024, "Auro-3D_13.1_(6+7+0)", &[0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0x29, 0x2a, 0xd, 0xf, 0x10, 0x12, 0xc, 0xe]),
    dpack(0x0019, "15.1_9.1.6_(6+9+0)", &[0x1, 0x2, 0x3, 0x4, 0xa, 0xb, 0x1c, 0x1d, 0x18, 0x19, 0x22, 0x23, 0x13, 0x14, 0x1e, 0x1f]),
    dpack(0x0801, "mono_(0+1+0)", &[0x803]),
    dpack(0x0802, "stereo_(0+2+0)", &[0x801, 0x802]),
    dpack(0x080a, "3.0_(0+3+0)", &[0x801, 0x802, 0x803]),
    dpack(0x080b, "4.0_(0+4+0)", &[0x801, 0x802, 0x803, 0x809]),
    dpack(0x080c, "5.0_(0+5+0)", &[0x801, 0x802, 0x803, 0x805, 0x806]),
    dpack(0x0803, "5.1_(0+5+0)", &[0x801, 0x802, 0x803, 0x804, 0x805, 0x806]),
    dpack(0x080d, "6.1_(0+6+0)", &[0x801, 0x802, 0x803, 0x804, 0x805, 0x806, 0x809]),
    dpack(0x080e, "7.1front_(0+7+0)", &[0x807, 0x808, 0x803, 0x804, 0x805, 0x806, 0x801, 0x802]),
    dpack(0x081b, "7.0back_(0+7+0)", &[0x801, 0x802, 0x803, 0x80a, 0x80b, 0x805, 0x806]),
    dpack(0x080f, "7.1back_(0+7+0)", &[0x801, 0x802, 0x803, 0x804, 0x80a, 0x80b, 0x805, 0x806]),
    dpack(0x081c, "7.0top_(2+5+0)", &[0x801, 0x802, 0x803, 0x805, 0x806, 0x80d, 0x80f]),
    dpack(0x0804, "7.1top_(2+5+0)", &[0x801, 0x802, 0x803, 0x804, 0x805, 0x806, 0x80d, 0x80f]),
    dpack(0x0812, "7.1screen_5.1+sc_(0+7+0)", &[0x801, 0x802, 0x803, 0x804, 0x805, 0x806, 0x824, 0x825]),
    dpack(0x081d, "7.0topside_5.0.2_(2+5+0)", &[0x801, 0x802, 0x803, 0x805, 0x806, 0x813, 0x814]),
    dpack(0x0813, "7.0topside_5.1.2_(2+5+0)", &[0x801, 0x802, 0x803, 0x804, 0x805, 0x806, 0x813, 0x814]),
    dpack(0x0820, "Auro-3D_8.0_(4+4+0)", &[0x801, 0x802, 0x805, 0x806, 0x80d, 0x80f, 0x810, 0x812]),
    dpack(0x0814, "9.1screen_5.1.2+sc_(2+7+0)", &[0x801, 0x802, 0x803, 0x804, 0x805, 0x806, 0x813, 0x814, 0x824, 0x825]),
    dpack(0x0816, "9.1topside_7.1.2_(2+7+0)", &[0x801, 0x802, 0x803, 0x804, 0x80a, 0x80b, 0x805, 0x806, 0x813, 0x814]),
    dpack(0x081e, "9.0_5.0.4+(4+5+0)", &[0x801, 0x802, 0x803, 0x805, 0x806, 0x80d, 0x80f, 0x810, 0x812]),
    dpack(0x0805, "9.1_5.1.4_(4+5+0)", &[0x801, 0x802, 0x803, 0x804, 0x805, 0x806, 0x80d, 0x80f, 0x810, 0x812]),
    dpack(0x0806, "10.1_(4+5+1)", &[0x801, 0x802, 0x803, 0x804, 0x805, 0x806, 0x80d, 0x80f, 0x810, 0x812, 0x815]),
    dpack(0x0821, "Auro-3D_10.1_(5+5+0)", &[0x801, 0x802, 0x803, 0x804, 0x805, 0x806, 0x80d, 0x80f, 0x810, 0x812, 0x80c]),
    dpack(0x0807, "10.2_(3+7+0)", &[0x803, 0x801, 0x802, 0x80d, 0x80f, 0x80a, 0x80b, 0x805, 0x806, 0x828, 0x820, 0x821]),
    dpack(0x0815, "11.1screen_5.1.4+sc_(4+7+0)", &[0x801, 0x802, 0x803, 0x804, 0x805, 0x806, 0x80d, 0x80f, 0x810, 0x812, 0x824, 0x825]),
    dpack(0x081f, "11.0_7.0.4_(4+7+0)", &[0x801, 0x802, 0x803, 0x80a, 0x80b, 0x805, 0x806, 0x80d, 0x80f, 0x810, 0x812]),
    dpack(0x0817, "11.1_7.1.4_(4+7+0)", &[0x801, 0x802, 0x803, 0x804, 0x80a, 0x80b, 0x805, 0x806, 0x80d, 0x80f, 0x810, 0x812]),
    dpack(0x0822, "Auro-3D_11.1_(6+5+0)", &[0x801, 0x802, 0x803, 0x804, 0x805, 0x806, 0x80d, 0x80f, 0x810, 0x812, 0x80c, 0x80e]),
    dpack(0x0823, "Auro-3D_11.1_(4+7+0)", &[0x801, 0x802, 0x803, 0x804, 0x805, 0x806, 0x829, 0x82a, 0x80d, 0x80f, 0x810, 0x812]),
    dpack(0x0825, "360RA_13.0_(5+5+3)", &[0x803, 0x801, 0x802, 0x805, 0x806, 0x80e, 0x80d, 0x80f, 0x810, 0x812, 0x815, 0x816, 0x817]),
    dpack(0x0808, "13.1screen_7.1.4+sc_(4+9+0)", &[0x801, 0x802, 0x803, 0x804, 0x80a, 0x80b, 0x805, 0x806, 0x80d, 0x80f, 0x810, 0x812, 0x824, 0x825]),
    dpack(0x0818, "13.1_9.1.4_(4+9+0)", &[0x801, 0x802, 0x803, 0x804, 0x80a, 0x80b, 0x805, 0x806, 0x818, 0x819, 0x80d, 0x80f, 0x810, 0x812]),
    dpack(0x0824, "Auro-3D_13.1_(6+7+0)", &[0x801, 0x802, 0x803, 0x804, 0x805, 0x806, 0x829, 0x82a, 0x80d, 0x80f, 0x810, 0x812, 0x80c, 0x80e]),
    dpack(0x0819, "15.1_9.1.6_(6+9+0)", &[0x801, 0x802, 0x803, 0x804, 0x80a, 0x80b, 0x805, 0x806, 0x818, 0x819, 0x80d, 0x80f, 0x813, 0x814, 0x810, 0x812]),
    dpack(0x0810, "22.0_(9+10+3)", &[0x801, 0x802, 0x803, 0x805, 0x806, 0x807, 0x808, 0x809, 0x80a, 0x80b, 0x80d, 0x80f, 0x80e, 0x80c, 0x810, 0x812, 0x813, 0x814, 0x811, 0x815, 0x816, 0x817]),
    dpack(0x0809, "22.2_(9+10+3)", &[0x801, 0x802, 0x803, 0x820, 0x805, 0x806, 0x807, 0x808, 0x809, 0x821, 0x80a, 0x80b, 0x80d, 0x80f, 0x80e, 0x80c, 0x810, 0x812, 0x813, 0x814, 0x811, 0x815, 0x816, 0x817]),
    dpack(0x081a, "22.2-3front_(9+10+3)", &[0x818, 0x819, 0x803, 0x820, 0x805, 0x806, 0x801, 0x802, 0x809, 0x821, 0x80a, 0x80b, 0x80d, 0x80f, 0x80e, 0x80c, 0x810, 0x812, 0x813, 0x814, 0x811, 0x815, 0x816, 0x817]),
];

/// Which HOA channels a pack lists.
enum HoaChannels {
    /// `AC_0004first` ..= `AC_0004last`
    Range(u16, u16),
    List(&'static [u16]),
}

/// An HOA pack `AP_0004nnnn` (BS.2094-1): its own channels, then the
/// lower-order pack it nests.
struct HoaPack {
    n: u16,
    name: &'static str,
    channels: HoaChannels,
    nested: Option<u16>,
}

const fn hoa(n: u16, name: &'static str, channels: HoaChannels, nested: Option<u16>) -> HoaPack {
    HoaPack {
        n,
        name,
        channels,
        nested,
    }
}

use HoaChannels::{List, Range};

#[rustfmt::skip]
static HOA_PACKS: &[HoaPack] = &[
    hoa(0x0001, "3D_order1_SN3D_ACN", Range(0x0001, 0x0004), None),
    hoa(0x0002, "3D_order2_SN3D_ACN", Range(0x0005, 0x0009), Some(0x0001)),
    hoa(0x0003, "3D_order3_SN3D_ACN", Range(0x000a, 0x0010), Some(0x0002)),
    hoa(0x0004, "3D_order4_SN3D_ACN", Range(0x0011, 0x0019), Some(0x0003)),
    hoa(0x0005, "3D_order5_SN3D_ACN", Range(0x001a, 0x0024), Some(0x0004)),
    hoa(0x0006, "3D_order6_SN3D_ACN", Range(0x0025, 0x0031), Some(0x0005)),
    hoa(0x0011, "3D_order1_N3D_ACN", Range(0x0101, 0x0104), None),
    hoa(0x0012, "3D_order2_N3D_ACN", Range(0x0105, 0x0109), Some(0x0011)),
    hoa(0x0013, "3D_order3_N3D_ACN", Range(0x010a, 0x0110), Some(0x0012)),
    hoa(0x0014, "3D_order4_N3D_ACN", Range(0x0111, 0x0119), Some(0x0013)),
    hoa(0x0015, "3D_order5_N3D_ACN", Range(0x011a, 0x0124), Some(0x0014)),
    hoa(0x0016, "3D_order6_N3D_ACN", Range(0x0125, 0x0131), Some(0x0015)),
    hoa(0x0021, "3D_order1_FuMa", Range(0x0201, 0x0204), None),
    hoa(0x0022, "3D_order2_FuMa", Range(0x0205, 0x0209), Some(0x0021)),
    hoa(0x0023, "3D_order3_FuMa", Range(0x020a, 0x0210), Some(0x0022)),
    hoa(0x0111, "2D_Order1_N3D_ACN", List(&[0x0101, 0x0102, 0x0104]), None),
    hoa(0x0112, "2D_Order2_N3D_ACN", List(&[0x0105, 0x0109]), Some(0x0111)),
    hoa(0x0210, "2H1P_N3D_ACN", List(&[0x0105, 0x0109]), Some(0x0011)),
    hoa(0x0211, "3H1P_N3D_ACN", List(&[0x010a, 0x0110]), Some(0x0210)),
    hoa(0x0310, "2H1V_N3D_ACN", List(&[0x0105, 0x0106, 0x0108, 0x0109]), Some(0x0011)),
];

/// Highest ACN of the SN3D and N3D channel sets (order 10, BS.2094-1).
const HOA_MAX_ACN: u16 = 120;

/// FuMa channel letters in ACN order (BS.2094-1, orders 0–3).
const FUMA_LETTERS: [&str; 16] = [
    "W", "Y", "Z", "X", "V", "T", "R", "S", "U", "Q", "O", "M", "K", "L", "N", "P",
];

/// Type labels (BS.2076 §5.3.1) used by the common definitions.
const DIRECT_SPEAKERS: u16 = 0x0001;
const HOA: u16 = 0x0004;
const BINAURAL: u16 = 0x0005;

/// What an `AC_` common definition is.
enum ChannelDef {
    Ds(&'static DsChannel),
    Hoa {
        name: String,
        order: i32,
        degree: i32,
        normalization: &'static str,
    },
    Binaural(&'static str),
}

fn channel_def(ty: u16, n: u16) -> Option<ChannelDef> {
    match ty {
        DIRECT_SPEAKERS => DS_CHANNELS.iter().find(|c| c.n == n).map(ChannelDef::Ds),
        HOA => {
            let (set, acn) = (n >> 8, (n & 0xff).checked_sub(1)?);
            let (normalization, name) = match set {
                0 if acn <= HOA_MAX_ACN => ("SN3D", format!("SN3D_ACN_{acn}")),
                1 if acn <= HOA_MAX_ACN => ("N3D", format!("N3D_ACN_{acn}")),
                2 => ("FuMa", format!("FuMa_{}", FUMA_LETTERS.get(usize::from(acn))?)),
                _ => return None,
            };
            // ACN = order² + order + degree
            let order = (0..=i32::from(acn)).find(|o| (o + 1) * (o + 1) > i32::from(acn))?;
            Some(ChannelDef::Hoa {
                name,
                order,
                degree: i32::from(acn) - order * order - order,
                normalization,
            })
        }
        BINAURAL => match n {
            1 => Some(ChannelDef::Binaural("LeftEar")),
            2 => Some(ChannelDef::Binaural("RightEar")),
            _ => None,
        },
        _ => None,
    }
}

impl ChannelDef {
    fn name(&self) -> &str {
        match self {
            ChannelDef::Ds(c) => c.name,
            ChannelDef::Hoa { name, .. } => name,
            ChannelDef::Binaural(name) => name,
        }
    }
}

/// `PREFIX` + 8 hex digits: (type label, number), e.g. `AC_00010003` → (1, 3).
fn split_id(id: &str, prefix: &str) -> Option<(u16, u16)> {
    let hex = id.strip_prefix(prefix)?;
    if hex.len() != 8 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let ty = u16::from_str_radix(hex.get(..4)?, 16).ok()?;
    let n = u16::from_str_radix(hex.get(4..)?, 16).ok()?;
    Some((ty, n))
}

fn ds_block(c: &DsChannel) -> BlockKind {
    let position = match c.pos {
        Polar(azimuth, elevation) => SpeakerPosition::Polar {
            azimuth: BoundCoordinate::exact(azimuth),
            elevation: BoundCoordinate::exact(elevation),
            distance: BoundCoordinate::exact(1.0),
        },
        Cart(x, y, z) => SpeakerPosition::Cartesian {
            x: BoundCoordinate::exact(x),
            y: BoundCoordinate::exact(y),
            z: BoundCoordinate::exact(z),
        },
    };
    BlockKind::DirectSpeakers(DirectSpeakersBlock {
        speaker_labels: vec![c.label.to_owned()],
        position,
        screen_edge_lock: ScreenEdgeLock {
            horizontal: c.edge,
            vertical: None,
        },
        gain: 1.0,
        head_locked: false,
        headphone_virtualise: None,
    })
}

/// The common-definition audioChannelFormat `id` (`AC_0001xxxx`,
/// `AC_0004xxxx`, `AC_0005000x`).
pub fn channel(id: &str) -> Option<AudioChannelFormat> {
    let (ty, n) = split_id(id, "AC_")?;
    let def = channel_def(ty, n)?;
    let (type_definition, kind, frequency) = match &def {
        ChannelDef::Ds(c) => (
            TypeDefinition::DirectSpeakers,
            ds_block(c),
            Frequency {
                low_pass: c.lfe.then_some(LFE_LOW_PASS_HZ),
                high_pass: None,
            },
        ),
        ChannelDef::Hoa {
            order,
            degree,
            normalization,
            ..
        } => (
            TypeDefinition::Hoa,
            BlockKind::Hoa(HoaBlock {
                order: Some(*order),
                degree: Some(*degree),
                normalization: Some((*normalization).to_owned()),
                ..HoaBlock::default()
            }),
            Frequency::default(),
        ),
        ChannelDef::Binaural(_) => (TypeDefinition::Binaural, BlockKind::Binaural, Frequency::default()),
    };
    Some(AudioChannelFormat {
        id: id.to_owned(),
        name: def.name().to_owned(),
        type_definition,
        frequency,
        blocks: vec![BlockFormat {
            id: format!("AB_{ty:04x}{n:04x}_00000001"),
            rtime: None,
            duration: None,
            kind,
            origin: COMMON,
        }],
        deferred: None,
        origin: COMMON,
    })
}

fn pack_skeleton(id: &str, name: &str, type_definition: TypeDefinition) -> AudioPackFormat {
    AudioPackFormat {
        id: id.to_owned(),
        name: name.to_owned(),
        type_definition,
        channel_refs: Vec::new(),
        pack_refs: Vec::new(),
        absolute_distance: None,
        importance: None,
        normalization: None,
        nfc_ref_dist: None,
        screen_ref: None,
        matrix_refs: Vec::new(),
        origin: COMMON,
    }
}

/// The common-definition audioPackFormat `id` (`AP_0001xxxx`,
/// `AP_0004xxxx`, `AP_00050001`).
pub fn pack(id: &str) -> Option<AudioPackFormat> {
    let (ty, n) = split_id(id, "AP_")?;
    match ty {
        DIRECT_SPEAKERS => {
            let p = DS_PACKS.iter().find(|p| p.n == n)?;
            let mut out = pack_skeleton(id, p.name, TypeDefinition::DirectSpeakers);
            out.channel_refs = p.channels.iter().map(|c| format!("AC_0001{c:04x}")).collect();
            Some(out)
        }
        HOA => {
            let p = HOA_PACKS.iter().find(|p| p.n == n)?;
            let mut out = pack_skeleton(id, p.name, TypeDefinition::Hoa);
            out.channel_refs = match p.channels {
                Range(a, b) => (a..=b).map(|c| format!("AC_0004{c:04x}")).collect(),
                List(l) => l.iter().map(|c| format!("AC_0004{c:04x}")).collect(),
            };
            out.pack_refs = p.nested.iter().map(|n| format!("AP_0004{n:04x}")).collect();
            Some(out)
        }
        BINAURAL if n == 1 => {
            let mut out = pack_skeleton(id, "Binaural", TypeDefinition::Binaural);
            out.channel_refs = vec!["AC_00050001".to_owned(), "AC_00050002".to_owned()];
            Some(out)
        }
        _ => None,
    }
}

/// The common-definition audioStreamFormat `id` = `AS_` + the channel's
/// number: PCM, carrying channel `AC_…` in track `AT_…_01`.
pub fn stream(id: &str) -> Option<AudioStreamFormat> {
    let (ty, n) = split_id(id, "AS_")?;
    let def = channel_def(ty, n)?;
    Some(AudioStreamFormat {
        id: id.to_owned(),
        name: format!("PCM_{}", def.name()),
        format_label: Some("0001".to_owned()),
        channel_ref: Some(format!("AC_{ty:04x}{n:04x}")),
        pack_ref: None,
        track_format_refs: vec![format!("AT_{ty:04x}{n:04x}_01")],
        origin: COMMON,
    })
}

/// The common-definition audioTrackFormat `id` = `AT_xxxxxxxx_01`, the only
/// track of stream `AS_xxxxxxxx`.
pub fn track_format(id: &str) -> Option<AudioTrackFormat> {
    let body = id.strip_suffix("_01")?;
    let (ty, n) = split_id(body, "AT_")?;
    let def = channel_def(ty, n)?;
    Some(AudioTrackFormat {
        id: id.to_owned(),
        name: format!("PCM_{}", def.name()),
        format_label: Some("0001".to_owned()),
        stream_ref: Some(format!("AS_{ty:04x}{n:04x}")),
        origin: COMMON,
    })
}

/// Whether `id` names a common definition (pack, channel, stream or track format).
pub fn contains(id: &str) -> bool {
    let two = |prefix: &str| split_id(id, prefix).and_then(|(ty, n)| channel_def(ty, n)).is_some();
    match id.get(..3) {
        Some("AP_") => pack(id).is_some(),
        Some("AC_") => two("AC_"),
        Some("AS_") => two("AS_"),
        Some("AT_") => id
            .strip_suffix("_01")
            .and_then(|b| split_id(b, "AT_"))
            .and_then(|(ty, n)| channel_def(ty, n))
            .is_some(),
        _ => false,
    }
}

/// IDs of every built-in pack, DirectSpeakers first, in table order.
pub fn pack_ids() -> Vec<String> {
    let ds = DS_PACKS.iter().map(|p| format!("AP_0001{:04x}", p.n));
    let hoa = HOA_PACKS.iter().map(|p| format!("AP_0004{:04x}", p.n));
    ds.chain(hoa).chain(std::iter::once("AP_00050001".to_owned())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pack_id: &str) -> Vec<String> {
        let p = pack(pack_id).unwrap();
        p.channel_refs
            .iter()
            .map(|c| match &channel(c).unwrap().blocks[0].kind {
                BlockKind::DirectSpeakers(b) => b.speaker_labels[0]
                    .trim_start_matches("urn:itu:bs:2051:0:speaker:")
                    .to_owned(),
                _ => panic!("{c} is not DirectSpeakers"),
            })
            .collect()
    }

    #[test]
    fn bs2051_packs_have_the_nominal_channels() {
        let l = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(labels("AP_00010001"), l("M+000"));
        assert_eq!(labels("AP_00010002"), l("M+030 M-030"));
        assert_eq!(labels("AP_00010003"), l("M+030 M-030 M+000 LFE M+110 M-110"));
        assert_eq!(labels("AP_0001000c"), l("M+030 M-030 M+000 M+110 M-110"));
        assert_eq!(
            labels("AP_00010004"),
            l("M+030 M-030 M+000 LFE M+110 M-110 U+030 U-030")
        );
        assert_eq!(
            labels("AP_00010005"),
            l("M+030 M-030 M+000 LFE M+110 M-110 U+030 U-030 U+110 U-110")
        );
        assert_eq!(
            labels("AP_00010010"),
            l("M+030 M-030 M+000 LFE M+110 M-110 U+030 U-030 U+110 U-110 B+000")
        );
        assert_eq!(
            labels("AP_00010007"),
            l("M+000 M+030 M-030 U+045 U-045 M+090 M-090 M+135 M-135 UH+180 LFEL LFER")
        );
        assert_eq!(
            labels("AP_0001000f"),
            l("M+030 M-030 M+000 LFE M+090 M-090 M+135 M-135")
        );
        assert_eq!(
            labels("AP_00010017"),
            l("M+030 M-030 M+000 LFE M+090 M-090 M+135 M-135 U+045 U-045 U+135 U-135")
        );
        assert_eq!(labels("AP_00010008").len(), 14);
        assert_eq!(labels("AP_00010009").len(), 24);
    }

    #[test]
    fn seven_one_two_has_side_and_top_side_channels() {
        // Not ear's copy, which lists the top centre T+000.
        assert_eq!(
            labels("AP_00010016"),
            "M+030 M-030 M+000 LFE M+090 M-090 M+135 M-135 U+090 U-090"
                .split(' ')
                .collect::<Vec<_>>()
        );
        let top = channel("AC_00010013").unwrap();
        match &top.blocks[0].kind {
            BlockKind::DirectSpeakers(b) => assert_eq!(
                b.position,
                SpeakerPosition::Polar {
                    azimuth: BoundCoordinate::exact(90.0),
                    elevation: BoundCoordinate::exact(30.0),
                    distance: BoundCoordinate::exact(1.0),
                }
            ),
            _ => panic!(),
        }
    }

    #[test]
    fn newer_home_theatre_packs() {
        assert_eq!(
            labels("AP_00010018"),
            "M+030 M-030 M+000 LFE M+090 M-090 M+135 M-135 M+060 M-060 U+045 U-045 U+135 U-135"
                .split(' ')
                .collect::<Vec<_>>()
        );
        assert_eq!(labels("AP_00010019").len(), 16);
        assert_eq!(labels("AP_00010819")[8], "M_FSL67");
        let c = channel("AC_00010818").unwrap();
        match &c.blocks[0].kind {
            BlockKind::DirectSpeakers(b) => assert_eq!(
                b.position,
                SpeakerPosition::Cartesian {
                    x: BoundCoordinate::exact(-1.0),
                    y: BoundCoordinate::exact(0.667),
                    z: BoundCoordinate::exact(0.0),
                }
            ),
            _ => panic!(),
        }
        assert_eq!(labels("AP_00010817").len(), 12);
        assert_eq!(labels("AP_00010816").len(), 10);
    }

    #[test]
    fn lfe_channels_have_a_low_pass() {
        for id in [
            "AC_00010004",
            "AC_00010020",
            "AC_00010021",
            "AC_00010804",
            "AC_00010820",
        ] {
            assert!(channel(id).unwrap().frequency.is_lfe(), "{id}");
        }
        assert!(!channel("AC_00010001").unwrap().frequency.is_lfe());
    }

    #[test]
    fn screen_channels_lock_to_the_screen_edge() {
        let c = channel("AC_00010024").unwrap();
        match &c.blocks[0].kind {
            BlockKind::DirectSpeakers(b) => assert_eq!(b.screen_edge_lock.horizontal, Some(Left)),
            _ => panic!(),
        }
    }

    #[test]
    fn every_pack_resolves_to_channels_streams_and_tracks() {
        for p in pack_ids() {
            let pk = pack(&p).unwrap_or_else(|| panic!("{p}"));
            assert!(contains(&p));
            assert!(!pk.channel_refs.is_empty(), "{p}");
            for c in pk.channel_refs.iter().chain(&pk.pack_refs) {
                assert!(contains(c), "{p} → {c}");
            }
            for c in &pk.channel_refs {
                let s = stream(&format!("AS_{}", &c[3..])).unwrap();
                assert_eq!(s.channel_ref.as_deref(), Some(c.as_str()));
                let t = track_format(&s.track_format_refs[0]).unwrap();
                assert_eq!(t.stream_ref.as_deref(), Some(s.id.as_str()));
                assert_eq!(channel(c).unwrap().type_definition, pk.type_definition);
            }
        }
    }

    #[test]
    fn hoa_channels_follow_acn() {
        let c = |id: &str| match channel(id).unwrap().blocks.remove(0).kind {
            BlockKind::Hoa(h) => (h.order.unwrap(), h.degree.unwrap(), h.normalization.unwrap()),
            _ => panic!(),
        };
        assert_eq!(c("AC_00040001"), (0, 0, "SN3D".into()));
        assert_eq!(c("AC_00040002"), (1, -1, "SN3D".into()));
        assert_eq!(c("AC_00040004"), (1, 1, "SN3D".into()));
        assert_eq!(c("AC_00040079"), (10, 10, "SN3D".into()));
        assert_eq!(c("AC_00040105"), (2, -2, "N3D".into()));
        assert_eq!(c("AC_00040210"), (3, 3, "FuMa".into()));
        assert_eq!(channel("AC_00040207").unwrap().name, "FuMa_R");
        assert!(channel("AC_0004007a").is_none());
        assert!(channel("AC_00040211").is_none());
        assert!(channel("AC_00040000").is_none());
        let p3 = pack("AP_00040003").unwrap();
        assert_eq!(p3.channel_refs.len(), 7);
        assert_eq!(p3.pack_refs, vec!["AP_00040002".to_owned()]);
        assert_eq!(pack("AP_00040001").unwrap().channel_refs.len(), 4);
    }

    #[test]
    fn ids_outside_the_tables_are_not_common_definitions() {
        for id in [
            "AP_00011001",
            "AC_00031001",
            "AP_0001001a",
            "AP_0001001d",
            "AC_0001002d",
            "AT_00010001_02",
            "AS_0001",
            "AC_0001000g",
            "",
            "AP_",
            "ATU_00000001",
            "AC_000100011",
        ] {
            assert!(!contains(id), "{id}");
        }
        // Hex digits in either case; the element keeps the spelling asked for.
        assert_eq!(channel("AC_0001000A").unwrap().id, "AC_0001000A");
        assert!(contains("AT_0001000a_01"));
        assert!(contains("AS_00050002"));
    }
}
