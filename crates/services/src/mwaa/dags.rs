//! The DAGs of an environment: the Python files under its `DagS3Path` in its source bucket, as
//! MWAA syncs them to Airflow (a file shows up once it is older than the sync interval, about
//! 30 s on AWS, scaled here) and as Airflow's parser finds their DAG ids.
//!
//! The ids are read without running Python, from the forms DAG files use: `DAG("id", …)`,
//! `DAG(dag_id="id", …)` (also as `with DAG(…) as dag:`), `@dag(dag_id="id")` and a bare `@dag` /
//! `@dag(…)` on `def name(…)` (the function's name is the id). Ids built at run time (f-strings,
//! variables, loops making DAGs) are not found, and ZIP files are not opened. A file is parsed
//! only if it contains both "airflow" and "dag" (Airflow's safe mode).

use super::Environment;
use crate::s3::{self, objects::Object};
use crate::Ctx;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

/// How long MWAA takes to copy a new DAG file to Airflow, in AWS seconds.
pub const SYNC_SECONDS: f64 = 30.0;

/// The largest DAG file read; bigger ones are skipped (Airflow would time out on them anyway).
const MAX_FILE: u64 = 1 << 20;

/// A DAG found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dag {
    pub id: String,
    /// The `schedule` (or `schedule_interval`) argument as written: a string's value, or the
    /// expression's text; `None` when absent or `None`.
    pub schedule: Option<String>,
    /// Where Airflow reads the file: `/usr/local/airflow/dags/<path under DagS3Path>`.
    pub fileloc: String,
}

/// The DAGs Airflow has of environment `env` now: the synced `.py` files under its DAG folder,
/// in key order, the first file's DAG winning a duplicated id.
pub fn of(ctx: &Ctx<'_>, env: &Environment) -> Vec<Dag> {
    let Some(bucket) = env.source_bucket() else {
        return Vec::new();
    };
    let folder = env.dag_folder();
    let files: Vec<std::sync::Arc<Object>> = ctx.store.read(|v| {
        v.list::<Object>(&s3::objects_of(bucket))
            .into_iter()
            .filter(|o| !o.delete_marker)
            .filter(|o| o.key.starts_with(&folder) && o.key.ends_with(".py"))
            .filter(|o| o.size <= MAX_FILE)
            .filter(|o| synced(ctx, o))
            .collect()
    });
    let mut dags: Vec<Dag> = Vec::new();
    for file in files {
        let Some(found) = parsed(ctx.store, &file.blob, file.size) else {
            continue;
        };
        let fileloc = format!("/usr/local/airflow/dags/{}", &file.key[folder.len()..]);
        for (id, schedule) in found.iter() {
            if !dags.iter().any(|d| d.id == *id) {
                dags.push(Dag {
                    id: id.clone(),
                    schedule: schedule.clone(),
                    fileloc: fileloc.clone(),
                });
            }
        }
    }
    dags
}

/// What [`parse`] finds in a file.
type Found = Arc<Vec<(String, Option<String>)>>;

/// The most parsed files kept; past it the cache starts again.
const CACHED_FILES: usize = 4096;

/// [`parse`] of an object's content. A content file never changes once written (a new PUT makes
/// a new one), so a file of a persistent store is read and parsed once, not on every REST call,
/// trigger and `dags list`; content held in memory (ephemeral stores) is parsed each time.
fn parsed(store: &airlock_store::Store, blob: &s3::Blob, size: u64) -> Option<Found> {
    static CACHE: LazyLock<Mutex<HashMap<String, Found>>> = LazyLock::new(Mutex::default);
    let cache = || CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(hit) = blob.file.as_ref().and_then(|f| cache().get(f).cloned()) {
        return Some(hit);
    }
    let bytes = s3::blob::read(store, blob, 0, size).ok()?;
    let found: Found = Arc::new(parse(&String::from_utf8_lossy(&bytes)));
    if let Some(file) = &blob.file {
        let mut cache = cache();
        if cache.len() >= CACHED_FILES {
            cache.clear();
        }
        cache.insert(file.clone(), found.clone());
    }
    Some(found)
}

fn synced(ctx: &Ctx<'_>, o: &Object) -> bool {
    time::OffsetDateTime::parse(
        &o.last_modified,
        &time::format_description::well_known::Rfc3339,
    )
    .is_ok_and(|at| ctx.clock.passed(at, SYNC_SECONDS))
}

/// The DAG ids (and schedules) a Python file defines, in the order they appear.
pub fn parse(source: &str) -> Vec<(String, Option<String>)> {
    let lower = source.to_ascii_lowercase();
    if !lower.contains("airflow") || !lower.contains("dag") {
        return Vec::new();
    }
    let code = strip_comments(source);
    let mut found: Vec<(String, Option<String>)> = Vec::new();
    let mut push = |id: String, schedule: Option<String>| {
        if !id.is_empty() && !found.iter().any(|(d, _)| *d == id) {
            found.push((id, schedule));
        }
    };
    let b = code.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let word_start = i == 0 || !is_ident(b[i - 1]);
        if word_start && b[i..].starts_with(b"DAG") && !b.get(i + 3).copied().is_some_and(is_ident)
        {
            let open = skip_space(b, i + 3);
            if b.get(open) == Some(&b'(') {
                if let Some(args) = call_args(&code, open) {
                    let id = string_at(args, skip_space(args.as_bytes(), 0))
                        .or_else(|| keyword(args, "dag_id").and_then(|v| string_at(v, 0)));
                    if let Some(id) = id {
                        push(id, schedule(args));
                    }
                    i = open + args.len() + 2;
                    continue;
                }
            }
        }
        if b[i..].starts_with(b"@dag") && !b.get(i + 4).copied().is_some_and(is_ident) {
            let mut after = i + 4;
            let mut args = "";
            let open = skip_space(b, after);
            if b.get(open) == Some(&b'(') {
                if let Some(a) = call_args(&code, open) {
                    args = a;
                    after = open + a.len() + 2;
                }
            }
            let id = keyword(args, "dag_id")
                .and_then(|v| string_at(v, 0))
                .or_else(|| decorated_function(&code[after..]));
            if let Some(id) = id {
                push(id, schedule(args));
            }
            i = after;
            continue;
        }
        i += 1;
    }
    found
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn skip_space(b: &[u8], mut i: usize) -> usize {
    while b
        .get(i)
        .is_some_and(|c| c.is_ascii_whitespace() || *c == b'\\')
    {
        i += 1;
    }
    i
}

/// The source with `#` comments removed (outside string literals), lengths kept.
fn strip_comments(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut escaped = false;
    for c in source.chars() {
        if comment {
            if c == '\n' {
                comment = false;
                out.push(c);
            } else {
                out.push(' ');
            }
            continue;
        }
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q || c == '\n' {
                    quote = None;
                }
                out.push(c);
            }
            None if c == '#' => {
                comment = true;
                out.push(' ');
            }
            None => {
                if c == '"' || c == '\'' {
                    quote = Some(c);
                }
                out.push(c);
            }
        }
    }
    out
}

/// The text between the parenthesis at `open` and its match (strings respected), if the call
/// closes.
fn call_args(code: &str, open: usize) -> Option<&str> {
    let b = code.as_bytes();
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut i = open;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(_) if c == b'\\' => i += 1,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                b'"' | b'\'' => quote = Some(c),
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        return code.get(open + 1..i);
                    }
                }
                _ => {}
            },
        }
        i += 1;
    }
    None
}

/// A plain string literal (`"…"` or `'…'`, no prefix) starting at `at`: its value.
fn string_at(text: &str, at: usize) -> Option<String> {
    let b = text.as_bytes();
    let q = *b.get(at)?;
    if q != b'"' && q != b'\'' {
        return None;
    }
    let rest = &text[at + 1..];
    let end = rest.find(q as char)?;
    let value = &rest[..end];
    (!value.contains('\n') && !value.contains('\\')).then(|| value.to_owned())
}

/// The text after `name=` among a call's top-level arguments (trimmed), if given.
fn keyword<'a>(args: &'a str, name: &str) -> Option<&'a str> {
    let b = args.as_bytes();
    let mut from = 0;
    while let Some(at) = args[from..].find(name) {
        let start = from + at;
        let end = start + name.len();
        let before_ok = start == 0 || !is_ident(b[start - 1]);
        let eq = skip_space(b, end);
        if before_ok && b.get(eq) == Some(&b'=') && b.get(eq + 1) != Some(&b'=') {
            return Some(args[eq + 1..].trim_start());
        }
        from = end;
    }
    None
}

/// `schedule=` or `schedule_interval=`: a string's value, an expression's text up to the next
/// top-level comma, `None` for `None`.
fn schedule(args: &str) -> Option<String> {
    let v = keyword(args, "schedule").or_else(|| keyword(args, "schedule_interval"))?;
    if let Some(s) = string_at(v, 0) {
        return Some(s);
    }
    let mut depth = 0i32;
    let end = v
        .char_indices()
        .find(|&(_, c)| {
            match c {
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => depth -= 1,
                _ => {}
            }
            (c == ',' && depth == 0) || depth < 0
        })
        .map_or(v.len(), |(i, _)| i);
    let expr = v[..end].trim();
    (expr != "None" && !expr.is_empty()).then(|| expr.to_owned())
}

/// The name of the next `def name(` (a decorated function), skipping further decorators.
fn decorated_function(code: &str) -> Option<String> {
    let at = code.find("def ")?;
    // Only decorators and blank space may come between.
    let between = code[..at].trim();
    if !between.is_empty() && !between.starts_with('@') {
        return None;
    }
    let name: String = code[at + 4..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    /// A persistent store's DAG file is read once: with its content file gone from the disk, the
    /// same object still gives its DAGs; a new upload (a new content file) is read afresh.
    #[test]
    fn a_content_file_is_parsed_once() {
        let dir = std::env::temp_dir().join(format!("airlock-dags-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = airlock_store::Store::open(&dir.join("airlock.db"), &[]).unwrap();
        let source = b"from airflow import DAG\nwith DAG('first') as dag:\n    pass\n";
        let blob = crate::s3::blob::write(&store, source).unwrap();
        let ids = |b: &crate::s3::Blob, size: usize| {
            super::parsed(&store, b, size as u64).map(|f| f[0].0.clone())
        };
        assert_eq!(ids(&blob, source.len()).as_deref(), Some("first"));
        let file = blob.file.clone().expect("a persistent store keeps a file");
        std::fs::remove_file(dir.join("s3/objects").join(&file)).unwrap();
        assert_eq!(ids(&blob, source.len()).as_deref(), Some("first"));
        let other = b"from airflow import DAG\nDAG(dag_id='second')\n";
        let next = crate::s3::blob::write(&store, other).unwrap();
        assert_eq!(ids(&next, other.len()).as_deref(), Some("second"));
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    use super::parse;

    fn ids(source: &str) -> Vec<String> {
        parse(source).into_iter().map(|(id, _)| id).collect()
    }

    #[test]
    fn the_common_forms_are_found() {
        let src = r#"
from airflow import DAG
from airflow.decorators import dag, task
import pendulum

with DAG("positional", schedule="@daily", start_date=pendulum.datetime(2024, 1, 1)) as d:
    pass

other = DAG(
    dag_id='keyword',
    schedule_interval=timedelta(hours=1),
)

@dag(dag_id="decorated_with_id", schedule=None)
def ignored_name():
    pass

@dag(schedule="0 * * * *", catchup=False)
@some_other_decorator
def function_name():
    pass

@dag
def bare():
    pass
"#;
        assert_eq!(
            parse(src),
            vec![
                ("positional".into(), Some("@daily".into())),
                ("keyword".into(), Some("timedelta(hours=1)".into())),
                ("decorated_with_id".into(), None),
                ("function_name".into(), Some("0 * * * *".into())),
                ("bare".into(), None),
            ]
        );
    }

    #[test]
    fn what_is_not_a_dag_definition_is_skipped() {
        // No "airflow" in the file: Airflow's safe mode does not parse it.
        assert!(ids("DAG('x')").is_empty());
        let src = r#"
import airflow
# DAG("commented_out")
MyDAG("not_a_dag")
DAG(f"made_{at}_run_time")
DAG(dag_id=name)
with DAG("real") as dag:
    pass
with DAG("real") as again:
    pass
"#;
        assert_eq!(ids(src), ["real"]);
    }

    #[test]
    fn unbalanced_or_truncated_files_do_not_panic() {
        for src in [
            "airflow dag DAG(",
            "airflow dag DAG(dag_id=",
            "airflow dag @dag(",
            "airflow dag @dag",
            "airflow dag DAG('x",
            "airflow dag DAG(\"é\", schedule=\"ü\")",
            "airflow dag )))DAG(((",
        ] {
            let _ = parse(src);
        }
        assert_eq!(ids("airflow DAG(\"é\")"), ["é"]);
    }
}
