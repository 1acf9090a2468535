//! The mix kernel (`shaders/mix.wgsl`): its parameter and piece structs, and
//! its Rust mirror (same loops, same f32 arithmetic, same summation order:
//! pieces in order, per speaker and sample).
//!
//! Per chunk, each piece — samples `[start, end)` of one input track — adds
//! `g(t) · x[t]` into every speaker's direct accumulator (and, when flagged,
//! the diffuse one), with `g(t) = g0 + (g1 − g0) · (p0 + dp · (t − start))`
//! read straight from the gains buffer's slots `slot0` (previous block) and
//! `slot1` (current block): the gains kernel's output is never read back.

/// Speakers per invocation (named accumulators in mix.wgsl); the gains
/// buffer's half slots are padded to a multiple of this.
pub const SPEAKERS_PER_INVOCATION: usize = 8;
/// Workgroup size of the mix kernel.
pub const WORKGROUP: u32 = 64;
/// `Piece.flags`: the piece feeds the diffuse accumulators too.
pub const PIECE_DIFFUSE: u32 = 1;

/// `MixParams` in mix.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct MixParams {
    pub n_pieces: u32,
    /// Floats per half slot of the gains buffer (speakers padded to 8).
    pub stride: u32,
    /// vec4s per track and per accumulator row (chunk frames / 4).
    pub t4n: u32,
    pub _pad: u32,
}

/// `Piece` in mix.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Piece {
    pub track: u32,
    pub start: u32,
    pub end: u32,
    pub slot0: u32,
    pub slot1: u32,
    pub flags: u32,
    pub p0: f32,
    pub dp: f32,
}

/// The kernel's source.
pub const SOURCE: &str = include_str!("../../../shaders/mix.wgsl");

/// The mirror of one dispatch: `acc` = direct rows (`stride` × `4·t4n`)
/// then diffuse rows, from `pieces`, the gains slots and the input tracks
/// `x` (each `4·t4n` frames).
pub fn mix_mirror(mp: &MixParams, pieces: &[Piece], gslots: &[f32], x: &[f32], acc: &mut [f32]) {
    let stride = mp.stride as usize;
    let frames = 4 * mp.t4n as usize;
    let groups = stride / SPEAKERS_PER_INVOCATION;
    for sg in 0..groups {
        for t4 in 0..mp.t4n as usize {
            let t0 = t4 * 4;
            let mut a = [[0.0f32; 4]; SPEAKERS_PER_INVOCATION];
            let mut f = [[0.0f32; 4]; SPEAKERS_PER_INVOCATION];
            for pc in &pieces[..mp.n_pieces as usize] {
                if t0 + 4 <= pc.start as usize || t0 >= pc.end as usize {
                    continue;
                }
                let ts = pc.start as f32;
                let te = pc.end as f32;
                let b0 = pc.slot0 as usize * 2 * stride + sg * SPEAKERS_PER_INVOCATION;
                let b1 = pc.slot1 as usize * 2 * stride + sg * SPEAKERS_PER_INVOCATION;
                for l in 0..4 {
                    let tv = (t0 + l) as f32;
                    let inside = if tv >= ts && tv < te { 1.0 } else { 0.0 };
                    let xv = x[pc.track as usize * frames + t0 + l] * inside;
                    let r = pc.p0 + pc.dp * (tv - ts);
                    for s in 0..SPEAKERS_PER_INVOCATION {
                        let g = gslots[b0 + s];
                        let d = gslots[b1 + s] - g;
                        a[s][l] += (g + d * r) * xv;
                        if pc.flags & PIECE_DIFFUSE != 0 {
                            let g = gslots[b0 + stride + s];
                            let d = gslots[b1 + stride + s] - g;
                            f[s][l] += (g + d * r) * xv;
                        }
                    }
                }
            }
            for s in 0..SPEAKERS_PER_INVOCATION {
                let row = sg * SPEAKERS_PER_INVOCATION + s;
                for l in 0..4 {
                    acc[row * frames + t0 + l] = a[s][l];
                    acc[(stride + row) * frames + t0 + l] = f[s][l];
                }
            }
        }
    }
}

/// The mix kernel on its own, for tests and benches: fixed sizes, buffers
/// made once, one dispatch per [`MixRunner::run`] (with the wait).
pub struct MixRunner {
    ctx: std::sync::Arc<super::GpuContext>,
    pipe: wgpu::ComputePipeline,
    params: wgpu::Buffer,
    pieces: wgpu::Buffer,
    acc: wgpu::Buffer,
    readback: wgpu::Buffer,
    bg: wgpu::BindGroup,
    acc_len: usize,
    groups: (u32, u32),
}

impl MixRunner {
    /// Buffers for `pieces`, gains slots `gslots` and tracks `x`
    /// (`4·t4n` frames each), uploaded once.
    pub fn new(
        ctx: std::sync::Arc<super::GpuContext>,
        mp: &MixParams,
        pieces: &[Piece],
        gslots: &[f32],
        x: &[f32],
    ) -> Self {
        use wgpu::BufferBindingType as B;
        use wgpu::BufferUsages as U;
        let ro = B::Storage { read_only: true };
        let (pipe, bgl) = ctx.pipeline(
            "mix",
            SOURCE,
            "mix_main",
            &[B::Uniform, ro, ro, ro, B::Storage { read_only: false }],
        );
        let acc_len = 2 * mp.stride as usize * 4 * mp.t4n as usize;
        let params = ctx.buffer("mix params", 16, U::UNIFORM | U::COPY_DST);
        let pb = ctx.buffer(
            "mix pieces",
            std::mem::size_of_val(pieces) as u64,
            U::STORAGE | U::COPY_DST,
        );
        let gb = ctx.buffer(
            "gains slots",
            std::mem::size_of_val(gslots) as u64,
            U::STORAGE | U::COPY_DST,
        );
        let xb = ctx.buffer("mix input", std::mem::size_of_val(x) as u64, U::STORAGE | U::COPY_DST);
        let acc = ctx.buffer("mix accumulators", (acc_len * 4) as u64, U::STORAGE | U::COPY_SRC);
        let readback = ctx.buffer("mix readback", (acc_len * 4) as u64, U::MAP_READ | U::COPY_DST);
        ctx.queue.write_buffer(&params, 0, bytemuck::bytes_of(mp));
        ctx.queue.write_buffer(&pb, 0, bytemuck::cast_slice(pieces));
        ctx.queue.write_buffer(&gb, 0, bytemuck::cast_slice(gslots));
        ctx.queue.write_buffer(&xb, 0, bytemuck::cast_slice(x));
        let bg = ctx.bind_group("mix", &bgl, &[&params, &pb, &gb, &xb, &acc]);
        MixRunner {
            pipe,
            params,
            pieces: pb,
            acc,
            readback,
            bg,
            acc_len,
            groups: (mp.t4n.div_ceil(WORKGROUP), mp.stride / SPEAKERS_PER_INVOCATION as u32),
            ctx,
        }
    }

    /// One dispatch, waited for.
    pub fn run(&self) -> Result<(), super::GpuError> {
        let mut enc = self.ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            pass.set_pipeline(&self.pipe);
            pass.set_bind_group(0, &self.bg, &[]);
            pass.dispatch_workgroups(self.groups.0, self.groups.1, 1);
        }
        self.ctx.submit_wait(enc)
    }

    /// Copy the accumulators back (direct rows, then diffuse rows).
    pub fn read(&self) -> Result<Vec<f32>, super::GpuError> {
        let bytes = (self.acc_len * 4) as u64;
        let mut enc = self.ctx.device.create_command_encoder(&Default::default());
        enc.copy_buffer_to_buffer(&self.acc, 0, &self.readback, 0, bytes);
        self.ctx.submit_wait(enc)?;
        let mut out = vec![0.0; self.acc_len];
        self.ctx.read_back(&self.readback, bytes, &mut out)?;
        let _ = (&self.params, &self.pieces);
        Ok(out)
    }
}
