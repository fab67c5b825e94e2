"""Paginators over more than one default page of keys.

    listing.py BUCKET PREFIX N
        puts N tiny keys PREFIX d<i%10>/<i:05d> (16 threads), lists them through the
        list_objects_v2 and list_objects paginators at several page sizes and with a
        delimiter, deletes them with quiet delete_objects, and reports what it saw.
"""
import sys
from concurrent.futures import ThreadPoolExecutor

from common import client, emit


def key_of(prefix, i):
    return "%sd%d/%05d" % (prefix, i % 10, i)


def pages(s3, operation, **kwargs):
    """[[key...] per page] and the common prefixes, through boto3's paginator."""
    out, prefixes = [], []
    for page in s3.get_paginator(operation).paginate(**kwargs):
        out.append([c["Key"] for c in page.get("Contents", [])])
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    return out, prefixes


def main(bucket, prefix, n):
    n = int(n)
    s3 = client(max_pool_connections=16)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=bucket, Key=key_of(prefix, i), Body=b"%d" % i), range(n)))
    expected = sorted(key_of(prefix, i) for i in range(n))

    v2_default, _ = pages(s3, "list_objects_v2", Bucket=bucket, Prefix=prefix)
    v2_small, _ = pages(s3, "list_objects_v2", Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": 250})
    v1_pages, _ = pages(s3, "list_objects", Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": 400})
    capped = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": 100, "MaxItems": 300}
    ).build_full_result()
    resumed = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": 100, "StartingToken": capped["NextToken"]}
    ).build_full_result()
    delim_pages, common = pages(s3, "list_objects_v2", Bucket=bucket, Prefix=prefix, Delimiter="/")

    errors, reported = [], 0
    for i in range(0, n, 1000):
        batch = [{"Key": k} for k in expected[i:i + 1000]]
        r = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        reported += len(r.get("Deleted", []))  # quiet mode reports only errors
        errors += r.get("Errors", [])
    left, _ = pages(s3, "list_objects_v2", Bucket=bucket, Prefix=prefix)

    def summary(ps):
        flat = [k for p in ps for k in p]
        return {"pageSizes": [len(p) for p in ps], "inOrderAndComplete": flat == expected}

    return {
        "v2Default": summary(v2_default),
        "v2PageSize250": summary(v2_small),
        "v1PageSize400": summary(v1_pages),
        "capped": {"count": len(capped.get("Contents", [])), "hasNextToken": "NextToken" in capped},
        "resumedCompletesIt": [c["Key"] for c in capped["Contents"] + resumed["Contents"]] == expected,
        "delimiter": {"contents": sum(len(p) for p in delim_pages), "commonPrefixes": common},
        "quietDelete": {"reportedDeleted": reported, "errors": errors},
        "left": sum(len(p) for p in left),
    }


if __name__ == "__main__":
    emit(main(*sys.argv[1:]))
