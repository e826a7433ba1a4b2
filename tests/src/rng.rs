//! A small seeded random generator (xorshift64*) for the randomised tests and stress runs:
//! the same seed gives the same sequence, so a failure can be replayed.

use std::time::Duration;

/// xorshift64*, seeded.
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` (any value, 0 included).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `[0, n)` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// A duration in `[0, bound)`.
    pub fn delay(&mut self, bound: Duration) -> Duration {
        Duration::from_nanos(self.next_u64() % (bound.as_nanos().max(1) as u64))
    }
}
