//! admix: renders ADM (ITU-R BS.2076) object-based audio masters to speaker
//! feeds and binaural, with gains to ITU-R BS.2127.
//!
//! Data flow (one module per stage, data flows one way): `io` (BW64 chunks
//! and samples) → `adm` (typed document) → `scene` (render items) →
//! `panning` (gains, per `layout`) → `engine` (mixing) → `io` writers,
//! `binaural`, `loudness`. [`input::open_input`] runs the first three for a
//! file the way the command line opens it; [`Error`] is every stage's error.

#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]
// Numeric code indexes several arrays in step (and mirrors WGSL loops);
// iterator chains would hide that correspondence.
#![allow(clippy::needless_range_loop)]

pub mod adm;
pub mod bench;
pub mod binaural;
mod cpu;
pub mod demo;
pub mod engine;
mod error;
pub mod input;
pub mod io;
pub mod layout;
pub mod loudness;
pub mod notice;
pub mod panning;
pub mod render;
pub(crate) mod rng;
pub mod scene;
pub mod stop;
pub mod time;

pub use error::Error;
