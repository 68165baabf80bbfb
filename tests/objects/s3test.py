"""What the paste-objects net tests' boto3 clients share (store_client.py,
clients_boto3.py, mpu_client.py): the command line, a path-style SigV4
client, checks that print ok/FAIL lines and are counted, and the end.

Each client is run as  CLIENT.py IP:PORT ACCESS_KEY SECRET MODE [ARGS...]
"""
import hashlib
import os
import sys

import boto3
import botocore
from botocore.config import Config

ADDR, ID, SECRET, MODE = sys.argv[1:5]
FAILS = []


def client(retries=1, timeout=60):
    """A boto3 S3 client of the server under test: SigV4 (Debian's boto3
    would presign with SigV2), path-style, few retries so that a refusal
    is seen as it is, bounded timeouts."""
    return boto3.client(
        's3', endpoint_url='http://' + ADDR, aws_access_key_id=ID,
        aws_secret_access_key=SECRET, region_name='us-east-1',
        config=Config(signature_version='s3v4', s3={'addressing_style': 'path'},
                      retries={'max_attempts': retries, 'mode': 'standard'},
                      connect_timeout=10, read_timeout=timeout))


def check(cond, what):
    print(('ok   ' if cond else 'FAIL ') + what, flush=True)
    if not cond:
        FAILS.append(what)


def code_of(fn, *a, **kw):
    """(S3 error code, HTTP status) of a call: (None, 200) when it worked."""
    try:
        fn(*a, **kw)
    except botocore.exceptions.ClientError as e:
        return e.response['Error'].get('Code'), e.response['ResponseMetadata']['HTTPStatusCode']
    return None, 200


def md5(b):
    return hashlib.md5(b).hexdigest()


def acked_read_back(s3, d, what):
    """After a kill -9 and restart: the objects whose upload got its 200
    (DIR/acked: "key md5" lines) read back from bucket 'crash' with their
    MD5. @return the acked pairs."""
    acked = [l.split() for l in open(os.path.join(d, 'acked'))]
    check(len(acked) > 0, '%d %s acknowledged before the kill' % (len(acked), what))
    bad = 0
    for key, m in acked:
        try:
            if md5(s3.get_object(Bucket='crash', Key=key)['Body'].read()) != m:
                bad += 1
        except Exception:
            bad += 1
    check(bad == 0, 'every acknowledged object reads back with its MD5 (%d bad)' % bad)
    return acked


def list_all(s3, bucket):
    """Every object ListObjectsV2 lists in @bucket, page by page."""
    return [o for pg in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket)
            for o in pg.get('Contents', [])]


def finish():
    """The count of failed checks on the last line; exit 1 if any."""
    print('%d failed' % len(FAILS))
    sys.exit(1 if FAILS else 0)
