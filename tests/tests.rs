//! Integration tests: one binary (one link step), one module per area.
//!
//! `alloc_probe` installs a counting global allocator (inert unless armed by a
//! test) so the malformed-input tests can assert that no size read from a
//! file makes admix allocate it.

mod adm_samples;
mod alloc_probe;
mod binaural;
mod cli;
mod cli_inspect;
mod common;
mod conformance;
mod e2e;
mod golden_ear;
mod gpu_vs_cpu;
mod io_large;
mod io_malformed;
mod io_samples;
mod io_writer;
mod panning_properties;
mod robustness;
mod scene_samples;
mod streaming;
