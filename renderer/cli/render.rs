//! `admix render INPUT… -l L[,L2,…] [-o OUT] [--binaural OUT2.wav] …`:
//! renders a master to every requested deliverable in one pass (the input is
//! read once), with a progress bar on a terminal and an end-of-run report per
//! layout on stderr — peak dBFS per channel, overs, loudness (BS.1770-4),
//! dialogue loudness, targets, wall time, real-time factor, notices — and as
//! JSON on stdout with `--json`:
//!
//! `{"input","programme":{"id","name"}|null,"sample_rate","frames","duration_s",
//! "wall_s","realtime_factor","backend","gain_blocks","outputs":[{"layout",
//! "files","channels":[{"label","peak_dbfs"}],"clipped_samples","format",
//! "integrated_lufs","loudness_range_lu","true_peak_dbtp","sample_peak_dbfs",
//! "dialogue_lufs","targets":[{"target","gating","measured_lufs","delta_lu",
//! "true_peak_dbtp","loudness_ok","true_peak_ok","pass"}],"notices":[…]}],
//! "notices":[{"kind","subject","message"}]}` (dB values are null for silence).
//!
//! Exit codes: 0 rendered; 1 rendered but a `--target` failed with `--strict`;
//! 2 error; 130 interrupted (Ctrl-C, SIGTERM, SIGHUP). After an error or an
//! interruption nothing is left, under the output names or beside them.

use crate::{CliResult, fmt_db};
use admix::binaural::{BinauralOptions, RenderMode, headphone_layout};
use admix::engine::gpu::{Backend, factory_for, select};
use admix::input::open_inputs;
use admix::io::OutputFormat;
use admix::layout::Layout;
use admix::loudness::TargetCheck;
use admix::notice::Notice;
use admix::render::{OutputKind, OutputSpec, RenderOptions, RenderReport, render_with};
use admix::time::Time;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    F32,
    S24,
    S16,
}

#[derive(clap::Args)]
pub struct Args {
    /// BW64/RF64/WAV master with axml + chna; or WAV stems with --adm.
    #[arg(required = true, num_args = 1..)]
    inputs: Vec<PathBuf>,
    /// Layout name, alias or TOML path; several separated by commas.
    #[arg(short, long, value_delimiter = ',')]
    layout: Vec<String>,
    /// Output file (with several layouts, `.<layout>` is inserted before the
    /// extension). Default: next to the input, `<stem>.<layout>.wav`.
    #[arg(short, long)]
    out: Option<PathBuf>,
    /// Also write the 2-channel headphone fold-down to this file.
    #[arg(long, value_name = "OUT.wav")]
    binaural: Option<PathBuf>,
    /// A personal HRTF set (SOFA / AES69) for --binaural.
    #[arg(long, value_name = "FILE.sofa")]
    hrtf: Option<PathBuf>,
    /// Virtual speaker layout of the fold-down (default: binaural-virtual).
    #[arg(long, value_name = "LAYOUT")]
    virtual_layout: Option<String>,
    /// Headphone render mode for every item (default: per item from the
    /// master's headphone metadata, else mid): off | dry | near | mid | far.
    #[arg(long, value_name = "MODE")]
    headphone_mode: Option<String>,
    /// ADM XML describing the input(s) instead of the axml chunk.
    #[arg(long = "adm", value_name = "FILE.xml")]
    adm: Option<PathBuf>,
    /// audioProgrammeID to render (default: the lowest ID).
    #[arg(long)]
    programme: Option<String>,
    /// auto (a hardware GPU if there is one, else the CPU), cpu, or gpu (any
    /// adapter, a software one included).
    #[arg(long, default_value = "auto")]
    backend: String,
    /// Sample format of the output.
    #[arg(long, value_enum, default_value = "f32")]
    format: Format,
    /// TPDF dither for s24/s16 output.
    #[arg(long)]
    dither: bool,
    /// One mono WAV per speaker, `<stem>.<label>.wav`.
    #[arg(long)]
    split: bool,
    /// Start time: seconds (`12.5`) or `hh:mm:ss.fff`.
    #[arg(long, value_name = "T")]
    start: Option<String>,
    /// Duration: seconds or `hh:mm:ss.fff`.
    #[arg(long, value_name = "T")]
    duration: Option<String>,
    /// Loudness targets to check (comma separated): ebu-r128, atsc-a85, arib-tr-b32, netflix.
    #[arg(long, value_delimiter = ',')]
    target: Vec<String>,
    /// Exit with code 1 when a target is missed.
    #[arg(long)]
    strict: bool,
    /// Report as JSON on stdout.
    #[arg(long)]
    json: bool,
}

fn parse_time(s: &str) -> Result<Time, String> {
    if s.contains(':') {
        Time::parse(s).map_err(|e| e.to_string())
    } else {
        Time::parse_decimal_seconds(s).map_err(|e| e.to_string())
    }
}

/// `OUT` with `.<tag>` inserted before the extension.
fn tagged(out: &Path, tag: &str) -> PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = out
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_else(|| "wav".into());
    out.with_file_name(format!("{stem}.{tag}.{ext}"))
}

/// Work started ahead on its own thread (the search for a GPU, the built-in
/// HRTF set), waited for when dropped: an early error does not end the
/// process while a driver or a SOFA file is mid-load.
struct Ahead<T>(Option<std::thread::JoinHandle<T>>);

impl<T: Send + 'static> Ahead<T> {
    fn start(work: impl FnOnce() -> T + Send + 'static) -> Ahead<T> {
        Ahead(Some(std::thread::spawn(work)))
    }

    /// Its result; `None` if the thread panicked.
    fn join(mut self) -> Option<T> {
        self.0.take().and_then(|h| h.join().ok())
    }
}

impl<T> Drop for Ahead<T> {
    fn drop(&mut self) {
        if let Some(h) = self.0.take() {
            let _ = h.join();
        }
    }
}

pub fn run(a: Args) -> CliResult {
    if a.layout.is_empty() && a.binaural.is_none() {
        return Err("nothing to render: give -l LAYOUT and/or --binaural OUT.wav".into());
    }
    let targets = crate::targets(&a.target)?;
    // options of a deliverable that is not asked for would be ignored: refused
    if a.binaural.is_none() {
        for (given, name) in [
            (a.hrtf.is_some(), "--hrtf"),
            (a.virtual_layout.is_some(), "--virtual-layout"),
            (a.headphone_mode.is_some(), "--headphone-mode"),
        ] {
            if given {
                return Err(format!(
                    "{name} applies to the headphone fold-down: give --binaural OUT.wav as well"
                ));
            }
        }
    }
    if a.dither && a.format == Format::F32 {
        return Err(
            "--dither applies to integer output: give --format s24 or s16 (float output is not dithered)".into(),
        );
    }
    let mode_override = match a.headphone_mode.as_deref() {
        None => None,
        Some(m) => Some(
            RenderMode::parse(m)
                .ok_or_else(|| format!("--headphone-mode {m:?}: expected off, dry, near, mid or far"))?,
        ),
    };
    let layouts: Vec<Layout> = a
        .layout
        .iter()
        .map(|l| Layout::resolve(l).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let paths: Vec<&Path> = a.inputs.iter().map(PathBuf::as_path).collect();
    // looking for a GPU (loading drivers, ~0.1 s) overlaps the opening
    let backend: Backend = a.backend.parse()?;
    let probe = Ahead::start(move || select(backend));
    // so does opening the built-in HRTF set (~0.25 s), at the rate in the
    // first input's header (the render takes it from the shared cache; an
    // unreadable header is left for the opening to report)
    let _hrtf = (a.binaural.is_some() && a.hrtf.is_none())
        .then(|| admix::io::bw64::Bw64Reader::open(&a.inputs[0]).ok())
        .flatten()
        .map(|r| r.sample_rate())
        .map(|rate| {
            Ahead::start(move || {
                let _ = admix::binaural::hrtf::Hrtf::default_shared(rate);
            })
        });
    let (mut input, mut scene) =
        open_inputs(&paths, a.adm.as_deref(), a.programme.as_deref()).map_err(|e| e.to_string())?;

    let format = match a.format {
        Format::F32 => OutputFormat::F32,
        Format::S24 => OutputFormat::S24,
        Format::S16 => OutputFormat::S16,
    };
    let first = &a.inputs[0];
    let mut outputs = Vec::new();
    for l in &layouts {
        let path = match &a.out {
            Some(o) if layouts.len() == 1 => o.clone(),
            Some(o) => tagged(o, &l.name),
            None => tagged(&first.with_extension("wav"), &l.name),
        };
        outputs.push(OutputSpec {
            kind: OutputKind::Speakers,
            layout: l.clone(),
            path: Some(path),
            format,
            split: a.split,
            dither: a.dither,
        });
    }
    if let Some(b) = &a.binaural {
        outputs.push(OutputSpec {
            kind: OutputKind::Binaural(BinauralOptions {
                hrtf: a.hrtf.clone(),
                virtual_layout: a.virtual_layout.clone(),
                mode_override,
            }),
            layout: headphone_layout(),
            path: Some(b.clone()),
            format,
            split: false,
            dither: a.dither,
        });
    }
    // Refuse to write over the input, over a folder, or one file twice.
    let mut written: Vec<PathBuf> = Vec::new();
    for o in &outputs {
        let Some(out) = &o.path else { continue };
        let files: Vec<PathBuf> = if o.split {
            o.layout
                .labels()
                .iter()
                .map(|l| admix::io::writer::SplitWriter::split_path(out, l))
                .collect()
        } else {
            vec![out.clone()]
        };
        for f in files {
            if paths.iter().any(|p| same_file(p, &f)) {
                return Err(format!("{}: output would overwrite the input", f.display()));
            }
            if f.is_dir() {
                return Err(format!("{}: is a folder; give the output a file name", f.display()));
            }
            let key = target_key(&f);
            if written.contains(&key) {
                return Err(format!(
                    "{}: two outputs would both write this file (a layout given twice, or --binaural naming a speaker output?)",
                    f.display()
                ));
            }
            written.push(key);
        }
    }

    let rate = scene.sample_rate;
    let start = match &a.start {
        Some(s) => parse_time(s)?.to_sample_ceil(rate).max(0) as u64,
        None => 0,
    };
    let frames = match &a.duration {
        Some(s) => Some(parse_time(s)?.to_sample_ceil(rate).max(0) as u64),
        None => None,
    };
    // a range outside the programme renders nothing: refused, not an empty file
    let seconds = |f: u64| f as f64 / f64::from(rate);
    if let Some(t) = &a.start
        && start >= scene.frames
    {
        return Err(format!(
            "--start {t}: the programme is {:.3} s long: nothing to render from there",
            seconds(scene.frames)
        ));
    }
    if let Some(f) = frames {
        let d = a.duration.as_deref().unwrap_or_default();
        if f == 0 {
            return Err(format!(
                "--duration {d}: nothing to render (give a duration above zero)"
            ));
        }
        let left = scene.frames - start;
        if f > left {
            scene.notices.push(Notice::new(
                "duration-shortened",
                paths.first().map(|p| p.display().to_string()).unwrap_or_default(),
                format!(
                    "--duration {d} runs past the end of the programme: {:.3} s rendered, from {:.3} s to the end at {:.3} s",
                    seconds(left),
                    seconds(start),
                    seconds(scene.frames)
                ),
            ));
        }
    }
    let opts = RenderOptions { start, frames };

    let bar = if std::io::stderr().is_terminal() && !a.json {
        let total = frames.unwrap_or(scene.frames.saturating_sub(start));
        let pb = ProgressBar::new(total);
        pb.set_style(
            ProgressStyle::with_template("{spinner} rendering [{bar:40}] {percent}% {elapsed_precise} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        Some(pb)
    } else {
        None
    };
    let mut progress = |done: u64, _total: u64| {
        if let Some(pb) = &bar {
            pb.set_position(done);
        }
    };
    let ctx = probe
        .join()
        .ok_or("the search for a GPU stopped unexpectedly")?
        .map_err(|e| e.to_string())?;
    let (factory, _adapter) = factory_for(ctx);
    let report =
        render_with(&mut scene, &mut input, &outputs, &opts, &*factory, &mut progress).map_err(|e| e.to_string())?;
    if let Some(pb) = bar {
        pb.finish_and_clear();
    }

    let mut failed = false;
    let checks: Vec<Vec<TargetCheck>> = report
        .layouts
        .iter()
        .map(|l| {
            targets
                .iter()
                .map(|t| {
                    let c = t.check(&l.loudness, l.dialogue_lufs);
                    failed |= !c.pass;
                    c
                })
                .collect()
        })
        .collect();
    let all_notices: Vec<&Notice> = scene
        .notices
        .iter()
        .chain(report.layouts.iter().flat_map(|l| l.notices.iter()))
        .collect();
    if a.json {
        outln!("{}", to_json(&a.inputs[0], &scene, &report, &checks))?;
    }
    errout!("{}", summary(&scene, &report, &checks, &all_notices));
    Ok(if failed && a.strict {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Where a file to be written will be: its folder made absolute (symbolic
/// links resolved) and its name, to tell two names for one file apart from
/// two files.
fn target_key(p: &Path) -> PathBuf {
    let dir = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let dir = dir.canonicalize().unwrap_or(dir);
    match p.file_name() {
        Some(n) => dir.join(n),
        None => dir,
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

fn db(x: Option<f64>) -> Value {
    x.filter(|v| v.is_finite())
        .map_or(Value::Null, |v| json!((v * 100.0).round() / 100.0))
}

fn to_json(input: &Path, scene: &admix::scene::Scene, r: &RenderReport, checks: &[Vec<TargetCheck>]) -> Value {
    json!({
        "input": input.display().to_string(),
        "programme": scene.programme.as_ref().map(|p| json!({"id": p.id, "name": p.name})),
        "sample_rate": r.sample_rate,
        "frames": r.frames,
        "duration_s": r.duration_seconds(),
        "wall_s": r.wall_seconds,
        "realtime_factor": r.realtime_factor(),
        "backend": r.backend,
        "gain_blocks": r.gain_blocks,
        "outputs": r.layouts.iter().zip(checks).map(|(l, c)| json!({
            "layout": l.layout,
            "files": l.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
            "channels": l.labels.iter().zip(l.peaks_dbfs()).map(|(lab, p)| json!({"label": lab, "peak_dbfs": db(Some(p))})).collect::<Vec<_>>(),
            "clipped_samples": l.clipped_samples,
            "format": format!("{:?}", l.format).to_lowercase(),
            "integrated_lufs": db(l.loudness.integrated_lufs),
            "loudness_range_lu": db(l.loudness.loudness_range_lu),
            "true_peak_dbtp": db(l.loudness.true_peak_dbtp),
            "sample_peak_dbfs": db(l.loudness.sample_peak_dbfs),
            "dialogue_lufs": db(l.dialogue_lufs),
            "targets": c,
            "backend": l.backend,
            "notices": l.notices,
        })).collect::<Vec<_>>(),
        "notices": scene.notices,
    })
}

fn summary(scene: &admix::scene::Scene, r: &RenderReport, checks: &[Vec<TargetCheck>], notices: &[&Notice]) -> String {
    let mut s = String::new();
    use std::fmt::Write;
    let has_dialogue = scene.items.iter().any(|i| i.dialogue);
    let _ = writeln!(
        s,
        "rendered {:.2} s of audio in {:.2} s ({:.1}x real time, {})",
        r.duration_seconds(),
        r.wall_seconds,
        r.realtime_factor(),
        r.backend
    );
    if let Some(p) = &scene.programme {
        let _ = writeln!(s, "programme {} \"{}\"", p.id, p.name);
    }
    for (l, c) in r.layouts.iter().zip(checks) {
        let files: Vec<String> = l.files.iter().map(|f| f.display().to_string()).collect();
        let _ = writeln!(s, "{}: {}", l.layout, files.join(", "));
        let peaks: Vec<String> = l
            .labels
            .iter()
            .zip(l.peaks_dbfs())
            .map(|(lab, p)| {
                format!(
                    "{lab} {}",
                    if p.is_finite() {
                        format!("{p:.1}")
                    } else {
                        "-inf".into()
                    }
                )
            })
            .collect();
        let _ = writeln!(s, "  peak dBFS: {}", peaks.join("  "));
        if l.clipped_samples > 0 {
            let _ = writeln!(s, "  OVERS: {} samples clipped in integer output", l.clipped_samples);
        }
        let _ = writeln!(
            s,
            "  loudness {} | LRA {} | true peak {} | dialogue {}",
            fmt_db(l.loudness.integrated_lufs, "LUFS", "n/a (silent or under 0.4 s)"),
            fmt_db(l.loudness.loudness_range_lu, "LU", "n/a (under 3 s)"),
            fmt_db(l.loudness.true_peak_dbtp, "dBTP", "-inf"),
            if has_dialogue {
                fmt_db(l.dialogue_lufs, "LUFS", "n/a (silent)")
            } else {
                "none marked in the ADM".to_string()
            }
        );
        for t in c {
            let _ = writeln!(s, "  target {}: {t}", t.target);
        }
    }
    let mut kinds: Vec<(&str, usize, &str)> = Vec::new();
    for n in notices {
        match kinds.iter_mut().find(|(k, _, _)| *k == n.kind) {
            Some(e) => e.1 += 1,
            None => kinds.push((n.kind, 1, &n.message)),
        }
    }
    for (k, count, example) in kinds {
        let _ = writeln!(s, "notice {k} ×{count}: {example}");
    }
    s
}
