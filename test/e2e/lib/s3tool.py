#!/usr/bin/python3
"""s3tool.py: the test S3 through a real client (Debian's boto3), signed
as any AWS client signs, through the verifying front.

    s3tool.py mb BUCKET
    s3tool.py put BUCKET KEY FILE           upload a file (one PUT)
    s3tool.py put-dir BUCKET PREFIX DIR     upload every file under DIR
    s3tool.py put-many BUCKET PREFIX N      N small CSV objects, 2 rows each
    s3tool.py count BUCKET PREFIX           how many keys (paginated listing)
    s3tool.py etag BUCKET KEY
    s3tool.py get BUCKET KEY                the object's bytes on stdout
    s3tool.py multipart BUCKET KEY FILE     multipart upload (5 MiB parts), read back, compare;
                                            then one started and aborted; prints what it saw
    s3tool.py uploads BUCKET                in-progress multipart uploads (ListMultipartUploads)
    s3tool.py sums BUCKET PREFIX            every object under PREFIX: key (PREFIX removed), size,
                                            SHA-256 of the bytes read back, ETag

Environment: S3_ENDPOINT, S3_REGION, S3_KEY, S3_SECRET.
"""
import hashlib
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config


def client():
    return boto3.client('s3', endpoint_url=os.environ['S3_ENDPOINT'], region_name=os.environ['S3_REGION'],
                        aws_access_key_id=os.environ['S3_KEY'], aws_secret_access_key=os.environ['S3_SECRET'],
                        config=Config(s3={'addressing_style': 'path'}, retries={'max_attempts': 1}))


def main(argv):
    s3 = client()
    cmd = argv[0]
    if cmd == 'mb':
        s3.create_bucket(Bucket=argv[1])
    elif cmd == 'put':
        with open(argv[3], 'rb') as f:
            s3.put_object(Bucket=argv[1], Key=argv[2], Body=f.read())
    elif cmd == 'put-dir':
        bucket, prefix, top = argv[1], argv[2], argv[3]
        for d, _, names in os.walk(top):
            for name in sorted(names):
                path = os.path.join(d, name)
                with open(path, 'rb') as f:
                    s3.put_object(Bucket=bucket, Key=prefix + os.path.relpath(path, top), Body=f.read())
    elif cmd == 'put-many':
        bucket, prefix, n = argv[1], argv[2], int(argv[3])

        def put(i):
            body = f'id,amount\n{2 * i},{i}.50\n{2 * i + 1},{i}.25\n'.encode()
            s3.put_object(Bucket=bucket, Key=f'{prefix}part_{i:05d}.csv', Body=body)
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(put, range(n)))
    elif cmd == 'count':
        n = 0
        for page in s3.get_paginator('list_objects_v2').paginate(Bucket=argv[1], Prefix=argv[2]):
            n += len(page.get('Contents', []))
        print(n)
    elif cmd == 'etag':
        print(s3.head_object(Bucket=argv[1], Key=argv[2])['ETag'])
    elif cmd == 'get':
        sys.stdout.buffer.write(s3.get_object(Bucket=argv[1], Key=argv[2])['Body'].read())
    elif cmd == 'multipart':
        bucket, key, path = argv[1], argv[2], argv[3]
        with open(path, 'rb') as f:
            data = f.read()
        part = 5 * 1024 * 1024
        up = s3.create_multipart_upload(Bucket=bucket, Key=key)
        started = len(s3.list_multipart_uploads(Bucket=bucket).get('Uploads', []))
        parts = []
        for i in range(0, len(data), part):
            r = s3.upload_part(Bucket=bucket, Key=key, UploadId=up['UploadId'], PartNumber=i // part + 1,
                               Body=data[i:i + part])
            parts.append({'ETag': r['ETag'], 'PartNumber': i // part + 1})
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up['UploadId'],
                                     MultipartUpload={'Parts': parts})
        same = s3.get_object(Bucket=bucket, Key=key)['Body'].read() == data
        after_complete = len(s3.list_multipart_uploads(Bucket=bucket).get('Uploads', []))
        up2 = s3.create_multipart_upload(Bucket=bucket, Key=key + '.aborted')
        s3.upload_part(Bucket=bucket, Key=key + '.aborted', UploadId=up2['UploadId'], PartNumber=1, Body=b'x')
        in_progress = len(s3.list_multipart_uploads(Bucket=bucket).get('Uploads', []))
        s3.abort_multipart_upload(Bucket=bucket, Key=key + '.aborted', UploadId=up2['UploadId'])
        after_abort = len(s3.list_multipart_uploads(Bucket=bucket).get('Uploads', []))
        print(f'parts={len(parts)} started={started} same={same} after_complete={after_complete} '
              f'in_progress={in_progress} after_abort={after_abort}')
    elif cmd == 'uploads':
        for u in s3.list_multipart_uploads(Bucket=argv[1]).get('Uploads', []):
            print(u['Key'], u['UploadId'])
    elif cmd == 'sums':
        bucket, prefix = argv[1], argv[2]
        for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket, Prefix=prefix):
            for o in page.get('Contents', []):
                body = s3.get_object(Bucket=bucket, Key=o['Key'])['Body'].read()
                print(o['Key'][len(prefix):], len(body), hashlib.sha256(body).hexdigest(), o['ETag'])
    else:
        sys.exit(f's3tool.py: unknown command {cmd}')


if __name__ == '__main__':
    main(sys.argv[1:])
