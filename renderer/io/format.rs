//! The `fmt ` chunk: what the reader accepts and what the writer emits.
//!
//! Takes the chunk body as found (16 bytes of PCMWAVEFORMAT, 18+ of
//! WAVEFORMATEX, 40+ of WAVE_FORMAT_EXTENSIBLE, with any trailing extradata or
//! padding, as Pro Tools writes) and produces a [`Format`]. Accepts integer PCM
//! in 1-, 2-, 3- and 4-byte containers (8-bit is unsigned, per the RIFF spec)
//! and IEEE float in 4- and 8-byte containers, tagged `WAVE_FORMAT_PCM` (1),
//! `WAVE_FORMAT_IEEE_FLOAT` (3) or `WAVE_FORMAT_EXTENSIBLE` (0xFFFE) with the
//! PCM or IEEE-float subformat GUID. Refuses zero channels, zero sample rate, a
//! block align that is not channels × container bytes, sizes 0–15 and 17, and
//! (as unsupported) every other format tag or subformat.

use super::Bw64Error;
use super::error::{ChunkId, Ctx};
use crate::notice::Notices;

/// `wFormatTag` values (Microsoft mmreg.h).
pub const WAVE_FORMAT_PCM: u16 = 0x0001;
pub const WAVE_FORMAT_IEEE_FLOAT: u16 = 0x0003;
pub const WAVE_FORMAT_EXTENSIBLE: u16 = 0xFFFE;

/// Bytes 4..16 of the KSDATAFORMAT_SUBTYPE_* GUIDs
/// (`xxxxxxxx-0000-0010-8000-00aa00389b71`), as stored little-endian; bytes
/// 0..4 hold the format tag of the subformat (1 = PCM, 3 = IEEE float).
const SUBFORMAT_GUID_TAIL: [u8; 12] = [0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];

/// Largest `fmt ` chunk accepted: WAVEFORMATEX (18 bytes) plus the largest
/// `cbSize` (65535).
pub const MAX_FMT_SIZE: u64 = 18 + 65_535;

/// Integer or floating-point samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SampleFormat {
    /// Two's-complement little-endian integers (unsigned for 8-bit).
    Int,
    /// IEEE 754 little-endian floats.
    Float,
}

/// The audio format of a file, as the `fmt ` chunk gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Format {
    /// `wFormatTag` as found: 1 (PCM), 3 (IEEE float) or 0xFFFE (EXTENSIBLE).
    pub format_tag: u16,
    /// `nChannels`, ≥ 1.
    pub channels: u16,
    /// `nSamplesPerSec`, ≥ 1.
    pub sample_rate: u32,
    /// Bits per sample container (`nBlockAlign / nChannels × 8`): 8, 16, 24 or
    /// 32 for integers, 32 or 64 for floats. Decoding divides by 2^(bits−1).
    pub bits_per_sample: u16,
    /// Significant bits (`wValidBitsPerSample` of EXTENSIBLE, else
    /// `wBitsPerSample`); ≤ `bits_per_sample`.
    pub valid_bits: u16,
    pub sample_format: SampleFormat,
    /// `nBlockAlign`: bytes per frame, = channels × bits_per_sample / 8.
    pub block_align: u16,
    /// `dwChannelMask` of WAVE_FORMAT_EXTENSIBLE (speaker positions, bit 0 =
    /// front left); `None` for the other tags.
    pub channel_mask: Option<u32>,
}

impl Format {
    /// Bytes of one sample of one channel.
    pub fn bytes_per_sample(&self) -> usize {
        usize::from(self.bits_per_sample / 8)
    }

    /// Bytes of one frame (all channels).
    pub fn block_align_bytes(&self) -> usize {
        usize::from(self.block_align)
    }

    /// Parses a `fmt ` chunk body. `head` holds the first `min(size, 40)` bytes
    /// of the body, `size` is the declared body size, `offset` the chunk header's
    /// byte offset (for messages).
    pub(crate) fn parse(
        head: &[u8],
        size: u64,
        ctx: &Ctx,
        offset: u64,
        notices: &mut Notices,
    ) -> Result<Format, Bw64Error> {
        let id = ChunkId::FMT;
        if size < 16 {
            return Err(ctx.malformed(
                id,
                offset,
                format!("{size} bytes long; the smallest fmt (PCMWAVEFORMAT) is 16"),
            ));
        }
        if size > MAX_FMT_SIZE {
            return Err(ctx.limit(
                id,
                offset,
                format!("{size} bytes long; a fmt chunk holds at most {MAX_FMT_SIZE}"),
            ));
        }
        let u16_at = |i: usize| head.get(i..i + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
        let u32_at = |i: usize| head.get(i..i + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        let short = || ctx.malformed(id, offset, "fmt chunk body ends early");
        let tag = u16_at(0).ok_or_else(short)?;
        let channels = u16_at(2).ok_or_else(short)?;
        let sample_rate = u32_at(4).ok_or_else(short)?;
        let avg_bytes = u32_at(8).ok_or_else(short)?;
        let block_align = u16_at(12).ok_or_else(short)?;
        let bits = u16_at(14).ok_or_else(short)?;

        let (sample_format, valid_bits, channel_mask, extensible) = match tag {
            WAVE_FORMAT_PCM => (SampleFormat::Int, bits, None, false),
            WAVE_FORMAT_IEEE_FLOAT => (SampleFormat::Float, bits, None, false),
            WAVE_FORMAT_EXTENSIBLE => {
                // WAVEFORMATEXTENSIBLE: WAVEFORMATEX + wValidBitsPerSample,
                // dwChannelMask, SubFormat GUID = 40 bytes, cbSize ≥ 22.
                let cb_size = u16_at(16).unwrap_or(0);
                if size < 40 || cb_size < 22 {
                    return Err(ctx.malformed(
                        id,
                        offset,
                        format!(
                            "WAVE_FORMAT_EXTENSIBLE needs a 40-byte fmt with cbSize ≥ 22; \
                             found {size} bytes, cbSize {cb_size}"
                        ),
                    ));
                }
                let valid = u16_at(18).ok_or_else(short)?;
                let mask = u32_at(20).ok_or_else(short)?;
                let guid = head.get(24..40).ok_or_else(short)?;
                let sub_tag = u32::from_le_bytes([guid[0], guid[1], guid[2], guid[3]]);
                let format = match (sub_tag, guid.get(4..) == Some(&SUBFORMAT_GUID_TAIL[..])) {
                    (1, true) => SampleFormat::Int,
                    (3, true) => SampleFormat::Float,
                    _ => {
                        return Err(ctx.unsupported(
                            id,
                            offset,
                            format!(
                                "WAVE_FORMAT_EXTENSIBLE subformat {} is neither PCM nor IEEE float",
                                guid_string(guid)
                            ),
                        ));
                    }
                };
                // wValidBitsPerSample = 0 is written by some tools for "all".
                let valid = if valid == 0 { bits } else { valid };
                (format, valid, Some(mask), true)
            }
            other => {
                return Err(ctx.unsupported(
                    id,
                    offset,
                    format!(
                        "format tag 0x{other:04x} ({}); admix decodes PCM (1), IEEE float (3) \
                         and WAVE_FORMAT_EXTENSIBLE (0xfffe) with a PCM or float subformat",
                        format_tag_name(other)
                    ),
                ));
            }
        };
        if size == 17 {
            return Err(ctx.malformed(
                id,
                offset,
                "size 17 is impossible: PCMWAVEFORMAT is 16 bytes, WAVEFORMATEX at least 18",
            ));
        }
        if channels == 0 {
            return Err(ctx.malformed(id, offset, "nChannels is 0"));
        }
        if sample_rate == 0 {
            return Err(ctx.malformed(id, offset, "nSamplesPerSec is 0"));
        }
        if bits == 0 {
            return Err(ctx.malformed(id, offset, "wBitsPerSample is 0"));
        }
        if block_align == 0 || block_align % channels != 0 {
            return Err(ctx.malformed(
                id,
                offset,
                format!("nBlockAlign {block_align} is not a positive multiple of nChannels {channels}"),
            ));
        }
        let container = block_align / channels;
        let container_bits = u32::from(container) * 8;
        if u32::from(bits) > container_bits {
            return Err(ctx.malformed(
                id,
                offset,
                format!(
                    "wBitsPerSample {bits} does not fit nBlockAlign {block_align} for {channels} \
                     channels ({container}-byte samples)"
                ),
            ));
        }
        if u32::from(valid_bits) > container_bits {
            return Err(ctx.malformed(
                id,
                offset,
                format!("wValidBitsPerSample {valid_bits} exceeds the {container_bits}-bit container"),
            ));
        }
        let expected_container = bits.div_ceil(8);
        if container != expected_container {
            if extensible {
                // EXTENSIBLE: wBitsPerSample is the container size by definition.
                return Err(ctx.malformed(
                    id,
                    offset,
                    format!(
                        "nBlockAlign {block_align} ≠ nChannels {channels} × wBitsPerSample \
                         {bits} / 8"
                    ),
                ));
            }
            notices.add(
                "fmt-container-size",
                ctx.subject(id, offset),
                format!(
                    "wBitsPerSample is {bits} but nBlockAlign {block_align} gives {container}-byte \
                     samples; decoding {container}-byte containers"
                ),
            );
        }
        let supported = match sample_format {
            SampleFormat::Int => matches!(container, 1..=4),
            SampleFormat::Float => matches!(container, 4 | 8) && u32::from(bits) == container_bits,
        };
        if !supported {
            let kind = match sample_format {
                SampleFormat::Int => "integer",
                SampleFormat::Float => "float",
            };
            return Err(ctx.unsupported(
                id,
                offset,
                format!(
                    "{bits}-bit {kind} samples in {container}-byte containers; admix decodes \
                     8/16/24/32-bit integer and 32/64-bit float"
                ),
            ));
        }
        let expected_avg = u64::from(sample_rate) * u64::from(block_align);
        if u64::from(avg_bytes) != expected_avg {
            notices.add(
                "fmt-avg-bytes",
                ctx.subject(id, offset),
                format!("nAvgBytesPerSec is {avg_bytes}, expected {expected_avg}; the value is unused"),
            );
        }
        Ok(Format {
            format_tag: tag,
            channels,
            sample_rate,
            bits_per_sample: container * 8,
            valid_bits,
            sample_format,
            block_align,
            channel_mask,
        })
    }

    /// The `fmt ` chunk body for this format: 16 bytes for `WAVE_FORMAT_PCM`,
    /// 18 (WAVEFORMATEX, cbSize 0) for `WAVE_FORMAT_IEEE_FLOAT`, 40 for
    /// `WAVE_FORMAT_EXTENSIBLE` (mask 0 when `channel_mask` is `None`).
    pub fn to_chunk_body(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(40);
        b.extend_from_slice(&self.format_tag.to_le_bytes());
        b.extend_from_slice(&self.channels.to_le_bytes());
        b.extend_from_slice(&self.sample_rate.to_le_bytes());
        let avg = self.sample_rate.saturating_mul(u32::from(self.block_align));
        b.extend_from_slice(&avg.to_le_bytes());
        b.extend_from_slice(&self.block_align.to_le_bytes());
        b.extend_from_slice(&self.bits_per_sample.to_le_bytes());
        match self.format_tag {
            WAVE_FORMAT_PCM => {}
            WAVE_FORMAT_EXTENSIBLE => {
                b.extend_from_slice(&22u16.to_le_bytes());
                b.extend_from_slice(&self.valid_bits.to_le_bytes());
                b.extend_from_slice(&self.channel_mask.unwrap_or(0).to_le_bytes());
                let sub: u32 = match self.sample_format {
                    SampleFormat::Int => 1,
                    SampleFormat::Float => 3,
                };
                b.extend_from_slice(&sub.to_le_bytes());
                b.extend_from_slice(&SUBFORMAT_GUID_TAIL);
            }
            _ => b.extend_from_slice(&0u16.to_le_bytes()),
        }
        b
    }
}

/// `{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}` for a 16-byte little-endian GUID.
fn guid_string(g: &[u8]) -> String {
    let Ok(b) = <[u8; 16]>::try_from(g) else {
        return format!("{g:02x?}");
    };
    let d1 = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let d2 = u16::from_le_bytes([b[4], b[5]]);
    let d3 = u16::from_le_bytes([b[6], b[7]]);
    let d4: String = b[8..].iter().map(|x| format!("{x:02x}")).collect();
    format!("{{{d1:08x}-{d2:04x}-{d3:04x}-{}-{}}}", &d4[..4], &d4[4..])
}

fn format_tag_name(tag: u16) -> &'static str {
    match tag {
        0x0000 => "unknown",
        0x0002 => "Microsoft ADPCM",
        0x0006 => "A-law",
        0x0007 => "µ-law",
        0x0011 => "IMA ADPCM",
        0x0050 => "MPEG",
        0x0055 => "MPEG layer 3",
        0x0092 => "Dolby AC-3 over S/PDIF",
        0x2000 => "Dolby AC-3",
        0x2001 => "DTS",
        _ => "compressed or unknown",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn ctx() -> Ctx {
        Ctx::new("t.wav")
    }

    #[test]
    fn pcm16_round_trips_through_chunk_body() {
        let f = Format {
            format_tag: WAVE_FORMAT_PCM,
            channels: 2,
            sample_rate: 48_000,
            bits_per_sample: 16,
            valid_bits: 16,
            sample_format: SampleFormat::Int,
            block_align: 4,
            channel_mask: None,
        };
        let body = f.to_chunk_body();
        assert_eq!(body.len(), 16);
        let mut n = Notices::default();
        let g = Format::parse(&body, 16, &ctx(), 12, &mut n).unwrap();
        assert_eq!(f, g);
        assert!(n.is_empty());
    }

    #[test]
    fn extensible_float_round_trips() {
        let f = Format {
            format_tag: WAVE_FORMAT_EXTENSIBLE,
            channels: 12,
            sample_rate: 96_000,
            bits_per_sample: 32,
            valid_bits: 32,
            sample_format: SampleFormat::Float,
            block_align: 48,
            channel_mask: Some(0x2d63f),
        };
        let body = f.to_chunk_body();
        assert_eq!(body.len(), 40);
        let g = Format::parse(&body, 40, &ctx(), 12, &mut Notices::default()).unwrap();
        assert_eq!(f, g);
    }

    #[test]
    fn unknown_subformat_is_named() {
        let mut body = Format {
            format_tag: WAVE_FORMAT_EXTENSIBLE,
            channels: 4,
            sample_rate: 48_000,
            bits_per_sample: 16,
            valid_bits: 16,
            sample_format: SampleFormat::Int,
            block_align: 8,
            channel_mask: Some(0),
        }
        .to_chunk_body();
        body[24] = 0x02; // KSDATAFORMAT_SUBTYPE_ADPCM
        let e = Format::parse(&body, 40, &ctx(), 12, &mut Notices::default()).unwrap_err();
        let m = e.to_string();
        assert!(m.contains("{00000002-0000-0010-8000-00aa00389b71}"), "{m}");
    }

    #[test]
    fn rejects_zero_fields_and_odd_sizes() {
        let base = [1u8, 0, 2, 0, 0x80, 0xbb, 0, 0, 0, 0xee, 2, 0, 4, 0, 16, 0];
        let parse = |b: &[u8], size| Format::parse(b, size, &ctx(), 12, &mut Notices::default());
        let mut zero_ch = base;
        zero_ch[2] = 0;
        assert!(parse(&zero_ch, 16).unwrap_err().to_string().contains("nChannels is 0"));
        let mut zero_rate = base;
        zero_rate[4..8].fill(0);
        assert!(
            parse(&zero_rate, 16)
                .unwrap_err()
                .to_string()
                .contains("nSamplesPerSec")
        );
        let mut bad_align = base;
        bad_align[12] = 3;
        assert!(parse(&bad_align, 16).unwrap_err().to_string().contains("nBlockAlign 3"));
        assert!(parse(&base, 17).unwrap_err().to_string().contains("size 17"));
        assert!(parse(&base[..14], 14).unwrap_err().to_string().contains("16"));
        let mut mp3 = base;
        mp3[0] = 0x55;
        assert!(matches!(parse(&mp3, 16), Err(Bw64Error::Unsupported { .. })));
        // 24-bit samples in 4-byte containers without EXTENSIBLE: decoded as
        // 32-bit containers, with a notice.
        let mut b24in32 = base;
        b24in32[12] = 8;
        b24in32[14] = 24;
        let mut n = Notices::default();
        let f = Format::parse(&b24in32, 16, &ctx(), 12, &mut n).unwrap();
        assert_eq!((f.bits_per_sample, f.valid_bits), (32, 24));
        assert_eq!(n.iter().next().unwrap().kind, "fmt-container-size");
    }
}
