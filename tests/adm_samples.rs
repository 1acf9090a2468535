//! Every ADM document under `shared/adm-samples` (XML files, and the `axml`
//! chunk of each WAV) reads, or fails, as the survey of those files says (summarised per
//! file in the tables below);
//! plus malformed-input sweeps (truncation, byte flips) that must never panic.
//!
//! The samples live outside the repository: without them these tests print
//! a SKIP line and pass.

use std::fs;
use std::path::{Path, PathBuf};

use admix::adm::elements::{BlockKind, ObjectPosition, SpeakerPosition, TypeDefinition};
use admix::adm::{AdmError, AdmErrorKind, Document, xml};
use admix::notice::Notice;
use admix::time::Time;

mod generated {
    include!("support/generate_adm.rs");
}

/// `shared/adm-samples`, or `None` after a printed SKIP line.
fn samples() -> Option<PathBuf> {
    crate::common::shared_dir("adm-samples")
}

/// The `axml` chunk of a RIFF/RF64/BW64 file, if any. A minimal chunk walk
/// for tests: 32-bit sizes, pad bytes honoured, stops at the first chunk that
/// does not fit.
fn axml_chunk(bytes: &[u8]) -> Option<String> {
    if bytes.len() < 12 || !matches!(&bytes[..4], b"RIFF" | b"RF64" | b"BW64") || &bytes[8..12] != b"WAVE" {
        return None;
    }
    let mut pos = 12usize;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let size = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().ok()?) as usize;
        let body = pos + 8;
        let end = body.checked_add(size)?;
        if id == b"axml" {
            let data = bytes.get(body..end)?;
            return Some(String::from_utf8_lossy(data).into_owned());
        }
        if end > bytes.len() {
            return None;
        }
        pos = end + (size & 1);
    }
    None
}

/// What §G of samples.md expects of a document, at the parser's level
/// (PackMismatch and NoTrackRef are for the scene builder: they parse).
#[derive(Debug)]
enum Expect {
    Ok,
    NotAdm,
    Duplicate {
        id: &'static str,
        line: u32,
    },
    Invalid {
        id: &'static str,
        what: &'static str,
        value: &'static str,
    },
    Xml {
        line: u32,
    },
    Dangling {
        from: &'static str,
        target: &'static str,
        line: u32,
    },
}

fn expectations() -> Vec<(&'static str, Expect)> {
    use Expect::*;
    let xp = "libadm/xml_parser/";
    let ur = "libadm/xml_parser/unresolved_references/";
    let mut v: Vec<(String, Expect)> = vec![
        ("ebu_adm_renderer/adm_xml/ADM.xml".into(), NotAdm),
        (
            format!("{xp}audio_channel_format_duplicate_id.xml"),
            Duplicate {
                id: "AC_00031002",
                line: 9,
            },
        ),
        (
            format!("{xp}audio_content_duplicate_id.xml"),
            Duplicate {
                id: "ACO_1001",
                line: 0,
            },
        ),
        (
            format!("{xp}audio_object_duplicate_id.xml"),
            Duplicate { id: "AO_1001", line: 0 },
        ),
        (
            format!("{xp}audio_pack_format_duplicate_id.xml"),
            Duplicate {
                id: "AP_00010001",
                line: 0,
            },
        ),
        (
            format!("{xp}audio_programme_duplicate_id.xml"),
            Duplicate {
                id: "APR_1001",
                line: 0,
            },
        ),
        (
            format!("{xp}audio_stream_format_duplicate_id.xml"),
            Duplicate {
                id: "AS_00030001",
                line: 0,
            },
        ),
        (
            format!("{xp}audio_track_format_duplicate_id.xml"),
            Duplicate {
                id: "AT_00030001_01",
                line: 0,
            },
        ),
        (
            format!("{xp}audio_track_uid_duplicate_id.xml"),
            Duplicate {
                id: "ATU_00000001",
                line: 0,
            },
        ),
        (
            format!("{xp}audio_block_format_direct_speakers_cartesian_bad_bound.xml"),
            Invalid {
                id: "AB_00011001_00000001",
                what: "bound",
                value: "wrong",
            },
        ),
        (
            format!("{xp}audio_block_format_direct_speakers_cartesian_bad_coord.xml"),
            Invalid {
                id: "AB_00011001_00000001",
                what: "coordinate",
                value: "W",
            },
        ),
        (
            format!("{xp}audio_block_format_objects_gain_unit_error.xml"),
            Invalid {
                id: "AB_00031001_00000001",
                what: "gainUnit",
                value: "foo",
            },
        ),
        (format!("{xp}loudness_metadata.xml"), Xml { line: 31 }),
        (
            format!("{ur}audio_programme.xml"),
            Dangling {
                from: "APR_1001",
                target: "ACO_1001",
                line: 6,
            },
        ),
        (
            format!("{ur}audio_content.xml"),
            Dangling {
                from: "ACO_1001",
                target: "AO_1001",
                line: 6,
            },
        ),
        (
            format!("{ur}audio_object_1.xml"),
            Dangling {
                from: "AO_1001",
                target: "AO_1002",
                line: 6,
            },
        ),
        (
            format!("{ur}audio_object_2.xml"),
            Dangling {
                from: "AO_1001",
                target: "AP_00031001",
                line: 6,
            },
        ),
        (
            format!("{ur}audio_object_3.xml"),
            Dangling {
                from: "AO_1001",
                target: "ATU_00000001",
                line: 6,
            },
        ),
        (
            format!("{ur}audio_pack_format_1.xml"),
            Dangling {
                from: "AP_00031001",
                target: "AP_00031002",
                line: 6,
            },
        ),
        (
            format!("{ur}audio_pack_format_2.xml"),
            Dangling {
                from: "AP_00031001",
                target: "AC_00031001",
                line: 6,
            },
        ),
        (
            format!("{ur}audio_stream_format_1.xml"),
            Dangling {
                from: "AS_00031001",
                target: "AT_00031001_01",
                line: 6,
            },
        ),
        (
            format!("{ur}audio_stream_format_2.xml"),
            Dangling {
                from: "AS_00031001",
                target: "AP_00031001",
                line: 6,
            },
        ),
        (
            format!("{ur}audio_track_format.xml"),
            Dangling {
                from: "AT_00031001_01",
                target: "AS_00031001",
                line: 6,
            },
        ),
        (
            format!("{ur}audio_track_uid_1.xml"),
            Dangling {
                from: "ATU_00000001",
                target: "AP_00031001",
                line: 6,
            },
        ),
        (
            format!("{ur}audio_track_uid_2.xml"),
            Dangling {
                from: "ATU_00000001",
                target: "AT_00031001_01",
                line: 6,
            },
        ),
    ];
    for t in ["4x2", "5.1+2", "5.1"] {
        for s in ["ntsc", "pal"] {
            v.push((format!("dolbye2sadm/templates/dolbye_{t}_sadm_{s}_tplt.xml"), NotAdm));
        }
    }
    // `&'static str` keys keep the table readable at the use site.
    v.into_iter()
        .map(|(k, e)| (&*Box::leak(k.into_boxed_str()), e))
        .collect()
}

/// Every ADM input under `root`: (path relative to root, XML text).
fn documents(root: &Path) -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(root, &mut files);
    files.sort();
    let mut docs = Vec::new();
    for f in files {
        let rel = f.strip_prefix(root).unwrap_or(&f).to_string_lossy().into_owned();
        match f.extension().and_then(|e| e.to_str()) {
            Some("xml") => docs.push((rel, String::from_utf8_lossy(&fs::read(&f).unwrap()).into_owned())),
            Some("wav") => {
                if let Some(axml) = axml_chunk(&fs::read(&f).unwrap()) {
                    docs.push((format!("{rel} (axml)"), axml));
                }
            }
            _ => {}
        }
    }
    docs
}

fn check(name: &str, result: &Result<(Document, Vec<Notice>), AdmError>, expect: &Expect) -> Result<(), String> {
    let err = |e: &AdmError| e.kind().clone();
    match (expect, result) {
        (Expect::Ok, Ok(_)) => Ok(()),
        (Expect::NotAdm, Err(e)) if matches!(e.kind(), AdmErrorKind::NotAdm { .. }) => Ok(()),
        (Expect::Duplicate { id, line }, Err(e)) => match err(e) {
            AdmErrorKind::DuplicateId { id: got, at, .. } if got == *id && (*line == 0 || at.line == *line) => Ok(()),
            other => Err(format!("{name}: expected duplicate {id}, got {other:?}")),
        },
        (Expect::Invalid { id, what, value }, Err(e)) => match err(e) {
            AdmErrorKind::InvalidValue {
                id: Some(got),
                what: w,
                value: v,
                ..
            } if got == *id && w.contains(what) && v == *value => Ok(()),
            other => Err(format!(
                "{name}: expected invalid {what}={value} in {id}, got {other:?}"
            )),
        },
        (Expect::Xml { line }, Err(e)) => match err(e) {
            AdmErrorKind::Xml { at, .. } if at.line == *line => Ok(()),
            other => Err(format!("{name}: expected XML error at line {line}, got {other:?}")),
        },
        (Expect::Dangling { from, target, line }, Err(e)) => match err(e) {
            AdmErrorKind::DanglingReference { id, target: t, at, .. }
                if id == *from && t == *target && at.line == *line =>
            {
                Ok(())
            }
            other => Err(format!("{name}: expected {from} → {target} dangling, got {other:?}")),
        },
        (expect, Ok(_)) => Err(format!("{name}: expected {expect:?}, but it parsed")),
        (expect, Err(e)) => Err(format!("{name}: expected {expect:?}, got error {e}")),
    }
}

#[test]
fn every_sample_reads_or_fails_as_surveyed() {
    let Some(root) = samples() else { return };
    let table = expectations();
    let docs = documents(&root);
    assert!(
        docs.len() > 100,
        "only {} ADM inputs found under {}",
        docs.len(),
        root.display()
    );
    let mut failures = Vec::new();
    let (mut ok, mut refused) = (0, 0);
    for (name, text) in &docs {
        let key = name.trim_end_matches(" (axml)");
        let expect = table
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, e)| e)
            .unwrap_or(&Expect::Ok);
        let result = xml::parse(text, name);
        match &result {
            Ok((_, notices)) => {
                ok += 1;
                for n in notices {
                    println!("{name}: notice {}: {} — {}", n.kind, n.subject, n.message);
                }
            }
            Err(e) => {
                refused += 1;
                println!("{name}: {e}");
            }
        }
        if let Err(f) = check(name, &result, expect) {
            failures.push(f);
        }
    }
    println!("{} documents: {ok} read, {refused} refused", docs.len());
    assert!(
        failures.is_empty(),
        "{} unexpected results:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Every table entry names a file that exists.
    for (k, _) in &table {
        assert!(docs.iter().any(|(n, _)| n == k), "no sample {k}");
    }
}

fn axml_of(root: &Path, rel: &str) -> String {
    axml_chunk(&fs::read(root.join(rel)).unwrap()).unwrap()
}

#[test]
fn pro_tools_atmos_master() {
    let Some(root) = samples() else { return };
    let text = axml_of(&root, "wavinfo/Test_ADM_ProTools.wav");
    let (doc, notices) = xml::parse(&text, "Test_ADM_ProTools.wav").unwrap();
    assert_eq!(doc.root_path, "ebuCoreMain/coreMetadata/format/audioFormatExtended");
    assert_eq!(doc.programmes.len(), 1);
    let p = &doc.programmes[0];
    assert_eq!((p.id.as_str(), p.name.as_str()), ("APR_1001", "Atmos_Master"));
    assert_eq!(p.end, Time::new(1001, 1000));
    assert_eq!(p.content_refs, ["ACO_1001", "ACO_1002", "ACO_1003"]);
    let names: Vec<_> = doc.contents.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Atmos_Master_Content", "Dialog", "Effects"]);
    assert_eq!(doc.objects.len(), 5);
    assert_eq!(doc.object("AO_1001").unwrap().track_uid_refs.len(), 10);
    assert_eq!(doc.track_uids.len(), 14);
    assert_eq!(doc.channels.len(), 14);
    // No common definitions needed: every ID is the file's own.
    assert!(doc.packs.iter().all(|p| !p.origin.common_definition));

    // The bed: 10 DirectSpeakers channels, RC_ labels, cartesian positions.
    let bed = doc.pack("AP_00011001").unwrap();
    assert_eq!(bed.name, "AtmosCustomPackFormat1");
    assert_eq!(bed.type_definition, TypeDefinition::DirectSpeakers);
    let mut labels = Vec::new();
    for c in &bed.channel_refs {
        let ch = doc.channel(c).unwrap();
        let BlockKind::DirectSpeakers(b) = &ch.blocks[0].kind else {
            panic!("{c}")
        };
        labels.push(b.speaker_labels[0].clone());
        assert!(matches!(b.position, SpeakerPosition::Cartesian { .. }), "{c}");
    }
    assert_eq!(
        labels,
        [
            "RC_L", "RC_R", "RC_C", "RC_LFE", "RC_Lss", "RC_Rss", "RC_Lrs", "RC_Rrs", "RC_Lts", "RC_Rts"
        ]
    );
    let BlockKind::DirectSpeakers(lfe) = &doc.channel("AC_00011004").unwrap().blocks[0].kind else {
        panic!()
    };
    assert_eq!(
        lfe.position,
        SpeakerPosition::Cartesian {
            x: admix::adm::elements::BoundCoordinate::exact(-1.0),
            y: admix::adm::elements::BoundCoordinate::exact(1.0),
            z: admix::adm::elements::BoundCoordinate::exact(-1.0),
        }
    );

    // Objects: cartesian blocks, X/Y only (Z defaults to 0), jumpPosition exact.
    let blocks: usize = doc.channels.iter().map(|c| c.blocks.len()).sum();
    assert_eq!(blocks, 374);
    let obj = doc.channel("AC_00031001").unwrap();
    let BlockKind::Objects(b) = &obj.blocks[1].kind else {
        panic!()
    };
    assert!(b.cartesian);
    assert_eq!(
        b.position,
        ObjectPosition::Cartesian {
            x: -0.0089512467,
            y: 1.0,
            z: 0.0
        }
    );
    assert!(b.jump_position.flag);
    assert_eq!(b.jump_position.interpolation_length, Time::new(5208, 1_000_000));
    assert_eq!(obj.blocks[1].rtime, Time::new(1067, 100_000));
    assert_eq!(obj.blocks[1].origin.line, 175);

    // Dolby's streams name both the pack and the channel: both kept.
    let s = doc.stream("AS_00011001").unwrap();
    assert_eq!(s.channel_ref.as_deref(), Some("AC_00011001"));
    assert_eq!(s.pack_ref.as_deref(), Some("AP_00011001"));
    assert!(notices.is_empty(), "{notices:?}");
}

#[test]
fn duplicate_ids_name_the_id_and_both_lines() {
    let Some(root) = samples() else { return };
    let path = root.join("libadm/xml_parser/audio_channel_format_duplicate_id.xml");
    let text = fs::read_to_string(&path).unwrap();
    let e = xml::parse(&text, "audio_channel_format_duplicate_id.xml").unwrap_err();
    let AdmErrorKind::DuplicateId {
        at,
        element,
        id,
        first_line,
    } = e.kind()
    else {
        panic!("{e}")
    };
    assert_eq!(
        (element.as_str(), id.as_str(), at.line, *first_line),
        ("audioChannelFormat", "AC_00031002", 9, 6)
    );
    let msg = e.to_string();
    assert!(msg.contains("audio_channel_format_duplicate_id.xml:9:"), "{msg}");
    assert!(msg.contains("AC_00031002"), "{msg}");
}

#[test]
fn dangling_reference_message_names_ids_and_line() {
    let Some(root) = samples() else { return };
    let text = fs::read_to_string(root.join("libadm/xml_parser/unresolved_references/audio_object_2.xml")).unwrap();
    let e = xml::parse(&text, "audio_object_2.xml").unwrap_err();
    assert_eq!(
        e.to_string(),
        "adm: audio_object_2.xml:6: <audioObject AO_1001> references AP_00031001 (audioPackFormatIDRef), \
         which is neither defined in the file nor a common definition"
    );
}

#[test]
fn common_definitions_resolve_and_overrides_are_noticed() {
    let Some(root) = samples() else { return };
    let text = fs::read_to_string(root.join("ebu_adm_renderer/adm_xml/example1_bs2094.xml")).unwrap();
    let (doc, notices) = xml::parse(&text, "example1_bs2094.xml").unwrap();
    assert!(notices.is_empty(), "{notices:?}");
    let stereo = doc.pack("AP_00010002").unwrap();
    assert!(stereo.origin.common_definition);
    assert_eq!(stereo.channel_refs, ["AC_00010001", "AC_00010002"]);
    assert!(doc.track_format("AT_00010001_01").unwrap().origin.common_definition);
    assert!(doc.stream("AS_00010002").is_some());
    // Only what is referenced is merged in.
    assert_eq!(doc.packs.len(), 1);
    assert_eq!(doc.channels.len(), 2);

    // A file that carries its own copy of the common definitions wins, with notices.
    let text = fs::read_to_string(root.join("libadm/common_definitions/common_definitions.xml")).unwrap();
    let (doc, notices) = xml::parse(&text, "common_definitions.xml").unwrap();
    assert_eq!(doc.channels.len(), 300);
    assert!(doc.channels.iter().all(|c| !c.origin.common_definition));
    let overridden = notices
        .iter()
        .filter(|n| n.kind == "common-definition-overridden")
        .count();
    assert_eq!(overridden, 43 + 300 * 3);
}

#[test]
fn s_adm_frame_and_itu_roots_are_found() {
    let Some(root) = samples() else { return };
    let text = fs::read_to_string(root.join("dolbye2sadm/reference/5.1+2-1.xml")).unwrap();
    let (doc, _) = xml::parse(&text, "5.1+2-1.xml").unwrap();
    assert_eq!(doc.root_path, "frame/audioFormatExtended");
    assert_eq!(doc.version.as_deref(), Some("ITU-R_BS.2076-3"));
    assert_eq!(doc.programmes.len(), 2);
    // UIDs point straight at common-definition channels.
    assert_eq!(
        doc.track_uid("ATU_00000004").unwrap().channel_ref.as_deref(),
        Some("AC_00010004")
    );
    assert!(doc.channel("AC_00010004").unwrap().frequency.is_lfe());

    let text = fs::read_to_string(root.join("libadm/xml_parser/find_audio_format_extended_itu.xml")).unwrap();
    let (doc, _) = xml::parse(&text, "find_audio_format_extended_itu.xml").unwrap();
    assert!(doc.root_path.starts_with("ituADM/"), "{}", doc.root_path);
}

/// A deterministic stand-in for fuzzing: cut good documents at many offsets
/// and flip bytes; every result must be `Ok` or `Err`, never a panic.
#[test]
fn truncated_and_corrupted_documents_never_panic() {
    let Some(root) = samples() else { return };
    let inputs = [
        fs::read(root.join("libadm/sink.xml")).unwrap(),
        axml_of(&root, "ebu_adm_renderer/test_data/test_bwf.wav").into_bytes(),
        fs::read(root.join("dolbye2sadm/reference/5.1+2-1.xml")).unwrap(),
    ];
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut ok, mut err) = (0u32, 0u32);
    let mut tally = |r: Result<(Document, Vec<Notice>), AdmError>| match r {
        Ok(_) => ok += 1,
        Err(e) => {
            assert!(e.to_string().starts_with("adm: "), "{e}");
            err += 1
        }
    };
    for bytes in &inputs {
        for cut in (0..bytes.len()).step_by(37) {
            tally(xml::parse(&String::from_utf8_lossy(&bytes[..cut]), "cut.xml"));
        }
        for _ in 0..1500 {
            let mut b = bytes.clone();
            for _ in 0..1 + rand() % 4 {
                let i = (rand() % b.len() as u64) as usize;
                b[i] = match rand() % 4 {
                    0 => b'<',
                    1 => b'"',
                    2 => b'0' + (rand() % 10) as u8,
                    _ => rand() as u8,
                };
            }
            tally(xml::parse(&String::from_utf8_lossy(&b), "flipped.xml"));
        }
    }
    println!("malformed inputs: {ok} read, {err} refused");
    assert!(err > 0);
}

/// The document `examples/parse_speed.rs` times, small: every element there,
/// every reference resolved (runs without the samples).
#[test]
fn generated_master_parses_completely() {
    let xml = generated::generate(6, 300);
    let (doc, notices) = xml::parse(&xml, "generated.xml").unwrap();
    assert!(notices.is_empty(), "{notices:?}");
    assert_eq!((doc.objects.len(), doc.packs.len(), doc.channels.len()), (6, 6, 6));
    assert_eq!(
        (doc.streams.len(), doc.track_formats.len(), doc.track_uids.len()),
        (6, 6, 6)
    );
    let c = doc.channel("AC_00031003").unwrap();
    assert_eq!(c.blocks.len(), 300);
    let b = &c.blocks[299];
    assert_eq!(b.rtime, Some(Time::from_samples(299 * 512, 48000)));
    assert_eq!(b.duration, Some(Time::from_samples(512, 48000)));
    let BlockKind::Objects(o) = &b.kind else { panic!() };
    assert!(o.cartesian && o.jump_position.flag);
    assert_eq!(o.jump_position.interpolation_length, Time::new(5208, 1_000_000));
}

/// Structural damage without the samples: markup fragments spliced in at
/// many places of a generated document.
#[test]
fn spliced_markup_never_panics() {
    let good = generated::generate(2, 20);
    let fragments = [
        "<",
        ">",
        "</",
        "/>",
        "&",
        "&#",
        "&#x110000;",
        "&amp",
        "<![CDATA[",
        "]]>",
        "<!--",
        "-->",
        "<?pi",
        "\"",
        "<audioBlockFormat>",
        "</audioChannelFormat>",
        "<position coordinate=\"X\">",
        "\u{0}",
        "\u{feff}",
        "<a:b xmlns:a=\"u\">",
        "=\"\"",
        " x=",
        "<!DOCTYPE x [<!ENTITY e \"v\">]>",
    ];
    let mut n = 0;
    for (i, f) in fragments.iter().enumerate() {
        for at in (i * 13..good.len()).step_by(211) {
            if !good.is_char_boundary(at) {
                continue;
            }
            let mut bad = good.clone();
            bad.insert_str(at, f);
            let _ = xml::parse(&bad, "spliced.xml");
            n += 1;
        }
    }
    assert!(n > 1000);
}
