//! Loudness of a deliverable, ITU-R BS.1770-4 / EBU R128 (through the
//! `ebur128` crate): integrated loudness, loudness range (EBU Tech 3342),
//! true peak and sample peak, fed with planar blocks straight from the
//! engine. Channel weights come from each speaker's position — the crate's
//! default map covers only 6 channels and silently ignores the rest, so the
//! map is always set: LFE unused; ear-level (|elevation| < 30°) speakers at
//! 60°…120° azimuth get the surround weight 1.41 (BS.1770-4 Table 3); all
//! others weight 1.0.
//!
//! Also the delivery targets (`--target`): published programme or
//! dialogue-gated loudness with tolerances and true-peak ceilings.

use crate::layout::Layout;
use ebur128::{Channel, EbuR128, Mode};
use serde::Serialize;

/// What one meter measured.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LoudnessReport {
    /// BS.1770-4 gated integrated loudness (LUFS); None for silence.
    pub integrated_lufs: Option<f64>,
    /// EBU Tech 3342 loudness range (LU).
    pub loudness_range_lu: Option<f64>,
    /// Maximum true peak over all channels (dBTP, 4× oversampled).
    pub true_peak_dbtp: Option<f64>,
    /// Maximum sample peak over all channels (dBFS).
    pub sample_peak_dbfs: Option<f64>,
}

/// Why a meter could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LoudnessError {
    #[error("loudness meter: {0}")]
    Meter(String),
}

/// BS.1770-4 weighting of a speaker as an `ebur128` channel kind.
pub fn channel_kind(azimuth: f64, elevation: f64, lfe: bool) -> Channel {
    if lfe {
        Channel::Unused
    } else if elevation.abs() < 30.0 && (60.0..=120.0).contains(&azimuth.abs()) {
        // weight 1.41; which surround variant is irrelevant
        if azimuth > 0.0 {
            Channel::LeftSurround
        } else {
            Channel::RightSurround
        }
    } else {
        Channel::Center // weight 1.0
    }
}

/// A BS.1770-4 meter for one deliverable.
pub struct Meter {
    inner: EbuR128,
    channels: usize,
}

impl Meter {
    /// A meter for a speaker layout (channel weights from the speakers).
    pub fn for_layout(layout: &Layout, rate: u32) -> Result<Meter, LoudnessError> {
        let map: Vec<Channel> = layout
            .speakers
            .iter()
            .map(|s| channel_kind(s.azimuth, s.elevation, s.lfe))
            .collect();
        Self::with_map(&map, rate)
    }

    /// A meter for headphone (2-channel) output: both ears weight 1.
    pub fn for_binaural(rate: u32) -> Result<Meter, LoudnessError> {
        Self::with_map(&[Channel::Left, Channel::Right], rate)
    }

    pub fn with_map(map: &[Channel], rate: u32) -> Result<Meter, LoudnessError> {
        let mode = Mode::I | Mode::LRA | Mode::TRUE_PEAK | Mode::SAMPLE_PEAK | Mode::HISTOGRAM;
        let mut inner =
            EbuR128::new(map.len() as u32, rate, mode).map_err(|e| LoudnessError::Meter(format!("{e:?}")))?;
        inner
            .set_channel_map(map)
            .map_err(|e| LoudnessError::Meter(format!("{e:?}")))?;
        Ok(Meter {
            inner,
            channels: map.len(),
        })
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Add planar frames (one slice per channel, equal lengths). A block of
    /// the wrong shape is refused, not a panic (the crate would panic).
    pub fn add(&mut self, planar: &[&[f32]]) -> Result<(), LoudnessError> {
        if planar.len() != self.channels {
            return Err(LoudnessError::Meter(format!(
                "{} channels given to a {}-channel meter",
                planar.len(),
                self.channels
            )));
        }
        let n = planar.first().map_or(0, |c| c.len());
        if planar.iter().any(|c| c.len() != n) {
            return Err(LoudnessError::Meter("channels of different lengths".into()));
        }
        if n == 0 {
            return Ok(());
        }
        self.inner
            .add_frames_planar_f32(planar)
            .map_err(|e| LoudnessError::Meter(format!("{e:?}")))
    }

    pub fn report(&self) -> LoudnessReport {
        let db = |x: f64| if x > 0.0 { Some(20.0 * x.log10()) } else { None };
        let finite = |x: f64| if x.is_finite() { Some(x) } else { None };
        let tp = (0..self.channels as u32)
            .filter_map(|c| self.inner.true_peak(c).ok())
            .fold(0.0f64, f64::max);
        let sp = (0..self.channels as u32)
            .filter_map(|c| self.inner.sample_peak(c).ok())
            .fold(0.0f64, f64::max);
        LoudnessReport {
            integrated_lufs: self.inner.loudness_global().ok().and_then(finite),
            loudness_range_lu: self.inner.loudness_range().ok().and_then(finite),
            true_peak_dbtp: db(tp),
            sample_peak_dbfs: db(sp),
        }
    }
}

/// What a delivery target gates on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Gating {
    /// BS.1770-4 programme loudness (all content).
    Programme,
    /// Loudness of the dialogue alone (rendered from the ADM dialogue labels).
    Dialogue,
}

/// A published loudness specification.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Target {
    pub name: &'static str,
    pub description: &'static str,
    pub gating: Gating,
    pub loudness: f64,
    /// ± tolerance in LU.
    pub tolerance: f64,
    /// Maximum true peak (dBTP).
    pub max_true_peak: f64,
}

/// The targets `--target` knows (values as published by each body).
pub const TARGETS: &[Target] = &[
    Target {
        name: "ebu-r128",
        description: "EBU R 128 (2020): −23 LUFS ±0.5 LU programme loudness, true peak ≤ −1 dBTP",
        gating: Gating::Programme,
        loudness: -23.0,
        tolerance: 0.5,
        max_true_peak: -1.0,
    },
    Target {
        name: "atsc-a85",
        description: "ATSC A/85:2013 (US broadcast, CALM Act): −24 LKFS ±2 dB, true peak ≤ −2 dBTP",
        gating: Gating::Programme,
        loudness: -24.0,
        tolerance: 2.0,
        max_true_peak: -2.0,
    },
    Target {
        name: "arib-tr-b32",
        description: "ARIB TR-B32 (Japan): −24 LKFS ±1 dB, true peak ≤ −1 dBTP",
        gating: Gating::Programme,
        loudness: -24.0,
        tolerance: 1.0,
        max_true_peak: -1.0,
    },
    Target {
        name: "netflix",
        description: "Netflix sound mix specification: −27 LKFS ±2 LU dialogue-gated, true peak ≤ −2 dBTP",
        gating: Gating::Dialogue,
        loudness: -27.0,
        tolerance: 2.0,
        max_true_peak: -2.0,
    },
];

pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name.eq_ignore_ascii_case(name))
}

/// Pass/fail of one deliverable against a target.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TargetCheck {
    pub target: &'static str,
    pub gating: Gating,
    /// The loudness the target gates on (programme or dialogue).
    pub measured_lufs: Option<f64>,
    /// measured − target (LU).
    pub delta_lu: Option<f64>,
    pub true_peak_dbtp: Option<f64>,
    pub loudness_ok: bool,
    pub true_peak_ok: bool,
    pub pass: bool,
}

impl Target {
    pub fn check(&self, report: &LoudnessReport, dialogue_lufs: Option<f64>) -> TargetCheck {
        let measured = match self.gating {
            Gating::Programme => report.integrated_lufs,
            Gating::Dialogue => dialogue_lufs,
        };
        let delta = measured.map(|m| m - self.loudness);
        let loudness_ok = delta.is_some_and(|d| d.abs() <= self.tolerance + 1e-9);
        let true_peak_ok = report.true_peak_dbtp.is_none_or(|tp| tp <= self.max_true_peak + 1e-9);
        TargetCheck {
            target: self.name,
            gating: self.gating,
            measured_lufs: measured,
            delta_lu: delta,
            true_peak_dbtp: report.true_peak_dbtp,
            loudness_ok,
            true_peak_ok,
            pass: loudness_ok && true_peak_ok,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f64, amp_dbfs: f64, rate: u32, seconds: f64, phase: f64) -> Vec<f32> {
        let a = 10f64.powf(amp_dbfs / 20.0);
        (0..(rate as f64 * seconds) as usize)
            .map(|n| (a * (std::f64::consts::TAU * freq * n as f64 / rate as f64 + phase).sin()) as f32)
            .collect()
    }

    #[test]
    fn ebu_tech_3341_stereo_sines() {
        // EBU Tech 3341 case 1: stereo 1 kHz at −23 dBFS reads −23.0 ±0.1 LUFS; case 2 at −33.
        for level in [-23.0, -33.0] {
            let x = sine(1000.0, level, 48000, 20.0, 0.0);
            let mut m = Meter::for_layout(&Layout::builtin("2.0").unwrap().unwrap(), 48000).unwrap();
            m.add(&[&x, &x]).unwrap();
            let r = m.report();
            assert!((r.integrated_lufs.unwrap() - level).abs() < 0.1, "{level}: {r:?}");
        }
    }

    #[test]
    fn surround_weighting_lfe_and_every_channel_of_big_layouts() {
        let l = Layout::builtin("5.1").unwrap().unwrap();
        let x = sine(1000.0, -23.0, 48000, 3.0, 0.0);
        let z = vec![0.0f32; x.len()];
        let measure = |ch: usize| {
            let mut m = Meter::for_layout(&l, 48000).unwrap();
            let planar: Vec<&[f32]> = (0..6).map(|c| if c == ch { &x[..] } else { &z[..] }).collect();
            m.add(&planar).unwrap();
            m.report().integrated_lufs
        };
        let centre = measure(2).unwrap();
        let surround = measure(4).unwrap(); // Ls at +110°
        assert!((surround - centre - 1.49).abs() < 0.05, "{centre} {surround}");
        assert_eq!(measure(3), None, "LFE must not count");
        let x = &x[..24000];
        let z = &z[..24000];
        for name in ["7.1.4", "9.1.6", "theatre"] {
            let l = Layout::builtin(name).unwrap().unwrap();
            for (i, s) in l.speakers.iter().enumerate() {
                let mut m = Meter::for_layout(&l, 48000).unwrap();
                let planar: Vec<&[f32]> = (0..l.len()).map(|c| if c == i { x } else { z }).collect();
                m.add(&planar).unwrap();
                let r = m.report().integrated_lufs;
                assert_eq!(
                    r.is_some(),
                    !s.lfe,
                    "{name} {}: every non-LFE channel is measured",
                    s.label
                );
            }
        }
    }

    #[test]
    fn tech_3342_lra_and_true_peak() {
        // EBU Tech 3342 case 1: 20 s at −20 dBFS then 20 s at −30 dBFS → LRA 10 LU (±1).
        let mut x = sine(1000.0, -20.0, 48000, 20.0, 0.0);
        x.extend(sine(1000.0, -30.0, 48000, 20.0, 0.0));
        let mut m = Meter::for_layout(&Layout::builtin("2.0").unwrap().unwrap(), 48000).unwrap();
        m.add(&[&x, &x]).unwrap();
        assert!((m.report().loudness_range_lu.unwrap() - 10.0).abs() < 1.0);
        // A sine at fs/4 sampled at 45°: samples at ±0.707 A, true peak A.
        let a = 0.5f64;
        let x: Vec<f32> = (0..48000)
            .map(|n| (a * (std::f64::consts::FRAC_PI_2 * n as f64 + std::f64::consts::FRAC_PI_4).sin()) as f32)
            .collect();
        let mut m = Meter::for_binaural(48000).unwrap();
        m.add(&[&x, &x]).unwrap();
        let r = m.report();
        assert!((r.true_peak_dbtp.unwrap() - 20.0 * a.log10()).abs() < 0.3, "{r:?}");
        assert!((r.sample_peak_dbfs.unwrap() - 20.0 * (a * 0.5f64.sqrt()).log10()).abs() < 0.01);
    }

    #[test]
    fn wrong_shapes_are_errors_not_panics() {
        let mut m = Meter::for_binaural(48000).unwrap();
        assert!(m.add(&[&[0.0f32; 4][..]]).is_err());
        assert!(m.add(&[&[0.0f32; 4][..], &[0.0f32; 3][..]]).is_err());
    }
}
