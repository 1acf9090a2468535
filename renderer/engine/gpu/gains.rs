//! The object gains kernel (`shaders/gains.wgsl`): its block records, its
//! bindings, and its Rust mirror — the same f32 arithmetic, the same loops,
//! the same flat tables ([`crate::panning::flat`]) — which tests compare
//! with the f64 [`GainCalc`](crate::panning::GainCalc) and with the GPU.
//!
//! One invocation computes one metadata block: the whole BS.2127 object
//! pipeline (coordinates → screen scale → screen edge lock → channel lock →
//! divergence → point source / polar extent / allocentric panning → power sum →
//! zone exclusion → gain → LFE zeros → direct/diffuse split) and writes the
//! block's direct and diffuse gains into its slot of the gains buffer, where
//! the mix kernel reads them. Bindings: 0 `GainsParams` (uniform), 1 the
//! flat layout table, 2 the records (then their zones), 3 the gains slots,
//! 4 per-invocation scratch ([`SCRATCH_FLOATS`]); workgroup [`WORKGROUP`].
//!
//! Polar extent is a plain loop over the ~1,650 spreading-grid points per
//! block (a cheap cosine test skips points whose weight is surely 0 or 1
//! before any inverse trig), not the CPU's cap tree: a tree walk needs a
//! stack and diverges between invocations; the per-point loop is correct
//! first and keeps every invocation on the same path. (A workgroup per
//! block reducing over the grid in parallel would suit a real GPU better;
//! not done.) Allocentric extent computes its per-speaker axis tables on the
//! fly for the speakers left by zone exclusion (the CPU caches one table per
//! exclusion subset). The kernel's per-block arrays live in a storage-buffer
//! scratch, the mirror's in local arrays; records are sorted by pipeline
//! path before the dispatch ([`finish_records`]). Allocentric extent and
//! extent with depth are computed on the CPU for now ([`on_gpu`]).
//!
//! f32 against the f64 reference: angles from `acos`/`asin` of dot products
//! are computed as `atan2(|a×b|, a·b)` (exact to f32 rounding everywhere;
//! `acos` near 1 would lose half the digits); "distance = 1" (point source,
//! not extent) is decided within [`DIST_TOL`] instead of 1e-12; the region
//! epsilon is [`REGION_EPS`] (1e-6, not 1e-11: in f32 a direction on a
//! speaker lands ~1e-8 outside every region around it) and the polar zone
//! tolerance [`ZONE_EPS_DEG`] (1e-4°, not 1e-6°, below f32 resolution at
//! 90°). Where an f32 decision differs from the f64 one the gains are
//! continuous there (region and quad edges), so the difference stays at
//! rounding level: the mirror is within 8.7e-7 of the CPU on all 11,699
//! reference cases.

#![allow(clippy::excessive_precision)]

use crate::adm::elements::{HorizontalEdge, ObjectBlock, ObjectPosition, VerticalEdge, Zone};
use crate::panning::ObjectContext;
use crate::panning::flat::*;
use crate::panning::screen::PolarEdges;

/// Words per block record (`REC_WORDS` in gains.wgsl).
pub const REC_WORDS: usize = 24;
/// Words per zone of zoneExclusion.
pub const ZONE_WORDS: usize = 7;
/// Workgroup size of the gains kernel.
pub const WORKGROUP: u32 = 64;
/// Scratch floats per invocation (`SCR_SLOTS × MAXN` in gains.wgsl): the
/// kernel keeps its per-block arrays in a storage buffer (see gains.wgsl).
pub const SCRATCH_FLOATS: usize = 15 * MAX_SPEAKERS;

/// Bytes of scratch for a dispatch of `records` (whole workgroups).
pub fn scratch_bytes(records: usize) -> u64 {
    (records.max(1).next_multiple_of(WORKGROUP as usize) * SCRATCH_FLOATS * 4) as u64
}
/// The most non-LFE speakers (size of the kernel's private arrays).
pub const MAXN: usize = MAX_SPEAKERS;
/// |distance − 1| below which a polar position counts as on the sphere.
pub const DIST_TOL: f32 = 1e-6;
/// How far outside a region a direction may be and still be accepted by it
/// (f64: 1e-11 for triplets, 1e-10 for quad roots). In f32 a direction
/// exactly on a speaker comes out ~1e-8 outside every region around it, so
/// the f64 epsilon would reject them all; gains are continuous across region
/// edges, so accepting 1e-6 outside changes them by ~1e-6 at most.
pub const REGION_EPS: f32 = 1e-6;
/// Tolerance of the polar zone test, degrees (f64: 1e-6, below f32's
/// resolution at 90°, where `90 − 1e-6` rounds to 90 and a speaker at
/// elevation 90° would escape a zone ending there).
pub const ZONE_EPS_DEG: f32 = 1e-4;

pub const R_SLOT: usize = 0;
pub const R_FLAGS: usize = 1;
pub const R_NZONES: usize = 2;
pub const R_ZONES_OFF: usize = 3;
pub const R_POS: usize = 4;
pub const R_W: usize = 7;
pub const R_H: usize = 8;
pub const R_D: usize = 9;
pub const R_GAIN: usize = 10;
pub const R_DIFFUSE: usize = 11;
pub const R_CL_MAXD: usize = 12;
pub const R_DIV_VALUE: usize = 13;
pub const R_DIV_AZR: usize = 14;
pub const R_DIV_POSR: usize = 15;
pub const R_REF_EDGES: usize = 16;
pub const R_ITEM_GAIN: usize = 20;

pub const F_CART: u32 = 1;
pub const F_SCREEN_REF: u32 = 2;
pub const F_CHANNEL_LOCK: u32 = 4;
pub const F_CL_MAXD: u32 = 8;
pub const F_DIVERGENCE: u32 = 16;
pub const F_EDGE_H: u32 = 32;
pub const F_EDGE_H_RIGHT: u32 = 64;
pub const F_EDGE_V: u32 = 128;
pub const F_EDGE_V_TOP: u32 = 256;

/// Uniform parameters of one dispatch (`GainsParams` in gains.wgsl).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct GainsParams {
    /// Records in this dispatch.
    pub n_records: u32,
    /// Floats per half slot (direct, then diffuse): ≥ the layout's outputs.
    pub stride: u32,
    /// Always 0 (makes table addresses non-uniform; see common_tab.wgsl).
    pub lane_salt: u32,
    pub _pad: u32,
}

/// The kernel's source: shared helpers, then the kernel.
pub const SOURCE: &str = concat!(
    include_str!("../../../shaders/common_geom.wgsl"),
    include_str!("../../../shaders/common_tab.wgsl"),
    include_str!("../../../shaders/gains.wgsl"),
);

/// Append the record of one Objects block (and its zones) to `words`,
/// whose first `n_records × REC_WORDS` words are the fixed-size records;
/// zones go after them (`zones` collects them; call [`finish_records`]).
pub fn encode_block(
    block: &ObjectBlock,
    ctx_edges: Option<PolarEdges>,
    item_gain: f64,
    slot: u32,
    rec: &mut [u32],
    zones: &mut Vec<u32>,
) {
    let f = |v: f64| (v as f32).to_bits();
    rec.fill(0);
    rec[R_SLOT] = slot;
    let mut flags = 0;
    match block.position {
        ObjectPosition::Polar {
            azimuth,
            elevation,
            distance,
        } => {
            rec[R_POS] = f(azimuth);
            rec[R_POS + 1] = f(elevation);
            rec[R_POS + 2] = f(distance);
        }
        ObjectPosition::Cartesian { x, y, z } => {
            rec[R_POS] = f(x);
            rec[R_POS + 1] = f(y);
            rec[R_POS + 2] = f(z);
            flags |= 0x8000_0000; // position given as X, Y, Z
        }
    }
    if block.cartesian {
        flags |= F_CART;
    }
    if block.screen_ref
        && let Some(e) = ctx_edges
    {
        flags |= F_SCREEN_REF;
        rec[R_REF_EDGES] = f(e.left_azimuth);
        rec[R_REF_EDGES + 1] = f(e.right_azimuth);
        rec[R_REF_EDGES + 2] = f(e.bottom_elevation);
        rec[R_REF_EDGES + 3] = f(e.top_elevation);
    }
    if let Some(cl) = block.channel_lock {
        flags |= F_CHANNEL_LOCK;
        if let Some(md) = cl.max_distance {
            flags |= F_CL_MAXD;
            rec[R_CL_MAXD] = f(md);
        }
    }
    if let Some(d) = block.object_divergence.filter(|d| d.value != 0.0) {
        flags |= F_DIVERGENCE;
        rec[R_DIV_VALUE] = f(d.value);
        rec[R_DIV_AZR] = f(d.azimuth_range.unwrap_or(45.0));
        rec[R_DIV_POSR] = f(d.position_range.unwrap_or(0.0));
    }
    match block.screen_edge_lock.horizontal {
        Some(HorizontalEdge::Left) => flags |= F_EDGE_H,
        Some(HorizontalEdge::Right) => flags |= F_EDGE_H | F_EDGE_H_RIGHT,
        None => {}
    }
    match block.screen_edge_lock.vertical {
        Some(VerticalEdge::Bottom) => flags |= F_EDGE_V,
        Some(VerticalEdge::Top) => flags |= F_EDGE_V | F_EDGE_V_TOP,
        None => {}
    }
    rec[R_FLAGS] = flags;
    rec[R_W] = f(block.width);
    rec[R_H] = f(block.height);
    rec[R_D] = f(block.depth);
    rec[R_GAIN] = f(block.gain);
    rec[R_DIFFUSE] = f(block.diffuse);
    rec[R_ITEM_GAIN] = f(item_gain);
    rec[R_NZONES] = block.zone_exclusion.len() as u32;
    rec[R_ZONES_OFF] = zones.len() as u32; // relative; made absolute by finish_records
    for z in &block.zone_exclusion {
        match *z {
            Zone::Cartesian {
                min_x,
                max_x,
                min_y,
                max_y,
                min_z,
                max_z,
            } => {
                zones.push(0);
                for v in [min_x, max_x, min_y, max_y, min_z, max_z] {
                    zones.push(f(v));
                }
            }
            Zone::Polar {
                min_elevation,
                max_elevation,
                min_azimuth,
                max_azimuth,
            } => {
                zones.push(1);
                for v in [min_elevation, max_elevation, min_azimuth, max_azimuth, 0.0, 0.0] {
                    zones.push(f(v));
                }
            }
        }
    }
}

/// Whether the GPU computes this block's gains: every Objects block except
/// allocentric extent (a cartesian block with width, height or depth on a
/// layout with allocentric positions) and extent with depth, whose gains the
/// engine and [`super::GpuGains`] take from the CPU's `GainCalc`.
///
/// The kernel implements both, and its mirror matches the CPU on the whole
/// reference set, but Mesa lavapipe 22.3 (LLVM 15) computes them wrong: in
/// an invocation that ran the boundary-term loop of allocentric extent,
/// every later loop ran one iteration (bisected with early returns;
/// splitting the loop, removing early returns and `continue`, moving the
/// arrays to a storage buffer, or a workgroup of one did not help), and
/// polar extent with depth came out wrong on 9+10+3 when run beside other
/// blocks. Until a driver that computes them right can be tested, these
/// blocks are computed on the CPU on every adapter (they are rare: a
/// sized cartesian object, or a polar one with depth).
pub fn on_gpu(block: &ObjectBlock, allocentric_layout: bool) -> bool {
    let sized = block.width != 0.0 || block.height != 0.0 || block.depth != 0.0;
    !(block.cartesian && allocentric_layout && sized) && block.depth == 0.0
}

/// The reference screen's edges for a block context (`None`: invalid screen,
/// screenRef is then ignored, as on the CPU).
pub fn reference_edges(ctx: &ObjectContext) -> Option<PolarEdges> {
    PolarEdges::from_screen(&ctx.reference_screen).ok()
}

/// Records of one pipeline path are padded to a multiple of this many
/// invocations (at least the SIMD width of any CPU Vulkan driver).
pub const PATH_GROUP: usize = 16;

/// Which branches of the pipeline a record takes (cartesian, extent, depth,
/// divergence, zones, channel lock, screen handling).
fn path_key(r: &[u32]) -> u32 {
    let f = r[R_FLAGS];
    let nonzero = |i: usize| (f32::from_bits(r[i]) != 0.0) as u32;
    (f & (F_CART | F_SCREEN_REF | F_CHANNEL_LOCK | F_DIVERGENCE | F_EDGE_H | F_EDGE_V))
        | ((nonzero(R_W) | nonzero(R_H) | nonzero(R_D)) << 10)
        | (nonzero(R_D) << 11)
        | (((r[R_NZONES] > 0) as u32) << 12)
}

/// Lay out the `n` records of `words` for the dispatch and append the zones:
/// records sorted by [`path_key`], each path padded to a multiple of
/// [`PATH_GROUP`] and the whole to a multiple of [`WORKGROUP`] with copies of
/// a neighbouring record that write to `dummy_slot`; zone offsets made
/// absolute. Returns the number of records to dispatch (every invocation
/// computes one).
///
/// Why: GPUs like SIMD lanes on one branch, and Mesa lavapipe 22.3 (LLVM 15)
/// needs it: there, when some lanes of a SIMD group had left the kernel or
/// taken another branch of the pipeline, the lanes still running the
/// allocentric-extent or polar-extent path came back with wrong gains (loops
/// after that path ran one iteration), while the same block with every lane
/// busy was right. Padding with real work keeps every lane of a group on
/// the same path until the end.
pub fn finish_records(words: &mut Vec<u32>, n: usize, zones: &[u32], scratch: &mut Vec<u32>, dummy_slot: u32) -> usize {
    let mut order: Vec<(u32, usize)> = (0..n)
        .map(|i| (path_key(&words[i * REC_WORDS..(i + 1) * REC_WORDS]), i))
        .collect();
    order.sort_unstable();
    scratch.clear();
    let pad = |scratch: &mut Vec<u32>, to: usize| {
        let used = scratch.len() / REC_WORDS;
        if used == 0 {
            return;
        }
        let last = scratch[(used - 1) * REC_WORDS..used * REC_WORDS].to_vec();
        for _ in used..used.next_multiple_of(to) {
            let at = scratch.len();
            scratch.extend_from_slice(&last);
            scratch[at + R_SLOT] = dummy_slot;
        }
    };
    let mut prev = None;
    for &(key, i) in &order {
        if prev.is_some_and(|p| p != key) {
            pad(scratch, PATH_GROUP);
        }
        prev = Some(key);
        scratch.extend_from_slice(&words[i * REC_WORDS..(i + 1) * REC_WORDS]);
    }
    pad(scratch, WORKGROUP as usize);
    let total = scratch.len() / REC_WORDS;
    let base = scratch.len() as u32;
    for r in 0..total {
        scratch[r * REC_WORDS + R_ZONES_OFF] += base;
    }
    scratch.extend_from_slice(zones);
    std::mem::swap(words, scratch);
    total
}

// ---------------------------------------------------------------------------
// The mirror. Function names and loops follow common_geom.wgsl,
// common_tab.wgsl and gains.wgsl one for one.

type V = [f32; 3];
type Arr = [f32; MAXN];
/// Excluded speakers as a bit mask (two words: WGSL has no u64).
type Mask = [u32; 2];

const PI: f32 = std::f32::consts::PI;
const BIG: f32 = 3.0e38;
const FADE: f32 = 10.0 * (PI / 180.0);

fn deg2rad(d: f32) -> f32 {
    d * (PI / 180.0)
}
fn rad2deg(r: f32) -> f32 {
    r * (180.0 / PI)
}
fn dot(a: V, b: V) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
fn length(a: V) -> f32 {
    dot(a, a).sqrt()
}
fn cross(a: V, b: V) -> V {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}
fn add(a: V, b: V) -> V {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}
fn sub(a: V, b: V) -> V {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
fn scale(a: V, s: f32) -> V {
    [a[0] * s, a[1] * s, a[2] * s]
}
fn clamp_v(a: V, lo: f32, hi: f32) -> V {
    [a[0].clamp(lo, hi), a[1].clamp(lo, hi), a[2].clamp(lo, hi)]
}
fn sign(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}
/// The angle between two unit vectors, accurate at 0 and π.
fn angle_between(a: V, b: V) -> f32 {
    length(cross(a, b)).atan2(dot(a, b))
}

fn cart(az: f32, el: f32, d: f32) -> V {
    let a = deg2rad(-az);
    let e = deg2rad(el);
    [a.sin() * e.cos() * d, a.cos() * e.cos() * d, e.sin() * d]
}
fn azimuth(v: V) -> f32 {
    -rad2deg(v[0].atan2(v[1]))
}
fn elevation(v: V) -> f32 {
    rad2deg(v[2].atan2((v[0] * v[0] + v[1] * v[1]).sqrt()))
}
fn relative_angle(x: f32, y0: f32) -> f32 {
    let mut y = y0;
    while y - 360.0 >= x {
        y -= 360.0;
    }
    while y < x {
        y += 360.0;
    }
    y
}
fn inside_angle_range(x0: f32, start: f32, end0: f32, tol: f32) -> bool {
    let mut x = x0;
    let mut end = end0;
    while end - 360.0 > start {
        end -= 360.0;
    }
    while end < start {
        end += 360.0;
    }
    let start_tol = start - tol;
    while x - 360.0 >= start_tol {
        x -= 360.0;
    }
    while x < start_tol {
        x += 360.0;
    }
    x <= end + tol
}
fn local_cs(az: f32, el: f32) -> [V; 3] {
    [cart(az - 90.0, 0.0, 1.0), cart(az, el, 1.0), cart(az, el + 90.0, 1.0)]
}
/// `np.interp` through the first `n` (≤ 5) points (strictly increasing).
fn interp(x: f32, xp: [f32; 5], fp: [f32; 5], n: usize) -> f32 {
    if x < xp[0] {
        return fp[0];
    }
    if x >= xp[n - 1] {
        return fp[n - 1];
    }
    let mut r = fp[0];
    for j in 0..n - 1 {
        if xp[j] <= x && x < xp[j + 1] {
            let slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
            r = slope * (x - xp[j]) + fp[j];
        }
    }
    r
}
fn safe_norm_position(p: V) -> V {
    let n = length(p);
    if n < 1e-10 { [0.0, 1.0, 0.0] } else { scale(p, 1.0 / n) }
}

// ---- BS.2127 §10 conversions (conversion.rs)
const MAP_AZ: [f32; 5] = [0.0, -30.0, -110.0, 110.0, 30.0];
const MAP_X: [f32; 5] = [0.0, 1.0, 1.0, -1.0, -1.0];
const MAP_Y: [f32; 5] = [1.0, 1.0, -1.0, -1.0, 1.0];

fn map_az_to_linear(left_az: f32, right_az: f32, az: f32) -> f32 {
    let mid_az = (left_az + right_az) / 2.0;
    let az_range = right_az - mid_az;
    let rel_az = az - mid_az;
    let gain_r = 0.5 + 0.5 * deg2rad(rel_az).tan() / deg2rad(az_range).tan();
    gain_r.atan2(1.0 - gain_r) * (2.0 / PI)
}
fn map_linear_to_az(left_az: f32, right_az: f32, x: f32) -> f32 {
    let mid_az = (left_az + right_az) / 2.0;
    let az_range = right_az - mid_az;
    let gl = (x * (PI / 2.0)).cos();
    let gr = (x * (PI / 2.0)).sin();
    let gain_r = gr / (gl + gr);
    let rel_az = rad2deg((2.0 * (gain_r - 0.5) * deg2rad(az_range).tan()).atan());
    mid_az + rel_az
}
fn point_polar_to_cart(az: f32, el: f32, d: f32) -> V {
    let z;
    let r_xy;
    if el.abs() > 30.0 {
        let el_tilde = 45.0 + (90.0 - 45.0) * (el.abs() - 30.0) / (90.0 - 30.0);
        z = d * sign(el);
        r_xy = d * deg2rad(90.0 - el_tilde).tan();
    } else {
        let el_tilde = 45.0 * el / 30.0;
        z = deg2rad(el_tilde).tan() * d;
        r_xy = d;
    }
    let mut i = 0;
    let mut j = 1;
    for k in 0..5 {
        let kk = (k + 1) % 5;
        if inside_angle_range(az, MAP_AZ[kk], MAP_AZ[k], 0.0) {
            i = k;
            j = kk;
            break;
        }
    }
    let rel_az = relative_angle(MAP_AZ[j], az);
    let rel_left_az = relative_angle(MAP_AZ[j], MAP_AZ[i]);
    let p = map_az_to_linear(rel_left_az, MAP_AZ[j], rel_az);
    [
        r_xy * (MAP_X[i] + (MAP_X[j] - MAP_X[i]) * p),
        r_xy * (MAP_Y[i] + (MAP_Y[j] - MAP_Y[i]) * p),
        z,
    ]
}
/// (azimuth, elevation, distance).
fn point_cart_to_polar(x: f32, y: f32, z: f32) -> V {
    let eps = 1e-10;
    if x.abs() < eps && y.abs() < eps {
        if z.abs() < eps {
            return [0.0, 0.0, 0.0];
        }
        return [0.0, sign(z) * 90.0, z.abs()];
    }
    let az0 = azimuth([x, y, 0.0]);
    let mut i = 0;
    let mut j = 1;
    for k in 0..5 {
        let kk = (k + 1) % 5;
        let a_j = azimuth([MAP_X[kk], MAP_Y[kk], 0.0]);
        let a_i = azimuth([MAP_X[k], MAP_Y[k], 0.0]);
        if inside_angle_range(az0, a_j, a_i, 0.0) {
            i = k;
            j = kk;
            break;
        }
    }
    let (a, b, c, d) = (MAP_X[i], MAP_Y[i], MAP_X[j], MAP_Y[j]);
    let det = a * d - b * c;
    let g_l = (x * d - y * c) / det;
    let g_r = (-x * b + y * a) / det;
    let r_xy = g_l + g_r;
    let rel_left_az = relative_angle(MAP_AZ[j], MAP_AZ[i]);
    let az = relative_angle(-180.0, map_linear_to_az(rel_left_az, MAP_AZ[j], g_r / r_xy));
    let el_tilde = rad2deg((z / r_xy).atan());
    if el_tilde.abs() > 45.0 {
        let abs_el = 30.0 + (90.0 - 30.0) * (el_tilde.abs() - 45.0) / (90.0 - 45.0);
        [az, sign(el_tilde) * abs_el, z.abs()]
    } else {
        [az, 30.0 * el_tilde / 45.0, r_xy]
    }
}
fn whd2xyz(width: f32, height: f32, depth: f32) -> V {
    let x_size_width = if width < 180.0 { deg2rad(width / 2.0).sin() } else { 1.0 };
    let y_size_width = (1.0 - deg2rad(width / 2.0).cos()) / 2.0;
    let z_size_height = if height < 180.0 {
        deg2rad(height / 2.0).sin()
    } else {
        1.0
    };
    let y_size_height = (1.0 - deg2rad(height / 2.0).cos()) / 2.0;
    [x_size_width, y_size_width.max(y_size_height).max(depth), z_size_height]
}
fn xyz2whd(sx: f32, sy: f32, sz: f32) -> V {
    let width_from_sx = 2.0 * rad2deg(sx.asin());
    let width_from_sy = 2.0 * rad2deg((1.0 - 2.0 * sy).acos());
    let width = width_from_sx + sx * (width_from_sy - width_from_sx).max(0.0);
    let height_from_sz = 2.0 * rad2deg(sz.asin());
    let height_from_sy = 2.0 * rad2deg((1.0 - 2.0 * sy).acos());
    let height = height_from_sz + sz * (height_from_sy - height_from_sz).max(0.0);
    let equiv_y = whd2xyz(width, height, 0.0)[1];
    [width, height, (sy - equiv_y).max(0.0)]
}
/// BS.2127 §10.4 for layouts without allocentric positions: position and
/// sizes (cartesian) → polar position vector and (width, height, depth).
fn extent_cart_to_polar(p: V, xs: f32, ys: f32, zs: f32) -> (V, V) {
    let aed = point_cart_to_polar(p[0], p[1], p[2]);
    let m = local_cs(aed[0], aed[1]);
    // columns of M^T · diag(s): norms of (m[c][0]·xs, m[c][1]·ys, m[c][2]·zs)
    let col = |c: usize| length([m[c][0] * xs, m[c][1] * ys, m[c][2] * zs]);
    let whd = xyz2whd(col(0), col(1), col(2));
    (cart(aed[0], aed[1], aed[2]), whd)
}

// ---- screen (screen.rs)
fn compensate_position(az: f32, el: f32, has_u045: bool) -> (f32, f32) {
    if has_u045 {
        let right_az = interp(
            el,
            [0.0, 30.0, 90.0, 0.0, 0.0],
            [30.0, 30.0 * (30.0 / 45.0), 30.0, 0.0, 0.0],
            3,
        );
        let new_az = interp(
            az,
            [-180.0, -30.0, 30.0, 180.0, 0.0],
            [-180.0, -right_az, right_az, 180.0, 0.0],
            4,
        );
        (new_az, el)
    } else {
        (az, el)
    }
}

// ---------------------------------------------------------------------------
// Table access (common_tab.wgsl)

struct Tab<'a> {
    t: &'a [u32],
}

impl Tab<'_> {
    fn u(&self, i: usize) -> usize {
        self.t[i] as usize
    }
    fn f(&self, i: usize) -> f32 {
        f32::from_bits(self.t[i])
    }
    fn v3(&self, i: usize) -> V {
        [self.f(i), self.f(i + 1), self.f(i + 2)]
    }
    fn n(&self) -> usize {
        self.u(H_N)
    }
}

fn is_ex(m: Mask, i: usize) -> bool {
    (m[i / 32] >> (i % 32)) & 1 != 0
}
fn set_ex(m: &mut Mask, i: usize) {
    m[i / 32] |= 1 << (i % 32);
}

fn normalise(out: &mut Arr, n: usize) {
    let mut s = 0.0;
    for i in 0..n {
        s += out[i] * out[i];
    }
    let nn = s.sqrt();
    if nn > 0.0 {
        for i in 0..n {
            out[i] /= nn;
        }
    }
}
fn safe_normalise(out: &mut Arr, n: usize) {
    let mut s = 0.0;
    for i in 0..n {
        s += out[i] * out[i];
    }
    let nn = s.sqrt();
    for i in 0..n {
        out[i] = if nn > 1e-16 { out[i] / nn } else { 0.0 };
    }
}

/// `p · B` for the 3×3 basis at `o`.
fn vec_mat(tab: &Tab, p: V, o: usize) -> V {
    let r0 = tab.v3(o);
    let r1 = tab.v3(o + 3);
    let r2 = tab.v3(o + 6);
    [
        p[0] * r0[0] + p[1] * r1[0] + p[2] * r2[0],
        p[0] * r0[1] + p[1] * r1[1] + p[2] * r2[1],
        p[0] * r0[2] + p[1] * r1[2] + p[2] * r2[2],
    ]
}

/// VBAP triplet gains (normalised, clipped) or `None` outside.
fn triplet(tab: &Tab, p: V, o: usize) -> Option<V> {
    let pv = vec_mat(tab, p, o);
    let eps = -REGION_EPS;
    if pv[0] >= eps && pv[1] >= eps && pv[2] >= eps {
        let n = length(pv);
        Some([
            (pv[0] / n).clamp(0.0, 1.0),
            (pv[1] / n).clamp(0.0, 1.0),
            (pv[2] / n).clamp(0.0, 1.0),
        ])
    } else {
        None
    }
}

/// The root of c2·t² + c1·t + c0 in [0, 1] (point_source.rs `quad_root`), or −1.
fn quad_root(c2: f32, c1: f32, c0: f32) -> f32 {
    let eps = REGION_EPS;
    let mut r0 = 0.0;
    let mut r1 = 0.0;
    let mut n_roots = 0;
    if c2 == 0.0 {
        if c1 == 0.0 {
            return -1.0;
        }
        r0 = -c0 / c1;
        n_roots = 1;
    } else {
        let disc = c1 * c1 - 4.0 * c2 * c0;
        if disc < 0.0 {
            let imag = (-disc).sqrt() / (2.0 * c2.abs());
            if imag < eps {
                r0 = -c1 / (2.0 * c2);
                n_roots = 1;
            }
        } else {
            let s = disc.sqrt();
            let q = -0.5 * (c1 + if c1 >= 0.0 { s } else { -s });
            if q != 0.0 {
                r0 = q / c2;
                r1 = c0 / q;
            }
            n_roots = 2;
        }
    }
    if n_roots >= 1 && -eps < r0 && r0 < 1.0 + eps {
        return r0.clamp(0.0, 1.0);
    }
    if n_roots >= 2 && -eps < r1 && r1 < 1.0 + eps {
        return r1.clamp(0.0, 1.0);
    }
    -1.0
}

/// Gains of the full region list at `ro` (`nr` regions) into `out[..nch]`.
fn psp_regions(tab: &Tab, p: V, ro: usize, nr: usize, nch: usize, out: &mut Arr) -> bool {
    let mut r = ro;
    for _ in 0..nr {
        let kind = tab.t[r];
        if kind == REGION_TRIPLET {
            if let Some(g) = triplet(tab, p, r + 4) {
                out[..nch].fill(0.0);
                for k in 0..3 {
                    out[tab.u(r + 1 + k)] += g[k];
                }
                normalise(out, nch);
                return true;
            }
            r += 13;
        } else if kind == REGION_QUAD {
            let px = r + 21;
            let py = r + 30;
            let x = quad_root(dot(tab.v3(px), p), dot(tab.v3(px + 3), p), dot(tab.v3(px + 6), p));
            let y = quad_root(dot(tab.v3(py), p), dot(tab.v3(py + 3), p), dot(tab.v3(py + 6), p));
            if x >= 0.0 && y >= 0.0 {
                let vals = [(1.0 - x) * (1.0 - y), x * (1.0 - y), x * y, (1.0 - x) * y];
                let mut g = [0.0f32; 4];
                for k in 0..4 {
                    g[tab.u(r + 17 + k)] = vals[k];
                }
                let mut v = [0.0f32; 3];
                for k in 0..4 {
                    v = add(v, scale(tab.v3(r + 5 + 3 * k), g[k]));
                }
                if dot(v, p) > 0.0 {
                    let gn = (g[0] * g[0] + g[1] * g[1] + g[2] * g[2] + g[3] * g[3]).sqrt();
                    out[..nch].fill(0.0);
                    for k in 0..4 {
                        out[tab.u(r + 1 + k)] += g[k] / gn;
                    }
                    normalise(out, nch);
                    return true;
                }
            }
            r += 39;
        } else {
            let nv = tab.u(r + 1);
            let cd = tab.f(r + 2);
            let chans = r + 3;
            let tris = r + 3 + nv;
            for i in 0..nv {
                let t = tris + 11 * i;
                if let Some(g) = triplet(tab, p, t + 2) {
                    let a = tab.u(t);
                    let b = tab.u(t + 1);
                    let c = g[2] * cd;
                    let mut s = 0.0;
                    for k in 0..nv {
                        let mut l = c;
                        if k == a {
                            l += g[0];
                        }
                        if k == b {
                            l += g[1];
                        }
                        s += l * l;
                    }
                    let nn = s.sqrt();
                    out[..nch].fill(0.0);
                    for k in 0..nv {
                        let mut l = c;
                        if k == a {
                            l += g[0];
                        }
                        if k == b {
                            l += g[1];
                        }
                        out[tab.u(chans + k)] += l / nn;
                    }
                    normalise(out, nch);
                    return true;
                }
            }
            r += 3 + 12 * nv;
        }
    }
    false
}

/// Point-source gains for direction `p` into `out[..n]`.
fn psp(tab: &Tab, p: V, out: &mut Arr) -> bool {
    let n = tab.n();
    let kind = tab.t[H_PSP_KIND];
    let ro = tab.u(H_REGIONS_OFF);
    let nr = tab.u(H_NREGIONS);
    if kind == PSP_MONO {
        out[0] = 1.0;
        return true;
    }
    if kind == PSP_FULL {
        return psp_regions(tab, p, ro, nr, n, out);
    }
    // 0+2+0: pan on 0+5+0 (M+030 M-030 M+000 M+110 M-110), downmix.
    let mut pv = [0.0f32; MAXN];
    if !psp_regions(tab, p, ro, nr, 5, &mut pv) {
        return false;
    }
    let c = 3f32.sqrt() / 3.0;
    let s = 0.5f32.sqrt();
    let mut l = pv[0] + c * pv[2] + s * pv[3];
    let mut r = pv[1] + c * pv[2] + s * pv[4];
    let nn = (l * l + r * r).sqrt();
    l /= nn;
    r /= nn;
    let front = pv[0].max(pv[1]).max(pv[2]);
    let back = pv[3].max(pv[4]);
    let g = 0.5f32.powf(0.5 * back / (front + back));
    out[0] = 0.0;
    out[1] = 0.0;
    out[tab.u(H_STEREO_L)] = l * g;
    out[tab.u(H_STEREO_R)] = r * g;
    true
}

// ---- polar extent (extent.rs)

struct WeightFunc {
    basis: [V; 3],
    circle_radius: f32,
    cos_circle_pos: f32,
    centres: [V; 2],
    /// sin/cos of the inside and outside bounds (R, R + fade), for the cheap tests.
    sin_in: f32,
    sin_out: f32,
    cos_in: f32,
    cos_out: f32,
}

fn calc_basis(pos: V) -> [V; 3] {
    let p = safe_norm_position(pos);
    let mut az = azimuth(p);
    let el = elevation(p);
    if el.abs() > 90.0 - 1e-5 {
        az = 0.0;
    }
    local_cs(az, el)
}

fn weight_func(position: V, width_deg: f32, height_deg: f32) -> WeightFunc {
    let mut width = deg2rad(width_deg) / 2.0;
    let mut height = deg2rad(height_deg) / 2.0;
    let b = calc_basis(position);
    let circle_radius = width.min(height);
    let mut basis = b;
    if height > width {
        std::mem::swap(&mut width, &mut height);
        basis = [b[2], b[1], b[0]];
    }
    let width_full = PI + height;
    let width_mod = interp(
        width,
        [0.0, PI / 2.0, PI, 0.0, 0.0],
        [0.0, PI / 2.0, width_full, 0.0, 0.0],
        3,
    );
    let width2 = interp(
        height,
        [0.0, PI / 4.0, PI / 2.0, PI, 0.0],
        [width_mod, width_mod, width, width, 0.0],
        4,
    );
    let circle_pos = width2 - circle_radius;
    let on_basis = |az: f32| -> V {
        add(
            add(scale(basis[0], az.sin()), scale(basis[1], az.cos())),
            scale(basis[2], 0.0),
        )
    };
    let r_out = circle_radius + FADE;
    WeightFunc {
        basis,
        circle_radius,
        cos_circle_pos: if circle_pos >= PI { -2.0 } else { circle_pos.cos() },
        centres: [on_basis(-circle_pos), on_basis(circle_pos)],
        sin_in: if circle_radius < PI / 2.0 {
            circle_radius.sin()
        } else {
            2.0
        },
        sin_out: if r_out < PI / 2.0 { r_out.sin() } else { 2.0 },
        cos_in: circle_radius.cos(),
        cos_out: if r_out < PI { r_out.cos() } else { -2.0 },
    }
}

/// ear's weight of grid direction `v` (1 inside the shape, fading to 0 over 10°).
fn weight(wf: &WeightFunc, v: V) -> f32 {
    // One exit, no early returns: the cheap cosine tests decide 1 or 0,
    // otherwise the angle to the shape's edge does.
    let c0 = dot(v, wf.basis[0]).clamp(-1.0, 1.0);
    let c1 = dot(v, wf.basis[1]).clamp(-1.0, 1.0);
    let c2 = dot(v, wf.basis[2]).clamp(-1.0, 1.0);
    let rho = (c0 * c0 + c1 * c1).sqrt();
    let flat = c1 >= rho * wf.cos_circle_pos;
    let s = c2.abs();
    let c = dot(v, wf.centres[0]).max(dot(v, wf.centres[1]));
    let inside = if flat { s <= wf.sin_in } else { c >= wf.cos_in };
    let outside = if flat { s >= wf.sin_out } else { c <= wf.cos_out };
    let mut w = 0.0;
    if inside {
        w = 1.0;
    } else if !outside {
        let mut distance = if flat {
            s.atan2(rho) - wf.circle_radius
        } else {
            angle_between(v, wf.centres[0]).min(angle_between(v, wf.centres[1])) - wf.circle_radius
        };
        distance = distance.max(0.0);
        if distance < FADE {
            w = 1.0 - distance / FADE;
        }
    }
    w
}

fn extent_mod(extent: f32, distance: f32) -> f32 {
    let size = interp(extent, [0.0, 360.0, 0.0, 0.0, 0.0], [0.2, 1.0, 0.0, 0.0, 0.0], 2);
    let extent_1 = 4.0 * rad2deg(size.atan2(1.0));
    interp(
        4.0 * rad2deg(size.atan2(distance)),
        [0.0, extent_1, 360.0, 0.0, 0.0],
        [0.0, extent, 360.0, 0.0, 0.0],
        3,
    )
}

fn pv_spread(tab: &Tab, position: V, width: f32, height: f32, out: &mut Arr) {
    let n = tab.n();
    let amount_spread = interp(
        width.max(height),
        [0.0, 10.0, 0.0, 0.0, 0.0],
        [0.0, 1.0, 0.0, 0.0, 0.0],
        2,
    );
    let amount_point = 1.0 - amount_spread;
    out[..n].fill(0.0);
    if amount_point > 1e-10 {
        let mut g = [0.0f32; MAXN];
        psp(tab, position, &mut g);
        for c in 0..n {
            out[c] += amount_point * g[c] * g[c];
        }
    }
    if amount_spread > 1e-10 {
        let wf = weight_func(position, width.max(5.0), height.max(5.0));
        let mut total = [0.0f32; MAXN];
        let np = tab.u(H_GRID_N);
        let po = tab.u(H_GRID_PTS_OFF);
        let go = tab.u(H_GRID_GAINS_OFF);
        for i in 0..np {
            let w = weight(&wf, tab.v3(po + 3 * i));
            if w != 0.0 {
                for c in 0..n {
                    total[c] += w * tab.f(go + i * n + c);
                }
            }
        }
        let mut s = 0.0;
        for c in 0..n {
            s += total[c] * total[c];
        }
        let nn = s.sqrt();
        for c in 0..n {
            let t = total[c] / nn;
            out[c] += amount_spread * t * t;
        }
    }
    for c in 0..n {
        out[c] = out[c].sqrt();
    }
}

fn polar_extent(tab: &Tab, position: V, width: f32, height: f32, depth: f32, out: &mut Arr) {
    // one pv_spread call site: depth ≠ 0 averages the powers at two distances
    let n = tab.n();
    let distance = length(position);
    let mut a = [0.0f32; MAXN];
    let mut nd = 1;
    let mut d = distance;
    if depth != 0.0 {
        nd = 2;
        d = (distance + depth / 2.0).max(0.0);
    }
    out[..n].fill(0.0);
    for _ in 0..nd {
        pv_spread(tab, position, extent_mod(width, d), extent_mod(height, d), &mut a);
        for c in 0..n {
            out[c] += a[c] * a[c];
        }
        d = (distance - depth / 2.0).max(0.0);
    }
    for c in 0..n {
        out[c] = (out[c] / nd as f32).sqrt();
    }
}

// ---- allocentric (allocentric.rs), over the speakers not in `ex`

fn balance(lo: f32, hi: f32, v: f32) -> [f32; 2] {
    if lo == hi {
        return [1.0, 1.0];
    }
    if v <= lo {
        [0.0, 1.0]
    } else if v >= hi {
        [1.0, 0.0]
    } else {
        let a = (v - lo) / (hi - lo) * (PI / 2.0);
        [a.cos(), a.sin()]
    }
}

/// Which speakers an allocentric bracket search looks at: every included
/// speaker (`level` 0), those in plane z (1), those in row (y, z) (2).
fn allo_member(tab: &Tab, i: usize, ex: Mask, level: u32, y: f32, z: f32) -> bool {
    if is_ex(ex, i) {
        return false;
    }
    let p = tab.v3(tab.u(H_ALLO_POS_OFF) + 3 * i);
    (level < 1 || p[2] == z) && (level < 2 || p[1] == y)
}

/// ear's plane/row/column search: (largest value ≤ v, else the smallest;
/// smallest ≥ v, else the largest) among the members' `axis` coordinates.
fn allo_bracket(tab: &Tab, ex: Mask, level: u32, y: f32, z: f32, axis: usize, v: f32) -> [f32; 2] {
    let n = tab.n();
    let po = tab.u(H_ALLO_POS_OFF);
    let mut lo = BIG;
    let mut hi = -BIG;
    let mut has_lo = false;
    let mut has_hi = false;
    let mut mn = BIG;
    let mut mx = -BIG;
    for i in 0..n {
        if allo_member(tab, i, ex, level, y, z) {
            let c = tab.f(po + 3 * i + axis);
            mn = mn.min(c);
            mx = mx.max(c);
            if c <= v {
                lo = if has_lo { lo.max(c) } else { c };
                has_lo = true;
            }
            if c >= v {
                hi = if has_hi { hi.min(c) } else { c };
                has_hi = true;
            }
        }
    }
    [if has_lo { lo } else { mn }, if has_hi { hi } else { mx }]
}

fn allo_point(tab: &Tab, p: V, ex: Mask, out: &mut Arr) {
    let n = tab.n();
    let po = tab.u(H_ALLO_POS_OFF);
    out[..n].fill(0.0);
    let zb = allo_bracket(tab, ex, 0, 0.0, 0.0, 2, p[2]);
    let zg = balance(zb[0], zb[1], p[2]);
    for zi in 0..2 {
        let zv = zb[zi];
        let yb = allo_bracket(tab, ex, 1, 0.0, zv, 1, p[1]);
        let yg = balance(yb[0], yb[1], p[1]);
        for yi in 0..2 {
            let yv = yb[yi];
            let xb = allo_bracket(tab, ex, 2, yv, zv, 0, p[0]);
            let xg = balance(xb[0], xb[1], p[0]);
            for xi in 0..2 {
                for i in 0..n {
                    if allo_member(tab, i, ex, 2, yv, zv) && tab.f(po + 3 * i) == xb[xi] {
                        out[i] = zg[zi] * yg[yi] * xg[xi];
                    }
                }
            }
        }
    }
}

/// ear `_calc_g_point_separated` for speaker c along `axis` at value v.
fn g_point_axis(tab: &Tab, c: usize, axis: usize, v: f32, ex: Mask) -> f32 {
    let n = tab.n();
    let po = tab.u(H_ALLO_POS_OFF);
    let pc = tab.v3(po + 3 * c);
    let level = 2 - axis as u32;
    let mut lo = 0.0f32;
    let mut hi = 0.0f32;
    let mut has_lo = false;
    let mut has_hi = false;
    for i in 0..n {
        if allo_member(tab, i, ex, level, pc[1], pc[2]) {
            let s = tab.f(po + 3 * i + axis);
            if s <= v {
                lo = if has_lo { lo.max(s) } else { s };
                has_lo = true;
            }
            if s >= v {
                hi = if has_hi { hi.min(s) } else { s };
                has_hi = true;
            }
        }
    }
    let pos = pc[axis];
    if !has_lo && !has_hi {
        return 0.0;
    }
    if !has_lo {
        return if pos != hi { 0.0 } else { 1.0 };
    }
    if !has_hi {
        return if pos != lo { 0.0 } else { 1.0 };
    }
    if lo <= pos && pos <= hi {
        if lo == hi {
            1.0
        } else if lo == pos {
            ((v - lo) / (hi - lo) * (PI / 2.0)).cos()
        } else {
            ((v - lo) / (hi - lo) * (PI / 2.0)).sin()
        }
    } else {
        0.0
    }
}

fn scale_size(v: f32) -> f32 {
    interp(v.min(1.0), [0.0, 0.2, 0.5, 0.75, 1.0], [0.0, 0.3, 1.0, 1.8, 2.8], 5)
}

fn pow_pos(x: f32, p: f32) -> f32 {
    if x <= 0.0 { 0.0 } else { x.powf(p) }
}

fn allo_extent(tab: &Tab, position: V, size_x: f32, size_y: f32, size_z: f32, ex: Mask, out: &mut Arr) {
    let n = tab.n();
    let po = tab.u(H_ALLO_POS_OFF);
    // layout shape over the included speakers
    let mut first = usize::MAX;
    let mut nz_distinct = 0;
    let mut var = [false; 3];
    let mut same_yz = true;
    let mut same_z = true;
    for i in 0..n {
        if is_ex(ex, i) {
            continue;
        }
        let p = tab.v3(po + 3 * i);
        if first == usize::MAX {
            first = i;
        }
        let f0 = tab.v3(po + 3 * first);
        for a in 0..3 {
            var[a] |= p[a] != f0[a];
        }
        same_yz &= p[1] == f0[1] && p[2] == f0[2];
        same_z &= p[2] == f0[2];
        let mut seen = false;
        for j in 0..i {
            if !is_ex(ex, j) && tab.f(po + 3 * j + 2) == p[2] {
                seen = true;
            }
        }
        if !seen {
            nz_distinct += 1;
        }
    }
    let full_z = nz_distinct >= 3;
    let dim = var[0] as u32 + var[1] as u32 + var[2] as u32;
    let lin40 = tab.u(H_LIN40_OFF);
    let zgrid = if full_z { lin40 } else { tab.u(H_LIN20_OFF) };
    let nx = 40usize;
    let nz = if full_z { 40usize } else { 20usize };
    let xo = position[0];
    let yo = position[1];
    let zo = if full_z { position[2] } else { position[2].max(0.0) };
    let sx = scale_size(size_x).max(2.0 / (nx - 1) as f32);
    let sy = scale_size(size_y).max(2.0 / (nx - 1) as f32);
    let sz = scale_size(size_z).max(2.0 / (nz - 1) as f32);
    let s_eff = if same_yz {
        sx
    } else if same_z {
        0.75 * sx.max(sy) + 0.25 * sx.min(sy)
    } else {
        let lo = sx.min(sy).min(sz);
        let hi = sx.max(sy).max(sz);
        let mid = sx + sy + sz - lo - hi;
        (6.0 / 9.0) * hi + (2.0 / 9.0) * mid + (1.0 / 9.0) * lo
    };
    let p = if s_eff <= 0.5 {
        6.0
    } else {
        6.0 - 4.0 * ((s_eff - 0.5) / (2.8 - 0.5))
    };
    // ear's `_dim` cases 1 and 2; anything else (3, or 0 for one speaker) as 3
    let mut d_bound = (xo + 1.0).min(1.0 - xo);
    if dim != 1 {
        d_bound = d_bound.min(yo + 1.0).min(1.0 - yo);
    }
    if dim != 1 && dim != 2 {
        d_bound = d_bound.min(zo + 1.0).min(1.0 - zo);
    }
    let h = |s: f32| -> f32 {
        if d_bound >= 2.0 * s && d_bound >= 0.4 {
            let nn = (2.0 * s).max(0.4);
            pow_pos(nn * nn * nn / (0.16 * 2.0 * s), 1.0 / 3.0)
        } else {
            let a = d_bound / 0.4;
            pow_pos(d_bound / 2.0 * (a * a), 1.0 / 3.0)
        }
    };
    let mu = if dim == 1 {
        let v = h(sx);
        v * v * v
    } else if dim == 2 {
        pow_pos(h(sx) * h(sy), 1.5)
    } else {
        h(sx) * h(sy) * h(sz)
    };
    let mut wx = [0.0f32; 40];
    let mut wy = [0.0f32; 40];
    let mut wz = [0.0f32; 40];
    for i in 0..nx {
        let v = tab.f(lin40 + i);
        let tx = 1.5 * (v - xo) / (2.0 * sx);
        wx[i] = 10f32.powf(-(tx * tx * tx * tx).min(6.5));
        let ty = 1.5 * (v - yo) / (2.0 * sy);
        wy[i] = 10f32.powf(-(ty * ty * ty * ty).min(6.5));
    }
    for i in 0..nz {
        let v = tab.f(zgrid + i);
        let tz = 1.5 * (v - zo) / sz;
        wz[i] = 10f32.powf(-(tz * tz * tz * tz).min(6.5)) * (v * PI * (3.0 / 7.0)).cos();
    }
    let mut g_inside = [0.0f32; MAXN];
    let mut g_size = [0.0f32; MAXN];
    let mut fx = [0.0f32; MAXN];
    let mut fy = [0.0f32; MAXN];
    let mut fz = [0.0f32; MAXN];
    let lim = 3.162_277_660_168_379e-7f32;
    for c in 0..n {
        if is_ex(ex, c) {
            continue;
        }
        let mut sxs = 0.0;
        let mut sys = 0.0;
        for i in 0..nx {
            let v = tab.f(lin40 + i);
            sxs += pow_pos(g_point_axis(tab, c, 0, v, ex) * wx[i], p);
            sys += pow_pos(g_point_axis(tab, c, 1, v, ex) * wy[i], p);
        }
        let mut szs = 0.0;
        for i in 0..nz {
            szs += pow_pos(g_point_axis(tab, c, 2, tab.f(zgrid + i), ex) * wz[i], p);
        }
        fx[c] = if sxs < lim { 0.0 } else { sxs };
        fy[c] = if sys < lim { 0.0 } else { sys };
        fz[c] = if szs < lim { 0.0 } else { szs };
        g_inside[c] = fx[c] * fy[c] * fz[c];
    }
    safe_normalise(&mut g_inside, n);
    for c in 0..n {
        if is_ex(ex, c) {
            continue;
        }
        let b_floor = pow_pos(g_point_axis(tab, c, 2, tab.f(zgrid), ex) * wz[0], p);
        let b_ceil = pow_pos(g_point_axis(tab, c, 2, tab.f(zgrid + nz - 1), ex) * wz[nz - 1], p);
        let b_left = pow_pos(g_point_axis(tab, c, 0, tab.f(lin40), ex) * wx[0], p);
        let b_right = pow_pos(g_point_axis(tab, c, 0, tab.f(lin40 + nx - 1), ex) * wx[nx - 1], p);
        let b_front = pow_pos(g_point_axis(tab, c, 1, tab.f(lin40), ex) * wy[0], p);
        let b_back = pow_pos(g_point_axis(tab, c, 1, tab.f(lin40 + nx - 1), ex) * wy[nx - 1], p);
        let g_bound = b_left * fy[c] * fz[c]
            + b_right * fy[c] * fz[c]
            + fx[c] * b_front * fz[c]
            + fx[c] * b_back * fz[c]
            + fx[c] * fy[c] * b_ceil
            + fx[c] * fy[c] * b_floor;
        g_size[c] = pow_pos(g_bound + mu * g_inside[c], 1.0 / p);
    }
    safe_normalise(&mut g_size, n);
    let s_fade = 0.2;
    let mut alpha = 0.0;
    let mut beta = 1.0;
    if s_eff < s_fade {
        alpha = (s_eff * PI / (s_fade * 2.0)).cos();
        beta = (s_eff * PI / (s_fade * 2.0)).sin();
    }
    for c in 0..n {
        if is_ex(ex, c) {
            out[c] = 0.0;
            continue;
        }
        let gp = g_point_axis(tab, c, 0, xo, ex) * g_point_axis(tab, c, 1, yo, ex) * g_point_axis(tab, c, 2, zo, ex);
        out[c] = alpha * gp + beta * g_size[c];
    }
    safe_normalise(out, n);
}

// ---- channel lock, zones, divergence (gain_calc.rs, zone.rs)

fn channel_lock(tab: &Tab, position: V, has_maxd: bool, maxd: f32, ex: Mask, allo: bool) -> V {
    let n = tab.n();
    let po = if allo {
        tab.u(H_ALLO_POS_OFF)
    } else {
        tab.u(H_EGO_POS_OFF)
    };
    let pr = if allo {
        tab.u(H_ALLO_PRIO_OFF)
    } else {
        tab.u(H_EGO_PRIO_OFF)
    };
    let tol = 1e-5;
    let mut min = BIG;
    let mut any = false;
    for i in 0..n {
        let c = tab.v3(po + 3 * i);
        let d = sub(position, c);
        if is_ex(ex, i) || (has_maxd && length(d) >= maxd + tol) {
            continue;
        }
        any = true;
        let w = if allo {
            (d[0] * d[0] / 16.0 + 4.0 * d[1] * d[1] + 32.0 * d[2] * d[2]).sqrt()
        } else {
            length(d)
        };
        min = min.min(w);
    }
    if !any {
        return position;
    }
    let mut best = usize::MAX;
    for i in 0..n {
        let c = tab.v3(po + 3 * i);
        let d = sub(position, c);
        if is_ex(ex, i) || (has_maxd && length(d) >= maxd + tol) {
            continue;
        }
        let w = if allo {
            (d[0] * d[0] / 16.0 + 4.0 * d[1] * d[1] + 32.0 * d[2] * d[2]).sqrt()
        } else {
            length(d)
        };
        if w < min + tol && (best == usize::MAX || tab.u(pr + i) < tab.u(pr + best)) {
            best = i;
        }
    }
    tab.v3(po + 3 * best)
}

fn zone_excluded(tab: &Tab, rec: &[u32], zo: usize, nz: usize) -> Mask {
    let n = tab.n();
    let eps = 1e-6;
    let mut m: Mask = [0, 0];
    let zf = |i: usize| f32::from_bits(rec[i]);
    for z in 0..nz {
        let b = zo + z * ZONE_WORDS;
        for i in 0..n {
            let hit = if rec[b] == 0 {
                let p = tab.v3(tab.u(H_ZONE_POS_OFF) + 3 * i);
                p[0] - eps < zf(b + 2)
                    && p[1] - eps < zf(b + 4)
                    && p[2] - eps < zf(b + 6)
                    && p[0] + eps > zf(b + 1)
                    && p[1] + eps > zf(b + 3)
                    && p[2] + eps > zf(b + 5)
            } else {
                let el = tab.f(tab.u(H_ZONE_EL_OFF) + i);
                let az = tab.f(tab.u(H_ZONE_AZ_OFF) + i);
                let e = ZONE_EPS_DEG;
                el - e < zf(b + 2)
                    && el + e > zf(b + 1)
                    && (el.abs() > 90.0 - e || inside_angle_range(az, zf(b + 3), zf(b + 4), e))
            };
            if hit {
                set_ex(&mut m, i);
            }
        }
    }
    m
}

fn zone_apply(tab: &Tab, gains: &mut Arr, ex: Mask) {
    let n = tab.n();
    let mut count = 0;
    for i in 0..n {
        if is_ex(ex, i) {
            count += 1;
        }
    }
    if count == 0 || count == n {
        return;
    }
    let mut acc = [0.0f32; MAXN];
    let go = tab.u(H_ZONE_GROUPS_OFF);
    for i in 0..n {
        let gi2 = gains[i] * gains[i];
        let mut g = tab.u(go + i);
        let ng = tab.u(g);
        g += 1;
        for _ in 0..ng {
            let len = tab.u(g);
            let mut remaining = 0;
            for k in 0..len {
                if !is_ex(ex, tab.u(g + 1 + k)) {
                    remaining += 1;
                }
            }
            if remaining > 0 {
                let c = 1.0 / remaining as f32;
                for k in 0..len {
                    let j = tab.u(g + 1 + k);
                    if !is_ex(ex, j) {
                        acc[j] += gi2 * c;
                    }
                }
                break;
            }
            g += 1 + len;
        }
    }
    for j in 0..n {
        gains[j] = acc[j].sqrt();
    }
}

fn widen_exclusion(tab: &Tab, ex: Mask) -> Mask {
    let n = tab.n();
    let po = tab.u(H_ALLO_POS_OFF);
    let mut m = ex;
    for i in 0..n {
        let c = tab.v3(po + 3 * i);
        if is_ex(ex, i) && c[0].abs() == 1.0 && c[1].abs() != 1.0 {
            for k in 0..n {
                let c2 = tab.v3(po + 3 * k);
                if c2[1] == c[1] && c2[2] == c[2] {
                    set_ex(&mut m, k);
                }
            }
        }
    }
    let mut all = true;
    for i in 0..n {
        all &= is_ex(m, i);
    }
    if all { [0, 0] } else { m }
}

/// Gains of one record into its slot of `gains`.
fn calc(tab: &Tab, recs: &[u32], r: usize, stride: usize, gains: &mut [f32]) {
    let rec = &recs[r * REC_WORDS..(r + 1) * REC_WORDS];
    let rf = |i: usize| f32::from_bits(rec[i]);
    let n = tab.n();
    let n_out = tab.u(H_NOUT);
    let flags = rec[R_FLAGS];
    let mut cartesian = flags & F_CART != 0;
    let has_u045 = tab.t[H_HAS_U045] != 0;
    let rep_ok = tab.t[H_REP_OK] != 0;
    let rep = [
        tab.f(H_REP_EDGES),
        tab.f(H_REP_EDGES + 1),
        tab.f(H_REP_EDGES + 2),
        tab.f(H_REP_EDGES + 3),
    ];

    // coordinates
    let mut position = if flags & 0x8000_0000 != 0 {
        clamp_v([rf(R_POS), rf(R_POS + 1), rf(R_POS + 2)], -1.0, 1.0)
    } else {
        cart(rf(R_POS), rf(R_POS + 1), rf(R_POS + 2))
    };
    // screen scale (screenRef)
    if flags & F_SCREEN_REF != 0 && rep_ok {
        let rf4 = [
            rf(R_REF_EDGES),
            rf(R_REF_EDGES + 1),
            rf(R_REF_EDGES + 2),
            rf(R_REF_EDGES + 3),
        ];
        let scale_az_el = |az: f32, el: f32| -> (f32, f32) {
            (
                interp(
                    az,
                    [-180.0, rf4[1], rf4[0], 180.0, 0.0],
                    [-180.0, rep[1], rep[0], 180.0, 0.0],
                    4,
                ),
                interp(
                    el,
                    [-90.0, rf4[2], rf4[3], 90.0, 0.0],
                    [-90.0, rep[2], rep[3], 90.0, 0.0],
                    4,
                ),
            )
        };
        if cartesian {
            let aed = point_cart_to_polar(position[0], position[1], position[2]);
            let (saz, sel) = scale_az_el(aed[0], aed[1]);
            let (caz, cel) = compensate_position(saz, sel, has_u045);
            position = point_polar_to_cart(caz, cel, aed[2]);
        } else {
            let (naz, nel) = scale_az_el(azimuth(position), elevation(position));
            position = cart(naz, nel, length(position));
        }
    }
    // screen edge lock
    if flags & (F_EDGE_H | F_EDGE_V) != 0 && rep_ok {
        let lock = |mut az: f32, mut el: f32| -> (f32, f32) {
            if flags & F_EDGE_H != 0 {
                az = if flags & F_EDGE_H_RIGHT != 0 { rep[1] } else { rep[0] };
            }
            if flags & F_EDGE_V != 0 {
                el = if flags & F_EDGE_V_TOP != 0 { rep[3] } else { rep[2] };
            }
            (az, el)
        };
        if cartesian {
            let aed = point_cart_to_polar(position[0], position[1], position[2]);
            let (naz, nel) = lock(aed[0], aed[1]);
            let (caz, cel) = compensate_position(naz, nel, has_u045);
            position = point_polar_to_cart(caz, cel, aed[2]);
        } else {
            let (naz, nel) = lock(azimuth(position), elevation(position));
            position = cart(naz, nel, length(position));
        }
    }
    let mut width = rf(R_W);
    let mut height = rf(R_H);
    let mut depth = rf(R_D);
    if cartesian && tab.t[H_ALLO] == 0 {
        let (p, whd) = extent_cart_to_polar(position, width, depth, height);
        position = p;
        width = whd[0];
        height = whd[1];
        depth = whd[2];
        cartesian = false;
    }

    // divergence
    let div = flags & F_DIVERGENCE != 0;
    let ndiv = if div { 3 } else { 1 };
    let value = rf(R_DIV_VALUE);
    let g_lr = value / (value + 1.0);
    let g_c = (1.0 - value) / (value + 1.0);
    let div_gains = if div { [g_lr, g_c, g_lr] } else { [1.0, 0.0, 0.0] };

    let mut g = [0.0f32; MAXN];
    let mut pv = [0.0f32; MAXN];
    let nz = rec[R_NZONES] as usize;
    let zo = rec[R_ZONES_OFF] as usize;
    let has_maxd = flags & F_CL_MAXD != 0;
    if cartesian {
        let ex = widen_exclusion(tab, zone_excluded(tab, recs, zo, nz));
        if flags & F_CHANNEL_LOCK != 0 {
            position = channel_lock(tab, position, has_maxd, rf(R_CL_MAXD), ex, true);
        }
        let r = rf(R_DIV_POSR);
        let dpos = if div {
            [
                clamp_v([position[0] + r, position[1], position[2]], -1.0, 1.0),
                clamp_v(position, -1.0, 1.0),
                clamp_v([position[0] - r, position[1], position[2]], -1.0, 1.0),
            ]
        } else {
            [position, position, position]
        };
        for k in 0..ndiv {
            if width == 0.0 && height == 0.0 && depth == 0.0 {
                allo_point(tab, dpos[k], ex, &mut pv);
            } else {
                allo_extent(tab, dpos[k], width, height, depth, ex, &mut pv);
            }
            for i in 0..n {
                g[i] += div_gains[k] * pv[i] * pv[i];
            }
        }
        for i in 0..n {
            g[i] = g[i].sqrt();
        }
    } else {
        if flags & F_CHANNEL_LOCK != 0 {
            position = channel_lock(tab, position, has_maxd, rf(R_CL_MAXD), [0, 0], false);
        }
        let mut dpos = [position, position, position];
        if div {
            let azr = rf(R_DIV_AZR);
            let distance = length(position);
            let pl = cart(azr, 0.0, distance);
            let pr = cart(-azr, 0.0, distance);
            let l = local_cs(azimuth(position), elevation(position));
            let rot = |v: V| -> V {
                [
                    l[0][0] * v[0] + l[1][0] * v[1] + l[2][0] * v[2],
                    l[0][1] * v[0] + l[1][1] * v[1] + l[2][1] * v[2],
                    l[0][2] * v[0] + l[1][2] * v[1] + l[2][2] * v[2],
                ]
            };
            dpos = [rot(pl), position, rot(pr)];
        }
        let no_size = width == 0.0 && height == 0.0 && depth == 0.0;
        let needs_extent = !no_size || (length(position) - 1.0).abs() > DIST_TOL;
        for k in 0..ndiv {
            let p = dpos[k];
            if !needs_extent || (no_size && (length(p) - 1.0).abs() <= DIST_TOL) {
                pv[..n].fill(0.0);
                psp(tab, p, &mut pv);
            } else {
                polar_extent(tab, p, width, height, depth, &mut pv);
            }
            for i in 0..n {
                g[i] += div_gains[k] * pv[i] * pv[i];
            }
        }
        for i in 0..n {
            g[i] = g[i].sqrt();
        }
        if nz > 0 {
            let ex = zone_excluded(tab, recs, zo, nz);
            zone_apply(tab, &mut g, ex);
        }
    }

    // gain, LFE zeros, direct/diffuse split
    let base = rec[R_SLOT] as usize * 2 * stride;
    let d = rf(R_DIFFUSE);
    let gd = (1.0 - d).sqrt();
    let gf = d.sqrt();
    let bg = rf(R_GAIN);
    let ig = rf(R_ITEM_GAIN);
    for o in 0..stride {
        gains[base + o] = 0.0;
        gains[base + stride + o] = 0.0;
    }
    let oi = tab.u(H_OUT_INDEX_OFF);
    for k in 0..n {
        let gk = if g[k].is_nan() { 0.0 } else { g[k] } * bg;
        let o = tab.u(oi + k);
        gains[base + o] = gk * gd * ig;
        gains[base + stride + o] = gk * gf * ig;
    }
    let _ = n_out;
}

/// The mirror of one dispatch: every record of `records` (layout table
/// `tab`) into `gains`, invocation by invocation.
pub fn gains_mirror(params: &GainsParams, tab: &[u32], records: &[u32], gains: &mut [f32]) {
    let tab = Tab { t: tab };
    for r in 0..params.n_records as usize {
        calc(&tab, records, r, params.stride as usize, gains);
    }
}
