//! zoneExclusion, BS.2127 §7.3.12 (ear `objectbased/zone.py` and
//! `ZoneExclusionHandler`): which speakers a zone excludes, and the downmix
//! that moves their energy to the nearest group of remaining speakers.

use super::geom::{V3, cart, inside_angle_range, norm, sub};
use crate::adm::elements::Zone;

/// A speaker as zone exclusion sees it: nominal direction.
#[derive(Clone, Copy, Debug)]
pub struct ZoneSpeaker {
    pub nominal_azimuth: f64,
    pub nominal_elevation: f64,
}

/// Precomputed priority groups per speaker.
#[derive(Clone, Debug)]
pub struct ZoneExclusion {
    azimuths: Vec<f64>,
    elevations: Vec<f64>,
    positions: Vec<V3>,
    /// For each speaker, groups of other speakers in priority order.
    pub(crate) groups: Vec<Vec<Vec<usize>>>,
}

fn layer(el: f64) -> usize {
    if el < -10.0 {
        0
    } else if el < 10.0 {
        1
    } else if el < 75.0 {
        2
    } else {
        3
    }
}

const LAYER_PRIO: [[usize; 4]; 4] = [[0, 1, 2, 3], [3, 0, 1, 2], [3, 2, 0, 1], [3, 2, 1, 0]];

impl ZoneExclusion {
    pub fn new(speakers: &[ZoneSpeaker]) -> Self {
        let eps = 1e-6;
        let sign = |x: f64| -> i32 {
            if x > eps {
                1
            } else if x < -eps {
                -1
            } else {
                0
            }
        };
        let positions: Vec<V3> = speakers
            .iter()
            .map(|s| cart(s.nominal_azimuth, s.nominal_elevation, 1.0))
            .collect();
        let n = speakers.len();
        let mut groups = Vec::with_capacity(n);
        for i in 0..n {
            let key = |j: usize| -> [f64; 4] {
                let lp = LAYER_PRIO[layer(speakers[i].nominal_elevation)][layer(speakers[j].nominal_elevation)];
                let fb = (sign(positions[i][1]) - sign(positions[j][1])).abs();
                let dist = norm(sub(positions[i], positions[j]));
                let fbd = (positions[i][1] - positions[j][1]).abs();
                [lp as f64, fb as f64, dist, fbd]
            };
            let mut uniq: Vec<([f64; 4], Vec<usize>)> = Vec::new();
            for j in 0..n {
                let k = key(j);
                match uniq
                    .iter_mut()
                    .find(|(gk, _)| gk.iter().zip(k.iter()).all(|(a, b)| (a - b).abs() < eps))
                {
                    Some((_, g)) => g.push(j),
                    None => uniq.push((k, vec![j])),
                }
            }
            // Python sorts the (key, values) tuples: by key lexicographically
            // (then by the value lists, which never matter as keys differ).
            uniq.sort_by(|a, b| {
                for t in 0..4 {
                    match a.0[t].total_cmp(&b.0[t]) {
                        std::cmp::Ordering::Equal => continue,
                        o => return o,
                    }
                }
                a.1.cmp(&b.1)
            });
            groups.push(uniq.into_iter().map(|(_, g)| g).collect());
        }
        ZoneExclusion {
            azimuths: speakers.iter().map(|s| s.nominal_azimuth).collect(),
            elevations: speakers.iter().map(|s| s.nominal_elevation).collect(),
            positions,
            groups,
        }
    }

    /// Speakers excluded by any of `zones` (nominal positions, 1e-6 tolerance).
    pub fn excluded(&self, zones: &[Zone], out: &mut [bool]) {
        let eps = 1e-6;
        out.fill(false);
        for z in zones {
            for (i, ex) in out.iter_mut().enumerate() {
                let hit = match *z {
                    Zone::Cartesian {
                        min_x,
                        max_x,
                        min_y,
                        max_y,
                        min_z,
                        max_z,
                    } => {
                        let p = self.positions[i];
                        p[0] - eps < max_x
                            && p[1] - eps < max_y
                            && p[2] - eps < max_z
                            && p[0] + eps > min_x
                            && p[1] + eps > min_y
                            && p[2] + eps > min_z
                    }
                    Zone::Polar {
                        min_elevation,
                        max_elevation,
                        min_azimuth,
                        max_azimuth,
                    } => {
                        let el = self.elevations[i];
                        el - eps < max_elevation
                            && el + eps > min_elevation
                            && (el.abs() > 90.0 - eps
                                || inside_angle_range(self.azimuths[i], min_azimuth, max_azimuth, eps))
                    }
                };
                *ex |= hit;
            }
        }
    }

    /// Apply the downmix for `excluded` to power gains: g'[j] = √(Σ_i g[i]² M[i][j]).
    pub fn apply(&self, gains: &mut [f64], excluded: &[bool]) {
        let n = gains.len();
        if excluded.iter().all(|&e| e) || excluded.iter().all(|&e| !e) {
            return;
        }
        let mut acc = [0.0f64; super::point_source::MAX_PANNER_CHANNELS];
        let acc = &mut acc[..n];
        for i in 0..n {
            let gi2 = gains[i] * gains[i];
            for group in &self.groups[i] {
                let remaining = group.iter().filter(|&&j| !excluded[j]).count();
                if remaining > 0 {
                    let c = 1.0 / remaining as f64;
                    for &j in group.iter().filter(|&&j| !excluded[j]) {
                        acc[j] += gi2 * c;
                    }
                    break;
                }
            }
        }
        for j in 0..n {
            gains[j] = acc[j].sqrt();
        }
    }
}
