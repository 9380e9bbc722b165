use airlock_tests::{default_config, sdk_config, start};
use aws_sdk_iam::error::ProvideErrorMetadata;

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["airflow.amazonaws.com","airflow-env.amazonaws.com"]},"Action":"sts:AssumeRole"}]}"#;

#[tokio::test]
async fn roles_users_keys_and_sessions() {
    let server = start().await;
    let iam = aws_sdk_iam::Client::new(&default_config(&server).await);
    let role = iam
        .create_role()
        .role_name("mwaa-exec")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap();
    let role = role.role().unwrap();
    assert_eq!(role.arn(), "arn:aws:iam::000000000000:role/mwaa-exec");
    assert!(role.role_id().starts_with("AROA"));
    let got = iam.get_role().role_name("mwaa-exec").send().await.unwrap();
    // IAM returns the document URL-encoded, as AWS does; the Rust SDK hands it over as sent.
    let doc = got.role().unwrap().assume_role_policy_document().unwrap();
    assert!(doc.contains("%22airflow-env.amazonaws.com%22"), "{doc}");
    let err = iam
        .create_role()
        .role_name("mwaa-exec")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("EntityAlreadyExists"));
    let err = iam.get_role().role_name("nope").send().await.unwrap_err();
    assert_eq!(err.code(), Some("NoSuchEntity"));
    let err = iam
        .create_role()
        .role_name("bad")
        .assume_role_policy_document("{not json")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("MalformedPolicyDocument"));
    iam.put_role_policy().role_name("mwaa-exec").policy_name("inline").policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"airflow:PublishMetrics","Resource":"*"}]}"#).send().await.unwrap();
    let err = iam
        .delete_role()
        .role_name("mwaa-exec")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("DeleteConflict"));

    iam.create_user().user_name("alice").send().await.unwrap();
    let key = iam
        .create_access_key()
        .user_name("alice")
        .send()
        .await
        .unwrap();
    let key = key.access_key().unwrap();
    let as_alice = aws_sdk_sts::Client::new(
        &sdk_config(
            &server,
            key.access_key_id(),
            key.secret_access_key(),
            None,
            "us-west-2",
        )
        .await,
    );
    let who = as_alice.get_caller_identity().send().await.unwrap();
    assert_eq!(who.arn(), Some("arn:aws:iam::000000000000:user/alice"));

    let sts = aws_sdk_sts::Client::new(&default_config(&server).await);
    // The MWAA role trusts only the airflow services: the account may not assume it.
    let err = sts
        .assume_role()
        .role_arn("arn:aws:iam::000000000000:role/mwaa-exec")
        .role_session_name("ci")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDenied"));
    iam.create_role()
        .role_name("deployer")
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"sts:AssumeRole"}]}"#)
        .send()
        .await
        .unwrap();
    let assumed = sts
        .assume_role()
        .role_arn("arn:aws:iam::000000000000:role/deployer")
        .role_session_name("ci")
        .send()
        .await
        .unwrap();
    let c = assumed.credentials().unwrap();
    assert!(c.access_key_id().starts_with("ASIA"));
    let session = aws_sdk_sts::Client::new(
        &sdk_config(
            &server,
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_owned()),
            "us-west-2",
        )
        .await,
    );
    let who = session.get_caller_identity().send().await.unwrap();
    assert_eq!(
        who.arn(),
        Some("arn:aws:sts::000000000000:assumed-role/deployer/ci")
    );
    let no_token = aws_sdk_sts::Client::new(
        &sdk_config(
            &server,
            c.access_key_id(),
            c.secret_access_key(),
            None,
            "us-west-2",
        )
        .await,
    );
    let err = no_token.get_caller_identity().send().await.unwrap_err();
    assert_eq!(err.code(), Some("InvalidClientTokenId"));
    let err = sts
        .assume_role()
        .role_arn("arn:aws:iam::000000000000:role/none")
        .role_session_name("ci")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDenied"));
}

/// GetSessionToken acts as the user who asked; GetFederationToken as a federated user with what
/// both the user's and the session's policies allow; neither token reaches IAM, nor can a
/// session ask for another; GetAccessKeyInfo reads the account out of any key id.
#[tokio::test]
async fn session_and_federation_tokens() {
    let server = start().await;
    let config = default_config(&server).await;
    let iam = aws_sdk_iam::Client::new(&config);
    iam.create_user().user_name("carol").send().await.unwrap();
    iam.put_user_policy()
        .user_name("carol")
        .policy_name("ec2-read")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:Describe*","sts:*","iam:ListRoles"],"Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let key = iam
        .create_access_key()
        .user_name("carol")
        .send()
        .await
        .unwrap();
    let key = key.access_key().unwrap();
    let as_carol = sdk_config(
        &server,
        key.access_key_id(),
        key.secret_access_key(),
        None,
        "us-west-2",
    )
    .await;
    let sts = aws_sdk_sts::Client::new(&as_carol);
    let info = sts
        .get_access_key_info()
        .access_key_id(key.access_key_id())
        .send()
        .await
        .unwrap();
    assert_eq!(info.account(), Some("000000000000"));

    let token = sts.get_session_token().send().await.unwrap();
    let creds = token.credentials().unwrap();
    assert!(creds.access_key_id().starts_with("ASIA"));
    let session = sdk_config(
        &server,
        creds.access_key_id(),
        creds.secret_access_key(),
        Some(creds.session_token().to_owned()),
        "us-west-2",
    )
    .await;
    let who = aws_sdk_sts::Client::new(&session)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(who.arn(), Some("arn:aws:iam::000000000000:user/carol"));
    // The user's own permissions apply (EC2 reads); IAM refuses the token itself.
    aws_sdk_ec2::Client::new(&session)
        .describe_vpcs()
        .send()
        .await
        .unwrap();
    let err = aws_sdk_iam::Client::new(&session)
        .list_roles()
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidClientTokenId"));
    let err = aws_sdk_sts::Client::new(&session)
        .get_session_token()
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDenied"));
    assert_eq!(
        err.message(),
        Some("Cannot call GetSessionToken with session credentials")
    );

    // A federated user with a session policy that allows DescribeVpcs only.
    let fed = sts
        .get_federation_token()
        .name("dana")
        .policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:DescribeVpcs","Resource":"*"}]}"#)
        .duration_seconds(900)
        .send()
        .await
        .unwrap();
    let user = fed.federated_user().unwrap();
    assert_eq!(user.arn(), "arn:aws:sts::000000000000:federated-user/dana");
    assert_eq!(user.federated_user_id(), "000000000000:dana");
    let creds = fed.credentials().unwrap();
    let federated = sdk_config(
        &server,
        creds.access_key_id(),
        creds.secret_access_key(),
        Some(creds.session_token().to_owned()),
        "us-west-2",
    )
    .await;
    let who = aws_sdk_sts::Client::new(&federated)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(who.arn(), Some(user.arn()));
    assert_eq!(who.user_id(), Some("000000000000:dana"));
    let fed_ec2 = aws_sdk_ec2::Client::new(&federated);
    fed_ec2.describe_vpcs().send().await.unwrap();
    // The user may describe subnets, the session policy may not: refused.
    let err = fed_ec2.describe_subnets().send().await.unwrap_err();
    assert_eq!(err.code(), Some("UnauthorizedOperation"));
    let err = aws_sdk_sts::Client::new(&federated)
        .get_session_token()
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDenied"));
    // Without session policies a federated user may do nothing.
    let bare = sts
        .get_federation_token()
        .name("erin")
        .send()
        .await
        .unwrap();
    let creds = bare.credentials().unwrap();
    let bare = sdk_config(
        &server,
        creds.access_key_id(),
        creds.secret_access_key(),
        Some(creds.session_token().to_owned()),
        "us-west-2",
    )
    .await;
    let err = aws_sdk_ec2::Client::new(&bare)
        .describe_vpcs()
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("UnauthorizedOperation"));
    let err = sts
        .get_federation_token()
        .name("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationError"));
}

/// What Terraform's `aws_iam_role` and `aws_iam_policy` change in place: a role's description
/// and session length, a policy's tags.
#[tokio::test]
async fn roles_and_policies_change_in_place() {
    let server = start().await;
    let iam = aws_sdk_iam::Client::new(&default_config(&server).await);
    iam.create_role()
        .role_name("app")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap();
    let updated = iam
        .update_role_description()
        .role_name("app")
        .description("the app")
        .send()
        .await
        .unwrap();
    assert_eq!(updated.role().unwrap().description(), Some("the app"));
    iam.update_role()
        .role_name("app")
        .max_session_duration(7200)
        .send()
        .await
        .unwrap();
    let role = iam.get_role().role_name("app").send().await.unwrap();
    assert_eq!(role.role().unwrap().max_session_duration(), Some(7200));
    assert_eq!(role.role().unwrap().description(), Some("the app"));
    let err = iam
        .update_role()
        .role_name("app")
        .max_session_duration(100)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationError"));

    let policy = iam
        .create_policy()
        .policy_name("read")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let arn = policy.policy().unwrap().arn().unwrap().to_owned();
    iam.tag_policy()
        .policy_arn(&arn)
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("team")
                .value("data")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let tags = iam
        .list_policy_tags()
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), 1);
    let got = iam.get_policy().policy_arn(&arn).send().await.unwrap();
    assert_eq!(got.policy().unwrap().tags().len(), 1);
    iam.untag_policy()
        .policy_arn(&arn)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    let tags = iam
        .list_policy_tags()
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    assert!(tags.tags().is_empty());
}

/// An ID token (unsigned: Airlock reads its claims) with GitHub Actions' issuer and audience.
fn id_token(sub: &str, exp: i64) -> String {
    use base64::Engine as _;
    let b = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let claims = serde_json::json!({
        "iss": "https://token.actions.githubusercontent.com",
        "aud": "sts.amazonaws.com", "sub": sub, "exp": exp,
    });
    format!(
        "{}.{}.{}",
        b(r#"{"alg":"RS256","kid":"k"}"#),
        b(&claims.to_string()),
        b("signature")
    )
}

#[tokio::test]
async fn web_identity_through_an_oidc_provider() {
    let server = start().await;
    let config = default_config(&server).await;
    let iam = aws_sdk_iam::Client::new(&config);
    let provider = iam
        .create_open_id_connect_provider()
        .url("https://token.actions.githubusercontent.com")
        .client_id_list("sts.amazonaws.com")
        .send()
        .await
        .unwrap();
    let provider = provider.open_id_connect_provider_arn().unwrap().to_owned();
    let got = iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(&provider)
        .send()
        .await
        .unwrap();
    assert_eq!(got.url(), Some("token.actions.githubusercontent.com"));
    assert_eq!(got.client_id_list(), ["sts.amazonaws.com"]);
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{provider}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringLike":{{"token.actions.githubusercontent.com:sub":"repo:acme/*"}}}}}}]}}"#
    );
    iam.create_role()
        .role_name("gha")
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    // No credentials at all: the SDK sends AssumeRoleWithWebIdentity unsigned.
    let anonymous = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(format!("http://{}", server.addr))
        .region(aws_config::Region::new("us-west-2"))
        .no_credentials()
        .load()
        .await;
    let sts = aws_sdk_sts::Client::new(&anonymous);
    let exp = time::OffsetDateTime::now_utc().unix_timestamp() + 600;
    let assumed = sts
        .assume_role_with_web_identity()
        .role_arn("arn:aws:iam::000000000000:role/gha")
        .role_session_name("run-1")
        .web_identity_token(id_token("repo:acme/site:ref:refs/heads/main", exp))
        .send()
        .await
        .unwrap();
    assert_eq!(
        assumed.subject_from_web_identity_token(),
        Some("repo:acme/site:ref:refs/heads/main")
    );
    assert_eq!(assumed.audience(), Some("sts.amazonaws.com"));
    let c = assumed.credentials().unwrap();
    let session = sdk_config(
        &server,
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
        "us-west-2",
    )
    .await;
    let me = aws_sdk_sts::Client::new(&session)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(
        me.arn(),
        Some("arn:aws:sts::000000000000:assumed-role/gha/run-1")
    );
    let refused = sts
        .assume_role_with_web_identity()
        .role_arn("arn:aws:iam::000000000000:role/gha")
        .role_session_name("run-2")
        .web_identity_token(id_token("repo:mallory/site", exp))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_sts::error::ProvideErrorMetadata::code(&refused),
        Some("AccessDenied")
    );
    let expired = sts
        .assume_role_with_web_identity()
        .role_arn("arn:aws:iam::000000000000:role/gha")
        .role_session_name("run-3")
        .web_identity_token(id_token("repo:acme/site", 1_000_000_000))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_sts::error::ProvideErrorMetadata::code(&expired),
        Some("ExpiredTokenException")
    );
}
