//! The JSON block format of `admix gains` and of the ear reference vectors
//! (shared/reference/README.md): one Objects or DirectSpeakers
//! audioBlockFormat in ADM names, with `referenceScreen`, `frequency` and
//! `audioPackFormatID` beside it. Takes a parsed JSON line; produces the
//! block and its context; refuses (with a message naming the field) anything
//! of the wrong type or out of range.

use super::direct_speakers::DirectSpeakersContext;
use super::gain_calc::ObjectContext;
use crate::adm::elements::{
    BoundCoordinate, ChannelLock, DirectSpeakersBlock, Frequency, HorizontalEdge, JumpPosition, ObjectBlock,
    ObjectDivergence, ObjectPosition, Screen, ScreenEdgeLock, SpeakerPosition, VerticalEdge, Zone,
};
use crate::time::Time;
use serde_json::{Map, Value};

type R<T> = Result<T, String>;

fn obj<'a>(v: &'a Value, what: &str) -> R<&'a Map<String, Value>> {
    v.as_object().ok_or_else(|| format!("{what} must be a JSON object"))
}

fn num(m: &Map<String, Value>, key: &str) -> R<Option<f64>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_f64() {
            Some(x) if x.is_finite() => Ok(Some(x)),
            _ => Err(format!("{key} must be a finite number")),
        },
    }
}

/// Keys of the line that belong beside `block`, not inside it.
const BESIDE_BLOCK: [&str; 3] = ["referenceScreen", "frequency", "audioPackFormatID"];

/// Refuses a key of `m` that is not in `known`: a misspelt or misplaced key
/// would otherwise be ignored, and the gains silently be those of a
/// different block.
fn known_keys(m: &Map<String, Value>, what: &str, known: &[&str]) -> R<()> {
    match m.keys().find(|k| !known.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) if what == "block" && BESIDE_BLOCK.contains(&k.as_str()) => {
            Err(format!("\"{k}\" goes beside \"block\" on the line, not inside it"))
        }
        Some(k) => Err(format!("unknown key \"{k}\" in {what} (known: {})", known.join(", "))),
    }
}

/// The keys of an Objects block and of a DirectSpeakers block (ADM names;
/// `importance` and `headLocked` are read and do not change gains).
const OBJECT_KEYS: [&str; 14] = [
    "position",
    "cartesian",
    "width",
    "height",
    "depth",
    "gain",
    "diffuse",
    "screenRef",
    "channelLock",
    "objectDivergence",
    "zoneExclusion",
    "jumpPosition",
    "importance",
    "headLocked",
];
const DIRECT_SPEAKERS_KEYS: [&str; 5] = ["position", "speakerLabel", "cartesian", "gain", "headLocked"];
const POSITION_KEYS: [&str; 7] = ["azimuth", "elevation", "distance", "X", "Y", "Z", "screenEdgeLock"];

fn req(m: &Map<String, Value>, key: &str, ctx: &str) -> R<f64> {
    num(m, key)?.ok_or_else(|| format!("{ctx} needs {key}"))
}

fn flag(m: &Map<String, Value>, key: &str) -> R<Option<bool>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(v) => match v.as_i64() {
            Some(0) => Ok(Some(false)),
            Some(1) => Ok(Some(true)),
            _ => Err(format!("{key} must be true/false or 0/1")),
        },
    }
}

fn screen_edge_lock(pos: &Map<String, Value>) -> R<ScreenEdgeLock> {
    let Some(sel) = pos.get("screenEdgeLock") else {
        return Ok(ScreenEdgeLock::default());
    };
    let m = obj(sel, "screenEdgeLock")?;
    let horizontal = match m.get("horizontal").and_then(Value::as_str) {
        None => None,
        Some("left") => Some(HorizontalEdge::Left),
        Some("right") => Some(HorizontalEdge::Right),
        Some(o) => return Err(format!("screenEdgeLock horizontal {o:?} is not left/right")),
    };
    let vertical = match m.get("vertical").and_then(Value::as_str) {
        None => None,
        Some("top") => Some(VerticalEdge::Top),
        Some("bottom") => Some(VerticalEdge::Bottom),
        Some(o) => return Err(format!("screenEdgeLock vertical {o:?} is not top/bottom")),
    };
    Ok(ScreenEdgeLock { horizontal, vertical })
}

/// `referenceScreen` in the reference JSON form.
pub fn screen(v: &Value) -> R<Screen> {
    let m = obj(v, "referenceScreen")?;
    let aspect_ratio = num(m, "aspectRatio")?.unwrap_or(1.78);
    let centre = m
        .get("screenCentrePosition")
        .map(|c| obj(c, "screenCentrePosition"))
        .transpose()?;
    let width = m.get("screenWidth").map(|c| obj(c, "screenWidth")).transpose()?;
    let is_cart = centre.is_some_and(|c| c.contains_key("X")) || width.is_some_and(|w| w.contains_key("X"));
    let empty = Map::new();
    let c = centre.unwrap_or(&empty);
    let w = width.unwrap_or(&empty);
    Ok(if is_cart {
        Screen::Cartesian {
            aspect_ratio,
            centre_x: num(c, "X")?.unwrap_or(0.0),
            centre_y: num(c, "Y")?.unwrap_or(1.0),
            centre_z: num(c, "Z")?.unwrap_or(0.0),
            width_x: num(w, "X")?.unwrap_or(1.0),
        }
    } else {
        Screen::Polar {
            aspect_ratio,
            centre_azimuth: num(c, "azimuth")?.unwrap_or(0.0),
            centre_elevation: num(c, "elevation")?.unwrap_or(0.0),
            centre_distance: num(c, "distance")?.unwrap_or(1.0),
            width_azimuth: num(w, "azimuth")?.unwrap_or(58.0),
        }
    })
}

/// An Objects block plus its context from a `{"block": …, "referenceScreen": …}` line.
pub fn object_block(line: &Value) -> R<(ObjectBlock, ObjectContext)> {
    let top = obj(line, "the line")?;
    let b = obj(top.get("block").ok_or("missing \"block\"")?, "block")?;
    known_keys(b, "block", &OBJECT_KEYS)?;
    let pos = obj(b.get("position").ok_or("block needs a position")?, "position")?;
    known_keys(pos, "position", &POSITION_KEYS)?;
    let position = if pos.contains_key("X") || pos.contains_key("Y") {
        ObjectPosition::Cartesian {
            x: req(pos, "X", "cartesian position")?,
            y: req(pos, "Y", "cartesian position")?,
            z: num(pos, "Z")?.unwrap_or(0.0),
        }
    } else {
        let azimuth = req(pos, "azimuth", "polar position")?;
        let elevation = req(pos, "elevation", "polar position")?;
        let distance = num(pos, "distance")?.unwrap_or(1.0);
        if !(-180.0..=180.0).contains(&azimuth) || !(-90.0..=90.0).contains(&elevation) || distance < 0.0 {
            return Err(format!(
                "position azimuth {azimuth}, elevation {elevation}, distance {distance} out of range"
            ));
        }
        ObjectPosition::Polar {
            azimuth,
            elevation,
            distance,
        }
    };
    let cartesian = flag(b, "cartesian")?.unwrap_or(matches!(position, ObjectPosition::Cartesian { .. }));
    let mut block = ObjectBlock {
        position,
        screen_edge_lock: screen_edge_lock(pos)?,
        cartesian,
        ..ObjectBlock::default()
    };
    block.width = num(b, "width")?.unwrap_or(0.0);
    block.height = num(b, "height")?.unwrap_or(0.0);
    block.depth = num(b, "depth")?.unwrap_or(0.0);
    block.gain = num(b, "gain")?.unwrap_or(1.0);
    block.diffuse = num(b, "diffuse")?.unwrap_or(0.0);
    if !(0.0..=1.0).contains(&block.diffuse) {
        return Err(format!("diffuse {} outside 0…1", block.diffuse));
    }
    block.screen_ref = flag(b, "screenRef")?.unwrap_or(false);
    if let Some(v) = b.get("channelLock") {
        let m = obj(v, "channelLock")?;
        if flag(m, "flag")?.unwrap_or(true) {
            block.channel_lock = Some(ChannelLock {
                max_distance: num(m, "maxDistance")?,
            });
        }
    }
    if let Some(v) = b.get("objectDivergence") {
        let m = obj(v, "objectDivergence")?;
        block.object_divergence = Some(ObjectDivergence {
            value: req(m, "value", "objectDivergence")?,
            azimuth_range: num(m, "azimuthRange")?,
            position_range: num(m, "positionRange")?,
        });
    }
    if let Some(v) = b.get("zoneExclusion") {
        let zones = v.as_array().ok_or("zoneExclusion must be a list")?;
        for z in zones {
            let m = obj(z, "zone")?;
            block.zone_exclusion.push(if m.contains_key("minX") {
                Zone::Cartesian {
                    min_x: req(m, "minX", "zone")?,
                    max_x: req(m, "maxX", "zone")?,
                    min_y: req(m, "minY", "zone")?,
                    max_y: req(m, "maxY", "zone")?,
                    min_z: req(m, "minZ", "zone")?,
                    max_z: req(m, "maxZ", "zone")?,
                }
            } else {
                Zone::Polar {
                    min_elevation: req(m, "minElevation", "zone")?,
                    max_elevation: req(m, "maxElevation", "zone")?,
                    min_azimuth: req(m, "minAzimuth", "zone")?,
                    max_azimuth: req(m, "maxAzimuth", "zone")?,
                }
            });
        }
    }
    if let Some(v) = b.get("jumpPosition") {
        let m = obj(v, "jumpPosition")?;
        block.jump_position = JumpPosition {
            flag: flag(m, "flag")?.unwrap_or(false),
            interpolation_length: num(m, "interpolationLength")?
                .map(|s| Time::parse_decimal_seconds(&format!("{s}")).map_err(|e| e.to_string()))
                .transpose()?,
        };
    }
    let ctx = ObjectContext {
        reference_screen: match top.get("referenceScreen") {
            Some(s) => screen(s)?,
            None => Screen::DEFAULT,
        },
    };
    Ok((block, ctx))
}

fn bound(m: &Map<String, Value>, key: &str, default: Option<f64>) -> R<BoundCoordinate> {
    match m.get(key) {
        None | Some(Value::Null) => default
            .map(BoundCoordinate::exact)
            .ok_or_else(|| format!("position needs {key}")),
        Some(Value::Object(o)) => Ok(BoundCoordinate {
            value: req(o, "value", key)?,
            min: num(o, "min")?,
            max: num(o, "max")?,
        }),
        Some(_) => Ok(BoundCoordinate::exact(req(m, key, "position")?)),
    }
}

/// A DirectSpeakers block plus its context from a `{"block": …, "frequency": …, "audioPackFormatID": …}` line.
pub fn direct_speakers_block(line: &Value) -> R<(DirectSpeakersBlock, DirectSpeakersContext)> {
    let top = obj(line, "the line")?;
    let b = obj(top.get("block").ok_or("missing \"block\"")?, "block")?;
    known_keys(b, "block", &DIRECT_SPEAKERS_KEYS)?;
    let labels = match b.get("speakerLabel") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or("speakerLabel entries must be strings".to_string())
            })
            .collect::<R<Vec<_>>>()?,
        Some(_) => return Err("speakerLabel must be a list of strings".into()),
    };
    let pos = obj(b.get("position").ok_or("block needs a position")?, "position")?;
    known_keys(pos, "position", &POSITION_KEYS)?;
    let position = if pos.contains_key("X") || flag(b, "cartesian")? == Some(true) {
        SpeakerPosition::Cartesian {
            x: bound(pos, "X", None)?,
            y: bound(pos, "Y", None)?,
            z: bound(pos, "Z", Some(0.0))?,
        }
    } else {
        SpeakerPosition::Polar {
            azimuth: bound(pos, "azimuth", None)?,
            elevation: bound(pos, "elevation", None)?,
            distance: bound(pos, "distance", Some(1.0))?,
        }
    };
    let block = DirectSpeakersBlock {
        speaker_labels: labels,
        position,
        screen_edge_lock: screen_edge_lock(pos)?,
        gain: num(b, "gain")?.unwrap_or(1.0),
        head_locked: false,
        headphone_virtualise: None,
    };
    let mut ctx = DirectSpeakersContext::default();
    if let Some(f) = top.get("frequency") {
        let m = obj(f, "frequency")?;
        ctx.frequency = Frequency {
            low_pass: num(m, "lowPass")?,
            high_pass: num(m, "highPass")?,
        };
    }
    if let Some(p) = top.get("audioPackFormatID").and_then(Value::as_str) {
        // Only ITU common definitions (AP_0001xxxx) carry mapping rules.
        if p.len() == 11 && p[..7].eq_ignore_ascii_case("AP_0001") {
            ctx.common_pack = Some(p.to_string());
        }
    }
    Ok((block, ctx))
}
