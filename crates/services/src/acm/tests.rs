use super::*;
use crate::Config;
use airlock_store::Store;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, RsaKeySize,
};
use serde_json::json;
use time::Duration;

crate::auth::test_support::as_values!(
    import_certificate,
    request_certificate,
    describe_certificate,
    list_certificates,
    get_certificate,
    delete_certificate,
    add_tags,
    remove_tags,
    list_tags
);

const ACCOUNT: &str = "123456789012";

fn ctx_with<'a>(
    store: &'a Store,
    config: &'a Config,
    region: &str,
    now: OffsetDateTime,
) -> Ctx<'a> {
    let root = crate::auth::root(ACCOUNT, "test");
    Ctx::internal(store, config, root, region, config.clock(now))
}

fn with_ctx<R>(f: impl FnOnce(&Ctx<'_>) -> R) -> R {
    let store = Store::ephemeral(&crate::record_kinds());
    let config = Config::default();
    let ctx = ctx_with(&store, &config, "us-west-2", OffsetDateTime::now_utc());
    f(&ctx)
}

fn err(r: ApiResult<Value>) -> ApiError {
    r.expect_err("expected an error")
}

fn b64(s: &str) -> String {
    STANDARD.encode(s.as_bytes())
}

fn rsa_key() -> KeyPair {
    KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_2048).unwrap()
}

/// A name and a key, enough to sign with.
struct Party {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
}

fn params(cn: &str, sans: &[&str], ca: bool) -> CertificateParams {
    let mut p =
        CertificateParams::new(sans.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()).unwrap();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    p.distinguished_name = dn;
    let now = OffsetDateTime::now_utc();
    p.not_before = now - Duration::days(1);
    p.not_after = now + Duration::days(90);
    if ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    }
    p
}

fn make_root(cn: &str) -> Party {
    let key = rsa_key();
    let params = params(cn, &[], true);
    let pem = params.self_signed(&key).unwrap().pem();
    Party { params, key, pem }
}

fn signed(params: CertificateParams, key: KeyPair, by: &Party) -> Party {
    let pem = params
        .signed_by(&key, &Issuer::from_params(&by.params, &by.key))
        .unwrap()
        .pem();
    Party { params, key, pem }
}

/// root → intermediate → leaf (`www.example.com`, SANs `www.example.com`, `example.com`).
fn chain3() -> (Party, Party, Party) {
    let root = make_root("Example Root CA");
    let int = signed(
        params("Example Intermediate CA", &[], true),
        rsa_key(),
        &root,
    );
    let mut p = params(
        "www.example.com",
        &["www.example.com", "example.com"],
        false,
    );
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf = signed(p, rsa_key(), &int);
    (root, int, leaf)
}

fn self_signed(cn: &str, key: KeyPair) -> Party {
    let params = params(cn, &[], false);
    let pem = params.self_signed(&key).unwrap().pem();
    Party { params, key, pem }
}

fn import(ctx: &Ctx<'_>, cert: &str, key: &str, chain: Option<&str>) -> ApiResult<Value> {
    let mut input = json!({ "Certificate": b64(cert), "PrivateKey": b64(key) });
    if let Some(c) = chain {
        input["CertificateChain"] = json!(b64(c));
    }
    import_certificate(ctx, &input)
}

fn arn_of(v: &Value) -> String {
    v["CertificateArn"].as_str().unwrap().to_owned()
}

fn describe(ctx: &Ctx<'_>, arn: &str) -> Value {
    describe_certificate(ctx, &json!({ "CertificateArn": arn })).unwrap()["Certificate"].clone()
}

#[test]
fn imports_a_certificate_with_its_chain() {
    with_ctx(|ctx| {
        let (root, int, leaf) = chain3();
        let chain = format!("{}{}", int.pem, root.pem);
        let arn = arn_of(&import(ctx, &leaf.pem, &leaf.key.serialize_pem(), Some(&chain)).unwrap());
        let (region, account, id) = parse_arn(&arn).unwrap();
        assert_eq!((region, account), ("us-west-2", ACCOUNT));
        assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 4);

        let d = describe(ctx, &arn);
        assert_eq!(d["CertificateArn"], arn);
        assert_eq!(d["DomainName"], "www.example.com");
        assert_eq!(
            d["SubjectAlternativeNames"],
            json!(["www.example.com", "example.com"])
        );
        assert_eq!(
            d["DomainValidationOptions"],
            json!([{ "DomainName": "www.example.com" }, { "DomainName": "example.com" }])
        );
        assert_eq!(d["Subject"], "CN=www.example.com");
        assert_eq!(d["Issuer"], "Example Intermediate CA");
        assert_eq!(d["Status"], "ISSUED");
        assert_eq!(d["Type"], "IMPORTED");
        assert_eq!(d["KeyAlgorithm"], "RSA-2048");
        assert_eq!(d["SignatureAlgorithm"], "SHA256WITHRSA");
        assert_eq!(d["InUseBy"], json!([]));
        assert_eq!(d["RenewalEligibility"], "INELIGIBLE");
        assert_eq!(
            d["KeyUsages"],
            json!([{ "Name": "DIGITAL_SIGNATURE" }, { "Name": "KEY_ENCIPHERMENT" }])
        );
        assert_eq!(
            d["ExtendedKeyUsages"],
            json!([{ "Name": "TLS_WEB_SERVER_AUTHENTICATION", "OID": "1.3.6.1.5.5.7.3.1" }])
        );
        assert_eq!(
            d["Options"],
            json!({ "CertificateTransparencyLoggingPreference": "DISABLED" })
        );
        assert_eq!(d["CreatedAt"], d["ImportedAt"]);
        assert!(d.get("IssuedAt").is_none());
        let serial = d["Serial"].as_str().unwrap();
        assert!(serial.split(':').all(|b| b.len() == 2
            && b.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())));
        let nb = OffsetDateTime::parse(
            d["NotBefore"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        assert!(nb < ctx.clock.now());

        // GetCertificate: the certificate and the chain as given, normalised.
        let got = get_certificate(ctx, &json!({ "CertificateArn": arn })).unwrap();
        assert_eq!(got["Certificate"], leaf.pem.replace("\r\n", "\n"));
        assert_eq!(got["CertificateChain"], chain.replace("\r\n", "\n"));
        let scope = ctx.scope();
        let (material, key) = ctx
            .store
            .write(|tx| Ok::<_, ApiError>(key_material(tx, &scope, &arn, ctx.clock)))
            .unwrap()
            .unwrap();
        assert_eq!(material, format!("{}{}", leaf.pem, chain));
        assert_eq!(key, leaf.key.serialize_pem());
    })
}

#[test]
fn describes_subjects_and_issuers_as_acm_does() {
    with_ctx(|ctx| {
        let key = rsa_key();
        let mut p = params("unused", &[], false);
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CountryName, "US");
        dn.push(DnType::StateOrProvinceName, "Washington");
        dn.push(DnType::LocalityName, "Seattle");
        dn.push(DnType::OrganizationName, "Example, Inc.");
        dn.push(DnType::CommonName, "shop.example.com");
        p.distinguished_name = dn;
        let pem = p.self_signed(&key).unwrap().pem();
        let d = describe(
            ctx,
            &arn_of(&import(ctx, &pem, &key.serialize_pem(), None).unwrap()),
        );
        assert_eq!(
            d["Subject"],
            "C=US,ST=Washington,L=Seattle,O=Example\\, Inc.,CN=shop.example.com"
        );
        // Self-signed: the issuer is the subject, and ACM shows its O.
        assert_eq!(d["Issuer"], "Example, Inc.");
        // No SAN extension: the CN is the only SAN; no usage extensions: ANY and NONE.
        assert_eq!(d["SubjectAlternativeNames"], json!(["shop.example.com"]));
        assert_eq!(d["KeyUsages"], json!([{ "Name": "ANY" }]));
        assert_eq!(
            d["ExtendedKeyUsages"],
            json!([{ "Name": "NONE", "OID": "" }])
        );

        // A CN-only issuer shows its CN.
        let p = self_signed("solo.example.com", rsa_key());
        let d = describe(
            ctx,
            &arn_of(&import(ctx, &p.pem, &p.key.serialize_pem(), None).unwrap()),
        );
        assert_eq!(d["Issuer"], "solo.example.com");
    })
}

#[test]
fn serials_are_colon_separated_lowercase_hex() {
    with_ctx(|ctx| {
        let key = rsa_key();
        let mut p = params("serial.example.com", &[], false);
        p.serial_number = Some(rcgen::SerialNumber::from_slice(&[
            0x6c, 0x42, 0xf0, 0x3e, 0x00, 0xb6,
        ]));
        let pem = p.self_signed(&key).unwrap().pem();
        let d = describe(
            ctx,
            &arn_of(&import(ctx, &pem, &key.serialize_pem(), None).unwrap()),
        );
        assert_eq!(d["Serial"], "6c:42:f0:3e:00:b6");
    })
}

#[test]
fn accepts_every_supported_key_and_encoding() {
    use rsa::pkcs1::EncodeRsaPrivateKey as _;
    use rsa::pkcs8::DecodePrivateKey as _;
    with_ctx(|ctx| {
        // RSA as PKCS#1 ("RSA PRIVATE KEY").
        let p = self_signed("pkcs1.example.com", rsa_key());
        let k = rsa::RsaPrivateKey::from_pkcs8_der(p.key.serialized_der()).unwrap();
        let pkcs1 = k.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).unwrap();
        assert!(pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        let arn = arn_of(&import(ctx, &p.pem, &pkcs1, None).unwrap());
        assert_eq!(describe(ctx, &arn)["KeyAlgorithm"], "RSA-2048");

        // EC keys on the three curves, as PKCS#8 and (P-256) as SEC1 with EC PARAMETERS.
        for (alg, name, sig) in [
            (
                &rcgen::PKCS_ECDSA_P256_SHA256,
                "EC-prime256v1",
                "SHA256WITHECDSA",
            ),
            (
                &rcgen::PKCS_ECDSA_P384_SHA384,
                "EC-secp384r1",
                "SHA384WITHECDSA",
            ),
        ] {
            let p = self_signed("ec.example.com", KeyPair::generate_for(alg).unwrap());
            let d = describe(
                ctx,
                &arn_of(&import(ctx, &p.pem, &p.key.serialize_pem(), None).unwrap()),
            );
            assert_eq!(d["KeyAlgorithm"], name);
            assert_eq!(d["SignatureAlgorithm"], sig);
        }
        let p = self_signed(
            "p521.example.com",
            KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap(),
        );
        let d = describe(
            ctx,
            &arn_of(&import(ctx, &p.pem, &p.key.serialize_pem(), None).unwrap()),
        );
        assert_eq!(d["KeyAlgorithm"], "EC-secp521r1");
        assert_eq!(d["SignatureAlgorithm"], "SHA512WITHECDSA");

        let p = self_signed("sec1.example.com", KeyPair::generate().unwrap());
        let pair = aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            p.key.serialized_der(),
        )
        .unwrap();
        let sec1 = {
            use aws_lc_rs::encoding::AsDer as _;
            let der: aws_lc_rs::encoding::EcPrivateKeyRfc5915Der<'_> =
                pair.private_key().as_der().unwrap();
            x509::to_pem("EC PRIVATE KEY", der.as_ref())
        };
        let with_params = format!(
            "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n{sec1}"
        );
        let arn = arn_of(&import(ctx, &p.pem, &with_params, None).unwrap());
        let scope = ctx.scope();
        let (_, key) = ctx
            .store
            .write(|tx| Ok::<_, ApiError>(key_material(tx, &scope, &arn, ctx.clock)))
            .unwrap()
            .unwrap();
        assert_eq!(key, sec1, "the EC PARAMETERS block is dropped");
    })
}

#[test]
fn refuses_what_acm_refuses() {
    with_ctx(|ctx| {
        let (root, int, leaf) = chain3();
        let leaf_key = leaf.key.serialize_pem();
        let check = |cert: &str, key: &str, chain: Option<&str>, message: &str| {
            let e = err(import(ctx, cert, key, chain));
            assert_eq!(e.code, "ValidationException", "{message}");
            assert!(e.message.starts_with(message), "{} / {message}", e.message);
        };
        const PARSE: &str =
            "Unable to parse certificate. Please ensure the certificate is in PEM format.";
        // DER, garbage, and a key in the certificate field.
        let der = x509::pem_blocks(leaf.pem.as_bytes()).unwrap().remove(0).der;
        let e = err(import_certificate(
            ctx,
            &json!({ "Certificate": STANDARD.encode(&der), "PrivateKey": b64(&leaf_key) }),
        ));
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("ValidationException", PARSE)
        );
        check("hello", &leaf_key, None, PARSE);
        check(&leaf_key, &leaf_key, None, PARSE);
        check(
            "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
            &leaf_key,
            None,
            PARSE,
        );
        check(
            &format!("{}{}", leaf.pem, int.pem),
            &leaf_key,
            None,
            "The certificate field contains more than one certificate. You can specify only one certificate in this field.",
        );

        // Validity.
        let key = rsa_key();
        let mut p = params("old.example.com", &[], false);
        p.not_before = ctx.clock.now() - Duration::days(30);
        p.not_after = ctx.clock.now() - Duration::days(1);
        check(
            &p.self_signed(&key).unwrap().pem(),
            &key.serialize_pem(),
            None,
            "The certificate has expired.",
        );
        p.not_before = ctx.clock.now() + Duration::days(1);
        p.not_after = ctx.clock.now() + Duration::days(30);
        check(
            &p.self_signed(&key).unwrap().pem(),
            &key.serialize_pem(),
            None,
            "The certificate is not valid yet.",
        );

        // Keys.
        check(
            &leaf.pem,
            &rsa_key().serialize_pem(),
            Some(&int.pem),
            "The private key does not match the public key in the certificate.",
        );
        check(
            &leaf.pem,
            &KeyPair::generate().unwrap().serialize_pem(),
            Some(&int.pem),
            "The private key does not match the public key in the certificate.",
        );
        let encrypted = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n";
        check(
            &leaf.pem,
            encrypted,
            Some(&int.pem),
            "Your private key should not be encrypted.",
        );
        let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0123456789ABCDEF0123456789ABCDEF\n\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n";
        check(
            &leaf.pem,
            legacy,
            Some(&int.pem),
            "Your private key should not be encrypted.",
        );
        check(
            &leaf.pem,
            &leaf.key.public_key_pem(),
            Some(&int.pem),
            "Passed PEM was not a private key.",
        );
        check(
            &leaf.pem,
            &leaf.pem,
            Some(&int.pem),
            "Passed PEM was not a private key.",
        );
        check(
            &leaf.pem,
            "not a key",
            Some(&int.pem),
            "The private key is not supported.",
        );
        let huge = format!("{leaf_key}{}", "#".repeat(6000));
        check(
            &leaf.pem,
            &huge,
            Some(&int.pem),
            "The private key must be no larger than 5120 bytes.",
        );

        // Chains.
        check(&leaf.pem, &leaf_key, None, "Provided certificate is not a valid self signed. Please provide either a valid self-signed certificate or certificate chain.");
        check(
            &leaf.pem,
            &leaf_key,
            Some(&root.pem),
            "Could not validate the certificate with the certificate chain.",
        );
        let other = make_root("Another Root");
        check(
            &leaf.pem,
            &leaf_key,
            Some(&other.pem),
            "Could not validate the certificate with the certificate chain.",
        );
        let order = "Unable to validate certificate chain. The certificate chain must start with the immediate signing certificate, followed by any intermediaries in order. The index within the chain of the invalid certificate is: ";
        check(
            &leaf.pem,
            &leaf_key,
            Some(&format!("{}{}", root.pem, int.pem)),
            &format!("{order}0"),
        );
        check(
            &leaf.pem,
            &leaf_key,
            Some(&format!("{}{}{}", leaf.pem, int.pem, root.pem)),
            &format!("{order}0"),
        );
        check(
            &leaf.pem,
            &leaf_key,
            Some(&format!("{}{}", int.pem, other.pem)),
            &format!("{order}1"),
        );
        check(
            &leaf.pem,
            &leaf_key,
            Some(&format!("{}{}", int.pem, leaf_key)),
            "The certificate chain provided is not in a valid PEM format.",
        );
        check(
            &leaf.pem,
            &leaf_key,
            Some("junk"),
            "The certificate chain provided is not in a valid PEM format.",
        );
        // A certificate signed by a key other than its issuer's, with the issuer's name.
        let impostor = Party {
            params: int.params.clone(),
            key: rsa_key(),
            pem: String::new(),
        };
        let forged = signed(params("www.example.com", &[], false), rsa_key(), &impostor);
        check(
            &forged.pem,
            &forged.key.serialize_pem(),
            Some(&int.pem),
            "Could not validate the certificate with the certificate chain.",
        );

        // Unsupported algorithms: Ed25519.
        let p = self_signed(
            "ed.example.com",
            KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap(),
        );
        check(
            &p.pem,
            &p.key.serialize_pem(),
            None,
            "The certificate key algorithm is not supported.",
        );
        // Nothing was stored.
        assert!(ctx
            .store
            .read(|v| v.list::<Certificate>(&ctx.scope()))
            .is_empty());
    })
}

#[test]
fn lists_with_filters_sorting_and_pages() {
    let store = Store::ephemeral(&crate::record_kinds());
    let config = Config::default();
    let t0 = OffsetDateTime::now_utc();
    let mut arns = Vec::new();
    for i in 0..3 {
        let ctx = ctx_with(&store, &config, "us-west-2", t0 + Duration::seconds(i));
        let p = self_signed(&format!("rsa{i}.example.com"), rsa_key());
        arns.push(arn_of(
            &import(&ctx, &p.pem, &p.key.serialize_pem(), None).unwrap(),
        ));
    }
    let ctx = ctx_with(&store, &config, "us-west-2", t0 + Duration::seconds(10));
    let ec = self_signed("ec.example.com", KeyPair::generate().unwrap());
    let ec_arn = arn_of(&import(&ctx, &ec.pem, &ec.key.serialize_pem(), None).unwrap());
    let listed = |input: Value| -> (Vec<String>, Option<String>) {
        let out = list_certificates(&ctx, &input).unwrap();
        (
            out["CertificateSummaryList"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["CertificateArn"].as_str().unwrap().to_owned())
                .collect(),
            out["NextToken"].as_str().map(str::to_owned),
        )
    };
    // Without keyTypes only RSA_1024 and RSA_2048 certificates are listed.
    assert_eq!(listed(json!({})).0, arns);
    let (all, _) = listed(json!({ "Includes": { "keyTypes": ["RSA_2048", "EC_prime256v1"] } }));
    assert_eq!(all.len(), 4);
    assert_eq!(
        listed(json!({ "Includes": { "keyTypes": ["EC_prime256v1"] } })).0,
        [ec_arn]
    );
    assert_eq!(
        listed(json!({ "SortBy": "CREATED_AT", "SortOrder": "DESCENDING" })).0,
        arns.iter().rev().cloned().collect::<Vec<_>>()
    );
    assert!(
        listed(json!({ "CertificateStatuses": ["PENDING_VALIDATION"] }))
            .0
            .is_empty()
    );
    assert_eq!(
        listed(json!({ "CertificateStatuses": ["ISSUED", "EXPIRED"] }))
            .0
            .len(),
        3
    );
    assert_eq!(
        listed(json!({ "Includes": { "keyUsage": ["ANY"] } }))
            .0
            .len(),
        3
    );
    assert!(listed(
        json!({ "Includes": { "extendedKeyUsage": ["TLS_WEB_SERVER_AUTHENTICATION"] } })
    )
    .0
    .is_empty());

    // Pages of two.
    let (page1, token) = listed(json!({ "MaxItems": 2 }));
    assert_eq!(page1, arns[..2]);
    let (page2, token2) = listed(json!({ "MaxItems": 2, "NextToken": token.unwrap() }));
    assert_eq!(page2, arns[2..]);
    assert!(token2.is_none());
    let e = list_certificates(&ctx, &json!({ "NextToken": "bogus" })).unwrap_err();
    assert_eq!(e.code, "InvalidArgsException");

    // The summary's members.
    let out = list_certificates(
        &ctx,
        &json!({ "Includes": { "keyTypes": ["EC_prime256v1"] } }),
    )
    .unwrap();
    let s = &out["CertificateSummaryList"][0];
    assert_eq!(s["KeyAlgorithm"], "EC-prime256v1");
    assert_eq!(s["DomainName"], "ec.example.com");
    assert_eq!(
        s["SubjectAlternativeNameSummaries"],
        json!(["ec.example.com"])
    );
    assert_eq!(s["HasAdditionalSubjectAlternativeNames"], false);
    assert_eq!(s["Status"], "ISSUED");
    assert_eq!(s["Type"], "IMPORTED");
    assert_eq!(s["KeyUsages"], json!(["ANY"]));
    assert_eq!(s["ExtendedKeyUsages"], json!(["NONE"]));
    assert_eq!(s["InUse"], false);
    assert_eq!(s["RenewalEligibility"], "INELIGIBLE");
    assert_eq!(s["CreatedAt"], s["ImportedAt"]);
    assert!(s.get("NotBefore").is_some() && s.get("NotAfter").is_some());

    // Another region sees nothing.
    let west = ctx_with(&store, &config, "eu-west-1", t0);
    assert!(
        list_certificates(&west, &json!({})).unwrap()["CertificateSummaryList"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn tags_reimport_delete_and_use() {
    with_ctx(|ctx| {
        let p = self_signed("app.example.com", rsa_key());
        let out = import_certificate(
            ctx,
            &json!({ "Certificate": b64(&p.pem), "PrivateKey": b64(&p.key.serialize_pem()),
                     "Tags": [{ "Key": "env", "Value": "dev" }, { "Key": "flag" }] }),
        )
        .unwrap();
        let arn = arn_of(&out);
        let tags = |ctx: &Ctx<'_>| {
            list_tags(ctx, &json!({ "CertificateArn": arn })).unwrap()["Tags"].clone()
        };
        assert_eq!(
            tags(ctx),
            json!([{ "Key": "env", "Value": "dev" }, { "Key": "flag" }])
        );
        add_tags(ctx, &json!({ "CertificateArn": arn, "Tags": [{ "Key": "env", "Value": "prod" }, { "Key": "team", "Value": "a" }] })).unwrap();
        assert_eq!(
            tags(ctx),
            json!([{ "Key": "env", "Value": "prod" }, { "Key": "flag" }, { "Key": "team", "Value": "a" }])
        );
        // A value that does not match keeps the tag; a key alone removes it.
        remove_tags(ctx, &json!({ "CertificateArn": arn, "Tags": [{ "Key": "env", "Value": "dev" }, { "Key": "flag" }] })).unwrap();
        assert_eq!(
            tags(ctx),
            json!([{ "Key": "env", "Value": "prod" }, { "Key": "team", "Value": "a" }])
        );
        let e = err(add_tags(
            ctx,
            &json!({ "CertificateArn": arn, "Tags": [{ "Key": "aws:x", "Value": "1" }] }),
        ));
        assert_eq!(e.code, "InvalidTagException");
        let many: Vec<Value> = (0..49)
            .map(|i| json!({ "Key": format!("k{i}"), "Value": "v" }))
            .collect();
        let e = err(add_tags(
            ctx,
            &json!({ "CertificateArn": arn, "Tags": many }),
        ));
        assert_eq!(e.code, "TooManyTagsException");

        // In use: InUseBy, and DeleteCertificate refuses.
        let scope = ctx.scope();
        let lb = "arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/web/0123456789abcdef";
        ctx.store
            .write(|tx| {
                assert!(certificate_usable(tx, &scope, &arn, ctx.clock));
                set_in_use(tx, &scope, &arn, lb, true)?;
                set_in_use(tx, &scope, &arn, lb, true)
            })
            .unwrap();
        assert_eq!(describe(ctx, &arn)["InUseBy"], json!([lb]));
        let e = err(delete_certificate(ctx, &json!({ "CertificateArn": arn })));
        assert_eq!(e.code, "ResourceInUseException");
        assert_eq!(
            e.message,
            format!("Certificate {arn} in account {ACCOUNT} is in use.")
        );

        // Re-import: same ARN, new certificate, InUseBy and tags kept, CreatedAt kept.
        let before = describe(ctx, &arn);
        let later = ctx_with(
            ctx.store,
            ctx.config,
            "us-west-2",
            ctx.clock.now() + Duration::seconds(5),
        );
        let q = self_signed("app2.example.com", rsa_key());
        let again = import_certificate(
            &later,
            &json!({ "CertificateArn": arn, "Certificate": b64(&q.pem), "PrivateKey": b64(&q.key.serialize_pem()) }),
        )
        .unwrap();
        assert_eq!(arn_of(&again), arn);
        let after = describe(&later, &arn);
        assert_eq!(after["DomainName"], "app2.example.com");
        assert_eq!(after["InUseBy"], json!([lb]));
        assert_eq!(after["CreatedAt"], before["CreatedAt"]);
        assert_ne!(after["ImportedAt"], before["ImportedAt"]);
        assert_eq!(tags(&later).as_array().unwrap().len(), 2);
        let e = err(import_certificate(
            ctx,
            &json!({ "CertificateArn": arn, "Certificate": b64(&q.pem), "PrivateKey": b64(&q.key.serialize_pem()), "Tags": [{ "Key": "a" }] }),
        ));
        assert_eq!(e.code, "ValidationException");
        let missing = format!(
            "arn:aws:acm:us-west-2:{ACCOUNT}:certificate/00000000-0000-4000-8000-000000000000"
        );
        let e = err(import_certificate(
            ctx,
            &json!({ "CertificateArn": missing, "Certificate": b64(&q.pem), "PrivateKey": b64(&q.key.serialize_pem()) }),
        ));
        assert_eq!(
            (e.code.as_str(), e.message.clone()),
            (
                "ResourceNotFoundException",
                format!("Could not find certificate {missing}.")
            )
        );

        // Released, it can be deleted; then it is gone.
        ctx.store
            .write(|tx| set_in_use(tx, &scope, &arn, lb, false))
            .unwrap();
        delete_certificate(ctx, &json!({ "CertificateArn": arn })).unwrap();
        let e = err(describe_certificate(ctx, &json!({ "CertificateArn": arn })));
        assert_eq!(e.code, "ResourceNotFoundException");
        assert_eq!(
            e.message,
            format!("Could not find certificate {arn} in account {ACCOUNT}.")
        );
        ctx.store
            .write(|tx| {
                assert!(!certificate_usable(tx, &scope, &arn, ctx.clock));
                assert!(key_material(tx, &scope, &arn, ctx.clock).is_none());
                assert_eq!(
                    set_in_use(tx, &scope, &arn, lb, true).unwrap_err().code,
                    "ResourceNotFoundException"
                );
                set_in_use(tx, &scope, &arn, lb, false)
            })
            .unwrap();
    })
}

#[test]
fn certificates_are_regional_and_arns_checked() {
    let store = Store::ephemeral(&crate::record_kinds());
    let config = Config::default();
    let now = OffsetDateTime::now_utc();
    let west = ctx_with(&store, &config, "us-west-2", now);
    let eu = ctx_with(&store, &config, "eu-west-1", now);
    let p = self_signed("regional.example.com", rsa_key());
    let arn = arn_of(&import(&west, &p.pem, &p.key.serialize_pem(), None).unwrap());
    let e = err(describe_certificate(&eu, &json!({ "CertificateArn": arn })));
    assert_eq!(e.code, "ResourceNotFoundException");
    let e = err(get_certificate(&eu, &json!({ "CertificateArn": arn })));
    assert_eq!(e.code, "ResourceNotFoundException");
    let eu_scope = eu.scope();
    store
        .write(|tx| {
            assert!(!certificate_usable(tx, &eu_scope, &arn, eu.clock));
            assert!(key_material(tx, &eu_scope, &arn, eu.clock).is_none());
            Ok::<_, ApiError>(())
        })
        .unwrap();
    for bad in [
        "arn:aws:acm:us-west-2:123456789012:certificate",
        "arn:aws:acm:us-west-2:123:certificate/x",
        "arn:aws:s3:us-west-2:123456789012:certificate/x",
        "arn:aws:acm:us-west-2:123456789012:cert/x",
    ] {
        let e = err(describe_certificate(
            &west,
            &json!({ "CertificateArn": bad }),
        ));
        assert_eq!(e.code, "InvalidArnException", "{bad}");
    }
}

#[test]
fn requested_certificates_validate_then_issue() {
    let store = Store::ephemeral(&crate::record_kinds());
    let config = Config {
        time_scale: 1.0,
        ..Config::default()
    };
    let t0 = OffsetDateTime::now_utc();
    let ctx = ctx_with(&store, &config, "us-west-2", t0);
    let out = request_certificate(
        &ctx,
        &json!({ "DomainName": "www.example.com", "ValidationMethod": "DNS",
                 "SubjectAlternativeNames": ["*.example.com", "www.example.com"],
                 "IdempotencyToken": "tok1", "Tags": [{ "Key": "a", "Value": "b" }] }),
    )
    .unwrap();
    let arn = arn_of(&out);
    let d = describe(&ctx, &arn);
    assert_eq!(d["Status"], "PENDING_VALIDATION");
    assert_eq!(d["Type"], "AMAZON_ISSUED");
    assert_eq!(d["DomainName"], "www.example.com");
    assert_eq!(
        d["SubjectAlternativeNames"],
        json!(["www.example.com", "*.example.com"])
    );
    assert_eq!(d["KeyAlgorithm"], "RSA-2048");
    assert_eq!(d["SignatureAlgorithm"], "SHA256WITHRSA");
    assert_eq!(d["Issuer"], "Amazon");
    assert_eq!(d["Subject"], "CN=www.example.com");
    assert_eq!(
        d["Options"],
        json!({ "CertificateTransparencyLoggingPreference": "ENABLED" })
    );
    assert!(
        d.get("Serial").is_none() && d.get("IssuedAt").is_none() && d.get("NotBefore").is_none()
    );
    let dvo = d["DomainValidationOptions"].as_array().unwrap();
    assert_eq!(dvo.len(), 2);
    assert_eq!(dvo[0]["ValidationStatus"], "PENDING_VALIDATION");
    assert_eq!(dvo[0]["ValidationMethod"], "DNS");
    assert_eq!(dvo[0]["ValidationDomain"], "www.example.com");
    let rr = &dvo[0]["ResourceRecord"];
    assert_eq!(rr["Type"], "CNAME");
    let name = rr["Name"].as_str().unwrap();
    let value = rr["Value"].as_str().unwrap();
    let (label, rest) = name.split_once('.').unwrap();
    assert!(
        label.len() == 33
            && label.starts_with('_')
            && label[1..].chars().all(|c| c.is_ascii_hexdigit())
    );
    assert_eq!(rest, "www.example.com.");
    let parts: Vec<&str> = value.split('.').collect();
    assert_eq!(parts.len(), 5, "{value}");
    assert!(parts[0].len() == 33 && parts[0].starts_with('_'));
    assert!(parts[1].len() == 10 && parts[1].chars().all(|c| c.is_ascii_lowercase()));
    assert!(value.ends_with(".acm-validations.aws."));
    // The wildcard validates with the record of its base domain.
    let wildcard = dvo[1]["ResourceRecord"]["Name"].as_str().unwrap();
    assert!(
        wildcard.starts_with('_') && wildcard.split_once('.').unwrap().1 == "example.com.",
        "{wildcard}"
    );
    assert_eq!(dvo[1]["DomainName"], "*.example.com");

    let e = err(get_certificate(&ctx, &json!({ "CertificateArn": arn })));
    assert_eq!(e.code, "RequestInProgressException");
    let scope = ctx.scope();
    store
        .write(|tx| {
            assert!(!certificate_usable(tx, &scope, &arn, ctx.clock));
            assert!(key_material(tx, &scope, &arn, ctx.clock).is_none());
            Ok::<_, ApiError>(())
        })
        .unwrap();
    // The same token and names within the hour: the same certificate.
    let again = request_certificate(
        &ctx,
        &json!({ "DomainName": "www.example.com", "ValidationMethod": "DNS",
                 "SubjectAlternativeNames": ["*.example.com"], "IdempotencyToken": "tok1" }),
    )
    .unwrap();
    assert_eq!(arn_of(&again), arn);
    let listed = list_certificates(
        &ctx,
        &json!({ "CertificateStatuses": ["PENDING_VALIDATION"] }),
    )
    .unwrap();
    assert_eq!(listed["CertificateSummaryList"][0]["CertificateArn"], arn);

    // 120 s later (time scale 1): issued.
    let later = ctx_with(&store, &config, "us-west-2", t0 + Duration::seconds(121));
    let d = describe(&later, &arn);
    assert_eq!(d["Status"], "ISSUED");
    assert_eq!(
        d["DomainValidationOptions"][0]["ValidationStatus"],
        "SUCCESS"
    );
    assert_eq!(
        d["KeyUsages"],
        json!([{ "Name": "DIGITAL_SIGNATURE" }, { "Name": "KEY_ENCIPHERMENT" }])
    );
    assert_eq!(
        d["ExtendedKeyUsages"],
        json!([{ "Name": "TLS_WEB_SERVER_AUTHENTICATION", "OID": "1.3.6.1.5.5.7.3.1" },
               { "Name": "TLS_WEB_CLIENT_AUTHENTICATION", "OID": "1.3.6.1.5.5.7.3.2" }])
    );
    assert!(d.get("IssuedAt").is_some() && d.get("Serial").is_some());
    let nb = OffsetDateTime::parse(
        d["NotBefore"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let na = OffsetDateTime::parse(
        d["NotAfter"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(nb.time(), time::Time::MIDNIGHT);
    assert_eq!(na - nb, Duration::days(395) - Duration::seconds(1));
    let got = get_certificate(&later, &json!({ "CertificateArn": arn })).unwrap();
    let info = x509::info_of(got["Certificate"].as_str().unwrap()).unwrap();
    assert_eq!(info.sans, ["www.example.com", "*.example.com"]);
    // The key material belongs together: it passes ImportCertificate's own checks.
    let (_, key) = store
        .read(|v| key_material(v, &scope, &arn, later.clock))
        .unwrap();
    let cert = got["Certificate"].as_str().unwrap();
    let chain = got["CertificateChain"].as_str().unwrap();
    assert_eq!(chain, crate::ca::ensure(&store).unwrap().cert_pem);
    x509::check_import(
        cert.as_bytes(),
        key.as_bytes(),
        Some(chain.as_bytes()),
        later.clock.now(),
    )
    .unwrap();
    // In use, an issued certificate is eligible for renewal.
    store
        .write(|tx| {
            set_in_use(
                tx,
                &scope,
                &arn,
                "arn:aws:elasticloadbalancing:us-west-2:123456789012:listener/app/a/b/c",
                true,
            )
        })
        .unwrap();
    assert_eq!(describe(&later, &arn)["RenewalEligibility"], "ELIGIBLE");
}

#[test]
fn request_options() {
    let store = Store::ephemeral(&crate::record_kinds());
    let config = Config {
        time_scale: 0.0,
        ..Config::default()
    };
    let ctx = ctx_with(&store, &config, "us-west-2", OffsetDateTime::now_utc());
    // EMAIL is the default method; EC keys; options.
    let arn = arn_of(
        &request_certificate(
            &ctx,
            &json!({ "DomainName": "mail.example.org", "KeyAlgorithm": "EC_prime256v1",
                     "DomainValidationOptions": [{ "DomainName": "mail.example.org", "ValidationDomain": "example.org" }],
                     "Options": { "CertificateTransparencyLoggingPreference": "DISABLED" } }),
        )
        .unwrap(),
    );
    let d = describe(&ctx, &arn);
    assert_eq!(d["Status"], "ISSUED");
    let scope = ctx.scope();
    let (chain, key) = store
        .write(|tx| {
            assert!(certificate_usable(tx, &scope, &arn, ctx.clock));
            Ok::<_, ApiError>(key_material(tx, &scope, &arn, ctx.clock))
        })
        .unwrap()
        .unwrap();
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"));
    // The certificate, then Airlock's CA: a chain ImportCertificate itself accepts.
    let end = "-----END CERTIFICATE-----\n";
    let (leaf, ca) = chain.split_at(chain.find(end).unwrap() + end.len());
    assert_eq!(ca, crate::ca::ensure(&store).unwrap().cert_pem);
    x509::check_import(
        leaf.as_bytes(),
        key.as_bytes(),
        Some(ca.as_bytes()),
        ctx.clock.now(),
    )
    .unwrap();
    assert_eq!(d["KeyAlgorithm"], "EC-prime256v1");
    // Signed by Airlock's (RSA) CA; AWS signs EC certificates with an ECDSA CA instead.
    assert_eq!(d["SignatureAlgorithm"], "SHA256WITHRSA");
    assert_eq!(
        d["Options"]["CertificateTransparencyLoggingPreference"],
        "DISABLED"
    );
    let dvo = &d["DomainValidationOptions"][0];
    assert_eq!(dvo["ValidationMethod"], "EMAIL");
    assert_eq!(dvo["ValidationDomain"], "example.org");
    assert_eq!(dvo["ValidationEmails"][0], "admin@example.org");
    assert!(dvo.get("ResourceRecord").is_none());
    // Hidden from a default listing (EC), shown when asked for.
    let listed = list_certificates(&ctx, &json!({})).unwrap();
    assert!(listed["CertificateSummaryList"]
        .as_array()
        .unwrap()
        .is_empty());

    let e = err(request_certificate(
        &ctx,
        &json!({ "DomainName": "a.example.org", "KeyAlgorithm": "RSA_1024" }),
    ));
    assert_eq!(e.code, "InvalidParameterException");
    let e = err(request_certificate(
        &ctx,
        &json!({ "DomainName": "a.example.org", "DomainValidationOptions": [{ "DomainName": "a.example.org", "ValidationDomain": "other.com" }] }),
    ));
    assert_eq!(e.code, "InvalidDomainValidationOptionsException");
    // A private CA Airlock does not have: the request fails.
    let arn = arn_of(
        &request_certificate(
            &ctx,
            &json!({ "DomainName": "p.example.org", "CertificateAuthorityArn": "arn:aws:acm-pca:us-west-2:123456789012:certificate-authority/x" }),
        )
        .unwrap(),
    );
    let d = describe(&ctx, &arn);
    assert_eq!(
        (
            d["Status"].as_str(),
            d["FailureReason"].as_str(),
            d["Type"].as_str()
        ),
        (
            Some("FAILED"),
            Some("PCA_RESOURCE_NOT_FOUND"),
            Some("PRIVATE")
        )
    );
    assert_eq!(
        err(get_certificate(&ctx, &json!({ "CertificateArn": arn }))).code,
        "RequestInProgressException"
    );
}

#[test]
fn pem_blocks_handle_headers_and_noise() {
    let text = "junk\n-----BEGIN RSA PRIVATE KEY-----\r\nProc-Type: 4,ENCRYPTED\r\nDEK-Info: X\r\n\r\nAAEC\r\n-----END RSA PRIVATE KEY-----\r\ntrailer";
    let b = x509::pem_blocks(text.as_bytes()).unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].label, "RSA PRIVATE KEY");
    assert_eq!(
        b[0].headers[0],
        ("Proc-Type".to_owned(), "4,ENCRYPTED".to_owned())
    );
    assert_eq!(b[0].der, [0, 1, 2]);
    assert!(x509::pem_blocks(b"-----BEGIN X-----\nAAEC\n").is_none());
    assert!(x509::pem_blocks(&[0x30, 0x82, 0xff]).is_none());
    assert!(x509::pem_blocks(b"nothing").unwrap().is_empty());
    assert_eq!(x509::hyphenated("EC_secp384r1"), "EC-secp384r1");
}
