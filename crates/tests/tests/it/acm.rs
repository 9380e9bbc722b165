use airlock_server::{Running, ServerConfig};
use airlock_tests::{holds, sdk_config, start_with, wait_until, DEADLINE};
use aws_sdk_acm::error::ProvideErrorMetadata;
use aws_sdk_acm::primitives::Blob;
use aws_sdk_acm::types::{CertificateStatus, Filters, KeyAlgorithm, Tag, ValidationMethod};
use aws_sdk_acm::Client;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, RsaKeySize,
};
use std::net::SocketAddr;

async fn server() -> Running {
    server_at(0.001).await
}

async fn server_at(time_scale: f64) -> Running {
    start_with(ServerConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        dns_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        services: airlock_services::Config {
            time_scale,
            ..Default::default()
        },
        ..ServerConfig::default()
    })
    .await
}

async fn client(server: &Running, region: &str) -> Client {
    Client::new(&sdk_config(server, "test", "test", None, region).await)
}

pub struct Party {
    pub params: CertificateParams,
    pub key: KeyPair,
    pub pem: String,
}

pub fn params(cn: &str, sans: &[&str], ca: bool) -> CertificateParams {
    let mut p =
        CertificateParams::new(sans.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()).unwrap();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "Example Corp");
    dn.push(DnType::CommonName, cn);
    p.distinguished_name = dn;
    let now = time::OffsetDateTime::now_utc();
    p.not_before = now - time::Duration::days(1);
    p.not_after = now + time::Duration::days(30);
    if ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    }
    p
}

pub fn rsa() -> KeyPair {
    KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_2048).unwrap()
}

pub fn signed(params: CertificateParams, key: KeyPair, by: &Party) -> Party {
    let pem = params
        .signed_by(&key, &Issuer::from_params(&by.params, &by.key))
        .unwrap()
        .pem();
    Party { params, key, pem }
}

pub fn self_signed(params: CertificateParams, key: KeyPair) -> Party {
    let pem = params.self_signed(&key).unwrap().pem();
    Party { params, key, pem }
}

/// Root → intermediate → `www.example.com`.
pub fn pki() -> (Party, Party, Party) {
    let root = self_signed(params("Example Root", &[], true), rsa());
    let int = signed(params("Example Intermediate", &[], true), rsa(), &root);
    let leaf = signed(
        params(
            "www.example.com",
            &["www.example.com", "api.example.com"],
            false,
        ),
        rsa(),
        &int,
    );
    (root, int, leaf)
}

pub fn blob(s: &str) -> Blob {
    Blob::new(s.as_bytes().to_vec())
}

#[tokio::test]
async fn import_describe_list_get_tag_reimport_delete() {
    let server = server().await;
    let acm = client(&server, "us-west-2").await;
    let (root, int, leaf) = pki();
    let chain = format!("{}{}", int.pem, root.pem);
    let arn = acm
        .import_certificate()
        .certificate(blob(&leaf.pem))
        .private_key(blob(&leaf.key.serialize_pem()))
        .certificate_chain(blob(&chain))
        .tags(Tag::builder().key("env").value("test").build().unwrap())
        .send()
        .await
        .unwrap()
        .certificate_arn()
        .unwrap()
        .to_owned();
    assert!(
        arn.starts_with("arn:aws:acm:us-west-2:000000000000:certificate/"),
        "{arn}"
    );

    let d = acm
        .describe_certificate()
        .certificate_arn(&arn)
        .send()
        .await
        .unwrap();
    let d = d.certificate().unwrap();
    assert_eq!(d.domain_name(), Some("www.example.com"));
    assert_eq!(
        d.subject_alternative_names(),
        ["www.example.com", "api.example.com"]
    );
    assert_eq!(d.subject(), Some("O=Example Corp,CN=www.example.com"));
    assert_eq!(d.issuer(), Some("Example Corp"));
    assert_eq!(d.status(), Some(&CertificateStatus::Issued));
    assert_eq!(d.r#type().map(|t| t.as_str()), Some("IMPORTED"));
    // Hyphenated on the wire, as AWS sends it (the SDK keeps it as an unknown variant).
    assert_eq!(d.key_algorithm().map(|k| k.as_str()), Some("RSA-2048"));
    assert_eq!(d.signature_algorithm(), Some("SHA256WITHRSA"));
    assert_eq!(d.created_at(), d.imported_at());
    assert!(d.not_before().unwrap().secs() < d.not_after().unwrap().secs());
    assert!(d.serial().unwrap().contains(':'));
    assert!(d.in_use_by().is_empty());

    // Lists: the EC certificate only with Includes.keyTypes.
    let ec = self_signed(
        params("ec.example.com", &[], false),
        KeyPair::generate().unwrap(),
    );
    let ec_arn = acm
        .import_certificate()
        .certificate(blob(&ec.pem))
        .private_key(blob(&ec.key.serialize_pem()))
        .send()
        .await
        .unwrap()
        .certificate_arn()
        .unwrap()
        .to_owned();
    let listed = |out: aws_sdk_acm::operation::list_certificates::ListCertificatesOutput| {
        out.certificate_summary_list()
            .iter()
            .map(|s| s.certificate_arn().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let all = listed(acm.list_certificates().send().await.unwrap());
    assert_eq!(all, std::slice::from_ref(&arn));
    let with_ec = listed(
        acm.list_certificates()
            .includes(
                Filters::builder()
                    .key_types(KeyAlgorithm::Rsa2048)
                    .key_types(KeyAlgorithm::EcPrime256v1)
                    .build(),
            )
            .send()
            .await
            .unwrap(),
    );
    assert_eq!(with_ec, [arn.clone(), ec_arn.clone()]);
    let page = acm
        .list_certificates()
        .includes(
            Filters::builder()
                .key_types(KeyAlgorithm::EcPrime256v1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let s = &page.certificate_summary_list()[0];
    assert_eq!(s.key_algorithm().map(|k| k.as_str()), Some("EC-prime256v1"));
    assert_eq!(s.domain_name(), Some("ec.example.com"));
    assert_eq!(s.in_use(), Some(false));

    // GetCertificate returns what was imported.
    let got = acm
        .get_certificate()
        .certificate_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(got.certificate(), Some(leaf.pem.as_str()));
    assert_eq!(got.certificate_chain(), Some(chain.as_str()));

    // Tags.
    acm.add_tags_to_certificate()
        .certificate_arn(&arn)
        .tags(Tag::builder().key("team").value("web").build().unwrap())
        .send()
        .await
        .unwrap();
    acm.remove_tags_from_certificate()
        .certificate_arn(&arn)
        .tags(Tag::builder().key("env").build().unwrap())
        .send()
        .await
        .unwrap();
    let tags = acm
        .list_tags_for_certificate()
        .certificate_arn(&arn)
        .send()
        .await
        .unwrap();
    let tags: Vec<(&str, Option<&str>)> =
        tags.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(tags, [("team", Some("web"))]);

    // In use (as an ELB listener marks it): InUseBy, and no deletion.
    let lb =
        "arn:aws:elasticloadbalancing:us-west-2:000000000000:loadbalancer/app/web/0123456789abcdef";
    let scope = airlock_store::Scope::new("000000000000", "us-west-2");
    server
        .state
        .store
        .write(|tx| airlock_services::acm::set_in_use(tx, &scope, &arn, lb, true))
        .unwrap();
    let e = acm
        .delete_certificate()
        .certificate_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ResourceInUseException"));
    assert_eq!(
        e.message(),
        Some(format!("Certificate {arn} in account 000000000000 is in use.").as_str())
    );

    // Re-import: same ARN, InUseBy kept.
    let renewed = signed(
        params("www.example.com", &["www.example.com"], false),
        rsa(),
        &int,
    );
    let again = acm
        .import_certificate()
        .certificate_arn(&arn)
        .certificate(blob(&renewed.pem))
        .private_key(blob(&renewed.key.serialize_pem()))
        .certificate_chain(blob(&int.pem))
        .send()
        .await
        .unwrap();
    assert_eq!(again.certificate_arn(), Some(arn.as_str()));
    let d = acm
        .describe_certificate()
        .certificate_arn(&arn)
        .send()
        .await
        .unwrap();
    let d = d.certificate().unwrap();
    assert_eq!(d.subject_alternative_names(), ["www.example.com"]);
    assert_eq!(d.in_use_by(), [lb]);

    // The material is what a TLS server can use.
    let (certs, key) = server
        .state
        .store
        .write(|tx| {
            Ok::<_, airlock_protocol::ApiError>(airlock_services::acm::key_material(
                tx,
                &scope,
                &arn,
                server.state.clock(),
            ))
        })
        .unwrap()
        .unwrap();
    use rustls_pki_types::pem::PemObject as _;
    let certs: Vec<_> = rustls_pki_types::CertificateDer::pem_slice_iter(certs.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(certs.len(), 2);
    let key = rustls_pki_types::PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
    rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();

    // Released, it can be deleted.
    server
        .state
        .store
        .write(|tx| airlock_services::acm::set_in_use(tx, &scope, &arn, lb, false))
        .unwrap();
    acm.delete_certificate()
        .certificate_arn(&arn)
        .send()
        .await
        .unwrap();
    let e = acm
        .get_certificate()
        .certificate_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn import_errors_and_regions() {
    let server = server().await;
    let acm = client(&server, "us-west-2").await;
    let (_, int, leaf) = pki();
    // A private key that is not the certificate's.
    let e = acm
        .import_certificate()
        .certificate(blob(&leaf.pem))
        .private_key(blob(&rsa().serialize_pem()))
        .certificate_chain(blob(&int.pem))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ValidationException"));
    // DER instead of PEM.
    let der = rustls_pki_types::pem::PemObject::from_pem_slice(leaf.pem.as_bytes())
        .map(|c: rustls_pki_types::CertificateDer<'static>| c.to_vec())
        .unwrap();
    let e = acm
        .import_certificate()
        .certificate(Blob::new(der))
        .private_key(blob(&leaf.key.serialize_pem()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (
            Some("ValidationException"),
            Some("Unable to parse certificate. Please ensure the certificate is in PEM format.")
        )
    );

    // Regional: a us-west-2 certificate is not found from eu-west-1.
    let arn = acm
        .import_certificate()
        .certificate(blob(&leaf.pem))
        .private_key(blob(&leaf.key.serialize_pem()))
        .certificate_chain(blob(&int.pem))
        .send()
        .await
        .unwrap()
        .certificate_arn()
        .unwrap()
        .to_owned();
    let eu = client(&server, "eu-west-1").await;
    let e = eu
        .describe_certificate()
        .certificate_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ResourceNotFoundException"));
    assert_eq!(
        e.message(),
        Some(format!("Could not find certificate {arn} in account 000000000000.").as_str())
    );
    assert!(eu
        .list_certificates()
        .send()
        .await
        .unwrap()
        .certificate_summary_list()
        .is_empty());
    let e = acm
        .describe_certificate()
        .certificate_arn("arn:aws:acm:us-west-2:000000000000:certificate")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidArnException"));
}

#[tokio::test]
async fn requested_certificates_are_issued_after_validation() {
    // 120 s of AWS time last 2.4 s.
    let server = server_at(0.02).await;
    let acm = client(&server, "us-west-2").await;
    let arn = acm
        .request_certificate()
        .domain_name("app.example.com")
        .subject_alternative_names("*.app.example.com")
        .validation_method(ValidationMethod::Dns)
        .idempotency_token("one")
        .send()
        .await
        .unwrap()
        .certificate_arn()
        .unwrap()
        .to_owned();
    let d = acm
        .describe_certificate()
        .certificate_arn(&arn)
        .send()
        .await
        .unwrap();
    let d = d.certificate().unwrap();
    assert_eq!(d.status(), Some(&CertificateStatus::PendingValidation));
    assert_eq!(d.r#type().map(|t| t.as_str()), Some("AMAZON_ISSUED"));
    let rr = d.domain_validation_options()[0].resource_record().unwrap();
    assert_eq!(rr.r#type().as_str(), "CNAME");
    assert!(rr.name().ends_with(".app.example.com."), "{}", rr.name());
    assert!(
        rr.value().ends_with(".acm-validations.aws."),
        "{}",
        rr.value()
    );
    let e = acm
        .get_certificate()
        .certificate_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("RequestInProgressException"));

    // Pending at first, issued a (scaled) moment later.
    let mut polls = 0;
    let d = wait_until(&format!("{arn} validated"), DEADLINE, || {
        polls += 1;
        let (acm, arn) = (&acm, &arn);
        async move {
            let d = acm
                .describe_certificate()
                .certificate_arn(arn)
                .send()
                .await
                .unwrap();
            let d = d.certificate().unwrap().clone();
            let status = d.status().cloned();
            holds(status != Some(CertificateStatus::PendingValidation), status).map(|()| d)
        }
    })
    .await;
    assert!(polls > 1, "pending when first described");
    assert_eq!(d.status(), Some(&CertificateStatus::Issued));
    assert_eq!(d.issuer(), Some("Amazon"));
    assert!(d.issued_at().is_some());
    assert_eq!(
        d.domain_validation_options()[0]
            .validation_status()
            .map(|s| s.as_str()),
        Some("SUCCESS")
    );
    let got = acm
        .get_certificate()
        .certificate_arn(&arn)
        .send()
        .await
        .unwrap();
    assert!(got
        .certificate()
        .unwrap()
        .starts_with("-----BEGIN CERTIFICATE-----"));
    // Issued by Airlock's local CA: trusting `airlock ca` is enough to trust it.
    assert_eq!(
        got.certificate_chain(),
        Some(
            server
                .state
                .ca
                .cert_pem(&server.state.store)
                .unwrap()
                .as_str()
        )
    );
    let scope = airlock_store::Scope::new("000000000000", "us-west-2");
    server
        .state
        .store
        .write(|tx| {
            let clock = server.state.clock();
            assert!(airlock_services::acm::certificate_usable(
                tx, &scope, &arn, clock
            ));
            assert!(airlock_services::acm::key_material(tx, &scope, &arn, clock).is_some());
            Ok::<_, airlock_protocol::ApiError>(())
        })
        .unwrap();
    // The idempotency token names the same certificate.
    let again = acm
        .request_certificate()
        .domain_name("app.example.com")
        .subject_alternative_names("*.app.example.com")
        .validation_method(ValidationMethod::Dns)
        .idempotency_token("one")
        .send()
        .await
        .unwrap();
    assert_eq!(again.certificate_arn(), Some(arn.as_str()));
}
