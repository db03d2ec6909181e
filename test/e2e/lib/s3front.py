#!/usr/bin/python3
"""s3front.py: the verifying front of the test S3, on 127.0.0.1 only.

Sits between indicina (or boto3) and s3rver, which checks no SigV4
signature and answers neither ListMultipartUploads nor
AbortMultipartUpload.  For every request the front

  - recomputes the SigV4 signature with botocore (S3SigV4Auth over the
    headers the request says it signed, the raw path and query) and
    answers 403 SignatureDoesNotMatch on any difference; checks the
    payload hash, the credential's region and key id, the session token
    and the clock;
  - answers ListMultipartUploads and AbortMultipartUpload itself, from the
    multipart uploads it saw created and not yet completed, and a second
    CompleteMultipartUpload of an upload with 404 NoSuchUpload, as S3 does;
  - injects the faults the test asked for (500, 503 SlowDown, a connection
    dropped mid-body: in a GET's answer, or in a write's request body
    before the write is done; for a write the answer dropped once the write
    is done, a slow answer) on a given request number, key or method;
  - forwards everything else to s3rver, without the Authorization header;
    path-style requests as they are, virtual-hosted ones (Host
    BUCKET.localhost) rewritten to path style.

With --tls-cert and --tls-key it serves HTTPS (a second front, for the
ca_file tests).

Control requests (paths under /_front/, which no bucket name can be):
  POST /_front/faults   a JSON list of faults to add:
        {"kind": "500" | "503" | "drop" | "cut" | "slow", "n": request number,
         "key": exact key, "method": "GET", "query": substring of the query,
         "skip": matching requests to let through first, "times": 1,
         "after": body bytes sent before a drop (or, for "cut", read from the
         request's body before the connection is closed), "delay": seconds}
  DELETE /_front/faults   clears them
  GET /_front/log         the requests seen (JSON lines), DELETE clears it
  GET /_front/uploads     the multipart uploads in progress (JSON)
"""
import argparse
import hashlib
import hmac
import http.client
import http.server
import json
import re
import socket
import ssl
import sys
import threading
import time
from datetime import datetime, timezone
from urllib.parse import parse_qsl, unquote
from xml.etree import ElementTree as ET

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AUTH_RE = re.compile(
    r'^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/s3/aws4_request, ?'
    r'SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$')
NS = 'http://s3.amazonaws.com/doc/2006-03-01/'


class State:
    def __init__(self, credentials, region, upstream):
        self.lock = threading.Lock()
        self.n = 0
        self.faults = []
        self.log = []
        self.uploads = {}
        self.completed = set()
        self.credentials = credentials
        self.region = region
        self.upstream = upstream

    def take_fault(self, n, method, key, query, cut=False):
        """The first fault matching the request and not used up; with cut,
        only "cut" faults (taken before the body is read), else any other."""
        with self.lock:
            for f in self.faults:
                if f.get('times', 1) <= 0 or (f.get('kind') == 'cut') != cut:
                    continue
                if 'n' in f and f['n'] != n:
                    continue
                if 'key' in f and f['key'] != key:
                    continue
                if 'method' in f and f['method'] != method:
                    continue
                if 'query' in f and f['query'] not in query:
                    continue
                if f.get('skip', 0) > 0:
                    f['skip'] -= 1
                    continue
                f['times'] = f.get('times', 1) - 1
                return f
        return None


# the faults answered with an S3 error instead of the request: status, code, message
FAULT_ERRORS = {
    '500': (500, 'InternalError', 'We encountered an internal error. Please try again.'),
    '503': (503, 'SlowDown', 'Please reduce your request rate.'),
}


def xml_bytes(root):
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root)


def error_xml(code, message, request_id, resource):
    root = ET.Element('Error')
    for name, value in (('Code', code), ('Message', message), ('Resource', resource),
                        ('RequestId', request_id)):
        ET.SubElement(root, name).text = value
    return xml_bytes(root)


class Front(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'indicina-test-s3-front'
    disable_nagle_algorithm = True     # headers and body are separate writes: no 40 ms delayed ACK

    def log_message(self, *args):
        pass

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = lambda self: self.handle_any()

    # -- helpers -------------------------------------------------------
    def reply(self, status, body=b'', headers=(), head_length=None):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if head_length is not None and self.command == 'HEAD':
            self.send_header('Content-Length', str(head_length))
        else:
            self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.command != 'HEAD' and body:
            self.wfile.write(body)

    def reply_error(self, status, code, message, rid, resource):
        self.reply(status, error_xml(code, message, rid, resource),
                   [('Content-Type', 'application/xml'), ('x-amz-request-id', rid)])

    def drop_connection(self):
        """The connection lost: this request gets no (more) answer."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def control(self, path, body):
        """The /_front/ endpoints: each, by path and method, is one action on
        the state under its lock; one that returns (text, content type) is
        answered 200 with it, the others 204."""
        st = self.server.state
        actions = {
            ('/_front/faults', 'POST'): lambda: st.faults.extend(json.loads(body or b'[]')),
            ('/_front/faults', 'DELETE'): lambda: setattr(st, 'faults', []),
            ('/_front/log', 'GET'):
                lambda: (''.join(json.dumps(e) + '\n' for e in st.log), 'application/x-ndjson'),
            ('/_front/log', 'DELETE'): lambda: setattr(st, 'log', []),
            ('/_front/uploads', 'GET'): lambda: (json.dumps(st.uploads), 'application/json'),
        }
        action = actions.get((path, self.command))
        if action is None:
            return self.reply(404)
        with st.lock:
            out = action()
        if out is None:
            return self.reply(204)
        text, content_type = out
        return self.reply(200, text.encode(), [('Content-Type', content_type)])

    # -- SigV4 ---------------------------------------------------------
    def verify(self, body):
        """None when the request is signed right, else (status, code, message)."""
        st = self.server.state
        auth = self.headers.get('Authorization')
        if not auth:
            return 403, 'AccessDenied', 'Anonymous access is refused by the test S3.'
        m = AUTH_RE.match(auth)
        if not m:
            return 400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed.'
        key_id, date, region, signed, signature = m.groups()
        cred = st.credentials.get(key_id)
        if cred is None:
            return 403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.'
        if region != st.region:
            return 400, 'AuthorizationHeaderMalformed', \
                f"The authorization header is malformed; the region '{region}' is wrong; expecting '{st.region}'."
        amz_date = self.headers.get('x-amz-date', '')
        try:
            when = datetime.strptime(amz_date, '%Y%m%dT%H%M%SZ').replace(tzinfo=timezone.utc)
        except ValueError:
            return 403, 'AccessDenied', 'The request has no valid x-amz-date.'
        if amz_date[:8] != date:
            return 403, 'SignatureDoesNotMatch', 'The credential date is not the x-amz-date.'
        if abs((datetime.now(timezone.utc) - when).total_seconds()) > 900:
            return 403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.'
        names = signed.split(';')
        for needed in ('host', 'x-amz-content-sha256', 'x-amz-date'):
            if needed not in names:
                return 403, 'AccessDenied', f'The header {needed} must be signed.'
        payload = self.headers.get('x-amz-content-sha256', '')
        if payload != 'UNSIGNED-PAYLOAD' and payload != hashlib.sha256(body).hexdigest():
            return 400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed."
        if cred.get('token'):
            if self.headers.get('x-amz-security-token') != cred['token'] or 'x-amz-security-token' not in names:
                return 403, 'InvalidToken', 'The provided token is malformed or otherwise invalid.'
        headers = {}
        for name in names:
            values = self.headers.get_all(name)
            if values is None:
                return 403, 'SignatureDoesNotMatch', f'The signed header {name} is missing.'
            headers[name] = ','.join(values)
        req = AWSRequest(method=self.command, url='http://' + self.headers['Host'] + self.path,
                         headers=headers, data=body)
        req.context['timestamp'] = amz_date
        signer = S3SigV4Auth(Credentials(key_id, cred['secret'], cred.get('token')), 's3', region)
        canonical = signer.canonical_request(req)
        expected = signer.signature(signer.string_to_sign(req, canonical), req)
        if not hmac.compare_digest(expected, signature):
            return 403, 'SignatureDoesNotMatch', \
                'The request signature we calculated does not match the signature you provided. Check your key and signing method.'
        return None

    # -- multipart uploads s3rver does not track -----------------------
    def list_uploads(self, bucket, params, rid):
        st = self.server.state
        root = ET.Element('ListMultipartUploadsResult', xmlns=NS)
        ET.SubElement(root, 'Bucket').text = bucket
        ET.SubElement(root, 'KeyMarker').text = ''
        ET.SubElement(root, 'UploadIdMarker').text = ''
        ET.SubElement(root, 'MaxUploads').text = '1000'
        ET.SubElement(root, 'IsTruncated').text = 'false'
        prefix = params.get('prefix', '')
        with st.lock:
            uploads = sorted(st.uploads.items(), key=lambda u: (u[1]['key'], u[0]))
        for upload_id, u in uploads:
            if u['bucket'] != bucket or not u['key'].startswith(prefix):
                continue
            e = ET.SubElement(root, 'Upload')
            ET.SubElement(e, 'Key').text = u['key']
            ET.SubElement(e, 'UploadId').text = upload_id
            ET.SubElement(e, 'Initiated').text = u['initiated']
            ET.SubElement(e, 'StorageClass').text = 'STANDARD'
        self.reply(200, xml_bytes(root), [('Content-Type', 'application/xml'), ('x-amz-request-id', rid)])

    # -- every S3 request ----------------------------------------------
    def handle_any(self):
        st = self.server.state
        length = int(self.headers.get('Content-Length') or 0)
        path, _, query = self.path.partition('?')
        if path.startswith('/_front/'):
            return self.control(path, self.rfile.read(length) if length else b'')
        with st.lock:
            st.n += 1
            n = st.n
        rid = f'FRONT{n:08d}'
        host = (self.headers.get('Host') or '').rsplit(':', 1)[0]
        if host.endswith('.localhost'):
            # virtual-hosted style (curl resolves *.localhost to the loopback)
            style = 'virtual'
            bucket = host[:-len('.localhost')]
            key = unquote(path).lstrip('/')
            upstream_path = '/' + bucket + self.path
        else:
            style = 'path'
            parts = unquote(path).lstrip('/').split('/', 1)
            bucket = parts[0]
            key = parts[1] if len(parts) > 1 else ''
            upstream_path = self.path
        params = dict(parse_qsl(query, keep_blank_values=True))
        entry = {'n': n, 'method': self.command, 'style': style, 'bucket': bucket, 'key': key, 'query': query,
                 'range': self.headers.get('Range')}

        def done(status, note=None):
            entry['status'] = status
            if note:
                entry['note'] = note
            with st.lock:
                st.log.append(entry)

        cut = st.take_fault(n, self.command, key, query, cut=True) if length else None
        if cut:
            # the connection lost in the middle of the request's body: nothing reaches s3rver
            after = min(int(cut.get('after', length // 2)), length)
            self.rfile.read(after)
            done(None, f'fault cut after {after} of {length} body bytes')
            return self.drop_connection()
        body = self.rfile.read(length) if length else b''
        problem = self.verify(body)
        if problem:
            status, code, message = problem
            done(status, code)
            return self.reply_error(status, code, message, rid, path)
        fault = st.take_fault(n, self.command, key, query)
        kind = fault['kind'] if fault else None
        if kind in FAULT_ERRORS:
            status, code, message = FAULT_ERRORS[kind]
            done(status, f'fault {kind}')
            return self.reply_error(status, code, message, rid, path)
        if kind == 'slow':
            time.sleep(float(fault.get('delay', 5)))

        if self.command == 'GET' and key == '' and 'uploads' in params:
            done(200)
            return self.list_uploads(bucket, params, rid)
        if self.command == 'DELETE' and 'uploadId' in params:
            with st.lock:
                known = st.uploads.pop(params['uploadId'], None)
            if known is None:
                done(404, 'NoSuchUpload')
                return self.reply_error(404, 'NoSuchUpload', 'The specified upload does not exist.', rid, path)
            done(204, 'aborted')
            return self.reply(204, headers=[('x-amz-request-id', rid)])

        if self.command == 'POST' and 'uploadId' in params:
            with st.lock:
                gone = params['uploadId'] in st.completed
            if gone:
                # as S3 answers once a completed upload is gone (s3rver answers 500)
                done(404, 'NoSuchUpload')
                return self.reply_error(404, 'NoSuchUpload', 'The specified upload does not exist.', rid, path)
        status, headers, data = self.forward(body, upstream_path)
        if self.command == 'POST' and 'uploads' in params and status == 200:
            upload_id = ET.fromstring(data).findtext(f'{{{NS}}}UploadId') or ET.fromstring(data).findtext('UploadId')
            with st.lock:
                st.uploads[upload_id] = {'bucket': bucket, 'key': key,
                                         'initiated': datetime.now(timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.000Z')}
        if self.command == 'POST' and 'uploadId' in params and status == 200:
            with st.lock:
                st.uploads.pop(params['uploadId'], None)
                st.completed.add(params['uploadId'])
        if kind == 'drop' and self.command in ('PUT', 'POST', 'DELETE'):
            # the write reached s3rver, its answer is lost: the client must retry idempotently
            done(status, 'fault drop before the answer')
            return self.drop_connection()
        headers = [(k, v) for k, v in headers
                   if k.lower() not in ('content-length', 'transfer-encoding', 'connection', 'x-amz-request-id')]
        headers.append(('x-amz-request-id', rid))
        if kind == 'drop' and self.command == 'GET' and len(data) > 1:
            after = int(fault.get('after', len(data) // 2))
            done(status, f'fault drop after {after} bytes')
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data[:after])
            self.wfile.flush()
            return self.drop_connection()
        done(status, f'fault {kind}' if kind else None)
        head_length = None
        if self.command == 'HEAD':
            head_length = dict((k.lower(), v) for k, v in self.upstream_headers).get('content-length', '0')
        self.reply(status, data, headers, head_length=head_length)

    def forward(self, body, upstream_path):
        st = self.server.state
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ('authorization', 'x-amz-security-token', 'host', 'connection', 'expect')}
        headers['Host'] = f'127.0.0.1:{st.upstream}'
        # one kept-alive connection to s3rver per client connection
        for attempt in (1, 2):
            if getattr(self, 'upstream_conn', None) is None:
                self.upstream_conn = http.client.HTTPConnection('127.0.0.1', st.upstream, timeout=120)
            try:
                self.upstream_conn.request(self.command, upstream_path, body=body or None, headers=headers)
                resp = self.upstream_conn.getresponse()
                data = resp.read()
                break
            except (http.client.HTTPException, OSError):
                self.upstream_conn.close()
                self.upstream_conn = None
                if attempt == 2:
                    raise
        self.upstream_headers = resp.getheaders()
        return resp.status, resp.getheaders(), data


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--upstream', type=int, required=True, help="s3rver's port")
    ap.add_argument('--region', default='us-east-1')
    ap.add_argument('--credentials', required=True,
                    help='a JSON file: {"KEY_ID": {"secret": "...", "token": "..." (optional)}}')
    ap.add_argument('--tls-cert', help='serve HTTPS with this certificate (PEM)')
    ap.add_argument('--tls-key', help="the certificate's private key (PEM)")
    args = ap.parse_args()
    with open(args.credentials) as f:
        credentials = json.load(f)
    server = Server(('127.0.0.1', args.port), Front)
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.state = State(credentials, args.region, args.upstream)
    print(f'test S3 front on 127.0.0.1:{args.port} -> s3rver on 127.0.0.1:{args.upstream}', flush=True)
    server.serve_forever()


if __name__ == '__main__':
    sys.exit(main())
