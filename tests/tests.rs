//! Integration tests: one binary (one link step), one module per area.

mod conformance;
