//! EC2 key pairs: CreateKeyPair, ImportKeyPair, DescribeKeyPairs, DeleteKeyPair.
//!
//! Key pairs are regional (`ctx.scope()`). Airlock keeps only the public key, in OpenSSH format,
//! so that the bastion's SSH server can accept the matching private key later.
//!
//! What AWS answers, and where it is written down:
//! - CreateKeyPair generates a 2048-bit RSA key returned as an unencrypted PKCS#1 PEM
//!   (`-----BEGIN RSA PRIVATE KEY-----`), or an ED25519 key returned as an OpenSSH private key;
//!   `KeyFormat=ppk` returns a PuTTY private key instead (API reference of CreateKeyPair).
//!   Real responses wrap the base64 at 64 columns and carry no final newline. Airlock keeps the
//!   final newline of OpenSSH private keys: without it OpenSSH refuses the file ("error in
//!   libcrypto"), which would make the key useless when saved as-is. `ppk` is PuTTY's format
//!   version 3 (PuTTY 0.75+; which version EC2 writes is unverified).
//! - The stored (and `IncludePublicKey`) public key carries the key name as its comment, for
//!   imported keys too (unverified: AWS may keep an imported key's own comment).
//! - Fingerprints (EC2 User Guide "Verify the fingerprint of your key pair", the `KeyPairInfo`
//!   API reference, and reports of real responses in public issue trackers):
//!   - RSA created by EC2: SHA-1 of the DER PKCS#8 private key, as colon-separated hex
//!     (`openssl pkcs8 -topk8 -nocrypt -outform DER | openssl sha1 -c`).
//!   - RSA imported: MD5 of the DER SubjectPublicKeyInfo, colon-separated hex
//!     (`openssl pkey -pubout -outform DER | openssl md5 -c`). The API reference says "RFC 4716
//!     section 4" (the MD5 of the SSH blob that `ssh-keygen -E md5 -l` prints), but real EC2
//!     hashes the DER form; the User Guide and observed responses agree on that.
//!   - ED25519 (created or imported): base64 of the SHA-256 of the SSH public key blob, *with*
//!     the `=` padding ("Amazon EC2 might append padding to the fingerprint with = characters"),
//!     i.e. what `ssh-keygen -l` prints after `SHA256:`, plus `=`.
//! - ImportKeyPair accepts OpenSSH public keys, base64-encoded DER, and RFC 4716 (SSH2) public
//!   key files; RSA (1024 to 4096 bits, as the User Guide lists) and ED25519 only. Anything else is
//!   `InvalidKey.Format` "Key is not in valid OpenSSH public key format" (the answer real EC2
//!   gives, e.g. for ECDSA keys or for text that is not base64).
//! - Errors: `InvalidKeyPair.Duplicate` "The keypair 'NAME' already exists.",
//!   `InvalidKeyPair.NotFound` "The key pair 'NAME' does not exist" / "The key pair ID 'ID' does
//!   not exist". DeleteKeyPair succeeds for a key that does not exist.

mod formats;

use super::common::{self, one, Field, Filterable, Tag};
use crate::input::{self, typed};
use crate::{ids, Ctx};
use airlock_dto::ec2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use formats::{decode_base64, generate, openssh_line, parse_public_key, KeyFormat, KeyType};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

/// A key pair, as EC2 keeps it: the public half only.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyPair {
    /// `key-` and 17 hex digits.
    pub key_pair_id: String,
    /// Unique within the account and region.
    pub key_name: String,
    /// `rsa` or `ed25519`.
    pub key_type: String,
    /// As EC2 reports it (the rule depends on `key_type` and `imported`).
    pub key_fingerprint: String,
    /// OpenSSH public key line, `<algorithm> <base64 blob> <key name>`.
    pub public_key: String,
    /// Came from ImportKeyPair rather than CreateKeyPair.
    pub imported: bool,
    /// ISO 8601 (`crate::iso`).
    pub create_time: String,
    pub tags: Vec<Tag>,
}

airlock_store::record!(KeyPair, "ec2.key_pair", key_pair_id);

impl KeyPair {
    /// The `KeyPairInfo` shape of DescribeKeyPairs.
    fn info(&self, include_public_key: bool) -> dto::KeyPairInfo {
        dto::KeyPairInfo {
            key_pair_id: Some(self.key_pair_id.clone()),
            key_fingerprint: Some(self.key_fingerprint.clone()),
            key_name: Some(self.key_name.clone()),
            key_type: Some(self.key_type.clone()),
            tags: Some(common::tags_dto(&self.tags)),
            public_key: include_public_key.then(|| self.public_key.clone()),
            create_time: Some(self.create_time.clone()),
        }
    }

    /// Its tags as CreateKeyPair and ImportKeyPair answer them: none when it has none.
    fn tags_given(&self) -> Option<Vec<dto::Tag>> {
        (!self.tags.is_empty()).then(|| common::tags_dto(&self.tags))
    }
}

impl Filterable for KeyPair {
    fn field(&self, name: &str) -> Field {
        match name {
            "key-pair-id" => one(&self.key_pair_id),
            "key-name" => one(&self.key_name),
            "fingerprint" => one(&self.key_fingerprint),
            "key-type" => one(&self.key_type),
            _ => None,
        }
    }
    fn tags(&self) -> &[Tag] {
        &self.tags
    }
}

/// `InvalidKeyPair.NotFound` for a key name (also what RunInstances answers for an unknown
/// `KeyName`).
pub fn not_found(name: &str) -> ApiError {
    ApiError::new(
        "InvalidKeyPair.NotFound",
        format!("The key pair '{name}' does not exist"),
    )
}

fn id_not_found(id: &str) -> ApiError {
    ApiError::new(
        "InvalidKeyPair.NotFound",
        format!("The key pair ID '{id}' does not exist"),
    )
}

fn duplicate(name: &str) -> ApiError {
    ApiError::new(
        "InvalidKeyPair.Duplicate",
        format!("The keypair '{name}' already exists."),
    )
}

fn invalid_key_format() -> ApiError {
    ApiError::new(
        "InvalidKey.Format",
        "Key is not in valid OpenSSH public key format",
    )
}

/// The key pair named `name` in the request's account and region.
pub fn find_by_name(ctx: &Ctx<'_>, name: &str) -> ApiResult<Arc<KeyPair>> {
    let scope = ctx.scope();
    ctx.store
        .read(|v| {
            v.list::<KeyPair>(&scope)
                .into_iter()
                .find(|k| k.key_name == name)
        })
        .ok_or_else(|| not_found(name))
}

// ------------------------------------------------------------------------------------------------
// Operations

pub fn create_key_pair(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let name = key_name(input)?;
    let req: dto::CreateKeyPairRequest = typed(input)?;
    let key_type = match req.key_type.as_deref().unwrap_or("rsa") {
        "rsa" => KeyType::Rsa,
        "ed25519" => KeyType::Ed25519,
        other => {
            return Err(ApiError::invalid_parameter_value(format!(
                "Value ({other}) for parameter keyType is invalid. Valid values are: rsa, ed25519"
            )))
        }
    };
    let format = match req.key_format.as_deref().unwrap_or("pem") {
        "pem" => KeyFormat::Pem,
        "ppk" => KeyFormat::Ppk,
        other => {
            return Err(ApiError::invalid_parameter_value(format!(
                "Value ({other}) for parameter keyFormat is invalid. Valid values are: pem, ppk"
            )))
        }
    };
    let tags = common::tags_from_specs(input, "key-pair")?;
    let scope = ctx.scope();
    // Checked before the (slow) key generation, and again in the transaction.
    if ctx
        .store
        .read(|v| v.list::<KeyPair>(&scope).iter().any(|k| k.key_name == name))
    {
        return Err(duplicate(name));
    }
    let generated = generate(key_type, format, name)?;
    let record = KeyPair {
        key_pair_id: ids::resource_id("key"),
        key_name: name.to_owned(),
        key_type: key_type.as_str().to_owned(),
        key_fingerprint: generated.fingerprint,
        public_key: generated.public_key,
        imported: false,
        create_time: crate::iso(ctx.clock.now()),
        tags,
    };
    insert(ctx, &record)?;
    Ok(Output::new(dto::KeyPair {
        key_fingerprint: Some(record.key_fingerprint.clone()),
        key_material: Some(generated.material),
        key_name: Some(record.key_name.clone()),
        tags: record.tags_given(),
        key_pair_id: Some(record.key_pair_id),
    }))
}

pub fn import_key_pair(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let name = key_name(input)?;
    let tags = common::tags_from_specs(input, "key-pair")?;
    let req: dto::ImportKeyPairRequest = typed(input)?;
    let material = &req.public_key_material;
    // The blob travels base64-encoded; text that is not base64 (`file://` with CLI v2's default
    // binary format) is refused by EC2 the same way as a bad key.
    let raw = decode_base64(material).ok_or_else(invalid_key_format)?;
    let key = parse_public_key(&raw).ok_or_else(invalid_key_format)?;
    let record = KeyPair {
        key_pair_id: ids::resource_id("key"),
        key_name: name.to_owned(),
        key_type: key.key_type.as_str().to_owned(),
        key_fingerprint: key.import_fingerprint(),
        public_key: openssh_line(key.key_type.ssh_name(), &key.blob, name),
        imported: true,
        create_time: crate::iso(ctx.clock.now()),
        tags,
    };
    insert(ctx, &record)?;
    Ok(Output::new(dto::ImportKeyPairResult {
        key_fingerprint: Some(record.key_fingerprint.clone()),
        key_name: Some(record.key_name.clone()),
        tags: record.tags_given(),
        key_pair_id: Some(record.key_pair_id),
    }))
}

pub fn describe_key_pairs(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DescribeKeyPairsRequest = typed(input)?;
    let names = req.key_names.unwrap_or_default();
    let ids = req.key_pair_ids.unwrap_or_default();
    let filters = common::filters(input);
    let include_public_key = req.include_public_key == Some(true);
    let scope = ctx.scope();
    let all = ctx.store.read(|v| v.list::<KeyPair>(&scope));
    if let Some(missing) = names
        .iter()
        .find(|n| !all.iter().any(|k| &k.key_name == *n))
    {
        return Err(not_found(missing));
    }
    if let Some(missing) = ids
        .iter()
        .find(|i| !all.iter().any(|k| &k.key_pair_id == *i))
    {
        return Err(id_not_found(missing));
    }
    let selected: Vec<&Arc<KeyPair>> = all
        .iter()
        .filter(|k| names.is_empty() || names.contains(&k.key_name))
        .filter(|k| ids.is_empty() || ids.contains(&k.key_pair_id))
        .collect();
    let mut kept = Vec::with_capacity(selected.len());
    for k in selected {
        if common::matches(k.as_ref(), &filters)? {
            kept.push(k);
        }
    }
    let mut selected = kept;
    selected.sort_by(|a, b| a.key_name.cmp(&b.key_name));
    let key_pairs = selected.iter().map(|k| k.info(include_public_key));
    Ok(Output::new(dto::DescribeKeyPairsResult {
        key_pairs: Some(key_pairs.collect()),
    }))
}

pub fn delete_key_pair(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DeleteKeyPairRequest = typed(input)?;
    let (name, id) = (req.key_name.as_deref(), req.key_pair_id.as_deref());
    if name.is_none() && id.is_none() {
        return Err(ApiError::missing_parameter(
            "The request must contain the parameter KeyName or KeyPairId",
        ));
    }
    let scope = ctx.scope();
    let deleted = ctx.store.write(|tx| {
        let found = tx.list::<KeyPair>(&scope).into_iter().find(|k| match id {
            Some(id) => k.key_pair_id == id,
            None => Some(k.key_name.as_str()) == name,
        });
        if let Some(k) = &found {
            tx.delete::<KeyPair>(&scope, &k.key_pair_id);
        }
        Ok::<_, ApiError>(found.map(|k| k.key_pair_id.clone()))
    })?;
    // EC2 answers success for a key pair that does not exist (deleting is idempotent).
    Ok(Output::new(dto::DeleteKeyPairResult {
        r#return: Some(true),
        key_pair_id: deleted,
    }))
}

/// Stores a new key pair unless its name is taken.
fn insert(ctx: &Ctx<'_>, record: &KeyPair) -> ApiResult<()> {
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        if tx
            .list::<KeyPair>(&scope)
            .iter()
            .any(|k| k.key_name == record.key_name)
        {
            return Err(duplicate(&record.key_name));
        }
        tx.put(&scope, record.clone())?;
        Ok(())
    })
}

/// `KeyName`: up to 255 ASCII characters, without leading or trailing spaces.
fn key_name(input: &Value) -> ApiResult<&str> {
    let name = input::req(input, "KeyName")?;
    let invalid = |why: &str| {
        ApiError::invalid_parameter_value(format!(
            "Value ({name}) for parameter keyName is invalid. {why}"
        ))
    };
    if name.is_empty() {
        return Err(invalid("Value cannot be empty."));
    }
    if !name.is_ascii() {
        return Err(invalid("Character sets beyond ASCII are not supported."));
    }
    if name.len() > 255 {
        return Err(invalid("Length exceeds maximum of 255."));
    }
    if name.starts_with(' ') || name.ends_with(' ') {
        return Err(invalid("Leading and trailing spaces are not allowed."));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::formats::*;
    use super::*;
    use serde_json::json;

    crate::auth::test_support::as_values!(
        create_key_pair,
        import_key_pair,
        describe_key_pairs,
        delete_key_pair
    );
    use crate::ids::colon_hex;
    use crate::Config;
    use airlock_store::Store;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use md5::Md5;
    use rsa::pkcs1::DecodeRsaPrivateKey as _;
    use rsa::pkcs1::EncodeRsaPrivateKey as _;
    use rsa::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _};
    use rsa::traits::PublicKeyParts as _;
    use rsa::BigUint;
    use sha1::Sha1;
    use sha2::{Digest as _, Sha256};
    use std::path::{Path, PathBuf};
    use std::process::Command;

    fn with_ctx<R>(f: impl FnOnce(&Ctx<'_>) -> R) -> R {
        let store = Store::ephemeral(&crate::record_kinds());
        let config = Config::default();
        let root = crate::auth::root("123456789012", "test");
        let clock = config.clock(time::OffsetDateTime::now_utc());
        let ctx = Ctx::internal(&store, &config, root, "us-west-2", clock);
        f(&ctx)
    }

    fn has_tool(name: &str) -> bool {
        Command::new(name).arg("-?").output().is_ok()
    }

    /// A scratch directory removed on drop.
    struct Scratch(PathBuf);
    impl Scratch {
        fn new() -> Scratch {
            let dir =
                std::env::temp_dir().join(format!("airlock-keypair-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }
        fn write_private(&self, name: &str, contents: &str) -> PathBuf {
            use std::os::unix::fs::PermissionsExt as _;
            let path = self.0.join(name);
            std::fs::write(&path, contents).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            path
        }
    }
    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn run(cmd: &str) -> String {
        let out = Command::new("sh").arg("-c").arg(cmd).output().unwrap();
        assert!(
            out.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `ssh-keygen -y -f key` prints the public key of the private key file (type and blob).
    fn ssh_keygen_public(path: &Path) -> String {
        let line = run(&format!("ssh-keygen -y -f {}", path.display()));
        line.split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn public_prefix(line: &str) -> String {
        line.split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn b64(s: &str) -> String {
        STANDARD.encode(s)
    }

    fn err(r: ApiResult<Value>) -> ApiError {
        r.expect_err("expected an error")
    }

    #[test]
    fn create_rsa_pem_is_a_real_pkcs1_key_with_the_aws_fingerprint() {
        with_ctx(|ctx| {
            let started = std::time::Instant::now();
            let out = create_key_pair(ctx, &json!({ "KeyName": "bastion" })).unwrap();
            eprintln!("RSA-2048 CreateKeyPair took {:?}", started.elapsed());
            let pem = out["KeyMaterial"].as_str().unwrap();
            assert!(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
            assert!(pem.ends_with("\n-----END RSA PRIVATE KEY-----"));
            assert!(pem.lines().all(|l| l.len() <= 64));
            assert!(out["KeyPairId"].as_str().unwrap().starts_with("key-"));
            assert_eq!(out["KeyName"], "bastion");
            assert!(out.get("Tags").is_none());

            // SHA-1 of the PKCS#8 DER, colon hex.
            let key = rsa::RsaPrivateKey::from_pkcs1_pem(pem).unwrap();
            assert_eq!(key.size() * 8, 2048);
            let expected = colon_hex(&Sha1::digest(key.to_pkcs8_der().unwrap().as_bytes()));
            let fp = out["KeyFingerprint"].as_str().unwrap();
            assert_eq!(fp, expected);
            assert_eq!(fp.len(), 59);

            let stored = find_by_name(ctx, "bastion").unwrap();
            assert_eq!(stored.key_type, "rsa");
            assert!(!stored.imported);
            assert_eq!(
                stored.public_key,
                openssh_line("ssh-rsa", &rsa_public_blob(key.e(), key.n()), "bastion")
            );

            let scratch = Scratch::new();
            let path = scratch.write_private("bastion.pem", pem);
            if has_tool("ssh-keygen") {
                assert_eq!(ssh_keygen_public(&path), public_prefix(&stored.public_key));
            }
            if has_tool("openssl") {
                let openssl = run(&format!(
                    "openssl pkcs8 -in {} -inform PEM -outform DER -topk8 -nocrypt | openssl sha1 -c",
                    path.display()
                ));
                assert!(openssl.trim_end().ends_with(fp), "{openssl} vs {fp}");
            }
        })
    }

    #[test]
    fn create_ed25519_pem_is_an_openssh_key() {
        with_ctx(|ctx| {
            let input = json!({
                "KeyName": "ed",
                "KeyType": "ed25519",
                "TagSpecifications": [{ "ResourceType": "key-pair", "Tags": [{ "Key": "team", "Value": "data" }] }],
            });
            let out = create_key_pair(ctx, &input).unwrap();
            let pem = out["KeyMaterial"].as_str().unwrap();
            assert!(pem.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n"));
            assert!(pem.ends_with("\n-----END OPENSSH PRIVATE KEY-----\n"));
            assert_eq!(out["Tags"], json!([{ "Key": "team", "Value": "data" }]));

            let private = ssh_key::PrivateKey::from_openssh(pem).unwrap();
            let blob = private.public_key().to_bytes().unwrap();
            let fp = out["KeyFingerprint"].as_str().unwrap();
            assert_eq!(fp, STANDARD.encode(Sha256::digest(&blob)));
            assert_eq!(fp.len(), 44);
            assert!(fp.ends_with('='));

            let stored = find_by_name(ctx, "ed").unwrap();
            assert_eq!(stored.key_type, "ed25519");
            assert_eq!(
                stored.public_key,
                format!("ssh-ed25519 {} ed", STANDARD.encode(&blob))
            );

            if has_tool("ssh-keygen") {
                let scratch = Scratch::new();
                let path = scratch.write_private("ed.pem", pem);
                assert_eq!(ssh_keygen_public(&path), public_prefix(&stored.public_key));
                // ssh-keygen prints the same digest without the padding.
                let listed = run(&format!("ssh-keygen -l -f {}", path.display()));
                assert!(
                    listed.contains(&format!("SHA256:{}", fp.trim_end_matches('='))),
                    "{listed}"
                );
            }
        })
    }

    #[test]
    fn ppk_v3_matches_puttygen_for_the_rfc8032_test_vector() {
        // RFC 8032 §7.1 test 1, as puttygen writes it unencrypted.
        let seed = hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
            .unwrap();
        let keypair = ssh_key::private::Ed25519Keypair::from_seed(&seed.try_into().unwrap());
        let blob = ed25519_public_blob(&keypair.public.0);
        let mut private = Vec::new();
        put_string(&mut private, keypair.private.as_ref());
        let expected = "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: RFC8032 7.1 Test Vector 1\n\
Public-Lines: 2\nAAAAC3NzaC1lZDI1NTE5AAAAINdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3\nB1Ea\n\
Private-Lines: 1\nAAAAIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n\
Private-MAC: 22cf8308ed9bbf44760be8d3fa391cf2039f069b30144e6c8d62c45810c1696a\n";
        assert_eq!(
            ppk_v3("ssh-ed25519", "RFC8032 7.1 Test Vector 1", &blob, &private),
            expected
        );

        // An RSA-1024 file written by puttygen: same MAC over its blobs.
        let public = "AAAAB3NzaC1yc2EAAAADAQABAAAAgQCw0YNSqI9T1VFvRsIOejZ9feiKz1SgGfbe\
9Xq5tEzt2yJCsbyg+xtcuCswNhdqY5A1ZN7G60HbL4/Hh/TlLhFJ4zNHVylz9mDD\
x3yp4IIcK2lb566dfTD0B5EQ9Iqub4twLUdLKQCBfyhmJJvsEqKxm4J4QWgI+Brh/Pm3d4piPw==";
        let private = "AAAAgEgun4+k5C3zDXWBy0KhvZDpT38rOH7LWq6WQ+1/n1ASfx/+8uQ83mSxgmAC\
FPkHgB1r+k32SEI0Xlu0MtNERSXYMBZUxUQrCl4RucfiAfoy9Bq69PCm4Dzw4MuC\
ZsYq0R2VbVPJRm5ImV/qJgyFNvBByzVi+qxRHE1mqP7REbKRAAAAQQDp2G5Nw0qY\
Wn7HWm9Up1zkUTnkUkCzhqtxHbeRvNmHGKE7ryGMJEk2RmgHVstQpsvuFY4lIUSZ\
EjAcDUFJERhFAAAAQQDBkfo7VQs5GnywcoN2J3KV5hxlTwvvL1jc5clioQt9118G\
AVRl5VB25GYmPuvK7SDS66s5MT6LxWcyD+iy3GKzAAAAQQC5nX+PTU1FXx+6Ri2Z\
Ci6EjEKMHr7gHcABhMinZYOtN59pra9UdVQw9jxCU9G7eMyb0jJkNACAuEwakX3g\
i27b";
        let ppk = ppk_v3(
            "ssh-rsa",
            "testRSA1024",
            &STANDARD.decode(public).unwrap(),
            &STANDARD.decode(private).unwrap(),
        );
        assert!(ppk.contains("\nPublic-Lines: 4\n"), "{ppk}");
        assert!(ppk.contains("\nPrivate-Lines: 8\n"), "{ppk}");
        assert!(ppk.ends_with(
            "Private-MAC: 8b0c36add18263e2131e944fc4a7e14d579eaebd9649577f7cb185c5f55763e5\n"
        ));
    }

    #[test]
    fn create_ppk_for_both_key_types() {
        with_ctx(|ctx| {
            for (name, key_type, alg) in
                [("p1", "rsa", "ssh-rsa"), ("p2", "ed25519", "ssh-ed25519")]
            {
                let out = create_key_pair(
                    ctx,
                    &json!({ "KeyName": name, "KeyType": key_type, "KeyFormat": "ppk" }),
                )
                .unwrap();
                let ppk = out["KeyMaterial"].as_str().unwrap();
                assert!(ppk.starts_with(&format!(
                    "PuTTY-User-Key-File-3: {alg}\nEncryption: none\nComment: {name}\n"
                )));
                // The public lines hold the stored public key.
                let lines: Vec<&str> = ppk.lines().collect();
                let n: usize = lines[3]
                    .strip_prefix("Public-Lines: ")
                    .unwrap()
                    .parse()
                    .unwrap();
                let public = lines[4..4 + n].concat();
                let stored = find_by_name(ctx, name).unwrap();
                assert_eq!(public_prefix(&stored.public_key), format!("{alg} {public}"));
                assert!(lines.last().unwrap().starts_with("Private-MAC: "));
            }
        })
    }

    #[test]
    fn create_checks_its_parameters() {
        with_ctx(|ctx| {
            assert_eq!(
                err(create_key_pair(
                    ctx,
                    &json!({ "KeyName": "a", "KeyType": "dsa" })
                ))
                .code,
                "InvalidParameterValue"
            );
            assert_eq!(
                err(create_key_pair(
                    ctx,
                    &json!({ "KeyName": "a", "KeyFormat": "der" })
                ))
                .code,
                "InvalidParameterValue"
            );
            assert_eq!(
                err(create_key_pair(ctx, &json!({ "KeyName": "x".repeat(256) }))).code,
                "InvalidParameterValue"
            );
            assert_eq!(
                err(create_key_pair(ctx, &json!({ "KeyName": "clé" }))).code,
                "InvalidParameterValue"
            );
            assert_eq!(
                err(create_key_pair(ctx, &json!({ "KeyName": " a" }))).code,
                "InvalidParameterValue"
            );
            assert_eq!(
                err(create_key_pair(ctx, &json!({}))).code,
                "MissingParameter"
            );
            let bad_tags = json!({ "KeyName": "a", "TagSpecifications": [{ "ResourceType": "instance", "Tags": [] }] });
            assert_eq!(
                err(create_key_pair(ctx, &bad_tags)).code,
                "InvalidParameterValue"
            );
            let dry = err(create_key_pair(
                ctx,
                &json!({ "KeyName": "a", "DryRun": true }),
            ));
            assert_eq!(dry.code, "DryRunOperation");
            assert!(ctx
                .store
                .read(|v| v.list::<KeyPair>(&ctx.scope()))
                .is_empty());
        })
    }

    #[test]
    fn duplicate_names_are_refused() {
        with_ctx(|ctx| {
            create_key_pair(ctx, &json!({ "KeyName": "dup", "KeyType": "ed25519" })).unwrap();
            let e = err(create_key_pair(
                ctx,
                &json!({ "KeyName": "dup", "KeyType": "ed25519" }),
            ));
            assert_eq!(e.code, "InvalidKeyPair.Duplicate");
            assert_eq!(e.message, "The keypair 'dup' already exists.");
            let kp = ssh_key::private::Ed25519Keypair::from_seed(&[7; 32]);
            let line = openssh_line("ssh-ed25519", &ed25519_public_blob(&kp.public.0), "me@host");
            let e = err(import_key_pair(
                ctx,
                &json!({ "KeyName": "dup", "PublicKeyMaterial": b64(&line) }),
            ));
            assert_eq!(e.code, "InvalidKeyPair.Duplicate");
            // Names are per region.
            let mut other = ctx.scope();
            other.region = "eu-west-1".into();
            assert!(ctx.store.read(|v| v.list::<KeyPair>(&other)).is_empty());
        })
    }

    /// An RSA key of `bits` as (PKCS#1 PEM private key, OpenSSH public line, MD5 of SPKI DER).
    fn rsa_key(bits: usize) -> (String, String, String) {
        let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, bits).unwrap();
        let pem = key
            .to_pkcs1_pem(rsa::pkcs8::LineEnding::LF)
            .unwrap()
            .to_string();
        let line = openssh_line("ssh-rsa", &rsa_public_blob(key.e(), key.n()), "user@laptop");
        let md5 = colon_hex(&Md5::digest(
            key.to_public_key().to_public_key_der().unwrap().as_bytes(),
        ));
        (pem, line, md5)
    }

    #[test]
    fn import_rsa_in_every_supported_format() {
        with_ctx(|ctx| {
            let scratch = Scratch::new();
            // A key made by ssh-keygen when there is one (3072 bits, its default), else by us.
            let (line, private_path) = if has_tool("ssh-keygen") {
                let path = scratch.0.join("id_rsa");
                run(&format!(
                    "ssh-keygen -q -t rsa -N '' -C user@laptop -f {}",
                    path.display()
                ));
                (
                    std::fs::read_to_string(path.with_extension("pub")).unwrap(),
                    Some(path),
                )
            } else {
                (rsa_key(2048).1 + "\n", None)
            };
            let out = import_key_pair(
                ctx,
                &json!({ "KeyName": "mine", "PublicKeyMaterial": b64(&line) }),
            )
            .unwrap();
            let fp = out["KeyFingerprint"].as_str().unwrap().to_owned();
            assert_eq!(fp.len(), 47, "MD5, colon hex: {fp}");
            assert!(out.get("KeyMaterial").is_none());

            // Computed independently: MD5 of the DER SubjectPublicKeyInfo.
            let parsed = ssh_key::PublicKey::from_openssh(line.trim()).unwrap();
            let k = parsed.key_data().rsa().unwrap();
            let spki = rsa::RsaPublicKey::new_with_max_size(
                BigUint::from_bytes_be(k.n.as_positive_bytes().unwrap()),
                BigUint::from_bytes_be(k.e.as_positive_bytes().unwrap()),
                4096,
            )
            .unwrap()
            .to_public_key_der()
            .unwrap();
            assert_eq!(fp, colon_hex(&Md5::digest(spki.as_bytes())));
            if let (Some(path), true) = (&private_path, has_tool("openssl")) {
                // What the EC2 User Guide tells users to run, from the private key.
                let pem_path = scratch.0.join("id_rsa.pem");
                run(&format!(
                    "cp {0} {1} && ssh-keygen -p -P '' -N '' -m PEM -f {1} >/dev/null",
                    path.display(),
                    pem_path.display()
                ));
                let openssl = run(&format!(
                    "openssl pkey -in {} -pubout -outform DER | openssl md5 -c",
                    pem_path.display()
                ));
                assert!(openssl.trim_end().ends_with(&fp), "{openssl} vs {fp}");
                // And differs from the RFC 4716 (SSH blob) MD5 that ssh-keygen prints.
                let listed = run(&format!("ssh-keygen -E md5 -l -f {}.pub", path.display()));
                assert!(!listed.contains(&fp));
            }

            let stored = find_by_name(ctx, "mine").unwrap();
            assert!(stored.imported);
            assert_eq!(stored.key_type, "rsa");
            assert_eq!(stored.public_key, format!("{} mine", public_prefix(&line)));

            // RFC 4716 and base64 DER of the same key give the same fingerprint.
            let blob = STANDARD.encode(parsed.to_bytes().unwrap());
            let rfc4716 = format!(
                "---- BEGIN SSH2 PUBLIC KEY ----\nComment: \"3072-bit RSA, converted by me from \\\nOpenSSH\"\n{}\n---- END SSH2 PUBLIC KEY ----\n",
                wrap64(&blob).join("\n")
            );
            let out = import_key_pair(
                ctx,
                &json!({ "KeyName": "rfc", "PublicKeyMaterial": b64(&rfc4716) }),
            )
            .unwrap();
            assert_eq!(out["KeyFingerprint"], fp.as_str());
            let der_text = STANDARD.encode(spki.as_bytes());
            let out = import_key_pair(
                ctx,
                &json!({ "KeyName": "der", "PublicKeyMaterial": b64(&der_text) }),
            )
            .unwrap();
            assert_eq!(out["KeyFingerprint"], fp.as_str());
            let out =
                import_key_pair(ctx, &json!({ "KeyName": "derbin", "PublicKeyMaterial": STANDARD.encode(spki.as_bytes()) }))
                    .unwrap();
            assert_eq!(out["KeyFingerprint"], fp.as_str());
            if has_tool("ssh-keygen") {
                let exported = run(&format!(
                    "ssh-keygen -e -f {}.pub",
                    private_path.as_ref().unwrap().display()
                ));
                let out = import_key_pair(
                    ctx,
                    &json!({ "KeyName": "exported", "PublicKeyMaterial": b64(&exported) }),
                )
                .unwrap();
                assert_eq!(out["KeyFingerprint"], fp.as_str());
            }
        })
    }

    #[test]
    fn import_ed25519_uses_the_padded_sha256() {
        with_ctx(|ctx| {
            let scratch = Scratch::new();
            let (line, pub_path) = if has_tool("ssh-keygen") {
                let path = scratch.0.join("id_ed25519");
                run(&format!(
                    "ssh-keygen -q -t ed25519 -N '' -C user@laptop -f {}",
                    path.display()
                ));
                let pub_path = path.with_extension("pub");
                (std::fs::read_to_string(&pub_path).unwrap(), Some(pub_path))
            } else {
                let kp = ssh_key::private::Ed25519Keypair::from_seed(&[9; 32]);
                (
                    openssh_line(
                        "ssh-ed25519",
                        &ed25519_public_blob(&kp.public.0),
                        "user@laptop",
                    ),
                    None,
                )
            };
            let tags = json!([{ "ResourceType": "key-pair", "Tags": [{ "Key": "Name", "Value": "laptop" }] }]);
            let out = import_key_pair(
                ctx,
                &json!({ "KeyName": "ed", "PublicKeyMaterial": b64(&line), "TagSpecifications": tags }),
            )
            .unwrap();
            let fp = out["KeyFingerprint"].as_str().unwrap();
            assert_eq!(out["Tags"], json!([{ "Key": "Name", "Value": "laptop" }]));
            let blob = STANDARD
                .decode(line.split_whitespace().nth(1).unwrap())
                .unwrap();
            assert_eq!(fp, STANDARD.encode(Sha256::digest(&blob)));
            if let Some(pub_path) = pub_path {
                let listed = run(&format!("ssh-keygen -l -f {}", pub_path.display()));
                assert!(
                    listed.contains(&format!("SHA256:{} ", fp.trim_end_matches('='))),
                    "{listed}"
                );
            }
            assert_eq!(find_by_name(ctx, "ed").unwrap().key_type, "ed25519");
        })
    }

    #[test]
    fn import_refuses_what_ec2_refuses() {
        with_ctx(|ctx| {
            let ecdsa = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBARlm6YBwjHIacVEyqKKbcwTOjqR7/CBZfhNj3B51mp2gX8so0BbYO+VVLoTu5o2QNPePCzjNpArUeOM9CeYZNY= root@vm";
            let small = rsa_key(768).1;
            for material in [
                b64(ecdsa),
                b64("garbage"),
                b64(""),
                b64(&small),
                "ssh-rsa AAAA not base64".to_owned(),
            ] {
                let e = err(import_key_pair(
                    ctx,
                    &json!({ "KeyName": "bad", "PublicKeyMaterial": material }),
                ));
                assert_eq!(e.code, "InvalidKey.Format");
                assert_eq!(e.message, "Key is not in valid OpenSSH public key format");
            }
            // A blob whose type field disagrees with the line's algorithm.
            let kp = ssh_key::private::Ed25519Keypair::from_seed(&[1; 32]);
            let lying = openssh_line("ssh-rsa", &ed25519_public_blob(&kp.public.0), "x");
            let e = err(import_key_pair(
                ctx,
                &json!({ "KeyName": "bad", "PublicKeyMaterial": b64(&lying) }),
            ));
            assert_eq!(e.code, "InvalidKey.Format");
            assert!(ctx
                .store
                .read(|v| v.list::<KeyPair>(&ctx.scope()))
                .is_empty());
        })
    }

    #[test]
    fn describe_by_name_id_and_filters() {
        with_ctx(|ctx| {
            let tagged = |k: &str, v: &str| json!([{ "ResourceType": "key-pair", "Tags": [{ "Key": k, "Value": v }] }]);
            let a = create_key_pair(
                ctx,
                &json!({ "KeyName": "alpha", "KeyType": "ed25519", "TagSpecifications": tagged("env", "prod") }),
            )
            .unwrap();
            let b = create_key_pair(
                ctx,
                &json!({ "KeyName": "beta", "KeyType": "ed25519", "TagSpecifications": tagged("env", "dev") }),
            )
            .unwrap();
            let kp = ssh_key::private::Ed25519Keypair::from_seed(&[3; 32]);
            let line = openssh_line("ssh-ed25519", &ed25519_public_blob(&kp.public.0), "c");
            import_key_pair(
                ctx,
                &json!({ "KeyName": "gamma", "PublicKeyMaterial": b64(&line) }),
            )
            .unwrap();

            let names = |out: Value| -> Vec<String> {
                out["KeyPairs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|k| k["KeyName"].as_str().unwrap().to_owned())
                    .collect()
            };
            let all = describe_key_pairs(ctx, &json!({})).unwrap();
            assert_eq!(names(all.clone()), ["alpha", "beta", "gamma"]);
            let first = &all["KeyPairs"][0];
            assert_eq!(first["KeyPairId"], a["KeyPairId"]);
            assert_eq!(first["KeyFingerprint"], a["KeyFingerprint"]);
            assert_eq!(first["KeyType"], "ed25519");
            assert_eq!(first["Tags"], json!([{ "Key": "env", "Value": "prod" }]));
            assert_eq!(all["KeyPairs"][2]["Tags"], json!([]));
            assert!(first["CreateTime"].as_str().unwrap().ends_with('Z'));
            assert!(first.get("PublicKey").is_none());

            let with_public = describe_key_pairs(
                ctx,
                &json!({ "KeyNames": ["gamma"], "IncludePublicKey": true }),
            )
            .unwrap();
            assert_eq!(
                with_public["KeyPairs"][0]["PublicKey"],
                public_prefix(&line) + " gamma"
            );

            assert_eq!(
                names(describe_key_pairs(ctx, &json!({ "KeyNames": ["beta", "alpha"] })).unwrap()),
                ["alpha", "beta"]
            );
            assert_eq!(
                names(describe_key_pairs(ctx, &json!({ "KeyPairIds": [b["KeyPairId"]] })).unwrap()),
                ["beta"]
            );

            let e = err(describe_key_pairs(
                ctx,
                &json!({ "KeyNames": ["alpha", "nope"] }),
            ));
            assert_eq!(
                (e.code.as_str(), e.message.as_str()),
                (
                    "InvalidKeyPair.NotFound",
                    "The key pair 'nope' does not exist"
                )
            );
            let e = err(describe_key_pairs(
                ctx,
                &json!({ "KeyPairIds": ["key-00000000000000000"] }),
            ));
            assert_eq!(
                e.message,
                "The key pair ID 'key-00000000000000000' does not exist"
            );

            let filtered = |name: &str, values: Value| {
                names(
                    describe_key_pairs(
                        ctx,
                        &json!({ "Filters": [{ "Name": name, "Values": values }] }),
                    )
                    .unwrap(),
                )
            };
            assert_eq!(
                filtered("key-name", json!(["*a"])),
                ["alpha", "beta", "gamma"]
            );
            assert_eq!(
                filtered("key-name", json!(["?eta", "gam*"])),
                ["beta", "gamma"]
            );
            assert_eq!(filtered("key-name", json!(["alp"])), Vec::<String>::new());
            assert_eq!(filtered("tag:env", json!(["prod"])), ["alpha"]);
            assert_eq!(filtered("tag:env", json!(["*"])), ["alpha", "beta"]);
            assert_eq!(filtered("tag-key", json!(["env"])), ["alpha", "beta"]);
            assert_eq!(filtered("key-pair-id", json!([a["KeyPairId"]])), ["alpha"]);
            assert_eq!(
                filtered("fingerprint", json!([b["KeyFingerprint"]])),
                ["beta"]
            );
            assert_eq!(filtered("key-type", json!(["rsa"])), Vec::<String>::new());
            // Filters are ANDed with each other and with names.
            let both = json!({ "KeyNames": ["alpha", "beta"], "Filters": [
                { "Name": "tag-key", "Values": ["env"] }, { "Name": "tag:env", "Values": ["dev"] }] });
            assert_eq!(names(describe_key_pairs(ctx, &both).unwrap()), ["beta"]);
            let e = err(describe_key_pairs(
                ctx,
                &json!({ "Filters": [{ "Name": "owner-id", "Values": ["1"] }] }),
            ));
            assert_eq!(e.code, "InvalidParameterValue");
        })
    }

    #[test]
    fn delete_is_idempotent() {
        with_ctx(|ctx| {
            let a = create_key_pair(ctx, &json!({ "KeyName": "a", "KeyType": "ed25519" })).unwrap();
            let b = create_key_pair(ctx, &json!({ "KeyName": "b", "KeyType": "ed25519" })).unwrap();
            let out = delete_key_pair(ctx, &json!({ "KeyName": "a" })).unwrap();
            assert_eq!(out, json!({ "Return": true, "KeyPairId": a["KeyPairId"] }));
            assert_eq!(
                delete_key_pair(ctx, &json!({ "KeyName": "a" })).unwrap(),
                json!({ "Return": true })
            );
            let out = delete_key_pair(ctx, &json!({ "KeyPairId": b["KeyPairId"] })).unwrap();
            assert_eq!(out["KeyPairId"], b["KeyPairId"]);
            assert_eq!(
                delete_key_pair(ctx, &json!({ "KeyPairId": b["KeyPairId"] })).unwrap(),
                json!({ "Return": true })
            );
            assert_eq!(
                err(delete_key_pair(ctx, &json!({}))).code,
                "MissingParameter"
            );
            assert_eq!(
                err(delete_key_pair(
                    ctx,
                    &json!({ "KeyName": "a", "DryRun": true })
                ))
                .code,
                "DryRunOperation"
            );
            assert!(describe_key_pairs(ctx, &json!({})).unwrap()["KeyPairs"]
                .as_array()
                .unwrap()
                .is_empty());
            // The name is free again.
            create_key_pair(ctx, &json!({ "KeyName": "a", "KeyType": "ed25519" })).unwrap();
            assert_eq!(
                err(find_by_name(ctx, "zzz").map(|_| Value::Null)).code,
                "InvalidKeyPair.NotFound"
            );
        })
    }

    #[test]
    fn wildcards() {
        assert!(super::super::common::wildcard("*", ""));
        assert!(super::super::common::wildcard("a*c", "abbbc"));
        assert!(super::super::common::wildcard("a?c", "abc"));
        assert!(!super::super::common::wildcard("a?c", "ac"));
        assert!(super::super::common::wildcard("*b*", "abc"));
        assert!(!super::super::common::wildcard("abc", "abcd"));
        assert!(super::super::common::wildcard("a\\*", "a*"));
        assert!(!super::super::common::wildcard("a\\*", "ab"));
        assert!(super::super::common::wildcard("**x", "yyx"));
    }
}
