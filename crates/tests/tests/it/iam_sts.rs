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
