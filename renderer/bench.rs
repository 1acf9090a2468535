//! The object-count benchmark behind `admix bench` and the criterion
//! end-to-end bench: the demo scene at N objects rendered from a synthetic
//! in-memory source (so no multi-gigabyte input file is needed and reading
//! costs nothing), outputs measured but not written. Reports real-time
//! factor, gain blocks per second, nominal mix GMAC/s and peak RSS per row,
//! and finds the largest object count that still renders in real time.

use crate::adm::xml;
use crate::demo::{DemoSpec, document, track_count};
use crate::io::Bw64Error;
use crate::layout::Layout;
use crate::render::{AudioSource, EngineFactory, OutputKind, OutputSpec, RenderError, RenderOptions, render_with};
use crate::scene::{Scene, SceneOptions, TrackTable, build};
use serde::Serialize;

/// One measured configuration.
#[derive(Clone, Debug, Serialize)]
pub struct BenchRow {
    pub objects: usize,
    pub layout: String,
    pub backend: String,
    pub adapter: String,
    pub seconds: f64,
    pub wall_s: f64,
    pub realtime_factor: f64,
    pub gain_blocks_per_s: f64,
    /// Nominal mix rate: tracks × speakers × samples / wall time (a dense
    /// matrix would need this many multiply-adds).
    pub mix_gmacs: f64,
    /// Peak resident memory during the row (MB), where the OS tells.
    pub peak_rss_mb: Option<f64>,
}

/// The demo scene with `objects` objects and its 7.1.2 bed, `seconds` long.
pub fn demo_scene(objects: usize, seconds: f64, rate: u32) -> Result<Scene, String> {
    let spec = DemoSpec {
        objects,
        seconds,
        sample_rate: rate,
        bed: true,
    };
    let frames = (seconds * rate as f64).round().max(1.0) as u64;
    let (doc, chna) = document(&spec, frames);
    // through the XML, so the common definitions the bed references resolve
    let text = crate::adm::writer::write(&doc);
    let (doc, _) = xml::parse(&text, "demo").map_err(|e| e.to_string())?;
    build(
        &doc,
        &TrackTable {
            sample_rate: rate,
            frames,
            channels: track_count(&spec) as u32,
            chna: Some(chna.entries),
            headphone_modes: Vec::new(),
        },
        &SceneOptions::default(),
        None,
    )
    .map_err(|e| e.to_string())
}

/// A cheap synthetic input: each track reads a shared second of noise at
/// its own offset.
pub struct SynthSource {
    table: Vec<f32>,
    frames: u64,
}

impl SynthSource {
    pub fn new(frames: u64, rate: u32) -> Self {
        let mut s = 0x2545_F491_4F6C_DD1Du64;
        let table = (0..rate as usize)
            .map(|_| ((crate::rng::xorshift64(&mut s) >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.1)
            .collect();
        SynthSource { table, frames }
    }
}

impl AudioSource for SynthSource {
    fn read_planar(&mut self, start: u64, out: &mut [&mut [f32]]) -> Result<usize, Bw64Error> {
        let n = out
            .first()
            .map_or(0, |c| c.len())
            .min(self.frames.saturating_sub(start) as usize);
        let len = self.table.len();
        for (t, ch) in out.iter_mut().enumerate() {
            let mut pos = ((start as usize).wrapping_add(t * 7919)) % len;
            let mut done = 0;
            while done < n {
                let take = (len - pos).min(n - done);
                ch[done..done + take].copy_from_slice(&self.table[pos..pos + take]);
                done += take;
                pos = 0;
            }
        }
        Ok(n)
    }
}

/// Peak resident set size of this process since the last reset (Linux).
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Reset the peak-RSS mark (Linux ≥ 4.0; ignored elsewhere).
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Render the demo scene with `objects` objects for `seconds` to `layout`.
pub fn run_row(
    objects: usize,
    layout: &Layout,
    seconds: f64,
    backend: &str,
    make_engine: &EngineFactory<'_>,
) -> Result<BenchRow, RenderError> {
    let rate = 48000;
    let mut scene = demo_scene(objects, seconds, rate).map_err(RenderError::Invalid)?;
    let mut src = SynthSource::new(scene.frames, rate);
    let out = OutputSpec {
        kind: OutputKind::Speakers,
        layout: layout.clone(),
        path: None,
        format: crate::io::OutputFormat::F32,
        split: false,
        dither: false,
    };
    reset_peak_rss();
    let r = render_with(
        &mut scene,
        &mut src,
        &[out],
        &RenderOptions::default(),
        make_engine,
        &mut |_, _| {},
    )?;
    let samples = r.frames as f64;
    let tracks = scene.tracks as f64;
    Ok(BenchRow {
        objects,
        layout: layout.name.clone(),
        backend: backend.to_string(),
        adapter: r.backend.clone(),
        seconds: r.duration_seconds(),
        wall_s: r.wall_seconds,
        realtime_factor: r.realtime_factor(),
        gain_blocks_per_s: r.gain_blocks as f64 / r.wall_seconds.max(1e-9),
        mix_gmacs: tracks * layout.speakers.len() as f64 * samples / r.wall_seconds.max(1e-9) / 1e9,
        peak_rss_mb: peak_rss_mb(),
    })
}

/// The largest object count that renders at ≥ 1× real time, by bisection
/// between `lo` (known to be real time) and `hi` (known not to be), to
/// within 5 % or `steps` renders.
#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename them
pub fn max_realtime_objects(
    mut lo: usize,
    mut hi: usize,
    layout: &Layout,
    seconds: f64,
    backend: &str,
    make_engine: &EngineFactory<'_>,
    steps: usize,
    rows: &mut Vec<BenchRow>,
) -> Result<usize, RenderError> {
    for _ in 0..steps {
        if hi <= lo + 1 || (hi as f64) < lo as f64 * 1.05 {
            break;
        }
        let mid = ((lo as f64 * hi as f64).sqrt().round() as usize).clamp(lo + 1, hi - 1);
        let row = run_row(mid, layout, seconds, backend, make_engine)?;
        let ok = row.realtime_factor >= 1.0;
        rows.push(row);
        if ok {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}
