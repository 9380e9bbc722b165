#!/usr/bin/env bash
# S3 with the real AWS CLI: buckets, small and multipart copies up and down (byte for byte),
# listings with a delimiter and pages, ranges and conditional gets, copy and delete, bucket
# sub-resources, S3's error codes, virtual-hosted-style addressing, aws-chunked uploads (signed
# chunks and unsigned with a trailer, hand-made with botocore's signer) and objects surviving
# kill -9 under a data directory.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

start_server

# --- Buckets -----------------------------------------------------------------------------------
expect_ok "aws s3 mb" s3 mb s3://e2e-bucket
awsrun s3 ls
check_contains "aws s3 ls lists the bucket" "e2e-bucket" "$OUT"
expect_ok "head-bucket" s3api head-bucket --bucket e2e-bucket
R=$("$AWS" s3api get-bucket-location --bucket e2e-bucket --query LocationConstraint --output text) || true
check_eq "the CLI's region (us-west-2) is the bucket's location" "us-west-2" "$R"
expect_error "mb of a bucket this account owns" BucketAlreadyOwnedByYou s3api create-bucket --bucket e2e-bucket \
    --create-bucket-configuration LocationConstraint=us-west-2
# Another account: a 12-digit access key (secret `test`).
awsrun_other() { AWS_ACCESS_KEY_ID=111122223333 awsrun "$@"; }
awsrun_other s3api create-bucket --bucket e2e-bucket --create-bucket-configuration LocationConstraint=us-west-2
check_contains "another account creating the same name -> BucketAlreadyExists" "(BucketAlreadyExists)" "$ERR"
awsrun_other s3api head-bucket --bucket e2e-bucket
check_contains "another account's head-bucket -> 403" "(403)" "$ERR"
expect_error "an invalid bucket name" InvalidBucketName s3api create-bucket --bucket Bad_Name \
    --create-bucket-configuration LocationConstraint=us-west-2
expect_error "no location constraint outside us-east-1" IllegalLocationConstraintException s3api create-bucket --bucket e2e-other
expect_error "us-east-1 named as a constraint" InvalidLocationConstraint s3api create-bucket --bucket e2e-other \
    --region us-east-1 --create-bucket-configuration LocationConstraint=us-east-1
expect_ok "us-east-1 without a constraint" s3api create-bucket --bucket e2e-east --region us-east-1
R=$("$AWS" s3api get-bucket-location --bucket e2e-east --query LocationConstraint --output text) || true
check_eq "a us-east-1 bucket's location is empty (None)" "None" "$R"
expect_error "head of a missing bucket" 404 s3api head-bucket --bucket e2e-missing
expect_error "listing a missing bucket" NoSuchBucket s3api list-objects-v2 --bucket e2e-missing

# --- Objects: small and multipart, up and back down --------------------------------------------
printf 'hello, airlock\n' >"$WORKDIR/small.txt"
head -c 20000000 /dev/urandom >"$WORKDIR/big.bin"
expect_ok "aws s3 cp of a small file" s3 cp --only-show-errors "$WORKDIR/small.txt" s3://e2e-bucket/dir/small.txt \
    --metadata colour=blue --content-type text/plain
expect_ok "aws s3 cp of a 20 MB file (multipart)" s3 cp --only-show-errors "$WORKDIR/big.bin" s3://e2e-bucket/big.bin
expect_ok "aws s3 cp of the small file back" s3 cp --only-show-errors s3://e2e-bucket/dir/small.txt "$WORKDIR/small.back"
check "the small file comes back byte for byte" cmp "$WORKDIR/small.txt" "$WORKDIR/small.back"
expect_ok "aws s3 cp of the 20 MB file back" s3 cp --only-show-errors s3://e2e-bucket/big.bin "$WORKDIR/big.back"
check "the 20 MB file comes back byte for byte" cmp "$WORKDIR/big.bin" "$WORKDIR/big.back"

expect_ok "head-object" s3api head-object --bucket e2e-bucket --key dir/small.txt
MD5=$(md5sum "$WORKDIR/small.txt" | cut -d' ' -f1)
check_eq "a single-part ETag is the quoted MD5" "\"$MD5\"" "$(J "$OUT" 'd["ETag"]')"
check_eq "ContentLength" "15" "$(J "$OUT" 'd["ContentLength"]')"
check_eq "ContentType" "text/plain" "$(J "$OUT" 'd["ContentType"]')"
check_eq "x-amz-meta-* metadata" '{"colour":"blue"}' "$(J "$OUT" 'd["Metadata"]')"
awsrun s3api head-object --bucket e2e-bucket --key big.bin
check_match "a multipart ETag is \"<md5 of md5s>-3\"" '^"[0-9a-f]{32}-3"$' "$(J "$OUT" 'd["ETag"]')"
check_eq "its size" "20000000" "$(J "$OUT" 'd["ContentLength"]')"
# Another account sees nothing of the bucket's objects and changes none of them.
other_denied() { AWS_ACCESS_KEY_ID=111122223333 expect_error "another account's $1" AccessDenied s3api "$@"; }
other_denied get-object --bucket e2e-bucket --key dir/small.txt "$WORKDIR/stolen"
other_denied list-objects-v2 --bucket e2e-bucket
other_denied delete-object --bucket e2e-bucket --key dir/small.txt
other_denied delete-bucket --bucket e2e-bucket
other_denied get-bucket-policy --bucket e2e-bucket
other_denied put-bucket-policy --bucket e2e-bucket --policy '{"Version":"2012-10-17","Statement":[]}'
AWS_ACCESS_KEY_ID=111122223333 expect_error "another account's put-object" AccessDenied s3api put-object \
    --bucket e2e-bucket --key dir/small.txt --body "$WORKDIR/big.bin"
check_eq "another account's list-buckets does not name it" "0" \
    "$(AWS_ACCESS_KEY_ID=111122223333 q s3api list-buckets --query 'length(Buckets[?Name==`e2e-bucket`])')"
expect_ok "the owner's object is untouched" s3api head-object --bucket e2e-bucket --key dir/small.txt
check_eq "... its size" "15" "$(J "$OUT" 'd["ContentLength"]')"
expect_error "head of a missing key" 404 s3api head-object --bucket e2e-bucket --key nope
expect_error "get of a missing key" NoSuchKey s3api get-object --bucket e2e-bucket --key nope "$WORKDIR/x"

# Presigned GETs: the CLI v1 signs them with SigV2 by default, with SigV4 when configured.
URL=$("$AWS" s3 presign s3://e2e-bucket/dir/small.txt --expires-in 300) || true
run curl -s "$URL"
check_eq "a presigned GET URL (SigV2, the CLI's default) works with curl" "hello, airlock" "$OUT"
run curl -s "${URL/Signature=/Signature=AA}"
check_contains "... a tampered one -> SignatureDoesNotMatch" "<Code>SignatureDoesNotMatch</Code>" "$OUT"
printf '[default]\ns3 =\n    signature_version = s3v4\n' >"$WORKDIR/v4.cfg"
URL=$(AWS_CONFIG_FILE="$WORKDIR/v4.cfg" "$AWS" s3 presign s3://e2e-bucket/dir/small.txt --expires-in 300) || true
check_contains "s3.signature_version = s3v4 presigns with SigV4" "X-Amz-Signature=" "$URL"
run curl -s "$URL"
check_eq "a SigV4 presigned GET URL works with curl" "hello, airlock" "$OUT"
run curl -s -o /dev/null -w '%{http_code}' "${URL/X-Amz-Signature=/X-Amz-Signature=0}"
check_eq "... and a tampered one is refused (403)" 403 "$OUT"

# --- Listings ----------------------------------------------------------------------------------
for k in dir/a dir/b dir/sub/c other/d; do
    "$AWS" s3api put-object --bucket e2e-bucket --key "$k" --body "$WORKDIR/small.txt" >/dev/null
done
awsrun s3 ls s3://e2e-bucket/
check_contains "aws s3 ls shows a common prefix" "PRE dir/" "$OUT"
check_contains "... and the top-level object" "big.bin" "$OUT"
awsrun s3 ls s3://e2e-bucket --recursive
check_eq "aws s3 ls --recursive lists every key" 6 "$(grep -c . <<<"$OUT")"
R=$("$AWS" s3api list-objects-v2 --bucket e2e-bucket --delimiter / --query 'CommonPrefixes[].Prefix' --output text) || true
check_eq "list-objects-v2 --delimiter / -> CommonPrefixes" "dir/	other/" "$R"
R=$("$AWS" s3api list-objects-v2 --bucket e2e-bucket --prefix dir/ --delimiter / --query '[Contents[].Key, CommonPrefixes[].Prefix]' --output text) || true
check_eq "... under a prefix" "dir/a	dir/b	dir/small.txt
dir/sub/" "$R"
awsrun s3api list-objects-v2 --bucket e2e-bucket --max-keys 2 --no-paginate
check_eq "max-keys 2: two keys" 2 "$(J "$OUT" 'd["KeyCount"]')"
check_eq "... truncated" true "$(J "$OUT" 'd["IsTruncated"]')"
TOKEN=$(J "$OUT" 'd["NextContinuationToken"]')
R=$("$AWS" s3api list-objects-v2 --bucket e2e-bucket --max-keys 2 --no-paginate --continuation-token "$TOKEN" --query 'Contents[].Key' --output text) || true
check_eq "the continuation token gives the next page" "dir/b	dir/small.txt" "$R"
R=$("$AWS" s3api list-objects-v2 --bucket e2e-bucket --start-after dir/sub/c --query 'Contents[].Key' --output text) || true
check_eq "start-after" "other/d" "$R"
R=$("$AWS" s3api list-objects --bucket e2e-bucket --prefix other/ --query 'Contents[].Key' --output text) || true
check_eq "ListObjects (v1)" "other/d" "$R"

# --- Ranges and conditions ---------------------------------------------------------------------
awsrun s3api get-object --bucket e2e-bucket --key dir/small.txt --range bytes=7-13 "$WORKDIR/range"
check_eq "get-object --range bytes=7-13" "airlock" "$(cat "$WORKDIR/range")"
check_eq "... Content-Range" "bytes 7-13/15" "$(J "$OUT" 'd["ContentRange"]')"
awsrun s3api get-object --bucket e2e-bucket --key dir/small.txt --range bytes=-3 "$WORKDIR/range"
check_eq "a suffix range (the last 3 bytes)" "ck" "$(head -c 2 "$WORKDIR/range")"
expect_error "a range past the end" InvalidRange s3api get-object --bucket e2e-bucket --key dir/small.txt \
    --range bytes=100-200 "$WORKDIR/range"
expect_error "If-None-Match with the ETag" 304 s3api get-object --bucket e2e-bucket --key dir/small.txt \
    --if-none-match "\"$MD5\"" "$WORKDIR/x"
expect_error "If-Match with another ETag" PreconditionFailed s3api get-object --bucket e2e-bucket --key dir/small.txt \
    --if-match '"0123"' "$WORKDIR/x"
expect_ok "If-Match with the ETag" s3api get-object --bucket e2e-bucket --key dir/small.txt --if-match "\"$MD5\"" "$WORKDIR/x"
expect_error "If-Unmodified-Since long ago" PreconditionFailed s3api get-object --bucket e2e-bucket \
    --key dir/small.txt --if-unmodified-since 2001-01-01T00:00:00Z "$WORKDIR/x"
expect_error "If-Modified-Since in the future" 304 s3api head-object --bucket e2e-bucket \
    --key dir/small.txt --if-modified-since 2099-01-01T00:00:00Z

# --- Copy and delete ---------------------------------------------------------------------------
expect_ok "copy-object" s3api copy-object --bucket e2e-bucket --key copied.txt --copy-source e2e-bucket/dir/small.txt
check_eq "the copy keeps the ETag" "\"$MD5\"" "$(J "$OUT" 'd["CopyObjectResult"]["ETag"]')"
R=$("$AWS" s3api head-object --bucket e2e-bucket --key copied.txt --query Metadata.colour --output text) || true
check_eq "... and the metadata" "blue" "$R"
expect_error "copying an object onto itself unchanged" InvalidRequest s3api copy-object --bucket e2e-bucket \
    --key copied.txt --copy-source e2e-bucket/copied.txt
expect_ok "aws s3 rm" s3 rm --only-show-errors s3://e2e-bucket/copied.txt
expect_error "the removed key is gone" 404 s3api head-object --bucket e2e-bucket --key copied.txt
expect_ok "delete-objects" s3api delete-objects --bucket e2e-bucket --delete 'Objects=[{Key=dir/a},{Key=dir/b}]'
check_eq "... reports both" "dir/a dir/b" "$(J "$OUT" '" ".join(sorted(x["Key"] for x in d["Deleted"]))')"
expect_error "rb of a bucket with objects" BucketNotEmpty s3api delete-bucket --bucket e2e-bucket

# --- Bucket sub-resources (stored) ---------------------------------------------------------------
expect_ok "put-bucket-versioning" s3api put-bucket-versioning --bucket e2e-bucket --versioning-configuration Status=Enabled
check_eq "get-bucket-versioning" Enabled "$("$AWS" s3api get-bucket-versioning --bucket e2e-bucket --query Status --output text)"
expect_error "public access block before one is set" NoSuchPublicAccessBlockConfiguration s3api get-public-access-block --bucket e2e-bucket
expect_ok "put-public-access-block" s3api put-public-access-block --bucket e2e-bucket --public-access-block-configuration \
    BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true
check_eq "get-public-access-block" True "$("$AWS" s3api get-public-access-block --bucket e2e-bucket \
    --query PublicAccessBlockConfiguration.RestrictPublicBuckets --output text)"
expect_ok "put-bucket-tagging" s3api put-bucket-tagging --bucket e2e-bucket --tagging 'TagSet=[{Key=team,Value=data}]'
check_eq "get-bucket-tagging" "team	data" "$("$AWS" s3api get-bucket-tagging --bucket e2e-bucket --query 'TagSet[0].[Key,Value]' --output text)"
POLICY='{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::e2e-bucket/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}'
expect_ok "put-bucket-policy" s3api put-bucket-policy --bucket e2e-bucket --policy "$POLICY"
check_eq "get-bucket-policy gives it back" "$POLICY" "$("$AWS" s3api get-bucket-policy --bucket e2e-bucket --query Policy --output text)"
expect_error "a policy that is not JSON" MalformedPolicy s3api put-bucket-policy --bucket e2e-bucket --policy 'nope'
expect_error "an unimplemented sub-resource" NotImplemented s3api get-bucket-notification-configuration --bucket e2e-bucket

# --- Virtual-hosted style --------------------------------------------------------------------------
# `bucket.localhost` does not resolve here, so the CLI reaches Airlock as its HTTP proxy: the
# request line and Host header name `e2e-bucket.localhost:<port>`, as on a resolving machine.
printf '[default]\ns3 =\n    addressing_style = virtual\n' >"$WORKDIR/virtual.cfg"
vhost() {
    AWS_CONFIG_FILE="$WORKDIR/virtual.cfg" HTTP_PROXY="http://127.0.0.1:$PORT" NO_PROXY=127.0.0.1 no_proxy=127.0.0.1 \
        awsrun --endpoint-url "http://localhost:$PORT" "$@"
}
vhost s3 ls s3://e2e-bucket/dir/ --debug
check_contains "virtual-hosted: the CLI addresses e2e-bucket.localhost" "http://e2e-bucket.localhost:$PORT/" "$ERR"
check_contains "virtual-hosted: aws s3 ls lists the bucket" "small.txt" "$OUT"
vhost s3 cp "$WORKDIR/small.txt" s3://e2e-bucket/vhost.txt --only-show-errors
check_eq "virtual-hosted: aws s3 cp up" 0 "$RC"
vhost s3api get-object --bucket e2e-bucket --key vhost.txt "$WORKDIR/vhost.back"
check "virtual-hosted: get-object gives the bytes back" cmp "$WORKDIR/small.txt" "$WORKDIR/vhost.back"
vhost s3api head-object --bucket e2e-bucket --key nope
check_contains "virtual-hosted: head of a missing key -> 404" "(404)" "$ERR"

# --- aws-chunked uploads -----------------------------------------------------------------------
cat >"$WORKDIR/chunked.py" <<'EOF'
import hashlib, hmac, sys, urllib.request, zlib, base64
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

endpoint, mode, key = sys.argv[1], sys.argv[2], sys.argv[3]
bucket = sys.argv[4] if len(sys.argv) > 4 else "e2e-bucket"
data = bytes(range(256)) * 300  # 76800 bytes: two 64 KiB chunks
url = f"{endpoint}/{bucket}/{key}"
creds = Credentials("test", "test")
headers = {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data))}
if mode == "trailer":
    headers["X-Amz-Content-SHA256"] = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    headers["x-amz-trailer"] = "x-amz-checksum-crc32"
else:
    headers["X-Amz-Content-SHA256"] = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
req = AWSRequest(method="PUT", url=url, headers=headers)
SigV4Auth(creds, "s3", "us-west-2").add_auth(req)
chunks = [data[i:i + 65536] for i in range(0, len(data), 65536)] + [b""]
body = b""
if mode == "trailer":
    for c in chunks[:-1]:
        body += b"%x\r\n" % len(c) + c + b"\r\n"
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big"))
    body += b"0\r\nx-amz-checksum-crc32:" + crc + b"\r\n\r\n"
else:
    auth = req.headers["Authorization"]
    seed = auth.split("Signature=")[1]
    amz_date = req.headers["X-Amz-Date"]
    scope = f"{amz_date[:8]}/us-west-2/s3/aws4_request"
    k = ("AWS4test").encode()
    for part in (amz_date[:8], "us-west-2", "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    prev = seed
    for c in chunks:
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev,
                         hashlib.sha256(b"").hexdigest(), hashlib.sha256(c).hexdigest()])
        sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
        if mode == "tampered" and c:
            c = b"X" + c[1:]
        body += b"%x;chunk-signature=%s\r\n" % (len(c), sig.encode()) + c + b"\r\n"
        prev = sig
r = urllib.request.Request(url, data=body, method="PUT", headers=dict(req.headers.items()))
try:
    with urllib.request.urlopen(r) as resp:
        print(resp.status, hashlib.md5(data).hexdigest(), resp.headers.get("ETag"))
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode().replace("\n", " "))
EOF
R=$(NO_PROXY=127.0.0.1 "$PYTHON" "$WORKDIR/chunked.py" "http://127.0.0.1:$PORT" signed chunked-signed.bin 2>&1 | tail -n 1)
read -r STATUS WANT GOT <<<"$R"
check_eq "STREAMING-AWS4-HMAC-SHA256-PAYLOAD upload -> 200" 200 "$STATUS"
check_eq "... the stored object is the decoded data (ETag = its MD5)" "\"$WANT\"" "$GOT"
R=$(NO_PROXY=127.0.0.1 "$PYTHON" "$WORKDIR/chunked.py" "http://127.0.0.1:$PORT" tampered chunked-bad.bin 2>&1 | tail -n 1)
check_match "a chunk whose data does not match its signature -> 403 SignatureDoesNotMatch" '^403 .*<Code>SignatureDoesNotMatch</Code>' "$R"
expect_error "... and nothing is stored" 404 s3api head-object --bucket e2e-bucket --key chunked-bad.bin
R=$(NO_PROXY=127.0.0.1 "$PYTHON" "$WORKDIR/chunked.py" "http://127.0.0.1:$PORT" trailer chunked-trailer.bin 2>&1 | tail -n 1)
read -r STATUS WANT GOT <<<"$R"
check_eq "STREAMING-UNSIGNED-PAYLOAD-TRAILER upload -> 200" 200 "$STATUS"
check_eq "... the stored object is the decoded data" "\"$WANT\"" "$GOT"

# --- aws s3 sync ------------------------------------------------------------------------------
mkdir -p "$WORKDIR/tree/a/b" "$WORKDIR/tree2"
printf one >"$WORKDIR/tree/one.txt"; printf two >"$WORKDIR/tree/a/two.txt"; printf three >"$WORKDIR/tree/a/b/three.txt"
expect_ok "aws s3 sync up" s3 sync --only-show-errors "$WORKDIR/tree" s3://e2e-bucket/tree
expect_ok "aws s3 sync down" s3 sync --only-show-errors s3://e2e-bucket/tree "$WORKDIR/tree2"
check "the synced tree is identical" diff -r "$WORKDIR/tree" "$WORKDIR/tree2"
awsrun s3 sync s3://e2e-bucket/tree "$WORKDIR/tree2"
check_eq "a second sync copies nothing" "" "$OUT"

# --- Removing everything -----------------------------------------------------------------------
# The bucket is versioned (above): as on AWS, `rb --force` deletes the current objects, which
# leaves delete markers over their versions, and the bucket is not empty.
awsrun s3 rb --force s3://e2e-bucket
check_contains "aws s3 rb --force of a versioned bucket -> BucketNotEmpty" "(BucketNotEmpty)" "$ERR"
awsrun s3api list-object-versions --bucket e2e-bucket --query '{Objects: [Versions[].{Key: Key, VersionId: VersionId}, DeleteMarkers[].{Key: Key, VersionId: VersionId}][]}'
check_match "list-object-versions shows the versions and the markers" '"VersionId": "[A-Za-z0-9._]{32}"' "$OUT"
printf '%s' "$OUT" >"$WORKDIR/versions.json"
expect_ok "delete-objects of every version and marker" s3api delete-objects --bucket e2e-bucket --delete "file://$WORKDIR/versions.json"
expect_ok "then aws s3 rb" s3 rb s3://e2e-bucket
expect_error "the bucket is gone" 404 s3api head-bucket --bucket e2e-bucket
awsrun s3 ls
check_eq "aws s3 ls no longer lists it" "" "$(grep e2e-bucket <<<"$OUT" || true)"

# --- Durability: objects under a data directory survive kill -9 -------------------------------------
DATA=$WORKDIR/data
start_server --data-dir "$DATA"
expect_ok "persistent: mb" s3 mb s3://e2e-durable
expect_ok "persistent: cp of the 20 MB file" s3 cp --only-show-errors "$WORKDIR/big.bin" s3://e2e-durable/big.bin
expect_ok "persistent: cp of the small file" s3 cp --only-show-errors "$WORKDIR/small.txt" s3://e2e-durable/small.txt
# Spooled bodies (a data directory) go through the same aws-chunked decoding.
for mode in signed trailer; do
    R=$(NO_PROXY=127.0.0.1 "$PYTHON" "$WORKDIR/chunked.py" "http://127.0.0.1:$PORT" $mode "chunked-$mode.bin" e2e-durable 2>&1 | tail -n 1)
    read -r STATUS WANT GOT <<<"$R"
    check_eq "persistent: $mode aws-chunked upload stores the decoded data" "200 \"$WANT\"" "$STATUS $GOT"
done
R=$(NO_PROXY=127.0.0.1 "$PYTHON" "$WORKDIR/chunked.py" "http://127.0.0.1:$PORT" tampered chunked-bad.bin e2e-durable 2>&1 | tail -n 1)
check_match "persistent: a tampered chunk -> 403 SignatureDoesNotMatch" '^403 .*<Code>SignatureDoesNotMatch</Code>' "$R"
# What Terraform's aws_s3_bucket read asks on every refresh, answered as for a bucket with none
# of it configured (each "not configured" code is one the provider takes as empty).
for probe in "NoSuchCORSConfiguration get-bucket-cors" "NoSuchWebsiteConfiguration get-bucket-website" \
    "NoSuchLifecycleConfiguration get-bucket-lifecycle-configuration" \
    "ReplicationConfigurationNotFoundError get-bucket-replication" \
    "ObjectLockConfigurationNotFoundError get-object-lock-configuration"; do
    read -r code op <<<"$probe"
    expect_error "$op of a bucket without one" "$code" s3api "$op" --bucket e2e-durable
done
check_eq "get-bucket-encryption: the default SSE-S3" "AES256 false" \
    "$(q s3api get-bucket-encryption --bucket e2e-durable --query "ServerSideEncryptionConfiguration.Rules[0].join(' ', [ApplyServerSideEncryptionByDefault.SSEAlgorithm, to_string(BucketKeyEnabled)])")"
check_eq "get-bucket-request-payment: the owner pays" "BucketOwner" "$(q s3api get-bucket-request-payment --bucket e2e-durable --query Payer)"
# What Terraform's aws_s3_bucket and aws_s3_bucket_ownership_controls read and write: the ACL (the
# owner's full control; the grantee's type is an xsi:type attribute) and the ownership controls.
OWNER_ID=$(q s3api list-buckets --query Owner.ID)
check_eq "get-bucket-acl: the owner has full control" "$OWNER_ID $OWNER_ID CanonicalUser FULL_CONTROL" \
    "$(q s3api get-bucket-acl --bucket e2e-durable --query "join(' ', [Owner.ID, Grants[0].Grantee.ID, Grants[0].Grantee.Type, Grants[0].Permission])")"
check_eq "get-bucket-ownership-controls: ACLs disabled, as for every new bucket" "BucketOwnerEnforced" \
    "$(q s3api get-bucket-ownership-controls --bucket e2e-durable --query 'OwnershipControls.Rules[0].ObjectOwnership')"
q s3api put-bucket-ownership-controls --bucket e2e-durable --ownership-controls 'Rules=[{ObjectOwnership=BucketOwnerPreferred}]' >/dev/null
check_eq "put-bucket-ownership-controls sticks" "BucketOwnerPreferred" \
    "$(q s3api get-bucket-ownership-controls --bucket e2e-durable --query 'OwnershipControls.Rules[0].ObjectOwnership')"
expect_error "an ownership that does not exist" MalformedXML s3api put-bucket-ownership-controls --bucket e2e-durable \
    --ownership-controls 'Rules=[{ObjectOwnership=Everyone}]'
q s3api delete-bucket-ownership-controls --bucket e2e-durable >/dev/null
expect_error "deleted controls are not found" OwnershipControlsNotFoundError s3api get-bucket-ownership-controls --bucket e2e-durable
q s3api put-bucket-ownership-controls --bucket e2e-durable --ownership-controls 'Rules=[{ObjectOwnership=BucketOwnerEnforced}]' >/dev/null
expect_error "create-bucket with an unknown --object-ownership" InvalidArgument s3api create-bucket --region us-east-1 --bucket e2e-ownership --object-ownership Everyone
check_eq "get-bucket-accelerate-configuration and get-bucket-logging: nothing set" "null null" \
    "$(q s3api get-bucket-accelerate-configuration --bucket e2e-durable --query 'to_string(Status)') $(q s3api get-bucket-logging --bucket e2e-durable --query 'to_string(LoggingEnabled)')"
expect_error "get-bucket-cors of a bucket that does not exist" NoSuchBucket s3api get-bucket-cors --bucket e2e-no-such-bucket

stop_server "$SERVER_PID" KILL
start_server --data-dir "$DATA"
expect_ok "after kill -9: cp of the 20 MB file back" s3 cp --only-show-errors s3://e2e-durable/big.bin "$WORKDIR/big.back2"
check "... byte for byte" cmp "$WORKDIR/big.bin" "$WORKDIR/big.back2"
expect_ok "after kill -9: the small file" s3 cp --only-show-errors s3://e2e-durable/small.txt "$WORKDIR/small.back2"
check "... byte for byte" cmp "$WORKDIR/small.txt" "$WORKDIR/small.back2"
check_eq "no temporary files are left" "" "$(find "$DATA/s3/tmp" "$DATA/tmp" -type f 2>/dev/null)"

finish
