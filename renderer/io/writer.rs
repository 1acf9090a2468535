//! Writing BW64 / RF64 / WAV files, atomically.
//!
//! [`Bw64Writer`] takes planar `f32` blocks ([`Bw64Writer::write_planar`]) and
//! streams them, interleaved and encoded, into a temporary file beside the
//! final one (`.<name>.admix-tmp-<pid>-<n>`), through one reused byte buffer.
//! Optional `chna` and `axml` chunks, set any time before
//! [`finish`](Bw64Writer::finish), are written after the audio, each followed
//! by its pad byte when odd-sized. `finish` fixes the sizes, syncs the file and
//! renames it over the final path; a writer dropped before that (a failed
//! render) deletes its temporary file, so nothing is ever left under the final
//! name. [`SplitWriter`] does the same for one mono file per speaker, all or
//! nothing. On Linux the kernel is asked to start writing the audio back to
//! the disk every [`WRITEBACK_BYTES`] as it is written (after the request
//! before is done), so that the sync waits for the last few megabytes rather
//! than the whole file (it took 0.3 s at the end of a 3 s render of 184 MB
//! before).
//!
//! File layout (EBU Tech 3306 and ITU-R BS.2088-1: JUNK placeholder, ds64): `RIFF`/`WAVE`, a
//! 28-byte `JUNK` chunk reserving room for a `ds64` chunk, `fmt `, (`fact`
//! for float), `data`, then `chna` and `axml` if set. When the RIFF size reaches
//! 0xFFFFFFFF, `finish` promotes the file to RF64: outer id `RF64`, RIFF and
//! data sizes 0xFFFFFFFF, and the JUNK chunk rewritten in place as `ds64` with
//! the 64-bit RIFF size, data size and frame count. admix writes `RF64` rather
//! than BS.2088-1's `BW64` id: the two are the same layout and every BW64
//! reader (libbw64, ear) accepts RF64, while most other tools (libsndfile,
//! FFmpeg, DAWs) read RF64 but not BW64.
//!
//! `fmt `: WAVE_FORMAT_EXTENSIBLE (with the given channel mask, else 0) when
//! there are more than two channels or a mask is given; otherwise plain
//! `WAVE_FORMAT_PCM` (16 bytes) or `WAVE_FORMAT_IEEE_FLOAT` (18 bytes).
//!
//! Samples: float 32 is written as given, never clipped. Integers are
//! round(x · 2^(bits−1)) (half away from zero) clamped to
//! [−2^(bits−1), 2^(bits−1) − 1]; each clamped sample is counted, and the peak
//! |x| of the input is reported ([`WriteReport`]). With `dither`, TPDF dither of
//! ±1 LSB is added before rounding, from a fixed-seed generator per channel, so
//! the output is reproducible and independent of the block sizes written.
//! NaN becomes 0 and is counted in `non_finite_samples`.
//!
//! Refuses: zero channels or sample rate, frames wider than 65535 bytes, a
//! final path without a file name, buffers of the wrong shape, chna entries
//! that do not fit their fields, axml over 1 GiB.

use std::fs::{self, File};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::bw64::MAX_AXML_SIZE;
use super::chna::Chna;
use super::error::{ChunkId, Ctx};
use super::format::{Format, SampleFormat, WAVE_FORMAT_EXTENSIBLE, WAVE_FORMAT_IEEE_FLOAT, WAVE_FORMAT_PCM};
use super::{Bw64Error, Container};

/// Sample encoding of a written file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    /// IEEE float 32, never clipped.
    F32,
    /// PCM 24-bit.
    S24,
    /// PCM 16-bit.
    S16,
}

impl OutputFormat {
    /// Bytes per sample.
    pub fn bytes(self) -> u16 {
        match self {
            OutputFormat::F32 => 4,
            OutputFormat::S24 => 3,
            OutputFormat::S16 => 2,
        }
    }
}

/// What to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriterSpec {
    pub channels: u16,
    pub sample_rate: u32,
    pub format: OutputFormat,
    /// WAVE_FORMAT_EXTENSIBLE `dwChannelMask` (e.g. 0x3F for 5.1).
    pub channel_mask: Option<u32>,
    /// TPDF dither on integer output (ignored for F32).
    pub dither: bool,
}

/// What [`Bw64Writer::finish`] wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct WriteReport {
    /// The final path.
    pub path: PathBuf,
    /// RIFF, or RF64 past 4 GiB.
    pub container: Container,
    pub format: Format,
    pub frames: u64,
    pub file_bytes: u64,
    /// Integer output: samples clamped to the integer range (0 for F32).
    pub clipped_samples: u64,
    /// Largest |x| among the finite input samples (linear; 1.0 = full scale).
    pub peak: f32,
    /// NaN and ±inf input samples.
    pub non_finite_samples: u64,
}

impl WriteReport {
    /// The peak in dBFS (−inf for silence).
    pub fn peak_dbfs(&self) -> f64 {
        20.0 * f64::from(self.peak).log10()
    }
}

/// Bytes of samples encoded per write call.
const WRITE_CHUNK_BYTES: usize = 1 << 20;
/// Silence at least this long is written as a hole (sparse seek).
const SPARSE_MIN_BYTES: u64 = 1 << 20;
/// Bytes written between two requests to start writing back (see the module docs).
const WRITEBACK_BYTES: u64 = 8 << 20;
/// Body of the `JUNK` placeholder = body of a `ds64` chunk with no table
/// (EBU Tech 3306, BS.2088-1: a JUNK chunk reserves the room).
const DS64_BODY: u32 = 28;
const JUNK_AT: u64 = 12;
/// Seed of the dither generators; channel `c` uses `splitmix(SEED + c)`.
const DITHER_SEED: u64 = 0x5eed_ad31_0000_0001;

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Streams one BW64/RF64/WAV file; see the module docs.
pub struct Bw64Writer {
    ctx: Ctx,
    tmp_path: PathBuf,
    out: Option<BufWriter<File>>,
    spec: WriterSpec,
    format: Format,
    fact_at: Option<u64>,
    data_at: u64,
    data_bytes: u64,
    frames: u64,
    buf: Vec<u8>,
    chna: Option<Vec<u8>>,
    axml: Option<Vec<u8>>,
    stats: Stats,
    dither: Vec<Tpdf>,
    /// File bytes the kernel was asked to start writing to the disk.
    written_back: u64,
    /// File bytes known to be written back (those before the last request).
    waited: u64,
    /// Sealed: sizes fixed and synced, ready to rename.
    sealed: Option<WriteReport>,
    committed: bool,
}

#[derive(Clone, Copy, Debug, Default)]
struct Stats {
    clipped: u64,
    peak: f32,
    non_finite: u64,
}

impl Bw64Writer {
    /// Creates the temporary file beside `path` and writes the header.
    pub fn create(path: impl AsRef<Path>, spec: WriterSpec) -> Result<Bw64Writer, Bw64Error> {
        let path = path.as_ref();
        let ctx = Ctx::new(path);
        if spec.channels == 0 {
            return Err(ctx.invalid("cannot write a file with 0 channels"));
        }
        if spec.sample_rate == 0 {
            return Err(ctx.invalid("cannot write a file at sample rate 0"));
        }
        let block_align = u32::from(spec.channels) * u32::from(spec.format.bytes());
        let block_align = u16::try_from(block_align).map_err(|_| {
            ctx.invalid(format!(
                "{} channels of {} bytes make {block_align}-byte frames; WAV allows 65535",
                spec.channels,
                spec.format.bytes()
            ))
        })?;
        let Some(name) = path.file_name() else {
            return Err(ctx.invalid("the output path has no file name"));
        };
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".admix-tmp-{}-{n}", std::process::id()));
        let tmp_path = dir.join(tmp_name);

        let extensible = spec.channels > 2 || spec.channel_mask.is_some();
        let sample_format = match spec.format {
            OutputFormat::F32 => SampleFormat::Float,
            OutputFormat::S24 | OutputFormat::S16 => SampleFormat::Int,
        };
        let bits = spec.format.bytes() * 8;
        let format = Format {
            format_tag: match (extensible, sample_format) {
                (true, _) => WAVE_FORMAT_EXTENSIBLE,
                (false, SampleFormat::Float) => WAVE_FORMAT_IEEE_FLOAT,
                (false, SampleFormat::Int) => WAVE_FORMAT_PCM,
            },
            channels: spec.channels,
            sample_rate: spec.sample_rate,
            bits_per_sample: bits,
            valid_bits: bits,
            sample_format,
            block_align,
            channel_mask: if extensible {
                Some(spec.channel_mask.unwrap_or(0))
            } else {
                None
            },
        };

        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&tmp_path)
            .map_err(|e| ctx.io_file("cannot create the temporary output file", e))?;
        let mut header = Vec::with_capacity(128);
        header.extend_from_slice(b"RIFF\0\0\0\0WAVE");
        header.extend_from_slice(b"JUNK");
        header.extend_from_slice(&DS64_BODY.to_le_bytes());
        header.resize(header.len() + DS64_BODY as usize, 0);
        let fmt = format.to_chunk_body();
        header.extend_from_slice(b"fmt ");
        header.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
        header.extend_from_slice(&fmt);
        let mut fact_at = None;
        if sample_format == SampleFormat::Float {
            // RIFF: non-PCM formats carry a fact chunk with the frame count.
            fact_at = Some(header.len() as u64);
            header.extend_from_slice(b"fact");
            header.extend_from_slice(&4u32.to_le_bytes());
            header.extend_from_slice(&0u32.to_le_bytes());
        }
        let data_at = header.len() as u64;
        header.extend_from_slice(b"data\0\0\0\0");

        let dither = (0..spec.channels)
            .map(|c| Tpdf::new(DITHER_SEED.wrapping_add(u64::from(c))))
            .collect();
        let mut w = Bw64Writer {
            ctx,
            tmp_path,
            out: Some(BufWriter::with_capacity(256 << 10, file)),
            spec,
            format,
            fact_at,
            data_at,
            data_bytes: 0,
            frames: 0,
            buf: Vec::new(),
            chna: None,
            axml: None,
            stats: Stats::default(),
            dither,
            written_back: 0,
            waited: 0,
            sealed: None,
            committed: false,
        };
        // On error, dropping `w` removes the temporary file.
        w.write_raw(&header, 0)?;
        Ok(w)
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.ctx.path
    }

    /// The temporary file written until `finish`.
    pub fn temp_path(&self) -> &Path {
        &self.tmp_path
    }

    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    pub fn format(&self) -> &Format {
        &self.format
    }

    /// Sets the `chna` chunk written after the audio.
    pub fn set_chna(&mut self, chna: &Chna) -> Result<(), Bw64Error> {
        let body = chna.to_chunk_body().map_err(|e| self.ctx.invalid(e))?;
        self.chna = Some(body);
        Ok(())
    }

    /// Sets the `axml` chunk (ADM XML) written after the audio.
    pub fn set_axml(&mut self, xml: impl Into<Vec<u8>>) -> Result<(), Bw64Error> {
        let xml = xml.into();
        if xml.len() as u64 > MAX_AXML_SIZE {
            return Err(self.ctx.limit(
                ChunkId::AXML,
                0,
                format!("{} bytes of axml; at most {MAX_AXML_SIZE}", xml.len()),
            ));
        }
        self.axml = Some(xml);
        Ok(())
    }

    /// Appends one block: `channels[c]` holds the samples of channel `c`; all
    /// slices have the same length.
    pub fn write_planar<B: AsRef<[f32]>>(&mut self, channels: &[B]) -> Result<(), Bw64Error> {
        if channels.len() != usize::from(self.spec.channels) {
            return Err(self.ctx.invalid(format!(
                "{} input channels for a {}-channel file",
                channels.len(),
                self.spec.channels
            )));
        }
        let len = channels.first().map_or(0, |c| c.as_ref().len());
        if let Some((i, c)) = channels.iter().enumerate().find(|(_, c)| c.as_ref().len() != len) {
            return Err(self.ctx.invalid(format!(
                "input channels differ in length: {len} frames for the first, {} for channel {i}",
                c.as_ref().len()
            )));
        }
        let block_align = self.format.block_align_bytes();
        let bytes = usize::from(self.spec.format.bytes());
        let chunk_frames = (WRITE_CHUNK_BYTES / block_align).max(1);
        let mut done = 0;
        while done < len {
            let n = chunk_frames.min(len - done);
            let nbytes = n * block_align;
            if self.buf.len() < nbytes {
                self.buf.resize(nbytes, 0);
            }
            let dst = self.buf.get_mut(..nbytes).unwrap_or(&mut []);
            for (c, (src, dither)) in channels.iter().zip(self.dither.iter_mut()).enumerate() {
                let src = src.as_ref().get(done..done + n).unwrap_or(&[]);
                let dither = (self.spec.dither && self.spec.format != OutputFormat::F32).then_some(dither);
                encode(
                    self.spec.format,
                    src,
                    dst,
                    block_align,
                    c * bytes,
                    dither,
                    &mut self.stats,
                );
            }
            let at = self.data_at + 8 + self.data_bytes;
            let buf = std::mem::take(&mut self.buf);
            let r = self.write_raw(buf.get(..nbytes).unwrap_or(&[]), at);
            self.buf = buf;
            r?;
            self.data_bytes += nbytes as u64;
            self.frames += n as u64;
            done += n;
            self.start_writeback();
        }
        Ok(())
    }

    /// Asks the kernel to start writing to the disk what it was handed since
    /// the last request, once that is [`WRITEBACK_BYTES`] or more.
    fn start_writeback(&mut self) {
        let Some(out) = self.out.as_ref() else {
            return;
        };
        // the audio is written in order: the kernel holds everything before
        // what the buffer still holds
        let handed = (self.data_at + 8 + self.data_bytes).saturating_sub(out.buffer().len() as u64);
        if handed >= self.written_back + WRITEBACK_BYTES {
            start_writeback(
                out.get_ref(),
                self.written_back,
                handed - self.written_back,
                self.waited,
            );
            self.waited = self.written_back;
            self.written_back = handed;
        }
    }

    /// Appends `frames` frames of digital silence (exact zeros, no dither).
    /// Long silences become a hole in the file (a sparse seek), so this is
    /// cheap whatever the length.
    pub fn write_silence(&mut self, frames: u64) -> Result<(), Bw64Error> {
        let block_align = self.format.block_align_bytes() as u64;
        let at = self.data_at + 8 + self.data_bytes;
        let bytes = frames.checked_mul(block_align).filter(|b| b.checked_add(at).is_some());
        let Some(bytes) = bytes else {
            return Err(self.ctx.limit(ChunkId::DATA, at, format!("{frames} frames of silence")));
        };
        if bytes >= SPARSE_MIN_BYTES {
            let skip =
                i64::try_from(bytes).map_err(|_| self.ctx.limit(ChunkId::DATA, at, "silence too long to seek"))?;
            let out = self.out_mut()?;
            // BufWriter's seek flushes first.
            if let Err(e) = out.seek(SeekFrom::Current(skip)) {
                self.out = None;
                return Err(self.ctx.io("cannot extend the output file", at, e));
            }
        } else {
            let n = usize::try_from(bytes).unwrap_or(0);
            let zeros = WRITE_CHUNK_BYTES.min(n);
            if self.buf.len() < zeros {
                self.buf.resize(zeros, 0);
            }
            let mut buf = std::mem::take(&mut self.buf);
            let z = buf.get_mut(..zeros).unwrap_or(&mut []);
            z.fill(0);
            let mut left = n;
            let mut r = Ok(());
            while left > 0 && r.is_ok() {
                let k = left.min(zeros);
                r = self.write_raw(z.get(..k).unwrap_or(&[]), at + (n - left) as u64);
                left -= k;
            }
            self.buf = buf;
            r?;
        }
        self.data_bytes += bytes;
        self.frames += frames;
        Ok(())
    }

    /// Writes the trailing chunks, fixes the sizes (promoting to RF64 past
    /// 4 GiB), syncs, and renames the temporary file to the final path.
    pub fn finish(mut self) -> Result<WriteReport, Bw64Error> {
        let report = self.seal()?;
        self.commit()?;
        Ok(report)
    }

    /// Everything `finish` does but the rename.
    fn seal(&mut self) -> Result<WriteReport, Bw64Error> {
        let ctx = self.ctx.clone();
        let Some(out) = self.out.take() else {
            return Err(ctx.invalid("the writer already failed or finished"));
        };
        let mut file = out
            .into_inner()
            .map_err(|e| ctx.io("cannot write the output file", self.data_at, e.into_error()))?;
        let data_end = self.data_at + 8 + self.data_bytes;
        let mut tail = Vec::new();
        if self.data_bytes % 2 == 1 {
            tail.push(0); // RIFF pad byte
        }
        for (id, body) in [(b"chna", &self.chna), (b"axml", &self.axml)] {
            if let Some(body) = body {
                tail.extend_from_slice(id);
                tail.extend_from_slice(&(body.len() as u32).to_le_bytes());
                tail.extend_from_slice(body);
                if body.len() % 2 == 1 {
                    tail.push(0);
                }
            }
        }
        let file_len = data_end + tail.len() as u64;
        let riff_size = file_len - 8;
        let container = if riff_size >= u64::from(u32::MAX) {
            Container::Rf64
        } else {
            Container::Riff
        };
        let mut patches: Vec<(u64, Vec<u8>)> = vec![(data_end, tail)];
        match container {
            Container::Riff => {
                patches.push((4, (riff_size as u32).to_le_bytes().to_vec()));
                patches.push((self.data_at + 4, (self.data_bytes as u32).to_le_bytes().to_vec()));
                if let Some(at) = self.fact_at {
                    patches.push((at + 8, (self.frames as u32).to_le_bytes().to_vec()));
                }
            }
            Container::Rf64 | Container::Bw64 => {
                // EBU Tech 3306 / BS.2088-1: 32-bit sizes read -1; the real ones are in ds64.
                let mut head = b"RF64".to_vec();
                head.extend_from_slice(&u32::MAX.to_le_bytes());
                patches.push((0, head));
                let mut ds64 = b"ds64".to_vec();
                ds64.extend_from_slice(&DS64_BODY.to_le_bytes());
                ds64.extend_from_slice(&riff_size.to_le_bytes());
                ds64.extend_from_slice(&self.data_bytes.to_le_bytes());
                ds64.extend_from_slice(&self.frames.to_le_bytes());
                ds64.extend_from_slice(&0u32.to_le_bytes()); // table length
                patches.push((JUNK_AT, ds64));
                patches.push((self.data_at + 4, u32::MAX.to_le_bytes().to_vec()));
                if let Some(at) = self.fact_at {
                    patches.push((at + 8, u32::MAX.to_le_bytes().to_vec()));
                }
            }
        }
        for (at, bytes) in patches {
            file.seek(SeekFrom::Start(at))
                .and_then(|_| file.write_all(&bytes))
                .map_err(|e| ctx.io("cannot write the output file", at, e))?;
        }
        // A trailing sparse silence leaves the file short of its last byte.
        file.set_len(file_len)
            .map_err(|e| ctx.io("cannot set the output file length", file_len, e))?;
        file.sync_all()
            .map_err(|e| ctx.io("cannot sync the output file", file_len, e))?;
        drop(file);
        let report = WriteReport {
            path: ctx.path.clone(),
            container,
            format: self.format,
            frames: self.frames,
            file_bytes: file_len,
            clipped_samples: self.stats.clipped,
            peak: self.stats.peak,
            non_finite_samples: self.stats.non_finite,
        };
        self.sealed = Some(report.clone());
        Ok(report)
    }

    /// Renames the sealed temporary file to the final path.
    fn commit(&mut self) -> Result<(), Bw64Error> {
        if self.sealed.is_none() {
            return Err(self.ctx.invalid("commit before seal"));
        }
        fs::rename(&self.tmp_path, &self.ctx.path).map_err(|e| {
            self.ctx
                .io_file("cannot rename the finished temporary file into place", e)
        })?;
        self.committed = true;
        // Make the rename durable; best effort (the data itself is synced).
        if let Some(dir) = self.ctx.path.parent() {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }

    fn out_mut(&mut self) -> Result<&mut BufWriter<File>, Bw64Error> {
        match self.out.as_mut() {
            Some(o) => Ok(o),
            None => Err(self.ctx.invalid("the writer already failed or finished")),
        }
    }

    /// Writes at the current position; `at` is only for the message. A
    /// failure poisons the writer: later calls fail, and dropping it removes
    /// the temporary file.
    fn write_raw(&mut self, bytes: &[u8], at: u64) -> Result<(), Bw64Error> {
        let out = self.out_mut()?;
        if let Err(e) = out.write_all(bytes) {
            self.out = None;
            return Err(self.ctx.io("cannot write the output file", at, e));
        }
        Ok(())
    }
}

impl Drop for Bw64Writer {
    fn drop(&mut self) {
        if !self.committed {
            drop(self.out.take());
            let _ = fs::remove_file(&self.tmp_path);
        }
    }
}

/// Starts writing `len` bytes of `file` at `offset` back to the disk, after
/// waiting for the bytes from `done` to `offset` (the previous request) to
/// be written (Linux `sync_file_range`): the disk stays at most two requests
/// behind the render, so the sync at the end has little left to wait for.
/// Best effort: an error here is ignored, as the sync at the end reports any.
#[cfg(target_os = "linux")]
fn start_writeback(file: &File, offset: u64, len: u64, done: u64) {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    let (Ok(done), Ok(offset), Ok(len)) = (i64::try_from(done), i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: system calls on a descriptor that `file` keeps open; no memory
    // is passed.
    unsafe {
        if offset > done {
            let wait =
                libc::SYNC_FILE_RANGE_WAIT_BEFORE | libc::SYNC_FILE_RANGE_WRITE | libc::SYNC_FILE_RANGE_WAIT_AFTER;
            let _ = libc::sync_file_range(fd, done, offset - done, wait);
        }
        let _ = libc::sync_file_range(fd, offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_: &File, _: u64, _: u64, _: u64) {}

/// Encodes one channel into its slot (`offset` bytes into each
/// `block_align`-byte frame) of the interleaved buffer `dst`.
fn encode(
    format: OutputFormat,
    src: &[f32],
    dst: &mut [u8],
    block_align: usize,
    offset: usize,
    dither: Option<&mut Tpdf>,
    stats: &mut Stats,
) {
    let frames = dst.chunks_exact_mut(block_align);
    let mut peak = stats.peak;
    match format {
        OutputFormat::F32 => {
            for (fr, &x) in frames.zip(src) {
                let a = x.abs();
                if a > peak && a.is_finite() {
                    peak = a;
                }
                if !x.is_finite() {
                    stats.non_finite += 1;
                }
                if let Some(d) = fr.get_mut(offset..offset + 4) {
                    d.copy_from_slice(&x.to_le_bytes());
                }
            }
        }
        OutputFormat::S24 => peak = encode_int::<3>(src, frames, offset, dither, stats, peak),
        OutputFormat::S16 => peak = encode_int::<2>(src, frames, offset, dither, stats, peak),
    }
    stats.peak = peak;
}

/// The integer path of [`encode`] for `N`-byte samples (`N` constant, so
/// the byte copy compiles to a store, not a `memcpy` call per sample).
/// Returns the updated peak.
fn encode_int<const N: usize>(
    src: &[f32],
    frames: std::slice::ChunksExactMut<'_, u8>,
    offset: usize,
    mut dither: Option<&mut Tpdf>,
    stats: &mut Stats,
    mut peak: f32,
) -> f32 {
    // 2^(bits−1): 8388608 for 24-bit, 32768 for 16-bit.
    let full = 1i32 << (N * 8 - 1);
    let scale = full as f32;
    let (max, min) = (full - 1, -full);
    for (fr, &x) in frames.zip(src) {
        let a = x.abs();
        if a > peak && a.is_finite() {
            peak = a;
        }
        let mut v = x * scale;
        if let Some(d) = dither.as_deref_mut() {
            v += d.next();
        }
        // Round half away from zero by truncating v ± 0.5: `as` truncates and
        // saturates (NaN → 0) in one instruction, where f32::round is a libm
        // call on baseline x86-64.
        let mut r = (v + 0.5f32.copysign(v)) as i32;
        if r > max {
            r = max;
            stats.clipped += 1;
        } else if r < min {
            r = min;
            stats.clipped += 1;
        }
        if !x.is_finite() {
            stats.non_finite += 1;
        }
        let le = r.to_le_bytes();
        if let (Some(d), Some(s)) = (fr.get_mut(offset..offset + N), le.get(..N)) {
            d.copy_from_slice(s);
        }
    }
    peak
}

/// Triangular-PDF dither in LSB units (±1 LSB peak): the difference of two
/// uniform variates from an xorshift64* generator.
#[derive(Clone, Debug)]
struct Tpdf {
    state: u64,
}

impl Tpdf {
    fn new(seed: u64) -> Tpdf {
        // splitmix64 so nearby seeds give unrelated streams; never 0.
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Tpdf {
            state: (z ^ (z >> 31)) | 1,
        }
    }

    fn uniform(&mut self) -> f32 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        let x = self.state.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (x >> 40) as f32 * (1.0 / 16_777_216.0)
    }

    fn next(&mut self) -> f32 {
        self.uniform() - self.uniform()
    }
}

/// One mono file per speaker, `<stem>.<label>.wav` beside the named output,
/// finished all together or not at all.
pub struct SplitWriter {
    writers: Vec<Bw64Writer>,
}

impl SplitWriter {
    /// The path of the split file for `label`, for the output `out`
    /// (`mix.wav` → `mix.L.wav`). Characters other than ASCII letters, digits
    /// and `+-_.` in the label become `_`.
    pub fn split_path(out: &Path, label: &str) -> PathBuf {
        let stem = out.file_stem().map(|s| s.to_os_string()).unwrap_or_default();
        let safe: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "+-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut name = stem;
        name.push(format!(".{safe}.wav"));
        out.with_file_name(name)
    }

    /// Opens one mono writer per label; `spec.channels` must equal the number
    /// of labels (the mask is not used: each file is mono).
    pub fn create(out: impl AsRef<Path>, labels: &[&str], spec: WriterSpec) -> Result<SplitWriter, Bw64Error> {
        let out = out.as_ref();
        let ctx = Ctx::new(out);
        if labels.len() != usize::from(spec.channels) {
            return Err(ctx.invalid(format!("{} labels for {} channels", labels.len(), spec.channels)));
        }
        let paths: Vec<PathBuf> = labels.iter().map(|l| Self::split_path(out, l)).collect();
        for (i, (p, l)) in paths.iter().zip(labels).enumerate() {
            if l.is_empty() {
                return Err(ctx.invalid(format!("speaker {i} has an empty label")));
            }
            if paths.get(..i).is_some_and(|before| before.contains(p)) {
                return Err(ctx.invalid(format!("two speakers would both write {}", p.display())));
            }
        }
        let mono = WriterSpec {
            channels: 1,
            channel_mask: None,
            ..spec
        };
        let writers = paths
            .iter()
            .map(|p| Bw64Writer::create(p, mono))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SplitWriter { writers })
    }

    /// The final paths, in channel order.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.writers.iter().map(|w| w.path().to_path_buf()).collect()
    }

    /// Appends one block; `channels[c]` goes to file `c`.
    pub fn write_planar<B: AsRef<[f32]>>(&mut self, channels: &[B]) -> Result<(), Bw64Error> {
        if channels.len() != self.writers.len() {
            let path = self.writers.first().map(|w| w.path().to_path_buf()).unwrap_or_default();
            return Err(Ctx::new(path).invalid(format!(
                "{} input channels for {} split files",
                channels.len(),
                self.writers.len()
            )));
        }
        for (w, c) in self.writers.iter_mut().zip(channels) {
            w.write_planar(&[c.as_ref()])?;
        }
        Ok(())
    }

    /// Appends silence to every file.
    pub fn write_silence(&mut self, frames: u64) -> Result<(), Bw64Error> {
        self.writers.iter_mut().try_for_each(|w| w.write_silence(frames))
    }

    /// Finishes every file, or none: all are sealed (synced) first, then
    /// renamed; if a rename fails, the files already renamed are removed and
    /// the rest dropped with their temporaries.
    pub fn finish(mut self) -> Result<Vec<WriteReport>, Bw64Error> {
        let mut reports = Vec::with_capacity(self.writers.len());
        for w in &mut self.writers {
            reports.push(w.seal()?);
        }
        for i in 0..self.writers.len() {
            let r = match self.writers.get_mut(i) {
                Some(w) => w.commit(),
                None => Ok(()),
            };
            if let Err(e) = r {
                for done in self.writers.iter().take(i) {
                    let _ = fs::remove_file(done.path());
                }
                return Err(e);
            }
        }
        Ok(reports)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn integer_encoding_rounds_and_clamps() {
        let src = [0.0, 0.5 / 32_768.0, -0.5 / 32_768.0, 1.0, -1.0, 2.0, f32::NAN, -0.75];
        let mut dst = vec![0u8; src.len() * 2];
        let mut stats = Stats::default();
        encode(OutputFormat::S16, &src, &mut dst, 2, 0, None, &mut stats);
        let got: Vec<i16> = dst.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
        assert_eq!(got, [0, 1, -1, 32_767, -32_768, 32_767, 0, -24_576]);
        assert_eq!(stats.clipped, 2); // 1.0 and 2.0
        assert_eq!(stats.non_finite, 1);
        assert_eq!(stats.peak, 2.0);
    }

    #[test]
    fn tpdf_is_triangular_and_bounded() {
        let mut t = Tpdf::new(1);
        let xs: Vec<f32> = (0..100_000).map(|_| t.next()).collect();
        assert!(xs.iter().all(|x| (-1.0..1.0).contains(x)));
        let mean = xs.iter().sum::<f32>() / xs.len() as f32;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / xs.len() as f32;
        assert!(mean.abs() < 0.01, "{mean}");
        assert!((var - 1.0 / 6.0).abs() < 0.01, "{var}"); // TPDF of width 2: σ² = 1/6
    }

    /// The kernel is asked to write back every WRITEBACK_BYTES handed to it,
    /// never past what it was handed, and the file is the same for it.
    #[test]
    fn writeback_is_asked_for_what_was_handed_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wb.wav");
        let spec = WriterSpec {
            channels: 16,
            sample_rate: 48_000,
            format: OutputFormat::F32,
            channel_mask: None,
            dither: false,
        };
        let mut w = Bw64Writer::create(&path, spec).unwrap();
        let block: Vec<Vec<f32>> = (0..16)
            .map(|c| (0..4096).map(|k| (c * 4096 + k) as f32).collect())
            .collect();
        let mut asked = Vec::new();
        for _ in 0..80 {
            w.write_planar(&block).unwrap();
            let handed = w.data_at + 8 + w.data_bytes - w.out.as_ref().unwrap().buffer().len() as u64;
            assert!(w.written_back <= handed);
            assert!(handed - w.written_back < WRITEBACK_BYTES);
            if asked.last() != Some(&w.written_back) {
                asked.push(w.written_back);
            }
        }
        // 80 × 256 KiB = 20 MiB: requests at 8 and 16 MiB (and the start)
        assert_eq!(asked.len(), 3, "{asked:?}");
        assert!(
            asked[1] >= WRITEBACK_BYTES && asked[2] >= 2 * WRITEBACK_BYTES,
            "{asked:?}"
        );
        w.finish().unwrap();
        let mut r = crate::io::bw64::Bw64Reader::open(&path).unwrap();
        let mut got = vec![vec![0f32; 4096]; 16];
        for f in [0u64, 40 * 4096, 79 * 4096] {
            assert_eq!(r.read_planar(f, &mut got).unwrap(), 4096);
            assert_eq!(got, block);
        }
    }

    #[test]
    fn split_paths() {
        let p = SplitWriter::split_path(Path::new("/x/mix.wav"), "M+030");
        assert_eq!(p, Path::new("/x/mix.M+030.wav"));
        let p = SplitWriter::split_path(Path::new("mix.wav"), "../L");
        assert_eq!(p, Path::new("mix..._L.wav"));
    }
}
