"""boto3 signing with Signature Version 2 (`Config(signature_version='s3')`, botocore's
HmacV1Auth), and UTF-8 user metadata under both signature versions.

    sigv2.py BUCKET objects   -> put/get/list/delete/multipart/ACL/tagging, SigV2-signed
    sigv2.py BUCKET presign   -> SigV2 presigned GET URLs (the test fetches them with curl)
    sigv2.py BUCKET post      -> a SigV2 presigned POST form (HmacV1PostAuth) through urllib
    sigv2.py BUCKET metadata  -> 'café' / '日本' metadata put and read back, SigV4 and SigV2
    sigv2.py BUCKET refused   -> the three SigV2 forms against RFS_SIGV2=off

(The aws cli installed here is v2, which has no SigV2 at all; aws cli v1 presigns with SigV2
through this same botocore signer, so boto3 stands for it.)
"""
import hashlib
import os
import sys

import boto3
from botocore.config import Config
from botocore.handlers import validate_ascii_metadata

from common import client, emit, error_of
from presign import fetch, multipart_form


def sha(b):
    return hashlib.sha256(b).hexdigest()


def objects(bucket):
    s3 = client("s3")
    data = os.urandom(300_000)
    key = "v2/a file+ü (1).bin"
    put = s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType="application/x-rfs", Metadata={"color": "blue"})
    got = s3.get_object(Bucket=bucket, Key=key)
    body = got["Body"].read()
    ranged = s3.get_object(Bucket=bucket, Key=key, Range="bytes=10-19")["Body"].read()
    # response-* overrides are signed sub-resources.
    override = s3.get_object(Bucket=bucket, Key=key, ResponseContentType="text/x-over ride", ResponseContentDisposition='attachment; filename="ü.bin"')
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="v2/")
    listed_v1 = s3.list_objects(Bucket=bucket, Prefix="v2/", Delimiter="/")
    buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    location = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint")

    # Sub-resources: ?acl, ?tagging, ?uploads, ?partNumber&uploadId, ?delete.
    acl = s3.get_object_acl(Bucket=bucket, Key=key)
    s3.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": [{"Key": "k", "Value": "v w"}]})
    tags = s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]

    part1, part2 = os.urandom(5 * 1024 * 1024), os.urandom(1234)
    mp_key = "v2/multi part.bin"
    upload = s3.create_multipart_upload(Bucket=bucket, Key=mp_key)["UploadId"]
    e1 = s3.upload_part(Bucket=bucket, Key=mp_key, UploadId=upload, PartNumber=1, Body=part1)["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key=mp_key, UploadId=upload, PartNumber=2, Body=part2)["ETag"]
    parts = s3.list_parts(Bucket=bucket, Key=mp_key, UploadId=upload)["Parts"]
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key=mp_key, UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]},
    )
    mp_body = s3.get_object(Bucket=bucket, Key=mp_key)["Body"].read()
    aborted = s3.create_multipart_upload(Bucket=bucket, Key="v2/aborted")["UploadId"]
    s3.abort_multipart_upload(Bucket=bucket, Key="v2/aborted", UploadId=aborted)

    # A session-less wrong secret is refused, with the string to sign in the answer.
    bad = boto3.client(
        "s3", endpoint_url=os.environ["RFS_ENDPOINT"], region_name="us-east-1",
        aws_access_key_id=os.environ["RFS_ACCESS_KEY"], aws_secret_access_key="not-the-secret",
        config=Config(s3={"addressing_style": "path"}, signature_version="s3", retries={"max_attempts": 1, "mode": "standard"}),
    )
    wrong_key = error_of(lambda: bad.get_object(Bucket=bucket, Key=key))

    s3.delete_object(Bucket=bucket, Key=key)
    deleted = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": mp_key}]})
    left = s3.list_objects_v2(Bucket=bucket, Prefix="v2/").get("KeyCount")
    return {
        "put": {"etag": put["ETag"]},
        "get": {"same": body == data, "contentType": got["ContentType"], "metadata": got["Metadata"], "etag": got["ETag"]},
        "ranged": ranged == data[10:20],
        "override": {"contentType": override["ContentType"], "disposition": as_sent(override["ContentDisposition"])},
        "listed": [o["Key"] for o in listed.get("Contents", [])],
        "listedV1": [o["Key"] for o in listed_v1.get("Contents", [])],
        "bucketListed": bucket in buckets,
        "location": location,
        "aclGrants": len(acl["Grants"]),
        "tags": tags,
        "multipart": {"parts": [p["PartNumber"] for p in parts], "etag": done["ETag"], "same": mp_body == part1 + part2},
        "wrongKey": wrong_key,
        "deleted": [d["Key"] for d in deleted.get("Deleted", [])],
        "left": left,
    }


def presign(bucket):
    """Puts an object (SigV2) and prints presigned SigV2 URLs for it: a plain GET, one with a
    response-* override, one already expired, and the object's digest."""
    s3 = client("s3")
    data = os.urandom(100_000)
    key = "presign/a file+ü.bin"
    s3.put_object(Bucket=bucket, Key=key, Body=data)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=300)
    disposition = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key, "ResponseContentDisposition": 'attachment; filename="x y.bin"'}, ExpiresIn=300,
    )
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "presign/put.bin"}, ExpiresIn=300)
    status, headers, got = fetch(url)
    return {
        "url": url,
        "dispositionUrl": disposition,
        "putUrl": put_url,
        "sha256": sha(data),
        "urllib": {"status": status, "same": got == data},
    }


def post(bucket):
    """boto3's generate_presigned_post with SigV2: AWSAccessKeyId, policy, signature fields."""
    s3 = client("s3")
    data = os.urandom(2048)
    conditions = [["content-length-range", 1, 4096], {"Content-Type": "text/x-rfs"}]
    form = s3.generate_presigned_post(bucket, "post/${filename}", Fields={"Content-Type": "text/x-rfs"}, Conditions=conditions, ExpiresIn=300)
    body, ctype = multipart_form(form["fields"], "v2 ü.txt", data)
    status, _, answer = fetch(form["url"], "POST", body, {"Content-Type": ctype})
    result = {"fields": sorted(form["fields"].keys()), "status": status}
    if status != 204:
        result["body"] = answer.decode("utf-8", "replace")
        return result
    got = s3.get_object(Bucket=bucket, Key="post/v2 ü.txt")
    result.update({"contentType": got["ContentType"], "same": got["Body"].read() == data})
    s3.delete_object(Bucket=bucket, Key="post/v2 ü.txt")
    return result


def as_sent(value):
    """The text of a header value boto3 read back: http.client decodes header bytes as latin-1."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def metadata(bucket):
    """botocore refuses non-ASCII metadata before sending (validate_ascii_metadata, after S3's
    old "must conform to US-ASCII" rule); with that check removed, as users do, it sends the
    values as UTF-8 bytes and signs those bytes."""
    out = {}
    for version in ("s3v4", "s3"):
        s3 = client(version)
        for op in ("PutObject", "CopyObject"):
            s3.meta.events.unregister("before-parameter-build.s3." + op, validate_ascii_metadata)
        key = "meta/" + version
        s3.put_object(Bucket=bucket, Key=key, Body=b"x", Metadata={"name": "café", "city": "日本", "plain": "ascii"})
        head = s3.head_object(Bucket=bucket, Key=key)["Metadata"]
        got = s3.get_object(Bucket=bucket, Key=key)["Metadata"]
        # CopyObject with REPLACE sends the metadata again, as headers on a signed request.
        s3.copy_object(Bucket=bucket, Key=key + "-copy", CopySource={"Bucket": bucket, "Key": key},
                       MetadataDirective="REPLACE", Metadata={"name": "naïve"})
        copied = s3.head_object(Bucket=bucket, Key=key + "-copy")["Metadata"]
        out[version] = {
            "head": {k: as_sent(v) for k, v in head.items()},
            "get": {k: as_sent(v) for k, v in got.items()},
            "copy": {k: as_sent(v) for k, v in copied.items()},
            "raw": head.get("name"),
        }
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key}, {"Key": key + "-copy"}]})
    return out


def refused(bucket):
    """Against a gateway with RFS_SIGV2=off: every SigV2 form is refused."""
    s3 = client("s3")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=300)
    status, _, body = fetch(url)
    form = s3.generate_presigned_post(bucket, "k", ExpiresIn=300)
    form_body, ctype = multipart_form(form["fields"], "k", b"data")
    post_status, _, post_answer = fetch(form["url"], "POST", form_body, {"Content-Type": ctype})
    return {
        "header": error_of(lambda: s3.list_objects_v2(Bucket=bucket)),
        "presigned": {"status": status, "body": body.decode("utf-8", "replace")},
        "post": {"status": post_status, "body": post_answer.decode("utf-8", "replace")},
        "v4": client("s3v4").list_objects_v2(Bucket=bucket).get("KeyCount"),
    }


def main(bucket, part):
    if part == "create-bucket":
        client("s3v4").create_bucket(Bucket=bucket)
        return {"created": bucket}
    if part == "delete-bucket":
        client("s3v4").delete_bucket(Bucket=bucket)
        return {"deleted": bucket}
    return {"objects": objects, "presign": presign, "post": post, "metadata": metadata, "refused": refused}[part](bucket)


if __name__ == "__main__":
    emit(main(*sys.argv[1:]))
