#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Stock S3 clients against paste-objects on the testbed (test_objects.sh).

usage: objects_client.py HOST:PORT ACCESS_KEY SECRET
Each check prints PASS or FAIL; the last line is "N passed, M failed".
"""
import socket
import sys
import urllib.error
import urllib.request

import boto3
import botocore
import botocore.config
from botocore.exceptions import ClientError

HOSTPORT, KEY, SECRET = sys.argv[1:4]
URL = "http://" + HOSTPORT
passed = failed = 0


def check(what, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("PASS: %s" % what)
    else:
        failed += 1
        print("FAIL: %s %s" % (what, detail))


def client(key=KEY, secret=SECRET, unsigned=False, region="us-east-1"):
    cfg = botocore.config.Config(signature_version=botocore.UNSIGNED if unsigned else "s3v4",
                                 s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                                 connect_timeout=5, read_timeout=10)
    return boto3.client("s3", endpoint_url=URL, region_name=region, aws_access_key_id=key,
                        aws_secret_access_key=secret, config=cfg)


def error_of(fn, **kw):
    try:
        fn(**kw)
    except ClientError as e:
        return (e.response["Error"].get("Code"), e.response["ResponseMetadata"]["HTTPStatusCode"])
    return None


s3 = client()
r = s3.list_buckets()
check("ListBuckets signed: 200, no buckets", r["ResponseMetadata"]["HTTPStatusCode"] == 200
      and r["Buckets"] == [], r)
check("ListBuckets: the owner is the key", r["Owner"]["ID"] == KEY, r["Owner"])
check("ListBuckets: a request id", len(r["ResponseMetadata"]["RequestId"]) == 16)

e = error_of(client(secret=SECRET + "x").list_buckets)
check("wrong secret: SignatureDoesNotMatch 403", e == ("SignatureDoesNotMatch", 403), e)
e = error_of(client(key="AKIANOBODY00").list_buckets)
check("unknown key: InvalidAccessKeyId 403", e == ("InvalidAccessKeyId", 403), e)
e = error_of(client(unsigned=True).list_buckets)
check("anonymous: AccessDenied 403", e == ("AccessDenied", 403), e)
e = error_of(client(region="eu-west-1").list_buckets)
check("wrong region: AuthorizationHeaderMalformed 400", e == ("AuthorizationHeaderMalformed", 400), e)

# Not stored yet: answered NotImplemented after the body, on a connection
# that stays usable.
e = error_of(s3.put_object, Bucket="bkt", Key="a b+c/ü", Body=b"hello" * 1000)
check("PutObject: NotImplemented 501", e == ("NotImplemented", 501), e)
e = error_of(s3.get_object, Bucket="bkt", Key="k")
check("GetObject: NotImplemented 501", e == ("NotImplemented", 501), e)
e = error_of(s3.head_bucket, Bucket="bkt")
check("HeadBucket: 501 without a body", e == ("501", 501), e)
e = error_of(s3.get_bucket_acl, Bucket="bkt")
check("GetBucketAcl: NotImplemented 501", e == ("NotImplemented", 501), e)
check("ListBuckets after them", s3.list_buckets()["Buckets"] == [])

# Presigned URLs: fetched by urllib, no SDK on the wire.
url = s3.generate_presigned_url("list_buckets", ExpiresIn=60)
with urllib.request.urlopen(url, timeout=10) as resp:
    body = resp.read()
check("presigned ListBuckets: 200", resp.status == 200 and b"<ListAllMyBucketsResult" in body, body)
try:
    urllib.request.urlopen(url.replace("X-Amz-Expires=60", "X-Amz-Expires=61"), timeout=10)
    check("tampered presigned URL refused", False)
except urllib.error.HTTPError as err:
    body = err.read()
    check("tampered presigned URL: 403 SignatureDoesNotMatch",
          err.code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body, body)

# A head that is not HTTP: 400, then the connection closes.
host, port = HOSTPORT.split(":")
s = socket.create_connection((host, int(port)), timeout=10)
s.sendall(b"GARBAGE\r\n\r\n")
data = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
check("not HTTP: 400 and closed", data.startswith(b"HTTP/1.1 400 "), data)
# A head trickled a byte a segment, then a second request pipelined in the
# same segment as the end of the first: both read and answered in order.
s = socket.create_connection((host, int(port)), timeout=10)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
head = b"GET /bkt/k HTTP/1.1\r\nHost: h\r\n\r\n"
for i in range(len(head) - 1):
    s.sendall(head[i:i + 1])
s.sendall(head[-1:] + b"HEAD /bkt HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
data = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
check("a trickled head and a pipelined one: two 403s, in order",
      data.count(b"HTTP/1.1 403 ") == 2 and b"<Resource>/bkt/k</Resource>" in data
      and data.rindex(b"HTTP/1.1 403 ") > data.index(b"</Error>"), data)
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
