#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""paste-objects's SigV4 verifier against botocore's signer.

boto3 (path style, s3v4) makes real S3 requests; each is caught just before
it would be sent, written out for tests/objects/sigv4_check (the C verifier)
and must be accepted. Then each is tampered with (the key, a query
parameter, a signed header, the clock, the secret) and must be refused with
S3's code; an unsigned header changed must not matter. Presigned URLs the
same. Keys hold spaces, '+', '%', '~', "//", "./", "../" and UTF-8, which S3
signs encoded once and never normalized.

usage: test_sigv4_botocore.py SIGV4_CHECK
Last line: "N passed, M failed".
"""
import calendar
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse

import boto3
import botocore.config

ID = "AKIAPASTEOBJECTS01"
SECRET = "pasteSecret/with+plus=andMore0123456789"
ENDPOINT = "http://198.18.0.1:9000"   # never reached: requests stop at before-send

KEYS = ["plain.txt", "a b", "a+b", "100%", "~tilde", "a//b", "./x/../y", "dir/sub/file",
        "ü ñ/ключ", "sp ace+plus%25&amp=eq?q#h", "tab\tand'quote\"", "*star(paren)!"]


class Caught(Exception):
    pass


def client(secret=SECRET):
    c = boto3.client("s3", endpoint_url=ENDPOINT, region_name="us-east-1",
                     aws_access_key_id=ID, aws_secret_access_key=secret,
                     config=botocore.config.Config(signature_version="s3v4",
                                                   s3={"addressing_style": "path"},
                                                   retries={"max_attempts": 1}))

    def stop(request, **kwargs):
        raise Caught(request)
    c.meta.events.register("before-send.s3.*", stop)
    return c


def capture(c, op, **params):
    try:
        getattr(c, op)(**params)
    except Caught as e:
        r = e.args[0]
        u = urllib.parse.urlsplit(r.url)
        target = u.path + ("?" + u.query if u.query else "")
        headers = [(k, v.decode() if isinstance(v, bytes) else v) for k, v in r.headers.items()]
        # The HTTP library adds Host when it sends; botocore signed it.
        if not any(k.lower() == "host" for k, _ in headers):
            headers.insert(0, ("Host", u.netloc))
        return [r.method, target, headers]
    raise RuntimeError(op + " was sent")


def operations(c):
    ops = [("list_buckets", {}), ("create_bucket", {"Bucket": "bkt"}),
           ("head_bucket", {"Bucket": "bkt"}), ("delete_bucket", {"Bucket": "bkt"}),
           ("list_objects_v2", {"Bucket": "bkt", "Prefix": "a b/ü", "Delimiter": "/",
                                "StartAfter": "x+y", "ContinuationToken": "tok=+/en", "MaxKeys": 7}),
           ("list_objects", {"Bucket": "bkt", "Marker": "m ü+", "Prefix": "%"}),
           ("list_multipart_uploads", {"Bucket": "bkt"}),
           ("delete_objects", {"Bucket": "bkt", "Delete": {"Objects": [{"Key": "a b"}, {"Key": "c"}]}})]
    for k in KEYS:
        ops += [("put_object", {"Bucket": "bkt", "Key": k, "Body": b"hello",
                                "ContentType": "text/plain", "Metadata": {"m1": "v 1"}}),
                ("get_object", {"Bucket": "bkt", "Key": k, "Range": "bytes=0-9"}),
                ("head_object", {"Bucket": "bkt", "Key": k, "IfNoneMatch": '"abc"'}),
                ("delete_object", {"Bucket": "bkt", "Key": k}),
                ("copy_object", {"Bucket": "bkt", "Key": k + "2",
                                 "CopySource": {"Bucket": "bkt", "Key": k}}),
                ("create_multipart_upload", {"Bucket": "bkt", "Key": k}),
                ("upload_part", {"Bucket": "bkt", "Key": k, "UploadId": "u+p/=id",
                                 "PartNumber": 3, "Body": b"x" * 100}),
                ("list_parts", {"Bucket": "bkt", "Key": k, "UploadId": "u+p/=id"})]
    return [capture(c, op, **p) for op, p in ops]


def presigned(c):
    out = []
    for k in KEYS:
        for op, exp in (("get_object", 3600), ("put_object", 604800)):
            url = c.generate_presigned_url(op, Params={"Bucket": "bkt", "Key": k}, ExpiresIn=exp)
            u = urllib.parse.urlsplit(url)
            out.append((["GET" if op == "get_object" else "PUT", u.path + "?" + u.query,
                         [("Host", u.netloc)]], exp))
    return out


def signed_at(req):
    """The request's own X-Amz-Date (header or query) in Unix seconds: the
    clock checks are relative to it, however long a loaded machine took to
    make the requests."""
    method, target, headers = req
    stamp = dict((k.lower(), v) for k, v in headers).get("x-amz-date")
    if stamp is None:
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(target).query)
        stamp = q["X-Amz-Date"][0]
    return calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%SZ"))


def render(now, req):
    method, target, headers = req
    return "%d %s %s\n%s\n" % (now, method, target, "".join("%s: %s\n" % h for h in headers))


def main():
    check = sys.argv[1]
    passed = failed = 0
    cases = []   # (name, now, request, expected code)
    now = int(time.time())
    good = operations(client())
    for i, r in enumerate(good):
        name = "%s %s" % (r[0], r[1][:60])
        cases.append((name, now, r, "OK"))
        # The key (path) changed.
        path, _, query = r[1].partition("?")
        t = [r[0], path + "x" + ("?" + query if query else ""), r[2]]
        cases.append((name + " [path]", now, t, "SignatureDoesNotMatch"))
        # A query parameter added.
        t = [r[0], r[1] + ("&" if query else "?") + "extra=1", r[2]]
        cases.append((name + " [query]", now, t, "SignatureDoesNotMatch"))
        # A signed header changed (host), an unsigned one changed.
        t = [r[0], r[1], [(k, v + "x" if k.lower() == "host" else v) for k, v in r[2]]]
        cases.append((name + " [host]", now, t, "SignatureDoesNotMatch"))
        t = [r[0], r[1], [(k, v + "x" if k.lower() == "user-agent" else v) for k, v in r[2]]]
        cases.append((name + " [user-agent]", now, t, "OK"))
        # The method.
        t = ["POST" if r[0] != "POST" else "PUT", r[1], r[2]]
        cases.append((name + " [method]", now, t, "SignatureDoesNotMatch"))
        # The clock 16 minutes off either way.
        t = signed_at(r)
        cases.append((name + " [late]", t + 960, r, "RequestTimeTooSkewed"))
        cases.append((name + " [early]", t - 960, r, "RequestTimeTooSkewed"))
    for r in operations(client(SECRET + "x"))[:6]:
        cases.append(("wrong secret %s %s" % (r[0], r[1][:40]), now, r, "SignatureDoesNotMatch"))
    for r, exp in presigned(client()):
        name = "presigned %s %s" % (r[0], r[1][:40])
        cases.append((name, now, r, "OK"))
        cases.append((name + " [expired]", signed_at(r) + exp + 1, r, "AccessDenied"))
        cases.append((name + " [last second]", signed_at(r) + exp, r, "OK"))
        cases.append((name + " [method]", now, ["DELETE", r[1], r[2]], "SignatureDoesNotMatch"))
        path, _, query = r[1].partition("?")
        cases.append((name + " [path]", now, [r[0], path + "x?" + query, r[2]], "SignatureDoesNotMatch"))

    with tempfile.NamedTemporaryFile("w", suffix=".keys", delete=False) as f:
        f.write("%s:%s\n" % (ID, SECRET))
        keys = f.name
    try:
        text = "".join(render(now_, r) for _, now_, r, _ in cases)
        out = subprocess.run([check, keys], input=text.encode(), capture_output=True,
                             timeout=120).stdout.decode().split("\n")
    finally:
        os.unlink(keys)
    for (name, _, r, want), got in zip(cases, out):
        if got == want:
            passed += 1
        else:
            failed += 1
            print("FAIL %s: want %s, got %s\n  %s" % (name, want, got, render(0, r).replace("\n", "\n  ")))
    if len(out) - 1 != len(cases):
        failed += 1
        print("FAIL: %d answers for %d requests" % (len(out) - 1, len(cases)))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
