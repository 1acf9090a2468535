//! CPU against GPU, labelled with the adapter: object gains per second
//! (point source, extent) per backend, mix GMAC/s (objects × speakers ×
//! samples per second), and one engine chunk end to end. Devices, buffers and
//! data are built outside the timed closures; GPU timings include the wait
//! for completion (and, for gains, the readback). Without an adapter only the
//! CPU groups run.

use admix::adm::elements::{ObjectBlock, ObjectPosition, Screen};
use admix::engine::gpu::mix::{MixParams, MixRunner, Piece, mix_mirror};
use admix::engine::gpu::{GpuContext, GpuEngine, GpuGains};
use admix::engine::mixer::Kernels;
use admix::engine::{CHUNK, CpuEngine, LayoutEngine};
use admix::layout::Layout;
use admix::panning::{GainCalc, ObjectContext};
use admix::scene::{ItemKind, RenderItem, Scene, TimedBlock, TrackSource};
use admix::time::Time;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::Arc;

#[path = "support/gain_blocks.rs"]
mod gain_blocks;
use gain_blocks::Rng;

fn blocks(kind: &str, n: usize) -> Vec<(ObjectBlock, ObjectContext)> {
    gain_blocks::blocks(kind, n, 60.0, 30.0)
        .into_iter()
        .map(|b| (b, ObjectContext::default()))
        .collect()
}

fn gpu() -> Option<Arc<GpuContext>> {
    match GpuContext::new(true) {
        Ok(Some(c)) => Some(c),
        _ => {
            eprintln!("SKIP GPU benches: no adapter");
            None
        }
    }
}

fn bench_gains(c: &mut Criterion, ctx: &Option<Arc<GpuContext>>) {
    let l = Layout::builtin("9.1.6").unwrap().unwrap();
    let gc = GainCalc::new(&l).unwrap();
    let _ = gc.polar_extent();
    for kind in ["point", "extent"] {
        let n = if kind == "point" { 4096 } else { 1024 };
        let bs = blocks(kind, n);
        let mut g = c.benchmark_group(format!("gpu-gains/layout=9.1.6/{kind}"));
        g.throughput(Throughput::Elements(n as u64));
        let mut s = gc.scratch();
        let (mut d, mut f) = (vec![0.0; gc.num_outputs()], vec![0.0; gc.num_outputs()]);
        g.bench_function("cpu-1-thread", |b| {
            b.iter(|| {
                for (blk, cx) in &bs {
                    gc.calc(black_box(blk), cx, &mut s, &mut d, &mut f);
                }
                black_box(&d);
            })
        });
        if let Some(ctx) = ctx {
            let mut k = GpuGains::new(ctx.clone(), &l).unwrap();
            k.compute(&bs).unwrap(); // compile outside the timing
            g.bench_function(format!("gpu/{}", ctx.describe()), |b| {
                b.iter(|| black_box(k.compute(&bs).unwrap().len()))
            });
        }
        g.finish();
    }
}

fn bench_mix(c: &mut Criterion, ctx: &Option<Arc<GpuContext>>) {
    let (objects, speakers, frames) = (128usize, 16usize, CHUNK);
    let mut r = Rng(7);
    let x: Vec<f32> = (0..objects * frames).map(|_| r.next() as f32 * 2.0 - 1.0).collect();
    let gslots: Vec<f32> = (0..objects * 2 * 2 * speakers).map(|_| r.next() as f32).collect();
    let pieces: Vec<Piece> = (0..objects as u32)
        .map(|o| Piece {
            track: o,
            start: 0,
            end: frames as u32,
            slot0: 2 * o,
            slot1: 2 * o + 1,
            flags: 0,
            p0: 0.0,
            dp: 1.0 / frames as f32,
        })
        .collect();
    let mp = MixParams {
        n_pieces: objects as u32,
        stride: speakers as u32,
        t4n: (frames / 4) as u32,
        _pad: 0,
    };
    let mut g = c.benchmark_group(format!("gpu-mix/objects={objects}/speakers={speakers}/frames={frames}"));
    g.throughput(Throughput::Elements((objects * speakers * frames) as u64));
    let k = Kernels::detect();
    let mut acc = vec![vec![0.0f32; frames]; speakers];
    g.bench_function(format!("cpu-1-thread-{}", k.name), |b| {
        b.iter(|| {
            for (s, a) in acc.iter_mut().enumerate() {
                a.fill(0.0);
                for p in &pieces {
                    let o = p.track as usize;
                    let g0 = gslots[p.slot0 as usize * 2 * speakers + s];
                    let g1 = gslots[p.slot1 as usize * 2 * speakers + s];
                    (k.ramp)(a, &x[o * frames..(o + 1) * frames], g0, (g1 - g0) * p.dp, 0);
                }
            }
            black_box(&acc);
        })
    });
    let mut out = vec![0.0f32; 2 * speakers * frames];
    g.bench_function("mirror", |b| {
        b.iter(|| {
            mix_mirror(&mp, &pieces, &gslots, &x, &mut out);
            black_box(&out);
        })
    });
    if let Some(ctx) = ctx {
        let m = MixRunner::new(ctx.clone(), &mp, &pieces, &gslots, &x);
        m.run().unwrap();
        g.bench_function(format!("gpu/{}", ctx.describe()), |b| b.iter(|| m.run().unwrap()));
    }
    g.finish();
}

fn scene(objects: usize, seconds: f64) -> Scene {
    let rate = 48000u32;
    let frames = (seconds * rate as f64) as u64;
    let mut r = Rng(11);
    let block = 4800i64; // 100 ms blocks, ramped
    let items = (0..objects)
        .map(|o| {
            let n = frames as i64 / block;
            let blocks = (0..n)
                .map(|k| TimedBlock {
                    id: format!("AB_{o}_{k}"),
                    start: Time::from_samples(k * block, rate),
                    end: Some(Time::from_samples((k + 1) * block, rate)),
                    ramp_end: (k > 0).then(|| Time::from_samples((k + 1) * block, rate)),
                    block: ObjectBlock {
                        position: ObjectPosition::Polar {
                            azimuth: r.next() * 360.0 - 180.0,
                            elevation: r.next() * 60.0,
                            distance: 1.0,
                        },
                        ..ObjectBlock::default()
                    },
                })
                .collect();
            RenderItem {
                id: format!("AO_{o}"),
                name: format!("o{o}"),
                track: TrackSource::Channel(o as u32),
                gain: 1.0,
                kind: ItemKind::Object { blocks },
                headphone_mode: None,
                dialogue: false,
                content_id: None,
                object_path: Vec::new(),
                cartesian: false,
            }
        })
        .collect();
    Scene {
        sample_rate: rate,
        frames,
        tracks: objects as u32,
        programme: None,
        programmes: Vec::new(),
        reference_screen: Screen::DEFAULT,
        items,
        notices: Vec::new(),
    }
}

fn bench_engine(c: &mut Criterion, ctx: &Option<Arc<GpuContext>>) {
    let objects = 64;
    // long enough that the timed chunks never run past the programme
    let sc = scene(objects, 300.0);
    let l = Layout::builtin("9.1.6").unwrap().unwrap();
    let input = vec![vec![0.25f32; CHUNK]; objects];
    let mut out = vec![vec![0.0f32; CHUNK]; l.speakers.len()];
    let mut g = c.benchmark_group(format!("gpu-engine/objects={objects}/layout=9.1.6/chunk={CHUNK}"));
    g.throughput(Throughput::Elements(CHUNK as u64));
    let mut run = |name: String, e: &mut dyn LayoutEngine| {
        g.bench_function(name, |b| b.iter(|| e.process_chunk(&sc, &input, &mut out).unwrap()));
    };
    let mut cpu = CpuEngine::new(&l, &sc).unwrap();
    run(format!("cpu ({})", cpu.kernel_name()), &mut cpu);
    if let Some(ctx) = ctx {
        let mut gpu = GpuEngine::new(ctx.clone(), &l, &sc).unwrap();
        let mut warm = vec![vec![0.0f32; CHUNK]; l.speakers.len()];
        gpu.process_chunk(&sc, &input, &mut warm).unwrap();
        run(format!("gpu/{}", ctx.describe()), &mut gpu);
    }
    g.finish();
}

fn bench(c: &mut Criterion) {
    let ctx = gpu();
    bench_gains(c, &ctx);
    bench_mix(c, &ctx);
    bench_engine(c, &ctx);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(3)).warm_up_time(std::time::Duration::from_millis(500));
    targets = bench
}
criterion_main!(benches);
