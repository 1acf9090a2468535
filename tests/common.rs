//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

/// A folder under ../shared (next to the checkout), or `None` with a loud
/// notice when it is absent: tests that read the shared real-world samples
/// skip, never fail, where those files are not available.
pub fn shared_dir(rel: &str) -> Option<PathBuf> {
    let root = std::env::var_os("ADMIX_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let p = root.join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!(
            "SKIP: {} is absent (set ADMIX_SHARED to the shared folder to run this test)",
            p.display()
        );
        None
    }
}
