import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { assertError, assertInvalidAt, ordersApi } from './support/http.js';
import { orderDoc } from './support/orders.js';

// Errors raised by Fastify's router or Node's HTTP parser, before the app's error handler runs, still answer in
// the app's error shape with a stable key. Parser errors need real HTTP: inject does not go through the parser.

let ctx: TestContext;
let shop: TestShop;
let port: number;

before(async () => {
  ctx = await startTestApp();
  shop = await createTestShop(ctx.db, 'fwerr');
  await ctx.app.listen({ host: '127.0.0.1', port: 0 });
  port = (ctx.app.server.address() as net.AddressInfo).port;
});
after(() => ctx.close());

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  closed: boolean;
}

/** Writes raw bytes, half-closes (unless `keepOpen`), and reads the answer until the server closes the socket. */
function raw(bytes: string, opts: { keepOpen?: boolean } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to ${JSON.stringify(bytes.slice(0, 80))}`));
    }, 10_000);
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', () => {}); // a reset after the answer is fine
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const [head, ...rest] = text.split('\r\n\r\n');
      const [statusLine, ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({
        status: Number(statusLine.split(' ')[1]),
        headers,
        body: rest.join('\r\n\r\n'),
        closed: true,
      });
    });
    socket.write(bytes);
    if (!opts.keepOpen) socket.end();
  });
}

function assertAppError(res: RawAnswer, status: number, key: string) {
  assert.equal(res.status, status, `${res.status}: ${res.body}`);
  assert.match(res.headers['content-type'] ?? '', /^application\/json/);
  assert.equal(Number(res.headers['content-length']), Buffer.byteLength(res.body));
  const body = JSON.parse(res.body);
  assert.deepEqual(Object.keys(body), ['error']);
  assert.deepEqual(Object.keys(body.error).sort(), ['key', 'message', 'type']);
  assert.equal(body.error.key, key);
  assert.equal(body.error.type, status >= 500 ? 'api_error' : 'invalid_request_error');
  assert.ok(body.error.message.length > 0);
}

describe('router errors (frameworkErrors)', () => {
  test('a path parameter longer than any identifier: 414 uri_too_long, before authentication', async () => {
    const long = 'x'.repeat(513);
    for (const req of [
      { method: 'GET', url: `/v1/shops/${shop.slug}/claims/${long}`, headers: shop.auth.viewer },
      { method: 'GET', url: `/v1/shops/${shop.slug}/claims/${long}` },
      {
        method: 'POST',
        url: `/v1/resolve/${'a'.repeat(513)}/sessions`,
        payload: { order_number: '1', zip_code: '1' },
      },
      { method: 'GET', url: `/v1/shops/${long}/orders`, headers: shop.auth.viewer },
    ] as const) {
      const res = await ctx.app.inject(req);
      assertError(res, 414, 'uri_too_long');
      assert.match(String(res.headers['x-request-id']), /^req_/);
      assert.equal(res.headers['ratelimit-limit'], undefined);
    }
  });

  test('identifiers up to their documented length route: an order by a 255-character external id', async () => {
    const api = ordersApi(ctx.app, shop.slug, shop.auth.editor);
    // 255 code points, some outside the BMP (two UTF-16 units each) and some percent-encoded in the URL.
    const externalId = `${'ü'.repeat(100)}${'😀'.repeat(55)}${'e'.repeat(100)}`;
    assert.equal([...externalId].length, 255);
    const put = await api.put(orderDoc({ external_id: externalId }));
    assert.equal(put.statusCode, 201, put.body);
    const got = await api.get(externalId);
    assert.equal(got.statusCode, 200, got.body);
    assert.equal(got.json().external_id, externalId);
    // Past the longest identifier, over real HTTP too.
    const res = await raw(
      `GET /v1/shops/${shop.slug}/claims/${'x'.repeat(600)} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`,
    );
    assertAppError(res, 414, 'uri_too_long');
  });

  test('malformed percent-encoding in a path parameter: 400 invalid_request', async () => {
    for (const url of [`/v1/shops/${shop.slug}/claims/%E0%A4%A`, '/v1/resolve/%C0%80/sessions']) {
      const res = await ctx.app.inject({ method: 'GET', url, headers: shop.auth.viewer });
      assertError(res, 400, 'invalid_request');
    }
  });
});

describe('query parameters', () => {
  test('a route that takes none refuses an unknown one by name, as routes with parameters do', async () => {
    const order = (await ordersApi(ctx.app, shop.slug, shop.auth.editor).put(orderDoc())).json();
    for (const url of [
      `/v1/shops/${shop.slug}/api-keys?per_page=5`,
      `/v1/shops/${shop.slug}/claim-views?sort=name`,
      `/v1/shops/${shop.slug}/orders/${order.id}?expand=claims`,
      `/v1/shops/${shop.slug}/orders/${order.id}/activity?limit=5`,
      `/v1/shops/${shop.slug}/settings/resolve?lang=de`,
    ]) {
      const res = await ctx.app.inject({ method: 'GET', url, headers: shop.auth.admin });
      const name = new URL(url, 'http://x').searchParams.keys().next().value;
      assertInvalidAt(res, `querystring:/${name}`);
    }
    const ok = await ctx.app.inject({
      method: 'GET',
      url: `/v1/shops/${shop.slug}/orders/${order.id}/activity`,
      headers: shop.auth.admin,
    });
    assert.equal(ok.statusCode, 200, ok.body);
  });
});

describe('validation messages', () => {
  test('name the allowed values and word patterns, never showing a regular expression', async () => {
    const get = (q: string) =>
      ctx.app.inject({ method: 'GET', url: `/v1/shops/${shop.slug}/claims?${q}`, headers: shop.auth.viewer });
    const said = (res: Parameters<typeof assertInvalidAt>[0], path: string) => {
      const e = assertInvalidAt(res, path);
      const m = e.errors!.find((x) => x.path === path)!.message;
      assert.doesNotMatch(m, /\^|\$|allowed values|pattern/, m);
      return m;
    };
    assert.match(
      said(await get('status=pendng'), 'querystring:/status'),
      /comma-separated values of: .*pending/,
    );
    assert.match(said(await get('country=Germany'), 'querystring:/country'), /two-letter country code/);
    assert.equal(
      said(await get('sort=newest'), 'querystring:/sort'),
      'must be one of: -created_at, created_at, -updated_at, updated_at',
    );
    const put = await ordersApi(ctx.app, shop.slug, shop.auth.editor).put(orderDoc({ currency: 'euro' }));
    assert.equal(said(put, '/currency'), 'must be a three-letter currency code such as EUR');
  });
});

describe('query strings the validator alone would take', () => {
  const get = (url: string) =>
    ctx.app.inject({ method: 'GET', url: `/v1/shops/${shop.slug}${url}`, headers: shop.auth.admin });
  test('a whole number is digits: 0x10, 1e1 or 2.0 are refused, not read as 16, 10 or 2', async () => {
    for (const v of ['0x10', '1e1', '2.0', '%205', '0b11'])
      assertInvalidAt(await get(`/claims?per_page=${v}`), 'querystring:/per_page');
    assert.equal((await get('/claims?per_page=5')).statusCode, 200);
  });
  test('a range ending before it starts is refused by name, on claims, orders and deliveries alike', async () => {
    const from = '2026-05-02T00:00:00Z';
    const to = '2026-05-01T00:00:00Z';
    assertInvalidAt(await get(`/claims?created_from=${from}&created_to=${to}`), 'querystring:/created_to');
    assertInvalidAt(
      await get(`/claims/counts?created_from=${from}&created_to=${to}`),
      'querystring:/created_to',
    );
    assertInvalidAt(await get(`/orders?placed_from=${from}&placed_to=${to}`), 'querystring:/placed_to');
    assert.equal((await get(`/orders?placed_from=${to}&placed_to=${from}`)).statusCode, 200);
  });
  test('a list parameter given twice says to separate values with commas', async () => {
    const e = assertInvalidAt(await get('/claims?status=pending&status=accepted'), 'querystring:/status');
    assert.equal(e.errors![0].message, 'must be given once; separate several values with commas');
  });
});

describe('HTTP parser errors (clientErrorHandler), over real sockets', () => {
  test('a body shorter than its Content-Length: 400 invalid_request, and the connection closes', async () => {
    const body = '{"order_number":"1","zip_code":"1"}';
    const res = await raw(
      `POST /v1/resolve/${shop.slug}/sessions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${body.length + 40}\r\n\r\n${body}`,
    );
    assertAppError(res, 400, 'invalid_request');
    assert.equal(res.headers.connection, 'close');
    const merchant = await raw(
      `PUT /v1/shops/${shop.slug}/orders HTTP/1.1\r\nHost: t\r\nAuthorization: ${shop.auth.editor.authorization}\r\n` +
        `Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"order_number":`,
    );
    assertAppError(merchant, 400, 'invalid_request');
  });

  test('a request that is not HTTP, or has a malformed header: 400 invalid_request', async () => {
    assertAppError(await raw('HELLO\r\n\r\n'), 400, 'invalid_request');
    assertAppError(
      await raw('GET /healthz HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n'),
      400,
      'invalid_request',
    );
    assertAppError(
      await raw('POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab'),
      400,
      'invalid_request',
    );
  });

  test('request line and headers larger than the server accepts: 431 request_headers_too_large', async () => {
    const res = await raw(`GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: ${'y'.repeat(20_000)}\r\n\r\n`, {
      keepOpen: true,
    });
    assertAppError(res, 431, 'request_headers_too_large');
  });

  test('a well-formed request on the same server still answers normally', async () => {
    const res = await raw('GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { status: 'ok' });
  });
});
