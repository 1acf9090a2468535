//! Opening an input the way the command line does: a BW64/RF64/WAV file with
//! its `axml` and `chna` chunks, or an ADM XML file (`--adm FILE.xml`) beside
//! one or more WAV stems.
//!
//! - Takes: the audio path(s), the optional XML path, the optional programme.
//! - Produces: an [`Input`] (the open readers, read as one set of channels,
//!   plus the `dbmd` chunk) and the [`Scene`] (the parsed document is dropped
//!   once the scene is built; the scene holds what rendering needs), whose
//!   notices gather everything said on the way (container, XML, dbmd,
//!   selection and timing repairs, in that order).
//! - Refuses ([`Error`]): unreadable files, inputs with no ADM metadata,
//!   stems at different sample rates, several WAVs without `--adm`, and every
//!   error of the stages below.
//!
//! Only header chunks are read here: opening a multi-gigabyte master costs
//! its metadata, not its audio.
//!
//! Stems rule: with `--adm FILE.xml` the stems' channels are concatenated in
//! the order the files are given (stem 1's channels first). A single WAV
//! keeps its own `chna` (if it has one) to map tracks; with several stems,
//! their `chna` chunks (which number tracks within each stem) are not used
//! and the document's audioTrackUIDs are taken, in document order, onto
//! channels 0, 1, 2, ….

use std::path::{Path, PathBuf};

use crate::Error;
use crate::adm::Document;
use crate::adm::stream::{self, XmlSource};
use crate::io::{Bw64Error, Bw64Reader, ChunkId, Dbmd};
use crate::notice::Notices;
use crate::scene::{self, HeadphoneMode, Scene, SceneOptions, TrackTable};

/// The open audio of an input: one or more files read as one set of channels.
#[derive(Debug)]
pub struct Input {
    readers: Vec<Bw64Reader>,
    /// First channel of each reader in the concatenated set.
    offsets: Vec<u32>,
    channels: u32,
    sample_rate: u32,
    frames: u64,
    /// Where the document came from: the XML file, or `file.wav (axml)`
    /// (`file.wav (chna)` when there is only a chna).
    pub adm_source: String,
    /// The `dbmd` chunk of a single-file input, when present and readable.
    pub dbmd: Option<Dbmd>,
}

impl Input {
    /// The open files, in channel order.
    pub fn readers(&self) -> &[Bw64Reader] {
        &self.readers
    }
    /// Channels of all files together.
    pub fn channels(&self) -> u32 {
        self.channels
    }
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }
    /// Frames of the longest file (shorter stems read as silence past their end).
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Decodes frames `start_frame ..` of every channel into `out` (one slice
    /// per channel, all the same length); returns the frames written, short
    /// at the end of the input.
    pub fn read_planar<B: AsMut<[f32]>>(&mut self, start_frame: u64, out: &mut [B]) -> Result<usize, Bw64Error> {
        let want = out.first_mut().map_or(0, |b| b.as_mut().len());
        let n = usize::try_from(self.frames.saturating_sub(start_frame)).map_or(want, |left| left.min(want));
        if out.len() != self.channels as usize {
            let path = self
                .readers
                .first()
                .map_or_else(PathBuf::new, |r| r.path().to_path_buf());
            return Err(Bw64Error::InvalidArgument {
                path,
                detail: format!("{} output buffers for {} channels", out.len(), self.channels),
            });
        }
        for (reader, &first) in self.readers.iter_mut().zip(&self.offsets) {
            let first = first as usize;
            let count = usize::from(reader.channels());
            let Some(bufs) = out.get_mut(first..first + count) else {
                continue;
            };
            let got = reader.read_planar(start_frame, bufs)?.min(n);
            for b in bufs.iter_mut() {
                if let Some(rest) = b.as_mut().get_mut(got..n) {
                    rest.fill(0.0);
                }
            }
        }
        Ok(n)
    }
}

/// Opens one file: a BW64/RF64/WAV with `axml`/`chna`, or a WAV whose ADM is
/// `adm_xml`; builds the scene for `programme` (the lowest ID by default).
pub fn open_input(path: &Path, adm_xml: Option<&Path>, programme: Option<&str>) -> Result<(Input, Scene), Error> {
    open_inputs(&[path], adm_xml, programme)
}

/// Opens `paths` (WAV stems, concatenated in this order, when `adm_xml`
/// is given; exactly one file otherwise). See the module docs.
pub fn open_inputs(paths: &[&Path], adm_xml: Option<&Path>, programme: Option<&str>) -> Result<(Input, Scene), Error> {
    let Some(&first_path) = paths.first() else {
        return Err(Error::Input {
            path: PathBuf::new(),
            detail: "no input file given".into(),
        });
    };
    if paths.len() > 1 && adm_xml.is_none() {
        return Err(Error::Input {
            path: first_path.to_path_buf(),
            detail: format!(
                "{} input files: several WAV stems need their ADM XML (--adm FILE.xml)",
                paths.len()
            ),
        });
    }
    let mut notices = Notices::default();
    let mut readers = Vec::with_capacity(paths.len());
    let mut offsets = Vec::with_capacity(paths.len());
    let mut channels = 0u32;
    let mut frames = 0u64;
    for &p in paths {
        let is_xml = p.extension().is_some_and(|e| e.eq_ignore_ascii_case("xml"));
        if is_xml {
            return Err(Error::Input {
                path: p.to_path_buf(),
                detail: "an ADM XML file is given with --adm FILE.xml, beside the WAV file(s) it describes".into(),
            });
        }
        let mut r = Bw64Reader::open(p)?;
        notices.extend(r.take_notices());
        offsets.push(channels);
        channels += u32::from(r.channels());
        frames = frames.max(r.frames());
        readers.push(r);
    }
    let sample_rate = readers.first().map_or(0, Bw64Reader::sample_rate);
    for r in &readers {
        if r.sample_rate() != sample_rate {
            return Err(Error::Input {
                path: r.path().to_path_buf(),
                detail: format!(
                    "sample rate {} Hz differs from {} Hz of {}",
                    r.sample_rate(),
                    sample_rate,
                    first_path.display()
                ),
            });
        }
        if r.frames() != frames {
            notices.add(
                "stem-length-mismatch",
                r.path().display().to_string(),
                format!(
                    "{} frames where the longest stem has {frames}; it reads as silence past its end",
                    r.frames()
                ),
            );
        }
    }
    let single = readers.len() == 1;

    // The document, read as a skeleton: the Objects channels' blocks stay
    // in the file and are read as the render reaches them
    // (`adm::stream`), so memory does not grow with the automation.
    let (source, adm_source) = match adm_xml {
        Some(x) => {
            let file = std::fs::File::open(x).map_err(|source| Error::Io {
                path: x.to_path_buf(),
                what: "cannot open the ADM XML",
                source,
            })?;
            let len = file.metadata().map_err(|source| Error::Io {
                path: x.to_path_buf(),
                what: "cannot read the ADM XML",
                source,
            })?;
            if readers.first().is_some_and(|r| r.axml_location().is_some()) {
                notices.add(
                    "axml-overridden",
                    first_path.display().to_string(),
                    format!("the file's axml chunk is ignored: the ADM comes from {}", x.display()),
                );
            }
            let name = x.display().to_string();
            let source = XmlSource {
                bytes: std::sync::Arc::new(file),
                offset: 0,
                len: len.len(),
                name: name.clone(),
            };
            (Some(source), name)
        }
        None => {
            let name = format!("{} (axml)", first_path.display());
            match readers.first_mut() {
                Some(r) => match r.axml_source(&name)? {
                    Some(s) => (Some(s), name),
                    None if r.chna().is_some() => {
                        notices.add(
                            "no-axml",
                            first_path.display().to_string(),
                            "no axml chunk: the tracks are described by the chna chunk and the common definitions alone",
                        );
                        (None, format!("{} (chna)", first_path.display()))
                    }
                    None => {
                        return Err(Error::NoAdm {
                            path: first_path.to_path_buf(),
                        });
                    }
                },
                None => {
                    return Err(Error::NoAdm {
                        path: first_path.to_path_buf(),
                    });
                }
            }
        }
    };
    let document = match &source {
        None => Document::default(),
        Some(source) => {
            let (doc, adm_notices) = stream::read_document(source)?;
            notices.extend(adm_notices);
            doc
        }
    };
    let first = readers.first();

    // The track table.
    let chna = if single {
        first.and_then(|r| r.chna()).map(|c| c.entries.clone())
    } else {
        if readers.iter().any(|r| r.chna().is_some()) {
            notices.add(
                "chna-ignored",
                first_path.display().to_string(),
                "with several stems the chna chunks are not used: audioTrackUIDs take the channels in document order",
            );
        }
        None
    };
    let mut dbmd = None;
    let mut headphone_modes = Vec::new();
    if let (true, Some(r)) = (single, first)
        && let Some(body) = r.dbmd()
    {
        let offset = r
            .chunks()
            .iter()
            .find(|c| c.id == ChunkId::DBMD)
            .map_or(0, |c| c.offset);
        let subject = format!("{}: 'dbmd' at byte {offset}", first_path.display());
        dbmd = Dbmd::parse(body, &subject, &mut notices);
        if let Some(d) = &dbmd {
            let modes = d.track_modes();
            if d.supplemental.is_some() && modes.len() != channels as usize {
                notices.add(
                    "dbmd-track-count",
                    subject.as_str(),
                    format!(
                        "the Atmos supplemental segment has {} track entries for {channels} channels; the first {} \
                         are mapped to channels in order",
                        modes.len(),
                        modes.len().min(channels as usize)
                    ),
                );
            }
            headphone_modes = modes
                .into_iter()
                .take(channels as usize)
                .map(HeadphoneMode::from_dbmd)
                .collect();
        }
    }
    let table = TrackTable {
        sample_rate,
        frames,
        channels,
        chna,
        headphone_modes,
    };
    let options = SceneOptions {
        programme: programme.map(str::to_string),
    };
    let mut scene = scene::build(&document, &table, &options, source.as_ref()).map_err(|error| Error::Scene {
        adm: adm_source.clone(),
        error,
    })?;
    // The scene holds all the renderer needs; the document goes now.
    drop(document);
    notices.extend(std::mem::take(&mut scene.notices));
    scene.notices = notices.into_vec();
    Ok((
        Input {
            readers,
            offsets,
            channels,
            sample_rate,
            frames,
            adm_source,
            dbmd,
        },
        scene,
    ))
}

impl crate::render::AudioSource for Input {
    fn read_planar(&mut self, start: u64, out: &mut [&mut [f32]]) -> Result<usize, Bw64Error> {
        Input::read_planar(self, start, out)
    }
}
