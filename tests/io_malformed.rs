//! A good fixture, truncated at every byte and with its sizes, counts and ids
//! corrupted: each case opens (with a notice) or fails with an error naming
//! the file and a byte offset — never a panic, never an allocation of a size
//! read from the file.

use std::io::Cursor;

use admix::io::{Bw64Error, Bw64Reader, Bw64Writer, Chna, ChnaEntry, Container, OutputFormat, WriterSpec};

use crate::alloc_probe::largest_allocation;
use crate::common::sines;

const NAME: &str = "fixture.wav";
const CHANNELS: usize = 3;
const FRAMES: usize = 101; // 3 ch × 3 bytes × 101 = 909 bytes: odd, so padded
const AXML: &[u8] = b"<?xml version=\"1.0\"?><ebuCoreMain>odd length!</ebuCoreMain>";

fn chna() -> Chna {
    Chna::new(
        (1..=CHANNELS as u16)
            .map(|t| ChnaEntry {
                track_index: t,
                uid: format!("ATU_0000000{t}"),
                track_ref: format!("AT_0003100{t}_01"),
                pack_ref: format!("AP_0003100{t}"),
            })
            .collect(),
    )
}

/// A 3-channel 24-bit RIFF with chna and axml after an odd data chunk.
fn fixture() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.wav");
    let spec = WriterSpec {
        channels: CHANNELS as u16,
        sample_rate: 48_000,
        format: OutputFormat::S24,
        channel_mask: None,
        dither: false,
    };
    let mut w = Bw64Writer::create(&path, spec).unwrap();
    w.write_planar(&sines(CHANNELS, FRAMES, 48_000.0, 0.5)).unwrap();
    w.set_chna(&chna()).unwrap();
    w.set_axml(AXML).unwrap();
    w.finish().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(AXML.len() % 2, 1);
    bytes
}

/// The same file as RF64, as the writer promotes past 4 GiB: outer id RF64,
/// JUNK → ds64 with the real sizes, RIFF and data sizes 0xFFFFFFFF.
fn to_rf64(riff: &[u8]) -> Vec<u8> {
    let mut b = riff.to_vec();
    let data_at = find(&b, b"data");
    let data_size = u32::from_le_bytes(b[data_at + 4..data_at + 8].try_into().unwrap());
    b[0..4].copy_from_slice(b"RF64");
    b[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    b[12..16].copy_from_slice(b"ds64");
    b[20..28].copy_from_slice(&(riff.len() as u64 - 8).to_le_bytes());
    b[28..36].copy_from_slice(&u64::from(data_size).to_le_bytes());
    b[36..44].copy_from_slice(&(FRAMES as u64).to_le_bytes());
    b[44..48].copy_from_slice(&0u32.to_le_bytes());
    b[data_at + 4..data_at + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    b
}

fn find(b: &[u8], id: &[u8; 4]) -> usize {
    b.windows(4).position(|w| w == id).unwrap()
}

/// Opens `bytes`; asserts the invariants every case must keep and returns the
/// result.
fn check(bytes: Vec<u8>, case: &str) -> Result<Bw64Reader, Bw64Error> {
    let len = bytes.len();
    let (result, largest) = largest_allocation(move || Bw64Reader::from_source(Cursor::new(bytes), NAME));
    assert!(
        largest <= len.max(1024) + 4096,
        "{case}: allocated {largest} bytes opening a {len}-byte file"
    );
    match result {
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.starts_with(NAME), "{case}: error does not name the file: {msg}");
            assert!(msg.contains(" at byte "), "{case}: error gives no offset: {msg}");
            assert!(e.offset().is_some_and(|o| o <= len as u64), "{case}: offset: {msg}");
            assert!(!matches!(e, Bw64Error::InvalidArgument { .. }), "{case}: {msg}");
            Err(e)
        }
        Ok(mut r) => {
            // Reading everything the reader claims must work.
            let ch = usize::from(r.channels());
            let mut block = vec![vec![0f32; 64]; ch];
            let mut total = 0u64;
            loop {
                let n = r.read_next(&mut block).unwrap_or_else(|e| panic!("{case}: {e}"));
                if n == 0 {
                    break;
                }
                total += n as u64;
            }
            assert_eq!(total, r.frames(), "{case}");
            Ok(r)
        }
    }
}

#[test]
fn fixture_reads_cleanly_in_every_container() {
    let riff = fixture();
    let mut r = check(riff.clone(), "riff").unwrap();
    assert!(r.notices().is_empty(), "{:?}", r.notices());
    assert_eq!((r.container(), r.frames()), (Container::Riff, FRAMES as u64));
    assert_eq!(r.chna(), Some(&chna()));
    assert_eq!(r.read_axml().unwrap().as_deref(), Some(AXML));
    let rf64 = to_rf64(&riff);
    let mut r = check(rf64.clone(), "rf64").unwrap();
    assert!(r.notices().is_empty(), "{:?}", r.notices());
    assert_eq!((r.container(), r.frames()), (Container::Rf64, FRAMES as u64));
    assert_eq!(r.read_axml().unwrap().as_deref(), Some(AXML));
    let mut bw64 = rf64.clone();
    bw64[0..4].copy_from_slice(b"BW64");
    let r = check(bw64, "bw64").unwrap();
    assert_eq!((r.container(), r.frames()), (Container::Bw64, FRAMES as u64));

    // A ds64 table entry gives the axml size where its 32-bit field reads -1
    // (EBU Tech 3306: how chunks over 4 GiB other than data are sized).
    let mut t = rf64;
    let axml_at = find(&t, b"axml");
    t[axml_at + 4..axml_at + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    let mut entry = b"axml".to_vec();
    entry.extend_from_slice(&(AXML.len() as u64).to_le_bytes());
    t.splice(48..48, entry);
    t[16..20].copy_from_slice(&40u32.to_le_bytes()); // ds64 size 28 + 12
    t[44..48].copy_from_slice(&1u32.to_le_bytes()); // tableLength
    let riff_size = t.len() as u64 - 8;
    t[20..28].copy_from_slice(&riff_size.to_le_bytes());
    let mut r = check(t, "ds64 table").unwrap();
    assert!(r.notices().is_empty(), "{:?}", r.notices());
    assert_eq!(r.read_axml().unwrap().as_deref(), Some(AXML));
    let axml = r.chunks().iter().find(|c| c.id.0 == *b"axml").unwrap();
    assert_eq!((axml.size, axml.declared_size), (AXML.len() as u64, u32::MAX));
}

#[test]
fn truncated_at_every_byte() {
    let riff = fixture();
    for (label, full) in [("riff", riff.clone()), ("rf64", to_rf64(&riff))] {
        let data_body = find(&full, b"data") + 8;
        let data_end = data_body + FRAMES * CHANNELS * 3;
        let mut reference = Bw64Reader::from_source(Cursor::new(full.clone()), NAME).unwrap();
        let mut want = vec![vec![0f32; FRAMES]; CHANNELS];
        reference.read_planar(0, &mut want).unwrap();
        let (mut oks, mut errs) = (0, 0);
        for cut in 0..full.len() {
            let case = format!("{label} cut at {cut}");
            match check(full[..cut].to_vec(), &case) {
                Err(_) => errs += 1,
                Ok(mut r) => {
                    oks += 1;
                    assert!(!r.notices().is_empty(), "{case}: no notice");
                    if cut < data_end {
                        assert!(cut >= data_body, "{case}: opened without audio");
                        let kinds: Vec<_> = r.notices().iter().map(|n| n.kind).collect();
                        assert!(kinds.contains(&"truncated-data"), "{case}: {kinds:?}");
                        let frames = (cut - data_body) / (CHANNELS * 3);
                        assert_eq!(r.frames(), frames as u64, "{case}");
                        let mut got = vec![vec![0f32; frames]; CHANNELS];
                        r.read_planar(0, &mut got).unwrap();
                        for c in 0..CHANNELS {
                            assert_eq!(got[c][..], want[c][..frames], "{case}");
                        }
                    }
                }
            }
        }
        println!("{label}: {oks} truncations opened with notices, {errs} refused");
        assert!(oks > FRAMES && errs > 40);
    }
}

#[test]
fn truncated_inside_axml_names_the_chunk() {
    let full = fixture();
    let axml_at = find(&full, b"axml");
    let e = check(full[..axml_at + 20].to_vec(), "axml cut").unwrap_err();
    let msg = e.to_string();
    assert_eq!(e.offset(), Some(axml_at as u64), "{msg}");
    assert!(msg.contains("'axml'") && msg.contains("only 12 remain"), "{msg}");
}

/// Every 1-, 2- and 4-byte window of the header and trailer set to hostile
/// values, and every header byte flipped.
#[test]
fn corrupted_sizes_counts_and_ids() {
    let riff = fixture();
    let mut cases = 0;
    for (label, full) in [("riff", riff.clone()), ("rf64", to_rf64(&riff))] {
        let data_body = find(&full, b"data") + 8;
        let trailer = data_body + FRAMES * CHANNELS * 3;
        let regions: Vec<usize> = (0..data_body).chain(trailer..full.len()).collect();
        for &at in &regions {
            for v in [0u32, 1, 2, 7, 17, 0x7fff, 0xffff, 0x8000_0000, 0xffff_fffe, u32::MAX] {
                for width in [1usize, 2, 4] {
                    if at + width > full.len() {
                        continue;
                    }
                    let mut b = full.clone();
                    b[at..at + width].copy_from_slice(&v.to_le_bytes()[..width]);
                    let _ = check(b, &format!("{label}: {width} bytes at {at} = {v:#x}"));
                    cases += 1;
                }
            }
            let mut b = full.clone();
            b[at] ^= 0xff;
            let _ = check(b, &format!("{label}: byte {at} flipped"));
            cases += 1;
        }
    }
    println!("{cases} corrupted files checked");
}

fn patched(at: usize, bytes: &[u8]) -> Vec<u8> {
    let mut b = fixture();
    b[at..at + bytes.len()].copy_from_slice(bytes);
    b
}

fn err_of(b: Vec<u8>) -> String {
    check(b, "targeted").unwrap_err().to_string()
}

#[test]
fn targeted_corruptions_give_precise_errors() {
    let full = fixture();
    let fmt = find(&full, b"fmt ");
    let chna_at = find(&full, b"chna");
    let axml_at = find(&full, b"axml");
    let data_at = find(&full, b"data");

    let m = err_of(patched(fmt + 10, &[0, 0]));
    assert!(
        m.contains(&format!("'fmt ' chunk at byte {fmt}")) && m.contains("nChannels is 0"),
        "{m}"
    );
    let m = err_of(patched(fmt + 12, &[0, 0, 0, 0]));
    assert!(m.contains("nSamplesPerSec is 0"), "{m}");
    let m = err_of(patched(fmt + 20, &[7, 0]));
    assert!(m.contains("nBlockAlign 7"), "{m}");
    let m = err_of(patched(fmt + 22, &[16, 0]));
    assert!(m.contains("nBlockAlign 9 ≠ nChannels 3 × wBitsPerSample 16"), "{m}");
    let m = err_of(patched(fmt + 8, &[0x55, 0]));
    assert!(m.contains("unsupported 'fmt '") && m.contains("0x0055"), "{m}");

    let m = err_of(patched(chna_at + 10, &[0xff, 0xff]));
    assert!(
        m.contains(&format!("'chna' chunk at byte {chna_at}")) && m.contains("numUIDs is 65535"),
        "{m}"
    );
    let r = check(patched(chna_at + 8, &[9, 0]), "numTracks 9").unwrap();
    assert_eq!(r.notices().iter().next().unwrap().kind, "chna-count-mismatch");
    let r = check(patched(chna_at + 12, &[9, 0]), "track 9").unwrap();
    assert!(r.notices().iter().any(|n| n.kind == "chna-track-out-of-range"));

    let m = err_of(patched(axml_at + 4, &0xffff_fff0u32.to_le_bytes()));
    assert!(m.contains(&format!("'axml' chunk at byte {axml_at}")), "{m}");
    assert!(m.contains("declares 4294967280 bytes"), "{m}");

    let m = err_of(patched(axml_at, b"\x01xml"));
    assert!(
        m.contains("not a chunk id") && m.contains("after the 'chna' chunk"),
        "{m}"
    );

    // A data size past the end: read what is there, loudly.
    let mut r = check(patched(data_at + 4, &0xffff_fff0u32.to_le_bytes()), "data huge").unwrap();
    let n = r.notices().iter().find(|n| n.kind == "truncated-data").unwrap();
    assert!(n.message.contains("TRUNCATED"), "{n:?}");
    assert!(r.read_axml().unwrap().is_none());

    let rf = to_rf64(&full);
    let mut b = rf.clone();
    b[44..48].copy_from_slice(&0x1000_0000u32.to_le_bytes());
    let m = err_of(b);
    assert!(
        m.contains("'ds64' chunk at byte 12") && m.contains("tableLength 268435456"),
        "{m}"
    );
    let mut b = rf.clone();
    b[28..36].copy_from_slice(&(u64::MAX - 3).to_le_bytes());
    let r = check(b, "ds64 dataSize huge").unwrap();
    assert!(r.notices().iter().any(|n| n.kind == "truncated-data"));
    let mut b = rf;
    b[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    let m = err_of(b);
    assert!(m.contains("'ds64'") && m.contains("only"), "{m}");
}

#[test]
fn a_missing_pad_byte_between_chunks_is_tolerated() {
    // ear 2.1.0's writer dropped pad bytes after odd-sized chunks.
    let full = fixture();
    let data_body = find(&full, b"data") + 8;
    let pad = data_body + FRAMES * CHANNELS * 3;
    assert_eq!(full[pad], 0);
    let mut b = full.clone();
    b.remove(pad);
    let mut r = check(b, "no pad").unwrap();
    let kinds: Vec<_> = r.notices().iter().map(|n| n.kind).collect();
    assert!(kinds.contains(&"missing-pad-byte"), "{kinds:?}");
    assert_eq!(r.chna(), Some(&chna()));
    assert_eq!(r.read_axml().unwrap().as_deref(), Some(AXML));
}

#[test]
fn a_huge_chunk_count_hits_the_limit() {
    // 100 001 empty JUNK chunks after the header: a Limit error, quickly.
    let full = fixture();
    let mut b = full[..12].to_vec();
    for _ in 0..100_001 {
        b.extend_from_slice(b"JUNK\0\0\0\0");
    }
    b.extend_from_slice(&full[12..]);
    let e = Bw64Reader::from_source(Cursor::new(b), NAME).unwrap_err();
    assert!(matches!(e, Bw64Error::Limit { .. }), "{e}");
}
