//! `admix gains -l LAYOUT [--type objects|direct-speakers] [--json]`: one
//! JSON block per stdin line (`{"id": …, "block": {…}}`, the schema of the
//! ear reference vectors), one answer per line, in input order:
//! `{"id","direct","diffuse"}` for objects, `{"id","gains"}` for
//! DirectSpeakers (with a `notice` when an LFE channel is dropped for want of
//! an LFE output), `{"id","error"}` for a bad line (the command goes on).
//!
//! `--backend gpu` computes Objects gains with the GPU gains kernel, one
//! dispatch per batch of lines (f32: within 1e-5 of the CPU's f64);
//! `auto` uses a hardware GPU when there is one; DirectSpeakers gains are
//! always computed on the CPU.

use crate::CliResult;
use admix::engine::gpu::{Backend, GpuGains, select};
use admix::layout::Layout;
use admix::panning::json::{direct_speakers_block, object_block};
use admix::panning::{DirectSpeakersPanner, GainCalc, Routing};
use rayon::prelude::*;
use serde_json::{Value, json};
use std::io::{BufRead, Write};
use std::process::ExitCode;

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BlockType {
    Objects,
    DirectSpeakers,
}

#[derive(clap::Args)]
pub struct Args {
    /// Layout name, alias, or path to a layout TOML file.
    #[arg(short, long)]
    layout: String,
    /// Which typeDefinition the blocks are.
    #[arg(long = "type", value_enum, default_value = "objects")]
    block_type: BlockType,
    /// One JSON object per output line (default: a readable table).
    #[arg(long)]
    json: bool,
    /// Where Objects gains are computed: cpu (f64), gpu (any adapter,
    /// software included), auto (a hardware GPU if there is one, else cpu).
    #[arg(long, default_value = "cpu")]
    backend: Backend,
}

/// Lines processed per parallel batch.
const BATCH: usize = 4096;

pub fn run(a: Args) -> CliResult {
    let layout = Layout::resolve(&a.layout).map_err(|e| e.to_string())?;
    let (objects, speakers) = match a.block_type {
        BlockType::Objects => (Some(GainCalc::new(&layout).map_err(|e| e.to_string())?), None),
        BlockType::DirectSpeakers => (
            None,
            Some(DirectSpeakersPanner::new(&layout).map_err(|e| e.to_string())?),
        ),
    };
    let mut gpu = match (a.block_type, select(a.backend).map_err(|e| e.to_string())?) {
        (BlockType::Objects, Some(ctx)) => Some(GpuGains::new(ctx, &layout).map_err(|e| e.to_string())?),
        _ => None,
    };
    let labels = layout.labels();
    let stdin = std::io::stdin().lock();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut lines = stdin.lines();
    let mut batch: Vec<String> = Vec::with_capacity(BATCH);
    let mut bad = 0usize;
    loop {
        batch.clear();
        for l in lines.by_ref() {
            let l = l.map_err(|e| format!("reading stdin: {e}"))?;
            if l.trim().is_empty() {
                continue;
            }
            batch.push(l);
            if batch.len() == BATCH {
                break;
            }
        }
        if batch.is_empty() {
            break;
        }
        let answers: Vec<Value> = if let Some(g) = gpu.as_mut() {
            gpu_answers(g, &batch)?
        } else {
            batch
                .par_iter()
                .map_init(
                    || objects.as_ref().map(|g| g.scratch()),
                    |scratch, line| answer(line, objects.as_ref(), speakers.as_ref(), scratch.as_mut()),
                )
                .collect()
        };
        for v in &answers {
            if v.get("error").is_some() {
                bad += 1;
            }
            let w = if a.json {
                writeln!(out, "{v}")
            } else {
                writeln!(out, "{}", readable(v, &labels))
            };
            if !written(w)? {
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
    if !written(out.flush())? {
        return Ok(ExitCode::SUCCESS);
    }
    if bad > 0 {
        errln!("admix: {bad} input line(s) had errors (see their \"error\" fields)");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn answer(
    line: &str,
    objects: Option<&GainCalc>,
    speakers: Option<&DirectSpeakersPanner>,
    scratch: Option<&mut admix::panning::Scratch>,
) -> Value {
    let v: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return json!({"id": Value::Null, "error": format!("not JSON: {e}")}),
    };
    let id = v.get("id").cloned().unwrap_or(Value::Null);
    if let (Some(gc), Some(scratch)) = (objects, scratch) {
        match object_block(&v) {
            Ok((block, ctx)) => {
                let n = gc.num_outputs();
                let (mut direct, mut diffuse) = (vec![0.0; n], vec![0.0; n]);
                gc.calc(&block, &ctx, scratch, &mut direct, &mut diffuse);
                json!({"id": id, "direct": direct, "diffuse": diffuse})
            }
            Err(e) => json!({"id": id, "error": e}),
        }
    } else if let Some(p) = speakers {
        match direct_speakers_block(&v) {
            Ok((block, ctx)) => {
                let mut gains = vec![0.0; p.num_outputs()];
                match p.calc(&block, &ctx, &mut gains) {
                    // all zeros: said, as a render says it
                    Routing::LfeDropped => json!({
                        "id": id,
                        "gains": gains,
                        "notice": "an LFE channel, and the layout has no LFE output: not rendered"
                    }),
                    _ => json!({"id": id, "gains": gains}),
                }
            }
            Err(e) => json!({"id": id, "error": e}),
        }
    } else {
        json!({"id": id, "error": "no panner"})
    }
}

/// One GPU dispatch for the Objects blocks of a batch; bad lines answered as on the CPU.
fn gpu_answers(g: &mut GpuGains, batch: &[String]) -> Result<Vec<Value>, String> {
    let mut answers: Vec<Value> = Vec::with_capacity(batch.len());
    let mut blocks = Vec::with_capacity(batch.len());
    let mut which = Vec::with_capacity(batch.len());
    for (i, line) in batch.iter().enumerate() {
        let v: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                answers.push(json!({"id": Value::Null, "error": format!("not JSON: {e}")}));
                continue;
            }
        };
        let id = v.get("id").cloned().unwrap_or(Value::Null);
        match object_block(&v) {
            Ok(b) => {
                blocks.push(b);
                which.push(i);
                answers.push(json!({"id": id}));
            }
            Err(e) => answers.push(json!({"id": id, "error": e})),
        }
    }
    let n = g.num_outputs();
    let gains = g.compute(&blocks).map_err(|e| e.to_string())?;
    for (k, &i) in which.iter().enumerate() {
        let row = &gains[k * 2 * n..(k + 1) * 2 * n];
        let f64s = |s: &[f32]| s.iter().map(|v| *v as f64).collect::<Vec<f64>>();
        answers[i]["direct"] = json!(f64s(&row[..n]));
        answers[i]["diffuse"] = json!(f64s(&row[n..]));
    }
    Ok(answers)
}

fn readable(v: &Value, labels: &[&str]) -> String {
    let id = match v.get("id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "-".to_string(),
        Some(o) => o.to_string(),
    };
    if let Some(e) = v.get("error") {
        return format!("{id}: error: {}", e.as_str().unwrap_or(""));
    }
    let fmt = |key: &str| -> String {
        v.get(key)
            .and_then(Value::as_array)
            .map(|g| {
                g.iter()
                    .zip(labels)
                    .filter_map(|(x, l)| x.as_f64().filter(|x| *x != 0.0).map(|x| format!("{l}={x:.6}")))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default()
    };
    if v.get("gains").is_some() {
        match v.get("notice").and_then(Value::as_str) {
            Some(n) => format!("{id}: ({n})"),
            None => format!("{id}: {}", fmt("gains")),
        }
    } else {
        let diffuse = fmt("diffuse");
        if diffuse.is_empty() {
            format!("{id}: {}", fmt("direct"))
        } else {
            format!("{id}: direct {} | diffuse {diffuse}", fmt("direct"))
        }
    }
}

/// Whether a write went through: false when stdout was closed (`| head`:
/// the command then stops quietly), an error for anything else.
fn written(r: std::io::Result<()>) -> Result<bool, String> {
    match r {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(format!("writing the output: {e}")),
    }
}
