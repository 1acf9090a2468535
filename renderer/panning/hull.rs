//! Convex hull facets of a small point set (speaker directions plus virtual
//! speakers), with coplanar triangles merged into one facet — what ear gets
//! from Qhull (`_convex_hull_facets`: triangles whose plane equations differ
//! by less than 1e-5 are merged). Brute force over all triples: layouts have
//! at most a few hundred points and this runs once per layout.

use super::geom::{V3, cross, dot, norm, scale, sub};

/// A facet: its vertex indices (ascending) and outward plane `n·x + d = 0`.
#[derive(Clone, Debug, PartialEq)]
pub struct Facet {
    pub verts: Vec<usize>,
    pub normal: V3,
    pub offset: f64,
}

/// Facets of the convex hull of `points`; `None` when the points do not span
/// three dimensions.
pub fn convex_hull_facets(points: &[V3]) -> Option<Vec<Facet>> {
    let n = points.len();
    if n < 4 {
        return None;
    }
    // Scale-aware tolerance for "on the plane".
    const SIDE_EPS: f64 = 1e-9;
    const MERGE_EPS: f64 = 1e-5;
    let mut facets: Vec<Facet> = Vec::new();
    for i in 0..n {
        for j in i + 1..n {
            for k in j + 1..n {
                let nrm = cross(sub(points[j], points[i]), sub(points[k], points[i]));
                let len = norm(nrm);
                if len < 1e-12 {
                    continue;
                }
                let mut nv = scale(nrm, 1.0 / len);
                let mut off = -dot(nv, points[i]);
                let (mut pos, mut neg) = (false, false);
                for p in points {
                    let s = dot(nv, *p) + off;
                    if s > SIDE_EPS {
                        pos = true;
                    } else if s < -SIDE_EPS {
                        neg = true;
                    }
                    if pos && neg {
                        break;
                    }
                }
                if pos && neg {
                    continue;
                }
                if !neg && !pos {
                    // all points coplanar
                    return None;
                }
                if pos {
                    nv = scale(nv, -1.0);
                    off = -off;
                }
                let eq = [nv[0], nv[1], nv[2], off];
                let tri = [i, j, k];
                let found = facets.iter_mut().find(|f| {
                    let d = [
                        f.normal[0] - eq[0],
                        f.normal[1] - eq[1],
                        f.normal[2] - eq[2],
                        f.offset - eq[3],
                    ];
                    (d[0] * d[0] + d[1] * d[1] + d[2] * d[2] + d[3] * d[3]).sqrt() < MERGE_EPS
                });
                match found {
                    Some(f) => {
                        for v in tri {
                            if !f.verts.contains(&v) {
                                f.verts.push(v);
                            }
                        }
                        f.verts.sort_unstable();
                    }
                    None => facets.push(Facet {
                        verts: tri.to_vec(),
                        normal: nv,
                        offset: off,
                    }),
                }
            }
        }
    }
    if facets.is_empty() { None } else { Some(facets) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cube_has_six_quad_facets() {
        let mut pts = Vec::new();
        for x in [-1.0, 1.0] {
            for y in [-1.0, 1.0] {
                for z in [-1.0, 1.0] {
                    pts.push([x, y, z]);
                }
            }
        }
        let f = convex_hull_facets(&pts).unwrap();
        assert_eq!(f.len(), 6);
        assert!(f.iter().all(|f| f.verts.len() == 4 && f.offset < 0.0));
    }

    #[test]
    fn octahedron_has_eight_triangles_and_planar_sets_fail() {
        let pts = [
            [1.0, 0.0, 0.0],
            [-1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, -1.0, 0.0],
            [0.0, 0.0, 1.0],
            [0.0, 0.0, -1.0],
        ];
        let f = convex_hull_facets(&pts).unwrap();
        assert_eq!(f.len(), 8);
        let flat = [[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, -1.0, 0.0]];
        assert!(convex_hull_facets(&flat).is_none());
    }
}
