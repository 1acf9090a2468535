//! Gain calculation, one core, timed by the fastest of many passes over the
//! blocks of `benches/gains.rs`: on a shared machine the load of other
//! machines lengthens criterion's mean, less so the fastest pass.
//!
//! `cargo bench --bench gain_passes [-- LAYOUT ... [--passes N] [--extent W H]]`
//! prints, per layout and kind, the fastest and the mean pass (µs a block)
//! and the fastest pass as blocks per second. Defaults: 4+7+0, 9.1.6 and
//! theatre; 300 passes; extent 60° × 30°.

use admix::layout::Layout;
use admix::panning::{GainCalc, ObjectContext};
use std::hint::black_box;
use std::time::Instant;

#[path = "support/gain_blocks.rs"]
mod gain_blocks;

fn main() {
    let (mut layouts, mut passes, mut extent) = (Vec::new(), 300usize, (60.0, 30.0));
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut number = |what: &str| -> f64 {
            let v = args.next().and_then(|v| v.parse().ok());
            v.unwrap_or_else(|| {
                eprintln!("gain_passes: {what} needs a number");
                std::process::exit(2)
            })
        };
        match a.as_str() {
            // (cargo bench passes --bench to benches without a harness)
            "--bench" => {}
            "--passes" => passes = number("--passes").max(1.0) as usize,
            "--extent" => extent = (number("--extent"), number("--extent")),
            _ if a.starts_with("--") => {}
            _ => layouts.push(a),
        }
    }
    if layouts.is_empty() {
        layouts = ["4+7+0", "9.1.6", "theatre"].map(String::from).to_vec();
    }
    let ctx = ObjectContext::default();
    println!("layout    kind       fastest µs/block   mean µs/block   fastest blocks/s");
    for name in &layouts {
        let layout = match Layout::builtin(name) {
            Some(Ok(l)) => l,
            _ => {
                eprintln!("gain_passes: no built-in layout {name:?}");
                std::process::exit(2)
            }
        };
        let gc = GainCalc::new(&layout).expect("a built-in layout has gains");
        let _ = gc.polar_extent(); // the spreading grid, outside the timing
        for kind in ["point", "extent", "cartesian"] {
            let bs = gain_blocks::blocks(kind, 1000, extent.0, extent.1);
            let mut s = gc.scratch();
            let (mut d, mut f) = (vec![0.0; gc.num_outputs()], vec![0.0; gc.num_outputs()]);
            let (mut fastest, mut total) = (f64::INFINITY, 0.0);
            for _ in 0..passes {
                let t = Instant::now();
                for b in &bs {
                    gc.calc(black_box(b), &ctx, &mut s, &mut d, &mut f);
                }
                black_box(&d);
                let per_block = t.elapsed().as_secs_f64() / bs.len() as f64;
                fastest = fastest.min(per_block);
                total += per_block;
            }
            println!(
                "{name:<9} {kind:<10} {:>16.4} {:>15.4} {:>15.3} M",
                fastest * 1e6,
                total / passes as f64 * 1e6,
                1e-6 / fastest
            );
        }
    }
}
