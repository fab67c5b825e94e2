"""The realistic job through boto3's transfer manager: upload a directory tree, list it,
download it, delete it.

    tree.py upload SRC_DIR BUCKET PREFIX     -> {"uploaded": [key...]}
    tree.py list BUCKET PREFIX               -> {"objects": [{key, size, etag}...], "pages": n}
    tree.py download BUCKET PREFIX DST_DIR   -> {"downloaded": [path...]}
    tree.py delete BUCKET PREFIX             -> {"deleted": n, "errors": [...], "left": n}
    tree.py create-bucket BUCKET | delete-bucket BUCKET   -> {}

Uploads above 5 MiB go multipart in 5 MiB parts, 8 at a time; downloads above 5 MiB are
ranged GETs in parallel, as TransferConfig says.
"""
import os
import sys

from boto3.s3.transfer import TransferConfig

from common import client, emit

MiB = 1024 * 1024
TRANSFER = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=8)


def upload(s3, src, bucket, prefix):
    keys = []
    for root, _dirs, files in os.walk(src):
        for name in sorted(files):
            rel = os.path.relpath(os.path.join(root, name), src).replace(os.sep, "/")
            s3.upload_file(os.path.join(root, name), bucket, prefix + rel, Config=TRANSFER)
            keys.append(prefix + rel)
    return {"uploaded": keys}


def list_objects(s3, bucket, prefix):
    objects, pages = [], 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        pages += 1
        for obj in page.get("Contents", []):
            objects.append({"key": obj["Key"], "size": obj["Size"], "etag": obj["ETag"]})
    return {"objects": objects, "pages": pages}


def download(s3, bucket, prefix, dst):
    paths = []
    for obj in list_objects(s3, bucket, prefix)["objects"]:
        rel = obj["key"][len(prefix):]
        target = os.path.join(dst, *rel.split("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        s3.download_file(bucket, obj["key"], target, Config=TRANSFER)
        paths.append(rel)
    return {"downloaded": paths}


def delete(s3, bucket, prefix):
    keys = [o["key"] for o in list_objects(s3, bucket, prefix)["objects"]]
    deleted, errors = 0, []
    for i in range(0, len(keys), 1000):  # DeleteObjects takes at most 1,000 keys
        batch = [{"Key": k} for k in keys[i:i + 1000]]
        r = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch})
        deleted += len(r.get("Deleted", []))
        errors += r.get("Errors", [])
    return {"deleted": deleted, "errors": errors, "left": len(list_objects(s3, bucket, prefix)["objects"])}


def main(argv):
    s3 = client(max_pool_connections=16)
    command, args = argv[1], argv[2:]
    if command == "upload":
        return upload(s3, *args)
    if command == "list":
        return list_objects(s3, *args)
    if command == "download":
        return download(s3, *args)
    if command == "delete":
        return delete(s3, *args)
    if command == "create-bucket":
        s3.create_bucket(Bucket=args[0])
        return {}
    if command == "delete-bucket":
        s3.delete_bucket(Bucket=args[0])
        return {}
    raise SystemExit("unknown command " + command)


if __name__ == "__main__":
    emit(main(sys.argv))
