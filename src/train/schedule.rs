//! Learning-rate schedules as pure functions of the step, so a resumed run needs no state.

use crate::config::{Schedule, TrainSpec};

/// The learning rate for the 0-based `step`.
pub fn learning_rate(t: &TrainSpec, step: u64) -> f64 {
    match t.schedule {
        Schedule::Constant => t.lr,
        Schedule::Step => t.lr * t.gamma.powi((step / t.step_size) as i32),
        Schedule::Exponential => t.lr * t.gamma.powf(step as f64 / t.step_size as f64),
        Schedule::Cosine => {
            let progress = step as f64 / t.steps.max(1) as f64;
            t.min_lr + 0.5 * (t.lr - t.min_lr) * (1.0 + (std::f64::consts::PI * progress).cos())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(schedule: Schedule) -> TrainSpec {
        TrainSpec {
            schedule,
            lr: 1.0,
            gamma: 0.5,
            step_size: 10,
            steps: 100,
            min_lr: 0.0,
            ..TrainSpec::default()
        }
    }

    #[test]
    fn step_halves_every_step_size() {
        let t = spec(Schedule::Step);
        assert_eq!(learning_rate(&t, 0), 1.0);
        assert_eq!(learning_rate(&t, 9), 1.0);
        assert_eq!(learning_rate(&t, 10), 0.5);
        assert_eq!(learning_rate(&t, 25), 0.25);
    }

    #[test]
    fn exponential_is_smooth() {
        let t = spec(Schedule::Exponential);
        assert!((learning_rate(&t, 5) - 0.5f64.sqrt()).abs() < 1e-12);
        assert!((learning_rate(&t, 20) - 0.25).abs() < 1e-12);
    }

    #[test]
    fn cosine_runs_from_lr_to_min() {
        let t = spec(Schedule::Cosine);
        assert_eq!(learning_rate(&t, 0), 1.0);
        assert!((learning_rate(&t, 50) - 0.5).abs() < 1e-12);
        assert!(learning_rate(&t, 100).abs() < 1e-12);
    }
}
