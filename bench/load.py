#!/usr/bin/python3
"""Creates BUCKET on an S3 endpoint, uploads FILEs, prints one JSON line mapping each file
name to a SigV4-presigned GET URL (valid 2 h), so wrk's GETs are signature-checked.
usage: load.py ENDPOINT AK SK BUCKET FILE...
With VERSIONING=Enabled the bucket is versioned and each file is written VERSIONS (default 3)
times, so the URL reads the latest of several versions."""
import json
import os
import sys

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint, ak, sk, bucket, *files = sys.argv[1:]
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ak, aws_secret_access_key=sk,
                  region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
try:
    s3.create_bucket(Bucket=bucket)
except ClientError as e:
    if e.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
        raise
if os.environ.get("VERSIONING") == "Enabled":
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
repeats = int(os.environ.get("VERSIONS", "3")) if os.environ.get("VERSIONING") == "Enabled" else 1
urls = {}
cfg = TransferConfig(multipart_threshold=1 << 40)  # single PUTs: same layout on every target
for f in files:
    name = os.path.basename(f)
    for _ in range(repeats):
        s3.upload_file(f, bucket, name, Config=cfg)
    urls[name] = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": name},
                                           ExpiresIn=7200)
print(json.dumps(urls))
