//! How figures are written in the report: rates, durations, sizes and ratios with units, and
//! Markdown tables. Pure functions of their input, so the report reads the same for the same
//! figures.

/// A rate of items per second: `12.5 M/s`, `950 K/s`, `318 /s`.
pub fn rate(per_second: f64) -> String {
    if per_second >= 1e6 {
        format!("{:.2} M/s", per_second / 1e6)
    } else if per_second >= 1e3 {
        format!("{:.1} K/s", per_second / 1e3)
    } else {
        format!("{per_second:.0} /s")
    }
}

/// A rate of bytes per second in binary units: `2.00 GiB/s`, `350 MiB/s`.
pub fn byte_rate(per_second: f64) -> String {
    const GIB: f64 = (1u64 << 30) as f64;
    const MIB: f64 = (1u64 << 20) as f64;
    if per_second >= GIB {
        format!("{:.2} GiB/s", per_second / GIB)
    } else {
        format!("{:.0} MiB/s", per_second / MIB)
    }
}

/// A duration in nanoseconds: `13.4 ns`, `405 ns`, `3.10 µs`, `2.50 ms`.
pub fn nanos(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else if ns >= 100.0 {
        format!("{ns:.0} ns")
    } else if ns >= 10.0 {
        format!("{ns:.1} ns")
    } else {
        format!("{ns:.2} ns")
    }
}

/// A size in bytes, in binary units: `7.4 MiB`, `1.20 GiB`.
pub fn bytes(n: u64) -> String {
    let n = n as f64;
    if n >= (1u64 << 30) as f64 {
        format!("{:.2} GiB", n / (1u64 << 30) as f64)
    } else if n >= (1u64 << 20) as f64 {
        format!("{:.1} MiB", n / (1u64 << 20) as f64)
    } else {
        format!("{:.1} KiB", n / 1024.0)
    }
}

/// A ratio: `1.09×`.
pub fn ratio(value: f64) -> String {
    format!("{value:.2}×")
}

/// A share: `84 %`.
pub fn percent(value: f64) -> String {
    format!("{:.0} %", value * 100.0)
}

/// A whole number with thousands separators: `1,000,000`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A Markdown table of figures: a header row, the alignment row (first column left, the rest
/// right, as numbers are) and the rows, each cell as given.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    table_aligned(headers, rows, 1)
}

/// A Markdown table whose first `left` columns are aligned left and the rest right.
pub fn table_aligned(headers: &[&str], rows: &[Vec<String>], left: usize) -> String {
    let mut out = String::new();
    out.push_str(&format!("| {} |\n", headers.join(" | ")));
    let align: Vec<&str> =
        (0..headers.len()).map(|i| if i < left { "---" } else { "---:" }).collect();
    out.push_str(&format!("|{}|\n", align.join("|")));
    for row in rows {
        out.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_switch_at_each_thousand() {
        assert_eq!(rate(12.5e6), "12.50 M/s");
        assert_eq!(rate(950e3), "950.0 K/s");
        assert_eq!(rate(318.4), "318 /s");
        assert_eq!(nanos(13.44), "13.4 ns");
        assert_eq!(nanos(7.816), "7.82 ns");
        assert_eq!(nanos(405.2), "405 ns");
        assert_eq!(nanos(3100.0), "3.10 µs");
        assert_eq!(nanos(2.5e6), "2.50 ms");
        assert_eq!(byte_rate(2.0 * (1u64 << 30) as f64), "2.00 GiB/s");
        assert_eq!(byte_rate(350.0 * (1u64 << 20) as f64), "350 MiB/s");
        assert_eq!(bytes(7 << 20), "7.0 MiB");
        assert_eq!(ratio(1.094), "1.09×");
        assert_eq!(percent(0.843), "84 %");
        assert_eq!(count(1_000_000), "1,000,000");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
    }

    #[test]
    fn table_has_header_alignment_and_rows() {
        let rows = vec![vec!["a".to_owned(), "1".to_owned()], vec!["b".to_owned(), "2".to_owned()]];
        assert_eq!(
            table(&["name", "n"], &rows),
            "| name | n |\n|---|---:|\n| a | 1 |\n| b | 2 |\n"
        );
    }
}
