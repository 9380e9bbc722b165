#!/usr/bin/env python3
"""Writes the committed seed inputs of the fuzz targets (fuzz/seeds/<target>/), so that a short
smoke run starts from well-formed requests instead of from nothing.

query_form and json_body seeds begin with the three bytes airlock_fuzz::pick_operation reads:
the model (its index among the models of those protocols, in airlock_model::all() order) and the
operation (little-endian u16, its index in the model's operations sorted by name). sigv4 seeds
are HTTP requests signed with botocore (the pinned one in tools/requirements.txt) with the default
credentials test/test, in both the Authorization header and the presigned query forms.

Run from the repository root with the test command's venv: `python fuzz/seeds/make.py`.
"""
import json
import os
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEEDS = os.path.join(ROOT, "fuzz", "seeds")
ALL = ["ec2", "iam", "sts", "mwaa", "acm", "elbv2"]  # airlock_model::all() order
PROTOCOLS = {"ec2": "ec2", "iam": "query", "sts": "query", "mwaa": "rest-json", "acm": "json", "elbv2": "query"}


def pick(service, op, protocols):
    models = [m for m in ALL if PROTOCOLS[m] in protocols]
    with open(os.path.join(ROOT, "crates", "model", "models", service + ".json")) as f:
        ops = sorted(json.load(f)["operations"], key=lambda s: s.encode())
    return bytes([models.index(service)]) + struct.pack("<H", ops.index(op))


def write(target, name, data):
    os.makedirs(os.path.join(SEEDS, target), exist_ok=True)
    with open(os.path.join(SEEDS, target, name), "wb") as f:
        f.write(data)


QUERY = [
    ("ec2", "DescribeVpcs", "Action=DescribeVpcs&Version=2016-11-15&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1&MaxResults=5"),
    ("ec2", "RunInstances", "Action=RunInstances&ImageId=ami-1&MinCount=1&MaxCount=2&InstanceType=t3.micro"
     "&SubnetId=subnet-1&SecurityGroupId.1=sg-1&TagSpecification.1.ResourceType=instance"
     "&TagSpecification.1.Tag.1.Key=Name&TagSpecification.1.Tag.1.Value=a%20b&UserData=aGk%3D"),
    ("ec2", "AuthorizeSecurityGroupIngress", "GroupId=sg-1&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=22"
     "&IpPermissions.1.ToPort=22&IpPermissions.1.IpRanges.1.CidrIp=10.0.0.0%2F8&DryRun=true"),
    ("ec2", "CreateVpcEndpoint", "VpcId=vpc-1&ServiceName=com.amazonaws.us-east-1.s3&SubnetId.1=subnet-1"
     "&VpcEndpointType=Interface&PrivateDnsEnabled=false"),
    ("iam", "CreateRole", "Action=CreateRole&RoleName=r&AssumeRolePolicyDocument=%7B%7D&Tags.member.1.Key=k"
     "&Tags.member.1.Value=v&MaxSessionDuration=3600"),
    ("sts", "AssumeRole", "Action=AssumeRole&RoleArn=arn:aws:iam::000000000000:role/r&RoleSessionName=s&DurationSeconds=900"),
    ("elbv2", "CreateLoadBalancer", "Action=CreateLoadBalancer&Name=lb&Subnets.member.1=subnet-1&Subnets.member.2=subnet-2"
     "&Scheme=internal&Type=application&Tags.member.1.Key=k"),
    ("elbv2", "CreateRule", "ListenerArn=arn&Priority=1&Conditions.member.1.Field=path-pattern"
     "&Conditions.member.1.Values.member.1=%2Fa%2A&Actions.member.1.Type=fixed-response"
     "&Actions.member.1.FixedResponseConfig.StatusCode=200"),
]

JSON = [
    ("mwaa", "CreateEnvironment", {"Name": "env", "ExecutionRoleArn": "arn:aws:iam::000000000000:role/r",
     "SourceBucketArn": "arn:aws:s3:::b", "DagS3Path": "dags", "NetworkConfiguration": {"SubnetIds": ["subnet-1", "subnet-2"],
     "SecurityGroupIds": ["sg-1"]}, "AirflowConfigurationOptions": {"core.x": "1"}, "MaxWorkers": 2,
     "LoggingConfiguration": {"TaskLogs": {"Enabled": True, "LogLevel": "INFO"}}, "Tags": {"k": "v"}}),
    ("mwaa", "UpdateEnvironment", {"Name": "env", "MinWorkers": 1, "WebserverAccessMode": "PUBLIC_ONLY"}),
    ("acm", "ImportCertificate", {"Certificate": "TUlJ", "PrivateKey": "TUlJ", "Tags": [{"Key": "k", "Value": "v"}]}),
    ("acm", "ListCertificates", {"CertificateStatuses": ["ISSUED"], "Includes": {"keyTypes": ["RSA_2048"]}, "MaxItems": 10}),
    ("acm", "RequestCertificate", {"DomainName": "a.example.com", "ValidationMethod": "DNS",
     "SubjectAlternativeNames": ["b.example.com"], "Options": {"CertificateTransparencyLoggingPreference": "DISABLED"}}),
]


def sigv4_seeds():
    from botocore.auth import SigV4Auth, SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    def http(req):
        url = req.url.split("://", 1)[1]
        target = "/" + url.split("/", 1)[1] if "/" in url else "/"
        host = url.split("/", 1)[0]
        head = [f"{req.method} {target}", f"Host: {host}"] + [f"{k}: {v}" for k, v in req.headers.items()]
        body = req.body or b""
        return ("\n".join(head) + "\n\n").encode() + (body.encode() if isinstance(body, str) else body)

    plain = Credentials("test", "test")
    session = Credentials("ASIAEXAMPLE", "test", "token/with+chars=")
    post = AWSRequest("POST", "http://localhost:4566/", data="Action=DescribeVpcs&Version=2016-11-15",
                      headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(plain, "ec2", "us-east-1").add_auth(post)
    write("sigv4", "header-ec2", http(post))
    rest = AWSRequest("GET", "http://localhost:4566/environments/my%20env?a=1&b=%2F", headers={})
    SigV4Auth(session, "airflow", "eu-west-1").add_auth(rest)
    write("sigv4", "header-session-mwaa", http(rest))
    pre = AWSRequest("GET", "http://localhost:4566/?Action=GetCallerIdentity&Version=2011-06-15", headers={})
    SigV4QueryAuth(plain, "sts", "us-east-1", expires=300).add_auth(pre)
    write("sigv4", "presigned-sts", http(pre))
    s3 = AWSRequest("PUT", "http://localhost:4566/bucket/key/a%20b", data=b"hello",
                    headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    SigV4Auth(plain, "s3", "us-east-1").add_auth(s3)
    write("sigv4", "header-s3-unsigned", http(s3))


for service, op, form in QUERY:
    write("query_form", f"{service}-{op}", pick(service, op, ("ec2", "query")) + form.encode())
for service, op, body in JSON:
    write("json_body", f"{service}-{op}", pick(service, op, ("json", "rest-json")) + json.dumps(body).encode())
sigv4_seeds()
# policy seeds: documents with every element and a range of condition operators.
POLICIES = {
    "conditions.json": {"Version": "2012-10-17", "Statement": [{
        "Sid": "a", "Effect": "Allow", "Action": ["ec2:Describe*", "s3:Get?bject"],
        "Resource": "arn:aws:s3:::bucket/home/${aws:username}/*",
        "Condition": {
            "StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/*"},
            "IpAddress": {"aws:SourceIp": ["127.0.0.0/8", "::1/128"]},
            "DateLessThan": {"aws:CurrentTime": "2027-01-01"},
            "ForAllValues:StringEquals": {"aws:TagKeys": ["env"]},
            "NumericLessThanIfExists": {"aws:MultiFactorAuthAge": 3600},
            "Null": {"aws:TokenIssueTime": "true"},
            "Bool": {"aws:SecureTransport": False}}}]},
    "resource.json": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "NotPrincipal": {"AWS": ["arn:aws:iam::111122223333:role/r", "111122223333"]},
         "NotAction": "iam:*", "NotResource": ["arn:aws:s3:::b/${*}${?}${$}", "arn:aws:airflow:*:*:role/*/Viewer"],
         "Condition": {"ForAnyValue:StringNotEquals": {"aws:TagKeys": "team*?"},
                       "ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/admin-*"}}},
        {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]},
}
for name, doc in POLICIES.items():
    write("policy", name, json.dumps(doc, separators=(",", ":")).encode())


# web_identity seeds: ID tokens as GitHub Actions and EKS issue them (unsigned: the target reads claims).
def jwt(claims):
    import base64
    b = lambda o: base64.urlsafe_b64encode(json.dumps(o).encode()).rstrip(b"=")
    return b({"alg": "RS256", "kid": "k"}) + b"." + b(claims) + b".c2ln"


write("web_identity", "github", jwt({"iss": "https://token.actions.githubusercontent.com",
      "aud": "sts.amazonaws.com", "sub": "repo:acme/site:ref:refs/heads/main", "exp": 1900000000}))
write("web_identity", "eks", jwt({"iss": "https://oidc.eks.us-east-1.amazonaws.com/id/ABC",
      "aud": ["sts.amazonaws.com", "x"], "azp": "sts.amazonaws.com", "amr": ["pwd"],
      "sub": "system:serviceaccount:default:app", "exp": 1.9e9}))
