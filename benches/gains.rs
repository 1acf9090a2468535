//! Gain calculation throughput, one core: object blocks per second for
//! point sources, extent 60° × 30° and cartesian (allocentric) sources,
//! per layout (libear on this machine: 1.65 M point-source and 0.47 M
//! extent blocks/s on 4+7+0; ear (Python) ~5,000). `gain_passes` times the
//! same blocks by their fastest pass, which a shared machine's load
//! disturbs less than criterion's mean.

use admix::layout::Layout;
use admix::panning::{GainCalc, ObjectContext};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

#[path = "support/gain_blocks.rs"]
mod gain_blocks;

fn bench(c: &mut Criterion) {
    let ctx = ObjectContext::default();
    for layout in ["4+7+0", "9.1.6", "theatre"] {
        let l = Layout::builtin(layout).unwrap().unwrap();
        let gc = GainCalc::new(&l).unwrap();
        let _ = gc.polar_extent(); // build the spreading grid outside the timing
        let mut g = c.benchmark_group(format!("gains/layout={layout}"));
        for kind in ["point", "extent", "cartesian"] {
            let bs = gain_blocks::blocks(kind, 1000, 60.0, 30.0);
            let mut s = gc.scratch();
            let (mut d, mut f) = (vec![0.0; gc.num_outputs()], vec![0.0; gc.num_outputs()]);
            g.throughput(Throughput::Elements(bs.len() as u64));
            g.bench_function(kind, |b| {
                b.iter(|| {
                    for blk in &bs {
                        gc.calc(black_box(blk), &ctx, &mut s, &mut d, &mut f);
                    }
                    black_box(&d);
                })
            });
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(2)).warm_up_time(std::time::Duration::from_millis(500));
    targets = bench
}
criterion_main!(benches);
