//! The per-layout set-up of the object gain calculation ([`super::GainCalc`])
//! flattened into one plain `u32` table (floats stored as their bits), the
//! form the GPU gains kernel (`shaders/gains.wgsl`) and its Rust mirror read.
//! Takes a layout and its `GainCalc`; produces the table; refuses nothing the
//! `GainCalc` accepted, except layouts of more than [`MAX_SPEAKERS`] non-LFE
//! speakers.
//!
//! The table opens with a header of [`H_SIZE`] words (indices `H_*`, mirrored
//! by the `H_*` constants of `shaders/common_tab.wgsl`), then the data the
//! header points at:
//! - point-source regions in ear's order, each `kind` then its data, output
//!   channels already mapped through the extra-speaker downmix
//!   (triplet: 3 channels, 9 basis floats; quad: 4 channels, 12 position
//!   floats, 4 order indices, 18 polynomial floats; virtual n-gon: `nv`,
//!   centre downmix, `nv` channels, `nv` × (2 local indices, 9 basis floats));
//! - the polar-extent spreading grid (points, then gains per point);
//! - allocentric positions and channel-lock priorities, egocentric
//!   (real-direction) positions and priorities;
//! - zone exclusion: nominal directions (vector, azimuth, elevation) and each
//!   speaker's priority groups (`count`, then per group `len, members…`);
//! - the non-LFE → output index map, the reproduction screen's edges, and the
//!   allocentric extent grids (`linspace(-1, 1, 40)`, `linspace(0, 1, 20)`).

use super::gain_calc::GainCalc;
use super::geom::cart;
use super::point_source::{PointSourcePanner, Region};
use super::screen::PolarEdges;
use super::zone::{ZoneExclusion, ZoneSpeaker};
use crate::adm::elements::Screen;
use crate::layout::{Layout, LayoutError};

/// The most non-LFE speakers the flat form (and the GPU kernel's private
/// arrays) handle; DESIGN.md's largest layouts have 64 feeds.
pub const MAX_SPEAKERS: usize = 64;

pub const H_N: usize = 0;
pub const H_NOUT: usize = 1;
/// 0 full regions, 1 the 0+2+0 rule over 0+5+0 regions, 2 a single speaker.
pub const H_PSP_KIND: usize = 2;
pub const H_STEREO_L: usize = 3;
pub const H_STEREO_R: usize = 4;
pub const H_REGIONS_OFF: usize = 5;
pub const H_NREGIONS: usize = 6;
pub const H_GRID_N: usize = 7;
pub const H_GRID_PTS_OFF: usize = 8;
pub const H_GRID_GAINS_OFF: usize = 9;
pub const H_ALLO: usize = 10;
pub const H_ALLO_POS_OFF: usize = 11;
pub const H_ALLO_PRIO_OFF: usize = 12;
pub const H_EGO_POS_OFF: usize = 13;
pub const H_EGO_PRIO_OFF: usize = 14;
pub const H_ZONE_POS_OFF: usize = 15;
pub const H_ZONE_AZ_OFF: usize = 16;
pub const H_ZONE_EL_OFF: usize = 17;
pub const H_ZONE_GROUPS_OFF: usize = 18;
pub const H_OUT_INDEX_OFF: usize = 19;
pub const H_HAS_U045: usize = 20;
pub const H_REP_OK: usize = 21;
/// Reproduction screen edges: left azimuth, right azimuth, bottom and top elevation.
pub const H_REP_EDGES: usize = 22;
pub const H_LIN40_OFF: usize = 26;
pub const H_LIN20_OFF: usize = 27;
pub const H_SIZE: usize = 32;

pub const REGION_TRIPLET: u32 = 0;
pub const REGION_QUAD: u32 = 1;
pub const REGION_NGON: u32 = 2;

pub const PSP_FULL: u32 = 0;
pub const PSP_STEREO: u32 = 1;
pub const PSP_MONO: u32 = 2;

/// The flat table of one layout.
#[derive(Clone, Debug)]
pub struct FlatLayout {
    pub words: Vec<u32>,
    /// Non-LFE speakers.
    pub n: usize,
    /// All outputs (LFE included).
    pub n_out: usize,
}

struct W(Vec<u32>);

impl W {
    fn u(&mut self, v: usize) {
        self.0.push(v as u32);
    }
    fn f(&mut self, v: f64) {
        self.0.push((v as f32).to_bits());
    }
    fn v3(&mut self, v: [f64; 3]) {
        for x in v {
            self.f(x);
        }
    }
    fn here(&self) -> u32 {
        self.0.len() as u32
    }
    fn set(&mut self, h: usize, v: u32) {
        self.0[h] = v;
    }
}

/// Channel-lock priority rank of each speaker: lowest |elevation|, then
/// elevation, |azimuth|, azimuth (as `GainCalc`'s channel lock).
fn lock_priority(az: &[f64], el: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..az.len()).collect();
    order.sort_by(|&a, &b| {
        el[a]
            .abs()
            .total_cmp(&el[b].abs())
            .then(el[a].total_cmp(&el[b]))
            .then(az[a].abs().total_cmp(&az[b].abs()))
            .then(az[a].total_cmp(&az[b]))
    });
    let mut prio = vec![0; az.len()];
    for (rank, &i) in order.iter().enumerate() {
        prio[i] = rank;
    }
    prio
}

fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    let step = (b - a) / (n - 1) as f64;
    (0..n)
        .map(|i| if i == n - 1 { b } else { a + i as f64 * step })
        .collect()
}

impl FlatLayout {
    pub fn new(layout: &Layout, gc: &GainCalc) -> Result<Self, LayoutError> {
        let spk: Vec<&crate::layout::Speaker> = layout.speakers.iter().filter(|s| !s.lfe).collect();
        let n = spk.len();
        if n > MAX_SPEAKERS {
            return Err(LayoutError::Invalid {
                path: layout.source.clone(),
                message: format!("{n} non-LFE speakers: the GPU gains kernel handles at most {MAX_SPEAKERS}"),
            });
        }
        let mut w = W(vec![0; H_SIZE]);
        w.set(H_N, n as u32);
        w.set(H_NOUT, layout.speakers.len() as u32);

        // point-source regions
        let full = match gc.point_source() {
            PointSourcePanner::Full(f) => {
                w.set(H_PSP_KIND, PSP_FULL);
                Some(f)
            }
            PointSourcePanner::Stereo { inner, left, right } => {
                w.set(H_PSP_KIND, PSP_STEREO);
                w.set(H_STEREO_L, *left as u32);
                w.set(H_STEREO_R, *right as u32);
                Some(&**inner)
            }
            PointSourcePanner::Mono => {
                w.set(H_PSP_KIND, PSP_MONO);
                None
            }
        };
        let off = w.here();
        w.set(H_REGIONS_OFF, off);
        if let Some(f) = full {
            w.set(H_NREGIONS, f.regions.len() as u32);
            let dm = &f.downmix_to;
            for r in &f.regions {
                match r {
                    Region::Triplet(t) => {
                        w.0.push(REGION_TRIPLET);
                        for c in t.channels {
                            w.u(dm[c]);
                        }
                        for row in t.basis {
                            w.v3(row);
                        }
                    }
                    Region::Quad(q) => {
                        w.0.push(REGION_QUAD);
                        for c in q.channels {
                            w.u(dm[c]);
                        }
                        for p in q.positions {
                            w.v3(p);
                        }
                        for o in q.order {
                            w.u(o);
                        }
                        for row in q.poly_x.iter().chain(q.poly_y.iter()) {
                            w.v3(*row);
                        }
                    }
                    Region::Ngon(g) => {
                        w.0.push(REGION_NGON);
                        w.u(g.channels.len());
                        w.f(g.centre_downmix);
                        for &c in &g.channels {
                            w.u(dm[c]);
                        }
                        for t in &g.triplets {
                            w.u(t.channels[0]);
                            w.u(t.channels[1]);
                            for row in t.basis {
                                w.v3(row);
                            }
                        }
                    }
                }
            }
        }

        // polar extent spreading grid
        let pe = gc.polar_extent();
        let sp = pe.spreading();
        w.set(H_GRID_N, sp.points.len() as u32);
        let off = w.here();
        w.set(H_GRID_PTS_OFF, off);
        for p in &sp.points {
            w.v3(*p);
        }
        let off = w.here();
        w.set(H_GRID_GAINS_OFF, off);
        for g in &sp.gains {
            w.f(*g);
        }

        // channel lock
        let azs: Vec<f64> = spk.iter().map(|s| s.azimuth).collect();
        let els: Vec<f64> = spk.iter().map(|s| s.elevation).collect();
        let prio = lock_priority(&azs, &els);
        let allo = layout.has_allocentric();
        w.set(H_ALLO, allo as u32);
        let off = w.here();
        w.set(H_ALLO_POS_OFF, off);
        for s in &spk {
            w.v3(s.allocentric.unwrap_or([0.0; 3]));
        }
        let off = w.here();
        w.set(H_ALLO_PRIO_OFF, off);
        for &p in &prio {
            w.u(p);
        }
        let off = w.here();
        w.set(H_EGO_POS_OFF, off);
        for s in &spk {
            w.v3(cart(s.azimuth, s.elevation, 1.0));
        }
        let off = w.here();
        w.set(H_EGO_PRIO_OFF, off);
        for &p in &prio {
            w.u(p);
        }

        // zone exclusion
        let zones = ZoneExclusion::new(
            &spk.iter()
                .map(|s| ZoneSpeaker {
                    nominal_azimuth: s.nominal_azimuth,
                    nominal_elevation: s.nominal_elevation,
                })
                .collect::<Vec<_>>(),
        );
        let off = w.here();
        w.set(H_ZONE_POS_OFF, off);
        for s in &spk {
            w.v3(cart(s.nominal_azimuth, s.nominal_elevation, 1.0));
        }
        let off = w.here();
        w.set(H_ZONE_AZ_OFF, off);
        for s in &spk {
            w.f(s.nominal_azimuth);
        }
        let off = w.here();
        w.set(H_ZONE_EL_OFF, off);
        for s in &spk {
            w.f(s.nominal_elevation);
        }
        let table = w.here() as usize;
        w.set(H_ZONE_GROUPS_OFF, table as u32);
        w.0.resize(table + n, 0);
        for i in 0..n {
            let here = w.here();
            w.0[table + i] = here;
            w.u(zones.groups[i].len());
            for g in &zones.groups[i] {
                w.u(g.len());
                for &j in g {
                    w.u(j);
                }
            }
        }

        // outputs, screen, allocentric grids
        let off = w.here();
        w.set(H_OUT_INDEX_OFF, off);
        for (i, s) in layout.speakers.iter().enumerate() {
            if !s.lfe {
                w.u(i);
            }
        }
        w.set(H_HAS_U045, layout.has_bs2051("U+045") as u32);
        if let Ok(e) = PolarEdges::from_screen(&Screen::DEFAULT) {
            w.set(H_REP_OK, 1);
            w.set(H_REP_EDGES, (e.left_azimuth as f32).to_bits());
            w.set(H_REP_EDGES + 1, (e.right_azimuth as f32).to_bits());
            w.set(H_REP_EDGES + 2, (e.bottom_elevation as f32).to_bits());
            w.set(H_REP_EDGES + 3, (e.top_elevation as f32).to_bits());
        }
        let off = w.here();
        w.set(H_LIN40_OFF, off);
        for v in linspace(-1.0, 1.0, 40) {
            w.f(v);
        }
        let off = w.here();
        w.set(H_LIN20_OFF, off);
        for v in linspace(0.0, 1.0, 20) {
            w.f(v);
        }
        Ok(FlatLayout {
            words: w.0,
            n,
            n_out: layout.speakers.len(),
        })
    }
}
