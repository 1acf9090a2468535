//! Uniformly partitioned overlap-save convolution from N inputs to M
//! outputs (`out[o] = Σ_i in[i] ⊛ h[i][o]`), summed in the frequency
//! domain so each output costs one inverse FFT per block. Blocks of
//! `block` samples; no allocation per block; silent inputs whose history
//! has died away are skipped.

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use std::sync::Arc;

pub struct MimoConvolver {
    block: usize,
    parts: usize,
    inputs: usize,
    outputs: usize,
    r2c: Arc<dyn RealToComplex<f32>>,
    c2r: Arc<dyn ComplexToReal<f32>>,
    /// [input][output] → parts × bins spectra (empty when the filter is all zero)
    filters: Vec<Vec<Vec<Complex<f32>>>>,
    /// [input] → ring of `parts` input spectra
    history: Vec<Vec<Complex<f32>>>,
    prev: Vec<Vec<f32>>,
    live: Vec<usize>,
    ring: usize,
    frame: Vec<f32>,
    spec: Vec<Complex<f32>>,
    acc: Vec<Vec<Complex<f32>>>,
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
        let fd: Vec<Vec<Vec<Complex<f32>>>> = filters
            .iter()
            .map(|per_out| {
                (0..outputs)
                    .map(|o| {
                        let Some(h) = per_out.get(o).filter(|h| h.iter().any(|v| *v != 0.0)) else {
                            return Vec::new();
                        };
                        let mut out = vec![Complex::new(0.0, 0.0); parts * bins];
                        for p in 0..parts {
                            frame.fill(0.0);
                            let lo = (p * block).min(h.len());
                            let hi = ((p + 1) * block).min(h.len());
                            frame[..hi - lo].copy_from_slice(&h[lo..hi]);
                            let _ = r2c.process_with_scratch(&mut frame, &mut out[p * bins..(p + 1) * bins], &mut sf);
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
            history: vec![vec![Complex::new(0.0, 0.0); parts * bins]; n],
            prev: vec![vec![0.0; block]; n],
            live: vec![0; n],
            ring: 0,
            frame,
            spec: vec![Complex::new(0.0, 0.0); bins],
            acc: vec![vec![Complex::new(0.0, 0.0); bins]; outputs],
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
            a.fill(Complex::new(0.0, 0.0));
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
            self.history[i][slot * bins..(slot + 1) * bins].copy_from_slice(&self.spec);
            for o in 0..self.outputs {
                let f = &self.filters[i][o];
                if f.is_empty() {
                    continue;
                }
                any = true;
                let acc = &mut self.acc[o];
                for p in 0..self.parts {
                    let h = (slot + self.parts - p) % self.parts;
                    let xs = &self.history[i][h * bins..(h + 1) * bins];
                    let fs = &f[p * bins..(p + 1) * bins];
                    for k in 0..bins {
                        acc[k] += xs[k] * fs[k];
                    }
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
            let acc = &mut self.acc[o];
            acc[0].im = 0.0;
            acc[b].im = 0.0;
            let _ = self.c2r.process_with_scratch(acc, &mut self.frame, &mut self.si);
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
