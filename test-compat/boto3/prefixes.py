"""Keys and prefixes with characters URL encoding changes, listed as boto3 lists them.

    prefixes.py BUCKET
        puts `foo+1/a`, `quux ab/b` and `plain/c`, lists the bucket with a delimiter (boto3
        asks for encoding-type=url and decodes what comes back once), deletes them, and
        reports the common prefixes and keys it saw.
"""
import sys

from common import client, emit

KEYS = ["foo+1/a", "quux ab/b", "plain/c", "top+ab c"]


def main(bucket):
    s3 = client()
    for key in KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    listed = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    flat = s3.list_objects(Bucket=bucket)
    for key in KEYS:
        s3.delete_object(Bucket=bucket, Key=key)
    emit({
        "prefixes": [p["Prefix"] for p in listed.get("CommonPrefixes", [])],
        "keys": [c["Key"] for c in listed.get("Contents", [])],
        "v1Keys": [c["Key"] for c in flat.get("Contents", [])],
    })


if __name__ == "__main__":
    main(*sys.argv[1:])
