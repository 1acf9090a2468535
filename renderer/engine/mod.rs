//! The render engine: turns a [`Scene`]'s items and their input tracks into
//! speaker feeds for one layout, one fixed-size audio chunk at a time.
//!
//! Per chunk of [`CHUNK`] frames (absolute-aligned, so the output does not
//! depend on how the caller slices the audio):
//! 1. each item's gain timeline is advanced (new metadata blocks get their
//!    gains, in parallel across items) and cut into pieces of constant or
//!    linearly ramped gains;
//! 2. the pieces are mixed into a direct and a diffuse accumulator per
//!    speaker, in tiles of [`MIX_TILE`] samples (in parallel across tiles,
//!    SIMD inner loops);
//! 3. the diffuse accumulators go through the BS.2127 decorrelators and are
//!    added to the direct path delayed by their centre tap (255 samples), so
//!    the engine's output stream runs [`LATENCY`] samples behind its input —
//!    the caller drops the first `LATENCY` output samples, exactly as
//!    ear-render does.
//!
//! No allocation per chunk after the first; memory does not grow with the
//! programme's length.

pub mod decorrelate;
pub mod gpu;
pub mod hoa;
pub mod mixer;
pub mod timeline;

use crate::layout::{Layout, LayoutError};
use crate::notice::Notice;
use crate::panning::{DirectSpeakersPanner, GainCalc, ObjectContext, Routing, Scratch};
use crate::scene::{ItemKind, RenderItem, Scene, TrackSource};
use decorrelate::{CENTRE_TAP, Convolver, design_filter, filter_indices};
use mixer::Kernels;
use rayon::prelude::*;
use timeline::{BlockGains, BlockSpan, Piece, piece_coeffs};

/// Frames per engine chunk.
pub const CHUNK: usize = 4096;
/// Decorrelator partition (ear uses 512-sample blocks).
const CONV_BLOCK: usize = 512;
/// Samples per mix tile: a tile's direct accumulators (16 speakers × 512 ×
/// 4 bytes = 32 KiB) stay in L1/L2 while the items are added in.
const MIX_TILE: usize = 512;
const _: () = assert!(CHUNK.is_multiple_of(MIX_TILE));
/// Output delay of the engine: the decorrelators' centre tap.
pub const LATENCY: usize = CENTRE_TAP;

/// Why an engine could not render a chunk (a GPU device lost, …).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    Gpu(String),
}

/// A renderer of a scene to one layout, chunk by chunk: implemented by
/// [`CpuEngine`] (the reference) and by the GPU engine.
pub trait LayoutEngine: Send {
    fn layout(&self) -> &Layout;
    /// Start at absolute frame `pos` (a multiple of [`CHUNK`]); before the first chunk only.
    fn seek(&mut self, pos: u64);
    /// Render the next chunk: `input[t]` holds CHUNK frames of input track t
    /// (zeros past the end); `out[s]` receives CHUNK frames of the output
    /// stream, which runs [`LATENCY`] samples behind the input.
    fn process_chunk(&mut self, scene: &Scene, input: &[Vec<f32>], out: &mut [Vec<f32>]) -> Result<(), EngineError>;
    /// Notices raised while rendering, drained.
    fn take_notices(&mut self) -> Vec<Notice>;
    /// Metadata blocks whose gains were computed so far.
    fn blocks_computed(&self) -> u64;
    /// What renders: `cpu (avx512)`, or the GPU adapter's name, backend and type.
    fn backend_name(&self) -> String;
}

impl LayoutEngine for CpuEngine {
    fn layout(&self) -> &Layout {
        &self.layout
    }
    fn seek(&mut self, pos: u64) {
        CpuEngine::seek(self, pos)
    }
    fn process_chunk(&mut self, scene: &Scene, input: &[Vec<f32>], out: &mut [Vec<f32>]) -> Result<(), EngineError> {
        CpuEngine::process_chunk(self, scene, input, out);
        Ok(())
    }
    fn take_notices(&mut self) -> Vec<Notice> {
        CpuEngine::take_notices(self)
    }
    fn blocks_computed(&self) -> u64 {
        self.blocks_computed
    }
    fn backend_name(&self) -> String {
        format!("cpu ({})", self.kernels.name)
    }
}

/// Per-item, per-layout state of the gain timeline.
struct ItemState {
    /// Index of the next metadata block to enter.
    next: usize,
    /// The block being rendered: its span and gains.
    cur: Option<(BlockSpan, BlockGains)>,
    /// Gains of the block before `cur` (the ramp's start).
    prev: Option<BlockGains>,
    /// This chunk's pieces and their coefficients.
    pieces: Vec<Piece>,
    coeffs: Vec<f32>,
    /// Set once an LFE channel was dropped (one notice per item).
    lfe_dropped: bool,
    done: bool,
}

/// Renders a scene to one layout on the CPU.
pub struct CpuEngine {
    layout: Layout,
    n: usize,
    kernels: Kernels,
    gain_calc: GainCalc,
    ds_panner: DirectSpeakersPanner,
    ctx: ObjectContext,
    rate: u32,
    states: Vec<ItemState>,
    diffuse: Vec<Vec<f32>>,
    /// The mix's accumulators, tile by tile (see [`MIX_TILE`]): each tile
    /// holds every speaker's direct samples, then their diffuse ones.
    tiles: Vec<f32>,
    /// Last LATENCY samples of the direct path of the previous chunk.
    tail: Vec<Vec<f32>>,
    conv: Convolver,
    /// Absolute index of the next chunk's first frame.
    pos: u64,
    notices: Vec<Notice>,
    /// Metadata blocks whose gains were computed (for reports/benches).
    pub blocks_computed: u64,
    /// Which scene items this engine renders (all, by default).
    active: Vec<bool>,
    /// Per scene item: the HOA decoder column, for HOA items that decode.
    hoa: Vec<Option<Vec<f64>>>,
}

impl CpuEngine {
    pub fn new(layout: &Layout, scene: &Scene) -> Result<Self, LayoutError> {
        Self::with_items(layout, scene, |_| true)
    }

    /// An engine that renders only the items `keep` selects (a dialogue
    /// measurement bus, one headphone-mode group of the binaural fold-down).
    pub fn with_items(layout: &Layout, scene: &Scene, keep: impl Fn(&RenderItem) -> bool) -> Result<Self, LayoutError> {
        let n = layout.speakers.len();
        let names: Vec<&str> = layout
            .speakers
            .iter()
            .map(|s| s.bs2051.as_deref().unwrap_or(s.label.as_str()))
            .collect();
        let filters: Vec<Vec<f32>> = filter_indices(&names)
            .iter()
            .map(|&k| design_filter(k).iter().map(|&v| v as f32).collect())
            .collect();
        let states = scene
            .items
            .iter()
            .map(|_| ItemState {
                next: 0,
                cur: None,
                prev: None,
                pieces: Vec::new(),
                coeffs: Vec::new(),
                lfe_dropped: false,
                done: false,
            })
            .collect();
        let gain_calc = GainCalc::new(layout)?;
        let (hoa, notices) = hoa::hoa_gains(layout, gain_calc.point_source(), scene);
        Ok(CpuEngine {
            layout: layout.clone(),
            n,
            kernels: Kernels::detect(),
            gain_calc,
            ds_panner: DirectSpeakersPanner::new(layout)?,
            ctx: ObjectContext {
                reference_screen: scene.reference_screen,
            },
            rate: scene.sample_rate,
            states,
            diffuse: vec![vec![0.0; CHUNK]; n],
            tiles: vec![0.0; 2 * n * CHUNK],
            tail: vec![vec![0.0; LATENCY]; n],
            conv: Convolver::new(&filters, CONV_BLOCK),
            pos: 0,
            notices,
            blocks_computed: 0,
            active: scene.items.iter().map(keep).collect(),
            hoa,
        })
    }

    /// Start the next chunk at absolute frame `pos` (a multiple of
    /// [`CHUNK`]); only valid before the first chunk is processed.
    pub fn seek(&mut self, pos: u64) {
        self.pos = pos - pos % CHUNK as u64;
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    pub fn kernel_name(&self) -> &'static str {
        self.kernels.name
    }

    /// Notices raised while rendering (LFE dropped, …), drained.
    pub fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.notices)
    }

    /// Render the next chunk. `input[t]` holds CHUNK frames of input track t
    /// (zeros past the end of the file); `out[s]` receives CHUNK frames of the
    /// engine's output stream (delayed by [`LATENCY`]).
    pub fn process_chunk(&mut self, scene: &Scene, input: &[Vec<f32>], out: &mut [Vec<f32>]) {
        let c0 = self.pos as i64;
        let c1 = c0 + CHUNK as i64;
        self.pos += CHUNK as u64;

        // 1. timelines → pieces (parallel over items)
        let gc = &self.gain_calc;
        let dsp = &self.ds_panner;
        let ctx = &self.ctx;
        let rate = self.rate;
        let n = self.n;
        let computed: u64 = self
            .states
            .par_iter_mut()
            .zip(scene.items.par_iter())
            .zip(self.hoa.par_iter())
            .zip(self.active.par_iter())
            .filter(|(_, active)| **active)
            .map_init(
                || (gc.scratch(), vec![0.0f64; n], vec![0.0f64; n]),
                |(scratch, d64, f64b), (((st, item), hoa), _)| {
                    let p = Panners {
                        gc,
                        dsp,
                        ctx,
                        hoa: hoa.as_deref(),
                    };
                    advance(st, item, c0, c1, rate, &p, scratch, d64, f64b)
                },
            )
            .sum();
        self.blocks_computed += computed;
        for (st, item) in self.states.iter_mut().zip(&scene.items) {
            if st.lfe_dropped {
                st.lfe_dropped = false;
                self.notices.push(Notice::new(
                    "lfe-dropped",
                    item.id.clone(),
                    format!(
                        "LFE channel not rendered: layout {} has no LFE output",
                        self.layout.name
                    ),
                ));
            }
        }

        // 2. mix, in tiles of MIX_TILE samples (parallel over tiles): each
        //    piece's input tile is read once and added into every speaker's
        //    accumulator (looping over speakers outside would stream the
        //    whole chunk's input once per speaker). A sample's sum runs over
        //    the items and pieces in the same order whatever the tiling.
        let states = &self.states;
        let k = self.kernels;
        let any_diffuse = states.iter().any(|s| s.pieces.iter().any(|p| p.diffuse));
        let t = MIX_TILE;
        self.tiles.par_chunks_mut(2 * n * t).enumerate().for_each(|(ti, tile)| {
            let (t0, t1) = (ti * t, (ti + 1) * t);
            let (dir, dif) = tile.split_at_mut(n * t);
            dir.fill(0.0);
            if any_diffuse {
                dif.fill(0.0);
            }
            for st in states {
                for p in &st.pieces {
                    let (a, b) = ((p.start as usize).max(t0), (p.end as usize).min(t1));
                    if a >= b {
                        continue;
                    }
                    let x = &input[p.track as usize][a..b];
                    let k0 = a - p.start as usize;
                    let (lo, hi) = (a - t0, b - t0);
                    for s in 0..n {
                        let cd = st.coeffs[p.coeffs + s];
                        let dd = st.coeffs[p.coeffs + n + s];
                        let acc = &mut dir[s * t + lo..s * t + hi];
                        if p.ramp && dd != 0.0 {
                            (k.ramp)(acc, x, cd, dd, k0);
                        } else if cd != 0.0 {
                            (k.constant)(acc, x, cd);
                        }
                        if p.diffuse {
                            let cf = st.coeffs[p.coeffs + 2 * n + s];
                            let df = st.coeffs[p.coeffs + 3 * n + s];
                            let acc = &mut dif[s * t + lo..s * t + hi];
                            if p.ramp && df != 0.0 {
                                (k.ramp)(acc, x, cf, df, k0);
                            } else if cf != 0.0 {
                                (k.constant)(acc, x, cf);
                            }
                        }
                    }
                }
            }
        });
        // 3. the direct path, delayed by the centre tap, goes from the tiles
        //    straight into the output: the previous chunk's last LATENCY
        //    samples first, then this chunk's, whose last LATENCY samples
        //    become the next tail. The diffuse bus goes to its buffers for
        //    the decorrelators.
        for (o, tail) in out.iter_mut().zip(&self.tail) {
            o[..LATENCY].copy_from_slice(tail);
        }
        for (ti, tile) in self.tiles.chunks_exact(2 * n * t).enumerate() {
            let (dir, dif) = tile.split_at(n * t);
            // this tile's samples land at out[j0..], past CHUNK in the tail
            let j0 = ti * t + LATENCY;
            let in_out = CHUNK.saturating_sub(j0).min(t);
            for (s, (o, tail)) in out.iter_mut().zip(self.tail.iter_mut()).enumerate() {
                let d = &dir[s * t..(s + 1) * t];
                if in_out > 0 {
                    o[j0..j0 + in_out].copy_from_slice(&d[..in_out]);
                }
                if in_out < t {
                    let k0 = j0 + in_out - CHUNK;
                    tail[k0..k0 + t - in_out].copy_from_slice(&d[in_out..]);
                }
                if any_diffuse {
                    self.diffuse[s][ti * t..(ti + 1) * t].copy_from_slice(&dif[s * t..(s + 1) * t]);
                }
            }
        }
        if !any_diffuse {
            // the convolver reads the bus while its filters still ring
            for f in self.diffuse.iter_mut() {
                f.fill(0.0);
            }
        }
        // 4. decorrelate the diffuse bus and add it
        if any_diffuse || self.conv.ringing() {
            self.conv.process(&mut self.diffuse);
        }
        for (o, dif) in out.iter_mut().zip(&self.diffuse) {
            for (y, v) in o.iter_mut().zip(dif) {
                *y += v;
            }
        }
    }
}

/// Whether an engine renders an item of this kind to loudspeakers: Objects
/// and DirectSpeakers always, HOA when its set has a decoder; Matrix and
/// Binaural items are reported by the scene instead (one rule for the CPU
/// and GPU engines).
pub(crate) fn renders_on_speakers(kind: &ItemKind, hoa_decoder: bool) -> bool {
    match kind {
        ItemKind::Object { .. } | ItemKind::DirectSpeakers { .. } => true,
        ItemKind::Hoa { .. } => hoa_decoder,
        ItemKind::Matrix | ItemKind::Binaural => false,
    }
}

/// A streamed item may have dropped blocks this engine never entered (they
/// end before the render's first chunk, see [`crate::scene::ObjectBlocks`]):
/// go on from the first block held.
pub(crate) fn skip_dropped(next: &mut usize, kind: &ItemKind) {
    if let ItemKind::Object { blocks } = kind {
        *next = (*next).max(blocks.first_index());
    }
}

/// The per-layout panners an item's blocks are computed with.
struct Panners<'a> {
    gc: &'a GainCalc,
    dsp: &'a DirectSpeakersPanner,
    ctx: &'a ObjectContext,
    /// This item's HOA decoder column (HOA items only).
    hoa: Option<&'a [f64]>,
}

/// Advance one item's timeline over [c0, c1): enter blocks (computing their
/// gains), cut pieces. Returns the number of blocks whose gains were computed.
#[allow(clippy::too_many_arguments)]
fn advance(
    st: &mut ItemState,
    item: &RenderItem,
    c0: i64,
    c1: i64,
    rate: u32,
    p: &Panners<'_>,
    scratch: &mut Scratch,
    d64: &mut [f64],
    f64b: &mut [f64],
) -> u64 {
    st.pieces.clear();
    st.coeffs.clear();
    let TrackSource::Channel(track) = item.track else {
        return 0;
    };
    if st.done || item.gain == 0.0 {
        return 0;
    }
    if !renders_on_speakers(&item.kind, p.hoa.is_some()) {
        return 0;
    }
    skip_dropped(&mut st.next, &item.kind);
    let n_blocks = item.kind.block_count();
    let mut computed = 0;
    loop {
        let ended_before_chunk = st.cur.as_ref().is_none_or(|(span, _)| span.last <= c0);
        if ended_before_chunk {
            if st.next >= n_blocks {
                st.done = true;
                break;
            }
            st.enter(item, rate, p, scratch, d64, f64b);
            computed += 1;
            continue;
        }
        let Some((span, g1)) = &st.cur else { break };
        if span.first >= c1 {
            break; // starts after this chunk
        }
        // ramp from the previous block's gains
        let (ra, rb) = (span.first.max(c0), span.ramp_last.min(c1));
        if rb > ra
            && let Some(g0) = &st.prev
        {
            let off = st.coeffs.len();
            let ramp = piece_coeffs(span, Some((g0, ra)), g1, &mut st.coeffs);
            st.pieces.push(Piece {
                track,
                start: (ra - c0) as u32,
                end: (rb - c0) as u32,
                coeffs: off,
                ramp,
                diffuse: g0.has_diffuse || g1.has_diffuse,
            });
        }
        // then hold
        let (ha, hb) = (span.ramp_last.max(c0), span.last.min(c1));
        if hb > ha {
            let off = st.coeffs.len();
            piece_coeffs(span, None, g1, &mut st.coeffs);
            st.pieces.push(Piece {
                track,
                start: (ha - c0) as u32,
                end: (hb - c0) as u32,
                coeffs: off,
                ramp: false,
                diffuse: g1.has_diffuse,
            });
        }
        if span.last >= c1 {
            break; // lasts past this chunk
        }
        if st.next >= n_blocks {
            st.done = true;
            break;
        }
        st.enter(item, rate, p, scratch, d64, f64b);
        computed += 1;
    }
    computed
}

impl ItemState {
    /// Enter the next metadata block: compute its span and gains.
    #[allow(clippy::too_many_arguments)]
    fn enter(
        &mut self,
        item: &RenderItem,
        rate: u32,
        p: &Panners<'_>,
        scratch: &mut Scratch,
        d64: &mut [f64],
        f64b: &mut [f64],
    ) {
        let next = enter_block(item, self.next, rate, p, scratch, d64, f64b, &mut self.lfe_dropped);
        self.next += 1;
        self.prev = self.cur.take().map(|(_, g)| g);
        self.cur = Some(next);
    }
}

/// Compute the span and gains of block `i` of an item.
#[allow(clippy::too_many_arguments)]
fn enter_block(
    item: &RenderItem,
    i: usize,
    rate: u32,
    p: &Panners<'_>,
    scratch: &mut Scratch,
    d64: &mut [f64],
    f64b: &mut [f64],
    lfe_dropped: &mut bool,
) -> (BlockSpan, BlockGains) {
    let g = item.gain;
    match &item.kind {
        ItemKind::Object { blocks } => {
            let b = &blocks[i];
            p.gc.calc(&b.block, p.ctx, scratch, d64, f64b);
            let direct: Vec<f32> = d64.iter().map(|v| (v * g) as f32).collect();
            let diffuse: Vec<f32> = f64b.iter().map(|v| (v * g) as f32).collect();
            let has_diffuse = diffuse.iter().any(|v| *v != 0.0);
            (
                BlockSpan::new(b.start, b.ramp_end, b.end, rate),
                BlockGains {
                    direct,
                    diffuse,
                    has_diffuse,
                },
            )
        }
        ItemKind::DirectSpeakers { blocks, context } => {
            let b = &blocks[i];
            let routing = p.dsp.calc(&b.block, context, d64);
            if routing == Routing::LfeDropped {
                *lfe_dropped = true;
            }
            let direct: Vec<f32> = d64.iter().map(|v| (v * g) as f32).collect();
            // DirectSpeakers never ramp (BS.2127 §8: fixed gains per block).
            (
                BlockSpan::new(b.start, None, b.end, rate),
                BlockGains {
                    diffuse: vec![0.0; direct.len()],
                    direct,
                    has_diffuse: false,
                },
            )
        }
        ItemKind::Hoa { blocks, .. } => {
            let b = &blocks[i];
            let direct: Vec<f32> = p.hoa.unwrap_or(&[]).iter().map(|v| (v * g) as f32).collect();
            // HOA decodes with fixed gains over each block (BS.2127 §9).
            (
                BlockSpan::new(b.start, None, b.end, rate),
                BlockGains {
                    diffuse: vec![0.0; direct.len()],
                    direct,
                    has_diffuse: false,
                },
            )
        }
        // Never reached: `advance` renders only Objects, DirectSpeakers and HOA.
        _ => (
            BlockSpan::new(crate::time::Time::ZERO, None, Some(crate::time::Time::ZERO), rate),
            BlockGains {
                direct: vec![0.0; d64.len()],
                diffuse: vec![0.0; d64.len()],
                has_diffuse: false,
            },
        ),
    }
}
