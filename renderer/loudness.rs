//! Loudness of a deliverable, ITU-R BS.1770-4 / EBU R128 (through the
//! `ebur128` crate): integrated loudness, loudness range (EBU Tech 3342),
//! true peak and sample peak, fed with planar blocks straight from the
//! engine. Channel weights come from each speaker's position — the crate's
//! default map covers only 6 channels and silently ignores the rest, so the
//! map is always set: LFE unused; ear-level (|elevation| < 30°) speakers at
//! 60°…120° azimuth get the surround weight 1.41 (BS.1770-4 Table 3); all
//! others weight 1.0.
//!
//! Also the delivery targets (`--target`): published programme or
//! dialogue-gated loudness with tolerances and true-peak ceilings.

use crate::layout::Layout;
use ebur128::Channel;
use serde::Serialize;

/// What one meter measured.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LoudnessReport {
    /// BS.1770-4 gated integrated loudness (LUFS); None for silence.
    pub integrated_lufs: Option<f64>,
    /// EBU Tech 3342 loudness range (LU).
    pub loudness_range_lu: Option<f64>,
    /// Maximum true peak over all channels (dBTP, 4× oversampled).
    pub true_peak_dbtp: Option<f64>,
    /// Maximum sample peak over all channels (dBFS).
    pub sample_peak_dbfs: Option<f64>,
}

/// Why a meter could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LoudnessError {
    #[error("loudness meter: {0}")]
    Meter(String),
}

/// BS.1770-4 weighting of a speaker as an `ebur128` channel kind.
pub fn channel_kind(azimuth: f64, elevation: f64, lfe: bool) -> Channel {
    if lfe {
        Channel::Unused
    } else if elevation.abs() < 30.0 && (60.0..=120.0).contains(&azimuth.abs()) {
        // weight 1.41; which surround variant is irrelevant
        if azimuth > 0.0 {
            Channel::LeftSurround
        } else {
            Channel::RightSurround
        }
    } else {
        Channel::Center // weight 1.0
    }
}

/// Sample rates up to which the true-peak meter oversamples 4× (2× to
/// 192 kHz, 1× beyond), BS.1770-4 Annex 2.
const TP_4X_BELOW: u32 = 96_000;

/// BS.1770-4 Annex 2 (Table 1): the 48-tap, 4-phase interpolation filter of
/// the true-peak meter, 12 taps per phase.
const TP_PHASES: [[f64; 12]; 4] = [
    [
        0.0017089843750,
        0.0109863281250,
        -0.0196533203125,
        0.0332031250000,
        -0.0594482421875,
        0.1373291015625,
        0.9721679687500,
        -0.1022949218750,
        0.0476074218750,
        -0.0266113281250,
        0.0148925781250,
        -0.0083007812500,
    ],
    [
        -0.0291748046875,
        0.0292968750000,
        -0.0517578125000,
        0.0891113281250,
        -0.1665039062500,
        0.4650878906250,
        0.7797851562500,
        -0.2003173828125,
        0.1015625000000,
        -0.0582275390625,
        0.0330810546875,
        -0.0189208984375,
    ],
    [
        -0.0189208984375,
        0.0330810546875,
        -0.0582275390625,
        0.1015625000000,
        -0.2003173828125,
        0.7797851562500,
        0.4650878906250,
        -0.1665039062500,
        0.0891113281250,
        -0.0517578125000,
        0.0292968750000,
        -0.0291748046875,
    ],
    [
        -0.0083007812500,
        0.0148925781250,
        -0.0266113281250,
        0.0476074218750,
        -0.1022949218750,
        0.9721679687500,
        0.1373291015625,
        -0.0594482421875,
        0.0332031250000,
        -0.0196533203125,
        0.0109863281250,
        0.0017089843750,
    ],
];

/// K-weighting (BS.1770-4 §1: pre-filter shelf, then RLB high-pass), as
/// two biquads for any sample rate (the analog designs libebur128 uses).
#[derive(Clone, Copy, Debug)]
struct Biquad {
    b: [f64; 3],
    a: [f64; 2],
}

fn k_weighting(rate: u32) -> [Biquad; 2] {
    let fs = rate as f64;
    let f0 = 1681.974450955533;
    let g = 3.999843853973347;
    let q = 0.7071752369554196;
    let k = (std::f64::consts::PI * f0 / fs).tan();
    let vh = 10f64.powf(g / 20.0);
    let vb = vh.powf(0.4996667741545416);
    let a0 = 1.0 + k / q + k * k;
    let shelf = Biquad {
        b: [
            (vh + vb * k / q + k * k) / a0,
            2.0 * (k * k - vh) / a0,
            (vh - vb * k / q + k * k) / a0,
        ],
        a: [2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0],
    };
    let f0 = 38.13547087602444;
    let q = 0.5003270373238773;
    let k = (std::f64::consts::PI * f0 / fs).tan();
    let a0 = 1.0 + k / q + k * k;
    let highpass = Biquad {
        b: [1.0, -2.0, 1.0],
        a: [2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0],
    };
    [shelf, highpass]
}

/// Per-channel state.
#[derive(Clone, Debug)]
struct ChannelState {
    weight: f64,
    /// DF2T state of the two biquads
    z: [[f64; 2]; 2],
    /// Σ y² of the current 100 ms sub-block
    acc: f64,
    /// last 11 input samples (true-peak filter history), oldest first
    hist: [f32; 11],
    /// `hist` then the block being scanned: sample n's true-peak window is
    /// `ext[n..n + 12]` (kept to avoid an allocation per block)
    ext: Vec<f32>,
    sample_peak: f32,
    true_peak: f32,
}

/// A BS.1770-4 / EBU R128 meter for one deliverable: integrated loudness
/// (400 ms blocks every 100 ms, absolute gate −70 LUFS, relative −10 LU),
/// loudness range (3 s short-term blocks every second, as libebur128;
/// gates −70 LUFS and −20 LU; 10th to 95th percentile), true peak (4×
/// oversampling with the BS.1770-4 Annex 2 filter) and sample peak.
///
/// Written for the render pass rather than taken from the `ebur128` crate
/// (which the tests use as the oracle this meter must agree with): that
/// crate cost 11 ms of CPU per second of 12-channel audio here, which alone
/// would hold a render at ~45× real time. This one filters four channels
/// per SIMD lane group, and skips true-peak interpolation wherever the
/// filter's L1 bound shows the window cannot beat the peak already found.
pub struct Meter {
    rate: u32,
    filters: [Biquad; 2],
    channels: Vec<ChannelState>,
    sub_len: usize,
    /// samples into the current sub-block
    sub_pos: usize,
    /// weighted energy (Σ_c G_c Σ y²) of every finished 100 ms sub-block
    subs: Vec<f64>,
    oversample: usize,
    tp_l1: f32,
}

impl Meter {
    /// A meter for a speaker layout (channel weights from the speakers).
    pub fn for_layout(layout: &Layout, rate: u32) -> Result<Meter, LoudnessError> {
        let w: Vec<f64> = layout
            .speakers
            .iter()
            .map(|s| weight(channel_kind(s.azimuth, s.elevation, s.lfe)))
            .collect();
        Self::with_weights(&w, rate)
    }

    /// A meter for headphone (2-channel) output: both ears weight 1.
    pub fn for_binaural(rate: u32) -> Result<Meter, LoudnessError> {
        Self::with_weights(&[1.0, 1.0], rate)
    }

    /// A meter with explicit BS.1770-4 channel weights (0 = not measured).
    pub fn with_weights(weights: &[f64], rate: u32) -> Result<Meter, LoudnessError> {
        if !(1000..=2_822_400).contains(&rate) {
            return Err(LoudnessError::Meter(format!("sample rate {rate} Hz is out of range")));
        }
        if weights.is_empty() || weights.len() > 1024 {
            return Err(LoudnessError::Meter(format!("{} channels", weights.len())));
        }
        let oversample = if rate < TP_4X_BELOW {
            4
        } else if rate < 192_000 {
            2
        } else {
            1
        };
        let tp_l1 = TP_PHASES
            .iter()
            .map(|p| p.iter().map(|c| c.abs()).sum::<f64>())
            .fold(0.0, f64::max) as f32;
        Ok(Meter {
            rate,
            filters: k_weighting(rate),
            channels: weights
                .iter()
                .map(|&w| ChannelState {
                    weight: w,
                    z: [[0.0; 2]; 2],
                    acc: 0.0,
                    hist: [0.0; 11],
                    ext: Vec::new(),
                    sample_peak: 0.0,
                    true_peak: 0.0,
                })
                .collect(),
            sub_len: ((rate as f64 / 10.0).round() as usize).max(1),
            sub_pos: 0,
            subs: Vec::new(),
            oversample,
            tp_l1,
        })
    }

    /// This meter without the true-peak oversampling (its report then gives
    /// the sample peak as the true peak): for a bus measured only for its
    /// loudness, such as a render's dialogue bus.
    pub fn without_true_peak(mut self) -> Meter {
        self.oversample = 1;
        self
    }

    pub fn channels(&self) -> usize {
        self.channels.len()
    }

    /// Add planar frames (one slice per channel, equal lengths). A block of
    /// the wrong shape is an error, never a panic.
    pub fn add(&mut self, planar: &[&[f32]]) -> Result<(), LoudnessError> {
        if planar.len() != self.channels.len() {
            return Err(LoudnessError::Meter(format!(
                "{} channels given to a {}-channel meter",
                planar.len(),
                self.channels.len()
            )));
        }
        let n = planar.first().map_or(0, |c| c.len());
        if planar.iter().any(|c| c.len() != n) {
            return Err(LoudnessError::Meter("channels of different lengths".into()));
        }
        // peaks (whole block at once)
        let tp_global = self.channels.iter().map(|c| c.true_peak).fold(0.0f32, f32::max);
        let (os, l1) = (self.oversample, self.tp_l1);
        for (c, x) in self.channels.iter_mut().zip(planar) {
            true_peak_scan(c, x, os, l1, tp_global);
        }
        // K-weighted energies per 100 ms sub-block
        let mut off = 0;
        while off < n {
            let take = (self.sub_len - self.sub_pos).min(n - off);
            let f = self.filters;
            // LANES channels to a group: the biquads' recurrences run side by
            // side. (On this thread: filtering a 4096-frame block takes tens of
            // microseconds, about what handing groups to other threads costs,
            // and a render's meters run beside its engines, which keep every
            // core busy.)
            for (cs, xs) in self.channels.chunks_mut(LANES).zip(planar.chunks(LANES)) {
                if cs.len() > 4 {
                    filter_group::<LANES>(&f, cs, xs, off, take);
                } else {
                    filter_group::<4>(&f, cs, xs, off, take);
                }
            }
            self.sub_pos += take;
            off += take;
            if self.sub_pos == self.sub_len {
                let e: f64 = self.channels.iter().map(|c| c.weight * c.acc).sum();
                for c in self.channels.iter_mut() {
                    c.acc = 0.0;
                }
                self.subs.push(e);
                self.sub_pos = 0;
            }
        }
        Ok(())
    }

    pub fn report(&self) -> LoudnessReport {
        let db = |x: f32| if x > 0.0 { Some(20.0 * (x as f64).log10()) } else { None };
        let n = self.sub_len as f64;
        let abs_gate = 10f64.powf((-70.0 + 0.691) / 10.0);
        // 400 ms gating blocks: every 4 consecutive sub-blocks
        let blocks: Vec<f64> = self
            .subs
            .windows(4)
            .map(|w| w.iter().sum::<f64>() / (4.0 * n))
            .filter(|e| *e >= abs_gate)
            .collect();
        let integrated = if blocks.is_empty() {
            None
        } else {
            let rel = blocks.iter().sum::<f64>() / blocks.len() as f64 * 0.1;
            let kept: Vec<f64> = blocks.iter().copied().filter(|e| *e >= rel).collect();
            (!kept.is_empty()).then(|| energy_to_lufs(kept.iter().sum::<f64>() / kept.len() as f64))
        };
        // 3 s short-term blocks every second (libebur128's LRA hop)
        let mut st: Vec<f64> = Vec::new();
        let mut end = 30;
        while end <= self.subs.len() {
            let e = self.subs[end - 30..end].iter().sum::<f64>() / (30.0 * n);
            if e >= abs_gate {
                st.push(e);
            }
            end += 10;
        }
        st.sort_by(f64::total_cmp);
        let lra = if st.is_empty() {
            None
        } else {
            let power = st.iter().sum::<f64>() / st.len() as f64;
            let gate = power * 0.01;
            let skip = st.iter().take_while(|e| **e < gate).count();
            match (st.len() - skip).checked_sub(1) {
                Some(m) => {
                    let m = m as f64;
                    let hi = st[skip + (m * 0.95 + 0.5) as usize];
                    let lo = st[skip + (m * 0.1 + 0.5) as usize];
                    Some(energy_to_lufs(hi) - energy_to_lufs(lo))
                }
                None => Some(0.0),
            }
        };
        LoudnessReport {
            integrated_lufs: integrated,
            loudness_range_lu: lra,
            true_peak_dbtp: db(self.channels.iter().map(|c| c.true_peak).fold(0.0, f32::max)),
            sample_peak_dbfs: db(self.channels.iter().map(|c| c.sample_peak).fold(0.0, f32::max)),
        }
    }

    pub fn sample_rate(&self) -> u32 {
        self.rate
    }
}

fn energy_to_lufs(e: f64) -> f64 {
    10.0 * e.log10() - 0.691
}

/// BS.1770-4 channel weight of an `ebur128` channel kind.
fn weight(c: Channel) -> f64 {
    match c {
        Channel::Unused => 0.0,
        Channel::LeftSurround | Channel::RightSurround => 1.41,
        _ => 1.0,
    }
}

/// Channels filtered together.
/// Channels filtered side by side (two vectors of four with AVX).
const LANES: usize = 8;

/// K-filter samples `off..off+take` of up to `L` channels through the two
/// biquads (DF2T), adding Σ y² to each channel's accumulator. The samples
/// are first staged lane by lane (a few hundred at a time) so that each
/// step of the recurrences reads one vector; the channels' recurrences run
/// side by side (AVX where the CPU has it; no FMA, and each lane does the
/// operations of the one-channel filter in its order: the same results bit
/// for bit).
fn filter_group<const L: usize>(f: &[Biquad; 2], cs: &mut [ChannelState], xs: &[&[f32]], off: usize, take: usize) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: this CPU has AVX.
        return unsafe { filter_group_avx::<L>(f, cs, xs, off, take) };
    }
    filter_group_lanes::<L>(f, cs, xs, off, take);
}

/// [`filter_group_lanes`] in AVX registers, `G` vectors of four channels
/// (G ≤ 2) side by side: the same operations in the same order.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn filter_group_avx<const L: usize>(f: &[Biquad; 2], cs: &mut [ChannelState], xs: &[&[f32]], off: usize, take: usize) {
    if L > 4 {
        filter_avx::<2>(f, cs, xs, off, take);
    } else {
        filter_avx::<1>(f, cs, xs, off, take);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn filter_avx<const G: usize>(f: &[Biquad; 2], cs: &mut [ChannelState], xs: &[&[f32]], off: usize, take: usize) {
    use std::arch::x86_64::*;
    const W: usize = 8;
    let [s, h] = f;
    let k = cs.len().min(4 * G);
    let (st, live) = lane_state::<W>(cs);
    let vec = |a: &[f64; W], g: usize| -> __m256d {
        let q: [f64; 4] = std::array::from_fn(|l| a[4 * g + l]);
        // SAFETY: four f64s.
        unsafe { _mm256_loadu_pd(q.as_ptr()) }
    };
    let (mut z0, mut z1, mut z2, mut z3, mut acc) = (
        std::array::from_fn::<_, G, _>(|g| vec(&st[0], g)),
        std::array::from_fn::<_, G, _>(|g| vec(&st[1], g)),
        std::array::from_fn::<_, G, _>(|g| vec(&st[2], g)),
        std::array::from_fn::<_, G, _>(|g| vec(&st[3], g)),
        [_mm256_setzero_pd(); G],
    );
    let set = _mm256_set1_pd;
    let (sb0, sb1, sb2, sa0, sa1) = (set(s.b[0]), set(s.b[1]), set(s.b[2]), set(s.a[0]), set(s.a[1]));
    let (hb0, hb1, hb2, ha0, ha1) = (set(h.b[0]), set(h.b[1]), set(h.b[2]), set(h.a[0]), set(h.a[1]));
    let mut stage = [[0.0f64; W]; STAGE];
    let mut i0 = 0;
    while i0 < take {
        let nb = (take - i0).min(STAGE);
        stage_lanes(&mut stage, xs, k, off + i0, nb, &live);
        for row in &stage[..nb] {
            for g in 0..G {
                // SAFETY: four of the row's eight f64s (g < G ≤ 2).
                let v = unsafe { _mm256_loadu_pd(row.as_ptr().add(4 * g)) };
                // as filter_group_lanes: y = b0·v + z0; z0 = b1·v − a0·y + z1; …
                let y = _mm256_add_pd(_mm256_mul_pd(sb0, v), z0[g]);
                z0[g] = _mm256_add_pd(_mm256_sub_pd(_mm256_mul_pd(sb1, v), _mm256_mul_pd(sa0, y)), z1[g]);
                z1[g] = _mm256_sub_pd(_mm256_mul_pd(sb2, v), _mm256_mul_pd(sa1, y));
                let w = _mm256_add_pd(_mm256_mul_pd(hb0, y), z2[g]);
                z2[g] = _mm256_add_pd(_mm256_sub_pd(_mm256_mul_pd(hb1, y), _mm256_mul_pd(ha0, w)), z3[g]);
                z3[g] = _mm256_sub_pd(_mm256_mul_pd(hb2, y), _mm256_mul_pd(ha1, w));
                acc[g] = _mm256_add_pd(acc[g], _mm256_mul_pd(w, w));
            }
        }
        i0 += nb;
    }
    let mut out = [[0.0f64; W]; 5];
    for g in 0..G {
        for (o, v) in out.iter_mut().zip([z0[g], z1[g], z2[g], z3[g], acc[g]]) {
            // SAFETY: four f64s at 4·g < W.
            unsafe { _mm256_storeu_pd(o.as_mut_ptr().add(4 * g), v) };
        }
    }
    let [z0, z1, z2, z3, acc] = out;
    store_lane_state(cs, k, &[z0, z1, z2, z3], &acc);
}

/// The filter states of the first `W` channels of `cs` (z, in [`ChannelState::z`]'s
/// order, one array per state variable), and 1 for each channel that counts
/// (0 for LFE and for lanes without a channel).
fn lane_state<const W: usize>(cs: &[ChannelState]) -> ([[f64; W]; 4], [f64; W]) {
    let (mut z, mut live) = ([[0.0f64; W]; 4], [0.0f64; W]);
    for (l, c) in cs.iter().take(W).enumerate() {
        z[0][l] = c.z[0][0];
        z[1][l] = c.z[0][1];
        z[2][l] = c.z[1][0];
        z[3][l] = c.z[1][1];
        live[l] = if c.weight == 0.0 { 0.0 } else { 1.0 };
    }
    (z, live)
}

/// Stages samples `from..from + nb` of the first `k` channels of `xs` lane
/// by lane into `stage` (weighed by `live`); other lanes are left as they are.
fn stage_lanes<const W: usize>(
    stage: &mut [[f64; W]; STAGE],
    xs: &[&[f32]],
    k: usize,
    from: usize,
    nb: usize,
    live: &[f64; W],
) {
    for (l, x) in xs.iter().take(k.min(W)).enumerate() {
        let Some(x) = x.get(from..from + nb) else {
            continue;
        };
        for (row, &v) in stage.iter_mut().zip(x) {
            row[l] = v as f64 * live[l];
        }
    }
}

/// The inverse of [`lane_state`] for the first `k` channels, adding `acc`
/// to their accumulators.
fn store_lane_state<const W: usize>(cs: &mut [ChannelState], k: usize, z: &[[f64; W]; 4], acc: &[f64; W]) {
    for (l, c) in cs.iter_mut().take(k.min(W)).enumerate() {
        c.z = [[z[0][l], z[1][l]], [z[2][l], z[3][l]]];
        c.acc += acc[l];
    }
}

/// Samples staged at a time by [`filter_group`].
const STAGE: usize = 256;

#[inline(always)]
fn filter_group_lanes<const L: usize>(
    f: &[Biquad; 2],
    cs: &mut [ChannelState],
    xs: &[&[f32]],
    off: usize,
    take: usize,
) {
    let [s, h] = f;
    let k = cs.len().min(L);
    let (mut z, live) = lane_state::<L>(cs);
    let mut acc = [0.0f64; L];
    // lanes past the group's channels stay 0
    let mut stage = [[0.0f64; L]; STAGE];
    let mut i0 = 0;
    while i0 < take {
        let nb = (take - i0).min(STAGE);
        stage_lanes(&mut stage, xs, k, off + i0, nb, &live);
        for v in &stage[..nb] {
            for l in 0..L {
                let y = s.b[0] * v[l] + z[0][l];
                z[0][l] = s.b[1] * v[l] - s.a[0] * y + z[1][l];
                z[1][l] = s.b[2] * v[l] - s.a[1] * y;
                let w = h.b[0] * y + z[2][l];
                z[2][l] = h.b[1] * y - h.a[0] * w + z[3][l];
                z[3][l] = h.b[2] * y - h.a[1] * w;
                acc[l] += w * w;
            }
        }
        i0 += nb;
    }
    store_lane_state(cs, k, &z, &acc);
}

/// Update sample and true peak of one channel with `x`.
fn true_peak_scan(c: &mut ChannelState, x: &[f32], os: usize, l1: f32, tp_global: f32) {
    let mut sp = c.sample_peak;
    for v in x {
        let a = v.abs();
        sp = if a > sp { a } else { sp };
    }
    c.sample_peak = sp;
    let mut tp = c.true_peak.max(tp_global).max(sp);
    // a window of 12 samples can interpolate to at most l1 × its max |x|
    let phases: &[usize] = match os {
        4 => &[0, 1, 2, 3],
        2 => &[0, 2],
        _ => &[],
    };
    if !phases.is_empty() {
        c.ext.clear();
        c.ext.extend_from_slice(&c.hist);
        c.ext.extend_from_slice(x);
        let ext = &c.ext;
        let mut i = 0;
        const RUN: usize = 32;
        while i < x.len() {
            let j = (i + RUN).min(x.len());
            // max |x| over the run and the 11 samples before it
            let m = ext[i..j + 11].iter().fold(0.0f32, |a, v| a.max(v.abs()));
            if m * l1 > tp {
                tp = tp.max(interpolated_peak(&ext[i..j + 11], phases));
            }
            i = j;
        }
    }
    c.true_peak = tp.max(c.true_peak);
    // keep the last 11 samples
    let n = x.len();
    if n >= 11 {
        c.hist.copy_from_slice(&x[n - 11..]);
    } else if n > 0 {
        c.hist.rotate_left(n);
        c.hist[11 - n..].copy_from_slice(x);
    }
}

/// The largest |interpolated sample| of `phases` over the windows of `w`
/// (the window of output n is `w[n..n + 12]`, newest last): for each
/// phase p, |Σ_k TP_PHASES[p][k]·w[n + 11 − k]|, summed in f64 in k order.
fn interpolated_peak(w: &[f32], phases: &[usize]) -> f32 {
    match *phases {
        [a, b, c, d] => peak_dispatch(w, [a, b, c, d]),
        [a, b] => peak_dispatch(w, [a, b]),
        _ => phases.iter().map(|&p| peak_dispatch(w, [p])).fold(0.0, f32::max),
    }
}

fn peak_dispatch<const P: usize>(w: &[f32], phases: [usize; P]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: this CPU has AVX.
        return unsafe { interpolated_peak_avx(w, phases) };
    }
    interpolated_peak_lanes(w, phases)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn interpolated_peak_avx<const P: usize>(w: &[f32], phases: [usize; P]) -> f32 {
    interpolated_peak_lanes(w, phases)
}

/// [`interpolated_peak`] four outputs at a time, the phases side by side
/// (independent sums, so their additions overlap): each lane does the
/// scalar sum's operations in its order (no FMA), so the peak is the same
/// bit for bit whether or not the lanes become vectors.
#[inline(always)]
fn interpolated_peak_lanes<const P: usize>(w: &[f32], phases: [usize; P]) -> f32 {
    let n = w.len().saturating_sub(11);
    let coef = phases.map(|p| TP_PHASES[p]);
    let mut best = [0.0f32; 4];
    let mut s = 0;
    while s + 4 <= n {
        let Some(win) = w.get(s..s + 15).and_then(|v| <&[f32; 15]>::try_from(v).ok()) else {
            break;
        };
        let mut acc = [[0.0f64; 4]; P];
        for k in 0..12 {
            let x: [f64; 4] = std::array::from_fn(|l| win[l + 11 - k] as f64);
            for p in 0..P {
                for l in 0..4 {
                    acc[p][l] += coef[p][k] * x[l];
                }
            }
        }
        for a in &acc {
            for l in 0..4 {
                best[l] = best[l].max(a[l].abs() as f32);
            }
        }
        s += 4;
    }
    let mut peak = best.iter().fold(0.0f32, |a, &b| a.max(b));
    for s in s..n {
        for c in &coef {
            let mut acc = 0.0f64;
            for k in 0..12 {
                acc += c[k] * w[s + 11 - k] as f64;
            }
            peak = peak.max(acc.abs() as f32);
        }
    }
    peak
}

/// What a delivery target gates on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Gating {
    /// BS.1770-4 programme loudness (all content).
    Programme,
    /// Loudness of the dialogue alone (rendered from the ADM dialogue labels).
    Dialogue,
}

/// A published loudness specification.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Target {
    pub name: &'static str,
    pub description: &'static str,
    pub gating: Gating,
    pub loudness: f64,
    /// ± tolerance in LU.
    pub tolerance: f64,
    /// Maximum true peak (dBTP).
    pub max_true_peak: f64,
}

/// The targets `--target` knows (values as published by each body).
pub const TARGETS: &[Target] = &[
    Target {
        name: "ebu-r128",
        description: "EBU R 128 (2020): −23 LUFS ±0.5 LU programme loudness, true peak ≤ −1 dBTP",
        gating: Gating::Programme,
        loudness: -23.0,
        tolerance: 0.5,
        max_true_peak: -1.0,
    },
    Target {
        name: "atsc-a85",
        description: "ATSC A/85:2013 (US broadcast, CALM Act): −24 LKFS ±2 dB, true peak ≤ −2 dBTP",
        gating: Gating::Programme,
        loudness: -24.0,
        tolerance: 2.0,
        max_true_peak: -2.0,
    },
    Target {
        name: "arib-tr-b32",
        description: "ARIB TR-B32 (Japan): −24 LKFS ±1 dB, true peak ≤ −1 dBTP",
        gating: Gating::Programme,
        loudness: -24.0,
        tolerance: 1.0,
        max_true_peak: -1.0,
    },
    Target {
        name: "netflix",
        description: "Netflix sound mix specification: −27 LKFS ±2 LU dialogue-gated, true peak ≤ −2 dBTP",
        gating: Gating::Dialogue,
        loudness: -27.0,
        tolerance: 2.0,
        max_true_peak: -2.0,
    },
];

pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name.eq_ignore_ascii_case(name))
}

/// Pass/fail of one deliverable against a target.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TargetCheck {
    pub target: &'static str,
    pub gating: Gating,
    /// The target's loudness, tolerance (±LU) and true-peak ceiling.
    pub target_lufs: f64,
    pub tolerance_lu: f64,
    pub max_true_peak_dbtp: f64,
    /// The loudness the target gates on (programme or dialogue).
    pub measured_lufs: Option<f64>,
    /// measured − target (LU).
    pub delta_lu: Option<f64>,
    pub true_peak_dbtp: Option<f64>,
    pub loudness_ok: bool,
    pub true_peak_ok: bool,
    pub pass: bool,
}

impl Target {
    pub fn check(&self, report: &LoudnessReport, dialogue_lufs: Option<f64>) -> TargetCheck {
        let measured = match self.gating {
            Gating::Programme => report.integrated_lufs,
            Gating::Dialogue => dialogue_lufs,
        };
        let delta = measured.map(|m| m - self.loudness);
        let loudness_ok = delta.is_some_and(|d| d.abs() <= self.tolerance + 1e-9);
        let true_peak_ok = report.true_peak_dbtp.is_none_or(|tp| tp <= self.max_true_peak + 1e-9);
        TargetCheck {
            target: self.name,
            gating: self.gating,
            target_lufs: self.loudness,
            tolerance_lu: self.tolerance,
            max_true_peak_dbtp: self.max_true_peak,
            measured_lufs: measured,
            delta_lu: delta,
            true_peak_dbtp: report.true_peak_dbtp,
            loudness_ok,
            true_peak_ok,
            pass: loudness_ok && true_peak_ok,
        }
    }
}

/// One line for people: `PASS` or `FAIL`, then what was measured against
/// what was asked, e.g. `FAIL: programme -18.9 LUFS (+4.1 LU from -23.0
/// ±0.5); true peak -11.2 dBTP ≤ -1.0`.
impl std::fmt::Display for TargetCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.gating {
            Gating::Programme => "programme",
            Gating::Dialogue => "dialogue",
        };
        write!(f, "{}: ", if self.pass { "PASS" } else { "FAIL" })?;
        match (self.measured_lufs, self.delta_lu) {
            (Some(m), Some(d)) => write!(
                f,
                "{what} {m:.1} LUFS ({d:+.1} LU from {:.1} ±{:.1})",
                self.target_lufs, self.tolerance_lu
            )?,
            _ => write!(f, "{what} loudness not measurable (silent or too short)")?,
        }
        match self.true_peak_dbtp {
            Some(tp) => write!(
                f,
                "; true peak {tp:.1} dBTP {} {:.1}",
                if self.true_peak_ok { "≤" } else { "exceeds" },
                self.max_true_peak_dbtp
            ),
            None => write!(f, "; true peak -inf"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_check_reads_as_a_sentence() {
        let t = target("ebu-r128").unwrap();
        let rep = LoudnessReport {
            integrated_lufs: Some(-18.87),
            loudness_range_lu: Some(0.4),
            true_peak_dbtp: Some(-11.18),
            sample_peak_dbfs: Some(-11.5),
        };
        let c = t.check(&rep, None);
        assert!(!c.pass);
        assert_eq!(
            c.to_string(),
            "FAIL: programme -18.9 LUFS (+4.1 LU from -23.0 ±0.5); true peak -11.2 dBTP ≤ -1.0"
        );
        let ok = t.check(
            &LoudnessReport {
                integrated_lufs: Some(-23.2),
                true_peak_dbtp: Some(-0.5),
                ..rep
            },
            None,
        );
        assert_eq!(
            ok.to_string(),
            "FAIL: programme -23.2 LUFS (-0.2 LU from -23.0 ±0.5); true peak -0.5 dBTP exceeds -1.0"
        );
    }

    fn sine(freq: f64, amp_dbfs: f64, rate: u32, seconds: f64, phase: f64) -> Vec<f32> {
        let a = 10f64.powf(amp_dbfs / 20.0);
        (0..(rate as f64 * seconds) as usize)
            .map(|n| (a * (std::f64::consts::TAU * freq * n as f64 / rate as f64 + phase).sin()) as f32)
            .collect()
    }

    #[test]
    fn ebu_tech_3341_stereo_sines() {
        // EBU Tech 3341 case 1: stereo 1 kHz at −23 dBFS reads −23.0 ±0.1 LUFS; case 2 at −33.
        for level in [-23.0, -33.0] {
            let x = sine(1000.0, level, 48000, 20.0, 0.0);
            let mut m = Meter::for_layout(&Layout::builtin("2.0").unwrap().unwrap(), 48000).unwrap();
            m.add(&[&x, &x]).unwrap();
            let r = m.report();
            assert!((r.integrated_lufs.unwrap() - level).abs() < 0.1, "{level}: {r:?}");
        }
    }

    #[test]
    fn surround_weighting_lfe_and_every_channel_of_big_layouts() {
        let l = Layout::builtin("5.1").unwrap().unwrap();
        let x = sine(1000.0, -23.0, 48000, 3.0, 0.0);
        let z = vec![0.0f32; x.len()];
        let measure = |ch: usize| {
            let mut m = Meter::for_layout(&l, 48000).unwrap();
            let planar: Vec<&[f32]> = (0..6).map(|c| if c == ch { &x[..] } else { &z[..] }).collect();
            m.add(&planar).unwrap();
            m.report().integrated_lufs
        };
        let centre = measure(2).unwrap();
        let surround = measure(4).unwrap(); // Ls at +110°
        assert!((surround - centre - 1.49).abs() < 0.05, "{centre} {surround}");
        assert_eq!(measure(3), None, "LFE must not count");
        let x = &x[..24000];
        let z = &z[..24000];
        for name in ["7.1.4", "9.1.6", "theatre"] {
            let l = Layout::builtin(name).unwrap().unwrap();
            for (i, s) in l.speakers.iter().enumerate() {
                let mut m = Meter::for_layout(&l, 48000).unwrap();
                let planar: Vec<&[f32]> = (0..l.len()).map(|c| if c == i { x } else { z }).collect();
                m.add(&planar).unwrap();
                let r = m.report().integrated_lufs;
                assert_eq!(
                    r.is_some(),
                    !s.lfe,
                    "{name} {}: every non-LFE channel is measured",
                    s.label
                );
            }
        }
    }

    #[test]
    fn tech_3342_lra_and_true_peak() {
        // EBU Tech 3342 case 1: 20 s at −20 dBFS then 20 s at −30 dBFS → LRA 10 LU (±1).
        let mut x = sine(1000.0, -20.0, 48000, 20.0, 0.0);
        x.extend(sine(1000.0, -30.0, 48000, 20.0, 0.0));
        let mut m = Meter::for_layout(&Layout::builtin("2.0").unwrap().unwrap(), 48000).unwrap();
        m.add(&[&x, &x]).unwrap();
        assert!((m.report().loudness_range_lu.unwrap() - 10.0).abs() < 1.0);
        // A sine at fs/4 sampled at 45°: samples at ±0.707 A, true peak A.
        let a = 0.5f64;
        let x: Vec<f32> = (0..48000)
            .map(|n| (a * (std::f64::consts::FRAC_PI_2 * n as f64 + std::f64::consts::FRAC_PI_4).sin()) as f32)
            .collect();
        let mut m = Meter::for_binaural(48000).unwrap();
        m.add(&[&x, &x]).unwrap();
        let r = m.report();
        assert!((r.true_peak_dbtp.unwrap() - 20.0 * a.log10()).abs() < 0.3, "{r:?}");
        assert!((r.sample_peak_dbfs.unwrap() - 20.0 * (a * 0.5f64.sqrt()).log10()).abs() < 0.01);
    }

    /// The `ebur128` crate (a port of libebur128) is the oracle.
    #[test]
    fn agrees_with_the_ebur128_crate() {
        use ebur128::{EbuR128, Mode};
        let mut seed = 0x1234_5678_9abc_def1u64;
        let mut rnd = move || crate::rng::unit_f64(&mut seed) - 0.5;
        for (name, rate, seconds) in [("2.0", 48000u32, 12.0), ("5.1", 44100, 9.0), ("7.1.4", 48000, 7.0)] {
            let l = Layout::builtin(name).unwrap().unwrap();
            let n = (rate as f64 * seconds) as usize;
            // low-passed noise (programme-like: the two true-peak filters
            // differ only near Nyquist) with a slow level envelope per channel
            let x: Vec<Vec<f32>> = (0..l.len())
                .map(|c| {
                    let mut lp = 0.0f64;
                    (0..n)
                        .map(|i| {
                            let t = i as f64 / rate as f64;
                            let env = 0.1 + 0.6 * (0.5 + 0.5 * (t * (0.3 + 0.1 * c as f64)).sin()).powi(3);
                            lp += 0.3 * (rnd() - lp);
                            (lp * env) as f32
                        })
                        .collect()
                })
                .collect();
            let mut ours = Meter::for_layout(&l, rate).unwrap();
            let mut oracle = EbuR128::new(l.len() as u32, rate, Mode::I | Mode::LRA | Mode::TRUE_PEAK).unwrap();
            let map: Vec<Channel> = l
                .speakers
                .iter()
                .map(|s| channel_kind(s.azimuth, s.elevation, s.lfe))
                .collect();
            oracle.set_channel_map(&map).unwrap();
            for chunk in (0..n).step_by(4096) {
                let e = (chunk + 4096).min(n);
                let planar: Vec<&[f32]> = x.iter().map(|c| &c[chunk..e]).collect();
                ours.add(&planar).unwrap();
                oracle.add_frames_planar_f32(&planar).unwrap();
            }
            let r = ours.report();
            let i_ref = oracle.loudness_global().unwrap();
            let lra_ref = oracle.loudness_range().unwrap();
            let tp_ref = 20.0
                * (0..l.len() as u32)
                    .map(|c| oracle.true_peak(c).unwrap())
                    .fold(0.0f64, f64::max)
                    .log10();
            assert!(
                (r.integrated_lufs.unwrap() - i_ref).abs() < 0.01,
                "{name}: I {r:?} vs {i_ref}"
            );
            assert!(
                (r.loudness_range_lu.unwrap() - lra_ref).abs() < 0.05,
                "{name}: LRA {r:?} vs {lra_ref}"
            );
            assert!(
                (r.true_peak_dbtp.unwrap() - tp_ref).abs() < 0.2,
                "{name}: TP {r:?} vs {tp_ref}"
            );
        }
    }

    /// The four-lane true-peak kernel gives the one-sample-at-a-time sum's
    /// peak bit for bit, on every length (tails included) and both
    /// oversampling factors.
    #[test]
    fn interpolated_peak_is_the_plain_sum() {
        let mut st = 7u64;
        let mut rnd = || {
            st = st.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((st >> 40) as f32 / 16_777_216.0 - 0.5) * 2.0
        };
        for len in 11..140 {
            let w: Vec<f32> = (0..len).map(|_| rnd()).collect();
            for phases in [&[0usize, 1, 2, 3][..], &[0, 2]] {
                let mut want = 0.0f32;
                for n in 0..len - 11 {
                    for &p in phases {
                        let mut acc = 0.0f64;
                        for k in 0..12 {
                            acc += TP_PHASES[p][k] * w[n + 11 - k] as f64;
                        }
                        want = want.max(acc.abs() as f32);
                    }
                }
                let got = interpolated_peak(&w, phases);
                assert_eq!(got.to_bits(), want.to_bits(), "length {len}, phases {phases:?}");
                let plain = match *phases {
                    [a, b, c, d] => interpolated_peak_lanes(&w, [a, b, c, d]),
                    [a, b] => interpolated_peak_lanes(&w, [a, b]),
                    _ => unreachable!(),
                };
                assert_eq!(plain.to_bits(), want.to_bits());
            }
        }
    }

    /// The AVX K-filter equals the portable one bit for bit, for every group
    /// size (LFE lanes weighed 0), over several calls (state carried).
    #[test]
    fn k_filter_kernels_agree() {
        let f = k_weighting(48_000);
        let mut st = 3u64;
        let mut rnd = || {
            st = st.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((st >> 40) as f32 / 16_777_216.0 - 0.5) * 1.5
        };
        for k in 1..=8usize {
            let xs: Vec<Vec<f32>> = (0..k).map(|_| (0..1000).map(|_| rnd()).collect()).collect();
            let planar: Vec<&[f32]> = xs.iter().map(|v| v.as_slice()).collect();
            let weights: Vec<f64> = (0..k)
                .map(|c| if c == 3 { 0.0 } else { 1.0 + c as f64 * 0.1 })
                .collect();
            let fresh = || Meter::with_weights(&weights, 48_000).unwrap().channels;
            let (mut a, mut b) = (fresh(), fresh());
            for (off, take) in [(0usize, 300usize), (300, 700)] {
                if k > 4 {
                    filter_group_lanes::<LANES>(&f, &mut a, &planar, off, take);
                    filter_group::<LANES>(&f, &mut b, &planar, off, take);
                } else {
                    filter_group_lanes::<4>(&f, &mut a, &planar, off, take);
                    filter_group::<4>(&f, &mut b, &planar, off, take);
                }
            }
            for (x, y) in a.iter().zip(&b) {
                assert_eq!(x.acc.to_bits(), y.acc.to_bits(), "{k} channels");
                assert_eq!(x.z.map(|r| r.map(f64::to_bits)), y.z.map(|r| r.map(f64::to_bits)));
                assert!(x.acc > 0.0 || x.weight == 0.0);
            }
        }
    }

    #[test]
    fn a_meter_without_true_peak_measures_the_same_loudness() {
        // fs/4, 45° off the samples: the true peak is 3 dB over the sample peak
        let x = sine(12_000.0, -12.0, 48_000, 5.0, std::f64::consts::FRAC_PI_4);
        let planar = [x.as_slice(), x.as_slice()];
        let mut full = Meter::with_weights(&[1.0, 1.0], 48_000).unwrap();
        let mut lean = Meter::with_weights(&[1.0, 1.0], 48_000).unwrap().without_true_peak();
        for (a, b) in planar[0].chunks(4096).zip(planar[1].chunks(4096)) {
            full.add(&[a, b]).unwrap();
            lean.add(&[a, b]).unwrap();
        }
        let (f, l) = (full.report(), lean.report());
        assert_eq!(f.integrated_lufs, l.integrated_lufs);
        assert_eq!(f.sample_peak_dbfs, l.sample_peak_dbfs);
        assert_eq!(l.true_peak_dbtp, l.sample_peak_dbfs);
        assert!(f.true_peak_dbtp.unwrap() > f.sample_peak_dbfs.unwrap() + 2.5, "{f:?}");
    }

    #[test]
    fn wrong_shapes_are_errors_not_panics() {
        let mut m = Meter::for_binaural(48000).unwrap();
        assert!(m.add(&[&[0.0f32; 4][..]]).is_err());
        assert!(m.add(&[&[0.0f32; 4][..], &[0.0f32; 3][..]]).is_err());
    }
}
