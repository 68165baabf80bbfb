#!/usr/bin/python3
"""paste-objects storing buckets and objects, checked with boto3 (path
style, s3v4). Usage: store_client.py HOST:PORT ID SECRET MODE [ARGS]

MODE basic: buckets, PUT/GET/HEAD/DELETE, ranges, conditions, metadata,
odd keys, listings over 2,500 keys, objects of 0 B to 20 MB by MD5.
MODE upload DIR N: N threads upload objects until the server dies; the
keys and MD5s that got their 200 are written to DIR/acked (one a line).
MODE verify DIR: every acked object reads back with its MD5; every listed
object reads back whole with the MD5 its ETag says.
MODE copy: CopyObject (COPY and REPLACE directives, to itself, missing
sources) of an 8 MB object five times into a pool with room for two: the copies
share the source's buffers; a copy outlives its deleted source.
MODE delete: DeleteObjects of 200 keys (two missing), Quiet, a key too
long refused, no Content-MD5, a wrong one, malformed XML, no such
bucket.
MODE toolarge N: a PUT of N bytes declared is refused before its body,
nothing is stored, the server still answers.
"""
import hashlib
import os
import socket
import sys
import threading
import time

import botocore

from s3test import ADDR, ID, SECRET, MODE, acked_read_back, list_all, client, check, code_of, md5, finish

HOST, PORT = ADDR.split(':')


def basic():
    s3 = client()
    check(code_of(s3.head_bucket, Bucket='nob')[1] == 404, 'HeadBucket of a missing bucket: 404')
    check(code_of(s3.put_object, Bucket='nob', Key='k', Body=b'x')[0] == 'NoSuchBucket',
          'PutObject into a missing bucket: NoSuchBucket')
    s3.create_bucket(Bucket='bkt')
    check(code_of(s3.create_bucket, Bucket='bkt')[0] == 'BucketAlreadyOwnedByYou',
          'CreateBucket twice: BucketAlreadyOwnedByYou')
    s3.create_bucket(Bucket='other')
    names = [b['Name'] for b in s3.list_buckets()['Buckets']]
    check(names == ['bkt', 'other'], 'ListBuckets: %s' % names)
    check(code_of(s3.head_bucket, Bucket='bkt')[1] == 200, 'HeadBucket: 200')
    # Objects of 0 B, 1 KiB, 1 MiB and 20 MB.
    for size in (0, 1024, 1 << 20, 20 * 1000 * 1000):
        body = os.urandom(size)
        r = s3.put_object(Bucket='bkt', Key='size/%d' % size, Body=body)
        check(r['ETag'] == '"%s"' % md5(body), 'PUT %d B: ETag is the MD5' % size)
        g = s3.get_object(Bucket='bkt', Key='size/%d' % size)
        data = g['Body'].read()
        check(len(data) == size and md5(data) == md5(body), 'GET %d B: MD5 matches' % size)
        check(g['ContentLength'] == size, 'GET %d B: Content-Length' % size)
    # Content-MD5 checked.
    body = b'hello, world\n' * 100
    import base64
    good = base64.b64encode(hashlib.md5(body).digest()).decode()
    bad = base64.b64encode(hashlib.md5(b'other').digest()).decode()
    check(code_of(s3.put_object, Bucket='bkt', Key='md5', Body=body, ContentMD5=bad)[0] == 'BadDigest',
          'a wrong Content-MD5: BadDigest')
    check(code_of(s3.head_object, Bucket='bkt', Key='md5')[1] == 404, '... and nothing stored')
    s3.put_object(Bucket='bkt', Key='md5', Body=body, ContentMD5=good)
    check(s3.get_object(Bucket='bkt', Key='md5')['Body'].read() == body, 'the right Content-MD5: stored')
    # Metadata and content type.
    s3.put_object(Bucket='bkt', Key='meta', Body=b'm', ContentType='text/x-paste',
                  Metadata={'color': 'blue', 'owner-name': 'Ada'})
    h = s3.head_object(Bucket='bkt', Key='meta')
    check(h['ContentType'] == 'text/x-paste', 'HEAD: Content-Type %s' % h['ContentType'])
    check(h['Metadata'] == {'color': 'blue', 'owner-name': 'Ada'}, 'HEAD: metadata %s' % h['Metadata'])
    check(h['ContentLength'] == 1 and h['ETag'] == '"%s"' % md5(b'm'), 'HEAD: length and ETag')
    g = s3.get_object(Bucket='bkt', Key='meta')
    check(g['Metadata'] == {'color': 'blue', 'owner-name': 'Ada'}, 'GET: metadata')
    # Ranges.
    data = bytes(range(256)) * 40          # 10,240 bytes
    s3.put_object(Bucket='bkt', Key='range', Body=data)
    for rng, want in (('bytes=0-99', data[0:100]), ('bytes=10000-', data[10000:]),
                      ('bytes=-300', data[-300:]), ('bytes=5000-99999', data[5000:]),
                      ('bytes=1-1', data[1:2])):
        g = s3.get_object(Bucket='bkt', Key='range', Range=rng)
        got = g['Body'].read()
        check(g['ResponseMetadata']['HTTPStatusCode'] == 206 and got == want,
              'Range %s: 206, %d bytes' % (rng, len(want)))
        check(g['ContentRange'].endswith('/%d' % len(data)), 'Range %s: %s' % (rng, g['ContentRange']))
    check(code_of(s3.get_object, Bucket='bkt', Key='range', Range='bytes=20000-')[:2] ==
          ('InvalidRange', 416), 'Range beyond the end: 416 InvalidRange')
    big = s3.get_object(Bucket='bkt', Key='size/20000000', Range='bytes=12345678-12399999')
    check(big['ContentLength'] == 54322, 'a range inside the 20 MB object')
    # Conditions.
    etag = '"%s"' % md5(data)
    check(code_of(s3.get_object, Bucket='bkt', Key='range', IfNoneMatch=etag)[1] == 304,
          'If-None-Match the ETag: 304')
    check(code_of(s3.get_object, Bucket='bkt', Key='range', IfMatch='"0000"')[1] == 412,
          'If-Match another ETag: 412')
    check(s3.get_object(Bucket='bkt', Key='range', IfMatch=etag)['Body'].read() == data,
          'If-Match the ETag: 200')
    # Overwrite: the new version served.
    s3.put_object(Bucket='bkt', Key='range', Body=b'new')
    check(s3.get_object(Bucket='bkt', Key='range')['Body'].read() == b'new', 'an overwrite is served')
    # Odd keys.
    odd = ['with space.txt', 'a+b', 'caf\u00e9/\u65e5\u672c.txt', 'x//y', 'dir/./z', 'k' * 1024]
    for k in odd:
        s3.put_object(Bucket='bkt', Key=k, Body=k.encode())
        got = s3.get_object(Bucket='bkt', Key=k)['Body'].read()
        check(got == k.encode(), 'key %r round trip' % k[:40])
    check(code_of(s3.put_object, Bucket='bkt', Key='k' * 1025, Body=b'')[0] == 'KeyTooLongError',
          'a 1,025-byte key: KeyTooLongError')
    listed = [o['Key'] for o in s3.list_objects_v2(Bucket='bkt')['Contents']]
    check(all(k in listed for k in odd) and listed == sorted(listed, key=lambda s: s.encode()),
          'odd keys listed, in UTF-8 byte order')
    # Delete.
    check(s3.delete_object(Bucket='bkt', Key='a+b')['ResponseMetadata']['HTTPStatusCode'] == 204,
          'DeleteObject: 204')
    check(code_of(s3.get_object, Bucket='bkt', Key='a+b')[0] == 'NoSuchKey', 'then NoSuchKey')
    check(s3.delete_object(Bucket='bkt', Key='never')['ResponseMetadata']['HTTPStatusCode'] == 204,
          'DeleteObject of a missing key: 204')
    check(code_of(s3.delete_bucket, Bucket='bkt')[0] == 'BucketNotEmpty', 'DeleteBucket: BucketNotEmpty')
    check(code_of(s3.delete_bucket, Bucket='nob')[0] == 'NoSuchBucket', 'DeleteBucket: NoSuchBucket')
    check(s3.delete_bucket(Bucket='other')['ResponseMetadata']['HTTPStatusCode'] == 204,
          'DeleteBucket of an empty one: 204')
    # Listings over 2,500 keys.
    s3.create_bucket(Bucket='many')
    keys = []
    for d in range(5):
        for i in range(500):
            keys.append('d%d/f%04d' % (d, i))
    keys.append('top')
    for k in keys:
        s3.put_object(Bucket='many', Key=k, Body=k.encode())
    pag = s3.get_paginator('list_objects_v2')
    got = [o['Key'] for page in pag.paginate(Bucket='many', PaginationConfig={'PageSize': 333})
           for o in page.get('Contents', [])]
    check(got == sorted(keys), 'ListObjectsV2 paginated over %d keys: %d' % (len(keys), len(got)))
    got = [o['Key'] for page in s3.get_paginator('list_objects').paginate(
        Bucket='many', PaginationConfig={'PageSize': 700}) for o in page.get('Contents', [])]
    check(got == sorted(keys), 'ListObjects v1 paginated: %d' % len(got))
    r = s3.list_objects_v2(Bucket='many', Delimiter='/')
    check([p['Prefix'] for p in r.get('CommonPrefixes', [])] == ['d%d/' % d for d in range(5)] and
          [o['Key'] for o in r['Contents']] == ['top'], 'delimiter: CommonPrefixes and top')
    r = s3.list_objects_v2(Bucket='many', Prefix='d3/', MaxKeys=10, StartAfter='d3/f0100')
    check([o['Key'] for o in r['Contents']] == ['d3/f%04d' % i for i in range(101, 111)] and
          r['IsTruncated'], 'prefix, start-after, max-keys')
    r = s3.list_objects(Bucket='many', Prefix='d1/', Marker='d1/f0497')
    check([o['Key'] for o in r['Contents']] == ['d1/f0498', 'd1/f0499'], 'v1 prefix and marker')
    pages = list(s3.get_paginator('list_objects_v2').paginate(
        Bucket='many', Delimiter='/', PaginationConfig={'PageSize': 2}))
    pre = [p['Prefix'] for pg in pages for p in pg.get('CommonPrefixes', [])]
    check(pre == ['d%d/' % d for d in range(5)], 'delimiter across pages: %s' % pre)
    r = s3.list_objects_v2(Bucket='many', MaxKeys=0)
    check(r['KeyCount'] == 0 and not r['IsTruncated'], 'max-keys 0: nothing, not truncated')
    # A Content-Type too long for the reply's head is refused when stored.
    check(code_of(s3.put_object, Bucket='many', Key='ct', Body=b'x',
                  ContentType='a/' + 'b' * 1100)[0] == 'InvalidArgument',
          'a Content-Type of 1,102 bytes: InvalidArgument')
    s3.put_object(Bucket='many', Key='ct', Body=b'x', ContentType='a/' + 'b' * 1000)
    check(s3.head_object(Bucket='many', Key='ct')['ContentType'] == 'a/' + 'b' * 1000,
          'a Content-Type of 1,002 bytes stored')
    s3.delete_object(Bucket='many', Key='ct')
    # Still healthy at the end.
    check(len(s3.list_buckets()['Buckets']) == 2, 'two buckets left')


def chunked_put(bucket, key, data, chunk=65536, tamper=False):
    """A PutObject with an aws-chunked body (STREAMING-AWS4-HMAC-SHA256-
    PAYLOAD), signed by hand as AWS documents it: botocore does not send
    this form. @return (status, body)."""
    import hmac
    import urllib.parse
    amz_date = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())
    day = amz_date[:8]
    scope = '%s/us-east-1/s3/aws4_request' % day
    sha = lambda b: hashlib.sha256(b).hexdigest()
    mac = lambda k, m: hmac.new(k, m.encode(), hashlib.sha256).digest()
    kdate = mac(('AWS4' + SECRET).encode(), day)
    ksign = mac(mac(mac(kdate, 'us-east-1'), 's3'), 'aws4_request')
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b'']
    enc_len = sum(len('%x' % len(c)) + 17 + 64 + 2 + len(c) + 2 for c in pieces)
    path = '/%s/%s' % (bucket, urllib.parse.quote(key, safe='/~'))
    headers = {'host': ADDR, 'x-amz-date': amz_date,
               'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
               'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': str(len(data)),
               'content-length': str(enc_len)}
    names = sorted(headers)
    canonical = '\n'.join(['PUT', path, '', ''.join('%s:%s\n' % (k, headers[k]) for k in names),
                           ';'.join(names), 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD'])
    sts = '\n'.join(['AWS4-HMAC-SHA256', amz_date, scope, sha(canonical.encode())])
    prev = hmac.new(ksign, sts.encode(), hashlib.sha256).hexdigest()
    auth = 'AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s' % (
        ID, scope, ';'.join(names), prev)
    body = b''
    for i, c in enumerate(pieces):
        sts = '\n'.join(['AWS4-HMAC-SHA256-PAYLOAD', amz_date, scope, prev, sha(b''), sha(c)])
        prev = hmac.new(ksign, sts.encode(), hashlib.sha256).hexdigest()
        if tamper and i == 1:
            c = bytes([c[0] ^ 1]) + c[1:]
        body += b'%x;chunk-signature=%s\r\n' % (len(c), prev.encode()) + c + b'\r\n'
    head = 'PUT %s HTTP/1.1\r\n' % path + ''.join('%s: %s\r\n' % (k, headers[k]) for k in names)
    head += 'Authorization: %s\r\nConnection: close\r\n\r\n' % auth
    s = socket.create_connection((HOST, int(PORT)), timeout=30)
    s.sendall(head.encode() + body)
    reply = b''
    while True:
        got = s.recv(65536)
        if not got:
            break
        reply += got
    s.close()
    return int(reply.split(b' ', 2)[1]), reply


def chunked():
    s3 = client()
    s3.create_bucket(Bucket='chunks')
    data = os.urandom(300 * 1000 + 7)
    st, reply = chunked_put('chunks', 'aws chunked/one', data)
    check(st == 200 and ('"%s"' % md5(data)).encode() in reply,
          'an aws-chunked PUT of 300 KB in 64 KiB chunks: 200, the ETag is the MD5 (%r)' % reply[:60])
    got = s3.get_object(Bucket='chunks', Key='aws chunked/one')['Body'].read()
    check(md5(got) == md5(data), 'its payload read back without the framing')
    st, reply = chunked_put('chunks', 'aws chunked/tampered', data, tamper=True)
    check(st == 403 and b'SignatureDoesNotMatch' in reply,
          'a chunk changed in flight: 403 SignatureDoesNotMatch (%d)' % st)
    check(code_of(s3.head_object, Bucket='chunks', Key='aws chunked/tampered')[1] == 404,
          '... and nothing stored')
    st, reply = chunked_put('chunks', 'aws chunked/empty', b'')
    check(st == 200 and s3.get_object(Bucket='chunks', Key='aws chunked/empty')['Body'].read() == b'',
          'an empty aws-chunked PUT')


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
            size = (i * 7919 + t * 104729) % (300 * 1000) + 1
            body = os.urandom(size)
            key = 't%d/o%05d' % (t, i)
            i += 1
            try:
                r = s3.put_object(Bucket='crash', Key=key, Body=body)
            except Exception:
                return
            if r['ETag'] == '"%s"' % md5(body):
                with lock:
                    acked.write('%s %s\n' % (key, md5(body)))
                    acked.flush()

    ts = [threading.Thread(target=work, args=(t,)) for t in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def verify(d):
    s3 = client(timeout=30)
    acked = acked_read_back(s3, d, 'objects')
    objs = list_all(s3, 'crash')
    partial = 0
    for o in objs:
        data = s3.get_object(Bucket='crash', Key=o['Key'])['Body'].read()
        if len(data) != o['Size'] or '"%s"' % md5(data) != o['ETag']:
            partial += 1
    check(partial == 0 and len(objs) >= len(acked),
          '%d listed (>= acknowledged), none partial (%d)' % (len(objs), partial))


def toolarge(n):
    s3 = client()
    s3.create_bucket(Bucket='big')
    s = socket.create_connection((HOST, int(PORT)), timeout=20)
    # A signed head declaring N bytes; the body never sent: the refusal
    # must come before it.
    req = botocore.awsrequest.AWSRequest(method='PUT', url='http://%s/big/huge' % ADDR,
                                         headers={'Content-Length': str(n),
                                                  'x-amz-content-sha256': 'UNSIGNED-PAYLOAD'})
    botocore.auth.S3SigV4Auth(botocore.credentials.Credentials(ID, SECRET), 's3',
                              'us-east-1').add_auth(req)
    head = 'PUT /big/huge HTTP/1.1\r\nHost: %s\r\n' % ADDR + ''.join('%s: %s\r\n' % kv for kv in req.headers.items())
    s.sendall(head.encode() + b'\r\n' + b'x' * 100000)
    reply = b''
    while b'</Error>' not in reply and len(reply) < 8192:
        got = s.recv(4096)
        if not got:
            break
        reply += got
    check(reply.startswith(b'HTTP/1.1 400 ') and b'<Code>EntityTooLarge</Code>' in reply,
          'a PUT larger than the pool: 400 EntityTooLarge before its body (%r)' % reply[-200:])
    s.close()
    check(code_of(s3.head_object, Bucket='big', Key='huge')[1] == 404, 'nothing stored')
    body = os.urandom(100000)
    s3.put_object(Bucket='big', Key='after', Body=body)
    check(md5(s3.get_object(Bucket='big', Key='after')['Body'].read()) == md5(body),
          'the server still stores and serves')


def copy():
    s3 = client(timeout=60)
    s3.create_bucket(Bucket='copies')
    body = os.urandom(8 * 1000 * 1000)
    et = s3.put_object(Bucket='copies', Key='src', Body=body, ContentType='text/plain',
                       Metadata={'a': '1'})['ETag']
    # The pool (32,768 buffers, one TCP segment each as received) holds
    # about 15,000 free buffers here: five copies of 8 MB (5,500 buffers
    # as received, 3,900 packed) do not fit if the bytes were copied, so
    # the copies must share the source's buffers.
    for i in range(5):
        try:
            r = s3.copy_object(Bucket='copies', Key='c%d' % i,
                               CopySource={'Bucket': 'copies', 'Key': 'src'})
            res = r.get('CopyObjectResult', {})
            ok = res.get('ETag') == et and 'LastModified' in res
        except Exception as e:
            ok = False
            res = e
        check(ok, 'CopyObject %d of 8 MB: CopyObjectResult with the ETag (%r)' % (i, res))
    g = s3.get_object(Bucket='copies', Key='c4')
    check(md5(g['Body'].read()) == md5(body) and g['ETag'] == et,
          'the copy reads back with the MD5 and ETag')
    check(g['ContentType'] == 'text/plain' and g['Metadata'] == {'a': '1'},
          'COPY: Content-Type and metadata copied (%r %r)' % (g['ContentType'], g['Metadata']))
    s3.copy_object(Bucket='copies', Key='r', CopySource={'Bucket': 'copies', 'Key': 'src'},
                   MetadataDirective='REPLACE', ContentType='application/x-y',
                   Metadata={'b': '2'})
    h = s3.head_object(Bucket='copies', Key='r')
    check(h['ContentType'] == 'application/x-y' and h['Metadata'] == {'b': '2'} and
          h['ContentLength'] == len(body),
          'REPLACE: the request\'s Content-Type and metadata (%r %r)' % (h['ContentType'], h['Metadata']))
    check(code_of(s3.copy_object, Bucket='copies', Key='src',
                  CopySource={'Bucket': 'copies', 'Key': 'src'}) == ('InvalidRequest', 400),
          'a copy to itself without REPLACE: 400 InvalidRequest')
    s3.copy_object(Bucket='copies', Key='src', CopySource={'Bucket': 'copies', 'Key': 'src'},
                   MetadataDirective='REPLACE', Metadata={'c': '3'})
    check(s3.head_object(Bucket='copies', Key='src')['Metadata'] == {'c': '3'},
          'a copy to itself with REPLACE changes its metadata')
    check(code_of(s3.copy_object, Bucket='copies', Key='x',
                  CopySource={'Bucket': 'copies', 'Key': 'nokey'}) == ('NoSuchKey', 404),
          'a missing source key: 404 NoSuchKey')
    check(code_of(s3.copy_object, Bucket='copies', Key='x',
                  CopySource={'Bucket': 'nobucket', 'Key': 'src'}) == ('NoSuchBucket', 404),
          'a missing source bucket: 404 NoSuchBucket')
    check(code_of(s3.copy_object, Bucket='nobucket', Key='x',
                  CopySource={'Bucket': 'copies', 'Key': 'src'}) == ('NoSuchBucket', 404),
          'a missing destination bucket: 404 NoSuchBucket')
    s3.delete_object(Bucket='copies', Key='src')
    check(md5(s3.get_object(Bucket='copies', Key='c0')['Body'].read()) == md5(body),
          'a copy reads back whole after its source is deleted')
    # Kept for the restart check (test_objects_store.sh): the copy's
    # buffers are referenced twice in the log, the source deleted after.
    s3.copy_object(Bucket='bkt', Key='copy-of-1m', CopySource={'Bucket': 'bkt', 'Key': 'size/1048576'})
    for k in ['c0', 'c1', 'c2', 'c3', 'c4', 'r']:
        s3.delete_object(Bucket='copies', Key=k)
    s3.delete_bucket(Bucket='copies')


def raw(method, path, body, headers):
    """A signed request sent as is: (status, reply body)."""
    import base64
    import http.client
    req = botocore.awsrequest.AWSRequest(method=method, url='http://%s%s' % (ADDR, path),
                                         data=body, headers=dict(headers))
    req.headers['x-amz-content-sha256'] = hashlib.sha256(body).hexdigest()
    botocore.auth.S3SigV4Auth(botocore.credentials.Credentials(ID, SECRET), 's3',
                              'us-east-1').add_auth(req)
    c = http.client.HTTPConnection(HOST, int(PORT), timeout=30)
    c.request(method, path, body=body, headers=dict(req.headers.items()))
    r = c.getresponse()
    out = r.status, r.read()
    c.close()
    return out


def delete():
    import base64
    s3 = client(timeout=60)
    s3.create_bucket(Bucket='dels')
    for i in range(250):
        s3.put_object(Bucket='dels', Key='k/%04d' % i, Body=b'%d' % i)
    objs = [{'Key': 'k/%04d' % i} for i in range(200)] + [{'Key': 'none/1'}, {'Key': 'none/2'}]
    r = s3.delete_objects(Bucket='dels', Delete={'Objects': objs})
    check(len(r.get('Deleted', [])) == 202 and not r.get('Errors') and
          sorted(d['Key'] for d in r['Deleted']) == sorted(o['Key'] for o in objs),
          'DeleteObjects of 202 keys (two missing): each reported deleted (%d, %r)' %
          (len(r.get('Deleted', [])), r.get('Errors')))
    left = [o['Key'] for o in s3.list_objects_v2(Bucket='dels').get('Contents', [])]
    check(left == ['k/%04d' % i for i in range(200, 250)], '50 keys left (%d)' % len(left))
    r = s3.delete_objects(Bucket='dels', Delete={'Objects': [{'Key': 'k/%04d' % i}
                                                            for i in range(200, 240)],
                                                'Quiet': True})
    check(not r.get('Deleted') and not r.get('Errors'), 'Quiet: nothing reported (%r)' %
          {k: v for k, v in r.items() if k != 'ResponseMetadata'})
    left = [o['Key'] for o in s3.list_objects_v2(Bucket='dels').get('Contents', [])]
    check(left == ['k/%04d' % i for i in range(240, 250)], 'Quiet: the keys deleted (%d left)' % len(left))
    check(code_of(s3.delete_objects, Bucket='dels',
                  Delete={'Objects': [{'Key': 'k/0240'}, {'Key': 'x' * 1025}]}) ==
          ('MalformedXML', 400), 'a key over 1,024 bytes: 400 MalformedXML (the strict reader)')
    check(code_of(s3.head_object, Bucket='dels', Key='k/0240')[1] == 200,
          'nothing deleted by it')
    s3.delete_objects(Bucket='dels', Delete={'Objects': [{'Key': 'k/0240'}]})
    body = (b'<Delete><Object><Key>k/0241</Key></Object></Delete>')
    st, rep = raw('POST', '/dels?delete', body, {})
    check(st == 400 and b'<Code>InvalidRequest</Code>' in rep,
          'no Content-MD5: 400 InvalidRequest (%d %r)' % (st, rep[:200]))
    st, rep = raw('POST', '/dels?delete', body,
                  {'Content-MD5': base64.b64encode(hashlib.md5(b'other').digest()).decode()})
    check(st == 400 and b'<Code>BadDigest</Code>' in rep, 'a wrong Content-MD5: 400 BadDigest (%d)' % st)
    bad = b'<Delete><Object><Key>k/0241</Key></Object>'
    st, rep = raw('POST', '/dels?delete', bad,
                  {'Content-MD5': base64.b64encode(hashlib.md5(bad).digest()).decode()})
    check(st == 400 and b'<Code>MalformedXML</Code>' in rep, 'malformed XML: 400 MalformedXML (%d)' % st)
    check(code_of(s3.head_object, Bucket='dels', Key='k/0241')[1] == 200,
          'nothing deleted by the refused requests')
    st, rep = raw('POST', '/dels?delete', body,
                  {'Content-MD5': base64.b64encode(hashlib.md5(body).digest()).decode()})
    check(st == 200 and b'<Deleted><Key>k/0241</Key></Deleted>' in rep,
          'a hand-made request with Content-MD5: deleted (%d %r)' % (st, rep[-200:]))
    check(code_of(s3.delete_objects, Bucket='nodels', Delete={'Objects': [{'Key': 'a'}]}) ==
          ('NoSuchBucket', 404), 'no such bucket: 404 NoSuchBucket')
    s3.delete_objects(Bucket='dels', Delete={'Objects': [{'Key': 'k/%04d' % i}
                                                        for i in range(242, 250)]})
    check(code_of(s3.delete_bucket, Bucket='dels') == (None, 200) and
          code_of(s3.head_bucket, Bucket='dels')[1] == 404, 'the bucket empty, deleted')


def multipart():
    """A multipart upload of two 5 MiB parts and a tail, through the same
    operations code in both servers: listed, completed, read back whole
    with its metadata and its -3 ETag; an abort leaves nothing."""
    s3 = client(timeout=60)
    s3.create_bucket(Bucket='mpu')
    u = s3.create_multipart_upload(Bucket='mpu', Key='big', ContentType='text/x-test',
                                   Metadata={'md5chksum': 'given'})['UploadId']
    sizes = [5 << 20, 5 << 20, 12345]
    datas = [bytes([65 + i]) * n for i, n in enumerate(sizes)]
    parts = []
    for i, d in enumerate(datas, 1):
        e = s3.upload_part(Bucket='mpu', Key='big', UploadId=u, PartNumber=i, Body=d)['ETag']
        check(e.strip('"') == md5(d), 'part %d: its ETag is its MD5' % i)
        parts.append({'PartNumber': i, 'ETag': e})
    lp = s3.list_parts(Bucket='mpu', Key='big', UploadId=u)
    check([p['Size'] for p in lp['Parts']] == sizes, 'ListParts: the three parts')
    check(code_of(s3.head_object, Bucket='mpu', Key='big')[1] == 404,
          'nothing visible before the completion')
    r = s3.complete_multipart_upload(Bucket='mpu', Key='big', UploadId=u,
                                     MultipartUpload={'Parts': parts})
    want = hashlib.md5(b''.join(bytes.fromhex(md5(d)) for d in datas)).hexdigest() + '-3'
    check(r['ETag'].strip('"') == want, 'completed: ETag %s' % r['ETag'])
    g = s3.get_object(Bucket='mpu', Key='big')
    body = g['Body'].read()
    check(body == b''.join(datas) and g['ContentType'] == 'text/x-test' and
          g['Metadata'] == {'md5chksum': 'given'}, 'read back whole, with its metadata')
    u2 = s3.create_multipart_upload(Bucket='mpu', Key='gone')['UploadId']
    s3.upload_part(Bucket='mpu', Key='gone', UploadId=u2, PartNumber=1, Body=b'z' * 100)
    s3.abort_multipart_upload(Bucket='mpu', Key='gone', UploadId=u2)
    check(code_of(s3.list_parts, Bucket='mpu', Key='gone', UploadId=u2)[0] == 'NoSuchUpload',
          'aborted: NoSuchUpload')
    check(not s3.list_multipart_uploads(Bucket='mpu').get('Uploads'), 'no upload left')
    s3.delete_object(Bucket='mpu', Key='big')
    s3.delete_bucket(Bucket='mpu')


if MODE == 'basic':
    basic()
elif MODE == 'upload':
    upload(sys.argv[5], int(sys.argv[6]))
elif MODE == 'verify':
    verify(sys.argv[5])
elif MODE == 'chunked':
    chunked()
elif MODE == 'copy':
    copy()
elif MODE == 'delete':
    delete()
elif MODE == 'multipart':
    multipart()
elif MODE == 'toolarge':
    toolarge(int(sys.argv[5]))
finish()
