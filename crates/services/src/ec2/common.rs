//! What every EC2 resource shares: tags, filters, pagination, errors.

use crate::input;
use airlock_protocol::{ApiError, ApiResult};
use airlock_store::{Record, Scope, Tx};

use serde::Serialize;
use serde_json::{json, Value};
use std::sync::Arc;

pub use crate::tags::{tags_json, tags_out, Tag, TagOut};

/// Tags given in `TagSpecifications` for `resource_type` (`vpc`, `subnet`, `vpc-endpoint`, ...).
pub fn tags_from_specs(input: &Value, resource_type: &str) -> ApiResult<Vec<Tag>> {
    let mut tags = Vec::new();
    for spec in input::list(input, "TagSpecifications") {
        let rt = input::str(spec, "ResourceType").unwrap_or("");
        if rt != resource_type {
            return Err(ApiError::new(
                "InvalidParameterValue",
                format!("'{rt}' is not a valid taggable resource type for this operation."),
            ));
        }
        for t in input::list(spec, "Tags") {
            tags.push(tag_of(t)?);
        }
    }
    check_tags(&tags)?;
    Ok(tags)
}

fn tag_of(t: &Value) -> ApiResult<Tag> {
    let key = input::str(t, "Key").unwrap_or("").to_owned();
    Ok(Tag {
        key,
        value: input::str(t, "Value").unwrap_or("").to_owned(),
    })
}

/// AWS's limits: 50 tags, keys 1–128 characters not starting with `aws:`, values up to 256.
pub fn check_tags(tags: &[Tag]) -> ApiResult<()> {
    for t in tags {
        if t.key.is_empty() || t.key.chars().count() > 128 {
            return Err(ApiError::new(
                "InvalidParameterValue",
                format!("Tag key must be between 1 and 128 characters: '{}'", t.key),
            ));
        }
        if t.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(ApiError::new(
                "InvalidParameterValue",
                "Tag keys starting with 'aws:' are reserved for internal use",
            ));
        }
        if t.value.chars().count() > 256 {
            return Err(ApiError::new(
                "InvalidParameterValue",
                format!(
                    "Tag value exceeds the maximum length of 256 characters for key '{}'",
                    t.key
                ),
            ));
        }
    }
    if tags.len() > 50 {
        return Err(ApiError::new(
            "TagLimitExceeded",
            "The maximum number of tags per resource is 50",
        ));
    }
    Ok(())
}

/// Sets `new` tags on `existing` (replacing values of equal keys).
pub fn merge_tags(existing: &mut Vec<Tag>, new: &[Tag]) -> ApiResult<()> {
    for t in new {
        match existing.iter_mut().find(|e| e.key == t.key) {
            Some(e) => e.value = t.value.clone(),
            None => existing.push(t.clone()),
        }
    }
    check_tags(existing)
}

/// One `Filter.N`: a name and the values any of which may match.
#[derive(Debug, Clone)]
pub struct Filter {
    pub name: String,
    pub values: Vec<String>,
}

pub fn filters(input: &Value) -> Vec<Filter> {
    // DescribeNatGateways alone names its member `Filter`; the wire form is the same.
    let list = if input.get("Filters").is_some() {
        "Filters"
    } else {
        "Filter"
    };
    input::list(input, list)
        .iter()
        .map(|f| Filter {
            name: input::str(f, "Name").unwrap_or("").to_owned(),
            values: input::strs(f, "Values"),
        })
        .collect()
}

/// What a resource answers to a filter name: `None` if the filter does not exist for it.
pub type Field = Option<Vec<String>>;

/// Resources that Describe calls can filter.
pub trait Filterable {
    fn field(&self, name: &str) -> Field;
    /// Its tags, which the `tag:<key>`, `tag-key` and `tag-value` filters read (none for a
    /// resource that takes no tags).
    fn tags(&self) -> &[Tag] {
        &[]
    }
}

impl<T: Filterable + ?Sized> Filterable for Arc<T> {
    fn field(&self, name: &str) -> Field {
        (**self).field(name)
    }

    fn tags(&self) -> &[Tag] {
        (**self).tags()
    }
}

/// EC2 filter value matching: `*` any run, `?` one character, `\` escapes the next character.
pub fn wildcard(pattern: &str, value: &str) -> bool {
    if !pattern.bytes().any(|b| matches!(b, b'*' | b'?' | b'\\')) {
        return pattern == value;
    }
    #[derive(Clone, Copy, PartialEq)]
    enum Tok {
        Any,
        One,
        Lit(char),
    }
    let mut toks = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        toks.push(match c {
            '*' => Tok::Any,
            '?' => Tok::One,
            '\\' => Tok::Lit(chars.next().unwrap_or('\\')),
            c => Tok::Lit(c),
        });
    }
    let value: Vec<char> = value.chars().collect();
    // Iterative matching with backtracking to the last `*`.
    let (mut t, mut v) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while v < value.len() {
        match toks.get(t) {
            Some(Tok::One) => {
                t += 1;
                v += 1;
            }
            Some(Tok::Lit(c)) if *c == value[v] => {
                t += 1;
                v += 1;
            }
            Some(Tok::Any) => {
                star = Some((t, v));
                t += 1;
            }
            _ => match star {
                Some((st, sv)) => {
                    t = st + 1;
                    v = sv + 1;
                    star = Some((st, sv + 1));
                }
                None => return false,
            },
        }
    }
    toks[t..].iter().all(|x| *x == Tok::Any)
}

/// Whether `r` passes every filter; an unknown filter name is AWS's `InvalidParameterValue`.
pub fn matches<R: Filterable>(r: &R, filters: &[Filter]) -> ApiResult<bool> {
    for f in filters {
        let have: Vec<String> = if let Some(key) = f.name.strip_prefix("tag:") {
            r.tags()
                .iter()
                .filter(|t| t.key == key)
                .map(|t| t.value.clone())
                .collect()
        } else if f.name == "tag-key" {
            r.tags().iter().map(|t| t.key.clone()).collect()
        } else if f.name == "tag-value" {
            r.tags().iter().map(|t| t.value.clone()).collect()
        } else {
            match r.field(&f.name) {
                Some(v) => v,
                None => {
                    return Err(ApiError::new(
                        "InvalidParameterValue",
                        format!("The filter '{}' is invalid", f.name),
                    ))
                }
            }
        };
        if !f
            .values
            .iter()
            .any(|want| have.iter().any(|h| wildcard(want, h)))
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `BlockPublicAccessStates` of a VPC or subnet: VPC Block Public Access is off (Airlock does not
/// emulate it).
pub fn no_public_access_block() -> airlock_dto::ec2::BlockPublicAccessStates {
    airlock_dto::ec2::BlockPublicAccessStates {
        internet_gateway_block_mode: Some("off".into()),
    }
}

/// Tags as the typed EC2 outputs carry them.
pub fn tags_dto(tags: &[Tag]) -> Vec<airlock_dto::ec2::Tag> {
    tags.iter()
        .map(|t| airlock_dto::ec2::Tag {
            key: Some(t.key.clone()),
            value: Some(t.value.clone()),
        })
        .collect()
}

/// `Some(vec![s])`: a filter field with one value.
pub fn one(s: impl Into<String>) -> Field {
    Some(vec![s.into()])
}

pub fn flag(b: bool) -> Field {
    one(if b { "true" } else { "false" })
}

/// A page of `items` (already filtered and ordered by id) per `MaxResults`/`NextToken`.
///
/// `min`/`max` are the operation's MaxResults bounds; `id_list_given` is true when the request
/// named resources explicitly, which AWS does not let you combine with MaxResults.
pub fn paginate<T, F: Fn(&T) -> String>(
    items: Vec<T>,
    input: &Value,
    bounds: (i64, i64),
    id_list_given: bool,
    id: F,
) -> ApiResult<(Vec<T>, Option<String>)> {
    let max = input::int(input, "MaxResults");
    if let Some(m) = max {
        if id_list_given {
            return Err(ApiError::new(
                "InvalidParameterCombination",
                "The parameter MaxResults cannot be used with the parameter specifying resource IDs",
            ));
        }
        if m < bounds.0 || m > bounds.1 {
            return Err(ApiError::new(
                "InvalidParameterValue",
                format!(
                    "Value ( {m} ) for parameter maxResults is invalid. Expecting a value between {} and {}.",
                    bounds.0, bounds.1
                ),
            ));
        }
    }
    let start = match input::str(input, "NextToken") {
        Some(token) => {
            let after = decode_token(token)?;
            items
                .iter()
                .position(|i| id(i) > after)
                .unwrap_or(items.len())
        }
        None => 0,
    };
    let mut items: Vec<T> = items.into_iter().skip(start).collect();
    let mut next = None;
    if let Some(m) = max {
        if items.len() > m as usize {
            items.truncate(m as usize);
            next = items.last().map(|last| encode_token(&id(last)));
        }
    }
    Ok((items, next))
}

fn encode_token(last_id: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("after:{last_id}"))
}

fn decode_token(token: &str) -> ApiResult<String> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("after:").map(str::to_owned))
        .ok_or_else(|| ApiError::new("InvalidNextToken", "The token provided is invalid"))
}

/// `The vpc ID 'vpc-1' does not exist` under the code of that resource.
pub fn not_found(code: &str, what: &str, id: &str) -> ApiError {
    ApiError::new(code, format!("The {what} ID '{id}' does not exist"))
}

/// AWS checks an ID's shape before looking it up: `InvalidVpcID.Malformed` and the like.
pub fn check_id(id: &str, prefix: &str, malformed_code: &str) -> ApiResult<()> {
    let ok = id
        .strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('-'))
        .is_some_and(|hex| {
            (hex.len() == 8 || hex.len() == 17) && hex.chars().all(|c| c.is_ascii_hexdigit())
        });
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            malformed_code,
            format!("Invalid id: \"{id}\" (expecting \"{prefix}-...\")"),
        ))
    }
}

pub fn dependency(what: &str, id: &str) -> ApiError {
    ApiError::new(
        "DependencyViolation",
        format!("The {what} '{id}' has dependencies and cannot be deleted."),
    )
}

/// What a Describe call shows of a kind's records: the ones `ids` names (each must exist, else
/// `not_found` = (code, what) answers, as [`not_found`] words it) that the request's filters
/// match, one page of them in id order within `bounds` of `MaxResults`, and the next page's
/// token.
pub fn select<T: Record + Filterable>(
    all: Vec<Arc<T>>,
    input: &Value,
    ids: &[String],
    (code, what): (&str, &str),
    bounds: (i64, i64),
) -> ApiResult<(Vec<Arc<T>>, Option<String>)> {
    require_all(
        &all,
        ids,
        |r| r.id(),
        |absent| not_found(code, what, absent),
    )?;
    let shown = kept(all, input, ids, |r| r.id())?;
    paginate(shown, input, bounds, !ids.is_empty(), |r| r.id().to_owned())
}

/// Fails with `missing(id)` for the first of `ids` that no item of `all` has.
pub fn require_all<T>(
    all: &[T],
    ids: &[String],
    id: impl Fn(&T) -> &str,
    missing: impl Fn(&str) -> ApiError,
) -> ApiResult<()> {
    match ids
        .iter()
        .find(|i| !all.iter().any(|r| id(r) == i.as_str()))
    {
        Some(absent) => Err(missing(absent)),
        None => Ok(()),
    }
}

/// The items of `all` that `ids` names (every one when it is empty) and the request's filters
/// match, in their order.
pub fn kept<T: Filterable>(
    all: Vec<T>,
    input: &Value,
    ids: &[String],
    id: impl Fn(&T) -> &str,
) -> ApiResult<Vec<T>> {
    let filters = filters(input);
    let mut shown = Vec::new();
    for r in all {
        if (ids.is_empty() || ids.iter().any(|i| i == id(&r))) && matches(&r, &filters)? {
            shown.push(r);
        }
    }
    Ok(shown)
}

/// A Describe answer: `items` under `key`, and `NextToken` when there is another page.
pub fn listed(key: &str, items: impl Serialize, next: Option<String>) -> Value {
    let mut res = json!({ key: items });
    if let Some(n) = next {
        res["NextToken"] = json!(n);
    }
    res
}

/// A record whose create takes a client token (`ClientToken`): a retry with the same token
/// answers with what the first request made instead of making another.
pub trait Idempotent: Record {
    fn client_token(&self) -> Option<&str>;
}

/// What an earlier request with client token `token` made, if any.
pub fn made_with_token<T: Idempotent>(
    tx: &Tx<'_>,
    scope: &Scope,
    token: Option<&str>,
) -> Option<Arc<T>> {
    let token = token?;
    tx.list::<T>(scope)
        .into_iter()
        .find(|r| r.client_token() == Some(token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::test_support::{ctx_as, ec2 as call, root_principal, store};
    use serde_json::json;

    /// A create retried with the same client token answers with what the first made (no second
    /// resource); another token makes another.
    #[test]
    fn a_retried_client_token_answers_with_the_first_resource() {
        let store = store();
        let config = crate::Config::default();
        let ctx = ctx_as(&store, &config, root_principal("123456789012"));
        let vpc = call(&ctx, "CreateVpc", json!({"CidrBlock": "10.0.0.0/16"})).unwrap();
        let vpc = &vpc["Vpc"]["VpcId"];
        let subnet = call(
            &ctx,
            "CreateSubnet",
            json!({"VpcId": vpc, "CidrBlock": "10.0.1.0/24"}),
        )
        .unwrap();
        let subnet = &subnet["Subnet"]["SubnetId"];
        #[rustfmt::skip]
        let creates = [
            ("CreateEgressOnlyInternetGateway", json!({"VpcId": vpc}),
             "/EgressOnlyInternetGateway/EgressOnlyInternetGatewayId"),
            ("CreateNatGateway", json!({"SubnetId": subnet, "ConnectivityType": "private"}),
             "/NatGateway/NatGatewayId"),
            ("CreateManagedPrefixList",
             json!({"PrefixListName": "office", "MaxEntries": 5, "AddressFamily": "IPv4"}),
             "/PrefixList/PrefixListId"),
        ];
        for (op, input, id_at) in creates {
            let create = |token: &str| {
                let mut input = input.clone();
                input["ClientToken"] = json!(token);
                let out = call(&ctx, op, input).unwrap();
                out.pointer(id_at)
                    .and_then(Value::as_str)
                    .unwrap()
                    .to_owned()
            };
            let first = create("retry-me");
            assert_eq!(create("retry-me"), first, "{op}");
            assert_ne!(create("another"), first, "{op}");
        }
    }

    /// Describe calls through `select`: a named id that does not exist is AWS's NotFound, ids
    /// and MaxResults together are refused, and pages follow the filters in id order.
    #[test]
    fn describe_selects_ids_filters_and_pages() {
        use crate::auth::test_support::{assert_refused, ctx_as, ec2, root_principal, store};
        let store = store();
        let config = crate::Config::default();
        let ctx = ctx_as(&store, &config, root_principal("123456789012"));
        let mut made: Vec<String> = (0..7)
            .map(|i| {
                let out = ec2(
                    &ctx,
                    "CreateVpc",
                    json!({"CidrBlock": format!("10.{i}.0.0/16")}),
                );
                out.unwrap()["Vpc"]["VpcId"].as_str().unwrap().to_owned()
            })
            .collect();
        made.sort();
        let unknown = json!({"VpcIds": [made[0], "vpc-0123456789abcdef0"]});
        assert_refused(
            ec2(&ctx, "DescribeVpcs", unknown),
            "InvalidVpcID.NotFound",
            "The vpc ID 'vpc-0123456789abcdef0' does not exist",
        );
        let err = ec2(
            &ctx,
            "DescribeVpcs",
            json!({"VpcIds": [made[0]], "MaxResults": 5}),
        )
        .unwrap_err();
        assert_eq!(err.code, "InvalidParameterCombination");
        // Ours only (the region's default VPC is not 10.x), five then two.
        let mine = json!([{"Name": "cidr", "Values": ["10.*"]}]);
        let first = ec2(
            &ctx,
            "DescribeVpcs",
            json!({"Filters": mine, "MaxResults": 5}),
        )
        .unwrap();
        let ids = |out: &Value| -> Vec<String> {
            out["Vpcs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["VpcId"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(ids(&first), made[..5]);
        let token = first["NextToken"].as_str().expect("a second page");
        let rest = ec2(
            &ctx,
            "DescribeVpcs",
            json!({"Filters": mine, "MaxResults": 5, "NextToken": token}),
        )
        .unwrap();
        assert_eq!(ids(&rest), made[5..]);
        assert!(rest.get("NextToken").is_none());
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("vpc-*", "vpc-123"));
        assert!(wildcard("*vpce-1*", "VPC Endpoint Interface vpce-123"));
        assert!(wildcard("10.0.?.0/24", "10.0.1.0/24"));
        assert!(!wildcard("vpc-?", "vpc-12"));
        assert!(wildcard("exact", "exact"));
        assert!(!wildcard("exact", "exactly"));
    }

    #[test]
    fn tokens_round_trip() {
        let items: Vec<String> = (0..10).map(|i| format!("id-{i}")).collect();
        let input = json!({"MaxResults": 5});
        let (page, next) =
            paginate(items.clone(), &input, (5, 1000), false, |s| s.clone()).unwrap();
        assert_eq!(page.len(), 5);
        let input = json!({"MaxResults": 5, "NextToken": next.unwrap()});
        let (page, next) = paginate(items, &input, (5, 1000), false, |s| s.clone()).unwrap();
        assert_eq!(page[0], "id-5");
        assert!(next.is_none());
    }
}
