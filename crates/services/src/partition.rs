//! AWS's partitions: which one a region is in, and what that changes in names. Every ARN's
//! second field is its partition (`arn:aws:…`, `arn:aws-cn:…` in `cn-*` regions,
//! `arn:aws-us-gov:…` in `us-gov-*` regions, and the isolated partitions'), and the service
//! endpoints' DNS names end in the partition's suffix (`amazonaws.com`, `amazonaws.com.cn`, …).
//!
//! An account in Airlock is not tied to a partition: a request's names are in the partition of
//! the region it is signed for (its `Ctx::region`), and a parser of ARNs accepts all three.

/// Every partition: its name, the prefix of its regions' names, and its DNS suffix (as the
/// SDKs' `partitions.json` has them; the longest prefix decides, `aws` takes the rest).
const PARTITIONS: [(&str, &str, &str); 8] = [
    ("aws-cn", "cn-", "amazonaws.com.cn"),
    ("aws-us-gov", "us-gov-", "amazonaws.com"),
    ("aws-iso", "us-iso-", "c2s.ic.gov"),
    ("aws-iso-b", "us-isob-", "sc2s.sgov.gov"),
    ("aws-iso-e", "eu-isoe-", "cloud.adc-e.uk"),
    ("aws-iso-f", "us-isof-", "csp.hci.ic.gov"),
    ("aws-eusc", "eusc-", "amazonaws.eu"),
    ("aws", "", "amazonaws.com"),
];

fn find(region: &str) -> &'static (&'static str, &'static str, &'static str) {
    PARTITIONS
        .iter()
        .find(|(_, prefix, _)| region.starts_with(prefix))
        .expect("the last partition takes every region")
}

/// The partition `region` belongs to.
pub fn of(region: &str) -> &'static str {
    find(region).0
}

/// The DNS suffix of `region`'s service endpoints.
pub fn dns_suffix(region: &str) -> &'static str {
    find(region).2
}

/// `name` split before its partition DNS suffix, and the suffix:
/// `sts.cn-north-1.amazonaws.com.cn` → `("sts.cn-north-1", "amazonaws.com.cn")`.
pub fn split_dns(name: &str) -> Option<(&str, &'static str)> {
    PARTITIONS.iter().find_map(|(_, _, suffix)| {
        let head = name.strip_suffix(suffix)?.strip_suffix('.')?;
        Some((head, *suffix))
    })
}

/// `pattern` (a name ending in `amazonaws.com`, `{r}` standing for the region) as it is in
/// `region`: `sts.{r}.amazonaws.com` → `sts.cn-north-1.amazonaws.com.cn`.
pub fn regional_name(pattern: &str, region: &str) -> String {
    let name = pattern.replace("{r}", region);
    match name.strip_suffix("amazonaws.com") {
        Some(head) => format!("{head}{}", dns_suffix(region)),
        None => name,
    }
}

/// `arn:<partition>:<service>:<region>:<account>:<resource>`, the partition `region`'s.
pub fn arn(region: &str, service: &str, account: &str, resource: &str) -> String {
    format!("arn:{}:{service}:{region}:{account}:{resource}", of(region))
}

/// The ARN of a global service's resource (IAM, STS, S3: no region field), in the partition
/// of `region`, the region the request is signed for.
pub fn global_arn(region: &str, service: &str, account: &str, resource: &str) -> String {
    format!("arn:{}:{service}::{account}:{resource}", of(region))
}

/// What follows `arn:<partition>:<service>:` in `arn`, for any of the partitions; `None` if
/// `arn` is not an ARN of `service`.
pub fn strip<'a>(arn: &'a str, service: &str) -> Option<&'a str> {
    let rest = arn.strip_prefix("arn:")?;
    let (partition, rest) = rest.split_once(':')?;
    if !PARTITIONS.iter().any(|(name, _, _)| *name == partition) {
        return None;
    }
    rest.strip_prefix(service)?.strip_prefix(':')
}

/// `arn` with its partition replaced by `partition` (unchanged if it is not an ARN).
pub fn with(arn: &str, partition: &str) -> String {
    match arn.strip_prefix("arn:").and_then(|r| r.split_once(':')) {
        Some((_, rest)) => format!("arn:{partition}:{rest}"),
        None => arn.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_map_to_aws_partitions() {
        assert_eq!(of("cn-north-1"), "aws-cn");
        assert_eq!(of("cn-northwest-1"), "aws-cn");
        assert_eq!(of("us-gov-west-1"), "aws-us-gov");
        assert_eq!(of("us-west-2"), "aws");
        assert_eq!(of("ap-southeast-5"), "aws");
        assert_eq!(of("us-iso-east-1"), "aws-iso");
        assert_eq!(of("us-isob-east-1"), "aws-iso-b");
        assert_eq!(of("us-isof-south-1"), "aws-iso-f");
        assert_eq!(of("eu-isoe-west-1"), "aws-iso-e");
        assert_eq!(of("eusc-de-east-1"), "aws-eusc");
        assert_eq!(dns_suffix("eusc-de-east-1"), "amazonaws.eu");
        assert_eq!(dns_suffix("cn-north-1"), "amazonaws.com.cn");
        assert_eq!(dns_suffix("us-gov-east-1"), "amazonaws.com");
    }

    #[test]
    fn names_split_at_and_take_the_partitions_dns_suffix() {
        assert_eq!(
            split_dns("sts.cn-north-1.amazonaws.com.cn"),
            Some(("sts.cn-north-1", "amazonaws.com.cn"))
        );
        assert_eq!(
            split_dns("x.us-west-2.elb.amazonaws.com"),
            Some(("x.us-west-2.elb", "amazonaws.com"))
        );
        assert_eq!(split_dns("notamazonaws.com"), None);
        assert_eq!(split_dns("amazonaws.com.example"), None);
        assert_eq!(
            regional_name("*.s3.{r}.amazonaws.com", "cn-northwest-1"),
            "*.s3.cn-northwest-1.amazonaws.com.cn"
        );
        assert_eq!(
            regional_name("sts.{r}.amazonaws.com", "us-gov-west-1"),
            "sts.us-gov-west-1.amazonaws.com"
        );
    }

    #[test]
    fn arns_carry_the_partition() {
        assert_eq!(
            arn("cn-north-1", "ec2", "123456789012", "vpc/vpc-1"),
            "arn:aws-cn:ec2:cn-north-1:123456789012:vpc/vpc-1"
        );
        assert_eq!(
            global_arn("us-gov-west-1", "iam", "123456789012", "root"),
            "arn:aws-us-gov:iam::123456789012:root"
        );
        assert_eq!(
            global_arn("eu-west-1", "s3", "", "bucket/key"),
            "arn:aws:s3:::bucket/key"
        );
    }

    #[test]
    fn strip_accepts_every_partition_and_nothing_else() {
        for (p, _, _) in PARTITIONS {
            assert_eq!(
                strip(&format!("arn:{p}:iam::1:role/r"), "iam"),
                Some(":1:role/r")
            );
        }
        assert_eq!(strip("arn:aws-xx:iam::1:role/r", "iam"), None);
        assert_eq!(strip("arn:aws:iamx::1:role/r", "iam"), None);
        assert_eq!(strip("arn:aws:sts::1:role/r", "iam"), None);
        assert_eq!(strip("aws:iam::1", "iam"), None);
    }

    #[test]
    fn with_replaces_the_partition() {
        assert_eq!(
            with("arn:aws:iam::1:user/a", "aws-cn"),
            "arn:aws-cn:iam::1:user/a"
        );
        assert_eq!(with("not-an-arn", "aws-cn"), "not-an-arn");
    }
}
