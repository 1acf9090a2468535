//! Small 3-vector geometry in BS.2127's convention: x right, y front, z up;
//! ADM azimuth anticlockwise (positive = left), degrees. The one place where
//! polar and cartesian meet (`cart`, `azimuth`, `elevation`).

pub type V3 = [f64; 3];

#[inline]
pub fn dot(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

#[inline]
pub fn norm(a: V3) -> f64 {
    dot(a, a).sqrt()
}

#[inline]
pub fn sub(a: V3, b: V3) -> V3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

#[inline]
pub fn add(a: V3, b: V3) -> V3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

#[inline]
pub fn scale(a: V3, s: f64) -> V3 {
    [a[0] * s, a[1] * s, a[2] * s]
}

#[inline]
pub fn cross(a: V3, b: V3) -> V3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

/// ADM polar → cartesian (ear `cart`): `x = sin(−az)cos(el)d`, `y = cos(−az)cos(el)d`, `z = sin(el)d`.
#[inline]
pub fn cart(az_deg: f64, el_deg: f64, d: f64) -> V3 {
    let (az, el) = ((-az_deg).to_radians(), el_deg.to_radians());
    [az.sin() * el.cos() * d, az.cos() * el.cos() * d, el.sin() * d]
}

/// Azimuth of a cartesian vector in degrees (ADM convention).
#[inline]
pub fn azimuth(v: V3) -> f64 {
    -(v[0].atan2(v[1])).to_degrees()
}

/// Elevation of a cartesian vector in degrees.
#[inline]
pub fn elevation(v: V3) -> f64 {
    v[2].atan2(v[0].hypot(v[1])).to_degrees()
}

/// `y` shifted by multiples of 360 so that `x ≤ y < x + 360` (ear `relative_angle`).
pub fn relative_angle(x: f64, mut y: f64) -> f64 {
    while y - 360.0 >= x {
        y -= 360.0;
    }
    while y < x {
        y += 360.0;
    }
    y
}

/// Is angle `x` inside `[start, end]` (end clockwise… i.e. anticlockwise from
/// start, ADM convention) within `tol` degrees? (ear `inside_angle_range`)
pub fn inside_angle_range(mut x: f64, start: f64, mut end: f64, tol: f64) -> bool {
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

/// Rows x, y, z of a coordinate system rotated so that +y points at
/// `cart(az, el, 1)` (ear `local_coordinate_system`).
pub fn local_coordinate_system(az: f64, el: f64) -> [V3; 3] {
    [cart(az - 90.0, 0.0, 1.0), cart(az, el, 1.0), cart(az, el + 90.0, 1.0)]
}

/// Unit vector of `p`, or straight ahead when `p` is (nearly) zero (ear `safe_norm_position`).
pub fn safe_norm_position(p: V3) -> V3 {
    let n = norm(p);
    if n < 1e-10 { [0.0, 1.0, 0.0] } else { scale(p, 1.0 / n) }
}

/// `np.interp`: piecewise-linear interpolation through sorted `xp`, clamped at the ends.
pub fn interp(x: f64, xp: &[f64], fp: &[f64]) -> f64 {
    let n = xp.len();
    if n == 0 {
        return f64::NAN;
    }
    if x.is_nan() {
        return f64::NAN;
    }
    if x < xp[0] {
        return fp[0];
    }
    if x >= xp[n - 1] {
        return fp[n - 1];
    }
    // numpy: find j with xp[j] <= x < xp[j+1]
    let mut j = 0;
    while j + 1 < n && xp[j + 1] <= x {
        j += 1;
    }
    if j + 1 >= n {
        return fp[n - 1];
    }
    let (x0, x1, y0, y1) = (xp[j], xp[j + 1], fp[j], fp[j + 1]);
    let slope = (y1 - y0) / (x1 - x0);
    let r = slope * (x - x0) + y0;
    if r.is_nan() {
        // numpy falls back to the other form when the slope is inf/nan
        let r2 = slope * (x - x1) + y1;
        if r2.is_nan() && y0 == y1 { y0 } else { r2 }
    } else {
        r
    }
}

/// Order the vertices of a convex, roughly planar polygon around its centre
/// (ear `ngon_vertex_order`); returns indices like `argsort`.
pub fn ngon_vertex_order(vertices: &[V3]) -> Vec<usize> {
    let n = vertices.len() as f64;
    let mut centre = [0.0; 3];
    for v in vertices {
        centre = add(centre, *v);
    }
    centre = scale(centre, 1.0 / n);
    let a = sub(vertices[0], centre);
    // b: the vertex (relative to the centre) least collinear with a; first minimum wins.
    let mut b = sub(vertices[1], centre);
    let mut best = dot(b, a).abs();
    for v in &vertices[2..] {
        let r = sub(*v, centre);
        let d = dot(r, a).abs();
        if d < best {
            best = d;
            b = r;
        }
    }
    let angles: Vec<f64> = vertices
        .iter()
        .map(|v| {
            let r = sub(*v, centre);
            dot(r, a).atan2(dot(r, b))
        })
        .collect();
    let mut idx: Vec<usize> = (0..vertices.len()).collect();
    // numpy argsort default is quicksort (not stable) but the angles of
    // distinct vertices are distinct; a stable sort is equivalent here.
    idx.sort_by(|&i, &j| angles[i].total_cmp(&angles[j]));
    idx
}

/// Invert a 3×3 matrix (rows); `None` when singular.
pub fn inv3(m: [V3; 3]) -> Option<[V3; 3]> {
    let [a, b, c] = m;
    let det =
        a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) + a[2] * (b[0] * c[1] - b[1] * c[0]);
    if det == 0.0 || !det.is_finite() {
        return None;
    }
    let id = 1.0 / det;
    Some([
        [
            (b[1] * c[2] - b[2] * c[1]) * id,
            (a[2] * c[1] - a[1] * c[2]) * id,
            (a[1] * b[2] - a[2] * b[1]) * id,
        ],
        [
            (b[2] * c[0] - b[0] * c[2]) * id,
            (a[0] * c[2] - a[2] * c[0]) * id,
            (a[2] * b[0] - a[0] * b[2]) * id,
        ],
        [
            (b[0] * c[1] - b[1] * c[0]) * id,
            (a[1] * c[0] - a[0] * c[1]) * id,
            (a[0] * b[1] - a[1] * b[0]) * id,
        ],
    ])
}

/// Row vector times matrix: `v · M` (numpy `np.dot(v, M)`).
#[inline]
pub fn vec_mat(v: V3, m: &[V3; 3]) -> V3 {
    [
        v[0] * m[0][0] + v[1] * m[1][0] + v[2] * m[2][0],
        v[0] * m[0][1] + v[1] * m[1][1] + v[2] * m[2][1],
        v[0] * m[0][2] + v[1] * m[1][2] + v[2] * m[2][2],
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polar_cartesian_round_trip() {
        let v = cart(90.0, 0.0, 1.0);
        assert!((v[0] + 1.0).abs() < 1e-12 && v[1].abs() < 1e-12);
        for &(az, el) in &[(30.0, 10.0), (-120.0, -45.0), (179.0, 80.0)] {
            let v = cart(az, el, 2.0);
            assert!((azimuth(v) - az).abs() < 1e-9 && (elevation(v) - el).abs() < 1e-9);
        }
    }

    #[test]
    fn angle_ranges() {
        assert!(inside_angle_range(0.0, -30.0, 30.0, 0.0));
        assert!(!inside_angle_range(90.0, -30.0, 30.0, 0.0));
        assert!(inside_angle_range(180.0, 170.0, -170.0, 0.0));
        assert!(inside_angle_range(-175.0, -180.0, 180.0, 0.0));
        assert_eq!(relative_angle(-30.0, -110.0), 250.0);
    }

    #[test]
    fn interp_matches_numpy() {
        assert_eq!(interp(5.0, &[0.0, 10.0], &[0.0, 1.0]), 0.5);
        assert_eq!(interp(-1.0, &[0.0, 10.0], &[3.0, 1.0]), 3.0);
        assert_eq!(interp(11.0, &[0.0, 10.0], &[3.0, 1.0]), 1.0);
        assert_eq!(interp(0.5, &[0.0, 0.5, 0.5, 1.0], &[0.0, 1.0, 2.0, 3.0]), 2.0);
    }

    #[test]
    fn matrix_inverse() {
        let m = [[2.0, 0.0, 1.0], [1.0, 3.0, 0.0], [0.0, 1.0, 4.0]];
        let i = inv3(m).unwrap();
        for r in 0..3 {
            let row = vec_mat(m[r], &i);
            for c in 0..3 {
                assert!((row[c] - if r == c { 1.0 } else { 0.0 }).abs() < 1e-12);
            }
        }
    }
}
