//! `admix inspect INPUT… [--adm FILE.xml] [--programme ID] [--json]`: what
//! a master holds — container, format, chunks, programmes, render items,
//! dbmd, and every notice — read from the header chunks only (the audio is
//! never touched, so a multi-gigabyte file inspects in milliseconds).
//!
//! `--json` prints one object:
//! `{"file","adm","container","format":{…},"sample_rate","tracks","frames",
//! "duration_s","chunks":[{"id","offset","size"}],"programme":{"id","name"}|null,
//! "programmes":[{"id","name"}],"counts":{kind: n},"items":[{"kind","id",
//! "name","track","blocks","cartesian","headphone_mode","dialogue","gain",
//! "content","objects","start_s","end_s"}],"dbmd":{…}|null,"notices":[{"kind",
//! "subject","message"}]}` — `track` is the 1-based input channel or null
//! for a silent track; `headphone_mode` one of off/near/mid/far or null.

use crate::CliResult;
use admix::input::{Input, open_inputs};
use admix::io::Container;
use admix::io::SampleFormat;
use admix::io::dbmd::Dbmd;
use admix::scene::{BlockSummary, RenderItem, Scene, TrackSource};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// BW64/RF64/WAV file with axml + chna; or WAV stems (channels in the
    /// order given) with --adm.
    #[arg(required = true, num_args = 1..)]
    inputs: Vec<PathBuf>,
    /// ADM XML file describing the input(s), instead of the file's axml chunk.
    #[arg(long = "adm", value_name = "FILE.xml")]
    adm: Option<PathBuf>,
    /// audioProgrammeID to select (default: the lowest ID).
    #[arg(long)]
    programme: Option<String>,
    /// Machine-readable output (see `admix inspect --help`).
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> CliResult {
    let paths: Vec<&Path> = a.inputs.iter().map(PathBuf::as_path).collect();
    let (input, mut scene) =
        open_inputs(&paths, a.adm.as_deref(), a.programme.as_deref()).map_err(|e| e.to_string())?;
    // Objects blocks are read from the file as a render would (checked, and
    // their repairs noted) without being held.
    let blocks = scene.scan_blocks().map_err(|e| format!("{}: {e}", input.adm_source))?;
    if a.json {
        let v = to_json(&paths, &input, &scene, &blocks);
        outln!("{}", serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?)?;
    } else {
        out!("{}", summary(&paths, &input, &scene))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn container_name(c: Container) -> &'static str {
    match c {
        Container::Riff => "RIFF",
        Container::Rf64 => "RF64",
        Container::Bw64 => "BW64",
    }
}

fn duration_s(scene: &Scene) -> f64 {
    if scene.sample_rate == 0 {
        0.0
    } else {
        scene.frames as f64 / f64::from(scene.sample_rate)
    }
}

fn track_number(item: &RenderItem) -> Value {
    match item.track {
        TrackSource::Channel(c) => json!(c + 1),
        TrackSource::Silent => Value::Null,
    }
}

/// (first block start, last block end) in seconds.
fn span(b: &BlockSummary) -> (Value, Value) {
    let start = b.start.map_or(Value::Null, |t| json!(t.as_f64()));
    let end = b.end.flatten().map_or(Value::Null, |e| json!(e.as_f64()));
    (start, end)
}

fn counts(scene: &Scene) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for i in &scene.items {
        *m.entry(i.kind.name()).or_insert(0) += 1;
    }
    m
}

fn dbmd_json(d: &Dbmd) -> Value {
    let atmos = d.atmos.as_ref();
    let supp = d.supplemental.as_ref();
    json!({
        "version": d.version_string(),
        "segments": d.segments.iter().map(|s| json!({
            "id": s.id, "name": s.name(), "size": s.size, "checksum_ok": s.checksum_ok,
        })).collect::<Vec<_>>(),
        "creation_tool": atmos.map(|a| a.creation_tool.clone()),
        "creation_tool_version": atmos.map(|a| {
            let [x, y, z] = a.creation_tool_version;
            format!("{x}.{y}.{z}")
        }),
        "warp_mode": atmos.map(|a| a.warp_mode.name()),
        "trims": supp.map(|s| s.trims.iter().map(|t| json!({
            "config": t.config, "auto": t.auto_trim,
        })).collect::<Vec<_>>()),
        "track_headphone_modes": supp.map(|s| s.tracks.iter().map(|t| t.mode.name()).collect::<Vec<_>>()),
    })
}

fn to_json(paths: &[&Path], input: &Input, scene: &Scene, blocks: &[BlockSummary]) -> Value {
    let first = input.readers().first();
    let format = first.map(|r| {
        let f = r.format();
        json!({
            "format_tag": f.format_tag,
            "sample_format": match f.sample_format { SampleFormat::Int => "int", SampleFormat::Float => "float" },
            "bits_per_sample": f.bits_per_sample,
            "valid_bits": f.valid_bits,
            "channel_mask": f.channel_mask,
        })
    });
    let chunks: Vec<Value> = input
        .readers()
        .iter()
        .flat_map(|r| {
            r.chunks().iter().map(move |c| {
                let mut v = json!({"id": c.id.to_string().trim_matches('\''), "offset": c.offset, "size": c.size});
                if input.readers().len() > 1 {
                    v["file"] = json!(r.path().display().to_string());
                }
                v
            })
        })
        .collect();
    let items: Vec<Value> = scene
        .items
        .iter()
        .zip(blocks)
        .map(|(i, b)| {
            let (start, end) = span(b);
            json!({
                "kind": i.kind.name(),
                "id": i.id,
                "name": i.name,
                "track": track_number(i),
                "blocks": b.count,
                "cartesian": i.cartesian,
                "headphone_mode": i.headphone_mode.map(|m| m.name()),
                "dialogue": i.dialogue,
                "gain": i.gain,
                "content": i.content_id,
                "objects": i.object_path,
                "start_s": start,
                "end_s": end,
            })
        })
        .collect();
    json!({
        "file": paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
        "adm": input.adm_source,
        "container": first.map(|r| container_name(r.container())),
        "format": format,
        "sample_rate": scene.sample_rate,
        "tracks": scene.tracks,
        "frames": scene.frames,
        "duration_s": duration_s(scene),
        "chunks": chunks,
        "programme": scene.programme,
        "programmes": scene.programmes,
        "counts": counts(scene),
        "items": items,
        "dbmd": input.dbmd.as_ref().map(dbmd_json),
        "notices": scene.notices,
    })
}

fn summary(paths: &[&Path], input: &Input, scene: &Scene) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let names = paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let fmt = input.readers().first().map_or(String::new(), |r| {
        let f = r.format();
        let kind = match f.sample_format {
            SampleFormat::Int => "PCM",
            SampleFormat::Float => "float",
        };
        format!("{}, {}-bit {kind}, ", container_name(r.container()), f.valid_bits)
    });
    let _ = writeln!(
        s,
        "{names}: {fmt}{} tracks, {} Hz, {} frames ({:.3} s)",
        scene.tracks,
        scene.sample_rate,
        scene.frames,
        duration_s(scene)
    );
    let programme = match &scene.programme {
        Some(p) if p.name.is_empty() => format!("programme {}", p.id),
        Some(p) => format!("programme {} \"{}\"", p.id, p.name),
        None => "no programme".to_string(),
    };
    let others = if scene.programmes.len() > 1 {
        format!(
            " (of {}: {})",
            scene.programmes.len(),
            scene
                .programmes
                .iter()
                .map(|p| p.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        String::new()
    };
    let _ = writeln!(s, "ADM: {}; {programme}{others}", input.adm_source);
    let counts = counts(scene);
    let by_kind = counts
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(", ");
    let silent = scene.items.iter().filter(|i| i.track == TrackSource::Silent).count();
    let _ = writeln!(
        s,
        "items: {}{}{}",
        scene.items.len(),
        if by_kind.is_empty() {
            String::new()
        } else {
            format!(" ({by_kind})")
        },
        if silent > 0 {
            format!(", {silent} silent")
        } else {
            String::new()
        }
    );
    if let Some(d) = &input.dbmd {
        let mut line = format!("dbmd {}", d.version_string());
        if let Some(a) = &d.atmos {
            let [x, y, z] = a.creation_tool_version;
            let _ = write!(
                line,
                ": {} {x}.{y}.{z}, warp mode {}",
                a.creation_tool,
                a.warp_mode.name()
            );
        }
        if let Some(sup) = &d.supplemental {
            let mut modes: BTreeMap<&str, usize> = BTreeMap::new();
            for t in &sup.tracks {
                *modes.entry(t.mode.name()).or_insert(0) += 1;
            }
            let m = modes
                .iter()
                .map(|(k, n)| format!("{k} ×{n}"))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = write!(line, "; headphone modes: {m}");
        }
        let _ = writeln!(s, "{line}");
    }
    if scene.notices.is_empty() {
        let _ = writeln!(s, "notices: none");
    } else {
        let _ = writeln!(s, "notices: {}", scene.notices.len());
        let mut kinds: Vec<(&str, usize, &str, &str)> = Vec::new();
        for n in &scene.notices {
            match kinds.iter_mut().find(|k| k.0 == n.kind) {
                Some(k) => k.1 += 1,
                None => kinds.push((n.kind, 1, n.subject.as_str(), n.message.as_str())),
            }
        }
        for (kind, count, subject, message) in kinds {
            let more = if count > 1 {
                format!(" ×{count}, e.g.")
            } else {
                String::new()
            };
            let _ = writeln!(s, "  {kind}{more} {subject}: {message}");
        }
    }
    s
}
