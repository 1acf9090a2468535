//! Audio file input and output: BW64 / RF64 / RIFF-WAVE files as exchanged for
//! ADM (ITU-R BS.2076) masters.
//!
//! * [`bw64`] — [`Bw64Reader`]: reads the header chunks of a file (`fmt `, `data`
//!   position, `axml`, `chna`, `dbmd`, `ds64`) without touching the audio, then
//!   decodes any frame range to planar `f32` with bounded memory.
//! * [`writer`] — [`Bw64Writer`] and [`SplitWriter`]: stream planar `f32` to a
//!   temporary file, promote to RF64 past 4 GiB, and rename atomically on
//!   [`Bw64Writer::finish`]; a writer dropped unfinished leaves nothing behind.
//! * [`chna`] — the `chna` chunk (BS.2088 track → audioTrackUID table), parsed
//!   and serialised.
//! * [`dbmd`] — the `dbmd` chunk (Dolby metadata, EBU Tech 3285 s6): creation
//!   tool, warp mode, trims and per-track headphone render modes.
//! * [`format`](mod@format) — the `fmt ` chunk (WAVEFORMAT / WAVEFORMATEX / EXTENSIBLE).
//!
//! Every failure is one [`Bw64Error`] naming the file and the place (chunk id and
//! byte offset); everything read differently from what the file says is a
//! [`crate::notice::Notice`] returned with the result. Nothing here prints.
//!
//! References: EBU Tech 3285 (BWF, `bext`), EBU Tech 3306 (RF64, `ds64`),
//! ITU-R BS.2088-1 (BW64: `ds64`, `axml`, `chna`), Microsoft RIFF / WAVEFORMATEX
//! documentation (`fmt `, `fact`, pad bytes).
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod bw64;
pub mod chna;
pub mod dbmd;
mod error;
pub mod format;
pub mod writer;

pub use bw64::{Bw64Reader, ChunkInfo};
pub use chna::{Chna, ChnaEntry};
pub use dbmd::{BinauralRenderMode, Dbmd};
pub use error::{Bw64Error, ChunkId};
pub use format::{Format, SampleFormat};
pub use writer::{Bw64Writer, OutputFormat, SplitWriter, WriteReport, WriterSpec};

/// The outer container id of a file (the first four bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Container {
    /// `RIFF`: 32-bit sizes, at most 4 GiB.
    Riff,
    /// `RF64` (EBU Tech 3306): 64-bit sizes in a `ds64` chunk.
    Rf64,
    /// `BW64` (ITU-R BS.2088-1): same layout as RF64, another id.
    Bw64,
}

impl Container {
    /// The four-byte id as written in the file.
    pub fn id(self) -> ChunkId {
        match self {
            Container::Riff => ChunkId(*b"RIFF"),
            Container::Rf64 => ChunkId(*b"RF64"),
            Container::Bw64 => ChunkId(*b"BW64"),
        }
    }
}

impl std::fmt::Display for Container {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Container::Riff => "RIFF",
            Container::Rf64 => "RF64",
            Container::Bw64 => "BW64",
        })
    }
}
