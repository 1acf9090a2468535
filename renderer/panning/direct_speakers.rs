//! DirectSpeakers gains, BS.2127 §8 (ear `direct_speakers/panner.py`): the
//! BS.2127 mapping rules for common-definition packs, then routing by
//! speakerLabel, then the closest speaker within the block's bounds, then
//! point-source panning of the position; LFE channels (by label or by a
//! frequency low-pass ≤ 200 Hz) only ever reach LFE outputs and are dropped
//! where the layout has none.

use super::allocentric::AlloPanner;
use super::conversion::point_cart_to_polar;
use super::geom::{V3, cart, inside_angle_range, norm, sub};
use super::point_source::PointSourcePanner;
use super::screen::{PolarEdges, ScreenEdgeLocker};
use crate::adm::elements::{BoundCoordinate, DirectSpeakersBlock, Frequency, Screen, SpeakerPosition};
use crate::layout::{Layout, LayoutError, nominal_speaker_label};

/// What else the panner needs to know about a DirectSpeakers channel.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DirectSpeakersContext {
    /// The audioChannelFormat's `frequency` element.
    pub frequency: Frequency,
    /// The innermost audioPackFormat, when it is an ITU common definition (`AP_0001xxxx`).
    pub common_pack: Option<String>,
}

/// How a DirectSpeakers channel reached the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Routing {
    /// A BS.2127 mapping rule for a common-definition pack.
    MappingRule,
    /// Its speakerLabel names a speaker of the layout.
    Label,
    /// The closest speaker within the block's position bounds.
    Closest,
    /// Point-source panned (no matching speaker).
    Panned,
    /// An LFE channel sent to LFE1 of the layout.
    LfeToLfe1,
    /// An LFE channel on a layout without LFE output: dropped.
    LfeDropped,
}

/// One BS.2127 §8 mapping rule (ear `MappingRule`).
struct Rule {
    label: &'static str,
    gains: &'static [(&'static str, f64)],
    input_layouts: Option<&'static [&'static str]>,
    output_layouts: Option<&'static [&'static str]>,
}

const H: f64 = std::f64::consts::FRAC_1_SQRT_2; // √½
const S13: f64 = 0.577_350_269_189_625_8; // √(1/3)
const S23: f64 = 0.816_496_580_927_726; // √(2/3)
const Q: f64 = 0.5; // √(1/4)
const L2: &[&str] = &["9+10+3", "3+7+0"];
const IN_22: &[&str] = &["9+10+3"];

macro_rules! r {
    ($l:literal, [$(($c:literal, $g:expr)),*]) => {
        Rule { label: $l, gains: &[$(($c, $g)),*], input_layouts: None, output_layouts: None }
    };
    ($l:literal, [$(($c:literal, $g:expr)),*], in $i:expr) => {
        Rule { label: $l, gains: &[$(($c, $g)),*], input_layouts: Some($i), output_layouts: None }
    };
    ($l:literal, [$(($c:literal, $g:expr)),*], in $i:expr, out $o:expr) => {
        Rule { label: $l, gains: &[$(($c, $g)),*], input_layouts: Some($i), output_layouts: Some($o) }
    };
}

/// BS.2127 Table 8 (ear `rules` before symmetric expansion).
static BASE_RULES: &[Rule] = &[
    r!("M+000", [("M+000", 1.0)]),
    r!("M+000", [("M+030", H), ("M-030", H)]),
    r!("M+060", [("M+060", 1.0)]),
    r!("M+060", [("M+030", S23), ("M+110", S13)]),
    r!("M+060", [("M+030", H), ("M+090", H)]),
    r!("M+060", [("M+030", 1.0)]),
    r!("M+090", [("M+090", 1.0)]),
    r!("M+090", [("M+030", S13), ("M+110", S23)], in IN_22),
    r!("M+090", [("M+030", H), ("M+110", H)]),
    r!("M+090", [("M+030", H)]),
    r!("M+110", [("M+110", 1.0)]),
    r!("M+110", [("M+135", 1.0)]),
    r!("M+110", [("M+030", H)]),
    r!("M+135", [("M+135", 1.0)]),
    r!("M+135", [("M+110", 1.0)]),
    r!("M+135", [("M+030", H)]),
    r!("M+180", [("M+180", 1.0)]),
    r!("M+180", [("M+135", H), ("M-135", H)]),
    r!("M+180", [("M+110", H), ("M-110", H)]),
    r!("M+180", [("M+030", Q), ("M-030", Q)]),
    r!("U+000", [("U+000", 1.0)]),
    r!("U+000", [("U+030", H), ("U-030", H)]),
    r!("U+000", [("U+045", H), ("U-045", H)]),
    r!("U+000", [("M+000", 1.0)]),
    r!("U+000", [("M+030", H), ("M-030", H)]),
    r!("U+030", [("U+030", 1.0)]),
    r!("U+030", [("U+045", 1.0)]),
    r!("U+030", [("M+030", 1.0)]),
    r!("U+045", [("U+045", 1.0)]),
    r!("U+045", [("U+030", 1.0)]),
    r!("U+045", [("M+030", 1.0)]),
    r!("U+090", [("U+090", 1.0)]),
    r!("U+090", [("U+045", S23), ("UH+180", S13)], in IN_22),
    r!("U+090", [("U+030", H), ("U+110", H)]),
    r!("U+090", [("U+045", H), ("U+135", H)]),
    r!("U+090", [("M+090", 1.0)]),
    r!("U+090", [("U+030", H), ("M+110", H)]),
    r!("U+090", [("M+030", H), ("M+110", H)]),
    r!("U+090", [("M+030", H)]),
    r!("U+110", [("U+110", 1.0)]),
    r!("U+110", [("U+135", 1.0)]),
    r!("U+110", [("U+045", H), ("UH+180", H)]),
    r!("U+110", [("M+110", 1.0)]),
    r!("U+110", [("M+135", 1.0)]),
    r!("U+110", [("M+030", H)]),
    r!("U+135", [("U+135", 1.0)]),
    r!("U+135", [("U+110", 1.0)]),
    r!("U+135", [("U+045", S13), ("UH+180", S23)], in IN_22),
    r!("U+135", [("U+045", H), ("UH+180", H)]),
    r!("U+135", [("M+135", 1.0)]),
    r!("U+135", [("M+110", 1.0)]),
    r!("U+135", [("M+030", H)]),
    r!("U+180", [("U+180", 1.0)]),
    r!("U+180", [("UH+180", 1.0)]),
    r!("U+180", [("U+135", H), ("U-135", H)]),
    r!("U+180", [("U+110", H), ("U-110", H)]),
    r!("U+180", [("M+135", H), ("M-135", H)]),
    r!("U+180", [("M+110", H), ("M-110", H)]),
    r!("U+180", [("M+030", Q), ("M-030", Q)]),
    r!("UH+180", [("UH+180", 1.0)]),
    r!("UH+180", [("U+180", 1.0)]),
    r!("UH+180", [("U+135", H), ("U-135", H)]),
    r!("UH+180", [("U+110", H), ("U-110", H)]),
    r!("UH+180", [("M+135", H), ("M-135", H)]),
    r!("UH+180", [("M+110", H), ("M-110", H)]),
    r!("UH+180", [("M+030", Q), ("M-030", Q)]),
    r!("T+000", [("T+000", 1.0)]),
    r!("T+000", [("U+045", Q), ("U-045", Q), ("U+135", Q), ("U-135", Q)]),
    r!("T+000", [("U+030", Q), ("U-030", Q), ("U+110", Q), ("U-110", Q)]),
    r!("T+000", [("U+045", S13), ("U-045", S13), ("UH+180", S13)]),
    r!("T+000", [("U+045", Q), ("U-045", Q), ("M+135", Q), ("M-135", Q)]),
    r!("T+000", [("U+030", Q), ("U-030", Q), ("M+110", Q), ("M-110", Q)]),
    r!("T+000", [("M+030", Q), ("M-030", Q), ("M+135", Q), ("M-135", Q)]),
    r!("T+000", [("M+030", Q), ("M-030", Q), ("M+110", Q), ("M-110", Q)]),
    r!("T+000", [("M+030", Q), ("M-030", Q)]),
    r!("B+000", [("B+000", 1.0)]),
    r!("B+000", [("M+000", 1.0)]),
    r!("B+000", [("M+030", H), ("M-030", H)]),
    r!("B+045", [("B+045", 1.0)]),
    r!("B+045", [("M+030", 1.0)]),
    r!("LFE1", [("LFE1", 1.0)], in L2, out L2),
    r!("LFE2", [("LFE2", 1.0)], in L2, out L2),
    r!("LFE1", [("LFE1", H)], in L2),
    r!("LFE2", [("LFE1", H)], in L2),
    r!("LFE1", [("LFE1", 1.0)]),
];

/// ITU common-definition packs the mapping rules apply to, with their layout.
const ITU_PACKS: &[(&str, &str)] = &[
    ("AP_00010001", "0+1+0"),
    ("AP_00010002", "0+2+0"),
    ("AP_0001000c", "0+5+0"),
    ("AP_00010003", "0+5+0"),
    ("AP_00010004", "2+5+0"),
    ("AP_00010005", "4+5+0"),
    ("AP_00010010", "4+5+1"),
    ("AP_00010007", "3+7+0"),
    ("AP_00010008", "4+9+0"),
    ("AP_00010009", "9+10+3"),
    ("AP_0001000f", "0+7+0"),
    ("AP_00010017", "4+7+0"),
];

/// A rule after symmetric expansion (owned labels).
struct ExpandedRule {
    label: String,
    gains: Vec<(String, f64)>,
    input_layouts: Option<&'static [&'static str]>,
    output_layouts: Option<&'static [&'static str]>,
}

fn opposite(name: &str) -> String {
    if name.ends_with("000") || name.ends_with("180") {
        name.to_string()
    } else if name.contains('+') {
        name.replace('+', "-")
    } else {
        name.replace('-', "+")
    }
}

fn expanded_rules() -> Vec<ExpandedRule> {
    let mut out = Vec::new();
    for r in BASE_RULES {
        let a = ExpandedRule {
            label: r.label.to_string(),
            gains: r.gains.iter().map(|(c, g)| (c.to_string(), *g)).collect(),
            input_layouts: r.input_layouts,
            output_layouts: r.output_layouts,
        };
        let b = ExpandedRule {
            label: opposite(r.label),
            gains: r.gains.iter().map(|(c, g)| (opposite(c), *g)).collect(),
            input_layouts: r.input_layouts,
            output_layouts: r.output_layouts,
        };
        let mut sa: Vec<(String, u64)> = a.gains.iter().map(|(c, g)| (c.clone(), g.to_bits())).collect();
        let mut sb: Vec<(String, u64)> = b.gains.iter().map(|(c, g)| (c.clone(), g.to_bits())).collect();
        sa.sort();
        sb.sort();
        let differs = a.label != b.label || sa != sb;
        out.push(a);
        if differs {
            out.push(b);
        }
    }
    out
}

/// DirectSpeakers panner for one layout.
pub struct DirectSpeakersPanner {
    n: usize,
    bs2051: Vec<Option<String>>,
    is_lfe: Vec<bool>,
    system: Option<&'static str>,
    nominal_az: Vec<f64>,
    nominal_el: Vec<f64>,
    nominal_positions: Vec<V3>,
    allo_positions: Option<Vec<V3>>,
    non_lfe: Vec<usize>,
    psp: PointSourcePanner,
    allo_psp: Option<AlloPanner>,
    edge_locker: ScreenEdgeLocker,
    rules: Vec<ExpandedRule>,
}

impl DirectSpeakersPanner {
    pub fn new(layout: &Layout) -> Result<Self, LayoutError> {
        let psp = PointSourcePanner::new(layout)?;
        let non_lfe: Vec<usize> = layout
            .speakers
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.lfe)
            .map(|(i, _)| i)
            .collect();
        let allo_positions: Option<Vec<V3>> = if layout.has_allocentric() {
            Some(
                layout
                    .speakers
                    .iter()
                    .map(|s| s.allocentric.unwrap_or([-1.0, 1.0, -1.0]))
                    .collect(),
            )
        } else {
            None
        };
        let allo_psp = match &allo_positions {
            Some(p) => {
                let nl: Vec<V3> = non_lfe.iter().map(|&i| p[i]).collect();
                Some(AlloPanner::new(&nl).map_err(|(_, b)| LayoutError::Speaker {
                    path: layout.source.clone(),
                    speaker: layout.speakers[non_lfe[b]].label.clone(),
                    message: "two speakers share an allocentric position".into(),
                })?)
            }
            None => None,
        };
        let rep = PolarEdges::from_screen(&Screen::DEFAULT).ok();
        Ok(DirectSpeakersPanner {
            n: layout.speakers.len(),
            bs2051: layout.speakers.iter().map(|s| s.bs2051.clone()).collect(),
            is_lfe: layout.is_lfe(),
            system: layout.bs2051_system(),
            nominal_az: layout.speakers.iter().map(|s| s.nominal_azimuth).collect(),
            nominal_el: layout.speakers.iter().map(|s| s.nominal_elevation).collect(),
            nominal_positions: layout
                .speakers
                .iter()
                .map(|s| cart(s.nominal_azimuth, s.nominal_elevation, 1.0))
                .collect(),
            allo_positions,
            non_lfe,
            psp,
            allo_psp,
            // ear builds this handler with the full layout; only `U+045` matters.
            edge_locker: ScreenEdgeLocker::new(rep, layout.has_bs2051("U+045")),
            rules: expanded_rules(),
        })
    }

    /// Number of outputs (the layout's speakers, LFE included).
    pub fn num_outputs(&self) -> usize {
        self.n
    }

    fn index_of(&self, bs2051: &str) -> Option<usize> {
        self.bs2051.iter().position(|l| l.as_deref() == Some(bs2051))
    }

    /// Is this an LFE channel (BS.2127 §8: label LFE1/LFE2 or frequency low-pass ≤ 200 Hz)?
    pub fn is_lfe_channel(block: &DirectSpeakersBlock, ctx: &DirectSpeakersContext) -> bool {
        ctx.frequency.is_lfe()
            || block
                .speaker_labels
                .iter()
                .any(|l| matches!(nominal_speaker_label(l).as_str(), "LFE1" | "LFE2"))
    }

    /// Gains for one DirectSpeakers block into `out` (len = layout speakers).
    pub fn calc(&self, block: &DirectSpeakersBlock, ctx: &DirectSpeakersContext, out: &mut [f64]) -> Routing {
        let routing = self.calc_unscaled(block, ctx, out);
        if block.gain != 1.0 {
            for v in out[..self.n].iter_mut() {
                *v *= block.gain;
            }
        }
        routing
    }

    fn calc_unscaled(&self, block: &DirectSpeakersBlock, ctx: &DirectSpeakersContext, out: &mut [f64]) -> Routing {
        let tol = 1e-5;
        let out = &mut out[..self.n];
        out.fill(0.0);
        let is_lfe = Self::is_lfe_channel(block, ctx);

        // BS.2127 §8.3 mapping rules for ITU common-definition packs.
        if let (Some(pack), Some(first)) = (&ctx.common_pack, block.speaker_labels.first())
            && let Some((_, in_layout)) = ITU_PACKS.iter().find(|(p, _)| p.eq_ignore_ascii_case(pack))
        {
            let label = nominal_speaker_label(first);
            for rule in &self.rules {
                if rule.input_layouts.is_some_and(|l| !l.contains(in_layout)) {
                    continue;
                }
                if rule
                    .output_layouts
                    .is_some_and(|l| !self.system.is_some_and(|s| l.contains(&s)))
                {
                    continue;
                }
                if rule.label != label {
                    continue;
                }
                let idx: Option<Vec<usize>> = rule.gains.iter().map(|(c, _)| self.index_of(c)).collect();
                if let Some(idx) = idx {
                    for (k, &i) in idx.iter().enumerate() {
                        out[i] = rule.gains[k].1;
                    }
                    return Routing::MappingRule;
                }
            }
        }

        // Route by speakerLabel (earlier labels first), matching LFE-ness.
        for l in &block.speaker_labels {
            let nominal = nominal_speaker_label(l);
            if let Some(i) = self.index_of(&nominal)
                && is_lfe == self.is_lfe[i]
            {
                out[i] = 1.0;
                return Routing::Label;
            }
        }

        // Screen edge lock, then the closest speaker within bounds.
        let cart_block = matches!(block.position, SpeakerPosition::Cartesian { .. });
        let use_allo = cart_block && self.allo_positions.is_some();
        let shifted = self.shift_to_screen_edge(block);
        let within: Vec<bool> = (0..self.n)
            .map(|i| self.within_bounds(&shifted, use_allo, i, tol) && self.is_lfe[i] == is_lfe)
            .collect();
        if within.iter().any(|&w| w) {
            let target = position_vector(&shifted, use_allo);
            let positions: &[V3] = if use_allo {
                self.allo_positions.as_deref().unwrap_or(&self.nominal_positions)
            } else {
                &self.nominal_positions
            };
            let cands: Vec<usize> = (0..self.n).filter(|&i| within[i]).collect();
            let dists: Vec<f64> = cands.iter().map(|&i| norm(sub(positions[i], target))).collect();
            // argmin (first minimum), unique within tol
            let mut mi = 0;
            for k in 1..dists.len() {
                if dists[k] < dists[mi] {
                    mi = k;
                }
            }
            let min = dists[mi];
            if dists.iter().filter(|&&d| (min - d).abs() < tol).count() == 1 {
                out[cands[mi]] = 1.0;
                return Routing::Closest;
            }
        }

        if is_lfe {
            return match self.index_of("LFE1") {
                Some(i) => {
                    out[i] = 1.0;
                    Routing::LfeToLfe1
                }
                None => Routing::LfeDropped,
            };
        }
        let mut g = [0.0f64; super::point_source::MAX_PANNER_CHANNELS];
        let nl = self.non_lfe.len();
        match (&self.allo_psp, use_allo) {
            (Some(ap), true) => ap.handle(position_vector(&shifted, true), &mut g[..nl]),
            _ => {
                self.psp.handle(position_vector(&shifted, false), &mut g[..nl]);
            }
        }
        for (k, &i) in self.non_lfe.iter().enumerate() {
            out[i] = g[k];
        }
        Routing::Panned
    }

    /// Apply screenEdgeLock to the position values (bounds kept); cartesian
    /// positions become polar when the layout has no allocentric positions.
    fn shift_to_screen_edge(&self, block: &DirectSpeakersBlock) -> SpeakerPosition {
        match block.position {
            SpeakerPosition::Polar {
                azimuth,
                elevation,
                distance,
            } => {
                let (az, el) = self
                    .edge_locker
                    .lock_az_el(azimuth.value, elevation.value, &block.screen_edge_lock);
                SpeakerPosition::Polar {
                    azimuth: BoundCoordinate { value: az, ..azimuth },
                    elevation: BoundCoordinate { value: el, ..elevation },
                    distance,
                }
            }
            SpeakerPosition::Cartesian { x, y, z } => {
                let v = self
                    .edge_locker
                    .handle_vector([x.value, y.value, z.value], &block.screen_edge_lock, true);
                if self.allo_positions.is_some() {
                    SpeakerPosition::Cartesian {
                        x: BoundCoordinate { value: v[0], ..x },
                        y: BoundCoordinate { value: v[1], ..y },
                        z: BoundCoordinate { value: v[2], ..z },
                    }
                } else {
                    let (az, el, d) = point_cart_to_polar(v[0], v[1], v[2]);
                    SpeakerPosition::Polar {
                        azimuth: BoundCoordinate::exact(az),
                        elevation: BoundCoordinate::exact(el),
                        distance: BoundCoordinate::exact(d),
                    }
                }
            }
        }
    }

    fn within_bounds(&self, pos: &SpeakerPosition, use_allo: bool, i: usize, tol: f64) -> bool {
        let mm = |b: &BoundCoordinate| (b.min.unwrap_or(b.value), b.max.unwrap_or(b.value));
        match pos {
            SpeakerPosition::Polar {
                azimuth,
                elevation,
                distance,
            } => {
                let (az0, az1) = mm(azimuth);
                let (el0, el1) = mm(elevation);
                let (d0, d1) = mm(distance);
                let (a, e, d) = (self.nominal_az[i], self.nominal_el[i], 1.0);
                (inside_angle_range(a, az0, az1, tol) || e.abs() >= 90.0 - tol)
                    && e > el0 - tol
                    && e < el1 + tol
                    && d > d0 - tol
                    && d < d1 + tol
            }
            SpeakerPosition::Cartesian { x, y, z } => {
                let Some(allo) = self.allo_positions.as_ref().filter(|_| use_allo) else {
                    return false;
                };
                let p = allo[i];
                [mm(x), mm(y), mm(z)]
                    .iter()
                    .enumerate()
                    .all(|(a, (lo, hi))| p[a] + tol >= *lo && p[a] - tol <= *hi)
            }
        }
    }
}

fn position_vector(pos: &SpeakerPosition, _allo: bool) -> V3 {
    match pos {
        SpeakerPosition::Polar {
            azimuth,
            elevation,
            distance,
        } => cart(azimuth.value, elevation.value, distance.value),
        SpeakerPosition::Cartesian { x, y, z } => [x.value, y.value, z.value],
    }
}
