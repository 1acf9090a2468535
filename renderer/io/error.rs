//! [`Bw64Error`], the one error type of `io`, and [`ChunkId`], the four-byte
//! chunk id every message names.

use std::fmt;
use std::path::{Path, PathBuf};

/// A RIFF chunk id (FourCC), e.g. `fmt `, `data`, `axml`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChunkId(pub [u8; 4]);

impl ChunkId {
    pub const RIFF: ChunkId = ChunkId(*b"RIFF");
    pub const RF64: ChunkId = ChunkId(*b"RF64");
    pub const BW64: ChunkId = ChunkId(*b"BW64");
    pub const WAVE: ChunkId = ChunkId(*b"WAVE");
    pub const DS64: ChunkId = ChunkId(*b"ds64");
    pub const FMT: ChunkId = ChunkId(*b"fmt ");
    pub const FACT: ChunkId = ChunkId(*b"fact");
    pub const DATA: ChunkId = ChunkId(*b"data");
    pub const AXML: ChunkId = ChunkId(*b"axml");
    pub const CHNA: ChunkId = ChunkId(*b"chna");
    pub const DBMD: ChunkId = ChunkId(*b"dbmd");
    pub const BEXT: ChunkId = ChunkId(*b"bext");
    pub const JUNK: ChunkId = ChunkId(*b"JUNK");
    pub const LIST: ChunkId = ChunkId(*b"LIST");

    /// True when every byte is printable ASCII and the first is not a space:
    /// what a real FourCC looks like. A chunk walk that lands on anything else
    /// has lost its place.
    pub fn is_plausible(self) -> bool {
        self.0.iter().all(|b| (0x20..=0x7e).contains(b)) && self.0[0] != b' '
    }
}

impl fmt::Display for ChunkId {
    /// `'fmt '`, with non-printable bytes as `\xNN`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("'")?;
        for &b in &self.0 {
            if (0x20..=0x7e).contains(&b) && b != b'\'' && b != b'\\' {
                write!(f, "{}", b as char)?;
            } else {
                write!(f, "\\x{b:02x}")?;
            }
        }
        f.write_str("'")
    }
}

impl fmt::Debug for ChunkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Everything that can go wrong reading or writing a BW64/RF64/WAV file.
///
/// The categories follow Symphonia's (I/O, malformed, unsupported, limit) plus
/// one for caller mistakes; every variant carries the file and the place: the
/// chunk id and the byte offset of the chunk header (or of the field) at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Bw64Error {
    /// The operating system failed an open, read, write, seek, sync or rename.
    #[error("{}: {what}{}: {source}", path.display(), at_byte(*offset))]
    Io {
        path: PathBuf,
        /// Byte offset in the file where the operation was attempted (`None`
        /// for whole-file operations: open, create, rename).
        offset: Option<u64>,
        /// What was being done, e.g. "cannot read audio".
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The file breaks the RIFF / RF64 / BW64 / WAVE rules.
    #[error("{}: malformed {chunk} chunk at byte {offset}: {detail}", path.display())]
    Malformed {
        path: PathBuf,
        chunk: ChunkId,
        offset: u64,
        detail: String,
    },
    /// The file is well formed but uses something admix does not decode
    /// (a compressed format tag, an unknown EXTENSIBLE subformat, 12-bit samples…).
    #[error("{}: unsupported {chunk} chunk at byte {offset}: {detail}", path.display())]
    Unsupported {
        path: PathBuf,
        chunk: ChunkId,
        offset: u64,
        detail: String,
    },
    /// A size read from the file (or asked of the writer) is beyond what admix
    /// will allocate or represent.
    #[error("{}: {chunk} chunk at byte {offset} exceeds a limit: {detail}", path.display())]
    Limit {
        path: PathBuf,
        chunk: ChunkId,
        offset: u64,
        detail: String,
    },
    /// The caller asked for something impossible (buffers of the wrong shape,
    /// zero channels, a channel index past the end…). Not the file's fault.
    #[error("{}: {detail}", path.display())]
    InvalidArgument { path: PathBuf, detail: String },
}

impl Bw64Error {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Bw64Error::Io { path, .. }
            | Bw64Error::Malformed { path, .. }
            | Bw64Error::Unsupported { path, .. }
            | Bw64Error::Limit { path, .. }
            | Bw64Error::InvalidArgument { path, .. } => path,
        }
    }

    /// The byte offset the error is about, where there is one.
    pub fn offset(&self) -> Option<u64> {
        match self {
            Bw64Error::Io { offset, .. } => *offset,
            Bw64Error::Malformed { offset, .. }
            | Bw64Error::Unsupported { offset, .. }
            | Bw64Error::Limit { offset, .. } => Some(*offset),
            Bw64Error::InvalidArgument { .. } => None,
        }
    }

    /// The chunk the error is about, where there is one.
    pub fn chunk(&self) -> Option<ChunkId> {
        match self {
            Bw64Error::Malformed { chunk, .. }
            | Bw64Error::Unsupported { chunk, .. }
            | Bw64Error::Limit { chunk, .. } => Some(*chunk),
            Bw64Error::Io { .. } | Bw64Error::InvalidArgument { .. } => None,
        }
    }
}

fn at_byte(offset: Option<u64>) -> String {
    offset.map(|o| format!(" at byte {o}")).unwrap_or_default()
}

/// Builds errors for one file, so each failure site stays one line.
#[derive(Clone, Debug)]
pub(crate) struct Ctx {
    pub path: PathBuf,
}

impl Ctx {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Ctx { path: path.into() }
    }
    /// An I/O failure at a byte offset.
    pub fn io(&self, what: &'static str, offset: u64, source: std::io::Error) -> Bw64Error {
        Bw64Error::Io {
            path: self.path.clone(),
            offset: Some(offset),
            what,
            source,
        }
    }
    /// An I/O failure of a whole-file operation (open, create, rename).
    pub fn io_file(&self, what: &'static str, source: std::io::Error) -> Bw64Error {
        Bw64Error::Io {
            path: self.path.clone(),
            offset: None,
            what,
            source,
        }
    }
    pub fn malformed(&self, chunk: ChunkId, offset: u64, detail: impl Into<String>) -> Bw64Error {
        Bw64Error::Malformed {
            path: self.path.clone(),
            chunk,
            offset,
            detail: detail.into(),
        }
    }
    pub fn unsupported(&self, chunk: ChunkId, offset: u64, detail: impl Into<String>) -> Bw64Error {
        Bw64Error::Unsupported {
            path: self.path.clone(),
            chunk,
            offset,
            detail: detail.into(),
        }
    }
    pub fn limit(&self, chunk: ChunkId, offset: u64, detail: impl Into<String>) -> Bw64Error {
        Bw64Error::Limit {
            path: self.path.clone(),
            chunk,
            offset,
            detail: detail.into(),
        }
    }
    pub fn invalid(&self, detail: impl Into<String>) -> Bw64Error {
        Bw64Error::InvalidArgument {
            path: self.path.clone(),
            detail: detail.into(),
        }
    }
    /// Subject string for notices about this file's chunk at `offset`.
    pub fn subject(&self, chunk: ChunkId, offset: u64) -> String {
        format!("{}: {chunk} at byte {offset}", self.path.display())
    }
}
