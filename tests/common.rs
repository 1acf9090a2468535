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

/// `shared/adm-samples`, or `None` (after a loud SKIP line) where it is absent.
/// Looked for beside the repository (`../shared`, as in the main project) and
/// one level further up (this scratch crate), or under `$ADMIX_SHARED`.
pub fn samples_dir(test: &str) -> Option<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut candidates = Vec::new();
    if let Some(s) = std::env::var_os("ADMIX_SHARED") {
        candidates.push(PathBuf::from(s).join("adm-samples"));
    }
    candidates.push(manifest.join("../shared/adm-samples"));
    candidates.push(manifest.join("../../shared/adm-samples"));
    let found = candidates.into_iter().find(|p| p.join("README.md").is_file());
    if found.is_none() {
        eprintln!("SKIP {test}: shared/adm-samples not found (set ADMIX_SHARED)");
    }
    found
}

/// One sine per channel at a channel-specific frequency, so a routing error
/// shows in the numbers.
pub fn sines(channels: usize, frames: usize, rate: f32, amplitude: f32) -> Vec<Vec<f32>> {
    (0..channels)
        .map(|c| {
            let f = 110.0 * (c + 1) as f32;
            (0..frames)
                .map(|i| amplitude * (std::f32::consts::TAU * f * i as f32 / rate).sin())
                .collect()
        })
        .collect()
}
