//! Statistics over plain numbers: the one mean/std and the percentile.

/// Mean and sample standard deviation (n - 1; `None` below two values); `None` for no values.
/// Identical values give exactly that value and spread 0, without rounding: three runs of 0.95
/// have mean 0.95.
pub fn mean_std(values: &[f64]) -> Option<(f64, Option<f64>)> {
    if values.is_empty() {
        return None;
    }
    if values.iter().all(|v| *v == values[0]) {
        return Some((values[0], (values.len() > 1).then_some(0.0)));
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let std = (values.len() > 1)
        .then(|| (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt());
    Some((mean, std))
}

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
        let (m, s) = mean_std(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert_eq!(m, 5.0);
        assert!((s.unwrap() - 2.138089935299395).abs() < 1e-12);
        assert_eq!(mean_std(&[5.0]), Some((5.0, None)));
        assert_eq!(mean_std(&[]), None);
        assert_eq!(mean_std(&[0.95, 0.95, 0.95]), Some((0.95, Some(0.0))));
    }
}
