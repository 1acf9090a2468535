//! Polar ↔ cartesian conversion of positions and extents, ITU-R BS.2127-0 §10
//! (ear `objectbased/conversion.py`): the room cube is mapped onto the sphere
//! by azimuth sectors between the 0+5+0 speaker directions, with elevations
//! above 30° compressed into 45°…90°.

use super::geom::{V3, azimuth, inside_angle_range, local_coordinate_system, relative_angle};

const EL_TOP: f64 = 30.0;
const EL_TOP_TILDE: f64 = 45.0;

/// (azimuth, cartesian corner) sectors, anticlockwise order as in BS.2127 Table 7.
const MAPPING: [(f64, [f64; 3]); 5] = [
    (0.0, [0.0, 1.0, 0.0]),
    (-30.0, [1.0, 1.0, 0.0]),
    (-110.0, [1.0, -1.0, 0.0]),
    (110.0, [-1.0, -1.0, 0.0]),
    (30.0, [-1.0, 1.0, 0.0]),
];

fn map_az_to_linear(left_az: f64, right_az: f64, az: f64) -> f64 {
    let mid_az = (left_az + right_az) / 2.0;
    let az_range = right_az - mid_az;
    let rel_az = az - mid_az;
    let gain_r = 0.5 + 0.5 * rel_az.to_radians().tan() / az_range.to_radians().tan();
    gain_r.atan2(1.0 - gain_r) * (2.0 / std::f64::consts::PI)
}

fn map_linear_to_az(left_az: f64, right_az: f64, x: f64) -> f64 {
    let mid_az = (left_az + right_az) / 2.0;
    let az_range = right_az - mid_az;
    let (gl, gr) = (
        (x * std::f64::consts::FRAC_PI_2).cos(),
        (x * std::f64::consts::FRAC_PI_2).sin(),
    );
    let gain_r = gr / (gl + gr);
    let rel_az = (2.0 * (gain_r - 0.5) * az_range.to_radians().tan()).atan().to_degrees();
    mid_az + rel_az
}

fn find_sector(az: f64) -> ((f64, V3), (f64, V3)) {
    for i in 0..MAPPING.len() {
        let j = (i + 1) % MAPPING.len();
        if inside_angle_range(az, MAPPING[j].0, MAPPING[i].0, 0.0) {
            return (MAPPING[i], MAPPING[j]);
        }
    }
    (MAPPING[0], MAPPING[1])
}

fn find_cart_sector(az: f64) -> ((f64, V3), (f64, V3)) {
    for i in 0..MAPPING.len() {
        let j = (i + 1) % MAPPING.len();
        if inside_angle_range(az, azimuth(MAPPING[j].1), azimuth(MAPPING[i].1), 0.0) {
            return (MAPPING[i], MAPPING[j]);
        }
    }
    (MAPPING[0], MAPPING[1])
}

/// BS.2127 §10.1: polar (az, el, d) → cartesian X, Y, Z.
pub fn point_polar_to_cart(az: f64, el: f64, d: f64) -> V3 {
    let (z, r_xy) = if el.abs() > EL_TOP {
        let el_tilde = EL_TOP_TILDE + (90.0 - EL_TOP_TILDE) * (el.abs() - EL_TOP) / (90.0 - EL_TOP);
        (d * el.signum_or_zero(), d * (90.0 - el_tilde).to_radians().tan())
    } else {
        let el_tilde = EL_TOP_TILDE * el / EL_TOP;
        (el_tilde.to_radians().tan() * d, d)
    };
    let ((left_az, left_pos), (right_az, right_pos)) = find_sector(az);
    let rel_az = relative_angle(right_az, az);
    let rel_left_az = relative_angle(right_az, left_az);
    let p = map_az_to_linear(rel_left_az, right_az, rel_az);
    [
        r_xy * (left_pos[0] + (right_pos[0] - left_pos[0]) * p),
        r_xy * (left_pos[1] + (right_pos[1] - left_pos[1]) * p),
        z,
    ]
}

trait SignumOrZero {
    fn signum_or_zero(self) -> f64;
}
impl SignumOrZero for f64 {
    /// numpy `sign`: 0 for 0.
    fn signum_or_zero(self) -> f64 {
        if self > 0.0 {
            1.0
        } else if self < 0.0 {
            -1.0
        } else {
            0.0
        }
    }
}

/// BS.2127 §10.2: cartesian → polar (az, el, d).
pub fn point_cart_to_polar(x: f64, y: f64, z: f64) -> (f64, f64, f64) {
    let eps = 1e-10;
    if x.abs() < eps && y.abs() < eps {
        if z.abs() < eps {
            return (0.0, 0.0, 0.0);
        }
        return (0.0, z.signum_or_zero() * 90.0, z.abs());
    }
    let ((left_az, left_pos), (right_az, right_pos)) = find_cart_sector(azimuth([x, y, 0.0]));
    // g_lr = [x, y] · inv([[lx, ly], [rx, ry]])
    let (a, b, c, d) = (left_pos[0], left_pos[1], right_pos[0], right_pos[1]);
    let det = a * d - b * c;
    let g_l = (x * d - y * c) / det;
    let g_r = (-x * b + y * a) / det;
    let r_xy = g_l + g_r;
    let rel_left_az = relative_angle(right_az, left_az);
    let az = relative_angle(-180.0, map_linear_to_az(rel_left_az, right_az, g_r / r_xy));
    let el_tilde = (z / r_xy).atan().to_degrees();
    if el_tilde.abs() > EL_TOP_TILDE {
        let abs_el = EL_TOP + (90.0 - EL_TOP) * (el_tilde.abs() - EL_TOP_TILDE) / (90.0 - EL_TOP_TILDE);
        (az, el_tilde.signum_or_zero() * abs_el, z.abs())
    } else {
        (az, EL_TOP * el_tilde / EL_TOP_TILDE, r_xy)
    }
}

fn whd2xyz(width: f64, height: f64, depth: f64) -> (f64, f64, f64) {
    let x_size_width = if width < 180.0 {
        (width / 2.0).to_radians().sin()
    } else {
        1.0
    };
    let y_size_width = (1.0 - (width / 2.0).to_radians().cos()) / 2.0;
    let z_size_height = if height < 180.0 {
        (height / 2.0).to_radians().sin()
    } else {
        1.0
    };
    let y_size_height = (1.0 - (height / 2.0).to_radians().cos()) / 2.0;
    (x_size_width, y_size_width.max(y_size_height).max(depth), z_size_height)
}

fn xyz2whd(sx: f64, sy: f64, sz: f64) -> (f64, f64, f64) {
    let width_from_sx = 2.0 * sx.asin().to_degrees();
    let width_from_sy = 2.0 * (1.0 - 2.0 * sy).acos().to_degrees();
    let width = width_from_sx + sx * (width_from_sy - width_from_sx).max(0.0);
    let height_from_sz = 2.0 * sz.asin().to_degrees();
    let height_from_sy = 2.0 * (1.0 - 2.0 * sy).acos().to_degrees();
    let height = height_from_sz + sz * (height_from_sy - height_from_sz).max(0.0);
    let equiv_y = whd2xyz(width, height, 0.0).1;
    let depth = (sy - equiv_y).max(0.0);
    (width, height, depth)
}

fn rotated_norms(m: [V3; 3], transpose: bool, s: (f64, f64, f64)) -> (f64, f64, f64) {
    // ear: M = local_coordinate_system(az, el)[.T] * [[sx],[sy],[sz]]; norms of columns.
    let mm = if transpose {
        [
            [m[0][0], m[1][0], m[2][0]],
            [m[0][1], m[1][1], m[2][1]],
            [m[0][2], m[1][2], m[2][2]],
        ]
    } else {
        m
    };
    let sc = [s.0, s.1, s.2];
    let col = |c: usize| {
        let v = [mm[0][c] * sc[0], mm[1][c] * sc[1], mm[2][c] * sc[2]];
        (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()
    };
    (col(0), col(1), col(2))
}

/// BS.2127 §10.3: polar position and extent → cartesian (X, Y, Z, width/X, depth/Y, height/Z sizes).
pub fn extent_polar_to_cart(az: f64, el: f64, dist: f64, width: f64, height: f64, depth: f64) -> ([f64; 3], [f64; 3]) {
    let p = point_polar_to_cart(az, el, dist);
    let s = whd2xyz(width, height, depth);
    let (xs, ys, zs) = rotated_norms(local_coordinate_system(az, el), false, s);
    (p, [xs, ys, zs])
}

/// BS.2127 §10.4: cartesian position and sizes (X, Y, Z sizes) → polar
/// (az, el, dist, width, height, depth).
pub fn extent_cart_to_polar(x: f64, y: f64, z: f64, xs: f64, ys: f64, zs: f64) -> (f64, f64, f64, f64, f64, f64) {
    let (az, el, dist) = point_cart_to_polar(x, y, z);
    let (sx, sy, sz) = rotated_norms(local_coordinate_system(az, el), true, (xs, ys, zs));
    let (w, h, d) = xyz2whd(sx, sy, sz);
    (az, el, dist, w, h, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speaker_directions_map_to_cube_corners() {
        let p = point_polar_to_cart(30.0, 0.0, 1.0);
        assert!((p[0] + 1.0).abs() < 1e-12 && (p[1] - 1.0).abs() < 1e-12);
        let p = point_polar_to_cart(-110.0, 0.0, 1.0);
        assert!((p[0] - 1.0).abs() < 1e-12 && (p[1] + 1.0).abs() < 1e-12);
        let p = point_polar_to_cart(0.0, 30.0, 1.0);
        assert!((p[2] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn round_trip() {
        for &(az, el, d) in &[
            (10.0, 5.0, 1.0),
            (-70.0, 20.0, 0.5),
            (150.0, -40.0, 0.9),
            (-179.0, 60.0, 0.3),
        ] {
            let p = point_polar_to_cart(az, el, d);
            let (a, e, dd) = point_cart_to_polar(p[0], p[1], p[2]);
            assert!(
                (a - az).abs() < 1e-9 && (e - el).abs() < 1e-9 && (dd - d).abs() < 1e-9,
                "{az} {el} {d} -> {a} {e} {dd}"
            );
        }
        assert_eq!(point_cart_to_polar(0.0, 0.0, 0.0), (0.0, 0.0, 0.0));
        assert_eq!(point_cart_to_polar(0.0, 0.0, -0.5), (0.0, -90.0, 0.5));
    }
}
