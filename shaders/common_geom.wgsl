// Geometry shared by the kernels (mirror: renderer/engine/gpu/gains.rs, whose
// functions have the same names). BS.2127 conventions: x right, y front,
// z up; ADM azimuth anticlockwise (positive = left), degrees.

const PI: f32 = 3.14159265358979;
const BIG: f32 = 3.0e38;

fn deg2rad(d: f32) -> f32 { return d * (PI / 180.0); }
fn rad2deg(r: f32) -> f32 { return r * (180.0 / PI); }

fn sgn(x: f32) -> f32 {
    if (x > 0.0) { return 1.0; }
    if (x < 0.0) { return -1.0; }
    return 0.0;
}

// The angle between two unit vectors, accurate at 0 and π (unlike acos).
fn angle_between(a: vec3<f32>, b: vec3<f32>) -> f32 {
    return atan2(length(cross(a, b)), dot(a, b));
}

fn cart(az: f32, el: f32, d: f32) -> vec3<f32> {
    let a = deg2rad(-az);
    let e = deg2rad(el);
    return vec3<f32>(sin(a) * cos(e) * d, cos(a) * cos(e) * d, sin(e) * d);
}

fn azimuth(v: vec3<f32>) -> f32 { return -rad2deg(atan2(v.x, v.y)); }

fn elevation(v: vec3<f32>) -> f32 { return rad2deg(atan2(v.z, sqrt(v.x * v.x + v.y * v.y))); }

fn relative_angle(x: f32, y0: f32) -> f32 {
    var y = y0;
    while (y - 360.0 >= x) { y -= 360.0; }
    while (y < x) { y += 360.0; }
    return y;
}

fn inside_angle_range(x0: f32, start: f32, end0: f32, tol: f32) -> bool {
    var x = x0;
    var end = end0;
    while (end - 360.0 > start) { end -= 360.0; }
    while (end < start) { end += 360.0; }
    let start_tol = start - tol;
    while (x - 360.0 >= start_tol) { x -= 360.0; }
    while (x < start_tol) { x += 360.0; }
    return x <= end + tol;
}

struct Basis {
    x: vec3<f32>,
    y: vec3<f32>,
    z: vec3<f32>,
}

fn local_cs(az: f32, el: f32) -> Basis {
    return Basis(cart(az - 90.0, 0.0, 1.0), cart(az, el, 1.0), cart(az, el + 90.0, 1.0));
}

// np.interp through the first n (≤ 5) points (strictly increasing). Every
// index is the same in all lanes (a per-lane index into a local array went
// wrong on lavapipe 22.3; see gains.wgsl).
fn interp(x: f32, xp0: array<f32, 5>, fp0: array<f32, 5>, n: u32) -> f32 {
    var xp = xp0;
    var fp = fp0;
    var r = fp[0];
    for (var j = 0u; j + 1u < n; j++) {
        if (xp[j] <= x && x < xp[j + 1u]) {
            let slope = (fp[j + 1u] - fp[j]) / (xp[j + 1u] - xp[j]);
            r = slope * (x - xp[j]) + fp[j];
        }
    }
    if (x >= xp[n - 1u]) { r = fp[n - 1u]; }
    if (x < xp[0]) { r = fp[0]; }
    return r;
}

fn safe_norm_position(p: vec3<f32>) -> vec3<f32> {
    let n = length(p);
    if (n < 1e-10) { return vec3<f32>(0.0, 1.0, 0.0); }
    return p * (1.0 / n);
}

// ---- BS.2127 §10 conversions: the 0+5+0 sector corners (BS.2127 Table 7),
// looked up with selects rather than by indexing a local array per lane.
fn map_az(i: u32) -> f32 {
    return select(select(select(select(30.0, 110.0, i == 3u), -110.0, i == 2u), -30.0, i == 1u), 0.0, i == 0u);
}
fn map_x(i: u32) -> f32 {
    return select(select(select(select(-1.0, -1.0, i == 3u), 1.0, i == 2u), 1.0, i == 1u), 0.0, i == 0u);
}
fn map_y(i: u32) -> f32 {
    return select(select(select(select(1.0, -1.0, i == 3u), -1.0, i == 2u), 1.0, i == 1u), 1.0, i == 0u);
}

fn map_az_to_linear(left_az: f32, right_az: f32, az: f32) -> f32 {
    let mid_az = (left_az + right_az) / 2.0;
    let az_range = right_az - mid_az;
    let rel_az = az - mid_az;
    let gain_r = 0.5 + 0.5 * tan(deg2rad(rel_az)) / tan(deg2rad(az_range));
    return atan2(gain_r, 1.0 - gain_r) * (2.0 / PI);
}

fn map_linear_to_az(left_az: f32, right_az: f32, x: f32) -> f32 {
    let mid_az = (left_az + right_az) / 2.0;
    let az_range = right_az - mid_az;
    let gl = cos(x * (PI / 2.0));
    let gr = sin(x * (PI / 2.0));
    let gain_r = gr / (gl + gr);
    let rel_az = rad2deg(atan(2.0 * (gain_r - 0.5) * tan(deg2rad(az_range))));
    return mid_az + rel_az;
}

fn point_polar_to_cart(az: f32, el: f32, d: f32) -> vec3<f32> {
    var z: f32;
    var r_xy: f32;
    if (abs(el) > 30.0) {
        let el_tilde = 45.0 + (90.0 - 45.0) * (abs(el) - 30.0) / (90.0 - 30.0);
        z = d * sgn(el);
        r_xy = d * tan(deg2rad(90.0 - el_tilde));
    } else {
        let el_tilde = 45.0 * el / 30.0;
        z = tan(deg2rad(el_tilde)) * d;
        r_xy = d;
    }
    var i = 0u;
    var j = 1u;
    for (var k = 0u; k < 5u; k++) {
        let kk = (k + 1u) % 5u;
        if (inside_angle_range(az, map_az(kk), map_az(k), 0.0)) {
            i = k;
            j = kk;
            break;
        }
    }
    let rel_az = relative_angle(map_az(j), az);
    let rel_left_az = relative_angle(map_az(j), map_az(i));
    let p = map_az_to_linear(rel_left_az, map_az(j), rel_az);
    return vec3<f32>(r_xy * (map_x(i) + (map_x(j) - map_x(i)) * p), r_xy * (map_y(i) + (map_y(j) - map_y(i)) * p), z);
}

// (azimuth, elevation, distance)
fn point_cart_to_polar(x: f32, y: f32, z: f32) -> vec3<f32> {
    let eps = 1e-10;
    if (abs(x) < eps && abs(y) < eps) {
        if (abs(z) < eps) { return vec3<f32>(0.0); }
        return vec3<f32>(0.0, sgn(z) * 90.0, abs(z));
    }
    let az0 = azimuth(vec3<f32>(x, y, 0.0));
    var i = 0u;
    var j = 1u;
    for (var k = 0u; k < 5u; k++) {
        let kk = (k + 1u) % 5u;
        let a_j = azimuth(vec3<f32>(map_x(kk), map_y(kk), 0.0));
        let a_i = azimuth(vec3<f32>(map_x(k), map_y(k), 0.0));
        if (inside_angle_range(az0, a_j, a_i, 0.0)) {
            i = k;
            j = kk;
            break;
        }
    }
    let a = map_x(i);
    let b = map_y(i);
    let c = map_x(j);
    let d = map_y(j);
    let det = a * d - b * c;
    let g_l = (x * d - y * c) / det;
    let g_r = (-x * b + y * a) / det;
    let r_xy = g_l + g_r;
    let rel_left_az = relative_angle(map_az(j), map_az(i));
    let az = relative_angle(-180.0, map_linear_to_az(rel_left_az, map_az(j), g_r / r_xy));
    let el_tilde = rad2deg(atan(z / r_xy));
    if (abs(el_tilde) > 45.0) {
        let abs_el = 30.0 + (90.0 - 30.0) * (abs(el_tilde) - 45.0) / (90.0 - 45.0);
        return vec3<f32>(az, sgn(el_tilde) * abs_el, abs(z));
    }
    return vec3<f32>(az, 30.0 * el_tilde / 45.0, r_xy);
}

fn whd2xyz(width: f32, height: f32, depth: f32) -> vec3<f32> {
    var x_size_width = 1.0;
    if (width < 180.0) { x_size_width = sin(deg2rad(width / 2.0)); }
    let y_size_width = (1.0 - cos(deg2rad(width / 2.0))) / 2.0;
    var z_size_height = 1.0;
    if (height < 180.0) { z_size_height = sin(deg2rad(height / 2.0)); }
    let y_size_height = (1.0 - cos(deg2rad(height / 2.0))) / 2.0;
    return vec3<f32>(x_size_width, max(max(y_size_width, y_size_height), depth), z_size_height);
}

fn xyz2whd(sx: f32, sy: f32, sz: f32) -> vec3<f32> {
    let width_from_sx = 2.0 * rad2deg(asin(sx));
    let width_from_sy = 2.0 * rad2deg(acos(1.0 - 2.0 * sy));
    let width = width_from_sx + sx * max(width_from_sy - width_from_sx, 0.0);
    let height_from_sz = 2.0 * rad2deg(asin(sz));
    let height_from_sy = 2.0 * rad2deg(acos(1.0 - 2.0 * sy));
    let height = height_from_sz + sz * max(height_from_sy - height_from_sz, 0.0);
    let equiv_y = whd2xyz(width, height, 0.0).y;
    return vec3<f32>(width, height, max(sy - equiv_y, 0.0));
}

// BS.2127 §10.4 (layouts without allocentric positions): returns the polar
// position vector; `whd` receives (width, height, depth).
fn extent_cart_to_polar(p: vec3<f32>, xs: f32, ys: f32, zs: f32, whd: ptr<function, vec3<f32>>) -> vec3<f32> {
    let aed = point_cart_to_polar(p.x, p.y, p.z);
    let m = local_cs(aed.x, aed.y);
    let s = vec3<f32>(xs, ys, zs);
    *whd = xyz2whd(length(m.x * s), length(m.y * s), length(m.z * s));
    return cart(aed.x, aed.y, aed.z);
}

// BS.2127 §7.3.3 compensation for layouts with U+045: (azimuth, elevation).
fn compensate_position(az: f32, el: f32, has_u045: bool) -> vec2<f32> {
    if (has_u045) {
        let right_az = interp(el, array<f32, 5>(0.0, 30.0, 90.0, 0.0, 0.0), array<f32, 5>(30.0, 30.0 * (30.0 / 45.0), 30.0, 0.0, 0.0), 3u);
        let new_az = interp(az, array<f32, 5>(-180.0, -30.0, 30.0, 180.0, 0.0), array<f32, 5>(-180.0, -right_az, right_az, 180.0, 0.0), 4u);
        return vec2<f32>(new_az, el);
    }
    return vec2<f32>(az, el);
}
