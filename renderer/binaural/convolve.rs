//! Uniformly partitioned overlap-save convolution from N inputs to M
//! outputs (`out[o] = Σ_i in[i] ⊛ h[i][o]`), summed in the frequency
//! domain so each output costs one inverse FFT per block. Blocks of
//! `block` samples; no allocation per block; silent inputs whose history
//! has died away are skipped. Spectra are kept as separate real and
//! imaginary arrays so the complex multiply-accumulate over the bins (the
//! bulk of the work) vectorises.

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use std::sync::Arc;

/// A run of spectra, real and imaginary parts apart.
#[derive(Clone, Default)]
struct Split {
    re: Vec<f32>,
    im: Vec<f32>,
}

impl Split {
    fn zeros(n: usize) -> Self {
        Split {
            re: vec![0.0; n],
            im: vec![0.0; n],
        }
    }
    fn is_empty(&self) -> bool {
        self.re.is_empty()
    }
}

/// acc += x · h over one partition's bins.
#[inline(always)]
fn cmac_body(acc_re: &mut [f32], acc_im: &mut [f32], xr: &[f32], xi: &[f32], hr: &[f32], hi: &[f32]) {
    let n = acc_re
        .len()
        .min(acc_im.len())
        .min(xr.len())
        .min(xi.len())
        .min(hr.len())
        .min(hi.len());
    let (acc_re, acc_im) = (&mut acc_re[..n], &mut acc_im[..n]);
    let (xr, xi, hr, hi) = (&xr[..n], &xi[..n], &hr[..n], &hi[..n]);
    for k in 0..n {
        acc_re[k] += xr[k] * hr[k] - xi[k] * hi[k];
        acc_im[k] += xr[k] * hi[k] + xi[k] * hr[k];
    }
}

/// The multiply-add over the bins, as the CPU runs it best.
type Cmac = fn(&mut [f32], &mut [f32], &[f32], &[f32], &[f32], &[f32]);

fn cmac_plain(acc_re: &mut [f32], acc_im: &mut [f32], xr: &[f32], xi: &[f32], hr: &[f32], hi: &[f32]) {
    cmac_body(acc_re, acc_im, xr, xi, hr, hi);
}

/// [`cmac_plain`] in 8-lane AVX registers: the same operations on each bin
/// (Rust never fuses a multiply and an add), so the same results bit for bit.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn cmac_avx2(acc_re: &mut [f32], acc_im: &mut [f32], xr: &[f32], xi: &[f32], hr: &[f32], hi: &[f32]) {
    cmac_body(acc_re, acc_im, xr, xi, hr, hi);
}

#[cfg(target_arch = "x86_64")]
fn cmac_avx2_safe(acc_re: &mut [f32], acc_im: &mut [f32], xr: &[f32], xi: &[f32], hr: &[f32], hi: &[f32]) {
    // SAFETY: chosen by `cmac_kernel` only when the CPU has AVX2.
    unsafe { cmac_avx2(acc_re, acc_im, xr, xi, hr, hi) }
}

/// The multiply-add for this CPU (`ADMIX_KERNEL=scalar` forces the plain
/// one, as for the mixer).
fn cmac_kernel() -> Cmac {
    #[cfg(target_arch = "x86_64")]
    if std::env::var("ADMIX_KERNEL").ok().as_deref() != Some("scalar") && std::arch::is_x86_feature_detected!("avx2") {
        return cmac_avx2_safe;
    }
    cmac_plain
}

pub struct MimoConvolver {
    block: usize,
    parts: usize,
    outputs: usize,
    /// [input][output] → parts × bins spectra (empty when the filter is all zero)
    filters: Vec<Vec<Split>>,
    /// One per input: its spectra, its previous block and work buffers.
    ins: Vec<InputState>,
    /// One per output: its spectrum sum and work buffers.
    outs: Vec<OutputState>,
    ring: usize,
    cmac: Cmac,
}

/// An input's state: the ring of its last `parts` spectra, its previous
/// block, how many more blocks it must be transformed while silent, and
/// its own buffers for the forward FFT (so the inputs transform in parallel).
struct InputState {
    history: Split,
    prev: Vec<f32>,
    live: usize,
    /// Whether this block's spectrum was computed (else it is silent and
    /// its history has died away: it adds nothing).
    active: bool,
    r2c: Arc<dyn RealToComplex<f32>>,
    frame: Vec<f32>,
    spec: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
}

/// An output's sum of spectra and its buffers for the inverse FFT.
struct OutputState {
    acc: Split,
    c2r: Arc<dyn ComplexToReal<f32>>,
    spec: Vec<Complex<f32>>,
    frame: Vec<f32>,
    scratch: Vec<Complex<f32>>,
}

/// Less work than this per block (complex multiply-adds plus FFT points)
/// is not split across threads: the hand-off would cost more.
const PARALLEL_WORK: usize = 16 * 1024;

impl MimoConvolver {
    /// `filters[i][o]`: taps from input i to output o.
    pub fn new(filters: &[Vec<Vec<f32>>], outputs: usize, block: usize) -> Self {
        let max_len = filters.iter().flatten().map(Vec::len).max().unwrap_or(1).max(1);
        let parts = max_len.div_ceil(block);
        let bins = block + 1;
        let mut planner = RealFftPlanner::<f32>::new();
        let r2c = planner.plan_fft_forward(2 * block);
        let c2r = planner.plan_fft_inverse(2 * block);
        let mut frame = vec![0.0f32; 2 * block];
        let mut sf = r2c.make_scratch_vec();
        let mut spec = vec![Complex::new(0.0f32, 0.0); bins];
        let fd: Vec<Vec<Split>> = filters
            .iter()
            .map(|per_out| {
                (0..outputs)
                    .map(|o| {
                        let Some(h) = per_out.get(o).filter(|h| h.iter().any(|v| *v != 0.0)) else {
                            return Split::default();
                        };
                        let mut out = Split::zeros(parts * bins);
                        for p in 0..parts {
                            frame.fill(0.0);
                            let lo = (p * block).min(h.len());
                            let hi = ((p + 1) * block).min(h.len());
                            frame[..hi - lo].copy_from_slice(&h[lo..hi]);
                            let _ = r2c.process_with_scratch(&mut frame, &mut spec, &mut sf);
                            for (k, c) in spec.iter().enumerate() {
                                out.re[p * bins + k] = c.re;
                                out.im[p * bins + k] = c.im;
                            }
                        }
                        out
                    })
                    .collect()
            })
            .collect();
        let ins = (0..filters.len())
            .map(|_| InputState {
                history: Split::zeros(parts * bins),
                prev: vec![0.0; block],
                live: 0,
                active: false,
                r2c: r2c.clone(),
                frame: vec![0.0; 2 * block],
                spec: vec![Complex::new(0.0, 0.0); bins],
                scratch: r2c.make_scratch_vec(),
            })
            .collect();
        let outs = (0..outputs)
            .map(|_| OutputState {
                acc: Split::zeros(bins),
                c2r: c2r.clone(),
                spec: vec![Complex::new(0.0, 0.0); bins],
                frame: vec![0.0; 2 * block],
                scratch: c2r.make_scratch_vec(),
            })
            .collect();
        MimoConvolver {
            block,
            parts,
            outputs,
            filters: fd,
            ins,
            outs,
            ring: 0,
            cmac: cmac_kernel(),
        }
    }

    pub fn block(&self) -> usize {
        self.block
    }

    /// One block: `inputs[i]` (block samples each) → `outputs[o]` (overwritten).
    ///
    /// In two steps, each parallel when there is enough work: every input's
    /// spectrum (one forward FFT each), then every output's sum over the
    /// inputs and partitions (one inverse FFT each). Each output adds its
    /// terms in the same order whatever the threads, so the result does not
    /// depend on them.
    pub fn process(&mut self, inputs: &[&[f32]], outputs: &mut [&mut [f32]]) {
        use rayon::prelude::*;
        let (b, bins, parts, slot) = (self.block, self.block + 1, self.parts, self.ring);
        let n_in = self.ins.len().min(inputs.len());
        let fft_work = 2 * b * (2 * b).ilog2() as usize;
        let transform = |(st, x): (&mut InputState, &&[f32])| {
            let silent = x.iter().all(|v| *v == 0.0);
            st.active = !(silent && st.live == 0);
            if !st.active {
                return;
            }
            st.live = if silent { st.live.saturating_sub(1) } else { parts + 1 };
            st.frame[..b].copy_from_slice(&st.prev);
            st.frame[b..].copy_from_slice(x);
            st.prev.copy_from_slice(x);
            let _ = st
                .r2c
                .process_with_scratch(&mut st.frame, &mut st.spec, &mut st.scratch);
            for (k, c) in st.spec.iter().enumerate() {
                st.history.re[slot * bins + k] = c.re;
                st.history.im[slot * bins + k] = c.im;
            }
        };
        let ins = &mut self.ins[..n_in];
        if n_in * fft_work >= PARALLEL_WORK && n_in > 1 {
            ins.par_iter_mut().zip(inputs.par_iter()).for_each(transform);
        } else {
            ins.iter_mut().zip(inputs.iter()).for_each(transform);
        }
        let (ins, filters) = (&self.ins[..n_in], &self.filters);
        // as before the split: nothing to add when no active input has a filter
        let any = ins
            .iter()
            .zip(filters)
            .any(|(st, f)| st.active && f.iter().any(|f| !f.is_empty()));
        let scale = 1.0 / (2 * b) as f32;
        let cmac = self.cmac;
        let sum = |(o, (st, out)): (usize, (&mut OutputState, &mut &mut [f32]))| {
            if !any {
                out.fill(0.0);
                return;
            }
            let acc = &mut st.acc;
            acc.re.fill(0.0);
            acc.im.fill(0.0);
            for (input, f) in ins.iter().zip(filters) {
                let f = &f[o];
                if !input.active || f.is_empty() {
                    continue;
                }
                let hist = &input.history;
                for p in 0..parts {
                    let h = (slot + parts - p) % parts;
                    let (xs, fs) = (h * bins..(h + 1) * bins, p * bins..(p + 1) * bins);
                    cmac(
                        &mut acc.re,
                        &mut acc.im,
                        &hist.re[xs.clone()],
                        &hist.im[xs],
                        &f.re[fs.clone()],
                        &f.im[fs],
                    );
                }
            }
            for (k, c) in st.spec.iter_mut().enumerate() {
                *c = Complex::new(acc.re[k], acc.im[k]);
            }
            st.spec[0].im = 0.0;
            st.spec[b].im = 0.0;
            let _ = st
                .c2r
                .process_with_scratch(&mut st.spec, &mut st.frame, &mut st.scratch);
            for (y, v) in out.iter_mut().zip(&st.frame[b..]) {
                *y = v * scale;
            }
        };
        let n_out = self.outputs.min(outputs.len());
        let work = n_in * parts * bins + fft_work;
        let outs = &mut self.outs[..n_out];
        if work >= PARALLEL_WORK && n_out > 1 {
            outs.par_iter_mut()
                .zip(outputs[..n_out].par_iter_mut())
                .enumerate()
                .for_each(sum);
        } else {
            outs.iter_mut()
                .zip(outputs[..n_out].iter_mut())
                .enumerate()
                .for_each(sum);
        }
        self.ring = (self.ring + 1) % parts;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avx2_multiply_add_is_the_plain_one() {
        #[cfg(target_arch = "x86_64")]
        {
            if !std::arch::is_x86_feature_detected!("avx2") {
                eprintln!("NOTICE: no AVX2 on this CPU; the AVX2 multiply-add is not tested");
                return;
            }
            let v = |n: usize, s: usize| -> Vec<f32> {
                (0..n)
                    .map(|k| (((k * 7919 + s * 104_729) % 2003) as f32 - 1001.0) / 97.0)
                    .collect()
            };
            for n in [1, 7, 8, 9, 31, 513] {
                let (xr, xi, hr, hi) = (v(n, 1), v(n, 2), v(n, 3), v(n, 4));
                let (mut ar, mut ai) = (v(n, 5), v(n, 6));
                let (mut br, mut bi) = (ar.clone(), ai.clone());
                cmac_plain(&mut ar, &mut ai, &xr, &xi, &hr, &hi);
                cmac_avx2_safe(&mut br, &mut bi, &xr, &xi, &hr, &hi);
                for k in 0..n {
                    assert_eq!(ar[k].to_bits(), br[k].to_bits(), "re, n {n}, bin {k}");
                    assert_eq!(ai[k].to_bits(), bi[k].to_bits(), "im, n {n}, bin {k}");
                }
            }
        }
    }

    /// Convolves `n_in` inputs (with silent stretches) through filters of
    /// a few partitions to two outputs and compares with direct convolution.
    fn check_against_direct(n_in: usize, block: usize, base_len: usize) -> MimoConvolver {
        let h: Vec<Vec<Vec<f32>>> = (0..n_in)
            .map(|i| {
                (0..2)
                    .map(|o| {
                        (0..(base_len + 150 * (i % 4) + 50 * o))
                            .map(|k| (((k * 5 + i + 3 * o) % 9) as f32 - 4.0) / 9.0)
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let mut c = MimoConvolver::new(&h, 2, block);
        let n = block * 20;
        let x: Vec<Vec<f32>> = (0..n_in)
            .map(|i| {
                (0..n)
                    .map(|t| {
                        if (t / 150 + i) % 4 == 0 {
                            ((t * 7 % 13) as f32) / 13.0 - 0.5
                        } else {
                            0.0
                        }
                    })
                    .collect()
            })
            .collect();
        let mut y = vec![vec![0.0f32; n]; 2];
        for bl in 0..n / block {
            let ins: Vec<&[f32]> = x.iter().map(|c| &c[bl * block..(bl + 1) * block]).collect();
            let (a, b) = y.split_at_mut(1);
            let mut outs: Vec<&mut [f32]> = vec![
                &mut a[0][bl * block..(bl + 1) * block],
                &mut b[0][bl * block..(bl + 1) * block],
            ];
            c.process(&ins, &mut outs);
        }
        for o in 0..2 {
            for t in 0..n {
                let mut want = 0.0f64;
                for i in 0..n_in {
                    for (k, hv) in h[i][o].iter().enumerate() {
                        if t >= k {
                            want += *hv as f64 * x[i][t - k] as f64;
                        }
                    }
                }
                assert!(
                    (y[o][t] as f64 - want).abs() < 1e-4 * (n_in as f64 / 3.0).max(1.0),
                    "{n_in} inputs, out {o} t {t}: {} vs {want}",
                    y[o][t]
                );
            }
        }
        c
    }

    #[test]
    fn equals_direct_convolution() {
        // small: one thread for both steps
        let c = check_against_direct(3, 64, 200);
        assert!(3 * (c.parts * 65 + 128 * 7) < PARALLEL_WORK);
        // large enough that both steps split across threads
        let c = check_against_direct(12, 256, 800);
        let fft = 512 * 9;
        assert!(12 * fft >= PARALLEL_WORK && 12 * c.parts * 257 + fft >= PARALLEL_WORK);
    }
}
