//! `admix loudness FILE [-l LAYOUT] [--target T] [--json]`: BS.1770-4
//! integrated loudness, loudness range, true peak and sample peak of any
//! WAV/BW64 file. Channel weights come from the layout: `-l`, else the file's
//! own ADM description (a DirectSpeakers programme such as admix writes — a
//! built-in layout when its labels match, else the speakers as described; a
//! Binaural programme is headphones), else the WAVE_FORMAT_EXTENSIBLE channel
//! mask, else the usual layout for the channel count (said so in the output).
//!
//! `--json`: `{"file","layout","layout_from","integrated_lufs",
//! "loudness_range_lu","true_peak_dbtp","sample_peak_dbfs","targets":[…]}`.

use crate::CliResult;
use admix::adm::elements::{BlockKind, SpeakerPosition, TypeDefinition};
use admix::io::Bw64Reader;
use admix::layout::{Layout, Speaker, nominal_speaker_label};
use admix::loudness::Meter;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The file to measure.
    file: PathBuf,
    /// Layout of the file's channels (name, alias or TOML path).
    #[arg(short, long)]
    layout: Option<String>,
    /// Loudness targets to check (comma separated).
    #[arg(long, value_delimiter = ',')]
    target: Vec<String>,
    /// Exit with code 1 when a target is missed.
    #[arg(long)]
    strict: bool,
    #[arg(long)]
    json: bool,
}

enum Weights {
    Layout(Layout),
    Headphones,
}

fn speaker(label: &str, az: f64, el: f64, lfe: bool) -> Speaker {
    Speaker {
        label: label.to_string(),
        bs2051: None,
        azimuth: az,
        elevation: el,
        distance: 1.0,
        nominal_azimuth: az,
        nominal_elevation: el,
        lfe,
        allocentric: None,
    }
}

/// The layout the file's own ADM describes, if it describes one.
fn from_adm(r: &mut Bw64Reader) -> Option<(Weights, String)> {
    let axml = r.read_axml().ok()??;
    let axml = std::str::from_utf8(&axml).ok()?;
    let chna = r.chna()?;
    let (doc, _) = admix::adm::xml::parse(axml, "axml").ok()?;
    let n = r.channels() as usize;
    let mut labels: Vec<Option<String>> = vec![None; n];
    let mut speakers: Vec<Option<Speaker>> = vec![None; n];
    let mut binaural = false;
    for e in &chna.entries {
        let i = usize::from(e.track_index).checked_sub(1)?;
        let track = doc.track_format(&e.track_ref);
        let stream = track.and_then(|t| t.stream_ref.as_deref()).and_then(|s| doc.stream(s));
        let ch_id = stream
            .and_then(|s| s.channel_ref.clone())
            .or_else(|| doc.track_uid(&e.uid).and_then(|u| u.channel_ref.clone()))?;
        let ch = doc.channel(&ch_id)?;
        if ch.type_definition == TypeDefinition::Binaural {
            binaural = true;
            continue;
        }
        let Some(BlockKind::DirectSpeakers(ds)) = ch.blocks.first().map(|b| &b.kind) else {
            return None;
        };
        let label = ds.speaker_labels.first().map(|l| nominal_speaker_label(l));
        let lfe = ch.frequency.is_lfe() || label.as_deref().is_some_and(|l| l.starts_with("LFE"));
        let (az, el) = match ds.position {
            SpeakerPosition::Polar { azimuth, elevation, .. } => (azimuth.value, elevation.value),
            SpeakerPosition::Cartesian { x, y, z } => {
                let (a, e, _) = admix::panning::conversion::point_cart_to_polar(x.value, y.value, z.value);
                (a, e)
            }
        };
        if let Some(slot) = speakers.get_mut(i) {
            *slot = Some(speaker(label.as_deref().unwrap_or(&ch.name), az, el, lfe));
        }
        if let Some(slot) = labels.get_mut(i) {
            *slot = label;
        }
    }
    if binaural && n == 2 {
        return Some((Weights::Headphones, "the file's ADM (Binaural)".into()));
    }
    let labels: Option<Vec<String>> = labels.into_iter().collect();
    if let Some(labels) = &labels {
        for l in Layout::all_builtin().ok()? {
            let mine: Vec<Option<&str>> = l.speakers.iter().map(|s| s.bs2051.as_deref()).collect();
            if mine.len() == labels.len() && mine.iter().zip(labels).all(|(a, b)| *a == Some(b.as_str())) {
                return Some((
                    Weights::Layout(l.clone()),
                    format!("the file's ADM (matches {})", l.name),
                ));
            }
        }
    }
    let speakers: Vec<Speaker> = speakers.into_iter().collect::<Option<Vec<_>>>()?;
    Some((
        Weights::Layout(Layout {
            name: "from file".into(),
            aliases: Vec::new(),
            description: String::new(),
            speakers,
            source: "axml".into(),
        }),
        "the file's ADM (speaker positions)".into(),
    ))
}

fn from_mask(mask: u32, channels: usize) -> Option<Layout> {
    // Microsoft speaker bits → direction
    const BITS: [(&str, f64, f64, bool); 18] = [
        ("FL", 30.0, 0.0, false),
        ("FR", -30.0, 0.0, false),
        ("FC", 0.0, 0.0, false),
        ("LFE", 0.0, 0.0, true),
        ("BL", 110.0, 0.0, false),
        ("BR", -110.0, 0.0, false),
        ("FLC", 15.0, 0.0, false),
        ("FRC", -15.0, 0.0, false),
        ("BC", 180.0, 0.0, false),
        ("SL", 90.0, 0.0, false),
        ("SR", -90.0, 0.0, false),
        ("TC", 0.0, 90.0, false),
        ("TFL", 30.0, 45.0, false),
        ("TFC", 0.0, 45.0, false),
        ("TFR", -30.0, 45.0, false),
        ("TBL", 110.0, 45.0, false),
        ("TBC", 180.0, 45.0, false),
        ("TBR", -110.0, 45.0, false),
    ];
    let sp: Vec<Speaker> = (0..18)
        .filter(|b| mask & (1 << b) != 0)
        .map(|b| speaker(BITS[b].0, BITS[b].1, BITS[b].2, BITS[b].3))
        .collect();
    (sp.len() == channels).then(|| Layout {
        name: format!("mask 0x{mask:x}"),
        aliases: Vec::new(),
        description: String::new(),
        speakers: sp,
        source: "channel mask".into(),
    })
}

pub fn run(a: Args) -> CliResult {
    let mut r = Bw64Reader::open(&a.file).map_err(|e| e.to_string())?;
    let n = r.channels() as usize;
    let rate = r.sample_rate();
    let (weights, from) = match &a.layout {
        Some(l) => (
            Weights::Layout(Layout::resolve(l).map_err(|e| e.to_string())?),
            "-l".to_string(),
        ),
        None => match from_adm(&mut r) {
            Some(w) => w,
            None => match r
                .format()
                .channel_mask
                .filter(|m| *m != 0)
                .and_then(|m| from_mask(m, n))
            {
                Some(l) => (Weights::Layout(l), "the channel mask".into()),
                None => {
                    let name = match n {
                        1 => None,
                        2 => Some("2.0"),
                        6 => Some("5.1"),
                        8 => Some("7.1"),
                        10 => Some("5.1.4"),
                        12 => Some("7.1.4"),
                        16 => Some("9.1.6"),
                        _ => None,
                    };
                    match name {
                        Some(name) => (
                            Weights::Layout(Layout::resolve(name).map_err(|e| e.to_string())?),
                            format!("the channel count (assumed {name}; give -l to be sure)"),
                        ),
                        None if n == 1 => (
                            Weights::Layout(Layout {
                                name: "mono".into(),
                                aliases: Vec::new(),
                                description: String::new(),
                                speakers: vec![speaker("C", 0.0, 0.0, false)],
                                source: String::new(),
                            }),
                            "the channel count (mono)".into(),
                        ),
                        None => {
                            return Err(format!(
                                "{}: {n} channels and no layout in the file: give -l LAYOUT",
                                a.file.display()
                            ));
                        }
                    }
                }
            },
        },
    };
    let (mut meter, layout_name) = match &weights {
        Weights::Layout(l) => {
            if l.speakers.len() != n {
                return Err(format!(
                    "{}: layout {} has {} speakers but the file has {n} channels",
                    a.file.display(),
                    l.name,
                    l.speakers.len()
                ));
            }
            (Meter::for_layout(l, rate).map_err(|e| e.to_string())?, l.name.clone())
        }
        Weights::Headphones => (
            Meter::for_binaural(rate).map_err(|e| e.to_string())?,
            admix::binaural::LAYOUT_NAME.to_string(),
        ),
    };
    let mut buf = vec![vec![0.0f32; 8192]; n];
    let mut pos = 0u64;
    loop {
        let got = r.read_planar(pos, &mut buf).map_err(|e| e.to_string())?;
        if got == 0 {
            break;
        }
        let slices: Vec<&[f32]> = buf.iter().map(|c| &c[..got]).collect();
        meter.add(&slices).map_err(|e| e.to_string())?;
        pos += got as u64;
    }
    let rep = meter.report();
    let mut failed = false;
    let checks: Vec<admix::loudness::TargetCheck> = crate::targets(&a.target)?
        .into_iter()
        .map(|t| {
            let c = t.check(&rep, None);
            failed |= !c.pass;
            c
        })
        .collect();
    let r2 = |x: Option<f64>| x.map(|v| (v * 100.0).round() / 100.0);
    if a.json {
        outln!(
            "{}",
            json!({
                "file": a.file.display().to_string(),
                "layout": layout_name,
                "layout_from": from,
                "integrated_lufs": r2(rep.integrated_lufs),
                "loudness_range_lu": r2(rep.loudness_range_lu),
                "true_peak_dbtp": r2(rep.true_peak_dbtp),
                "sample_peak_dbfs": r2(rep.sample_peak_dbfs),
                "targets": checks,
            })
        )?;
    } else {
        use crate::fmt_db;
        outln!("{}: layout {layout_name} (from {from})", a.file.display())?;
        outln!(
            "  integrated {} | LRA {} | true peak {} | sample peak {}",
            fmt_db(rep.integrated_lufs, "LUFS", "n/a (silent or under 0.4 s)"),
            fmt_db(rep.loudness_range_lu, "LU", "n/a (under 3 s)"),
            fmt_db(rep.true_peak_dbtp, "dBTP", "-inf"),
            fmt_db(rep.sample_peak_dbfs, "dBFS", "-inf")
        )?;
        for c in &checks {
            outln!("  target {}: {c}", c.target)?;
        }
    }
    Ok(if failed && a.strict {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
