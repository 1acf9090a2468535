//! ADM XML parse speed (one core) on a generated document shaped like a long
//! Atmos master: 128 objects, each with a run of moving blocks (the issue's
//! 128 × 10,000 document is 603 MB; criterion repeats each run ≥ 10 times, so
//! the bench uses 2,000 blocks per object, 121 MB, and reports MB/s).
//! `whole` is the in-memory parser; `skeleton` is what opening a file costs
//! (adm::stream: the blocks are cut out and left in the source);
//! `skeleton+blocks` adds reading every Objects block back through the
//! block cursors, as a render does over its length.

use admix::adm::stream::{BlockCursor, XmlSource, read_document};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

include!("../tests/support/generate_adm.rs");

fn bench(c: &mut Criterion) {
    let xml = generate(128, 2000);
    let mut g = c.benchmark_group("adm_parse");
    g.throughput(Throughput::Bytes(xml.len() as u64));
    g.bench_function("objects=128/blocks=2000/whole", |b| {
        b.iter(|| admix::adm::xml::parse(&xml, "generated.xml").map(|(d, _)| d.channels.len()))
    });
    let source = XmlSource::from_text(xml.clone(), "generated.xml");
    g.bench_function("objects=128/blocks=2000/skeleton", |b| {
        b.iter(|| read_document(&source).map(|(d, _)| d.channels.len()))
    });
    g.bench_function("objects=128/blocks=2000/skeleton+blocks", |b| {
        b.iter(|| {
            let (doc, _) = read_document(&source).unwrap();
            let mut n = 0;
            for c in &doc.channels {
                if let Some(span) = &c.deferred {
                    let mut cursor = BlockCursor::new(source.clone(), span, c.type_definition, &c.id);
                    while cursor.next_block().unwrap().is_some() {
                        n += 1;
                    }
                }
            }
            n
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).warm_up_time(std::time::Duration::from_millis(500));
    targets = bench
}
criterion_main!(benches);
