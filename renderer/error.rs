//! [`Error`], the crate's top-level error: one of the stages' errors, each
//! message already naming the file and the place (chunk and byte offset,
//! XML line and element ID, layout file and speaker). The CLI prints it on
//! one line after `admix: ` and exits with code 2.

use std::path::PathBuf;

use crate::adm::AdmError;
use crate::io::Bw64Error;
use crate::layout::LayoutError;
use crate::scene::SceneError;

/// Everything that can stop admix from reading an input or rendering it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A BW64/RF64/WAV file that cannot be read.
    #[error(transparent)]
    Bw64(#[from] Bw64Error),
    /// ADM XML refused by the parser (`file:line:column: <element ID> …`).
    #[error("{}", adm_message(.0))]
    Adm(#[from] AdmError),
    /// A document whose items cannot be selected or timed.
    #[error("{adm}: {error}")]
    Scene {
        /// The ADM source the lines refer to: an XML file, or `file.wav (axml)`.
        adm: String,
        #[source]
        error: SceneError,
    },
    /// A speaker layout that cannot be used.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// An operating-system failure outside the BW64 reader (e.g. reading an
    /// `--adm` XML file).
    #[error("{}: {what}: {source}", path.display())]
    Io {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// An input with no ADM metadata: no `axml` nor `chna` chunk, and no
    /// `--adm FILE.xml`.
    #[error("{}: no ADM metadata (no axml or chna chunk); give the ADM XML with --adm FILE.xml", path.display())]
    NoAdm { path: PathBuf },
    /// Inputs that do not fit together (stems at different sample rates, a
    /// non-UTF-8 XML, several WAVs without `--adm`, …).
    #[error("{}: {detail}", path.display())]
    Input { path: PathBuf, detail: String },
}

/// The parser's messages start with `adm: `; the file name that follows is
/// the place this error names first.
fn adm_message(e: &AdmError) -> String {
    let s = e.to_string();
    match s.strip_prefix("adm: ") {
        Some(rest) => rest.to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_file_first() {
        let e = crate::adm::xml::parse("<x/>", "f.xml").unwrap_err();
        let msg = Error::from(e).to_string();
        assert!(msg.starts_with("f.xml: "), "{msg}");
        let e = Error::Scene {
            adm: "m.wav (axml)".into(),
            error: SceneError::UnknownProgramme {
                requested: "APR_9".into(),
                available: vec!["APR_1001".into()],
            },
        };
        assert_eq!(
            e.to_string(),
            "m.wav (axml): no audioProgramme \"APR_9\" in the document (it has: APR_1001)"
        );
    }
}
