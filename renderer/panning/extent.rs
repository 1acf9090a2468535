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

/// The virtual-source grid and its point-source gains, with a hierarchy of
/// spherical caps over the grid so that a block's weighted sum visits only
/// the grid points near the extent's edge (see [`SpreadingPanner::weighted_sum`]).
#[derive(Clone, Debug)]
pub struct SpreadingPanner {
    /// Grid directions (unit vectors), reordered so that every tree node
    /// covers a contiguous range.
    pub points: Vec<V3>,
    /// Gains of each grid point, `points.len() × num_channels`, row-major.
    pub gains: Vec<f64>,
    pub num_channels: usize,
    nodes: Vec<Node>,
    /// Σ gains of each node's points, `nodes.len() × num_channels`.
    node_sums: Vec<f64>,
    roots: Vec<u32>,
}

/// A cap of grid points: every point is within `radius` (radians) of `centre`.
#[derive(Clone, Debug)]
struct Node {
    centre: V3,
    radius: f64,
    cos_radius: f64,
    sin_radius: f64,
    start: u32,
    end: u32,
    children: Vec<u32>,
}

/// Levels of 4-way subdivision below the 8 octahedron faces (512 leaves of
/// about 3 points each).
const TREE_LEVELS: usize = 3;

fn inside_spherical_triangle(a: V3, b: V3, c: V3, q: V3) -> bool {
    use super::geom::cross;
    dot(cross(b, a), q) >= -1e-9 && dot(cross(c, b), q) >= -1e-9 && dot(cross(a, c), q) >= -1e-9
}

fn normalised(v: V3) -> V3 {
    let n = norm(v);
    [v[0] / n, v[1] / n, v[2] / n]
}

fn midpoint(a: V3, b: V3) -> V3 {
    normalised([a[0] + b[0], a[1] + b[1], a[2] + b[2]])
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
        let input = grid_points();
        let nc = psp.num_channels();
        let mut input_gains = vec![0.0; input.len() * nc];
        for (i, p) in input.iter().enumerate() {
            psp.handle(*p, &mut input_gains[i * nc..(i + 1) * nc]);
        }
        // Hierarchical triangular mesh over the sphere; each grid point goes
        // to the first leaf triangle containing it, points are laid out
        // depth-first so every node owns a contiguous range.
        let mut sp = SpreadingPanner {
            points: Vec::with_capacity(input.len()),
            gains: Vec::with_capacity(input_gains.len()),
            num_channels: nc,
            nodes: Vec::new(),
            node_sums: Vec::new(),
            roots: Vec::new(),
        };
        let mut assigned = vec![false; input.len()];
        let (x, y, z) = ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]);
        let (nx, ny, nz) = ([-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]);
        let faces = [
            [x, y, z],
            [y, nx, z],
            [nx, ny, z],
            [ny, x, z],
            [y, x, nz],
            [nx, y, nz],
            [ny, nx, nz],
            [x, ny, nz],
        ];
        for f in faces {
            if let Some(id) = sp.build(&input, &input_gains, &mut assigned, f, TREE_LEVELS) {
                sp.roots.push(id);
            }
        }
        // Points no triangle claimed (only possible through rounding) go in a final leaf.
        let rest: Vec<usize> = (0..input.len()).filter(|&i| !assigned[i]).collect();
        if !rest.is_empty() {
            let start = sp.points.len() as u32;
            for i in rest {
                sp.points.push(input[i]);
                sp.gains.extend_from_slice(&input_gains[i * nc..(i + 1) * nc]);
            }
            let id = sp.push_node(start, sp.points.len() as u32, Vec::new());
            sp.roots.push(id);
        }
        sp
    }

    /// Adds the subtree of triangle `t`; returns its node id (None if it holds no points).
    fn build(
        &mut self,
        input: &[V3],
        input_gains: &[f64],
        assigned: &mut [bool],
        t: [V3; 3],
        levels: usize,
    ) -> Option<u32> {
        let nc = self.num_channels;
        let start = self.points.len() as u32;
        let mut children = Vec::new();
        if levels == 0 {
            for (i, p) in input.iter().enumerate() {
                if !assigned[i] && inside_spherical_triangle(t[0], t[1], t[2], *p) {
                    assigned[i] = true;
                    self.points.push(*p);
                    self.gains.extend_from_slice(&input_gains[i * nc..(i + 1) * nc]);
                }
            }
        } else {
            let (a, b, c) = (t[0], t[1], t[2]);
            let (ab, bc, ca) = (midpoint(a, b), midpoint(b, c), midpoint(c, a));
            for sub in [[a, ab, ca], [ab, b, bc], [ca, bc, c], [ab, bc, ca]] {
                if let Some(id) = self.build(input, input_gains, assigned, sub, levels - 1) {
                    children.push(id);
                }
            }
        }
        let end = self.points.len() as u32;
        (end > start).then(|| self.push_node(start, end, children))
    }

    fn push_node(&mut self, start: u32, end: u32, children: Vec<u32>) -> u32 {
        let nc = self.num_channels;
        let pts = &self.points[start as usize..end as usize];
        let mut c = [0.0; 3];
        for p in pts {
            c = [c[0] + p[0], c[1] + p[1], c[2] + p[2]];
        }
        let centre = if norm(c) > 1e-9 { normalised(c) } else { pts[0] };
        let radius = pts
            .iter()
            .map(|p| dot(*p, centre).clamp(-1.0, 1.0).acos())
            .fold(0.0, f64::max);
        let mut sum = vec![0.0; nc];
        for i in start as usize..end as usize {
            for ch in 0..nc {
                sum[ch] += self.gains[i * nc + ch];
            }
        }
        self.node_sums.extend_from_slice(&sum);
        self.nodes.push(Node {
            centre,
            radius,
            cos_radius: radius.cos(),
            sin_radius: radius.sin(),
            start,
            end,
            children,
        });
        (self.nodes.len() - 1) as u32
    }

    /// Σ weight(p) · gains(p) over the grid, into `total` (len num_channels).
    ///
    /// The weight is a clamped linear function of `WeightFunc::distance`,
    /// which is 1-Lipschitz in angle on the sphere; so a cap whose centre is
    /// further inside the shape than its radius has weight 1 everywhere (its
    /// precomputed sum is added), and one further outside than radius + fade
    /// has weight 0 (skipped). Only caps straddling the fade band are
    /// opened. Result equals the brute-force sum up to summation order.
    fn weighted_sum(&self, wf: &WeightFunc, total: &mut [f64]) {
        const MARGIN: f64 = 1e-9;
        let nc = self.num_channels;
        total.fill(0.0);
        let mut stack: Vec<u32> = Vec::with_capacity(64);
        stack.extend(self.roots.iter().rev());
        while let Some(id) = stack.pop() {
            let node = &self.nodes[id as usize];
            match wf.side(node.centre, node.radius, node.cos_radius, node.sin_radius, MARGIN) {
                Side::Inside => {
                    let s = &self.node_sums[id as usize * nc..(id as usize + 1) * nc];
                    for c in 0..nc {
                        total[c] += s[c];
                    }
                }
                Side::Outside => {}
                Side::Straddles if !node.children.is_empty() => stack.extend(node.children.iter().rev()),
                Side::Straddles => {
                    for i in node.start as usize..node.end as usize {
                        let p = self.points[i];
                        let w = match wf.side(p, 0.0, 1.0, 0.0, MARGIN) {
                            Side::Inside => 1.0,
                            Side::Outside => continue,
                            Side::Straddles => wf.weight(p),
                        };
                        if w != 0.0 {
                            let row = &self.gains[i * nc..(i + 1) * nc];
                            for c in 0..nc {
                                total[c] += w * row[c];
                            }
                        }
                    }
                }
            }
        }
    }

    /// The brute-force sum over every grid point (ear's loop); the mirror the
    /// tree walk is tested against.
    #[cfg(test)]
    fn weighted_sum_brute(&self, wf: &WeightFunc, total: &mut [f64]) {
        let nc = self.num_channels;
        total.fill(0.0);
        for (i, p) in self.points.iter().enumerate() {
            let w = wf.weight(*p);
            if w != 0.0 {
                for c in 0..nc {
                    total[c] += w * self.gains[i * nc + c];
                }
            }
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
/// evaluated on demand, plus trig-free tests of whether a point or a whole
/// cap of points lies inside the shape (weight 1) or beyond its fade (0).
struct WeightFunc {
    basis: [V3; 3],
    circle_radius: f64,
    /// cos(circle_pos); an azimuth θ ∈ [0, π] in the flipped basis is on
    /// the flat part when cos θ ≥ this (always when circle_pos ≥ π).
    cos_circle_pos: f64,
    circle_centres: [V3; 2],
}

/// How a point or cap relates to the shape.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Inside,
    Outside,
    Straddles,
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
            cos_circle_pos: if circle_pos >= PI { -2.0 } else { circle_pos.cos() },
            circle_centres: [on_basis(-circle_pos), on_basis(circle_pos)],
        }
    }

    /// Components of `v` in the flipped basis (clipped as ear does), and
    /// whether `v` is on the flat part of the shape (|azimuth| ≤ circle_pos).
    #[inline]
    fn components(&self, v: V3) -> (f64, f64, f64, bool) {
        let c0 = dot(v, self.basis[0]).clamp(-1.0, 1.0);
        let c1 = dot(v, self.basis[1]).clamp(-1.0, 1.0);
        let c2 = dot(v, self.basis[2]).clamp(-1.0, 1.0);
        // |atan2(c0, c1)| ≤ circle_pos ⟺ c1 ≥ ρ·cos(circle_pos), ρ = |(c0, c1)|
        // (atan2(0, 0) = 0: the flat part, as here).
        let rho = (c0 * c0 + c1 * c1).sqrt();
        (c0, c1, c2, c1 >= rho * self.cos_circle_pos)
    }

    #[inline]
    fn weight(&self, v: V3) -> f64 {
        let distance = self.distance(v);
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

    /// Angle (radians) from `v` to the edge of the shape; ≤ 0 inside
    /// (ear's `f`, one point at a time).
    #[inline]
    fn distance(&self, v: V3) -> f64 {
        // `flat` is ear's |atan2(c0, c1)| ≤ circle_pos without the atan2; the
        // distance is continuous where the two parts meet.
        let (_, _, c2, flat) = self.components(v);
        if flat {
            c2.asin().abs() - self.circle_radius
        } else {
            let d0 = dot(v, self.circle_centres[0]).clamp(-1.0, 1.0).acos();
            let d1 = dot(v, self.circle_centres[1]).clamp(-1.0, 1.0).acos();
            d0.min(d1) - self.circle_radius
        }
    }

    /// Whether every direction within `r` radians of `v` has distance ≤ 0
    /// (Inside) or ≥ fade (Outside), decided without inverse trig: the
    /// distance is 1-Lipschitz in angle, so it suffices that the distance at
    /// `v` is ≤ −r or ≥ fade + r; asin/acos being monotonic, those compare
    /// |sin elevation| or the cosine to the nearer circle centre with
    /// sin/cos of the bounds, got by angle addition from `cos_r`, `sin_r`.
    #[inline]
    fn side(&self, v: V3, r: f64, cos_r: f64, sin_r: f64, margin: f64) -> Side {
        use std::f64::consts::{FRAC_PI_2, PI};
        let fade = FADE_WIDTH_DEG.to_radians();
        let (_, _, c2, flat) = self.components(v);
        // inside bound a = R − r − margin, outside bound b = R + fade + r + margin
        let a0 = self.circle_radius - margin;
        let b0 = self.circle_radius + fade + margin;
        let a = a0 - r;
        let b = b0 + r;
        if flat {
            let s = c2.abs(); // sin |elevation|
            if a >= FRAC_PI_2 || (a >= 0.0 && s <= a0.sin() * cos_r - a0.cos() * sin_r) {
                return Side::Inside;
            }
            if b < FRAC_PI_2 && s >= b0.sin() * cos_r + b0.cos() * sin_r {
                return Side::Outside;
            }
        } else {
            let c = dot(v, self.circle_centres[0])
                .max(dot(v, self.circle_centres[1]))
                .clamp(-1.0, 1.0);
            if a >= PI || (a >= 0.0 && c >= a0.cos() * cos_r + a0.sin() * sin_r) {
                return Side::Inside;
            }
            if b < PI && c <= b0.cos() * cos_r - b0.sin() * sin_r {
                return Side::Outside;
            }
        }
        Side::Straddles
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

    /// The spreading grid and its point-source gains (flattened for the GPU).
    pub fn spreading(&self) -> &SpreadingPanner {
        &self.spreading
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
            self.spreading.weighted_sum(&wf, total);
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
    fn tree_walk_equals_brute_force_sum() {
        use crate::layout::Layout;
        let mut r = 0x2545F4914F6CDD1Du64;
        let mut rnd = move || {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            (r >> 11) as f64 / (1u64 << 53) as f64
        };
        for name in ["4+7+0", "0+2+0", "9+10+3"] {
            let psp = PointSourcePanner::new(&Layout::builtin(name).unwrap().unwrap()).unwrap();
            let sp = SpreadingPanner::new(&psp);
            assert_eq!(sp.points.len(), grid_points().len());
            let nc = sp.num_channels;
            let (mut a, mut b) = (vec![0.0; nc], vec![0.0; nc]);
            for _ in 0..3000 {
                let pos = cart(rnd() * 360.0 - 180.0, rnd() * 180.0 - 90.0, 1.0);
                let (w, h) = (5.0 + rnd() * 355.0, 5.0 + rnd() * 355.0);
                let (w, h) = if rnd() < 0.3 {
                    (w.min(40.0), h.min(25.0))
                } else {
                    (w, h)
                };
                let wf = WeightFunc::new(pos, w, h);
                sp.weighted_sum(&wf, &mut a);
                sp.weighted_sum_brute(&wf, &mut b);
                for c in 0..nc {
                    assert!(
                        (a[c] - b[c]).abs() < 1e-9 * (1.0 + b[c].abs()),
                        "{name} w {w} h {h}: {a:?} vs {b:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn extent_mod_limits() {
        assert!((PolarExtent::extent_mod(30.0, 1.0) - 30.0).abs() < 1e-9);
        assert!((PolarExtent::extent_mod(30.0, 0.0) - 360.0).abs() < 1e-9);
        assert!(PolarExtent::extent_mod(30.0, 2.0) < 30.0);
    }
}
