//! Writer → reader round trips (f32 / s24 / s16, plain and EXTENSIBLE, with
//! chna and axml), hound as a second reader, clipping and dither reports, and
//! the atomic-output rules (nothing under the final name unless finished).

use admix::io::{
    Bw64Error, Bw64Reader, Bw64Writer, Chna, ChnaEntry, Container, OutputFormat, SampleFormat, SplitWriter, WriterSpec,
};

use crate::common::{dir_names, sines};

fn spec(channels: u16, format: OutputFormat) -> WriterSpec {
    WriterSpec {
        channels,
        sample_rate: 48_000,
        format,
        channel_mask: None,
        dither: false,
    }
}

fn chna_for(channels: u16) -> Chna {
    Chna::new(
        (1..=channels)
            .map(|t| ChnaEntry {
                track_index: t,
                uid: format!("ATU_{t:08x}"),
                track_ref: format!("AT_0003{t:04x}_01"),
                pack_ref: format!("AP_0003{t:04x}"),
            })
            .collect(),
    )
}

/// Writes `signal` in irregular block sizes (1, 7, 512, 8192, …).
fn write_blocks(w: &mut Bw64Writer, signal: &[Vec<f32>]) {
    let frames = signal[0].len();
    let sizes = [1usize, 7, 512, 8192, 3];
    let (mut at, mut k) = (0, 0);
    while at < frames {
        let n = sizes[k % sizes.len()].min(frames - at);
        let block: Vec<&[f32]> = signal.iter().map(|c| &c[at..at + n]).collect();
        w.write_planar(&block).unwrap();
        at += n;
        k += 1;
    }
}

#[test]
fn round_trip_every_format_and_layout() {
    let dir = tempfile::tempdir().unwrap();
    let frames = 20_001;
    for format in [OutputFormat::F32, OutputFormat::S24, OutputFormat::S16] {
        for (channels, mask) in [(1u16, None), (2, None), (2, Some(0x3)), (6, Some(0x3f)), (7, None)] {
            let case = format!("{format:?} {channels}ch mask {mask:?}");
            let path = dir.path().join(format!("{format:?}-{channels}-{mask:?}.wav"));
            let signal = sines(usize::from(channels), frames, 48_000.0, 0.9);
            let mut w = Bw64Writer::create(
                &path,
                WriterSpec {
                    channel_mask: mask,
                    ..spec(channels, format)
                },
            )
            .unwrap();
            write_blocks(&mut w, &signal);
            let axml = format!("<ebuCoreMain>{case}</ebuCoreMain>!");
            w.set_axml(axml.clone()).unwrap();
            w.set_chna(&chna_for(channels)).unwrap();
            let report = w.finish().unwrap();
            assert_eq!(report.container, Container::Riff);
            assert_eq!(report.frames, frames as u64);
            assert_eq!(report.clipped_samples, 0, "{case}");
            assert!((report.peak - 0.9).abs() < 1e-3, "{case}: peak {}", report.peak);
            assert_eq!(report.file_bytes, std::fs::metadata(&path).unwrap().len());

            let mut r = Bw64Reader::open(&path).unwrap();
            assert!(r.notices().is_empty(), "{case}: {:?}", r.notices());
            let f = *r.format();
            let extensible = channels > 2 || mask.is_some();
            assert_eq!(
                f.format_tag,
                if extensible {
                    0xfffe
                } else if format == OutputFormat::F32 {
                    3
                } else {
                    1
                }
            );
            assert_eq!(f.channel_mask, if extensible { Some(mask.unwrap_or(0)) } else { None });
            assert_eq!(f.bits_per_sample, format.bytes() * 8);
            assert_eq!(r.frames(), frames as u64);
            assert_eq!(r.read_axml().unwrap().as_deref(), Some(axml.as_bytes()));
            assert_eq!(r.chna(), Some(&chna_for(channels)));
            let mut back = vec![vec![0f32; frames]; usize::from(channels)];
            assert_eq!(r.read_planar(0, &mut back).unwrap(), frames);
            let lsb = match format {
                OutputFormat::F32 => 0.0,
                OutputFormat::S24 => 1.0 / 8_388_608.0,
                OutputFormat::S16 => 1.0 / 32_768.0,
            };
            for (c, (a, b)) in signal.iter().zip(&back).enumerate() {
                for (i, (x, y)) in a.iter().zip(b).enumerate() {
                    assert!((x - y).abs() <= lsb * 0.5 + 1e-9, "{case}: ch {c} frame {i}: {x} → {y}");
                }
            }

            // hound, an independent reader, agrees bit for bit where it reads the file.
            match hound::WavReader::open(&path) {
                Ok(mut h) => {
                    let hs = h.spec();
                    assert_eq!((hs.channels, hs.sample_rate), (channels, 48_000));
                    let ch = usize::from(channels);
                    let inter: Vec<f32> = match hs.sample_format {
                        hound::SampleFormat::Float => h.samples::<f32>().map(Result::unwrap).collect(),
                        hound::SampleFormat::Int => {
                            let s = 1.0 / (1u32 << (hs.bits_per_sample - 1)) as f32;
                            h.samples::<i32>().map(|v| v.unwrap() as f32 * s).collect()
                        }
                    };
                    assert_eq!(inter.len(), frames * ch, "{case}");
                    for (k, v) in inter.iter().enumerate() {
                        assert_eq!(*v, back[k % ch][k / ch], "{case}: hound sample {k}");
                    }
                }
                Err(e) => {
                    assert!(extensible, "{case}: hound refused a plain RIFF: {e}");
                    println!("{case}: hound does not read this EXTENSIBLE file ({e})");
                }
            }
        }
    }
}

#[test]
fn exact_integer_values_survive() {
    let dir = tempfile::tempdir().unwrap();
    for (format, bits) in [(OutputFormat::S24, 24), (OutputFormat::S16, 16)] {
        let path = dir.path().join(format!("{bits}.wav"));
        let full = 1i32 << (bits - 1);
        let values: Vec<i32> = vec![-full, -full + 1, -1, 0, 1, 12_345 % full, full - 1];
        let x: Vec<f32> = values.iter().map(|&v| v as f32 / full as f32).collect();
        let mut w = Bw64Writer::create(&path, spec(1, format)).unwrap();
        w.write_planar(&[&x]).unwrap();
        w.finish().unwrap();
        let mut r = Bw64Reader::open(&path).unwrap();
        let mut back = [vec![0f32; x.len()]];
        r.read_planar(0, &mut back).unwrap();
        assert_eq!(back[0], x, "{bits}-bit");
        let h: Vec<i32> = hound::WavReader::open(&path)
            .unwrap()
            .samples::<i32>()
            .map(Result::unwrap)
            .collect();
        assert_eq!(h, values, "{bits}-bit via hound");
    }
}

#[test]
fn integer_output_clips_and_reports_float_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let x = [0.5f32, 1.5, -2.0, 1.0, -1.0, f32::NAN, f32::INFINITY];
    let w_s16 = dir.path().join("s16.wav");
    let mut w = Bw64Writer::create(&w_s16, spec(1, OutputFormat::S16)).unwrap();
    w.write_planar(&[&x[..]]).unwrap();
    let rep = w.finish().unwrap();
    // 1.5, −2.0, 1.0 (= 32768 > 32767) and +inf clip; −1.0 is representable.
    assert_eq!(rep.clipped_samples, 4);
    assert_eq!(rep.peak, 2.0);
    assert!((rep.peak_dbfs() - 6.0206).abs() < 1e-3);
    assert_eq!(rep.non_finite_samples, 2);
    let mut r = Bw64Reader::open(&w_s16).unwrap();
    let mut back = [vec![0f32; x.len()]];
    r.read_planar(0, &mut back).unwrap();
    assert_eq!(
        back[0],
        [
            0.5,
            32_767.0 / 32_768.0,
            -1.0,
            32_767.0 / 32_768.0,
            -1.0,
            0.0,
            32_767.0 / 32_768.0
        ]
    );

    let w_f32 = dir.path().join("f32.wav");
    let mut w = Bw64Writer::create(&w_f32, spec(1, OutputFormat::F32)).unwrap();
    w.write_planar(&[&x[..5]]).unwrap();
    let rep = w.finish().unwrap();
    assert_eq!((rep.clipped_samples, rep.peak), (0, 2.0));
    let mut r = Bw64Reader::open(&w_f32).unwrap();
    let mut back = [vec![0f32; 5]];
    r.read_planar(0, &mut back).unwrap();
    assert_eq!(back[0], x[..5]);
}

#[test]
fn dither_is_deterministic_and_independent_of_block_size() {
    let dir = tempfile::tempdir().unwrap();
    let signal = sines(2, 30_000, 48_000.0, 0.25);
    let dithered = WriterSpec {
        dither: true,
        ..spec(2, OutputFormat::S16)
    };
    let one = dir.path().join("one.wav");
    let mut w = Bw64Writer::create(&one, dithered).unwrap();
    w.write_planar(&signal).unwrap();
    w.finish().unwrap();
    let many = dir.path().join("many.wav");
    let mut w = Bw64Writer::create(&many, dithered).unwrap();
    write_blocks(&mut w, &signal);
    w.finish().unwrap();
    let plain = dir.path().join("plain.wav");
    let mut w = Bw64Writer::create(&plain, spec(2, OutputFormat::S16)).unwrap();
    w.write_planar(&signal).unwrap();
    w.finish().unwrap();
    let (a, b, c) = (
        std::fs::read(&one).unwrap(),
        std::fs::read(&many).unwrap(),
        std::fs::read(&plain).unwrap(),
    );
    assert_eq!(a, b, "dither depends on block sizes");
    assert_ne!(a, c, "dither changed nothing");
    // Dither error stays within ±1.5 LSB (±1 LSB TPDF plus rounding).
    let mut r = Bw64Reader::open(&one).unwrap();
    let mut back = vec![vec![0f32; 30_000]; 2];
    r.read_planar(0, &mut back).unwrap();
    let worst = signal
        .iter()
        .flatten()
        .zip(back.iter().flatten())
        .map(|(x, y)| (x - y).abs() * 32_768.0)
        .fold(0f32, f32::max);
    assert!(worst <= 1.5 && worst > 0.5, "{worst}");
}

#[test]
fn silence_and_sparse_silence_read_back_as_zeros() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.wav");
    let signal = sines(2, 1000, 48_000.0, 0.5);
    let mut w = Bw64Writer::create(&path, spec(2, OutputFormat::S24)).unwrap();
    w.write_planar(&signal).unwrap();
    w.write_silence(10).unwrap(); // written
    w.write_planar(&signal).unwrap(); // buffer now holds non-zero bytes
    w.write_silence(1_000_000).unwrap(); // a hole
    w.write_silence(5).unwrap(); // written, reusing the dirty buffer
    w.write_planar(&signal).unwrap();
    w.write_silence(400_000).unwrap(); // a hole at the very end
    let rep = w.finish().unwrap();
    let total = 1000 + 10 + 1000 + 1_000_000 + 5 + 1000 + 400_000;
    assert_eq!(rep.frames, total);
    let mut r = Bw64Reader::open(&path).unwrap();
    assert_eq!(r.frames(), total);
    let mut all = vec![vec![1f32; total as usize]; 2];
    r.read_planar(0, &mut all).unwrap();
    let mut expect = vec![Vec::new(), Vec::new()];
    for (c, e) in expect.iter_mut().enumerate() {
        let s = |r: &mut Vec<f32>| r.extend(signal[c].iter().map(|x| (x * 8_388_608.0).round() / 8_388_608.0));
        s(e);
        e.extend(std::iter::repeat_n(0.0, 10));
        s(e);
        e.extend(std::iter::repeat_n(0.0, 1_000_005));
        s(e);
        e.extend(std::iter::repeat_n(0.0, 400_000));
    }
    assert!(all == expect);
}

#[test]
fn dropped_writer_leaves_nothing_and_finish_leaves_only_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.wav");
    let mut w = Bw64Writer::create(&path, spec(2, OutputFormat::S24)).unwrap();
    w.write_planar(&sines(2, 100, 48_000.0, 0.5)).unwrap();
    let tmp = w.temp_path().to_path_buf();
    assert!(tmp.exists());
    assert!(
        tmp.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with(".out.wav.admix-tmp-")
    );
    assert!(!path.exists());
    drop(w);
    assert!(dir_names(dir.path()).is_empty(), "{:?}", dir_names(dir.path()));

    // An existing file is replaced only by a finished one.
    std::fs::write(&path, b"old").unwrap();
    let w = Bw64Writer::create(&path, spec(2, OutputFormat::S24)).unwrap();
    drop(w);
    assert_eq!(std::fs::read(&path).unwrap(), b"old");
    let mut w = Bw64Writer::create(&path, spec(2, OutputFormat::S24)).unwrap();
    w.write_planar(&sines(2, 100, 48_000.0, 0.5)).unwrap();
    w.finish().unwrap();
    assert_eq!(dir_names(dir.path()), ["out.wav"]);
    assert_eq!(Bw64Reader::open(&path).unwrap().frames(), 100);
}

#[test]
fn bad_arguments_are_refused_with_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.wav");
    for s in [
        spec(0, OutputFormat::F32),
        WriterSpec {
            sample_rate: 0,
            ..spec(2, OutputFormat::F32)
        },
        spec(20_000, OutputFormat::F32),
    ] {
        let e = Bw64Writer::create(&path, s).err().unwrap();
        assert!(
            matches!(e, Bw64Error::InvalidArgument { .. }) && e.to_string().contains("x.wav"),
            "{e}"
        );
    }
    let e = Bw64Writer::create(dir.path().join("no/such/dir.wav"), spec(1, OutputFormat::F32))
        .err()
        .unwrap();
    assert!(matches!(e, Bw64Error::Io { .. }), "{e}");
    let mut w = Bw64Writer::create(&path, spec(2, OutputFormat::F32)).unwrap();
    assert!(w.write_planar(&[vec![0f32; 3]]).is_err());
    assert!(w.write_planar(&[vec![0f32; 3], vec![0f32; 2]]).is_err());
    let mut bad = chna_for(2);
    bad.entries[0].uid = "ATU_0000000001".into();
    assert!(w.set_chna(&bad).is_err());
    drop(w);
    assert!(dir_names(dir.path()).is_empty());
}

#[test]
fn split_writes_one_mono_file_per_speaker() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mix.wav");
    let labels = ["L", "R", "C", "LFE", "M+110", "M-110"];
    let signal = sines(6, 5000, 48_000.0, 0.5);
    let mut s = SplitWriter::create(
        &out,
        &labels,
        WriterSpec {
            channel_mask: Some(0x3f),
            ..spec(6, OutputFormat::F32)
        },
    )
    .unwrap();
    s.write_planar(&signal).unwrap();
    s.write_silence(10).unwrap();
    let reports = s.finish().unwrap();
    assert_eq!(reports.len(), 6);
    assert_eq!(
        dir_names(dir.path()),
        [
            "mix.C.wav",
            "mix.L.wav",
            "mix.LFE.wav",
            "mix.M+110.wav",
            "mix.M-110.wav",
            "mix.R.wav"
        ]
    );
    for (c, l) in labels.iter().enumerate() {
        let mut r = Bw64Reader::open(dir.path().join(format!("mix.{l}.wav"))).unwrap();
        assert_eq!((r.channels(), r.frames(), r.format().channel_mask), (1, 5010, None));
        assert_eq!(r.format().sample_format, SampleFormat::Float);
        let mut back = [vec![0f32; 5000]];
        r.read_planar(0, &mut back).unwrap();
        assert_eq!(back[0], signal[c], "{l}");
    }
}

#[test]
fn split_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mix.wav");
    // The third file's name is taken by a directory: its rename fails after
    // the first two succeeded, and those must be removed again.
    std::fs::create_dir(dir.path().join("mix.C.wav")).unwrap();
    let mut s = SplitWriter::create(&out, &["L", "R", "C"], spec(3, OutputFormat::S24)).unwrap();
    s.write_planar(&sines(3, 100, 48_000.0, 0.5)).unwrap();
    let e = s.finish().unwrap_err();
    assert!(e.to_string().contains("mix.C.wav"), "{e}");
    assert_eq!(dir_names(dir.path()), ["mix.C.wav"]);

    let e = SplitWriter::create(&out, &["L", "L"], spec(2, OutputFormat::S24))
        .err()
        .unwrap();
    assert!(e.to_string().contains("two speakers"), "{e}");
    let e = SplitWriter::create(&out, &["L"], spec(2, OutputFormat::S24))
        .err()
        .unwrap();
    assert!(e.to_string().contains("1 labels for 2 channels"), "{e}");
    assert_eq!(dir_names(dir.path()), ["mix.C.wav"]);
}

#[test]
fn steady_state_reads_and_writes_do_not_allocate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.wav");
    let signal = sines(4, 4096, 48_000.0, 0.5);
    let block: Vec<&[f32]> = signal.iter().map(|c| &c[..512]).collect();
    let mut w = Bw64Writer::create(&path, spec(4, OutputFormat::S24)).unwrap();
    w.write_planar(&block).unwrap(); // sizes the buffer
    let ((), largest) = crate::alloc_probe::largest_allocation(|| {
        for _ in 0..200 {
            w.write_planar(&block).unwrap();
        }
    });
    assert_eq!(largest, 0, "write_planar allocated {largest} bytes");
    w.finish().unwrap();

    let mut r = Bw64Reader::open(&path).unwrap();
    let mut a = vec![0f32; 333];
    let mut b = vec![0f32; 333];
    let mut c = vec![0f32; 333];
    let mut d = vec![0f32; 333];
    // Caller-owned slices work as well as Vecs.
    let mut out: [&mut [f32]; 4] = [&mut a, &mut b, &mut c, &mut d];
    r.read_planar(0, &mut out).unwrap(); // sizes the buffer
    let ((), largest) = crate::alloc_probe::largest_allocation(|| {
        for k in 0..300u64 {
            r.read_planar((k * 7919) % 100_000, &mut out).unwrap();
            r.read_next(&mut out).unwrap();
            r.read_planar_channels(k, &[3, 0], &mut out[..2]).unwrap();
        }
    });
    assert_eq!(largest, 0, "reading allocated {largest} bytes");
    assert_eq!(r.read_planar(1000, &mut out).unwrap(), 333);
    for (i, y) in out[3].iter().enumerate() {
        let x = signal[3][(1000 + i) % 512];
        assert!((x - y).abs() <= 0.5 / 8_388_608.0, "frame {i}: {x} → {y}");
    }
}
