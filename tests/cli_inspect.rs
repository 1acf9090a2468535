//! `admix inspect`, run as the built binary: exact `--json` fields on a
//! fixture and on a shared sample, the human summary, and one-line errors
//! with exit code 2 for a missing file, a truncated file, a non-ADM XML and
//! an unknown programme. A multi-gigabyte (sparse) master inspects from its
//! header chunks alone.

use serde_json::{Value, json};

use crate::common::{FIXTURE_XML, admix, chna_entry, fails, fixture_chna, s, shared_dir, test_dir, write_fixture};

fn inspect_json(args: &[&str]) -> Value {
    let mut all = vec!["inspect", "--json"];
    all.extend_from_slice(args);
    let out = admix(&all);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn fixture_json_is_exact() {
    let dir = test_dir("fixture_json");
    let wav = write_fixture(dir.path());
    let v = inspect_json(&[s(&wav)]);
    assert_eq!(v["sample_rate"], 48_000);
    assert_eq!(v["tracks"], 2);
    assert_eq!(v["frames"], 4800);
    assert_eq!(v["duration_s"], 0.1);
    assert_eq!(v["container"], "RIFF");
    assert_eq!(v["adm"], format!("{} (axml)", wav.display()));
    assert_eq!(v["programme"], json!({"id": "APR_1001", "name": "Fixture"}));
    assert_eq!(v["programmes"], json!([{"id": "APR_1001", "name": "Fixture"}]));
    assert_eq!(v["counts"], json!({"direct_speakers": 1, "object": 1}));
    assert_eq!(v["notices"], json!([]));
    assert_eq!(v["dbmd"], Value::Null);
    assert_eq!(
        v["items"],
        json!([
            {
                "kind": "object", "id": "AO_1001/AC_00031001", "name": "Mover", "track": 1, "blocks": 2,
                "cartesian": false, "headphone_mode": null, "dialogue": true, "gain": 1.0,
                "content": "ACO_1001", "objects": ["AO_1001"], "start_s": 0.0, "end_s": 0.1
            },
            {
                "kind": "direct_speakers", "id": "AO_1002/AC_00010003", "name": "Centre", "track": 2,
                "blocks": 1, "cartesian": false, "headphone_mode": null, "dialogue": true, "gain": 1.0,
                "content": "ACO_1001", "objects": ["AO_1002"], "start_s": 0.0, "end_s": null
            }
        ])
    );
    let ids: Vec<&str> = v["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"fmt ") && ids.contains(&"data") && ids.contains(&"chna") && ids.contains(&"axml"));

    // The same with --adm and the chna left to map the tracks; silence beyond the channels.
    let xml = dir.path().join("f.xml");
    std::fs::write(&xml, FIXTURE_XML).unwrap();
    let mono = crate::common::write_wav(&dir.path().join("mono.wav"), 1, 4800, None, None);
    let v = inspect_json(&["--adm", s(&xml), s(&mono)]);
    assert_eq!(v["items"][0]["track"], 1);
    assert_eq!(v["items"][1]["track"], Value::Null);
    let kinds: Vec<&str> = v["notices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["track-out-of-range"]);
}

#[test]
fn fixture_summary() {
    let dir = test_dir("fixture_summary");
    let wav = write_fixture(dir.path());
    let out = admix(&["inspect", s(&wav)]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let expected = format!(
        "{w}: RIFF, 24-bit PCM, 2 tracks, 48000 Hz, 4800 frames (0.100 s)\n\
         ADM: {w} (axml); programme APR_1001 \"Fixture\"\n\
         items: 2 (1 direct_speakers, 1 object)\n\
         notices: none\n",
        w = wav.display()
    );
    assert_eq!(text, expected);
}

#[test]
fn pro_tools_json() {
    let Some(root) = shared_dir("adm-samples") else { return };
    let path = root.join("wavinfo/Test_ADM_ProTools.wav");
    let v = inspect_json(&[s(&path)]);
    assert_eq!(
        (v["sample_rate"].clone(), v["tracks"].clone()),
        (json!(48_000), json!(14))
    );
    assert_eq!(v["duration_s"], 1.001);
    assert_eq!(v["counts"], json!({"direct_speakers": 10, "object": 4}));
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 14);
    let modes: Vec<&Value> = items.iter().map(|i| &i["headphone_mode"]).collect();
    assert_eq!(modes[3], "off");
    assert!(modes.iter().enumerate().all(|(k, m)| k == 3 || m.is_null()));
    assert_eq!(
        items[10],
        json!({
            "kind": "object", "id": "AO_100b/AC_00031001", "name": "Atmos_Obj_1", "track": 11, "blocks": 95,
            "cartesian": true, "headphone_mode": null, "dialogue": false, "gain": 1.0, "content": "ACO_1002",
            "objects": ["AO_100b"], "start_s": 0.0, "end_s": 1.001
        })
    );
    let d = &v["dbmd"];
    assert_eq!(d["creation_tool"], "Pro Tools");
    assert_eq!(d["creation_tool_version"], "22.9.0");
    assert_eq!(d["warp_mode"], "downmix-loro");
    assert_eq!(d["version"], "1.0.0.6");
    let notices = v["notices"].as_array().unwrap();
    assert_eq!(notices.len(), 131);
    let repaired = notices.iter().filter(|n| n["kind"] == "block-time-repaired").count();
    assert_eq!(repaired, 113);

    let out = admix(&["inspect", s(&path)]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("items: 14 (10 direct_speakers, 4 object)"), "{text}");
    assert!(text.contains("  block-time-repaired ×113, e.g. "), "{text}");
    assert!(text.contains("  interpolation-length-repaired ×18, e.g. "), "{text}");
    assert!(
        text.contains(
            "dbmd 1.0.0.6: Pro Tools 22.9.0, warp mode downmix-loro; headphone modes: not-indicated ×13, off ×1"
        ),
        "{text}"
    );
}

#[test]
fn errors_are_one_line_with_exit_code_2() {
    let dir = test_dir("errors");
    let missing = dir.path().join("missing.wav");
    fails(&["inspect", s(&missing)], &[s(&missing), "cannot open"]);

    let wav = write_fixture(dir.path());
    let bytes = std::fs::read(&wav).unwrap();
    let truncated = dir.path().join("truncated.wav");
    std::fs::write(&truncated, &bytes[..30]).unwrap();
    fails(&["inspect", "--json", s(&truncated)], &[s(&truncated), "byte"]);

    let not_adm = dir.path().join("not_adm.xml");
    std::fs::write(&not_adm, "<?xml version=\"1.0\"?>\n<ADM><element/></ADM>\n").unwrap();
    fails(
        &["inspect", "--adm", s(&not_adm), s(&wav)],
        &[s(&not_adm), "not an ADM document", "<ADM>"],
    );

    let broken = dir.path().join("broken.xml");
    std::fs::write(&broken, &FIXTURE_XML[..FIXTURE_XML.len() / 2]).unwrap();
    fails(
        &["inspect", "--adm", s(&broken), s(&wav)],
        &[s(&broken), "malformed XML"],
    );

    fails(
        &["inspect", "--programme", "APR_1009", s(&wav)],
        &[s(&wav), "no audioProgramme \"APR_1009\"", "APR_1001"],
    );

    // A chna that points past the audio is a notice, but one naming a
    // format nothing defines is an error.
    let bad = crate::common::write_wav(
        &dir.path().join("chna_only.wav"),
        1,
        10,
        Some(&[chna_entry(1, "ATU_00000001", "AT_00031001_01", "AP_00031001")]),
        None,
    );
    fails(&["inspect", s(&bad)], &[s(&bad), "ATU_00000001", "AT_00031001_01"]);

    fails(&["inspect", s(&not_adm)], &[s(&not_adm), "--adm FILE.xml"]);

    let plain = crate::common::write_wav(&dir.path().join("plain.wav"), 1, 10, None, None);
    fails(&["inspect", s(&plain)], &[s(&plain), "no ADM metadata"]);
}

#[test]
fn a_multi_gigabyte_master_inspects_from_its_headers() {
    use admix::io::{Bw64Writer, Chna, OutputFormat, WriterSpec};
    let dir = test_dir("multi_gigabyte");
    let path = dir.path().join("big.wav");
    let spec = WriterSpec {
        channels: 2,
        sample_rate: 48_000,
        format: OutputFormat::S24,
        channel_mask: None,
        dither: false,
    };
    let frames: u64 = (5u64 << 30) / 6; // 5 GiB of audio, a sparse hole
    let mut w = Bw64Writer::create(&path, spec).unwrap();
    w.write_silence(frames).unwrap();
    w.set_chna(&Chna::new(fixture_chna())).unwrap();
    w.set_axml(FIXTURE_XML.as_bytes().to_vec()).unwrap();
    w.finish().unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() > 5 << 30);
    let t = std::time::Instant::now();
    let v = inspect_json(&[s(&path)]);
    let took = t.elapsed();
    eprintln!(
        "inspect of a {} GiB file: {:.1} ms (process start included)",
        5,
        took.as_secs_f64() * 1e3
    );
    assert_eq!(v["container"], "RF64");
    assert_eq!(v["frames"], frames);
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
    // The target is < 0.1 s; the bound leaves room for a loaded machine while
    // still failing if the 5 GiB of audio were read.
    assert!(took.as_secs_f64() < 1.0, "inspect took {took:?}");
}
