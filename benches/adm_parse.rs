//! ADM XML parse speed (one core) on a generated document shaped like a long
//! Atmos master: 128 objects, each with a run of moving blocks (the issue's
//! 128 × 10,000 document is 603 MB; criterion repeats each run ≥ 10 times, so
//! the bench uses 2,000 blocks per object, 121 MB, and reports MB/s).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

include!("../tests/support/generate_adm.rs");

fn bench(c: &mut Criterion) {
    let xml = generate(128, 2000);
    let mut g = c.benchmark_group("adm_parse");
    g.throughput(Throughput::Bytes(xml.len() as u64));
    g.bench_function("objects=128/blocks=2000", |b| {
        b.iter(|| admix::adm::xml::parse(&xml, "generated.xml").map(|(d, _)| d.channels.len()))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).warm_up_time(std::time::Duration::from_millis(500));
    targets = bench
}
criterion_main!(benches);
