//! Polar extent (width, height, depth), BS.2127 §7.3.8 (ear
//! `objectbased/extent.py`): a weighting function over a fixed grid of
//! virtual sources spread evenly on the sphere (37 rows, 5° apart), each
//! panned once at set-up with the point-source panner; a block's gains are the
//! normalised weighted sum of those, blended with the point-source gains for
//! extents under 10°.

use super::geom::{V3, azimuth, cart, dot, elevation, interp, local_coordinate_system, norm, safe_norm_position};
use super::point_source::PointSourcePanner;

const FADE_WIDTH_DEG: f64 = 10.0;
const N_ROWS: usize = 37;

/// The virtual-source grid and its point-source gains, with two ways for a
/// block's weighted sum to visit only the grid points that matter (see
/// [`SpreadingPanner::weighted_sum`]): the rows of the grid a cap around the
/// source crosses (every extent on AVX2 CPUs, the smaller ones otherwise),
/// and a hierarchy of spherical caps whose wholly-inside groups add
/// precomputed sums (large extents without AVX2).
#[derive(Clone, Debug)]
pub struct SpreadingPanner {
    /// Grid directions (unit vectors), reordered so that every tree node
    /// covers a contiguous range.
    pub points: Vec<V3>,
    /// Gains of each grid point, `points.len() × num_channels`, row-major.
    pub gains: Vec<f64>,
    pub num_channels: usize,
    nodes: Vec<Node>,
    /// Σ gains of each node's points, `nodes.len() × num_channels`.
    node_sums: Vec<f64>,
    roots: Vec<u32>,
    /// The grid again in ear's order, by rows of equal elevation, for the
    /// row walk of [`SpreadingPanner::weighted_sum_rows`]. In the row arrays
    /// below (`xs` … `row_prefix`) each row is stored twice over, so that
    /// a run of points across azimuth 0 (where a row starts: straight ahead,
    /// where sources are most often) is one run, not two: a cap there cost
    /// 17 % more a block, in more and shorter groups of eight.
    rows: Vec<GridRow>,
    /// The rows' values again as f64 arrays, for [`candidate_runs_avx2`].
    row_table: Box<RowTable>,
    /// Positions in ear's order, one array per coordinate (4 zeros after the last).
    xs: Vec<f64>,
    ys: Vec<f64>,
    zs: Vec<f64>,
    /// Per point in ear's order, its position and gains side by side:
    /// (x, y, z, 0) and its gains, `row_stride` of them (`num_channels`
    /// rounded up to a multiple of 4, zero-padded); `4 + row_stride` values
    /// a point. One address a point, so the AVX2 walk's list holds offsets
    /// into this array, and the gains are on the lines next to the position
    /// its weight loads.
    records: Aligned,
    xs32: Vec<f32>,
    ys32: Vec<f32>,
    zs32: Vec<f32>,
    row_stride: usize,
    /// Per row, running sums of the records' gains (`row_stride` wide): entry
    /// `prefix + k` of row r is Σ of its first k points (k = 0..=2n).
    row_prefix: Aligned,
    /// Σ of every grid point's gains.
    grid_sum: Vec<f64>,
    row_kernel: RowKernel,
}

/// f64 values in 32-byte aligned groups of four (a length rounded up to
/// four). The gain rows and running sums are `row_stride` (a multiple of
/// four) wide, so the AVX2 walk's loads of them never straddle a cache line:
/// a `Vec<f64>` is only 16-byte aligned, and half of its 32-byte loads were
/// split across two lines.
#[derive(Clone, Debug)]
struct Aligned(Vec<Quad>);

#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C, align(32))]
struct Quad([f64; 4]);

impl Aligned {
    fn zeros(n: usize) -> Self {
        Aligned(vec![Quad::default(); n.div_ceil(4)])
    }
}

impl std::ops::Deref for Aligned {
    type Target = [f64];
    fn deref(&self) -> &[f64] {
        bytemuck::cast_slice(&self.0)
    }
}

impl std::ops::DerefMut for Aligned {
    fn deref_mut(&mut self) -> &mut [f64] {
        bytemuck::cast_slice_mut(&mut self.0)
    }
}

/// One row of the grid: points `start .. start + n` of the row arrays at
/// one elevation, azimuths `k · step` degrees, followed by the same n points
/// again (see [`SpreadingPanner::rows`]).
#[derive(Clone, Debug)]
struct GridRow {
    start: usize,
    n: usize,
    /// index of the row's first entry in `row_prefix` (2n + 1 per row)
    prefix: usize,
    sin_el: f64,
    cos_el: f64,
    /// points per degree of azimuth
    inv_step: f64,
}

/// Length of [`RowTable`]'s arrays: the rows, and room for a group of four
/// starting at the last.
const ROW_PAD: usize = N_ROWS + 3;

/// Per grid row (zeros past the last): sin and cos of its elevation, points
/// per degree, number of points, first point and first entry in the running
/// sums.
#[derive(Clone, Debug)]
struct RowTable {
    sin_el: [f64; ROW_PAD],
    cos_el: [f64; ROW_PAD],
    inv_step: [f64; ROW_PAD],
    n: [f64; ROW_PAD],
    start: [f64; ROW_PAD],
    prefix: [f64; ROW_PAD],
}

impl RowTable {
    fn new(rows: &[GridRow]) -> Self {
        let col = |f: &dyn Fn(&GridRow) -> f64| {
            let mut a = [0.0; ROW_PAD];
            for (a, row) in a.iter_mut().zip(rows) {
                *a = f(row);
            }
            a
        };
        RowTable {
            sin_el: col(&|r| r.sin_el),
            cos_el: col(&|r| r.cos_el),
            inv_step: col(&|r| r.inv_step),
            n: col(&|r| r.n as f64),
            start: col(&|r| r.start as f64),
            prefix: col(&|r| r.prefix as f64),
        }
    }
}

/// Most grid points the plain row walk visits before the cap tree is used
/// instead (large extents: the tree adds whole caps inside the shape at
/// once). The AVX2 walk is faster than the tree for every extent it is
/// given (150°×80°: 3.0 µs a block against 13.8; 360°×30°: 4.7 against
/// 18.7; the shapes that enclose everything take the grid's sum), so it
/// visits any number.
const PLAIN_ROW_WALK_MAX_POINTS: usize = 640;

/// More points than the grid has (37 rows of at most 72).
const GRID_POINTS_BOUND: usize = N_ROWS * MAX_ROW;

/// A cap of grid points: every point is within `radius` (radians) of `centre`.
#[derive(Clone, Debug)]
struct Node {
    centre: V3,
    radius: f64,
    cos_radius: f64,
    sin_radius: f64,
    start: u32,
    end: u32,
    children: Vec<u32>,
}

/// Levels of 4-way subdivision below the 8 octahedron faces (512 leaves of
/// about 3 points each).
const TREE_LEVELS: usize = 3;

fn inside_spherical_triangle(a: V3, b: V3, c: V3, q: V3) -> bool {
    use super::geom::cross;
    dot(cross(b, a), q) >= -1e-9 && dot(cross(c, b), q) >= -1e-9 && dot(cross(a, c), q) >= -1e-9
}

fn normalised(v: V3) -> V3 {
    let n = norm(v);
    [v[0] / n, v[1] / n, v[2] / n]
}

fn midpoint(a: V3, b: V3) -> V3 {
    normalised([a[0] + b[0], a[1] + b[1], a[2] + b[2]])
}

/// ear `generate_panning_positions_even(37)`: rows at linspace(−90, 90, 37),
/// `round(cos(el) · 72)` points per row (at least 1), azimuths from 0.
pub fn grid_points() -> Vec<V3> {
    let mut pts = Vec::new();
    for r in 0..N_ROWS {
        let (el, n) = (row_elevation(r), row_len(r));
        let step = 360.0 / n as f64;
        for k in 0..n {
            pts.push(cart(k as f64 * step, el, 1.0));
        }
    }
    pts
}

/// Elevation (degrees) of grid row `r`.
fn row_elevation(r: usize) -> f64 {
    -90.0 + 180.0 * r as f64 / (N_ROWS - 1) as f64
}

/// Points in grid row `r`: `round(cos(el) · 72)`, at least 1.
fn row_len(r: usize) -> usize {
    let radius = row_elevation(r).to_radians().cos();
    ((radius * 2.0 * (N_ROWS - 1) as f64).round_ties_even() as usize).max(1)
}

/// acos(t) for t ∈ [−1, 1] within 7e-5 rad (Abramowitz & Stegun 4.4.45):
/// only used to bound which grid points can be near a shape.
fn acos_approx(t: f64) -> f64 {
    let x = t.abs().min(1.0);
    let r = (1.0 - x).sqrt() * (1.570_728_8 + x * (-0.212_114_4 + x * (0.074_261_0 - x * 0.018_729_3)));
    if t >= 0.0 { r } else { std::f64::consts::PI - r }
}

/// asin(y) for |y| ≤ 0.2 to within an ulp or two: the Maclaurin series to
/// y^19 (the next term is below 2e-17 · y there; |y| ≤ sin 10° in use).
#[inline]
fn asin_small(y: f64) -> f64 {
    const C: [f64; 10] = ASIN_SERIES;
    // Estrin's scheme in z = y²: a short dependency chain
    let z = y * y;
    let z2 = z * z;
    let z4 = z2 * z2;
    let z8 = z4 * z4;
    let p01 = C[0] + C[1] * z;
    let p23 = C[2] + C[3] * z;
    let p45 = C[4] + C[5] * z;
    let p67 = C[6] + C[7] * z;
    let p89 = C[8] + C[9] * z;
    let acc = (p01 + z2 * p23) + z4 * (p45 + z2 * p67) + z8 * p89;
    y * acc
}

/// Maclaurin coefficients of asin(y)/y in y².
const ASIN_SERIES: [f64; 10] = [
    1.0,
    1.0 / 6.0,
    3.0 / 40.0,
    5.0 / 112.0,
    35.0 / 1152.0,
    63.0 / 2816.0,
    231.0 / 13312.0,
    143.0 / 10240.0,
    6435.0 / 557_056.0,
    12155.0 / 1_245_184.0,
];

impl SpreadingPanner {
    pub fn new(psp: &PointSourcePanner) -> Self {
        let input = grid_points();
        let nc = psp.num_channels();
        let mut input_gains = vec![0.0; input.len() * nc];
        for (i, p) in input.iter().enumerate() {
            psp.handle(*p, &mut input_gains[i * nc..(i + 1) * nc]);
        }
        // Hierarchical triangular mesh over the sphere; each grid point goes
        // to the first leaf triangle containing it, points are laid out
        // depth-first so every node owns a contiguous range.
        let mut rows = Vec::with_capacity(N_ROWS);
        let mut start = 0;
        for r in 0..N_ROWS {
            let n = row_len(r);
            let el = row_elevation(r).to_radians();
            rows.push(GridRow {
                start: 2 * start,
                n,
                prefix: 2 * start + r,
                sin_el: el.sin(),
                cos_el: el.cos(),
                inv_step: n as f64 / 360.0,
            });
            start += n;
        }
        // the row arrays' points: each row twice over
        let slots: Vec<usize> = rows
            .iter()
            .flat_map(|row| {
                let first = row.start / 2;
                (0..2 * row.n).map(move |k| first + k % row.n)
            })
            .collect();
        let mut sp = SpreadingPanner {
            points: Vec::with_capacity(input.len()),
            gains: Vec::with_capacity(input_gains.len()),
            num_channels: nc,
            nodes: Vec::new(),
            node_sums: Vec::new(),
            roots: Vec::new(),
            row_table: Box::new(RowTable::new(&rows)),
            rows,
            // padded by 4 for the row walk's groups of four
            xs: slots.iter().map(|&i| input[i][0]).chain([0.0; 4]).collect(),
            ys: slots.iter().map(|&i| input[i][1]).chain([0.0; 4]).collect(),
            zs: slots.iter().map(|&i| input[i][2]).chain([0.0; 4]).collect(),
            records: {
                let rs = 4 + nc.div_ceil(4) * 4;
                let mut r = Aligned::zeros(slots.len() * rs);
                for (dst, &i) in r.chunks_exact_mut(rs).zip(&slots) {
                    dst[..3].copy_from_slice(&input[i]);
                    dst[4..4 + nc].copy_from_slice(&input_gains[i * nc..(i + 1) * nc]);
                }
                r
            },
            // the same in f32, padded by 8 (the AVX2 walk's sort)
            xs32: slots.iter().map(|&i| input[i][0] as f32).chain([0.0; 8]).collect(),
            ys32: slots.iter().map(|&i| input[i][1] as f32).chain([0.0; 8]).collect(),
            zs32: slots.iter().map(|&i| input[i][2] as f32).chain([0.0; 8]).collect(),
            row_stride: nc.div_ceil(4) * 4,
            row_prefix: Aligned::zeros(0),
            grid_sum: (0..nc)
                .map(|c| input_gains.iter().skip(c).step_by(nc.max(1)).sum())
                .collect(),
            row_kernel: row_kernel(),
        };
        let stride = sp.row_stride;
        let mut prefix = Aligned::zeros((slots.len() + N_ROWS) * stride);
        for row in &sp.rows {
            for k in 0..2 * row.n {
                let (done, next) = prefix.split_at_mut((row.prefix + k + 1) * stride);
                let (sum, g) = (
                    &done[(row.prefix + k) * stride..],
                    &sp.records[(row.start + k) * (4 + stride) + 4..],
                );
                for c in 0..stride {
                    next[c] = sum[c] + g[c];
                }
            }
        }
        sp.row_prefix = prefix;
        let mut assigned = vec![false; input.len()];
        let (x, y, z) = ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]);
        let (nx, ny, nz) = ([-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]);
        let faces = [
            [x, y, z],
            [y, nx, z],
            [nx, ny, z],
            [ny, x, z],
            [y, x, nz],
            [nx, y, nz],
            [ny, nx, nz],
            [x, ny, nz],
        ];
        for f in faces {
            if let Some(id) = sp.build(&input, &input_gains, &mut assigned, f, TREE_LEVELS) {
                sp.roots.push(id);
            }
        }
        // Points no triangle claimed (only possible through rounding) go in a final leaf.
        let rest: Vec<usize> = (0..input.len()).filter(|&i| !assigned[i]).collect();
        if !rest.is_empty() {
            let start = sp.points.len() as u32;
            for i in rest {
                sp.points.push(input[i]);
                sp.gains.extend_from_slice(&input_gains[i * nc..(i + 1) * nc]);
            }
            let id = sp.push_node(start, sp.points.len() as u32, Vec::new());
            sp.roots.push(id);
        }
        sp
    }

    /// Adds the subtree of triangle `t`; returns its node id (None if it holds no points).
    fn build(
        &mut self,
        input: &[V3],
        input_gains: &[f64],
        assigned: &mut [bool],
        t: [V3; 3],
        levels: usize,
    ) -> Option<u32> {
        let nc = self.num_channels;
        let start = self.points.len() as u32;
        let mut children = Vec::new();
        if levels == 0 {
            for (i, p) in input.iter().enumerate() {
                if !assigned[i] && inside_spherical_triangle(t[0], t[1], t[2], *p) {
                    assigned[i] = true;
                    self.points.push(*p);
                    self.gains.extend_from_slice(&input_gains[i * nc..(i + 1) * nc]);
                }
            }
        } else {
            let (a, b, c) = (t[0], t[1], t[2]);
            let (ab, bc, ca) = (midpoint(a, b), midpoint(b, c), midpoint(c, a));
            for sub in [[a, ab, ca], [ab, b, bc], [ca, bc, c], [ab, bc, ca]] {
                if let Some(id) = self.build(input, input_gains, assigned, sub, levels - 1) {
                    children.push(id);
                }
            }
        }
        let end = self.points.len() as u32;
        (end > start).then(|| self.push_node(start, end, children))
    }

    fn push_node(&mut self, start: u32, end: u32, children: Vec<u32>) -> u32 {
        let nc = self.num_channels;
        let pts = &self.points[start as usize..end as usize];
        let mut c = [0.0; 3];
        for p in pts {
            c = [c[0] + p[0], c[1] + p[1], c[2] + p[2]];
        }
        let centre = if norm(c) > 1e-9 { normalised(c) } else { pts[0] };
        let radius = pts
            .iter()
            .map(|p| dot(*p, centre).clamp(-1.0, 1.0).acos())
            .fold(0.0, f64::max);
        let mut sum = vec![0.0; nc];
        for i in start as usize..end as usize {
            for ch in 0..nc {
                sum[ch] += self.gains[i * nc + ch];
            }
        }
        self.node_sums.extend_from_slice(&sum);
        self.nodes.push(Node {
            centre,
            radius,
            cos_radius: radius.cos(),
            sin_radius: radius.sin(),
            start,
            end,
            children,
        });
        (self.nodes.len() - 1) as u32
    }

    /// Σ weight(p) · gains(p) over the grid, into `total` (len num_channels):
    /// the grid's sum when the shape encloses everything (R ≥ 180°), else
    /// the row walk, else the cap tree.
    ///
    /// The tree: the weight is a clamped linear function of `WeightFunc::distance`,
    /// which is 1-Lipschitz in angle on the sphere; so a cap whose centre is
    /// further inside the shape than its radius has weight 1 everywhere (its
    /// precomputed sum is added), and one further outside than radius + fade
    /// has weight 0 (skipped). Only caps straddling the fade band are
    /// opened. Result equals the brute-force sum up to summation order.
    /// `total` has `row_stride` entries or more; the first `num_channels` are the sum.
    fn weighted_sum(&self, wf: &WeightFunc, total: &mut [f64]) {
        if wf.circle_radius >= std::f64::consts::PI {
            // every point is within R of the shape (weight 1): the grid's sum
            total[..self.num_channels].copy_from_slice(&self.grid_sum);
        } else if !self.weighted_sum_rows(wf, total) {
            self.weighted_sum_tree(wf, &mut total[..self.num_channels]);
        }
    }

    /// [`Self::weighted_sum`] by rows: every point of non-zero weight lies
    /// within circle_pos + radius + fade of the source (on the flat part the
    /// angle is at most the sum of the azimuth and elevation in the shape's
    /// basis; on the circle part a circle centre is circle_pos away and the
    /// point radius + fade from it), and that cap meets each row of the grid
    /// in one interval of azimuth. Only those points are weighed, row run by
    /// row run, four at a time and without branches
    /// ([`WeightFunc::weight_fast`]; on AVX2 CPUs see [`rows_avx2`]).
    /// Returns false, having done nothing, when the cap is too large for
    /// this to pay (the tree is used then; never on AVX2 CPUs).
    fn weighted_sum_rows(&self, wf: &WeightFunc, total: &mut [f64]) -> bool {
        (self.row_kernel)(self, wf, total)
    }

    /// [`Self::weighted_sum`] over the cap tree.
    fn weighted_sum_tree(&self, wf: &WeightFunc, total: &mut [f64]) {
        const MARGIN: f64 = 1e-9;
        let nc = self.num_channels;
        total.fill(0.0);
        let mut stack: Vec<u32> = Vec::with_capacity(64);
        stack.extend(self.roots.iter().rev());
        while let Some(id) = stack.pop() {
            let node = &self.nodes[id as usize];
            match wf.side(node.centre, node.radius, node.cos_radius, node.sin_radius, MARGIN) {
                Side::Inside => {
                    let s = &self.node_sums[id as usize * nc..(id as usize + 1) * nc];
                    for c in 0..nc {
                        total[c] += s[c];
                    }
                }
                Side::Outside => {}
                Side::Straddles if !node.children.is_empty() => stack.extend(node.children.iter().rev()),
                Side::Straddles => {
                    for i in node.start as usize..node.end as usize {
                        let p = self.points[i];
                        let w = match wf.side(p, 0.0, 1.0, 0.0, MARGIN) {
                            Side::Inside => 1.0,
                            Side::Outside => continue,
                            Side::Straddles => wf.weight(p),
                        };
                        if w != 0.0 {
                            let row = &self.gains[i * nc..(i + 1) * nc];
                            for c in 0..nc {
                                total[c] += w * row[c];
                            }
                        }
                    }
                }
            }
        }
    }

    /// The brute-force sum over every grid point (ear's loop); the mirror the
    /// tree walk is tested against.
    #[cfg(test)]
    fn weighted_sum_brute(&self, wf: &WeightFunc, total: &mut [f64]) {
        let nc = self.num_channels;
        total.fill(0.0);
        for (i, p) in self.points.iter().enumerate() {
            let w = wf.weight(*p);
            if w != 0.0 {
                for c in 0..nc {
                    total[c] += w * self.gains[i * nc + c];
                }
            }
        }
    }
}

/// A run of grid points in one row: (first point, length, the first point's
/// entry in `row_prefix`), the point an index into the row arrays, where
/// each row is stored twice over (a run across azimuth 0 goes on into the
/// row's second copy).
/// (Narrow, so that the per-block array of runs is small to set up.)
type Run = (u16, u16, u16);

/// A run's first point, length and first entry in the running sums.
#[inline(always)]
fn run_parts(r: Run) -> (usize, usize, usize) {
    (usize::from(r.0), usize::from(r.1), usize::from(r.2))
}

/// The cap around the source that holds every point of non-zero weight,
/// as [`candidate_runs`] and [`candidate_runs_avx2`] meet it row by row.
struct CapRows {
    /// cos of the cap's radius (circle_pos + R + fade, and 1e-3 for rounding)
    cos_cap: f64,
    /// sin and cos of the source's elevation
    se: f64,
    ce: f64,
    /// the source's azimuth (degrees), −atan2(p0, p1), within 7e-5 rad
    azc: f64,
    /// the rows within the cap's elevations (the others miss it)
    lo: usize,
    hi: usize,
}

/// Covers acos_approx's error twice (half-width and centre), degrees.
const RUN_MARGIN_DEG: f64 = 2e-4 * (180.0 / std::f64::consts::PI);

impl CapRows {
    /// None when the cap is the whole sphere.
    #[inline(always)]
    fn new(wf: &WeightFunc) -> Option<Self> {
        use std::f64::consts::{FRAC_PI_2, PI};
        // the radius's margin covers rounding, generously
        let cap = wf.circle_pos + wf.circle_radius + FADE_WIDTH_DEG.to_radians() + 1e-3;
        if cap >= PI {
            return None;
        }
        // cos(circle_pos + (R + fade) + 1e-3) by angle addition
        let (s1, c1) = (
            wf.sin_cp * wf.cos_r_out + wf.cos_cp * wf.sin_r_out,
            wf.cos_cp * wf.cos_r_out - wf.sin_cp * wf.sin_r_out,
        );
        let cos_cap = c1 * 0.999_999_500_000_041_7 - s1 * 9.999_998_333_333_417e-4;
        let [se, ce, sa, ca] = wf.source;
        let azc = if ce > 0.0 {
            let a = acos_approx(ca).to_degrees();
            if sa > 0.0 { -a } else { a }
        } else {
            0.0
        };
        // |el_r − el_s| ≤ cap, with the source's elevation within 7e-5 rad
        let el_s = FRAC_PI_2 - acos_approx(se);
        let step = PI / (N_ROWS - 1) as f64;
        let lo = ((el_s - cap + FRAC_PI_2 - 2e-4) / step).ceil().max(0.0) as usize;
        let hi = (((el_s + cap + FRAC_PI_2 + 2e-4) / step).floor().max(0.0) as usize).min(N_ROWS - 1);
        Some(CapRows {
            cos_cap,
            se,
            ce,
            azc,
            lo,
            hi,
        })
    }
}

/// The runs of grid points the row walk of
/// [`SpreadingPanner::weighted_sum_rows`] weighs: each row's interval of
/// azimuth within the cap around the source (every row when the cap is the
/// sphere). Returns the number of runs, or None when they hold more than
/// `max_points` points.
#[inline(always)]
fn candidate_runs(sp: &SpreadingPanner, wf: &WeightFunc, runs: &mut [Run; N_ROWS], max_points: usize) -> Option<usize> {
    let Some(cap) = CapRows::new(wf) else {
        return whole_grid_runs(sp, runs, max_points);
    };
    let (mut n_runs, mut count) = (0, 0);
    for row in sp.rows.iter().take(cap.hi + 1).skip(cap.lo) {
        let num = cap.cos_cap - cap.se * row.sin_el;
        let den = cap.ce * row.cos_el;
        let whole = if den <= 1e-12 {
            if num > 1e-12 {
                continue;
            }
            true
        } else {
            // t = num / den: the row is missed when t ≥ 1, whole when t ≤ −1
            if num >= den {
                continue;
            }
            num <= -den || {
                let half = acos_approx(num / den).to_degrees() + RUN_MARGIN_DEG;
                let k0 = ((cap.azc - half) * row.inv_step).ceil() as i64;
                let k1 = ((cap.azc + half) * row.inv_step).floor() as i64;
                if k1 < k0 {
                    continue;
                }
                let len = (k1 - k0 + 1) as usize;
                if len >= row.n {
                    true
                } else {
                    // k0 mod n; k0 ≥ −n here, so no division as a rule
                    let n = row.n as i64;
                    let a = if (0..n).contains(&k0) {
                        k0
                    } else if (-n..0).contains(&k0) {
                        k0 + n
                    } else {
                        k0.rem_euclid(n)
                    } as usize;
                    // (past the row's end, its second copy)
                    runs[n_runs] = ((row.start + a) as u16, len as u16, (row.prefix + a) as u16);
                    n_runs += 1;
                    count += len;
                    false
                }
            }
        };
        if whole {
            runs[n_runs] = (row.start as u16, row.n as u16, row.prefix as u16);
            n_runs += 1;
            count += row.n;
        }
    }
    (count <= max_points).then_some(n_runs)
}

/// Every row as a run (the cap is the sphere).
fn whole_grid_runs(sp: &SpreadingPanner, runs: &mut [Run; N_ROWS], max_points: usize) -> Option<usize> {
    if sp.points.len() > max_points {
        return None;
    }
    for (run, row) in runs.iter_mut().zip(&sp.rows) {
        *run = (row.start as u16, row.n as u16, row.prefix as u16);
    }
    Some(sp.rows.len())
}

/// [`candidate_runs`] four rows at a time, without branches per row: the
/// same operations in the same order, so the same runs.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn candidate_runs_avx2(sp: &SpreadingPanner, wf: &WeightFunc, runs: &mut [Run; N_ROWS]) -> usize {
    use std::arch::x86_64::*;
    let Some(cap) = CapRows::new(wf) else {
        return whole_grid_runs(sp, runs, usize::MAX).unwrap_or(0);
    };
    let (lo, hi) = (cap.lo, cap.hi);
    let set = _mm256_set1_pd;
    let (cos_cap_v, se_v, ce_v, azc_v) = (set(cap.cos_cap), set(cap.se), set(cap.ce), set(cap.azc));
    let (tiny, one, zero) = (set(1e-12), set(1.0), _mm256_setzero_pd());
    let sign = set(-0.0);
    // per row: the run's first point, its entry in the running sums, and its
    // length (past the row's end, the run goes on in its second copy)
    let mut first_at = [0i32; ROW_PAD];
    let mut first_pre = [0i32; ROW_PAD];
    let mut first_len = [0i32; ROW_PAD];
    let t = &sp.row_table;
    let mut r = lo;
    while r <= hi {
        // SAFETY: r + 4 ≤ N_ROWS + 3 ≤ ROW_PAD entries in each table.
        let ld = |a: &[f64; ROW_PAD]| unsafe { _mm256_loadu_pd(a.as_ptr().add(r)) };
        let (sin_el, cos_el, inv_step) = (ld(&t.sin_el), ld(&t.cos_el), ld(&t.inv_step));
        let (n, start, prefix) = (ld(&t.n), ld(&t.start), ld(&t.prefix));
        let num = _mm256_sub_pd(cos_cap_v, _mm256_mul_pd(se_v, sin_el));
        let den = _mm256_mul_pd(ce_v, cos_el);
        let den_small = _mm256_cmp_pd::<_CMP_LE_OQ>(den, tiny);
        let missed = _mm256_blendv_pd(
            _mm256_cmp_pd::<_CMP_GE_OQ>(num, den),
            _mm256_cmp_pd::<_CMP_GT_OQ>(num, tiny),
            den_small,
        );
        let whole = _mm256_or_pd(den_small, _mm256_cmp_pd::<_CMP_LE_OQ>(num, _mm256_xor_pd(den, sign)));
        // acos_approx(num / den), to degrees, as the scalar code computes it
        let q = _mm256_div_pd(num, den);
        let x = _mm256_min_pd(_mm256_andnot_pd(sign, q), one);
        let poly = _mm256_add_pd(
            set(1.570_728_8),
            _mm256_mul_pd(
                x,
                _mm256_add_pd(
                    set(-0.212_114_4),
                    _mm256_mul_pd(x, _mm256_sub_pd(set(0.074_261_0), _mm256_mul_pd(x, set(0.018_729_3)))),
                ),
            ),
        );
        let ra = _mm256_mul_pd(_mm256_sqrt_pd(_mm256_sub_pd(one, x)), poly);
        let ac = _mm256_blendv_pd(
            _mm256_sub_pd(set(std::f64::consts::PI), ra),
            ra,
            _mm256_cmp_pd::<_CMP_GE_OQ>(q, zero),
        );
        let half = _mm256_add_pd(
            _mm256_mul_pd(ac, set(180.0f64 / std::f64::consts::PI)),
            set(RUN_MARGIN_DEG),
        );
        let k0 = _mm256_round_pd::<{ _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC }>(_mm256_mul_pd(
            _mm256_sub_pd(azc_v, half),
            inv_step,
        ));
        let k1 = _mm256_round_pd::<{ _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC }>(_mm256_mul_pd(
            _mm256_add_pd(azc_v, half),
            inv_step,
        ));
        let len = _mm256_add_pd(_mm256_sub_pd(k1, k0), one);
        let missed = _mm256_or_pd(missed, _mm256_andnot_pd(whole, _mm256_cmp_pd::<_CMP_LT_OQ>(k1, k0)));
        let whole = _mm256_or_pd(whole, _mm256_cmp_pd::<_CMP_GE_OQ>(len, n));
        // k0 mod n: k0 + n where k0 < 0, as k0 ∈ [−n, n) (azc − half lies
        // in [−360 − the margin, 180); on the poles' one-point rows, where
        // k0 may be 1, a run is the whole row or nothing)
        let a = _mm256_add_pd(k0, _mm256_and_pd(n, _mm256_cmp_pd::<_CMP_LT_OQ>(k0, zero)));
        let a = _mm256_andnot_pd(whole, a);
        let len = _mm256_andnot_pd(missed, _mm256_blendv_pd(len, n, whole));
        // SAFETY: r + 4 ≤ ROW_PAD.
        unsafe {
            _mm_storeu_si128(
                first_at.as_mut_ptr().add(r).cast(),
                _mm256_cvtpd_epi32(_mm256_add_pd(start, a)),
            );
            _mm_storeu_si128(
                first_pre.as_mut_ptr().add(r).cast(),
                _mm256_cvtpd_epi32(_mm256_add_pd(prefix, a)),
            );
            _mm_storeu_si128(first_len.as_mut_ptr().add(r).cast(), _mm256_cvtpd_epi32(len));
        }
        r += 4;
    }
    let mut n_runs = 0;
    for r in lo..=hi {
        let (at, pre, len) = (first_at[r], first_pre[r], first_len[r]);
        runs[n_runs] = (at as u16, len as u16, pre as u16);
        n_runs += usize::from(len > 0);
    }
    n_runs
}

/// Adds one run's weighted gains to `total` (`stride` wide), skipping the
/// zero weights at its ends. `records` are the run's points' (position,
/// then `stride` gains).
#[inline(always)]
fn accumulate_run(w: &[f64], records: &[f64], stride: usize, total: &mut [f64]) {
    let Some(a) = w.iter().position(|&v| v != 0.0) else {
        return;
    };
    let b = w.iter().rposition(|&v| v != 0.0).unwrap_or(a) + 1;
    let rs = 4 + stride;
    let (w, records) = (&w[a..b], &records[a * rs..b * rs]);
    match stride {
        4 => accumulate::<4>(w, records, total),
        8 => accumulate::<8>(w, records, total),
        12 => accumulate::<12>(w, records, total),
        16 => accumulate::<16>(w, records, total),
        20 => accumulate::<20>(w, records, total),
        24 => accumulate::<24>(w, records, total),
        28 => accumulate::<28>(w, records, total),
        32 => accumulate::<32>(w, records, total),
        _ => {
            for (&w, r) in w.iter().zip(records.chunks_exact(rs)) {
                for (t, g) in total.iter_mut().zip(&r[4..]) {
                    *t += w * g;
                }
            }
        }
    }
}

/// The row walk of [`SpreadingPanner::weighted_sum_rows`] without SIMD
/// intrinsics (the loops vectorise where the target allows). `total` has
/// `row_stride` entries or more.
#[inline(always)]
fn rows_generic(sp: &SpreadingPanner, wf: &WeightFunc, total: &mut [f64]) -> bool {
    let mut runs = [(0u16, 0u16, 0u16); N_ROWS];
    let Some(n_runs) = candidate_runs(sp, wf, &mut runs, PLAIN_ROW_WALK_MAX_POINTS) else {
        return false;
    };
    let stride = sp.row_stride;
    let total = &mut total[..stride];
    total.fill(0.0);
    let mut w = [0.0f64; MAX_ROW + 4];
    for &run in &runs[..n_runs] {
        let (start, len, _) = run_parts(run);
        // weights of the run, branch-free, four at a time (vectorises; the
        // position arrays are padded, so the last group may read past the
        // run and those weights are not used)
        let len4 = len.div_ceil(4) * 4;
        let xs = &sp.xs[start..start + len4];
        let ys = &sp.ys[start..start + len4];
        let zs = &sp.zs[start..start + len4];
        for (((w, x), y), z) in w[..len4]
            .chunks_exact_mut(4)
            .zip(xs.chunks_exact(4))
            .zip(ys.chunks_exact(4))
            .zip(zs.chunks_exact(4))
        {
            for l in 0..4 {
                w[l] = wf.weight_fast([x[l], y[l], z[l]]);
            }
        }
        let rs = 4 + stride;
        accumulate_run(&w[..len], &sp.records[start * rs..(start + len) * rs], stride, total);
    }
    true
}

/// total += Σ w·gains over one run's records, with `N` (the padded channel
/// count) accumulators held in registers.
#[inline(always)]
fn accumulate<const N: usize>(w: &[f64], records: &[f64], total: &mut [f64]) {
    let mut acc = [0.0f64; N];
    acc.copy_from_slice(&total[..N]);
    for (&w, r) in w.iter().zip(records.chunks_exact(4 + N)) {
        let g = &r[4..4 + N];
        for k in 0..N {
            acc[k] += w * g[k];
        }
    }
    total[..N].copy_from_slice(&acc);
}

/// Runs `f` on `n` zeroed values: on the stack for the usual layouts (a
/// 4 KiB array zeroed per block would cost as much as the sum itself).
fn with_scratch<R>(n: usize, f: impl FnOnce(&mut [f64]) -> R) -> R {
    const SMALL: usize = 64;
    if n <= SMALL {
        let mut a = [0.0f64; SMALL];
        f(&mut a[..n])
    } else {
        f(&mut vec![0.0; n])
    }
}

fn rows_plain(sp: &SpreadingPanner, wf: &WeightFunc, total: &mut [f64]) -> bool {
    rows_generic(sp, wf, total)
}

/// Lane orders that move the set lanes of an 8-bit mask to the front
/// (`_mm256_permutevar8x32_epi32` controls), for compacting point indices.
#[cfg(target_arch = "x86_64")]
static COMPACT8: [[i32; 8]; 256] = {
    let mut t = [[0i32; 8]; 256];
    let mut m = 0;
    while m < 256 {
        let (mut n, mut l) = (0, 0);
        while l < 8 {
            if m & (1 << l) != 0 {
                t[m][n] = l;
                n += 1;
            }
            l += 1;
        }
        m += 1;
    }
    t
};

/// How far (in sines and cosines) a point must be from a boundary of the
/// shape for the single-precision sort of [`rows_avx2`] to decide it: its
/// values differ from the double-precision ones by under 3e-6 (positions
/// and basis rounded to f32, 2^-24 each, through dot products of three
/// terms and the folded tests), so a decision with this margin is the one
/// double precision makes.
const SORT_MARGIN: f64 = 1e-5;

/// The row walk for AVX2 + FMA CPUs (with BMI1, BMI2 and POPCNT, which they
/// all have), in three passes.
///
/// The candidate runs come from [`candidate_runs_avx2`], four rows at a time.
///
/// 1. Each candidate is sorted eight at a time in single precision, with a
///    margin ([`SORT_MARGIN`]): surely inside (weight 1), surely outside
///    (0), or maybe in the fade band. The last are listed.
/// 2. The listed points are weighed four at a time in double precision, as
///    [`WeightFunc::weight_fast`] does but with fused multiply-adds and
///    without its inside/outside bounds, which the listed points do not
///    need (see [`WeightAvx2::sine`]); within ~1e-14 of it. Their weighted
///    gains are added.
/// 3. Each stretch of inside points in a run adds the difference of its
///    row's running sums of gains (`row_prefix`).
///
/// The sum equals the plain walk's within rounding (~1e-14 relative): the
/// weights agree within rounding, the order of the additions differs.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,bmi1,bmi2,popcnt")]
unsafe fn rows_avx2(sp: &SpreadingPanner, wf: &WeightFunc, total: &mut [f64]) -> bool {
    // SAFETY (for the calls): this CPU has AVX2, FMA, BMI1, BMI2 and POPCNT, as
    // this function requires.
    match sp.row_stride {
        4 => unsafe { rows_avx2_v::<1>(sp, wf, total) },
        8 => unsafe { rows_avx2_v::<2>(sp, wf, total) },
        12 => unsafe { rows_avx2_v::<3>(sp, wf, total) },
        16 => unsafe { rows_avx2_v::<4>(sp, wf, total) },
        20 => unsafe { rows_avx2_v::<5>(sp, wf, total) },
        24 => unsafe { rows_avx2_v::<6>(sp, wf, total) },
        28 => unsafe { rows_avx2_v::<7>(sp, wf, total) },
        32 => unsafe { rows_avx2_v::<8>(sp, wf, total) },
        _ => rows_generic(sp, wf, total),
    }
}

/// [`WeightFunc::weight_fast`] four points at a time, its operations with
/// products and sums fused and the dot products not clamped (they pass ±1
/// by rounding only; the square root's argument is kept ≥ 0): within ~1e-14
/// of it.
#[cfg(target_arch = "x86_64")]
struct WeightAvx2 {
    basis: [[std::arch::x86_64::__m256d; 3]; 3],
    /// sin_cp, cos_cp, c1_bias, flat_bias, flat_in, flat_out, −circ_in,
    /// −circ_out, sin_r, cos_r
    k: [std::arch::x86_64::__m256d; 10],
}

#[cfg(target_arch = "x86_64")]
impl WeightAvx2 {
    #[target_feature(enable = "avx2,fma")]
    fn new(wf: &WeightFunc) -> Self {
        use std::arch::x86_64::*;
        // (broadcast one by one: `array::map` with these closures was an
        // out-of-line call returning the 19 vectors through memory)
        let b = &wf.basis;
        let row = |r: &[f64; 3]| [_mm256_set1_pd(r[0]), _mm256_set1_pd(r[1]), _mm256_set1_pd(r[2])];
        let set = _mm256_set1_pd;
        WeightAvx2 {
            basis: [row(&b[0]), row(&b[1]), row(&b[2])],
            k: [
                set(wf.sin_cp),
                set(wf.cos_cp),
                set(wf.c1_bias),
                set(wf.flat_bias),
                set(wf.flat_in),
                set(wf.flat_out),
                set(-wf.circ_in),
                set(-wf.circ_out),
                set(wf.sin_r),
                set(wf.cos_r),
            ],
        }
    }

    #[cfg(test)]
    #[target_feature(enable = "avx2,fma")]
    fn weight(
        &self,
        x: std::arch::x86_64::__m256d,
        y: std::arch::x86_64::__m256d,
        z: std::arch::x86_64::__m256d,
    ) -> std::arch::x86_64::__m256d {
        self.fade(self.sine::<true>(x, y, z))
    }

    /// The first half of [`Self::weight`]: y = sin(θ − R), and with
    /// `BOUNDS` −1 where the point is inside and +1 where it is beyond the
    /// fade (to which [`Self::fade`] gives exactly 1 and 0, as weight_fast
    /// does). The walk runs the halves as two loops: each has half the
    /// latency, so more of them overlap.
    ///
    /// The walk weighs only points its sort found near the fade band, where
    /// θ − R lies within the sort's margin of [0, fade] (or of [0, 90° − R]
    /// and [0, 180° − R] where the fade reaches past the pole or the
    /// antipode): there sin(θ − R) grows with θ, and the clamp of
    /// [`Self::fade`] already gives 1 just inside and 0 just beyond, so it
    /// skips the bounds (`BOUNDS` = false). Far from the band they are
    /// needed: sin(θ − R) falls again past 90°.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn sine<const BOUNDS: bool>(
        &self,
        x: std::arch::x86_64::__m256d,
        y: std::arch::x86_64::__m256d,
        z: std::arch::x86_64::__m256d,
    ) -> std::arch::x86_64::__m256d {
        use std::arch::x86_64::*;
        let [
            sin_cp,
            cos_cp,
            c1_bias,
            flat_bias,
            flat_in,
            flat_out,
            circ_in,
            circ_out,
            sin_r,
            cos_r,
        ] = self.k;
        let set = _mm256_set1_pd;
        let (one, neg_one, zero, sign) = (set(1.0), set(-1.0), _mm256_setzero_pd(), set(-0.0));
        // dot(v, b) = v0·b0 + v1·b1 + v2·b2, fused
        let dot = |b: [__m256d; 3]| _mm256_fmadd_pd(z, b[2], _mm256_fmadd_pd(y, b[1], _mm256_mul_pd(x, b[0])));
        // (not clamped to [−1, 1] as weight_fast's are: they pass it by
        // rounding only, and the square root's argument is kept ≥ 0)
        let c0 = dot(self.basis[0]);
        let c1 = dot(self.basis[1]);
        let c2 = dot(self.basis[2]);
        let a0 = _mm256_andnot_pd(sign, c0);
        let f = _mm256_fmsub_pd(c1, sin_cp, _mm256_mul_pd(a0, cos_cp));
        let f = _mm256_add_pd(_mm256_min_pd(f, _mm256_add_pd(c1, c1_bias)), flat_bias);
        let flat = _mm256_cmp_pd::<_CMP_GE_OQ>(f, zero);
        let s = _mm256_andnot_pd(sign, c2);
        let c = _mm256_fmadd_pd(a0, sin_cp, _mm256_mul_pd(c1, cos_cp));
        let u = _mm256_blendv_pd(c, s, flat);
        let r = _mm256_sqrt_pd(_mm256_max_pd(
            _mm256_mul_pd(_mm256_sub_pd(one, u), _mm256_add_pd(one, u)),
            zero,
        ));
        let y_flat = _mm256_fmsub_pd(s, cos_r, _mm256_mul_pd(r, sin_r));
        let y_circ = _mm256_fmsub_pd(r, cos_r, _mm256_mul_pd(c, sin_r));
        let yv = _mm256_blendv_pd(y_circ, y_flat, flat);
        if !BOUNDS {
            return yv;
        }
        let q = _mm256_blendv_pd(_mm256_xor_pd(c, sign), s, flat);
        let q_in = _mm256_blendv_pd(circ_in, flat_in, flat);
        let q_out = _mm256_blendv_pd(circ_out, flat_out, flat);
        let yv = _mm256_blendv_pd(yv, one, _mm256_cmp_pd::<_CMP_GE_OQ>(q, q_out));
        _mm256_blendv_pd(yv, neg_one, _mm256_cmp_pd::<_CMP_LE_OQ>(q, q_in))
    }

    /// fade_weight(y): 1 − asin(y)/fade, clamped to [0, 1].
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn fade(&self, yv: std::arch::x86_64::__m256d) -> std::arch::x86_64::__m256d {
        use std::arch::x86_64::*;
        let set = _mm256_set1_pd;
        let (one, zero) = (set(1.0), _mm256_setzero_pd());
        // asin_small by Estrin's scheme
        let yv = _mm256_min_pd(_mm256_max_pd(yv, set(-0.2)), set(0.2));
        let z1 = _mm256_mul_pd(yv, yv);
        let z2 = _mm256_mul_pd(z1, z1);
        let z4 = _mm256_mul_pd(z2, z2);
        let z8 = _mm256_mul_pd(z4, z4);
        let pair = |a: usize| _mm256_fmadd_pd(set(ASIN_SERIES[a + 1]), z1, set(ASIN_SERIES[a]));
        let (p01, p23, p45, p67, p89) = (pair(0), pair(2), pair(4), pair(6), pair(8));
        let acc = _mm256_fmadd_pd(
            z8,
            p89,
            _mm256_fmadd_pd(z4, _mm256_fmadd_pd(z2, p67, p45), _mm256_fmadd_pd(z2, p23, p01)),
        );
        let wv = _mm256_fnmadd_pd(_mm256_mul_pd(yv, acc), set(INV_FADE), one);
        _mm256_min_pd(_mm256_max_pd(wv, zero), one)
    }
}

/// [`rows_avx2`] for `row_stride` = 4·`V`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,bmi1,bmi2,popcnt")]
unsafe fn rows_avx2_v<const V: usize>(sp: &SpreadingPanner, wf: &WeightFunc, total: &mut [f64]) -> bool {
    use std::arch::x86_64::*;
    use std::mem::MaybeUninit;
    let stride = 4 * V;
    assert_eq!(sp.row_stride, stride);
    let mut runs = [(0u16, 0u16, 0u16); N_ROWS];
    let n_runs = candidate_runs_avx2(sp, wf, &mut runs);
    let runs = &runs[..n_runs];

    // (1) the sort, in f32
    const CAP: usize = GRID_POINTS_BOUND + 8;
    // a point's record in `records`: position, then gains
    let rs = 4 + stride;
    let rec = sp.records.as_ptr();
    // offsets in `records` of the points that may be in the fade band
    let mut maybe = [MaybeUninit::<i32>::uninit(); CAP];
    let mp = maybe.as_mut_ptr().cast::<i32>();
    let mut n_maybe = 0usize;
    // per run, which of its points are surely inside
    let mut inside_bits = [MaybeUninit::<[u64; 2]>::uninit(); N_ROWS];
    {
        let bs = |k: usize, a: usize| _mm256_set1_ps(wf.basis[k][a] as f32);
        let (b00, b01, b02) = (bs(0, 0), bs(0, 1), bs(0, 2));
        let (b10, b11, b12) = (bs(1, 0), bs(1, 1), bs(1, 2));
        let (b20, b21, b22) = (bs(2, 0), bs(2, 1), bs(2, 2));
        let set = |v: f64| _mm256_set1_ps(v as f32);
        let (sin_cp, cos_cp) = (set(wf.sin_cp), set(wf.cos_cp));
        let (c1_bias, flat_bias) = (set(wf.c1_bias), set(wf.flat_bias));
        let general = !(wf.c1_bias == 10.0 && wf.flat_bias == 0.0);
        let (m_pos, m_neg) = (set(SORT_MARGIN), set(-SORT_MARGIN));
        let (flat_in, flat_out) = (set(wf.flat_in - SORT_MARGIN), set(wf.flat_out + SORT_MARGIN));
        let (circ_in, circ_out) = (set(wf.circ_in + SORT_MARGIN), set(wf.circ_out - SORT_MARGIN));
        let sign = _mm256_set1_ps(-0.0);
        let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        let lanes_rs = _mm256_mullo_epi32(lanes, _mm256_set1_epi32(rs as i32));
        let dot = |x: __m256, y: __m256, z: __m256, b0: __m256, b1: __m256, b2: __m256| {
            _mm256_fmadd_ps(z, b2, _mm256_fmadd_ps(y, b1, _mm256_mul_ps(x, b0)))
        };
        // per group of eight: its first point and which lanes may be in the fade
        const MAX_GROUPS: usize = GRID_POINTS_BOUND / 8 + N_ROWS;
        let mut groups = [MaybeUninit::<(u16, u8)>::uninit(); MAX_GROUPS];
        let gp = groups.as_mut_ptr().cast::<(u16, u8)>();
        let mut n_groups = 0;
        for (r, &run) in runs.iter().enumerate() {
            let (start, len, _) = run_parts(run);
            let mut bits = [0u64; 2];
            let mut j = 0;
            while j < len {
                let i = start + j;
                // SAFETY: the f32 position arrays have 8 padding values past the last point.
                let (x, y, z) = unsafe {
                    (
                        _mm256_loadu_ps(sp.xs32.as_ptr().add(i)),
                        _mm256_loadu_ps(sp.ys32.as_ptr().add(i)),
                        _mm256_loadu_ps(sp.zs32.as_ptr().add(i)),
                    )
                };
                // (not clamped to [−1, 1]: they pass it by rounding only,
                // far less than the margin, and are only compared)
                let c0 = dot(x, y, z, b00, b01, b02);
                let c1 = dot(x, y, z, b10, b11, b12);
                let c2 = dot(x, y, z, b20, b21, b22);
                let a0 = _mm256_andnot_ps(sign, c0);
                // the flat/circle decision as weight_fast makes it, with the margin
                let f = _mm256_fmsub_ps(c1, sin_cp, _mm256_mul_ps(a0, cos_cp));
                // (the biases change nothing when 0 < circle_pos < π: a
                // test of a value the loop does not change, so predicted)
                let f = if general {
                    _mm256_add_ps(_mm256_min_ps(f, _mm256_add_ps(c1, c1_bias)), flat_bias)
                } else {
                    f
                };
                let flat_sure = _mm256_cmp_ps::<_CMP_GE_OQ>(f, m_pos);
                let circ_sure = _mm256_cmp_ps::<_CMP_LT_OQ>(f, m_neg);
                let s = _mm256_andnot_ps(sign, c2);
                let c = _mm256_fmadd_ps(a0, sin_cp, _mm256_mul_ps(c1, cos_cp));
                // inside (outside) for each part the point may be on
                let sure_in = _mm256_and_ps(
                    _mm256_or_ps(_mm256_cmp_ps::<_CMP_LE_OQ>(s, flat_in), circ_sure),
                    _mm256_or_ps(_mm256_cmp_ps::<_CMP_GE_OQ>(c, circ_in), flat_sure),
                );
                let sure_out = _mm256_and_ps(
                    _mm256_or_ps(_mm256_cmp_ps::<_CMP_GE_OQ>(s, flat_out), circ_sure),
                    _mm256_or_ps(_mm256_cmp_ps::<_CMP_LE_OQ>(c, circ_out), flat_sure),
                );
                // the lanes within the run: its len − j first (bzhi leaves
                // all eight bits when len − j ≥ 8)
                let valid = (len - j) as u32;
                let ins = _bzhi_u32(_mm256_movemask_ps(sure_in) as u32, valid);
                let m = _bzhi_u32(_mm256_movemask_ps(_mm256_or_ps(sure_in, sure_out)) as u32 ^ 0xff, valid);
                // (j is a multiple of 8: a group's bits lie in one word)
                debug_assert!(j < 128);
                // SAFETY: j < len ≤ MAX_ROW < 128.
                unsafe { *bits.get_unchecked_mut(j / 64) |= u64::from(ins) << (j % 64) };
                // SAFETY: n_groups < MAX_GROUPS (one per eight points of a run).
                unsafe { gp.add(n_groups).write((i as u16, m as u8)) };
                n_groups += 1;
                j += 8;
            }
            inside_bits[r].write(bits);
        }
        // the maybe-points listed, in a loop of its own (the sort's loop is
        // long already; apart, more of each overlap)
        for g in 0..n_groups {
            // SAFETY: written above.
            let (i, m) = unsafe { gp.add(g).read() };
            let idx = _mm256_add_epi32(_mm256_set1_epi32((usize::from(i) * rs) as i32), lanes_rs);
            // SAFETY: a row of eight i32; n_maybe + 8 ≤ count + 8 ≤ CAP.
            unsafe {
                let perm = _mm256_loadu_si256(COMPACT8[usize::from(m)].as_ptr().cast());
                _mm256_storeu_si256(mp.add(n_maybe).cast(), _mm256_permutevar8x32_epi32(idx, perm));
            }
            n_maybe += m.count_ones() as usize;
        }
    }

    // (2) the listed points, in f64, four at a time (the last group is
    // padded with point 0's offset, whose weight is not used)
    let mut a = [_mm256_setzero_pd(); V];
    {
        // their weights
        let mut weights = [MaybeUninit::<f64>::uninit(); CAP];
        let wp = weights.as_mut_ptr().cast::<f64>();
        // SAFETY: n_maybe + 4 ≤ CAP.
        unsafe { _mm_storeu_si128(mp.add(n_maybe).cast(), _mm_setzero_si128()) };
        let weigh = WeightAvx2::new(wf);
        let mut k = 0;
        while k < n_maybe {
            // SAFETY: entries below n_maybe + 4 were written, and each is a
            // record's offset in `records`.
            let (x, y, z) = unsafe {
                let p = |l: usize| _mm256_loadu_pd(rec.add(*mp.add(k + l) as usize));
                let (p0, p1, p2, p3) = (p(0), p(1), p(2), p(3));
                let (t0, t1) = (_mm256_unpacklo_pd(p0, p1), _mm256_unpackhi_pd(p0, p1));
                let (t2, t3) = (_mm256_unpacklo_pd(p2, p3), _mm256_unpackhi_pd(p2, p3));
                (
                    _mm256_permute2f128_pd::<0x20>(t0, t2),
                    _mm256_permute2f128_pd::<0x20>(t1, t3),
                    _mm256_permute2f128_pd::<0x31>(t0, t2),
                )
            };
            // the points' gains, wanted by the sums below, on the lines
            // after the position's: fetched now
            for l in 0..4 {
                // SAFETY: as above (a prefetch of any address is safe).
                let r = unsafe { rec.add(*mp.add(k + l) as usize) };
                for t in (8..rs).step_by(8) {
                    _mm_prefetch::<_MM_HINT_T0>(r.wrapping_add(t).cast());
                }
            }
            // SAFETY: k + 4 ≤ n_maybe + 4 ≤ CAP.
            unsafe { _mm256_storeu_pd(wp.add(k), weigh.sine::<false>(x, y, z)) };
            k += 4;
        }
        let mut k = 0;
        while k < n_maybe {
            // SAFETY: as above; written by the loop above.
            unsafe { _mm256_storeu_pd(wp.add(k), weigh.fade(_mm256_loadu_pd(wp.add(k)))) };
            k += 4;
        }
        // two sets of sums, even and odd points (half the dependency chain)
        let mut a2 = [_mm256_setzero_pd(); V];
        let mut k = 0;
        while k + 1 < n_maybe {
            // SAFETY: the weights and offsets below n_maybe were written;
            // each offset is a record's, whose gains follow its position.
            let (w0, g0, w1, g1) = unsafe {
                (
                    _mm256_set1_pd(*wp.add(k)),
                    *mp.add(k) as usize + 4,
                    _mm256_set1_pd(*wp.add(k + 1)),
                    *mp.add(k + 1) as usize + 4,
                )
            };
            for v in 0..V {
                // SAFETY: as above.
                let (gv0, gv1) = unsafe {
                    (
                        _mm256_loadu_pd(rec.add(g0 + 4 * v)),
                        _mm256_loadu_pd(rec.add(g1 + 4 * v)),
                    )
                };
                a[v] = _mm256_fmadd_pd(w0, gv0, a[v]);
                a2[v] = _mm256_fmadd_pd(w1, gv1, a2[v]);
            }
            k += 2;
        }
        if k < n_maybe {
            // SAFETY: as above.
            let (w, g) = unsafe { (_mm256_set1_pd(*wp.add(k)), *mp.add(k) as usize + 4) };
            for v in 0..V {
                // SAFETY: as above.
                let gv = unsafe { _mm256_loadu_pd(rec.add(g + 4 * v)) };
                a[v] = _mm256_fmadd_pd(w, gv, a[v]);
            }
        }
        for v in 0..V {
            a[v] = _mm256_add_pd(a[v], a2[v]);
        }
    }

    // (3) the stretches of inside points
    let mut b = [_mm256_setzero_pd(); V];
    let pre = sp.row_prefix.as_ptr();
    // entries of the running sums (a run's last inside point is at most its
    // row's 2n-th: its sum is within its row's 2n + 1 entries)
    let n_pre = sp.row_prefix.len() / stride;
    for (&run, bits) in runs.iter().zip(&inside_bits) {
        // the run's first point in its row's running sums
        let (_, _, p0) = run_parts(run);
        // SAFETY: written for every run in pass (1).
        let bits = unsafe { bits.assume_init() };
        for (word, &bits) in bits.iter().enumerate() {
            let mut ins = bits;
            while ins != 0 {
                let lo = ins.trailing_zeros() as usize;
                let n = (!(ins >> lo)).trailing_zeros() as usize;
                ins &= if n == 64 { 0 } else { !(((1u64 << n) - 1) << lo) };
                let (k0, k1) = (p0 + 64 * word + lo, p0 + 64 * word + lo + n);
                assert!(k1 < n_pre);
                for v in 0..V {
                    // SAFETY: k0 < k1 < n_pre: entries of the table.
                    let (s0, s1) = unsafe {
                        (
                            _mm256_loadu_pd(pre.add(k0 * stride + 4 * v)),
                            _mm256_loadu_pd(pre.add(k1 * stride + 4 * v)),
                        )
                    };
                    b[v] = _mm256_add_pd(b[v], _mm256_sub_pd(s1, s0));
                }
            }
        }
    }
    let total = &mut total[..stride];
    for v in 0..V {
        // SAFETY: total holds 4·V values.
        unsafe { _mm256_storeu_pd(total.as_mut_ptr().add(4 * v), _mm256_add_pd(a[v], b[v])) };
    }
    true
}

#[cfg(target_arch = "x86_64")]
fn rows_avx2_safe(sp: &SpreadingPanner, wf: &WeightFunc, total: &mut [f64]) -> bool {
    // SAFETY: chosen by `row_kernel` only when the CPU has avx2, fma, bmi1, bmi2 and popcnt.
    unsafe { rows_avx2(sp, wf, total) }
}

/// The row kernel for this CPU (`ADMIX_KERNEL=scalar` forces the plain one,
/// as for the mixer).
fn row_kernel() -> RowKernel {
    #[cfg(target_arch = "x86_64")]
    if std::env::var("ADMIX_KERNEL").ok().as_deref() != Some("scalar")
        && std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma")
        && std::arch::is_x86_feature_detected!("bmi1")
        && std::arch::is_x86_feature_detected!("bmi2")
        && std::arch::is_x86_feature_detected!("popcnt")
    {
        return rows_avx2_safe;
    }
    rows_plain
}

type RowKernel = fn(&SpreadingPanner, &WeightFunc, &mut [f64]) -> bool;

/// Longest grid row.
const MAX_ROW: usize = 2 * (N_ROWS - 1);

/// Basis rotating (0,1,0) onto the source direction; azimuth 0 at the poles.
/// Also sin and cos of the direction's elevation and azimuth (`[se, ce, sa,
/// ca]`, the azimuth measured as `atan2(x, y)`), which [`CapRows`] uses.
fn calc_basis(pos: V3) -> ([V3; 3], [f64; 4]) {
    // Away from the poles, ear's local_coordinate_system(azimuth(p),
    // elevation(p)) written without trigonometry: with ρ = hypot(p0, p1)
    // and n = |p|, sin az' = p0/ρ, cos az' = p1/ρ, cos el = ρ/n, sin el =
    // p2/n, the rows are cart(az − 90, 0), cart(az, el), cart(az, el + 90).
    // Equal to the trigonometric form within a few ulp. (tan(1e-5°) =
    // 1.745e-7: the pole rule below applies only where ρ < 1.745e-7·|p2|.)
    // ρ and n are computed side by side from p as given: every later step of
    // a block waits for the basis, so its chain of square roots and
    // divisions is kept short. (Square roots of sums of squares rather than
    // hypot: positions out of range, and an underflowing ρ, take the path
    // below, which normalises first.)
    let r2 = pos[0] * pos[0] + pos[1] * pos[1];
    let (rho, n) = (r2.sqrt(), (r2 + pos[2] * pos[2]).sqrt());
    let direct = |p: V3, rho: f64, n: f64| {
        let (sa, ca) = (p[0] / rho, p[1] / rho);
        let (se, ce) = (p[2] / n, rho / n);
        (
            [[ca, -sa, 0.0], [sa * ce, ca * ce, se], [-sa * se, -ca * se, ce]],
            [se, ce, sa, ca],
        )
    };
    if (1e-10..1e150).contains(&n) && rho > 2e-7 * pos[2].abs() {
        return direct(pos, rho, n);
    }
    let p = safe_norm_position(pos);
    let rho = (p[0] * p[0] + p[1] * p[1]).sqrt();
    if rho > 2e-7 * p[2].abs() {
        return direct(p, rho, (rho * rho + p[2] * p[2]).sqrt());
    }
    let (mut az, el) = (azimuth(p), elevation(p));
    if el.abs() > 90.0 - 1e-5 {
        az = 0.0;
    }
    let b = local_coordinate_system(az, el);
    let ce = (b[1][0] * b[1][0] + b[1][1] * b[1][1]).sqrt();
    let (sa, ca) = if ce > 0.0 {
        (b[1][0] / ce, b[1][1] / ce)
    } else {
        (0.0, 1.0)
    };
    (b, [b[1][2], ce, sa, ca])
}

/// The extent weighting function of ear's `PolarExtentPanner.get_weight_func`,
/// evaluated on demand, plus trig-free tests of whether a point or a whole
/// cap of points lies inside the shape (weight 1) or beyond its fade (0).
struct WeightFunc {
    basis: [V3; 3],
    /// sin and cos of the source's elevation and azimuth (see [`calc_basis`]).
    source: [f64; 4],
    circle_radius: f64,
    /// cos(circle_pos); an azimuth θ ∈ [0, π] in the flipped basis is on
    /// the flat part when cos θ ≥ this (always when circle_pos ≥ π).
    cos_circle_pos: f64,
    circle_centres: [V3; 2],
    circle_pos: f64,
    /// sin and cos of circle_pos (folded tests of [`WeightFunc::weight_fast`]).
    sin_cp: f64,
    cos_cp: f64,
    /// sin and cos of the radius R.
    sin_r: f64,
    cos_r: f64,
    /// sin and cos of R + fade.
    sin_r_out: f64,
    cos_r_out: f64,
    /// Flat part: inside when |sin elevation| ≤ `flat_in` (sin R, or 2 when
    /// R ≥ 90°), outside when ≥ `flat_out` (sin(R + fade), or 2: never).
    flat_in: f64,
    flat_out: f64,
    /// Circle part: inside when cos(angle to the nearer centre) ≥ `circ_in`
    /// (cos R, or −2 when R ≥ 180°), outside when ≤ `circ_out`
    /// (cos(R + fade), or −2: never).
    circ_in: f64,
    circ_out: f64,
    /// 10 when circle_pos ≥ π (all flat), else 0.
    flat_bias: f64,
    /// 10 when circle_pos > 0 (no condition on c1), else 0.
    c1_bias: f64,
}

/// 1 / fade width (radians).
const INV_FADE: f64 = 1.0 / (FADE_WIDTH_DEG * std::f64::consts::PI / 180.0);

/// The weight in the fade band from y = sin(θ − R): 1 − (θ − R)/fade.
#[inline]
fn fade_weight(y: f64) -> f64 {
    (1.0 - asin_small(y.clamp(-0.2, 0.2)) * INV_FADE).clamp(0.0, 1.0)
}

/// How a point or cap relates to the shape.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Inside,
    Outside,
    Straddles,
}

impl WeightFunc {
    fn new(position: V3, width_deg: f64, height_deg: f64) -> Self {
        use std::f64::consts::PI;
        let mut width = width_deg.to_radians() / 2.0;
        let mut height = height_deg.to_radians() / 2.0;
        let (b, source) = calc_basis(position);
        let circle_radius = width.min(height);
        let basis = if height > width {
            std::mem::swap(&mut width, &mut height);
            [b[2], b[1], b[0]]
        } else {
            b
        };
        let width_full = PI + height;
        let width_mod = interp(width, &[0.0, PI / 2.0, PI], &[0.0, PI / 2.0, width_full]);
        let width = interp(
            height,
            &[0.0, PI / 4.0, PI / 2.0, PI],
            &[width_mod, width_mod, width, width],
        );
        let circle_pos = width - circle_radius;
        let (sin_cp, cos_cp) = circle_pos.sin_cos();
        let on_basis = |sin_az: f64, cos_az: f64| -> V3 {
            let rel = [sin_az, cos_az, 0.0];
            let mut v = [0.0; 3];
            for k in 0..3 {
                for a in 0..3 {
                    v[a] += rel[k] * basis[k][a];
                }
            }
            v
        };
        let fade = FADE_WIDTH_DEG.to_radians();
        let (r, r_out) = (circle_radius, circle_radius + fade);
        let (sin_r, cos_r) = r.sin_cos();
        // sin and cos of R + fade by angle addition
        let (sin_f, cos_f) = (0.173_648_177_666_930_33, 0.984_807_753_012_208);
        let (sin_r_out, cos_r_out) = (sin_r * cos_f + cos_r * sin_f, cos_r * cos_f - sin_r * sin_f);
        WeightFunc {
            basis,
            source,
            circle_radius,
            cos_circle_pos: if circle_pos >= PI { -2.0 } else { cos_cp },
            circle_centres: [on_basis(-sin_cp, cos_cp), on_basis(sin_cp, cos_cp)],
            circle_pos,
            sin_cp,
            cos_cp,
            sin_r,
            cos_r,
            sin_r_out,
            cos_r_out,
            flat_in: if r >= PI / 2.0 { 2.0 } else { sin_r },
            flat_out: if r_out >= PI / 2.0 { 2.0 } else { sin_r_out },
            circ_in: if r >= PI { -2.0 } else { cos_r },
            circ_out: if r_out >= PI { -2.0 } else { cos_r_out },
            flat_bias: if circle_pos >= PI { 10.0 } else { 0.0 },
            c1_bias: if circle_pos > 0.0 { 10.0 } else { 0.0 },
        }
    }

    /// [`Self::weight`] without inverse trigonometry: the folded
    /// flat-part test (|atan2(c0, c1)| ≤ circle_pos ⟺ c1·sin cp − |c0|·cos cp
    /// ≥ 0, with care at cp = 0), the cosine to the nearer circle centre as
    /// one dot product (|c0|·sin cp + c1·cos cp), inside/outside by comparing
    /// sines or cosines, and in the fade band d = θ − R from sin(θ − R) =
    /// sin θ cos R − cos θ sin R, which is small (|d| < 10°), through
    /// [`asin_small`]. Both parts are computed and selected (no branches, so
    /// the loop over a row vectorises). Equal to the formula within ~1e-14.
    #[inline(always)]
    fn weight_fast(&self, v: V3) -> f64 {
        let c0 = dot(v, self.basis[0]).clamp(-1.0, 1.0);
        let c1 = dot(v, self.basis[1]).clamp(-1.0, 1.0);
        let c2 = dot(v, self.basis[2]).clamp(-1.0, 1.0);
        let a0 = c0.abs();
        // flat ⟺ c1·sin cp − |c0|·cos cp ≥ 0 (and c1 ≥ 0 when cp = 0), or
        // always when cp ≥ π: one comparison, the cases folded into biases
        let flat = (c1 * self.sin_cp - a0 * self.cos_cp).min(c1 + self.c1_bias) + self.flat_bias >= 0.0;
        let s = c2.abs();
        let c = (a0 * self.sin_cp + c1 * self.cos_cp).clamp(-1.0, 1.0);
        // flat: θ = asin s; circle: θ = acos c. sin θ cos R − cos θ sin R:
        let u = if flat { s } else { c };
        let r = ((1.0 - u) * (1.0 + u)).sqrt();
        let y = if flat {
            s * self.cos_r - r * self.sin_r
        } else {
            r * self.cos_r - c * self.sin_r
        };
        // inside ⟺ q ≤ in, outside ⟺ q ≥ out, with q = s (flat) or −c
        let (q, q_in, q_out) = if flat {
            (s, self.flat_in, self.flat_out)
        } else {
            (-c, -self.circ_in, -self.circ_out)
        };
        let wv = fade_weight(y);
        if q <= q_in {
            1.0
        } else if q >= q_out {
            0.0
        } else {
            wv
        }
    }

    /// Components of `v` in the flipped basis (clipped as ear does), and
    /// whether `v` is on the flat part of the shape (|azimuth| ≤ circle_pos).
    #[inline]
    fn components(&self, v: V3) -> (f64, f64, f64, bool) {
        let c0 = dot(v, self.basis[0]).clamp(-1.0, 1.0);
        let c1 = dot(v, self.basis[1]).clamp(-1.0, 1.0);
        let c2 = dot(v, self.basis[2]).clamp(-1.0, 1.0);
        // |atan2(c0, c1)| ≤ circle_pos ⟺ c1 ≥ ρ·cos(circle_pos), ρ = |(c0, c1)|
        // (atan2(0, 0) = 0: the flat part, as here).
        let rho = (c0 * c0 + c1 * c1).sqrt();
        (c0, c1, c2, c1 >= rho * self.cos_circle_pos)
    }

    #[inline]
    fn weight(&self, v: V3) -> f64 {
        let distance = self.distance(v);
        // interp(distance, [0, fade], [1, 0])
        let fade = FADE_WIDTH_DEG.to_radians();
        if distance <= 0.0 {
            1.0
        } else if distance >= fade {
            0.0
        } else {
            1.0 - distance / fade
        }
    }

    /// Angle (radians) from `v` to the edge of the shape; ≤ 0 inside
    /// (ear's `f`, one point at a time).
    #[inline]
    fn distance(&self, v: V3) -> f64 {
        // `flat` is ear's |atan2(c0, c1)| ≤ circle_pos without the atan2; the
        // distance is continuous where the two parts meet.
        let (_, _, c2, flat) = self.components(v);
        if flat {
            c2.asin().abs() - self.circle_radius
        } else {
            let d0 = dot(v, self.circle_centres[0]).clamp(-1.0, 1.0).acos();
            let d1 = dot(v, self.circle_centres[1]).clamp(-1.0, 1.0).acos();
            d0.min(d1) - self.circle_radius
        }
    }

    /// Whether every direction within `r` radians of `v` has distance ≤ 0
    /// (Inside) or ≥ fade (Outside), decided without inverse trig: the
    /// distance is 1-Lipschitz in angle, so it suffices that the distance at
    /// `v` is ≤ −r or ≥ fade + r; asin/acos being monotonic, those compare
    /// |sin elevation| or the cosine to the nearer circle centre with
    /// sin/cos of the bounds, got by angle addition from `cos_r`, `sin_r`.
    #[inline]
    fn side(&self, v: V3, r: f64, cos_r: f64, sin_r: f64, margin: f64) -> Side {
        use std::f64::consts::{FRAC_PI_2, PI};
        let fade = FADE_WIDTH_DEG.to_radians();
        let (_, _, c2, flat) = self.components(v);
        // inside bound a = R − r − margin, outside bound b = R + fade + r + margin
        let a0 = self.circle_radius - margin;
        let b0 = self.circle_radius + fade + margin;
        let a = a0 - r;
        let b = b0 + r;
        if flat {
            let s = c2.abs(); // sin |elevation|
            if a >= FRAC_PI_2 || (a >= 0.0 && s <= a0.sin() * cos_r - a0.cos() * sin_r) {
                return Side::Inside;
            }
            if b < FRAC_PI_2 && s >= b0.sin() * cos_r + b0.cos() * sin_r {
                return Side::Outside;
            }
        } else {
            let c = dot(v, self.circle_centres[0])
                .max(dot(v, self.circle_centres[1]))
                .clamp(-1.0, 1.0);
            if a >= PI || (a >= 0.0 && c >= a0.cos() * cos_r + a0.sin() * sin_r) {
                return Side::Inside;
            }
            if b < PI && c <= b0.cos() * cos_r - b0.sin() * sin_r {
                return Side::Outside;
            }
        }
        Side::Straddles
    }
}

/// Polar extent handler (ear `PolarExtentHandler` + `PolarExtentPanner`).
#[derive(Clone, Debug)]
pub struct PolarExtent {
    spreading: SpreadingPanner,
}

impl PolarExtent {
    pub fn new(psp: &PointSourcePanner) -> Self {
        PolarExtent {
            spreading: SpreadingPanner::new(psp),
        }
    }

    pub fn num_channels(&self) -> usize {
        self.spreading.num_channels
    }

    /// The spreading grid and its point-source gains (flattened for the GPU).
    pub fn spreading(&self) -> &SpreadingPanner {
        &self.spreading
    }

    /// ear `extent_mod`: extent seen from a given distance.
    pub fn extent_mod(extent: f64, distance: f64) -> f64 {
        // At distance 1 the formula gives `extent` back exactly; positions
        // normalised in floating point are 1 within a few ulp (the extent
        // then moves by < 1e-13 degrees): skip the four atan2.
        if (distance - 1.0).abs() <= 4.0 * f64::EPSILON {
            return extent;
        }
        let size = interp(extent, &[0.0, 360.0], &[0.2, 1.0]);
        let extent_1 = 4.0 * size.atan2(1.0).to_degrees();
        interp(
            4.0 * size.atan2(distance).to_degrees(),
            &[0.0, extent_1, 360.0],
            &[0.0, extent, 360.0],
        )
    }

    /// Gains for a (possibly non-unit) position with width/height/depth, into `out`.
    pub fn handle(&self, psp: &PointSourcePanner, position: V3, width: f64, height: f64, depth: f64, out: &mut [f64]) {
        let nc = self.num_channels();
        let distance = norm(position);
        if depth != 0.0 {
            let ds = [(distance + depth / 2.0).max(0.0), (distance - depth / 2.0).max(0.0)];
            let mut a = [0.0f64; super::point_source::MAX_PANNER_CHANNELS];
            let mut b = [0.0f64; super::point_source::MAX_PANNER_CHANNELS];
            self.pv_spread(
                psp,
                position,
                Self::extent_mod(width, ds[0]),
                Self::extent_mod(height, ds[0]),
                &mut a[..nc],
            );
            self.pv_spread(
                psp,
                position,
                Self::extent_mod(width, ds[1]),
                Self::extent_mod(height, ds[1]),
                &mut b[..nc],
            );
            for c in 0..nc {
                out[c] = ((a[c] * a[c] + b[c] * b[c]) / 2.0).sqrt();
            }
        } else {
            self.pv_spread(
                psp,
                position,
                Self::extent_mod(width, distance),
                Self::extent_mod(height, distance),
                &mut out[..nc],
            );
        }
    }

    /// ear `calc_pv_spread`.
    fn pv_spread(&self, psp: &PointSourcePanner, position: V3, width: f64, height: f64, out: &mut [f64]) {
        let nc = out.len();
        let amount_spread = interp(width.max(height), &[0.0, FADE_WIDTH_DEG], &[0.0, 1.0]);
        let amount_point = 1.0 - amount_spread;
        out.fill(0.0);
        if amount_point > 1e-10 {
            with_scratch(nc, |g| {
                psp.handle(position, g);
                for c in 0..nc {
                    out[c] += amount_point * g[c] * g[c];
                }
            });
        }
        if amount_spread > 1e-10 {
            let w = width.max(FADE_WIDTH_DEG / 2.0);
            let h = height.max(FADE_WIDTH_DEG / 2.0);
            let wf = WeightFunc::new(position, w, h);
            // the row walk uses the padded width (see SpreadingPanner::row_stride)
            let spread_only = amount_spread == 1.0;
            with_scratch(self.spreading.row_stride, |total| {
                self.spreading.weighted_sum(&wf, total);
                // Σ t² in four running sums (the padding past nc is zero):
                // a quarter of the chain of additions at the end of every
                // block
                let mut acc = [0.0f64; 4];
                for quad in total.chunks_exact(4) {
                    for (a, t) in acc.iter_mut().zip(quad) {
                        *a += t * t;
                    }
                }
                let n = ((acc[0] + acc[1]) + (acc[2] + acc[3])).sqrt();
                let total = &total[..nc];
                // (two loops, not a test per channel: each vectorises)
                if spread_only {
                    // with no point part, √(1·t²) is |t| exactly (in binary
                    // floating point, barring underflow below 1e-154)
                    for (o, t) in out.iter_mut().zip(total) {
                        *o = (t / n).abs();
                    }
                } else {
                    for (o, t) in out.iter_mut().zip(total) {
                        let t = t / n;
                        *o += amount_spread * t * t;
                    }
                }
            });
            if spread_only {
                return;
            }
        }
        for v in out.iter_mut() {
            *v = v.sqrt();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_has_ears_point_count() {
        // sum over 37 rows of max(1, round(72 cos el)) as ear computes it
        let pts = grid_points();
        let expected: usize = (0..37)
            .map(|r| {
                let el = -90.0 + 5.0 * r as f64;
                (el.to_radians().cos() * 72.0).round_ties_even().max(1.0) as usize
            })
            .sum();
        assert_eq!(pts.len(), expected);
        assert!(pts.iter().all(|p| (norm(*p) - 1.0).abs() < 1e-12));
    }

    fn rng() -> impl FnMut() -> f64 {
        let mut r = 0x2545F4914F6CDD1Du64;
        move || crate::rng::unit_f64(&mut r)
    }

    /// Both fast walks (rows, tree) equal ear's brute-force loop over every
    /// grid point, for extents from 5° to 360° anywhere on the sphere.
    #[test]
    fn row_and_tree_walks_equal_brute_force_sum() {
        use crate::layout::Layout;
        let mut rnd = rng();
        let mut by_rows = 0;
        for name in ["4+7+0", "0+2+0", "9+10+3"] {
            let psp = PointSourcePanner::new(&Layout::builtin(name).unwrap().unwrap()).unwrap();
            let sp = SpreadingPanner::new(&psp);
            assert_eq!(sp.points.len(), grid_points().len());
            let nc = sp.num_channels;
            let (mut a, mut b, mut c) = (vec![0.0; nc], vec![0.0; nc], vec![0.0; sp.row_stride]);
            for i in 0..3000 {
                // every 10th on a pole or on a grid point's azimuth/elevation
                let (az, el) = match i % 10 {
                    0 => (rnd() * 360.0 - 180.0, if rnd() < 0.5 { 90.0 } else { -90.0 }),
                    1 => (5.0 * (rnd() * 72.0).floor(), 5.0 * (rnd() * 36.0).floor() - 90.0),
                    _ => (rnd() * 360.0 - 180.0, rnd() * 180.0 - 90.0),
                };
                let pos = cart(az, el, 1.0);
                let (w, h) = (5.0 + rnd() * 355.0, 5.0 + rnd() * 355.0);
                let (w, h) = if rnd() < 0.5 {
                    (w.min(70.0), h.min(45.0))
                } else {
                    (w, h)
                };
                // and every 10th surrounds the listener (R ≥ 180°: the grid's sum)
                let (w, h) = if i % 10 == 2 { (360.0, 360.0 + rnd()) } else { (w, h) };
                let wf = WeightFunc::new(pos, w, h);
                let mut e = vec![f64::NAN; sp.row_stride];
                sp.weighted_sum(&wf, &mut e);
                sp.weighted_sum_tree(&wf, &mut a);
                sp.weighted_sum_brute(&wf, &mut b);
                let rows = sp.weighted_sum_rows(&wf, &mut c);
                by_rows += usize::from(rows);
                // this CPU's kernel (AVX2 where there is one) gives the
                // plain walk's sums within rounding
                let mut d = vec![f64::NAN; sp.row_stride];
                let plain = rows_plain(&sp, &wf, &mut d);
                assert!(rows || !plain, "the kernel declined where the plain walk did not");
                assert!(
                    !plain
                        || c[..nc]
                            .iter()
                            .zip(&d)
                            .all(|(x, y)| (x - y).abs() <= 1e-13 * (1.0 + y.abs())),
                    "{name} az {az} el {el} w {w} h {h}: kernel {c:?} vs plain {d:?}"
                );
                for k in 0..nc {
                    let tol = 1e-12 * (1.0 + b[k].abs());
                    assert!((e[k] - b[k]).abs() < tol, "{name} w {w} h {h}: {e:?} vs {b:?}");
                    assert!((a[k] - b[k]).abs() < tol, "{name} tree w {w} h {h}: {a:?} vs {b:?}");
                    assert!(
                        !rows || (c[k] - b[k]).abs() < tol,
                        "{name} rows az {az} el {el} w {w} h {h}: {c:?} vs {b:?}"
                    );
                }
            }
        }
        assert!(by_rows > 3000, "the row walk took only {by_rows} of 9000 cases");
    }

    /// Small extents, where the fade band is thin and its edges are where
    /// the single-precision sort of the AVX2 walk must defer to double
    /// precision: the walk equals the brute-force sum all the same.
    #[test]
    fn row_walk_equals_brute_force_for_small_extents() {
        use crate::layout::Layout;
        let mut rnd = rng();
        for name in ["4+7+0", "9.1.6"] {
            let psp = PointSourcePanner::new(&Layout::builtin(name).unwrap().unwrap()).unwrap();
            let sp = SpreadingPanner::new(&psp);
            let nc = sp.num_channels;
            let (mut b, mut c) = (vec![0.0; nc], vec![0.0; sp.row_stride]);
            for _ in 0..4000 {
                let pos = cart(rnd() * 360.0 - 180.0, rnd() * 180.0 - 90.0, 1.0);
                let (w, h) = (5.0 + rnd() * 20.0, 5.0 + rnd() * 20.0);
                let wf = WeightFunc::new(pos, w, h);
                sp.weighted_sum_brute(&wf, &mut b);
                assert!(sp.weighted_sum_rows(&wf, &mut c), "{name} w {w} h {h}: no row walk");
                for k in 0..nc {
                    assert!(
                        (c[k] - b[k]).abs() < 1e-12 * (1.0 + b[k].abs()),
                        "{name} {pos:?} w {w} h {h}: {c:?} vs {b:?}"
                    );
                }
            }
        }
    }

    /// The AVX2 candidate runs (four rows at a time) are the scalar ones.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_candidate_runs_are_the_scalar_ones() {
        use crate::layout::Layout;
        if !(std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")) {
            eprintln!("NOTICE: no AVX2 + FMA on this CPU; the AVX2 candidate runs are not tested");
            return;
        }
        let psp = PointSourcePanner::new(&Layout::builtin("4+7+0").unwrap().unwrap()).unwrap();
        let sp = SpreadingPanner::new(&psp);
        let mut rnd = rng();
        let (mut partial, mut wrapped) = (0, 0);
        for i in 0..20_000 {
            // poles, grid points' directions, anywhere; small to enclosing extents
            let (az, el) = match i % 8 {
                0 => (rnd() * 360.0 - 180.0, if rnd() < 0.5 { 90.0 } else { -90.0 }),
                1 => (5.0 * (rnd() * 72.0).floor(), 5.0 * (rnd() * 36.0).floor() - 90.0),
                2 => (rnd() * 360.0 - 180.0, 89.0 + rnd()),
                _ => (rnd() * 360.0 - 180.0, rnd() * 180.0 - 90.0),
            };
            let (w, h) = if i % 2 == 0 {
                (5.0 + rnd() * 85.0, 5.0 + rnd() * 60.0)
            } else {
                (5.0 + rnd() * 355.0, 5.0 + rnd() * 355.0)
            };
            let wf = WeightFunc::new(cart(az, el, 1.0), w, h);
            let (mut a, mut b) = ([(0u16, 0u16, 0u16); N_ROWS], [(0u16, 0u16, 0u16); N_ROWS]);
            let na = candidate_runs(&sp, &wf, &mut a, usize::MAX).unwrap();
            // SAFETY: the CPU has AVX2 and FMA (checked above).
            let nb = unsafe { candidate_runs_avx2(&sp, &wf, &mut b) };
            assert_eq!(a[..na], b[..nb], "az {az} el {el} w {w} h {h}");
            // (each run's row, found by its first point)
            let row_of = |r: Run| {
                let start = usize::from(r.0);
                sp.rows
                    .iter()
                    .find(|row| (row.start..row.start + 2 * row.n).contains(&start))
                    .unwrap()
            };
            for &r in &a[..na] {
                // the run lies within its row's two copies, and its running
                // sums' entry is its first point's
                let (start, len, pre) = run_parts(r);
                let row = row_of(r);
                assert!(start + len <= row.start + 2 * row.n && len <= row.n);
                assert_eq!(pre, row.prefix + (start - row.start));
            }
            partial += usize::from(a[..na].iter().any(|&r| usize::from(r.1) < row_of(r).n));
            // (a run across azimuth 0 goes on into its row's second copy)
            wrapped += usize::from(a[..na].iter().any(|&r| {
                let (start, len, _) = run_parts(r);
                start + len > row_of(r).start + row_of(r).n
            }));
        }
        // the cases cover rows cut by the cap, and cuts across azimuth 0
        assert!(
            partial > 10_000 && wrapped > 1_000,
            "{partial} partial, {wrapped} wrapped"
        );
    }

    /// The AVX2 walk's four-lane weight equals weight_fast within rounding.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx2_weight_is_weight_fast() {
        use std::arch::x86_64::*;
        if !(std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")) {
            eprintln!("NOTICE: no AVX2 + FMA on this CPU; the AVX2 weight is not tested");
            return;
        }
        let mut rnd = rng();
        let pts = grid_points();
        let mut in_band = 0;
        for _ in 0..300 {
            let pos = cart(rnd() * 360.0 - 180.0, rnd() * 180.0 - 90.0, 1.0);
            let (w, h) = (5.0 + rnd() * 355.0, 5.0 + rnd() * 355.0);
            let wf = WeightFunc::new(pos, w, h);
            for p in pts.chunks_exact(4) {
                // the weight, and without the bounds (as the walk weighs the
                // points in the fade band)
                let (mut out, mut band) = ([0.0f64; 4], [0.0f64; 4]);
                // SAFETY: the CPU has AVX2 and FMA (checked above).
                unsafe {
                    let weigh = WeightAvx2::new(&wf);
                    let v = |a: usize| _mm256_setr_pd(p[0][a], p[1][a], p[2][a], p[3][a]);
                    _mm256_storeu_pd(out.as_mut_ptr(), weigh.weight(v(0), v(1), v(2)));
                    _mm256_storeu_pd(band.as_mut_ptr(), weigh.fade(weigh.sine::<false>(v(0), v(1), v(2))));
                }
                // (fused multiply-adds, and no clamping of the dot
                // products: a few ulp of the angle, 1/fade times; up to a
                // few tens of times more where the shape's edge nears a pole
                // of its basis, as √(1 − s²) does near s = 1: 1.9e-14 seen)
                for l in 0..4 {
                    let want = wf.weight_fast(p[l]);
                    assert!(
                        (out[l] - want).abs() <= 1e-13,
                        "{pos:?} w {w} h {h} {:?}: {} vs {want}",
                        p[l],
                        out[l]
                    );
                    if want > 0.0 && want < 1.0 {
                        in_band += 1;
                        assert!(
                            (band[l] - want).abs() <= 1e-13,
                            "no bounds: {pos:?} w {w} h {h} {:?}: {} vs {want}",
                            p[l],
                            band[l]
                        );
                    }
                }
            }
        }
        assert!(in_band > 10_000, "only {in_band} points in the fade band");
    }

    /// The trig-free weight equals ear's formula (asin/acos of the basis
    /// components) for points everywhere, inside, in the fade and outside.
    #[test]
    fn fast_weight_equals_the_formula() {
        let mut rnd = rng();
        let pts = grid_points();
        let mut worst = 0.0f64;
        for _ in 0..400 {
            let pos = cart(rnd() * 360.0 - 180.0, rnd() * 180.0 - 90.0, 1.0);
            let (w, h) = (5.0 + rnd() * 355.0, 5.0 + rnd() * 355.0);
            let wf = WeightFunc::new(pos, w, h);
            for p in pts.iter().step_by(7) {
                worst = worst.max((wf.weight_fast(*p) - wf.weight(*p)).abs());
            }
            for _ in 0..50 {
                let q = cart(rnd() * 360.0, rnd() * 180.0 - 90.0, 1.0);
                worst = worst.max((wf.weight_fast(q) - wf.weight(q)).abs());
            }
        }
        assert!(worst < 1e-12, "worst {worst}");
    }

    #[test]
    fn small_asin_is_asin() {
        for k in -200..=200 {
            let y = f64::from(k) * 1e-3;
            assert!(
                (asin_small(y) - y.asin()).abs() <= 2.0 * f64::EPSILON * y.abs().max(1e-300),
                "{y}"
            );
        }
        for k in 0..=100 {
            let t = f64::from(k) / 50.0 - 1.0;
            assert!((acos_approx(t) - t.acos()).abs() < 7e-5, "{t}");
        }
    }

    #[test]
    fn extent_mod_limits() {
        assert!((PolarExtent::extent_mod(30.0, 1.0) - 30.0).abs() < 1e-9);
        assert!((PolarExtent::extent_mod(30.0, 0.0) - 360.0).abs() < 1e-9);
        assert!(PolarExtent::extent_mod(30.0, 2.0) < 30.0);
    }
}
