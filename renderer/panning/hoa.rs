//! HOA decoding (ITU-R BS.2127 §9, "scene-based" rendering): an AllRAD
//! decoder (Zotter & Frank, JAES 60(10), 2012) designed per layout and per
//! set of HOA channels, as the reference renderer does it:
//!
//! 1. K = 5,200 virtual speakers at the points of a spherical t-design of
//!    strength 100 (Gräf & Potts; `data/Design_5200_100_random.dat`), each
//!    panned to the layout with the point-source panner (G, L × K);
//! 2. a sampling decoder to the virtual speakers, Y(N3D)ᵀ / K (K × C), so
//!    D = G · Yᵀ / K, scaled so that ‖D · Y‖_F = √K (energy lost by the
//!    panning is compensated), then from N3D to the channels' normalisation;
//! 3. the decoder scaled so that the mean power over the t-design points,
//!    mean_k Σ_l (D · Y_norm)²_lk, is 1. No max-rE weighting, no near-field
//!    compensation (nfcRefDist) and no screen scaling — ear 2.1.0's
//!    defaults.
//!
//! Spherical harmonics are real, with ADM's azimuth (anticlockwise from the
//! front) and elevation, Legendre functions without the Condon–Shortley
//! phase, and N3D, SN3D or FuMa (orders ≤ 3) normalisation.
//!
//! - Takes: the layout's [`PointSourcePanner`] (set up once), then per HOA
//!   signal set the order and degree of each channel and the normalisation.
//! - Produces: the decoder, one column of L (non-LFE speakers) gains per
//!   channel.
//! - Refuses ([`HoaError`]): an unknown normalisation, FuMa above order 3,
//!   |degree| > order.

use super::point_source::PointSourcePanner;
use std::sync::OnceLock;

const DESIGN: &str = include_str!("data/Design_5200_100_random.dat");

/// The t-design's points as unit vectors in the panner's convention
/// (p = (sin θ cos φ, sin θ sin φ, cos θ) for the file's (φ, θ)).
fn points() -> &'static [[f64; 3]] {
    static P: OnceLock<Vec<[f64; 3]>> = OnceLock::new();
    P.get_or_init(|| {
        DESIGN
            .lines()
            .filter_map(|l| {
                let mut it = l.split_whitespace().map(str::parse::<f64>);
                match (it.next(), it.next()) {
                    (Some(Ok(phi)), Some(Ok(theta))) => {
                        Some([theta.sin() * phi.cos(), theta.sin() * phi.sin(), theta.cos()])
                    }
                    _ => None,
                }
            })
            .collect()
    })
}

/// Why a decoder cannot be designed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum HoaError {
    #[error("unknown HOA normalization {0:?} (N3D, SN3D or FuMa)")]
    Normalization(String),
    #[error("FuMa normalization is defined up to order 3, not {0}")]
    FumaOrder(i32),
    #[error("HOA channel with order {order} and degree {degree}: the degree must lie in −order…order")]
    Degree { order: i32, degree: i32 },
}

/// HOA normalisation (BS.2076-2 `normalization`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Normalization {
    N3D,
    SN3D,
    FuMa,
}

impl Normalization {
    pub fn parse(s: &str) -> Result<Self, HoaError> {
        match s.trim() {
            "N3D" => Ok(Normalization::N3D),
            "SN3D" => Ok(Normalization::SN3D),
            "FuMa" | "FUMA" => Ok(Normalization::FuMa),
            other => Err(HoaError::Normalization(other.to_string())),
        }
    }

    /// The normalisation factor for order n, |degree| m.
    pub fn factor(self, n: i32, m: i32) -> Result<f64, HoaError> {
        let sn3d = (fact(n - m) / fact(n + m)).sqrt();
        Ok(match self {
            Normalization::SN3D => sn3d,
            Normalization::N3D => ((2 * n + 1) as f64).sqrt() * sn3d,
            Normalization::FuMa => {
                let c = match (n, m) {
                    (0, 0) => std::f64::consts::FRAC_1_SQRT_2,
                    (1, 0) | (1, 1) | (2, 0) | (3, 0) => 1.0,
                    (2, 1) | (2, 2) => 2.0 / 3f64.sqrt(),
                    (3, 1) => (45.0f64 / 32.0).sqrt(),
                    (3, 2) => 3.0 / 5f64.sqrt(),
                    (3, 3) => (8.0f64 / 5.0).sqrt(),
                    _ => return Err(HoaError::FumaOrder(n)),
                };
                sn3d * c
            }
        })
    }
}

fn fact(n: i32) -> f64 {
    (2..=n.max(0)).fold(1.0, |a, k| a * k as f64)
}

/// Associated Legendre function P_n^m(x), m ≥ 0, without the Condon–Shortley phase.
pub fn legendre(n: i32, m: i32, x: f64) -> f64 {
    if m > n || m < 0 {
        return 0.0;
    }
    // P_m^m = (2m−1)!! (1−x²)^(m/2)
    let s = (1.0 - x * x).max(0.0).sqrt();
    let mut pmm = 1.0;
    for k in 1..=m {
        pmm *= (2 * k - 1) as f64 * s;
    }
    if n == m {
        return pmm;
    }
    let mut p1 = x * (2 * m + 1) as f64 * pmm; // P_{m+1}^m
    let mut p0 = pmm;
    for l in (m + 2)..=n {
        let p = ((2 * l - 1) as f64 * x * p1 - (l + m - 1) as f64 * p0) / (l - m) as f64;
        p0 = p1;
        p1 = p;
    }
    p1
}

/// Real spherical harmonic Y_n^m at (azimuth, elevation) in radians.
pub fn sph_harm(n: i32, m: i32, az: f64, el: f64, norm: Normalization) -> Result<f64, HoaError> {
    let a = m.abs();
    let scale = match m.cmp(&0) {
        std::cmp::Ordering::Greater => std::f64::consts::SQRT_2 * (m as f64 * az).cos(),
        std::cmp::Ordering::Less => -std::f64::consts::SQRT_2 * (m as f64 * az).sin(),
        std::cmp::Ordering::Equal => 1.0,
    };
    Ok(norm.factor(n, a)? * legendre(n, a, el.sin()) * scale)
}

/// The per-layout part of the design: the virtual speakers' gains.
pub struct HoaDesign {
    /// (azimuth, elevation) of each t-design point, radians.
    dirs: Vec<(f64, f64)>,
    /// G: K rows of L gains.
    g_virt: Vec<Vec<f64>>,
    num_channels: usize,
}

impl HoaDesign {
    /// Pans the 5,200 virtual speakers once (a few milliseconds).
    pub fn new(psp: &PointSourcePanner) -> Self {
        let l = psp.num_channels();
        let pts = points();
        let mut g_virt = Vec::with_capacity(pts.len());
        for p in pts {
            let mut g = vec![0.0; l];
            psp.handle(*p, &mut g);
            g_virt.push(g);
        }
        let dirs = pts
            .iter()
            .map(|p| (-p[0].atan2(p[1]), p[2].atan2(p[0].hypot(p[1]))))
            .collect();
        HoaDesign {
            dirs,
            g_virt,
            num_channels: l,
        }
    }

    /// The decoder for channels of the given orders and degrees: one column
    /// (L gains, the layout's non-LFE speakers) per channel.
    pub fn decoder(&self, orders: &[i32], degrees: &[i32], norm: Normalization) -> Result<Vec<Vec<f64>>, HoaError> {
        let (k, l, c) = (self.dirs.len(), self.num_channels, orders.len());
        for (&n, &m) in orders.iter().zip(degrees) {
            if n < 0 || m.abs() > n {
                return Err(HoaError::Degree { order: n, degree: m });
            }
            norm.factor(n, m.abs())?;
        }
        // Y (N3D) and Y (target normalisation), C × K
        let mut y = vec![vec![0.0; k]; c];
        let mut y_norm = vec![vec![0.0; k]; c];
        for ch in 0..c {
            let (n, m) = (orders[ch], degrees[ch]);
            for (j, &(az, el)) in self.dirs.iter().enumerate() {
                y[ch][j] = sph_harm(n, m, az, el, Normalization::N3D)?;
                y_norm[ch][j] = sph_harm(n, m, az, el, norm)?;
            }
        }
        // D = G · Yᵀ / K  (L × C)
        let mut d = vec![vec![0.0; c]; l];
        for (j, g) in self.g_virt.iter().enumerate() {
            for (s, &gs) in g.iter().enumerate() {
                if gs == 0.0 {
                    continue;
                }
                for ch in 0..c {
                    d[s][ch] += gs * y[ch][j];
                }
            }
        }
        for row in d.iter_mut() {
            for v in row.iter_mut() {
                *v /= k as f64;
            }
        }
        // ‖D · Y‖_F = √K
        let fro = frobenius_of_product(&d, &y);
        let scale = (k as f64).sqrt() / fro;
        for row in d.iter_mut() {
            for (ch, v) in row.iter_mut().enumerate() {
                let (n, m) = (orders[ch], degrees[ch].abs());
                *v *= scale * Normalization::N3D.factor(n, m)? / norm.factor(n, m)?;
            }
        }
        // mean power over the design points = 1
        let power = frobenius_of_product(&d, &y_norm).powi(2) / k as f64;
        let inv = 1.0 / power.sqrt();
        // transpose into columns
        Ok((0..c).map(|ch| d.iter().map(|row| row[ch] * inv).collect()).collect())
    }
}

/// ‖A · B‖_F for A (L × C), B (C × K).
fn frobenius_of_product(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    let k = b.first().map_or(0, Vec::len);
    let mut sum = 0.0;
    let mut row = vec![0.0; k];
    for ar in a {
        row.fill(0.0);
        for (ch, &v) in ar.iter().enumerate() {
            if v != 0.0 {
                for (r, bv) in row.iter_mut().zip(&b[ch]) {
                    *r += v * bv;
                }
            }
        }
        sum += row.iter().map(|v| v * v).sum::<f64>();
    }
    sum.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Layout;

    #[test]
    fn the_design_has_5200_unit_points() {
        let p = points();
        assert_eq!(p.len(), 5200);
        assert!(
            p.iter()
                .all(|v| ((v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt() - 1.0).abs() < 1e-12)
        );
    }

    #[test]
    fn spherical_harmonics_have_their_closed_forms() {
        // SN3D: Y00 = 1, Y1-1 = sin az cos el, Y10 = sin el, Y11 = cos az cos el,
        // Y20 = (3 sin² el − 1)/2, Y22 = √3/2 cos² el cos 2az (ACN order)
        let (az, el) = (0.7f64, -0.3f64);
        let s = Normalization::SN3D;
        let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-14, "{a} vs {b}");
        close(sph_harm(0, 0, az, el, s).unwrap(), 1.0);
        close(sph_harm(1, -1, az, el, s).unwrap(), az.sin() * el.cos());
        close(sph_harm(1, 0, az, el, s).unwrap(), el.sin());
        close(sph_harm(1, 1, az, el, s).unwrap(), az.cos() * el.cos());
        close(sph_harm(2, 0, az, el, s).unwrap(), (3.0 * el.sin().powi(2) - 1.0) / 2.0);
        close(
            sph_harm(2, 2, az, el, s).unwrap(),
            3f64.sqrt() / 2.0 * el.cos().powi(2) * (2.0 * az).cos(),
        );
        // N3D = √(2n+1) SN3D; FuMa W = 1/√2
        close(
            sph_harm(2, 1, az, el, Normalization::N3D).unwrap(),
            5f64.sqrt() * sph_harm(2, 1, az, el, s).unwrap(),
        );
        close(sph_harm(0, 0, az, el, Normalization::FuMa).unwrap(), 0.5f64.sqrt());
        assert_eq!(Normalization::FuMa.factor(4, 0), Err(HoaError::FumaOrder(4)));
    }

    #[test]
    fn first_order_decoder_has_unit_mean_power_and_points_the_right_way() {
        let layout = Layout::builtin("4+5+0").unwrap().unwrap();
        let psp = PointSourcePanner::new(&layout).unwrap();
        let design = HoaDesign::new(&psp);
        let (orders, degrees) = ([0, 1, 1, 1], [0, -1, 0, 1]);
        let dec = design.decoder(&orders, &degrees, Normalization::SN3D).unwrap();
        // a plane wave from M+030 (az 30°, el 0) encoded in SN3D
        let (az, el) = (30f64.to_radians(), 0.0);
        let enc: Vec<f64> = orders
            .iter()
            .zip(&degrees)
            .map(|(&n, &m)| sph_harm(n, m, az, el, Normalization::SN3D).unwrap())
            .collect();
        let out: Vec<f64> = (0..psp.num_channels())
            .map(|s| (0..4).map(|c| dec[c][s] * enc[c]).sum())
            .collect();
        let loudest = out.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
        assert_eq!(loudest, 0, "M+030 should be loudest: {out:?}");
        // mean power over the design points is 1 by construction
        let mut p = 0.0;
        for &(az, el) in &design.dirs {
            let e: Vec<f64> = orders
                .iter()
                .zip(&degrees)
                .map(|(&n, &m)| sph_harm(n, m, az, el, Normalization::SN3D).unwrap())
                .collect();
            for s in 0..psp.num_channels() {
                let v: f64 = (0..4).map(|c| dec[c][s] * e[c]).sum();
                p += v * v;
            }
        }
        assert!((p / design.dirs.len() as f64 - 1.0).abs() < 1e-12);
    }
}
