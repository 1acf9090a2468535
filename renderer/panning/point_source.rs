//! BS.2127 point-source panner (§6.1.2; ear `core/point_source.py`): for any
//! layout, the convex hull of the speakers' nominal directions plus extra
//! speakers filling empty layers and virtual speakers above/below, turned
//! into regions tried in turn — VBAP triplets, quads and virtual n-gons —
//! built on the real directions. A 0+2+0 layout pans on 0+5+0 and downmixes
//! (BS.2127 §6.1.2.4, ear `StereoPanDownmix`).
//!
//! Invariants of the gains returned: non-negative, unit norm (except the
//! stereo rule, whose level falls by up to 3 dB towards the back).

use super::geom::{V3, cart, dot, inv3, ngon_vertex_order, norm, vec_mat};
use super::hull::convex_hull_facets;
use crate::layout::{Layout, LayoutError};

/// The most speakers (including BS.2127's extra and virtual ones) a
/// point-source panner handles; sizes stack buffers.
pub const MAX_PANNER_CHANNELS: usize = 512;

/// A VBAP triplet: gains = position · inverse(speaker matrix), accepted when
/// all three are ≥ −1e-11, then normalised and clipped to [0, 1].
#[derive(Clone, Debug)]
pub struct Triplet {
    pub channels: [usize; 3],
    pub positions: [V3; 3],
    pub(crate) basis: [V3; 3],
}

impl Triplet {
    pub fn new(channels: [usize; 3], positions: [V3; 3]) -> Option<Self> {
        Some(Triplet {
            channels,
            positions,
            basis: inv3(positions)?,
        })
    }

    /// Gains for the three speakers, or `None` when `p` is outside.
    #[inline]
    pub fn gains(&self, p: V3) -> Option<[f64; 3]> {
        let pv = vec_mat(p, &self.basis);
        const EPS: f64 = -1e-11;
        if pv[0] >= EPS && pv[1] >= EPS && pv[2] >= EPS {
            let n = norm(pv);
            Some([
                (pv[0] / n).clamp(0.0, 1.0),
                (pv[1] / n).clamp(0.0, 1.0),
                (pv[2] / n).clamp(0.0, 1.0),
            ])
        } else {
            None
        }
    }
}

/// n real speakers around a virtual centre speaker whose gain is downmixed
/// equally (1/√n) to them, then renormalised (ear `VirtualNgon`).
#[derive(Clone, Debug)]
pub struct VirtualNgon {
    pub channels: Vec<usize>,
    /// Triplets (vertex i, vertex i+1, centre) in local indices; the centre is index n.
    pub(crate) triplets: Vec<Triplet>,
    pub(crate) centre_downmix: f64,
}

impl VirtualNgon {
    fn new(channels: Vec<usize>, positions: Vec<V3>, centre: V3) -> Option<Self> {
        let n = channels.len();
        if n < 2 {
            return None;
        }
        let order = ngon_vertex_order(&positions);
        let mut triplets = Vec::with_capacity(n);
        for i in 0..n {
            let j = (i + 1) % n;
            triplets.push(Triplet::new(
                [order[i], order[j], n],
                [positions[order[i]], positions[order[j]], centre],
            )?);
        }
        Some(VirtualNgon {
            channels,
            triplets,
            centre_downmix: 1.0 / (n as f64).sqrt(),
        })
    }

    /// The triplet (vertex i, vertex i+1, centre) covering `p`, and its gains.
    fn find(&self, p: V3) -> Option<(&Triplet, [f64; 3])> {
        self.triplets.iter().find_map(|t| t.gains(p).map(|g| (t, g)))
    }
}

/// Four coplanar speakers with bilinear panning (ear `QuadRegion`).
#[derive(Clone, Debug)]
pub struct QuadRegion {
    pub channels: [usize; 4],
    pub(crate) positions: [V3; 4],
    pub(crate) order: [usize; 4],
    pub(crate) poly_x: [V3; 3],
    pub(crate) poly_y: [V3; 3],
}

fn quad_poly(a: V3, b: V3, c: V3, d: V3) -> [V3; 3] {
    use super::geom::{add, cross, sub};
    [
        cross(sub(b, a), sub(c, d)),
        add(cross(a, sub(c, d)), cross(sub(b, a), d)),
        cross(a, d),
    ]
}

/// The root of `c2·t² + c1·t + c0` that lies in [0, 1] (within 1e-10),
/// clipped; `None` if there is none (ear's `np.roots` test).
fn quad_root(c2: f64, c1: f64, c0: f64) -> Option<f64> {
    const EPS: f64 = 1e-10;
    let ok = |r: f64| -EPS < r && r < 1.0 + EPS;
    let mut roots = [f64::NAN; 2];
    if c2 == 0.0 {
        if c1 == 0.0 {
            return None;
        }
        roots[0] = -c0 / c1;
    } else {
        let disc = c1 * c1 - 4.0 * c2 * c0;
        if disc < 0.0 {
            let imag = (-disc).sqrt() / (2.0 * c2.abs());
            if imag < EPS {
                roots[0] = -c1 / (2.0 * c2);
            }
        } else {
            let s = disc.sqrt();
            let q = -0.5 * (c1 + if c1 >= 0.0 { s } else { -s });
            if q != 0.0 {
                roots[0] = q / c2;
                roots[1] = c0 / q;
            } else {
                roots[0] = 0.0;
                roots[1] = 0.0;
            }
        }
    }
    roots
        .into_iter()
        .find(|r| r.is_finite() && ok(*r))
        .map(|r| r.clamp(0.0, 1.0))
}

impl QuadRegion {
    fn new(channels: [usize; 4], positions: [V3; 4]) -> Self {
        let o = ngon_vertex_order(&positions);
        let order = [o[0], o[1], o[2], o[3]];
        let p = |i: usize| positions[order[i]];
        QuadRegion {
            channels,
            positions,
            order,
            poly_x: quad_poly(p(0), p(1), p(2), p(3)),
            poly_y: quad_poly(p(1), p(2), p(3), p(0)),
        }
    }

    #[inline]
    fn gains(&self, pos: V3) -> Option<[f64; 4]> {
        let px = &self.poly_x;
        let py = &self.poly_y;
        let x = quad_root(dot(px[0], pos), dot(px[1], pos), dot(px[2], pos))?;
        let y = quad_root(dot(py[0], pos), dot(py[1], pos), dot(py[2], pos))?;
        let mut g = [0.0; 4];
        let vals = [(1.0 - x) * (1.0 - y), x * (1.0 - y), x * y, (1.0 - x) * y];
        for k in 0..4 {
            g[self.order[k]] = vals[k];
        }
        let mut v = [0.0; 3];
        for k in 0..4 {
            for a in 0..3 {
                v[a] += g[k] * self.positions[k][a];
            }
        }
        if dot(v, pos) <= 0.0 {
            return None;
        }
        let n = (g[0] * g[0] + g[1] * g[1] + g[2] * g[2] + g[3] * g[3]).sqrt();
        Some([g[0] / n, g[1] / n, g[2] / n, g[3] / n])
    }
}

#[derive(Clone, Debug)]
pub(crate) enum Region {
    Triplet(Triplet),
    Ngon(VirtualNgon),
    Quad(QuadRegion),
}

/// Regions over a set of (real, extra) speakers plus a downmix of the extra
/// speakers onto real ones (ear `PointSourcePannerDownmix`; every extra
/// speaker copies one real speaker with coefficient 1).
#[derive(Clone, Debug)]
pub struct FullPanner {
    pub(crate) regions: Vec<Region>,
    /// For each panner channel (real then extra), the real channel it feeds.
    pub(crate) downmix_to: Vec<usize>,
    pub(crate) num_real: usize,
}

impl FullPanner {
    /// Gains for the real channels into `out` (len ≥ num_real), unit norm.
    /// False when no region covers `p` (never, for a layout that surrounds the listener).
    pub fn handle(&self, p: V3, out: &mut [f64]) -> bool {
        let out = &mut out[..self.num_real];
        for r in &self.regions {
            match r {
                Region::Triplet(t) => {
                    if let Some(g) = t.gains(p) {
                        out.fill(0.0);
                        for k in 0..3 {
                            out[self.downmix_to[t.channels[k]]] += g[k];
                        }
                        return normalise(out);
                    }
                }
                Region::Quad(q) => {
                    if let Some(g) = q.gains(p) {
                        out.fill(0.0);
                        for k in 0..4 {
                            out[self.downmix_to[q.channels[k]]] += g[k];
                        }
                        return normalise(out);
                    }
                }
                Region::Ngon(ng) => {
                    if let Some((t, g)) = ng.find(p) {
                        // ear normalises the n-gon's gains, then the downmix
                        // result again; both are linear, so one normalisation
                        // at the end gives the same gains.
                        out.fill(0.0);
                        let centre = g[2] * ng.centre_downmix;
                        for &c in &ng.channels {
                            out[self.downmix_to[c]] += centre;
                        }
                        out[self.downmix_to[ng.channels[t.channels[0]]]] += g[0];
                        out[self.downmix_to[ng.channels[t.channels[1]]]] += g[1];
                        return normalise(out);
                    }
                }
            }
        }
        false
    }
}

fn normalise(v: &mut [f64]) -> bool {
    let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    if n > 0.0 {
        for x in v.iter_mut() {
            *x /= n;
        }
    }
    true
}

/// BS.2127 point-source panner for one layout (LFE speakers excluded; its
/// channels are the layout's non-LFE speakers in order).
#[derive(Clone, Debug)]
pub enum PointSourcePanner {
    Full(FullPanner),
    /// 0+2+0: pan on 0+5+0, downmix (BS.775 with the centre at √3/3), lower
    /// the level by up to 3 dB towards the back.
    Stereo {
        inner: Box<FullPanner>,
        left: usize,
        right: usize,
    },
    /// A single speaker takes everything.
    Mono,
}

/// A non-LFE speaker as the panner sees it.
#[derive(Clone, Debug)]
pub struct PannerSpeaker {
    pub bs2051: Option<String>,
    pub azimuth: f64,
    pub elevation: f64,
    pub nominal_azimuth: f64,
    pub nominal_elevation: f64,
}

impl PannerSpeaker {
    pub fn from_layout(layout: &Layout) -> Vec<PannerSpeaker> {
        layout
            .speakers
            .iter()
            .filter(|s| !s.lfe)
            .map(|s| PannerSpeaker {
                bs2051: s.bs2051.clone(),
                azimuth: s.azimuth,
                elevation: s.elevation,
                nominal_azimuth: s.nominal_azimuth,
                nominal_elevation: s.nominal_elevation,
            })
            .collect()
    }
}

impl PointSourcePanner {
    /// Set up the panner for a layout (once). Errors when the layout's
    /// speakers do not surround the listener or are too many.
    pub fn new(layout: &Layout) -> Result<Self, LayoutError> {
        let spk = PannerSpeaker::from_layout(layout);
        Self::for_speakers(&spk, &layout.name)
    }

    pub fn for_speakers(spk: &[PannerSpeaker], name: &str) -> Result<Self, LayoutError> {
        let invalid = |message: String| LayoutError::Invalid {
            path: name.to_string(),
            message,
        };
        if spk.len() == 1 {
            return Ok(PointSourcePanner::Mono);
        }
        let labels: Vec<Option<&str>> = spk.iter().map(|s| s.bs2051.as_deref()).collect();
        if spk.len() == 2 && labels.contains(&Some("M+030")) && labels.contains(&Some("M-030")) {
            let five = five_zero_speakers();
            let inner = build_full(&five).ok_or_else(|| invalid("internal 0+5+0 panner failed".into()))?;
            let left = labels.iter().position(|l| *l == Some("M+030")).unwrap_or(0);
            let right = labels.iter().position(|l| *l == Some("M-030")).unwrap_or(1);
            return Ok(PointSourcePanner::Stereo {
                inner: Box::new(inner),
                left,
                right,
            });
        }
        if spk.len() * 3 + 2 > MAX_PANNER_CHANNELS {
            return Err(invalid(format!(
                "{} speakers: the point-source panner handles at most {}",
                spk.len(),
                (MAX_PANNER_CHANNELS - 2) / 3
            )));
        }
        build_full(spk).map(PointSourcePanner::Full).ok_or_else(|| {
            let hint = if spk.len() == 2 {
                "; a pair pans as BS.2127's stereo (0+2+0) when its speakers carry bs2051 = \"M+030\" and \"M-030\""
            } else {
                ""
            };
            invalid(format!(
                "the speakers do not surround the listener (their convex hull, with BS.2127's virtual speakers above \
                 and below, does not enclose the centre), so BS.2127 point-source panning cannot cover every direction{hint}"
            ))
        })
    }

    /// Number of output channels (the layout's non-LFE speakers).
    pub fn num_channels(&self) -> usize {
        match self {
            PointSourcePanner::Full(f) => f.num_real,
            PointSourcePanner::Stereo { .. } => 2,
            PointSourcePanner::Mono => 1,
        }
    }

    /// Gains for direction `p` (need not be unit length) into `out`
    /// (len = num_channels). Returns false when no region covers `p`
    /// (only possible for `p` = 0 or NaN).
    pub fn handle(&self, p: V3, out: &mut [f64]) -> bool {
        match self {
            PointSourcePanner::Full(f) => f.handle(p, out),
            PointSourcePanner::Mono => {
                out[0] = 1.0;
                true
            }
            PointSourcePanner::Stereo { inner, left, right } => {
                let mut pv = [0.0f64; 5];
                if !inner.handle(p, &mut pv) {
                    return false;
                }
                // M+030 M-030 M+000 M+110 M-110
                let c = 3f64.sqrt() / 3.0;
                let s = 0.5f64.sqrt();
                let mut l = pv[0] + c * pv[2] + s * pv[3];
                let mut r = pv[1] + c * pv[2] + s * pv[4];
                let n = (l * l + r * r).sqrt();
                l /= n;
                r /= n;
                let front = pv[0].max(pv[1]).max(pv[2]);
                let back = pv[3].max(pv[4]);
                let g = 0.5f64.powf(0.5 * back / (front + back));
                out[..2].fill(0.0);
                out[*left] = l * g;
                out[*right] = r * g;
                true
            }
        }
    }
}

fn five_zero_speakers() -> Vec<PannerSpeaker> {
    [
        ("M+030", 30.0),
        ("M-030", -30.0),
        ("M+000", 0.0),
        ("M+110", 110.0),
        ("M-110", -110.0),
    ]
    .iter()
    .map(|&(l, az)| PannerSpeaker {
        bs2051: Some(l.to_string()),
        azimuth: az,
        elevation: 0.0,
        nominal_azimuth: az,
        nominal_elevation: 0.0,
    })
    .collect()
}

/// ear `_configure_full`.
fn build_full(spk: &[PannerSpeaker]) -> Option<FullPanner> {
    let n = spk.len();
    // _set_screen_speaker_nominal_positions: M±SC triangulate at ±45° when
    // wider than 30°, else ±15°.
    let nominal: Vec<(f64, f64)> = spk
        .iter()
        .map(|s| match s.bs2051.as_deref() {
            Some("M+SC") | Some("M-SC") => {
                let sign = if s.azimuth < 0.0 {
                    -1.0
                } else if s.azimuth > 0.0 {
                    1.0
                } else {
                    0.0
                };
                (sign * if s.azimuth.abs() > 30.0 { 45.0 } else { 15.0 }, 0.0)
            }
            _ => (s.nominal_azimuth, s.nominal_elevation),
        })
        .collect();

    // extra_pos_vertical_nominal
    let mut downmix_to: Vec<usize> = (0..n).collect();
    let mut pos_nominal: Vec<V3> = nominal.iter().map(|&(a, e)| cart(a, e, 1.0)).collect();
    let mut pos_real: Vec<V3> = spk.iter().map(|s| cart(s.azimuth, s.elevation, 1.0)).collect();
    let mid: Vec<usize> = (0..n).filter(|&i| (-10.0..=10.0).contains(&nominal[i].1)).collect();
    for (layer_nominal_el, lb, ub) in [(-30.0, -70.0, -10.0), (30.0, 10.0, 70.0)] {
        let layer: Vec<usize> = (0..n).filter(|&i| lb <= nominal[i].1 && nominal[i].1 <= ub).collect();
        let (az_limit, layer_real_el) = if !layer.is_empty() {
            let az_range = layer.iter().map(|&i| nominal[i].0.abs()).fold(f64::MIN, f64::max);
            let mean_el = layer.iter().map(|&i| spk[i].elevation).sum::<f64>() / layer.len() as f64;
            (az_range + 40.0, mean_el)
        } else {
            (0.0, layer_nominal_el)
        };
        for &m in &mid {
            if nominal[m].0.abs() >= az_limit - 1e-5 {
                pos_real.push(cart(spk[m].azimuth, layer_real_el, 1.0));
                pos_nominal.push(cart(nominal[m].0, layer_nominal_el, 1.0));
                downmix_to.push(m);
            }
        }
    }
    let n_extra = pos_real.len();
    let labels: Vec<&str> = spk.iter().filter_map(|s| s.bs2051.as_deref()).collect();
    let mut virtual_positions: Vec<V3> = vec![[0.0, 0.0, -1.0]];
    if !(labels.contains(&"T+000") || labels.contains(&"UH+180")) {
        virtual_positions.push([0.0, 0.0, 1.0]);
    }
    let virtual_verts: Vec<usize> = (n_extra..n_extra + virtual_positions.len()).collect();
    pos_nominal.extend(virtual_positions.iter().copied());
    pos_real.extend(virtual_positions.iter().copied());

    let facets = convex_hull_facets(&pos_nominal)?;
    // The hull must enclose the listener, or some directions have no region.
    if facets.iter().any(|f| f.offset >= -1e-9) {
        return None;
    }

    let mut regions = Vec::new();
    for &vv in &virtual_verts {
        let mut adj: Vec<usize> = Vec::new();
        for f in facets.iter().filter(|f| f.verts.contains(&vv)) {
            for &v in &f.verts {
                if v != vv && !adj.contains(&v) {
                    adj.push(v);
                }
            }
        }
        adj.sort_unstable();
        if adj.iter().any(|v| virtual_verts.contains(v)) {
            return None;
        }
        let positions: Vec<V3> = adj.iter().map(|&v| pos_real[v]).collect();
        regions.push(Region::Ngon(VirtualNgon::new(adj, positions, pos_real[vv])?));
    }
    for f in &facets {
        if f.verts.iter().any(|v| virtual_verts.contains(v)) {
            continue;
        }
        match f.verts.len() {
            3 => {
                let c = [f.verts[0], f.verts[1], f.verts[2]];
                regions.push(Region::Triplet(Triplet::new(
                    c,
                    [pos_real[c[0]], pos_real[c[1]], pos_real[c[2]]],
                )?));
            }
            4 => {
                let c = [f.verts[0], f.verts[1], f.verts[2], f.verts[3]];
                regions.push(Region::Quad(QuadRegion::new(
                    c,
                    [pos_real[c[0]], pos_real[c[1]], pos_real[c[2]], pos_real[c[3]]],
                )));
            }
            _ => {
                // BS.2127 layouts never have facets of more than four
                // speakers; for other layouts treat one as a virtual n-gon
                // around its centre direction (same rule as above/below).
                let positions: Vec<V3> = f.verts.iter().map(|&v| pos_real[v]).collect();
                let mut c = [0.0; 3];
                for p in &positions {
                    for a in 0..3 {
                        c[a] += p[a];
                    }
                }
                let cn = norm(c);
                if cn < 1e-9 {
                    return None;
                }
                let centre = [c[0] / cn, c[1] / cn, c[2] / cn];
                regions.push(Region::Ngon(VirtualNgon::new(f.verts.clone(), positions, centre)?));
            }
        }
    }
    Some(FullPanner {
        regions,
        downmix_to,
        num_real: n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quadratic_roots() {
        assert!((quad_root(0.0, 2.0, -1.0).unwrap() - 0.5).abs() < 1e-15);
        assert_eq!(quad_root(1.0, -1.5, 0.5), Some(1.0)); // roots 1 and 0.5, in numpy's order
        assert!(quad_root(1.0, 0.0, 1.0).is_none());
        assert!(quad_root(1.0, -5.0, 6.0).is_none()); // roots 2 and 3
    }
}
