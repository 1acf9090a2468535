//! Polar extent (width, height, depth), BS.2127 §7.3.8 (ear
//! `objectbased/extent.py`): a weighting function over a fixed grid of
//! virtual sources spread evenly on the sphere (37 rows, 5° apart), each
//! panned once at set-up with the point-source panner; a block's gains are the
//! normalised weighted sum of those, blended with the point-source gains for
//! extents under 10°.

use super::geom::{V3, azimuth, cart, dot, elevation, interp, local_coordinate_system, norm, safe_norm_position};
use super::point_source::PointSourcePanner;

const FADE_WIDTH_DEG: f64 = 10.0;
const N_ROWS: usize = 37;

/// The virtual-source grid and its point-source gains.
#[derive(Clone, Debug)]
pub struct SpreadingPanner {
    /// Grid directions (unit vectors).
    pub points: Vec<V3>,
    /// Gains of each grid point, `points.len() × num_channels`, row-major.
    pub gains: Vec<f64>,
    pub num_channels: usize,
}

/// ear `generate_panning_positions_even(37)`: rows at linspace(−90, 90, 37),
/// `round(cos(el) · 72)` points per row (at least 1), azimuths from 0.
pub fn grid_points() -> Vec<V3> {
    let mut pts = Vec::new();
    let n_rows = N_ROWS;
    for r in 0..n_rows {
        let el = -90.0 + 180.0 * r as f64 / (n_rows - 1) as f64;
        let radius = el.to_radians().cos();
        let mut n = (radius * 2.0 * (n_rows - 1) as f64).round_ties_even() as usize;
        if n == 0 {
            n = 1;
        }
        let step = 360.0 / n as f64;
        for k in 0..n {
            pts.push(cart(k as f64 * step, el, 1.0));
        }
    }
    pts
}

impl SpreadingPanner {
    pub fn new(psp: &PointSourcePanner) -> Self {
        let points = grid_points();
        let nc = psp.num_channels();
        let mut gains = vec![0.0; points.len() * nc];
        for (i, p) in points.iter().enumerate() {
            psp.handle(*p, &mut gains[i * nc..(i + 1) * nc]);
        }
        SpreadingPanner {
            points,
            gains,
            num_channels: nc,
        }
    }
}

/// Basis rotating (0,1,0) onto the source direction; azimuth 0 at the poles.
fn calc_basis(pos: V3) -> [V3; 3] {
    let p = safe_norm_position(pos);
    let (mut az, el) = (azimuth(p), elevation(p));
    if el.abs() > 90.0 - 1e-5 {
        az = 0.0;
    }
    local_coordinate_system(az, el)
}

/// The extent weighting function of ear's `PolarExtentPanner.get_weight_func`,
/// evaluated on demand.
struct WeightFunc {
    basis: [V3; 3],
    circle_radius: f64,
    circle_pos: f64,
    circle_centres: [V3; 2],
}

impl WeightFunc {
    fn new(position: V3, width_deg: f64, height_deg: f64) -> Self {
        use std::f64::consts::PI;
        let mut width = width_deg.to_radians() / 2.0;
        let mut height = height_deg.to_radians() / 2.0;
        let b = calc_basis(position);
        let circle_radius = width.min(height);
        let basis = if height > width {
            std::mem::swap(&mut width, &mut height);
            [b[2], b[1], b[0]]
        } else {
            b
        };
        let width_full = PI + height;
        let width_mod = interp(width, &[0.0, PI / 2.0, PI], &[0.0, PI / 2.0, width_full]);
        let width = interp(
            height,
            &[0.0, PI / 4.0, PI / 2.0, PI],
            &[width_mod, width_mod, width, width],
        );
        let circle_pos = width - circle_radius;
        let on_basis = |az: f64| -> V3 {
            let rel = [az.sin(), az.cos(), 0.0];
            let mut v = [0.0; 3];
            for k in 0..3 {
                for a in 0..3 {
                    v[a] += rel[k] * basis[k][a];
                }
            }
            v
        };
        WeightFunc {
            basis,
            circle_radius,
            circle_pos,
            circle_centres: [on_basis(-circle_pos), on_basis(circle_pos)],
        }
    }

    #[inline]
    fn weight(&self, v: V3) -> f64 {
        let c0 = dot(v, self.basis[0]).clamp(-1.0, 1.0);
        let c1 = dot(v, self.basis[1]).clamp(-1.0, 1.0);
        let c2 = dot(v, self.basis[2]).clamp(-1.0, 1.0);
        let az = c0.atan2(c1);
        let distance = if az.abs() <= self.circle_pos {
            c2.asin().abs() - self.circle_radius
        } else {
            let d0 = dot(v, self.circle_centres[0]).clamp(-1.0, 1.0).acos();
            let d1 = dot(v, self.circle_centres[1]).clamp(-1.0, 1.0).acos();
            d0.min(d1) - self.circle_radius
        };
        // interp(distance, [0, fade], [1, 0])
        let fade = FADE_WIDTH_DEG.to_radians();
        if distance <= 0.0 {
            1.0
        } else if distance >= fade {
            0.0
        } else {
            1.0 - distance / fade
        }
    }
}

/// Polar extent handler (ear `PolarExtentHandler` + `PolarExtentPanner`).
#[derive(Clone, Debug)]
pub struct PolarExtent {
    spreading: SpreadingPanner,
}

impl PolarExtent {
    pub fn new(psp: &PointSourcePanner) -> Self {
        PolarExtent {
            spreading: SpreadingPanner::new(psp),
        }
    }

    pub fn num_channels(&self) -> usize {
        self.spreading.num_channels
    }

    /// ear `extent_mod`: extent seen from a given distance.
    pub fn extent_mod(extent: f64, distance: f64) -> f64 {
        let size = interp(extent, &[0.0, 360.0], &[0.2, 1.0]);
        let extent_1 = 4.0 * size.atan2(1.0).to_degrees();
        interp(
            4.0 * size.atan2(distance).to_degrees(),
            &[0.0, extent_1, 360.0],
            &[0.0, extent, 360.0],
        )
    }

    /// Gains for a (possibly non-unit) position with width/height/depth, into `out`.
    pub fn handle(&self, psp: &PointSourcePanner, position: V3, width: f64, height: f64, depth: f64, out: &mut [f64]) {
        let nc = self.num_channels();
        let distance = norm(position);
        if depth != 0.0 {
            let ds = [(distance + depth / 2.0).max(0.0), (distance - depth / 2.0).max(0.0)];
            let mut a = [0.0f64; super::point_source::MAX_PANNER_CHANNELS];
            let mut b = [0.0f64; super::point_source::MAX_PANNER_CHANNELS];
            self.pv_spread(
                psp,
                position,
                Self::extent_mod(width, ds[0]),
                Self::extent_mod(height, ds[0]),
                &mut a[..nc],
            );
            self.pv_spread(
                psp,
                position,
                Self::extent_mod(width, ds[1]),
                Self::extent_mod(height, ds[1]),
                &mut b[..nc],
            );
            for c in 0..nc {
                out[c] = ((a[c] * a[c] + b[c] * b[c]) / 2.0).sqrt();
            }
        } else {
            self.pv_spread(
                psp,
                position,
                Self::extent_mod(width, distance),
                Self::extent_mod(height, distance),
                &mut out[..nc],
            );
        }
    }

    /// ear `calc_pv_spread`.
    fn pv_spread(&self, psp: &PointSourcePanner, position: V3, width: f64, height: f64, out: &mut [f64]) {
        let nc = out.len();
        let amount_spread = interp(width.max(height), &[0.0, FADE_WIDTH_DEG], &[0.0, 1.0]);
        let amount_point = 1.0 - amount_spread;
        out.fill(0.0);
        if amount_point > 1e-10 {
            let mut g = [0.0f64; super::point_source::MAX_PANNER_CHANNELS];
            psp.handle(position, &mut g[..nc]);
            for c in 0..nc {
                out[c] += amount_point * g[c] * g[c];
            }
        }
        if amount_spread > 1e-10 {
            let w = width.max(FADE_WIDTH_DEG / 2.0);
            let h = height.max(FADE_WIDTH_DEG / 2.0);
            let wf = WeightFunc::new(position, w, h);
            let mut total = [0.0f64; super::point_source::MAX_PANNER_CHANNELS];
            let total = &mut total[..nc];
            for (i, p) in self.spreading.points.iter().enumerate() {
                let wt = wf.weight(*p);
                if wt != 0.0 {
                    let row = &self.spreading.gains[i * nc..(i + 1) * nc];
                    for c in 0..nc {
                        total[c] += wt * row[c];
                    }
                }
            }
            let n = total.iter().map(|v| v * v).sum::<f64>().sqrt();
            for c in 0..nc {
                let t = total[c] / n;
                out[c] += amount_spread * t * t;
            }
        }
        for v in out.iter_mut() {
            *v = v.sqrt();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_has_ears_point_count() {
        // sum over 37 rows of max(1, round(72 cos el)) as ear computes it
        let pts = grid_points();
        let expected: usize = (0..37)
            .map(|r| {
                let el = -90.0 + 5.0 * r as f64;
                (el.to_radians().cos() * 72.0).round_ties_even().max(1.0) as usize
            })
            .sum();
        assert_eq!(pts.len(), expected);
        assert!(pts.iter().all(|p| (norm(*p) - 1.0).abs() < 1e-12));
    }

    #[test]
    fn extent_mod_limits() {
        assert!((PolarExtent::extent_mod(30.0, 1.0) - 30.0).abs() < 1e-9);
        assert!((PolarExtent::extent_mod(30.0, 0.0) - 360.0).abs() < 1e-9);
        assert!(PolarExtent::extent_mod(30.0, 2.0) < 30.0);
    }
}
