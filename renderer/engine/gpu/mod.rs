//! The GPU render engine: the object gains and the mix as WGSL compute
//! shaders through wgpu (Vulkan on real GPUs; Mesa lavapipe, a software
//! Vulkan driver, on machines without one). Takes a layout and a scene, like
//! [`super::CpuEngine`]; produces the same speaker feeds (within 1e-5 per
//! sample); refuses nothing the CPU engine accepts except layouts of more
//! than 64 non-LFE speakers, and reports "no GPU adapter" when there is none.
//!
//! - [`Backend`] (`auto | cpu | gpu`) and [`engine_factory`]: what
//!   `render_with` takes, plus a description of the adapter chosen. `auto`
//!   takes a hardware adapter if one exists, else the CPU; `gpu` takes any
//!   adapter, software ones included.
//! - [`GpuContext`]: the device, set up once (instance from the environment
//!   so `WGPU_BACKEND=vulkan|gl` works, the adapter's own limits requested,
//!   uncaptured errors recorded and turned into [`GpuError`]s, never a panic).
//! - [`gains`]: `shaders/gains.wgsl`, one invocation per Objects metadata
//!   block, and its Rust mirror; [`GpuGains`] runs it on a batch of blocks
//!   (`admix gains --backend gpu`).
//! - [`mix`]: `shaders/mix.wgsl`, one dispatch per chunk, and its mirror.
//! - [`GpuEngine`]: the [`super::LayoutEngine`].

pub mod engine;
pub mod gains;
pub mod mix;

pub use engine::GpuEngine;

use crate::layout::Layout;
use crate::panning::flat::FlatLayout;
use crate::panning::{GainCalc, ObjectContext};
use crate::render::{EngineFactory, RenderError};
use crate::scene::Scene;
use std::sync::{Arc, Mutex};

/// Why the GPU path could not be used.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    #[error("no GPU adapter: use --backend cpu, or install a Vulkan driver — mesa-vulkan-drivers gives a software one")]
    NoAdapter,
    #[error("GPU device request failed on {adapter}: {message}")]
    Device { adapter: String, message: String },
    #[error("GPU error: {0}")]
    Runtime(String),
    #[error("{0}")]
    Unsupported(String),
}

/// Which engine renders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Backend {
    /// A hardware GPU when there is one, else the CPU.
    #[default]
    Auto,
    Cpu,
    /// Any GPU adapter, software (lavapipe) included.
    Gpu,
}

impl std::str::FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Backend::Auto),
            "cpu" => Ok(Backend::Cpu),
            "gpu" => Ok(Backend::Gpu),
            o => Err(format!("unknown backend {o:?}: expected auto, cpu or gpu")),
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Auto => "auto",
            Backend::Cpu => "cpu",
            Backend::Gpu => "gpu",
        })
    }
}

/// `llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan, Cpu)`.
pub fn describe_adapter(info: &wgpu::AdapterInfo) -> String {
    format!("{} ({:?}, {:?})", info.name, info.backend, info.device_type)
}

/// A device and its queue, shared by every engine of a render.
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
    /// The first uncaptured wgpu error since the last [`GpuContext::check`].
    errors: Arc<Mutex<Option<String>>>,
}

impl GpuContext {
    /// Set up a device: a hardware adapter (discrete, integrated, virtual,
    /// other — Vulkan first), or also a software one when `allow_software`.
    /// `Ok(None)` when there is no such adapter.
    pub fn new(allow_software: bool) -> Result<Option<Arc<Self>>, GpuError> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
        let rank = |t: wgpu::DeviceType| match t {
            wgpu::DeviceType::DiscreteGpu => 0,
            wgpu::DeviceType::IntegratedGpu => 1,
            wgpu::DeviceType::VirtualGpu => 2,
            wgpu::DeviceType::Other => 3,
            wgpu::DeviceType::Cpu => 4,
        };
        let Some(adapter) = adapters
            .into_iter()
            .filter(|a| allow_software || a.get_info().device_type != wgpu::DeviceType::Cpu)
            .min_by_key(|a| {
                let i = a.get_info();
                (rank(i.device_type), i.backend != wgpu::Backend::Vulkan)
            })
        else {
            return Ok(None);
        };
        let info = adapter.get_info();
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("admix"),
            required_features: wgpu::Features::empty(),
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| GpuError::Device {
            adapter: describe_adapter(&info),
            message: e.to_string(),
        })?;
        let errors: Arc<Mutex<Option<String>>> = Arc::default();
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut g) = sink.lock()
                && g.is_none()
            {
                *g = Some(e.to_string());
            }
        }));
        Ok(Some(Arc::new(GpuContext {
            device,
            queue,
            info,
            limits,
            errors,
        })))
    }

    /// The adapter, as reports print it.
    pub fn describe(&self) -> String {
        describe_adapter(&self.info)
    }

    /// An error if wgpu reported one since the last check.
    pub fn check(&self) -> Result<(), GpuError> {
        match self.errors.lock().ok().and_then(|mut g| g.take()) {
            Some(e) => Err(GpuError::Runtime(e)),
            None => Ok(()),
        }
    }

    /// Submit and wait for the queue to drain.
    pub(crate) fn submit_wait(&self, enc: wgpu::CommandEncoder) -> Result<(), GpuError> {
        let idx = self.queue.submit([enc.finish()]);
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(idx),
                timeout: None,
            })
            .map_err(|e| GpuError::Runtime(e.to_string()))?;
        self.check()
    }

    pub(crate) fn buffer(&self, label: &str, size: u64, usage: wgpu::BufferUsages) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: size.max(16).next_multiple_of(16),
            usage,
            mapped_at_creation: false,
        })
    }

    pub(crate) fn pipeline(
        &self,
        label: &str,
        source: &str,
        entry: &str,
        kinds: &[wgpu::BufferBindingType],
    ) -> (wgpu::ComputePipeline, wgpu::BindGroupLayout) {
        let entries: Vec<wgpu::BindGroupLayoutEntry> = kinds
            .iter()
            .enumerate()
            .map(|(i, &ty)| wgpu::BindGroupLayoutEntry {
                binding: i as u32,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty,
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            })
            .collect();
        let bgl = self.device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(label),
            entries: &entries,
        });
        let pl = self.device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(label),
            bind_group_layouts: &[Some(&bgl)],
            immediate_size: 0,
        });
        let desc = wgpu::ShaderModuleDescriptor {
            label: Some(label),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        };
        let module = self.device.create_shader_module(desc);
        let pipe = self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(label),
            layout: Some(&pl),
            module: &module,
            entry_point: Some(entry),
            compilation_options: wgpu::PipelineCompilationOptions::default(),
            cache: None,
        });
        (pipe, bgl)
    }

    pub(crate) fn bind_group(
        &self,
        label: &str,
        layout: &wgpu::BindGroupLayout,
        buffers: &[&wgpu::Buffer],
    ) -> wgpu::BindGroup {
        let entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: b.as_entire_binding(),
            })
            .collect();
        self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(label),
            layout,
            entries: &entries,
        })
    }

    /// Map `buf` for reading (after its copy was submitted), copy out, unmap.
    pub(crate) fn read_back(&self, buf: &wgpu::Buffer, bytes: u64, out: &mut [f32]) -> Result<(), GpuError> {
        let (tx, rx) = std::sync::mpsc::channel();
        buf.map_async(wgpu::MapMode::Read, 0..bytes, move |r| {
            let _ = tx.send(r);
        });
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| GpuError::Runtime(e.to_string()))?;
        rx.recv()
            .map_err(|e| GpuError::Runtime(e.to_string()))?
            .map_err(|e| GpuError::Runtime(e.to_string()))?;
        {
            let view = buf
                .get_mapped_range(0..bytes)
                .map_err(|e| GpuError::Runtime(e.to_string()))?;
            out.copy_from_slice(bytemuck::cast_slice::<u8, f32>(&view));
        }
        buf.unmap();
        self.check()
    }
}

/// The adapter `backend` selects: `Ok(None)` means the CPU.
pub fn select(backend: Backend) -> Result<Option<Arc<GpuContext>>, GpuError> {
    match backend {
        Backend::Cpu => Ok(None),
        Backend::Auto => GpuContext::new(false),
        Backend::Gpu => GpuContext::new(true)?.map(Some).ok_or(GpuError::NoAdapter),
    }
}

/// An engine factory for `render_with`, and what renders (`cpu (avx512)`
/// or the adapter's description).
pub fn engine_factory(backend: Backend) -> Result<(Box<EngineFactory<'static>>, String), GpuError> {
    Ok(factory_for(select(backend)?))
}

/// [`engine_factory`] for a context [`select`] gave already (`None`: the
/// CPU), so that the probe for adapters can run while the input opens.
pub fn factory_for(ctx: Option<Arc<GpuContext>>) -> (Box<EngineFactory<'static>>, String) {
    match ctx {
        None => {
            let name = format!("cpu ({})", super::mixer::Kernels::detect().name);
            (Box::new(crate::render::cpu_engine), name)
        }
        Some(ctx) => {
            let name = ctx.describe();
            let f = move |layout: &Layout, scene: &Scene| -> Result<Box<dyn super::LayoutEngine>, RenderError> {
                let e = GpuEngine::new(ctx.clone(), layout, scene)?;
                Ok(Box::new(e))
            };
            (Box::new(f), name)
        }
    }
}

/// The gains kernel on its own: batches of Objects blocks in, direct and
/// diffuse gains out (what `admix gains --backend gpu` runs).
pub struct GpuGains {
    ctx: Arc<GpuContext>,
    n_out: usize,
    gc: GainCalc,
    allocentric: bool,
    pipe: wgpu::ComputePipeline,
    bgl: wgpu::BindGroupLayout,
    params: wgpu::Buffer,
    tab: wgpu::Buffer,
    recs: wgpu::Buffer,
    out: wgpu::Buffer,
    readback: wgpu::Buffer,
    scratch_buf: wgpu::Buffer,
    capacity: usize,
    words: Vec<u32>,
    zones: Vec<u32>,
    scratch: Vec<u32>,
    result: Vec<f32>,
}

impl GpuGains {
    pub fn new(ctx: Arc<GpuContext>, layout: &Layout) -> Result<Self, GpuError> {
        let gc = GainCalc::new(layout).map_err(|e| GpuError::Unsupported(e.to_string()))?;
        let flat = FlatLayout::new(layout, &gc).map_err(|e| GpuError::Unsupported(e.to_string()))?;
        use wgpu::BufferBindingType as B;
        use wgpu::BufferUsages as U;
        let (pipe, bgl) = ctx.pipeline(
            "gains",
            gains::SOURCE,
            "gains_main",
            &[
                B::Uniform,
                B::Storage { read_only: true },
                B::Storage { read_only: true },
                B::Storage { read_only: false },
                B::Storage { read_only: false },
            ],
        );
        let params = ctx.buffer("gains params", 16, U::UNIFORM | U::COPY_DST);
        let tab = ctx.buffer("gains tab", (flat.words.len() * 4) as u64, U::STORAGE | U::COPY_DST);
        ctx.queue.write_buffer(&tab, 0, bytemuck::cast_slice(&flat.words));
        let mut g = GpuGains {
            n_out: flat.n_out,
            gc,
            allocentric: layout.has_allocentric(),
            pipe,
            bgl,
            params,
            tab,
            recs: ctx.buffer("gains records", 16, U::STORAGE),
            out: ctx.buffer("gains out", 16, U::STORAGE),
            readback: ctx.buffer("gains readback", 16, U::MAP_READ),
            scratch_buf: ctx.buffer("gains scratch", 16, U::STORAGE),
            capacity: 0,
            words: Vec::new(),
            zones: Vec::new(),
            scratch: Vec::new(),
            result: Vec::new(),
            ctx,
        };
        g.reserve(1024, 1024, 1024);
        Ok(g)
    }

    fn reserve(&mut self, blocks: usize, words: usize, dispatched: usize) {
        use wgpu::BufferUsages as U;
        let scratch = gains::scratch_bytes(dispatched);
        if scratch > self.scratch_buf.size() {
            self.scratch_buf = self.ctx.buffer("gains scratch", scratch, U::STORAGE);
        }
        let rec_bytes = (words * 4) as u64;
        if rec_bytes > self.recs.size() {
            self.recs = self.ctx.buffer("gains records", rec_bytes, U::STORAGE | U::COPY_DST);
        }
        if blocks > self.capacity {
            // one more slot: where padding records write
            let out_bytes = ((blocks + 1) * 2 * self.n_out * 4) as u64;
            self.out = self.ctx.buffer("gains out", out_bytes, U::STORAGE | U::COPY_SRC);
            self.readback = self.ctx.buffer("gains readback", out_bytes, U::MAP_READ | U::COPY_DST);
            self.capacity = blocks;
        }
    }

    /// Gains of each block: `direct` then `diffuse`, `2 × n_out` floats per
    /// block, in order (item gain 1).
    pub fn compute(
        &mut self,
        blocks: &[(crate::adm::elements::ObjectBlock, ObjectContext)],
    ) -> Result<&[f32], GpuError> {
        let n = blocks.len();
        self.words.clear();
        self.zones.clear();
        let mut m = 0;
        for (i, (b, ctx)) in blocks.iter().enumerate() {
            if gains::on_gpu(b, self.allocentric) {
                self.words.resize((m + 1) * gains::REC_WORDS, 0);
                gains::encode_block(
                    b,
                    gains::reference_edges(ctx),
                    1.0,
                    i as u32,
                    &mut self.words[m * gains::REC_WORDS..],
                    &mut self.zones,
                );
                m += 1;
            }
        }
        let dispatched = gains::finish_records(&mut self.words, m, &self.zones, &mut self.scratch, n as u32);
        self.reserve(n, self.words.len(), dispatched);
        self.result.resize(n * 2 * self.n_out, 0.0);
        if n == 0 {
            return Ok(&self.result);
        }
        let p = gains::GainsParams {
            n_records: dispatched as u32,
            stride: self.n_out as u32,
            lane_salt: 0,
            _pad: 0,
        };
        let q = &self.ctx.queue;
        q.write_buffer(&self.params, 0, bytemuck::bytes_of(&p));
        q.write_buffer(&self.recs, 0, bytemuck::cast_slice(&self.words));
        let bg = self.ctx.bind_group(
            "gains",
            &self.bgl,
            &[&self.params, &self.tab, &self.recs, &self.out, &self.scratch_buf],
        );
        let bytes = (n * 2 * self.n_out * 4) as u64;
        let mut enc = self.ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            pass.set_pipeline(&self.pipe);
            pass.set_bind_group(0, &bg, &[]);
            pass.dispatch_workgroups((dispatched as u32).div_ceil(gains::WORKGROUP), 1, 1);
        }
        enc.copy_buffer_to_buffer(&self.out, 0, &self.readback, 0, bytes);
        self.ctx.submit_wait(enc)?;
        self.ctx.read_back(&self.readback, bytes, &mut self.result)?;
        let no = self.n_out;
        let mut s = self.gc.scratch();
        for (i, (b, ctx)) in blocks.iter().enumerate() {
            if !gains::on_gpu(b, self.allocentric) {
                let (mut d, mut f) = (vec![0.0; no], vec![0.0; no]);
                self.gc.calc(b, ctx, &mut s, &mut d, &mut f);
                for k in 0..no {
                    self.result[i * 2 * no + k] = d[k] as f32;
                    self.result[i * 2 * no + no + k] = f[k] as f32;
                }
            }
        }
        Ok(&self.result)
    }

    pub fn num_outputs(&self) -> usize {
        self.n_out
    }
}

/// A GPU context for tests: `None` (after a loud SKIP line naming `test`)
/// when there is no adapter at all, unless `ADMIX_REQUIRE_GPU=1`, when that
/// panics.
pub fn test_context(test: &str) -> Option<Arc<GpuContext>> {
    match GpuContext::new(true) {
        Ok(Some(c)) => {
            eprintln!("{test}: adapter {}", c.describe());
            Some(c)
        }
        other => {
            let why = match other {
                Err(e) => e.to_string(),
                _ => GpuError::NoAdapter.to_string(),
            };
            if std::env::var("ADMIX_REQUIRE_GPU").is_ok_and(|v| v == "1") {
                panic!("{test}: ADMIX_REQUIRE_GPU=1 but {why}");
            }
            eprintln!("SKIP {test}: {why}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parse and validate a kernel (its WGSL files concatenated, as the
    /// kernel's `SOURCE` is) with wgpu's naga; an error names the file and
    /// line it is on, plus naga's own report.
    fn validate(parts: &[(&str, &str)]) -> Result<(), String> {
        use wgpu::naga;
        let src: String = parts.iter().map(|(_, t)| *t).collect();
        let place = |line: u32| -> String {
            let mut first = 1u32;
            for (path, text) in parts {
                let lines = text.lines().count() as u32;
                if line < first + lines {
                    return format!("shaders/{path}:{}", line - first + 1);
                }
                first += lines;
            }
            "shaders/?".to_string()
        };
        let module = naga::front::wgsl::parse_str(&src).map_err(|e| {
            let at = e.location(&src).map(|l| place(l.line_number)).unwrap_or_default();
            format!("{at}: {}\n{}", e.message(), e.emit_to_string(&src))
        })?;
        let mut v = naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::default(),
        );
        v.validate(&module).map_err(|e| {
            let at = e.location(&src).map(|l| place(l.line_number)).unwrap_or_default();
            format!("{at}: {e}\n{}", e.emit_to_string(&src))
        })?;
        Ok(())
    }

    #[test]
    fn every_wgsl_kernel_validates() {
        let kernels: [&[(&str, &str)]; 2] = [
            &[
                ("common_geom.wgsl", include_str!("../../../shaders/common_geom.wgsl")),
                ("common_tab.wgsl", include_str!("../../../shaders/common_tab.wgsl")),
                ("gains.wgsl", include_str!("../../../shaders/gains.wgsl")),
            ],
            &[("mix.wgsl", include_str!("../../../shaders/mix.wgsl"))],
        ];
        for parts in kernels {
            if let Err(e) = validate(parts) {
                panic!("{e}");
            }
        }
        for (parts, source) in kernels.iter().zip([gains::SOURCE, mix::SOURCE]) {
            assert_eq!(parts.iter().map(|(_, t)| *t).collect::<String>(), source);
        }
    }

    #[test]
    fn every_wgsl_file_is_used() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
        for e in std::fs::read_dir(&dir).unwrap() {
            let name = e.unwrap().file_name().into_string().unwrap();
            let text = std::fs::read_to_string(dir.join(&name)).unwrap();
            assert!(
                gains::SOURCE.contains(&text) || mix::SOURCE.contains(&text),
                "shaders/{name} is not part of any kernel"
            );
        }
    }

    #[test]
    fn backend_parses() {
        assert_eq!("GPU".parse::<Backend>(), Ok(Backend::Gpu));
        assert_eq!("auto".parse::<Backend>(), Ok(Backend::Auto));
        assert_eq!("cpu".parse::<Backend>().map(|b| b.to_string()), Ok("cpu".into()));
        assert!("cuda".parse::<Backend>().is_err());
    }
}
