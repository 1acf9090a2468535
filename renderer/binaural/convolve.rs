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
#[inline]
fn cmac(acc_re: &mut [f32], acc_im: &mut [f32], xr: &[f32], xi: &[f32], hr: &[f32], hi: &[f32]) {
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

pub struct MimoConvolver {
    block: usize,
    parts: usize,
    inputs: usize,
    outputs: usize,
    r2c: Arc<dyn RealToComplex<f32>>,
    c2r: Arc<dyn ComplexToReal<f32>>,
    /// [input][output] → parts × bins spectra (empty when the filter is all zero)
    filters: Vec<Vec<Split>>,
    /// [input] → ring of `parts` input spectra
    history: Vec<Split>,
    prev: Vec<Vec<f32>>,
    live: Vec<usize>,
    ring: usize,
    frame: Vec<f32>,
    spec: Vec<Complex<f32>>,
    acc: Vec<Split>,
    sf: Vec<Complex<f32>>,
    si: Vec<Complex<f32>>,
}

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
        let n = filters.len();
        MimoConvolver {
            block,
            parts,
            inputs: n,
            outputs,
            filters: fd,
            history: vec![Split::zeros(parts * bins); n],
            prev: vec![vec![0.0; block]; n],
            live: vec![0; n],
            ring: 0,
            frame,
            spec,
            acc: vec![Split::zeros(bins); outputs],
            si: c2r.make_scratch_vec(),
            sf,
            r2c,
            c2r,
        }
    }

    pub fn block(&self) -> usize {
        self.block
    }

    /// One block: `inputs[i]` (block samples each) → `outputs[o]` (overwritten).
    pub fn process(&mut self, inputs: &[&[f32]], outputs: &mut [&mut [f32]]) {
        let (b, bins) = (self.block, self.block + 1);
        let slot = self.ring;
        for a in self.acc.iter_mut() {
            a.re.fill(0.0);
            a.im.fill(0.0);
        }
        let mut any = false;
        for i in 0..self.inputs.min(inputs.len()) {
            let x = inputs[i];
            let silent = x.iter().all(|v| *v == 0.0);
            if silent && self.live[i] == 0 {
                continue;
            }
            self.live[i] = if silent {
                self.live[i].saturating_sub(1)
            } else {
                self.parts + 1
            };
            self.frame[..b].copy_from_slice(&self.prev[i]);
            self.frame[b..].copy_from_slice(x);
            self.prev[i].copy_from_slice(x);
            let _ = self
                .r2c
                .process_with_scratch(&mut self.frame, &mut self.spec, &mut self.sf);
            let hist = &mut self.history[i];
            for (k, c) in self.spec.iter().enumerate() {
                hist.re[slot * bins + k] = c.re;
                hist.im[slot * bins + k] = c.im;
            }
            let hist = &self.history[i];
            for o in 0..self.outputs {
                let f = &self.filters[i][o];
                if f.is_empty() {
                    continue;
                }
                any = true;
                let acc = &mut self.acc[o];
                for p in 0..self.parts {
                    let h = (slot + self.parts - p) % self.parts;
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
        }
        self.ring = (self.ring + 1) % self.parts;
        let scale = 1.0 / (2 * b) as f32;
        for (o, out) in outputs.iter_mut().enumerate().take(self.outputs) {
            if !any {
                out.fill(0.0);
                continue;
            }
            let acc = &self.acc[o];
            for (k, c) in self.spec.iter_mut().enumerate() {
                *c = Complex::new(acc.re[k], acc.im[k]);
            }
            self.spec[0].im = 0.0;
            self.spec[b].im = 0.0;
            let _ = self
                .c2r
                .process_with_scratch(&mut self.spec, &mut self.frame, &mut self.si);
            for (y, v) in out.iter_mut().zip(&self.frame[b..]) {
                *y = v * scale;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equals_direct_convolution() {
        let h: Vec<Vec<Vec<f32>>> = (0..3)
            .map(|i| {
                (0..2)
                    .map(|o| {
                        (0..(200 + 150 * i + 50 * o))
                            .map(|k| (((k * 5 + i + 3 * o) % 9) as f32 - 4.0) / 9.0)
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let block = 64;
        let mut c = MimoConvolver::new(&h, 2, block);
        let n = block * 20;
        let x: Vec<Vec<f32>> = (0..3)
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
                for i in 0..3 {
                    for (k, hv) in h[i][o].iter().enumerate() {
                        if t >= k {
                            want += *hv as f64 * x[i][t - k] as f64;
                        }
                    }
                }
                assert!(
                    (y[o][t] as f64 - want).abs() < 1e-4,
                    "out {o} t {t}: {} vs {want}",
                    y[o][t]
                );
            }
        }
    }
}
