//! The access keys Airlock knows, and who each stands for.
//!
//! - `test` (secret `test`): the root of the default account (`--account`, `000000000000`).
//! - Any 12-digit key (secret `test`): the root of that account, so that a client can act in
//!   several accounts without creating anything first.
//! - `AKIA...` keys made by IAM CreateAccessKey: their user (or the account's root).
//! - `ASIA...` keys issued by STS AssumeRole, until they expire: the assumed-role session. These
//!   also require their session token.
//!
//! IAM access keys and STS sessions are kept in [`credentials_scope`] keyed by access key id, so
//! a lookup is one map access whatever the account.

use crate::iam::{self, AccessKey, User};
use crate::sts::Session;
use crate::{Config, Principal};
use airlock_store::{Scope, Store, View};
use time::OffsetDateTime;

/// What a valid access key stands for.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub secret_access_key: String,
    /// Set for STS session credentials: requests must carry it as `X-Amz-Security-Token`.
    pub session_token: Option<String>,
    pub principal: Principal,
}

/// The secret of the default key and of the 12-digit account keys.
pub const DEFAULT_SECRET: &str = "test";

/// Every region of AWS's partitions, as botocore's `endpoints.json` lists them (aws, aws-cn,
/// aws-us-gov, the ISO partitions, aws-eusc). A request signed for any other region is refused.
pub const REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "cn-north-1",
    "cn-northwest-1",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-iso-east-1",
    "us-iso-west-1",
    "us-isob-east-1",
    "us-isob-west-1",
    "eu-isoe-west-1",
    "us-isof-east-1",
    "us-isof-south-1",
    "eusc-de-east-1",
];

/// Whether `region` is one of AWS's regions.
pub fn region_exists(region: &str) -> bool {
    REGIONS.contains(&region)
}

/// Where access keys (`iam.access_key`) and STS sessions (`sts.session`) are kept: a scope of no
/// account, keyed by access key id.
pub fn credentials_scope() -> Scope {
    Scope::global("")
}

/// The root of `account`, acting with `access_key_id`.
pub fn root(account: &str, access_key_id: &str) -> Principal {
    Principal {
        account: account.to_owned(),
        arn: ["arn:aws:iam::", account, ":root"].concat(),
        user_id: account.to_owned(),
        access_key_id: access_key_id.to_owned(),
    }
}

pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The credentials of `access_key_id`, if Airlock knows the key (and, for session credentials,
/// they have not expired at `now`).
pub fn resolve(
    store: &Store,
    config: &Config,
    access_key_id: &str,
    now: OffsetDateTime,
) -> Option<Credentials> {
    if access_key_id == "test" {
        return Some(Credentials {
            secret_access_key: DEFAULT_SECRET.into(),
            session_token: None,
            principal: root(&config.default_account, access_key_id),
        });
    }
    if is_account_id(access_key_id) {
        return Some(Credentials {
            secret_access_key: DEFAULT_SECRET.into(),
            session_token: None,
            principal: root(access_key_id, access_key_id),
        });
    }
    store.read(|v| stored(v, access_key_id, Some(now)))
}

/// An access key or session kept in the store (sessions only while unexpired, when `now` is
/// given).
fn stored(v: &View<'_>, access_key_id: &str, now: Option<OffsetDateTime>) -> Option<Credentials> {
    let scope = credentials_scope();
    if let Some(s) = v.get::<Session>(&scope, access_key_id) {
        if now.is_some_and(|now| s.expires_at <= now.unix_timestamp()) {
            return None;
        }
        return Some(Credentials {
            secret_access_key: s.secret_access_key.clone(),
            session_token: Some(s.session_token.clone()),
            principal: Principal {
                account: s.account.clone(),
                arn: s.arn.clone(),
                user_id: s.user_id(),
                access_key_id: access_key_id.to_owned(),
            },
        });
    }
    let key = v.get::<AccessKey>(&scope, access_key_id)?;
    if key.status != "Active" {
        return None;
    }
    let principal = match &key.user_name {
        None => root(&key.account, access_key_id),
        Some(name) => {
            let user = v.get::<User>(&Scope::global(key.account.clone()), &iam::key(name))?;
            Principal {
                account: key.account.clone(),
                arn: user.arn.clone(),
                user_id: user.user_id.clone(),
                access_key_id: access_key_id.to_owned(),
            }
        }
    };
    Some(Credentials {
        secret_access_key: key.secret_access_key.clone(),
        session_token: None,
        principal,
    })
}

/// The principal of a request when `--auth off` (any key is accepted), without the store: a
/// 12-digit key is that account's root, anything else the default account's root.
///
/// [`unverified_principal_in`] also knows IAM access keys and STS sessions.
/// The caller of an unsigned request to an operation that takes one (AssumeRoleWithWebIdentity):
/// no account, no ARN, no key.
pub fn anonymous() -> Principal {
    Principal {
        account: String::new(),
        arn: String::new(),
        user_id: String::new(),
        access_key_id: String::new(),
    }
}

pub fn unverified_principal(config: &Config, access_key_id: &str) -> Principal {
    if is_account_id(access_key_id) {
        root(access_key_id, access_key_id)
    } else {
        root(&config.default_account, access_key_id)
    }
}

/// The principal of a request when `--auth off`: the key's principal if Airlock knows the key
/// (IAM access keys, STS sessions even expired), else as [`unverified_principal`].
pub fn unverified_principal_in(store: &Store, config: &Config, access_key_id: &str) -> Principal {
    if access_key_id != "test" && !is_account_id(access_key_id) {
        if let Some(c) = store.read(|v| stored(v, access_key_id, None)) {
            return c.principal;
        }
    }
    unverified_principal(config, access_key_id)
}

/// Helpers for the services' unit tests.
#[cfg(test)]
pub(crate) mod test_support {
    use crate::{Config, Ctx, Principal};
    use airlock_store::Store;
    use time::macros::datetime;

    pub const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["airflow.amazonaws.com","airflow-env.amazonaws.com"]},"Action":"sts:AssumeRole"},{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;

    pub fn store() -> Store {
        Store::ephemeral(&crate::record_kinds())
    }

    /// Local functions that call the handlers `$op` of the parent module and answer the JSON
    /// value of their output, for tests that read answers as values (they shadow `super::*`).
    macro_rules! as_values {
        ($($op:ident),*) => {$(
            fn $op(
                ctx: &crate::Ctx<'_>,
                input: &serde_json::Value,
            ) -> airlock_protocol::ApiResult<serde_json::Value> {
                super::$op(ctx, input).map(|o| o.to_value())
            }
        )*};
    }
    pub(crate) use as_values;

    pub fn root_principal(account: &str) -> Principal {
        super::root(account, "test")
    }

    /// Calls an EC2 operation through EC2's registration (its `before` hook included).
    pub fn ec2(
        ctx: &Ctx<'_>,
        op: &str,
        input: serde_json::Value,
    ) -> Result<serde_json::Value, airlock_protocol::ApiError> {
        crate::ec2::SERVICE
            .call_value(ctx, op, &input)
            .expect("implemented")
    }

    /// Asserts that a call failed with AWS's error `code` and `message`.
    #[track_caller]
    pub fn assert_refused<T: std::fmt::Debug>(
        r: Result<T, airlock_protocol::ApiError>,
        code: &str,
        message: &str,
    ) {
        let e = r.unwrap_err();
        assert_eq!((e.code.as_str(), e.message.as_str()), (code, message));
    }

    /// A new VPC with `cidr` and one subnet with `subnet_cidr`: their ids.
    pub fn vpc_with_subnet(ctx: &Ctx<'_>, cidr: &str, subnet_cidr: &str) -> (String, String) {
        let vpc = ec2(ctx, "CreateVpc", serde_json::json!({ "CidrBlock": cidr })).unwrap();
        let vpc_id = vpc["Vpc"]["VpcId"].as_str().unwrap().to_owned();
        let subnet = ec2(
            ctx,
            "CreateSubnet",
            serde_json::json!({ "VpcId": vpc_id, "CidrBlock": subnet_cidr }),
        )
        .unwrap();
        let subnet_id = subnet["Subnet"]["SubnetId"].as_str().unwrap().to_owned();
        (vpc_id, subnet_id)
    }

    pub fn ctx_as<'a>(store: &'a Store, config: &'a Config, principal: Principal) -> Ctx<'a> {
        Ctx {
            store,
            config,
            principal,
            region: "us-west-2".into(),
            request_id: "00000000-0000-0000-0000-000000000000".into(),
            clock: config.clock(datetime!(2024-05-01 10:00:00.123 UTC)),
            body: crate::Body::EMPTY,
            origin: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;
    use serde_json::json;

    #[test]
    fn default_and_account_keys() {
        let store = store();
        let config = Config::default();
        let now = OffsetDateTime::now_utc();
        let c = resolve(&store, &config, "test", now).unwrap();
        assert_eq!(c.secret_access_key, "test");
        assert_eq!(c.session_token, None);
        assert_eq!(c.principal.account, "000000000000");
        assert_eq!(c.principal.arn, "arn:aws:iam::000000000000:root");
        assert_eq!(c.principal.user_id, "000000000000");
        assert_eq!(c.principal.access_key_id, "test");

        let c = resolve(&store, &config, "123456789012", now).unwrap();
        assert_eq!(c.secret_access_key, "test");
        assert_eq!(c.principal.arn, "arn:aws:iam::123456789012:root");
        assert_eq!(c.principal.access_key_id, "123456789012");

        assert!(resolve(&store, &config, "AKIAIOSFODNN7EXAMPLE", now).is_none());
        assert!(resolve(&store, &config, "12345678901", now).is_none());

        assert_eq!(
            unverified_principal(&config, "whatever").account,
            "000000000000"
        );
        assert_eq!(
            unverified_principal(&config, "123456789012").account,
            "123456789012"
        );
        assert_eq!(
            unverified_principal_in(&store, &config, "anything").account,
            "000000000000"
        );
    }

    #[test]
    fn iam_access_keys_resolve_to_their_user() {
        let store = store();
        let config = Config::default();
        let ctx = ctx_as(&store, &config, root_principal("123456789012"));
        let user = crate::iam::SERVICE
            .call_value(
                &ctx,
                "CreateUser",
                &json!({"UserName": "Alice", "Path": "/eng/"}),
            )
            .unwrap()
            .unwrap();
        let key = crate::iam::SERVICE
            .call_value(&ctx, "CreateAccessKey", &json!({"UserName": "alice"}))
            .unwrap()
            .unwrap();
        let id = key["AccessKey"]["AccessKeyId"].as_str().unwrap();
        let c = resolve(&store, &config, id, ctx.clock.now()).unwrap();
        assert_eq!(
            c.secret_access_key,
            key["AccessKey"]["SecretAccessKey"].as_str().unwrap()
        );
        assert_eq!(c.session_token, None);
        assert_eq!(c.principal.account, "123456789012");
        assert_eq!(c.principal.arn, "arn:aws:iam::123456789012:user/eng/Alice");
        assert_eq!(
            c.principal.user_id,
            user["User"]["UserId"].as_str().unwrap()
        );
        assert_eq!(c.principal.access_key_id, id);
        assert_eq!(unverified_principal_in(&store, &config, id), c.principal);

        // The user's own GetCallerIdentity and GetUser.
        let as_alice = ctx_as(&store, &config, c.principal.clone());
        let me = crate::sts::SERVICE
            .call_value(&as_alice, "GetCallerIdentity", &json!({}))
            .unwrap()
            .unwrap();
        assert_eq!(
            me,
            json!({"UserId": user["User"]["UserId"], "Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/eng/Alice"})
        );
        let got = crate::iam::SERVICE
            .call_value(&as_alice, "GetUser", &json!({}))
            .unwrap()
            .unwrap();
        assert_eq!(got["User"]["UserName"], json!("Alice"));

        // Root keys made by the root resolve to the root.
        let root_key = crate::iam::SERVICE
            .call_value(&ctx, "CreateAccessKey", &json!({}))
            .unwrap()
            .unwrap();
        assert!(root_key["AccessKey"].get("UserName").is_none());
        let id2 = root_key["AccessKey"]["AccessKeyId"].as_str().unwrap();
        let c2 = resolve(&store, &config, id2, ctx.clock.now()).unwrap();
        assert_eq!(c2.principal.arn, "arn:aws:iam::123456789012:root");

        // Deleted keys no longer resolve.
        crate::iam::SERVICE
            .call_value(
                &ctx,
                "DeleteAccessKey",
                &json!({"UserName": "Alice", "AccessKeyId": id}),
            )
            .unwrap()
            .unwrap();
        assert!(resolve(&store, &config, id, ctx.clock.now()).is_none());
    }
}
