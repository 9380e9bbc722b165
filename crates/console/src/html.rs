//! HTML text: escaping, and the one table every list page is (filtered and sorted on the
//! server, so that reading works without JavaScript).

use std::cmp::Ordering;
use std::fmt::Write;

/// `s` as HTML text or a quoted attribute value: the five characters that could start markup or
/// end an attribute, escaped (also the Airflow stand-in's pages, `net::webserver`).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One table cell: the text it is filtered and sorted by, and its markup.
#[derive(Debug, Clone)]
pub struct Cell {
    pub text: String,
    pub html: String,
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        let text = s.into();
        Cell {
            html: esc(&text),
            text,
        }
    }

    pub fn link(s: impl Into<String>, href: &str) -> Cell {
        let text = s.into();
        Cell {
            html: format!("<a href=\"{}\">{}</a>", esc(href), esc(&text)),
            text,
        }
    }

    /// A state, coloured by what it means (available, pending, failed).
    pub fn status(s: impl Into<String>) -> Cell {
        let text = s.into();
        Cell {
            html: format!(
                "<span class=\"status {}\">{}</span>",
                status_class(&text),
                esc(&text)
            ),
            text,
        }
    }

    /// Several values, one per line.
    pub fn lines(items: &[String]) -> Cell {
        Cell {
            text: items.join(" "),
            html: items
                .iter()
                .map(|i| esc(i))
                .collect::<Vec<_>>()
                .join("<br>"),
        }
    }
}

/// The colour of a state: `ok`, `wait` or `bad` (or `plain`).
pub fn status_class(s: &str) -> &'static str {
    let l = s.to_ascii_lowercase();
    const OK: &[&str] = &[
        "available",
        "active",
        "running",
        "healthy",
        "issued",
        "attached",
        "in-use",
        "works",
        "associated",
    ];
    if OK.contains(&l.as_str()) || l.ends_with("_complete") && !l.contains("rollback") {
        "ok"
    } else if l.contains("fail")
        || l.contains("unhealthy")
        || l.contains("broken")
        || l.contains("rollback")
        || l.contains("deleted")
        || l.contains("terminated")
        || l.contains("expired")
        || l == "stopped"
        || l == "rejected"
    {
        "bad"
    } else if l.contains("pending")
        || l.contains("progress")
        || l.contains("creating")
        || l.contains("provisioning")
        || l.contains("initial")
        || l.contains("updating")
        || l.contains("deleting")
        || l.contains("validation")
        || l.contains("starting")
    {
        "wait"
    } else {
        "plain"
    }
}

/// A list page's table.
pub struct Table {
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

/// How a table is shown: the filter text and the sorted column (from the URL).
#[derive(Debug, Clone, Default)]
pub struct View {
    pub filter: String,
    pub sort: Option<usize>,
    pub desc: bool,
}

impl Table {
    pub fn new(columns: Vec<&'static str>) -> Table {
        Table {
            columns,
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), self.columns.len());
        self.rows.push(row);
    }

    /// The table as HTML: a filter box (a GET form carrying `keep`, the page's other
    /// parameters), the rows that contain the filter text (any cell, case-insensitive) in the
    /// chosen order, and column headers that sort (`link(column, desc)` is a header's URL).
    pub fn render(
        mut self,
        view: &View,
        keep: &[(&str, &str)],
        link: impl Fn(usize, bool) -> String,
        out: &mut String,
    ) {
        let total = self.rows.len();
        let needle = view.filter.trim().to_lowercase();
        if !needle.is_empty() {
            self.rows.retain(|r| {
                r.iter()
                    .any(|c| c.text.to_lowercase().contains(needle.as_str()))
            });
        }
        if let Some(col) = view.sort.filter(|c| *c < self.columns.len()) {
            self.rows.sort_by(|a, b| {
                let o = natural(&a[col].text, &b[col].text);
                if view.desc {
                    o.reverse()
                } else {
                    o
                }
            });
        }
        out.push_str("<form class=\"filter\" method=\"get\">");
        for (k, v) in keep {
            let _ = write!(
                out,
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                esc(k),
                esc(v)
            );
        }
        let _ = write!(
            out,
            "<input type=\"search\" name=\"q\" value=\"{}\" placeholder=\"Filter\" aria-label=\"Filter\"> \
             <button type=\"submit\">Filter</button> <span class=\"count\">{} of {}</span></form>",
            esc(&view.filter),
            self.rows.len(),
            total
        );
        out.push_str("<table><thead><tr>");
        for (i, c) in self.columns.iter().enumerate() {
            let sorted = view.sort == Some(i);
            let desc = sorted && !view.desc;
            let mark = match (sorted, view.desc) {
                (true, false) => " ▲",
                (true, true) => " ▼",
                _ => "",
            };
            let _ = write!(
                out,
                "<th><a href=\"{}\">{}{mark}</a></th>",
                esc(&link(i, desc)),
                esc(c)
            );
        }
        out.push_str("</tr></thead><tbody>");
        if self.rows.is_empty() {
            let _ = write!(
                out,
                "<tr><td class=\"empty\" colspan=\"{}\">Nothing to show.</td></tr>",
                self.columns.len()
            );
        }
        for r in &self.rows {
            out.push_str("<tr>");
            for c in r {
                out.push_str("<td>");
                out.push_str(&c.html);
                out.push_str("</td>");
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table>");
    }
}

/// Text order with digit runs compared as numbers (`10.0.2.9` before `10.0.10.1`).
pub fn natural(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, _) => return Ordering::Less,
            (_, None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let (na, nb) = (trim_zeros(&a[..da]), trim_zeros(&b[..db]));
                let o = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
                if o != Ordering::Equal {
                    return o;
                }
                a = &a[da..];
                b = &b[db..];
            }
            (Some(x), Some(y)) => {
                let o = x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase());
                if o != Ordering::Equal {
                    return o;
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

fn trim_zeros(d: &[u8]) -> &[u8] {
    let n = d.iter().take_while(|c| **c == b'0').count();
    &d[n.min(d.len().saturating_sub(1))..]
}

/// A definition list of facts (a detail page's summary).
pub fn facts(items: &[(&str, String)], out: &mut String) {
    out.push_str("<dl class=\"facts\">");
    for (k, v) in items {
        let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
    }
    out.push_str("</dl>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn natural_order_compares_numbers_as_numbers() {
        let mut v = vec!["10.0.10.1", "10.0.2.9", "10.0.2.10", "b", "A"];
        v.sort_by(|a, b| natural(a, b));
        assert_eq!(v, vec!["10.0.2.9", "10.0.2.10", "10.0.10.1", "A", "b"]);
        assert_eq!(natural("x007", "x7"), Ordering::Equal);
    }

    #[test]
    fn tables_filter_any_cell_and_sort_by_the_chosen_column() {
        let mut t = Table::new(vec!["Id", "State"]);
        t.push(vec![Cell::text("vpce-2"), Cell::status("pending")]);
        t.push(vec![Cell::text("vpce-10"), Cell::status("available")]);
        t.push(vec![Cell::text("vpce-9"), Cell::status("available")]);
        let mut out = String::new();
        let view = View {
            filter: "AVAIL".into(),
            sort: Some(0),
            desc: true,
        };
        t.render(
            &view,
            &[("region", "us-west-2")],
            |i, d| format!("?sort={i}&desc={d}"),
            &mut out,
        );
        assert!(out.contains("2 of 3"), "{out}");
        assert!(
            !out.contains("vpce-2<"),
            "the pending row is filtered out: {out}"
        );
        let (ten, nine) = (out.find("vpce-10").unwrap(), out.find("vpce-9").unwrap());
        assert!(ten < nine, "descending natural order: {out}");
        assert!(out.contains("name=\"region\" value=\"us-west-2\""), "{out}");
        assert!(out.contains("status ok"), "{out}");
    }

    #[test]
    fn states_get_their_colours() {
        assert_eq!(status_class("available"), "ok");
        assert_eq!(status_class("CREATE_COMPLETE"), "ok");
        assert_eq!(status_class("UPDATE_ROLLBACK_COMPLETE"), "bad");
        assert_eq!(status_class("pendingAcceptance"), "wait");
        assert_eq!(status_class("CREATE_FAILED"), "bad");
        assert_eq!(status_class("unhealthy"), "bad");
        assert_eq!(status_class("vpc_endpoint"), "plain");
    }
}
