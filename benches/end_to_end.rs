//! End-to-end real-time factor: the demo scene at 16 / 128 / 1024 objects
//! rendered to 7.1.4 and 9.1.6 (and to headphones at 16 / 128) from a
//! synthetic in-memory source, outputs measured (loudness) but not written.
//! Throughput is in audio samples: divide by 48,000 for the real-time factor.
//! Scenes are built outside the timed closure; each iteration renders 2 s.

use admix::bench::{SynthSource, demo_scene};
use admix::binaural::{BinauralOptions, headphone_layout};
use admix::io::OutputFormat;
use admix::layout::Layout;
use admix::render::{OutputKind, OutputSpec, RenderOptions, cpu_engine, render_with};
use admix::scene::Scene;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const SECONDS: f64 = 2.0;

/// One render of `scene` from the synthetic source to `out` (not written).
fn render_once(scene: &mut Scene, out: &OutputSpec) {
    let mut src = SynthSource::new(scene.frames, 48000);
    render_with(
        scene,
        &mut src,
        std::slice::from_ref(out),
        &RenderOptions::default(),
        &cpu_engine,
        &mut |_, _| {},
    )
    .unwrap();
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("end_to_end/cpu");
    g.sample_size(10);
    for objects in [16usize, 128, 1024] {
        let mut scene = demo_scene(objects, SECONDS, 48000).unwrap();
        g.throughput(Throughput::Elements(scene.frames));
        for layout in ["7.1.4", "9.1.6"] {
            let l = Layout::builtin(layout).unwrap().unwrap();
            let out = OutputSpec {
                kind: OutputKind::Speakers,
                layout: l,
                path: None,
                format: OutputFormat::F32,
                split: false,
                dither: false,
            };
            g.bench_function(format!("objects={objects}/layout={layout}"), |b| {
                b.iter(|| render_once(&mut scene, &out))
            });
        }
        if objects <= 128 {
            let out = OutputSpec {
                kind: OutputKind::Binaural(BinauralOptions::default()),
                layout: headphone_layout(),
                path: None,
                format: OutputFormat::F32,
                split: false,
                dither: false,
            };
            g.bench_function(format!("objects={objects}/layout=binaural"), |b| {
                b.iter(|| render_once(&mut scene, &out))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
