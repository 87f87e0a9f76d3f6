import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { assertError } from './support/http.js';

let ctx: TestContext;
let shop: TestShop;
before(async () => {
  ctx = await startTestApp();
  shop = await createTestShop(ctx.db, 'ops');
});
after(() => ctx.close());

test('/healthz answers 200', async () => {
  const res = await ctx.app.inject({ url: '/healthz' });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), { status: 'ok' });
});

test('/readyz answers 200 with the database reachable and migrations current', async () => {
  const res = await ctx.app.inject({ url: '/readyz' });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json();
  assert.equal(body.status, 'ready');
  assert.equal(body.database, ctx.database.kind);
  const m = /^(\d+)\/(\d+) applied$/.exec(body.migrations);
  assert.ok(m, `migrations reads "applied/shipped applied": ${body.migrations}`);
  assert.ok(Number(m[2]) >= 1);
  assert.equal(m[1], m[2], 'every shipped migration is applied');
  const status = await ctx.database.migrationStatus();
  assert.equal(body.migrations, `${status.applied}/${status.shipped} applied`);
});

test('/readyz answers 503 when the database is unreachable', async () => {
  const res = await ctx.app.inject({ url: '/readyz' });
  assert.equal(res.statusCode, 200);
  const { ping } = ctx.database;
  ctx.database.ping = async () => {
    throw new Error('connection refused');
  };
  try {
    const down = await ctx.app.inject({ url: '/readyz' });
    assert.equal(down.statusCode, 503);
    assert.equal(down.json().status, 'not_ready');
  } finally {
    ctx.database.ping = ping;
  }
});

test('/metrics serves Prometheus text with request durations by route template', async () => {
  const hit = await ctx.app.inject({
    url: `/v1/shops/${shop.slug}/orders/ord_doesnotexist`,
    headers: shop.auth.viewer,
  });
  assert.equal(hit.statusCode, 404);
  const stray = await ctx.app.inject({ url: '/no-such-route-4711' });
  assert.equal(stray.statusCode, 404);
  // onResponse runs after the reply is handed over: poll briefly for the observation.
  let body = '';
  for (let i = 0; i < 50; i++) {
    const res = await ctx.app.inject({ url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    body = res.body;
    if (body.includes('route="/v1/shops/:slug/orders/:id"')) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.match(body, /^# HELP resolve_http_request_duration_seconds /m);
  assert.match(body, /^# TYPE resolve_http_request_duration_seconds histogram$/m);
  const line = body
    .split('\n')
    .find(
      (l) =>
        l.startsWith('resolve_http_request_duration_seconds_count{') &&
        l.includes('route="/v1/shops/:slug/orders/:id"') &&
        l.includes('status="404"'),
    );
  assert.ok(line, 'the request is counted under its route template, not its raw URL');
  assert.ok(!body.includes('ord_doesnotexist'), 'no raw ids in metric labels');
  assert.ok(!body.includes('no-such-route-4711'), 'unmatched URLs do not become labels');
  assert.match(body, /^resolve_process_cpu_seconds_total /m, 'default process metrics are exported');
});

test('/v1/openapi.json is an OpenAPI 3.1 document with the order endpoints, both auth schemes and Error', async () => {
  const res = await ctx.app.inject({ url: '/v1/openapi.json' });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /application\/json/);
  const doc = res.json();
  assert.match(doc.openapi, /^3\.1/);
  assert.equal(typeof doc.info?.title, 'string');
  const paths = doc.paths as Record<string, Record<string, unknown>>;
  const expected: [string, string[]][] = [
    ['/v1/shops/{slug}/orders', ['put', 'get']],
    ['/v1/shops/{slug}/orders/bulk', ['post']],
    ['/v1/shops/{slug}/orders/{id}', ['get']],
    ['/v1/shops/{slug}/orders/{id}/shipments/{shipment_id}/events', ['post']],
  ];
  for (const [p, methods] of expected) {
    assert.ok(paths[p], `path ${p} is documented`);
    for (const m of methods) {
      const op = paths[p][m] as { security?: Record<string, string[]>[]; responses?: object };
      assert.ok(op, `${m.toUpperCase()} ${p} is documented`);
      const schemes = (op.security ?? []).flatMap((s) => Object.keys(s));
      assert.ok(
        schemes.includes('basicAuth') && schemes.includes('bearerAuth'),
        `${m} ${p} takes Basic or Bearer`,
      );
    }
  }
  assert.ok(
    !Object.keys(paths).some((p) => ['/healthz', '/readyz', '/metrics', '/v1/openapi.json'].includes(p)),
    'operational endpoints are not part of the API reference',
  );
  const schemes = doc.components.securitySchemes as Record<string, { type: string; scheme: string }>;
  assert.deepEqual(schemes.basicAuth, { type: 'http', scheme: 'basic' });
  assert.equal(schemes.bearerAuth?.type, 'http');
  assert.equal(schemes.bearerAuth?.scheme, 'bearer');
  const error = doc.components.schemas?.Error;
  assert.ok(error, 'the Error schema is a named component');
  assert.ok(error.properties?.error, 'Error wraps an `error` object');
  const text = res.body;
  assert.ok(!text.includes('def-'), 'schemas are referenced by name, not generated def-N ids');
});

test('/v1/openapi.json gives every operation a summary and a description', async () => {
  const res = await ctx.app.inject({ url: '/v1/openapi.json' });
  assert.equal(res.statusCode, 200);
  const paths = res.json().paths as Record<
    string,
    Record<string, { summary?: unknown; description?: unknown }>
  >;
  const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
  const offenders: string[] = [];
  let operations = 0;
  for (const [p, item] of Object.entries(paths)) {
    for (const m of methods) {
      const op = item[m];
      if (!op) continue;
      operations++;
      const problems: string[] = [];
      if (typeof op.summary !== 'string' || !op.summary.trim()) problems.push('no summary');
      if (typeof op.description !== 'string' || op.description.trim().length < 40)
        problems.push('no description of at least 40 characters');
      if (problems.length) offenders.push(`${m.toUpperCase()} ${p}: ${problems.join(', ')}`);
    }
  }
  assert.ok(operations > 0, 'the document has operations');
  assert.deepEqual(offenders, [], `operations without a summary or description:\n${offenders.join('\n')}`);
});

test('/v1/openapi.json names every operation once (operationId) and declares Idempotency-Key where it is honoured', async () => {
  const paths = (await ctx.app.inject({ url: '/v1/openapi.json' })).json().paths as Record<
    string,
    Record<string, { operationId?: string; parameters?: { name: string; in: string }[] }>
  >;
  const ids: string[] = [];
  const missing: string[] = [];
  const idempotent: string[] = [];
  for (const [p, item] of Object.entries(paths))
    for (const [m, op] of Object.entries(item)) {
      if (op.operationId) ids.push(op.operationId);
      else missing.push(`${m} ${p}`);
      if (op.parameters?.some((x) => x.in === 'header' && x.name === 'Idempotency-Key'))
        idempotent.push(`${m} ${p}`);
    }
  assert.deepEqual(missing, []);
  assert.equal(new Set(ids).size, ids.length, 'unique');
  assert.ok(
    ids.every((id) => /^[a-z][A-Za-z]+$/.test(id)),
    ids.join(' '),
  );
  assert.equal(paths['/v1/shops/{slug}/claims'].get.operationId, 'listClaims');
  for (const op of [
    'post /v1/shops/{slug}/claims',
    'post /v1/shops/{slug}/orders/bulk',
    'post /v1/shops/{slug}/claims/{id}/actions',
    'post /v1/resolve/{slug}/claims',
    'post /v1/resolve/{slug}/order/cancel',
  ])
    assert.ok(idempotent.includes(op), op);
  for (const op of [
    'post /v1/portal/login',
    'post /v1/resolve/{slug}/sessions',
    'get /v1/shops/{slug}/claims',
  ])
    assert.ok(!idempotent.includes(op), op);
});

test('/v1/openapi.json words every answer, and its 403s follow the routes’ roles and the portal’s CSRF check', async () => {
  const doc = (await ctx.app.inject({ url: '/v1/openapi.json' })).json();
  type Op = { responses: Record<string, { description: string }> };
  const paths = doc.paths as Record<string, Record<string, Op>>;
  const vague: string[] = [];
  for (const [p, item] of Object.entries(paths))
    for (const [m, op] of Object.entries(item))
      for (const [status, r] of Object.entries(op.responses))
        if (!r.description || r.description === 'Default Response')
          vague.push(`${m.toUpperCase()} ${p} ${status}`);
  assert.deepEqual(vague, [], `answers without a description:\n${vague.join('\n')}`);

  // Every operation that takes a body says it may be too large (413) or of a type it does not take (415), and
  // so it is: a JSON operation sent text, and a body over the limit.
  const bodyOps = Object.entries(paths).flatMap(([p, item]) =>
    Object.entries(item)
      .filter(([, op]) => (op as Op & { requestBody?: unknown }).requestBody)
      .map(([m, op]) => ({ at: `${m} ${p}`, op })),
  );
  assert.ok(bodyOps.length > 30, `${bodyOps.length} operations with a body`);
  const undocumented = bodyOps
    .filter(({ op }) => !op.responses['413'] || !op.responses['415'])
    .map((o) => o.at);
  assert.deepEqual(undocumented, []);
  const asText = await ctx.app.inject({
    method: 'POST',
    url: `/v1/shops/${shop.slug}/claims`,
    headers: { ...shop.auth.editor, 'content-type': 'text/plain' },
    payload: 'hello',
  });
  assertError(asText, 415, 'unsupported_media_type');
  const huge = await ctx.app.inject({
    method: 'POST',
    url: `/v1/shops/${shop.slug}/claims`,
    headers: { ...shop.auth.editor, 'content-type': 'application/json' },
    payload: `{"description":"${'x'.repeat(ctx.deps.config.bodyLimitBytes)}"}`,
  });
  assertError(huge, 413, 'payload_too_large');

  const forbidden = (m: string, p: string) => paths[p]?.[m]?.responses['403']?.description ?? null;
  assert.match(
    forbidden('patch', '/v1/shops/{slug}/settings/resolve') ?? '',
    /role below admin.*csrf_failed/,
  );
  assert.match(forbidden('post', '/v1/shops/{slug}/claims') ?? '', /role below editor.*csrf_failed/);
  assert.match(forbidden('get', '/v1/shops/{slug}/api-keys') ?? '', /role below admin/);
  assert.doesNotMatch(
    forbidden('get', '/v1/shops/{slug}/api-keys') ?? '',
    /csrf/,
    'a read needs no CSRF token',
  );
  assert.equal(
    forbidden('get', '/v1/shops/{slug}/claims'),
    null,
    'any role reads claims: no 403 to document',
  );
  assert.match(paths['/v1/resolve/{slug}/sessions'].post.responses['401'].description, /token_invalid/);
  assert.match(paths['/v1/shops/{slug}/claims'].get.responses['401'].description, /`unauthorized`/);

  // What the document says is what the API does.
  const asViewer = (method: 'PATCH' | 'POST' | 'GET', url: string, payload?: object) =>
    ctx.app.inject({ method, url, headers: shop.auth.viewer, payload });
  for (const [method, url, payload] of [
    ['PATCH', `/v1/shops/${shop.slug}/settings/resolve`, { stuck_after_days: 6 }],
    ['GET', `/v1/shops/${shop.slug}/api-keys`, undefined],
  ] as const) {
    const res = await asViewer(method, url, payload);
    assert.equal(res.statusCode, 403, `${method} ${url}: ${res.body}`);
    assert.equal(res.json().error.key, 'forbidden');
  }
  assert.equal(forbidden('get', '/v1/shops/{slug}'), null);
  assert.equal((await asViewer('GET', `/v1/shops/${shop.slug}`)).statusCode, 200, 'any role reads the shop');
});

test('/docs serves the API reference page and its assets', async () => {
  let res = await ctx.app.inject({ url: '/docs' });
  for (let hops = 0; res.statusCode >= 300 && res.statusCode < 400 && hops < 5; hops++) {
    const next = new URL(String(res.headers.location), 'http://resolve.test/docs');
    res = await ctx.app.inject({ url: next.pathname + next.search });
  }
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/html/);
  assert.match(res.body, /<html/i);
  // Where keys are pasted: never framed, scripts only from here (inline ones by hash), no sniffing or referrer.
  const csp = String(res.headers['content-security-policy']);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.match(csp, /script-src 'self'[^;]*;/);
  assert.doesNotMatch(csp.match(/script-src[^;]*/)![0], /unsafe-inline|https:/);
  assert.equal(res.headers['x-frame-options'], 'DENY');
  assert.equal(res.headers['x-content-type-options'], 'nosniff');
  assert.equal(res.headers['referrer-policy'], 'no-referrer');
  // Every stylesheet and script the page references loads (relative URLs resolve against /docs).
  const refs = [...res.body.matchAll(/(?:href|src)="([^"]+\.(?:css|js))"/g)].map((m) => m[1]);
  assert.ok(refs.length >= 2, 'the page loads its scripts and styles');
  for (const ref of refs) {
    const url = new URL(ref, 'http://resolve.test/docs');
    const asset = await ctx.app.inject({ url: url.pathname });
    assert.equal(asset.statusCode, 200, `${url.pathname} loads`);
  }
});

test('every response carries x-request-id, and an incoming x-request-id is echoed', async () => {
  const responses = await Promise.all([
    ctx.app.inject({ url: '/healthz' }),
    ctx.app.inject({ url: '/no/such/route' }),
    ctx.app.inject({ url: `/v1/shops/${shop.slug}/orders` }), // 401
    ctx.app.inject({ url: `/v1/shops/${shop.slug}/orders`, headers: shop.auth.viewer }),
    ctx.app.inject({
      method: 'PUT',
      url: `/v1/shops/${shop.slug}/orders`,
      headers: { ...shop.auth.editor, 'content-type': 'application/json' },
      payload: '{not json',
    }), // 400
  ]);
  const ids = new Set<string>();
  for (const r of responses) {
    const id = r.headers['x-request-id'];
    assert.equal(typeof id, 'string', `${r.statusCode} response has x-request-id`);
    assert.ok((id as string).length > 0);
    ids.add(id as string);
  }
  assert.deepEqual(
    responses.map((r) => r.statusCode),
    [200, 404, 401, 200, 400],
  );
  assert.equal(ids.size, responses.length, 'generated request ids are unique');

  const mine = 'trace-0123456789abcdef';
  for (const url of ['/healthz', '/no/such/route', `/v1/shops/${shop.slug}/orders`]) {
    const res = await ctx.app.inject({ url, headers: { 'x-request-id': mine } });
    assert.equal(res.headers['x-request-id'], mine, `${url} echoes the caller's request id`);
  }
});

test('route schemas compile on first use, and warmSchemas compiles every one that is left without an error', async () => {
  const before = ctx.app.schemasPending();
  assert.ok(before > 100, `expected most of the ~300 route schemas to be pending, got ${before}`);
  // A request compiles its route's schemas (querystring validator, 200 serializer) and nothing else.
  const res = await ctx.app.inject({
    method: 'GET',
    url: `/v1/shops/${shop.slug}/claims?per_page=1`,
    headers: shop.auth.viewer,
  });
  assert.equal(res.statusCode, 200, res.body);
  const afterOne = ctx.app.schemasPending();
  assert.ok(afterOne < before && afterOne > before - 10, `${before} → ${afterOne}`);
  const errors: unknown[] = [];
  await ctx.app.warmSchemas((err) => errors.push(err));
  assert.deepEqual(errors, []);
  assert.equal(ctx.app.schemasPending(), 0);
  // Validation through a compiled-late validator still names the field.
  const bad = await ctx.app.inject({
    method: 'GET',
    url: `/v1/shops/${shop.slug}/claims?per_page=abc`,
    headers: shop.auth.viewer,
  });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().error.key, 'validation_failed');
  assert.equal(bad.json().error.errors[0].path, 'querystring:/per_page');
});
