//! Small statistics over plain numbers.

/// The `q`-th percentile (0..=100) with linear interpolation between order statistics
/// (NumPy's default), of unsorted values.
pub fn percentile(values: &[f32], q: f64) -> f64 {
    assert!(!values.is_empty(), "percentile of nothing");
    let mut v: Vec<f64> = values.iter().map(|&x| x as f64).collect();
    v.sort_by(f64::total_cmp);
    let rank = q / 100.0 * (v.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    v[lo] + (v[hi] - v[lo]) * (rank - lo as f64)
}

/// Mean and sample standard deviation (n - 1); std is 0 for a single value.
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_match_numpy() {
        // numpy.percentile([1, 2, 3, 4], [15, 50, 85]) == [1.45, 2.5, 3.55]
        let v = [4.0, 1.0, 3.0, 2.0];
        assert!((percentile(&v, 15.0) - 1.45).abs() < 1e-9);
        assert!((percentile(&v, 50.0) - 2.5).abs() < 1e-9);
        assert!((percentile(&v, 85.0) - 3.55).abs() < 1e-9);
        assert_eq!(percentile(&[5.0], 85.0), 5.0);
    }

    #[test]
    fn sample_std() {
        let (m, s) = mean_std(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(m, 5.0);
        assert!((s - 2.138089935299395).abs() < 1e-12);
    }
}
