//! Reading BW64 / RF64 / RIFF-WAVE files: headers at open, audio on demand.
//!
//! [`Bw64Reader::open`] walks the chunk list of a file without reading its audio
//! and keeps: the format (`fmt `), where the audio is (`data`), the raw `axml`
//! and `dbmd` bytes, the parsed `chna`, and the list of every chunk (for
//! `admix inspect`). The samples are then decoded on demand to planar `f32`
//! with [`Bw64Reader::read_planar`] (any frame range), [`Bw64Reader::read_next`]
//! (sequential) or [`Bw64Reader::read_planar_channels`] (a subset of channels),
//! through one reused buffer of at most [`READ_CHUNK_BYTES`] — memory stays
//! bounded whatever the file's length. Integers decode as x / 2^(bits−1) (so
//! −2^(bits−1) maps to exactly −1.0 and full-scale positive to 1 − 2^(1−bits));
//! 8-bit is unsigned, (x − 128) / 128; floats pass through (f64 rounded to f32).
//!
//! Accepted: outer id `RIFF`, `RF64` (EBU Tech 3306) or `BW64` (ITU-R BS.2088-1)
//! with form `WAVE`; for RF64/BW64 a `ds64` chunk first, giving the 64-bit RIFF
//! and `data` sizes and, through its table, the size of any other chunk whose
//! 32-bit size reads 0xFFFFFFFF. Chunks may come in any order (`axml`, `chna`
//! and `dbmd` usually follow `data`); pad bytes after odd-sized chunks are
//! honoured (RIFF word alignment, kept by BS.2088-1). Known chunks with
//! nothing for admix (`JUNK`, `LIST`, `bext` of EBU Tech 3285, `fact`, …) are
//! skipped silently, unknown ones with a notice.
//!
//! Sizes from the file are untrusted: each is checked against the bytes left in
//! the file, with arithmetic that cannot overflow, and the chunks admix keeps
//! are capped before anything is allocated (`axml` is not read at open:
//! [`MAX_AXML_SIZE`] when read whole,
//! [`MAX_DBMD_SIZE`], `chna` at 4 + 40 × 65535, `ds64` at [`MAX_DS64_SIZE`],
//! at most [`MAX_CHUNKS`] chunks).
//!
//! Repaired with a notice rather than refused (what a professional tool should
//! do with a file that still holds its audio):
//! * `missing-pad-byte` — an odd-sized chunk without its pad byte, at the end
//!   of the file or before the next chunk header;
//! * `truncated-data` — a `data` chunk declaring more bytes than the file holds
//!   (an interrupted recording or copy): the whole frames present are read.
//!   EAR refuses such files; admix reads them because the audio that is there
//!   is usually what the user needs back, and says loudly how much is missing;
//! * `riff-size-mismatch` — the RIFF (or ds64) size disagrees with the file
//!   length; chunks are walked up to the end of the file (libbw64 does the same),
//!   and bytes after the RIFF end that are not a chunk are ignored
//!   (`trailing-bytes`);
//! * `partial-frame`, `ds64-size-mismatch`, `chna-*`, `fmt-*`, `unknown-chunk`.
//!
//! Refused with one [`Bw64Error`] naming file, chunk id and byte offset: an outer
//! id other than RIFF/RF64/BW64, a form other than WAVE, RF64/BW64 without a
//! leading `ds64`, any chunk other than `data` extending past the end of the
//! file, a chunk walk that lands on bytes that are not a chunk id (e.g. after a
//! `fmt ` chunk of size 17), missing `fmt ` or `data`, duplicate `fmt ` or
//! `data`, and every `fmt ` the [`super::format`] module refuses.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::chna::{Chna, MAX_CHNA_SIZE};
use super::error::{ChunkId, Ctx};
use super::format::{Format, SampleFormat};
use super::{Bw64Error, Container};
use crate::notice::{Notice, Notices};

/// Largest `axml` chunk read into memory by [`Bw64Reader::read_axml`]
/// (1 GiB); larger is a [`Bw64Error::Limit`]. Rendering reads the chunk in
/// pieces ([`Bw64Reader::axml_source`]) and has no such limit.
pub const MAX_AXML_SIZE: u64 = 1 << 30;
/// Largest `dbmd` chunk read (16 MiB; real ones are a few hundred bytes).
pub const MAX_DBMD_SIZE: u64 = 16 << 20;
/// Largest `ds64` chunk read: the 28 fixed bytes plus a table of 4096 entries.
pub const MAX_DS64_SIZE: u64 = 28 + 12 * 4096;
/// Most chunks walked in one file.
pub const MAX_CHUNKS: usize = 100_000;
/// Bytes of audio read from the file at a time (rounded down to whole frames,
/// at least one frame): the size of the reader's one sample buffer.
pub const READ_CHUNK_BYTES: usize = 1 << 20;
/// Bytes read ahead on a non-sequential read smaller than this.
const MIN_RANDOM_READ_BYTES: usize = 64 << 10;

/// 0xFFFFFFFF in a 32-bit size field of an RF64/BW64 file: "see ds64"
/// (EBU Tech 3306 and BS.2088-1, the ds64 chunk).
const SIZE_IN_DS64: u32 = u32::MAX;

/// One chunk of the file, for `inspect`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkInfo {
    pub id: ChunkId,
    /// Byte offset of the chunk header (its id).
    pub offset: u64,
    /// Body size in bytes as used by the reader (the ds64 value where the
    /// 32-bit field defers to it; for a truncated `data` chunk, the declared size).
    pub size: u64,
    /// The 32-bit size field as written in the chunk header.
    pub declared_size: u32,
}

trait Source: Read + Seek + Send {}
impl<T: Read + Seek + Send> Source for T {}

/// A seekable byte source that remembers its position, so sequential reads
/// never seek.
struct At {
    src: Box<dyn Source>,
    pos: Option<u64>,
    len: u64,
}

impl At {
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        if self.pos != Some(offset) {
            self.pos = None;
            self.src.seek(SeekFrom::Start(offset))?;
        }
        self.src.read_exact(buf)?;
        self.pos = offset.checked_add(buf.len() as u64);
        Ok(())
    }
}

/// The ds64 chunk (EBU Tech 3306; BS.2088-1, ds64 chunk).
#[derive(Clone, Debug, Default)]
struct Ds64 {
    riff_size: u64,
    data_size: u64,
    sample_count: u64,
    table: Vec<(ChunkId, u64)>,
}

/// An open BW64 / RF64 / WAV file: its header chunks, and streaming access to
/// its samples. See the module docs for what it accepts and refuses.
pub struct Bw64Reader {
    ctx: Ctx,
    src: At,
    container: Container,
    format: Format,
    data_offset: u64,
    frames: u64,
    /// (body offset, size) of the `axml` chunk: read on demand, in pieces
    /// (a long master's ADM can be gigabytes).
    axml: Option<(u64, u64)>,
    /// Opened by path (block cursors open the file again), not from a stream.
    reopen: bool,
    chna: Option<Chna>,
    dbmd: Option<Vec<u8>>,
    chunks: Vec<ChunkInfo>,
    notices: Notices,
    /// Sample bytes of frames `win_start .. win_start + win_frames`.
    buf: Vec<u8>,
    win_start: u64,
    win_frames: usize,
    cursor: u64,
    /// Decoded samples of one tile of frames (see [`DECODE_TILE`]).
    scratch: Vec<f32>,
}

impl std::fmt::Debug for Bw64Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bw64Reader")
            .field("path", &self.ctx.path)
            .field("container", &self.container)
            .field("format", &self.format)
            .field("frames", &self.frames)
            .field("chunks", &self.chunks)
            .finish_non_exhaustive()
    }
}

/// What the chunk walk found, before the reader is assembled.
#[derive(Default)]
struct Found {
    format: Option<Format>,
    /// (body offset, usable bytes, header offset)
    data: Option<(u64, u64, u64)>,
    /// (body offset, size)
    axml: Option<(u64, u64)>,
    chna: Option<(Chna, u64)>,
    dbmd: Option<Vec<u8>>,
}

impl Bw64Reader {
    /// Opens `path` and reads its header chunks (not its audio).
    pub fn open(path: impl AsRef<Path>) -> Result<Bw64Reader, Bw64Error> {
        let path = path.as_ref();
        let ctx = Ctx::new(path);
        let file = File::open(path).map_err(|e| ctx.io_file("cannot open", e))?;
        let mut r = Self::from_source(file, path)?;
        r.reopen = true;
        Ok(r)
    }

    /// Reads from any seekable source (a `File`, a `Cursor<Vec<u8>>` in tests);
    /// `name` is the path used in messages.
    pub fn from_source<S: Read + Seek + Send + 'static>(
        mut source: S,
        name: impl Into<PathBuf>,
    ) -> Result<Bw64Reader, Bw64Error> {
        let ctx = Ctx::new(name);
        let len = source
            .seek(SeekFrom::End(0))
            .map_err(|e| ctx.io_file("cannot find the file length", e))?;
        let mut src = At {
            src: Box::new(source),
            pos: None,
            len,
        };
        let mut notices = Notices::default();
        let mut chunks = Vec::new();
        let (container, found) = walk(&ctx, &mut src, &mut notices, &mut chunks)?;

        let Some(format) = found.format else {
            return Err(ctx.malformed(
                ChunkId::FMT,
                len,
                format!(
                    "no 'fmt ' chunk in the file ({} chunks walked to the end)",
                    chunks.len()
                ),
            ));
        };
        let Some((data_offset, data_bytes, data_header)) = found.data else {
            return Err(ctx.malformed(
                ChunkId::DATA,
                len,
                format!(
                    "no 'data' chunk in the file ({} chunks walked to the end)",
                    chunks.len()
                ),
            ));
        };
        let block_align = u64::from(format.block_align);
        let frames = data_bytes / block_align;
        let extra = data_bytes % block_align;
        if extra != 0 {
            notices.add(
                "partial-frame",
                ctx.subject(ChunkId::DATA, data_header),
                format!(
                    "{data_bytes} bytes of audio is not a whole number of {block_align}-byte \
                     frames; the last {extra} bytes are ignored"
                ),
            );
        }
        if let Some((chna, chna_offset)) = &found.chna {
            let bad: Vec<String> = chna
                .entries
                .iter()
                .filter(|e| e.track_index > format.channels)
                .map(|e| format!("{} → track {}", e.uid, e.track_index))
                .collect();
            if !bad.is_empty() {
                notices.add(
                    "chna-track-out-of-range",
                    ctx.subject(ChunkId::CHNA, *chna_offset),
                    format!(
                        "the file has {} channels but chna maps {}",
                        format.channels,
                        bad.join(", ")
                    ),
                );
            }
        }
        Ok(Bw64Reader {
            ctx,
            src,
            container,
            format,
            data_offset,
            frames,
            axml: found.axml,
            reopen: false,
            chna: found.chna.map(|(c, _)| c),
            dbmd: found.dbmd,
            chunks,
            notices,
            buf: Vec::new(),
            scratch: Vec::new(),
            win_start: 0,
            win_frames: 0,
            cursor: 0,
        })
    }

    /// The file name used in messages.
    pub fn path(&self) -> &Path {
        &self.ctx.path
    }
    /// RIFF, RF64 or BW64.
    pub fn container(&self) -> Container {
        self.container
    }
    pub fn format(&self) -> &Format {
        &self.format
    }
    pub fn channels(&self) -> u16 {
        self.format.channels
    }
    pub fn sample_rate(&self) -> u32 {
        self.format.sample_rate
    }
    /// Whole frames of audio available (for a truncated `data` chunk, those present).
    pub fn frames(&self) -> u64 {
        self.frames
    }
    /// `frames / sample_rate`, exact to the nanosecond.
    pub fn duration(&self) -> Duration {
        let rate = u64::from(self.format.sample_rate.max(1));
        let secs = self.frames / rate;
        let rem = self.frames % rate;
        // rem < rate ≤ u32::MAX, so rem × 1e9 fits in u64.
        let nanos = rem * 1_000_000_000 / rate;
        Duration::new(secs, u32::try_from(nanos).unwrap_or(999_999_999))
    }
    /// Byte offset of the first audio byte.
    pub fn data_offset(&self) -> u64 {
        self.data_offset
    }
    /// Where the `axml` chunk's body is: (byte offset, size), if there is one.
    pub fn axml_location(&self) -> Option<(u64, u64)> {
        self.axml
    }
    /// Reads the raw `axml` chunk (ADM XML; BS.2088-1, axml chunk) into
    /// memory, if there is one (at most 1 GiB). To render, use
    /// [`Self::axml_source`], which reads it in pieces.
    pub fn read_axml(&mut self) -> Result<Option<Vec<u8>>, Bw64Error> {
        let Some((body, size)) = self.axml else {
            return Ok(None);
        };
        read_body(
            &self.ctx,
            &mut self.src,
            ChunkId(*b"axml"),
            body - 8,
            size,
            MAX_AXML_SIZE,
        )
        .map(Some)
    }
    /// The `axml` chunk as an [`XmlSource`](crate::adm::stream::XmlSource)
    /// for [`crate::adm::stream::read_document`]: the file opened again (so
    /// block cursors read it while this reader reads the audio), or for a
    /// reader made from a stream, the chunk read into memory.
    pub fn axml_source(&mut self, name: &str) -> Result<Option<crate::adm::stream::XmlSource>, Bw64Error> {
        let Some((offset, len)) = self.axml else {
            return Ok(None);
        };
        let bytes: std::sync::Arc<dyn crate::adm::stream::ReadAt> = if self.reopen {
            let file = File::open(&self.ctx.path).map_err(|e| self.ctx.io_file("cannot open again", e))?;
            std::sync::Arc::new(file)
        } else {
            match self.read_axml()? {
                Some(v) => std::sync::Arc::new(v),
                None => return Ok(None),
            }
        };
        let offset = if self.reopen { offset } else { 0 };
        Ok(Some(crate::adm::stream::XmlSource {
            bytes,
            offset,
            len,
            name: name.to_owned(),
        }))
    }
    /// The parsed `chna` chunk, if any.
    pub fn chna(&self) -> Option<&Chna> {
        self.chna.as_ref()
    }
    /// The raw `dbmd` chunk (Dolby metadata), if any.
    pub fn dbmd(&self) -> Option<&[u8]> {
        self.dbmd.as_deref()
    }
    /// Every chunk in file order (the outer RIFF/RF64/BW64 header excluded).
    pub fn chunks(&self) -> &[ChunkInfo] {
        &self.chunks
    }
    /// What was read differently from what the file says.
    pub fn notices(&self) -> &Notices {
        &self.notices
    }
    /// Moves the notices out (e.g. into a render report).
    pub fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.notices).into_vec()
    }

    /// Decodes frames `start_frame ..` into `out`, one slice per channel, all
    /// the same length; returns the number of frames written, which is short
    /// (possibly 0) at the end of the audio. Frames past the returned count
    /// are left untouched. Works for any `start_frame`, in any order.
    pub fn read_planar<B: AsMut<[f32]>>(&mut self, start_frame: u64, out: &mut [B]) -> Result<usize, Bw64Error> {
        self.read_into(start_frame, None, out)
    }

    /// Like [`read_planar`](Self::read_planar) for the listed channels only
    /// (0-based): `out[i]` receives channel `channels[i]`. Only those channels
    /// are decoded.
    pub fn read_planar_channels<B: AsMut<[f32]>>(
        &mut self,
        start_frame: u64,
        channels: &[u16],
        out: &mut [B],
    ) -> Result<usize, Bw64Error> {
        if let Some(&c) = channels.iter().find(|&&c| c >= self.format.channels) {
            return Err(self.ctx.invalid(format!(
                "channel {c} asked for; the file has {} channels",
                self.format.channels
            )));
        }
        self.read_into(start_frame, Some(channels), out)
    }

    /// Sequential reading: decodes from the current position (see
    /// [`seek`](Self::seek)) and advances it by the frames returned.
    pub fn read_next<B: AsMut<[f32]>>(&mut self, out: &mut [B]) -> Result<usize, Bw64Error> {
        let n = self.read_into(self.cursor, None, out)?;
        self.cursor += n as u64;
        Ok(n)
    }

    /// Sets the position [`read_next`](Self::read_next) reads from.
    pub fn seek(&mut self, frame: u64) {
        self.cursor = frame;
    }

    /// The position [`read_next`](Self::read_next) reads from.
    pub fn position(&self) -> u64 {
        self.cursor
    }

    fn read_into<B: AsMut<[f32]>>(
        &mut self,
        start: u64,
        select: Option<&[u16]>,
        out: &mut [B],
    ) -> Result<usize, Bw64Error> {
        let wanted_channels = select.map_or(usize::from(self.format.channels), <[u16]>::len);
        if out.len() != wanted_channels {
            return Err(self
                .ctx
                .invalid(format!("{} output buffers for {wanted_channels} channels", out.len())));
        }
        let Some(first) = out.first_mut() else {
            return Ok(0);
        };
        let len = first.as_mut().len();
        for (i, b) in out.iter_mut().enumerate() {
            let other = b.as_mut().len();
            if other != len {
                return Err(self.ctx.invalid(format!(
                    "output buffers differ in length: {len} frames for the first, {other} for \
                     buffer {i}"
                )));
            }
        }
        if start >= self.frames {
            return Ok(0);
        }
        let n = usize::try_from(self.frames - start).map_or(len, |left| left.min(len));
        let block_align = self.format.block_align_bytes();
        let kind = Kind::of(&self.format);
        let mut done = 0usize;
        while done < n {
            let frame = start + done as u64;
            self.fill_window(frame, n - done)?;
            let in_window = (frame - self.win_start) as usize;
            let take = (self.win_frames - in_window).min(n - done);
            let bytes = self
                .buf
                .get(in_window * block_align..(in_window + take) * block_align)
                .unwrap_or(&[]);
            // tiles of frames: with SIMD, each tile's frames are decoded
            // whole into `scratch` (frame major, in L1) and the wanted
            // channels copied out; else each wanted channel is decoded
            // straight from the tile's bytes
            let channels = usize::from(self.format.channels);
            let simd = if kind == Kind::I24 { simd() } else { None };
            let rows_first = simd.is_some();
            // the leading outputs that are eight channels in a row, eight
            // at a time (their first channels): transposed a tile at a time
            let mut octets = Vec::new();
            if rows_first {
                let channel = |k: usize| select.map_or(Some(k), |s| s.get(k).map(|&c| usize::from(c)));
                while let Some(ch) = channel(8 * octets.len())
                    && 8 * octets.len() + 8 <= out.len()
                    && ch + 8 <= channels
                    && (1..8).all(|j| channel(8 * octets.len() + j) == Some(ch + j))
                {
                    octets.push(ch);
                }
            }
            // their outputs' first samples, found once: per tile, only the
            // transposes run (every output holds `n` ≥ done + take samples)
            let octet_cols: Vec<Cols8> = out
                .chunks_exact_mut(8)
                .take(octets.len())
                .map(|o8| Cols8(std::array::from_fn(|j| o8[j].as_mut().as_mut_ptr()), done + take))
                .collect();
            let mut t = 0;
            while t < take {
                let rows = (take - t).min(DECODE_TILE);
                let tile = bytes.get(t * block_align..).unwrap_or(&[]);
                if rows_first {
                    self.scratch.resize(DECODE_TILE * channels, 0.0);
                    let rows_out = self.scratch.get_mut(..rows * channels).unwrap_or(&mut []);
                    decode_rows(kind, tile, block_align, channels, rows_out, simd);
                }
                let tile = tile.get(..rows * block_align).unwrap_or(tile);
                // with AVX2 and a whole tile, eight wanted channels in a row
                // are transposed eight frames at a time
                let mut k0 = 0;
                #[cfg(target_arch = "x86_64")]
                if let Some(simd) = simd.filter(|_| rows == DECODE_TILE && !octets.is_empty()) {
                    let scratch = self.scratch.get(..rows * channels).unwrap_or(&[]);
                    for (&ch, cols) in octets.iter().zip(&octet_cols) {
                        transpose8(scratch, channels, ch, cols, done + t, simd);
                    }
                    k0 = 8 * octets.len();
                }
                // (the transposed outputs are not touched here: their pointers are in use)
                for (k, o) in (k0..).zip(out.get_mut(k0..).unwrap_or_default()) {
                    let ch = select.map_or(k, |s| s.get(k).map_or(0, |&c| usize::from(c)));
                    let o = o.as_mut();
                    if let Some(ahead) = o.get(done + t + 4 * DECODE_TILE) {
                        prefetch(ahead);
                    }
                    let Some(d) = o.get_mut(done + t..done + t + rows) else {
                        continue;
                    };
                    if rows_first {
                        copy_column(
                            self.scratch.get(..rows * channels).unwrap_or(&[]),
                            channels,
                            ch,
                            d,
                            simd,
                        );
                    } else if kind == Kind::I24 {
                        decode_i24_column(tile, block_align, ch * 3, d);
                    } else {
                        decode(kind, tile, block_align, ch * kind.bytes(), d);
                    }
                }
                t += rows;
            }
            done += take;
        }
        Ok(n)
    }

    /// Makes the window hold `frame`, reading ahead up to a whole chunk when
    /// the read continues the window (sequential), less for random access.
    fn fill_window(&mut self, frame: u64, wanted: usize) -> Result<(), Bw64Error> {
        if frame >= self.win_start && frame - self.win_start < self.win_frames as u64 {
            return Ok(());
        }
        let block_align = self.format.block_align_bytes();
        let chunk_frames = (READ_CHUNK_BYTES / block_align).max(1);
        let sequential = frame == self.win_start + self.win_frames as u64 && self.win_frames > 0;
        let want_frames = if sequential {
            chunk_frames
        } else {
            wanted.max(MIN_RANDOM_READ_BYTES / block_align).min(chunk_frames)
        };
        let left = self.frames - frame;
        let count = usize::try_from(left).map_or(want_frames, |l| l.min(want_frames)).max(1);
        let bytes = count * block_align;
        if self.buf.len() < bytes {
            // Grows at most up to one chunk; never shrinks, so later calls
            // do not allocate.
            let target = (chunk_frames * block_align)
                .min(usize::try_from(self.frames.saturating_mul(block_align as u64)).unwrap_or(usize::MAX));
            self.buf.resize(target.max(bytes), 0);
        }
        let offset = self.data_offset + frame * block_align as u64;
        // Invalidate first: a failed read must not leave a stale window.
        self.win_frames = 0;
        let dst = self.buf.get_mut(..bytes).unwrap_or(&mut []);
        self.src
            .read_exact_at(offset, dst)
            .map_err(|e| self.ctx.io("cannot read audio", offset, e))?;
        self.win_start = frame;
        self.win_frames = count;
        Ok(())
    }
}

/// Sample encodings the decoder handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    U8,
    I16,
    I24,
    I32,
    F32,
    F64,
}

impl Kind {
    fn bytes(self) -> usize {
        match self {
            Kind::U8 => 1,
            Kind::I16 => 2,
            Kind::I24 => 3,
            Kind::I32 | Kind::F32 => 4,
            Kind::F64 => 8,
        }
    }

    fn of(f: &Format) -> Kind {
        match (f.sample_format, f.bits_per_sample) {
            (SampleFormat::Int, 8) => Kind::U8,
            (SampleFormat::Int, 16) => Kind::I16,
            (SampleFormat::Int, 24) => Kind::I24,
            (SampleFormat::Int, _) => Kind::I32,
            (SampleFormat::Float, 64) => Kind::F64,
            (SampleFormat::Float, _) => Kind::F32,
        }
    }
}

/// Frames decoded at a time by [`Bw64Reader::read_into`]: a tile's bytes
/// and samples (16 × 128 channels × 4 bytes = 8 KiB) stay in L1 while they
/// are copied out channel by channel.
const DECODE_TILE: usize = 16;

/// Asks the CPU to bring the cache line of `v` in (a hint; no effect where
/// there is no such instruction).
#[inline(always)]
fn prefetch(v: &f32) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint and never faults; `v` is a valid reference.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>((v as *const f32).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = v;
}

/// [`decode`] of 24-bit samples for a few frames (a tile): indexed loads
/// rather than an iterator over frames, which compiles to a tighter loop.
fn decode_i24_column(bytes: &[u8], block_align: usize, offset: usize, out: &mut [f32]) {
    const S24: f32 = 1.0 / 8_388_608.0;
    let Some(col) = bytes.get(offset..) else { return };
    for (k, o) in out.iter_mut().enumerate() {
        if let Some(&[a, b, c]) = col.get(k * block_align..k * block_align + 3) {
            *o = (i32::from_le_bytes([0, a, b, c]) >> 8) as f32 * S24;
        }
    }
}

/// Decodes `out.len() / channels` interleaved frames at the start of `tile`
/// (`block_align` bytes each) into `out`, frame after frame with all of a
/// frame's channels side by side. `tile` may go on past those frames.
fn decode_rows(kind: Kind, tile: &[u8], block_align: usize, channels: usize, out: &mut [f32], simd: Option<Simd>) {
    let bps = kind.bytes();
    for (r, row_out) in out.chunks_exact_mut(channels.max(1)).enumerate() {
        let row = tile.get(r * block_align..).unwrap_or(&[]);
        let simd = match kind {
            // may read past the frame: the bytes of `tile` that follow
            Kind::I24 if channels * 3 <= block_align => simd.map_or(0, |t| i24_simd(row, row_out, t)),
            _ => 0,
        };
        let rest = row.get(simd * bps..channels * bps).unwrap_or(&[]);
        if let Some(o) = row_out.get_mut(simd..) {
            decode(kind, rest, bps, 0, o);
        }
    }
}

/// Copies column `ch` of `rows` (frame after frame, `channels` samples
/// each) into `out`, one sample per frame: a whole tile of frames with two
/// gathers and two vector stores where the CPU has AVX2 (a tile's column is
/// one cache line of the destination, written at once), else sample by sample.
fn copy_column(rows: &[f32], channels: usize, ch: usize, out: &mut [f32], simd: Option<Simd>) {
    #[cfg(target_arch = "x86_64")]
    if simd.is_some() && out.len() == DECODE_TILE && ch < channels && rows.len() >= DECODE_TILE * channels {
        // SAFETY: a `Simd` exists, so the CPU has AVX2; the checks above keep
        // every gathered index (row r < 16, column ch < channels) inside `rows`.
        unsafe { copy_column_avx2(rows, channels, ch, out) };
        return;
    }
    for (v, row) in out.iter_mut().zip(rows.chunks_exact(channels.max(1))) {
        *v = row.get(ch).copied().unwrap_or(0.0);
    }
}

/// [`copy_column`] for a whole tile with AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn copy_column_avx2(rows: &[f32], channels: usize, ch: usize, out: &mut [f32]) {
    use std::arch::x86_64::*;
    let c = channels as i32;
    let idx = _mm256_setr_epi32(0, c, 2 * c, 3 * c, 4 * c, 5 * c, 6 * c, 7 * c);
    // SAFETY (caller): rows holds 16 × channels samples, ch < channels, out
    // holds 16 samples.
    unsafe {
        let base = rows.as_ptr().add(ch);
        let lo = _mm256_i32gather_ps::<4>(base, idx);
        let hi = _mm256_i32gather_ps::<4>(base.add(8 * channels), idx);
        _mm256_storeu_ps(out.as_mut_ptr(), lo);
        _mm256_storeu_ps(out.as_mut_ptr().add(8), hi);
    }
}

/// Eight outputs' first samples and how many samples each holds at least
/// (pointers taken once per read from `&mut` buffers that the read does not
/// touch otherwise while they are in use).
struct Cols8([*mut f32; 8], usize);

/// Columns `ch..ch + 8` of a whole tile of `rows` (DECODE_TILE frames of
/// `channels` samples) into samples `at..at + DECODE_TILE` of `cols`, as
/// two 8×8 transposes of AVX2 registers: eight loads and eight stores a
/// transpose, where a column at a time takes two gathers a column.
#[cfg(target_arch = "x86_64")]
#[inline]
fn transpose8(rows: &[f32], channels: usize, ch: usize, cols: &Cols8, at: usize, _simd: Simd) {
    if ch + 8 > channels || rows.len() < DECODE_TILE * channels || at + DECODE_TILE > cols.1 {
        return;
    }
    // SAFETY: a `Simd` exists, so the CPU has AVX2; the check above keeps
    // every load (row r < 16, columns ch..ch + 8 ≤ channels) inside `rows`
    // and every store inside its output (at + 16 ≤ its length).
    unsafe { transpose8_avx2(rows, channels, ch, cols.0.map(|p| p.add(at))) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn transpose8_avx2(rows: &[f32], channels: usize, ch: usize, cols: [*mut f32; 8]) {
    use std::arch::x86_64::*;
    for half in 0..2 {
        // SAFETY (caller): rows 8·half..8·half + 8, columns ch..ch + 8 exist.
        let r: [__m256; 8] =
            std::array::from_fn(|i| unsafe { _mm256_loadu_ps(rows.as_ptr().add((8 * half + i) * channels + ch)) });
        let t = [
            _mm256_unpacklo_ps(r[0], r[1]),
            _mm256_unpackhi_ps(r[0], r[1]),
            _mm256_unpacklo_ps(r[2], r[3]),
            _mm256_unpackhi_ps(r[2], r[3]),
            _mm256_unpacklo_ps(r[4], r[5]),
            _mm256_unpackhi_ps(r[4], r[5]),
            _mm256_unpacklo_ps(r[6], r[7]),
            _mm256_unpackhi_ps(r[6], r[7]),
        ];
        let u = [
            _mm256_shuffle_ps::<0x44>(t[0], t[2]),
            _mm256_shuffle_ps::<0xEE>(t[0], t[2]),
            _mm256_shuffle_ps::<0x44>(t[1], t[3]),
            _mm256_shuffle_ps::<0xEE>(t[1], t[3]),
            _mm256_shuffle_ps::<0x44>(t[4], t[6]),
            _mm256_shuffle_ps::<0xEE>(t[4], t[6]),
            _mm256_shuffle_ps::<0x44>(t[5], t[7]),
            _mm256_shuffle_ps::<0xEE>(t[5], t[7]),
        ];
        let c = [
            _mm256_permute2f128_ps::<0x20>(u[0], u[4]),
            _mm256_permute2f128_ps::<0x20>(u[1], u[5]),
            _mm256_permute2f128_ps::<0x20>(u[2], u[6]),
            _mm256_permute2f128_ps::<0x20>(u[3], u[7]),
            _mm256_permute2f128_ps::<0x31>(u[0], u[4]),
            _mm256_permute2f128_ps::<0x31>(u[1], u[5]),
            _mm256_permute2f128_ps::<0x31>(u[2], u[6]),
            _mm256_permute2f128_ps::<0x31>(u[3], u[7]),
        ];
        for (col, v) in cols.iter().zip(c) {
            // SAFETY (caller): each column holds DECODE_TILE samples.
            unsafe { _mm256_storeu_ps(col.add(8 * half), v) };
        }
    }
}

/// Proof that the decoder's SIMD paths may run, made only by [`simd`]:
/// the CPU check is done once per read, not per tile or channel.
#[derive(Clone, Copy)]
struct Simd(());

/// A [`Simd`] when the CPU has AVX2 and `ADMIX_KERNEL=scalar` does not ask
/// for the plain loops (detected once).
fn simd() -> Option<Simd> {
    crate::cpu::avx2().then_some(Simd(()))
}

/// Converts the 24-bit samples at the start of `src` into `out` with SIMD,
/// as many as it can (it reads 32 bytes per 8 samples, so it stops before the
/// end of `src`); returns how many. The values equal [`decode`]'s.
fn i24_simd(src: &[u8], out: &mut [f32], simd: Simd) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        let _ = simd;
        // SAFETY: a `Simd` exists, so the CPU has AVX2.
        unsafe { i24_avx2(src, out) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (src, out, simd);
        0
    }
}

/// [`i24_simd`] with AVX2: 24 bytes → eight i32 with the sample in the top
/// three bytes (a dword permute brings bytes 12..27 into the upper lane, a
/// byte shuffle spreads each lane's four samples), shifted down with sign,
/// converted and scaled by 2^-23 (exact, as in [`decode`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn i24_avx2(src: &[u8], out: &mut [f32]) -> usize {
    use std::arch::x86_64::*;
    let perm = _mm256_setr_epi32(0, 1, 2, 3, 3, 4, 5, 6);
    #[rustfmt::skip]
    let spread = _mm256_setr_epi8(
        -1, 0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, 9, 10, 11,
        -1, 0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, 9, 10, 11,
    );
    let scale = _mm256_set1_ps(1.0 / 8_388_608.0);
    let mut j = 0;
    while j + 8 <= out.len() && 3 * j + 32 <= src.len() {
        // SAFETY: bytes 3j .. 3j+32 are in `src`, samples j .. j+8 in `out`
        // (the loop condition).
        unsafe {
            let v = _mm256_loadu_si256(src.as_ptr().add(3 * j).cast());
            let v = _mm256_shuffle_epi8(_mm256_permutevar8x32_epi32(v, perm), spread);
            let f = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srai_epi32(v, 8)), scale);
            _mm256_storeu_ps(out.as_mut_ptr().add(j), f);
        }
        j += 8;
    }
    j
}

/// Decodes one channel of interleaved frames: the sample at byte `offset` of
/// each `block_align`-byte frame of `bytes` goes to `out` (as many as both hold).
fn decode(kind: Kind, bytes: &[u8], block_align: usize, offset: usize, out: &mut [f32]) {
    let Some(from) = bytes.get(offset..) else {
        return;
    };
    let frames = from.chunks(block_align);
    // Integer scale 1 / 2^(bits−1), exact in f32.
    const S8: f32 = 1.0 / 128.0;
    const S16: f32 = 1.0 / 32_768.0;
    const S24: f32 = 1.0 / 8_388_608.0;
    const S32: f32 = 1.0 / 2_147_483_648.0;
    match kind {
        Kind::U8 => {
            for (o, fr) in out.iter_mut().zip(frames) {
                if let [a, ..] = *fr {
                    *o = (f32::from(a) - 128.0) * S8;
                }
            }
        }
        Kind::I16 => {
            for (o, fr) in out.iter_mut().zip(frames) {
                if let [a, b, ..] = *fr {
                    *o = f32::from(i16::from_le_bytes([a, b])) * S16;
                }
            }
        }
        Kind::I24 => {
            for (o, fr) in out.iter_mut().zip(frames) {
                if let [a, b, c, ..] = *fr {
                    *o = (i32::from_le_bytes([0, a, b, c]) >> 8) as f32 * S24;
                }
            }
        }
        Kind::I32 => {
            for (o, fr) in out.iter_mut().zip(frames) {
                if let [a, b, c, d, ..] = *fr {
                    *o = i32::from_le_bytes([a, b, c, d]) as f32 * S32;
                }
            }
        }
        Kind::F32 => {
            for (o, fr) in out.iter_mut().zip(frames) {
                if let [a, b, c, d, ..] = *fr {
                    *o = f32::from_le_bytes([a, b, c, d]);
                }
            }
        }
        Kind::F64 => {
            for (o, fr) in out.iter_mut().zip(frames) {
                if let [a, b, c, d, e, f, g, h, ..] = *fr {
                    *o = f64::from_le_bytes([a, b, c, d, e, f, g, h]) as f32;
                }
            }
        }
    }
}

fn u32_le(b: &[u8], i: usize) -> u32 {
    match b.get(i..i + 4) {
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
        _ => 0,
    }
}

fn u64_le(b: &[u8], i: usize) -> u64 {
    u64::from(u32_le(b, i)) | (u64::from(u32_le(b, i + 4)) << 32)
}

fn id_at(b: &[u8], i: usize) -> Option<ChunkId> {
    match b.get(i..i + 4) {
        Some(&[a, b, c, d]) => Some(ChunkId([a, b, c, d])),
        _ => None,
    }
}

/// Chunks skipped without a notice: nothing in them matters to rendering.
fn is_known_skippable(id: ChunkId) -> bool {
    matches!(
        &id.0,
        b"JUNK"
            | b"junk"
            | b"FLLR"
            | b"PAD "
            | b"pad "
            | b"LIST"
            | b"bext"
            | b"fact"
            | b"iXML"
            | b"cue "
            | b"smpl"
            | b"inst"
            | b"PEAK"
            | b"levl"
            | b"minf"
            | b"elm1"
            | b"regn"
            | b"umid"
            | b"_PMX"
            | b"ovwf"
            | b"cart"
            | b"mext"
            | b"ubxt"
            | b"id3 "
            | b"ID3 "
            | b"SyLp"
            | b"DGDA"
            | b"aXML"
    )
}

/// Reads `size` bytes of a chunk body at `at` into a new vector, refusing sizes
/// over `cap` (before allocating) and allocation failure.
fn read_body(ctx: &Ctx, src: &mut At, id: ChunkId, header: u64, size: u64, cap: u64) -> Result<Vec<u8>, Bw64Error> {
    if size > cap {
        return Err(ctx.limit(id, header, format!("{size} bytes; admix reads at most {cap}")));
    }
    let n = usize::try_from(size).map_err(|_| ctx.limit(id, header, format!("{size} bytes do not fit in memory")))?;
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|_| ctx.limit(id, header, format!("cannot allocate {size} bytes")))?;
    v.resize(n, 0);
    src.read_exact_at(header + 8, &mut v)
        .map_err(|e| ctx.io("cannot read chunk", header + 8, e))?;
    Ok(v)
}

/// Walks the chunk list, filling `chunks` and returning what admix keeps.
fn walk(
    ctx: &Ctx,
    src: &mut At,
    notices: &mut Notices,
    chunks: &mut Vec<ChunkInfo>,
) -> Result<(Container, Found), Bw64Error> {
    let len = src.len;
    let (container, riff_size32) = outer_header(ctx, src)?;
    let outer = container.id();
    let mut pos: u64 = 12;
    let mut ds64 = None;
    if container != Container::Riff {
        let (d, info) = read_ds64(ctx, src, container, riff_size32, notices)?;
        pos = 20 + info.size + (info.size & 1);
        chunks.push(info);
        ds64 = Some(d);
    }

    let streaming = container == Container::Riff && riff_size32 == SIZE_IN_DS64;
    let riff_end = match &ds64 {
        _ if streaming => len,
        Some(d) => d.riff_size.saturating_add(8),
        None => u64::from(riff_size32) + 8,
    };
    if streaming {
        notices.add(
            "riff-size-mismatch",
            ctx.subject(outer, 0),
            "the RIFF size is 0xFFFFFFFF (unknown, as streaming writers leave it); \
             reading to the end of the file",
        );
    } else if riff_end != len {
        let why = if riff_end > len {
            "the file is truncated or the size is wrong"
        } else {
            "reading chunks on to the end of the file"
        };
        notices.add(
            "riff-size-mismatch",
            ctx.subject(outer, 0),
            format!("the {container} size says the file is {riff_end} bytes but it is {len}: {why}"),
        );
    }

    let mut found = Found::default();
    while pos < len {
        if chunks.len() >= MAX_CHUNKS {
            return Err(ctx.limit(
                ChunkId(*b"????"),
                pos,
                format!("more than {MAX_CHUNKS} chunks in the file"),
            ));
        }
        let Some((id, size32)) = chunk_header(ctx, src, pos, pos >= riff_end, chunks, notices)? else {
            break; // bytes after the RIFF form that are not a chunk
        };
        let size = chunk_size(ctx, ds64.as_ref(), id, pos, size32, notices);
        let body = pos + 8;
        let avail = len - body.min(len);
        chunks.push(ChunkInfo {
            id,
            offset: pos,
            size,
            declared_size: size32,
        });
        let fits = size <= avail;
        if !fits && id != ChunkId::DATA {
            return Err(ctx.malformed(
                id,
                pos,
                format!(
                    "declares {size} bytes but only {avail} remain in the file (truncated file, \
                     or a corrupt size)"
                ),
            ));
        }
        let usable = if fits { size } else { avail };
        keep_chunk(ctx, src, container, id, pos, usable, size, &mut found, notices)?;
        // Next header: after the body and, for an odd size, its pad byte.
        let end = body.saturating_add(usable);
        pos = if fits && size % 2 == 1 {
            next_after_odd(ctx, src, id, pos, end, notices)?
        } else {
            end
        };
    }
    if let (Some(d), Some(f)) = (&ds64, &found.format) {
        let frames = found.data.map_or(0, |(_, bytes, _)| bytes) / u64::from(f.block_align);
        if d.sample_count != 0 && d.sample_count != frames {
            notices.add(
                "ds64-size-mismatch",
                ctx.subject(ChunkId::DS64, 12),
                format!(
                    "ds64 sampleCount is {} but the data chunk holds {frames} frames; using the \
                     data chunk",
                    d.sample_count
                ),
            );
        }
    }
    Ok((container, found))
}

/// The 12-byte RIFF/RF64/BW64 header: the container and the 32-bit size.
fn outer_header(ctx: &Ctx, src: &mut At) -> Result<(Container, u32), Bw64Error> {
    let len = src.len;
    let mut head = [0u8; 12];
    let got = usize::try_from(len).map_or(12, |l| l.min(12));
    src.read_exact_at(0, &mut head[..got])
        .map_err(|e| ctx.io("cannot read the file header", 0, e))?;
    let outer = ChunkId([head[0], head[1], head[2], head[3]]);
    if got < 4 {
        return Err(ctx.malformed(
            outer,
            0,
            format!("the file is {len} bytes; a RIFF/RF64/BW64 header needs 12"),
        ));
    }
    let container = match &outer.0 {
        b"RIFF" => Container::Riff,
        b"RF64" => Container::Rf64,
        b"BW64" => Container::Bw64,
        _ => {
            return Err(ctx.malformed(
                outer,
                0,
                "not a WAV file: the outer id must be 'RIFF', 'RF64' or 'BW64'",
            ));
        }
    };
    if got < 12 {
        return Err(ctx.malformed(
            outer,
            0,
            format!("the file is {len} bytes; a {container} header needs 12"),
        ));
    }
    let form = ChunkId([head[8], head[9], head[10], head[11]]);
    if form != ChunkId::WAVE {
        return Err(ctx.malformed(outer, 8, format!("form type is {form}, not 'WAVE'")));
    }
    Ok((container, u32_le(&head, 4)))
}

/// The ds64 chunk that must open an RF64/BW64 file (EBU Tech 3306;
/// BS.2088-1, ds64 chunk): 64-bit RIFF size, data size, sample count, and a table
/// of (chunk id, 64-bit size) for other chunks over 4 GiB.
fn read_ds64(
    ctx: &Ctx,
    src: &mut At,
    container: Container,
    riff_size32: u32,
    notices: &mut Notices,
) -> Result<(Ds64, ChunkInfo), Bw64Error> {
    let len = src.len;
    let id = ChunkId::DS64;
    let mut h = [0u8; 8];
    let n = usize::try_from(len - 12).map_or(8, |l| l.min(8));
    src.read_exact_at(12, &mut h[..n])
        .map_err(|e| ctx.io("cannot read chunk header", 12, e))?;
    let first = ChunkId([h[0], h[1], h[2], h[3]]);
    if n < 8 || first != id {
        let found = match n {
            0..4 => "the end of the file".to_string(),
            4..8 => format!("{first} cut short by the end of the file"),
            _ => first.to_string(),
        };
        return Err(ctx.malformed(
            id,
            12,
            format!(
                "missing: {container} files must begin with a 'ds64' chunk holding their \
                 64-bit sizes (EBU Tech 3306, BS.2088-1); found {found} instead"
            ),
        ));
    }
    let size32 = u32_le(&h, 4);
    let size = u64::from(size32);
    if size < 28 {
        return Err(ctx.malformed(id, 12, format!("{size} bytes long; the ds64 fields need 28")));
    }
    if size > len - 20 {
        let left = len - 20;
        return Err(ctx.malformed(
            id,
            12,
            format!("declares {size} bytes but only {left} remain in the file"),
        ));
    }
    let body = read_body(ctx, src, id, 12, size, MAX_DS64_SIZE)?;
    let table_len = u32_le(&body, 24);
    let table_bytes = 28 + u64::from(table_len) * 12;
    if table_bytes > size {
        return Err(ctx.malformed(
            id,
            12,
            format!("tableLength {table_len} needs {table_bytes} bytes but the chunk is {size}"),
        ));
    }
    let table = (0..table_len as usize)
        .filter_map(|i| {
            let at = 28 + i * 12;
            Some((id_at(&body, at)?, u64_le(&body, at + 4)))
        })
        .collect();
    let d = Ds64 {
        riff_size: u64_le(&body, 0),
        data_size: u64_le(&body, 8),
        sample_count: u64_le(&body, 16),
        table,
    };
    if riff_size32 != SIZE_IN_DS64 && u64::from(riff_size32) != d.riff_size {
        notices.add(
            "ds64-size-mismatch",
            ctx.subject(container.id(), 0),
            format!(
                "{container} size field is {riff_size32}, ds64 says {}; using ds64",
                d.riff_size
            ),
        );
    }
    let info = ChunkInfo {
        id,
        offset: 12,
        size,
        declared_size: size32,
    };
    Ok((d, info))
}

/// Reads the chunk header at `pos`: `Some((id, 32-bit size))`, or `None` for
/// bytes after the RIFF form (`beyond_riff`) that are not a chunk, which are
/// ignored with a notice. Inside the form, a partial header or an id that is
/// not a FourCC is an error.
fn chunk_header(
    ctx: &Ctx,
    src: &mut At,
    pos: u64,
    beyond_riff: bool,
    chunks: &[ChunkInfo],
    notices: &mut Notices,
) -> Result<Option<(ChunkId, u32)>, Bw64Error> {
    let left = src.len - pos;
    let mut h = [b'?'; 8];
    let n = usize::try_from(left).map_or(8, |l| l.min(8));
    src.read_exact_at(pos, &mut h[..n])
        .map_err(|e| ctx.io("cannot read chunk header", pos, e))?;
    let id = ChunkId([h[0], h[1], h[2], h[3]]);
    if n == 8 && id.is_plausible() {
        return Ok(Some((id, u32_le(&h, 4))));
    }
    if beyond_riff {
        notices.add(
            "trailing-bytes",
            ctx.subject(id, pos),
            format!("{left} bytes after the end of the RIFF form ignored"),
        );
        return Ok(None);
    }
    let after = chunks
        .last()
        .map(|c| format!(" (after the {} chunk at byte {})", c.id, c.offset))
        .unwrap_or_default();
    let detail = if n < 8 {
        format!("truncated chunk header: {left} bytes left in the file, a header needs 8{after}")
    } else {
        format!(
            "not a chunk id: the chunk walk is out of step{after}, so a previous chunk size is \
             wrong or the file is corrupt"
        )
    };
    Err(ctx.malformed(id, pos, detail))
}

/// Acts on one chunk whose header is at `pos`: `usable` bytes of its body are
/// in the file (fewer than `size` only for a truncated `data` chunk).
#[allow(
    clippy::too_many_arguments,
    reason = "one call site; a struct would only rename them"
)]
fn keep_chunk(
    ctx: &Ctx,
    src: &mut At,
    container: Container,
    id: ChunkId,
    pos: u64,
    usable: u64,
    size: u64,
    found: &mut Found,
    notices: &mut Notices,
) -> Result<(), Bw64Error> {
    let body = pos + 8;
    match &id.0 {
        b"data" => {
            if found.data.is_some() {
                return Err(ctx.malformed(id, pos, "a second 'data' chunk"));
            }
            if usable < size {
                notices.add(
                    "truncated-data",
                    ctx.subject(id, pos),
                    format!(
                        "TRUNCATED FILE: the data chunk declares {size} bytes but only {usable} \
                         are in the file; reading the audio that is there (chunks that followed \
                         the audio, often axml and chna, are lost)"
                    ),
                );
            }
            found.data = Some((body, usable, pos));
        }
        b"fmt " => {
            if found.format.is_some() {
                return Err(ctx.malformed(id, pos, "a second 'fmt ' chunk"));
            }
            if size == 17 {
                return Err(fmt_size_17(ctx, src, pos));
            }
            // Everything admix reads is in the first 40 bytes; the rest is
            // extradata or padding.
            let mut head = [0u8; 40];
            let n = usize::try_from(size.min(40)).unwrap_or(40);
            let head = head.get_mut(..n).unwrap_or(&mut []);
            src.read_exact_at(body, head)
                .map_err(|e| ctx.io("cannot read chunk", body, e))?;
            found.format = Some(Format::parse(head, size, ctx, pos, notices)?);
        }
        b"axml" | b"chna" | b"dbmd" if already(found, id) => notices.add(
            "duplicate-chunk",
            ctx.subject(id, pos),
            format!("a second {id} chunk; the first one is used"),
        ),
        b"axml" => found.axml = Some((body, size)),
        b"dbmd" => found.dbmd = Some(read_body(ctx, src, id, pos, size, MAX_DBMD_SIZE)?),
        b"chna" => {
            let raw = read_body(ctx, src, id, pos, size, MAX_CHNA_SIZE)?;
            found.chna = Some((Chna::parse(&raw, ctx, pos, notices)?, pos));
        }
        b"ds64" => notices.add(
            "misplaced-ds64",
            ctx.subject(id, pos),
            match container {
                Container::Riff => "a ds64 chunk in a RIFF file; ignored",
                Container::Rf64 | Container::Bw64 => "a second ds64 chunk; ignored",
            },
        ),
        _ if is_known_skippable(id) => {}
        _ => notices.add(
            "unknown-chunk",
            ctx.subject(id, pos),
            format!("unknown chunk {id} of {size} bytes skipped"),
        ),
    }
    Ok(())
}

fn already(found: &Found, id: ChunkId) -> bool {
    match &id.0 {
        b"axml" => found.axml.is_some(),
        b"chna" => found.chna.is_some(),
        b"dbmd" => found.dbmd.is_some(),
        _ => false,
    }
}

/// The size a chunk's body really has: for `data` in RF64/BW64 the ds64 data
/// size; for another chunk whose 32-bit field reads 0xFFFFFFFF, its ds64 table
/// entry (EBU Tech 3306, ds64 chunk table).
fn chunk_size(ctx: &Ctx, ds64: Option<&Ds64>, id: ChunkId, pos: u64, size32: u32, notices: &mut Notices) -> u64 {
    let Some(d) = ds64 else {
        return u64::from(size32);
    };
    if id == ChunkId::DATA {
        if d.data_size == 0 && size32 != 0 && size32 != SIZE_IN_DS64 {
            notices.add(
                "ds64-size-mismatch",
                ctx.subject(id, pos),
                format!("ds64 dataSize is 0; using the chunk's own size {size32}"),
            );
            return u64::from(size32);
        }
        if size32 != SIZE_IN_DS64 && u64::from(size32) != d.data_size {
            notices.add(
                "ds64-size-mismatch",
                ctx.subject(id, pos),
                format!(
                    "data size field is {size32}, ds64 dataSize is {}; using ds64",
                    d.data_size
                ),
            );
        }
        return d.data_size;
    }
    if size32 == SIZE_IN_DS64
        && let Some(&(_, s)) = d.table.iter().find(|(tid, _)| *tid == id)
    {
        return s;
    }
    u64::from(size32)
}

/// Where the next chunk header is after an odd-sized chunk ending at `end`:
/// normally `end + 1` (the pad byte). If the pad byte is missing — at the end of
/// the file, or (as some writers, ear 2.1.0's among them, did) before the next
/// header — says so with a notice and returns `end`.
fn next_after_odd(
    ctx: &Ctx,
    src: &mut At,
    id: ChunkId,
    pos: u64,
    end: u64,
    notices: &mut Notices,
) -> Result<u64, Bw64Error> {
    let len = src.len;
    let missing = |notices: &mut Notices, what: &str| {
        notices.add(
            "missing-pad-byte",
            ctx.subject(id, pos),
            format!("odd-sized chunk without its RIFF pad byte {what}; read as if it were there"),
        );
    };
    if end >= len {
        missing(notices, "at the end of the file");
        return Ok(end);
    }
    if end + 1 >= len {
        return Ok(end + 1);
    }
    // A chunk header is believed where its id looks like one and its size
    // fits in the file.
    let mut peek = [0u8; 9];
    let n = usize::try_from(len - end).map_or(9, |l| l.min(9));
    src.read_exact_at(end, &mut peek[..n])
        .map_err(|e| ctx.io("cannot read chunk header", end, e))?;
    let header_at = |i: usize| {
        let id = id_at(&peek[..n], i)?;
        let size = u64::from(u32_le(peek.get(..n)?, i + 4));
        let room = len.checked_sub(end + i as u64 + 8)?;
        (id.is_plausible() && peek.get(i + 7).is_some() && size <= room).then_some(id)
    };
    let padded = header_at(1).is_some();
    let unpadded = header_at(0).is_some();
    if !padded && unpadded {
        missing(notices, &format!("before the next chunk at byte {end}"));
        return Ok(end);
    }
    Ok(end + 1)
}

/// A `fmt ` chunk of size 17 cannot be right (PCMWAVEFORMAT is 16 bytes,
/// WAVEFORMATEX at least 18) and puts the chunk walk out of step; say what the
/// bytes show.
fn fmt_size_17(ctx: &Ctx, src: &mut At, pos: u64) -> Bw64Error {
    let mut after = [0u8; 4];
    let at16 = pos + 8 + 16;
    let hint = match src.read_exact_at(at16, &mut after) {
        Ok(()) if ChunkId(after).is_plausible() => format!(
            "; a chunk id {} starts at byte {at16}, right after 16 bytes of fmt, so the size \
             should be 16",
            ChunkId(after)
        ),
        _ => String::new(),
    };
    ctx.malformed(
        ChunkId::FMT,
        pos,
        format!(
            "size 17 is impossible (PCMWAVEFORMAT is 16 bytes, WAVEFORMATEX at least 18) and \
             puts the chunk walk out of step{hint}"
        ),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A minimal RIFF: fmt 16-bit stereo, `frames` frames counting up.
    fn tiny(frames: u16) -> Vec<u8> {
        let mut data = Vec::new();
        for i in 0..frames {
            let v = (i as i16) * 30 - 15_000;
            data.extend_from_slice(&v.to_le_bytes());
            data.extend_from_slice(&(-v).to_le_bytes());
        }
        let mut f = Vec::new();
        f.extend_from_slice(b"RIFF");
        f.extend_from_slice(&(4 + 24 + 8 + data.len() as u32).to_le_bytes());
        f.extend_from_slice(b"WAVEfmt ");
        f.extend_from_slice(&16u32.to_le_bytes());
        f.extend_from_slice(&[1, 0, 2, 0, 0x80, 0xbb, 0, 0, 0, 0xee, 2, 0, 4, 0, 16, 0]);
        f.extend_from_slice(b"data");
        f.extend_from_slice(&(data.len() as u32).to_le_bytes());
        f.extend_from_slice(&data);
        f
    }

    /// 24-bit reads through every path of `read_into` (eight consecutive
    /// wanted channels transposed a tile at a time, the rest a column at a
    /// time, partial tiles) equal one-channel reads bit for bit.
    #[test]
    fn wide_24_bit_reads_equal_one_channel_reads() {
        const CH: usize = 21;
        let frames = 100u32;
        let mut x = 99u32;
        let data: Vec<u8> = (0..frames as usize * CH * 3)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 16) as u8
            })
            .collect();
        let mut f = Vec::new();
        f.extend_from_slice(b"RIFF");
        f.extend_from_slice(&(4 + 24 + 8 + data.len() as u32).to_le_bytes());
        f.extend_from_slice(b"WAVEfmt ");
        f.extend_from_slice(&16u32.to_le_bytes());
        let align = (CH * 3) as u16;
        f.extend_from_slice(&1u16.to_le_bytes());
        f.extend_from_slice(&(CH as u16).to_le_bytes());
        f.extend_from_slice(&48_000u32.to_le_bytes());
        f.extend_from_slice(&(48_000 * u32::from(align)).to_le_bytes());
        f.extend_from_slice(&align.to_le_bytes());
        f.extend_from_slice(&24u16.to_le_bytes());
        f.extend_from_slice(b"data");
        f.extend_from_slice(&(data.len() as u32).to_le_bytes());
        f.extend_from_slice(&data);
        let mut r = Bw64Reader::from_source(Cursor::new(f), "wide.wav").unwrap();
        let one: Vec<Vec<f32>> = (0..CH as u16)
            .map(|c| {
                let mut o = [vec![0f32; frames as usize]];
                r.read_planar_channels(0, &[c], &mut o).unwrap();
                let [o] = o;
                o
            })
            .collect();
        let selections: [Vec<u16>; 5] = [
            (0..CH as u16).collect(),
            (3..11).chain([1, 0]).chain(11..19).collect(),
            vec![5, 6, 7, 8, 9, 10, 11, 13, 2],
            (13..21).chain(0..8).collect(),
            vec![4, 3],
        ];
        for sel in &selections {
            for (start, len) in [(0u64, 100usize), (7, 60), (0, 16), (90, 10)] {
                let mut got = vec![vec![f32::NAN; len]; sel.len()];
                let n = r.read_planar_channels(start, sel, &mut got).unwrap();
                assert_eq!(n, len.min(100 - start as usize));
                for (k, &c) in sel.iter().enumerate() {
                    for i in 0..n {
                        assert_eq!(
                            got[k][i].to_bits(),
                            one[usize::from(c)][start as usize + i].to_bits(),
                            "selection {sel:?}, start {start}: output {k} (channel {c}) frame {i}"
                        );
                    }
                }
            }
        }
        let mut all = vec![vec![0f32; 100]; CH];
        r.read_planar(0, &mut all).unwrap();
        assert_eq!(all, one);
    }

    #[test]
    fn random_and_sequential_reads_agree() {
        let mut r = Bw64Reader::from_source(Cursor::new(tiny(1000)), "tiny.wav").unwrap();
        assert_eq!(r.frames(), 1000);
        let mut a = vec![vec![0f32; 7]; 2];
        assert_eq!(r.read_planar(993, &mut a).unwrap(), 7);
        assert_eq!(a[0][0], (993.0 * 30.0 - 15_000.0) / 32_768.0);
        let mut all = vec![vec![0f32; 1000]; 2];
        let mut got = 0;
        let mut block = vec![vec![0f32; 64]; 2];
        loop {
            let n = r.read_next(&mut block).unwrap();
            if n == 0 {
                break;
            }
            for c in 0..2 {
                all[c][got..got + n].copy_from_slice(&block[c][..n]);
            }
            got += n;
        }
        assert_eq!(got, 1000);
        for (i, (&l, &r)) in all[0].iter().zip(&all[1]).enumerate() {
            let v = ((i as i16) * 30 - 15_000) as f32 / 32_768.0;
            assert_eq!((l, r), (v, -v), "frame {i}");
        }
        let mut one = [vec![0f32; 5]];
        assert_eq!(r.read_planar_channels(998, &[1], &mut one).unwrap(), 2);
        assert_eq!(one[0][1], -all[0][999]);
        assert!(r.read_planar_channels(0, &[2], &mut one).is_err());
        let mut ragged = vec![vec![0f32; 5], vec![0f32; 4]];
        assert!(r.read_planar(0, &mut ragged).is_err());
    }

    #[test]
    fn row_decoding_equals_one_channel_at_a_time() {
        // every encoding; channel counts around the 8-sample SIMD group, a
        // frame with padding bytes, frame counts that end the bytes exactly
        // (the SIMD path must stop short of the end) or not
        let mut x = 12345u32;
        let mut byte = || {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) as u8
        };
        for kind in [Kind::U8, Kind::I16, Kind::I24, Kind::I32, Kind::F32, Kind::F64] {
            for (channels, pad) in [(1usize, 0usize), (5, 1), (8, 0), (9, 0), (33, 0), (138, 0), (7, 2)] {
                let align = channels * kind.bytes() + pad;
                for frames in [0usize, 1, 2, 15, 16, 17] {
                    let bytes: Vec<u8> = (0..frames * align).map(|_| byte()).collect();
                    let mut want = vec![vec![0.0f32; frames]; channels];
                    for (c, w) in want.iter_mut().enumerate() {
                        decode(kind, &bytes, align, c * kind.bytes(), w);
                    }
                    let mut got = vec![9.0f32; frames * channels];
                    decode_rows(kind, &bytes, align, channels, &mut got, simd());
                    for (r, row) in got.chunks_exact(channels).enumerate() {
                        for (c, v) in row.iter().enumerate() {
                            assert_eq!(
                                v.to_bits(),
                                want[c][r].to_bits(),
                                "{kind:?}: {channels} channels, pad {pad}, {frames} frames: frame {r} channel {c}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn tile_column_decoding_equals_decode() {
        let bytes: Vec<u8> = (0..40 * 21).map(|i| (i * 37 % 251) as u8).collect();
        for (align, off) in [(21usize, 0usize), (21, 18), (6, 3), (3, 0)] {
            let frames = bytes.len() / align;
            let mut want = vec![0.0f32; frames];
            decode(Kind::I24, &bytes, align, off, &mut want);
            let mut got = vec![9.0f32; frames];
            decode_i24_column(&bytes, align, off, &mut got);
            assert_eq!(got, want, "block align {align}, offset {off}");
        }
    }

    #[test]
    fn column_copies_equal_the_plain_loop() {
        for channels in [1usize, 2, 7, 8, 138] {
            let rows: Vec<f32> = (0..DECODE_TILE * channels).map(|i| i as f32 * 0.5 - 3.0).collect();
            for ch in 0..channels {
                for n in [DECODE_TILE, 5] {
                    let mut got = vec![f32::NAN; n];
                    copy_column(&rows[..n * channels], channels, ch, &mut got, simd());
                    let want: Vec<f32> = (0..n).map(|r| rows[r * channels + ch]).collect();
                    assert_eq!(got, want, "{channels} channels, column {ch}, {n} frames");
                }
            }
        }
    }

    #[test]
    fn transposes_equal_the_plain_loop() {
        let Some(simd) = simd() else {
            eprintln!("SKIP transposes_equal_the_plain_loop: no AVX2 here");
            return;
        };
        for channels in [8usize, 9, 16, 138] {
            let rows: Vec<f32> = (0..DECODE_TILE * channels).map(|i| i as f32 * 0.5 - 3.0).collect();
            for ch in 0..=channels - 8 {
                let mut got = vec![vec![f32::NAN; DECODE_TILE + 3]; 8];
                let cols = Cols8(std::array::from_fn(|j| got[j].as_mut_ptr()), DECODE_TILE + 3);
                transpose8(&rows, channels, ch, &cols, 3, simd);
                // one sample short: nothing is written
                transpose8(&rows, channels, ch, &cols, 4, simd);
                for (j, col) in got.iter().enumerate() {
                    let want: Vec<f32> = (0..DECODE_TILE).map(|r| rows[r * channels + ch + j]).collect();
                    assert_eq!(&col[3..], &want[..], "{channels} channels, column {}", ch + j);
                    assert!(col[..3].iter().all(|v| v.is_nan()));
                }
            }
        }
    }

    #[test]
    fn chunk_id_display_escapes() {
        assert_eq!(ChunkId(*b"ta\xcc\x04").to_string(), "'ta\\xcc\\x04'");
        assert!(!ChunkId(*b"ta\xcc\x04").is_plausible());
        assert!(ChunkId(*b"fmt ").is_plausible());
    }
}
