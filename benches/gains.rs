//! Gain calculation throughput, one core: object blocks per second for
//! point sources, extent 60° × 30° and cartesian (allocentric) sources,
//! per layout. (libear on this machine: 1.65 M point-source and 0.47 M
//! extent blocks/s on 4+7+0; ear (Python) ~5,000.)

use admix::adm::elements::{ObjectBlock, ObjectPosition};
use admix::layout::Layout;
use admix::panning::{GainCalc, ObjectContext};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

/// Deterministic pseudo-random numbers in [0, 1) (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn blocks(kind: &str, n: usize) -> Vec<ObjectBlock> {
    let mut r = Rng(0x9E3779B97F4A7C15);
    (0..n)
        .map(|_| match kind {
            "cartesian" => ObjectBlock {
                position: ObjectPosition::Cartesian {
                    x: r.next() * 2.0 - 1.0,
                    y: r.next() * 2.0 - 1.0,
                    z: r.next() * 2.0 - 1.0,
                },
                cartesian: true,
                ..ObjectBlock::default()
            },
            _ => ObjectBlock {
                position: ObjectPosition::Polar {
                    azimuth: r.next() * 360.0 - 180.0,
                    elevation: r.next() * 180.0 - 90.0,
                    distance: 1.0,
                },
                width: if kind == "extent" { 60.0 } else { 0.0 },
                height: if kind == "extent" { 30.0 } else { 0.0 },
                ..ObjectBlock::default()
            },
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let ctx = ObjectContext::default();
    for layout in ["4+7+0", "9.1.6", "theatre"] {
        let l = Layout::builtin(layout).unwrap().unwrap();
        let gc = GainCalc::new(&l).unwrap();
        let _ = gc.polar_extent(); // build the spreading grid outside the timing
        let mut g = c.benchmark_group(format!("gains/layout={layout}"));
        for kind in ["point", "extent", "cartesian"] {
            let bs = blocks(kind, 1000);
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
