//! Speaker layouts: the shipped `speaker-layouts/*.toml` files (embedded in
//! the binary) and users' own TOML files. Takes a name, alias or path;
//! produces a validated [`Layout`]; refuses files with duplicate labels,
//! non-finite or out-of-range angles, no non-LFE speaker, or allocentric
//! positions outside the room cube — each error naming the file and speaker.
//!
//! Schema (DESIGN.md): `name`, `aliases`, `description`, then one
//! `[[speaker]]` per output channel in channel order with `label`, optional
//! `bs2051`, `azimuth`, `elevation`, `distance`, `lfe`, optional
//! `allocentric = [X, Y, Z]`, and optional `nominal = [azimuth, elevation]`
//! (the BS.2051 nominal direction when the speaker stands elsewhere, as in
//! ear's real-layout files; defaults to the real direction).

use serde::Deserialize;
use std::path::Path;

/// A speaker (output channel) of a layout.
#[derive(Clone, Debug, PartialEq)]
pub struct Speaker {
    /// Output channel name (split files are `<stem>.<label>.wav`).
    pub label: String,
    /// BS.2051 label (`M+030`, `LFE1`, …) used to route DirectSpeakers beds.
    pub bs2051: Option<String>,
    /// Real direction, ADM convention (degrees, azimuth anticlockwise).
    pub azimuth: f64,
    pub elevation: f64,
    pub distance: f64,
    /// Nominal direction (BS.2127 uses it for triangulation, layers, zones and
    /// DirectSpeakers matching).
    pub nominal_azimuth: f64,
    pub nominal_elevation: f64,
    pub lfe: bool,
    /// Room-centric position in the unit cube (BS.2127 allocentric panning).
    pub allocentric: Option<[f64; 3]>,
}

/// A speaker layout.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    pub name: String,
    pub aliases: Vec<String>,
    pub description: String,
    pub speakers: Vec<Speaker>,
    /// Where it came from: `built-in` or the file path.
    pub source: String,
}

/// Why a layout could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("unknown layout {name:?}: not a built-in layout name or alias (see `admix layouts`), and no such file")]
    Unknown { name: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a valid layout file: {message}")]
    Syntax { path: String, message: String },
    #[error("{path}: speaker {speaker:?}: {message}")]
    Speaker {
        path: String,
        speaker: String,
        message: String,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LayoutFile {
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    description: String,
    #[serde(rename = "speaker")]
    speakers: Vec<SpeakerFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpeakerFile {
    label: String,
    bs2051: Option<String>,
    azimuth: f64,
    elevation: f64,
    #[serde(default = "one")]
    distance: f64,
    #[serde(default)]
    lfe: bool,
    allocentric: Option<[f64; 3]>,
    nominal: Option<[f64; 2]>,
}

fn one() -> f64 {
    1.0
}

macro_rules! builtin_layouts {
    ($($file:literal),* $(,)?) => {
        /// The shipped layout files, in the order `admix layouts` lists them.
        const BUILTIN: &[(&str, &str)] = &[
            $(($file, include_str!(concat!("../../speaker-layouts/", $file, ".toml")))),*
        ];
    };
}

builtin_layouts!(
    "2.0",
    "5.1",
    "7.1",
    "5.1.2",
    "5.1.4",
    "7.1.2",
    "7.1.4",
    "9.1.4",
    "9.1.6",
    "theatre",
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
    "binaural-virtual",
);

/// The BS.2051 label a speaker label stands for, BS.2127 §... / ear's
/// `nominal_speaker_label`: URNs (`urn:itu:bs:2051:0:speaker:M+030`), the LFE
/// aliases, and Dolby's room-centric bed labels (`RC_L` …) and BS.2094
/// cartesian-pack labels (`M_FL` …).
pub fn nominal_speaker_label(label: &str) -> String {
    let trimmed = label.trim();
    let l = match trimmed.strip_prefix("urn:itu:bs:2051:") {
        Some(rest) => match rest.split_once(":speaker:") {
            Some((version, name)) if !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => trimmed,
        },
        None => trimmed,
    };
    let mapped = match l {
        "LFE" | "LFEL" => "LFE1",
        "LFER" => "LFE2",
        // Dolby Atmos room-centric bed labels (RC_*), as Pro Tools writes them.
        "RC_L" => "M+030",
        "RC_R" => "M-030",
        "RC_C" => "M+000",
        "RC_LFE" => "LFE1",
        "RC_Ls" => "M+110",
        "RC_Rs" => "M-110",
        "RC_Lss" => "M+090",
        "RC_Rss" => "M-090",
        "RC_Lrs" => "M+135",
        "RC_Rrs" => "M-135",
        "RC_Lw" => "M+060",
        "RC_Rw" => "M-060",
        "RC_Lts" | "RC_Ltm" => "U+090",
        "RC_Rts" | "RC_Rtm" => "U-090",
        "RC_Ltf" => "U+045",
        "RC_Rtf" => "U-045",
        "RC_Ltr" => "U+135",
        "RC_Rtr" => "U-135",
        // BS.2094 cartesian packs (AP_000108xx)
        "M_FL" => "M+030",
        "M_FR" => "M-030",
        "M_FC" => "M+000",
        "M_SL" => "M+090",
        "M_SR" => "M-090",
        "M_BL" => "M+135",
        "M_BR" => "M-135",
        "M_BC" => "M+180",
        "M_FSL67" => "M+060",
        "M_FSR67" => "M-060",
        "U_FL" => "U+045",
        "U_FR" => "U-045",
        "U_FC" => "U+000",
        "U_SL" => "U+090",
        "U_SR" => "U-090",
        "U_BL" => "U+135",
        "U_BR" => "U-135",
        "U_BC" => "U+180",
        "U_TC" => "T+000",
        "B_FC" => "B+000",
        "B_FL" => "B+045",
        "B_FR" => "B-045",
        other => other,
    };
    mapped.to_string()
}

/// Nominal (azimuth, elevation) of a BS.2051 label such as `M+030`, `U-110`,
/// `UH+180`, `T+000`, `B+045` (layer M = 0°, U = 30°, UH = 45°, T = 90°,
/// B = −30°; BS.2051 Table 1). `M±SC` gives ±15°, as ear does. LFE and
/// unknown labels give `None`.
pub fn bs2051_nominal_direction(label: &str) -> Option<(f64, f64)> {
    match label {
        "M+SC" => return Some((15.0, 0.0)),
        "M-SC" => return Some((-15.0, 0.0)),
        _ => {}
    }
    let (layer, rest) = if let Some(r) = label.strip_prefix("UH") {
        (45.0, r)
    } else if let Some(r) = label.strip_prefix('M') {
        (0.0, r)
    } else if let Some(r) = label.strip_prefix('U') {
        (30.0, r)
    } else if let Some(r) = label.strip_prefix('T') {
        (90.0, r)
    } else if let Some(r) = label.strip_prefix('B') {
        (-30.0, r)
    } else {
        return None;
    };
    let sign = match rest.as_bytes().first() {
        Some(b'+') => 1.0,
        Some(b'-') => -1.0,
        _ => return None,
    };
    let digits = &rest[1..];
    if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let az: f64 = digits.parse().ok()?;
    if az > 180.0 {
        return None;
    }
    Some((if az == 180.0 { 180.0 } else { sign * az }, layer))
}

/// The BS.2051 systems by name, with their speaker label sets; used to know
/// when a layout *is* a BS.2051 system (some BS.2127 rules name them).
const BS2051_SYSTEMS: &[(&str, &[&str])] = &[
    ("0+2+0", &["M+030", "M-030"]),
    ("0+5+0", &["M+030", "M-030", "M+000", "LFE1", "M+110", "M-110"]),
    (
        "2+5+0",
        &["M+030", "M-030", "M+000", "LFE1", "M+110", "M-110", "U+030", "U-030"],
    ),
    (
        "4+5+0",
        &[
            "M+030", "M-030", "M+000", "LFE1", "M+110", "M-110", "U+030", "U-030", "U+110", "U-110",
        ],
    ),
    (
        "4+5+1",
        &[
            "M+030", "M-030", "M+000", "LFE1", "M+110", "M-110", "U+030", "U-030", "U+110", "U-110", "B+000",
        ],
    ),
    (
        "3+7+0",
        &[
            "M+000", "M+030", "M-030", "U+045", "U-045", "M+090", "M-090", "M+135", "M-135", "UH+180", "LFE1", "LFE2",
        ],
    ),
    (
        "4+9+0",
        &[
            "M+030", "M-030", "M+000", "LFE1", "M+090", "M-090", "M+135", "M-135", "U+045", "U-045", "U+135", "U-135",
            "M+SC", "M-SC",
        ],
    ),
    (
        "9+10+3",
        &[
            "M+060", "M-060", "M+000", "LFE1", "M+135", "M-135", "M+030", "M-030", "M+180", "LFE2", "M+090", "M-090",
            "U+045", "U-045", "U+000", "T+000", "U+135", "U-135", "U+090", "U-090", "U+180", "B+000", "B+045", "B-045",
        ],
    ),
    (
        "0+7+0",
        &["M+030", "M-030", "M+000", "LFE1", "M+090", "M-090", "M+135", "M-135"],
    ),
    (
        "4+7+0",
        &[
            "M+030", "M-030", "M+000", "LFE1", "M+090", "M-090", "M+135", "M-135", "U+045", "U-045", "U+135", "U-135",
        ],
    ),
];

/// The label set of a BS.2051 system (`"4+7+0"` → its 12 labels).
pub fn bs2051_system_labels(name: &str) -> Option<&'static [&'static str]> {
    BS2051_SYSTEMS.iter().find(|(n, _)| *n == name).map(|(_, l)| *l)
}

impl Layout {
    /// A built-in layout by name or alias, else a TOML file at that path.
    pub fn resolve(name_or_path: &str) -> Result<Layout, LayoutError> {
        if let Some(l) = Self::builtin(name_or_path) {
            return l;
        }
        let p = Path::new(name_or_path);
        if p.is_file() {
            return Self::from_file(p);
        }
        Err(LayoutError::Unknown {
            name: name_or_path.to_string(),
        })
    }

    /// A built-in layout by name or alias (case-insensitive).
    pub fn builtin(name: &str) -> Option<Result<Layout, LayoutError>> {
        let want = name.trim().to_ascii_lowercase();
        for (file, text) in BUILTIN {
            let parsed = Self::from_toml_str(text, &format!("speaker-layouts/{file}.toml"));
            let Ok(layout) = parsed else {
                return Some(parsed);
            };
            if layout.name.to_ascii_lowercase() == want || layout.aliases.iter().any(|a| a.to_ascii_lowercase() == want)
            {
                return Some(Ok(layout));
            }
        }
        None
    }

    /// Every built-in layout, in listing order.
    pub fn all_builtin() -> Result<Vec<Layout>, LayoutError> {
        BUILTIN
            .iter()
            .map(|(file, text)| Self::from_toml_str(text, &format!("speaker-layouts/{file}.toml")))
            .collect()
    }

    pub fn from_file(path: &Path) -> Result<Layout, LayoutError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| LayoutError::Io {
            path: shown.clone(),
            source,
        })?;
        Self::from_toml_str(&text, &shown)
    }

    /// Parse and validate a layout file's text; `path` names it in errors.
    pub fn from_toml_str(text: &str, path: &str) -> Result<Layout, LayoutError> {
        let file: LayoutFile = toml::from_str(text).map_err(|e| LayoutError::Syntax {
            path: path.to_string(),
            message: e.to_string().trim().replace('\n', " "),
        })?;
        let bad = |speaker: &str, message: String| LayoutError::Speaker {
            path: path.to_string(),
            speaker: speaker.to_string(),
            message,
        };
        if file.name.trim().is_empty() {
            return Err(LayoutError::Invalid {
                path: path.to_string(),
                message: "empty name".into(),
            });
        }
        let mut speakers = Vec::with_capacity(file.speakers.len());
        for s in file.speakers {
            if s.label.trim().is_empty() {
                return Err(bad(&s.label, "empty label".into()));
            }
            if s.label.contains(['/', '\\']) {
                return Err(bad(
                    &s.label,
                    "a label names output files and cannot contain '/' or '\\'".into(),
                ));
            }
            if speakers.iter().any(|o: &Speaker| o.label == s.label) {
                return Err(bad(&s.label, "label used twice".into()));
            }
            if let Some(b) = &s.bs2051
                && speakers
                    .iter()
                    .any(|o: &Speaker| o.bs2051.as_deref() == Some(b.as_str()))
            {
                return Err(bad(&s.label, format!("BS.2051 label {b} used twice")));
            }
            for (what, v) in [
                ("azimuth", s.azimuth),
                ("elevation", s.elevation),
                ("distance", s.distance),
            ] {
                if !v.is_finite() {
                    return Err(bad(&s.label, format!("{what} is not a finite number")));
                }
            }
            if !(-180.0..=180.0).contains(&s.azimuth) {
                return Err(bad(&s.label, format!("azimuth {} outside −180…180", s.azimuth)));
            }
            if !(-90.0..=90.0).contains(&s.elevation) {
                return Err(bad(&s.label, format!("elevation {} outside −90…90", s.elevation)));
            }
            if s.distance <= 0.0 {
                return Err(bad(&s.label, format!("distance {} must be positive", s.distance)));
            }
            if let Some(a) = s.allocentric
                && a.iter().any(|v| !v.is_finite() || !(-1.0..=1.0).contains(v))
            {
                return Err(bad(
                    &s.label,
                    format!("allocentric {a:?} outside the room cube [−1, 1]³"),
                ));
            }
            let (nominal_azimuth, nominal_elevation) = match s.nominal {
                Some([az, el]) => {
                    if !az.is_finite()
                        || !el.is_finite()
                        || !(-180.0..=180.0).contains(&az)
                        || !(-90.0..=90.0).contains(&el)
                    {
                        return Err(bad(&s.label, format!("nominal [{az}, {el}] out of range")));
                    }
                    (az, el)
                }
                None => match s.bs2051.as_deref() {
                    // ear's BS.2051 data keeps M±SC nominally at ±15° whatever
                    // their real position (DirectSpeakers matching uses it).
                    Some(l @ ("M+SC" | "M-SC")) => bs2051_nominal_direction(l).unwrap_or((s.azimuth, s.elevation)),
                    _ => (s.azimuth, s.elevation),
                },
            };
            speakers.push(Speaker {
                label: s.label,
                bs2051: s.bs2051,
                azimuth: s.azimuth,
                elevation: s.elevation,
                distance: s.distance,
                nominal_azimuth,
                nominal_elevation,
                lfe: s.lfe,
                allocentric: s.allocentric,
            });
        }
        if !speakers.iter().any(|s| !s.lfe) {
            return Err(LayoutError::Invalid {
                path: path.to_string(),
                message: "a layout needs at least one non-LFE speaker".into(),
            });
        }
        Ok(Layout {
            name: file.name,
            aliases: file.aliases,
            description: file.description,
            speakers,
            source: path.to_string(),
        })
    }

    pub fn len(&self) -> usize {
        self.speakers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.speakers.is_empty()
    }

    pub fn labels(&self) -> Vec<&str> {
        self.speakers.iter().map(|s| s.label.as_str()).collect()
    }

    pub fn is_lfe(&self) -> Vec<bool> {
        self.speakers.iter().map(|s| s.lfe).collect()
    }

    /// Index of the speaker carrying a BS.2051 label.
    pub fn index_of_bs2051(&self, label: &str) -> Option<usize> {
        self.speakers.iter().position(|s| s.bs2051.as_deref() == Some(label))
    }

    pub fn has_bs2051(&self, label: &str) -> bool {
        self.index_of_bs2051(label).is_some()
    }

    /// The BS.2051 system this layout is (same BS.2051 labels), if any: some
    /// BS.2127 rules (DirectSpeakers LFE mapping) name output layouts.
    pub fn bs2051_system(&self) -> Option<&'static str> {
        let mut mine: Vec<&str> = self.speakers.iter().filter_map(|s| s.bs2051.as_deref()).collect();
        if mine.len() != self.speakers.len() {
            return None;
        }
        mine.sort_unstable();
        BS2051_SYSTEMS.iter().map(|(n, l)| (*n, *l)).find_map(|(n, labels)| {
            let mut l: Vec<&str> = labels.to_vec();
            l.sort_unstable();
            (l == mine).then_some(n)
        })
    }

    /// Whether every non-LFE speaker has an allocentric position, so that
    /// cartesian objects are panned allocentrically (BS.2127 §7.3.x).
    pub fn has_allocentric(&self) -> bool {
        self.speakers.iter().filter(|s| !s.lfe).all(|s| s.allocentric.is_some())
    }

    /// WAVE_FORMAT_EXTENSIBLE channel mask (Microsoft speaker bits) when each
    /// speaker maps to a distinct bit in channel order (the order the mask
    /// implies must equal the layout's order).
    pub fn channel_mask(&self) -> Option<u32> {
        let mut mask = 0u32;
        let mut last_bit = -1i32;
        for s in &self.speakers {
            let bit = match s.bs2051.as_deref()? {
                "M+030" => 0,
                "M-030" => 1,
                "M+000" => 2,
                "LFE1" => 3,
                "M+110" | "M+135" => 4,
                "M-110" | "M-135" => 5,
                "M+SC" => 6,
                "M-SC" => 7,
                "M+180" => 8,
                "M+090" => 9,
                "M-090" => 10,
                "T+000" => 11,
                "U+030" | "U+045" => 12,
                "U+000" => 13,
                "U-030" | "U-045" => 14,
                "U+110" | "U+135" => 15,
                "U+180" | "UH+180" => 16,
                "U-110" | "U-135" => 17,
                _ => return None,
            };
            if bit <= last_bit {
                return None;
            }
            last_bit = bit;
            mask |= 1 << bit;
        }
        Some(mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_layout_loads_and_is_consistent() {
        let all = Layout::all_builtin().unwrap();
        assert_eq!(all.len(), BUILTIN.len());
        for l in &all {
            assert!(l.speakers.iter().any(|s| !s.lfe), "{}", l.name);
            assert!(l.has_allocentric(), "{} lacks allocentric positions", l.name);
        }
        let theatre = Layout::builtin("theatre").unwrap().unwrap();
        assert!(theatre.len() >= 30);
        for (name, labels) in BS2051_SYSTEMS {
            let l = Layout::builtin(name).unwrap().unwrap();
            assert_eq!(l.bs2051_system(), Some(*name));
            assert_eq!(l.labels(), labels.to_vec(), "channel order of {name}");
        }
        assert_eq!(
            Layout::builtin("7.1.4").unwrap().unwrap().bs2051_system(),
            Some("4+7+0")
        );
        assert_eq!(Layout::builtin("9.1.6").unwrap().unwrap().bs2051_system(), None);
    }

    #[test]
    fn labels_and_nominal_directions() {
        assert_eq!(nominal_speaker_label("urn:itu:bs:2051:0:speaker:M+030"), "M+030");
        assert_eq!(nominal_speaker_label("LFER"), "LFE2");
        assert_eq!(nominal_speaker_label("RC_Lss"), "M+090");
        assert_eq!(bs2051_nominal_direction("U-110"), Some((-110.0, 30.0)));
        assert_eq!(bs2051_nominal_direction("UH+180"), Some((180.0, 45.0)));
        assert_eq!(bs2051_nominal_direction("B-045"), Some((-45.0, -30.0)));
        assert_eq!(bs2051_nominal_direction("LFE1"), None);
        assert_eq!(bs2051_nominal_direction("M+400"), None);
    }

    #[test]
    fn bad_files_name_the_file_and_speaker() {
        let dup = "name='x'\n[[speaker]]\nlabel='A'\nazimuth=0.0\nelevation=0.0\n[[speaker]]\nlabel='A'\nazimuth=10.0\nelevation=0.0\n";
        let e = Layout::from_toml_str(dup, "my.toml").unwrap_err().to_string();
        assert!(
            e.contains("my.toml") && e.contains("\"A\"") && e.contains("twice"),
            "{e}"
        );
        let nan = "name='x'\n[[speaker]]\nlabel='A'\nazimuth=nan\nelevation=0.0\n";
        let e = Layout::from_toml_str(nan, "my.toml").unwrap_err().to_string();
        assert!(e.contains("finite"), "{e}");
        let lfe_only = "name='x'\n[[speaker]]\nlabel='S'\nazimuth=0.0\nelevation=0.0\nlfe=true\n";
        assert!(
            Layout::from_toml_str(lfe_only, "my.toml")
                .unwrap_err()
                .to_string()
                .contains("non-LFE")
        );
        let junk = "name='x'\n[[speaker]]\nlabel='A'\nazimuth=0.0\nelevation=0.0\ncolour='red'\n";
        assert!(
            Layout::from_toml_str(junk, "my.toml")
                .unwrap_err()
                .to_string()
                .contains("my.toml")
        );
        assert!(matches!(
            Layout::resolve("no-such-layout"),
            Err(LayoutError::Unknown { .. })
        ));
    }

    #[test]
    fn channel_masks() {
        let l = Layout::builtin("5.1").unwrap().unwrap();
        assert_eq!(l.channel_mask(), Some(0x3F));
        let l = Layout::builtin("5.1.4").unwrap().unwrap();
        assert_eq!(l.channel_mask(), Some(0x2D03F));
        // 7.1's delivery order (sides before rears) is not the mask's bit order.
        assert_eq!(Layout::builtin("7.1.4").unwrap().unwrap().channel_mask(), None);
        assert_eq!(Layout::builtin("theatre").unwrap().unwrap().channel_mask(), None);
    }
}
