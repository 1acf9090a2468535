//! The RF64 promotion: a file past 4 GiB (mostly a sparse hole, so the test
//! is quick and small on disk) read back by the reader, and its ds64 fields
//! checked by hand.

use std::io::{Read, Seek, SeekFrom};

use admix::io::{Bw64Reader, Bw64Writer, Chna, ChnaEntry, Container, OutputFormat, WriterSpec};

use crate::alloc_probe::largest_allocation;

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes(b[i..i + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(b[i..i + 8].try_into().unwrap())
}

#[test]
fn past_4_gib_the_file_becomes_rf64() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.wav");
    let spec = WriterSpec {
        channels: 2,
        sample_rate: 48_000,
        format: OutputFormat::F32,
        channel_mask: None,
        dither: false,
    };
    let head: Vec<Vec<f32>> = (0..2)
        .map(|c| (0..1000).map(|i| (i + c * 7) as f32 / 4096.0).collect())
        .collect();
    let tail: Vec<Vec<f32>> = (0..2)
        .map(|c| (0..999).map(|i| -((i + c) as f32) / 8192.0).collect())
        .collect();
    let hole: u64 = (1u64 << 32) / 8 + 12_345; // 8-byte frames: just past 4 GiB of audio
    let mut w = Bw64Writer::create(&path, spec).unwrap();
    w.write_planar(&head).unwrap();
    w.write_silence(hole).unwrap();
    w.write_planar(&tail).unwrap();
    let chna = Chna::new(vec![
        ChnaEntry {
            track_index: 1,
            uid: "ATU_00000001".into(),
            track_ref: "AT_00010001_01".into(),
            pack_ref: "AP_00010002".into(),
        },
        ChnaEntry {
            track_index: 2,
            uid: "ATU_00000002".into(),
            track_ref: "AT_00010002_01".into(),
            pack_ref: "AP_00010002".into(),
        },
    ]);
    w.set_chna(&chna).unwrap();
    let axml = b"<?xml version=\"1.0\"?><ebuCoreMain/>".to_vec();
    w.set_axml(axml.clone()).unwrap();
    let report = w.finish().unwrap();
    let frames = 1000 + hole + 999;
    let data_bytes = frames * 8;
    assert_eq!(report.container, Container::Rf64);
    assert_eq!(report.frames, frames);
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.len(), report.file_bytes);
    assert!(meta.len() > 1 << 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        println!("{} bytes long, {} bytes on disk", meta.len(), meta.blocks() * 512);
    }

    // ds64 by hand: EBU Tech 3306 §3.1.
    let mut f = std::fs::File::open(&path).unwrap();
    let mut h = vec![0u8; 100];
    f.read_exact(&mut h).unwrap();
    assert_eq!(&h[0..4], b"RF64");
    assert_eq!(u32_at(&h, 4), u32::MAX);
    assert_eq!(&h[8..12], b"WAVE");
    assert_eq!(&h[12..16], b"ds64");
    assert_eq!(u32_at(&h, 16), 28);
    assert_eq!(u64_at(&h, 20), meta.len() - 8, "ds64 riffSize");
    assert_eq!(u64_at(&h, 28), data_bytes, "ds64 dataSize");
    assert_eq!(u64_at(&h, 36), frames, "ds64 sampleCount");
    assert_eq!(u32_at(&h, 44), 0, "ds64 tableLength");
    assert_eq!(&h[48..52], b"fmt ");
    assert_eq!(u32_at(&h, 52), 18);
    assert_eq!(&h[74..78], b"fact");
    assert_eq!(u32_at(&h, 82), u32::MAX);
    assert_eq!(&h[86..90], b"data");
    assert_eq!(u32_at(&h, 90), u32::MAX);
    // chna follows the (even-sized) audio directly.
    f.seek(SeekFrom::Start(94 + data_bytes)).unwrap();
    let mut id = [0u8; 4];
    f.read_exact(&mut id).unwrap();
    assert_eq!(&id, b"chna");

    let t = std::time::Instant::now();
    let (r, largest) = largest_allocation(|| Bw64Reader::open(&path));
    println!(
        "opened in {:.3} ms, largest allocation {largest} bytes",
        t.elapsed().as_secs_f64() * 1e3
    );
    let mut r = r.unwrap();
    assert!(largest < 1 << 16, "opening allocated {largest} bytes");
    assert!(r.notices().is_empty(), "{:?}", r.notices());
    assert_eq!(r.container(), Container::Rf64);
    assert_eq!((r.channels(), r.sample_rate(), r.frames()), (2, 48_000, frames));
    assert_eq!(r.read_axml().unwrap().as_deref(), Some(&axml[..]));
    assert_eq!(r.chna(), Some(&chna));
    let mut b = vec![vec![1f32; 1000]; 2];
    assert_eq!(r.read_planar(0, &mut b).unwrap(), 1000);
    assert_eq!(b, head);
    let mut b = vec![vec![0f32; 1000]; 2];
    assert_eq!(r.read_planar(frames - 999, &mut b).unwrap(), 999);
    assert_eq!(b[0][..999], tail[0][..]);
    assert_eq!(b[1][..999], tail[1][..]);
    let mut b = vec![vec![1f32; 4096]; 2];
    r.read_planar(hole / 2 + 1, &mut b).unwrap();
    assert!(b.iter().flatten().all(|&x| x == 0.0));
}
