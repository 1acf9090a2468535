//! The one pseudo-random generator of the crate: Marsaglia's xorshift64
//! (13, 7, 17), for deterministic noise (room tails, the bench's source
//! signal) and the tests' generated cases. Not for anything that must be
//! unpredictable.

/// Advances `state` (never 0) and returns it.
#[inline]
pub fn xorshift64(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// The next value in [0, 1) from the top 53 bits.
#[inline]
pub fn unit_f64(state: &mut u64) -> f64 {
    (xorshift64(state) >> 11) as f64 / (1u64 << 53) as f64
}
