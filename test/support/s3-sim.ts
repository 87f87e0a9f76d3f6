import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';

/**
 * A small S3-compatible server for tests: path-style PutObject / GetObject / DeleteObject on one bucket,
 * per the Amazon S3 REST API. Every request must carry a valid AWS Signature Version 4 `Authorization`
 * header (verified with the test credentials), `x-amz-date` and `x-amz-content-sha256` (checked against
 * the body). Errors use the S3 XML error body. Anything else is answered with an error AND recorded in
 * `unexpected`, so a test can assert that the driver only ever made the calls it should.
 */
export interface S3Sim {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  objects: Map<string, { data: Buffer; contentType: string; checksums: Record<string, string> }>;
  /** Every request: method, path, S3 operation (or error code). */
  log: { method: string; path: string; op: string; status: number }[];
  /** Requests the simulator did not expect (unsupported operation, bad signature, wrong bucket, …). */
  unexpected: string[];
  close(): Promise<void>;
}

const MAX_SKEW_MS = 15 * 60 * 1000;

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding as SigV4 wants it for the canonical query string. */
const rfc3986 = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function xmlError(code: string, message: string, extra: Record<string, string> = {}): string {
  const esc = (v: string) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const fields = Object.entries({ Code: code, Message: message, ...extra })
    .map(([k, v]) => `<${k}>${esc(v)}</${k}>`)
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${fields}<RequestId>${randomBytes(8).toString('hex').toUpperCase()}</RequestId></Error>`;
}

class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface S3SimOptions {
  bucket?: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
}

export async function startS3Sim(opts: S3SimOptions = {}): Promise<S3Sim> {
  const bucket = opts.bucket ?? 'resolve-test';
  const region = opts.region ?? 'eu-central-1';
  const accessKeyId = opts.accessKeyId ?? 'AKIDRESOLVETEST';
  const secretAccessKey = opts.secretAccessKey ?? 'resolve-test-secret-key';
  const objects: S3Sim['objects'] = new Map();
  const log: S3Sim['log'] = [];
  const unexpected: string[] = [];

  /** Verifies the SigV4 Authorization header; returns nothing or throws an S3Error. */
  function authenticate(req: http.IncomingMessage, body: Buffer): void {
    const auth = req.headers.authorization;
    const amzDate = req.headers['x-amz-date'];
    const payloadHash = req.headers['x-amz-content-sha256'];
    if (!auth) throw new S3Error(403, 'AccessDenied', 'Access Denied');
    const m =
      /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
        auth,
      );
    if (!m) throw new S3Error(400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed.');
    const [, keyId, date, scopeRegion, service, signedHeaderList, signature] = m;
    if (typeof amzDate !== 'string' || !/^\d{8}T\d{6}Z$/.test(amzDate))
      throw new S3Error(403, 'AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
    if (typeof payloadHash !== 'string')
      throw new S3Error(
        400,
        'InvalidRequest',
        'Missing required header for this request: x-amz-content-sha256',
      );
    if (keyId !== accessKeyId)
      throw new S3Error(
        403,
        'InvalidAccessKeyId',
        'The AWS Access Key Id you provided does not exist in our records.',
      );
    if (date !== amzDate.slice(0, 8) || scopeRegion !== region || service !== 's3')
      throw new S3Error(
        400,
        'AuthorizationHeaderMalformed',
        `The authorization header scope is wrong; expecting '${region}/s3'.`,
      );
    const when = Date.parse(
      `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
    );
    if (!(Math.abs(Date.now() - when) <= MAX_SKEW_MS))
      throw new S3Error(
        403,
        'RequestTimeTooSkewed',
        'The difference between the request time and the current time is too large.',
      );

    const signed = signedHeaderList.split(';');
    for (const required of ['host', 'x-amz-date', 'x-amz-content-sha256'])
      if (!signed.includes(required))
        throw new S3Error(
          403,
          'AccessDenied',
          `There were headers present in the request which were not signed: ${required}`,
        );
    if (payloadHash !== 'UNSIGNED-PAYLOAD') {
      if (!/^[0-9a-f]{64}$/.test(payloadHash))
        throw new S3Error(
          400,
          'InvalidArgument',
          `x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a SHA-256 (got ${payloadHash})`,
        );
      if (payloadHash !== sha256(body))
        throw new S3Error(
          400,
          'XAmzContentSHA256Mismatch',
          "The provided 'x-amz-content-sha256' header does not match what was computed.",
        );
    }

    const url = new URL(req.url ?? '/', 'http://sim');
    const rawPath = (req.url ?? '/').split('?')[0];
    const query = [...url.searchParams.entries()]
      .map(([k, v]) => [rfc3986(k), rfc3986(v)])
      .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
    const headerLines = signed.map((name) => {
      const raw = req.headers[name];
      if (raw === undefined)
        throw new S3Error(403, 'SignatureDoesNotMatch', `Signed header ${name} is missing.`);
      const value = (Array.isArray(raw) ? raw.join(',') : raw).trim().replace(/\s+/g, ' ');
      return `${name}:${value}\n`;
    });
    // S3 signs the path as sent (encoded once, not normalised).
    const canonical = [req.method, rawPath, query, headerLines.join(''), signedHeaderList, payloadHash].join(
      '\n',
    );
    const scope = `${date}/${region}/s3/aws4_request`;
    const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
    const kSigning = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, date), region), 's3'), 'aws4_request');
    const expected = Buffer.from(hmac(kSigning, stringToSign).toString('hex'));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given))
      throw new S3Error(
        403,
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided.',
      );
  }

  function handle(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): string {
    authenticate(req, body);
    const url = new URL(req.url ?? '/', 'http://sim');
    const [, pathBucket, ...rest] = url.pathname.split('/');
    if (pathBucket !== bucket)
      throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', {
        BucketName: pathBucket,
      });
    if (!rest.length || rest.join('/') === '')
      throw new S3Error(501, 'NotImplemented', 'Bucket operations are not simulated');
    const key = rest.map(decodeURIComponent).join('/');
    const params = [...url.searchParams.keys()].filter((k) => k !== 'x-id');
    if (params.length)
      throw new S3Error(501, 'NotImplemented', `Unsupported sub-resource ${params.join(',')}`);

    if (req.method === 'PUT') {
      if (req.headers['x-amz-copy-source'])
        throw new S3Error(501, 'NotImplemented', 'CopyObject is not simulated');
      if (req.headers['content-encoding']?.includes('aws-chunked') || req.headers['transfer-encoding'])
        throw new S3Error(501, 'NotImplemented', 'Only single-chunk uploads are simulated');
      const length = Number(req.headers['content-length']);
      if (!Number.isInteger(length) || length !== body.length)
        throw new S3Error(411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.');
      const checksums: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers))
        if (name.startsWith('x-amz-checksum-') && typeof value === 'string') checksums[name] = value;
      if (checksums['x-amz-checksum-crc32']) {
        const crc = Buffer.alloc(4);
        crc.writeUInt32BE(crc32(body));
        if (crc.toString('base64') !== checksums['x-amz-checksum-crc32'])
          throw new S3Error(
            400,
            'BadDigest',
            'The CRC32 you specified did not match the calculated checksum.',
          );
      }
      const contentType = req.headers['content-type'] ?? 'binary/octet-stream';
      objects.set(key, { data: body, contentType, checksums });
      res.writeHead(200, { etag: `"${createHash('md5').update(body).digest('hex')}"`, 'content-length': 0 });
      res.end();
      return 'PutObject';
    }
    if (req.method === 'GET') {
      const obj = objects.get(key);
      if (!obj)
        throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', {
          Key: key,
          Resource: `/${bucket}/${key}`,
        });
      const headers: Record<string, string | number> = {
        'content-type': obj.contentType,
        'content-length': obj.data.length,
        etag: `"${createHash('md5').update(obj.data).digest('hex')}"`,
        'last-modified': new Date().toUTCString(),
      };
      if (req.headers['x-amz-checksum-mode'] === 'ENABLED') Object.assign(headers, obj.checksums);
      res.writeHead(200, headers);
      res.end(obj.data);
      return 'GetObject';
    }
    if (req.method === 'DELETE') {
      // S3 answers 204 whether or not the key existed.
      objects.delete(key);
      res.writeHead(204);
      res.end();
      return 'DeleteObject';
    }
    throw new S3Error(405, 'MethodNotAllowed', `The specified method is not allowed: ${req.method}`);
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry = { method: req.method ?? '', path: req.url ?? '', op: '', status: 0 };
      try {
        entry.op = handle(req, Buffer.concat(chunks), res);
        entry.status = res.statusCode;
      } catch (err) {
        const e =
          err instanceof S3Error ? err : new S3Error(500, 'InternalError', `Simulator error: ${String(err)}`);
        entry.op = e.code;
        entry.status = e.status;
        // NoSuchKey on GET is a normal answer; everything else is something the driver should never cause.
        if (!(e.code === 'NoSuchKey' && req.method === 'GET'))
          unexpected.push(`${req.method} ${req.url}: ${e.status} ${e.code} ${e.message}`);
        const xml = xmlError(e.code, e.message, e.extra);
        res.writeHead(e.status, {
          'content-type': 'application/xml',
          'content-length': Buffer.byteLength(xml),
        });
        res.end(req.method === 'HEAD' ? undefined : xml);
      }
      log.push(entry);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    region,
    accessKeyId,
    secretAccessKey,
    objects,
    log,
    unexpected,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
