//! Encoding outputs as the `ec2` and `query` protocols' XML, following the output shape.
//!
//! The encoder is a serde [`Serializer`](serde::Serializer) that walks the model's shapes while
//! the output is serialized, so a service may hand over a `serde_json::Value` or a typed struct
//! (fields named as the model's members) alike, and no intermediate value is built. Element
//! names come from the model (`locationName`, `<item>` / `<member>` list elements, flattened
//! lists and maps); members the shape does not declare and null values are left out.

use crate::encode::{self, Error};
use airlock_model::{Member, ServiceModel, Shape, ShapeKind, Structure};
use serde::ser::{self, Serialize};

/// Appends `text` with XML's special characters escaped.
pub fn escape_into(buf: &mut String, text: &str) {
    let bytes = text.as_bytes();
    if !encode::any_byte(bytes, special) {
        buf.push_str(text);
        return;
    }
    let mut from = 0;
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at..]
            .first_chunk()
            .is_some_and(|block| !encode::block_has(block, special))
        {
            at += 16;
            continue;
        }
        let end = bytes.len().min(at + 16);
        for (i, &b) in bytes[at..end].iter().enumerate() {
            if special(b) {
                // An ASCII byte: both slices end on character boundaries.
                buf.push_str(&text[from..at + i]);
                buf.push_str(entity(b));
                from = at + i + 1;
            }
        }
        at = end;
    }
    buf.push_str(&text[from..]);
}

/// Whether XML escapes `b`.
#[inline(always)]
fn special(b: u8) -> bool {
    (b == b'<') | (b == b'>') | (b == b'&') | (b == b'"') | (b == b'\'')
}

/// The entity that stands for special byte `b`.
fn entity(b: u8) -> &'static str {
    match b {
        b'<' => "&lt;",
        b'>' => "&gt;",
        b'&' => "&amp;",
        b'"' => "&quot;",
        _ => "&apos;",
    }
}

/// Writes the members of structure `shape` found in `value` (no element around them), as the
/// body of an `ec2` or `query` response.
pub fn write_members<T: Serialize + ?Sized>(
    buf: &mut String,
    model: &ServiceModel,
    shape: &Shape,
    value: &T,
) -> Result<(), Error> {
    value.serialize(Elem {
        buf,
        model,
        shape,
        tag: None,
        flat: false,
    })
}

/// An element's name and its opening and closing tags.
#[derive(Clone, Copy)]
struct Tag<'a> {
    name: &'a str,
    open: &'a str,
    close: &'a str,
}

impl<'a> Tag<'a> {
    fn of(m: &'a Member) -> Tag<'a> {
        Tag {
            name: m.wire_name(),
            open: &m.xml_open,
            close: &m.xml_close,
        }
    }

    const ENTRY: Tag<'static> = Tag {
        name: "entry",
        open: "<entry>",
        close: "</entry>",
    };
}

/// One element to write: `<name>` + the value + `</name>` (no element at the top level).
/// `flat`: the member is a flattened list, whose items take the member's name.
struct Elem<'a> {
    buf: &'a mut String,
    model: &'a ServiceModel,
    shape: &'a Shape,
    tag: Option<Tag<'a>>,
    flat: bool,
}

impl Elem<'_> {
    fn open(&mut self) {
        if let Some(t) = self.tag {
            self.buf.push_str(t.open);
        }
    }

    fn close(buf: &mut String, tag: Option<Tag<'_>>) {
        if let Some(t) = tag {
            buf.push_str(t.close);
        }
    }

    fn text(mut self, text: &str) -> Result<(), Error> {
        self.open();
        escape_into(self.buf, text);
        Elem::close(self.buf, self.tag);
        Ok(())
    }

    fn raw(mut self, text: &str) -> Result<(), Error> {
        self.open();
        self.buf.push_str(text);
        Elem::close(self.buf, self.tag);
        Ok(())
    }

    /// An [`encode::Part`]'s structure encoded fresh: its members (the text between the
    /// element's tags, which depends on the shape alone) handed back.
    fn fresh<T: Serialize + ?Sized>(mut self, value: &T) -> Result<(), Error> {
        self.open();
        let start = self.buf.len();
        write_members(self.buf, self.model, self.shape, value)?;
        encode::wrote(&self.buf[start..]);
        Elem::close(self.buf, self.tag);
        Ok(())
    }
}

impl<'a> ser::Serializer for Elem<'a> {
    encode::shared_methods!();
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.raw(&encode::float(v))
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        encode::check_scalar(self.shape)?;
        self.text(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        self.raw(&encode::base64(v))
    }
    fn serialize_none(self) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_seq(mut self, _: Option<usize>) -> Result<List<'a>, Error> {
        let ShapeKind::List { member, flattened } = &self.shape.kind else {
            return Err(encode::mismatch(self.shape, "a list"));
        };
        let item_shape = self.model.target(member);
        if *flattened || self.flat {
            return Ok(List {
                buf: self.buf,
                model: self.model,
                item_shape,
                item: self.tag,
                tag: None,
                start: None,
            });
        }
        let start = self.buf.len();
        self.open();
        Ok(List {
            buf: self.buf,
            model: self.model,
            item_shape,
            item: Some(Tag::of(member)),
            tag: self.tag,
            start: Some(start),
        })
    }
    fn serialize_map(mut self, _: Option<usize>) -> Result<Fields<'a>, Error> {
        let (kind, wrapped) = match &self.shape.kind {
            ShapeKind::Structure(st) => (FieldsOf::Structure(st), true),
            ShapeKind::Map {
                key,
                value,
                flattened,
            } => (
                FieldsOf::Map {
                    key,
                    value,
                    entry: if *flattened {
                        self.tag
                    } else {
                        Some(Tag::ENTRY)
                    },
                },
                !*flattened,
            ),
            _ => return Err(encode::mismatch(self.shape, "a structure or map")),
        };
        if wrapped {
            self.open();
        }
        Ok(Fields {
            buf: self.buf,
            model: self.model,
            kind,
            tag: if wrapped { self.tag } else { None },
            pending: Pending::None,
            next: 0,
        })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Fields<'a>, Error> {
        self.serialize_map(Some(len))
    }
}

/// The elements of a list. `start` is where the list's own element began (unflattened lists),
/// so that an empty list becomes `<name/>`.
struct List<'a> {
    buf: &'a mut String,
    model: &'a ServiceModel,
    item_shape: &'a Shape,
    item: Option<Tag<'a>>,
    tag: Option<Tag<'a>>,
    start: Option<usize>,
}

impl List<'_> {
    fn item<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(Elem {
            buf: self.buf,
            model: self.model,
            shape: self.item_shape,
            tag: self.item,
            flat: false,
        })
    }

    fn finish(self) -> Result<(), Error> {
        if let (Some(start), Some(tag)) = (self.start, self.tag) {
            if self.buf.len() == start + tag.open.len() {
                // Nothing inside: AWS writes an empty list as a self-closing element.
                self.buf.truncate(start);
                self.buf.push('<');
                self.buf.push_str(tag.name);
                self.buf.push_str("/>");
                return Ok(());
            }
        }
        Elem::close(self.buf, self.tag);
        Ok(())
    }
}

encode::list_serializers!(List);

enum FieldsOf<'a> {
    Structure(&'a Structure),
    /// `entry`: the element around each key/value pair (the map's own name when flattened).
    Map {
        key: &'a Member,
        value: &'a Member,
        entry: Option<Tag<'a>>,
    },
}

/// What a key said about the value that follows.
enum Pending<'a> {
    None,
    /// A structure member.
    Member(&'a Member),
    /// A member the shape does not declare: a bug in the service (a misspelt key would
    /// otherwise vanish from the answer), reported when its value comes.
    Undeclared(String),
    /// A map entry whose key has been written.
    Entry,
}

/// The members of a structure or the entries of a map. `next`: where the member after the
/// last one written is; outputs that follow the model's (alphabetical) order find their
/// members there without a lookup.
struct Fields<'a> {
    buf: &'a mut String,
    model: &'a ServiceModel,
    kind: FieldsOf<'a>,
    tag: Option<Tag<'a>>,
    pending: Pending<'a>,
    next: usize,
}

impl<'a> Fields<'a> {
    fn finish(self) -> Result<(), Error> {
        Elem::close(self.buf, self.tag);
        Ok(())
    }

    fn key(&mut self, key: &str) {
        self.pending = match &self.kind {
            FieldsOf::Structure(st) => {
                let ahead = st.members.iter().enumerate().skip(self.next).take(4);
                let found = ahead
                    .into_iter()
                    .find(|(_, m)| m.name == key)
                    .map(|(i, _)| i)
                    .or_else(|| st.member_index(key));
                match found {
                    Some(i) => {
                        self.next = i + 1;
                        Pending::Member(&st.members[i])
                    }
                    None => Pending::Undeclared(key.to_owned()),
                }
            }
            FieldsOf::Map { key: k, entry, .. } => {
                if let Some(e) = entry {
                    self.buf.push_str(e.open);
                }
                self.buf.push_str(&k.xml_open);
                escape_into(self.buf, key);
                self.buf.push_str(&k.xml_close);
                Pending::Entry
            }
        };
    }

    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        match std::mem::replace(&mut self.pending, Pending::None) {
            Pending::None => Ok(()),
            Pending::Undeclared(key) => Err(encode::undeclared(&key)),
            Pending::Member(m) => value.serialize(Elem {
                buf: self.buf,
                model: self.model,
                shape: self.model.target(m),
                tag: Some(Tag::of(m)),
                flat: m.flattened,
            }),
            Pending::Entry => {
                let FieldsOf::Map {
                    value: v, entry, ..
                } = &self.kind
                else {
                    return Ok(());
                };
                value.serialize(Elem {
                    buf: self.buf,
                    model: self.model,
                    shape: self.model.target(v),
                    tag: Some(Tag::of(v)),
                    flat: false,
                })?;
                Elem::close(self.buf, *entry);
                Ok(())
            }
        }
    }
}

encode::field_serializers!(Fields);

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use serde_json::json;

    fn members<T: Serialize>(m: &ServiceModel, shape: &str, v: &T) -> String {
        let mut buf = String::new();
        write_members(&mut buf, m, m.shape(shape), v).unwrap();
        buf
    }

    #[test]
    fn ec2_lists_use_item_and_location_names() {
        let m = airlock_model::ec2();
        assert_eq!(
            members(
                m,
                "DescribeVpcsResult",
                &json!({"Vpcs": [{"VpcId": "vpc-1", "IsDefault": false, "Tags": [{"Key": "a&b", "Value": "<v>"}]}]})
            ),
            "<vpcSet><item><vpcId>vpc-1</vpcId><isDefault>false</isDefault><tagSet><item><key>a&amp;b</key><value>&lt;v&gt;</value></item></tagSet></item></vpcSet>"
        );
    }

    #[test]
    fn empty_lists_and_nulls() {
        let m = airlock_model::ec2();
        assert_eq!(
            members(
                m,
                "DescribeVpcsResult",
                &json!({"Vpcs": [{"VpcId": "vpc-1", "Tags": [], "CidrBlock": null}], "NextToken": null})
            ),
            "<vpcSet><item><vpcId>vpc-1</vpcId><tagSet/></item></vpcSet>"
        );
        assert_eq!(
            members(m, "DescribeVpcsResult", &json!({"Vpcs": []})),
            "<vpcSet/>"
        );
    }

    /// A misspelt member would vanish from the answer; it is an error instead, at any depth.
    #[test]
    fn an_undeclared_member_is_an_error() {
        let m = airlock_model::ec2();
        for v in [
            json!({"Vpcs": [], "Bogus": 1}),
            json!({"Vpcs": [{"VpcId": "vpc-1", "IsDeafult": false}]}),
        ] {
            let mut buf = String::new();
            let err = write_members(&mut buf, m, m.shape("DescribeVpcsResult"), &v).unwrap_err();
            assert!(err.0.contains("does not declare"), "{err}");
        }
    }

    #[test]
    fn query_lists_use_member() {
        let m = airlock_model::iam();
        assert_eq!(
            members(m, "ListRolesResponse", &json!({"Roles": [{"RoleName": "r"}], "IsTruncated": false})),
            "<Roles><member><RoleName>r</RoleName></member></Roles><IsTruncated>false</IsTruncated>"
        );
    }

    /// Typed outputs (fields named as the model's members) encode as their JSON values do.
    #[test]
    fn typed_structs_encode_like_values() {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Tag<'a> {
            key: &'a str,
            value: &'a str,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Vpc<'a> {
            vpc_id: &'a str,
            is_default: bool,
            cidr_block: Option<&'a str>,
            tags: Vec<Tag<'a>>,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Out<'a> {
            vpcs: Vec<Vpc<'a>>,
        }
        let m = airlock_model::ec2();
        let typed = Out {
            vpcs: vec![Vpc {
                vpc_id: "vpc-1",
                is_default: true,
                cidr_block: None,
                tags: vec![Tag {
                    key: "k",
                    value: "'v'",
                }],
            }],
        };
        let value = serde_json::to_value(&typed).unwrap();
        assert_eq!(
            members(m, "DescribeVpcsResult", &typed),
            members(m, "DescribeVpcsResult", &value)
        );
        assert_eq!(
            members(m, "DescribeVpcsResult", &typed),
            "<vpcSet><item><vpcId>vpc-1</vpcId><isDefault>true</isDefault><tagSet><item><key>k</key><value>&apos;v&apos;</value></item></tagSet></item></vpcSet>"
        );
    }

    #[test]
    fn escapes_every_special_byte_wherever_it_is() {
        let plain = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
                .replace('\'', "&apos;")
        };
        let base = "0123456789abcdefghijklmnopqrstuvwxyzü€";
        for c in ['<', '>', '&', '"', '\''] {
            for at in 0..base.chars().count() {
                let mut t: String = base.chars().take(at).collect();
                t.push(c);
                t.extend(base.chars().skip(at));
                let mut out = String::new();
                escape_into(&mut out, &t);
                assert_eq!(out, plain(&t), "{t}");
            }
        }
        let mut out = String::new();
        escape_into(&mut out, r#"{"Version":"2008-10-17","Statement":[]}"#);
        assert_eq!(
            out,
            "{&quot;Version&quot;:&quot;2008-10-17&quot;,&quot;Statement&quot;:[]}"
        );
    }

    #[test]
    fn numbers_and_escapes() {
        let m = airlock_model::ec2();
        assert_eq!(
            members(m, "DescribeVpcEndpointsResult", &json!({"VpcEndpoints": [{"VpcEndpointId": "a\"b", "CreationTimestamp": "2024-05-01T10:00:00.000Z"}], "NextToken": "t"})),
            "<vpcEndpointSet><item><vpcEndpointId>a&quot;b</vpcEndpointId><creationTimestamp>2024-05-01T10:00:00.000Z</creationTimestamp></item></vpcEndpointSet><nextToken>t</nextToken>"
        );
        let elb = airlock_model::elbv2();
        assert!(members(
            elb,
            "DescribeTargetGroupsOutput",
            &json!({"TargetGroups": [{"Port": 8080, "HealthCheckIntervalSeconds": 30}]})
        )
        .contains("<Port>8080</Port>"));
    }
}
