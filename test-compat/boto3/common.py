"""Shared by the boto3 scripts the Jest suite runs: a client bound to the rfs under test
(endpoint, keys and nothing else from the environment the test sets), and JSON output.

Each script prints exactly one JSON document on stdout for the test to assert; an
unexpected exception exits non-zero with its traceback on stderr, which fails the test.
"""
import json
import os
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


def client(signature_version="s3v4", addressing_style="path", **config):
    """An S3 client as a user would configure one for rfs: path-style, SigV4 (or 's3': SigV2),
    us-east-1."""
    return boto3.client(
        "s3",
        endpoint_url=os.environ["RFS_ENDPOINT"],
        region_name="us-east-1",
        aws_access_key_id=os.environ["RFS_ACCESS_KEY"],
        aws_secret_access_key=os.environ["RFS_SECRET_KEY"],
        config=Config(
            s3={"addressing_style": addressing_style},
            signature_version=signature_version,
            # Retries would hide a failing request behind a later success.
            retries={"max_attempts": 1, "mode": "standard"},
            **config,
        ),
    )


def error_of(call):
    """Runs call(); returns {code, status} of the S3 error it raised (None if it succeeded)."""
    try:
        call()
    except ClientError as err:
        return {
            "code": err.response["Error"].get("Code"),
            "status": err.response["ResponseMetadata"].get("HTTPStatusCode"),
        }
    return None


def emit(result):
    json.dump(result, sys.stdout, default=str, ensure_ascii=False)
    sys.stdout.write("\n")
