//! [`GpuEngine`]: the [`LayoutEngine`] that computes object gains and mixes
//! on the GPU. Per chunk of [`CHUNK`] frames:
//! 1. each item's timeline is advanced on the CPU exactly as the CPU engine
//!    does (same block spans, same pieces); a metadata block entering gets a
//!    slot in the gains buffer and, for Objects, a record for the gains
//!    kernel. DirectSpeakers gains (per channel, once per block) are computed
//!    on the CPU and written into their slot.
//! 2. one submission: the gains dispatch (every block entering in this
//!    chunk, all items, one invocation each — skipped when none enters),
//!    then the mix dispatch, which reads the gains straight from their
//!    slots; the input tracks go up through a reused mapped staging buffer.
//! 3. the direct and diffuse accumulators come back through a reused
//!    readback buffer; the diffuse ones go through the CPU engine's
//!    decorrelators and are added to the direct path delayed by their centre
//!    tap, as in [`super::super::CpuEngine`].
//!
//! The decorrelators stay on the CPU: 512-tap FIRs on 2–64 speakers as a
//! direct-form GPU convolution cost 512 MAC per sample and speaker (4× a
//! 128-object mix on 16 speakers), on lavapipe that alone would be slower
//! than the partitioned FFT convolution on the CPU, which is a few hundred
//! MFLOP/s-cheap per chunk; and the diffuse bus must come back anyway to
//! be added at the right delay.
//!
//! Buffers are sized for the scene at creation (slots for three blocks per
//! item, pieces for four per item) and grow — never shrink — only when a
//! chunk needs more; bind groups are rebuilt only then. Nothing is
//! allocated per chunk otherwise. The input binding holds every track of a
//! chunk (16 KiB per track): a scene whose tracks exceed the adapter's
//! storage binding limit (128 MiB on lavapipe, 8,192 tracks) is refused.

use super::gains::{self, GainsParams, REC_WORDS};
use super::mix::{MixParams, PIECE_DIFFUSE, Piece, SPEAKERS_PER_INVOCATION};
use super::{GpuContext, GpuError};
use crate::engine::decorrelate::{CENTRE_TAP, Convolver, design_filter, filter_indices};
use crate::engine::timeline::BlockSpan;
use crate::engine::{CHUNK, EngineError, LATENCY, LayoutEngine};
use crate::layout::Layout;
use crate::notice::Notice;
use crate::panning::flat::FlatLayout;
use crate::panning::screen::PolarEdges;
use crate::panning::{DirectSpeakersPanner, GainCalc, ObjectContext, Routing};
use crate::render::RenderError;
use crate::scene::{ItemKind, RenderItem, Scene, TrackSource};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const CONV_BLOCK: usize = 512;
const _: () = assert!(LATENCY == CENTRE_TAP);

/// Per-item timeline state (as the CPU engine's, with gains slots instead of gains).
struct ItemState {
    next: usize,
    /// The block being rendered: span, slot, any diffuse.
    cur: Option<(BlockSpan, u32, bool)>,
    /// The block before it: slot, any diffuse.
    prev: Option<(u32, bool)>,
    lfe_dropped: bool,
    done: bool,
}

/// Host-side lists filled while advancing the timelines.
#[derive(Default)]
struct Work {
    records: Vec<u32>,
    zones: Vec<u32>,
    n_records: usize,
    pieces: Vec<Piece>,
    /// Gains computed on the CPU (DirectSpeakers, HOA, objects the GPU
    /// kernel does not take) to upload: slot, then `2 × stride` floats each.
    ds_slots: Vec<u32>,
    ds_gains: Vec<f32>,
    any_diffuse: bool,
    scratch: Vec<u32>,
}

impl Work {
    /// Queue CPU gains for `slot`: (direct, diffuse), `stride` floats each,
    /// zeroed for the caller to fill.
    fn cpu_gains(&mut self, slot: u32, stride: usize) -> (&mut [f32], &mut [f32]) {
        self.ds_slots.push(slot);
        let base = self.ds_gains.len();
        self.ds_gains.resize(base + 2 * stride, 0.0);
        self.ds_gains[base..].split_at_mut(stride)
    }
}

/// Slots of the gains buffer: a free list; slots released during a chunk
/// become free only after that chunk's submission.
struct Slots {
    free: Vec<u32>,
    pending: Vec<u32>,
    capacity: u32,
}

impl Slots {
    fn alloc(&mut self) -> Option<u32> {
        self.free.pop()
    }
}

/// Renders a scene to one layout on the GPU.
pub struct GpuEngine {
    ctx: Arc<GpuContext>,
    layout: Layout,
    n: usize,
    stride: usize,
    ds_panner: DirectSpeakersPanner,
    /// For the blocks the GPU does not compute (see `gains::on_gpu`).
    gc: GainCalc,
    gc_scratch: crate::panning::Scratch,
    allocentric: bool,
    scratch64b: Vec<f64>,
    ref_edges: Option<PolarEdges>,
    reference_screen: crate::adm::elements::Screen,
    rate: u32,
    tracks: usize,
    states: Vec<ItemState>,
    slots: Slots,
    /// The slot padding records of the gains dispatch write to.
    dummy_slot: u32,
    work: Work,
    scratch64: Vec<f64>,

    gains_pipe: wgpu::ComputePipeline,
    gains_bgl: wgpu::BindGroupLayout,
    mix_pipe: wgpu::ComputePipeline,
    mix_bgl: wgpu::BindGroupLayout,
    gains_params: wgpu::Buffer,
    mix_params: wgpu::Buffer,
    tab: wgpu::Buffer,
    recs: wgpu::Buffer,
    scratch: wgpu::Buffer,
    gslots: wgpu::Buffer,
    pieces: wgpu::Buffer,
    input: wgpu::Buffer,
    acc: wgpu::Buffer,
    readback: wgpu::Buffer,
    staging: wgpu::Buffer,
    staging_mapped: Arc<AtomicBool>,
    gains_bg: wgpu::BindGroup,
    mix_bg: wgpu::BindGroup,

    host_acc: Vec<f32>,
    direct: Vec<Vec<f32>>,
    diffuse: Vec<Vec<f32>>,
    tail: Vec<Vec<f32>>,
    conv: Convolver,
    pos: u64,
    notices: Vec<Notice>,
    blocks_computed: u64,
    /// Per scene item: the HOA decoder column (fixed gains, computed on the CPU).
    hoa: Vec<Option<Vec<f64>>>,
}

fn gpu_err(e: GpuError) -> EngineError {
    EngineError::Gpu(e.to_string())
}

impl GpuEngine {
    pub fn new(ctx: Arc<GpuContext>, layout: &Layout, scene: &Scene) -> Result<Self, RenderError> {
        let gc = GainCalc::new(layout)?;
        let (hoa, hoa_notices) = crate::engine::hoa::hoa_gains(layout, gc.point_source(), scene);
        let flat = FlatLayout::new(layout, &gc)?;
        let _ = gc.polar_extent();
        let n = layout.speakers.len();
        let stride = n.max(1).next_multiple_of(SPEAKERS_PER_INVOCATION);
        let tracks = scene.tracks as usize;
        let input_bytes = (tracks.max(1) * CHUNK * 4) as u64;
        if input_bytes > ctx.limits.max_storage_buffer_binding_size {
            return Err(RenderError::Engine(EngineError::Gpu(format!(
                "{tracks} input tracks need {} MiB per chunk, over the adapter's {} MiB storage binding limit: use --backend cpu",
                input_bytes >> 20,
                ctx.limits.max_storage_buffer_binding_size >> 20
            ))));
        }
        let names: Vec<&str> = layout
            .speakers
            .iter()
            .map(|s| s.bs2051.as_deref().unwrap_or(s.label.as_str()))
            .collect();
        let filters: Vec<Vec<f32>> = filter_indices(&names)
            .iter()
            .map(|&k| design_filter(k).iter().map(|&v| v as f32).collect())
            .collect();

        use wgpu::BufferBindingType as B;
        use wgpu::BufferUsages as U;
        let ro = B::Storage { read_only: true };
        let (gains_pipe, gains_bgl) = ctx.pipeline(
            "gains",
            gains::SOURCE,
            "gains_main",
            &[
                B::Uniform,
                ro,
                ro,
                B::Storage { read_only: false },
                B::Storage { read_only: false },
            ],
        );
        let (mix_pipe, mix_bgl) = ctx.pipeline(
            "mix",
            super::mix::SOURCE,
            "mix_main",
            &[B::Uniform, ro, ro, ro, B::Storage { read_only: false }],
        );
        let items = scene.items.len();
        let slot_cap = (3 * items + 64) as u32;
        let piece_cap = 4 * items + 64;
        let rec_cap = (items + 64) * (REC_WORDS + 8);
        let acc_bytes = (2 * stride * CHUNK * 4) as u64;
        let gains_params = ctx.buffer("gains params", 16, U::UNIFORM | U::COPY_DST);
        let mix_params = ctx.buffer("mix params", 16, U::UNIFORM | U::COPY_DST);
        let tab = ctx.buffer("gains tab", (flat.words.len() * 4) as u64, U::STORAGE | U::COPY_DST);
        ctx.queue.write_buffer(&tab, 0, bytemuck::cast_slice(&flat.words));
        let recs = ctx.buffer("gains records", (rec_cap * 4) as u64, U::STORAGE | U::COPY_DST);
        let gslots = ctx.buffer(
            "gains slots",
            slot_cap as u64 * (2 * stride * 4) as u64,
            U::STORAGE | U::COPY_DST | U::COPY_SRC,
        );
        let pieces = ctx.buffer(
            "mix pieces",
            (piece_cap * std::mem::size_of::<Piece>()) as u64,
            U::STORAGE | U::COPY_DST,
        );
        let input = ctx.buffer("mix input", input_bytes, U::STORAGE | U::COPY_DST);
        let acc = ctx.buffer("mix accumulators", acc_bytes, U::STORAGE | U::COPY_SRC);
        let readback = ctx.buffer("mix readback", (2 * n * CHUNK * 4) as u64, U::MAP_READ | U::COPY_DST);
        let staging = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("input staging"),
            size: input_bytes,
            usage: U::MAP_WRITE | U::COPY_SRC,
            mapped_at_creation: true,
        });
        let scratch = ctx.buffer("gains scratch", gains::scratch_bytes(items + 64), U::STORAGE);
        let gains_bg = ctx.bind_group("gains", &gains_bgl, &[&gains_params, &tab, &recs, &gslots, &scratch]);
        let mix_bg = ctx.bind_group("mix", &mix_bgl, &[&mix_params, &pieces, &gslots, &input, &acc]);
        let states = scene
            .items
            .iter()
            .map(|_| ItemState {
                next: 0,
                cur: None,
                prev: None,
                lfe_dropped: false,
                done: false,
            })
            .collect();
        let e = GpuEngine {
            layout: layout.clone(),
            n,
            stride,
            ds_panner: DirectSpeakersPanner::new(layout)?,
            gc_scratch: gc.scratch(),
            gc,
            allocentric: layout.has_allocentric(),
            scratch64b: vec![0.0; n],
            ref_edges: gains::reference_edges(&ObjectContext {
                reference_screen: scene.reference_screen,
            }),
            reference_screen: scene.reference_screen,
            rate: scene.sample_rate,
            tracks,
            states,
            slots: Slots {
                free: (0..slot_cap - 1).rev().collect(),
                pending: Vec::new(),
                capacity: slot_cap,
            },
            dummy_slot: slot_cap - 1,
            work: Work::default(),
            scratch64: vec![0.0; n],
            gains_pipe,
            gains_bgl,
            mix_pipe,
            mix_bgl,
            gains_params,
            mix_params,
            tab,
            recs,
            scratch,
            gslots,
            pieces,
            input,
            acc,
            readback,
            staging,
            staging_mapped: Arc::new(AtomicBool::new(true)),
            gains_bg,
            mix_bg,
            host_acc: vec![0.0; 2 * n * CHUNK],
            direct: vec![vec![0.0; CHUNK]; n],
            diffuse: vec![vec![0.0; CHUNK]; n],
            tail: vec![vec![0.0; LATENCY]; n],
            conv: Convolver::new(&filters, CONV_BLOCK),
            pos: 0,
            notices: hoa_notices,
            blocks_computed: 0,
            hoa,
            ctx,
        };
        e.ctx.check().map_err(|e| RenderError::Engine(gpu_err(e)))?;
        Ok(e)
    }

    /// The adapter this engine runs on.
    pub fn adapter(&self) -> String {
        self.ctx.describe()
    }

    fn rebuild_bind_groups(&mut self) {
        let c = &self.ctx;
        self.gains_bg = c.bind_group(
            "gains",
            &self.gains_bgl,
            &[&self.gains_params, &self.tab, &self.recs, &self.gslots, &self.scratch],
        );
        self.mix_bg = c.bind_group(
            "mix",
            &self.mix_bgl,
            &[&self.mix_params, &self.pieces, &self.gslots, &self.input, &self.acc],
        );
    }

    /// Double the gains slots, keeping their contents.
    fn grow_slots(&mut self) {
        use wgpu::BufferUsages as U;
        let old = self.slots.capacity;
        let new = old * 2;
        let slot_bytes = (2 * self.stride * 4) as u64;
        let buf = self.ctx.buffer(
            "gains slots",
            new as u64 * slot_bytes,
            U::STORAGE | U::COPY_DST | U::COPY_SRC,
        );
        let mut enc = self.ctx.device.create_command_encoder(&Default::default());
        enc.copy_buffer_to_buffer(&self.gslots, 0, &buf, 0, old as u64 * slot_bytes);
        self.ctx.queue.submit([enc.finish()]);
        self.gslots = buf;
        self.slots.free.extend((old..new).rev());
        self.slots.capacity = new;
        self.rebuild_bind_groups();
    }

    fn alloc_slot(&mut self) -> u32 {
        if let Some(s) = self.slots.alloc() {
            return s;
        }
        self.grow_slots();
        self.slots.alloc().unwrap_or(0)
    }

    /// Enter block `next` of item `i`: a slot, and a record (Objects) or
    /// CPU-computed gains (DirectSpeakers).
    fn enter(&mut self, i: usize, item: &RenderItem) {
        let slot = self.alloc_slot();
        let st = &mut self.states[i];
        let bi = st.next;
        st.next += 1;
        let (span, has_diffuse) = match &item.kind {
            ItemKind::Object { blocks } if !gains::on_gpu(&blocks[bi].block, self.allocentric) => {
                let b = &blocks[bi];
                let ctx = ObjectContext {
                    reference_screen: self.reference_screen,
                };
                self.gc.calc(
                    &b.block,
                    &ctx,
                    &mut self.gc_scratch,
                    &mut self.scratch64,
                    &mut self.scratch64b,
                );
                let (direct, diffuse) = self.work.cpu_gains(slot, self.stride);
                for o in 0..self.n {
                    direct[o] = (self.scratch64[o] * item.gain) as f32;
                    diffuse[o] = (self.scratch64b[o] * item.gain) as f32;
                }
                (
                    BlockSpan::new(b.start, b.ramp_end, b.end, self.rate),
                    b.block.diffuse > 0.0,
                )
            }
            ItemKind::Object { blocks } => {
                let b = &blocks[bi];
                let w = &mut self.work;
                let r = w.n_records;
                w.records.resize((r + 1) * REC_WORDS, 0);
                gains::encode_block(
                    &b.block,
                    self.ref_edges,
                    item.gain,
                    slot,
                    &mut w.records[r * REC_WORDS..],
                    &mut w.zones,
                );
                w.n_records += 1;
                (
                    BlockSpan::new(b.start, b.ramp_end, b.end, self.rate),
                    b.block.diffuse > 0.0,
                )
            }
            ItemKind::DirectSpeakers { blocks, context } => {
                let b = &blocks[bi];
                let routing = self.ds_panner.calc(&b.block, context, &mut self.scratch64);
                if routing == Routing::LfeDropped {
                    st.lfe_dropped = true;
                }
                let (direct, _) = self.work.cpu_gains(slot, self.stride);
                for (d, v) in direct.iter_mut().zip(&self.scratch64) {
                    *d = (v * item.gain) as f32;
                }
                // DirectSpeakers never ramp (BS.2127 §8: fixed gains per block).
                (BlockSpan::new(b.start, None, b.end, self.rate), false)
            }
            ItemKind::Hoa { blocks, .. } => {
                let b = &blocks[bi];
                let (direct, _) = self.work.cpu_gains(slot, self.stride);
                for (d, v) in direct.iter_mut().zip(self.hoa[i].iter().flatten()) {
                    *d = (v * item.gain) as f32;
                }
                // HOA decodes with fixed gains over each block (BS.2127 §9).
                (BlockSpan::new(b.start, None, b.end, self.rate), false)
            }
            _ => (
                BlockSpan::new(crate::time::Time::ZERO, None, Some(crate::time::Time::ZERO), self.rate),
                false,
            ),
        };
        let st = &mut self.states[i];
        if let Some((s, _)) = st.prev {
            self.slots.pending.push(s);
        }
        st.prev = st.cur.take().map(|(_, s, d)| (s, d));
        st.cur = Some((span, slot, has_diffuse));
        self.blocks_computed += 1;
    }

    /// The CPU engine's `advance`, cutting pieces that name gains slots.
    fn advance(&mut self, i: usize, item: &RenderItem, c0: i64, c1: i64) {
        let TrackSource::Channel(track) = item.track else {
            return;
        };
        if self.states[i].done || item.gain == 0.0 {
            return;
        }
        if !crate::engine::renders_on_speakers(&item.kind, self.hoa[i].is_some()) {
            return;
        }
        crate::engine::skip_dropped(&mut self.states[i].next, &item.kind);
        let n_blocks = item.kind.block_count();
        loop {
            let st = &self.states[i];
            let ended_before_chunk = st.cur.as_ref().is_none_or(|(span, _, _)| span.last <= c0);
            if ended_before_chunk {
                if st.next >= n_blocks {
                    self.states[i].done = true;
                    break;
                }
                self.enter(i, item);
                continue;
            }
            let Some((span, s1, d1)) = st.cur else { break };
            if span.first >= c1 {
                break;
            }
            let (ra, rb) = (span.first.max(c0), span.ramp_last.min(c1));
            if rb > ra
                && let Some((s0, d0)) = st.prev
            {
                let diffuse = d0 || d1;
                self.work.any_diffuse |= diffuse;
                self.work.pieces.push(Piece {
                    track,
                    start: (ra - c0) as u32,
                    end: (rb - c0) as u32,
                    slot0: s0,
                    slot1: s1,
                    flags: if diffuse { PIECE_DIFFUSE } else { 0 },
                    p0: span.ramp_p(ra) as f32,
                    dp: (1.0 / (span.ramp_end_f - span.start_f)) as f32,
                });
            }
            let (ha, hb) = (span.ramp_last.max(c0), span.last.min(c1));
            if hb > ha {
                self.work.any_diffuse |= d1;
                self.work.pieces.push(Piece {
                    track,
                    start: (ha - c0) as u32,
                    end: (hb - c0) as u32,
                    slot0: s1,
                    slot1: s1,
                    flags: if d1 { PIECE_DIFFUSE } else { 0 },
                    p0: 0.0,
                    dp: 0.0,
                });
            }
            if span.last >= c1 {
                break;
            }
            if st.next >= n_blocks {
                self.states[i].done = true;
                break;
            }
            self.enter(i, item);
        }
    }

    /// Make room for this chunk's records and pieces.
    fn reserve(&mut self, dispatched: usize) {
        use wgpu::BufferUsages as U;
        let mut rebuild = false;
        let scratch = gains::scratch_bytes(dispatched);
        if scratch > self.scratch.size() {
            self.scratch = self.ctx.buffer("gains scratch", scratch * 2, U::STORAGE);
            rebuild = true;
        }
        let rec_bytes = (self.work.records.len() * 4) as u64;
        if rec_bytes > self.recs.size() {
            self.recs = self
                .ctx
                .buffer("gains records", rec_bytes * 2, U::STORAGE | U::COPY_DST);
            rebuild = true;
        }
        let piece_bytes = (self.work.pieces.len() * std::mem::size_of::<Piece>()) as u64;
        if piece_bytes > self.pieces.size() {
            self.pieces = self.ctx.buffer("mix pieces", piece_bytes * 2, U::STORAGE | U::COPY_DST);
            rebuild = true;
        }
        if rebuild {
            self.rebuild_bind_groups();
        }
    }

    fn upload_input(&mut self, input: &[Vec<f32>], enc: &mut wgpu::CommandEncoder) -> Result<(), GpuError> {
        if !self.staging_mapped.load(Ordering::Acquire) {
            // not re-mapped yet: wait for it
            self.ctx
                .device
                .poll(wgpu::PollType::wait_indefinitely())
                .map_err(|e| GpuError::Runtime(e.to_string()))?;
            if !self.staging_mapped.load(Ordering::Acquire) {
                return Err(GpuError::Runtime("input staging buffer did not map".into()));
            }
        }
        let bytes = (CHUNK * 4) as u64;
        for (t, x) in input.iter().enumerate().take(self.tracks) {
            let off = t as u64 * bytes;
            let mut view = self
                .staging
                .get_mapped_range_mut(off..off + bytes)
                .map_err(|e| GpuError::Runtime(e.to_string()))?;
            view.copy_from_slice(bytemuck::cast_slice(&x[..CHUNK]));
        }
        self.staging.unmap();
        self.staging_mapped.store(false, Ordering::Release);
        let used = (self.tracks * CHUNK * 4) as u64;
        if used > 0 {
            enc.copy_buffer_to_buffer(&self.staging, 0, &self.input, 0, used);
        }
        let flag = self.staging_mapped.clone();
        enc.map_buffer_on_submit(&self.staging, wgpu::MapMode::Write, .., move |r| {
            if r.is_ok() {
                flag.store(true, Ordering::Release);
            }
        });
        Ok(())
    }

    /// Steps 2–3 of a chunk: upload, dispatch, read back.
    fn run_gpu(&mut self, input: &[Vec<f32>]) -> Result<bool, GpuError> {
        let mut n_rec = self.work.n_records;
        if n_rec > 0 {
            n_rec = gains::finish_records(
                &mut self.work.records,
                n_rec,
                &self.work.zones,
                &mut self.work.scratch,
                self.dummy_slot,
            );
        }
        self.reserve(n_rec);
        let q = &self.ctx.queue;
        if n_rec > 0 {
            let p = GainsParams {
                n_records: n_rec as u32,
                stride: self.stride as u32,
                lane_salt: 0,
                _pad: 0,
            };
            q.write_buffer(&self.gains_params, 0, bytemuck::bytes_of(&p));
            q.write_buffer(&self.recs, 0, bytemuck::cast_slice(&self.work.records));
        }
        let slot_bytes = (2 * self.stride * 4) as u64;
        for (k, &s) in self.work.ds_slots.iter().enumerate() {
            let g = &self.work.ds_gains[k * 2 * self.stride..(k + 1) * 2 * self.stride];
            q.write_buffer(&self.gslots, s as u64 * slot_bytes, bytemuck::cast_slice(g));
        }
        let mp = MixParams {
            n_pieces: self.work.pieces.len() as u32,
            stride: self.stride as u32,
            t4n: (CHUNK / 4) as u32,
            _pad: 0,
        };
        q.write_buffer(&self.mix_params, 0, bytemuck::bytes_of(&mp));
        if !self.work.pieces.is_empty() {
            q.write_buffer(&self.pieces, 0, bytemuck::cast_slice(&self.work.pieces));
        }
        let mut enc = self.ctx.device.create_command_encoder(&Default::default());
        self.upload_input(input, &mut enc)?;
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            if n_rec > 0 {
                pass.set_pipeline(&self.gains_pipe);
                pass.set_bind_group(0, &self.gains_bg, &[]);
                pass.dispatch_workgroups((n_rec as u32).div_ceil(gains::WORKGROUP), 1, 1);
            }
            pass.set_pipeline(&self.mix_pipe);
            pass.set_bind_group(0, &self.mix_bg, &[]);
            pass.dispatch_workgroups(
                ((CHUNK / 4) as u32).div_ceil(super::mix::WORKGROUP),
                (self.stride / SPEAKERS_PER_INVOCATION) as u32,
                1,
            );
        }
        let rows = (self.n * CHUNK * 4) as u64;
        let diffuse = self.work.any_diffuse;
        enc.copy_buffer_to_buffer(&self.acc, 0, &self.readback, 0, rows);
        if diffuse {
            let off = (self.stride * CHUNK * 4) as u64;
            enc.copy_buffer_to_buffer(&self.acc, off, &self.readback, rows, rows);
        }
        self.ctx.submit_wait(enc)?;
        let len = if diffuse { 2 * self.n * CHUNK } else { self.n * CHUNK };
        self.ctx
            .read_back(&self.readback, (len * 4) as u64, &mut self.host_acc[..len])?;
        Ok(diffuse)
    }
}

impl LayoutEngine for GpuEngine {
    fn layout(&self) -> &Layout {
        &self.layout
    }

    fn seek(&mut self, pos: u64) {
        self.pos = pos - pos % CHUNK as u64;
    }

    fn process_chunk(&mut self, scene: &Scene, input: &[Vec<f32>], out: &mut [Vec<f32>]) -> Result<(), EngineError> {
        let c0 = self.pos as i64;
        let c1 = c0 + CHUNK as i64;
        self.pos += CHUNK as u64;
        let w = &mut self.work;
        w.records.clear();
        w.zones.clear();
        w.n_records = 0;
        w.pieces.clear();
        w.ds_slots.clear();
        w.ds_gains.clear();
        w.any_diffuse = false;

        // 1. timelines → records, pieces
        for (i, item) in scene.items.iter().enumerate() {
            self.advance(i, item, c0, c1);
        }
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

        // 2. gains + mix on the GPU
        let any_diffuse = self.run_gpu(input).map_err(gpu_err)?;
        let mut freed = std::mem::take(&mut self.slots.pending);
        self.slots.free.append(&mut freed);
        self.slots.pending = freed;
        let n = self.n;
        for s in 0..n {
            self.direct[s].copy_from_slice(&self.host_acc[s * CHUNK..(s + 1) * CHUNK]);
            if any_diffuse {
                self.diffuse[s].copy_from_slice(&self.host_acc[(n + s) * CHUNK..(n + s + 1) * CHUNK]);
            }
        }

        // 3. decorrelate the diffuse bus; add the direct path delayed by the centre tap
        if any_diffuse || self.conv.ringing() {
            if !any_diffuse {
                for d in self.diffuse.iter_mut() {
                    d.fill(0.0);
                }
            }
            self.conv.process(&mut self.diffuse);
        } else {
            for d in self.diffuse.iter_mut() {
                d.fill(0.0);
            }
        }
        for s in 0..n {
            let (o, dir, dif, tail) = (&mut out[s], &self.direct[s], &self.diffuse[s], &mut self.tail[s]);
            o[..LATENCY].copy_from_slice(&tail[..]);
            o[LATENCY..].copy_from_slice(&dir[..CHUNK - LATENCY]);
            for (y, v) in o.iter_mut().zip(dif) {
                *y += v;
            }
            tail.copy_from_slice(&dir[CHUNK - LATENCY..]);
        }
        Ok(())
    }

    fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.notices)
    }

    fn blocks_computed(&self) -> u64 {
        self.blocks_computed
    }

    fn backend_name(&self) -> String {
        format!("gpu: {}", self.ctx.describe())
    }
}
