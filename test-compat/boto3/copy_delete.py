"""Copies (CopyObject, and the transfer manager's multipart copy) and DeleteObjects.

    copy_delete.py BUCKET   -> observations as JSON
"""
import hashlib
import os
import sys

from boto3.s3.transfer import TransferConfig

from common import client, emit, error_of

MiB = 1024 * 1024


def md5(b):
    return hashlib.md5(b).hexdigest()


def main(bucket):
    s3 = client(max_pool_connections=16)
    small = os.urandom(100_000)
    src = "copy/src dir/ori+ginal ü.bin"
    s3.put_object(Bucket=bucket, Key=src, Body=small, ContentType="application/x-rfs", Metadata={"color": "blue"})

    s3.copy_object(Bucket=bucket, Key="copy/same-meta", CopySource={"Bucket": bucket, "Key": src})
    same = s3.head_object(Bucket=bucket, Key="copy/same-meta")
    s3.copy_object(
        Bucket=bucket, Key="copy/new-meta", CopySource={"Bucket": bucket, "Key": src},
        MetadataDirective="REPLACE", ContentType="text/plain", Metadata={"shape": "round"},
    )
    replaced = s3.head_object(Bucket=bucket, Key="copy/new-meta")

    # Above the threshold, boto3's managed copy is CreateMultipartUpload + UploadPartCopy.
    big = os.urandom(12 * MiB + 5)
    s3.put_object(Bucket=bucket, Key="copy/big-src", Body=big)
    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=8)
    s3.copy({"Bucket": bucket, "Key": "copy/big-src"}, bucket, "copy/big-dst", Config=config)
    big_head = s3.head_object(Bucket=bucket, Key="copy/big-dst")
    big_got = s3.get_object(Bucket=bucket, Key="copy/big-dst")["Body"].read()

    missing = error_of(lambda: s3.copy_object(Bucket=bucket, Key="copy/x", CopySource={"Bucket": bucket, "Key": "copy/absent"}))

    keys = [src, "copy/same-meta", "copy/new-meta", "copy/big-src", "copy/big-dst", "copy/never-existed"]
    deleted = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys]})
    left = s3.list_objects_v2(Bucket=bucket, Prefix="copy/").get("KeyCount")
    return {
        "sameMeta": {"etag": same["ETag"], "contentType": same["ContentType"], "metadata": same["Metadata"]},
        "newMeta": {"etag": replaced["ETag"], "contentType": replaced["ContentType"], "metadata": replaced["Metadata"]},
        "srcEtag": '"%s"' % md5(small),
        "big": {"etag": big_head["ETag"], "length": big_head["ContentLength"], "same": md5(big_got) == md5(big)},
        "missingSource": missing,
        "deleteObjects": {
            "deleted": sorted(d["Key"] for d in deleted.get("Deleted", [])),
            "errors": deleted.get("Errors", []),
            "left": left,
        },
        "keys": sorted(keys),
    }


if __name__ == "__main__":
    emit(main(*sys.argv[1:]))
