//! A small built-in table of AWS managed policies (`arn:aws:iam::aws:policy/...`).
//!
//! Real IAM has well over a thousand; Airlock knows the ones MWAA users attach and a handful of
//! common ones. The documents are abbreviated stand-ins that keep the policies' intent (unverified
//! against the live versions), and the policy ids are derived from the names so that they are
//! stable across restarts.

use sha1::{Digest, Sha1};

pub struct AwsPolicy {
    pub name: &'static str,
    pub path: &'static str,
    pub description: &'static str,
    pub create_date: &'static str,
    pub update_date: &'static str,
    pub version: &'static str,
    /// Service-role policies cannot be attached to customer roles.
    pub attachable: bool,
    pub document: &'static str,
}

impl AwsPolicy {
    pub fn arn(&self) -> String {
        format!("arn:aws:iam::aws:policy{}{}", self.path, self.name)
    }

    /// `ANPA` and 16 characters of `[A-Z2-7]` derived from the name.
    pub fn policy_id(&self) -> String {
        const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let digest = Sha1::digest(self.name.as_bytes());
        let rest: String = digest
            .iter()
            .take(16)
            .map(|b| CHARS[(*b & 31) as usize] as char)
            .collect();
        format!("ANPA{rest}")
    }
}

/// The built-in policy with this ARN.
pub fn find(arn: &str) -> Option<&'static AwsPolicy> {
    let path_and_name = crate::partition::strip(arn, "iam")?.strip_prefix(":aws:policy")?;
    POLICIES
        .iter()
        .find(|p| path_and_name.strip_prefix(p.path) == Some(p.name))
}

pub const POLICIES: &[AwsPolicy] = &[
    AwsPolicy {
        name: "AdministratorAccess",
        path: "/",
        description: "Provides full access to AWS services and resources.",
        create_date: "2015-02-06T18:39:46.000Z",
        update_date: "2015-02-06T18:39:46.000Z",
        version: "v1",
        attachable: true,
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    },
    AwsPolicy {
        name: "AmazonEC2FullAccess",
        path: "/",
        description: "Provides full access to Amazon EC2 via the AWS Management Console.",
        create_date: "2015-02-06T18:40:15.000Z",
        update_date: "2018-11-27T02:16:56.000Z",
        version: "v5",
        attachable: true,
        document: r#"{"Version":"2012-10-17","Statement":[{"Action":"ec2:*","Effect":"Allow","Resource":"*"},{"Effect":"Allow","Action":"elasticloadbalancing:*","Resource":"*"},{"Effect":"Allow","Action":"cloudwatch:*","Resource":"*"},{"Effect":"Allow","Action":"autoscaling:*","Resource":"*"}]}"#,
    },
    AwsPolicy {
        name: "AmazonEC2ReadOnlyAccess",
        path: "/",
        description: "Provides read only access to Amazon EC2 via the AWS Management Console.",
        create_date: "2015-02-06T18:40:17.000Z",
        update_date: "2015-02-06T18:40:17.000Z",
        version: "v1",
        attachable: true,
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"},{"Effect":"Allow","Action":"elasticloadbalancing:Describe*","Resource":"*"}]}"#,
    },
    AwsPolicy {
        name: "AmazonMWAAAirflowCliAccess",
        path: "/",
        description: "Provides access to the Apache Airflow CLI through the CreateCliToken API.",
        create_date: "2024-01-23T20:00:00.000Z",
        update_date: "2024-01-23T20:00:00.000Z",
        version: "v1",
        attachable: true,
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["airflow:CreateCliToken"],"Resource":"*"}]}"#,
    },
    AwsPolicy {
        name: "AmazonMWAAFullApiAccess",
        path: "/",
        description: "Provides full access to the Amazon MWAA APIs.",
        create_date: "2020-11-24T00:00:00.000Z",
        update_date: "2020-11-24T00:00:00.000Z",
        version: "v1",
        attachable: true,
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"airflow:*","Resource":"*"},{"Effect":"Allow","Action":["iam:PassRole"],"Resource":"*","Condition":{"StringLike":{"iam:PassedToService":"airflow.amazonaws.com"}}},{"Effect":"Allow","Action":["ec2:DescribeSecurityGroups","ec2:DescribeSubnets","ec2:DescribeVpcs","ec2:DescribeRouteTables","ec2:CreateVpcEndpoint","ec2:DescribeVpcEndpoints","ec2:DeleteVpcEndpoints","ec2:CreateNetworkInterface","ec2:DescribeNetworkInterfaces"],"Resource":"*"},{"Effect":"Allow","Action":["iam:CreateServiceLinkedRole"],"Resource":"arn:aws:iam::*:role/aws-service-role/airflow.amazonaws.com/AWSServiceRoleForAmazonMWAA"}]}"#,
    },
    AwsPolicy {
        name: "AmazonMWAAFullConsoleAccess",
        path: "/",
        description: "Provides full access to Amazon MWAA through the AWS Management Console.",
        create_date: "2020-11-24T00:00:00.000Z",
        update_date: "2020-11-24T00:00:00.000Z",
        version: "v1",
        attachable: true,
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"airflow:*","Resource":"*"},{"Effect":"Allow","Action":["iam:ListRoles","iam:CreatePolicy","iam:CreateRole","iam:AttachRolePolicy","iam:ListAttachedRolePolicies","iam:PassRole"],"Resource":"*"},{"Effect":"Allow","Action":["s3:ListAllMyBuckets","s3:ListBucket","s3:ListBucketVersions","s3:GetBucketLocation","s3:GetBucketPublicAccessBlock"],"Resource":"*"},{"Effect":"Allow","Action":["ec2:DescribeSecurityGroups","ec2:DescribeSubnets","ec2:DescribeVpcs","ec2:DescribeRouteTables","ec2:DescribeVpcEndpoints","ec2:CreateSecurityGroup","ec2:AuthorizeSecurityGroupIngress","ec2:CreateVpcEndpoint","ec2:CreateTags"],"Resource":"*"},{"Effect":"Allow","Action":["kms:ListAliases","kms:DescribeKey"],"Resource":"*"},{"Effect":"Allow","Action":["iam:CreateServiceLinkedRole"],"Resource":"arn:aws:iam::*:role/aws-service-role/airflow.amazonaws.com/AWSServiceRoleForAmazonMWAA"}]}"#,
    },
    AwsPolicy {
        name: "AmazonMWAAReadOnlyAccess",
        path: "/",
        description: "Provides read only access to Amazon MWAA.",
        create_date: "2020-11-24T00:00:00.000Z",
        update_date: "2020-11-24T00:00:00.000Z",
        version: "v1",
        attachable: true,
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["airflow:ListEnvironments","airflow:GetEnvironment","airflow:ListTagsForResource"],"Resource":"*"}]}"#,
    },
    AwsPolicy {
        name: "AmazonMWAAServiceRolePolicy",
        path: "/aws-service-role/",
        description: "Allows Amazon MWAA to manage the network resources and logs of its environments.",
        create_date: "2020-11-24T00:00:00.000Z",
        update_date: "2020-11-24T00:00:00.000Z",
        version: "v1",
        attachable: false,
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogStream","logs:CreateLogGroup","logs:DescribeLogGroups"],"Resource":"arn:aws:logs:*:*:log-group:airflow-*:*"},{"Effect":"Allow","Action":["ec2:AttachNetworkInterface","ec2:CreateNetworkInterface","ec2:CreateNetworkInterfacePermission","ec2:DeleteNetworkInterface","ec2:DeleteNetworkInterfacePermission","ec2:DescribeDhcpOptions","ec2:DescribeNetworkInterfaces","ec2:DescribeSecurityGroups","ec2:DescribeSubnets","ec2:DescribeVpcEndpoints","ec2:DescribeVpcs","ec2:DetachNetworkInterface"],"Resource":"*"},{"Effect":"Allow","Action":"ec2:CreateVpcEndpoint","Resource":"arn:aws:ec2:*:*:vpc-endpoint/*","Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":"AmazonMWAAManaged"}}},{"Effect":"Allow","Action":["ec2:ModifyVpcEndpoint","ec2:DeleteVpcEndpoints"],"Resource":"arn:aws:ec2:*:*:vpc-endpoint/*","Condition":{"Null":{"aws:ResourceTag/AmazonMWAAManaged":false}}},{"Effect":"Allow","Action":"ec2:CreateTags","Resource":"arn:aws:ec2:*:*:vpc-endpoint/*","Condition":{"StringEquals":{"ec2:CreateAction":"CreateVpcEndpoint"}}},{"Effect":"Allow","Action":"cloudwatch:PutMetricData","Resource":"*","Condition":{"StringEquals":{"cloudwatch:namespace":["AWS/MWAA"]}}}]}"#,
    },
    AwsPolicy {
        name: "AmazonMWAAWebServerAccess",
        path: "/",
        description: "Provides access to the Apache Airflow UI through the CreateWebLoginToken API.",
        create_date: "2020-11-24T00:00:00.000Z",
        update_date: "2020-11-24T00:00:00.000Z",
        version: "v1",
        attachable: true,
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"airflow:CreateWebLoginToken","Resource":["arn:aws:airflow:*:*:role/*/Viewer","arn:aws:airflow:*:*:role/*/User","arn:aws:airflow:*:*:role/*/Op"]}]}"#,
    },
    AwsPolicy {
        name: "AmazonS3FullAccess",
        path: "/",
        description: "Provides full access to all buckets via the AWS Management Console.",
        create_date: "2015-02-06T18:40:58.000Z",
        update_date: "2021-09-27T20:16:37.000Z",
        version: "v2",
        attachable: true,
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","s3-object-lambda:*"],"Resource":"*"}]}"#,
    },
    AwsPolicy {
        name: "AmazonS3ReadOnlyAccess",
        path: "/",
        description: "Provides read only access to all buckets via the AWS Management Console.",
        create_date: "2015-02-06T18:40:59.000Z",
        update_date: "2023-08-10T21:31:39.000Z",
        version: "v3",
        attachable: true,
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*","s3:Describe*","s3-object-lambda:Get*","s3-object-lambda:List*"],"Resource":"*"}]}"#,
    },
    AwsPolicy {
        name: "AmazonVPCFullAccess",
        path: "/",
        description: "Provides full access to Amazon VPC via the AWS Management Console.",
        create_date: "2015-02-06T18:41:16.000Z",
        update_date: "2015-02-06T18:41:16.000Z",
        version: "v1",
        attachable: true,
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:*Vpc*","ec2:*Subnet*","ec2:*Gateway*","ec2:*Route*","ec2:*Address*","ec2:*SecurityGroup*","ec2:*NetworkAcl*","ec2:*DhcpOptions*","ec2:Describe*","ec2:CreateTags","ec2:DeleteTags"],"Resource":"*"}]}"#,
    },
    AwsPolicy {
        name: "AWSCertificateManagerFullAccess",
        path: "/",
        description: "Provides full access to AWS Certificate Manager (ACM).",
        create_date: "2016-01-21T17:02:36.000Z",
        update_date: "2016-01-21T17:02:36.000Z",
        version: "v1",
        attachable: true,
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["acm:*"],"Resource":"*"}]}"#,
    },
    AwsPolicy {
        name: "CloudWatchLogsFullAccess",
        path: "/",
        description: "Provides full access to CloudWatch Logs.",
        create_date: "2015-02-06T18:40:02.000Z",
        update_date: "2015-02-06T18:40:02.000Z",
        version: "v1",
        attachable: true,
        document: r#"{"Version":"2012-10-17","Statement":[{"Action":["logs:*"],"Effect":"Allow","Resource":"*"}]}"#,
    },
    AwsPolicy {
        name: "ElasticLoadBalancingFullAccess",
        path: "/",
        description: "Provides full access to Amazon ElasticLoadBalancing.",
        create_date: "2018-09-20T20:42:07.000Z",
        update_date: "2018-09-20T20:42:07.000Z",
        version: "v1",
        attachable: true,
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"elasticloadbalancing:*","Resource":"*"},{"Effect":"Allow","Action":["ec2:DescribeAccountAttributes","ec2:DescribeAddresses","ec2:DescribeInternetGateways","ec2:DescribeSecurityGroups","ec2:DescribeSubnets","ec2:DescribeVpcs","ec2:DescribeVpcClassicLink","ec2:DescribeInstances","ec2:DescribeNetworkInterfaces","ec2:DescribeClassicLinkInstances","ec2:DescribeRouteTables","cognito-idp:DescribeUserPoolClient"],"Resource":"*"}]}"#,
    },
    AwsPolicy {
        name: "IAMFullAccess",
        path: "/",
        description: "Provides full access to IAM via the AWS Management Console.",
        create_date: "2015-02-06T18:40:38.000Z",
        update_date: "2019-06-21T19:40:00.000Z",
        version: "v2",
        attachable: true,
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","organizations:DescribeAccount","organizations:DescribeOrganization","organizations:DescribeOrganizationalUnit","organizations:DescribePolicy","organizations:ListChildren","organizations:ListParents","organizations:ListPoliciesForTarget","organizations:ListRoots","organizations:ListPolicies","organizations:ListTargetsForPolicy"],"Resource":"*"}]}"#,
    },
    AwsPolicy {
        name: "PowerUserAccess",
        path: "/",
        description: "Provides full access to AWS services and resources, but does not allow management of Users and groups.",
        create_date: "2015-02-06T18:39:47.000Z",
        update_date: "2023-07-06T22:04:00.000Z",
        version: "v5",
        attachable: true,
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["iam:*","organizations:*","account:*"],"Resource":"*"},{"Effect":"Allow","Action":["iam:CreateServiceLinkedRole","iam:DeleteServiceLinkedRole","iam:ListRoles","organizations:DescribeOrganization","account:ListRegions","account:GetAccountInformation"],"Resource":"*"}]}"#,
    },
    AwsPolicy {
        name: "ReadOnlyAccess",
        path: "/",
        description: "Provides read-only access to AWS services and resources.",
        create_date: "2015-02-06T18:39:48.000Z",
        update_date: "2024-01-01T00:00:00.000Z",
        version: "v1",
        attachable: true,
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["acm:Describe*","acm:Get*","acm:List*","airflow:List*","airflow:Get*","ec2:Describe*","ec2:Get*","elasticloadbalancing:Describe*","iam:Get*","iam:List*","logs:Describe*","logs:Get*","s3:Get*","s3:List*","sts:GetCallerIdentity"],"Resource":"*"}]}"#,
    },
];
