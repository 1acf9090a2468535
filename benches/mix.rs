//! The CPU mix kernels on cache-resident blocks: 128 inputs into 16 outputs,
//! 1,024 samples, constant and ramped gains, for the plain loops and the
//! variant chosen at run time (AVX2/AVX-512). Throughput in multiply-adds:
//! objects × speakers × samples per iteration (GMAC/s = Gelem/s).

use admix::engine::mixer::Kernels;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let (inputs, outputs, n) = (128usize, 16usize, 1024usize);
    let x: Vec<Vec<f32>> = (0..inputs)
        .map(|i| (0..n).map(|t| ((i * 31 + t * 7) % 101) as f32 / 101.0 - 0.5).collect())
        .collect();
    let mut acc = vec![vec![0.0f32; n]; outputs];
    let mut g = c.benchmark_group("mix/128x16x1024");
    g.throughput(Throughput::Elements((inputs * outputs * n) as u64));
    for (name, k) in [("scalar", Kernels::scalar()), ("detected", Kernels::detect())] {
        g.bench_function(format!("{name}({})/constant", k.name), |b| {
            b.iter(|| {
                for (s, a) in acc.iter_mut().enumerate() {
                    for (i, xi) in x.iter().enumerate() {
                        (k.constant)(a, xi, 0.001 * (i + s) as f32);
                    }
                }
                black_box(&acc);
            })
        });
        g.bench_function(format!("{name}({})/ramp", k.name), |b| {
            b.iter(|| {
                for (s, a) in acc.iter_mut().enumerate() {
                    for (i, xi) in x.iter().enumerate() {
                        (k.ramp)(a, xi, 0.001 * (i + s) as f32, 1e-6, 0);
                    }
                }
                black_box(&acc);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
