//! Scenes built from real files (shared/adm-samples: Pro Tools, Dolby's
//! dbmd samples, the EAR production suite, the EBU ADM toolbox, ear's own
//! test file), from ear's end-to-end reference inputs (whose `scene.json`
//! is the oracle for items, block times and ramps), and from small XML
//! fixtures with timing errors. Expected counts are those of
//! /work/notes/samples.md §G.

use std::path::{Path, PathBuf};

use admix::Error;
use admix::input::{open_input, open_inputs};
use admix::io::Bw64Reader;
use admix::io::dbmd::{BinauralRenderMode, Dbmd, WarpMode};
use admix::notice::Notices;
use admix::scene::{HeadphoneMode, ItemKind, RenderItem, Scene, SceneError, TimingProblem, TrackSource};
use admix::time::Time;

use crate::common::{FIXTURE_XML, shared_dir, test_dir, write_fixture, write_wav};

fn samples() -> Option<PathBuf> {
    shared_dir("adm-samples")
}

/// Opens a sample and reads its streamed blocks through once, as `inspect`
/// does, so that the scene's notices include the block-timing repairs.
fn open(root: &Path, rel: &str) -> Scene {
    match open_input(&root.join(rel), None, None) {
        Ok((_, mut s)) => {
            s.scan_blocks().unwrap_or_else(|e| panic!("{rel}: {e}"));
            s
        }
        Err(e) => panic!("{rel}: {e}"),
    }
}

/// Every block of an Objects item.
fn all_blocks(b: &admix::scene::ObjectBlocks) -> Vec<admix::scene::TimedBlock<admix::adm::elements::ObjectBlock>> {
    b.read_all(&mut admix::notice::Notices::default()).unwrap()
}

fn count(s: &Scene, kind: &str) -> usize {
    s.items.iter().filter(|i| i.kind.name() == kind).count()
}

fn notices_of<'a>(s: &'a Scene, kind: &str) -> Vec<&'a admix::notice::Notice> {
    s.notices.iter().filter(|n| n.kind == kind).collect()
}

fn t(n: i64, d: i64) -> Time {
    Time::new(n, d).unwrap()
}

fn dbmd_of(path: &Path) -> Dbmd {
    let r = Bw64Reader::open(path).unwrap();
    let mut n = Notices::default();
    let d = Dbmd::parse(r.dbmd().expect("a dbmd chunk"), "test", &mut n).expect("a readable dbmd");
    assert!(n.is_empty(), "{}: {n:?}", path.display());
    d
}

#[test]
fn dbmd_of_the_four_samples() {
    let Some(root) = samples() else { return };
    use BinauralRenderMode::*;
    /// file, creation tool, its version, warp mode, per-track modes
    type Case = (&'static str, &'static str, [u8; 3], WarpMode, Vec<BinauralRenderMode>);
    let cases: [Case; 4] = [
        (
            "dbmd-atmos-parser/sample_adm_file_0.wav",
            "Dolby Atmos Conversion Tool",
            [1, 8, 0],
            WarpMode::NotIndicated(4),
            vec![NotIndicated(4); 2],
        ),
        (
            "dbmd-atmos-parser/sample_adm_file_3.wav",
            "Dolby Atmos Conversion Tool",
            [1, 9, 0],
            WarpMode::Normal,
            vec![Near, Near],
        ),
        (
            "dbmd-atmos-parser/sample_adm_file_6.wav",
            "Dolby Atmos Conversion Tool",
            [1, 9, 0],
            WarpMode::Warping,
            vec![Off, Far],
        ),
        (
            "wavinfo/Test_ADM_ProTools.wav",
            "Pro Tools",
            [22, 9, 0],
            WarpMode::DownmixLoRo,
            (0..14).map(|i| if i == 3 { Off } else { NotIndicated(4) }).collect(),
        ),
    ];
    for (rel, tool, version, warp, modes) in cases {
        let d = dbmd_of(&root.join(rel));
        assert_eq!(d.version_string(), "1.0.0.6", "{rel}");
        let ids: Vec<(u8, u16, bool)> = d.segments.iter().map(|s| (s.id, s.size, s.checksum_ok)).collect();
        let supp_size = 142 + 2 * modes.len() as u16;
        assert_eq!(ids, [(7, 96, true), (9, 248, true), (10, supp_size, true)], "{rel}");
        let a = d.atmos.as_ref().unwrap();
        assert_eq!(
            (a.creation_tool.as_str(), a.creation_tool_version, a.warp_mode),
            (tool, version, warp),
            "{rel}"
        );
        assert_eq!(a.bed_distribution, 2, "{rel}");
        assert_eq!(d.track_modes(), modes, "{rel}");
        let s = d.supplemental.as_ref().unwrap();
        assert!(s.trims.iter().all(|t| t.auto_trim && t.manual.is_none()), "{rel}");
        assert!(s.tracks.iter().all(|t| t.trim_bypass == 0), "{rel}");
    }
    // Bit 7 is set on the Pro Tools LFE entry, whose mode is a real "off".
    let pt = dbmd_of(&root.join("wavinfo/Test_ADM_ProTools.wav"));
    let tracks = &pt.supplemental.unwrap().tracks;
    assert_eq!(tracks[3].headphone_raw, 0x80);
    assert_eq!(tracks[0].headphone_raw, 0x84);
    assert_eq!(tracks[3].head_track_mode, 2);
}

#[test]
fn pro_tools_master() {
    let Some(root) = samples() else { return };
    let s = open(&root, "wavinfo/Test_ADM_ProTools.wav");
    assert_eq!(
        (count(&s, "direct_speakers"), count(&s, "object"), s.items.len()),
        (10, 4, 14)
    );
    assert_eq!((s.tracks, s.frames, s.sample_rate), (14, 48048, 48_000));
    assert_eq!(s.programme.as_ref().unwrap().id, "APR_1001");
    // Tracks in chna order; the LFE track (4) is "off" in dbmd, the rest not indicated.
    for (k, item) in s.items.iter().enumerate() {
        assert_eq!(item.track, TrackSource::Channel(k as u32), "{}", item.id);
        let mode = if k == 3 { Some(HeadphoneMode::Off) } else { None };
        assert_eq!(item.headphone_mode, mode, "{}", item.id);
        assert!(item.cartesian, "{}", item.id);
        assert!(!item.dialogue, "{} (dialogue=2 is mixed)", item.id);
    }
    assert_eq!(s.items[3].id, "AO_1001/AC_00011004");
    let ItemKind::DirectSpeakers { context, .. } = &s.items[3].kind else {
        panic!()
    };
    assert_eq!(context.common_pack, None, "AP_00011001 is the file's own pack");
    assert_eq!(s.items[10].id, "AO_100b/AC_00031001");
    assert_eq!(s.items[10].content_id.as_deref(), Some("ACO_1002"));

    // The repairs: 113 block ends (112 contracted, 1 expanded) and 18
    // interpolation lengths, as ear's timing_fixes reports them.
    let ends = notices_of(&s, "block-time-repaired");
    assert_eq!(ends.len(), 113);
    assert_eq!(ends.iter().filter(|n| n.message.contains("contracted")).count(), 112);
    assert_eq!(ends.iter().filter(|n| n.message.contains("expanded")).count(), 1);
    assert_eq!(notices_of(&s, "interpolation-length-repaired").len(), 18);
    assert_eq!(
        s.notices.len(),
        131,
        "{:#?}",
        s.notices
            .iter()
            .filter(|n| !n.kind.contains("repaired"))
            .collect::<Vec<_>>()
    );
    let first = ends.iter().find(|n| n.subject == "AB_00031001_00000002").unwrap();
    assert!(
        first.message.contains("was 00:00:00.01067, now 00:00:00.01066"),
        "{}",
        first.message
    );
    // ... and the repaired blocks touch, so each ramps from the one before.
    let ItemKind::Object { blocks } = &s.items[10].kind else {
        panic!()
    };
    let blocks = all_blocks(blocks);
    assert_eq!(blocks.len(), 95);
    let b2 = blocks.iter().position(|b| b.id == "AB_00031001_00000002").unwrap();
    assert_eq!(blocks[b2].end, Some(blocks[b2 + 1].start));
    assert_eq!(blocks[b2].end, Some(t(1067 + 1066, 100_000)));
    for w in blocks.windows(2) {
        assert_eq!(w[0].end, Some(w[1].start), "{} → {}", w[0].id, w[1].id);
        assert!(
            w[1].ramp_end.is_some_and(|r| r > w[1].start && Some(r) <= w[1].end),
            "{}",
            w[1].id
        );
    }
    assert_eq!(blocks.last().unwrap().end, Some(t(1001, 1000)));
}

#[test]
fn dbmd_samples_have_two_objects_with_their_modes() {
    let Some(root) = samples() else { return };
    use HeadphoneMode::*;
    for (file, modes) in [
        ("sample_adm_file_0.wav", [None, None]),
        ("sample_adm_file_3.wav", [Some(Near), Some(Near)]),
        ("sample_adm_file_6.wav", [Some(Off), Some(Far)]),
    ] {
        let s = open(&root, &format!("dbmd-atmos-parser/{file}"));
        assert_eq!(count(&s, "object"), 2, "{file}");
        assert_eq!(s.items.len(), 2, "{file}");
        let got: Vec<_> = s.items.iter().map(|i| i.headphone_mode).collect();
        assert_eq!(got, modes, "{file}");
        assert!(s.notices.is_empty(), "{file}: {:?}", s.notices);
        let ItemKind::Object { blocks } = &s.items[0].kind else {
            panic!()
        };
        let blocks = all_blocks(blocks);
        assert_eq!(blocks[0].end, Some(t(5, 1)), "{file}");
    }
}

#[test]
fn programme_selection_two_prog() {
    let Some(root) = samples() else { return };
    let path = root.join("ear-production-suite/two_prog.wav");
    for (want, got) in [(None, "APR_1001"), (Some("APR_1002"), "APR_1002")] {
        let (_, s) = open_input(&path, None, want).unwrap();
        assert_eq!(s.programme.as_ref().unwrap().id, got);
        assert_eq!(s.programmes.len(), 2);
        assert_eq!(s.items.len(), 1);
        let i = &s.items[0];
        let ItemKind::DirectSpeakers { context, blocks } = &i.kind else {
            panic!()
        };
        assert_eq!(context.common_pack.as_deref(), Some("AP_00010001"));
        assert_eq!(blocks[0].block.speaker_labels, ["urn:itu:bs:2051:0:speaker:M+000"]);
    }
    let e = open_input(&path, None, Some("APR_2000")).unwrap_err();
    assert!(matches!(
        e,
        Error::Scene {
            error: SceneError::UnknownProgramme { .. },
            ..
        }
    ));
    let m = e.to_string();
    assert!(
        m.contains("two_prog.wav (axml): ") && m.contains("APR_1001, APR_1002"),
        "{m}"
    );
}

#[test]
fn ear_production_suite_files() {
    let Some(root) = samples() else { return };
    let eps = |f: &str| open(&root, &format!("ear-production-suite/{f}"));
    for (f, objects) in [
        ("nesting1-1ao_with_1pf_reffing_1pf.wav", 2),
        ("nesting3-1ao_reffing_2ao_each_with_1pf_with_1cf.wav", 2),
        (
            "nesting6b-2ao_parents_1ao_child_shared_and_1ao_child_with_one_parent.wav",
            3,
        ),
    ] {
        let s = eps(f);
        assert_eq!((count(&s, "object"), s.items.len()), (objects, objects), "{f}");
    }
    let s = eps("nesting6b-2ao_parents_1ao_child_shared_and_1ao_child_with_one_parent.wav");
    assert_eq!(notices_of(&s, "object-rendered-twice").len(), 1);
    assert_eq!(s.items.iter().filter(|i| i.id.starts_with("AO_1003/")).count(), 2);
    assert!(s.items.iter().any(|i| i.id.ends_with("#2")));

    let s = eps("aos_sharing_atu-some_without_parent.wav");
    assert_eq!(count(&s, "object"), 1);
    assert_eq!(notices_of(&s, "object-not-in-programme").len(), 2);

    let s = eps("hoa_4ch_bwf_1stOrderAmbix.wav");
    assert!(s.programme.is_none());
    assert_eq!((count(&s, "hoa"), s.items.len()), (4, 4));
    // HOA is rendered now: the scene raises no notice for it
    assert!(notices_of(&s, "not-rendered-hoa").is_empty());
    // one signal set: the four channels share a group, SN3D by default
    let groups: Vec<(&str, &str)> = s
        .items
        .iter()
        .map(|i| match &i.kind {
            ItemKind::Hoa {
                group, normalization, ..
            } => (group.as_str(), normalization.as_str()),
            _ => panic!("{}: not HOA", i.id),
        })
        .collect();
    assert!(groups.iter().all(|g| *g == groups[0] && g.1 == "SN3D"), "{groups:?}");

    // jp_1: three 1 s blocks, no jumpPosition: each later block ramps over its whole length.
    let s = eps("jp_1_no_jump_position.wav");
    let ItemKind::Object { blocks } = &s.items[0].kind else {
        panic!()
    };
    let blocks = all_blocks(blocks);
    let times: Vec<_> = blocks.iter().map(|b| (b.start, b.end, b.ramp_end)).collect();
    assert_eq!(
        times,
        [
            (t(0, 1), Some(t(1, 1)), None),
            (t(1, 1), Some(t(2, 1)), Some(t(2, 1))),
            (t(2, 1), Some(t(3, 1)), Some(t(3, 1))),
        ]
    );
    // jp_2: jumpPosition 1 without interpolationLength: no ramps at all.
    let s = eps("jp_2_jump_position_no_interpolate.wav");
    let ItemKind::Object { blocks } = &s.items[0].kind else {
        panic!()
    };
    let blocks = all_blocks(blocks);
    assert!(blocks.iter().all(|b| b.ramp_end.is_none()));
    // jp_4: zero-length blocks (jump) then 1 s blocks ramping from them.
    let s = eps("jp_4_zero_length.wav");
    let ItemKind::Object { blocks } = &s.items[0].kind else {
        panic!()
    };
    let blocks = all_blocks(blocks);
    assert_eq!(blocks.len(), 6);
    for pair in blocks.chunks(2) {
        assert_eq!(pair[0].end, Some(pair[0].start), "{}", pair[0].id);
        assert_eq!(pair[0].ramp_end, None, "{}", pair[0].id);
        assert_eq!(pair[1].start, pair[0].start, "{}", pair[1].id);
        assert_eq!(pair[1].ramp_end, pair[1].end, "{}", pair[1].id);
    }
    assert!(s.notices.is_empty(), "{:?}", s.notices);
}

#[test]
fn pack_mismatches_are_errors_naming_object_uid_and_channel() {
    let Some(root) = samples() else { return };
    for (f, parts) in [
        (
            "ear-production-suite/ds-all-tfs-not-in-pf.wav",
            &[
                "<audioObject AO_1001>",
                "ATU_00000001",
                "AC_0001000d",
                "AT_0001000d_01",
                "AP_00010001",
            ][..],
        ),
        (
            "ear-production-suite/two_object_pack_adm.wav",
            &[
                "<audioObject AO_1001>",
                "ATU_00000001",
                "AC_00031001",
                "AP_00031001",
                "no audioChannelFormat",
            ][..],
        ),
    ] {
        let e = open_input(&root.join(f), None, None).unwrap_err();
        assert!(
            matches!(&e, Error::Scene { error: SceneError::PackMismatch { object, line: 12, .. }, .. } if object == "AO_1001"),
            "{f}: {e}"
        );
        let m = e.to_string();
        for p in parts {
            assert!(m.contains(p), "{f}: {p} missing from {m}");
        }
    }
    // chna-only file whose track format is not a common definition.
    let e = open_input(&root.join("libbw64/noise_24bit_uneven_data_chunk_size.wav"), None, None).unwrap_err();
    assert!(e.to_string().contains("AT_00031001_01"), "{e}");
}

#[test]
fn ebu_adm_toolbox_inputs() {
    let Some(root) = samples() else { return };
    let r = |f: &str| open(&root, &format!("ebu-adm-toolbox/render/{f}.wav"));
    for (f, objects, ds, hoa) in [
        ("channel_routing", 2, 0, 0),
        ("diffuse", 1, 0, 0),
        ("object_delay", 1, 0, 0),
        ("timing_on_object", 1, 0, 0),
        ("silent_before_after", 1, 0, 0),
        ("silent_before_after_ds", 0, 1, 0),
        ("zero_size", 1, 0, 0),
        ("hoa_routing", 0, 0, 4),
        ("hoa_object_delay", 0, 0, 4),
        ("hoa_timing_on_object", 0, 0, 4),
        ("test_bwf", 2, 3, 0),
    ] {
        let s = r(f);
        assert_eq!(
            (count(&s, "object"), count(&s, "direct_speakers"), count(&s, "hoa")),
            (objects, ds, hoa),
            "{f}"
        );
        assert!(s.notices.is_empty(), "{f}: {:?}", s.notices);
    }
    let sample = |n: i64| t(n, 48_000);
    // object_delay: object start 12, duration 24 samples; the second block ramps.
    let s = r("object_delay");
    let ItemKind::Object { blocks } = &s.items[0].kind else {
        panic!()
    };
    let blocks = all_blocks(blocks);
    let times: Vec<_> = blocks.iter().map(|b| (b.start, b.end, b.ramp_end)).collect();
    assert_eq!(
        times,
        [
            (sample(12), Some(sample(24)), None),
            (sample(24), Some(sample(36)), Some(sample(36)))
        ]
    );
    // timing_on_object: a block without times spans the object.
    let s = r("timing_on_object");
    let ItemKind::Object { blocks } = &s.items[0].kind else {
        panic!()
    };
    let blocks = all_blocks(blocks);
    assert_eq!((blocks[0].start, blocks[0].end), (sample(12), Some(sample(24))));
    // zero_size: a zero-length block sets where the next block's ramp starts.
    let s = r("zero_size");
    let ItemKind::Object { blocks } = &s.items[0].kind else {
        panic!()
    };
    let blocks = all_blocks(blocks);
    let times: Vec<_> = blocks.iter().map(|b| (b.start, b.end, b.ramp_end)).collect();
    assert_eq!(
        times,
        [
            (sample(12), Some(sample(12)), None),
            (sample(12), Some(sample(24)), Some(sample(24))),
            (sample(24), Some(sample(24)), None),
            (sample(24), Some(sample(36)), Some(sample(36))),
        ]
    );
    // test_bwf: two UIDs on track 3 (U-030 and M+045), LFE on track 4.
    for s in [r("test_bwf"), open(&root, "ebu_adm_renderer/test_data/test_bwf.wav")] {
        let tracks: Vec<_> = s.items.iter().map(|i| (i.kind.name(), i.track)).collect();
        let on_3 = tracks.iter().filter(|(_, t)| *t == TrackSource::Channel(2)).count();
        assert_eq!(on_3, 2, "{tracks:?}");
        let lfe = s
            .items
            .iter()
            .find(|i| matches!(&i.kind, ItemKind::DirectSpeakers { context, .. } if context.frequency.is_lfe()))
            .unwrap();
        assert_eq!(lfe.track, TrackSource::Channel(3));
    }
}

/// `"1/4"`, `"1"`, `"0"` → Time.
fn frac(s: &str) -> Time {
    match s.split_once('/') {
        Some((n, d)) => t(n.parse().unwrap(), d.parse().unwrap()),
        None => t(s.parse().unwrap(), 1),
    }
}

/// The ramp rule of reference/README.md, computed from scene.json alone.
fn expected_blocks(blocks: &[serde_json::Value]) -> Vec<(Time, Option<Time>, Option<Time>)> {
    let mut out: Vec<(Time, Option<Time>, Option<Time>)> = Vec::new();
    for b in blocks {
        let (start, end) = match (b.get("rtime"), b.get("duration")) {
            (Some(r), Some(d)) => {
                let s = frac(r.as_str().unwrap());
                (s, Some(s.checked_add(frac(d.as_str().unwrap())).unwrap()))
            }
            _ => (Time::ZERO, None),
        };
        let touching = out.last().is_some_and(|p| p.1 == Some(start));
        let ramp = if touching {
            let jp = b.get("jumpPosition");
            let interp = match jp {
                Some(j) if j["flag"] == 1 => Some(
                    j.get("interpolationLength")
                        .map_or(Time::ZERO, |l| frac(l.as_str().unwrap())),
                ),
                _ => end.map(|e| e.checked_sub(start).unwrap()),
            };
            interp
                .filter(|i| *i > Time::ZERO)
                .map(|i| start.checked_add(i).unwrap())
        } else {
            None
        };
        out.push((start, end, ramp));
    }
    out
}

fn item_times(item: &RenderItem) -> Vec<(Time, Option<Time>, Option<Time>)> {
    match &item.kind {
        ItemKind::Object { blocks } => all_blocks(blocks)
            .iter()
            .map(|b| (b.start, b.end, b.ramp_end))
            .collect(),
        ItemKind::DirectSpeakers { blocks, .. } => blocks.iter().map(|b| (b.start, b.end, b.ramp_end)).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn ear_e2e_scenes_build_as_their_scene_json_says() {
    let Some(dir) = shared_dir("reference/ear-e2e") else {
        return;
    };
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let mut checked_ramps = 0;
    for scene in manifest["scenes"].as_array().unwrap() {
        let name = scene["name"].as_str().unwrap();
        let (input, s) = open_input(&dir.join(scene["input"].as_str().unwrap()), None, None).unwrap();
        let desc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(scene["scene"].as_str().unwrap())).unwrap())
                .unwrap();
        assert!(s.notices.is_empty(), "{name}: {:?}", s.notices);
        assert_eq!(
            u64::from(input.channels()),
            scene["input_tracks"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(s.frames, scene["input_frames"].as_u64().unwrap(), "{name}");
        let mut expected_items = 0;
        for track in desc["tracks"].as_array().unwrap() {
            let item = &track["item"];
            let kind = match item["type"].as_str().unwrap() {
                "Objects" => "object",
                "DirectSpeakers" => "direct_speakers",
                other => panic!("{other}"),
            };
            // A common-definition bed: one item per track, in pack order.
            if let Some(tracks) = track.get("tracks") {
                for (k, n) in tracks.as_array().unwrap().iter().enumerate() {
                    let ch = n.as_u64().unwrap() as u32 - 1;
                    let i = s.items.iter().find(|i| i.track == TrackSource::Channel(ch)).unwrap();
                    assert_eq!(i.kind.name(), kind, "{name} track {ch}");
                    let ItemKind::DirectSpeakers { context, .. } = &i.kind else {
                        panic!()
                    };
                    assert_eq!(
                        context.common_pack.as_deref(),
                        item["commonDefinition"].as_str(),
                        "{name}"
                    );
                    assert_eq!(ch as usize, k, "{name}: pack order");
                    expected_items += 1;
                }
                continue;
            }
            expected_items += 1;
            let ch = track["track"].as_u64().unwrap() as u32 - 1;
            let i = s.items.iter().find(|i| i.track == TrackSource::Channel(ch)).unwrap();
            assert_eq!(i.kind.name(), kind, "{name} track {ch}");
            assert_eq!(i.name, item["name"].as_str().unwrap(), "{name} track {ch}");
            let blocks = item["blocks"].as_array().unwrap();
            let want = expected_blocks(blocks);
            assert_eq!(item_times(i), want, "{name} {}", i.id);
            checked_ramps += want.iter().filter(|b| b.2.is_some()).count();
            if let ItemKind::Object { blocks: got } = &i.kind {
                for (g, b) in all_blocks(got).iter().zip(blocks) {
                    assert_eq!(
                        g.block.gain,
                        b.get("gain").map_or(1.0, |x| x.as_f64().unwrap()),
                        "{}",
                        g.id
                    );
                    assert_eq!(
                        g.block.cartesian,
                        b.get("cartesian").is_some_and(|c| c == true),
                        "{}",
                        g.id
                    );
                    assert_eq!(
                        g.block.diffuse,
                        b.get("diffuse").map_or(0.0, |x| x.as_f64().unwrap()),
                        "{}",
                        g.id
                    );
                }
                assert_eq!(
                    i.cartesian,
                    blocks[0].get("cartesian").is_some_and(|c| c == true),
                    "{name}"
                );
            }
            if let Some(f) = item.get("frequency") {
                let ItemKind::DirectSpeakers { context, .. } = &i.kind else {
                    panic!()
                };
                assert_eq!(context.frequency.low_pass, f["lowPass"].as_f64(), "{name}");
            }
        }
        assert_eq!(s.items.len(), expected_items, "{name}");
    }
    assert!(checked_ramps >= 8, "only {checked_ramps} ramps checked");
}

/// The fixture scene with its Objects channel's blocks replaced.
fn with_blocks(blocks: &str) -> String {
    let start = FIXTURE_XML
        .find("  <audioBlockFormat audioBlockFormatID=\"AB_00031001_00000001\"")
        .unwrap();
    let end = FIXTURE_XML.find("</audioChannelFormat>").unwrap();
    format!("{}{blocks}{}", &FIXTURE_XML[..start], &FIXTURE_XML[end..])
}

fn block(id: u32, rtime: &str, duration: Option<&str>) -> String {
    let d = duration.map(|d| format!(" duration=\"{d}\"")).unwrap_or_default();
    format!(
        "  <audioBlockFormat audioBlockFormatID=\"AB_00031001_0000000{id}\" rtime=\"{rtime}\"{d}>\n    <position coordinate=\"azimuth\">0</position>\n    <position coordinate=\"elevation\">0</position>\n  </audioBlockFormat>\n"
    )
}

/// The first line of `xml` holding `needle`.
fn line_of(xml: &str, needle: &str) -> u32 {
    xml.lines().position(|l| l.contains(needle)).unwrap() as u32 + 1
}

#[test]
fn timing_errors_name_block_object_and_line() {
    let dir = test_dir("timing_errors");
    let wav = write_wav(&dir.path().join("stems.wav"), 2, 4800, None, None);
    let cases = [
        (
            "overlap",
            with_blocks(
                &(block(1, "00:00:00.00000", Some("00:00:00.05000"))
                    + &block(2, "00:00:00.04000", Some("00:00:00.05000"))),
            ),
            TimingProblem::Overlap,
            "AB_00031001_00000002",
            "before the previous block AB_00031001_00000001 ends at 00:00:00.05",
        ),
        (
            "negative",
            with_blocks(&(block(1, "00:00:00.05000", None) + &block(2, "00:00:00.04000", Some("00:00:00.01000")))),
            TimingProblem::NegativeDuration,
            "AB_00031001_00000001",
            "comes before it",
        ),
        (
            "after_object",
            with_blocks(&block(1, "00:00:00.05000", Some("00:00:00.06000"))),
            TimingProblem::EndsAfterObject,
            "AB_00031001_00000001",
            "after audioObject AO_1001 ends at 00:00:00.1",
        ),
        (
            "rtime_only",
            with_blocks(&block(1, "00:00:00.05000", None))
                .replace(" start=\"00:00:00.00000\" duration=\"00:00:00.10000\"", ""),
            TimingProblem::RtimeWithoutDuration,
            "AB_00031001_00000001",
            "has rtime 00:00:00.05 but no duration",
        ),
    ];
    for (name, xml, problem, id, text) in cases {
        let path = dir.path().join(format!("{name}.xml"));
        std::fs::write(&path, &xml).unwrap();
        // rtime_only: with a 0.1 s programme end it would be repaired; so give the audio less.
        let wav = if name == "rtime_only" {
            write_wav(&dir.path().join("short.wav"), 2, 1000, None, None)
        } else {
            wav.clone()
        };
        let e = open_input(&wav, Some(&path), None).unwrap_err();
        let Error::Scene {
            error:
                SceneError::BlockTiming {
                    block,
                    object,
                    line,
                    problem: p,
                    ..
                },
            ..
        } = &e
        else {
            panic!("{name}: {e}")
        };
        assert_eq!(
            (p, block.as_str(), object.as_str()),
            (&problem, id, "AO_1001"),
            "{name}: {e}"
        );
        assert_eq!(*line, line_of(&xml, &format!("\"{id}\"")), "{name}: {e}");
        let m = e.to_string();
        assert!(
            m.starts_with(&format!("{}: line {line}: <audioBlockFormat {id}>", path.display())),
            "{m}"
        );
        assert!(m.contains(text), "{name}: {m}");
    }
}

#[test]
fn fixture_with_stems_and_without_chna() {
    let dir = test_dir("fixture_stems");
    let xml = dir.path().join("fixture.xml");
    std::fs::write(&xml, FIXTURE_XML).unwrap();
    let a = write_wav(&dir.path().join("a.wav"), 1, 4800, None, None);
    let b = write_wav(&dir.path().join("b.wav"), 1, 4000, None, None);
    let (mut input, s) = open_inputs(&[&a, &b], Some(&xml), None).unwrap();
    assert_eq!(input.channels(), 2);
    assert_eq!(input.frames(), 4800);
    let tracks: Vec<_> = s.items.iter().map(|i| (i.id.as_str(), i.track)).collect();
    assert_eq!(
        tracks,
        [
            ("AO_1001/AC_00031001", TrackSource::Channel(0)),
            ("AO_1002/AC_00010003", TrackSource::Channel(1)),
        ]
    );
    assert!(s.items.iter().all(|i| i.dialogue));
    assert_eq!(
        s.notices.iter().map(|n| n.kind).collect::<Vec<_>>(),
        ["stem-length-mismatch"]
    );
    // The two stems read as one: channel 1 is b.wav, silent past its 4000 frames.
    let mut buf = vec![vec![9f32; 1000]; 2];
    assert_eq!(input.read_planar(3500, &mut buf).unwrap(), 1000);
    let expected = crate::common::sines(1, 4800, 48_000.0, 0.25);
    for k in 0..1000 {
        assert!((buf[0][k] - expected[0][3500 + k]).abs() < 1e-6);
    }
    assert!(buf[1][500..].iter().all(|&x| x == 0.0));
    assert!((buf[1][0] - expected[0][3500]).abs() < 1e-6);
    assert_eq!(input.read_planar(4700, &mut buf).unwrap(), 100);

    // Several stems need --adm; a single file keeps its chna.
    assert!(matches!(open_inputs(&[&a, &b], None, None), Err(Error::Input { .. })));
    let f = write_fixture(dir.path());
    let (_, s) = open_input(&f, None, None).unwrap();
    assert!(s.notices.is_empty(), "{:?}", s.notices);
    let ItemKind::Object { blocks } = &s.items[0].kind else {
        panic!()
    };
    let blocks = all_blocks(blocks);
    assert_eq!(blocks[1].ramp_end, Some(t(1, 10)));
    assert_eq!(blocks[0].ramp_end, None);
}

/// Every sample document that parses builds a scene or fails with an error —
/// never a panic — for several track tables, and so do copies with digits
/// changed (times, IDs, counts: the values the builder checks).
#[test]
fn every_sample_document_builds_or_errs_never_panics() {
    use admix::adm::xml;
    use admix::scene::{SceneOptions, TrackTable, build};
    let Some(root) = samples() else { return };
    let mut files = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "xml") && std::fs::metadata(&p).unwrap().len() < 64 << 10 {
                files.push(p);
            }
        }
    }
    files.sort();
    let tables = |doc: &admix::adm::Document| {
        let chna: Vec<_> = doc
            .track_uids
            .iter()
            .enumerate()
            .map(|(i, u)| crate::common::chna_entry((i % 7) as u16 + 1, &u.id, "", ""))
            .collect();
        [0u32, 1, 64].map(|channels| TrackTable {
            sample_rate: 48_000,
            frames: 48_000,
            channels,
            chna: (channels == 1).then(|| chna.clone()),
            headphone_modes: vec![Some(HeadphoneMode::Near); 3],
        })
    };
    let mut built = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let digits: Vec<usize> = text
            .char_indices()
            .filter(|(_, c)| c.is_ascii_digit())
            .map(|(i, _)| i)
            .collect();
        let step = (digits.len() / 60).max(1);
        let mut variants = vec![text.clone()];
        for (k, &i) in digits.iter().step_by(step).enumerate() {
            let mut v = text.clone().into_bytes();
            v[i] = b'0' + ((v[i] - b'0' + 1 + k as u8 % 8) % 10);
            variants.push(String::from_utf8(v).unwrap());
        }
        for v in &variants {
            let Ok((doc, _)) = xml::parse(v, "x.xml") else { continue };
            for t in tables(&doc) {
                for programme in [None, Some("APR_1002".to_string())] {
                    let r = std::panic::catch_unwind(|| {
                        build(
                            &doc,
                            &t,
                            &SceneOptions {
                                programme: programme.clone(),
                            },
                            None,
                        )
                    });
                    assert!(r.is_ok(), "{}: panicked", f.display());
                    built += 1;
                }
            }
        }
    }
    assert!(built > 1000, "{built}");
}
