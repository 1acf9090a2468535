// The mix of one chunk: every piece (a run of samples of one input track
// with gains interpolated between two slots of the gains buffer) added into
// a direct and a diffuse accumulator per speaker. One invocation = 4 samples
// (vec4) × 8 speakers (one named accumulator each); gid.y = speaker group.
// Mirror: renderer/engine/gpu/mix.rs.

struct MixParams { // MixParams in mix.rs
    n_pieces: u32,
    // floats per half slot of the gains buffer = speakers padded to 8
    stride: u32,
    // vec4s per track / per speaker row (CHUNK / 4)
    t4n: u32,
    pad: u32,
}

struct Piece { // Piece in mix.rs
    track: u32,
    start: u32,
    end: u32,
    // gains slots: ramp from slot0 to slot1 (equal for a hold)
    slot0: u32,
    slot1: u32,
    flags: u32,
    // ramp position at `start` and per sample
    p0: f32,
    dp: f32,
}

const PIECE_DIFFUSE: u32 = 1u;

@group(0) @binding(0) var<uniform> mp: MixParams;
@group(0) @binding(1) var<storage, read> pieces: array<Piece>;
@group(0) @binding(2) var<storage, read> gslots: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> acc: array<vec4<f32>>;

@compute @workgroup_size(64)
fn mix_main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let t4 = gid.x;
    let sg = gid.y;
    if (t4 >= mp.t4n) { return; }
    let t0 = t4 * 4u;
    let tv = vec4<f32>(f32(t0), f32(t0 + 1u), f32(t0 + 2u), f32(t0 + 3u));
    let half = mp.stride / 4u; // vec4s per half slot
    var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
    var a4 = vec4<f32>(0.0); var a5 = vec4<f32>(0.0); var a6 = vec4<f32>(0.0); var a7 = vec4<f32>(0.0);
    var f0 = vec4<f32>(0.0); var f1 = vec4<f32>(0.0); var f2 = vec4<f32>(0.0); var f3 = vec4<f32>(0.0);
    var f4 = vec4<f32>(0.0); var f5 = vec4<f32>(0.0); var f6 = vec4<f32>(0.0); var f7 = vec4<f32>(0.0);
    for (var p = 0u; p < mp.n_pieces; p++) {
        let pc = pieces[p];
        if (t0 + 4u <= pc.start || t0 >= pc.end) { continue; }
        let ts = f32(pc.start);
        let te = f32(pc.end);
        let inside = vec4<f32>(select(vec4<f32>(0.0), vec4<f32>(1.0), tv >= vec4<f32>(ts) & tv < vec4<f32>(te)));
        let xv = x[pc.track * mp.t4n + t4] * inside;
        let r = vec4<f32>(pc.p0) + vec4<f32>(pc.dp) * (tv - vec4<f32>(ts));
        let b0 = pc.slot0 * 2u * half + sg * 2u;
        let b1 = pc.slot1 * 2u * half + sg * 2u;
        let ga = gslots[b0];
        let gb = gslots[b0 + 1u];
        let da = gslots[b1] - ga;
        let db = gslots[b1 + 1u] - gb;
        a0 += (ga.x + da.x * r) * xv;
        a1 += (ga.y + da.y * r) * xv;
        a2 += (ga.z + da.z * r) * xv;
        a3 += (ga.w + da.w * r) * xv;
        a4 += (gb.x + db.x * r) * xv;
        a5 += (gb.y + db.y * r) * xv;
        a6 += (gb.z + db.z * r) * xv;
        a7 += (gb.w + db.w * r) * xv;
        if ((pc.flags & PIECE_DIFFUSE) != 0u) {
            let fa = gslots[b0 + half];
            let fb = gslots[b0 + half + 1u];
            let ea = gslots[b1 + half] - fa;
            let eb = gslots[b1 + half + 1u] - fb;
            f0 += (fa.x + ea.x * r) * xv;
            f1 += (fa.y + ea.y * r) * xv;
            f2 += (fa.z + ea.z * r) * xv;
            f3 += (fa.w + ea.w * r) * xv;
            f4 += (fb.x + eb.x * r) * xv;
            f5 += (fb.y + eb.y * r) * xv;
            f6 += (fb.z + eb.z * r) * xv;
            f7 += (fb.w + eb.w * r) * xv;
        }
    }
    let row = mp.t4n;
    let s0 = sg * 8u;
    acc[(s0 + 0u) * row + t4] = a0;
    acc[(s0 + 1u) * row + t4] = a1;
    acc[(s0 + 2u) * row + t4] = a2;
    acc[(s0 + 3u) * row + t4] = a3;
    acc[(s0 + 4u) * row + t4] = a4;
    acc[(s0 + 5u) * row + t4] = a5;
    acc[(s0 + 6u) * row + t4] = a6;
    acc[(s0 + 7u) * row + t4] = a7;
    let fo = mp.stride * row;
    acc[fo + (s0 + 0u) * row + t4] = f0;
    acc[fo + (s0 + 1u) * row + t4] = f1;
    acc[fo + (s0 + 2u) * row + t4] = f2;
    acc[fo + (s0 + 3u) * row + t4] = f3;
    acc[fo + (s0 + 4u) * row + t4] = f4;
    acc[fo + (s0 + 5u) * row + t4] = f5;
    acc[fo + (s0 + 6u) * row + t4] = f6;
    acc[fo + (s0 + 7u) * row + t4] = f7;
}
