#!/usr/bin/env bash
# IAM and STS as the MWAA procedure uses them (aws-behaviour.md §3): the execution role with the
# MWAA trust policy, inline and managed policies, users with access keys, assumed-role sessions,
# and every key actually used to sign requests with the CLI.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

start_server
ACCOUNT=000000000000

# --- The MWAA execution role -------------------------------------------------------------------------
cat >"$WORKDIR/trust.json" <<'EOF'
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {"Service": ["airflow.amazonaws.com", "airflow-env.amazonaws.com"]},
      "Action": "sts:AssumeRole"
    }
  ]
}
EOF
awsrun iam create-role --role-name mwaa-execution-role --path /service-role/ \
    --assume-role-policy-document "file://$WORKDIR/trust.json" --description "MWAA execution role"
check_eq "create-role succeeds" "0" "$RC"
[[ $RC -eq 0 ]] || diag "$ERR"
check_eq "create-role: the role ARN includes the path" "arn:aws:iam::$ACCOUNT:role/service-role/mwaa-execution-role" \
    "$(J "$OUT" 'd["Role"]["Arn"]')"
check_match "create-role: RoleId AROA..." '^AROA[A-Z0-9]{16,17}$' "$(J "$OUT" 'd["Role"]["RoleId"]')"

ROLE=$(qj iam get-role --role-name mwaa-execution-role)
check_eq "get-role: the trust policy is decoded; Principal.Service lists both MWAA services" \
    '["airflow.amazonaws.com","airflow-env.amazonaws.com"]' \
    "$(J "$ROLE" 'json.dumps(d["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"], separators=(",", ":"))')"
check_eq "get-role: the whole trust policy round-trips" \
    "$(jv 'json.dumps(d, sort_keys=True)' <"$WORKDIR/trust.json")" \
    "$(J "$ROLE" 'json.dumps(d["Role"]["AssumeRolePolicyDocument"], sort_keys=True)')"
check_eq "get-role: path, description, max session duration" "/service-role/ MWAA execution role 3600" \
    "$(J "$ROLE" '" ".join(str(d["Role"][k]) for k in ("Path", "Description", "MaxSessionDuration"))')"
expect_error "create-role again" EntityAlreadyExists \
    iam create-role --role-name mwaa-execution-role --assume-role-policy-document "file://$WORKDIR/trust.json"
expect_error "create-role with a malformed trust policy" MalformedPolicyDocument \
    iam create-role --role-name broken --assume-role-policy-document '{"Version":'

# Inline policy.
cat >"$WORKDIR/inline.json" <<EOF
{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Action": "airflow:PublishMetrics",
     "Resource": "arn:aws:airflow:us-west-2:$ACCOUNT:environment/MyAirflowEnvironment"},
    {"Effect": "Deny", "Action": "s3:ListAllMyBuckets",
     "Resource": ["arn:aws:s3:::my-dags-bucket", "arn:aws:s3:::my-dags-bucket/*"]}
  ]
}
EOF
expect_ok "put-role-policy" iam put-role-policy --role-name mwaa-execution-role \
    --policy-name MWAA-Execution-Policy --policy-document "file://$WORKDIR/inline.json"
awsrun iam get-role-policy --role-name mwaa-execution-role --policy-name MWAA-Execution-Policy
check_eq "get-role-policy returns the decoded document" \
    "$(jv 'json.dumps(d, sort_keys=True)' <"$WORKDIR/inline.json")" \
    "$(J "$OUT" 'json.dumps(d["PolicyDocument"], sort_keys=True)')"
check_eq "list-role-policies" "MWAA-Execution-Policy" \
    "$(q iam list-role-policies --role-name mwaa-execution-role --query PolicyNames)"

# Managed policy.
POLICY_ARN=$(q iam create-policy --policy-name mwaa-logs \
    --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"logs:DescribeLogGroups","Resource":"*"}]}' \
    --query Policy.Arn)
check_eq "create-policy returns the ARN" "arn:aws:iam::$ACCOUNT:policy/mwaa-logs" "$POLICY_ARN"
expect_ok "attach-role-policy" iam attach-role-policy --role-name mwaa-execution-role --policy-arn "$POLICY_ARN"
check_eq "list-attached-role-policies" "mwaa-logs $POLICY_ARN" \
    "$(qj iam list-attached-role-policies --role-name mwaa-execution-role | J "$(cat)" '" ".join(x for p in d["AttachedPolicies"] for x in (p["PolicyName"], p["PolicyArn"]))')"
check_eq "get-policy: AttachmentCount 1" "1" "$(q iam get-policy --policy-arn "$POLICY_ARN" --query Policy.AttachmentCount)"
expect_error "attach a policy that does not exist" NoSuchEntity \
    iam attach-role-policy --role-name mwaa-execution-role --policy-arn "arn:aws:iam::$ACCOUNT:policy/nope"

# Roles with policies cannot be deleted.
expect_error "delete-role while a managed policy is attached" DeleteConflict iam delete-role --role-name mwaa-execution-role
expect_ok "detach-role-policy" iam detach-role-policy --role-name mwaa-execution-role --policy-arn "$POLICY_ARN"
expect_error "delete-role while an inline policy remains" DeleteConflict iam delete-role --role-name mwaa-execution-role
expect_ok "delete-role-policy" iam delete-role-policy --role-name mwaa-execution-role --policy-name MWAA-Execution-Policy
expect_ok "delete-role once it has no policies" iam delete-role --role-name mwaa-execution-role
expect_error "get-role after delete" NoSuchEntity iam get-role --role-name mwaa-execution-role

# --- A user with an access key, used for real --------------------------------------------------------------
check_eq "create-user" "arn:aws:iam::$ACCOUNT:user/alice" "$(q iam create-user --user-name alice --query User.Arn)"
awsrun iam create-access-key --user-name alice
check_eq "create-access-key succeeds" "0" "$RC"
ALICE_KEY=$(J "$OUT" 'd["AccessKey"]["AccessKeyId"]')
ALICE_SECRET=$(J "$OUT" 'd["AccessKey"]["SecretAccessKey"]')
check_match "the access key is AKIA + 16" '^AKIA[A-Z0-9]{16}$' "$ALICE_KEY"
check_match "the secret is 40 characters" '^[A-Za-z0-9/+]{40}$' "$ALICE_SECRET"
check_eq "list-access-keys shows it Active" "$ALICE_KEY Active" \
    "$(qj iam list-access-keys --user-name alice | J "$(cat)" '" ".join(x for k in d["AccessKeyMetadata"] for x in (k["AccessKeyId"], k["Status"]))')"
AWS_ACCESS_KEY_ID=$ALICE_KEY AWS_SECRET_ACCESS_KEY=$ALICE_SECRET awsrun sts get-caller-identity
check_eq "sts get-caller-identity with alice's key -> her user ARN" "0 arn:aws:iam::$ACCOUNT:user/alice $ACCOUNT" \
    "$RC $(J "$OUT" 'd["Arn"] + " " + d["Account"]')"
check_match "... and her AIDA user id" '^AIDA[A-Z0-9]{16,17}$' "$(J "$OUT" 'd["UserId"]')"
AWS_ACCESS_KEY_ID=$ALICE_KEY AWS_SECRET_ACCESS_KEY=wrong-secret \
    expect_error "alice's key with a wrong secret" SignatureDoesNotMatch sts get-caller-identity
check_eq "get-access-key-info reads the account out of her key id" "$ACCOUNT" \
    "$(q sts get-access-key-info --access-key-id "$ALICE_KEY" --query Account)"
# get-session-token needs no permission (alice has none): the token acts as alice.
AWS_ACCESS_KEY_ID=$ALICE_KEY AWS_SECRET_ACCESS_KEY=$ALICE_SECRET awsrun sts get-session-token --duration-seconds 900
check_eq "get-session-token with alice's key" "0" "$RC"
T_KEY=$(J "$OUT" 'd["Credentials"]["AccessKeyId"]')
T_SECRET=$(J "$OUT" 'd["Credentials"]["SecretAccessKey"]')
T_TOKEN=$(J "$OUT" 'd["Credentials"]["SessionToken"]')
check_match "its key is ASIA + 16" '^ASIA[A-Z2-7]{16}$' "$T_KEY"
AWS_ACCESS_KEY_ID=$T_KEY AWS_SECRET_ACCESS_KEY=$T_SECRET AWS_SESSION_TOKEN=$T_TOKEN awsrun sts get-caller-identity
check_eq "the session token's caller is alice" "0 arn:aws:iam::$ACCOUNT:user/alice" "$RC $(J "$OUT" 'd["Arn"]')"
AWS_ACCESS_KEY_ID=$T_KEY AWS_SECRET_ACCESS_KEY=$T_SECRET AWS_SESSION_TOKEN=$T_TOKEN \
    expect_error "IAM refuses a session token" InvalidClientTokenId iam list-users
AWS_ACCESS_KEY_ID=$T_KEY AWS_SECRET_ACCESS_KEY=$T_SECRET AWS_SESSION_TOKEN=$T_TOKEN \
    expect_error "a session token cannot ask for another" AccessDenied sts get-session-token
AWS_ACCESS_KEY_ID=$ALICE_KEY AWS_SECRET_ACCESS_KEY=$ALICE_SECRET \
    expect_error "get-federation-token needs sts:GetFederationToken" AccessDenied sts get-federation-token --name fed
expect_error "delete-user while it has an access key" DeleteConflict iam delete-user --user-name alice
expect_ok "delete-access-key" iam delete-access-key --user-name alice --access-key-id "$ALICE_KEY"
AWS_ACCESS_KEY_ID=$ALICE_KEY AWS_SECRET_ACCESS_KEY=$ALICE_SECRET \
    expect_error "a deleted key is refused (sts)" InvalidClientTokenId sts get-caller-identity
AWS_ACCESS_KEY_ID=$ALICE_KEY AWS_SECRET_ACCESS_KEY=$ALICE_SECRET \
    expect_error "a deleted key is refused (ec2)" AuthFailure ec2 describe-vpcs

# --- assume-role and the session credentials ----------------------------------------------------------------
# A role the account may assume (the MWAA role above trusts only the MWAA services).
AROLE=$(q iam create-role --role-name deployer \
    --assume-role-policy-document "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::$ACCOUNT:root\"},\"Action\":\"sts:AssumeRole\"}]}" \
    --query Role.Arn)
check_eq "create-role deployer" "arn:aws:iam::$ACCOUNT:role/deployer" "$AROLE"
awsrun sts assume-role --role-arn "$AROLE" --role-session-name ci-run-1 --duration-seconds 900
check_eq "assume-role succeeds" "0" "$RC"
[[ $RC -eq 0 ]] || diag "$ERR"
SESSION=$OUT
S_KEY=$(J "$SESSION" 'd["Credentials"]["AccessKeyId"]')
S_SECRET=$(J "$SESSION" 'd["Credentials"]["SecretAccessKey"]')
S_TOKEN=$(J "$SESSION" 'd["Credentials"]["SessionToken"]')
check_match "session key ASIA..." '^ASIA[A-Z0-9]{16}$' "$S_KEY"
check_ne "a session token is returned" "" "$S_TOKEN"
check_eq "AssumedRoleUser.Arn" "arn:aws:sts::$ACCOUNT:assumed-role/deployer/ci-run-1" \
    "$(J "$SESSION" 'd["AssumedRoleUser"]["Arn"]')"
check "Expiration is about 15 minutes away" "$PYTHON" -c '
import datetime, sys
exp = datetime.datetime.fromisoformat(sys.argv[1].replace("Z", "+00:00"))
left = (exp - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
sys.exit(0 if 800 < left <= 905 else 1)' "$(J "$SESSION" 'd["Credentials"]["Expiration"]')"

AWS_ACCESS_KEY_ID=$S_KEY AWS_SECRET_ACCESS_KEY=$S_SECRET AWS_SESSION_TOKEN=$S_TOKEN awsrun sts get-caller-identity
check_eq "get-caller-identity with the session -> the assumed-role ARN" \
    "0 arn:aws:sts::$ACCOUNT:assumed-role/deployer/ci-run-1" "$RC $(J "$OUT" 'd["Arn"]')"
check_match "... UserId is <role id>:<session name>" '^AROA[A-Z0-9]{16,17}:ci-run-1$' "$(J "$OUT" 'd["UserId"]')"
# The role has no policies yet: the session may sign requests but is allowed nothing.
AWS_ACCESS_KEY_ID=$S_KEY AWS_SECRET_ACCESS_KEY=$S_SECRET AWS_SESSION_TOKEN=$S_TOKEN \
    expect_error "the session of a role without policies is refused by EC2" UnauthorizedOperation \
    ec2 describe-vpcs --filters Name=is-default,Values=true
expect_ok "attach AmazonEC2ReadOnlyAccess to the role" iam attach-role-policy --role-name deployer \
    --policy-arn arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess
AWS_ACCESS_KEY_ID=$S_KEY AWS_SECRET_ACCESS_KEY=$S_SECRET AWS_SESSION_TOKEN=$S_TOKEN \
    expect_ok "... then the session works for EC2 too" ec2 describe-vpcs --filters Name=is-default,Values=true
AWS_ACCESS_KEY_ID=$S_KEY AWS_SECRET_ACCESS_KEY=$S_SECRET \
    expect_error "the session key without its token (sts)" InvalidClientTokenId sts get-caller-identity
AWS_ACCESS_KEY_ID=$S_KEY AWS_SECRET_ACCESS_KEY=$S_SECRET \
    expect_error "the session key without its token (ec2)" AuthFailure ec2 describe-vpcs
AWS_ACCESS_KEY_ID=$S_KEY AWS_SECRET_ACCESS_KEY=$S_SECRET AWS_SESSION_TOKEN=not-the-token \
    expect_error "the session key with a wrong token" InvalidClientTokenId sts get-caller-identity
expect_error "assume-role of a role that does not exist" AccessDenied \
    sts assume-role --role-arn "arn:aws:iam::$ACCOUNT:role/nope" --role-session-name s1

# OpenID Connect: a provider (aws_iam_openid_connect_provider) and a role assumed with its token
# (GitHub Actions' configure-aws-credentials, EKS service accounts). The CLI sends the request
# unsigned, as the SDKs do.
expect_error "a provider URL must be https" InvalidInput iam create-open-id-connect-provider \
    --url http://token.actions.githubusercontent.com --client-id-list sts.amazonaws.com
expect_ok "create-open-id-connect-provider" iam create-open-id-connect-provider \
    --url https://token.actions.githubusercontent.com --client-id-list sts.amazonaws.com \
    --thumbprint-list 6938fd4d98bab03faadb97b34396831e3780aea1 --tags Key=team,Value=ci
OIDC=$(J "$OUT" 'd["OpenIDConnectProviderArn"]')
check_eq "the provider's ARN ends with its URL" \
    "arn:aws:iam::$ACCOUNT:oidc-provider/token.actions.githubusercontent.com" "$OIDC"
expect_error "the same URL twice" EntityAlreadyExists iam create-open-id-connect-provider \
    --url https://token.actions.githubusercontent.com/
expect_ok "get-open-id-connect-provider" iam get-open-id-connect-provider --open-id-connect-provider-arn "$OIDC"
check_eq "... its URL without the scheme, audiences, thumbprints, tags" \
    "token.actions.githubusercontent.com sts.amazonaws.com 6938fd4d98bab03faadb97b34396831e3780aea1 team=ci" \
    "$(J "$OUT" '" ".join([d["Url"], ",".join(d["ClientIDList"]), ",".join(d["ThumbprintList"]), ",".join(t["Key"]+"="+t["Value"] for t in d["Tags"])])')"
expect_ok "add-client-id-to-open-id-connect-provider" iam add-client-id-to-open-id-connect-provider \
    --open-id-connect-provider-arn "$OIDC" --client-id other-app
expect_ok "remove-client-id-from-open-id-connect-provider" iam remove-client-id-from-open-id-connect-provider \
    --open-id-connect-provider-arn "$OIDC" --client-id other-app
expect_ok "update-open-id-connect-provider-thumbprint" iam update-open-id-connect-provider-thumbprint \
    --open-id-connect-provider-arn "$OIDC" --thumbprint-list 1c58a3a8518e8759bf075b76b750d4f2df264fcd
expect_ok "... read back" iam get-open-id-connect-provider --open-id-connect-provider-arn "$OIDC"
check_eq "... one audience and the new thumbprint" "sts.amazonaws.com 1c58a3a8518e8759bf075b76b750d4f2df264fcd" \
    "$(J "$OUT" '",".join(d["ClientIDList"]) + " " + ",".join(d["ThumbprintList"])')"
expect_ok "list-open-id-connect-providers" iam list-open-id-connect-providers
check_eq "... lists it" "$OIDC" "$(J "$OUT" '" ".join(p["Arn"] for p in d["OpenIDConnectProviderList"])')"
expect_error "an unknown provider" NoSuchEntity iam get-open-id-connect-provider \
    --open-id-connect-provider-arn "arn:aws:iam::$ACCOUNT:oidc-provider/example.com"

TRUST='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"'$OIDC'"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},"StringLike":{"token.actions.githubusercontent.com:sub":"repo:acme/site:*"}}}]}'
expect_ok "a role for GitHub Actions" iam create-role --role-name github-deploy --assume-role-policy-document "$TRUST"
# A JWT as an issuer signs it (Airlock reads its claims; it cannot fetch the issuer's keys offline).
jwt() {
    "$PYTHON" -c '
import base64, json, sys, time
b = lambda o: base64.urlsafe_b64encode(json.dumps(o).encode()).rstrip(b"=").decode()
claims = {"iss": "https://token.actions.githubusercontent.com", "aud": "sts.amazonaws.com",
          "sub": "repo:acme/site:ref:refs/heads/main", "exp": int(time.time()) + 300}
claims.update(json.loads(sys.argv[1]))
print(b({"alg": "RS256", "kid": "k"}) + "." + b(claims) + ".c2ln")' "${1:-{\}}"
}
expect_ok "assume-role-with-web-identity" sts assume-role-with-web-identity \
    --role-arn "arn:aws:iam::$ACCOUNT:role/github-deploy" --role-session-name gha-1 --web-identity-token "$(jwt)"
check_eq "... the session, the token's subject, provider and audience" \
    "arn:aws:sts::$ACCOUNT:assumed-role/github-deploy/gha-1 repo:acme/site:ref:refs/heads/main https://token.actions.githubusercontent.com sts.amazonaws.com" \
    "$(J "$OUT" '" ".join([d["AssumedRoleUser"]["Arn"], d["SubjectFromWebIdentityToken"], d["Provider"], d["Audience"]])')"
W_KEY=$(J "$OUT" 'd["Credentials"]["AccessKeyId"]')
W_SECRET=$(J "$OUT" 'd["Credentials"]["SecretAccessKey"]')
W_TOKEN=$(J "$OUT" 'd["Credentials"]["SessionToken"]')
AWS_ACCESS_KEY_ID=$W_KEY AWS_SECRET_ACCESS_KEY=$W_SECRET AWS_SESSION_TOKEN=$W_TOKEN awsrun sts get-caller-identity
check_eq "the web identity session signs as the role" \
    "0 arn:aws:sts::$ACCOUNT:assumed-role/github-deploy/gha-1" "$RC $(J "$OUT" 'd["Arn"]')"
expect_ok "unsigned explicitly (--no-sign-request)" sts assume-role-with-web-identity --no-sign-request \
    --role-arn "arn:aws:iam::$ACCOUNT:role/github-deploy" --role-session-name gha-2 --web-identity-token "$(jwt)"
expect_error "another repository's token (the trust policy's sub condition)" AccessDenied sts assume-role-with-web-identity \
    --role-arn "arn:aws:iam::$ACCOUNT:role/github-deploy" --role-session-name gha-3 \
    --web-identity-token "$(jwt '{"sub":"repo:mallory/site:ref:refs/heads/main"}')"
expect_error "an audience the provider does not list" InvalidIdentityToken sts assume-role-with-web-identity \
    --role-arn "arn:aws:iam::$ACCOUNT:role/github-deploy" --role-session-name gha-4 \
    --web-identity-token "$(jwt '{"aud":"someone-else"}')"
expect_error "an issuer with no provider" InvalidIdentityToken sts assume-role-with-web-identity \
    --role-arn "arn:aws:iam::$ACCOUNT:role/github-deploy" --role-session-name gha-5 \
    --web-identity-token "$(jwt '{"iss":"https://accounts.example.com"}')"
expect_error "an expired token" ExpiredTokenException sts assume-role-with-web-identity \
    --role-arn "arn:aws:iam::$ACCOUNT:role/github-deploy" --role-session-name gha-6 \
    --web-identity-token "$(jwt '{"exp":1000000000}')"
expect_error "a token that is not a JWT" InvalidIdentityToken sts assume-role-with-web-identity \
    --role-arn "arn:aws:iam::$ACCOUNT:role/github-deploy" --role-session-name gha-7 --web-identity-token not-a-jwt
expect_error "a role that trusts only AWS principals" AccessDenied sts assume-role-with-web-identity \
    --role-arn "arn:aws:iam::$ACCOUNT:role/deployer" --role-session-name gha-8 --web-identity-token "$(jwt)"
expect_error "other operations still need a signature" MissingAuthenticationToken sts get-caller-identity --no-sign-request
expect_ok "delete-open-id-connect-provider" iam delete-open-id-connect-provider --open-id-connect-provider-arn "$OIDC"
expect_error "... then the token has no provider" InvalidIdentityToken sts assume-role-with-web-identity \
    --role-arn "arn:aws:iam::$ACCOUNT:role/github-deploy" --role-session-name gha-9 --web-identity-token "$(jwt)"

finish
