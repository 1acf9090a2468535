//! Integration tests: one binary (one link step), one module per area.

mod common;
mod conformance;
mod golden_ear;
mod panning_properties;
