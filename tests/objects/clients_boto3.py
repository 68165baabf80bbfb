#!/usr/bin/python3
"""paste-objects with boto3 (s3v4, path style) and hand-signed raw requests.
Usage: clients_boto3.py HOST:PORT ID SECRET MODE [ARGS]

MODE healthy: one object stored, read back and deleted by a fresh client.
MODE boto3: presigned GET and PUT URLs fetched by urllib; keys with spaces,
'+', non-ASCII and '//' through PUT, GET, HEAD, listing and presigned URLs;
2,500 keys listed by the paginator (pages of 1,000 and of 250) in UTF-8
byte order; all deleted by DeleteObjects in batches of 1,000.
MODE bad: malformed XML and headers, wrong signatures, expired and tampered
presigned URLs, ranges out of bounds, bodies shorter or longer than their
Content-Length: each gets its S3 error (or a bare 400 and a close when it
is not HTTP), nothing is stored, and another client is served after each.
MODE crash-upload DIR N SIZE: N threads upload objects of SIZE bytes, two
each, staggered; "key md5" lines in DIR/started before each PUT and in
DIR/acked after each 200 whose ETag is the MD5. Runs until the server dies.
MODE crash-verify DIR SIZE: every acked object reads back with its MD5;
every listed object was started, is SIZE bytes and has the MD5 it was sent
with (no partial object listed).
"""
import hashlib
import hmac
import os
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from s3test import ADDR, ID, SECRET, MODE, client, check, code_of, md5, finish

HOST, PORT = ADDR.split(':')


def sha(b):
    return hashlib.sha256(b).hexdigest()


def missing(s3, bucket, key):
    return code_of(s3.head_object, Bucket=bucket, Key=key)[1] == 404


def healthy():
    s3 = client(timeout=15)
    if code_of(s3.head_bucket, Bucket='health')[1] == 404:
        s3.create_bucket(Bucket='health')
    body = os.urandom(5000)
    s3.put_object(Bucket='health', Key='probe', Body=body)
    check(s3.get_object(Bucket='health', Key='probe')['Body'].read() == body,
          'an object stored and read back')
    s3.delete_object(Bucket='health', Key='probe')
    check(missing(s3, 'health', 'probe'), 'and deleted')


ODD = ['with space.txt', 'a+b=c', 'caf\u00e9/\u00fcber \u65e5\u672c.txt', 'x//y', '//lead',
       'trail//', 'mix +%20&?#;,.txt', 'plus+and space/+/']


def boto3_mode():
    s3 = client()
    s3.create_bucket(Bucket='boto')
    # Presigned PUT and GET, fetched by urllib: no SDK on the wire.
    for key in ['presigned/plain.bin'] + ['presigned/' + k for k in ODD[:4]]:
        body = os.urandom(70000)
        url = s3.generate_presigned_url('put_object', Params={'Bucket': 'boto', 'Key': key},
                                        ExpiresIn=120)
        req = urllib.request.Request(url, data=body, method='PUT',
                                     headers={'Content-Type': 'application/octet-stream'})
        with urllib.request.urlopen(req, timeout=30) as r:
            etag = r.headers['ETag']
            check(r.status == 200 and etag == '"%s"' % md5(body),
                  'presigned PUT %r: 200, ETag the MD5 (%s)' % (key, etag))
        url = s3.generate_presigned_url('get_object', Params={'Bucket': 'boto', 'Key': key},
                                        ExpiresIn=120)
        with urllib.request.urlopen(url, timeout=30) as r:
            got = r.read()
        check(got == body, 'presigned GET %r: the body back' % key)
        url = s3.generate_presigned_url('get_object', ExpiresIn=120,
                                        Params={'Bucket': 'boto', 'Key': key, 'Range': 'bytes=100-199'})
        # A presigned Range is a signed header: sent as a header.
        req = urllib.request.Request(url, headers={'Range': 'bytes=100-199'})
        with urllib.request.urlopen(req, timeout=30) as r:
            got = r.read()
            check(r.status == 206 and got == body[100:200], 'presigned ranged GET %r: 206' % key)
    # Odd keys through the SDK.
    for key in ODD:
        body = key.encode() * 3
        r = s3.put_object(Bucket='boto', Key=key, Body=body, Metadata={'k': 'v'})
        check(r['ETag'] == '"%s"' % md5(body), 'PUT %r: ETag' % key)
        g = s3.get_object(Bucket='boto', Key=key)
        check(g['Body'].read() == body and g['Metadata'] == {'k': 'v'}, 'GET %r: body, metadata' % key)
        check(s3.head_object(Bucket='boto', Key=key)['ContentLength'] == len(body), 'HEAD %r' % key)
    for key in ('x/y', '/lead', 'trail/'):
        check(missing(s3, 'boto', key), '%r is not %r: "//" kept' % (key, key.replace('/', '//')))
    got = [o['Key'] for o in s3.list_objects_v2(Bucket='boto')['Contents']]
    check(sorted(ODD) == sorted(k for k in got if not k.startswith('presigned/')),
          'odd keys listed as sent: %s' % got)
    # botocore asks for encoding-type=url itself and decodes (above);
    # asked by the caller, the keys are left encoded.
    got = [urllib.parse.unquote_plus(o['Key'])
           for o in s3.list_objects_v2(Bucket='boto', EncodingType='url')['Contents']]
    check(all(k in got for k in ODD), 'odd keys listed with encoding-type=url, decoded here')
    r = s3.list_objects_v2(Bucket='boto', Prefix='x/', Delimiter='/')
    check([p['Prefix'] for p in r.get('CommonPrefixes', [])] == ['x//'], "'x//y' under 'x/' with '/': 'x//'")
    # 2,500 keys (the odd ones among them), listed in pages.
    keys = ['k/%05d' % i for i in range(2500 - len(ODD))] + ODD
    lock = threading.Lock()
    errors = []

    def put_range(part):
        c = client()
        for k in keys[part::4]:
            try:
                c.put_object(Bucket='boto', Key=k, Body=k.encode())
            except Exception as e:     # noqa: BLE001 (reported below)
                with lock:
                    errors.append('%s: %s' % (k, e))
    ts = [threading.Thread(target=put_range, args=(p,)) for p in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    check(not errors, '2,500 PUTs from 4 clients: %d errors %s' % (len(errors), errors[:2]))
    want = sorted(set(keys) | {'presigned/plain.bin'} | {'presigned/' + k for k in ODD[:4]},
                  key=lambda s: s.encode())
    for size in (1000, 250):
        pages = list(s3.get_paginator('list_objects_v2').paginate(
            Bucket='boto', PaginationConfig={'PageSize': size}))
        got = [o['Key'] for p in pages for o in p.get('Contents', [])]
        check(got == want and len(pages) == -(-len(want) // size),
              'ListObjectsV2 pages of %d: %d keys in %d pages, UTF-8 byte order' % (size, len(got), len(pages)))
    pages = list(s3.get_paginator('list_objects').paginate(Bucket='boto', PaginationConfig={'PageSize': 1000}))
    check([o['Key'] for p in pages for o in p.get('Contents', [])] == want, 'ListObjects v1 pages of 1,000')
    # DeleteObjects, 1,000 a request (S3's limit).
    deleted = 0
    for i in range(0, len(want), 1000):
        r = s3.delete_objects(Bucket='boto', Delete={'Objects': [{'Key': k} for k in want[i:i + 1000]]})
        deleted += len(r.get('Deleted', []))
        check(not r.get('Errors'), 'DeleteObjects %d..: no errors' % i)
    check(deleted == len(want), 'DeleteObjects: %d deleted' % deleted)
    check(s3.list_objects_v2(Bucket='boto')['KeyCount'] == 0, 'the bucket is empty after')
    r = s3.delete_objects(Bucket='boto', Delete={'Objects': [{'Key': 'x//y'}], 'Quiet': True})
    check(not r.get('Errors') and not r.get('Deleted'), 'DeleteObjects Quiet of a missing key: nothing reported')
    s3.delete_bucket(Bucket='boto')


# --- raw requests ---------------------------------------------------------


def sign(method, path, query='', headers=None, payload='UNSIGNED-PAYLOAD', secret=None,
         amz_date=None):
    """SigV4 headers for a request, signed by hand as AWS documents it (so
    that a test can sign one thing and send another). @p path is the
    encoded path. @return the headers, Authorization included."""
    amz_date = amz_date or time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())
    day = amz_date[:8]
    scope = '%s/us-east-1/s3/aws4_request' % day
    h = {'host': ADDR, 'x-amz-date': amz_date, 'x-amz-content-sha256': payload}
    for k, v in (headers or {}).items():
        h[k.lower()] = v
    names = sorted(h)
    canonical = '\n'.join([method, path, query, ''.join('%s:%s\n' % (k, h[k]) for k in names),
                           ';'.join(names), payload])
    sts = '\n'.join(['AWS4-HMAC-SHA256', amz_date, scope, sha(canonical.encode())])
    mac = lambda k, m: hmac.new(k, m.encode(), hashlib.sha256).digest()
    k = mac(mac(mac(mac(('AWS4' + (secret or SECRET)).encode(), day), 'us-east-1'), 's3'),
            'aws4_request')
    h['authorization'] = 'AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s' % (
        ID, scope, ';'.join(names), hmac.new(k, sts.encode(), hashlib.sha256).hexdigest())
    return h


def exchange(data, shut=False, wait=10):
    """@p data sent on a new connection (write side shut after it when
    @p shut); @return what came back until the close or @p wait seconds
    of silence."""
    s = socket.create_connection((HOST, int(PORT)), timeout=wait)
    s.sendall(data)
    if shut:
        s.shutdown(socket.SHUT_WR)
    reply = b''
    try:
        while True:
            got = s.recv(65536)
            if not got:
                break
            reply += got
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    return reply


def head_of(method, path, h):
    return ('%s %s HTTP/1.1\r\n' % (method, path) +
            ''.join('%s: %s\r\n' % kv for kv in h.items()) + 'Connection: close\r\n\r\n').encode()


def status(reply):
    try:
        return int(reply.split(b' ', 2)[1])
    except (IndexError, ValueError):
        return 0


def s3code(reply):
    if b'<Code>' not in reply:
        return None
    return reply.split(b'<Code>', 1)[1].split(b'</Code>', 1)[0].decode()


def expect(reply, st, code, what):
    check(status(reply) == st and s3code(reply) == code,
          '%s: %d %s (%d %s)' % (what, st, code, status(reply), s3code(reply)))


def bad():
    s3 = client()
    s3.create_bucket(Bucket='bad')
    s3.put_object(Bucket='bad', Key='keep', Body=b'k' * 1000)
    body = os.urandom(10000)
    # Malformed XML: DeleteObjects with a mismatched tag, with a DOCTYPE,
    # cut short; the key it names survives.
    import base64
    for what, xml in (('mismatched tags', b'<Delete><Object><Key>keep</Key></Delete>'),
                      ('a DOCTYPE', b'<!DOCTYPE d [<!ENTITY e "keep">]><Delete><Object><Key>&e;</Key>'
                                    b'</Object></Delete>'),
                      ('cut short', b'<Delete><Object><Key>keep</Key></Obj'),
                      ('not XML', b'keep'),
                      ('no Object', b'<Delete></Delete>')):
        h = sign('POST', '/bad', 'delete=', {'content-md5': base64.b64encode(
            hashlib.md5(xml).digest()).decode(), 'content-length': str(len(xml))}, sha(xml))
        expect(exchange(head_of('POST', '/bad?delete', h) + xml), 400, 'MalformedXML',
               'DeleteObjects with %s' % what)
    check(not missing(s3, 'bad', 'keep'), '... and the key it named is still there')
    # Malformed heads: not HTTP, a header without a colon, a bad or doubled
    # Content-Length, an unknown Transfer-Encoding, a head of 20 KB.
    ok = sign('PUT', '/bad/h', headers={'content-length': '5'})
    for what, raw in (('a request line that is not HTTP', b'PUT /bad/h\r\n\r\n'),
                      ('a header without a colon', head_of('PUT', '/bad/h', ok)
                       .replace(b'\r\n\r\n', b'\r\nno colon here\r\n\r\n') + b'hello'),
                      ('a Content-Length that is not a number', head_of('PUT', '/bad/h', ok)
                       .replace(b'content-length: 5', b'content-length: 5x') + b'hello'),
                      ('two Content-Lengths that differ', head_of('PUT', '/bad/h', ok)
                       .replace(b'content-length: 5', b'content-length: 5\r\nContent-Length: 6') + b'hello'),
                      ('a head of 20 KB', head_of('PUT', '/bad/h', ok)
                       .replace(b'\r\n\r\n', b'\r\nx-pad: ' + b'p' * 20000 + b'\r\n\r\n') + b'hello')):
        reply = exchange(raw)
        check(400 <= status(reply) < 500 or status(reply) == 505,
              '%s: a 4xx and a close (%r)' % (what, reply[:40]))
    tenc = sign('PUT', '/bad/h', headers={'transfer-encoding': 'gzip'})
    reply = exchange(head_of('PUT', '/bad/h', tenc) + b'hello')
    check(status(reply) in (400, 501), 'an unknown Transfer-Encoding: 400 or 501 (%d)' % status(reply))
    check(missing(s3, 'bad', 'h'), '... and nothing stored by any of them')
    # Malformed signature headers.
    h = sign('PUT', '/bad/s', headers={'content-length': '5'})
    for what, auth, st, code in (
            ('Authorization cut short', 'AWS4-HMAC-SHA256 Credential=%s' % ID, 400,
             'AuthorizationHeaderMalformed'),
            ('an unknown algorithm', h['authorization'].replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA1'), 400,
             None),
            ('SigV2', 'AWS %s:c2lnbmF0dXJl' % ID, 400, 'InvalidRequest'),
            ('a signature of 63 digits', h['authorization'][:-1], 403, 'SignatureDoesNotMatch')):
        h2 = dict(h)
        h2['authorization'] = auth
        reply = exchange(head_of('PUT', '/bad/s', h2) + b'hello')
        if code is None:
            check(400 <= status(reply) < 500 and s3code(reply) is not None,
                  '%s: a 4xx with an S3 code (%d %s)' % (what, status(reply), s3code(reply)))
        else:
            expect(reply, st, code, what)
    h2 = dict(h)
    h2['x-amz-date'] = '2026-01-01T00:00:00Z'
    reply = exchange(head_of('PUT', '/bad/s', h2) + b'hello')
    check(status(reply) in (400, 403) and s3code(reply) is not None,
          'a malformed x-amz-date: refused (%d %s)' % (status(reply), s3code(reply)))
    h = sign('PUT', '/bad/s', headers={'content-length': '5', 'content-md5': 'not base64!'})
    expect(exchange(head_of('PUT', '/bad/s', h) + b'hello'), 400, 'InvalidDigest', 'a Content-MD5 not base64')
    check(missing(s3, 'bad', 's'), '... and nothing stored by any of them')
    # Wrong signatures: the wrong secret, a body other than the signed
    # one, a clock 20 minutes off.
    h = sign('PUT', '/bad/w', headers={'content-length': str(len(body))}, secret='wrong' + SECRET)
    expect(exchange(head_of('PUT', '/bad/w', h) + body), 403, 'SignatureDoesNotMatch', 'PUT with the wrong secret')
    h = sign('PUT', '/bad/w', headers={'content-length': str(len(body))}, payload=sha(b'other'))
    expect(exchange(head_of('PUT', '/bad/w', h) + body), 400, 'XAmzContentSHA256Mismatch',
           'PUT of a body other than the signed one')
    h = sign('PUT', '/bad/w', headers={'content-length': str(len(body))},
             amz_date=time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(time.time() - 1200)))
    expect(exchange(head_of('PUT', '/bad/w', h) + body), 403, 'RequestTimeTooSkewed', 'PUT signed 20 minutes ago')
    h = sign('PUT', '/bad/w', headers={'content-length': str(len(body))})
    h['x-amz-meta-added'] = 'after signing'
    h['authorization'] = h['authorization'].replace('host;', 'host;x-amz-meta-added;')
    expect(exchange(head_of('PUT', '/bad/w', h) + body), 403, 'SignatureDoesNotMatch',
           'PUT with a header added to SignedHeaders after signing')
    check(missing(s3, 'bad', 'w'), '... and nothing stored by any of them')
    # Presigned URLs: expired, tampered (key, expiry, signature), too long.
    url = s3.generate_presigned_url('put_object', Params={'Bucket': 'bad', 'Key': 'p'}, ExpiresIn=1)
    time.sleep(2.2)
    for what, u, st, code in (
            ('expired', url, 403, 'AccessDenied'),
            ('its key changed', url.replace('/bad/p?', '/bad/q?'), 403, 'SignatureDoesNotMatch'),
            ('its expiry changed', url.replace('X-Amz-Expires=1&', 'X-Amz-Expires=3600&'), 403,
             'SignatureDoesNotMatch'),
            ('its signature changed', url[:-1] + ('0' if url[-1] != '0' else '1'), 403,
             'SignatureDoesNotMatch')):
        req = urllib.request.Request(u, data=body, method='PUT')
        try:
            with urllib.request.urlopen(req, timeout=20) as r:
                got = (r.status, None)
        except urllib.error.HTTPError as e:
            got = (e.code, s3code(e.read()))
        check(got == (st, code) or (what != 'expired' and got[0] == 403 and got[1] == 'AccessDenied'),
              'presigned PUT %s: %d %s %s' % (what, st, code, got))
    url = s3.generate_presigned_url('get_object', Params={'Bucket': 'bad', 'Key': 'keep'},
                                    ExpiresIn=604801)
    try:
        urllib.request.urlopen(url, timeout=20)
        got = (200, None)
    except urllib.error.HTTPError as e:
        got = (e.code, s3code(e.read()))
    check(got[0] in (400, 403) and got[1] is not None, 'presigned GET valid for 7 days and 1 s: refused %s' % (got,))
    check(missing(s3, 'bad', 'p') and missing(s3, 'bad', 'q'), '... and nothing stored by them')
    # Ranges out of bounds.
    check(code_of(s3.get_object, Bucket='bad', Key='keep', Range='bytes=1000-') == ('InvalidRange', 416),
          'Range bytes=1000- of 1,000 bytes: 416 InvalidRange')
    check(code_of(s3.get_object, Bucket='bad', Key='keep', Range='bytes=5000-6000') == ('InvalidRange', 416),
          'Range bytes=5000-6000 of 1,000 bytes: 416 InvalidRange')
    g = s3.get_object(Bucket='bad', Key='keep', Range='bytes=-5000')
    check(g['ResponseMetadata']['HTTPStatusCode'] == 206 and g['ContentRange'] == 'bytes 0-999/1000',
          'Range bytes=-5000 of 1,000 bytes: 206, the whole object')
    g = s3.get_object(Bucket='bad', Key='keep', Range='bytes=9-2')
    check(g['ResponseMetadata']['HTTPStatusCode'] == 200 and len(g['Body'].read()) == 1000,
          'Range bytes=9-2 (invalid): ignored, 200 and the whole object')
    h = sign('GET', '/bad/keep', headers={'range': 'bytes=1000-'})
    reply = exchange(head_of('GET', '/bad/keep', h))
    check(b'Content-Range: bytes */1000' in reply, '416 with Content-Range: bytes */1000')
    # A body shorter than its Content-Length, the write side then shut:
    # IncompleteBody, nothing stored.
    h = sign('PUT', '/bad/short', headers={'content-length': str(len(body))})
    reply = exchange(head_of('PUT', '/bad/short', h) + body[:4000], shut=True)
    expect(reply, 400, 'IncompleteBody', 'a body of 4,000 bytes of 10,000 declared, then EOF')
    check(missing(s3, 'bad', 'short'), '... and nothing stored')
    # The same, the client then silent: told at the request timeout
    # (RequestTimeout, as S3), then closed.
    start = time.monotonic()
    reply = exchange(head_of('PUT', '/bad/short', h) + body[:4000], wait=60)
    check(time.monotonic() - start < 50, 'a body cut short and silence: the connection ended in %.1f s'
          % (time.monotonic() - start))
    expect(reply, 400, 'RequestTimeout', '... with')
    check(missing(s3, 'bad', 'short'), '... and nothing stored')
    # A body longer than its Content-Length: the declared bytes are the
    # body, checked against the signed hash or Content-MD5 of the whole
    # (refused, nothing stored); the rest is a head that is not HTTP.
    longer = body[:4000] + b'surplus, not HTTP\r\n\r\n'
    h = sign('PUT', '/bad/long', headers={'content-length': '4000'}, payload=sha(longer))
    reply = exchange(head_of('PUT', '/bad/long', h).replace(b'Connection: close\r\n', b'') + longer)
    expect(reply, 400, 'XAmzContentSHA256Mismatch', 'a signed body of 4,021 bytes, 4,000 declared')
    check(reply.count(b'HTTP/1.1 400 ') == 2, '... its surplus then read as a head: a bare 400')
    h = sign('PUT', '/bad/long', headers={'content-length': '4000', 'content-md5': base64.b64encode(
        hashlib.md5(longer).digest()).decode()})
    reply = exchange(head_of('PUT', '/bad/long', h).replace(b'Connection: close\r\n', b'') + longer)
    expect(reply, 400, 'BadDigest', 'a body of 4,021 bytes with its Content-MD5, 4,000 declared')
    check(missing(s3, 'bad', 'long'), '... and nothing stored by either')
    # Nothing else appeared; the bucket holds the one key.
    got = [o['Key'] for o in s3.list_objects_v2(Bucket='bad').get('Contents', [])]
    check(got == ['keep'], 'the bucket lists only the key put first: %s' % got)
    healthy()


# --- crash ----------------------------------------------------------------


def crash_upload(d, n, size):
    s3c = client(timeout=20)
    s3c.create_bucket(Bucket='crash')
    lock = threading.Lock()
    started = open(os.path.join(d, 'started'), 'a')
    acked = open(os.path.join(d, 'acked'), 'a')

    def work(t):
        s3 = client(timeout=30)
        time.sleep(t * 0.3)     # so that some uploads are always in flight
        for i in range(2):
            body = os.urandom(size)
            key = 't%d/o%d' % (t, i)
            with lock:
                started.write('%s %s\n' % (key, md5(body)))
                started.flush()
            try:
                r = s3.put_object(Bucket='crash', Key=key, Body=body)
            except Exception:        # noqa: BLE001 (the server was killed)
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


def crash_verify(d, size):
    s3 = client(timeout=60)
    started = dict(l.split() for l in open(os.path.join(d, 'started')))
    acked = dict(l.split() for l in open(os.path.join(d, 'acked')))
    check(len(acked) > 0 and len(started) > len(acked),
          '%d uploads started, %d acknowledged before the kill' % (len(started), len(acked)))
    bad = [k for k, m in acked.items()
           if md5(s3.get_object(Bucket='crash', Key=k)['Body'].read()) != m]
    check(not bad, 'every acknowledged object reads back with its MD5 (bad: %s)' % bad)
    listed = [o for pg in s3.get_paginator('list_objects_v2').paginate(Bucket='crash')
              for o in pg.get('Contents', [])]
    partial = []
    for o in listed:
        m = started.get(o['Key'])
        if m is None or o['Size'] != size or o['ETag'] != '"%s"' % m:
            partial.append(o['Key'])
            continue
        if md5(s3.get_object(Bucket='crash', Key=o['Key'])['Body'].read()) != m:
            partial.append(o['Key'])
    check(not partial and len(listed) >= len(acked),
          '%d listed (%d acknowledged), each whole as sent (partial: %s)' % (len(listed), len(acked), partial))


if MODE == 'healthy':
    healthy()
elif MODE == 'boto3':
    boto3_mode()
elif MODE == 'bad':
    bad()
elif MODE == 'crash-upload':
    crash_upload(sys.argv[5], int(sys.argv[6]), int(sys.argv[7]))
    sys.exit(0)
elif MODE == 'crash-verify':
    crash_verify(sys.argv[5], int(sys.argv[6]))
else:
    sys.exit('unknown mode ' + MODE)
finish()
