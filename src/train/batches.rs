//! The order in which training examples are visited: a fresh permutation per epoch, derived
//! from (seed, epoch) alone. Batch `k` is positions `k*b .. (k+1)*b` of the concatenated
//! epochs, so any step's batch can be recomputed after a resume without saved RNG state.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_pcg::Pcg64;

use crate::util::rng::mix;

pub struct BatchOrder {
    n: usize,
    batch: usize,
    seed: u64,
    epoch: u64,
    perm: Vec<usize>,
}

impl BatchOrder {
    pub fn new(n: usize, batch: usize, seed: u64) -> Self {
        assert!(n > 0 && batch > 0);
        let mut order = Self {
            n,
            batch,
            seed,
            epoch: u64::MAX,
            perm: Vec::new(),
        };
        order.ensure_epoch(0);
        order
    }

    fn ensure_epoch(&mut self, epoch: u64) {
        if self.epoch != epoch {
            self.perm = (0..self.n).collect();
            self.perm
                .shuffle(&mut Pcg64::seed_from_u64(mix(self.seed, epoch)));
            self.epoch = epoch;
        }
    }

    /// Example indices of the 0-based `step`'s batch.
    pub fn batch(&mut self, step: u64) -> Vec<usize> {
        let start = step * self.batch as u64;
        (start..start + self.batch as u64)
            .map(|pos| {
                self.ensure_epoch(pos / self.n as u64);
                self.perm[(pos % self.n as u64) as usize]
            })
            .collect()
    }

    /// Epochs completed after `steps` steps (fractional).
    pub fn epochs(&self, steps: u64) -> f64 {
        steps as f64 * self.batch as f64 / self.n as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_epoch_visits_every_example_once() {
        let mut order = BatchOrder::new(10, 5, 7);
        let mut seen: Vec<usize> = (0..2).flat_map(|s| order.batch(s)).collect();
        seen.sort();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn batches_straddle_epochs_and_are_recomputable() {
        let mut a = BatchOrder::new(7, 3, 1);
        let first: Vec<Vec<usize>> = (0..10).map(|s| a.batch(s)).collect();
        let mut b = BatchOrder::new(7, 3, 1);
        assert_eq!(b.batch(9), first[9]);
        assert_eq!(b.batch(2), first[2]);
        assert_ne!(BatchOrder::new(7, 3, 2).batch(0), first[0]);
    }
}
