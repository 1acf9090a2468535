//! The object blocks the gain benches (`gains`, `gain_passes`, `gpu`) time:
//! deterministic pseudo-random blocks of one kind (point source, extent,
//! cartesian), positions anywhere on the sphere or in the cube.

use admix::adm::elements::{ObjectBlock, ObjectPosition};

/// Deterministic pseudo-random numbers in [0, 1) (xorshift), from a
/// non-zero seed.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `n` blocks of `kind` ("point", "extent" or "cartesian"); extent blocks
/// are `width` × `height` degrees.
pub fn blocks(kind: &str, n: usize, width: f64, height: f64) -> Vec<ObjectBlock> {
    let mut r = Rng(0x9E3779B97F4A7C15);
    (0..n)
        .map(|_| match kind {
            "cartesian" => ObjectBlock {
                position: ObjectPosition::Cartesian {
                    x: r.next() * 2.0 - 1.0,
                    y: r.next() * 2.0 - 1.0,
                    z: r.next() * 2.0 - 1.0,
                },
                cartesian: true,
                ..ObjectBlock::default()
            },
            _ => ObjectBlock {
                position: ObjectPosition::Polar {
                    azimuth: r.next() * 360.0 - 180.0,
                    elevation: r.next() * 180.0 - 90.0,
                    distance: 1.0,
                },
                width: if kind == "extent" { width } else { 0.0 },
                height: if kind == "extent" { height } else { 0.0 },
                ..ObjectBlock::default()
            },
        })
        .collect()
}
