// Object gains, BS.2127 §7: one invocation per metadata block, the whole
// pipeline of renderer/panning/gain_calc.rs in f32 over the flat layout
// table (common_tab.wgsl). Mirror: renderer/engine/gpu/gains.rs (same
// function names, same loops). Writes the block's direct gains, then its
// diffuse gains, into slot `rec[R_SLOT]` of `gains` (2 × stride floats).

struct GainsParams { // GainsParams in gains.rs
    n_records: u32,
    stride: u32,
    // always 0: see `salt` in common_tab.wgsl
    lane_salt: u32,
    pad: u32,
}

@group(0) @binding(0) var<uniform> params: GainsParams;
@group(0) @binding(2) var<storage, read> recs: array<u32>;
@group(0) @binding(3) var<storage, read_write> gains: array<f32>;
// Per-invocation scratch arrays (SCR_SLOTS × MAXN floats each), in a
// storage buffer rather than function-local arrays: on Mesa lavapipe 22.3
// (LLVM 15), function-local arrays indexed differently by the lanes of a
// SIMD group (e.g. `out[channel]` after different regions) came back wrong
// for every lane of the group, while each block alone was right.
@group(0) @binding(4) var<storage, read_write> scr: array<f32>;

const S_G: u32 = 0u;
const S_PV: u32 = 1u;
const S_PSP: u32 = 2u;
const S_EXT_A: u32 = 3u;
const S_EXT_B: u32 = 4u;
const S_SPR_G: u32 = 5u;
const S_SPR_TOT: u32 = 6u;
const S_GIN: u32 = 7u;
const S_GSZ: u32 = 8u;
const S_FX: u32 = 9u;
const S_FY: u32 = 10u;
const S_FZ: u32 = 11u;
const S_ACC: u32 = 12u;
const S_W: u32 = 13u; // wx, wy, wz: 3 × 40 floats over two slots
const SCR_SLOTS: u32 = 15u;

var<private> sbase: u32;

fn slot(k: u32) -> u32 { return sbase + k * MAXN; }

const REC_WORDS: u32 = 24u;
const ZONE_WORDS: u32 = 7u;
const DIST_TOL: f32 = 1e-6;
const REGION_EPS: f32 = 1e-6; // see REGION_EPS in gains.rs
const ZONE_EPS_DEG: f32 = 1e-4; // see ZONE_EPS_DEG in gains.rs
const FADE: f32 = 0.174532925199433; // 10° in radians

const R_SLOT: u32 = 0u;
const R_FLAGS: u32 = 1u;
const R_NZONES: u32 = 2u;
const R_ZONES_OFF: u32 = 3u;
const R_POS: u32 = 4u;
const R_W: u32 = 7u;
const R_H: u32 = 8u;
const R_D: u32 = 9u;
const R_GAIN: u32 = 10u;
const R_DIFFUSE: u32 = 11u;
const R_CL_MAXD: u32 = 12u;
const R_DIV_VALUE: u32 = 13u;
const R_DIV_AZR: u32 = 14u;
const R_DIV_POSR: u32 = 15u;
const R_REF_EDGES: u32 = 16u;
const R_ITEM_GAIN: u32 = 20u;

const F_CART: u32 = 1u;
const F_SCREEN_REF: u32 = 2u;
const F_CHANNEL_LOCK: u32 = 4u;
const F_CL_MAXD: u32 = 8u;
const F_DIVERGENCE: u32 = 16u;
const F_EDGE_H: u32 = 32u;
const F_EDGE_H_RIGHT: u32 = 64u;
const F_EDGE_V: u32 = 128u;
const F_EDGE_V_TOP: u32 = 256u;
const F_XYZ: u32 = 0x80000000u;

fn rf(i: u32) -> f32 { return bitcast<f32>(recs[i]); }

fn normalise(out: u32, n: u32) {
    var s = 0.0;
    for (var i = 0u; i < n; i++) { s += scr[out + i] * scr[out + i]; }
    let nn = sqrt(s);
    if (nn > 0.0) {
        for (var i = 0u; i < n; i++) { scr[out + i] /= nn; }
    }
}

fn safe_normalise(out: u32, n: u32) {
    var s = 0.0;
    for (var i = 0u; i < n; i++) { s += scr[out + i] * scr[out + i]; }
    let nn = sqrt(s);
    let keep = nn > 1e-16;
    for (var i = 0u; i < n; i++) { scr[out + i] = select(0.0, scr[out + i] / nn, keep); }
}

fn vec_mat(p: vec3<f32>, o: u32) -> vec3<f32> {
    let r0 = tv3(o);
    let r1 = tv3(o + 3u);
    let r2 = tv3(o + 6u);
    return vec3<f32>(
        p.x * r0.x + p.y * r1.x + p.z * r2.x,
        p.x * r0.y + p.y * r1.y + p.z * r2.y,
        p.x * r0.z + p.y * r1.z + p.z * r2.z);
}

// VBAP triplet: gains in xyz, w = 1 when p is inside, 0 outside.
fn triplet(p: vec3<f32>, o: u32) -> vec4<f32> {
    let pv = vec_mat(p, o);
    let eps = -REGION_EPS;
    if (pv.x >= eps && pv.y >= eps && pv.z >= eps) {
        let n = length(pv);
        return vec4<f32>(clamp(pv / n, vec3<f32>(0.0), vec3<f32>(1.0)), 1.0);
    }
    return vec4<f32>(0.0);
}

fn quad_root(c2: f32, c1: f32, c0: f32) -> f32 {
    let eps = REGION_EPS;
    var r0 = 0.0;
    var r1 = 0.0;
    var n_roots = 0u;
    if (c2 == 0.0) {
        if (c1 == 0.0) { return -1.0; }
        r0 = -c0 / c1;
        n_roots = 1u;
    } else {
        let disc = c1 * c1 - 4.0 * c2 * c0;
        if (disc < 0.0) {
            let imag = sqrt(-disc) / (2.0 * abs(c2));
            if (imag < eps) {
                r0 = -c1 / (2.0 * c2);
                n_roots = 1u;
            }
        } else {
            let s = sqrt(disc);
            var q = -0.5 * (c1 - s);
            if (c1 >= 0.0) { q = -0.5 * (c1 + s); }
            if (q != 0.0) {
                r0 = q / c2;
                r1 = c0 / q;
            }
            n_roots = 2u;
        }
    }
    if (n_roots >= 1u && -eps < r0 && r0 < 1.0 + eps) { return clamp(r0, 0.0, 1.0); }
    if (n_roots >= 2u && -eps < r1 && r1 < 1.0 + eps) { return clamp(r1, 0.0, 1.0); }
    return -1.0;
}

fn psp_regions(p: vec3<f32>, ro: u32, nr: u32, nch: u32, out: u32) -> bool {
    var r = ro;
    for (var ri = 0u; ri < nr; ri++) {
        let kind = tu(r);
        if (kind == REGION_TRIPLET) {
            let g = triplet(p, r + 4u);
            if (g.w != 0.0) {
                for (var i = 0u; i < nch; i++) { scr[out + i] = 0.0; }
                for (var k = 0u; k < 3u; k++) { scr[out + tu(r + 1u + k)] += g[k]; }
                normalise(out, nch);
                return true;
            }
            r += 13u;
        } else if (kind == REGION_QUAD) {
            let px = r + 21u;
            let py = r + 30u;
            let x = quad_root(dot(tv3(px), p), dot(tv3(px + 3u), p), dot(tv3(px + 6u), p));
            let y = quad_root(dot(tv3(py), p), dot(tv3(py + 3u), p), dot(tv3(py + 6u), p));
            if (x >= 0.0 && y >= 0.0) {
                // g[order[k]] = vals[k], without indexing a local array by a per-lane value
                let vals = vec4<f32>((1.0 - x) * (1.0 - y), x * (1.0 - y), x * y, (1.0 - x) * y);
                let e = vec4<u32>(0u, 1u, 2u, 3u);
                let g = vals.x * vec4<f32>(e == vec4<u32>(tu(r + 17u)))
                    + vals.y * vec4<f32>(e == vec4<u32>(tu(r + 18u)))
                    + vals.z * vec4<f32>(e == vec4<u32>(tu(r + 19u)))
                    + vals.w * vec4<f32>(e == vec4<u32>(tu(r + 20u)));
                let v = tv3(r + 5u) * g.x + tv3(r + 8u) * g.y + tv3(r + 11u) * g.z + tv3(r + 14u) * g.w;
                if (dot(v, p) > 0.0) {
                    let gn = length(g);
                    for (var i = 0u; i < nch; i++) { scr[out + i] = 0.0; }
                    scr[out + tu(r + 1u)] += g.x / gn;
                    scr[out + tu(r + 2u)] += g.y / gn;
                    scr[out + tu(r + 3u)] += g.z / gn;
                    scr[out + tu(r + 4u)] += g.w / gn;
                    normalise(out, nch);
                    return true;
                }
            }
            r += 39u;
        } else {
            let nv = tu(r + 1u);
            let cd = tf(r + 2u);
            let chans = r + 3u;
            let tris = r + 3u + nv;
            for (var i = 0u; i < nv; i++) {
                let t = tris + 11u * i;
                let g = triplet(p, t + 2u);
                if (g.w != 0.0) {
                    let a = tu(t);
                    let b = tu(t + 1u);
                    let c = g.z * cd;
                    var s = 0.0;
                    for (var k = 0u; k < nv; k++) {
                        var l = c;
                        if (k == a) { l += g.x; }
                        if (k == b) { l += g.y; }
                        s += l * l;
                    }
                    let nn = sqrt(s);
                    for (var j = 0u; j < nch; j++) { scr[out + j] = 0.0; }
                    for (var k = 0u; k < nv; k++) {
                        var l = c;
                        if (k == a) { l += g.x; }
                        if (k == b) { l += g.y; }
                        scr[out + tu(chans + k)] += l / nn;
                    }
                    normalise(out, nch);
                    return true;
                }
            }
            r += 3u + 12u * nv;
        }
    }
    return false;
}

fn psp(p: vec3<f32>, out: u32) -> bool {
    let n = tab_n();
    let kind = tu(H_PSP_KIND);
    let ro = tu(H_REGIONS_OFF);
    let nr = tu(H_NREGIONS);
    if (kind == PSP_MONO) {
        scr[out + 0] = 1.0;
        return true;
    }
    if (kind == PSP_FULL) {
        return psp_regions(p, ro, nr, n, out);
    }
    // 0+2+0: pan on 0+5+0 (M+030 M-030 M+000 M+110 M-110), downmix.
    let pv = slot(S_PSP);
    if (!psp_regions(p, ro, nr, 5u, pv)) { return false; }
    let c = sqrt(3.0) / 3.0;
    let s = sqrt(0.5);
    var l = scr[pv + 0] + c * scr[pv + 2] + s * scr[pv + 3];
    var r = scr[pv + 1] + c * scr[pv + 2] + s * scr[pv + 4];
    let nn = sqrt(l * l + r * r);
    l /= nn;
    r /= nn;
    let front = max(max(scr[pv + 0], scr[pv + 1]), scr[pv + 2]);
    let back = max(scr[pv + 3], scr[pv + 4]);
    let g = pow(0.5, 0.5 * back / (front + back));
    scr[out + 0] = 0.0;
    scr[out + 1] = 0.0;
    scr[out + tu(H_STEREO_L)] = l * g;
    scr[out + tu(H_STEREO_R)] = r * g;
    return true;
}

// ---- polar extent

struct WeightFunc {
    b0: vec3<f32>,
    b1: vec3<f32>,
    b2: vec3<f32>,
    circle_radius: f32,
    cos_circle_pos: f32,
    c0: vec3<f32>,
    c1: vec3<f32>,
    sin_in: f32,
    sin_out: f32,
    cos_in: f32,
    cos_out: f32,
}

fn calc_basis(pos: vec3<f32>) -> Basis {
    let p = safe_norm_position(pos);
    var az = azimuth(p);
    let el = elevation(p);
    if (abs(el) > 90.0 - 1e-5) { az = 0.0; }
    return local_cs(az, el);
}

fn weight_func(position: vec3<f32>, width_deg: f32, height_deg: f32) -> WeightFunc {
    var width = deg2rad(width_deg) / 2.0;
    var height = deg2rad(height_deg) / 2.0;
    let b = calc_basis(position);
    let circle_radius = min(width, height);
    var basis = b;
    if (height > width) {
        let t = width;
        width = height;
        height = t;
        basis = Basis(b.z, b.y, b.x);
    }
    let width_full = PI + height;
    let width_mod = interp(width, array<f32, 5>(0.0, PI / 2.0, PI, 0.0, 0.0), array<f32, 5>(0.0, PI / 2.0, width_full, 0.0, 0.0), 3u);
    let width2 = interp(height, array<f32, 5>(0.0, PI / 4.0, PI / 2.0, PI, 0.0), array<f32, 5>(width_mod, width_mod, width, width, 0.0), 4u);
    let circle_pos = width2 - circle_radius;
    let r_out = circle_radius + FADE;
    var wf: WeightFunc;
    wf.b0 = basis.x;
    wf.b1 = basis.y;
    wf.b2 = basis.z;
    wf.circle_radius = circle_radius;
    wf.cos_circle_pos = -2.0;
    if (circle_pos < PI) { wf.cos_circle_pos = cos(circle_pos); }
    wf.c0 = basis.x * sin(-circle_pos) + basis.y * cos(-circle_pos);
    wf.c1 = basis.x * sin(circle_pos) + basis.y * cos(circle_pos);
    wf.sin_in = 2.0;
    if (circle_radius < PI / 2.0) { wf.sin_in = sin(circle_radius); }
    wf.sin_out = 2.0;
    if (r_out < PI / 2.0) { wf.sin_out = sin(r_out); }
    wf.cos_in = cos(circle_radius);
    wf.cos_out = -2.0;
    if (r_out < PI) { wf.cos_out = cos(r_out); }
    return wf;
}

fn weight(wf: WeightFunc, v: vec3<f32>) -> f32 {
    // One exit, no early returns: the cheap cosine tests decide 1 or 0,
    // otherwise the angle to the shape's edge does.
    let c0 = clamp(dot(v, wf.b0), -1.0, 1.0);
    let c1 = clamp(dot(v, wf.b1), -1.0, 1.0);
    let c2 = clamp(dot(v, wf.b2), -1.0, 1.0);
    let rho = sqrt(c0 * c0 + c1 * c1);
    let flat = c1 >= rho * wf.cos_circle_pos;
    let s = abs(c2);
    let c = max(dot(v, wf.c0), dot(v, wf.c1));
    let inside = select(c >= wf.cos_in, s <= wf.sin_in, flat);
    let outside = select(c <= wf.cos_out, s >= wf.sin_out, flat);
    var w = 0.0;
    if (inside) {
        w = 1.0;
    } else if (!outside) {
        var distance: f32;
        if (flat) {
            distance = atan2(s, rho) - wf.circle_radius;
        } else {
            distance = min(angle_between(v, wf.c0), angle_between(v, wf.c1)) - wf.circle_radius;
        }
        distance = max(distance, 0.0);
        if (distance < FADE) { w = 1.0 - distance / FADE; }
    }
    return w;
}

fn extent_mod(extent: f32, distance: f32) -> f32 {
    let size = interp(extent, array<f32, 5>(0.0, 360.0, 0.0, 0.0, 0.0), array<f32, 5>(0.2, 1.0, 0.0, 0.0, 0.0), 2u);
    let extent_1 = 4.0 * rad2deg(atan2(size, 1.0));
    return interp(4.0 * rad2deg(atan2(size, distance)), array<f32, 5>(0.0, extent_1, 360.0, 0.0, 0.0), array<f32, 5>(0.0, extent, 360.0, 0.0, 0.0), 3u);
}

fn pv_spread(position: vec3<f32>, width: f32, height: f32, out: u32) {
    let n = tab_n();
    let amount_spread = interp(max(width, height), array<f32, 5>(0.0, 10.0, 0.0, 0.0, 0.0), array<f32, 5>(0.0, 1.0, 0.0, 0.0, 0.0), 2u);
    let amount_point = 1.0 - amount_spread;
    for (var c = 0u; c < n; c++) { scr[out + c] = 0.0; }
    if (amount_point > 1e-10) {
        let g = slot(S_SPR_G);
        psp(position, g);
        for (var c = 0u; c < n; c++) { scr[out + c] += amount_point * scr[g + c] * scr[g + c]; }
    }
    if (amount_spread > 1e-10) {
        let wf = weight_func(position, max(width, 5.0), max(height, 5.0));
        let total = slot(S_SPR_TOT);
        for (var c = 0u; c < n; c++) { scr[total + c] = 0.0; }
        let np = tu(H_GRID_N);
        let po = tu(H_GRID_PTS_OFF);
        let go = tu(H_GRID_GAINS_OFF);
        for (var i = 0u; i < np; i++) {
            let w = weight(wf, tv3(po + 3u * i));
            if (w != 0.0) {
                for (var c = 0u; c < n; c++) { scr[total + c] += w * tf(go + i * n + c); }
            }
        }
        var s = 0.0;
        for (var c = 0u; c < n; c++) { s += scr[total + c] * scr[total + c]; }
        let nn = sqrt(s);
        for (var c = 0u; c < n; c++) {
            let t = scr[total + c] / nn;
            scr[out + c] += amount_spread * t * t;
        }
    }
    for (var c = 0u; c < n; c++) { scr[out + c] = sqrt(scr[out + c]); }
}

fn polar_extent(position: vec3<f32>, width: f32, height: f32, depth: f32, out: u32) {
    // one pv_spread call site: depth ≠ 0 averages the powers at two distances
    let n = tab_n();
    let distance = length(position);
    let a = slot(S_EXT_A);
    var nd = 1u;
    var d = distance;
    if (depth != 0.0) {
        nd = 2u;
        d = max(distance + depth / 2.0, 0.0);
    }
    for (var c = 0u; c < n; c++) { scr[out + c] = 0.0; }
    for (var k = 0u; k < nd; k++) {
        pv_spread(position, extent_mod(width, d), extent_mod(height, d), a);
        for (var c = 0u; c < n; c++) { scr[out + c] += scr[a + c] * scr[a + c]; }
        d = max(distance - depth / 2.0, 0.0);
    }
    for (var c = 0u; c < n; c++) { scr[out + c] = sqrt(scr[out + c] / f32(nd)); }
}

// ---- allocentric, over the speakers not in `ex`

fn balance(lo: f32, hi: f32, v: f32) -> vec2<f32> {
    let a = clamp((v - lo) / (hi - lo), 0.0, 1.0) * (PI / 2.0);
    var r = vec2<f32>(cos(a), sin(a));
    if (v <= lo) { r = vec2<f32>(0.0, 1.0); }
    if (v >= hi) { r = vec2<f32>(1.0, 0.0); }
    if (lo == hi) { r = vec2<f32>(1.0, 1.0); }
    return r;
}

fn allo_member(i: u32, ex: vec2<u32>, level: u32, y: f32, z: f32) -> bool {
    let p = tv3(tu(H_ALLO_POS_OFF) + 3u * i);
    return !is_ex(ex, i) && (level < 1u || p.z == z) && (level < 2u || p.y == y);
}

fn allo_bracket(ex: vec2<u32>, level: u32, y: f32, z: f32, axis: u32, v: f32) -> vec2<f32> {
    let n = tab_n();
    let po = tu(H_ALLO_POS_OFF);
    var lo = BIG;
    var hi = -BIG;
    var has_lo = false;
    var has_hi = false;
    var mn = BIG;
    var mx = -BIG;
    for (var i = 0u; i < n; i++) {
        if (allo_member(i, ex, level, y, z)) {
            let c = tf(po + 3u * i + axis);
            mn = min(mn, c);
            mx = max(mx, c);
            if (c <= v) {
                if (has_lo) { lo = max(lo, c); } else { lo = c; }
                has_lo = true;
            }
            if (c >= v) {
                if (has_hi) { hi = min(hi, c); } else { hi = c; }
                has_hi = true;
            }
        }
    }
    var r = vec2<f32>(mn, mx);
    if (has_lo) { r.x = lo; }
    if (has_hi) { r.y = hi; }
    return r;
}

fn allo_point(p: vec3<f32>, ex: vec2<u32>, out: u32) {
    let n = tab_n();
    let po = tu(H_ALLO_POS_OFF);
    for (var i = 0u; i < n; i++) { scr[out + i] = 0.0; }
    let zb = allo_bracket(ex, 0u, 0.0, 0.0, 2u, p.z);
    let zg = balance(zb.x, zb.y, p.z);
    for (var zi = 0u; zi < 2u; zi++) {
        let zv = zb[zi];
        let yb = allo_bracket(ex, 1u, 0.0, zv, 1u, p.y);
        let yg = balance(yb.x, yb.y, p.y);
        for (var yi = 0u; yi < 2u; yi++) {
            let yv = yb[yi];
            let xb = allo_bracket(ex, 2u, yv, zv, 0u, p.x);
            let xg = balance(xb.x, xb.y, p.x);
            for (var xi = 0u; xi < 2u; xi++) {
                for (var i = 0u; i < n; i++) {
                    if (allo_member(i, ex, 2u, yv, zv) && tf(po + 3u * i) == xb[xi]) {
                        scr[out + i] = zg[zi] * yg[yi] * xg[xi];
                    }
                }
            }
        }
    }
}

fn g_point_axis(c: u32, axis: u32, v: f32, ex: vec2<u32>) -> f32 {
    let n = tab_n();
    let po = tu(H_ALLO_POS_OFF);
    let pc = tv3(po + 3u * c);
    let level = 2u - axis;
    var lo = 0.0;
    var hi = 0.0;
    var has_lo = false;
    var has_hi = false;
    for (var i = 0u; i < n; i++) {
        if (allo_member(i, ex, level, pc.y, pc.z)) {
            let s = tf(po + 3u * i + axis);
            if (s <= v) {
                if (has_lo) { lo = max(lo, s); } else { lo = s; }
                has_lo = true;
            }
            if (s >= v) {
                if (has_hi) { hi = min(hi, s); } else { hi = s; }
                has_hi = true;
            }
        }
    }
    let pos = pc[axis];
    var g = 0.0;
    if (has_lo && has_hi) {
        if (lo <= pos && pos <= hi) {
            if (lo == hi) {
                g = 1.0;
            } else if (lo == pos) {
                g = cos((v - lo) / (hi - lo) * (PI / 2.0));
            } else {
                g = sin((v - lo) / (hi - lo) * (PI / 2.0));
            }
        }
    } else if (has_hi) {
        g = select(0.0, 1.0, pos == hi);
    } else if (has_lo) {
        g = select(0.0, 1.0, pos == lo);
    }
    return g;
}

fn scale_size(v: f32) -> f32 {
    return interp(min(v, 1.0), array<f32, 5>(0.0, 0.2, 0.5, 0.75, 1.0), array<f32, 5>(0.0, 0.3, 1.0, 1.8, 2.8), 5u);
}

fn pow_pos(x: f32, p: f32) -> f32 {
    return select(0.0, pow(max(x, 1e-38), p), x > 0.0);
}

fn h_size(d_bound: f32, s: f32) -> f32 {
    let nn = max(2.0 * s, 0.4);
    let a = d_bound / 0.4;
    let inner = select(d_bound / 2.0 * (a * a), nn * nn * nn / (0.16 * 2.0 * s), d_bound >= 2.0 * s && d_bound >= 0.4);
    return pow_pos(inner, 1.0 / 3.0);
}

fn allo_extent(position: vec3<f32>, size_x: f32, size_y: f32, size_z: f32, ex: vec2<u32>, out: u32) {
    let n = tab_n();
    let po = tu(H_ALLO_POS_OFF);
    var first = 0xffffffffu;
    var nz_distinct = 0u;
    var vx = false;
    var vy = false;
    var vz = false;
    var same_yz = true;
    var same_z = true;
    for (var i = 0u; i < n; i++) {
        if (!(is_ex(ex, i))) {
            let p = tv3(po + 3u * i);
            if (first == 0xffffffffu) { first = i; }
            let f0 = tv3(po + 3u * first);
            vx = vx || p.x != f0.x;
            vy = vy || p.y != f0.y;
            vz = vz || p.z != f0.z;
            same_yz = same_yz && p.y == f0.y && p.z == f0.z;
            same_z = same_z && p.z == f0.z;
            var seen = false;
            for (var j = 0u; j < i; j++) {
                if (!is_ex(ex, j) && tf(po + 3u * j + 2u) == p.z) { seen = true; }
            }
            if (!seen) { nz_distinct += 1u; }
        }
    }
    let full_z = nz_distinct >= 3u;
    let dim = u32(vx) + u32(vy) + u32(vz);
    let lin40 = tu(H_LIN40_OFF);
    var zgrid = tu(H_LIN20_OFF);
    var nz = 20u;
    if (full_z) {
        zgrid = lin40;
        nz = 40u;
    }
    let nx = 40u;
    let xo = position.x;
    let yo = position.y;
    var zo = max(position.z, 0.0);
    if (full_z) { zo = position.z; }
    let sx = max(scale_size(size_x), 2.0 / f32(nx - 1u));
    let sy = max(scale_size(size_y), 2.0 / f32(nx - 1u));
    let sz = max(scale_size(size_z), 2.0 / f32(nz - 1u));
    var s_eff: f32;
    if (same_yz) {
        s_eff = sx;
    } else if (same_z) {
        s_eff = 0.75 * max(sx, sy) + 0.25 * min(sx, sy);
    } else {
        let lo = min(min(sx, sy), sz);
        let hi = max(max(sx, sy), sz);
        let mid = sx + sy + sz - lo - hi;
        s_eff = (6.0 / 9.0) * hi + (2.0 / 9.0) * mid + (1.0 / 9.0) * lo;
    }
    var p = 6.0;
    if (s_eff > 0.5) { p = 6.0 - 4.0 * ((s_eff - 0.5) / (2.8 - 0.5)); }
    var d_bound = min(xo + 1.0, 1.0 - xo);
    if (dim != 1u) { d_bound = min(min(d_bound, yo + 1.0), 1.0 - yo); }
    if (dim != 1u && dim != 2u) { d_bound = min(min(d_bound, zo + 1.0), 1.0 - zo); }
    var mu: f32;
    if (dim == 1u) {
        let v = h_size(d_bound, sx);
        mu = v * v * v;
    } else if (dim == 2u) {
        mu = pow_pos(h_size(d_bound, sx) * h_size(d_bound, sy), 1.5);
    } else {
        mu = h_size(d_bound, sx) * h_size(d_bound, sy) * h_size(d_bound, sz);
    }
    let wx = slot(S_W);
    let wy = wx + 40u;
    let wz = wx + 80u;
    for (var i = 0u; i < nx; i++) {
        let v = tf(lin40 + i);
        let tx = 1.5 * (v - xo) / (2.0 * sx);
        scr[wx + i] = pow(10.0, -min(tx * tx * tx * tx, 6.5));
        let ty = 1.5 * (v - yo) / (2.0 * sy);
        scr[wy + i] = pow(10.0, -min(ty * ty * ty * ty, 6.5));
    }
    for (var i = 0u; i < nz; i++) {
        let v = tf(zgrid + i);
        let tz = 1.5 * (v - zo) / sz;
        scr[wz + i] = pow(10.0, -min(tz * tz * tz * tz, 6.5)) * cos(v * PI * (3.0 / 7.0));
    }
    let g_inside = slot(S_GIN);
    let g_size = slot(S_GSZ);
    let fx = slot(S_FX);
    let fy = slot(S_FY);
    let fz = slot(S_FZ);
    for (var c = 0u; c < n; c++) {
        scr[g_inside + c] = 0.0;
        scr[g_size + c] = 0.0;
        scr[fx + c] = 0.0;
        scr[fy + c] = 0.0;
        scr[fz + c] = 0.0;
    }
    let lim = 3.162277660168379e-7;
    for (var c = 0u; c < n; c++) {
        if (!(is_ex(ex, c))) {
            var sxs = 0.0;
            var sys = 0.0;
            for (var i = 0u; i < nx; i++) {
                let v = tf(lin40 + i);
                sxs += pow_pos(g_point_axis(c, 0u, v, ex) * scr[wx + i], p);
                sys += pow_pos(g_point_axis(c, 1u, v, ex) * scr[wy + i], p);
            }
            var szs = 0.0;
            for (var i = 0u; i < nz; i++) {
                szs += pow_pos(g_point_axis(c, 2u, tf(zgrid + i), ex) * scr[wz + i], p);
            }
            scr[fx + c] = select(sxs, 0.0, sxs < lim);
            scr[fy + c] = select(sys, 0.0, sys < lim);
            scr[fz + c] = select(szs, 0.0, szs < lim);
            scr[g_inside + c] = scr[fx + c] * scr[fy + c] * scr[fz + c];
        }
    }
    safe_normalise(g_inside, n);
    // the boundary terms, one axis per loop (one loop with all six calls
    // miscompiled on lavapipe 22.3: every later loop ran one iteration)
    let bx = slot(S_EXT_A);
    let by = slot(S_EXT_B);
    let bz = slot(S_ACC);
    for (var c = 0u; c < n; c++) {
        scr[bx + c] = 0.0;
        if (!is_ex(ex, c)) {
            scr[bx + c] = pow_pos(g_point_axis(c, 0u, tf(lin40), ex) * scr[wx + 0u], p)
                + pow_pos(g_point_axis(c, 0u, tf(lin40 + nx - 1u), ex) * scr[wx + nx - 1u], p);
        }
    }
    for (var c = 0u; c < n; c++) {
        scr[by + c] = 0.0;
        if (!is_ex(ex, c)) {
            scr[by + c] = pow_pos(g_point_axis(c, 1u, tf(lin40), ex) * scr[wy + 0u], p)
                + pow_pos(g_point_axis(c, 1u, tf(lin40 + nx - 1u), ex) * scr[wy + nx - 1u], p);
        }
    }
    for (var c = 0u; c < n; c++) {
        scr[bz + c] = 0.0;
        if (!is_ex(ex, c)) {
            scr[bz + c] = pow_pos(g_point_axis(c, 2u, tf(zgrid), ex) * scr[wz + 0u], p)
                + pow_pos(g_point_axis(c, 2u, tf(zgrid + nz - 1u), ex) * scr[wz + nz - 1u], p);
        }
    }
    for (var c = 0u; c < n; c++) {
        let g_bound = scr[bx + c] * scr[fy + c] * scr[fz + c]
            + scr[fx + c] * scr[by + c] * scr[fz + c]
            + scr[fx + c] * scr[fy + c] * scr[bz + c];
        scr[g_size + c] = select(0.0, pow_pos(g_bound + mu * scr[g_inside + c], 1.0 / p), !is_ex(ex, c));
    }
    safe_normalise(g_size, n);
    let s_fade = 0.2;
    var alpha = 0.0;
    var beta = 1.0;
    if (s_eff < s_fade) {
        alpha = cos(s_eff * PI / (s_fade * 2.0));
        beta = sin(s_eff * PI / (s_fade * 2.0));
    }
    for (var c = 0u; c < n; c++) {
        var o = 0.0;
        if (!is_ex(ex, c)) {
            let gp = g_point_axis(c, 0u, xo, ex) * g_point_axis(c, 1u, yo, ex) * g_point_axis(c, 2u, zo, ex);
            o = alpha * gp + beta * scr[g_size + c];
        }
        scr[out + c] = o;
    }
    safe_normalise(out, n);
}

// ---- channel lock, zones

fn lock_distance(d: vec3<f32>, allo: bool) -> f32 {
    if (allo) { return sqrt(d.x * d.x / 16.0 + 4.0 * d.y * d.y + 32.0 * d.z * d.z); }
    return length(d);
}

fn channel_lock(position: vec3<f32>, has_maxd: bool, maxd: f32, ex: vec2<u32>, allo: bool) -> vec3<f32> {
    let n = tab_n();
    var po = tu(H_EGO_POS_OFF);
    var pr = tu(H_EGO_PRIO_OFF);
    if (allo) {
        po = tu(H_ALLO_POS_OFF);
        pr = tu(H_ALLO_PRIO_OFF);
    }
    let tol = 1e-5;
    var mn = BIG;
    var found = false;
    for (var i = 0u; i < n; i++) {
        let d = position - tv3(po + 3u * i);
        if (!(is_ex(ex, i) || (has_maxd && length(d) >= maxd + tol))) {
            found = true;
            mn = min(mn, lock_distance(d, allo));
        }
    }
    if (!found) { return position; }
    var best = 0xffffffffu;
    for (var i = 0u; i < n; i++) {
        let d = position - tv3(po + 3u * i);
        if (!(is_ex(ex, i) || (has_maxd && length(d) >= maxd + tol))) {
            let w = lock_distance(d, allo);
            if (w < mn + tol && (best == 0xffffffffu || tu(pr + i) < tu(pr + best))) { best = i; }
        }
    }
    return tv3(po + 3u * best);
}

fn zone_excluded(zo: u32, nz: u32) -> vec2<u32> {
    let n = tab_n();
    let eps = 1e-6;
    var m = vec2<u32>(0u, 0u);
    for (var z = 0u; z < nz; z++) {
        let b = zo + z * ZONE_WORDS;
        for (var i = 0u; i < n; i++) {
            var hit: bool;
            if (recs[b] == 0u) {
                let p = tv3(tu(H_ZONE_POS_OFF) + 3u * i);
                hit = p.x - eps < rf(b + 2u) && p.y - eps < rf(b + 4u) && p.z - eps < rf(b + 6u)
                    && p.x + eps > rf(b + 1u) && p.y + eps > rf(b + 3u) && p.z + eps > rf(b + 5u);
            } else {
                let el = tf(tu(H_ZONE_EL_OFF) + i);
                let az = tf(tu(H_ZONE_AZ_OFF) + i);
                let e = ZONE_EPS_DEG;
                hit = el - e < rf(b + 2u) && el + e > rf(b + 1u) && (abs(el) > 90.0 - e || inside_angle_range(az, rf(b + 3u), rf(b + 4u), e));
            }
            if (hit) { m = with_ex(m, i); }
        }
    }
    return m;
}

fn zone_apply(g: u32, ex: vec2<u32>) {
    let n = tab_n();
    var count = 0u;
    for (var i = 0u; i < n; i++) {
        if (is_ex(ex, i)) { count += 1u; }
    }
    if (count == 0u || count == n) { return; }
    let acc = slot(S_ACC);
    for (var j = 0u; j < n; j++) { scr[acc + j] = 0.0; }
    let go = tu(H_ZONE_GROUPS_OFF);
    for (var i = 0u; i < n; i++) {
        let gi2 = scr[g + i] * scr[g + i];
        var k0 = tu(go + i);
        let ng = tu(k0);
        k0 += 1u;
        for (var q = 0u; q < ng; q++) {
            let len = tu(k0);
            var remaining = 0u;
            for (var k = 0u; k < len; k++) {
                if (!is_ex(ex, tu(k0 + 1u + k))) { remaining += 1u; }
            }
            if (remaining > 0u) {
                let c = 1.0 / f32(remaining);
                for (var k = 0u; k < len; k++) {
                    let j = tu(k0 + 1u + k);
                    if (!is_ex(ex, j)) { scr[acc + j] += gi2 * c; }
                }
                break;
            }
            k0 += 1u + len;
        }
    }
    for (var j = 0u; j < n; j++) { scr[g + j] = sqrt(scr[acc + j]); }
}

fn widen_exclusion(ex: vec2<u32>) -> vec2<u32> {
    let n = tab_n();
    let po = tu(H_ALLO_POS_OFF);
    var m = ex;
    for (var i = 0u; i < n; i++) {
        let c = tv3(po + 3u * i);
        if (is_ex(ex, i) && abs(c.x) == 1.0 && abs(c.y) != 1.0) {
            for (var k = 0u; k < n; k++) {
                let c2 = tv3(po + 3u * k);
                if (c2.y == c.y && c2.z == c.z) { m = with_ex(m, k); }
            }
        }
    }
    var every = true;
    for (var i = 0u; i < n; i++) { every = every && is_ex(m, i); }
    if (every) { return vec2<u32>(0u, 0u); }
    return m;
}

fn lock_az_el(az0: f32, el0: f32, flags: u32, rep: vec4<f32>) -> vec2<f32> {
    var az = az0;
    var el = el0;
    if ((flags & F_EDGE_H) != 0u) { az = select(rep.x, rep.y, (flags & F_EDGE_H_RIGHT) != 0u); }
    if ((flags & F_EDGE_V) != 0u) { el = select(rep.z, rep.w, (flags & F_EDGE_V_TOP) != 0u); }
    return vec2<f32>(az, el);
}

fn scale_az_el(az: f32, el: f32, re: vec4<f32>, rep: vec4<f32>) -> vec2<f32> {
    return vec2<f32>(
        interp(az, array<f32, 5>(-180.0, re.y, re.x, 180.0, 0.0), array<f32, 5>(-180.0, rep.y, rep.x, 180.0, 0.0), 4u),
        interp(el, array<f32, 5>(-90.0, re.z, re.w, 90.0, 0.0), array<f32, 5>(-90.0, rep.z, rep.w, 90.0, 0.0), 4u));
}

fn is_nan_f(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }

@compute @workgroup_size(64)
fn gains_main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let r = gid.x;
    salt = r * params.lane_salt;
    sbase = r * SCR_SLOTS * MAXN;
    if (r >= params.n_records) { return; }
    let rb = r * REC_WORDS;
    let n = tab_n();
    let stride = params.stride;
    let flags = recs[rb + R_FLAGS];
    var cartesian = (flags & F_CART) != 0u;
    let has_u045 = tu(H_HAS_U045) != 0u;
    let rep_ok = tu(H_REP_OK) != 0u;
    let rep = vec4<f32>(tf(H_REP_EDGES), tf(H_REP_EDGES + 1u), tf(H_REP_EDGES + 2u), tf(H_REP_EDGES + 3u));

    // coordinates
    var position: vec3<f32>;
    if ((flags & F_XYZ) != 0u) {
        position = clamp(vec3<f32>(rf(rb + R_POS), rf(rb + R_POS + 1u), rf(rb + R_POS + 2u)), vec3<f32>(-1.0), vec3<f32>(1.0));
    } else {
        position = cart(rf(rb + R_POS), rf(rb + R_POS + 1u), rf(rb + R_POS + 2u));
    }
    // screen scale (screenRef)
    if ((flags & F_SCREEN_REF) != 0u && rep_ok) {
        let re = vec4<f32>(rf(rb + R_REF_EDGES), rf(rb + R_REF_EDGES + 1u), rf(rb + R_REF_EDGES + 2u), rf(rb + R_REF_EDGES + 3u));
        if (cartesian) {
            let aed = point_cart_to_polar(position.x, position.y, position.z);
            let s = scale_az_el(aed.x, aed.y, re, rep);
            let c = compensate_position(s.x, s.y, has_u045);
            position = point_polar_to_cart(c.x, c.y, aed.z);
        } else {
            let s = scale_az_el(azimuth(position), elevation(position), re, rep);
            position = cart(s.x, s.y, length(position));
        }
    }
    // screen edge lock
    if ((flags & (F_EDGE_H | F_EDGE_V)) != 0u && rep_ok) {
        if (cartesian) {
            let aed = point_cart_to_polar(position.x, position.y, position.z);
            let l = lock_az_el(aed.x, aed.y, flags, rep);
            let c = compensate_position(l.x, l.y, has_u045);
            position = point_polar_to_cart(c.x, c.y, aed.z);
        } else {
            let l = lock_az_el(azimuth(position), elevation(position), flags, rep);
            position = cart(l.x, l.y, length(position));
        }
    }
    var width = rf(rb + R_W);
    var height = rf(rb + R_H);
    var depth = rf(rb + R_D);
    if (cartesian && tu(H_ALLO) == 0u) {
        var whd: vec3<f32>;
        position = extent_cart_to_polar(position, width, depth, height, &whd);
        width = whd.x;
        height = whd.y;
        depth = whd.z;
        cartesian = false;
    }

    // divergence
    let div = (flags & F_DIVERGENCE) != 0u;
    var ndiv = 1u;
    var div_gain_c = 1.0; // diverged sources: left, centre, right
    var div_gain_lr = 0.0;
    if (div) {
        ndiv = 3u;
        let value = rf(rb + R_DIV_VALUE);
        div_gain_lr = value / (value + 1.0);
        div_gain_c = (1.0 - value) / (value + 1.0);
    }

    let g = slot(S_G);
    let pv = slot(S_PV);
    for (var i = 0u; i < n; i++) { scr[g + i] = 0.0; }
    let nz = recs[rb + R_NZONES];
    let zo = recs[rb + R_ZONES_OFF];
    let has_maxd = (flags & F_CL_MAXD) != 0u;
    // diverged positions: left (dl), centre (position), right (dr); k = 0 is the centre
    var dl = position;
    var dr = position;
    if (cartesian) {
        let ex = widen_exclusion(zone_excluded(zo, nz));
        if ((flags & F_CHANNEL_LOCK) != 0u) {
            position = channel_lock(position, has_maxd, rf(rb + R_CL_MAXD), ex, true);
        }
        var dc = position;
        if (div) {
            let pr = rf(rb + R_DIV_POSR);
            dl = clamp(vec3<f32>(position.x + pr, position.y, position.z), vec3<f32>(-1.0), vec3<f32>(1.0));
            dc = clamp(position, vec3<f32>(-1.0), vec3<f32>(1.0));
            dr = clamp(vec3<f32>(position.x - pr, position.y, position.z), vec3<f32>(-1.0), vec3<f32>(1.0));
        }
        for (var k = 0u; k < ndiv; k++) {
            let p = select(select(dr, dl, k == 1u), dc, k == 0u);
            let dg = select(div_gain_lr, div_gain_c, k == 0u);
            if (width == 0.0 && height == 0.0 && depth == 0.0) {
                allo_point(p, ex, pv);
            } else {
                allo_extent(p, width, height, depth, ex, pv);
            }
            for (var i = 0u; i < n; i++) { scr[g + i] += dg * scr[pv + i] * scr[pv + i]; }
        }
        for (var i = 0u; i < n; i++) { scr[g + i] = sqrt(scr[g + i]); }
    } else {
        if ((flags & F_CHANNEL_LOCK) != 0u) {
            position = channel_lock(position, has_maxd, rf(rb + R_CL_MAXD), vec2<u32>(0u, 0u), false);
        }
        if (div) {
            let azr = rf(rb + R_DIV_AZR);
            let distance = length(position);
            let pl = cart(azr, 0.0, distance);
            let pr = cart(-azr, 0.0, distance);
            let l = local_cs(azimuth(position), elevation(position));
            // p' = M^T p: x·l.x + y·l.y + z·l.z
            dl = l.x * pl.x + l.y * pl.y + l.z * pl.z;
            dr = l.x * pr.x + l.y * pr.y + l.z * pr.z;
        }
        let no_size = width == 0.0 && height == 0.0 && depth == 0.0;
        let needs_extent = !no_size || abs(length(position) - 1.0) > DIST_TOL;
        for (var k = 0u; k < ndiv; k++) {
            let p = select(select(dr, dl, k == 1u), position, k == 0u);
            let dg = select(div_gain_lr, div_gain_c, k == 0u);
            if (!needs_extent || (no_size && abs(length(p) - 1.0) <= DIST_TOL)) {
                for (var i = 0u; i < n; i++) { scr[pv + i] = 0.0; }
                psp(p, pv);
            } else {
                polar_extent(p, width, height, depth, pv);
            }
            for (var i = 0u; i < n; i++) { scr[g + i] += dg * scr[pv + i] * scr[pv + i]; }
        }
        for (var i = 0u; i < n; i++) { scr[g + i] = sqrt(scr[g + i]); }
        if (nz > 0u) {
            zone_apply(g, zone_excluded(zo, nz));
        }
    }

    // gain, LFE zeros, direct/diffuse split
    let base = recs[rb + R_SLOT] * 2u * stride;
    let d = rf(rb + R_DIFFUSE);
    let gd = sqrt(1.0 - d);
    let gf = sqrt(d);
    let bg = rf(rb + R_GAIN);
    let ig = rf(rb + R_ITEM_GAIN);
    for (var o = 0u; o < stride; o++) {
        gains[base + o] = 0.0;
        gains[base + stride + o] = 0.0;
    }
    let oi = tu(H_OUT_INDEX_OFF);
    for (var k = 0u; k < n; k++) {
        var gk = scr[g + k];
        if (is_nan_f(gk)) { gk = 0.0; }
        gk = gk * bg;
        let o = tu(oi + k);
        gains[base + o] = gk * gd * ig;
        gains[base + stride + o] = gk * gf * ig;
    }
}
