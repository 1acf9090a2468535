//! Gain timelines, BS.2127 §7.2 (ear `renderer_common` `InterpGains` /
//! `FixedGains`, `objectbased/renderer.py`): for one render item on one
//! layout, the gains of each metadata block and the samples they cover —
//! a linear ramp from the previous block's gains over `[start, ramp_end)`,
//! then constant gains to `end`; sample `n` is covered when
//! `start·fs ≤ n < end·fs` (block edges rounded up). Gains are computed
//! lazily, block by block, as the audio reaches them.

use crate::time::Time;

/// The gains of one block: direct and diffuse per speaker (f32, item gain
/// applied).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BlockGains {
    pub direct: Vec<f32>,
    pub diffuse: Vec<f32>,
    /// Any non-zero diffuse gain.
    pub has_diffuse: bool,
}

/// A run of samples inside one audio chunk where an item's gains are
/// `c[s] + d[s]·k` (k = 0 at the run's first sample).
#[derive(Clone, Debug, PartialEq)]
pub struct Piece {
    /// Input channel.
    pub track: u32,
    /// Sample range, relative to the chunk start.
    pub start: u32,
    pub end: u32,
    /// Offset into the owning item's coefficient store: direct c, direct d,
    /// diffuse c, diffuse d, each `speakers` long.
    pub coeffs: usize,
    /// d ≠ 0 somewhere (a ramp).
    pub ramp: bool,
    /// Any diffuse coefficient ≠ 0.
    pub diffuse: bool,
}

/// Sample positions of one block (exact rationals turned into the integer
/// edges ear uses, and f64 positions for the ramp coefficient).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockSpan {
    /// First sample (ceil(start·fs)).
    pub first: i64,
    /// First sample after the ramp (ceil(ramp_end·fs)); == first when no ramp.
    pub ramp_last: i64,
    /// First sample after the block (ceil(end·fs)), i64::MAX when open.
    pub last: i64,
    /// start·fs and ramp_end·fs as f64 for p(n) = (n − S)/(E − S).
    pub start_f: f64,
    pub ramp_end_f: f64,
}

impl BlockSpan {
    pub fn new(start: Time, ramp_end: Option<Time>, end: Option<Time>, rate: u32) -> Self {
        let first = start.to_sample_ceil(rate);
        let last = end.map_or(i64::MAX, |e| e.to_sample_ceil(rate));
        let (ramp_last, ramp_end_f) = match ramp_end {
            Some(r) => (r.to_sample_ceil(rate).min(last), r.to_sample_f64(rate)),
            None => (first, start.to_sample_f64(rate)),
        };
        BlockSpan {
            first,
            ramp_last: ramp_last.max(first),
            last: last.max(first),
            start_f: start.to_sample_f64(rate),
            ramp_end_f,
        }
    }

    /// Ramp position p at sample n: (n − S)/(E − S).
    #[inline]
    pub fn ramp_p(&self, n: i64) -> f64 {
        (n as f64 - self.start_f) / (self.ramp_end_f - self.start_f)
    }
}

/// Write the coefficients of one piece: for a ramp from `g0` to `g1` starting
/// at absolute sample `n0`, c = g0 + (g1−g0)·p(n0), d = (g1−g0)/(E−S); for
/// a hold, c = g1, d = 0.
pub fn piece_coeffs(span: &BlockSpan, ramp: Option<(&BlockGains, i64)>, g1: &BlockGains, out: &mut Vec<f32>) -> bool {
    let s = g1.direct.len();
    let base = out.len();
    out.resize(base + 4 * s, 0.0);
    let (c_dir, rest) = out[base..].split_at_mut(s);
    let (d_dir, rest) = rest.split_at_mut(s);
    let (c_dif, d_dif) = rest.split_at_mut(s);
    match ramp {
        Some((g0, n0)) => {
            let p0 = span.ramp_p(n0);
            let dp = 1.0 / (span.ramp_end_f - span.start_f);
            let mut any = false;
            for k in 0..s {
                let (a, b) = (g0.direct[k] as f64, g1.direct[k] as f64);
                c_dir[k] = (a + (b - a) * p0) as f32;
                d_dir[k] = ((b - a) * dp) as f32;
                let (a, b) = (g0.diffuse[k] as f64, g1.diffuse[k] as f64);
                c_dif[k] = (a + (b - a) * p0) as f32;
                d_dif[k] = ((b - a) * dp) as f32;
                any |= d_dir[k] != 0.0 || d_dif[k] != 0.0;
            }
            any
        }
        None => {
            c_dir.copy_from_slice(&g1.direct);
            c_dif.copy_from_slice(&g1.diffuse);
            d_dir.fill(0.0);
            d_dif.fill(0.0);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_round_up_and_ramp_linearly() {
        let t = |s: &str| Time::parse(s).unwrap();
        let sp = BlockSpan::new(t("00:00:00.5"), Some(t("00:00:00.55")), Some(t("00:00:01.0")), 48000);
        assert_eq!((sp.first, sp.ramp_last, sp.last), (24000, 26400, 48000));
        assert_eq!(sp.ramp_p(24000), 0.0);
        assert!((sp.ramp_p(25200) - 0.5).abs() < 1e-12);
        // fractional edges: 1/3 s at 44.1 kHz = 14700 exactly; 0.0053333 s = 255.9984 samples
        let sp = BlockSpan::new(Time::ZERO, None, Some(t("00:00:00.0053333")), 48000);
        assert_eq!((sp.first, sp.ramp_last, sp.last), (0, 0, 256));
        let open = BlockSpan::new(t("00:00:01.0"), None, None, 48000);
        assert_eq!(open.last, i64::MAX);
    }

    #[test]
    fn ramp_coefficients_reproduce_the_linear_gain() {
        let t = |s: &str| Time::parse(s).unwrap();
        let sp = BlockSpan::new(t("00:00:00.0"), Some(t("00:00:00.01")), Some(t("00:00:00.02")), 48000);
        let g0 = BlockGains {
            direct: vec![1.0, 0.0],
            diffuse: vec![0.0, 0.0],
            has_diffuse: false,
        };
        let g1 = BlockGains {
            direct: vec![0.0, 1.0],
            diffuse: vec![0.0, 0.5],
            has_diffuse: true,
        };
        let mut v = Vec::new();
        assert!(piece_coeffs(&sp, Some((&g0, 120)), &g1, &mut v));
        // at sample 120 + k: p = (120 + k)/480
        for k in [0usize, 100, 359] {
            let p = (120 + k) as f64 / 480.0;
            let g = v[0] as f64 + v[2] as f64 * k as f64;
            assert!((g - (1.0 - p)).abs() < 1e-6);
            let gd = v[5] as f64 + v[7] as f64 * k as f64;
            assert!((gd - 0.5 * p).abs() < 1e-6);
        }
    }
}
