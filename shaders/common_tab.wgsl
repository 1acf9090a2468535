// The flat per-layout table (renderer/panning/flat.rs writes it; the H_*
// constants there and here must match) and the excluded-speaker mask.

const MAXN: u32 = 64u;

const H_N: u32 = 0u;
const H_NOUT: u32 = 1u;
const H_PSP_KIND: u32 = 2u;
const H_STEREO_L: u32 = 3u;
const H_STEREO_R: u32 = 4u;
const H_REGIONS_OFF: u32 = 5u;
const H_NREGIONS: u32 = 6u;
const H_GRID_N: u32 = 7u;
const H_GRID_PTS_OFF: u32 = 8u;
const H_GRID_GAINS_OFF: u32 = 9u;
const H_ALLO: u32 = 10u;
const H_ALLO_POS_OFF: u32 = 11u;
const H_ALLO_PRIO_OFF: u32 = 12u;
const H_EGO_POS_OFF: u32 = 13u;
const H_EGO_PRIO_OFF: u32 = 14u;
const H_ZONE_POS_OFF: u32 = 15u;
const H_ZONE_AZ_OFF: u32 = 16u;
const H_ZONE_EL_OFF: u32 = 17u;
const H_ZONE_GROUPS_OFF: u32 = 18u;
const H_OUT_INDEX_OFF: u32 = 19u;
const H_HAS_U045: u32 = 20u;
const H_REP_OK: u32 = 21u;
const H_REP_EDGES: u32 = 22u;
const H_LIN40_OFF: u32 = 26u;
const H_LIN20_OFF: u32 = 27u;

const REGION_TRIPLET: u32 = 0u;
const REGION_QUAD: u32 = 1u;
const REGION_NGON: u32 = 2u;
const PSP_FULL: u32 = 0u;
const PSP_STEREO: u32 = 1u;
const PSP_MONO: u32 = 2u;

@group(0) @binding(1) var<storage, read> tab: array<u32>;

// Zero at run time (the kernel sets it to invocation id × a uniform 0), so
// no table address is provably uniform. Mesa lavapipe 22.3 (LLVM 15) loads a
// storage-buffer word whose address it proves uniform once for the whole
// SIMD group, and inside divergent control flow that load returned 0 to the
// lanes still running (loops over speakers ran once, regions read as empty).
var<private> salt: u32;

fn tu(i: u32) -> u32 { return tab[i + salt]; }
fn tf(i: u32) -> f32 { return bitcast<f32>(tab[i + salt]); }
fn tv3(i: u32) -> vec3<f32> { return vec3<f32>(tf(i), tf(i + 1u), tf(i + 2u)); }
fn tab_n() -> u32 { return tu(H_N); }

fn is_ex(m: vec2<u32>, i: u32) -> bool { return ((m[i / 32u] >> (i % 32u)) & 1u) != 0u; }
fn with_ex(m: vec2<u32>, i: u32) -> vec2<u32> {
    var r = m;
    r[i / 32u] |= 1u << (i % 32u);
    return r;
}
