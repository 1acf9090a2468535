//! Reading a master's audio: 24-bit PCM with 138 channels (128 objects and a
//! 7.1.2 bed, the demo master's shape) decoded into planar f32 chunks of
//! 4,096 frames, from memory (the page cache's part is left out). Throughput
//! in samples. `ADMIX_KERNEL=scalar` measures the plain loops.

use admix::io::bw64::Bw64Reader;
use admix::io::writer::{Bw64Writer, OutputFormat, WriterSpec};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::io::Cursor;

const CHANNELS: usize = 138;
const CHUNK: usize = 4096;
const CHUNKS: usize = 16;

/// The bytes of a 24-bit BW64 file with `CHANNELS` channels of noise.
fn master() -> Vec<u8> {
    let path = std::env::temp_dir().join(format!("admix-bench-decode-{}.wav", std::process::id()));
    let spec = WriterSpec {
        channels: CHANNELS as u16,
        sample_rate: 48_000,
        format: OutputFormat::S24,
        channel_mask: None,
        dither: false,
    };
    let mut w = Bw64Writer::create(&path, spec).expect("create the bench file");
    let mut x = 0x2545_f491_u32;
    let mut chunk = vec![vec![0.0f32; CHUNK]; CHANNELS];
    for _ in 0..CHUNKS {
        for c in chunk.iter_mut() {
            for v in c.iter_mut() {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                *v = (x as f32 / u32::MAX as f32 - 0.5) * 0.5;
            }
        }
        w.write_planar(&chunk).expect("write the bench file");
    }
    w.finish().expect("finish the bench file");
    let bytes = std::fs::read(&path).expect("read the bench file");
    let _ = std::fs::remove_file(&path);
    bytes
}

fn bench(c: &mut Criterion) {
    let bytes: std::sync::Arc<[u8]> = master().into();
    let mut g = c.benchmark_group("decode/24bit/138ch");
    g.throughput(Throughput::Elements((CHANNELS * CHUNK * CHUNKS) as u64));
    let mut out = vec![vec![0.0f32; CHUNK]; CHANNELS];
    g.bench_function("planar chunks", |b| {
        b.iter(|| {
            let mut r = Bw64Reader::from_source(Cursor::new(bytes.clone()), "bench.wav").expect("open");
            let mut pos = 0u64;
            loop {
                let n = r.read_planar(pos, &mut out).expect("read");
                if n == 0 {
                    break;
                }
                pos += n as u64;
            }
            black_box(&out);
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
