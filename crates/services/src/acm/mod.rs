//! AWS Certificate Manager (awsJson 1.1, `X-Amz-Target: CertificateManager.*`): imported and
//! requested certificates, tags, and the interface ELBv2 uses (`certificate_usable`,
//! `set_in_use`, `key_material`).
//!
//! Certificates are regional records (`ctx.scope()`), one per certificate, keyed by the UUID at
//! the end of the ARN. What a certificate says about itself (names, serial, dates, key and
//! signature algorithms, key usages) is read once when it is stored ([`x509::Info`]).
//!
//! A requested certificate (`AMAZON_ISSUED`) gets its key and certificate when it is requested,
//! and its status is derived from the persisted request time: `PENDING_VALIDATION` for 120 s of
//! AWS time (scaled by `--time-scale`), then `ISSUED`; nobody needs to create the validation
//! records. The certificate is self-signed (`CN=<domain>`, every name as a SAN), not signed by
//! an Amazon CA nor by Airlock's local CA; DescribeCertificate still reports the issuer `Amazon`.
//!
//! What AWS answers, and where it is written down (see also `x509.rs` for ImportCertificate's
//! checks):
//! - Not found: "Could not find certificate <arn>." (ImportCertificate with an unknown ARN, a
//!   real response quoted in a public CI log) and "Could not find certificate <arn> in account
//!   <account>." (DescribeCertificate, real responses quoted in blog posts). A certificate of
//!   another region or account is not found.
//! - In use: "Certificate <arn> in account <account> is in use." (real responses quoted in
//!   terraform-provider-aws and other public issues).
//! - "You have reached the maximum number of certificates. Delete certificates that are not in
//!   use, or contact AWS Support to request an increase." (Knowledge Center); the quota is 2500
//!   certificates per account and region.
//! - DescribeCertificate of an import with neither key usage nor EKU extension: `KeyUsages
//!   [{Name: ANY}]`, `ExtendedKeyUsages [{Name: NONE, OID: ""}]`, `DomainValidationOptions
//!   [{DomainName}]`, `Options {CertificateTransparencyLoggingPreference: DISABLED}`, the CN as
//!   the only SAN, `CreatedAt` = `ImportedAt` (a re-import moves `ImportedAt` only), `Issuer` the
//!   issuer's CN (its O when it has one): a public comparison against real ACM responses.
//! - `KeyAlgorithm` is hyphenated (`RSA-2048`, `EC-prime256v1`) in DescribeCertificate *and* in
//!   ListCertificates summaries (the ACM User Guide's list-certificates example and public
//!   outputs), while `Includes.keyTypes` takes the enum (`RSA_2048`). Without `keyTypes`,
//!   ListCertificates lists RSA_1024 and RSA_2048 certificates only (User Guide).
//! - Unverified wordings: InvalidArnException, RequestInProgressException, re-import with tags
//!   or of a requested certificate, tag errors, unsupported request key algorithms, bad next
//!   tokens.

#[cfg(test)]
mod tests;
mod x509;

pub use x509::common_name_of;

pub use x509::Info;

use crate::input::typed;
use crate::service::{ops, Service};
use crate::Clock;
use crate::Ctx;
use airlock_dto::acm as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Kind, Scope, Tx};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use time::OffsetDateTime;

/// How long DNS (or email) validation takes, in AWS seconds.
const VALIDATION_SECS: f64 = 120.0;
/// An idempotency token identifies a request for one hour.
const IDEMPOTENCY_SECS: i64 = 3600;
/// ACM certificates per account and region (the default quota).
const QUOTA: usize = 2500;
const MAX_TAGS: usize = 50;
/// ListCertificates summaries carry at most this many names.
const SAN_SUMMARY_LIMIT: usize = 100;
/// What RequestCertificate can issue.
const REQUEST_KEY_ALGORITHMS: &[&str] = &["RSA_2048", "EC_prime256v1", "EC_secp384r1"];
/// ListCertificates' `keyTypes` when the request names none.
const DEFAULT_KEY_TYPES: &[&str] = &["RSA_1024", "RSA_2048"];

pub fn record_kinds() -> Vec<Kind> {
    vec![Kind::of::<Certificate>()]
}

/// ACM's registration.
pub static SERVICE: Service = Service {
    name: "acm",
    ops: ops! {
        "ImportCertificate" => Output(import_certificate),
        "RequestCertificate" => Output(request_certificate),
        "DescribeCertificate" => Output(describe_certificate),
        "ListCertificates" => Output(list_certificates),
        "GetCertificate" => Output(get_certificate),
        "DeleteCertificate" => Output(delete_certificate),
        "AddTagsToCertificate" => Output(add_tags),
        "RemoveTagsFromCertificate" => Output(remove_tags),
        "ListTagsForCertificate" => Output(list_tags),
    },
    records: record_kinds,
    iam: crate::authz::Iam {
        access,
        ..crate::authz::Iam::new("acm", "AccessDeniedException", 400)
    },
    endpoints: &["acm"],
    ..Service::NOTHING
};

// ------------------------------------------------------------------------------------------------
// Records

/// One ACM certificate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Certificate {
    /// The UUID at the end of the ARN (the record id).
    pub id: String,
    pub arn: String,
    /// `IMPORTED`, `AMAZON_ISSUED`, or `PRIVATE` (a request naming a private CA, which fails:
    /// Airlock has none).
    pub kind: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The last (re-)import.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub imported_at: Option<OffsetDateTime>,
    /// The certificate, its chain and key; absent for a request that failed.
    pub material: Option<Material>,
    /// What RequestCertificate asked for (`AMAZON_ISSUED` only).
    pub request: Option<Request>,
    /// Load balancers and listeners using the certificate.
    pub in_use_by: Vec<String>,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Material {
    /// PEM, normalised (64-column base64, `\n` line ends).
    pub certificate: String,
    /// PEM certificates, the issuer of `certificate` first.
    pub chain: Vec<String>,
    /// PEM (`PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY`, as imported).
    pub private_key: String,
    pub info: Info,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    pub domain_name: String,
    /// The domain name first, then the other SANs.
    pub names: Vec<String>,
    /// `DNS`, `EMAIL` or `HTTP`.
    pub validation_method: String,
    pub key_algorithm: String,
    pub idempotency_token: Option<String>,
    pub validations: Vec<Validation>,
    pub transparency_logging: String,
    pub export: Option<String>,
    /// `FailureReason` of a request that failed.
    pub failure: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Validation {
    pub domain_name: String,
    pub validation_domain: String,
    /// `_<32 hex>.<domain>.`
    pub record_name: String,
    /// `_<32 hex>.<10 letters>.acm-validations.aws.`
    pub record_value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: Option<String>,
}

airlock_store::record!(Certificate, "acm.certificate", id);

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

impl Certificate {
    /// A certificate of the caller's account and region, made now, with a new id; the caller
    /// fills in what it is.
    fn new(ctx: &Ctx<'_>) -> Certificate {
        let id = uuid::Uuid::new_v4().to_string();
        Certificate {
            arn: crate::partition::arn(
                &ctx.region,
                "acm",
                ctx.account(),
                &format!("certificate/{id}"),
            ),
            id,
            kind: String::new(),
            created_at: ctx.clock.now(),
            imported_at: None,
            material: None,
            request: None,
            in_use_by: Vec::new(),
            tags: Vec::new(),
        }
    }

    /// When a requested certificate is (or was) issued: validation takes AWS a while after
    /// the request.
    fn issued_at(&self, clock: Clock) -> Option<OffsetDateTime> {
        self.request
            .as_ref()
            .map(|_| clock.after(self.created_at, VALIDATION_SECS))
    }

    /// `Status` at the clock's time.
    pub fn status(&self, clock: Clock) -> &'static str {
        if let Some(r) = &self.request {
            if r.failure.is_some() {
                return "FAILED";
            }
            if self.issued_at(clock).is_some_and(|t| clock.now() < t) {
                return "PENDING_VALIDATION";
            }
        }
        match &self.material {
            Some(m) if clock.now().unix_timestamp() > m.info.not_after => "EXPIRED",
            Some(_) => "ISSUED",
            None => "FAILED",
        }
    }

    /// The certificate's facts, once a client may see them (imported, or issued).
    fn visible_info(&self, clock: Clock) -> Option<&Info> {
        match self.status(clock) {
            "ISSUED" | "EXPIRED" => self.material.as_ref().map(|m| &m.info),
            _ => None,
        }
    }

    fn key_algorithm(&self) -> &str {
        match (&self.request, &self.material) {
            (Some(r), _) => &r.key_algorithm,
            (None, Some(m)) => &m.info.key_algorithm,
            (None, None) => "RSA_2048",
        }
    }

    fn domain_name(&self) -> &str {
        match (&self.request, &self.material) {
            (Some(r), _) => &r.domain_name,
            (None, Some(m)) => &m.info.domain_name,
            (None, None) => "",
        }
    }

    fn names(&self) -> Vec<String> {
        match (&self.request, &self.material) {
            (Some(r), _) => r.names.clone(),
            (None, Some(m)) => m.info.sans.clone(),
            (None, None) => Vec::new(),
        }
    }

    fn renewal_eligibility(&self, clock: Clock) -> &'static str {
        // ACM renews its own certificates while they are in use.
        if self.kind == "AMAZON_ISSUED"
            && self.status(clock) == "ISSUED"
            && !self.in_use_by.is_empty()
        {
            "ELIGIBLE"
        } else {
            "INELIGIBLE"
        }
    }

    fn signature_algorithm(&self) -> String {
        if let Some(m) = &self.material {
            return m.info.signature_algorithm.clone();
        }
        match self.key_algorithm() {
            "EC_prime256v1" => "SHA256WITHECDSA",
            "EC_secp384r1" => "SHA384WITHECDSA",
            _ => "SHA256WITHRSA",
        }
        .to_owned()
    }

    /// The `CertificateDetail` of DescribeCertificate.
    fn detail(&self, clock: Clock) -> dto::CertificateDetail {
        let status = self.status(clock);
        let info = self.visible_info(clock);
        let amazon = self.kind == "AMAZON_ISSUED";
        let domain_validation_options = match &self.request {
            Some(r) => validation_options(r, status),
            None => self
                .names()
                .into_iter()
                .map(|n| dto::DomainValidation {
                    domain_name: Some(n),
                    ..dto::DomainValidation::default()
                })
                .collect(),
        };
        let (subject, issuer) = match (amazon, info) {
            (true, _) => (
                Some(format!("CN={}", self.domain_name())),
                Some("Amazon".to_owned()),
            ),
            (false, Some(i)) => (Some(i.subject.clone()), Some(i.issuer.clone())),
            (false, None) => (None, None),
        };
        dto::CertificateDetail {
            certificate_arn: Some(self.arn.clone()),
            created_at: Some(crate::iso(self.created_at)),
            domain_name: Some(self.domain_name().to_owned()),
            domain_validation_options: Some(domain_validation_options),
            extended_key_usages: Some(info.map_or_else(Vec::new, |i| {
                i.extended_key_usages
                    .iter()
                    .map(|(n, o)| dto::ExtendedKeyUsage {
                        name: Some(n.clone()),
                        oid: Some(o.clone()),
                    })
                    .collect()
            })),
            failure_reason: self.request.as_ref().and_then(|r| r.failure.clone()),
            imported_at: self.imported_at.map(crate::iso),
            in_use_by: Some(self.in_use_by.clone()),
            issued_at: self
                .issued_at(clock)
                .filter(|_| info.is_some())
                .map(crate::iso),
            issuer,
            key_algorithm: Some(x509::hyphenated(self.key_algorithm())),
            key_usages: Some(info.map_or_else(Vec::new, |i| {
                i.key_usages
                    .iter()
                    .map(|k| dto::KeyUsage {
                        name: Some(k.clone()),
                    })
                    .collect()
            })),
            not_after: info.map(|i| crate::iso(at(i.not_after))),
            not_before: info.map(|i| crate::iso(at(i.not_before))),
            options: Some(dto::CertificateOptions {
                certificate_transparency_logging_preference: Some(match &self.request {
                    Some(r) => r.transparency_logging.clone(),
                    None => "DISABLED".into(),
                }),
                export: self.request.as_ref().and_then(|r| r.export.clone()),
                ..dto::CertificateOptions::default()
            }),
            renewal_eligibility: Some(self.renewal_eligibility(clock).into()),
            serial: info.map(|i| i.serial.clone()),
            signature_algorithm: Some(self.signature_algorithm()),
            status: Some(status.into()),
            subject,
            subject_alternative_names: Some(self.names()),
            r#type: Some(self.kind.clone()),
            ..dto::CertificateDetail::default()
        }
    }

    /// The `CertificateSummary` of ListCertificates.
    fn summary(&self, clock: Clock) -> dto::CertificateSummary {
        let info = self.visible_info(clock);
        let names = self.names();
        dto::CertificateSummary {
            certificate_arn: Some(self.arn.clone()),
            created_at: Some(crate::iso(self.created_at)),
            domain_name: Some(self.domain_name().to_owned()),
            export_option: self
                .request
                .as_ref()
                .map(|r| r.export.clone().unwrap_or_else(|| "DISABLED".into())),
            exported: self.request.as_ref().map(|_| false),
            extended_key_usages: info.map(|i| {
                i.extended_key_usages
                    .iter()
                    .map(|(n, _)| n.clone())
                    .collect()
            }),
            has_additional_subject_alternative_names: Some(names.len() > SAN_SUMMARY_LIMIT),
            imported_at: self.imported_at.map(crate::iso),
            in_use: Some(!self.in_use_by.is_empty()),
            issued_at: self
                .issued_at(clock)
                .filter(|_| info.is_some())
                .map(crate::iso),
            key_algorithm: Some(x509::hyphenated(self.key_algorithm())),
            key_usages: info.map(|i| i.key_usages.clone()),
            not_after: info.map(|i| crate::iso(at(i.not_after))),
            not_before: info.map(|i| crate::iso(at(i.not_before))),
            renewal_eligibility: Some(self.renewal_eligibility(clock).into()),
            status: Some(self.status(clock).into()),
            subject_alternative_name_summaries: Some(
                names.iter().take(SAN_SUMMARY_LIMIT).cloned().collect(),
            ),
            r#type: Some(self.kind.clone()),
            ..dto::CertificateSummary::default()
        }
    }
}

fn validation_options(r: &Request, status: &str) -> Vec<dto::DomainValidation> {
    let domain_status = match status {
        "PENDING_VALIDATION" => "PENDING_VALIDATION",
        "FAILED" | "VALIDATION_TIMED_OUT" => "FAILED",
        _ => "SUCCESS",
    };
    r.validations
        .iter()
        .map(|v| {
            let mut o = dto::DomainValidation {
                domain_name: Some(v.domain_name.clone()),
                validation_domain: Some(v.validation_domain.clone()),
                validation_method: Some(r.validation_method.clone()),
                validation_status: Some(domain_status.into()),
                ..dto::DomainValidation::default()
            };
            match r.validation_method.as_str() {
                "DNS" => {
                    o.resource_record = Some(dto::ResourceRecord {
                        name: Some(v.record_name.clone()),
                        r#type: Some("CNAME".into()),
                        value: Some(v.record_value.clone()),
                    });
                }
                "EMAIL" => {
                    let base = v.validation_domain.trim_start_matches("*.");
                    o.validation_emails = Some(
                        [
                            "admin",
                            "administrator",
                            "hostmaster",
                            "postmaster",
                            "webmaster",
                        ]
                        .iter()
                        .map(|u| format!("{u}@{base}"))
                        .collect(),
                    );
                }
                _ => {
                    let base = v.domain_name.trim_start_matches("*.");
                    let token = v.record_name.trim_start_matches('_');
                    let token = token.split('.').next().unwrap_or_default();
                    o.http_redirect = Some(dto::HttpRedirect {
                        redirect_from: Some(format!(
                            "http://{base}/.well-known/pki-validation/{token}.txt"
                        )),
                        redirect_to: Some(format!(
                            "https://{}",
                            v.record_value.trim_end_matches('.')
                        )),
                    });
                }
            }
            o
        })
        .collect()
}

// ------------------------------------------------------------------------------------------------
// Finding certificates

fn invalid_arn(arn: &str) -> ApiError {
    ApiError::new(
        "InvalidArnException",
        format!("String '{arn}' is not a valid ARN."),
    )
}

fn not_found(arn: &str, account: &str) -> ApiError {
    ApiError::new(
        "ResourceNotFoundException",
        format!("Could not find certificate {arn} in account {account}."),
    )
}

/// `arn:<partition>:acm:<region>:<account>:certificate/<id>` → (region, account, id).
fn parse_arn(arn: &str) -> ApiResult<(&str, &str, &str)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts.as_slice() else {
        return Err(invalid_arn(arn));
    };
    let id = resource.strip_prefix("certificate/").unwrap_or_default();
    if *prefix != "arn"
        || partition.is_empty()
        || *service != "acm"
        || region.is_empty()
        || account.len() != 12
        || !account.bytes().all(|b| b.is_ascii_digit())
        || id.is_empty()
        || id.contains('/')
    {
        return Err(invalid_arn(arn));
    }
    Ok((region, account, id))
}

/// The certificate `arn` names, if it is one of `scope`'s.
fn lookup(
    get: impl Fn(&Scope, &str) -> Option<Arc<Certificate>>,
    scope: &Scope,
    arn: &str,
) -> ApiResult<Option<Arc<Certificate>>> {
    let (region, account, id) = parse_arn(arn)?;
    if region != scope.region || account != scope.account {
        return Ok(None);
    }
    Ok(get(scope, id).filter(|c| c.arn == arn))
}

fn find_tx(tx: &Tx<'_>, scope: &Scope, arn: &str) -> ApiResult<Arc<Certificate>> {
    lookup(|s, id| tx.get::<Certificate>(s, id), scope, arn)?
        .ok_or_else(|| not_found(arn, &scope.account))
}

/// ACM's actions act on the certificate the request names (with its tags as
/// `aws:ResourceTag/…` when a policy reads them), else on `*`.
fn access(c: &crate::authz::Call<'_>) -> Vec<crate::authz::Access> {
    let Some(arn) = c.str("CertificateArn") else {
        return c.default_access();
    };
    let tags = match c.wants_tags() {
        true => find(c.ctx, arn)
            .map(|cert| {
                cert.tags
                    .iter()
                    .map(|t| (t.key.clone(), t.value.clone().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default(),
        false => Vec::new(),
    };
    vec![crate::authz::Access::new(c.action(), arn).with_tags(None, tags)]
}

fn find(ctx: &Ctx<'_>, arn: &str) -> ApiResult<Arc<Certificate>> {
    let scope = ctx.scope();
    ctx.store
        .read(|v| lookup(|s, id| v.get::<Certificate>(s, id), &scope, arn))?
        .ok_or_else(|| not_found(arn, ctx.account()))
}

// ------------------------------------------------------------------------------------------------
// Tags

fn tags_input(input: &[dto::Tag]) -> ApiResult<Vec<Tag>> {
    let mut tags = Vec::new();
    for t in input {
        let key = t.key.clone().unwrap_or_default();
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(ApiError::new(
                "InvalidTagException",
                format!("Tag key '{key}' is not valid: tag keys cannot start with 'aws:'."),
            ));
        }
        tags.push(Tag {
            key,
            value: t.value.clone(),
        });
    }
    Ok(tags)
}

fn merge_tags(existing: &mut Vec<Tag>, new: Vec<Tag>) -> ApiResult<()> {
    for t in new {
        match existing.iter_mut().find(|e| e.key == t.key) {
            Some(e) => e.value = t.value,
            None => existing.push(t),
        }
    }
    if existing.len() > MAX_TAGS {
        return Err(ApiError::new(
            "TooManyTagsException",
            format!("A certificate can have at most {MAX_TAGS} tags."),
        ));
    }
    Ok(())
}

fn tags_output(tags: &[Tag]) -> Vec<dto::Tag> {
    tags.iter()
        .map(|t| dto::Tag {
            key: Some(t.key.clone()),
            value: t.value.clone(),
        })
        .collect()
}

// ------------------------------------------------------------------------------------------------
// Operations

/// A blob member: base64 on the wire. Text that is not base64 is taken as it is.
fn blob(s: &str) -> Vec<u8> {
    STANDARD
        .decode(s.as_bytes())
        .unwrap_or_else(|_| s.as_bytes().to_vec())
}

/// Stores a new certificate with its tags, within the account's quota; returns its ARN.
fn add(tx: &mut Tx<'_>, scope: &Scope, mut c: Certificate, tags: Vec<Tag>) -> ApiResult<String> {
    if tx.list::<Certificate>(scope).len() >= QUOTA {
        return Err(quota_reached());
    }
    merge_tags(&mut c.tags, tags)?;
    let arn = c.arn.clone();
    tx.put(scope, c)?;
    Ok(arn)
}

fn quota_reached() -> ApiError {
    ApiError::new(
        "LimitExceededException",
        "You have reached the maximum number of certificates. Delete certificates that are not in use, or contact AWS Support to request an increase.",
    )
}

fn import_certificate(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::ImportCertificateRequest = typed(input)?;
    let reimport = input.certificate_arn.as_deref();
    let tags = tags_input(input.tags.as_deref().unwrap_or_default())?;
    let scope = ctx.scope();
    if let Some(arn) = reimport {
        if !tags.is_empty() {
            return Err(ApiError::new(
                "ValidationException",
                "Tags cannot be applied when reimporting a certificate.",
            ));
        }
        let existing = ctx
            .store
            .read(|v| lookup(|s, id| v.get::<Certificate>(s, id), &scope, arn))?
            .ok_or_else(|| {
                ApiError::new(
                    "ResourceNotFoundException",
                    format!("Could not find certificate {arn}."),
                )
            })?;
        if existing.kind != "IMPORTED" {
            return Err(ApiError::new(
                "ValidationException",
                format!("Certificate {arn} was not imported and cannot be reimported."),
            ));
        }
    }
    let certificate = blob(&input.certificate);
    let private_key = blob(&input.private_key);
    let chain = input.certificate_chain.as_deref().map(blob);
    let checked = x509::check_import(
        &certificate,
        &private_key,
        chain.as_deref(),
        ctx.clock.now(),
    )?;
    let material = Material {
        certificate: checked.certificate,
        chain: checked.chain,
        private_key: checked.private_key,
        info: checked.info,
    };
    let arn = ctx.store.write(|tx| {
        if let Some(arn) = reimport {
            let mut c = (*find_tx(tx, &scope, arn).map_err(|_| {
                ApiError::new(
                    "ResourceNotFoundException",
                    format!("Could not find certificate {arn}."),
                )
            })?)
            .clone();
            c.material = Some(material);
            c.imported_at = Some(ctx.clock.now());
            tx.put(&scope, c)?;
            return Ok::<_, ApiError>(arn.to_owned());
        }
        let c = Certificate {
            kind: "IMPORTED".into(),
            imported_at: Some(ctx.clock.now()),
            material: Some(material),
            request: None,
            ..Certificate::new(ctx)
        };
        add(tx, &scope, c, tags)
    })?;
    Ok(Output::new(dto::ImportCertificateResponse {
        certificate_arn: Some(arn),
    }))
}

/// `_<32 hex>` for a DNS validation record, the same for a name every time in an account (ACM
/// reuses a domain's validation record across requests).
fn validation_record(account: &str, name: &str) -> (String, String) {
    let base = name.trim_start_matches("*.").to_ascii_lowercase();
    let h = Sha256::digest(format!("{account}:{base}").as_bytes());
    let v = Sha256::digest(format!("value:{account}:{base}").as_bytes());
    let letters: String = v[16..26]
        .iter()
        .map(|b| char::from(b'a' + b % 26))
        .collect();
    (
        format!("_{}.{base}.", hex::encode(&h[..16])),
        format!("_{}.{letters}.acm-validations.aws.", hex::encode(&v[..16])),
    )
}

/// Whether `parent` is `domain` or one of its parent domains.
fn is_parent_domain(parent: &str, domain: &str) -> bool {
    let domain = domain.trim_start_matches("*.").to_ascii_lowercase();
    let parent = parent.to_ascii_lowercase();
    domain == parent || domain.ends_with(&format!(".{parent}"))
}

/// Midnight UTC of `t`'s day (ACM certificates start at 00:00:00 of their issue day).
fn midnight(t: OffsetDateTime) -> OffsetDateTime {
    t.to_offset(time::UtcOffset::UTC)
        .replace_time(time::Time::MIDNIGHT)
}

fn request_certificate(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::RequestCertificateRequest = typed(input)?;
    let invalid_param = |m: String| ApiError::new("InvalidParameterException", m);
    let domain = input.domain_name.clone();
    let mut names = vec![domain.clone()];
    for s in input.subject_alternative_names.iter().flatten() {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(s)) {
            names.push(s.clone());
        }
    }
    let managed_by = input.managed_by.as_deref();
    let method = input
        .validation_method
        .clone()
        .unwrap_or_else(|| "EMAIL".into());
    if method == "HTTP" && managed_by != Some("CLOUDFRONT") {
        return Err(invalid_param(
            "HTTP validation is only available for certificates managed by CloudFront.".into(),
        ));
    }
    let key_algorithm = input
        .key_algorithm
        .clone()
        .unwrap_or_else(|| "RSA_2048".into());
    if !REQUEST_KEY_ALGORITHMS.contains(&key_algorithm.as_str()) {
        return Err(invalid_param(format!(
            "The key algorithm {key_algorithm} is not supported for certificate requests. Supported values: {}.",
            REQUEST_KEY_ALGORITHMS.join(", ")
        )));
    }
    let mut validation_domains: Vec<(String, String)> = Vec::new();
    for o in input.domain_validation_options.iter().flatten() {
        let (d, vd) = (o.domain_name.as_str(), o.validation_domain.as_str());
        if !names.iter().any(|n| n.eq_ignore_ascii_case(d)) || !is_parent_domain(vd, d) {
            return Err(ApiError::new(
                "InvalidDomainValidationOptionsException",
                format!("The validation domain {vd} is not valid for the domain name {d}."),
            ));
        }
        validation_domains.push((d.to_ascii_lowercase(), vd.to_owned()));
    }
    let tags = tags_input(input.tags.as_deref().unwrap_or_default())?;
    let token = input.idempotency_token.clone();
    let options = input.options.as_ref();
    let transparency_logging = options
        .and_then(|o| o.certificate_transparency_logging_preference.clone())
        .unwrap_or_else(|| "ENABLED".into());
    let export = options.and_then(|o| o.export.clone());
    let scope = ctx.scope();

    // The same token within an hour, for the same names, is the same request.
    let same = |c: &Certificate| {
        c.request.as_ref().is_some_and(|r| {
            token.is_some()
                && r.idempotency_token == token
                && r.names == names
                && (ctx.clock.now() - c.created_at).whole_seconds() < IDEMPOTENCY_SECS
        })
    };
    if let Some(c) = ctx
        .store
        .read(|v| v.list::<Certificate>(&scope).into_iter().find(|c| same(c)))
    {
        return Ok(Output::new(dto::RequestCertificateResponse {
            certificate_arn: Some(c.arn.clone()),
        }));
    }

    let issue_at = ctx.clock.after(ctx.clock.now(), VALIDATION_SECS);
    let (kind, failure, material) = if input.certificate_authority_arn.is_some() {
        // Airlock has no private CAs: the request fails the way ACM fails one for a CA that
        // does not exist.
        ("PRIVATE", Some("PCA_RESOURCE_NOT_FOUND".to_owned()), None)
    } else {
        let ca = crate::ca::ensure(ctx.store)?;
        let issued = x509::issue(&domain, &names, &key_algorithm, midnight(issue_at), &ca)?;
        let material = Material {
            certificate: issued.certificate,
            chain: issued.chain,
            private_key: issued.private_key,
            info: issued.info,
        };
        ("AMAZON_ISSUED", None, Some(material))
    };
    let validations =
        names
            .iter()
            .map(|n| {
                let (record_name, record_value) = validation_record(ctx.account(), n);
                let validation_domain = validation_domains
                    .iter()
                    .find(|(d, _)| d.eq_ignore_ascii_case(n))
                    .map_or_else(|| n.clone(), |(_, vd)| vd.clone());
                let record_value =
                    if method == "HTTP" {
                        format!(
                    "validation.{}.acm-validations.aws/{}/.well-known/pki-validation/{}.txt",
                    ctx.region,
                    ctx.account(),
                    record_name.trim_start_matches('_').split('.').next().unwrap_or_default()
                )
                    } else {
                        record_value
                    };
                Validation {
                    domain_name: n.clone(),
                    validation_domain,
                    record_name,
                    record_value,
                }
            })
            .collect();
    let arn = ctx.store.write(|tx| {
        if let Some(c) = tx.list::<Certificate>(&scope).into_iter().find(|c| same(c)) {
            return Ok::<_, ApiError>(c.arn.clone());
        }
        let c = Certificate {
            kind: kind.into(),
            imported_at: None,
            material,
            request: Some(Request {
                domain_name: domain.clone(),
                names: names.clone(),
                validation_method: method.clone(),
                key_algorithm: key_algorithm.clone(),
                idempotency_token: token.clone(),
                validations,
                transparency_logging,
                export,
                failure,
            }),
            ..Certificate::new(ctx)
        };
        add(tx, &scope, c, tags)
    })?;
    Ok(Output::new(dto::RequestCertificateResponse {
        certificate_arn: Some(arn),
    }))
}

fn describe_certificate(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::DescribeCertificateRequest = typed(input)?;
    let c = find(ctx, &input.certificate_arn)?;
    Ok(Output::new(dto::DescribeCertificateResponse {
        certificate: Some(c.detail(ctx.clock)),
    }))
}

fn get_certificate(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::GetCertificateRequest = typed(input)?;
    let arn = input.certificate_arn.as_str();
    let c = find(ctx, arn)?;
    let Some(m) = c
        .material
        .as_ref()
        .filter(|_| c.visible_info(ctx.clock).is_some())
    else {
        return Err(ApiError::new(
            "RequestInProgressException",
            format!(
                "Certificate {arn} in account {} is in status {} and cannot be retrieved yet.",
                ctx.account(),
                c.status(ctx.clock)
            ),
        ));
    };
    Ok(Output::new(dto::GetCertificateResponse {
        certificate: Some(m.certificate.clone()),
        certificate_chain: (!m.chain.is_empty()).then(|| m.chain.concat()),
    }))
}

fn delete_certificate(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::DeleteCertificateRequest = typed(input)?;
    let arn = input.certificate_arn.as_str();
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let c = find_tx(tx, &scope, arn)?;
        if !c.in_use_by.is_empty() {
            return Err(ApiError::new(
                "ResourceInUseException",
                format!("Certificate {arn} in account {} is in use.", scope.account),
            ));
        }
        tx.delete::<Certificate>(&scope, &c.id);
        Ok(())
    })?;
    Ok(Output::new(()))
}

fn list_certificates(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::ListCertificatesRequest = typed(input)?;
    let statuses = input.certificate_statuses.unwrap_or_default();
    let includes = input.includes.unwrap_or_default();
    let mut key_types = includes.key_types.unwrap_or_default();
    if key_types.is_empty() {
        key_types = DEFAULT_KEY_TYPES.iter().map(|s| (*s).to_owned()).collect();
    }
    let key_usage = includes.key_usage.unwrap_or_default();
    let extended_key_usage = includes.extended_key_usage.unwrap_or_default();
    let export_option = includes.export_option.as_deref();
    let managed_by = includes.managed_by.as_deref();
    let descending = input.sort_order.as_deref() == Some("DESCENDING");
    let max = input.max_items.map(|m| m.max(1) as usize);
    let clock = ctx.clock;

    let mut certs: Vec<Arc<Certificate>> = ctx
        .store
        .read(|v| v.list::<Certificate>(&ctx.scope()))
        .into_iter()
        .filter(|c| statuses.is_empty() || statuses.iter().any(|s| s == c.status(clock)))
        .filter(|c| key_types.iter().any(|k| k == c.key_algorithm()))
        .filter(|c| {
            let info = c.visible_info(clock);
            (key_usage.is_empty()
                || info.is_some_and(|i| i.key_usages.iter().any(|k| key_usage.contains(k))))
                && (extended_key_usage.is_empty()
                    || info.is_some_and(|i| {
                        i.extended_key_usages
                            .iter()
                            .any(|(n, _)| extended_key_usage.contains(n))
                    }))
        })
        .filter(|c| {
            export_option.is_none_or(|e| {
                e == c
                    .request
                    .as_ref()
                    .and_then(|r| r.export.as_deref())
                    .unwrap_or("DISABLED")
            })
        })
        .filter(|_| managed_by.is_none())
        .collect();
    certs.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.arn.cmp(&b.arn)));
    if descending {
        certs.reverse();
    }
    let start = match input.next_token.as_deref() {
        None => 0,
        Some(t) => {
            let arn = STANDARD
                .decode(t.as_bytes())
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            arn.and_then(|a| certs.iter().position(|c| c.arn == a))
                .ok_or_else(|| {
                    ApiError::new(
                        "InvalidArgsException",
                        "The NextToken provided is not valid.",
                    )
                })?
        }
    };
    let end = max.map_or(certs.len(), |m| (start + m).min(certs.len()));
    Ok(Output::new(dto::ListCertificatesResponse {
        certificate_summary_list: Some(
            certs[start..end].iter().map(|c| c.summary(clock)).collect(),
        ),
        next_token: certs.get(end).map(|c| STANDARD.encode(c.arn.as_bytes())),
    }))
}

fn add_tags(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::AddTagsToCertificateRequest = typed(input)?;
    let arn = input.certificate_arn.as_str();
    let tags = tags_input(&input.tags)?;
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let mut c = (*find_tx(tx, &scope, arn)?).clone();
        merge_tags(&mut c.tags, tags)?;
        tx.put(&scope, c)?;
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(()))
}

fn remove_tags(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::RemoveTagsFromCertificateRequest = typed(input)?;
    let arn = input.certificate_arn.as_str();
    let tags = tags_input(&input.tags)?;
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let mut c = (*find_tx(tx, &scope, arn)?).clone();
        // A tag given with a value is removed only when the value matches.
        c.tags.retain(|t| {
            !tags
                .iter()
                .any(|r| r.key == t.key && (r.value.is_none() || r.value == t.value))
        });
        tx.put(&scope, c)?;
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(()))
}

fn list_tags(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::ListTagsForCertificateRequest = typed(input)?;
    let c = find(ctx, &input.certificate_arn)?;
    Ok(Output::new(dto::ListTagsForCertificateResponse {
        tags: Some(tags_output(&c.tags)),
    }))
}

// ------------------------------------------------------------------------------------------------
// The interface other services use

/// Certificate `arn` of `scope` (read in a transaction or a snapshot), if it exists.
pub fn find_in<R: airlock_store::Read>(
    r: &R,
    scope: &Scope,
    arn: &str,
) -> Option<Arc<Certificate>> {
    lookup(|s, id| r.get::<Certificate>(s, id), scope, arn)
        .ok()
        .flatten()
}

/// Whether `arn` names an ISSUED certificate of this account and region (what an ELB listener
/// may use; anything else is ELBv2's `CertificateNotFound`).
pub fn certificate_usable(tx: &Tx<'_>, scope: &Scope, arn: &str, clock: Clock) -> bool {
    find_in(tx, scope, arn).is_some_and(|c| c.status(clock) == "ISSUED")
}

/// Records that `user` (a listener or load balancer ARN) uses the certificate `arn` (or stops
/// using it): `InUseBy` in DescribeCertificate, and DeleteCertificate's `ResourceInUseException`.
pub fn set_in_use(
    tx: &mut Tx<'_>,
    scope: &Scope,
    arn: &str,
    user: &str,
    in_use: bool,
) -> ApiResult<()> {
    let Some(c) = find_in(tx, scope, arn) else {
        return if in_use {
            Err(not_found(arn, &scope.account))
        } else {
            Ok(())
        };
    };
    let listed = c.in_use_by.iter().any(|u| u == user);
    if listed == in_use {
        return Ok(());
    }
    let mut c = (*c).clone();
    if in_use {
        c.in_use_by.push(user.to_owned());
    } else {
        c.in_use_by.retain(|u| u != user);
    }
    tx.put(scope, c)?;
    Ok(())
}

/// What a load balancer serves for certificate `arn`: the certificate followed by its chain
/// (PEM), the private key (PEM), and the names the certificate covers (for SNI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    pub chain: String,
    pub key: String,
    pub names: Vec<String>,
}

/// The certificate `arn` as a load balancer serves it at the clock's time (read in a transaction or a snapshot);
/// `None` until a requested certificate is issued, or if it is gone.
pub fn served<R: airlock_store::Read>(
    r: &R,
    scope: &Scope,
    arn: &str,
    clock: Clock,
) -> Option<Served> {
    let c = lookup(|s, id| r.get::<Certificate>(s, id), scope, arn)
        .ok()
        .flatten()?;
    let info = c.visible_info(clock)?;
    let m = c.material.as_ref()?;
    let mut chain = m.certificate.clone();
    for p in &m.chain {
        chain.push_str(p);
    }
    Some(Served {
        chain,
        key: m.private_key.clone(),
        names: info.sans.clone(),
    })
}

/// The certificate chain and private key (PEM) of `arn` (see [`served`]).
pub fn key_material<R: airlock_store::Read>(
    r: &R,
    scope: &Scope,
    arn: &str,
    clock: Clock,
) -> Option<(String, String)> {
    served(r, scope, arn, clock).map(|s| (s.chain, s.key))
}
