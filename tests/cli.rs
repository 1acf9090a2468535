//! The command line, run as the built binary: demo → render (several
//! layouts and headphones in one pass, JSON report, files as announced,
//! loudness that `admix loudness` confirms), dialogue loudness equal to the
//! dialogue rendered alone, `gains` line protocol, `layouts --json`, `bench
//! --json --plot` on a small sweep, and errors as one line with exit code 2.

use crate::common::{admix, dir_names, fails, s, test_dir};
use admix::input::open_input;
use admix::io::OutputFormat;
use admix::layout::Layout;
use admix::render::{OutputKind, OutputSpec, RenderOptions, render};
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn ok(args: &[&str]) -> Output {
    let out = admix(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn demo_then_render_everything_in_one_pass() {
    let dir = test_dir("demo_render");
    let demo = dir.path().join("demo.wav");
    ok(&["demo", "-o", s(&demo), "--objects", "6", "--seconds", "3"]);
    let inspect: Value = serde_json::from_slice(&ok(&["inspect", "--json", s(&demo)]).stdout).unwrap();
    assert_eq!(inspect["counts"]["object"], 6);
    assert_eq!(inspect["counts"]["direct_speakers"], 10);
    assert_eq!(
        inspect["notices"].as_array().unwrap().len(),
        0,
        "{}",
        inspect["notices"]
    );

    let out = dir.path().join("mix.wav");
    let phones = dir.path().join("phones.wav");
    let r = ok(&[
        "render",
        s(&demo),
        "-l",
        "9.1.6,theatre,2.0",
        "-o",
        s(&out),
        "--binaural",
        s(&phones),
        "--json",
        "--target",
        "ebu-r128",
    ]);
    let v: Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["frames"], 144_000);
    let outs = v["outputs"].as_array().unwrap();
    assert_eq!(
        outs.iter().map(|o| o["layout"].as_str().unwrap()).collect::<Vec<_>>(),
        ["9.1.6", "theatre", "2.0", "binaural"]
    );
    for o in outs {
        for f in o["files"].as_array().unwrap() {
            assert!(Path::new(f.as_str().unwrap()).is_file(), "{f}");
        }
        for key in [
            "integrated_lufs",
            "loudness_range_lu",
            "true_peak_dbtp",
            "sample_peak_dbfs",
            "dialogue_lufs",
        ] {
            assert!(o[key].is_number(), "{} {key}: {}", o["layout"], o[key]);
        }
        assert_eq!(o["targets"][0]["target"], "ebu-r128");
        assert_eq!(o["clipped_samples"], 0);
    }
    assert!(dir.path().join("mix.9.1.6.wav").is_file() && dir.path().join("mix.theatre.wav").is_file());
    // The written 9.1.6 file measures what the render reported.
    let l: Value =
        serde_json::from_slice(&ok(&["loudness", "--json", s(&dir.path().join("mix.9.1.6.wav"))]).stdout).unwrap();
    assert_eq!(l["layout"], "9.1.6");
    let reported = outs[0]["integrated_lufs"].as_f64().unwrap();
    assert!(
        (l["integrated_lufs"].as_f64().unwrap() - reported).abs() < 0.01,
        "{l} vs {reported}"
    );
    // the report on stderr names the files and the loudness
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert!(
        stderr.contains("mix.theatre.wav") && stderr.contains("LUFS"),
        "{stderr}"
    );
    // the output is itself a valid ADM file
    let back: Value =
        serde_json::from_slice(&ok(&["inspect", "--json", s(&dir.path().join("mix.theatre.wav"))]).stdout).unwrap();
    assert_eq!(back["counts"]["direct_speakers"], 31);
}

#[test]
fn dialogue_loudness_is_the_dialogue_rendered_alone() {
    let dir = test_dir("dialogue_loudness");
    let demo = dir.path().join("demo.wav");
    ok(&["demo", "-o", s(&demo), "--objects", "4", "--seconds", "4"]);
    let layout = Layout::builtin("7.1.4").unwrap().unwrap();
    let spec = |p: &Path| OutputSpec {
        kind: OutputKind::Speakers,
        layout: layout.clone(),
        path: Some(p.to_path_buf()),
        format: OutputFormat::F32,
        split: false,
        dither: false,
    };
    let (mut input, mut scene) = open_input(&demo, None, None).unwrap();
    assert!(scene.items.iter().any(|it| it.dialogue));
    let full = render(
        &mut scene,
        &mut input,
        &[spec(&dir.path().join("full.wav"))],
        &RenderOptions::default(),
        &mut |_, _| {},
    )
    .unwrap();
    let dialogue = full.layouts[0].dialogue_lufs.unwrap();
    // the dialogue items alone
    let (mut input, mut alone) = open_input(&demo, None, None).unwrap();
    for it in alone.items.iter_mut().filter(|it| !it.dialogue) {
        it.gain = 0.0;
    }
    let only = render(
        &mut alone,
        &mut input,
        &[spec(&dir.path().join("alone.wav"))],
        &RenderOptions::default(),
        &mut |_, _| {},
    )
    .unwrap();
    let alone_lufs = only.layouts[0].loudness.integrated_lufs.unwrap();
    assert!(
        (dialogue - alone_lufs).abs() < 1e-6,
        "dialogue {dialogue} vs alone {alone_lufs}"
    );
    assert!(full.layouts[0].loudness.integrated_lufs.unwrap() > dialogue + 1.0);
}

#[test]
fn gains_answers_each_line_and_goes_on_after_a_bad_one() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_admix"))
        .args(["gains", "-l", "5.1", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            b"{\"id\": \"a\", \"block\": {\"position\": {\"azimuth\": 30, \"elevation\": 0}}}\n\
              not json\n\
              {\"id\": 3, \"block\": {\"cartesian\": true, \"position\": {\"X\": 1, \"Y\": -1, \"Z\": 0}, \"diffuse\": 0.25}}\n\
              {\"id\": 4, \"block\": {\"position\": {\"azimuth\": 30, \"elevation\": 0}, \"witdh\": 30}}\n\
              {\"id\": 5, \"block\": {\"position\": {\"azimuth\": 30, \"elevation\": 0, \"dist\": 2}}}\n\
              {\"id\": 6, \"block\": {\"position\": {\"azimuth\": 30, \"elevation\": 0}, \"referenceScreen\": {}}}\n",
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6);
    assert_eq!(lines[0]["id"], "a");
    // a misspelt or misplaced key is refused, not ignored (the gains would
    // be those of another block)
    for (k, part) in [
        (3, "unknown key \"witdh\" in block"),
        (4, "unknown key \"dist\" in position"),
        (5, "\"referenceScreen\" goes beside \"block\""),
    ] {
        let e = lines[k]["error"].as_str().unwrap_or_default();
        assert!(e.contains(part), "{}", lines[k]);
    }
    assert_eq!(lines[0]["direct"], serde_json::json!([1.0, 0.0, 0.0, 0.0, 0.0, 0.0]));
    assert!(lines[1]["error"].as_str().unwrap().contains("not JSON"));
    assert_eq!(lines[2]["id"], 3);
    // M-110 at allocentric (1, -1, 0): direct √0.75, diffuse √0.25 there
    let d = lines[2]["direct"][5].as_f64().unwrap();
    let f = lines[2]["diffuse"][5].as_f64().unwrap();
    assert!(
        (d - 0.75f64.sqrt()).abs() < 1e-12 && (f - 0.5).abs() < 1e-12,
        "{}",
        lines[2]
    );
}

/// A DirectSpeakers LFE channel on a layout without LFE output: zeros, and
/// a notice saying why (as a render's `lfe-dropped`); with an LFE output it
/// goes there alone, without a notice.
#[test]
fn gains_say_when_an_lfe_channel_is_dropped() {
    let line =
        b"{\"id\": 1, \"block\": {\"position\": {\"azimuth\": 0, \"elevation\": 0}, \"speakerLabel\": [\"LFE\"]}}\n";
    for (layout, want, noticed) in [
        ("2.0", vec![0.0, 0.0], true),
        ("5.1", vec![0.0, 0.0, 0.0, 1.0, 0.0, 0.0], false),
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_admix"))
            .args(["gains", "-l", layout, "--type", "direct-speakers", "--json"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(line).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["gains"], serde_json::json!(want), "{layout}");
        assert_eq!(
            v["notice"].as_str().is_some_and(|n| n.contains("no LFE output")),
            noticed,
            "{layout}: {v}"
        );
    }
}

/// `admix gains … | head`: a reader that stops early ends the command
/// quietly (exit 0), never with a panic. The answers (over 64 KiB, more
/// than a pipe holds) are written after the reading end is closed.
#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_admix"))
        .args(["gains", "-l", "9.1.6", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let line = b"{\"id\": 1, \"block\": {\"position\": {\"azimuth\": 30, \"elevation\": 0}, \"width\": 20}}\n";
    // (the command may have stopped already: a failed write here is expected)
    let _ = child.stdin.take().unwrap().write_all(&line.repeat(5_000));
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");

    // a render's JSON report to a closed stdout: the render is kept
    let dir = test_dir("closed_stdout");
    let demo = dir.path().join("demo.wav");
    let mix = dir.path().join("mix.wav");
    ok(&["demo", "-o", s(&demo), "--objects", "1", "--seconds", "0.5"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_admix"))
        .args(["render", s(&demo), "-l", "5.1", "-o", s(&mix), "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked") && mix.exists(), "{stderr}");
}

#[test]
fn layouts_json_lists_every_layout() {
    let v: Value = serde_json::from_slice(&ok(&["layouts", "--json"]).stdout).unwrap();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    for n in ["2.0", "5.1", "7.1.4", "9.1.6", "theatre", "0+5+0", "9+10+3", "4+7+0"] {
        assert!(names.contains(&n), "{n} missing");
    }
    let l916 = v.as_array().unwrap().iter().find(|l| l["name"] == "9.1.6").unwrap();
    assert_eq!(l916["speakers"].as_array().unwrap().len(), 16);
    assert_eq!(l916["speakers"][3]["lfe"], true);
}

#[test]
fn bench_json_and_plot_on_a_small_sweep() {
    let dir = test_dir("bench");
    let svg = dir.path().join("bench.svg");
    let out = ok(&[
        "bench",
        "--objects",
        "2,8",
        "--seconds",
        "0.5",
        "-l",
        "5.1",
        "--json",
        "--plot",
        s(&svg),
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["results"].as_array().unwrap();
    assert!(rows.len() >= 2);
    for r in rows {
        for key in [
            "objects",
            "layout",
            "backend",
            "adapter",
            "realtime_factor",
            "gain_blocks_per_s",
            "mix_gmacs",
        ] {
            assert!(!r[key].is_null(), "{key} missing in {r}");
        }
        assert!(r["realtime_factor"].as_f64().unwrap() > 0.0);
    }
    assert!(v["max_realtime_objects"]["cpu"].is_object() || v["max_realtime_objects"]["cpu"].is_number());
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.starts_with("<svg") && text.contains("real-time factor"),
        "not the plot"
    );
}

#[test]
fn render_errors_are_one_line_with_exit_code_2() {
    let dir = test_dir("render_errors");
    let demo = dir.path().join("demo.wav");
    ok(&["demo", "-o", s(&demo), "--objects", "1", "--seconds", "0.2"]);
    for (args, part) in [
        (vec!["render", s(&demo), "-l", "no-such-layout"], "no-such-layout"),
        (
            vec!["render", "/nonexistent/in.wav", "-l", "5.1"],
            "/nonexistent/in.wav",
        ),
        (vec!["render", s(&demo)], "nothing to render"),
        (vec!["render", s(&demo), "-l", "5.1", "--target", "loud"], "loud"),
        (vec!["render", s(&demo), "-l", "5.1", "-o", s(&demo)], "overwrite"),
        // a range outside the programme (0.2 s) would be an empty file
        (
            vec!["render", s(&demo), "-l", "5.1", "--start", "0.2"],
            "the programme is 0.200 s long",
        ),
        (
            vec!["render", s(&demo), "-l", "5.1", "--start", "00:00:05"],
            "--start 00:00:05",
        ),
        (vec!["render", s(&demo), "-l", "5.1", "--duration", "0"], "--duration 0"),
        // one file written twice, or a folder as the output
        (
            vec!["render", s(&demo), "-l", "5.1,5.1", "-o", s(&dir.path().join("o.wav"))],
            "o.5.1.wav: two outputs would both write",
        ),
        (
            vec![
                "render",
                s(&demo),
                "-l",
                "5.1",
                "--split",
                "-o",
                s(&dir.path().join("o.wav")),
                "--binaural",
                s(&dir.path().join("o.LFE.wav")),
            ],
            "o.LFE.wav: two outputs would both write",
        ),
        (
            vec!["render", s(&demo), "-l", "5.1", "-o", s(dir.path())],
            "is a folder",
        ),
        // options that would be ignored
        (
            vec!["render", s(&demo), "-l", "5.1", "--hrtf", "x.sofa"],
            "--hrtf applies",
        ),
        (
            vec!["render", s(&demo), "-l", "5.1", "--headphone-mode", "dry"],
            "--headphone-mode applies",
        ),
        (vec!["render", s(&demo), "-l", "5.1", "--dither"], "--dither applies"),
    ] {
        fails(&args, &[part]);
    }
    // the input was not touched by the refused overwrite
    assert!(open_input(&demo, None, None).is_ok());
    // nothing was written by the refused renders
    assert_eq!(dir_names(dir.path()), ["demo.wav"]);
    // a duration past the end renders what there is, with a notice
    let out = dir.path().join("end.wav");
    let r = ok(&[
        "render",
        s(&demo),
        "-l",
        "5.1",
        "-o",
        s(&out),
        "--start",
        "0.15",
        "--duration",
        "1",
        "--json",
    ]);
    let v: Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["frames"], 2400, "0.05 s at 48 kHz");
    let shortened: Vec<&Value> = v["notices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "duration-shortened")
        .collect();
    assert_eq!(shortened.len(), 1, "{}", v["notices"]);
    assert!(
        shortened[0]["message"].as_str().unwrap().contains("0.050 s rendered"),
        "{}",
        shortened[0]
    );
    assert_eq!(samples_of(&out)[0].len(), 2400);
}

#[test]
fn backend_auto_takes_a_hardware_gpu_or_the_cpu_and_says_which() {
    let dir = test_dir("backend_auto");
    let demo = dir.path().join("demo.wav");
    ok(&["demo", "-o", s(&demo), "--objects", "2", "--seconds", "0.3"]);
    let out = ok(&[
        "render",
        s(&demo),
        "-l",
        "5.1",
        "-o",
        s(&dir.path().join("o.wav")),
        "--json",
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let backend = v["backend"].as_str().unwrap();
    // a software adapter (lavapipe, device type Cpu) is used only when asked for
    assert!(
        backend.starts_with("cpu (") || (backend.starts_with("gpu: ") && !backend.ends_with("Cpu)")),
        "{backend}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("XDG_RUNTIME_DIR"), "{stderr}");
    let bad = admix(&["render", s(&demo), "-l", "5.1", "--backend", "cuda"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("expected auto, cpu or gpu"));
}

/// All samples of a rendered file, planar.
fn samples_of(p: &Path) -> Vec<Vec<f32>> {
    let mut r = admix::io::bw64::Bw64Reader::open(p).unwrap();
    let (ch, n) = (r.channels() as usize, r.frames() as usize);
    let mut v = vec![vec![0.0f32; n]; ch];
    let mut refs: Vec<&mut [f32]> = v.iter_mut().map(|c| c.as_mut_slice()).collect();
    r.read_planar(0, &mut refs).unwrap();
    v
}

#[test]
fn dolby_dbmd_headphone_modes_drive_the_binaural_render() {
    // Real Dolby Atmos Conversion Tool masters: sample 0 says "not indicated"
    // for both objects (→ mid), sample 3 "near" for both, sample 6 "far" for
    // one object and "off" for the other. The render without
    // --headphone-mode must equal the one forced to the file's mode, and
    // differ from the others.
    let Some(dir) = crate::common::samples_dir("dolby_dbmd_headphone_modes_drive_the_binaural_render") else {
        return;
    };
    let tmp = test_dir("dbmd_modes");
    let render = |file: &str, mode: Option<&str>| {
        let src = dir.join("dbmd-atmos-parser").join(file);
        let out = tmp.path().join(format!("{file}.{}.wav", mode.unwrap_or("file")));
        let mut args = vec!["render", s(&src), "--binaural", s(&out), "--format", "f32"];
        if let Some(m) = mode {
            args.extend(["--headphone-mode", m]);
        }
        ok(&args);
        samples_of(&out)
    };
    let max_diff = |a: &[Vec<f32>], b: &[Vec<f32>]| {
        a.iter()
            .zip(b)
            .flat_map(|(x, y)| x.iter().zip(y).map(|(p, q)| (p - q).abs()))
            .fold(0.0f32, f32::max)
    };
    for (file, same, others) in [
        ("sample_adm_file_0.wav", Some("mid"), &["near", "far", "off"][..]),
        ("sample_adm_file_3.wav", Some("near"), &["mid", "far", "off"][..]),
        ("sample_adm_file_6.wav", None, &["far", "off", "mid"][..]),
    ] {
        let from_file = render(file, None);
        assert!(from_file[0].iter().any(|v| *v != 0.0), "{file}: silent render");
        if let Some(m) = same {
            let d = max_diff(&from_file, &render(file, Some(m)));
            assert_eq!(
                d, 0.0,
                "{file}: dbmd modes render differently from --headphone-mode {m}: {d}"
            );
        }
        for m in others {
            let d = max_diff(&from_file, &render(file, Some(m)));
            assert!(
                d > 1e-4,
                "{file}: --headphone-mode {m} renders like the file's dbmd modes ({d})"
            );
        }
    }
}

#[test]
fn gains_on_the_gpu_backend_equal_the_reference() {
    // The same line protocol answered by gains.wgsl: every 7th case of the
    // ear 2.1.0 objects set for 4+5+0 (all groups: extent, divergence,
    // cartesian, zones, screen…) within the GPU tolerance of 2e-5.
    if admix::engine::gpu::test_context("gains_on_the_gpu_backend_equal_the_reference").is_none() {
        return;
    }
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("adm-fixtures/ear-2.1.0/objects-4+5+0.json");
    let file: Value = serde_json::from_slice(&std::fs::read(fixture).unwrap()).unwrap();
    let cases: Vec<&Value> = file["cases"].as_array().unwrap().iter().step_by(7).collect();
    let input: String = cases
        .iter()
        .map(|c| {
            // the line is the case without its answers (block, referenceScreen…)
            let mut line = (*c).clone();
            let o = line.as_object_mut().unwrap();
            o.remove("direct");
            o.remove("diffuse");
            format!("{line}\n")
        })
        .collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_admix"))
        .args(["gains", "-l", "4+5+0", "--backend", "gpu", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), cases.len());
    let mut worst = 0.0f64;
    for (c, l) in cases.iter().zip(&lines) {
        assert_eq!(l["id"], c["id"]);
        for key in ["direct", "diffuse"] {
            let (want, got) = (c[key].as_array().unwrap(), l[key].as_array().unwrap());
            assert_eq!(want.len(), got.len(), "{}", c["id"]);
            for (w, g) in want.iter().zip(got) {
                let e = (w.as_f64().unwrap() - g.as_f64().unwrap()).abs();
                assert!(e <= 2e-5, "{} {key}: want {want:?}, got {got:?}", c["id"]);
                worst = worst.max(e);
            }
        }
    }
    eprintln!("gains --backend gpu: {} cases, worst error {worst:.2e}", cases.len());
}

#[test]
fn split_writes_each_speaker_of_each_layout_as_the_whole_file_has_it() {
    let dir = test_dir("split");
    let demo = dir.path().join("demo.wav");
    ok(&["demo", "-o", s(&demo), "--objects", "3", "--seconds", "1"]);
    let whole = dir.path().join("whole.wav");
    ok(&["render", s(&demo), "-l", "5.1,2.0", "-o", s(&whole)]);
    let split = dir.path().join("st.wav");
    ok(&["render", s(&demo), "-l", "5.1,2.0", "--split", "-o", s(&split)]);
    let mut want = vec!["demo.wav".to_string()];
    for (layout, labels) in [
        ("5.1", &["L", "R", "C", "LFE", "Ls", "Rs"][..]),
        ("2.0", &["L", "R"][..]),
    ] {
        let all = samples_of(&dir.path().join(format!("whole.{layout}.wav")));
        assert_eq!(all.len(), labels.len());
        for (k, l) in labels.iter().enumerate() {
            let name = format!("st.{layout}.{l}.wav");
            let mono = samples_of(&dir.path().join(&name));
            assert_eq!(mono.len(), 1, "{name}");
            assert!(mono[0] == all[k], "{name} differs from channel {k} of the whole file");
            want.push(name);
        }
    }
    assert!(
        samples_of(&dir.path().join("whole.5.1.wav"))[0]
            .iter()
            .any(|v| *v != 0.0)
    );
    want.extend(["whole.2.0.wav".to_string(), "whole.5.1.wav".to_string()]);
    want.sort();
    assert_eq!(dir_names(dir.path()), want);
}

/// Asked to end (SIGINT, SIGTERM, SIGHUP), a render or a demo stops at the
/// next chunk, deletes what it had begun and exits with 130: no output and
/// no temporary file is left.
#[test]
fn an_interrupted_render_or_demo_leaves_no_file() {
    let dir = test_dir("interrupt");
    let demo = dir.path().join("demo.wav");
    ok(&["demo", "-o", s(&demo), "--objects", "16", "--seconds", "20"]);
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("mix.wav");
    let phones = out_dir.join("phones.wav");
    let render_args = [
        "render",
        s(&demo),
        "-l",
        "9.1.6,7.1.4,5.1",
        "--split",
        "-o",
        s(&out),
        "--binaural",
        s(&phones),
    ];
    let demo2 = out_dir.join("demo2.wav");
    let demo_args = ["demo", "-o", s(&demo2), "--objects", "16", "--seconds", "100"];
    for (args, signal) in [
        (&render_args[..], "INT"),
        (&render_args[..], "TERM"),
        (&demo_args[..], "HUP"),
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_admix"))
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // signal it once its temporary files exist (it is writing)
        let t0 = std::time::Instant::now();
        while !dir_names(&out_dir).iter().any(|n| n.contains(".admix-tmp-")) {
            assert!(t0.elapsed().as_secs() < 60, "{args:?}: no temporary file appeared");
            assert!(
                child.try_wait().unwrap().is_none(),
                "{args:?} ended before it was signalled"
            );
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let kill = Command::new("sh")
            .args(["-c", &format!("kill -{signal} {}", child.id())])
            .status()
            .unwrap();
        assert!(kill.success());
        let done = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&done.stderr);
        assert_eq!(done.status.code(), Some(130), "{args:?} {signal}: {stderr}");
        assert!(stderr.contains("interrupted"), "{stderr}");
        assert_eq!(dir_names(&out_dir), Vec::<String>::new(), "{args:?} {signal}");
    }
}

#[test]
fn demo_refuses_what_it_cannot_write_in_one_line() {
    let dir = test_dir("demo_errors");
    let out = dir.path().join("x.wav");
    for (args, part) in [
        (vec!["--objects", "0", "--no-bed"], "nothing to write"),
        (
            vec!["--objects", "1015"],
            "at most 1014 objects beside the 10-track bed",
        ),
        (
            vec!["--objects", "1025", "--no-bed"],
            "at most 1024 objects without the bed",
        ),
        (vec!["--rate", "1000000"], "--rate 1000000"),
        (vec!["--rate", "0"], "--rate 0"),
        (vec!["--seconds", "0"], "--seconds 0"),
    ] {
        let mut all = vec!["demo", "-o", s(&out)];
        all.extend(&args);
        fails(&all, &[part]);
    }
    assert_eq!(dir_names(dir.path()), Vec::<String>::new());
}

/// `loudness` says why a figure is missing as `render` does, and an
/// unknown target names the known ones.
#[test]
fn loudness_says_why_a_figure_is_missing() {
    let dir = test_dir("loudness_words");
    // 0.1 s of tones: too short for integrated loudness and its range
    let wav = crate::common::write_wav(&dir.path().join("short.wav"), 2, 4800, None, None);
    let out = ok(&["loudness", s(&wav)]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("integrated n/a (silent or under 0.4 s) | LRA n/a (under 3 s) | true peak -"),
        "{text}"
    );
    fails(
        &["loudness", s(&wav), "--target", "loud"],
        &["unknown --target \"loud\" (known: ebu-r128, atsc-a85"],
    );
}

/// A two-speaker layout file pans as BS.2127's stereo when its speakers
/// carry the BS.2051 labels M+030 and M-030; without them it is refused,
/// and the error says how to get there.
#[test]
fn a_stereo_layout_file_needs_its_bs2051_labels() {
    let dir = test_dir("stereo_toml");
    let demo = dir.path().join("demo.wav");
    ok(&["demo", "-o", s(&demo), "--objects", "1", "--seconds", "0.2"]);
    let speaker = |label: &str, az: i32, bs: &str| {
        format!("[[speaker]]\nlabel = \"{label}\"\n{bs}azimuth = {az}\nelevation = 0\n")
    };
    let plain = dir.path().join("plain.toml");
    std::fs::write(
        &plain,
        format!("name = \"plain\"\n{}{}", speaker("L", 30, ""), speaker("R", -30, "")),
    )
    .unwrap();
    let labelled = dir.path().join("labelled.toml");
    std::fs::write(
        &labelled,
        format!(
            "name = \"labelled\"\n{}{}",
            speaker("L", 30, "bs2051 = \"M+030\"\n"),
            speaker("R", -30, "bs2051 = \"M-030\"\n")
        ),
    )
    .unwrap();
    fails(
        &["render", s(&demo), "-l", s(&plain), "-o", s(&dir.path().join("p.wav"))],
        &["bs2051 = \"M+030\" and \"M-030\""],
    );
    // labelled, it renders as the built-in 2.0 does
    let (a, b) = (dir.path().join("l.wav"), dir.path().join("builtin.wav"));
    ok(&["render", s(&demo), "-l", s(&labelled), "-o", s(&a)]);
    ok(&["render", s(&demo), "-l", "2.0", "-o", s(&b)]);
    let (sa, sb) = (samples_of(&a), samples_of(&b));
    assert!(sa == sb && sa[0].iter().any(|v| *v != 0.0));
}
