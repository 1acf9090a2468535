//! The headphone fold-down: localisation cues with the built-in MIT KEMAR
//! set (interaural level and time differences, symmetry), exactness on a
//! measured virtual speaker, a personal SOFA file, a malformed one, and what
//! the headphone modes change.

use crate::common::polar;
use admix::adm::elements::{ObjectBlock, ObjectPosition, Screen};
use admix::binaural::hrtf::Hrtf;
use admix::binaural::{BinauralEngine, BinauralOptions, RenderMode};
use admix::engine::{CHUNK, LATENCY, LayoutEngine};
use admix::scene::{ItemKind, ObjectBlocks, RenderItem, Scene, TimedBlock, TrackSource};
use admix::time::Time;
use realfft::RealFftPlanner;
use std::path::Path;

const RATE: u32 = 48000;

fn object(block: ObjectBlock) -> RenderItem {
    RenderItem {
        id: "AO_1001/AC_00031001".into(),
        name: "test object".into(),
        track: TrackSource::Channel(0),
        gain: 1.0,
        cartesian: block.cartesian,
        kind: ItemKind::Object {
            blocks: ObjectBlocks::from_vec(vec![TimedBlock {
                id: "AB_00031001_00000001".into(),
                start: Time::ZERO,
                end: None,
                ramp_end: None,
                block,
            }]),
        },
        headphone_mode: None,
        dialogue: false,
        content_id: None,
        object_path: vec!["AO_1001".into()],
    }
}

fn scene(items: Vec<RenderItem>, frames: u64) -> Scene {
    Scene {
        sample_rate: RATE,
        frames,
        tracks: 1,
        programme: None,
        programmes: Vec::new(),
        reference_screen: Screen::DEFAULT,
        items,
        notices: Vec::new(),
    }
}

fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.5
        })
        .collect()
}

/// Render one input track through the fold-down; returns (left, right) aligned with the input.
fn fold(item: RenderItem, x: &[f32], opts: &BinauralOptions) -> (Vec<f32>, Vec<f32>) {
    let frames = x.len();
    let sc = scene(vec![item], frames as u64);
    let mut e = BinauralEngine::new(&sc, opts).unwrap();
    let total = frames + LATENCY;
    let (mut l, mut r) = (Vec::new(), Vec::new());
    let mut out = vec![vec![0.0f32; CHUNK]; 2];
    let mut pos = 0;
    while pos < total {
        let mut input = vec![vec![0.0f32; CHUNK]];
        for i in 0..CHUNK {
            if pos + i < frames {
                input[0][i] = x[pos + i];
            }
        }
        e.process_chunk(&sc, &input, &mut out).unwrap();
        l.extend_from_slice(&out[0]);
        r.extend_from_slice(&out[1]);
        pos += CHUNK;
    }
    (
        l[LATENCY..LATENCY + frames].to_vec(),
        r[LATENCY..LATENCY + frames].to_vec(),
    )
}

/// Energy above `hz` (FFT of the whole signal).
fn energy_above(x: &[f32], hz: f64) -> f64 {
    let mut planner = RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(x.len());
    let mut inp: Vec<f64> = x.iter().map(|v| *v as f64).collect();
    let mut spec = fft.make_output_vec();
    fft.process(&mut inp, &mut spec).unwrap();
    let bin_hz = RATE as f64 / x.len() as f64;
    spec.iter()
        .enumerate()
        .filter(|(k, _)| *k as f64 * bin_hz > hz)
        .map(|(_, c)| c.norm_sqr())
        .sum()
}

/// Lag (in samples) at which R best matches L delayed: positive when the left ear leads.
fn lead_of_left(l: &[f32], r: &[f32]) -> i64 {
    let max_lag = 60i64; // 1.25 ms
    let mut best = (f64::MIN, 0i64);
    for lag in -max_lag..=max_lag {
        let mut acc = 0.0f64;
        for n in 0..l.len() as i64 {
            let m = n + lag;
            if m >= 0 && (m as usize) < r.len() {
                acc += l[n as usize] as f64 * r[m as usize] as f64;
            }
        }
        if acc > best.0 {
            best = (acc, lag);
        }
    }
    best.1
}

fn db(a: f64, b: f64) -> f64 {
    10.0 * (a / b).log10()
}

#[test]
fn lateral_sources_have_kemars_level_and_time_differences() {
    let x = noise(RATE as usize, 7);
    let opts = BinauralOptions::default(); // default mode: mid
    for (az, sign) in [(90.0, 1.0), (-90.0, -1.0)] {
        let (l, r) = fold(object(polar(az, 0.0)), &x, &opts);
        let ild = db(energy_above(&l, 1000.0), energy_above(&r, 1000.0)) * sign;
        let itd_ms = lead_of_left(&l, &r) as f64 * sign / RATE as f64 * 1000.0;
        eprintln!("az {az}: ILD above 1 kHz {ild:.1} dB, ITD {itd_ms:.3} ms (near ear leads)");
        assert!(ild >= 6.0, "az {az}: near ear only {ild:.1} dB louder above 1 kHz");
        assert!(
            (0.5..=0.8).contains(&itd_ms),
            "az {az}: near ear leads by {itd_ms:.3} ms"
        );
    }
    // A cartesian object at the left wall behaves like +90° (the virtual
    // layout's room model puts the side wall's centre at ±90°).
    let wall = ObjectBlock {
        position: ObjectPosition::Cartesian {
            x: -1.0,
            y: 0.0,
            z: 0.0,
        },
        cartesian: true,
        ..ObjectBlock::default()
    };
    let (l, r) = fold(object(wall), &x, &opts);
    let ild = db(energy_above(&l, 1000.0), energy_above(&r, 1000.0));
    let itd_ms = lead_of_left(&l, &r) as f64 / RATE as f64 * 1000.0;
    eprintln!("cartesian left wall: ILD {ild:.1} dB, ITD {itd_ms:.3} ms");
    assert!(
        ild >= 6.0 && (0.5..=0.8).contains(&itd_ms),
        "left wall: ILD {ild:.1} dB, ITD {itd_ms:.3} ms"
    );
}

#[test]
fn median_plane_sources_are_symmetric() {
    let x = noise(RATE as usize, 11);
    let opts = BinauralOptions::default();
    for (az, el) in [(0.0, 0.0), (180.0, 0.0), (0.0, 90.0), (0.0, 30.0), (180.0, 40.0)] {
        let (l, r) = fold(object(polar(az, el)), &x, &opts);
        let ild = db(energy_above(&l, 20.0), energy_above(&r, 20.0));
        let itd_ms = lead_of_left(&l, &r) as f64 / RATE as f64 * 1000.0;
        eprintln!("az {az} el {el}: L/R {ild:.2} dB, ITD {itd_ms:.3} ms");
        assert!(ild.abs() <= 1.0, "az {az} el {el}: L/R differ by {ild:.2} dB");
        assert!(itd_ms.abs() <= 0.1, "az {az} el {el}: ITD {itd_ms:.3} ms");
    }
}

#[test]
fn a_source_on_a_measured_virtual_speaker_is_that_hrir() {
    let hrtf = Hrtf::default_set(RATE).unwrap();
    assert!(hrtf.is_measured(30.0, 0.0));
    let h = hrtf.hrir(30.0, 0.0);
    assert!(h.measured);
    let x = noise(12_000, 3);
    let opts = BinauralOptions {
        mode_override: Some(RenderMode::Dry),
        ..BinauralOptions::default()
    };
    let (l, r) = fold(object(polar(30.0, 0.0)), &x, &opts);
    let conv = |h: &[f32], n: usize| -> f64 {
        let mut acc = 0.0f64;
        for (k, hv) in h.iter().enumerate() {
            if n >= k {
                acc += *hv as f64 * x[n - k] as f64;
            }
        }
        acc
    };
    let mut worst = 0.0f64;
    for n in 0..x.len() {
        worst = worst
            .max((l[n] as f64 - conv(&h.left, n)).abs())
            .max((r[n] as f64 - conv(&h.right, n)).abs());
    }
    eprintln!("on M+030: max |fold − x ⊛ hrir| = {worst:.2e}");
    assert!(worst <= 1e-5, "fold-down differs from direct convolution by {worst:e}");
    // every default virtual speaker is a measured direction
    let vl = admix::layout::Layout::builtin("binaural-virtual").unwrap().unwrap();
    for s in vl.speakers.iter().filter(|s| !s.lfe) {
        assert!(hrtf.is_measured(s.azimuth, s.elevation), "{} is not measured", s.label);
    }
}

#[test]
fn a_personal_sofa_file_is_used_and_a_broken_one_is_refused() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("adm-fixtures/hrtf");
    let x = noise(RATE as usize / 2, 5);
    let personal = BinauralOptions {
        hrtf: Some(dir.join("sofasonix_netcdf4.sofa")),
        mode_override: Some(RenderMode::Dry),
        ..BinauralOptions::default()
    };
    let (l, r) = fold(object(polar(90.0, 0.0)), &x, &personal);
    let ild = db(energy_above(&l, 1000.0), energy_above(&r, 1000.0));
    // unit impulses: no level difference, unlike KEMAR's ≥ 6 dB
    assert!(ild.abs() < 1.0, "personal set not used: ILD {ild:.1} dB");
    assert!(energy_above(&l, 20.0) > 0.0);
    // malformed SOFA files: a clear error naming the file, no panic
    let tmp = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("empty.sofa", Vec::new()),
        ("text.sofa", b"not an HDF5 file at all".to_vec()),
        ("truncated.sofa", admix::binaural::hrtf::DEFAULT_SOFA[..40_000].to_vec()),
    ] {
        let p = tmp.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let sc = scene(vec![object(polar(0.0, 0.0))], 100);
        let opts = BinauralOptions {
            hrtf: Some(p.clone()),
            ..BinauralOptions::default()
        };
        match BinauralEngine::new(&sc, &opts) {
            Ok(_) => panic!("{name} was accepted"),
            Err(e) => assert!(e.to_string().contains(name), "{name}: {e}"),
        }
    }
}

#[test]
fn headphone_modes_change_the_output_as_documented() {
    let x = noise(RATE as usize, 13);
    let run = |m: RenderMode| {
        fold(
            object(polar(90.0, 0.0)),
            &x,
            &BinauralOptions {
                mode_override: Some(m),
                ..BinauralOptions::default()
            },
        )
    };
    // off: a stereo fold, no interaural delay (at 45°, where both ears get signal)
    let (l, r) = fold(
        object(polar(45.0, 0.0)),
        &x,
        &BinauralOptions {
            mode_override: Some(RenderMode::Off),
            ..BinauralOptions::default()
        },
    );
    assert!(energy_above(&r, 20.0) > 0.0);
    assert_eq!(lead_of_left(&l, &r), 0, "off mode has an interaural delay");
    // far has more late energy (after the direct sound has died) than near
    let late = |(l, r): (Vec<f32>, Vec<f32>)| -> f64 {
        // energy of the output minus the dry fold: the room's contribution
        let (dl, dr) = run(RenderMode::Dry);
        l.iter()
            .zip(&dl)
            .chain(r.iter().zip(&dr))
            .map(|(a, b)| ((a - b) as f64).powi(2))
            .sum()
    };
    let (near, mid, far) = (
        late(run(RenderMode::Near)),
        late(run(RenderMode::Mid)),
        late(run(RenderMode::Far)),
    );
    eprintln!("room energy: near {near:.3e} mid {mid:.3e} far {far:.3e}");
    assert!(near < mid && mid < far, "room energy near {near} mid {mid} far {far}");
}
