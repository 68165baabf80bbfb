#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""paste-objects's XML against botocore's (the SDK's own S3 model).

Responses written by tests/objects/xml_check are read with botocore's
RestXML parser and the S3 service model, fields compared (keys with '&',
'<', quotes, spaces, '+', UTF-8; listings with and without encoding-type=url,
decoded the way botocore decodes them). Request bodies botocore serializes
(CompleteMultipartUpload, Delete) are read by the strict reader, and
broken copies of them refused with MalformedXML.

usage: test_xml_botocore.py XML_CHECK
Last line: "N passed, M failed".
"""
import subprocess
import sys
import urllib.parse

import botocore.session
from botocore.parsers import RestXMLParser
from botocore.serialize import create_serializer

KEYS = ["plain.txt", "a b", "a+b", "100%", "a&b<c>\"d'", "dir/sub/file", "ü ñ/ключ",
        "tab\tx", "cr\rx", "nl\nx", "~tilde*(x)!", "dir/"]

model = botocore.session.get_session().get_service_model("s3")
parser = RestXMLParser()
passed = failed = 0


def check(name, got, want):
    global passed, failed
    if got == want:
        passed += 1
    else:
        failed += 1
        print("FAIL %s:\n  got  %r\n  want %r" % (name, got, want))


def parse(op, body):
    shape = model.operation_model(op).output_shape
    return parser.parse({"body": body.encode(), "headers": {}, "status_code": 200}, shape)


def render(target):
    text = "".join(k.encode().hex() + "\n" for k in KEYS)
    out = subprocess.run([sys.argv[1], "render", target], input=text.encode(),
                         capture_output=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError("xml_check render failed: %r" % out.stderr)
    return out.stdout.decode().split("\n--\n")[:-1]


def decode(v, url):
    return urllib.parse.unquote_plus(v) if url else v


for target, op, url in (("/bkt?list-type=2&delimiter=/&fetch-owner=true", "ListObjectsV2", False),
                        ("/bkt?list-type=2&encoding-type=url&prefix=a%20b", "ListObjectsV2", True),
                        ("/bkt?marker=m&delimiter=/", "ListObjects", False),
                        ("/bkt?marker=m%2Bx&delimiter=/&encoding-type=url", "ListObjects", True)):
    docs = render(target)
    p = parse(op, docs[0])
    check(target + " keys", [decode(c["Key"], url) for c in p.get("Contents", [])], KEYS[:-1])
    check(target + " prefixes", [decode(c["Prefix"], url) for c in p.get("CommonPrefixes", [])],
          KEYS[-1:])
    check(target + " sizes", [c["Size"] for c in p["Contents"]], [1000 * i for i in range(len(KEYS) - 1)])
    check(target + " etag", p["Contents"][0]["ETag"], '"5d41402abc4b2a76b9719d911017c592"')
    check(target + " mtime", int(p["Contents"][1]["LastModified"].timestamp()), 1369353601)
    check(target + " truncated", p["IsTruncated"], True)
    check(target + " name", p["Name"], "bkt")
    if op == "ListObjectsV2":
        check(target + " keycount", p["KeyCount"], len(KEYS))
        check(target + " token", p["NextContinuationToken"], KEYS[0])
        check(target + " owner", "Owner" in p["Contents"][0], "fetch-owner" in target)
    else:
        check(target + " marker", decode(p["Marker"], url), "m+x" if url else "m")
        check(target + " nextmarker", decode(p["NextMarker"], url), KEYS[0])
        check(target + " owner", p["Contents"][0]["Owner"]["ID"], "AKIAOWNER")
    if url:
        check(target + " encoding", p["EncodingType"], "url")

docs = render("/bkt")
p = parse("ListBuckets", docs[1])
check("buckets", [(b["Name"], int(b["CreationDate"].timestamp())) for b in p["Buckets"]],
      [("bkt", 1369353600), ("b.2-x", 1700000000)])
check("buckets owner", p["Owner"], {"ID": "AKIAOWNER", "DisplayName": "owner name"})
# Errors go through the same parser's error path.
err = parser.parse({"body": docs[2].encode(), "headers": {}, "status_code": 404},
                   model.operation_model("GetObject").output_shape)
check("error", (err["Error"]["Code"], err["Error"]["Message"]),
      ("NoSuchKey", "The specified key does not exist."))
p = parse("DeleteObjects", docs[3])
check("deleted", [d["Key"] for d in p["Deleted"]], KEYS[0::2])
check("delete errors", [(e["Key"], e["Code"]) for e in p["Errors"]],
      [(k, "AccessDenied") for k in KEYS[1::2]])
p = parse("CreateMultipartUpload", docs[4])
check("initiate", (p["Bucket"], p["Key"], p["UploadId"]), ("bkt", KEYS[0], "UP-1"))
p = parse("CompleteMultipartUpload", docs[5])
check("complete", (p["Location"], p["Bucket"], p["Key"], p["ETag"]),
      ("http://h/bkt/k", "bkt", KEYS[0], '"e-2"'))
p = parse("CopyObject", docs[6])
check("copy", (p["CopyObjectResult"]["ETag"], int(p["CopyObjectResult"]["LastModified"].timestamp())),
      ('"e"', 1369353600))
p = parse("ListParts", docs[7])
check("parts", [(x["PartNumber"], x["ETag"], x["Size"]) for x in p["Parts"]],
      [(1, '"p1"', 5242880), (2, '"p2"', 7)])
check("parts marker", (p["IsTruncated"], p["NextPartNumberMarker"], p["MaxParts"], p["UploadId"]),
      (True, 2, 2, "UP-1"))
p = parse("ListMultipartUploads", docs[8])
check("uploads", [u["Key"] for u in p["Uploads"]], KEYS)
check("uploads next", (p["NextKeyMarker"], p["NextUploadIdMarker"], p["IsTruncated"]),
      (KEYS[0], "UP-1", True))

# Request bodies as botocore serializes them.
ser = create_serializer("rest-xml")


def body(op, params):
    return ser.serialize_to_request(params, model.operation_model(op))["body"]


def read(mode, data):
    out = subprocess.run([sys.argv[1], mode], input=data, capture_output=True, timeout=60)
    return out.stdout.decode().split("\n")[:-1]


parts = [{"PartNumber": i, "ETag": '"%032x"' % i} for i in range(1, 6)]
b = body("CompleteMultipartUpload", {"Bucket": "bkt", "Key": "k", "UploadId": "u",
                                      "MultipartUpload": {"Parts": parts}})
check("complete body", read("complete", b), ["%d \"%032x\"" % (i, i) for i in range(1, 6)])
b = body("DeleteObjects", {"Bucket": "bkt", "Delete": {"Objects": [{"Key": k} for k in KEYS
                                                                    if "\r" not in k],
                                                        "Quiet": True}})
check("delete body", read("delete", b),
      ["quiet=1"] + [k.encode().hex() for k in KEYS if "\r" not in k])
for i in range(0, len(b), 7):
    check("delete body cut at %d" % i, read("delete", b[:i]), ["MalformedXML"])
for bad in (b.replace(b"</Delete>", b"</Delet>"), b.replace(b"<Key>", b"<Key><x>", 1),
            b"<!DOCTYPE d [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>" + b):
    check("delete body broken", read("delete", bad), ["MalformedXML"])

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
