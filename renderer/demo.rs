//! The built-in demo master: a synthetic ADM BW64 file (24-bit, axml +
//! chna) with N moving objects and a 7.1.2 bed, used by the README's first
//! command, the tests and the benchmarks.
//!
//! - Objects alternate between polar (circling at different heights and
//!   speeds; every 4th with extent 40° × 20°; every 5th partly diffuse) and
//!   cartesian (moving round the room and up; every 3rd with Dolby-style
//!   jumpPosition and a 5 ms interpolation length). Every 7th object jumps to
//!   a new place each second (jumpPosition without interpolation).
//! - Metadata blocks are 20 ms long (960 samples at 48 kHz): block times are
//!   then exact decimals, which every ADM reader accepts (the fractional
//!   `…S48000` form of BS.2076-2 is not read by ear 2.1.0, for one).
//! - The bed is the BS.2094 7.1.2 pack `AP_00010016` by reference.
//! - Object 1 is dialogue (its own audioContent with dialogue = 1).
//! - Every track carries an identifiable signal: object k a sine at
//!   100 + 53·k Hz with a slow tremolo; bed channels sines at 60…690 Hz
//!   (the LFE at 45 Hz).

use crate::adm::Document;
use crate::adm::common_definitions;
use crate::adm::elements::*;
use crate::io::writer::{Bw64Writer, OutputFormat, WriterSpec};
use crate::io::{Bw64Error, Chna, ChnaEntry};
use crate::time::Time;
use std::path::Path;

/// The demo's parameters.
#[derive(Clone, Debug)]
pub struct DemoSpec {
    pub objects: usize,
    pub seconds: f64,
    pub sample_rate: u32,
    /// Include the 7.1.2 bed.
    pub bed: bool,
}

impl Default for DemoSpec {
    fn default() -> Self {
        DemoSpec {
            objects: 16,
            seconds: 10.0,
            sample_rate: 48000,
            bed: true,
        }
    }
}

/// Samples per metadata block: 20 ms where the rate allows it (any rate
/// divisible by 50), else 1024.
pub fn block_samples(rate: u32) -> u64 {
    if rate >= 50 && rate.is_multiple_of(50) {
        u64::from(rate / 50)
    } else {
        1024
    }
}
const BED_PACK: &str = "AP_00010016";

/// Frequency of object k's sine.
pub fn object_frequency(k: usize) -> f64 {
    100.0 + 53.0 * k as f64
}

/// Peak amplitude of each object's sine: −26 dBFS for up to 16 objects,
/// falling with √N beyond so the renders stay near −20 LUFS without clipping.
fn object_amplitude(n: usize) -> f64 {
    0.05 / ((n.max(16) as f64) / 16.0).sqrt()
}

/// The position etc. of object k during block b (block start time t).
fn object_block(k: usize, b: u64, t: f64) -> ObjectBlock {
    let polar = k.is_multiple_of(2);
    let mut blk = ObjectBlock::default();
    let speed = 0.05 + 0.013 * (k % 11) as f64; // turns per second
    let phase = k as f64 * 0.618_033_988_75;
    let jumper = k % 7 == 3;
    // jumpers hold still and move to a new place every second
    let tt = if jumper { t.floor() } else { t };
    if polar {
        let turn = (phase + speed * tt).fract();
        let azimuth = turn * 360.0 - 180.0;
        let elevation = [0.0, 15.0, 30.0, 45.0, -10.0][k / 2 % 5];
        blk.position = ObjectPosition::Polar {
            azimuth,
            elevation,
            distance: 1.0,
        };
        if k.is_multiple_of(4) {
            blk.width = 40.0;
            blk.height = 20.0;
        }
    } else {
        let a = std::f64::consts::TAU * (phase + speed * tt);
        blk.position = ObjectPosition::Cartesian {
            x: a.sin(),
            y: (a * 0.7).cos(),
            z: (0.5 + 0.5 * (a * 0.3).sin()).clamp(0.0, 1.0),
        };
        blk.cartesian = true;
        if k % 3 == 1 {
            blk.jump_position = JumpPosition {
                flag: true,
                interpolation_length: Time::new(5, 1000),
            };
        }
    }
    if k % 5 == 2 {
        blk.diffuse = 0.3;
    }
    if jumper && b > 0 {
        blk.jump_position = JumpPosition {
            flag: true,
            interpolation_length: None,
        };
    }
    blk
}

/// The ADM document and chna of a demo master with `frames` frames.
pub fn document(spec: &DemoSpec, frames: u64) -> (Document, Chna) {
    let rate = spec.sample_rate;
    let mut doc = Document::default();
    let mut chna = Vec::new();
    let mut track_index = 1u16;
    let block = block_samples(rate);
    let blocks = frames.div_ceil(block).max(1);
    let mut effects = Vec::new();
    for k in 0..spec.objects {
        let id = 0x1001 + k;
        let (ao, ap, ac, asf, at, uid) = (
            format!("AO_{id:04x}"),
            format!("AP_0003{id:04x}"),
            format!("AC_0003{id:04x}"),
            format!("AS_0003{id:04x}"),
            format!("AT_0003{id:04x}_01"),
            format!("ATU_{:08x}", track_index),
        );
        let mut bfs = Vec::with_capacity(blocks as usize);
        for b in 0..blocks {
            let s0 = b * block;
            let s1 = ((b + 1) * block).min(frames.max(block));
            bfs.push(BlockFormat {
                id: format!("AB_0003{id:04x}_{:08x}", b + 1),
                rtime: Some(Time::from_samples(s0 as i64, rate)),
                duration: Some(Time::from_samples((s1 - s0) as i64, rate)),
                kind: BlockKind::Objects(object_block(k, b, s0 as f64 / rate as f64)),
                origin: Origin::default(),
            });
        }
        doc.channels.push(AudioChannelFormat {
            id: ac.clone(),
            name: format!("Object {}", k + 1),
            type_definition: TypeDefinition::Objects,
            frequency: Frequency::default(),
            blocks: bfs,
            deferred: None,
            origin: Origin::default(),
        });
        doc.packs.push(AudioPackFormat {
            id: ap.clone(),
            name: format!("Object {}", k + 1),
            type_definition: TypeDefinition::Objects,
            channel_refs: vec![ac.clone()],
            pack_refs: Vec::new(),
            absolute_distance: None,
            importance: None,
            normalization: None,
            nfc_ref_dist: None,
            screen_ref: None,
            matrix_refs: Vec::new(),
            origin: Origin::default(),
        });
        doc.streams.push(AudioStreamFormat {
            id: asf.clone(),
            name: format!("Object {}", k + 1),
            format_label: Some("0001".into()),
            channel_ref: Some(ac),
            pack_ref: None,
            track_format_refs: vec![at.clone()],
            origin: Origin::default(),
        });
        doc.track_formats.push(AudioTrackFormat {
            id: at.clone(),
            name: format!("Object {}", k + 1),
            format_label: Some("0001".into()),
            stream_ref: Some(asf),
            origin: Origin::default(),
        });
        doc.track_uids.push(AudioTrackUid {
            id: uid.clone(),
            sample_rate: Some(rate),
            bit_depth: Some(24),
            track_format_ref: Some(at.clone()),
            channel_ref: None,
            pack_ref: Some(ap.clone()),
            origin: Origin::default(),
        });
        chna.push(ChnaEntry {
            track_index,
            uid: uid.clone(),
            track_ref: at,
            pack_ref: ap.clone(),
        });
        track_index += 1;
        doc.objects.push(AudioObject {
            id: ao.clone(),
            name: if k == 0 {
                "Dialogue".into()
            } else {
                format!("Object {}", k + 1)
            },
            start: None,
            duration: None,
            dialogue: None,
            importance: None,
            interact: None,
            pack_refs: vec![ap],
            object_refs: Vec::new(),
            complementary_refs: Vec::new(),
            track_uid_refs: vec![uid],
            gain: 1.0,
            mute: false,
            head_locked: None,
            position_offset: None,
            origin: Origin::default(),
        });
        if k > 0 {
            effects.push(ao);
        }
    }
    let mut contents = Vec::new();
    if spec.objects > 0 {
        contents.push(AudioContent {
            id: "ACO_1001".into(),
            name: "Dialogue".into(),
            language: Some("en".into()),
            object_refs: vec!["AO_1001".into()],
            dialogue: Some(Dialogue::Dialogue),
            loudness: Vec::new(),
            origin: Origin::default(),
        });
    }
    if !effects.is_empty() {
        contents.push(AudioContent {
            id: "ACO_1002".into(),
            name: "Effects".into(),
            language: None,
            object_refs: effects,
            dialogue: Some(Dialogue::NonDialogue),
            loudness: Vec::new(),
            origin: Origin::default(),
        });
    }
    if spec.bed {
        let pack = common_definitions::pack(BED_PACK);
        let channels = pack.map(|p| p.channel_refs).unwrap_or_default();
        let mut uids = Vec::new();
        for ch in &channels {
            let at = format!("AT_{}_01", ch.trim_start_matches("AC_"));
            let uid = format!("ATU_{:08x}", track_index);
            doc.track_uids.push(AudioTrackUid {
                id: uid.clone(),
                sample_rate: Some(rate),
                bit_depth: Some(24),
                track_format_ref: Some(at.clone()),
                channel_ref: None,
                pack_ref: Some(BED_PACK.into()),
                origin: Origin::default(),
            });
            chna.push(ChnaEntry {
                track_index,
                uid: uid.clone(),
                track_ref: at,
                pack_ref: BED_PACK.into(),
            });
            uids.push(uid);
            track_index += 1;
        }
        doc.objects.push(AudioObject {
            id: "AO_2001".into(),
            name: "Bed 7.1.2".into(),
            start: None,
            duration: None,
            dialogue: None,
            importance: None,
            interact: None,
            pack_refs: vec![BED_PACK.into()],
            object_refs: Vec::new(),
            complementary_refs: Vec::new(),
            track_uid_refs: uids,
            gain: 1.0,
            mute: false,
            head_locked: None,
            position_offset: None,
            origin: Origin::default(),
        });
        contents.push(AudioContent {
            id: "ACO_1003".into(),
            name: "Music bed".into(),
            language: None,
            object_refs: vec!["AO_2001".into()],
            dialogue: Some(Dialogue::NonDialogue),
            loudness: Vec::new(),
            origin: Origin::default(),
        });
    }
    doc.programmes.push(AudioProgramme {
        id: "APR_1001".into(),
        name: "admix demo".into(),
        language: Some("en".into()),
        start: Some(Time::ZERO),
        end: Some(Time::from_samples(frames as i64, rate)),
        content_refs: contents.iter().map(|c| c.id.clone()).collect(),
        reference_screen: None,
        loudness: Vec::new(),
        origin: Origin::default(),
    });
    doc.contents = contents;
    doc.reindex();
    (doc, Chna::new(chna))
}

/// Number of tracks of a demo master.
pub fn track_count(spec: &DemoSpec) -> usize {
    spec.objects + if spec.bed { 10 } else { 0 }
}

/// The signal of track `t` (0-based) at frame `n`.
fn sample(spec: &DemoSpec, t: usize, n: u64) -> f32 {
    let time = n as f64 / spec.sample_rate as f64;
    let tau = std::f64::consts::TAU;
    if t < spec.objects {
        let f = object_frequency(t);
        let trem = 0.75 + 0.25 * (tau * (0.5 + 0.1 * (t % 7) as f64) * time).sin();
        (object_amplitude(spec.objects) * trem * (tau * f * time).sin()) as f32
    } else {
        let b = t - spec.objects;
        let f = if b == 3 { 45.0 } else { 60.0 + 70.0 * b as f64 };
        (0.02 * (tau * f * time).sin()) as f32
    }
}

/// Write the demo master to `path` (24-bit BW64 with axml + chna), streaming.
pub fn write(path: &Path, spec: &DemoSpec) -> Result<u64, Bw64Error> {
    let frames = (spec.seconds * spec.sample_rate as f64).round().max(1.0) as u64;
    let (doc, chna) = document(spec, frames);
    let tracks = track_count(spec);
    let mut w = Bw64Writer::create(
        path,
        WriterSpec {
            channels: tracks as u16,
            sample_rate: spec.sample_rate,
            format: OutputFormat::S24,
            channel_mask: None,
            dither: false,
        },
    )?;
    w.set_chna(&chna)?;
    w.set_axml(crate::adm::writer::write(&doc))?;
    const CH: u64 = 8192;
    let mut buf = vec![vec![0.0f32; CH as usize]; tracks];
    let mut pos = 0;
    while pos < frames {
        if crate::stop::requested() {
            // the writer, dropped, deletes its temporary file
            return Err(Bw64Error::Io {
                path: path.to_path_buf(),
                offset: None,
                what: "interrupted: nothing was written",
                source: std::io::ErrorKind::Interrupted.into(),
            });
        }
        let n = (frames - pos).min(CH) as usize;
        for (t, ch) in buf.iter_mut().enumerate() {
            for (i, v) in ch[..n].iter_mut().enumerate() {
                *v = sample(spec, t, pos + i as u64);
            }
        }
        let slices: Vec<&[f32]> = buf.iter().map(|c| &c[..n]).collect();
        w.write_planar(&slices)?;
        pos += n as u64;
    }
    w.finish()?;
    Ok(frames)
}
