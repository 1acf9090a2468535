//! End-to-end renders against ear-render's (adm-fixtures/ear-2.1.0-e2e: every
//! scene, every layout, ≤ 1e-5 absolute per sample with float output) and
//! against the EBU ADM Toolbox's render pairs (shared samples, ≤ 1e-6);
//! streaming properties: short reads of any size give identical output, a
//! jump lands on its sample, objects never reach LFE, a failed render leaves
//! no file.

use crate::common::{f32_speakers, read_all, shared_dir};
use admix::input::open_input;
use admix::io::{Bw64Error, Bw64Reader};
use admix::layout::Layout;
use admix::render::{AudioSource, OutputSpec, RenderOptions, cpu_engine, render, render_with};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Per-sample agreement with ear-render (DESIGN: f32 pipeline ≤ 1e-5, −100 dBFS).
const E2E_TOL: f32 = 1e-5;

fn e2e_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("adm-fixtures/ear-2.1.0-e2e")
}

/// Render `input` to `layout` (float) and return the channels.
fn render_file(input: &Path, layout: &Layout, dir: &Path, name: &str) -> Vec<Vec<f32>> {
    let (mut inp, mut scene) = open_input(input, None, None).unwrap_or_else(|e| panic!("{}: {e}", input.display()));
    let out = dir.join(format!("{name}.{}.wav", layout.name));
    render(
        &mut scene,
        &mut inp,
        &[f32_speakers(layout, out.clone())],
        &RenderOptions::default(),
        &mut |_, _| {},
    )
    .unwrap();
    read_all(&out)
}

fn max_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> (f32, usize, usize) {
    assert_eq!(a.len(), b.len(), "channel count");
    let mut worst = (0.0f32, 0, 0);
    for (c, (x, y)) in a.iter().zip(b).enumerate() {
        assert_eq!(x.len(), y.len(), "frame count of channel {c}");
        for (i, (p, q)) in x.iter().zip(y).enumerate() {
            let d = (p - q).abs();
            if d > worst.0 {
                worst = (d, c, i);
            }
        }
    }
    worst
}

#[test]
fn renders_equal_ear_render_on_every_scene_and_layout() {
    let dir = e2e_dir();
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).expect("e2e manifest")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for scene in manifest["scenes"].as_array().unwrap() {
        let name = scene["name"].as_str().unwrap();
        let input = dir.join(scene["input"].as_str().unwrap());
        for r in scene["renders"].as_array().unwrap() {
            let lname = r["layout"].as_str().unwrap();
            let layout = Layout::builtin(lname).unwrap().unwrap();
            let ours = render_file(&input, &layout, tmp.path(), name);
            let theirs = read_all(&dir.join(r["file"].as_str().unwrap()));
            let (d, c, i) = max_diff(&ours, &theirs);
            eprintln!("e2e {name} → {lname}: max |Δ| {d:.2e} (channel {c}, sample {i})");
            if d > E2E_TOL {
                failures.push(format!(
                    "{name} → {lname}: max |Δ| {d:e} at channel {} sample {i}: ours {} ear {}",
                    layout.speakers[c].label, ours[c][i], theirs[c][i]
                ));
            }
            // Objects never reach LFE (only DirectSpeakers LFE channels may).
            if name != "bed_5_1" && name != "impulses" {
                for (k, s) in layout.speakers.iter().enumerate().filter(|(_, s)| s.lfe) {
                    assert!(
                        ours[k].iter().all(|v| *v == 0.0),
                        "{name} → {lname}: objects reached {}",
                        s.label
                    );
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "renders differ from ear-render:\n{}",
        failures.join("\n")
    );
}

/// An AudioSource that hands out at most `max` frames per call.
struct Dribble {
    inner: Bw64Reader,
    max: usize,
}

impl AudioSource for Dribble {
    fn read_planar(&mut self, start: u64, out: &mut [&mut [f32]]) -> Result<usize, Bw64Error> {
        let n = out.first().map_or(0, |c| c.len()).min(self.max);
        let mut short: Vec<&mut [f32]> = out.iter_mut().map(|c| &mut c[..n]).collect();
        self.inner.read_planar(start, &mut short)
    }
}

#[test]
fn output_does_not_depend_on_how_the_input_arrives() {
    let dir = e2e_dir();
    let input = dir.join("objects_moving.wav");
    let layout = Layout::builtin("4+7+0").unwrap().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let reference = render_file(&input, &layout, tmp.path(), "whole");
    for max in [1usize, 7, 512, 8192] {
        let (_, mut scene) = open_input(&input, None, None).unwrap();
        let mut src = Dribble {
            inner: Bw64Reader::open(&input).unwrap(),
            max,
        };
        let out = tmp.path().join(format!("dribble{max}.wav"));
        render(
            &mut scene,
            &mut src,
            &[f32_speakers(&layout, out.clone())],
            &RenderOptions::default(),
            &mut |_, _| {},
        )
        .unwrap();
        let got = read_all(&out);
        assert_eq!(got, reference, "reads of at most {max} frames changed the output");
    }
    // A render of a range equals that range of the whole render, to the bit.
    let (mut inp, mut scene) = open_input(&input, None, None).unwrap();
    let out = tmp.path().join("range.wav");
    let opts = RenderOptions {
        start: 30_001,
        frames: Some(20_000),
    };
    render(
        &mut scene,
        &mut inp,
        &[f32_speakers(&layout, out.clone())],
        &opts,
        &mut |_, _| {},
    )
    .unwrap();
    let part = read_all(&out);
    for (c, ch) in part.iter().enumerate() {
        assert_eq!(
            ch.as_slice(),
            &reference[c][30_001..50_001],
            "channel {c} of the range render"
        );
    }
}

#[test]
fn a_jump_lands_on_its_sample() {
    // objects_moving track 2 ("jumping"): block 3 at 1.0 s has jumpPosition
    // without interpolation: its gains change exactly at sample 48000.
    let dir = e2e_dir();
    let layout = Layout::builtin("0+5+0").unwrap().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    // Render only the jumping object: a scene with the other items muted.
    let (mut inp, mut scene) = open_input(&dir.join("objects_moving.wav"), None, None).unwrap();
    let jumper = scene
        .items
        .iter()
        .position(|it| it.name == "jumping")
        .expect("jumping item");
    for (k, it) in scene.items.iter_mut().enumerate() {
        if k != jumper {
            it.gain = 0.0;
        }
    }
    let out = tmp.path().join("jump.wav");
    render(
        &mut scene,
        &mut inp,
        &[f32_speakers(&layout, out.clone())],
        &RenderOptions::default(),
        &mut |_, _| {},
    )
    .unwrap();
    let y = read_all(&out);
    let x = read_all(&dir.join("objects_moving.wav"));
    let track = match scene.items[jumper].track {
        admix::scene::TrackSource::Channel(t) => t as usize,
        _ => unreachable!(),
    };
    // Before 48000 the object is at (−30°, 30°) → mostly M-030; from 48000 at +110° → M+110 only.
    let m110 = layout.speakers.iter().position(|s| s.label == "M+110").unwrap();
    let m030r = layout.speakers.iter().position(|s| s.label == "M-030").unwrap();
    for n in 47_990..48_000 {
        assert_eq!(y[m110][n], 0.0, "M+110 before the jump at sample {n}");
        assert!(y[m030r][n].abs() > 0.0 || x[track][n] == 0.0);
    }
    for n in 48_000..48_010 {
        assert!(
            (y[m110][n] - x[track][n]).abs() < 1e-6,
            "M+110 after the jump at sample {n}"
        );
        assert_eq!(y[m030r][n], 0.0, "M-030 after the jump at sample {n}");
    }
}

/// Float outputs `broken.<layout>.wav` in `dir`, one per built-in layout.
fn broken_specs(layouts: &[&str], dir: &Path) -> Vec<OutputSpec> {
    layouts
        .iter()
        .map(|name| {
            let l = Layout::builtin(name).unwrap().unwrap();
            f32_speakers(&l, dir.join(format!("broken.{name}.wav")))
        })
        .collect()
}

/// The names of the files in `dir`.
fn files_in(dir: &Path) -> Vec<std::ffi::OsString> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect()
}

/// A source that fails after a while.
struct Failing {
    inner: Bw64Reader,
    fail_at: u64,
}

impl AudioSource for Failing {
    fn read_planar(&mut self, start: u64, out: &mut [&mut [f32]]) -> Result<usize, Bw64Error> {
        if start >= self.fail_at {
            // a read error as the disk would report it
            let mut r = Bw64Reader::open(Path::new("/nonexistent/admix-test.wav"))?;
            return r.read_planar(0, out);
        }
        self.inner.read_planar(start, out)
    }
}

#[test]
fn a_render_that_fails_midway_leaves_no_file() {
    let dir = e2e_dir();
    let input = dir.join("objects_moving.wav");
    let (_, mut scene) = open_input(&input, None, None).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("broken.wav");
    let mut src = Failing {
        inner: Bw64Reader::open(&input).unwrap(),
        fail_at: 20_000,
    };
    let specs = broken_specs(&["4+7+0", "0+2+0"], tmp.path());
    let r = render(&mut scene, &mut src, &specs, &RenderOptions::default(), &mut |_, _| {});
    assert!(r.is_err());
    let left = files_in(tmp.path());
    assert!(left.is_empty(), "files left after a failed render: {left:?}");
    assert!(!out.exists());
}

/// A CPU engine that reports an error from a given chunk on (as a GPU
/// engine does when its device is lost).
struct FailingEngine {
    inner: Box<dyn admix::engine::LayoutEngine>,
    chunks_left: usize,
}

impl admix::engine::LayoutEngine for FailingEngine {
    fn layout(&self) -> &Layout {
        self.inner.layout()
    }
    fn seek(&mut self, pos: u64) {
        self.inner.seek(pos)
    }
    fn process_chunk(
        &mut self,
        scene: &admix::scene::Scene,
        input: &[Vec<f32>],
        out: &mut [Vec<f32>],
    ) -> Result<(), admix::engine::EngineError> {
        if self.chunks_left == 0 {
            return Err(admix::engine::EngineError::Gpu(format!(
                "device lost while rendering {}",
                self.inner.layout().name
            )));
        }
        self.chunks_left -= 1;
        self.inner.process_chunk(scene, input, out)
    }
    fn take_notices(&mut self) -> Vec<admix::notice::Notice> {
        self.inner.take_notices()
    }
    fn blocks_computed(&self) -> u64 {
        self.inner.blocks_computed()
    }
    fn backend_name(&self) -> String {
        self.inner.backend_name()
    }
}

#[test]
fn an_engine_failing_midway_stops_the_render_with_its_error_and_leaves_no_file() {
    // The deliverables' engines render each chunk at the same time: one
    // failing (here 0+2+0's, from its fourth chunk) must end the render
    // with that error, whatever the other engines did, and leave nothing.
    let dir = e2e_dir();
    let input = dir.join("objects_moving.wav");
    let (mut src, mut scene) = open_input(&input, None, None).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let specs = broken_specs(&["4+7+0", "0+2+0", "0+5+0"], tmp.path());
    let factory = |l: &Layout, sc: &admix::scene::Scene| {
        let inner = cpu_engine(l, sc)?;
        let chunks_left = if l.name == "0+2+0" { 3 } else { usize::MAX };
        Ok(Box::new(FailingEngine { inner, chunks_left }) as Box<dyn admix::engine::LayoutEngine>)
    };
    let r = render_with(
        &mut scene,
        &mut src,
        &specs,
        &RenderOptions::default(),
        &factory,
        &mut |_, _| {},
    );
    let Err(e) = r else {
        panic!("the render should fail");
    };
    let err = e.to_string();
    assert!(err.contains("device lost while rendering 0+2+0"), "{err}");
    let left = files_in(tmp.path());
    assert!(left.is_empty(), "files left after a failed render: {left:?}");
}

#[test]
fn toolbox_render_pairs() {
    let Some(dir) = shared_dir("adm-samples/ebu-adm-toolbox/render") else {
        return;
    };
    let layout = Layout::builtin("0+5+0").unwrap().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_stem().unwrap().to_string_lossy().to_string();
        if name.ends_with("_0_5_0") || p.extension().is_none_or(|e| e != "wav") {
            continue;
        }
        let ours = render_file(&p, &layout, tmp.path(), &name);
        let theirs = read_all(&dir.join(format!("{name}_0_5_0.wav")));
        let (d, c, i) = max_diff(&ours, &theirs);
        eprintln!("toolbox {name}: max |Δ| {d:.2e} (channel {c}, sample {i})");
        // the expected files are 24-bit: allow their quantisation (1 LSB) on top of 1e-6
        assert!(
            d <= 1e-6 + 1.2e-7,
            "toolbox {name}: max |Δ| {d:e} at channel {c} sample {i}"
        );
        checked += 1;
    }
    assert!(checked >= 11, "only {checked} toolbox pairs checked (HOA included)");
}

#[test]
fn the_demo_master_renders_equal_ear_render() {
    // adm-fixtures/ear-2.1.0-demo: dense moving automation, extent, diffuse,
    // cartesian jumps with interpolation — rendered by ear-render 2.1.0.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("adm-fixtures/ear-2.1.0-demo");
    let tmp = tempfile::tempdir().unwrap();
    for lname in ["4+7+0", "0+2+0"] {
        let layout = Layout::builtin(lname).unwrap().unwrap();
        let ours = render_file(&dir.join("demo8.wav"), &layout, tmp.path(), "demo8");
        let theirs = read_all(&dir.join(format!("demo8.{lname}.wav")));
        let (d, c, i) = max_diff(&ours, &theirs);
        eprintln!("demo8 → {lname}: max |Δ| {d:.2e} (channel {c}, sample {i})");
        assert!(
            d <= E2E_TOL,
            "demo8 → {lname}: max |Δ| {d:e} at {} sample {i}: ours {} ear {}",
            layout.speakers[c].label,
            ours[c][i],
            theirs[c][i]
        );
        assert!(ours.iter().flatten().any(|v| v.abs() > 0.01), "demo8 → {lname}: silent");
    }
}

#[test]
fn hoa_renders_equal_ear_render() {
    // adm-fixtures/ear-2.1.0-hoa: a 3rd-order N3D set and a timed 1st-order
    // FuMa set, decoded by ear-render 2.1.0 to 4+7+0 and 9+10+3.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("adm-fixtures/ear-2.1.0-hoa");
    let tmp = tempfile::tempdir().unwrap();
    for lname in ["4+7+0", "9+10+3"] {
        let layout = Layout::builtin(lname).unwrap().unwrap();
        let ours = render_file(&dir.join("hoa.wav"), &layout, tmp.path(), "hoa");
        let theirs = read_all(&dir.join(format!("hoa.{lname}.wav")));
        let (d, c, i) = max_diff(&ours, &theirs);
        eprintln!("hoa → {lname}: max |Δ| {d:.2e} (channel {c}, sample {i})");
        assert!(
            d <= E2E_TOL,
            "hoa → {lname}: max |Δ| {d:e} at {} sample {i}: ours {} ear {}",
            layout.speakers[c].label,
            ours[c][i],
            theirs[c][i]
        );
        assert!(ours.iter().flatten().any(|v| v.abs() > 0.05), "hoa → {lname}: silent");
    }
}
