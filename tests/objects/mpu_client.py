#!/usr/bin/python3
"""paste-objects's multipart uploads, checked with boto3 (path style,
s3v4). Usage: mpu_client.py HOST:PORT ID SECRET MODE [ARGS]

MODE basic: CreateMultipartUpload with a content type and metadata,
UploadPart (ETag = MD5), a part uploaded again, ListParts (paginated),
ListMultipartUploads, completions refused (InvalidPartOrder, InvalidPart
for a missing part or a wrong ETag, EntityTooSmall, MalformedXML,
NoSuchUpload), a completion (ETag = MD5 of the MD5s + "-N", bytes, type
and metadata back, a range across parts), an overwrite, AbortMultipartUpload.
MODE listing: ListMultipartUploads with a delimiter (CommonPrefixes, a
prefix's own level), and paged by max-uploads with key-marker and
upload-id-marker (two uploads of one key split across pages), each upload
and common prefix listed once, in order.
MODE partcopy: UploadPartCopy: a part from a range of an object
(x-amz-copy-source-range), a part from a whole object, a plain part, the
completion read back whole; the source deleted, the object still whole;
a range across two parts of a multipart source; a range past the source
(InvalidArgument), a missing source (NoSuchKey).
MODE pending DIR: an upload left with two parts (ids and MD5s in DIR/pending).
MODE pending_check DIR: after a kill -9 and restart, ListParts and
ListMultipartUploads list that upload; a third part and the completion make
an object that reads back with its MD5.
MODE quota DIR: with --mpu-max-uploads 3 --mpu-max-bytes 12000000: a
fourth upload and a part past the bytes are refused (ids in DIR/quota.ids).
MODE expired DIR: after a restart with --mpu-expiry 1, those uploads are
gone, and a new one expires while the server runs.
MODE room: after that, two parts of 5 MiB fit the bytes quota again.
MODE arriving: with --mpu-max-bytes 12000000, parts still arriving count
toward the quota: a part of 6 MB while one of 7 MB arrives is refused
(EntityTooLarge); the arriving part's reservation comes back when its
connection is cut, and when it completes (counted once, as stored bytes).
MODE upload DIR N: N threads of 11 MB multipart uploads (5 MiB parts) until
the server dies; the keys and MD5s that got their 200 in DIR/acked.
MODE etag BUCKET KEY: print the object's ETag.
MODE verify DIR: every acked object reads back with its MD5; every listed
object is whole (its parts' MD5s make its ETag).
"""
import hashlib
import os
import sys
import threading
import time

import boto3
import botocore
import botocore.auth
import botocore.awsrequest
import botocore.credentials
from botocore.config import Config

from s3test import ADDR, ID, SECRET, MODE, acked_read_back, list_all, client, check, code_of, md5, finish

HOST, PORT = ADDR.split(':')
MIB = 1 << 20


def mp_etag(parts):
    return '"%s-%d"' % (hashlib.md5(b''.join(hashlib.md5(p).digest() for p in parts)).hexdigest(),
                        len(parts))


def raw(method, path, body, headers=None):
    """A signed request sent as is: (status, reply body)."""
    import http.client
    req = botocore.awsrequest.AWSRequest(method=method, url='http://%s%s' % (ADDR, path),
                                         data=body, headers=dict(headers or {}))
    req.headers['x-amz-content-sha256'] = hashlib.sha256(body).hexdigest()
    botocore.auth.S3SigV4Auth(botocore.credentials.Credentials(ID, SECRET), 's3',
                              'us-east-1').add_auth(req)
    c = http.client.HTTPConnection(HOST, int(PORT), timeout=30)
    c.request(method, path, body=body, headers=dict(req.headers.items()))
    r = c.getresponse()
    out = r.status, r.read()
    c.close()
    return out


def put_part(s3, key, uid, n, data, bucket='mpu-test'):
    r = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=n, Body=data)
    return r['ETag']


def basic():
    s3 = client()
    s3.create_bucket(Bucket='mpu-test')
    r = s3.create_multipart_upload(Bucket='mpu-test', Key='dir/big file+é', ContentType='text/x-test',
                                   Metadata={'md5chksum': 'q1w2e3==', 'color': 'blue'})
    uid = r['UploadId']
    check(r['Key'] == 'dir/big file+é' and r['Bucket'] == 'mpu-test' and len(uid) > 8,
          'CreateMultipartUpload: bucket, key and an upload id')
    parts = [os.urandom(5 * MIB), os.urandom(5 * MIB + 17), os.urandom(1000)]
    tags = [put_part(s3, 'dir/big file+é', uid, i + 1, p) for i, p in enumerate(parts)]
    check(tags == ['"%s"' % md5(p) for p in parts], 'UploadPart: each ETag is the part\'s MD5')
    parts[1] = os.urandom(6 * MIB)
    tags[1] = put_part(s3, 'dir/big file+é', uid, 2, parts[1])
    check(tags[1] == '"%s"' % md5(parts[1]), 'a part uploaded again: its new ETag')
    lp = s3.list_parts(Bucket='mpu-test', Key='dir/big file+é', UploadId=uid)
    check([(p['PartNumber'], p['ETag'], p['Size']) for p in lp['Parts']] ==
          [(i + 1, tags[i], len(parts[i])) for i in range(3)] and not lp['IsTruncated'],
          'ListParts: numbers, ETags and sizes (the replaced part\'s new ones)')
    lp = s3.list_parts(Bucket='mpu-test', Key='dir/big file+é', UploadId=uid, MaxParts=2)
    check([p['PartNumber'] for p in lp['Parts']] == [1, 2] and lp['IsTruncated'] and
          lp['NextPartNumberMarker'] == 2, 'ListParts max-parts 2: truncated, next marker 2')
    lp = s3.list_parts(Bucket='mpu-test', Key='dir/big file+é', UploadId=uid, PartNumberMarker=2)
    check([p['PartNumber'] for p in lp['Parts']] == [3] and not lp['IsTruncated'],
          'ListParts from marker 2: part 3')
    r2 = s3.create_multipart_upload(Bucket='mpu-test', Key='a/other')
    lu = s3.list_multipart_uploads(Bucket='mpu-test')
    got = [(u['Key'], u['UploadId']) for u in lu.get('Uploads', [])]
    check(got == [('a/other', r2['UploadId']), ('dir/big file+é', uid)],
          'ListMultipartUploads: both, in key order (%s)' % got)
    lu = s3.list_multipart_uploads(Bucket='mpu-test', Prefix='dir/')
    check([u['Key'] for u in lu.get('Uploads', [])] == ['dir/big file+é'],
          'ListMultipartUploads with a prefix')
    lu = s3.list_multipart_uploads(Bucket='mpu-test', MaxUploads=1)
    check(len(lu.get('Uploads', [])) == 1 and lu['IsTruncated'] and
          lu['NextKeyMarker'] == 'a/other', 'ListMultipartUploads max-uploads 1: truncated')
    lu = s3.list_multipart_uploads(Bucket='mpu-test', KeyMarker=lu['NextKeyMarker'],
                                   UploadIdMarker=lu['NextUploadIdMarker'])
    check([u['Key'] for u in lu.get('Uploads', [])] == ['dir/big file+é'],
          'ListMultipartUploads: the next page')

    def complete(plist, key='dir/big file+é', u=None):
        return code_of(s3.complete_multipart_upload, Bucket='mpu-test', Key=key, UploadId=u or uid,
                       MultipartUpload={'Parts': plist})

    P = [{'PartNumber': i + 1, 'ETag': tags[i]} for i in range(3)]
    check(complete([P[1], P[0], P[2]]) == ('InvalidPartOrder', 400),
          'completion with parts out of order: InvalidPartOrder')
    check(complete([P[0], P[0], P[2]]) == ('InvalidPartOrder', 400),
          'completion with a part twice: InvalidPartOrder')
    check(complete([P[0], P[1], P[2], {'PartNumber': 4, 'ETag': tags[0]}]) == ('InvalidPart', 400),
          'completion naming a missing part: InvalidPart')
    check(complete([P[0], {'PartNumber': 2, 'ETag': tags[0]}, P[2]]) == ('InvalidPart', 400),
          'completion with a wrong ETag: InvalidPart')
    check(complete(P, u='0123456789abcdef0123456789abcdef') == ('NoSuchUpload', 404),
          'completion of an unknown upload: NoSuchUpload')
    check(complete(P, key='dir/another') == ('NoSuchUpload', 404),
          'completion under another key: NoSuchUpload')
    path = '/mpu-test/dir/big%20file%2B%C3%A9?uploadId=' + uid
    st, body = raw('POST', path, b'<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>')
    check(st == 400 and b'<Code>MalformedXML</Code>' in body, 'a completion cut short: MalformedXML')
    st, body = raw('POST', path, b'<Delete><Object><Key>x</Key></Object></Delete>')
    check(st == 400 and b'<Code>MalformedXML</Code>' in body, 'a completion of the wrong schema: MalformedXML')
    check(code_of(s3.upload_part, Bucket='mpu-test', Key='dir/big file+é', UploadId='nope',
                  PartNumber=1, Body=b'x') == ('NoSuchUpload', 404),
          'UploadPart to an unknown upload: NoSuchUpload')
    check(code_of(s3.list_parts, Bucket='mpu-test', Key='x', UploadId=uid) == ('NoSuchUpload', 404),
          'ListParts under another key: NoSuchUpload')
    check(code_of(s3.head_object, Bucket='mpu-test', Key='dir/big file+é') == ('404', 404),
          'nothing visible before the completion')
    # Small parts: EntityTooSmall, the upload left as it was.
    r3 = s3.create_multipart_upload(Bucket='mpu-test', Key='small')
    t3 = [put_part(s3, 'small', r3['UploadId'], i + 1, b'%d' % i * 1000) for i in range(2)]
    check(complete([{'PartNumber': i + 1, 'ETag': t3[i]} for i in range(2)], key='small',
                   u=r3['UploadId']) == ('EntityTooSmall', 400),
          'a part before the last under 5 MiB: EntityTooSmall')
    r = s3.complete_multipart_upload(Bucket='mpu-test', Key='small', UploadId=r3['UploadId'],
                                     MultipartUpload={'Parts': [{'PartNumber': 1, 'ETag': t3[0]}]})
    check(r['ETag'] == mp_etag([b'0' * 1000]) and
          s3.get_object(Bucket='mpu-test', Key='small')['Body'].read() == b'0' * 1000,
          'one small part alone completes; part 2 dropped (%s)' % r['ETag'])
    # The completion.
    r = s3.complete_multipart_upload(Bucket='mpu-test', Key='dir/big file+é', UploadId=uid,
                                     MultipartUpload={'Parts': P})
    whole = b''.join(parts)
    check(r['ETag'] == mp_etag(parts), 'CompleteMultipartUpload: ETag %s' % r['ETag'])
    g = s3.get_object(Bucket='mpu-test', Key='dir/big file+é')
    data = g['Body'].read()
    check(md5(data) == md5(whole) and len(data) == len(whole), 'the object reads back by MD5')
    check(g['ETag'] == mp_etag(parts) and g['ContentType'] == 'text/x-test' and
          g['Metadata'] == {'md5chksum': 'q1w2e3==', 'color': 'blue'},
          'ETag, Content-Type and metadata from the creation (%s)' % g['Metadata'])
    a = 5 * MIB - 100
    g = s3.get_object(Bucket='mpu-test', Key='dir/big file+é', Range='bytes=%d-%d' % (a, a + 299))
    check(g['Body'].read() == whole[a:a + 300], 'a range across two parts')
    lo = s3.list_objects_v2(Bucket='mpu-test')['Contents']
    check([(o['Key'], o['Size'], o['ETag']) for o in lo] ==
          [('dir/big file+é', len(whole), mp_etag(parts)), ('small', 1000, mp_etag([b'0' * 1000]))],
          'listed with its size and ETag')
    check(code_of(s3.list_parts, Bucket='mpu-test', Key='dir/big file+é', UploadId=uid) ==
          ('NoSuchUpload', 404), 'the completed upload is gone')
    check(complete(P) == ('NoSuchUpload', 404), 'a second completion: NoSuchUpload')
    # An overwrite by a new upload.
    r4 = s3.create_multipart_upload(Bucket='mpu-test', Key='dir/big file+é')
    np = [os.urandom(5 * MIB), os.urandom(3)]
    t4 = [put_part(s3, 'dir/big file+é', r4['UploadId'], i + 1, p) for i, p in enumerate(np)]
    s3.complete_multipart_upload(Bucket='mpu-test', Key='dir/big file+é', UploadId=r4['UploadId'],
                                 MultipartUpload={'Parts': [{'PartNumber': i + 1, 'ETag': t4[i]}
                                                            for i in range(2)]})
    g = s3.get_object(Bucket='mpu-test', Key='dir/big file+é')
    check(g['Body'].read() == b''.join(np) and g['Metadata'] == {} and
          g['ContentType'] == 'binary/octet-stream', 'an overwrite by a second upload')
    # Abort.
    put_part(s3, 'a/other', r2['UploadId'], 1, os.urandom(100000))
    r = s3.abort_multipart_upload(Bucket='mpu-test', Key='a/other', UploadId=r2['UploadId'])
    check(r['ResponseMetadata']['HTTPStatusCode'] == 204, 'AbortMultipartUpload: 204')
    check(code_of(s3.list_parts, Bucket='mpu-test', Key='a/other', UploadId=r2['UploadId']) ==
          ('NoSuchUpload', 404), 'an aborted upload is gone')
    check(code_of(s3.abort_multipart_upload, Bucket='mpu-test', Key='a/other',
                  UploadId=r2['UploadId']) == ('NoSuchUpload', 404), 'abort twice: NoSuchUpload')
    check(s3.list_multipart_uploads(Bucket='mpu-test').get('Uploads', []) == [], 'no upload left')
    check(code_of(s3.create_multipart_upload, Bucket='nobucket', Key='k') == ('NoSuchBucket', 404),
          'CreateMultipartUpload in no bucket: NoSuchBucket')
    # A bucket with an unfinished upload is not empty.
    s3.create_bucket(Bucket='mpu-two')
    r5 = s3.create_multipart_upload(Bucket='mpu-two', Key='k')
    check(code_of(s3.delete_bucket, Bucket='mpu-two') == ('BucketNotEmpty', 409),
          'DeleteBucket with an unfinished upload: BucketNotEmpty')
    s3.abort_multipart_upload(Bucket='mpu-two', Key='k', UploadId=r5['UploadId'])
    s3.delete_bucket(Bucket='mpu-two')
    # boto3's own transfer manager (5 MiB parts, four threads).
    from boto3.s3.transfer import TransferConfig
    import io
    blob = os.urandom(23 * MIB + 5)
    s3.upload_fileobj(io.BytesIO(blob), 'mpu-test', 'managed',
                      Config=TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB,
                                            max_concurrency=4))
    h = s3.head_object(Bucket='mpu-test', Key='managed')
    check(h['ETag'].endswith('-5"') and
          md5(s3.get_object(Bucket='mpu-test', Key='managed')['Body'].read()) == md5(blob),
          'boto3 upload_fileobj in 5 parts reads back by MD5 (%s)' % h['ETag'])
    for k in ['dir/big file+é', 'small', 'managed']:
        s3.delete_object(Bucket='mpu-test', Key=k)
    check(s3.list_objects_v2(Bucket='mpu-test').get('KeyCount') == 0, 'the objects deleted')


def listing():
    s3 = client()
    s3.create_bucket(Bucket='mpu-list')
    keys = ['a/1', 'a/2', 'b/x/1', 'b/y', 'c', 'd/1', 'd/1', 'e/z/']
    ups = sorted((k, s3.create_multipart_upload(Bucket='mpu-list', Key=k)['UploadId'])
                 for k in keys)
    lu = s3.list_multipart_uploads(Bucket='mpu-list', Delimiter='/')
    got = ([u['Key'] for u in lu.get('Uploads', [])],
           [p['Prefix'] for p in lu.get('CommonPrefixes', [])])
    check(got == (['c'], ['a/', 'b/', 'd/', 'e/']) and not lu['IsTruncated'] and
          lu.get('Delimiter') == '/',
          'ListMultipartUploads delimiter /: one upload, four CommonPrefixes (%s)' % (got,))
    lu = s3.list_multipart_uploads(Bucket='mpu-list', Prefix='b/', Delimiter='/')
    got = ([u['Key'] for u in lu.get('Uploads', [])],
           [p['Prefix'] for p in lu.get('CommonPrefixes', [])])
    check(got == (['b/y'], ['b/x/']),
          'ListMultipartUploads prefix b/ delimiter /: b/y and b/x/ (%s)' % (got,))
    lu = s3.list_multipart_uploads(Bucket='mpu-list', Prefix='e/', Delimiter='/')
    got = ([u['Key'] for u in lu.get('Uploads', [])],
           [p['Prefix'] for p in lu.get('CommonPrefixes', [])])
    check(got == ([], ['e/z/']), 'a key ending in the delimiter is a CommonPrefix (%s)' % (got,))
    # Paged by one: each entry once, the common prefixes not again on a
    # later page (the next key marker is the prefix).
    seen, pages, marker, umarker = [], 0, None, None
    while pages < 20:
        kw = {'Bucket': 'mpu-list', 'Delimiter': '/', 'MaxUploads': 1}
        if marker is not None:
            kw['KeyMarker'] = marker
            if umarker:
                kw['UploadIdMarker'] = umarker
        lu = s3.list_multipart_uploads(**kw)
        pages += 1
        seen += [('U', u['Key']) for u in lu.get('Uploads', [])]
        seen += [('P', p['Prefix']) for p in lu.get('CommonPrefixes', [])]
        if not lu['IsTruncated']:
            break
        marker, umarker = lu['NextKeyMarker'], lu.get('NextUploadIdMarker')
    check(seen == [('P', 'a/'), ('P', 'b/'), ('U', 'c'), ('P', 'd/'), ('P', 'e/')] and pages == 5,
          'delimiter and max-uploads 1: five pages, each entry once (%s in %d)' % (seen, pages))
    # Without a delimiter, two by two: d/1's two uploads split across
    # pages by upload-id-marker; the paginator sees every upload once.
    got = [(u['Key'], u['UploadId'])
           for pg in s3.get_paginator('list_multipart_uploads').paginate(
               Bucket='mpu-list', PaginationConfig={'PageSize': 3})
           for u in pg.get('Uploads', [])]
    check(got == ups, 'paginated by 3: every upload once, in key and id order (%d of %d)'
          % (len(got), len(ups)))
    lu = s3.list_multipart_uploads(Bucket='mpu-list', KeyMarker='d/1')
    check([u['Key'] for u in lu.get('Uploads', [])] == ['e/z/'],
          'key-marker alone skips that key\'s uploads')
    lu = s3.list_multipart_uploads(Bucket='mpu-list', KeyMarker='d/1',
                                   UploadIdMarker=ups[5][1])
    check([(u['Key'], u['UploadId']) for u in lu.get('Uploads', [])] == ups[6:],
          'key-marker with upload-id-marker: that key\'s later upload stays')
    for k, u in ups:
        s3.abort_multipart_upload(Bucket='mpu-list', Key=k, UploadId=u)
    s3.delete_bucket(Bucket='mpu-list')


def copy_part(s3, key, uid, n, src, rng=None, bucket='mpu-copy'):
    """(error code or None, ETag)."""
    kw = {'Bucket': bucket, 'Key': key, 'UploadId': uid, 'PartNumber': n,
          'CopySource': {'Bucket': bucket, 'Key': src}}
    if rng is not None:
        kw['CopySourceRange'] = rng
    try:
        return None, s3.upload_part_copy(**kw)['CopyPartResult']['ETag']
    except botocore.exceptions.ClientError as e:
        return e.response['Error'].get('Code'), None


def partcopy():
    s3 = client()
    s3.create_bucket(Bucket='mpu-copy')
    src = os.urandom(12 * MIB + 123)
    s3.put_object(Bucket='mpu-copy', Key='src', Body=src)
    uid = s3.create_multipart_upload(Bucket='mpu-copy', Key='dst')['UploadId']
    a, b = 1000, 1000 + 6 * MIB - 1
    c1 = copy_part(s3, 'dst', uid, 1, 'src', 'bytes=%d-%d' % (a, b))
    check(c1 == (None, '"%s"' % md5(src[a:b + 1])),
          'UploadPartCopy of a range: CopyPartResult ETag is the range\'s MD5 (%s)' % (c1,))
    c2 = copy_part(s3, 'dst', uid, 2, 'src')
    check(c2 == (None, '"%s"' % md5(src)), 'UploadPartCopy of a whole object (%s)' % (c2,))
    tail = os.urandom(1000)
    t3 = put_part(s3, 'dst', uid, 3, tail, bucket='mpu-copy')
    lp = s3.list_parts(Bucket='mpu-copy', Key='dst', UploadId=uid).get('Parts', [])
    check([(p['PartNumber'], p['Size']) for p in lp] == [(1, b - a + 1), (2, len(src)), (3, 1000)],
          'ListParts: the copied parts\' sizes')
    c = code_of(s3.complete_multipart_upload, Bucket='mpu-copy', Key='dst', UploadId=uid,
                MultipartUpload={'Parts': [{'PartNumber': 1, 'ETag': c1[1]},
                                           {'PartNumber': 2, 'ETag': c2[1]},
                                           {'PartNumber': 3, 'ETag': t3}]})
    check(c == (None, 200), 'completed from copied parts (%s)' % (c,))
    want = src[a:b + 1] + src + tail
    s3.delete_object(Bucket='mpu-copy', Key='src')
    got = s3.get_object(Bucket='mpu-copy', Key='dst')['Body'].read()
    check(md5(got) == md5(want), 'the object reads back whole, after its source was deleted')
    # A range across the two first parts of that multipart object.
    u2 = s3.create_multipart_upload(Bucket='mpu-copy', Key='dst2')['UploadId']
    a, b = 6 * MIB - 10, 7 * MIB + 5
    c1 = copy_part(s3, 'dst2', u2, 1, 'dst', 'bytes=%d-%d' % (a, b))
    check(c1 == (None, '"%s"' % md5(want[a:b + 1])),
          'UploadPartCopy of a range across a multipart source\'s parts (%s)' % (c1,))
    c = copy_part(s3, 'dst2', u2, 2, 'dst', 'bytes=0-%d' % len(want))
    check(c[0] == 'InvalidArgument', 'a range past the source: InvalidArgument (%s)' % (c,))
    c = copy_part(s3, 'dst2', u2, 2, 'nothing')
    check(c[0] == 'NoSuchKey', 'a missing source: NoSuchKey (%s)' % (c,))
    c = code_of(s3.complete_multipart_upload, Bucket='mpu-copy', Key='dst2', UploadId=u2,
                MultipartUpload={'Parts': [{'PartNumber': 1, 'ETag': c1[1] or '"x"'}]})
    check(c == (None, 200), 'completed (%s)' % (c,))
    if c == (None, 200):
        got = s3.get_object(Bucket='mpu-copy', Key='dst2')['Body'].read()
        check(got == want[a:b + 1], 'the range copied reads back')
    for k in ('dst', 'dst2'):
        s3.delete_object(Bucket='mpu-copy', Key=k)
    for u in s3.list_multipart_uploads(Bucket='mpu-copy').get('Uploads', []):
        s3.abort_multipart_upload(Bucket='mpu-copy', Key=u['Key'], UploadId=u['UploadId'])
    s3.delete_bucket(Bucket='mpu-copy')


def pending(d):
    s3 = client()
    s3.create_bucket(Bucket='pend')
    uid = s3.create_multipart_upload(Bucket='pend', Key='left', ContentType='a/b',
                                     Metadata={'md5chksum': 'xyz'})['UploadId']
    parts = [os.urandom(5 * MIB), os.urandom(5 * MIB + 3)]
    for i, p in enumerate(parts):
        put_part(s3, 'left', uid, i + 1, p, bucket='pend')
        open(os.path.join(d, 'pend.part%d' % (i + 1)), 'wb').write(p)
    open(os.path.join(d, 'pending'), 'w').write(uid)
    check(len(s3.list_parts(Bucket='pend', Key='left', UploadId=uid)['Parts']) == 2,
          'an upload left with two parts')


def pending_check(d):
    s3 = client()
    uid = open(os.path.join(d, 'pending')).read().strip()
    parts = [open(os.path.join(d, 'pend.part%d' % i), 'rb').read() for i in (1, 2)]
    lp = s3.list_parts(Bucket='pend', Key='left', UploadId=uid)
    check([(p['PartNumber'], p['ETag'], p['Size']) for p in lp['Parts']] ==
          [(i + 1, '"%s"' % md5(p), len(p)) for i, p in enumerate(parts)],
          'after kill -9 and restart: ListParts lists both parts')
    lu = s3.list_multipart_uploads(Bucket='pend')
    check([(u['Key'], u['UploadId']) for u in lu.get('Uploads', [])] == [('left', uid)],
          'after restart: ListMultipartUploads lists the upload')
    parts.append(os.urandom(12345))
    put_part(s3, 'left', uid, 3, parts[2], bucket='pend')
    r = s3.complete_multipart_upload(
        Bucket='pend', Key='left', UploadId=uid,
        MultipartUpload={'Parts': [{'PartNumber': i + 1, 'ETag': '"%s"' % md5(p)}
                                   for i, p in enumerate(parts)]})
    g = s3.get_object(Bucket='pend', Key='left')
    check(r['ETag'] == mp_etag(parts) and md5(g['Body'].read()) == md5(b''.join(parts)) and
          g['Metadata'] == {'md5chksum': 'xyz'} and g['ContentType'] == 'a/b',
          'completed after the restart: bytes, ETag, type and metadata')


def quota():
    s3 = client()
    s3.create_bucket(Bucket='quota')
    u = [s3.create_multipart_upload(Bucket='quota', Key='k%d' % i)['UploadId'] for i in range(3)]
    c = code_of(s3.create_multipart_upload, Bucket='quota', Key='k4')
    check(c == ('TooManyUploads', 400), 'a fourth unfinished upload: refused (%s)' % (c,))
    put_part(s3, 'k0', u[0], 1, os.urandom(5 * MIB), bucket='quota')
    put_part(s3, 'k1', u[1], 1, os.urandom(5 * MIB), bucket='quota')
    c = code_of(s3.upload_part, Bucket='quota', Key='k2', UploadId=u[2], PartNumber=1,
                Body=os.urandom(5 * MIB))
    check(c == ('EntityTooLarge', 400), 'a part past the bytes quota: refused (%s)' % (c,))
    check(len(s3.list_parts(Bucket='quota', Key='k2', UploadId=u[2]).get('Parts', [])) == 0,
          'the refused part is not listed')
    open(os.path.join(sys.argv[5], 'quota.ids'), 'w').write(' '.join(u))


def expired(d):
    """After a restart with --mpu-expiry 1, 2 s or more later: the uploads
    left by quota() were aborted at start; an upload made now expires on
    the running server too."""
    s3 = client()
    u = open(os.path.join(d, 'quota.ids')).read().split()
    check(s3.list_multipart_uploads(Bucket='quota').get('Uploads', []) == [],
          'the uploads expired at start (--mpu-expiry 1)')
    check(code_of(s3.list_parts, Bucket='quota', Key='k0', UploadId=u[0]) == ('NoSuchUpload', 404),
          'an expired upload: NoSuchUpload')
    s3.create_multipart_upload(Bucket='quota', Key='live')
    deadline = time.monotonic() + 60
    left = None
    while time.monotonic() < deadline:
        time.sleep(0.5)
        left = s3.list_multipart_uploads(Bucket='quota').get('Uploads', [])
        if not left:
            break
    check(left == [], 'an upload expires on the running server too')


def room():
    s3 = client()
    v = s3.create_multipart_upload(Bucket='quota', Key='again')['UploadId']
    put_part(s3, 'again', v, 1, os.urandom(5 * MIB), bucket='quota')
    put_part(s3, 'again', v, 2, os.urandom(5 * MIB), bucket='quota')
    check(len(s3.list_parts(Bucket='quota', Key='again', UploadId=v)['Parts']) == 2,
          'after the expiry, the bytes quota has room again')
    s3.abort_multipart_upload(Bucket='quota', Key='again', UploadId=v)


def part_arriving(key, uid, n, length, first):
    """An UploadPart of @length bytes whose head and @first bytes of body
    are sent and taken by the server (the socket's send queue empty):
    (connection, the rest to send)."""
    import fcntl
    import http.client
    import socket
    import struct
    data = os.urandom(length)
    path = '/quota/%s?partNumber=%d&uploadId=%s' % (key, n, uid)
    req = botocore.awsrequest.AWSRequest(method='PUT', url='http://%s%s' % (ADDR, path),
                                         data=data, headers={'Content-Length': str(length)})
    req.headers['x-amz-content-sha256'] = hashlib.sha256(data).hexdigest()
    botocore.auth.S3SigV4Auth(botocore.credentials.Credentials(ID, SECRET), 's3',
                              'us-east-1').add_auth(req)
    c = http.client.HTTPConnection(HOST, int(PORT), timeout=30)
    c.putrequest('PUT', path, skip_accept_encoding=True)
    for k, v in req.headers.items():
        c.putheader(k, v)
    c.endheaders()
    c.send(data[:first])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if struct.unpack('i', fcntl.ioctl(c.sock, 0x5411, b'\0' * 4))[0] == 0:  # TIOCOUTQ
            break
        time.sleep(0.05)
    time.sleep(0.2)
    return c, data


def arriving():
    s3 = client()
    code_of(s3.create_bucket, Bucket='quota')      # made by quota() in the suite
    a = s3.create_multipart_upload(Bucket='quota', Key='ka')['UploadId']
    b = s3.create_multipart_upload(Bucket='quota', Key='kb')['UploadId']
    c, data = part_arriving('ka', a, 1, 7000000, 1 << 20)
    r = code_of(s3.upload_part, Bucket='quota', Key='kb', UploadId=b, PartNumber=1,
                Body=os.urandom(6000000))
    check(r == ('EntityTooLarge', 400),
          'a 6 MB part while 7 MB arrive, quota 12 MB: refused from its head (%s)' % (r,))
    c.close()           # cut: its reservation comes back
    r, tries = None, 0
    while tries < 40:
        tries += 1
        r = code_of(s3.upload_part, Bucket='quota', Key='kb', UploadId=b, PartNumber=1,
                    Body=os.urandom(6000000))
        if r[0] != 'EntityTooLarge':
            break
        time.sleep(0.25)
    check(r == (None, 200), 'the cut part\'s 7 MB came back: a 6 MB part fits (%s, try %d)'
          % (r, tries))
    c, data = part_arriving('ka', a, 1, 6000000, 1 << 20)
    c.send(data[1 << 20:])
    resp = c.getresponse()
    body = resp.read()
    c.close()
    check(resp.status == 200 and resp.getheader('ETag') == '"%s"' % md5(data),
          'the arriving part completes: 200 and its MD5 (%d %s)' % (resp.status, body[:200]))
    check(len(s3.list_parts(Bucket='quota', Key='ka', UploadId=a).get('Parts', [])) == 1,
          'it is listed')
    s3.abort_multipart_upload(Bucket='quota', Key='ka', UploadId=a)
    r = code_of(s3.upload_part, Bucket='quota', Key='kb', UploadId=b, PartNumber=2,
                Body=os.urandom(6000000))
    check(r == (None, 200), 'the completed part counted once, and gone with its upload: '
          'a second 6 MB part of the other upload fits (%s)' % (r,))
    s3.abort_multipart_upload(Bucket='quota', Key='kb', UploadId=b)


def upload(d, n):
    s3c = client(timeout=20)
    s3c.create_bucket(Bucket='crash')
    lock = threading.Lock()
    acked = open(os.path.join(d, 'acked'), 'a')
    stop = time.monotonic() + 60

    def work(t):
        s3 = client(timeout=20)
        i = 0
        while time.monotonic() < stop:
            key = 't%d/o%03d' % (t, i)
            i += 1
            parts = [os.urandom(5 * MIB), os.urandom(5 * MIB), os.urandom(MIB + i)]
            try:
                uid = s3.create_multipart_upload(Bucket='crash', Key=key)['UploadId']
                tags = [put_part(s3, key, uid, j + 1, p, bucket='crash')
                        for j, p in enumerate(parts)]
                r = s3.complete_multipart_upload(
                    Bucket='crash', Key=key, UploadId=uid,
                    MultipartUpload={'Parts': [{'PartNumber': j + 1, 'ETag': tg}
                                               for j, tg in enumerate(tags)]})
            except Exception:
                return
            if r['ETag'] == mp_etag(parts):
                with lock:
                    acked.write('%s %s\n' % (key, md5(b''.join(parts))))
                    acked.flush()

    ts = [threading.Thread(target=work, args=(t,)) for t in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def verify(d):
    s3 = client(timeout=30)
    acked = acked_read_back(s3, d, 'multipart objects')
    objs = list_all(s3, 'crash')
    partial = 0
    for o in objs:
        data = s3.get_object(Bucket='crash', Key=o['Key'])['Body'].read()
        chunks = [data[i:i + 5 * MIB] for i in range(0, len(data), 5 * MIB)]
        if len(data) != o['Size'] or mp_etag(chunks) != o['ETag']:
            partial += 1
    check(partial == 0 and len(objs) >= len(acked),
          '%d listed (>= acknowledged), none partial (%d)' % (len(objs), partial))
    ups = s3.list_multipart_uploads(Bucket='crash').get('Uploads', [])
    print('    %d unfinished uploads after the crash' % len(ups))
    for u in ups:
        s3.list_parts(Bucket='crash', Key=u['Key'], UploadId=u['UploadId'])
        s3.abort_multipart_upload(Bucket='crash', Key=u['Key'], UploadId=u['UploadId'])
    check(s3.list_multipart_uploads(Bucket='crash').get('Uploads', []) == [],
          'the unfinished uploads listed, their parts listed, then aborted')


if MODE == 'basic':
    basic()
elif MODE == 'listing':
    listing()
elif MODE == 'partcopy':
    partcopy()
elif MODE == 'pending':
    pending(sys.argv[5])
elif MODE == 'pending_check':
    pending_check(sys.argv[5])
elif MODE == 'quota':
    quota()
elif MODE == 'expired':
    expired(sys.argv[5])
elif MODE == 'room':
    room()
elif MODE == 'arriving':
    arriving()
elif MODE == 'upload':
    upload(sys.argv[5], int(sys.argv[6]))
elif MODE == 'verify':
    verify(sys.argv[5])
elif MODE == 'etag':
    print(client().head_object(Bucket=sys.argv[5], Key=sys.argv[6])['ETag'])
    sys.exit(0)
finish()
