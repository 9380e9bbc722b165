//! Encoding outputs as the `ec2` and `query` protocols' XML, following the output shape.
//!
//! The encoder is a serde [`Serializer`](serde::Serializer) that walks the model's shapes while
//! the output is serialized, so a service may hand over a `serde_json::Value` or a typed struct
//! (fields named as the model's members) alike, and no intermediate value is built. Element
//! names come from the model (`locationName`, `<item>` / `<member>` list elements, flattened
//! lists and maps); members the shape does not declare and null values are left out.

use crate::encode::{self, Error};
use airlock_model::{Member, ServiceModel, Shape, ShapeKind, Structure};
use serde::ser::{self, Impossible, Serialize};

/// Appends `text` with XML's special characters escaped.
pub fn escape_into(buf: &mut String, text: &str) {
    let mut rest = text;
    while let Some(i) = rest
        .bytes()
        .position(|b| matches!(b, b'<' | b'>' | b'&' | b'"' | b'\''))
    {
        buf.push_str(&rest[..i]);
        buf.push_str(match rest.as_bytes()[i] {
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'&' => "&amp;",
            b'"' => "&quot;",
            _ => "&apos;",
        });
        rest = &rest[i + 1..];
    }
    buf.push_str(rest);
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
        name: None,
        flat: false,
    })
}

/// One element to write: `<name>` + the value + `</name>` (no element at the top level).
/// `flat`: the member is a flattened list, whose items take the member's name.
struct Elem<'a> {
    buf: &'a mut String,
    model: &'a ServiceModel,
    shape: &'a Shape,
    name: Option<&'a str>,
    flat: bool,
}

impl Elem<'_> {
    fn open(&mut self) {
        if let Some(n) = self.name {
            self.buf.push('<');
            self.buf.push_str(n);
            self.buf.push('>');
        }
    }

    fn close(buf: &mut String, name: Option<&str>) {
        if let Some(n) = name {
            buf.push_str("</");
            buf.push_str(n);
            buf.push('>');
        }
    }

    fn text(mut self, text: &str) -> Result<(), Error> {
        self.open();
        escape_into(self.buf, text);
        Elem::close(self.buf, self.name);
        Ok(())
    }

    fn raw(mut self, text: &str) -> Result<(), Error> {
        self.open();
        self.buf.push_str(text);
        Elem::close(self.buf, self.name);
        Ok(())
    }
}

impl<'a> ser::Serializer for Elem<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = List<'a>;
    type SerializeTuple = List<'a>;
    type SerializeTupleStruct = List<'a>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Fields<'a>;
    type SerializeStruct = Fields<'a>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.raw(if v { "true" } else { "false" })
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.raw(itoa::Buffer::new().format(v))
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.serialize_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.serialize_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.serialize_u64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.raw(itoa::Buffer::new().format(v))
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.raw(&encode::float(v))
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.text(v.encode_utf8(&mut [0; 4]))
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
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
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
                item_name: self.name,
                name: None,
                start: None,
            });
        }
        let start = self.buf.len();
        self.open();
        Ok(List {
            buf: self.buf,
            model: self.model,
            item_shape,
            item_name: Some(member.location_name.as_deref().unwrap_or("member")),
            name: self.name,
            start: Some(start),
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<List<'a>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<List<'a>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(encode::mismatch(self.shape, "a tuple variant"))
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
                    entry: if *flattened { self.name } else { Some("entry") },
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
            name: if wrapped { self.name } else { None },
            pending: Pending::None,
        })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Fields<'a>, Error> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(encode::mismatch(self.shape, "a struct variant"))
    }
}

/// The elements of a list. `start` is where the list's own element began (unflattened lists),
/// so that an empty list becomes `<name/>`.
struct List<'a> {
    buf: &'a mut String,
    model: &'a ServiceModel,
    item_shape: &'a Shape,
    item_name: Option<&'a str>,
    name: Option<&'a str>,
    start: Option<usize>,
}

impl List<'_> {
    fn item<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(Elem {
            buf: self.buf,
            model: self.model,
            shape: self.item_shape,
            name: self.item_name,
            flat: false,
        })
    }

    fn finish(self) -> Result<(), Error> {
        if let (Some(start), Some(name)) = (self.start, self.name) {
            if self.buf.len() == start + name.len() + 2 {
                // Nothing inside: AWS writes an empty list as a self-closing element.
                self.buf.truncate(start);
                self.buf.push('<');
                self.buf.push_str(name);
                self.buf.push_str("/>");
                return Ok(());
            }
        }
        Elem::close(self.buf, self.name);
        Ok(())
    }
}

impl ser::SerializeSeq for List<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.item(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeTuple for List<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.item(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for List<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.item(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

enum FieldsOf<'a> {
    Structure(&'a Structure),
    /// `entry`: the element around each key/value pair (the map's own name when flattened).
    Map {
        key: &'a Member,
        value: &'a Member,
        entry: Option<&'a str>,
    },
}

/// What a key said about the value that follows.
enum Pending<'a> {
    None,
    /// A structure member.
    Member(&'a Member),
    /// A member the shape does not declare: its value is left out.
    Skip,
    /// A map entry whose key has been written.
    Entry,
}

struct Fields<'a> {
    buf: &'a mut String,
    model: &'a ServiceModel,
    kind: FieldsOf<'a>,
    name: Option<&'a str>,
    pending: Pending<'a>,
}

impl<'a> Fields<'a> {
    fn key(&mut self, key: &str) {
        self.pending = match &self.kind {
            FieldsOf::Structure(st) => match st.member(key) {
                Some(m) => Pending::Member(m),
                None => Pending::Skip,
            },
            FieldsOf::Map { key: k, entry, .. } => {
                let kname = k.location_name.as_deref().unwrap_or("key");
                if let Some(e) = entry {
                    self.buf.push('<');
                    self.buf.push_str(e);
                    self.buf.push('>');
                }
                self.buf.push('<');
                self.buf.push_str(kname);
                self.buf.push('>');
                escape_into(self.buf, key);
                self.buf.push_str("</");
                self.buf.push_str(kname);
                self.buf.push('>');
                Pending::Entry
            }
        };
    }

    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        match std::mem::replace(&mut self.pending, Pending::None) {
            Pending::None | Pending::Skip => Ok(()),
            Pending::Member(m) => value.serialize(Elem {
                buf: self.buf,
                model: self.model,
                shape: self.model.target(m),
                name: Some(m.wire_name()),
                flat: m.flattened,
            }),
            Pending::Entry => {
                let FieldsOf::Map {
                    value: v, entry, ..
                } = &self.kind
                else {
                    return Ok(());
                };
                let vname = v.location_name.as_deref().unwrap_or("value");
                value.serialize(Elem {
                    buf: self.buf,
                    model: self.model,
                    shape: self.model.target(v),
                    name: Some(vname),
                    flat: false,
                })?;
                Elem::close(self.buf, *entry);
                Ok(())
            }
        }
    }
}

impl ser::SerializeMap for Fields<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        encode::with_key(key, |k| self.key(k))
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.value(value)
    }
    fn serialize_entry<K: Serialize + ?Sized, V: Serialize + ?Sized>(
        &mut self,
        key: &K,
        value: &V,
    ) -> Result<(), Error> {
        encode::with_key(key, |k| self.key(k))?;
        self.value(value)
    }
    fn end(self) -> Result<(), Error> {
        Elem::close(self.buf, self.name);
        Ok(())
    }
}

impl ser::SerializeStruct for Fields<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.key(key);
        self.value(value)
    }
    fn end(self) -> Result<(), Error> {
        Elem::close(self.buf, self.name);
        Ok(())
    }
}

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
    fn empty_lists_nulls_and_undeclared_members() {
        let m = airlock_model::ec2();
        assert_eq!(
            members(
                m,
                "DescribeVpcsResult",
                &json!({"Vpcs": [{"VpcId": "vpc-1", "Tags": [], "CidrBlock": null, "Bogus": 1}], "NextToken": null})
            ),
            "<vpcSet><item><vpcId>vpc-1</vpcId><tagSet/></item></vpcSet>"
        );
        assert_eq!(
            members(m, "DescribeVpcsResult", &json!({"Vpcs": []})),
            "<vpcSet/>"
        );
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
