"""Presigned URLs and presigned POST from boto3, used with plain urllib (no SDK signing).

    presign.py BUCKET   -> observations as JSON
"""
import hashlib
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from xml.etree import ElementTree

from common import client, emit


def fetch(url, method="GET", data=None, headers=None):
    """(status, headers, body) of a plain HTTP request; HTTP errors are answers, not raises."""
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as res:
            return res.status, res.headers, res.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def error_code(body):
    text = body.decode("utf-8", "replace")
    start = text.find("<Code>")
    return text[start + 6:text.find("</Code>")] if start >= 0 else None


def multipart_form(fields, file_name, content):
    """A multipart/form-data body as a browser sends it: fields first, the file last."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (boundary, name, value)).encode())
    parts.append(
        ('--%s\r\nContent-Disposition: form-data; name="file"; filename="%s"\r\n'
         "Content-Type: application/octet-stream\r\n\r\n" % (boundary, file_name)).encode("utf-8")
    )
    parts.append(content + ("\r\n--%s--\r\n" % boundary).encode())
    return b"".join(parts), "multipart/form-data; boundary=" + boundary


def sha(b):
    return hashlib.sha256(b).hexdigest()


def presigned_urls(s3, bucket):
    data = os.urandom(1024 * 1024 + 3)
    key = "presign/a file+ü.bin"
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=300)
    put_status, _, _ = fetch(put_url, "PUT", data)
    get_url = s3.generate_presigned_url(
        "get_object",
        Params={"Bucket": bucket, "Key": key, "ResponseContentDisposition": 'attachment; filename="x.bin"'},
        ExpiresIn=300,
    )
    get_status, get_headers, got = fetch(get_url)
    other_key = get_url.replace("a%20file", "b%20file", 1)  # signature now covers the wrong path
    tampered_status, _, tampered_body = fetch(other_key)
    short_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=1)
    time.sleep(2)
    expired_status, _, expired_body = fetch(short_url)
    return {
        "put": put_status,
        "get": {"status": get_status, "same": sha(got) == sha(data), "disposition": get_headers.get("Content-Disposition")},
        "tampered": {"status": tampered_status, "code": error_code(tampered_body)},
        "expired": {"status": expired_status, "code": error_code(expired_body), "body": expired_body.decode("utf-8", "replace")},
    }


def presigned_post(s3, bucket):
    data = os.urandom(2048)
    conditions = [["content-length-range", 1, 4096], {"Content-Type": "text/x-rfs"}]
    post = s3.generate_presigned_post(
        bucket, "post/${filename}", Fields={"Content-Type": "text/x-rfs"}, Conditions=conditions, ExpiresIn=300
    )
    body, ctype = multipart_form(post["fields"], "up load+ü.txt", data)
    status, _, answer = fetch(post["url"], "POST", body, {"Content-Type": ctype})
    if status != 204:
        return {"status": status, "body": answer.decode("utf-8", "replace")}
    head = s3.head_object(Bucket=bucket, Key="post/up load+ü.txt")
    got = s3.get_object(Bucket=bucket, Key="post/up load+ü.txt")["Body"].read()

    # success_action_status 201 answers XML naming the object; it must be in the policy.
    post201 = s3.generate_presigned_post(
        bucket, "post/created.bin", Fields={"success_action_status": "201"},
        Conditions=[{"success_action_status": "201"}], ExpiresIn=300,
    )
    body, ctype = multipart_form(post201["fields"], "created.bin", data)
    status201, _, xml = fetch(post201["url"], "POST", body, {"Content-Type": ctype})
    created = {child.tag: child.text for child in ElementTree.fromstring(xml)} if status201 == 201 else xml.decode()

    # Too big for the policy's content-length-range: refused, nothing stored.
    body, ctype = multipart_form(post["fields"], "big.bin", os.urandom(5000))
    big_status, _, big_body = fetch(post["url"], "POST", body, {"Content-Type": ctype})
    big_listed = s3.list_objects_v2(Bucket=bucket, Prefix="post/big.bin").get("KeyCount")
    return {
        "status": status,
        "contentType": head["ContentType"],
        "same": sha(got) == sha(data),
        "created": {"status": status201, "response": created},
        "tooBig": {"status": big_status, "code": error_code(big_body), "listed": big_listed},
    }


def main(bucket, part):
    s3 = client()
    return presigned_urls(s3, bucket) if part == "urls" else presigned_post(s3, bucket)


if __name__ == "__main__":
    emit(main(*sys.argv[1:]))
