//! The render pass: reads the input once, chunk by chunk, runs one engine
//! per output layout, and streams each result to its writer (BW64 with a
//! DirectSpeakers ADM description of itself, or split mono WAVs). Memory is
//! bounded by the chunk size, whatever the programme's length; every output
//! is written to a temporary file and renamed only when the whole render
//! succeeded.

use crate::adm::Document;
use crate::adm::elements::*;
use crate::binaural::{BinauralEngine, BinauralError, BinauralOptions};
use crate::engine::{CHUNK, CpuEngine, EngineError, LATENCY, LayoutEngine};
use crate::io::writer::{Bw64Writer, OutputFormat, SplitWriter, WriteReport, WriterSpec};
use crate::io::{Bw64Error, Chna, ChnaEntry};
use crate::layout::{Layout, LayoutError};
use crate::loudness::{LoudnessError, LoudnessReport, Meter};
use crate::notice::Notice;
use crate::scene::Scene;
use std::path::PathBuf;
use std::time::Instant;

/// Where input samples come from: planar f32 frames of every input track.
pub trait AudioSource: Send {
    /// Read frames starting at `start` into `out[track][..n]`; returns the
    /// number of frames read, which may be fewer than asked (0 only at the
    /// end of the audio).
    fn read_planar(&mut self, start: u64, out: &mut [&mut [f32]]) -> Result<usize, Bw64Error>;
}

impl AudioSource for crate::io::Bw64Reader {
    fn read_planar(&mut self, start: u64, out: &mut [&mut [f32]]) -> Result<usize, Bw64Error> {
        crate::io::Bw64Reader::read_planar(self, start, out)
    }
}

/// Fill `input[t][..CHUNK]` from `pos`, reading until the chunk is full or
/// the audio ends (sources may return short reads); zero the rest.
fn fill_chunk(source: &mut dyn AudioSource, pos: u64, frames: u64, input: &mut [Vec<f32>]) -> Result<(), Bw64Error> {
    let want = frames.saturating_sub(pos).min(CHUNK as u64) as usize;
    let mut got = 0;
    while got < want {
        let mut slices: Vec<&mut [f32]> = input.iter_mut().map(|c| &mut c[got..want]).collect();
        let n = source.read_planar(pos + got as u64, &mut slices)?;
        if n == 0 {
            break;
        }
        got += n;
    }
    for ch in input.iter_mut() {
        ch[got..].fill(0.0);
    }
    Ok(())
}

/// Why a render failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Io(#[from] Bw64Error),
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Binaural(#[from] BinauralError),
    #[error(transparent)]
    Loudness(#[from] LoudnessError),
    #[error("{0}")]
    Invalid(String),
    /// Metadata read during the render (a streamed audioBlockFormat) that is
    /// refused; the message names the file, line and element.
    #[error("{0}")]
    Metadata(String),
    /// A stop was requested ([`crate::stop`]): the outputs were deleted.
    #[error("interrupted: the render stopped and its unfinished outputs were deleted")]
    Interrupted,
}

/// What an output is.
#[derive(Clone, Debug)]
pub enum OutputKind {
    /// Speaker feeds for `OutputSpec::layout`.
    Speakers,
    /// The 2-channel headphone fold-down (layout = `binaural::headphone_layout()`).
    Binaural(BinauralOptions),
}

/// One deliverable.
#[derive(Clone, Debug)]
pub struct OutputSpec {
    pub kind: OutputKind,
    pub layout: Layout,
    /// Where to write; `None` renders and measures without writing (benches).
    pub path: Option<PathBuf>,
    pub format: OutputFormat,
    /// One mono WAV per speaker (`<stem>.<label>.wav`) instead of one BW64.
    pub split: bool,
    /// TPDF dither for integer output.
    pub dither: bool,
}

/// What to render of the programme.
#[derive(Clone, Debug, Default)]
pub struct RenderOptions {
    /// First output frame.
    pub start: u64,
    /// Number of frames (default: to the end of the input).
    pub frames: Option<u64>,
}

/// The outcome for one layout.
#[derive(Clone, Debug)]
pub struct LayoutReport {
    pub layout: String,
    pub files: Vec<PathBuf>,
    pub labels: Vec<String>,
    /// Sample peak per channel (linear).
    pub peaks: Vec<f32>,
    /// Samples clipped by integer encoding (0 for float output).
    pub clipped_samples: u64,
    pub format: OutputFormat,
    pub notices: Vec<Notice>,
    /// BS.1770-4 measurement of the written signal.
    pub loudness: LoudnessReport,
    /// Loudness of the dialogue items alone (ADM dialogue labels), when the
    /// programme has any.
    pub dialogue_lufs: Option<f64>,
    /// What rendered this output.
    pub backend: String,
}

impl LayoutReport {
    /// Peak per channel in dBFS (−inf for silence).
    pub fn peaks_dbfs(&self) -> Vec<f64> {
        self.peaks.iter().map(|&p| 20.0 * (p as f64).log10()).collect()
    }
}

/// The outcome of a render.
#[derive(Clone, Debug)]
pub struct RenderReport {
    pub layouts: Vec<LayoutReport>,
    pub frames: u64,
    pub sample_rate: u32,
    pub wall_seconds: f64,
    /// Metadata blocks whose gains were computed, all layouts together.
    pub gain_blocks: u64,
    /// What rendered: `cpu (avx512)`, or the GPU adapter.
    pub backend: String,
}

impl RenderReport {
    pub fn duration_seconds(&self) -> f64 {
        self.frames as f64 / self.sample_rate as f64
    }
    /// Audio seconds per wall second.
    pub fn realtime_factor(&self) -> f64 {
        self.duration_seconds() / self.wall_seconds.max(1e-9)
    }
}

/// What is done with one output's rendered chunks, on the writer thread:
/// the file(s), the peaks and the loudness of the output and of its
/// dialogue bus (the dialogue items rendered alone, for dialogue-gated
/// loudness).
struct Delivery {
    sink: Sink,
    peaks: Vec<f32>,
    meter: Meter,
    dialogue_meter: Option<Meter>,
}

impl Delivery {
    /// Takes frames `lo .. hi` of a rendered chunk (and of its dialogue bus).
    fn take(&mut self, out: &[Vec<f32>], dialogue: &[Vec<f32>], lo: usize, hi: usize) -> Result<(), RenderError> {
        let slices: Vec<&[f32]> = out.iter().map(|c| &c[lo..hi]).collect();
        for (p, c) in self.peaks.iter_mut().zip(&slices) {
            *p = c.iter().fold(*p, |m, v| m.max(v.abs()));
        }
        self.sink.write(&slices)?;
        self.meter.add(&slices)?;
        if let Some(m) = self.dialogue_meter.as_mut() {
            let slices: Vec<&[f32]> = dialogue.iter().map(|c| &c[lo..hi]).collect();
            m.add(&slices)?;
        }
        Ok(())
    }
}

/// One chunk rendered to every output (and dialogue bus), with the frames
/// of it that are wanted; the buffers go round between the render loop and
/// the writer thread.
struct Rendered {
    outs: Vec<Vec<Vec<f32>>>,
    dialogue: Vec<Vec<Vec<f32>>>,
    lo: usize,
    hi: usize,
}

enum Sink {
    One(Box<Bw64Writer>),
    Split(SplitWriter),
    Discard,
}

impl Sink {
    fn write(&mut self, ch: &[&[f32]]) -> Result<(), Bw64Error> {
        match self {
            Sink::One(w) => w.write_planar(ch),
            Sink::Split(w) => w.write_planar(ch),
            Sink::Discard => Ok(()),
        }
    }
    fn finish(self) -> Result<Vec<WriteReport>, Bw64Error> {
        match self {
            Sink::One(w) => Ok(vec![(*w).finish()?]),
            Sink::Split(w) => w.finish(),
            Sink::Discard => Ok(Vec::new()),
        }
    }
}

/// The ADM description of a rendered layout: a DirectSpeakers programme
/// whose channels carry the speakers' BS.2051 labels and positions, with the
/// matching chna, so the output is itself a valid ADM file.
pub fn output_adm(layout: &Layout, rate: u32) -> (String, Chna) {
    let mut doc = Document::default();
    let n = layout.speakers.len();
    let pack = "AP_00011001".to_string();
    let mut entries = Vec::with_capacity(n);
    let mut channel_refs = Vec::with_capacity(n);
    let mut uid_refs = Vec::with_capacity(n);
    for (i, s) in layout.speakers.iter().enumerate() {
        let k = 0x1001 + i;
        let ch = format!("AC_0001{k:04x}");
        let stream = format!("AS_0001{k:04x}");
        let track = format!("AT_0001{k:04x}_01");
        let uid = format!("ATU_{:08x}", i + 1);
        let label = s.bs2051.clone().unwrap_or_else(|| s.label.clone());
        doc.channels.push(AudioChannelFormat {
            id: ch.clone(),
            name: s.label.clone(),
            type_definition: TypeDefinition::DirectSpeakers,
            frequency: Frequency {
                low_pass: s.lfe.then_some(120.0),
                high_pass: None,
            },
            blocks: vec![BlockFormat {
                id: format!("AB_0001{k:04x}_00000001"),
                rtime: None,
                duration: None,
                kind: BlockKind::DirectSpeakers(DirectSpeakersBlock {
                    speaker_labels: vec![label],
                    position: SpeakerPosition::Polar {
                        azimuth: BoundCoordinate::exact(s.azimuth),
                        elevation: BoundCoordinate::exact(s.elevation),
                        distance: BoundCoordinate::exact(s.distance),
                    },
                    screen_edge_lock: ScreenEdgeLock::default(),
                    gain: 1.0,
                    head_locked: false,
                    headphone_virtualise: None,
                }),
                origin: Origin::default(),
            }],
            deferred: None,
            origin: Origin::default(),
        });
        doc.streams.push(AudioStreamFormat {
            id: stream.clone(),
            name: s.label.clone(),
            format_label: Some("0001".into()),
            channel_ref: Some(ch.clone()),
            pack_ref: None,
            track_format_refs: vec![track.clone()],
            origin: Origin::default(),
        });
        doc.track_formats.push(AudioTrackFormat {
            id: track.clone(),
            name: s.label.clone(),
            format_label: Some("0001".into()),
            stream_ref: Some(stream),
            origin: Origin::default(),
        });
        doc.track_uids.push(AudioTrackUid {
            id: uid.clone(),
            sample_rate: Some(rate),
            bit_depth: None,
            track_format_ref: Some(track.clone()),
            channel_ref: None,
            pack_ref: Some(pack.clone()),
            origin: Origin::default(),
        });
        entries.push(ChnaEntry {
            track_index: (i + 1) as u16,
            uid: uid.clone(),
            track_ref: track,
            pack_ref: pack.clone(),
        });
        channel_refs.push(ch);
        uid_refs.push(uid);
    }
    doc.packs.push(AudioPackFormat {
        id: pack.clone(),
        name: layout.name.clone(),
        type_definition: TypeDefinition::DirectSpeakers,
        channel_refs,
        pack_refs: Vec::new(),
        absolute_distance: None,
        importance: None,
        normalization: None,
        nfc_ref_dist: None,
        screen_ref: None,
        matrix_refs: Vec::new(),
        origin: Origin::default(),
    });
    doc.objects.push(AudioObject {
        id: "AO_1001".into(),
        name: format!("{} render", layout.name),
        start: None,
        duration: None,
        dialogue: None,
        importance: None,
        interact: None,
        pack_refs: vec![pack],
        object_refs: Vec::new(),
        complementary_refs: Vec::new(),
        track_uid_refs: uid_refs,
        gain: 1.0,
        mute: false,
        head_locked: None,
        position_offset: None,
        origin: Origin::default(),
    });
    doc.contents.push(AudioContent {
        id: "ACO_1001".into(),
        name: format!("{} render", layout.name),
        language: None,
        object_refs: vec!["AO_1001".into()],
        dialogue: None,
        loudness: Vec::new(),
        origin: Origin::default(),
    });
    doc.programmes.push(AudioProgramme {
        id: "APR_1001".into(),
        name: format!("admix render to {}", layout.name),
        language: None,
        start: None,
        end: None,
        content_refs: vec!["ACO_1001".into()],
        reference_screen: None,
        loudness: Vec::new(),
        origin: Origin::default(),
    });
    doc.reindex();
    (crate::adm::writer::write(&doc), Chna::new(entries))
}

/// The ADM description of a headphone render: the BS.2094 Binaural pack
/// (`AP_00050001`, left and right channels) by reference.
pub fn binaural_adm(rate: u32) -> (String, Chna) {
    let mut doc = Document::default();
    let pack = "AP_00050001";
    let mut entries = Vec::new();
    for (i, ch) in ["AC_00050001", "AC_00050002"].iter().enumerate() {
        let uid = format!("ATU_{:08x}", i + 1);
        let track = format!("AT_{}_01", &ch[3..]);
        doc.track_uids.push(AudioTrackUid {
            id: uid.clone(),
            sample_rate: Some(rate),
            bit_depth: None,
            track_format_ref: Some(track.clone()),
            channel_ref: None,
            pack_ref: Some(pack.into()),
            origin: Origin::default(),
        });
        entries.push(ChnaEntry {
            track_index: (i + 1) as u16,
            uid,
            track_ref: track,
            pack_ref: pack.into(),
        });
    }
    doc.objects.push(AudioObject {
        id: "AO_1001".into(),
        name: "binaural render".into(),
        start: None,
        duration: None,
        dialogue: None,
        importance: None,
        interact: None,
        pack_refs: vec![pack.into()],
        object_refs: Vec::new(),
        complementary_refs: Vec::new(),
        track_uid_refs: doc.track_uids.iter().map(|u| u.id.clone()).collect(),
        gain: 1.0,
        mute: false,
        head_locked: None,
        position_offset: None,
        origin: Origin::default(),
    });
    doc.contents.push(AudioContent {
        id: "ACO_1001".into(),
        name: "binaural render".into(),
        language: None,
        object_refs: vec!["AO_1001".into()],
        dialogue: None,
        loudness: Vec::new(),
        origin: Origin::default(),
    });
    doc.programmes.push(AudioProgramme {
        id: "APR_1001".into(),
        name: "admix binaural render".into(),
        language: None,
        start: None,
        end: None,
        content_refs: vec!["ACO_1001".into()],
        reference_screen: None,
        loudness: Vec::new(),
        origin: Origin::default(),
    });
    doc.reindex();
    (crate::adm::writer::write(&doc), Chna::new(entries))
}

/// Makes the engine for one layout (CPU or GPU).
pub type EngineFactory<'a> = dyn Fn(&Layout, &Scene) -> Result<Box<dyn LayoutEngine>, RenderError> + 'a;

/// The CPU engine factory.
pub fn cpu_engine(layout: &Layout, scene: &Scene) -> Result<Box<dyn LayoutEngine>, RenderError> {
    Ok(Box::new(CpuEngine::new(layout, scene)?))
}

/// Render `scene` from `source` to every output in one pass, on the CPU.
/// `progress(frames_done, frames_total)` is called after each chunk.
pub fn render(
    scene: &mut Scene,
    source: &mut dyn AudioSource,
    outputs: &[OutputSpec],
    opts: &RenderOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<RenderReport, RenderError> {
    render_with(scene, source, outputs, opts, &cpu_engine, progress)
}

/// How many chunks the block reader may run ahead of the render.
const READ_AHEAD: usize = 4;

/// The render's position, for the thread that reads blocks ahead of it.
#[derive(Default)]
struct Pace {
    /// (first sample of the chunk being rendered, stopped)
    at: std::sync::Mutex<(i64, bool)>,
    moved: std::sync::Condvar,
}

impl Pace {
    fn state(&self) -> std::sync::MutexGuard<'_, (i64, bool)> {
        self.at.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The render is at the chunk starting at sample `c0`.
    fn reached(&self, c0: i64) {
        self.state().0 = c0;
        self.moved.notify_all();
    }

    /// The render has ended (finished or failed).
    fn stop(&self) {
        self.state().1 = true;
        self.moved.notify_all();
    }

    /// Waits until the render is at sample `at` or beyond: false when it
    /// has ended instead.
    fn wait_for(&self, at: i64) -> bool {
        let mut s = self.state();
        while !s.1 && s.0 < at {
            s = self.moved.wait(s).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        !s.1
    }
}

/// Stops a [`Pace`] when dropped.
struct StopOnDrop<'a>(&'a Pace);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// Render with engines made by `make_engine`.
pub fn render_with(
    scene: &mut Scene,
    source: &mut dyn AudioSource,
    outputs: &[OutputSpec],
    opts: &RenderOptions,
    make_engine: &EngineFactory<'_>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<RenderReport, RenderError> {
    let t0 = Instant::now();
    // the streamed items' blocks, read from the start (see scene::ObjectBlocks)
    let mut feed = scene.block_feed();
    let pace = Pace::default();
    let start = opts.start.min(scene.frames);
    let total = opts.frames.unwrap_or(scene.frames - start).min(scene.frames - start);
    let end = start + total;
    let tracks = scene.tracks as usize;

    let mut engines: Vec<Box<dyn LayoutEngine>> = Vec::with_capacity(outputs.len());
    let mut dialogues: Vec<Option<Box<dyn LayoutEngine>>> = Vec::with_capacity(outputs.len());
    let mut deliveries: Vec<Delivery> = Vec::with_capacity(outputs.len());
    for o in outputs {
        let n = o.layout.speakers.len();
        let spec = WriterSpec {
            channels: n as u16,
            sample_rate: scene.sample_rate,
            format: o.format,
            channel_mask: o.layout.channel_mask(),
            dither: o.dither,
        };
        let sink = if let Some(path) = &o.path {
            if o.split {
                // (one mono writer per label, made by the split writer)
                Sink::Split(SplitWriter::create(path, &o.layout.labels(), spec)?)
            } else {
                let mut w = Bw64Writer::create(path, spec)?;
                let (axml, chna) = match o.kind {
                    OutputKind::Speakers => output_adm(&o.layout, scene.sample_rate),
                    OutputKind::Binaural(_) => binaural_adm(scene.sample_rate),
                };
                w.set_chna(&chna)?;
                w.set_axml(axml)?;
                Sink::One(Box::new(w))
            }
        } else {
            Sink::Discard
        };
        let has_dialogue = scene.items.iter().any(|it| it.dialogue);
        let (engine, dialogue): (Box<dyn LayoutEngine>, Option<Box<dyn LayoutEngine>>) = match &o.kind {
            OutputKind::Speakers => (
                make_engine(&o.layout, scene)?,
                if has_dialogue {
                    Some(Box::new(CpuEngine::with_items(&o.layout, scene, |it| it.dialogue)?))
                } else {
                    None
                },
            ),
            OutputKind::Binaural(b) => (
                Box::new(BinauralEngine::new(scene, b)?),
                if has_dialogue {
                    Some(Box::new(BinauralEngine::with_items(scene, b, |it| it.dialogue)?))
                } else {
                    None
                },
            ),
        };
        let meter = || match o.kind {
            OutputKind::Speakers => Meter::for_layout(&o.layout, scene.sample_rate),
            OutputKind::Binaural(_) => Meter::for_binaural(scene.sample_rate),
        };
        deliveries.push(Delivery {
            sink,
            peaks: vec![0.0f32; n],
            meter: meter()?,
            // only its integrated loudness is reported
            dialogue_meter: if dialogue.is_some() {
                Some(meter()?.without_true_peak())
            } else {
                None
            },
        });
        engines.push(engine);
        dialogues.push(dialogue);
    }

    // Output frame n is the engine stream's sample n + LATENCY. Start the
    // engine early enough that the decorrelators have their full history.
    let preroll = crate::engine::decorrelate::FILTER_LEN as u64;
    let first_chunk = (start.saturating_sub(preroll) / CHUNK as u64) * CHUNK as u64;
    // the blocks that end before the first chunk are left unread
    feed.start_at(first_chunk as i64);
    for e in engines.iter_mut() {
        e.seek(first_chunk);
    }
    for d in dialogues.iter_mut().flatten() {
        d.seek(first_chunk);
    }
    let has_dialogue: Vec<bool> = dialogues.iter().map(Option::is_some).collect();
    let rendered = || Rendered {
        outs: outputs
            .iter()
            .map(|o| vec![vec![0.0f32; CHUNK]; o.layout.speakers.len()])
            .collect(),
        dialogue: outputs
            .iter()
            .zip(&has_dialogue)
            .map(|(o, &d)| {
                if d {
                    vec![vec![0.0f32; CHUNK]; o.layout.speakers.len()]
                } else {
                    Vec::new()
                }
            })
            .collect(),
        lo: 0,
        hi: 0,
    };
    let stream_end = end + LATENCY as u64;
    let frames_in = scene.frames;
    // Four threads besides rayon's: a reader decodes chunk k+1 while chunk
    // k renders, a writer writes and measures chunk k−1 meanwhile, and the
    // streamed items' blocks are parsed up to READ_AHEAD chunks ahead;
    // buffers circulate (none allocated per chunk).
    let feed_ref = &feed;
    let pace = &pace;
    let result: Result<Vec<Delivery>, RenderError> = std::thread::scope(|sc| {
        if !feed_ref.is_empty() {
            sc.spawn(move || {
                // (what the render asks for at chunk k is read ahead while
                // it renders chunk k − 1, and so on, READ_AHEAD chunks on)
                let mut until = first_chunk as i64 + 2 * CHUNK as i64;
                while until <= (stream_end + 2 * CHUNK as u64) as i64
                    && pace.wait_for(until - (READ_AHEAD * CHUNK) as i64)
                {
                    feed_ref.read_ahead(until);
                    until += CHUNK as i64;
                }
            });
        }
        let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<Result<(u64, Vec<Vec<f32>>), Bw64Error>>(2);
        let (empty_tx, empty_rx) = std::sync::mpsc::sync_channel::<Vec<Vec<f32>>>(3);
        for _ in 0..3 {
            let _ = empty_tx.send(vec![vec![0.0f32; CHUNK]; tracks]);
        }
        sc.spawn(move || {
            let mut pos = first_chunk;
            while pos < stream_end {
                let Ok(mut buf) = empty_rx.recv() else { break };
                let r = fill_chunk(source, pos, frames_in, &mut buf);
                let failed = r.is_err();
                if full_tx.send(r.map(|_| (pos, buf))).is_err() || failed {
                    break;
                }
                pos += CHUNK as u64;
            }
        });
        let (done_tx, done_rx) = std::sync::mpsc::sync_channel::<Rendered>(2);
        let (free_tx, free_rx) = std::sync::mpsc::sync_channel::<Rendered>(2);
        for _ in 0..2 {
            let _ = free_tx.send(rendered());
        }
        let writer = sc.spawn(move || -> Result<Vec<Delivery>, RenderError> {
            while let Ok(r) = done_rx.recv() {
                if r.hi > r.lo {
                    for (k, d) in deliveries.iter_mut().enumerate() {
                        d.take(&r.outs[k], &r.dialogue[k], r.lo, r.hi)?;
                    }
                }
                // the loop may have finished already: the buffers are then not needed
                let _ = free_tx.send(r);
            }
            Ok(deliveries)
        });
        // the block reader stops when the render does (at the end of this
        // scope, before it waits for the threads; even by a panic)
        let _stop = StopOnDrop(pace);
        let rendering = (|| -> Result<(), RenderError> {
            while let Ok(msg) = full_rx.recv() {
                if crate::stop::requested() {
                    return Err(RenderError::Interrupted);
                }
                let (pos, input) = msg?;
                // the writer stopped (it failed: its error is reported below)
                let Ok(mut r) = free_rx.recv() else { break };
                // the slice of this chunk that is wanted: stream samples m with
                // start + LATENCY ≤ m < end + LATENCY
                r.lo = ((start + LATENCY as u64).max(pos) - pos) as usize;
                r.hi = stream_end.min(pos + CHUNK as u64).saturating_sub(pos) as usize;
                // the streamed blocks this chunk needs (see scene::ObjectBlocks)
                let (c0, c1) = (pos as i64, (pos + CHUNK as u64) as i64);
                pace.reached(c0);
                scene
                    .feed_blocks(feed_ref, c0, c1)
                    .map_err(|e| RenderError::Metadata(e.to_string()))?;
                let scene_now: &Scene = scene;
                // Every engine (deliverables and their dialogue buses) renders
                // the chunk at once: each also splits its own work across the
                // cores, but its serial parts (a headphone fold-down's
                // convolutions, above all) would leave a core idle. Each writes
                // only its own buffers, so the results do not depend on the
                // threads; the first engine's error (in deliverable order) is
                // the one reported.
                let mut run = || -> Result<(), RenderError> {
                    use rayon::prelude::*;
                    let mut jobs = Vec::with_capacity(2 * engines.len());
                    for ((e, o), (d, od)) in engines
                        .iter_mut()
                        .zip(r.outs.iter_mut())
                        .zip(dialogues.iter_mut().zip(r.dialogue.iter_mut()))
                    {
                        jobs.push((e, o));
                        if let Some(d) = d.as_mut() {
                            jobs.push((d, od));
                        }
                    }
                    let done: Vec<Result<(), crate::engine::EngineError>> = if jobs.len() > 1 {
                        jobs.into_par_iter()
                            .map(|(e, o)| e.process_chunk(scene_now, &input, o))
                            .collect()
                    } else {
                        jobs.into_iter()
                            .map(|(e, o)| e.process_chunk(scene_now, &input, o))
                            .collect()
                    };
                    done.into_iter().collect::<Result<(), _>>()?;
                    Ok(())
                };
                run()?;
                scene.release_blocks(c1);
                if done_tx.send(r).is_err() {
                    break;
                }
                let done = pos + CHUNK as u64;
                progress((done.saturating_sub(start + LATENCY as u64)).min(total), total);
                // the reader may have finished already: the buffer is then not needed
                let _ = empty_tx.send(input);
            }
            Ok(())
        })();
        drop(done_tx);
        let written = writer
            .join()
            .map_err(|_| RenderError::Invalid("the output writer stopped unexpectedly".into()))?;
        rendering?;
        written
    });
    scene.end_block_feed(&mut feed);
    let deliveries = result?;

    let mut layouts = Vec::with_capacity(outputs.len());
    let mut gain_blocks = 0;
    let backend = engines.first().map_or_else(|| "cpu".to_string(), |e| e.backend_name());
    for ((o, d), mut e) in outputs.iter().zip(deliveries).zip(engines) {
        let reports = d.sink.finish()?;
        gain_blocks += e.blocks_computed();
        let dialogue_lufs = d.dialogue_meter.and_then(|m| m.report().integrated_lufs);
        layouts.push(LayoutReport {
            layout: o.layout.name.clone(),
            files: reports.iter().map(|r| r.path.clone()).collect(),
            labels: o.layout.labels().iter().map(|s| s.to_string()).collect(),
            peaks: d.peaks,
            clipped_samples: reports.iter().map(|r| r.clipped_samples).sum(),
            format: o.format,
            notices: e.take_notices(),
            loudness: d.meter.report(),
            dialogue_lufs,
            backend: e.backend_name(),
        });
    }
    Ok(RenderReport {
        layouts,
        frames: total,
        sample_rate: scene.sample_rate,
        wall_seconds: t0.elapsed().as_secs_f64(),
        gain_blocks,
        backend,
    })
}
