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

/// The Prometheus text at `url` (a `/metrics` endpoint), with the bearer
/// `token` where the listener asks for one. Panics on any failure: a test
/// that scrapes needs the page.
pub async fn scrape(url: &str, token: Option<&str>) -> String {
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("scrape /metrics");
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    response.text().await.expect("read /metrics")
}
