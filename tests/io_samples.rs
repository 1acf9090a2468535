//! Every WAV under the shared sample directories opens (or fails exactly as
//! expected), decodes completely, and agrees with hound where hound reads it.

use std::path::{Path, PathBuf};

use admix::io::{Bw64Error, Bw64Reader, Container, SampleFormat};

use crate::common::samples_dir;

const DIRS: &[&str] = &[
    "ebu_adm_renderer/bw64",
    "libbw64",
    "ebu_adm_renderer/test_data",
    "ebu-adm-toolbox/render",
    "ear-production-suite",
    "wavinfo",
    "dbmd-atmos-parser",
];

/// The files that must fail, with what the error must say.
fn expected_failure(name: &str) -> Option<(&'static str, u64, &'static [&'static str])> {
    Some(match name {
        "rect_24bit_noriff.wav" => ("'RF65'", 0, &["outer id must be 'RIFF', 'RF64' or 'BW64'"]),
        "rect_24bit_nowave.wav" => ("'RF64'", 8, &["form type is 'WAV '"]),
        "rect_24bit_nods64.wav" => ("'ds64'", 12, &["RF64 files must begin with a 'ds64'", "found 'fmt '"]),
        "rect_24bit_wrong_fmt_size.wav" => (
            "'fmt '",
            12,
            &["size 17 is impossible", "'data' starts at byte 36", "should be 16"],
        ),
        _ => return None,
    })
}

fn wavs(root: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = DIRS
        .iter()
        .flat_map(|d| std::fs::read_dir(root.join(d)).into_iter().flatten().flatten())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "wav"))
        .collect();
    v.sort();
    v
}

/// All samples, planar, through `read_next` in odd-sized blocks.
fn read_all(r: &mut Bw64Reader) -> Vec<Vec<f32>> {
    let ch = usize::from(r.channels());
    let frames = usize::try_from(r.frames()).unwrap();
    let mut all = vec![Vec::with_capacity(frames); ch];
    let mut block = vec![vec![0f32; 1009]; ch];
    r.seek(0);
    loop {
        let n = r.read_next(&mut block).unwrap();
        if n == 0 {
            break;
        }
        for (a, b) in all.iter_mut().zip(&block) {
            a.extend_from_slice(&b[..n]);
        }
    }
    assert_eq!(all[0].len(), frames);
    all
}

/// Hound's samples as f32 with the same scaling, or None where hound refuses.
fn hound_planar(path: &Path) -> Option<Vec<Vec<f32>>> {
    let mut h = hound::WavReader::open(path).ok()?;
    let spec = h.spec();
    let ch = usize::from(spec.channels);
    let inter: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            h.samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
                .ok()?
        }
        hound::SampleFormat::Float => h.samples::<f32>().collect::<Result<_, _>>().ok()?,
    };
    Some(
        (0..ch)
            .map(|c| inter.iter().skip(c).step_by(ch).copied().collect())
            .collect(),
    )
}

#[test]
fn every_sample_file_opens_or_fails_as_expected() {
    let Some(root) = samples_dir("every_sample_file_opens_or_fails_as_expected") else {
        return;
    };
    let files = wavs(&root);
    assert!(files.len() >= 40, "only {} sample files found", files.len());
    let (mut ok, mut failed, mut hound_checked) = (0, 0, 0);
    for path in &files {
        let name = path.file_name().unwrap().to_str().unwrap();
        let result = Bw64Reader::open(path);
        match (expected_failure(name), result) {
            (Some((chunk, offset, words)), Err(e)) => {
                let msg = e.to_string();
                println!("{name}: error as expected: {msg}");
                assert!(matches!(e, Bw64Error::Malformed { .. }), "{name}: {e:?}");
                assert_eq!(e.chunk().unwrap().to_string(), chunk, "{name}: {msg}");
                assert_eq!(e.offset(), Some(offset), "{name}: {msg}");
                assert!(msg.contains(name), "{name}: message lacks the file: {msg}");
                for w in words {
                    assert!(msg.contains(w), "{name}: message lacks {w:?}: {msg}");
                }
                failed += 1;
            }
            (Some(_), Ok(_)) => panic!("{name} opened but must fail"),
            (None, Err(e)) => panic!("{name} failed: {e}"),
            (None, Ok(mut r)) => {
                let f = *r.format();
                assert!(f.channels >= 1 && f.sample_rate >= 1);
                let kinds: Vec<&str> = r.notices().iter().map(|n| n.kind).collect();
                println!(
                    "{name}: {} {}ch {}Hz {}-bit {:?} frames={} chunks={:?} notices={kinds:?}",
                    r.container(),
                    f.channels,
                    f.sample_rate,
                    f.bits_per_sample,
                    f.sample_format,
                    r.frames(),
                    r.chunks().iter().map(|c| c.id.to_string()).collect::<Vec<_>>(),
                );
                if let Some(axml) = r.read_axml().unwrap().as_deref() {
                    let start = axml.iter().position(|b| !b.is_ascii_whitespace()).unwrap();
                    assert_eq!(axml[start], b'<', "{name}: axml is not XML");
                }
                let ours = read_all(&mut r);
                if let Some(theirs) = hound_planar(path) {
                    assert_eq!(ours.len(), theirs.len(), "{name}: channels");
                    for (c, (a, b)) in ours.iter().zip(&theirs).enumerate() {
                        assert_eq!(a.len(), b.len(), "{name}: frames of channel {c}");
                        if let Some(i) = (0..a.len()).find(|&i| a[i] != b[i]) {
                            panic!("{name}: channel {c} frame {i}: ours {} hound {}", a[i], b[i]);
                        }
                    }
                    hound_checked += 1;
                }
                ok += 1;
            }
        }
    }
    println!("{ok} opened, {failed} refused as expected, {hound_checked} matched hound");
    assert_eq!(failed, 4);
    assert!(hound_checked >= 30, "hound cross-checked only {hound_checked}");
}

fn open(root: &Path, rel: &str) -> Bw64Reader {
    Bw64Reader::open(root.join(rel)).unwrap_or_else(|e| panic!("{e}"))
}

fn kinds(r: &Bw64Reader) -> Vec<&'static str> {
    r.notices().iter().map(|n| n.kind).collect()
}

#[test]
fn rect_files_carry_the_same_waveform_at_every_depth() {
    let Some(root) = samples_dir("rect_files_carry_the_same_waveform_at_every_depth") else {
        return;
    };
    let mut r16 = open(&root, "ebu_adm_renderer/bw64/rect_16bit.wav");
    let mut r24 = open(&root, "ebu_adm_renderer/bw64/rect_24bit.wav");
    let mut r32 = open(&root, "ebu_adm_renderer/bw64/rect_32bit.wav");
    let mut rf64 = open(&root, "ebu_adm_renderer/bw64/rect_24bit_rf64.wav");
    let mut bext = open(&root, "ebu_adm_renderer/bw64/rect_24bit_bext.wav");
    assert_eq!(r32.format().sample_format, SampleFormat::Int);
    assert_eq!(r32.format().channel_mask, Some(3));
    assert_eq!(rf64.container(), Container::Rf64);
    for r in [&r16, &r24, &r32, &rf64, &bext] {
        assert_eq!((r.channels(), r.sample_rate(), r.frames()), (2, 44_100, 22_050));
        assert!(kinds(r).is_empty(), "{}: {:?}", r.path().display(), kinds(r));
    }
    let a16 = read_all(&mut r16);
    let a24 = read_all(&mut r24);
    let a32 = read_all(&mut r32);
    assert_eq!(a24, read_all(&mut rf64));
    assert_eq!(a24, read_all(&mut bext));
    let max_diff = |a: &[Vec<f32>], b: &[Vec<f32>]| {
        a.iter()
            .zip(b)
            .flat_map(|(x, y)| x.iter().zip(y).map(|(p, q)| (p - q).abs()))
            .fold(0f32, f32::max)
    };
    // Quantisation: half an LSB of each.
    assert!(max_diff(&a16, &a24) <= 0.5 / 32_768.0 + 0.5 / 8_388_608.0);
    assert!(max_diff(&a24, &a32) <= 0.5 / 8_388_608.0 + 1e-7);
    let peak = a32.iter().flatten().fold(0f32, |m, x| m.max(x.abs()));
    assert!(peak > 0.4, "the rect signal is not silent ({peak})");
}

#[test]
fn adm_files_expose_axml_chna_dbmd() {
    let Some(root) = samples_dir("adm_files_expose_axml_chna_dbmd") else {
        return;
    };
    let mut r = open(&root, "ebu_adm_renderer/test_data/test_bwf.wav");
    let chna = r.chna().unwrap();
    assert_eq!((chna.num_tracks, chna.num_uids, chna.entries.len()), (4, 5, 5));
    assert_eq!(chna.entries[0].uid, "ATU_00000001");
    assert!(r.read_axml().unwrap().unwrap().starts_with(b"<ebuCoreMain"));
    assert!(kinds(&r).is_empty(), "{:?}", kinds(&r));

    let mut pt = open(&root, "wavinfo/Test_ADM_ProTools.wav");
    assert_eq!(
        (pt.channels(), pt.sample_rate(), pt.format().bits_per_sample),
        (14, 48_000, 24)
    );
    assert_eq!(pt.read_axml().unwrap().unwrap().len(), 167_461);
    assert_eq!(pt.dbmd().unwrap().len(), 532);
    let chna = pt.chna().unwrap();
    assert_eq!(chna.entries.len(), 14);
    let e = &chna.entries[1];
    assert_eq!(
        (e.track_index, e.uid.as_str(), e.track_ref.as_str(), e.pack_ref.as_str()),
        (2, "ATU_00000002", "AT_00011002_01", "AP_00011001")
    );
    let ids: Vec<String> = pt.chunks().iter().map(|c| c.id.to_string()).collect();
    assert_eq!(ids, ["'JUNK'", "'fmt '", "'data'", "'axml'", "'chna'", "'dbmd'"]);
    assert_eq!(pt.frames(), 2_018_016 / 42);
    assert!(kinds(&pt).is_empty(), "{:?}", kinds(&pt));
    assert_eq!(pt.duration().as_millis(), 1001);

    for n in [0, 3, 6] {
        let d = open(&root, &format!("dbmd-atmos-parser/sample_adm_file_{n}.wav"));
        assert_eq!(d.dbmd().unwrap().len(), 508);
        assert_eq!(d.chna().unwrap().entries.len(), 2);
        assert_eq!(d.frames(), 240_000);
    }
}

#[test]
fn padding_quirks_are_repaired_with_notices() {
    let Some(root) = samples_dir("padding_quirks_are_repaired_with_notices") else {
        return;
    };
    let mut r = open(&root, "ebu_adm_renderer/bw64/24bit_missing_padding.wav");
    assert_eq!(kinds(&r), ["missing-pad-byte"]);
    assert_eq!(r.frames(), 1);
    assert_eq!(read_all(&mut r), [vec![0.0]]);

    // Odd data chunk, pad byte, then chna — beyond the RIFF size, which
    // forgot both.
    let r = open(&root, "libbw64/noise_24bit_uneven_data_chunk_size.wav");
    assert_eq!(r.frames(), 13);
    let chna = r.chna().unwrap();
    assert_eq!((chna.num_tracks, chna.entries.len()), (31, 79));
    assert!(kinds(&r).contains(&"riff-size-mismatch"), "{:?}", kinds(&r));
    assert!(!kinds(&r).contains(&"missing-pad-byte"));

    // Odd data chunk with its pad byte at the end of the file: clean.
    let r = open(&root, "ear-production-suite/ds-all-tfs-not-in-pf.wav");
    assert_eq!(r.frames(), 2_044_527 / 3);
    assert!(kinds(&r).is_empty(), "{:?}", kinds(&r));

    // 40-byte fmt chunks: cbSize 0 with padding, cbSize 22 with zeros, and
    // EXTENSIBLE PCM with mask 0.
    for name in ["empty_extradata.wav", "fmt_padding.wav", "pcm_extradata.wav"] {
        let r = open(&root, &format!("ebu_adm_renderer/bw64/{name}"));
        let f = r.format();
        assert_eq!(
            (f.channels, f.sample_rate, f.bits_per_sample, r.frames()),
            (1, 48_000, 16, 4)
        );
        assert_eq!(f.sample_format, SampleFormat::Int);
        assert_eq!(r.chunks()[0].size, 40);
    }
    assert_eq!(
        open(&root, "ebu_adm_renderer/bw64/pcm_extradata.wav")
            .format()
            .channel_mask,
        Some(0)
    );
}
