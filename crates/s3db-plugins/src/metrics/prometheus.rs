//! The Prometheus text exposition format (version 0.0.4) of the metrics.

use std::fmt::Write;

use super::registry::{LATENCY_BUCKETS, OperationStats};

/// Name of the calls counter.
pub const OPERATIONS_TOTAL: &str = "s3db_operations_total";
/// Name of the errors counter.
pub const ERRORS_TOTAL: &str = "s3db_operation_errors_total";
/// Name of the latency histogram.
pub const DURATION_SECONDS: &str = "s3db_operation_duration_seconds";

/// The content type of [`MetricsPlugin::render`](super::MetricsPlugin::render)'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `stats` in the Prometheus text format: two counters and a histogram, each with its
/// `# HELP` and `# TYPE` lines, series labelled `resource` and `operation`.
pub(crate) fn render(stats: &[OperationStats]) -> String {
    let mut out = String::new();
    family(
        &mut out,
        OPERATIONS_TOTAL,
        "Resource operations completed, successful or not.",
        "counter",
    );
    for s in stats {
        sample(&mut out, OPERATIONS_TOTAL, s, None, s.count);
    }
    family(
        &mut out,
        ERRORS_TOTAL,
        "Resource operations that returned an error.",
        "counter",
    );
    for s in stats {
        sample(&mut out, ERRORS_TOTAL, s, None, s.errors);
    }
    family(
        &mut out,
        DURATION_SECONDS,
        "Time taken by resource operations, in seconds.",
        "histogram",
    );
    let bucket = format!("{DURATION_SECONDS}_bucket");
    for s in stats {
        for (le, count) in LATENCY_BUCKETS.iter().zip(s.buckets) {
            sample(&mut out, &bucket, s, Some(&le.to_string()), count);
        }
        sample(&mut out, &bucket, s, Some("+Inf"), s.count);
        let _ = writeln!(
            out,
            "{DURATION_SECONDS}_sum{} {}",
            labels(s, None),
            s.sum_seconds
        );
        sample(
            &mut out,
            &format!("{DURATION_SECONDS}_count"),
            s,
            None,
            s.count,
        );
    }
    out
}

fn family(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, s: &OperationStats, le: Option<&str>, value: u64) {
    let _ = writeln!(out, "{name}{} {value}", labels(s, le));
}

fn labels(s: &OperationStats, le: Option<&str>) -> String {
    let mut text = format!(
        "{{resource=\"{}\",operation=\"{}\"",
        escape_label(&s.resource),
        escape_label(s.operation)
    );
    if let Some(le) = le {
        let _ = write!(text, ",le=\"{le}\"");
    }
    text.push('}');
    text
}

/// A label value with `\`, `"` and line feeds escaped.
pub(crate) fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A `# HELP` text with `\` and line feeds escaped.
fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_escape_backslash_quote_and_newline() {
        assert_eq!(escape_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
        assert_eq!(escape_help("x\\y\nz"), "x\\\\y\\nz");
    }

    #[test]
    fn an_empty_registry_still_declares_the_families() {
        let text = render(&[]);
        assert_eq!(text.lines().filter(|l| l.starts_with("# TYPE")).count(), 3);
        assert_eq!(text.lines().filter(|l| !l.starts_with('#')).count(), 0);
    }
}
