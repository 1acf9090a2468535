//! The diffuse path's decorrelation filters, BS.2127 §7.4 (ear
//! `objectbased/decorrelate.py`): one 512-tap random-phase all-pass FIR per
//! output channel, `irfft(exp(jφ))` with φ from MT19937 seeded with the
//! channel's position in the sorted channel names; and a uniformly
//! partitioned overlap-save convolver that applies them block by block with
//! no allocation per block.

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use std::sync::Arc;

/// Filter length (taps).
pub const FILTER_LEN: usize = 512;
/// The filters' centre: ear removes it from the overall delay, so the
/// diffuse path is centred on the direct path.
pub const CENTRE_TAP: usize = (FILTER_LEN - 1) / 2;

/// MT19937 (Matsumoto & Nishimura), seeded as numpy's legacy
/// `RandomState(seed)` does for an integer seed (`init_genrand`).
struct Mt19937 {
    mt: [u32; 624],
    i: usize,
}

impl Mt19937 {
    fn new(seed: u32) -> Self {
        let mut mt = [0u32; 624];
        mt[0] = seed;
        for i in 1..624 {
            mt[i] = 1812433253u32
                .wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        Mt19937 { mt, i: 624 }
    }

    fn next_u32(&mut self) -> u32 {
        if self.i >= 624 {
            for k in 0..624 {
                let y = (self.mt[k] & 0x8000_0000) | (self.mt[(k + 1) % 624] & 0x7fff_ffff);
                let mut v = self.mt[(k + 397) % 624] ^ (y >> 1);
                if y & 1 != 0 {
                    v ^= 0x9908_b0df;
                }
                self.mt[k] = v;
            }
            self.i = 0;
        }
        let mut y = self.mt[self.i];
        self.i += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }
}

/// ear `design_decorrelator_basic(k)`: the 512-tap filter number `k`.
pub fn design_filter(k: u32) -> Vec<f64> {
    let n = FILTER_LEN;
    let mut rng = Mt19937::new(k);
    let mut spectrum = vec![Complex::new(0.0f64, 0.0); n / 2 + 1];
    spectrum[0] = Complex::new(1.0, 0.0);
    spectrum[n / 2] = Complex::new(1.0, 0.0);
    for s in spectrum.iter_mut().take(n / 2).skip(1) {
        let u = rng.next_u32() as f64 / 4_294_967_296.0;
        let phase = 2.0 * std::f64::consts::PI * u;
        *s = Complex::new(phase.cos(), phase.sin());
    }
    let mut planner = RealFftPlanner::<f64>::new();
    let c2r = planner.plan_fft_inverse(n);
    let mut out = vec![0.0f64; n];
    // A pure phase spectrum with real DC and Nyquist bins is always valid.
    if c2r.process(&mut spectrum, &mut out).is_err() {
        return vec![0.0; n];
    }
    for v in out.iter_mut() {
        *v /= n as f64;
    }
    out
}

/// Filter index for each channel: the position of its name in the sorted
/// names (Python `sorted`, i.e. by code point).
pub fn filter_indices(names: &[&str]) -> Vec<u32> {
    let mut sorted: Vec<&str> = names.to_vec();
    sorted.sort_unstable();
    names
        .iter()
        .map(|n| sorted.iter().position(|s| s == n).unwrap_or(0) as u32)
        .collect()
}

/// Uniformly partitioned overlap-save convolution of several channels, each
/// with its own FIR of at most `FILTER_LEN` taps, in blocks of `block`
/// samples; the channels are convolved in parallel (rayon).
pub struct Convolver {
    block: usize,
    r2c: Arc<dyn RealToComplex<f32>>,
    c2r: Arc<dyn ComplexToReal<f32>>,
    lanes: Vec<Lane>,
}

/// One channel's filter and state.
struct Lane {
    parts: usize,
    /// filter partitions in the frequency domain (parts × (block+1))
    filter: Vec<Complex<f32>>,
    /// the last `parts` input spectra (ring); `ring_pos` is the next slot
    history: Vec<Complex<f32>>,
    ring_pos: usize,
    /// the previous input block (time domain) — first half of the FFT frame
    prev: Vec<f32>,
    /// blocks of silence left before the tail is fully out (skip work when 0)
    live: usize,
    frame: Vec<f32>,
    spec: Vec<Complex<f32>>,
    acc: Vec<Complex<f32>>,
    scratch_fwd: Vec<Complex<f32>>,
    scratch_inv: Vec<Complex<f32>>,
}

impl Convolver {
    /// `filters[c]`: taps for channel c (≤ `block × parts` long).
    pub fn new(filters: &[Vec<f32>], block: usize) -> Self {
        let max_len = filters.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let parts = max_len.div_ceil(block);
        let mut planner = RealFftPlanner::<f32>::new();
        let r2c = planner.plan_fft_forward(2 * block);
        let c2r = planner.plan_fft_inverse(2 * block);
        let bins = block + 1;
        let mut frame = vec![0.0f32; 2 * block];
        let mut scratch_fwd = r2c.make_scratch_vec();
        let lanes = filters
            .iter()
            .map(|f| {
                let mut filter = vec![Complex::new(0.0, 0.0); parts * bins];
                for p in 0..parts {
                    frame.fill(0.0);
                    let lo = (p * block).min(f.len());
                    let hi = ((p + 1) * block).min(f.len());
                    frame[..hi - lo].copy_from_slice(&f[lo..hi]);
                    let _ =
                        r2c.process_with_scratch(&mut frame, &mut filter[p * bins..(p + 1) * bins], &mut scratch_fwd);
                }
                Lane {
                    parts,
                    filter,
                    history: vec![Complex::new(0.0, 0.0); parts * bins],
                    ring_pos: 0,
                    prev: vec![0.0; block],
                    live: 0,
                    frame: vec![0.0; 2 * block],
                    spec: vec![Complex::new(0.0, 0.0); bins],
                    acc: vec![Complex::new(0.0, 0.0); bins],
                    scratch_fwd: r2c.make_scratch_vec(),
                    scratch_inv: c2r.make_scratch_vec(),
                }
            })
            .collect();
        Convolver { block, r2c, c2r, lanes }
    }

    pub fn block(&self) -> usize {
        self.block
    }

    /// Whether some channel's filter tail is still sounding (silent input
    /// must still be processed until it has died away).
    pub fn ringing(&self) -> bool {
        self.lanes.iter().any(|l| l.live > 0)
    }

    /// Convolves `io[c]` with channel c's filter in place, block after
    /// block (causal; delay = the filter's own). Each `io[c]` is as long,
    /// a whole number of blocks (a shorter tail is left as it is).
    pub fn process<B: AsMut<[f32]> + Send>(&mut self, io: &mut [B]) {
        use rayon::prelude::*;
        let (b, r2c, c2r) = (self.block, &self.r2c, &self.c2r);
        io.par_iter_mut().zip(self.lanes.par_iter_mut()).for_each(|(x, lane)| {
            for block in x.as_mut().chunks_exact_mut(b) {
                lane.process(block, r2c.as_ref(), c2r.as_ref());
            }
        });
    }
}

impl Lane {
    /// One block: `x` in → filtered `x` out.
    fn process(&mut self, x: &mut [f32], r2c: &dyn RealToComplex<f32>, c2r: &dyn ComplexToReal<f32>) {
        let b = x.len();
        let bins = b + 1;
        let slot = self.ring_pos;
        let silent = x.iter().all(|v| *v == 0.0);
        if silent && self.live == 0 {
            // nothing in and nothing still ringing: the output is zero, and
            // the state already holds zeros
            self.ring_pos = (self.ring_pos + 1) % self.parts;
            return;
        }
        self.live = if silent {
            self.live.saturating_sub(1)
        } else {
            self.parts + 1
        };
        // frame = [previous block, this block]
        self.frame[..b].copy_from_slice(&self.prev);
        self.frame[b..].copy_from_slice(x);
        self.prev.copy_from_slice(x);
        let _ = r2c.process_with_scratch(&mut self.frame, &mut self.spec, &mut self.scratch_fwd);
        self.history[slot * bins..(slot + 1) * bins].copy_from_slice(&self.spec);
        self.acc.fill(Complex::new(0.0, 0.0));
        for p in 0..self.parts {
            let h = (slot + self.parts - p) % self.parts;
            let xs = &self.history[h * bins..(h + 1) * bins];
            let fs = &self.filter[p * bins..(p + 1) * bins];
            for ((a, x), f) in self.acc.iter_mut().zip(xs).zip(fs) {
                *a += x * f;
            }
        }
        // DC and Nyquist bins of a real signal's spectrum are real.
        self.acc[0].im = 0.0;
        self.acc[b].im = 0.0;
        let _ = c2r.process_with_scratch(&mut self.acc, &mut self.frame, &mut self.scratch_inv);
        let scale = 1.0 / (2 * b) as f32;
        for (o, v) in x.iter_mut().zip(&self.frame[b..]) {
            *o = v * scale;
        }
        self.ring_pos = (self.ring_pos + 1) % self.parts;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mt19937_matches_the_reference_sequence() {
        // First outputs of MT19937 with init_genrand(5489) (the reference implementation's default seed).
        let mut m = Mt19937::new(5489);
        let first: Vec<u32> = (0..3).map(|_| m.next_u32()).collect();
        assert_eq!(first, vec![3499211612, 581869302, 3890346734]);
    }

    #[test]
    fn convolver_equals_direct_convolution() {
        let filters: Vec<Vec<f32>> = (0..3)
            .map(|c| {
                (0..(300 + 100 * c))
                    .map(|k| ((k * 7 + c * 3) % 11) as f32 / 11.0 - 0.5)
                    .collect()
            })
            .collect();
        let block = 128;
        let mut conv = Convolver::new(&filters, block);
        let n = block * 9;
        let input: Vec<Vec<f32>> = (0..3)
            .map(|c| {
                (0..n)
                    .map(|i| {
                        if (i / 200 + c) % 3 == 0 {
                            ((i * 13 % 17) as f32) / 17.0 - 0.4
                        } else {
                            0.0
                        }
                    })
                    .collect()
            })
            .collect();
        let mut out = input.clone();
        // calls of 1, 2 and 3 blocks at a time
        let mut b = 0;
        for k in [1, 2, 3, 1, 2] {
            let mut slices: Vec<&mut [f32]> = out.iter_mut().map(|ch| &mut ch[b * block..(b + k) * block]).collect();
            conv.process(&mut slices);
            b += k;
        }
        assert_eq!(b, n / block);
        for c in 0..3 {
            for i in 0..n {
                let mut want = 0.0f64;
                for (k, h) in filters[c].iter().enumerate() {
                    if i >= k {
                        want += *h as f64 * input[c][i - k] as f64;
                    }
                }
                assert!(
                    (out[c][i] as f64 - want).abs() < 1e-4,
                    "ch {c} sample {i}: {} vs {want}",
                    out[c][i]
                );
            }
        }
    }
}
