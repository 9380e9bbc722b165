//! CloudFormation → Stacks, and one stack: its resources, outputs and events.

use crate::html::{esc, facts, Cell, Table};
use crate::{items, s, Content, Req};
use airlock_protocol::ApiError;
use serde_json::{json, Value};
use std::fmt::Write;

/// The live stacks, or one stack.
pub fn stacks(r: &Req<'_>, name: &str) -> Result<Content, ApiError> {
    if !name.is_empty() {
        return stack(r, name);
    }
    let list = r.api.all(
        "cloudformation",
        "DescribeStacks",
        json!({}),
        "Stacks",
        ("NextToken", "NextToken"),
    )?;
    let mut t = Table::new(vec![
        "Stack name",
        "Status",
        "Reason",
        "Created",
        "Updated",
        "Description",
    ]);
    for st in &list {
        let n = s(st, "StackName");
        t.push(vec![
            Cell::link(n, &r.href(&format!("cloudformation/stacks/{n}"), &[])),
            Cell::status(s(st, "StackStatus")),
            Cell::text(s(st, "StackStatusReason")),
            Cell::text(s(st, "CreationTime")),
            Cell::text(s(st, "LastUpdatedTime")),
            Cell::text(s(st, "Description")),
        ]);
    }
    Ok(r.listing("Stacks", "cloudformation/stacks", t, false))
}

fn stack(r: &Req<'_>, name: &str) -> Result<Content, ApiError> {
    let out = r.api.call(
        "cloudformation",
        "DescribeStacks",
        json!({ "StackName": name }),
    )?;
    let st = items(&out, "Stacks").next().cloned().unwrap_or(Value::Null);
    // Every page of a list this stack answers.
    let of_stack = |op: &str, key: &str| {
        let input = json!({ "StackName": name });
        r.api
            .all("cloudformation", op, input, key, ("NextToken", "NextToken"))
    };
    let mut main = format!(
        "<p class=\"crumbs\"><a href=\"{}\">Stacks</a> › {}</p><h1>{}</h1>",
        esc(&r.href("cloudformation/stacks", &[])),
        esc(name),
        esc(name)
    );
    facts(
        &[
            ("Status", s(&st, "StackStatus").to_owned()),
            ("Reason", s(&st, "StackStatusReason").to_owned()),
            ("Stack ID", s(&st, "StackId").to_owned()),
            ("Created", s(&st, "CreationTime").to_owned()),
        ],
        &mut main,
    );
    main.push_str("<h2>Outputs</h2><table><thead><tr><th>Key</th><th>Value</th><th>Export</th></tr></thead><tbody>");
    for o in items(&st, "Outputs") {
        let _ = write!(
            main,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(s(o, "OutputKey")),
            esc(s(o, "OutputValue")),
            esc(s(o, "ExportName"))
        );
    }
    main.push_str("</tbody></table><h2>Resources</h2>");
    let resources = of_stack("ListStackResources", "StackResourceSummaries")?;
    let mut t = Table::new(vec![
        "Logical ID",
        "Physical ID",
        "Type",
        "Status",
        "Reason",
    ]);
    for x in &resources {
        t.push(vec![
            Cell::text(s(x, "LogicalResourceId")),
            Cell::text(s(x, "PhysicalResourceId")),
            Cell::text(s(x, "ResourceType")),
            Cell::status(s(x, "ResourceStatus")),
            Cell::text(s(x, "ResourceStatusReason")),
        ]);
    }
    let path = format!("cloudformation/stacks/{name}");
    r.table(&path, t, &mut main);
    main.push_str("<h2>Events</h2><table><thead><tr><th>Time</th><th>Logical ID</th><th>Type</th><th>Status</th><th>Reason</th></tr></thead><tbody>");
    let events = of_stack("DescribeStackEvents", "StackEvents")?;
    for e in events.iter().take(500) {
        let _ = write!(
            main,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><span class=\"status {}\">{}</span></td><td>{}</td></tr>",
            esc(s(e, "Timestamp")),
            esc(s(e, "LogicalResourceId")),
            esc(s(e, "ResourceType")),
            crate::html::status_class(s(e, "ResourceStatus")),
            esc(s(e, "ResourceStatus")),
            esc(s(e, "ResourceStatusReason"))
        );
    }
    main.push_str("</tbody></table>");
    Ok(Content {
        title: name.to_owned(),
        main,
    })
}
