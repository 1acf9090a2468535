//! What this CPU can run, checked once: the byte scanners that have AVX2
//! paths (the BW64 decoder's 24-bit conversion, the ADM skeleton's block
//! skipping) ask here. `ADMIX_KERNEL=scalar` asks for the plain loops
//! everywhere, as it does for the mix, extent and convolution kernels.

/// Whether the AVX2 paths may run (detected once per process).
pub(crate) fn avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static AVX2: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *AVX2.get_or_init(|| {
            std::env::var("ADMIX_KERNEL").ok().as_deref() != Some("scalar")
                && std::arch::is_x86_feature_detected!("avx2")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}
