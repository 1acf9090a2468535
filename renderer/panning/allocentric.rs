//! Allocentric (room-centric) panning for cartesian objects, BS.2127 §7.3.6
//! and §7.3.9 (ear `AllocentricPanner` in `point_source.py` and
//! `objectbased/allo_extent.py`): speakers at fixed positions in the room
//! cube are arranged in planes (z), rows (y) and columns (x); a point source
//! pans by a sine/cosine law along each axis; an extended source weights a
//! 40 × 40 × (40 | 20) grid of virtual sources.

use super::geom::V3;

/// Speaker tree: planes by z, rows by y, columns by x (each ascending), leaves
/// are speaker indices.
#[derive(Clone, Debug)]
pub struct AlloPanner {
    positions: Vec<V3>,
    tree: Vec<Vec<Vec<usize>>>,
}

fn single_balance_pan(min: f64, max: f64, value: f64) -> (f64, f64) {
    if min == max {
        return (1.0, 1.0);
    }
    if value <= min {
        (0.0, 1.0)
    } else if value >= max {
        (1.0, 0.0)
    } else {
        quarter_cos_sin((value - min) / (max - min))
    }
}

/// (cos, sin) of `t·π/2` for t in [0, 1], to within a few ulp: Taylor
/// series on [0, π/4] after the symmetry cos(π/2 − x) = sin(x). About 4×
/// faster than libm's sincos, which dominated allocentric panning.
#[inline]
pub fn quarter_cos_sin(t: f64) -> (f64, f64) {
    use std::f64::consts::FRAC_PI_2;
    let (swap, x) = if t > 0.5 {
        (true, (1.0 - t) * FRAC_PI_2)
    } else {
        (false, t * FRAC_PI_2)
    };
    let x2 = x * x;
    // sin x = x(1 − x²/3! + x⁴/5! − …), |x| ≤ π/4: the x¹⁹ term is < 1e-19
    let s = x
        * (1.0
            + x2 * (-1.0 / 6.0
                + x2 * (1.0 / 120.0
                    + x2 * (-1.0 / 5040.0
                        + x2 * (1.0 / 362_880.0
                            + x2 * (-1.0 / 39_916_800.0
                                + x2 * (1.0 / 6_227_020_800.0
                                    + x2 * (-1.0 / 1_307_674_368_000.0 + x2 * (1.0 / 355_687_428_096_000.0)))))))));
    let c = 1.0
        + x2 * (-0.5
            + x2 * (1.0 / 24.0
                + x2 * (-1.0 / 720.0
                    + x2 * (1.0 / 40_320.0
                        + x2 * (-1.0 / 3_628_800.0
                            + x2 * (1.0 / 479_001_600.0
                                + x2 * (-1.0 / 87_178_291_200.0 + x2 * (1.0 / 20_922_789_888_000.0))))))));
    if swap { (s, c) } else { (c, s) }
}

/// ear `_find_planes`/`_find_rows`/`_find_columns`: the pair of indices
/// bracketing `v` in an ascending list of coordinates.
fn bracket(n: usize, coord: impl Fn(usize) -> f64, v: f64) -> (usize, usize) {
    if v <= coord(0) {
        return (0, 0);
    }
    for i in 0..n {
        let c = coord(i);
        if c == v {
            return (i, i);
        } else if c > v {
            return (i - 1, i);
        }
    }
    (n - 1, n - 1)
}

impl AlloPanner {
    /// Builds the tree; `Err` names the first two speakers at the same position.
    pub fn new(positions: &[V3]) -> Result<Self, (usize, usize)> {
        let mut tree: Vec<Vec<Vec<usize>>> = Vec::new();
        for (idx, c) in positions.iter().enumerate() {
            let zpos = |t: &Vec<Vec<Vec<usize>>>, zi: usize| positions[t[zi][0][0]][2];
            let mut zi_found = None;
            let mut inserted = false;
            for zi in 0..tree.len() {
                let z = zpos(&tree, zi);
                if z == c[2] {
                    zi_found = Some(zi);
                    break;
                } else if z > c[2] {
                    tree.insert(zi, vec![vec![idx]]);
                    inserted = true;
                    break;
                }
            }
            if inserted {
                continue;
            }
            let Some(zi) = zi_found else {
                tree.push(vec![vec![idx]]);
                continue;
            };
            let plane = &mut tree[zi];
            let mut yi_found = None;
            let mut inserted = false;
            for yi in 0..plane.len() {
                let y = positions[plane[yi][0]][1];
                if y == c[1] {
                    yi_found = Some(yi);
                    break;
                } else if y > c[1] {
                    plane.insert(yi, vec![idx]);
                    inserted = true;
                    break;
                }
            }
            if inserted {
                continue;
            }
            let Some(yi) = yi_found else {
                plane.push(vec![idx]);
                continue;
            };
            let row = &mut plane[yi];
            let mut pos = row.len();
            for (xi, &other) in row.iter().enumerate() {
                let x = positions[other][0];
                if x == c[0] {
                    return Err((other, idx));
                } else if x > c[0] {
                    pos = xi;
                    break;
                }
            }
            row.insert(pos, idx);
        }
        Ok(AlloPanner {
            positions: positions.to_vec(),
            tree,
        })
    }

    pub fn num_channels(&self) -> usize {
        self.positions.len()
    }

    pub fn positions(&self) -> &[V3] {
        &self.positions
    }

    /// Point-source gains for a cube position into `out` (len = num_channels).
    pub fn handle(&self, p: V3, out: &mut [f64]) {
        out[..self.positions.len()].fill(0.0);
        let pos = &self.positions;
        let st = &self.tree;
        let (z0, z1) = bracket(st.len(), |i| pos[st[i][0][0]][2], p[2]);
        let zg = single_balance_pan(pos[st[z0][0][0]][2], pos[st[z1][0][0]][2], p[2]);
        for (zgain, zz) in [(zg.0, z0), (zg.1, z1)] {
            let plane = &st[zz];
            let (y0, y1) = bracket(plane.len(), |i| pos[plane[i][0]][1], p[1]);
            let yg = single_balance_pan(pos[plane[y0][0]][1], pos[plane[y1][0]][1], p[1]);
            for (ygain, yy) in [(yg.0, y0), (yg.1, y1)] {
                let row = &plane[yy];
                let (x0, x1) = bracket(row.len(), |i| pos[row[i]][0], p[0]);
                let xg = single_balance_pan(pos[row[x0]][0], pos[row[x1]][0], p[0]);
                for (xgain, xx) in [(xg.0, x0), (xg.1, x1)] {
                    out[row[xx]] = zgain * ygain * xgain;
                }
            }
        }
    }
}

// ---- allocentric extent (ear allo_extent.py) ----

const NUM_VS: usize = 40;
const NEG130DBEXP_LIM: f64 = 6.5;
const NEG130DB_LIM: f64 = 3.162_277_660_168_379e-7; // 10^-6.5

fn scale_size(v: f64) -> f64 {
    super::geom::interp(v.min(1.0), &[0.0, 0.2, 0.5, 0.75, 1.0], &[0.0, 0.3, 1.0, 1.8, 2.8])
}

fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    // numpy linspace: start + i*step, last element exactly b
    let step = (b - a) / (n - 1) as f64;
    (0..n)
        .map(|i| if i == n - 1 { b } else { a + i as f64 * step })
        .collect()
}

/// Per-layout (and per-exclusion) precomputation for allocentric extent.
#[derive(Clone, Debug)]
pub struct AlloExtent {
    positions: Vec<V3>,
    xs: Vec<f64>,
    ys: Vec<f64>,
    zs: Vec<f64>,
    /// `g_point_*[c][i]` for grid coordinate i (ear `_calc_g_point_separated`).
    gpx: Vec<Vec<f64>>,
    gpy: Vec<Vec<f64>>,
    gpz: Vec<Vec<f64>>,
    /// true when the layout has ≥ 3 distinct z levels (full-height grid)
    full_z: bool,
    /// 1, 2 or 3: how many axes the speakers vary along (ear `_dim`)
    dim: usize,
    /// how the effective size combines sx, sy, sz (ear `_s_eff` case)
    seff_case: u8,
}

/// ear's bound search along one axis, restricted to speakers matching `filter`.
fn bounds(value: f64, coords: impl Iterator<Item = f64>) -> (Option<f64>, Option<f64>) {
    let (mut lo, mut hi): (Option<f64>, Option<f64>) = (None, None);
    for s in coords {
        if s <= value {
            lo = Some(lo.map_or(s, |l| l.max(s)));
        }
        if s >= value {
            hi = Some(hi.map_or(s, |h| h.min(s)));
        }
    }
    (lo, hi)
}

fn axis_gain(pos: f64, v: f64, lo: Option<f64>, hi: Option<f64>) -> f64 {
    match (lo, hi) {
        (None, Some(h)) => {
            if pos != h {
                0.0
            } else {
                1.0
            }
        }
        (Some(l), None) => {
            if pos != l {
                0.0
            } else {
                1.0
            }
        }
        (Some(l), Some(h)) => {
            if l <= pos && pos <= h {
                if l == h {
                    1.0
                } else if l == pos {
                    ((v - l) / (h - l) * std::f64::consts::FRAC_PI_2).cos()
                } else {
                    ((v - l) / (h - l) * std::f64::consts::FRAC_PI_2).sin()
                }
            } else {
                0.0
            }
        }
        (None, None) => 0.0,
    }
}

/// g_point for speaker `c` at grid coordinate values.
fn g_point_axis(positions: &[V3], c: usize, axis: usize, v: f64) -> f64 {
    let [px, py, pz] = positions[c];
    match axis {
        2 => {
            let (lo, hi) = bounds(v, positions.iter().map(|p| p[2]));
            axis_gain(pz, v, lo, hi)
        }
        1 => {
            let (lo, hi) = bounds(v, positions.iter().filter(|p| p[2] == pz).map(|p| p[1]));
            axis_gain(py, v, lo, hi)
        }
        _ => {
            let (lo, hi) = bounds(v, positions.iter().filter(|p| p[2] == pz && p[1] == py).map(|p| p[0]));
            axis_gain(px, v, lo, hi)
        }
    }
}

impl AlloExtent {
    pub fn new(positions: &[V3]) -> Self {
        let mut zset: Vec<f64> = positions.iter().map(|p| p[2]).collect();
        zset.sort_by(|a, b| a.total_cmp(b));
        zset.dedup();
        let full_z = zset.len() >= 3;
        let nz = if full_z { NUM_VS } else { NUM_VS / 2 };
        let xs = linspace(-1.0, 1.0, NUM_VS);
        let ys = linspace(-1.0, 1.0, NUM_VS);
        let zs = if full_z {
            linspace(-1.0, 1.0, nz)
        } else {
            linspace(0.0, 1.0, nz)
        };
        let n = positions.len();
        let gpx = (0..n)
            .map(|c| xs.iter().map(|&v| g_point_axis(positions, c, 0, v)).collect())
            .collect();
        let gpy = (0..n)
            .map(|c| ys.iter().map(|&v| g_point_axis(positions, c, 1, v)).collect())
            .collect();
        let gpz = (0..n)
            .map(|c| zs.iter().map(|&v| g_point_axis(positions, c, 2, v)).collect())
            .collect();
        let first = positions.first().copied().unwrap_or([0.0; 3]);
        let dim = (0..3).filter(|&a| positions.iter().any(|p| p[a] != first[a])).count();
        let seff_case = if positions.iter().all(|p| p[1] == first[1] && p[2] == first[2]) {
            1
        } else if positions.iter().all(|p| p[2] == first[2]) {
            2
        } else {
            3
        };
        AlloExtent {
            positions: positions.to_vec(),
            xs,
            ys,
            zs,
            gpx,
            gpy,
            gpz,
            full_z,
            dim,
            seff_case,
        }
    }

    /// ear `allo_extent.get_gains`: gains for an extended cartesian source into `out`.
    pub fn gains(&self, position: V3, size_x: f64, size_y: f64, size_z: f64, out: &mut [f64]) {
        let n = self.positions.len();
        let [xo, yo, mut zo] = position;
        let (nx, ny, nz) = (self.xs.len(), self.ys.len(), self.zs.len());
        if !self.full_z {
            zo = zo.max(0.0);
        }
        let sx = scale_size(size_x).max(2.0 / (nx - 1) as f64);
        let sy = scale_size(size_y).max(2.0 / (ny - 1) as f64);
        let sz = scale_size(size_z).max(2.0 / (nz - 1) as f64);
        let s_eff = match self.seff_case {
            1 => sx,
            2 => {
                let (a, b) = if sx <= sy { (sx, sy) } else { (sy, sx) };
                0.75 * b + 0.25 * a
            }
            _ => {
                let mut s = [sx, sy, sz];
                s.sort_by(|a, b| a.total_cmp(b));
                (6.0 / 9.0) * s[2] + (2.0 / 9.0) * s[1] + (1.0 / 9.0) * s[0]
            }
        };
        let p = if s_eff <= 0.5 {
            6.0
        } else {
            6.0 - 4.0 * ((s_eff - 0.5) / (2.8 - 0.5))
        };

        // mu (ear _mu / _h / _d_bound)
        let d_bound = match self.dim {
            1 => (xo + 1.0).min(1.0 - xo),
            2 => (xo + 1.0).min(1.0 - xo).min(yo + 1.0).min(1.0 - yo),
            _ => (xo + 1.0)
                .min(1.0 - xo)
                .min(yo + 1.0)
                .min(1.0 - yo)
                .min(zo + 1.0)
                .min(1.0 - zo),
        };
        let h = |s: f64| -> f64 {
            if d_bound >= 2.0 * s && d_bound >= 0.4 {
                let nn = (2.0 * s).max(0.4);
                (nn * nn * nn / (0.16 * 2.0 * s)).powf(1.0 / 3.0)
            } else {
                let a = d_bound / 0.4;
                let b = d_bound / 2.0 * (a * a);
                b.powf(1.0 / 3.0)
            }
        };
        let mu = match self.dim {
            1 => {
                let nn = h(sx);
                nn * nn * nn
            }
            2 => (h(sx) * h(sy)).powf(1.5),
            _ => h(sx) * h(sy) * h(sz),
        };

        // weights (ear _calc_w)
        let w = |vals: &[f64], o: f64, s: f64| -> Vec<f64> {
            vals.iter()
                .map(|&v| 10f64.powf(-(1.5 * (v - o) / s).powi(4).min(NEG130DBEXP_LIM)))
                .collect()
        };
        let wx = w(&self.xs, xo, 2.0 * sx);
        let wy = w(&self.ys, yo, 2.0 * sy);
        let wz: Vec<f64> = self
            .zs
            .iter()
            .map(|&v| {
                10f64.powf(-(1.5 * (v - zo) / sz).powi(4).min(NEG130DBEXP_LIM))
                    * (v * std::f64::consts::PI * (3.0 / 7.0)).cos()
            })
            .collect();

        let calc_f = |g: &Vec<Vec<f64>>, wv: &[f64], c: usize| -> f64 {
            let f: f64 = g[c].iter().zip(wv).map(|(gg, ww)| (gg * ww).powf(p)).sum();
            if f < NEG130DB_LIM { 0.0 } else { f }
        };
        let mut fx = [0.0f64; super::point_source::MAX_PANNER_CHANNELS];
        let mut fy = [0.0f64; super::point_source::MAX_PANNER_CHANNELS];
        let mut fz = [0.0f64; super::point_source::MAX_PANNER_CHANNELS];
        for c in 0..n {
            fx[c] = calc_f(&self.gpx, &wx, c);
            fy[c] = calc_f(&self.gpy, &wy, c);
            fz[c] = calc_f(&self.gpz, &wz, c);
        }
        let mut g_inside = [0.0f64; super::point_source::MAX_PANNER_CHANNELS];
        for c in 0..n {
            g_inside[c] = fx[c] * fy[c] * fz[c];
        }
        safe_normalise(&mut g_inside[..n]);

        let mut g_size = [0.0f64; super::point_source::MAX_PANNER_CHANNELS];
        for c in 0..n {
            let b_floor = (self.gpz[c][0] * wz[0]).powf(p);
            let b_ceil = (self.gpz[c][nz - 1] * wz[nz - 1]).powf(p);
            let b_left = (self.gpx[c][0] * wx[0]).powf(p);
            let b_right = (self.gpx[c][nx - 1] * wx[nx - 1]).powf(p);
            let b_front = (self.gpy[c][0] * wy[0]).powf(p);
            let b_back = (self.gpy[c][ny - 1] * wy[ny - 1]).powf(p);
            let g_bound = b_left * fy[c] * fz[c]
                + b_right * fy[c] * fz[c]
                + fx[c] * b_front * fz[c]
                + fx[c] * b_back * fz[c]
                + fx[c] * fy[c] * b_ceil
                + fx[c] * fy[c] * b_floor;
            g_size[c] = (g_bound + mu * g_inside[c]).powf(1.0 / p);
        }
        safe_normalise(&mut g_size[..n]);

        let s_fade = 0.2;
        let (alpha, beta) = if s_eff < s_fade {
            (
                ((s_eff * std::f64::consts::PI) / (s_fade * 2.0)).cos(),
                ((s_eff * std::f64::consts::PI) / (s_fade * 2.0)).sin(),
            )
        } else {
            (0.0, 1.0)
        };
        for c in 0..n {
            let gp = g_point_axis(&self.positions, c, 0, xo)
                * g_point_axis(&self.positions, c, 1, yo)
                * g_point_axis(&self.positions, c, 2, zo);
            out[c] = alpha * gp + beta * g_size[c];
        }
        safe_normalise(&mut out[..n]);
    }
}

fn safe_normalise(v: &mut [f64]) {
    let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    if n > 1e-16 {
        for x in v.iter_mut() {
            *x /= n;
        }
    } else {
        v.fill(0.0);
    }
}

/// ear `allocentric.get_excluded`: when an excluded speaker sits on a side
/// wall (|x| = 1) but not in a corner, exclude every speaker of its row and
/// plane too; exclude nothing if that would exclude everything.
pub fn widen_exclusion(positions: &[V3], excluded: &mut [bool]) {
    if !excluded.iter().any(|&e| e) {
        return;
    }
    let orig = excluded.to_vec();
    for (i, c) in positions.iter().enumerate() {
        if orig[i] && c[0].abs() == 1.0 && c[1].abs() != 1.0 {
            for (k, c2) in positions.iter().enumerate() {
                if c2[1] == c[1] && c2[2] == c[2] {
                    excluded[k] = true;
                }
            }
        }
    }
    if excluded.iter().all(|&e| e) {
        excluded.fill(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarter_cos_sin_matches_libm() {
        let mut worst = 0.0f64;
        for i in 0..=100_000 {
            let t = i as f64 / 100_000.0;
            let (c, s) = quarter_cos_sin(t);
            let a = t * std::f64::consts::FRAC_PI_2;
            worst = worst.max((c - a.cos()).abs()).max((s - a.sin()).abs());
        }
        assert!(worst < 1e-15, "{worst:e}");
    }

    #[test]
    fn allocentric_point_source_on_speakers() {
        let pos = [
            [-1.0, 1.0, 0.0],
            [1.0, 1.0, 0.0],
            [0.0, 1.0, 0.0],
            [-1.0, -1.0, 0.0],
            [1.0, -1.0, 0.0],
        ];
        let p = AlloPanner::new(&pos).unwrap();
        let mut g = [0.0; 5];
        for (i, s) in pos.iter().enumerate() {
            p.handle(*s, &mut g);
            for (k, v) in g.iter().enumerate() {
                assert!((v - if k == i { 1.0 } else { 0.0 }).abs() < 1e-12, "{i} {k} {g:?}");
            }
        }
        p.handle([-0.5, 1.0, 0.0], &mut g);
        assert!((g[0] - g[2]).abs() < 1e-12 && (g[0] * g[0] + g[2] * g[2] - 1.0).abs() < 1e-12);
        assert!(AlloPanner::new(&[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]).is_err());
    }
}
