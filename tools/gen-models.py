#!/usr/bin/env python3
"""Trim botocore's service models to the operations Airlock implements.

Writes crates/model/models/<service>.json: the model's metadata, the implemented operations and every
shape they reach, with documentation strings removed. The codecs in airlock-protocol interpret these
files, so the wire format Airlock speaks is AWS's own model, not a transcription of it.

Then runs tools/gen-dto.py, which generates the typed shapes (crates/dto) from these files.

Usage: tools/gen-models.py [--check]   (needs botocore, pinned in tools/requirements.txt)
"""
import gzip
import json
import os
import sys

import botocore

BOTOCORE_DATA = os.path.join(os.path.dirname(botocore.__file__), "data")
OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "model", "models")

SERVICES = {
    ("ec2", "2016-11-15"): [
        "DescribeRegions", "DescribeAvailabilityZones", "DescribeAccountAttributes",
        "CreateVpc", "DescribeVpcs", "DeleteVpc", "ModifyVpcAttribute", "DescribeVpcAttribute",
        "CreateSubnet", "DescribeSubnets", "DeleteSubnet", "ModifySubnetAttribute",
        "CreateSecurityGroup", "DescribeSecurityGroups", "DeleteSecurityGroup",
        "AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress",
        "RevokeSecurityGroupIngress", "RevokeSecurityGroupEgress", "DescribeSecurityGroupRules",
        "CreateRouteTable", "DescribeRouteTables", "DeleteRouteTable", "CreateRoute", "DeleteRoute",
        "ReplaceRoute", "AssociateRouteTable", "DisassociateRouteTable",
        "CreateInternetGateway", "DescribeInternetGateways", "DeleteInternetGateway",
        "AttachInternetGateway", "DetachInternetGateway",
        "AllocateAddress", "ReleaseAddress", "DescribeAddresses",
        "CreateNatGateway", "DescribeNatGateways", "DeleteNatGateway",
        "CreateNetworkInterface", "DescribeNetworkInterfaces", "DeleteNetworkInterface",
        "CreateKeyPair", "ImportKeyPair", "DescribeKeyPairs", "DeleteKeyPair",
        "RunInstances", "DescribeInstances", "TerminateInstances", "StopInstances",
        "StartInstances",
        "CreateVpcEndpoint", "DescribeVpcEndpoints", "ModifyVpcEndpoint", "DeleteVpcEndpoints",
        "DescribeVpcEndpointServices",
        "CreateTags", "DeleteTags", "DescribeTags",
        "CreateNetworkAcl", "DeleteNetworkAcl", "DescribeNetworkAcls", "CreateNetworkAclEntry",
        "DeleteNetworkAclEntry", "ReplaceNetworkAclEntry", "ReplaceNetworkAclAssociation",
        "CreateDhcpOptions", "DeleteDhcpOptions", "DescribeDhcpOptions", "AssociateDhcpOptions",
        "DescribeInstanceAttribute", "ModifyInstanceAttribute", "DescribeVolumes",
        "AssociateAddress", "DisassociateAddress", "ModifyNetworkInterfaceAttribute",
        "AssociateIamInstanceProfile", "DescribeIamInstanceProfileAssociations",
        "DisassociateIamInstanceProfile", "ReplaceIamInstanceProfileAssociation",
        "DescribeVpcClassicLink", "DescribeVpcClassicLinkDnsSupport", "DescribeImages",
        "ModifySecurityGroupRules", "UpdateSecurityGroupRuleDescriptionsIngress",
        "UpdateSecurityGroupRuleDescriptionsEgress",
        "DescribeAddressesAttribute", "ModifyAddressAttribute", "ResetAddressAttribute",
        "ReplaceRouteTableAssociation", "DescribePrefixLists", "DescribeManagedPrefixLists",
        "GetManagedPrefixListEntries", "CreateManagedPrefixList", "ModifyManagedPrefixList",
        "DeleteManagedPrefixList",
        "AssignPrivateIpAddresses", "UnassignPrivateIpAddresses", "AttachNetworkInterface",
        "DetachNetworkInterface", "DescribeNetworkInterfaceAttribute",
        "AssociateVpcCidrBlock", "DisassociateVpcCidrBlock", "AssociateSubnetCidrBlock",
        "DisassociateSubnetCidrBlock", "AssignIpv6Addresses", "UnassignIpv6Addresses",
        "CreateEgressOnlyInternetGateway", "DescribeEgressOnlyInternetGateways",
        "DeleteEgressOnlyInternetGateway", "DescribeInstanceTypes",
        "DescribeInstanceCreditSpecifications", "ModifyInstanceCreditSpecification",
        "MonitorInstances", "UnmonitorInstances", "ModifyInstanceMetadataOptions",
        "ModifyVpcTenancy",
        "CreateClientVpnEndpoint", "DescribeClientVpnEndpoints", "ModifyClientVpnEndpoint",
        "DeleteClientVpnEndpoint", "AssociateClientVpnTargetNetwork",
        "DisassociateClientVpnTargetNetwork", "DescribeClientVpnTargetNetworks",
        "AuthorizeClientVpnIngress", "RevokeClientVpnIngress",
        "DescribeClientVpnAuthorizationRules", "CreateClientVpnRoute", "DeleteClientVpnRoute",
        "DescribeClientVpnRoutes", "ApplySecurityGroupsToClientVpnTargetNetwork",
        "ExportClientVpnClientConfiguration", "DescribeClientVpnConnections",
        "TerminateClientVpnConnections",
    ],
    ("iam", "2010-05-08"): [
        "CreateRole", "GetRole", "ListRoles", "DeleteRole", "UpdateAssumeRolePolicy",
        "PutRolePolicy", "GetRolePolicy", "DeleteRolePolicy", "ListRolePolicies",
        "AttachRolePolicy", "DetachRolePolicy", "ListAttachedRolePolicies",
        "CreatePolicy", "GetPolicy", "GetPolicyVersion", "DeletePolicy", "ListPolicies",
        "CreateUser", "GetUser", "DeleteUser", "ListUsers",
        "CreateAccessKey", "DeleteAccessKey", "ListAccessKeys",
        "PutUserPolicy", "GetUserPolicy", "DeleteUserPolicy", "ListUserPolicies",
        "AttachUserPolicy", "DetachUserPolicy", "ListAttachedUserPolicies",
        "SimulatePrincipalPolicy", "SimulateCustomPolicy",
        "CreateGroup", "GetGroup", "ListGroups", "DeleteGroup", "AddUserToGroup",
        "RemoveUserFromGroup", "ListGroupsForUser", "PutGroupPolicy", "GetGroupPolicy",
        "DeleteGroupPolicy", "ListGroupPolicies", "AttachGroupPolicy", "DetachGroupPolicy",
        "ListAttachedGroupPolicies",
        "CreatePolicyVersion", "ListPolicyVersions", "DeletePolicyVersion",
        "SetDefaultPolicyVersion", "ListEntitiesForPolicy",
        "PutUserPermissionsBoundary", "DeleteUserPermissionsBoundary",
        "PutRolePermissionsBoundary", "DeleteRolePermissionsBoundary",
        "TagUser", "UntagUser", "ListUserTags", "TagRole", "UntagRole", "ListRoleTags",
        "CreateInstanceProfile", "GetInstanceProfile", "DeleteInstanceProfile",
        "ListInstanceProfiles", "ListInstanceProfilesForRole", "AddRoleToInstanceProfile",
        "RemoveRoleFromInstanceProfile", "TagInstanceProfile", "UntagInstanceProfile",
        "ListInstanceProfileTags", "UpdateRole", "UpdateRoleDescription", "TagPolicy",
        "UntagPolicy", "ListPolicyTags",
        "CreateOpenIDConnectProvider", "GetOpenIDConnectProvider", "ListOpenIDConnectProviders",
        "DeleteOpenIDConnectProvider", "AddClientIDToOpenIDConnectProvider",
        "RemoveClientIDFromOpenIDConnectProvider", "UpdateOpenIDConnectProviderThumbprint",
        "TagOpenIDConnectProvider", "UntagOpenIDConnectProvider",
        "ListOpenIDConnectProviderTags",
    ],
    ("sts", "2011-06-15"): [
        "GetCallerIdentity", "AssumeRole", "GetSessionToken", "GetAccessKeyInfo",
        "GetFederationToken", "AssumeRoleWithWebIdentity",
    ],
    ("acm", "2015-12-08"): [
        "ImportCertificate", "DescribeCertificate", "ListCertificates", "GetCertificate",
        "DeleteCertificate", "AddTagsToCertificate", "RemoveTagsFromCertificate",
        "ListTagsForCertificate", "RequestCertificate",
    ],
    ("elbv2", "2015-12-01"): [
        "CreateLoadBalancer", "DescribeLoadBalancers", "DeleteLoadBalancer", "SetSecurityGroups",
        "DescribeLoadBalancerAttributes", "ModifyLoadBalancerAttributes",
        "CreateTargetGroup", "DescribeTargetGroups", "ModifyTargetGroup", "DeleteTargetGroup",
        "DescribeTargetGroupAttributes", "ModifyTargetGroupAttributes",
        "RegisterTargets", "DeregisterTargets", "DescribeTargetHealth",
        "CreateListener", "DescribeListeners", "ModifyListener", "DeleteListener",
        "DescribeListenerCertificates", "AddListenerCertificates", "RemoveListenerCertificates",
        "CreateRule", "DescribeRules", "ModifyRule", "DeleteRule",
        "AddTags", "RemoveTags", "DescribeTags", "DescribeSSLPolicies",
        "DescribeListenerAttributes", "ModifyListenerAttributes",
        "SetSubnets", "SetIpAddressType", "SetRulePriorities", "DescribeAccountLimits",
    ],
    ("mwaa", "2020-07-01"): [
        "CreateEnvironment", "GetEnvironment", "ListEnvironments", "UpdateEnvironment",
        "DeleteEnvironment", "TagResource", "UntagResource", "ListTagsForResource",
        "CreateCliToken", "CreateWebLoginToken", "InvokeRestApi", "PublishMetrics",
    ],
    ("ssm", "2014-11-06"): [
        "PutParameter", "GetParameter", "GetParameters", "GetParametersByPath",
        "DeleteParameter", "DeleteParameters", "DescribeParameters",
        "AddTagsToResource", "RemoveTagsFromResource", "ListTagsForResource",
    ],
    ("cloudformation", "2010-05-15"): [
        "CreateStack", "UpdateStack", "DeleteStack", "DescribeStacks", "DescribeStackEvents",
        "DescribeStackResource", "DescribeStackResources", "ListStackResources", "ListStacks",
        "GetTemplate", "GetTemplateSummary", "ValidateTemplate", "CreateChangeSet",
        "DescribeChangeSet", "ExecuteChangeSet", "DeleteChangeSet", "ListChangeSets",
        "ListExports", "ListImports", "UpdateTerminationProtection",
    ],
    ("s3", "2006-03-01"): [
        "CreateBucket", "DeleteBucket", "HeadBucket", "ListBuckets", "GetBucketLocation",
        "PutObject", "GetObject", "HeadObject", "DeleteObject", "DeleteObjects", "CopyObject",
        "ListObjectsV2", "ListObjects", "ListObjectVersions",
        "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload",
        "AbortMultipartUpload", "ListParts", "ListMultipartUploads",
        "PutBucketVersioning", "GetBucketVersioning",
        "PutPublicAccessBlock", "GetPublicAccessBlock", "DeletePublicAccessBlock",
        "PutBucketTagging", "GetBucketTagging", "DeleteBucketTagging",
        "PutBucketPolicy", "GetBucketPolicy", "DeleteBucketPolicy",
        "GetBucketCors", "GetBucketWebsite", "GetBucketLifecycleConfiguration",
        "GetBucketReplication", "GetObjectLockConfiguration", "GetBucketAccelerateConfiguration",
        "GetBucketRequestPayment", "GetBucketLogging", "GetBucketEncryption",
        "GetBucketAcl", "GetBucketOwnershipControls", "PutBucketOwnershipControls",
        "DeleteBucketOwnershipControls",
    ],
}

# What botocore's JSON leaves out and rest-xml servers need: the root element of each XML
# output body (Smithy's `@xmlName` on the output structure, as in the S3 API Reference's
# "Response Syntax") and the service's XML namespace. Added to the committed model as the
# shape's `locationName` and the metadata's `xmlNamespace`.
XML_ROOTS = {
    "s3": {
        "ListBucketsOutput": "ListAllMyBucketsResult",
        "GetBucketLocationOutput": "LocationConstraint",
        "ListObjectsOutput": "ListBucketResult",
        "ListObjectsV2Output": "ListBucketResult",
        "ListObjectVersionsOutput": "ListVersionsResult",
        "DeleteObjectsOutput": "DeleteResult",
        "CreateMultipartUploadOutput": "InitiateMultipartUploadResult",
        "CompleteMultipartUploadOutput": "CompleteMultipartUploadResult",
        "ListPartsOutput": "ListPartsResult",
        "ListMultipartUploadsOutput": "ListMultipartUploadsResult",
        "GetBucketVersioningOutput": "VersioningConfiguration",
        "GetBucketTaggingOutput": "Tagging",
        "GetBucketCorsOutput": "CORSConfiguration",
        "GetBucketWebsiteOutput": "WebsiteConfiguration",
        "GetBucketLifecycleConfigurationOutput": "LifecycleConfiguration",
        "GetBucketAccelerateConfigurationOutput": "AccelerateConfiguration",
        "GetBucketRequestPaymentOutput": "RequestPaymentConfiguration",
        "GetBucketLoggingOutput": "BucketLoggingStatus",
        "GetBucketAclOutput": "AccessControlPolicy",
    },
}
XML_NAMESPACES = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}

DROP_KEYS = {"documentation", "documentationUrl", "examples", "deprecatedMessage"}


def strip(node):
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k not in DROP_KEYS}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def reach(shapes, name, seen):
    if name in seen:
        return
    seen.add(name)
    shape = shapes[name]
    for key in ("member", "key", "value"):
        if key in shape:
            reach(shapes, shape[key]["shape"], seen)
    for member in shape.get("members", {}).values():
        reach(shapes, member["shape"], seen)


def trim(service, version, ops):
    path = os.path.join(BOTOCORE_DATA, service, version, "service-2.json.gz")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        model = json.load(f)
    operations = {}
    seen = set()
    for op in ops:
        o = model["operations"][op]
        operations[op] = strip(o)
        for k in ("input", "output"):
            if k in o:
                reach(model["shapes"], o[k]["shape"], seen)
        for e in o.get("errors", []):
            reach(model["shapes"], e["shape"], seen)
    meta = strip(model["metadata"])
    meta["botocoreVersion"] = botocore.__version__
    if service in XML_NAMESPACES:
        meta["xmlNamespace"] = XML_NAMESPACES[service]
    shapes = {k: strip(model["shapes"][k]) for k in sorted(seen)}
    for shape, root in XML_ROOTS.get(service, {}).items():
        shapes[shape]["locationName"] = root
    return {
        "metadata": meta,
        "operations": operations,
        "shapes": shapes,
    }


def render(doc):
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    os.makedirs(OUT, exist_ok=True)
    for (service, version), ops in SERVICES.items():
        text = render(trim(service, version, ops))
        target = os.path.join(OUT, f"{service}.json")
        old = open(target, encoding="utf-8").read() if os.path.exists(target) else None
        if check:
            if old != text:
                stale.append(target)
        elif old != text:
            with open(target, "w", encoding="utf-8") as f:
                f.write(text)
            print(f"wrote {target}")
    if stale:
        print("generated models are stale; run tools/gen-models.py:", *stale, sep="\n  ")
        sys.exit(1)
    if not check:
        # The typed shapes follow the models.
        import subprocess
        subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "gen-dto.py")], check=True)


if __name__ == "__main__":
    main()
