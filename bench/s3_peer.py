#!/usr/bin/python3
"""s3_peer.py: boto3 (Debian's python3-boto3) doing the transfers
bench/s3.sh times indicina doing, straight to the test S3's s3rver.

    s3_peer.py get BUCKET PREFIX               read every object under PREFIX to the end
    s3_peer.py put BUCKET PREFIX DIR PART_SIZE upload every file under DIR: one PUT below
                                               PART_SIZE bytes, multipart with PART_SIZE parts above

One stream, no threads, as the backend has one connection.  Prints
"ms N" (wall time of the transfer alone) and "bytes N".
Environment: S3_ENDPOINT, S3_REGION, S3_KEY, S3_SECRET.
"""
import os
import sys
import time

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config


def client():
    return boto3.client('s3', endpoint_url=os.environ['S3_ENDPOINT'], region_name=os.environ['S3_REGION'],
                        aws_access_key_id=os.environ['S3_KEY'], aws_secret_access_key=os.environ['S3_SECRET'],
                        config=Config(s3={'addressing_style': 'path'}))


def get(s3, bucket, prefix):
    total = 0
    for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get('Contents', []):
            for chunk in s3.get_object(Bucket=bucket, Key=o['Key'])['Body'].iter_chunks(1 << 20):
                total += len(chunk)
    return total


def put(s3, bucket, prefix, top, part_size):
    config = TransferConfig(multipart_threshold=part_size, multipart_chunksize=part_size, use_threads=False)
    total = 0
    for d, _, names in os.walk(top):
        for name in sorted(names):
            path = os.path.join(d, name)
            s3.upload_file(path, bucket, prefix + os.path.relpath(path, top), Config=config)
            total += os.path.getsize(path)
    return total


def main(argv):
    s3 = client()
    start = time.monotonic()
    if argv[0] == 'get' and len(argv) == 3:
        total = get(s3, argv[1], argv[2])
    elif argv[0] == 'put' and len(argv) == 5:
        total = put(s3, argv[1], argv[2], argv[3], int(argv[4]))
    else:
        sys.exit(__doc__)
    print(f'ms {1000 * (time.monotonic() - start):.3f}')
    print(f'bytes {total}')


if __name__ == '__main__':
    main(sys.argv[1:])
