//! The mix kernels: `acc[k] += x[k]·g` and `acc[k] += x[k]·(c + d·(k0 + k))`, the
//! inner loops of every render. A plain loop is the reference (and the Rust
//! mirror of `shaders/mix.wgsl`); the same loop compiled with AVX2+FMA or
//! AVX-512 is chosen at run time when the CPU has it (tested against the
//! plain loop).

/// `acc[k] += x[k] · g`
pub type ConstFn = fn(&mut [f32], &[f32], f32);
/// `acc[k] += x[k] · (c + d · (k0 + k))`: the part from sample `k0` on of a
/// ramp that starts at `c` (the same values, bit for bit, as the whole ramp
/// gives there: a ramp can be mixed in tiles).
pub type RampFn = fn(&mut [f32], &[f32], f32, f32, usize);

/// The kernels for this CPU.
#[derive(Clone, Copy)]
pub struct Kernels {
    pub constant: ConstFn,
    pub ramp: RampFn,
    /// Which variant was chosen (`scalar`, `avx2`, `avx512`).
    pub name: &'static str,
}

#[inline(always)]
fn mix_const_generic(acc: &mut [f32], x: &[f32], g: f32) {
    let n = acc.len().min(x.len());
    let (acc, x) = (&mut acc[..n], &x[..n]);
    for (a, v) in acc.iter_mut().zip(x) {
        *a += v * g;
    }
}

/// 0, 1, 2, … as f32: the sample index of a ramp, loaded as a vector
/// (converting a usize counter per element does not vectorise).
static RAMP: std::sync::LazyLock<Vec<f32>> = std::sync::LazyLock::new(|| (0..MAX_RUN).map(|k| k as f32).collect());

/// Longest run the ramp kernel handles in one call (longer runs are split).
pub const MAX_RUN: usize = 8192;

#[inline(always)]
fn mix_ramp_generic(acc: &mut [f32], x: &[f32], c: f32, d: f32, k0: usize) {
    let n = acc.len().min(x.len());
    // j: index in the whole ramp; runs of MAX_RUN counted from its start
    let mut j = k0;
    while j < k0 + n {
        let run = j - j % MAX_RUN;
        let stop = (run + MAX_RUN).min(k0 + n);
        let r = &RAMP[j - run..stop - run];
        let c0 = c + d * run as f32;
        // Gains computed from the sample index (not accumulated) so every
        // chunking of the same run gives the same values.
        for ((a, v), k) in acc[j - k0..stop - k0].iter_mut().zip(&x[j - k0..stop - k0]).zip(r) {
            *a += v * (c0 + d * k);
        }
        j = stop;
    }
}

/// The reference kernels (plain loops, no FMA).
pub fn scalar_const(acc: &mut [f32], x: &[f32], g: f32) {
    mix_const_generic(acc, x, g)
}

pub fn scalar_ramp(acc: &mut [f32], x: &[f32], c: f32, d: f32, k0: usize) {
    mix_ramp_generic(acc, x, c, d, k0)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{mix_const_generic, mix_ramp_generic};

    #[target_feature(enable = "avx2,fma")]
    unsafe fn const_avx2(acc: &mut [f32], x: &[f32], g: f32) {
        mix_const_generic(acc, x, g)
    }
    #[target_feature(enable = "avx2,fma")]
    unsafe fn ramp_avx2(acc: &mut [f32], x: &[f32], c: f32, d: f32, k0: usize) {
        mix_ramp_generic(acc, x, c, d, k0)
    }
    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    unsafe fn const_avx512(acc: &mut [f32], x: &[f32], g: f32) {
        mix_const_generic(acc, x, g)
    }
    #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
    unsafe fn ramp_avx512(acc: &mut [f32], x: &[f32], c: f32, d: f32, k0: usize) {
        mix_ramp_generic(acc, x, c, d, k0)
    }

    // Safe wrappers: only handed out by `Kernels::detect` after the CPU
    // features were checked.
    pub fn const_avx2_safe(acc: &mut [f32], x: &[f32], g: f32) {
        // SAFETY: selected only when avx2 and fma are available.
        unsafe { const_avx2(acc, x, g) }
    }
    pub fn ramp_avx2_safe(acc: &mut [f32], x: &[f32], c: f32, d: f32, k0: usize) {
        // SAFETY: as above.
        unsafe { ramp_avx2(acc, x, c, d, k0) }
    }
    pub fn const_avx512_safe(acc: &mut [f32], x: &[f32], g: f32) {
        // SAFETY: selected only when avx512f/vl are available.
        unsafe { const_avx512(acc, x, g) }
    }
    pub fn ramp_avx512_safe(acc: &mut [f32], x: &[f32], c: f32, d: f32, k0: usize) {
        // SAFETY: as above.
        unsafe { ramp_avx512(acc, x, c, d, k0) }
    }
}

impl Kernels {
    /// The plain loops.
    pub fn scalar() -> Self {
        Kernels {
            constant: scalar_const,
            ramp: scalar_ramp,
            name: "scalar",
        }
    }

    /// The fastest variant this CPU supports (`ADMIX_KERNEL=scalar|avx2`
    /// forces a slower one, for comparison).
    pub fn detect() -> Self {
        let forced = std::env::var("ADMIX_KERNEL").ok();
        #[cfg(target_arch = "x86_64")]
        {
            let want = forced.as_deref();
            if want != Some("scalar")
                && want != Some("avx2")
                && std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512vl")
            {
                return Kernels {
                    constant: x86::const_avx512_safe,
                    ramp: x86::ramp_avx512_safe,
                    name: "avx512",
                };
            }
            if want != Some("scalar")
                && std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Kernels {
                    constant: x86::const_avx2_safe,
                    ramp: x86::ramp_avx2_safe,
                    name: "avx2",
                };
            }
        }
        let _ = forced;
        Self::scalar()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detected_kernels_equal_the_plain_loops() {
        let k = Kernels::detect();
        for n in [1usize, 7, 16, 63, 1000, 4096] {
            let x: Vec<f32> = (0..n).map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0).collect();
            let base: Vec<f32> = (0..n).map(|i| ((i * 11 % 13) as f32) * 0.01).collect();
            let (mut a, mut b) = (base.clone(), base.clone());
            scalar_const(&mut a, &x, 0.3);
            (k.constant)(&mut b, &x, 0.3);
            for i in 0..n {
                assert!(
                    (a[i] - b[i]).abs() <= 1e-6 * (1.0 + a[i].abs()),
                    "{} const n={n} i={i}",
                    k.name
                );
            }
            let (mut a, mut b) = (base.clone(), base);
            scalar_ramp(&mut a, &x, 0.7, -1.0 / 4096.0, 0);
            (k.ramp)(&mut b, &x, 0.7, -1.0 / 4096.0, 0);
            for i in 0..n {
                assert!(
                    (a[i] - b[i]).abs() <= 1e-6 * (1.0 + a[i].abs()),
                    "{} ramp n={n} i={i}",
                    k.name
                );
            }
        }
    }

    #[test]
    fn a_ramp_mixed_in_tiles_equals_the_whole_ramp() {
        // every kernel, tiles of any length, runs longer than MAX_RUN
        for k in [Kernels::scalar(), Kernels::detect()] {
            for (n, tile) in [
                (1000usize, 128usize),
                (4096, 256),
                (4096, 1),
                (MAX_RUN + 700, 333),
                (2 * MAX_RUN + 5, 4096),
            ] {
                let x: Vec<f32> = (0..n).map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0).collect();
                let base: Vec<f32> = (0..n).map(|i| ((i * 11 % 13) as f32) * 0.01).collect();
                let (c, d) = (0.7f32, -1.0 / 9000.0);
                let mut whole = base.clone();
                (k.ramp)(&mut whole, &x, c, d, 0);
                let mut tiled = base;
                let mut t = 0;
                while t < n {
                    let e = (t + tile).min(n);
                    (k.ramp)(&mut tiled[t..e], &x[t..e], c, d, t);
                    t = e;
                }
                for i in 0..n {
                    assert_eq!(
                        whole[i].to_bits(),
                        tiled[i].to_bits(),
                        "{} n={n} tile={tile} i={i}",
                        k.name
                    );
                }
            }
        }
    }
}
