//! Reading selfbrake's Prometheus text in tests.

/// The value of the sample `series` (metric name and labels, exactly as
/// rendered) in `text`, if it is there.
///
/// ```
/// let text = "selfbrake_config_reloads_total{result=\"ok\"} 2\n";
/// let ok = selfbrake_tests::metrics::sample(text, "selfbrake_config_reloads_total{result=\"ok\"}");
/// assert_eq!(ok, Some(2.0));
/// ```
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}
