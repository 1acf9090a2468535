//! Properties of the gains on every shipped layout (9.1.6 and the theatre
//! included, which ear cannot render): non-negative and finite, unit power,
//! a source on a speaker drives it alone, small moves give small changes,
//! left/right mirror symmetry, objects never reach LFE.

use crate::common::{cartesian, polar};
use admix::layout::Layout;
use admix::panning::{GainCalc, ObjectContext};

fn is_stereo_rule(l: &Layout) -> bool {
    l.speakers.iter().filter(|s| !s.lfe).count() == 2
}

fn directions() -> Vec<(f64, f64)> {
    let mut d = Vec::new();
    let mut el = -90.0;
    while el <= 90.0 {
        let mut az = -180.0;
        while az <= 180.0 {
            d.push((az, el));
            az += 7.0;
        }
        el += 11.25;
    }
    d
}

#[test]
fn point_source_gains_are_nonnegative_unit_power_and_never_reach_lfe() {
    let ctx = ObjectContext::default();
    for layout in Layout::all_builtin().unwrap() {
        let gc = GainCalc::new(&layout).unwrap();
        for (az, el) in directions() {
            let g = gc.calc_alloc(&polar(az, el), &ctx);
            let power: f64 = g.direct.iter().map(|v| v * v).sum();
            for (i, s) in layout.speakers.iter().enumerate() {
                let v = g.direct[i];
                assert!(
                    v.is_finite() && v >= 0.0,
                    "{} az {az} el {el}: speaker {} gain {v}",
                    layout.name,
                    s.label
                );
                if s.lfe {
                    assert_eq!(v, 0.0, "{}: object reached LFE {}", layout.name, s.label);
                }
            }
            if is_stereo_rule(&layout) {
                // ear's 0+2+0 rule: level falls by up to 3 dB towards the back
                assert!(
                    (0.5 - 1e-9..=1.0 + 1e-9).contains(&power),
                    "{} az {az} el {el}: power {power}",
                    layout.name
                );
            } else {
                assert!(
                    (power - 1.0).abs() < 1e-9,
                    "{} az {az} el {el}: power {power}",
                    layout.name
                );
            }
        }
        // Cartesian (allocentric) point sources: unit power everywhere in the cube.
        for x in [-1.0, -0.6, -0.1, 0.0, 0.35, 1.0] {
            for y in [-1.0, -0.5, 0.0, 0.2, 0.9, 1.0] {
                for z in [-1.0, 0.0, 0.3, 1.0] {
                    let g = gc.calc_alloc(&cartesian(x, y, z), &ctx);
                    let power: f64 = g.direct.iter().map(|v| v * v).sum();
                    assert!(
                        (power - 1.0).abs() < 1e-9,
                        "{} ({x},{y},{z}): power {power}",
                        layout.name
                    );
                    assert!(g.direct.iter().all(|v| v.is_finite() && *v >= 0.0));
                }
            }
        }
    }
}

#[test]
fn a_source_on_a_speaker_drives_it_alone() {
    let ctx = ObjectContext::default();
    for layout in Layout::all_builtin().unwrap() {
        let gc = GainCalc::new(&layout).unwrap();
        for (i, s) in layout.speakers.iter().enumerate().filter(|(_, s)| !s.lfe) {
            let mut cases = vec![("polar", polar(s.azimuth, s.elevation))];
            // layouts without allocentric positions convert cartesian objects to polar
            if let Some(a) = s.allocentric {
                cases.push(("cartesian", cartesian(a[0], a[1], a[2])));
            }
            for (kind, block) in cases {
                let g = gc.calc_alloc(&block, &ctx);
                for (k, v) in g.direct.iter().enumerate() {
                    let want = if k == i { 1.0 } else { 0.0 };
                    assert!(
                        (v - want).abs() < 1e-9,
                        "{} {kind} source on {}: speaker {} gain {v}",
                        layout.name,
                        s.label,
                        layout.speakers[k].label
                    );
                }
            }
        }
    }
}

#[test]
fn small_moves_give_small_changes() {
    let ctx = ObjectContext::default();
    for layout in Layout::all_builtin().unwrap() {
        let gc = GainCalc::new(&layout).unwrap();
        for el in [-60.0, -20.0, 0.0, 15.0, 35.0, 70.0] {
            let mut prev = gc.calc_alloc(&polar(-180.0, el), &ctx).direct;
            let mut az: f64 = -180.0;
            while az < 180.0 {
                az += 0.25;
                let g = gc.calc_alloc(&polar(az.min(180.0), el), &ctx).direct;
                let d = g.iter().zip(&prev).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
                assert!(
                    d < 0.05,
                    "{} el {el}: step to az {az} changes a gain by {d}",
                    layout.name
                );
                prev = g;
            }
        }
    }
}

#[test]
fn symmetric_layouts_pan_symmetrically() {
    let ctx = ObjectContext::default();
    for layout in Layout::all_builtin().unwrap() {
        // mirror map: speaker at (−az, el)
        let mirror: Option<Vec<usize>> = layout
            .speakers
            .iter()
            .map(|s| {
                if s.lfe {
                    return layout.speakers.iter().position(|o| std::ptr::eq(o, s));
                }
                layout.speakers.iter().position(|o| {
                    !o.lfe
                        && (o.elevation - s.elevation).abs() < 1e-9
                        && ((o.azimuth + s.azimuth).abs() < 1e-9
                            || (s.azimuth.abs() == 180.0 && o.azimuth.abs() == 180.0))
                })
            })
            .collect();
        let Some(mirror) = mirror else {
            continue;
        };
        let gc = GainCalc::new(&layout).unwrap();
        for (az, el) in directions() {
            let a = gc.calc_alloc(&polar(az, el), &ctx).direct;
            let b = gc.calc_alloc(&polar(-az, el), &ctx).direct;
            for i in 0..a.len() {
                assert!(
                    (a[i] - b[mirror[i]]).abs() < 1e-9,
                    "{} az {az} el {el}: {} = {} but mirrored {} = {}",
                    layout.name,
                    layout.speakers[i].label,
                    a[i],
                    layout.speakers[mirror[i]].label,
                    b[mirror[i]]
                );
            }
        }
    }
}
