//! Encoding outputs as the `ec2` and `query` protocols' XML, following the output shape.

use airlock_model::{Member, ServiceModel, Shape, ShapeKind};
use serde_json::Value;
use std::fmt::Write;

/// Appends `text` with XML's special characters escaped.
pub fn escape_into(buf: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => buf.push_str("&lt;"),
            '>' => buf.push_str("&gt;"),
            '&' => buf.push_str("&amp;"),
            '"' => buf.push_str("&quot;"),
            '\'' => buf.push_str("&apos;"),
            c => buf.push(c),
        }
    }
}

/// Writes the members of structure `shape` found in `value`, in model order.
pub fn write_members(buf: &mut String, model: &ServiceModel, shape: &Shape, value: &Value) {
    let ShapeKind::Structure(st) = &shape.kind else {
        return;
    };
    let Some(obj) = value.as_object() else { return };
    for m in &st.members {
        if let Some(v) = obj.get(&m.name) {
            if !v.is_null() {
                write_member(buf, model, m, v);
            }
        }
    }
}

fn write_member(buf: &mut String, model: &ServiceModel, m: &Member, v: &Value) {
    let name = m.wire_name();
    let shape = model.shape(&m.shape);
    match &shape.kind {
        ShapeKind::List { member, flattened } => {
            let items = v.as_array().map(Vec::as_slice).unwrap_or(&[]);
            if *flattened || m.flattened {
                for item in items {
                    write_value(buf, model, name, model.shape(&member.shape), item);
                }
            } else {
                let inner = member.location_name.as_deref().unwrap_or("member");
                if items.is_empty() {
                    let _ = write!(buf, "<{name}/>");
                    return;
                }
                let _ = write!(buf, "<{name}>");
                for item in items {
                    write_value(buf, model, inner, model.shape(&member.shape), item);
                }
                let _ = write!(buf, "</{name}>");
            }
        }
        ShapeKind::Map {
            key,
            value,
            flattened,
        } => {
            let kname = key.location_name.as_deref().unwrap_or("key");
            let vname = value.location_name.as_deref().unwrap_or("value");
            let vshape = model.shape(&value.shape);
            let entries = v.as_object().cloned().unwrap_or_default();
            if !*flattened {
                let _ = write!(buf, "<{name}>");
            }
            for (k, val) in &entries {
                let tag = if *flattened { name } else { "entry" };
                let _ = write!(buf, "<{tag}><{kname}>");
                escape_into(buf, k);
                let _ = write!(buf, "</{kname}>");
                write_value(buf, model, vname, vshape, val);
                let _ = write!(buf, "</{tag}>");
            }
            if !*flattened {
                let _ = write!(buf, "</{name}>");
            }
        }
        _ => write_value(buf, model, name, shape, v),
    }
}

fn write_value(buf: &mut String, model: &ServiceModel, name: &str, shape: &Shape, v: &Value) {
    match &shape.kind {
        ShapeKind::Structure(_) => {
            let _ = write!(buf, "<{name}>");
            write_members(buf, model, shape, v);
            let _ = write!(buf, "</{name}>");
        }
        ShapeKind::List { member, .. } => {
            // A list directly inside a list: AWS nests `<member>` elements.
            let _ = write!(buf, "<{name}>");
            let inner = member.location_name.as_deref().unwrap_or("member");
            for item in v.as_array().map(Vec::as_slice).unwrap_or(&[]) {
                write_value(buf, model, inner, model.shape(&member.shape), item);
            }
            let _ = write!(buf, "</{name}>");
        }
        _ => {
            let _ = write!(buf, "<{name}>");
            match v {
                Value::String(s) => escape_into(buf, s),
                Value::Bool(b) => buf.push_str(if *b { "true" } else { "false" }),
                Value::Number(n) => {
                    let _ = write!(buf, "{n}");
                }
                other => escape_into(buf, &other.to_string()),
            }
            let _ = write!(buf, "</{name}>");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ec2_lists_use_item_and_location_names() {
        let m = airlock_model::ec2();
        let shape = m.shape("DescribeVpcsResult");
        let mut buf = String::new();
        write_members(
            &mut buf,
            m,
            shape,
            &json!({"Vpcs": [{"VpcId": "vpc-1", "IsDefault": false, "Tags": [{"Key": "a&b", "Value": "<v>"}]}]}),
        );
        assert_eq!(
            buf,
            "<vpcSet><item><isDefault>false</isDefault><tagSet><item><key>a&amp;b</key><value>&lt;v&gt;</value></item></tagSet><vpcId>vpc-1</vpcId></item></vpcSet>"
        );
    }

    #[test]
    fn query_lists_use_member() {
        let m = airlock_model::iam();
        let mut buf = String::new();
        write_members(
            &mut buf,
            m,
            m.shape("ListRolesResponse"),
            &json!({"Roles": [{"RoleName": "r"}], "IsTruncated": false}),
        );
        assert_eq!(buf, "<IsTruncated>false</IsTruncated><Roles><member><RoleName>r</RoleName></member></Roles>");
    }
}
