//! Gain calculation, ITU-R BS.2127: per-layout set-up once
//! ([`GainCalc::new`], [`DirectSpeakersPanner::new`]), then a pure function
//! per metadata block. Takes a [`crate::layout::Layout`] and ADM block
//! formats; produces per-speaker gains in the layout's channel order (LFE
//! outputs included, 0 for objects). Refuses layouts whose speakers do not
//! surround the listener (no BS.2127 triangulation covers every direction).

pub mod allocentric;
pub mod conversion;
pub mod direct_speakers;
pub mod extent;
pub mod flat;
pub mod gain_calc;
pub mod geom;
pub mod hoa;
pub mod hull;
pub mod point_source;
pub mod screen;
pub mod zone;

pub use direct_speakers::{DirectSpeakersContext, DirectSpeakersPanner, Routing};
pub use gain_calc::{DirectDiffuse, GainCalc, ObjectContext, Scratch};
pub mod json;
