"""Versioning basics: enable, versions of one key, delete markers, suspend, clean up.

    versioning.py BUCKET   -> observations as JSON
"""
import sys

from common import client, emit, error_of


def versions(s3, bucket, key):
    r = s3.list_object_versions(Bucket=bucket, Prefix=key)
    return {
        "versions": [{"id": v["VersionId"], "latest": v["IsLatest"], "size": v["Size"]} for v in r.get("Versions", [])],
        "markers": [{"id": m["VersionId"], "latest": m["IsLatest"]} for m in r.get("DeleteMarkers", [])],
    }


def body(s3, bucket, key, **kwargs):
    return s3.get_object(Bucket=bucket, Key=key, **kwargs)["Body"].read().decode()


def main(bucket):
    s3 = client()
    key = "v/doc.txt"
    out = {"initial": s3.get_bucket_versioning(Bucket=bucket).get("Status")}
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    out["enabled"] = s3.get_bucket_versioning(Bucket=bucket).get("Status")

    v1 = s3.put_object(Bucket=bucket, Key=key, Body=b"one").get("VersionId")
    v2 = s3.put_object(Bucket=bucket, Key=key, Body=b"two!").get("VersionId")
    out["ids"] = {"v1": v1, "v2": v2}
    out["current"] = body(s3, bucket, key)
    out["old"] = body(s3, bucket, key, VersionId=v1)
    out["headOldVersionId"] = s3.head_object(Bucket=bucket, Key=key, VersionId=v1).get("VersionId")

    marker = s3.delete_object(Bucket=bucket, Key=key)
    out["marker"] = {"deleteMarker": marker.get("DeleteMarker"), "id": marker.get("VersionId")}
    out["getAfterDelete"] = error_of(lambda: s3.get_object(Bucket=bucket, Key=key))
    out["getMarkerVersion"] = error_of(lambda: s3.get_object(Bucket=bucket, Key=key, VersionId=marker.get("VersionId")))
    out["listedAfterDelete"] = s3.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount")
    out["versionsAfterDelete"] = versions(s3, bucket, key)

    s3.delete_object(Bucket=bucket, Key=key, VersionId=marker["VersionId"])  # undelete
    out["afterUndelete"] = body(s3, bucket, key)

    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    out["suspended"] = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    s3.put_object(Bucket=bucket, Key=key, Body=b"three")
    out["versionsSuspended"] = versions(s3, bucket, key)

    for v in out["versionsSuspended"]["versions"]:
        s3.delete_object(Bucket=bucket, Key=key, VersionId=v["id"])
    out["versionsAtEnd"] = versions(s3, bucket, key)
    return out


if __name__ == "__main__":
    emit(main(*sys.argv[1:]))
