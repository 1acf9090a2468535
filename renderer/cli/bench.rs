//! `admix bench [--objects 16,64,128,256,1024,4096] [-l L] [--seconds S]
//! [--backend cpu] [--json] [--plot F.svg]`: renders the demo scene at each
//! object count (from a synthetic in-memory source, outputs measured but not
//! written) and reports per row `objects, layout, backend, adapter,
//! realtime_factor, gain_blocks_per_s, mix_gmacs, peak_rss_mb`, then
//! `max_realtime_objects` per backend: the largest count that still renders
//! at ≥ 1× real time, found by bisection when the sweep brackets 1×
//! (otherwise reported as a bound: `{"at_least": n}` or `{"below": n}`).
//! `--json` prints `{"results":[…],"max_realtime_objects":{backend: n | {…}}}`;
//! `--plot` draws real-time factor against object count (log–log, one line
//! per backend) as SVG.

use crate::CliResult;
use admix::bench::{BenchRow, max_realtime_objects, run_row};
use admix::engine::gpu::{Backend, engine_factory};
use admix::layout::Layout;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Object counts to measure.
    #[arg(long, value_delimiter = ',', default_value = "16,64,128,256,1024,4096")]
    objects: Vec<usize>,
    /// Layout to render to.
    #[arg(short, long, default_value = "9.1.6")]
    layout: String,
    /// Seconds of audio per measurement.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Backends to measure (comma separated): cpu, gpu (any adapter,
    /// software included), auto.
    #[arg(long, value_delimiter = ',', default_value = "cpu")]
    backend: Vec<String>,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
    /// Draw real-time factor against object count to this SVG file.
    #[arg(long, value_name = "F.svg")]
    plot: Option<PathBuf>,
}

pub fn run(a: Args) -> CliResult {
    if !(a.seconds.is_finite() && a.seconds > 0.0) {
        return Err(format!("--seconds {}: expected a positive length", a.seconds));
    }
    if a.objects.is_empty() || a.objects.iter().any(|&n| n == 0 || n > 16_384) {
        return Err("--objects: counts between 1 and 16384".into());
    }
    let layout = Layout::resolve(&a.layout).map_err(|e| e.to_string())?;
    let mut counts = a.objects.clone();
    counts.sort_unstable();
    counts.dedup();
    let mut rows: Vec<BenchRow> = Vec::new();
    let mut best: Vec<(String, Value)> = Vec::new();
    for backend in &a.backend {
        let chosen: Backend = backend.parse()?;
        let (factory_box, _adapter) = engine_factory(chosen).map_err(|e| e.to_string())?;
        let factory = &*factory_box;
        let bar = (std::io::stderr().is_terminal() && !a.json).then(|| {
            let pb = ProgressBar::new(counts.len() as u64);
            pb.set_style(
                ProgressStyle::with_template("{spinner} bench {msg} [{bar:30}] {pos}/{len}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            pb
        });
        let first = rows.len();
        for &n in &counts {
            if let Some(pb) = &bar {
                pb.set_message(format!("{backend} {n} objects"));
            }
            rows.push(run_row(n, &layout, a.seconds, backend, factory).map_err(|e| e.to_string())?);
            if let Some(pb) = &bar {
                pb.inc(1);
            }
        }
        if let Some(pb) = bar {
            pb.finish_and_clear();
        }
        let mine: Vec<(usize, f64)> = rows[first..].iter().map(|r| (r.objects, r.realtime_factor)).collect();
        let lo = mine.iter().filter(|(_, f)| *f >= 1.0).map(|(n, _)| *n).max();
        let hi = mine
            .iter()
            .filter(|(_, f)| *f < 1.0)
            .map(|(n, _)| *n)
            .filter(|n| lo.is_none_or(|l| *n > l))
            .min();
        let verdict = match (lo, hi) {
            (Some(lo), Some(hi)) => {
                let n = max_realtime_objects(lo, hi, &layout, a.seconds, backend, factory, 8, &mut rows)
                    .map_err(|e| e.to_string())?;
                json!(n)
            }
            (Some(lo), None) => json!({"at_least": lo}),
            (None, Some(hi)) => json!({"below": hi}),
            (None, None) => Value::Null,
        };
        best.push((backend.clone(), verdict));
    }
    rows.sort_by(|a, b| (a.backend.as_str(), a.objects).cmp(&(b.backend.as_str(), b.objects)));
    if let Some(p) = &a.plot {
        plot(p, &rows, &layout.name).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    let best_json: serde_json::Map<String, Value> = best.into_iter().collect();
    if a.json {
        outln!("{}", json!({"results": rows, "max_realtime_objects": best_json}))?;
    } else {
        outln!(
            "{:>7} {:<9} {:<8} {:>10} {:>12} {:>9} {:>8}  adapter",
            "objects",
            "layout",
            "backend",
            "realtime×",
            "gainblk/s",
            "mixGMAC/s",
            "RSS MB"
        )?;
        for r in &rows {
            outln!(
                "{:>7} {:<9} {:<8} {:>10.1} {:>12.0} {:>9.2} {:>8}  {}",
                r.objects,
                r.layout,
                r.backend,
                r.realtime_factor,
                r.gain_blocks_per_s,
                r.mix_gmacs,
                r.peak_rss_mb.map_or("-".into(), |m| format!("{m:.0}")),
                r.adapter
            )?;
        }
        for (b, v) in &best_json {
            outln!("max real-time objects ({b}): {v}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn plot(path: &std::path::Path, rows: &[BenchRow], layout: &str) -> Result<(), String> {
    use plotters::prelude::*;
    let root = SVGBackend::new(path, (800, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let xmin = rows
        .iter()
        .map(|r| r.objects as f64)
        .fold(f64::INFINITY, f64::min)
        .max(1.0);
    let xmax = rows.iter().map(|r| r.objects as f64).fold(1.0, f64::max);
    let lowest = rows.iter().map(|r| r.realtime_factor).fold(f64::INFINITY, f64::min);
    let ymin = if lowest.is_finite() {
        lowest.clamp(1e-3, 0.5)
    } else {
        0.5
    };
    let ymax = rows.iter().map(|r| r.realtime_factor).fold(1.0, f64::max) * 2.0;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("admix: real-time factor vs objects ({layout})"),
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((xmin * 0.8..xmax * 1.25).log_scale(), (ymin..ymax).log_scale())
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("objects")
        .y_desc("real-time factor (audio s / wall s)")
        .x_label_formatter(&|v| format!("{v}"))
        .y_label_formatter(&|v| format!("{v}"))
        .draw()
        .map_err(|e| e.to_string())?;
    // the real-time line
    chart
        .draw_series(LineSeries::new(
            vec![(xmin * 0.8, 1.0), (xmax * 1.25, 1.0)],
            BLACK.mix(0.4),
        ))
        .map_err(|e| e.to_string())?;
    let mut backends: Vec<&str> = rows.iter().map(|r| r.backend.as_str()).collect();
    backends.dedup();
    let colours = [BLUE, RED, GREEN, MAGENTA];
    for (i, b) in backends.iter().enumerate() {
        let mut pts: Vec<(f64, f64)> = rows
            .iter()
            .filter(|r| r.backend == *b)
            .map(|r| (r.objects as f64, r.realtime_factor))
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let c = colours[i % colours.len()];
        let adapter = rows
            .iter()
            .find(|r| r.backend == *b)
            .map_or(String::new(), |r| r.adapter.clone());
        chart
            .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(if adapter.starts_with(b) {
                adapter
            } else {
                format!("{b}: {adapter}")
            })
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c));
        chart
            .draw_series(pts.iter().map(|p| Circle::new(*p, 4, c.filled())))
            .map_err(|e| e.to_string())?;
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}
