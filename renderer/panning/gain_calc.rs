//! Object gains, BS.2127 §7 (ear `objectbased/gain_calc.py`): one fixed
//! pipeline per metadata block — coordinates → screen scaling → screen edge
//! lock → channel lock → divergence → extent per diverged position → power
//! sum → zone exclusion → gain → LFE zeros → direct/diffuse split.
//!
//! `GainCalc::new` does all per-layout work once; `GainCalc::calc` is a pure
//! function of the block (plus a scratch buffer), safe to call from many
//! threads. Invariants: gains ≥ 0, never NaN, LFE outputs always 0,
//! Σ(direct² + diffuse²) = gain² except for polar objects on 0+2+0.

use super::allocentric::{AlloExtent, AlloPanner, widen_exclusion};
use super::conversion::extent_cart_to_polar;
use super::extent::PolarExtent;
use super::geom::{V3, azimuth, cart, elevation, local_coordinate_system, norm};
use super::point_source::{MAX_PANNER_CHANNELS, PointSourcePanner};
use super::screen::{PolarEdges, ScreenEdgeLocker, ScreenScaler};
use super::zone::{ZoneExclusion, ZoneSpeaker};
use crate::adm::elements::{ObjectBlock, ObjectPosition, Screen};
use crate::layout::{Layout, LayoutError};
use std::sync::{Arc, OnceLock};

/// Metadata from outside the block that gains depend on.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectContext {
    /// The programme's `audioProgrammeReferenceScreen` (default screen when absent).
    pub reference_screen: Screen,
}

impl Default for ObjectContext {
    fn default() -> Self {
        ObjectContext {
            reference_screen: Screen::DEFAULT,
        }
    }
}

/// Direct and diffuse gains for one block, one value per layout speaker
/// (LFE included, always 0).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DirectDiffuse {
    pub direct: Vec<f64>,
    pub diffuse: Vec<f64>,
}

/// Channel lock on top of a set of positions (ear `ChannelLockHandlerBase`).
#[derive(Clone, Debug)]
struct ChannelLock {
    positions: Vec<V3>,
    priority: Vec<usize>,
    allocentric: bool,
}

impl ChannelLock {
    fn new(positions: Vec<V3>, azimuths: &[f64], elevations: &[f64], allocentric: bool) -> Self {
        // priority: lowest |elevation|, then elevation, |azimuth|, azimuth (np.lexsort)
        let n = positions.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| {
            elevations[a]
                .abs()
                .total_cmp(&elevations[b].abs())
                .then(elevations[a].total_cmp(&elevations[b]))
                .then(azimuths[a].abs().total_cmp(&azimuths[b].abs()))
                .then(azimuths[a].total_cmp(&azimuths[b]))
        });
        let mut priority = vec![0; n];
        for (rank, &i) in order.iter().enumerate() {
            priority[i] = rank;
        }
        ChannelLock {
            positions,
            priority,
            allocentric,
        }
    }

    fn handle(&self, position: V3, max_distance: Option<f64>, excluded: Option<&[bool]>) -> V3 {
        let tol = 1e-5;
        let weighted = |p: V3, c: V3| -> f64 {
            let d = [position[0] - c[0], position[1] - c[1], position[2] - c[2]];
            if self.allocentric {
                (d[0] * d[0] / 16.0 + 4.0 * d[1] * d[1] + 32.0 * d[2] * d[2]).sqrt()
            } else {
                let _ = p;
                (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt()
            }
        };
        let candidates = (0..self.positions.len()).filter(|&i| !excluded.is_some_and(|e| e[i]));
        let possible: Vec<usize> = candidates
            .filter(|&i| match max_distance {
                Some(md) => {
                    norm([
                        position[0] - self.positions[i][0],
                        position[1] - self.positions[i][1],
                        position[2] - self.positions[i][2],
                    ]) < md + tol
                }
                None => true,
            })
            .collect();
        if possible.is_empty() {
            return position;
        }
        let dists: Vec<f64> = possible
            .iter()
            .map(|&i| weighted(position, self.positions[i]))
            .collect();
        let min = dists.iter().copied().fold(f64::INFINITY, f64::min);
        let mut best: Option<usize> = None;
        for (k, &i) in possible.iter().enumerate() {
            if dists[k] < min + tol && best.is_none_or(|b| self.priority[i] < self.priority[b]) {
                best = Some(i);
            }
        }
        best.map_or(position, |b| self.positions[b])
    }
}

/// Allocentric extent tables for subsets of speakers left by zone exclusion.
type SubsetCache = Arc<std::sync::Mutex<Vec<(Vec<bool>, Arc<AlloExtent>)>>>;

/// How cartesian objects are panned on this layout.
#[derive(Clone, Debug)]
enum CartesianMode {
    /// Every non-LFE speaker has an allocentric position (BS.2127 §7.3.6).
    Allocentric {
        panner: AlloPanner,
        extent: Arc<AlloExtent>,
        channel_lock: ChannelLock,
        /// Extent tables for exclusion subsets, built when first needed.
        subsets: SubsetCache,
    },
    /// No allocentric positions: convert to polar (BS.2127 §10) and pan as polar.
    ConvertToPolar,
}

/// Gains calculator for one layout.
#[derive(Clone, Debug)]
pub struct GainCalc {
    n_out: usize,
    /// Output index of each non-LFE speaker.
    non_lfe: Vec<usize>,
    psp: PointSourcePanner,
    polar_extent: Arc<OnceLock<PolarExtent>>,
    screen_scaler: ScreenScaler,
    edge_locker: ScreenEdgeLocker,
    ego_lock: ChannelLock,
    zones: ZoneExclusion,
    cartesian: CartesianMode,
}

/// Per-thread scratch buffers (no allocation per block).
pub struct Scratch {
    a: Vec<f64>,
    b: Vec<f64>,
    c: Vec<f64>,
    ex: Vec<bool>,
}

impl GainCalc {
    /// Per-layout set-up (BS.2127 §6: point-source regions, extent grid
    /// lazily, allocentric tree, zone priorities, channel-lock priorities).
    pub fn new(layout: &Layout) -> Result<Self, LayoutError> {
        let psp = PointSourcePanner::new(layout)?;
        let spk: Vec<&crate::layout::Speaker> = layout.speakers.iter().filter(|s| !s.lfe).collect();
        let non_lfe: Vec<usize> = layout
            .speakers
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.lfe)
            .map(|(i, _)| i)
            .collect();
        let has_u045 = layout.has_bs2051("U+045");
        let rep = PolarEdges::from_screen(&Screen::DEFAULT).ok();
        let azs: Vec<f64> = spk.iter().map(|s| s.azimuth).collect();
        let els: Vec<f64> = spk.iter().map(|s| s.elevation).collect();
        let ego_lock = ChannelLock::new(
            spk.iter().map(|s| cart(s.azimuth, s.elevation, 1.0)).collect(),
            &azs,
            &els,
            false,
        );
        let zones = ZoneExclusion::new(
            &spk.iter()
                .map(|s| ZoneSpeaker {
                    nominal_azimuth: s.nominal_azimuth,
                    nominal_elevation: s.nominal_elevation,
                })
                .collect::<Vec<_>>(),
        );
        let cartesian = if layout.has_allocentric() {
            let positions: Vec<V3> = spk.iter().map(|s| s.allocentric.unwrap_or([0.0; 3])).collect();
            let panner = AlloPanner::new(&positions).map_err(|(a, b)| LayoutError::Speaker {
                path: layout.source.clone(),
                speaker: spk[b].label.clone(),
                message: format!("same allocentric position as speaker {:?}", spk[a].label),
            })?;
            CartesianMode::Allocentric {
                channel_lock: ChannelLock::new(positions.clone(), &azs, &els, true),
                extent: Arc::new(AlloExtent::new(&positions)),
                panner,
                subsets: Arc::default(),
            }
        } else {
            CartesianMode::ConvertToPolar
        };
        Ok(GainCalc {
            n_out: layout.speakers.len(),
            non_lfe,
            psp,
            polar_extent: Arc::new(OnceLock::new()),
            screen_scaler: ScreenScaler::new(rep, has_u045),
            edge_locker: ScreenEdgeLocker::new(rep, has_u045),
            ego_lock,
            zones,
            cartesian,
        })
    }

    pub fn num_outputs(&self) -> usize {
        self.n_out
    }

    pub fn point_source(&self) -> &PointSourcePanner {
        &self.psp
    }

    /// The spreading panner's grid (built on first use: ~1,700 point-source pans).
    pub fn polar_extent(&self) -> &PolarExtent {
        self.polar_extent.get_or_init(|| PolarExtent::new(&self.psp))
    }

    pub fn scratch(&self) -> Scratch {
        let n = self.non_lfe.len().max(1);
        Scratch {
            a: vec![0.0; n],
            b: vec![0.0; n],
            c: vec![0.0; n],
            ex: vec![false; n],
        }
    }

    /// Gains for one Objects block into `direct` and `diffuse` (len = layout
    /// speakers, LFE included).
    pub fn calc(
        &self,
        block: &ObjectBlock,
        ctx: &ObjectContext,
        s: &mut Scratch,
        direct: &mut [f64],
        diffuse: &mut [f64],
    ) {
        let n = self.non_lfe.len();
        let gains = &mut s.a[..n];
        gains.fill(0.0);

        // coord_trans: polar → cartesian on the sphere; cartesian clipped to the cube.
        let mut position = match block.position {
            ObjectPosition::Polar {
                azimuth,
                elevation,
                distance,
            } => cart(azimuth, elevation, distance),
            ObjectPosition::Cartesian { x, y, z } => [x.clamp(-1.0, 1.0), y.clamp(-1.0, 1.0), z.clamp(-1.0, 1.0)],
        };
        if block.screen_ref
            && let Ok(reference) = PolarEdges::from_screen(&ctx.reference_screen)
        {
            position = self.screen_scaler.handle(position, true, &reference, block.cartesian);
        }
        position = self
            .edge_locker
            .handle_vector(position, &block.screen_edge_lock, block.cartesian);

        let mut cartesian = block.cartesian;
        let (mut width, mut height, mut depth) = (block.width, block.height, block.depth);
        if cartesian && matches!(self.cartesian, CartesianMode::ConvertToPolar) {
            // No allocentric positions on this layout: BS.2127 §10 conversion.
            let (az, el, d, w, h, dp) =
                extent_cart_to_polar(position[0], position[1], position[2], width, depth, height);
            position = cart(az, el, d);
            width = w;
            height = h;
            depth = dp;
            cartesian = false;
        }

        if cartesian {
            let CartesianMode::Allocentric {
                panner,
                extent,
                channel_lock,
                subsets,
            } = &self.cartesian
            else {
                return;
            };
            let excluded = &mut s.ex[..n];
            if block.zone_exclusion.is_empty() {
                excluded.fill(false);
            } else {
                self.zones.excluded(&block.zone_exclusion, excluded);
                widen_exclusion(panner.positions(), excluded);
            }
            let any_excluded = excluded.iter().any(|&e| e);
            if let Some(cl) = block.channel_lock {
                position = channel_lock.handle(position, cl.max_distance, Some(excluded));
            }
            let (div_gains, div_pos) = diverge(position, block, true);
            let pv = &mut s.b[..n];
            for (k, (&dg, &p)) in div_gains.iter().zip(div_pos.iter()).enumerate() {
                if k >= div_count(block) {
                    break;
                }
                pv.fill(0.0);
                if any_excluded {
                    let sub_pos: Vec<V3> = panner
                        .positions()
                        .iter()
                        .zip(excluded.iter())
                        .filter(|(_, e)| !**e)
                        .map(|(p, _)| *p)
                        .collect();
                    let mut sub = vec![0.0; sub_pos.len()];
                    if width == 0.0 && height == 0.0 && depth == 0.0 {
                        if let Ok(sp) = AlloPanner::new(&sub_pos) {
                            sp.handle(p, &mut sub);
                        }
                    } else {
                        let ext = subset_extent(subsets, excluded, &sub_pos);
                        ext.gains(p, width, height, depth, &mut sub);
                    }
                    let mut k2 = 0;
                    for (i, e) in excluded.iter().enumerate() {
                        if !*e {
                            pv[i] = sub[k2];
                            k2 += 1;
                        }
                    }
                } else if width == 0.0 && height == 0.0 && depth == 0.0 {
                    panner.handle(p, pv);
                } else {
                    // ear 2.1.0 passes (width, height, depth) to the allocentric
                    // extent panner as its (size_x, size_y, size_z); BS.2076
                    // reads cartesian height as Z size and depth as Y size.
                    // We follow ear (the conformance oracle); see README notes.
                    extent.gains(p, width, height, depth, pv);
                }
                for i in 0..n {
                    gains[i] += dg * pv[i] * pv[i];
                }
            }
            for g in gains.iter_mut() {
                *g = g.sqrt();
            }
        } else {
            if let Some(cl) = block.channel_lock {
                position = self.ego_lock.handle(position, cl.max_distance, None);
            }
            let (div_gains, div_pos) = diverge(position, block, false);
            let pv = &mut s.b[..n];
            let needs_extent = width != 0.0 || height != 0.0 || depth != 0.0 || norm(position) != 1.0;
            let count = div_count(block);
            // one undiverged position: √(0 + 1·g²) is |g| exactly (binary
            // floating point, barring underflow below 1e-154)
            let single = count == 1 && div_gains[0] == 1.0;
            for k in 0..count {
                let p = div_pos[k];
                pv.fill(0.0);
                self.polar_pan(p, width, height, depth, needs_extent, pv, &mut s.c[..n]);
                if !single {
                    for i in 0..n {
                        gains[i] += div_gains[k] * pv[i] * pv[i];
                    }
                }
            }
            if single {
                for (g, v) in gains.iter_mut().zip(pv.iter()) {
                    *g = v.abs();
                }
            } else {
                for g in gains.iter_mut() {
                    *g = g.sqrt();
                }
            }
            if !block.zone_exclusion.is_empty() {
                let excluded = &mut s.ex[..n];
                self.zones.excluded(&block.zone_exclusion, excluded);
                self.zones.apply(gains, excluded);
            }
        }

        direct[..self.n_out].fill(0.0);
        diffuse[..self.n_out].fill(0.0);
        let d = block.diffuse;
        let (gd, gf) = ((1.0 - d).sqrt(), d.sqrt());
        for (k, &o) in self.non_lfe.iter().enumerate() {
            let g = if gains[k].is_nan() { 0.0 } else { gains[k] } * block.gain;
            // nan_to_num also maps ±inf to large finite values; gains are never infinite.
            direct[o] = g * gd;
            diffuse[o] = g * gf;
        }
    }

    /// Polar extent panning of one diverged position (point source when no extent applies).
    #[allow(clippy::too_many_arguments)]
    fn polar_pan(
        &self,
        p: V3,
        width: f64,
        height: f64,
        depth: f64,
        needs_extent: bool,
        out: &mut [f64],
        tmp: &mut [f64],
    ) {
        let dist = norm(p);
        // Fast path: with no width/height/depth and distance 1, ear's extent
        // handler reduces exactly to the point-source panner (amount_spread
        // = interp(max(w,h)=0) = 0).
        if !needs_extent || (width == 0.0 && height == 0.0 && depth == 0.0 && (dist - 1.0).abs() < 1e-12) {
            let _ = tmp;
            self.psp.handle(p, out);
            return;
        }
        self.polar_extent().handle(&self.psp, p, width, height, depth, out);
    }

    /// Convenience: allocate and return gains.
    pub fn calc_alloc(&self, block: &ObjectBlock, ctx: &ObjectContext) -> DirectDiffuse {
        let mut s = self.scratch();
        let mut d = DirectDiffuse {
            direct: vec![0.0; self.n_out],
            diffuse: vec![0.0; self.n_out],
        };
        self.calc(block, ctx, &mut s, &mut d.direct, &mut d.diffuse);
        d
    }
}

fn subset_extent(cache: &SubsetCache, excluded: &[bool], sub_pos: &[V3]) -> Arc<AlloExtent> {
    if let Ok(mut c) = cache.lock() {
        if let Some((_, e)) = c.iter().find(|(k, _)| k == excluded) {
            return e.clone();
        }
        let e = Arc::new(AlloExtent::new(sub_pos));
        if c.len() < 64 {
            c.push((excluded.to_vec(), e.clone()));
        }
        return e;
    }
    Arc::new(AlloExtent::new(sub_pos))
}

fn div_count(block: &ObjectBlock) -> usize {
    match block.object_divergence {
        Some(d) if d.value != 0.0 => 3,
        _ => 1,
    }
}

/// BS.2127 §7.3.7 (ear `diverge`): gains and positions of the (1 or 3) diverged sources.
fn diverge(position: V3, block: &ObjectBlock, cartesian: bool) -> ([f64; 3], [V3; 3]) {
    let Some(div) = block.object_divergence.filter(|d| d.value != 0.0) else {
        return ([1.0, 0.0, 0.0], [position, position, position]);
    };
    let value = div.value;
    let g_lr = value / (value + 1.0);
    let g_c = (1.0 - value) / (value + 1.0);
    if cartesian {
        let r = div.position_range.unwrap_or(0.0);
        let clip = |v: V3| [v[0].clamp(-1.0, 1.0), v[1].clamp(-1.0, 1.0), v[2].clamp(-1.0, 1.0)];
        let left = clip([position[0] + r, position[1], position[2]]);
        let right = clip([position[0] - r, position[1], position[2]]);
        ([g_lr, g_c, g_lr], [left, clip(position), right])
    } else {
        let az_range = div.azimuth_range.unwrap_or(45.0);
        let distance = norm(position);
        let pl = cart(az_range, 0.0, distance);
        let pr = cart(-az_range, 0.0, distance);
        // M = local_coordinate_system(az, el).T; p' = M · p
        let l = local_coordinate_system(azimuth(position), elevation(position));
        let rot = |v: V3| -> V3 {
            [
                l[0][0] * v[0] + l[1][0] * v[1] + l[2][0] * v[2],
                l[0][1] * v[0] + l[1][1] * v[1] + l[2][1] * v[2],
                l[0][2] * v[0] + l[1][2] * v[1] + l[2][2] * v[2],
            ]
        };
        ([g_lr, g_c, g_lr], [rot(pl), position, rot(pr)])
    }
}

/// Upper bound on non-LFE speakers handled without allocation.
pub const MAX_SPEAKERS: usize = MAX_PANNER_CHANNELS / 3;
