//! The `dbmd` chunk: Dolby audio metadata (EBU Tech 3285 s6, "Dolby
//! metadata"; the Dolby Atmos segments 9 and 10 come from Dolby's later
//! revision of that format, v1.0.0.7, as read by Dolby's own
//! `dbmd-atmos-parser`).
//!
//! - Takes: the chunk body as read by [`super::Bw64Reader`] (already capped at
//!   [`super::bw64::MAX_DBMD_SIZE`]).
//! - Produces: a [`Dbmd`]: the version, every segment (id, size, checksum
//!   verdict), the Dolby Atmos segment (creation tool and version, warp mode)
//!   and the Atmos supplemental segment (the nine trim configurations and, per
//!   audio track, the headphone (binaural) render mode).
//! - Refuses nothing: whatever cannot be read is a `dbmd-malformed` (or
//!   `dbmd-checksum`) [`Notice`](crate::notice::Notice) and is left out — the audio and the ADM
//!   render without this chunk. Never panics; every length comes from the
//!   file and is checked against the bytes present before use; nothing is
//!   allocated beyond the size of the chunk itself.
//!
//! Layout (all little-endian): `version` u32, then segments `id` u8, `size`
//! u16 (payload bytes only), payload, checksum u8; id 0 ends the list and
//! has neither size nor checksum (bytes after it are padding). The checksum
//! is `(size + Σ payload + checksum) mod 256 == 0`.
//!
//! Entry `i` of the supplemental segment belongs to the `i`-th audio track of
//! the file (chna `trackIndex` i + 1), beds included — not to the `i`-th
//! audioObject: Pro Tools writes 14 entries for 14 tracks of which 10 are one
//! bed object.

use crate::notice::Notices;

/// Segment id of the Dolby Atmos segment.
pub const SEGMENT_ATMOS: u8 = 9;
/// Segment id of the Dolby Atmos supplemental segment.
pub const SEGMENT_ATMOS_SUPPLEMENTAL: u8 = 10;
/// Payload size of the Dolby Atmos segment (Dolby's parser refuses others).
pub const ATMOS_SEGMENT_SIZE: usize = 248;
/// `dasms_sync`, the first four bytes of the supplemental segment.
pub const SUPPLEMENTAL_SYNC: u32 = 0xF872_6FBD;
/// Bytes before the per-track arrays of the supplemental segment: sync (4),
/// object count (2), reserved (1), nine trim configurations of 15 bytes.
const SUPPLEMENTAL_FIXED: usize = 4 + 2 + 1 + 9 * TRIM_CONFIG_SIZE;
const TRIM_CONFIG_SIZE: usize = 15;
/// The nine trim configurations, in segment order.
pub const TRIM_CONFIG_NAMES: [&str; 9] = [
    "2.0", "5.1", "7.1", "2.1.2", "5.1.2", "7.1.2", "2.1.4", "5.1.4", "7.1.4",
];

/// Headphone (binaural) render mode of one track, the low 3 bits of its
/// byte in the supplemental segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinauralRenderMode {
    /// 0: bypass — no HRTF (Atmos writes this for the LFE).
    Off,
    /// 1
    Near,
    /// 2
    Far,
    /// 3
    Mid,
    /// 4 ("not indicated"; Dolby's renderer falls back to mid), and the
    /// unassigned 5–7.
    NotIndicated(u8),
}

impl BinauralRenderMode {
    fn from_bits(bits: u8) -> Self {
        match bits & 0x07 {
            0 => Self::Off,
            1 => Self::Near,
            2 => Self::Far,
            3 => Self::Mid,
            other => Self::NotIndicated(other),
        }
    }

    /// `off` | `near` | `far` | `mid` | `not-indicated`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Near => "near",
            Self::Far => "far",
            Self::Mid => "mid",
            Self::NotIndicated(_) => "not-indicated",
        }
    }
}

/// `warp_mode` of the Atmos segment: how the Atmos renderer folds the
/// overheads for 5.1/7.1 deliverables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WarpMode {
    /// 0 ("Direct Render" in MediaInfo)
    Normal,
    /// 1 ("Direct Render with room balance")
    Warping,
    /// 2
    DownmixProLogicIIx,
    /// 3
    DownmixLoRo,
    /// 4 (default warping) and the unassigned 5–7.
    NotIndicated(u8),
}

impl WarpMode {
    fn from_bits(bits: u8) -> Self {
        match bits & 0x07 {
            0 => Self::Normal,
            1 => Self::Warping,
            2 => Self::DownmixProLogicIIx,
            3 => Self::DownmixLoRo,
            other => Self::NotIndicated(other),
        }
    }

    /// `normal` | `warping` | `downmix-pliix` | `downmix-loro` | `not-indicated`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Warping => "warping",
            Self::DownmixProLogicIIx => "downmix-pliix",
            Self::DownmixLoRo => "downmix-loro",
            Self::NotIndicated(_) => "not-indicated",
        }
    }
}

/// One metadata segment as found in the chunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbmdSegment {
    /// `metadata_segment_id` (1 Dolby E, 3 Dolby Digital, 7 Dolby Digital
    /// Plus, 8 Audio Info, 9 Dolby Atmos, 10 Dolby Atmos supplemental).
    pub id: u8,
    /// Byte offset of the segment id within the chunk body.
    pub offset: usize,
    /// `metadata_segment_size`: payload bytes.
    pub size: u16,
    /// Whether the stored checksum matches the payload.
    pub checksum_ok: bool,
}

impl DbmdSegment {
    /// A readable name for the segment id.
    pub fn name(&self) -> &'static str {
        match self.id {
            1 => "Dolby E",
            3 => "Dolby Digital",
            7 => "Dolby Digital Plus",
            8 => "Audio Info",
            SEGMENT_ATMOS => "Dolby Atmos",
            SEGMENT_ATMOS_SUPPLEMENTAL => "Dolby Atmos supplemental",
            _ => "unknown",
        }
    }
}

/// The Dolby Atmos segment (id 9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AtmosInfo {
    /// `content_creation_tool`, e.g. `Pro Tools` (NUL padding removed).
    pub creation_tool: String,
    /// `content_creation_tool_version` major, minor, micro.
    pub creation_tool_version: [u8; 3],
    pub warp_mode: WarpMode,
    /// Bits 7–6 of the byte holding the warp mode (`bed_distribution`).
    pub bed_distribution: u8,
}

/// Manual trims of one trim configuration (read as MediaInfoLib reads them:
/// three float32 in dB, then two balance bytes; no sample file has them).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ManualTrim {
    pub center_db: f32,
    pub surround_db: f32,
    pub height_db: f32,
    /// Front/back balance, overhead: −1..1 (bit 7 = negative, bits 6–0 / 127).
    pub front_back_overhead: f32,
    /// Front/back balance, listener: −1..1.
    pub front_back_listener: f32,
}

/// One of the nine trim configurations.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrimConfig {
    /// `2.0`, `5.1`, … `7.1.4`.
    pub config: &'static str,
    /// Bit 0 of the first byte: automatic trims.
    pub auto_trim: bool,
    /// The manual trim values, when `auto_trim` is false.
    pub manual: Option<ManualTrim>,
}

/// Per-track data of the supplemental segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DbmdTrack {
    /// The headphone byte as stored.
    pub headphone_raw: u8,
    /// Its low 3 bits.
    ///
    /// Bit 7 is *not* an "absent" flag: Dolby's parser masks the byte with 7
    /// and reports "headphone metadata not present" only for mode 4, and
    /// real files set bits 7–6 freely — Pro Tools writes 0x84 ("not
    /// indicated") for most tracks and 0x80 (bit 7 set, mode 0 = off) for the
    /// LFE, which Atmos never binauralises. Reading bit 7 as "absent" would
    /// lose that LFE = off.
    pub mode: BinauralRenderMode,
    /// Bits 7–6 of the headphone byte (`head_track_mode` in MediaInfoLib;
    /// 2 wherever the authoring tool left headphone metadata at its defaults).
    pub head_track_mode: u8,
    /// Bits 1–0 of the trim-bypass byte: 0 trims applied, 1 ignored, 2 not indicated.
    pub trim_bypass: u8,
}

/// The Dolby Atmos supplemental segment (id 10).
#[derive(Clone, Debug, PartialEq)]
pub struct AtmosSupplemental {
    pub trims: Vec<TrimConfig>,
    /// One entry per audio track, in track order (entry i ↔ chna trackIndex i+1).
    pub tracks: Vec<DbmdTrack>,
}

/// A parsed `dbmd` chunk.
#[derive(Clone, Debug, PartialEq)]
pub struct Dbmd {
    /// The version as stored (u32 LE), e.g. `0x01000006` = 1.0.0.6.
    pub version: u32,
    /// Every segment before the end marker, in order.
    pub segments: Vec<DbmdSegment>,
    /// The Dolby Atmos segment, when present and readable.
    pub atmos: Option<AtmosInfo>,
    /// The supplemental segment, when present and readable.
    pub supplemental: Option<AtmosSupplemental>,
}

impl Dbmd {
    /// `major.minor.micro.build`.
    pub fn version_string(&self) -> String {
        let [a, b, c, d] = self.version.to_be_bytes();
        format!("{a}.{b}.{c}.{d}")
    }

    /// The headphone render mode of each track (0-based), where the chunk
    /// gives one.
    pub fn track_modes(&self) -> Vec<BinauralRenderMode> {
        self.supplemental
            .as_ref()
            .map(|s| s.tracks.iter().map(|t| t.mode).collect())
            .unwrap_or_default()
    }

    /// Parses a chunk body. `subject` names the chunk in notices (e.g.
    /// `master.wav: 'dbmd' at byte 1444700`). Returns `None` when nothing
    /// usable is in the chunk (with a notice saying why).
    pub fn parse(body: &[u8], subject: &str, notices: &mut Notices) -> Option<Dbmd> {
        let malformed = |notices: &mut Notices, what: String| {
            notices.add(
                "dbmd-malformed",
                subject,
                format!("{what}; the rest of the chunk is ignored"),
            );
        };
        let Some(&[v0, v1, v2, v3]) = body.get(..4) else {
            malformed(notices, format!("{} bytes long; the version alone needs 4", body.len()));
            return None;
        };
        let version = u32::from_le_bytes([v0, v1, v2, v3]);
        let mut dbmd = Dbmd {
            version,
            segments: Vec::new(),
            atmos: None,
            supplemental: None,
        };
        if version >> 24 > 1 {
            notices.add(
                "dbmd-malformed",
                subject,
                format!(
                    "version {} is newer than admix understands (1.x); the chunk is ignored",
                    dbmd.version_string()
                ),
            );
            return None;
        }
        let mut pos = 4usize;
        loop {
            let Some(&id) = body.get(pos) else {
                malformed(
                    notices,
                    format!("no end marker (segment id 0) before the end of the chunk at byte {pos}"),
                );
                break;
            };
            if id == 0 {
                break; // end marker; anything after it is padding (EBU Tech 3285 s6 §2.5)
            }
            let Some(&[s0, s1]) = body.get(pos + 1..pos + 3) else {
                malformed(
                    notices,
                    format!("segment {id} at byte {pos} is cut short before its size"),
                );
                break;
            };
            let size = u16::from_le_bytes([s0, s1]);
            let payload_at = pos + 3;
            let end = payload_at + usize::from(size);
            let (Some(payload), Some(&checksum)) = (body.get(payload_at..end), body.get(end)) else {
                malformed(
                    notices,
                    format!(
                        "segment {id} at byte {pos} declares {size} bytes, but only {} remain",
                        body.len().saturating_sub(payload_at)
                    ),
                );
                break;
            };
            let checksum_ok = segment_checksum(size, payload) == checksum;
            dbmd.segments.push(DbmdSegment {
                id,
                offset: pos,
                size,
                checksum_ok,
            });
            if matches!(id, SEGMENT_ATMOS | SEGMENT_ATMOS_SUPPLEMENTAL) {
                if !checksum_ok {
                    // Dolby's parser refuses the chunk on a bad checksum of
                    // these two segments; admix drops only the segment.
                    notices.add(
                        "dbmd-checksum",
                        subject,
                        format!(
                            "checksum of segment {id} at byte {pos} does not match its {size} bytes; \
                             the segment is ignored"
                        ),
                    );
                } else if id == SEGMENT_ATMOS {
                    dbmd.atmos = parse_atmos(payload, pos, subject, notices);
                } else {
                    dbmd.supplemental = parse_supplemental(payload, pos, subject, notices);
                }
            }
            pos = end + 1;
        }
        Some(dbmd)
    }
}

/// `(-(size + Σ payload)) mod 256` (Dolby's `calc_checksum`).
fn segment_checksum(size: u16, payload: &[u8]) -> u8 {
    let sum = payload.iter().fold(size as u8, |s, &b| s.wrapping_add(b));
    sum.wrapping_neg()
}

fn nul_trimmed(raw: &[u8]) -> String {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    String::from_utf8_lossy(raw.get(..end).unwrap_or(raw))
        .trim_end()
        .to_string()
}

fn parse_atmos(p: &[u8], pos: usize, subject: &str, notices: &mut Notices) -> Option<AtmosInfo> {
    if p.len() != ATMOS_SEGMENT_SIZE {
        notices.add(
            "dbmd-malformed",
            subject,
            format!(
                "Dolby Atmos segment at byte {pos} is {} bytes, not {ATMOS_SEGMENT_SIZE}; it is ignored",
                p.len()
            ),
        );
        return None;
    }
    let byte = |i: usize| p.get(i).copied().unwrap_or(0);
    let warp = byte(152);
    Some(AtmosInfo {
        creation_tool: nul_trimmed(p.get(32..96).unwrap_or(&[])),
        creation_tool_version: [byte(96), byte(97), byte(98)],
        warp_mode: WarpMode::from_bits(warp),
        bed_distribution: warp >> 6,
    })
}

fn parse_supplemental(p: &[u8], pos: usize, subject: &str, notices: &mut Notices) -> Option<AtmosSupplemental> {
    let ignored = |notices: &mut Notices, what: String| {
        notices.add(
            "dbmd-malformed",
            subject,
            format!("Dolby Atmos supplemental segment at byte {pos}: {what}; it is ignored"),
        );
    };
    let Some(&[a, b, c, d, n0, n1]) = p.get(..6) else {
        ignored(notices, format!("{} bytes, too short for its header", p.len()));
        return None;
    };
    let sync = u32::from_le_bytes([a, b, c, d]);
    if sync != SUPPLEMENTAL_SYNC {
        ignored(
            notices,
            format!("sync word is 0x{sync:08X}, not 0x{SUPPLEMENTAL_SYNC:08X}"),
        );
        return None;
    }
    let n = usize::from(u16::from_le_bytes([n0, n1]));
    let needed = SUPPLEMENTAL_FIXED + 2 * n;
    if p.len() < needed {
        ignored(
            notices,
            format!("{n} tracks need {needed} bytes but the segment has {}", p.len()),
        );
        return None;
    }
    let mut trims = Vec::with_capacity(TRIM_CONFIG_NAMES.len());
    for (k, name) in TRIM_CONFIG_NAMES.iter().enumerate() {
        let at = 7 + k * TRIM_CONFIG_SIZE;
        let t = p.get(at..at + TRIM_CONFIG_SIZE).unwrap_or(&[]);
        let byte = |i: usize| t.get(i).copied().unwrap_or(0);
        let f32_at = |i: usize| f32::from_le_bytes([byte(i), byte(i + 1), byte(i + 2), byte(i + 3)]);
        let balance = |b: u8| {
            let v = f32::from(b & 0x7F) / 127.0;
            if b & 0x80 != 0 { -v } else { v }
        };
        let auto_trim = byte(0) & 0x01 != 0;
        trims.push(TrimConfig {
            config: name,
            auto_trim,
            manual: (!auto_trim).then(|| ManualTrim {
                center_db: f32_at(1),
                surround_db: f32_at(5),
                height_db: f32_at(9),
                front_back_overhead: balance(byte(13)),
                front_back_listener: balance(byte(14)),
            }),
        });
    }
    let bypass = p.get(SUPPLEMENTAL_FIXED..SUPPLEMENTAL_FIXED + n).unwrap_or(&[]);
    let headphone = p.get(SUPPLEMENTAL_FIXED + n..needed).unwrap_or(&[]);
    let tracks = bypass
        .iter()
        .zip(headphone)
        .map(|(&tb, &hp)| DbmdTrack {
            headphone_raw: hp,
            mode: BinauralRenderMode::from_bits(hp),
            head_track_mode: hp >> 6,
            trim_bypass: tb & 0x03,
        })
        .collect();
    Some(AtmosSupplemental { trims, tracks })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    /// A segment: id, size, payload, checksum.
    fn segment(id: u8, payload: &[u8]) -> Vec<u8> {
        let size = payload.len() as u16;
        let mut v = vec![id];
        v.extend_from_slice(&size.to_le_bytes());
        v.extend_from_slice(payload);
        v.push(segment_checksum(size, payload));
        v
    }

    fn atmos_payload(tool: &str, version: [u8; 3], warp: u8) -> Vec<u8> {
        let mut p = vec![0u8; ATMOS_SEGMENT_SIZE];
        p[..29].copy_from_slice(b"Created using Dolby equipment");
        p[32..32 + tool.len()].copy_from_slice(tool.as_bytes());
        p[96..99].copy_from_slice(&version);
        p[152] = warp;
        p
    }

    fn supplemental_payload(modes: &[u8]) -> Vec<u8> {
        let mut p = SUPPLEMENTAL_SYNC.to_le_bytes().to_vec();
        p.extend_from_slice(&(modes.len() as u16).to_le_bytes());
        p.push(0);
        for k in 0..9 {
            let mut t = [0u8; TRIM_CONFIG_SIZE];
            t[0] = u8::from(k != 1); // 5.1 manual
            if k == 1 {
                t[1..5].copy_from_slice(&(-3.0f32).to_le_bytes());
                t[13] = 0x80 | 127;
            }
            p.extend_from_slice(&t);
        }
        p.extend(std::iter::repeat_n(0u8, modes.len()));
        p.extend_from_slice(modes);
        p
    }

    fn chunk(segments: &[Vec<u8>]) -> Vec<u8> {
        let mut v = 0x0100_0006u32.to_le_bytes().to_vec();
        for s in segments {
            v.extend_from_slice(s);
        }
        v.push(0);
        v.push(0); // padding after the end marker
        v
    }

    fn good() -> Vec<u8> {
        chunk(&[
            segment(7, &[0x55; 96]),
            segment(SEGMENT_ATMOS, &atmos_payload("Pro Tools", [22, 9, 0], 0x83)),
            segment(
                SEGMENT_ATMOS_SUPPLEMENTAL,
                &supplemental_payload(&[0x84, 0x80, 0x01, 0x02, 0x03, 0x07]),
            ),
        ])
    }

    #[test]
    fn reads_segments_atmos_and_supplemental() {
        let mut n = Notices::default();
        let d = Dbmd::parse(&good(), "x", &mut n).unwrap();
        assert!(n.is_empty(), "{n:?}");
        assert_eq!(d.version_string(), "1.0.0.6");
        assert_eq!(d.segments.iter().map(|s| s.id).collect::<Vec<_>>(), [7, 9, 10]);
        assert!(d.segments.iter().all(|s| s.checksum_ok));
        let a = d.atmos.as_ref().unwrap();
        assert_eq!(a.creation_tool, "Pro Tools");
        assert_eq!(a.creation_tool_version, [22, 9, 0]);
        assert_eq!(a.warp_mode, WarpMode::DownmixLoRo);
        assert_eq!(a.bed_distribution, 2);
        let s = d.supplemental.as_ref().unwrap();
        use BinauralRenderMode::*;
        assert_eq!(d.track_modes(), [NotIndicated(4), Off, Near, Far, Mid, NotIndicated(7)]);
        assert_eq!(s.tracks[1].head_track_mode, 2);
        assert!(!s.trims[1].auto_trim);
        let m = s.trims[1].manual.unwrap();
        assert_eq!(m.center_db, -3.0);
        assert_eq!(m.front_back_overhead, -1.0);
        assert!(s.trims.iter().enumerate().all(|(k, t)| t.auto_trim == (k != 1)));
    }

    #[test]
    fn every_truncation_and_corruption_is_a_notice_never_a_panic() {
        let good = good();
        for cut in 0..good.len() {
            let mut n = Notices::default();
            let d = Dbmd::parse(&good[..cut], "x", &mut n);
            // Whatever was whole before the cut is kept, and something is said.
            if cut < good.len() - 1 {
                assert!(!n.is_empty(), "cut at {cut}: no notice");
            }
            if cut < 4 {
                assert!(d.is_none());
            }
        }
        for i in 0..good.len() {
            for v in [0x00, 0xFF, 0x80] {
                let mut b = good.clone();
                b[i] = v;
                let mut n = Notices::default();
                let _ = Dbmd::parse(&b, "x", &mut n);
            }
        }
    }

    #[test]
    fn bad_checksum_size_and_sync_drop_only_that_segment() {
        let mut b = good();
        // flip a byte inside the Atmos payload: checksum fails
        let atmos_at = 4 + 3 + 96 + 1;
        b[atmos_at + 3 + 40] ^= 1;
        let mut n = Notices::default();
        let d = Dbmd::parse(&b, "x", &mut n).unwrap();
        assert!(d.atmos.is_none());
        assert!(d.supplemental.is_some());
        assert_eq!(n.iter().next().unwrap().kind, "dbmd-checksum");

        let short = chunk(&[segment(SEGMENT_ATMOS, &[0u8; 100])]);
        let mut n = Notices::default();
        assert!(Dbmd::parse(&short, "x", &mut n).unwrap().atmos.is_none());
        assert!(n.iter().next().unwrap().message.contains("100 bytes"));

        let mut p = supplemental_payload(&[1, 2]);
        p[4] = 200; // 200 tracks declared, 2 present
        let mut n = Notices::default();
        let d = Dbmd::parse(&chunk(&[segment(10, &p)]), "x", &mut n).unwrap();
        assert!(d.supplemental.is_none());
        assert!(n.iter().next().unwrap().message.contains("200 tracks"));

        let mut p = supplemental_payload(&[1]);
        p[0] = 0;
        let mut n = Notices::default();
        assert!(
            Dbmd::parse(&chunk(&[segment(10, &p)]), "x", &mut n)
                .unwrap()
                .supplemental
                .is_none()
        );
        assert!(n.iter().next().unwrap().message.contains("sync"));

        let mut v2 = good();
        v2[3] = 2;
        let mut n = Notices::default();
        assert!(Dbmd::parse(&v2, "x", &mut n).is_none());
        assert!(n.iter().next().unwrap().message.contains("2.0.0.6"));
    }

    #[test]
    fn segment_lengths_past_the_end_are_refused() {
        let mut b = 0x0100_0006u32.to_le_bytes().to_vec();
        b.extend_from_slice(&[9, 0xFF, 0xFF, 1, 2, 3]);
        let mut n = Notices::default();
        let d = Dbmd::parse(&b, "x", &mut n).unwrap();
        assert!(d.segments.is_empty());
        assert!(n.iter().next().unwrap().message.contains("65535"));
    }
}
