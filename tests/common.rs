//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

/// A folder under ../shared (next to the checkout), or `None` with a loud
/// notice when it is absent: tests that read the shared real-world samples
/// skip, never fail, where those files are not available.
pub fn shared_dir(rel: &str) -> Option<PathBuf> {
    let root = std::env::var_os("ADMIX_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let p = root.join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!(
            "SKIP: {} is absent (set ADMIX_SHARED to the shared folder to run this test)",
            p.display()
        );
        None
    }
}

/// `shared/adm-samples`, or `None` (after a loud SKIP line) where it is absent.
/// Looked for beside the repository (`../shared`, as in the main project) and
/// one level further up (this scratch crate), or under `$ADMIX_SHARED`.
pub fn samples_dir(test: &str) -> Option<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut candidates = Vec::new();
    if let Some(s) = std::env::var_os("ADMIX_SHARED") {
        candidates.push(PathBuf::from(s).join("adm-samples"));
    }
    candidates.push(manifest.join("../shared/adm-samples"));
    candidates.push(manifest.join("../../shared/adm-samples"));
    let found = candidates.into_iter().find(|p| p.join("README.md").is_file());
    if found.is_none() {
        eprintln!("SKIP {test}: shared/adm-samples not found (set ADMIX_SHARED)");
    }
    found
}

/// One sine per channel at a channel-specific frequency, so a routing error
/// shows in the numbers.
pub fn sines(channels: usize, frames: usize, rate: f32, amplitude: f32) -> Vec<Vec<f32>> {
    (0..channels)
        .map(|c| {
            let f = 110.0 * (c + 1) as f32;
            (0..frames)
                .map(|i| amplitude * (std::f32::consts::TAU * f * i as f32 / rate).sin())
                .collect()
        })
        .collect()
}

/// A fresh temporary directory whose name starts with the test's name.
pub fn test_dir(test: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("admix-{test}-"))
        .tempdir()
        .unwrap()
}

/// Writes a 48 kHz 24-bit WAV of `channels` sines (`frames` long), with the
/// given chna entries and axml text.
pub fn write_wav(
    path: &Path,
    channels: u16,
    frames: usize,
    chna: Option<&[admix::io::ChnaEntry]>,
    axml: Option<&str>,
) -> PathBuf {
    use admix::io::{Bw64Writer, Chna, OutputFormat, WriterSpec};
    let spec = WriterSpec {
        channels,
        sample_rate: 48_000,
        format: OutputFormat::S24,
        channel_mask: None,
        dither: false,
    };
    let mut w = Bw64Writer::create(path, spec).unwrap();
    w.write_planar(&sines(usize::from(channels), frames, 48_000.0, 0.25))
        .unwrap();
    if let Some(c) = chna {
        w.set_chna(&Chna::new(c.to_vec())).unwrap();
    }
    if let Some(x) = axml {
        w.set_axml(x.as_bytes().to_vec()).unwrap();
    }
    w.finish().unwrap();
    path.to_path_buf()
}

/// A chna entry.
pub fn chna_entry(track_index: u16, uid: &str, track_ref: &str, pack_ref: &str) -> admix::io::ChnaEntry {
    admix::io::ChnaEntry {
        track_index,
        uid: uid.into(),
        track_ref: track_ref.into(),
        pack_ref: pack_ref.into(),
    }
}

/// The small ADM scene the scene and CLI tests share: programme APR_1001
/// "Fixture" with an Objects object AO_1001 "Mover" (two blocks, 30° then
/// −30°, ramping) on track 1 and a DirectSpeakers object AO_1002 "Centre"
/// (the common-definition mono pack AP_00010001, M+000) on track 2.
pub const FIXTURE_XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ebuCoreMain xmlns="urn:ebu:metadata-schema:ebuCore_2016">
<coreMetadata>
<format>
<audioFormatExtended version="ITU-R_BS.2076-2">
<audioProgramme audioProgrammeID="APR_1001" audioProgrammeName="Fixture">
  <audioContentIDRef>ACO_1001</audioContentIDRef>
</audioProgramme>
<audioContent audioContentID="ACO_1001" audioContentName="Main">
  <audioObjectIDRef>AO_1001</audioObjectIDRef>
  <audioObjectIDRef>AO_1002</audioObjectIDRef>
  <dialogue>1</dialogue>
</audioContent>
<audioObject audioObjectID="AO_1001" audioObjectName="Mover" start="00:00:00.00000" duration="00:00:00.10000">
  <audioPackFormatIDRef>AP_00031001</audioPackFormatIDRef>
  <audioTrackUIDRef>ATU_00000001</audioTrackUIDRef>
</audioObject>
<audioObject audioObjectID="AO_1002" audioObjectName="Centre">
  <audioPackFormatIDRef>AP_00010001</audioPackFormatIDRef>
  <audioTrackUIDRef>ATU_00000002</audioTrackUIDRef>
</audioObject>
<audioPackFormat audioPackFormatID="AP_00031001" audioPackFormatName="Mover" typeLabel="0003" typeDefinition="Objects">
  <audioChannelFormatIDRef>AC_00031001</audioChannelFormatIDRef>
</audioPackFormat>
<audioChannelFormat audioChannelFormatID="AC_00031001" audioChannelFormatName="Mover" typeLabel="0003" typeDefinition="Objects">
  <audioBlockFormat audioBlockFormatID="AB_00031001_00000001" rtime="00:00:00.00000" duration="00:00:00.05000">
    <position coordinate="azimuth">30</position>
    <position coordinate="elevation">0</position>
  </audioBlockFormat>
  <audioBlockFormat audioBlockFormatID="AB_00031001_00000002" rtime="00:00:00.05000" duration="00:00:00.05000">
    <position coordinate="azimuth">-30</position>
    <position coordinate="elevation">0</position>
  </audioBlockFormat>
</audioChannelFormat>
<audioStreamFormat audioStreamFormatID="AS_00031001" audioStreamFormatName="Mover" formatLabel="0001" formatDefinition="PCM">
  <audioChannelFormatIDRef>AC_00031001</audioChannelFormatIDRef>
  <audioTrackFormatIDRef>AT_00031001_01</audioTrackFormatIDRef>
</audioStreamFormat>
<audioTrackFormat audioTrackFormatID="AT_00031001_01" audioTrackFormatName="Mover" formatLabel="0001" formatDefinition="PCM">
  <audioStreamFormatIDRef>AS_00031001</audioStreamFormatIDRef>
</audioTrackFormat>
<audioTrackUID UID="ATU_00000001">
  <audioTrackFormatIDRef>AT_00031001_01</audioTrackFormatIDRef>
  <audioPackFormatIDRef>AP_00031001</audioPackFormatIDRef>
</audioTrackUID>
<audioTrackUID UID="ATU_00000002">
  <audioTrackFormatIDRef>AT_00010003_01</audioTrackFormatIDRef>
  <audioPackFormatIDRef>AP_00010001</audioPackFormatIDRef>
</audioTrackUID>
</audioFormatExtended>
</format>
</coreMetadata>
</ebuCoreMain>
"#;

/// The chna of [`FIXTURE_XML`].
pub fn fixture_chna() -> Vec<admix::io::ChnaEntry> {
    vec![
        chna_entry(1, "ATU_00000001", "AT_00031001_01", "AP_00031001"),
        chna_entry(2, "ATU_00000002", "AT_00010003_01", "AP_00010001"),
    ]
}

/// Writes the fixture master (2 channels, 0.1 s) into `dir`.
pub fn write_fixture(dir: &Path) -> PathBuf {
    write_wav(
        &dir.join("fixture.wav"),
        2,
        4800,
        Some(&fixture_chna()),
        Some(FIXTURE_XML),
    )
}

/// An Objects block at (azimuth, elevation) on the unit sphere, ADM defaults otherwise.
pub fn polar(az: f64, el: f64) -> admix::adm::elements::ObjectBlock {
    use admix::adm::elements::{ObjectBlock, ObjectPosition};
    ObjectBlock {
        position: ObjectPosition::Polar {
            azimuth: az,
            elevation: el,
            distance: 1.0,
        },
        ..ObjectBlock::default()
    }
}

/// A cartesian Objects block at (X, Y, Z), ADM defaults otherwise.
pub fn cartesian(x: f64, y: f64, z: f64) -> admix::adm::elements::ObjectBlock {
    use admix::adm::elements::{ObjectBlock, ObjectPosition};
    ObjectBlock {
        position: ObjectPosition::Cartesian { x, y, z },
        cartesian: true,
        ..ObjectBlock::default()
    }
}

/// Every sample of a BW64/WAV file, planar f32.
pub fn read_all(path: &std::path::Path) -> Vec<Vec<f32>> {
    let mut r = admix::io::Bw64Reader::open(path).unwrap();
    let n = r.frames() as usize;
    let mut out = vec![vec![0.0f32; n]; r.channels() as usize];
    let got = r.read_planar(0, &mut out).unwrap();
    assert_eq!(got, n);
    out
}

/// The names in a folder, sorted (hidden temporary files included).
pub fn dir_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Runs the built `admix` binary.
pub fn admix(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_admix"))
        .args(args)
        .output()
        .unwrap()
}

/// A path as a command-line argument.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs a failing command: exit code 2, nothing on stdout, one line on
/// stderr that starts with `admix: ` and contains every part.
pub fn fails(args: &[&str], parts: &[&str]) {
    let out = admix(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("admix: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for p in parts {
        assert!(stderr.contains(p), "{p:?} missing from {stderr}");
    }
}

/// A float-32 speaker output of `layout` to `path` (one file, no dither).
pub fn f32_speakers(layout: &admix::layout::Layout, path: PathBuf) -> admix::render::OutputSpec {
    admix::render::OutputSpec {
        kind: admix::render::OutputKind::Speakers,
        layout: layout.clone(),
        path: Some(path),
        format: admix::io::OutputFormat::F32,
        split: false,
        dither: false,
    }
}
