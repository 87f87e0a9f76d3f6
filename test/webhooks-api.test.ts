import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq, sql } from 'drizzle-orm';
import { query } from '../src/db/client.js';
import { shopNotices, webhookEndpoints } from '../src/db/schema.js';
import { createTestShop, type TestShop } from './support/app.js';
import { assertError, assertInvalidAt, type Res } from './support/http.js';
import { makePki, type TestPki } from './support/tls.js';
import {
  createEndpoint,
  emit,
  type Receiver,
  settled,
  startReceiver,
  startWebhookApp,
  type WebhookTestContext,
} from './support/webhooks.js';

// The webhook endpoints API: CRUD, roles, tenancy, bad input (never a 500), secrets shown once and sealed at
// rest, the delivery log with its filters and keyset pages, notices, and the OpenAPI document.

let pki: TestPki;
let ctx: WebhookTestContext;
let rx: Receiver;

before(async () => {
  pki = makePki();
  ctx = await startWebhookApp(pki, { retryScheduleMs: [0] });
  rx = await startReceiver(pki);
});
after(async () => {
  await rx?.close();
  await ctx?.close();
  pki?.remove();
});

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
function call(method: Method, url: string, headers: Record<string, string>, payload?: unknown): Promise<Res> {
  return ctx.app.inject({
    method,
    url,
    headers,
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
}
const base = (s: TestShop) => `/v1/shops/${s.slug}/webhooks`;

describe('endpoints CRUD', () => {
  let s: TestShop;
  before(async () => {
    s = await createTestShop(ctx.db, 'wha');
  });

  test('create answers the endpoint and its secret once; reads never show the secret', async () => {
    const res = await call('POST', base(s), s.auth.admin, {
      url: rx.url('/crud'),
      description: '  Helpdesk  ',
    });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.headers['cache-control'], 'no-store');
    const ep = res.json();
    assert.match(ep.id, /^whe_[0-9a-z]{26}$/);
    assert.match(ep.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal(Buffer.from(ep.secret.slice(6), 'base64').length, 32);
    assert.equal(ep.url, rx.url('/crud'));
    assert.equal(ep.description, 'Helpdesk');
    assert.deepEqual(ep.event_types, ['*']);
    assert.equal(ep.status, 'enabled');
    assert.equal(ep.disabled_reason, null);
    assert.equal(ep.previous_secret_expires_at, null);

    const got = await call('GET', `${base(s)}/${ep.id}`, s.auth.viewer);
    assert.equal(got.statusCode, 200, got.body);
    assert.equal('secret' in got.json(), false);
    assert.ok(!got.body.includes('whsec_'));
    const list = await call('GET', base(s), s.auth.viewer);
    assert.equal(list.statusCode, 200, list.body);
    assert.ok(!list.body.includes(ep.secret.slice(6, 20)));
    assert.deepEqual(
      list.json().data.map((e: { id: string }) => e.id),
      [ep.id],
    );
  });

  test('secrets are stored sealed, never in plaintext (not even in the idempotency store)', async () => {
    const first = await call(
      'POST',
      base(s),
      { ...s.auth.admin, 'idempotency-key': 'create-1' },
      { url: rx.url('/sealed') },
    );
    assert.equal(first.statusCode, 201, first.body);
    const { id, secret } = first.json();
    const again = await call(
      'POST',
      base(s),
      { ...s.auth.admin, 'idempotency-key': 'create-1' },
      { url: rx.url('/sealed') },
    );
    assert.equal(again.statusCode, 201, again.body);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.json().id, id, 'the same endpoint, not a second one');
    assert.equal(again.json().secret, null, 'a replayed answer does not show the secret again');

    const rot = await call(
      'POST',
      `${base(s)}/${id}/rotate-secret`,
      { ...s.auth.admin, 'idempotency-key': 'rotate-1' },
      {},
    );
    assert.equal(rot.statusCode, 200, rot.body);
    const rotated = rot.json().secret as string;
    assert.match(rotated, /^whsec_/);

    const keyB64 = (x: string) => x.slice('whsec_'.length);
    const [row] = await ctx.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id));
    const stored = JSON.stringify(row);
    for (const sec of [secret, rotated]) {
      assert.ok(!stored.includes(keyB64(sec)), 'the endpoint row holds no secret in clear');
      assert.ok(!stored.includes(Buffer.from(keyB64(sec), 'base64').toString('hex')));
    }
    assert.match(row.secretSealed, /^v1\.[A-Za-z0-9_-]+$/);
    assert.match(row.previousSecretSealed ?? '', /^v1\./);
    const idem = await query<{ body: string | null }>(
      ctx.db,
      sql`select response_body as body from idempotency_keys where key in ('create-1', 'rotate-1')`,
    );
    assert.equal(idem.length, 2);
    for (const r of idem) assert.ok(!(r.body ?? '').includes('whsec_'), r.body ?? '');
  });

  test('patch changes what is sent, disables and enables; delete removes it', async () => {
    const ep = await createEndpoint(ctx, s.slug, s.auth.admin, { url: rx.url('/patch') });
    const p1 = await call('PATCH', `${base(s)}/${ep.id}`, s.auth.admin, {
      url: rx.url('/patched'),
      description: null,
      event_types: ['claims/created', 'orders', 'claims/created'],
    });
    assert.equal(p1.statusCode, 200, p1.body);
    assert.equal(p1.json().url, rx.url('/patched'));
    assert.deepEqual(p1.json().event_types, ['claims/created', 'orders']);
    const off = await call('PATCH', `${base(s)}/${ep.id}`, s.auth.admin, { status: 'disabled' });
    assert.equal(off.json().status, 'disabled');
    assert.equal(off.json().disabled_reason, 'manual');
    assert.ok(off.json().disabled_at);
    const on = await call('PATCH', `${base(s)}/${ep.id}`, s.auth.admin, { status: 'enabled' });
    assert.equal(on.json().status, 'enabled');
    assert.equal(on.json().disabled_reason, null);

    const del = await call('DELETE', `${base(s)}/${ep.id}`, s.auth.admin);
    assert.equal(del.statusCode, 204, del.body);
    assertError(await call('GET', `${base(s)}/${ep.id}`, s.auth.admin), 404, 'webhook_endpoint_not_found');
    assertError(await call('DELETE', `${base(s)}/${ep.id}`, s.auth.admin), 404, 'webhook_endpoint_not_found');
  });

  test('list pages by cursor, newest first', async () => {
    const t = await createTestShop(ctx.db, 'whp');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await createEndpoint(ctx, t.slug, t.auth.admin, { url: rx.url(`/p${i}`) })).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await call(
        'GET',
        `${base(t)}?per_page=2${cursor ? `&cursor=${cursor}` : ''}`,
        t.auth.viewer,
      );
      assert.equal(res.statusCode, 200, res.body);
      const page = res.json();
      seen.push(...page.data.map((e: { id: string }) => e.id));
      assert.equal(page.has_more, page.next_cursor !== null);
      cursor = page.next_cursor;
    } while (cursor);
    assert.deepEqual(seen, [...ids].reverse());
  });

  test('a shop has at most 50 endpoints', async () => {
    const t = await createTestShop(ctx.db, 'whl');
    for (let i = 0; i < 50; i++) await createEndpoint(ctx, t.slug, t.auth.admin, { url: rx.url(`/l${i}`) });
    assertError(
      await call('POST', base(t), t.auth.admin, { url: rx.url('/l51') }),
      422,
      'webhook_endpoint_limit',
    );
  });
});

describe('roles and tenancy', () => {
  let a: TestShop;
  let b: TestShop;
  let epA: string;
  let epB: string;
  let msgB: string;
  before(async () => {
    a = await createTestShop(ctx.db, 'wh-a');
    b = await createTestShop(ctx.db, 'wh-b');
    epA = (await createEndpoint(ctx, a.slug, a.auth.admin, { url: rx.url('/ta') })).id;
    epB = (await createEndpoint(ctx, b.slug, b.auth.admin, { url: rx.url('/tb') })).id;
    await emit(ctx.db, b.shop.id);
    [{ id: msgB }] = await settled(ctx.db, epB, 1);
  });

  test('viewer reads; admin changes; editor may also test and replay; nobody without a key', async () => {
    const ep = `${base(a)}/${epA}`;
    for (const [method, url] of [
      ['GET', base(a)],
      ['GET', ep],
      ['GET', `${ep}/deliveries`],
      ['GET', `/v1/shops/${a.slug}/notices`],
    ] as const) {
      assert.equal((await call(method, url, a.auth.viewer)).statusCode, 200, `${method} ${url}`);
      assertError(await call(method, url, {}), 401, 'unauthorized');
    }
    const adminOnly: [Method, string, unknown][] = [
      ['POST', base(a), { url: rx.url('/x') }],
      ['PATCH', ep, { description: 'x' }],
      ['POST', `${ep}/rotate-secret`, {}],
      ['DELETE', ep, undefined],
    ];
    for (const [method, url, body] of adminOnly) {
      assertError(await call(method, url, a.auth.viewer, body), 403, 'forbidden');
      assertError(await call(method, url, a.auth.editor, body), 403, 'forbidden');
    }
    const editor: [Method, string, unknown][] = [
      ['POST', `${ep}/test`, undefined],
      ['POST', `${ep}/replay-failed`, { since: new Date(Date.now() - 60_000).toISOString() }],
    ];
    for (const [method, url, body] of editor) {
      assertError(await call(method, url, a.auth.viewer, body), 403, 'forbidden');
      assert.equal((await call(method, url, a.auth.editor, body)).statusCode, 202, `${method} ${url}`);
    }
  });

  test("another shop's endpoint, delivery or notice is not found, never forbidden", async () => {
    const other = `${base(a)}/${epB}`;
    for (const [method, url, body] of [
      ['GET', other, undefined],
      ['PATCH', other, { description: 'mine now' }],
      ['DELETE', other, undefined],
      ['POST', `${other}/test`, undefined],
      ['POST', `${other}/rotate-secret`, {}],
      ['GET', `${other}/deliveries`, undefined],
      ['GET', `${other}/deliveries/${msgB}`, undefined],
      ['POST', `${other}/deliveries/${msgB}/replay`, undefined],
      ['POST', `${other}/replay-failed`, { since: new Date(Date.now() - 60_000).toISOString() }],
    ] as [Method, string, unknown][]) {
      assertError(await call(method, url, a.auth.admin, body), 404, 'webhook_endpoint_not_found');
    }
    // A's endpoint with B's message id.
    assertError(
      await call('GET', `${base(a)}/${epA}/deliveries/${msgB}`, a.auth.admin),
      404,
      'webhook_message_not_found',
    );
    assertError(
      await call('POST', `${base(a)}/${epA}/deliveries/${msgB}/replay`, a.auth.admin),
      404,
      'webhook_message_not_found',
    );
    // B's key on A's slug.
    assertError(await call('GET', base(a), b.auth.admin), 404, 'shop_not_found');
    // B's endpoint is untouched.
    const still = await call('GET', `${base(b)}/${epB}`, b.auth.viewer);
    assert.equal(still.json().description, null);
    // Notices: B's notice is invisible to A.
    const [nb] = await ctx.db
      .insert(shopNotices)
      .values({
        id: `ntc_${msgB.slice(4)}`,
        shopId: b.shop.id,
        kind: 'test',
        audience: 'viewer',
        title: 't',
        message: 'm',
      })
      .returning();
    const listA = await call('GET', `/v1/shops/${a.slug}/notices?include_dismissed=true`, a.auth.admin);
    assert.ok(!listA.body.includes(nb.id));
    assertError(
      await call('POST', `/v1/shops/${a.slug}/notices/${nb.id}/dismiss`, a.auth.admin),
      404,
      'notice_not_found',
    );
  });
});

describe('bad input is a 4xx with a stable key, never a 500', () => {
  let s: TestShop;
  let ep: string;
  before(async () => {
    s = await createTestShop(ctx.db, 'whb');
    ep = (await createEndpoint(ctx, s.slug, s.auth.admin, { url: rx.url('/bad') })).id;
  });

  test('webhook URLs: https only, no credentials or fragment, public destinations, bounded length', async () => {
    const cases: [string, RegExp][] = [
      ['http://hooks.example.com/x', /https:\/\//],
      ['ftp://hooks.example.com/x', /https:\/\//],
      ['hooks.example.com/x', /absolute URL/],
      ['https://user:pw@hooks.example.com/x', /credentials/],
      ['https://hooks.example.com/x#frag', /fragment/],
      ['https://10.0.0.1/x', /10\.0\.0\.1 \(private\)/],
      ['https://[::ffff:10.0.0.1]/x', /private/],
      ['https://169.254.169.254/latest', /link-local/],
      ['https://[fe80::1]/x', /link-local/],
      ['https://0.0.0.0/x', /unspecified/],
      ['https://localhost/x', /not a public hostname/],
      ['https://intranet/x', /not a public hostname/],
    ];
    for (const [url, why] of cases) {
      const err = assertError(await call('POST', base(s), s.auth.admin, { url }), 400, 'invalid_webhook_url');
      assert.equal(err.errors?.[0].path, '/url');
      assert.match(err.message, why, url);
      assertError(await call('PATCH', `${base(s)}/${ep}`, s.auth.admin, { url }), 400, 'invalid_webhook_url');
    }
    assertInvalidAt(
      await call('POST', base(s), s.auth.admin, { url: `https://hooks.example.com/${'a'.repeat(2040)}` }),
      '/url',
    );
    assertInvalidAt(await call('POST', base(s), s.auth.admin, {}), '/url');
  });

  test('event filters, fields, bodies and parameters', async () => {
    const post = (body: unknown) => call('POST', base(s), s.auth.admin, body);
    assertInvalidAt(await post({ url: rx.url(), event_types: ['claims/deleted'] }), '/event_types/0');
    assertInvalidAt(await post({ url: rx.url(), event_types: [] }), '/event_types');
    assertInvalidAt(await post({ url: rx.url(), event_types: 'claims' }), '/event_types');
    assertInvalidAt(await post({ url: rx.url(), secret: 'whsec_mine' }), '/secret');
    assertInvalidAt(await post({ url: rx.url(), description: 'x'.repeat(501) }), '/description');
    assertError(
      await ctx.app.inject({
        method: 'POST',
        url: base(s),
        headers: { ...s.auth.admin, 'content-type': 'application/json' },
        payload: '{"url": ',
      }),
      400,
      'invalid_json',
    );
    assertError(await call('PATCH', `${base(s)}/${ep}`, s.auth.admin, {}), 400, 'validation_failed');
    assertInvalidAt(await call('PATCH', `${base(s)}/${ep}`, s.auth.admin, { status: 'paused' }), '/status');
    for (const overlap of [-1, 7 * 86_400 + 1, 'soon', 1.5])
      assertInvalidAt(
        await call('POST', `${base(s)}/${ep}/rotate-secret`, s.auth.admin, { overlap_seconds: overlap }),
        '/overlap_seconds',
      );
    const rf = `${base(s)}/${ep}/replay-failed`;
    assertInvalidAt(await call('POST', rf, s.auth.editor, {}), '/since');
    assertInvalidAt(await call('POST', rf, s.auth.editor, { since: 'yesterday' }), '/since');
    assertInvalidAt(
      await call('POST', rf, s.auth.editor, { since: '2026-11-20T00:00:00Z', until: '2026-11-19T00:00:00Z' }),
      '/until',
    );
    assertInvalidAt(
      await call('POST', rf, s.auth.editor, { since: '2026-01-01T00:00:00Z', until: '2026-11-19T00:00:00Z' }),
      '/since',
    );
    const d = `${base(s)}/${ep}/deliveries`;
    for (const q of [
      'status=lost',
      'status=failed,',
      'event_type=CLAIMS',
      'event_type=claim',
      'event_type=claims/deleted',
      'per_page=1e1',
      'created_from=today',
      'per_page=0',
      'per_page=101',
      'cursor=abc',
      'limit=5',
    ])
      assertError(await call('GET', `${d}?${q}`, s.auth.viewer), 400, 'validation_failed');
  });

  test('odd ids and paths answer 4xx', async () => {
    const urls = [
      `${base(s)}/nope`,
      `${base(s)}/${'x'.repeat(65)}`,
      `${base(s)}/%00`,
      `${base(s)}/whe_%E2%80%AE`,
      `${base(s)}/${ep}/deliveries/nope`,
      `${base(s)}/${ep}/deliveries/${'m'.repeat(65)}`,
      `${base(s)}/${ep}/deliveries/%00/replay`,
    ];
    for (const url of urls) {
      for (const method of ['GET', 'POST', 'PATCH', 'DELETE'] as const) {
        const res = await call(
          method,
          url,
          s.auth.admin,
          method === 'PATCH' ? { description: 'x' } : undefined,
        );
        assert.ok(
          res.statusCode >= 400 && res.statusCode < 500,
          `${method} ${url}: ${res.statusCode} ${res.body}`,
        );
        assert.ok(res.json().error.key, res.body);
      }
    }
  });

  test('a seeded fuzz of create and patch bodies never answers 5xx', async () => {
    let seed = 42;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const values: unknown[] = [
      null,
      true,
      0,
      -1,
      1e308,
      '',
      ' ',
      '\u202e',
      'https://',
      'https://a',
      'https://hooks.example.com/\u0000',
      'https://[::1',
      'https://exa mple.com',
      'https://xn--80ak6aa92e.com/x',
      'https://hooks.example.com:99999/x',
      '*',
      'claims',
      ['*'],
      ['claims', '*'],
      [null],
      [1, 2],
      {},
      { url: 'x' },
      'x'.repeat(3000),
    ];
    const keys = ['url', 'description', 'event_types', 'status', 'secret'];
    const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];
    for (let i = 0; i < 150; i++) {
      const body: Record<string, unknown> = {};
      for (const k of keys) if (rnd() < 0.5) body[k] = pick(values);
      if (rnd() < 0.6) body.url = pick(values.filter((v) => typeof v === 'string') as string[]);
      const method = rnd() < 0.5 ? 'POST' : 'PATCH';
      const res = await call(method, method === 'POST' ? base(s) : `${base(s)}/${ep}`, s.auth.admin, body);
      assert.ok(res.statusCode < 500, `${method} ${JSON.stringify(body)} → ${res.statusCode} ${res.body}`);
    }
  });
});

describe('the delivery log', () => {
  test('filters by status, event type and time; pages newest first; details show payload and attempts', async () => {
    const s = await createTestShop(ctx.db, 'whlog');
    const ep = await createEndpoint(ctx, s.slug, s.auth.admin, { url: rx.url('/log') });
    // Orders events fail (schedule: one attempt), everything else succeeds.
    rx.on('/log', (_n, r) =>
      JSON.parse(r.body).type.startsWith('orders/') ? { status: 500 } : { status: 200 },
    );
    for (let i = 0; i < 3; i++) await emit(ctx.db, s.shop.id, 'claims/updated', { claim_id: `clm_${i}` });
    await settled(ctx.db, ep.id, 3); // a message is created when its event is fanned out
    const t1 = new Date();
    await new Promise((r) => setTimeout(r, 20));
    for (let i = 0; i < 2; i++) await emit(ctx.db, s.shop.id, 'orders/cancelled', { order_id: `ord_${i}` });
    const test = await call('POST', `${base(s)}/${ep.id}/test`, s.auth.editor);
    assert.equal(test.statusCode, 202, test.body);
    await settled(ctx.db, ep.id, 6);

    const list = async (q: string) => {
      const res = await call('GET', `${base(s)}/${ep.id}/deliveries?${q}`, s.auth.viewer);
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as {
        data: { id: string; status: string; event_type: string; created_at: string }[];
        has_more: boolean;
        next_cursor: string | null;
      };
    };
    const types = (p: { data: { event_type: string }[] }) => p.data.map((d) => d.event_type);
    assert.deepEqual(types(await list('status=failed')), ['orders/cancelled', 'orders/cancelled']);
    assert.equal((await list('status=succeeded')).data.length, 4);
    assert.equal((await list('status=succeeded,failed')).data.length, 6);
    assert.equal((await list('status=pending')).data.length, 0);
    assert.deepEqual(types(await list('event_type=claims')), [
      'claims/updated',
      'claims/updated',
      'claims/updated',
    ]);
    assert.equal((await list('event_type=orders/cancelled')).data.length, 2);
    assert.deepEqual(types(await list('event_type=webhooks/test')), ['webhooks/test']);
    assert.equal((await list(`created_to=${encodeURIComponent(t1.toISOString())}`)).data.length, 3);
    assert.equal((await list(`created_from=${encodeURIComponent(t1.toISOString())}`)).data.length, 3);
    assert.equal(
      (await list(`created_from=${encodeURIComponent(t1.toISOString())}&status=failed`)).data.length,
      2,
    );

    const all = (await list('per_page=100')).data;
    assert.equal(all.length, 6);
    assert.deepEqual(
      all.map((d) => d.id),
      [...all.map((d) => d.id)].sort().reverse(),
      'newest first',
    );
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const p = await list(`per_page=4${cursor ? `&cursor=${cursor}` : ''}`);
      pages.push(p.data.map((d) => d.id));
      cursor = p.next_cursor;
      assert.equal(p.has_more, cursor !== null);
    } while (cursor);
    assert.deepEqual(
      pages.flat(),
      all.map((d) => d.id),
    );
    assert.deepEqual(
      pages.map((p) => p.length),
      [4, 2],
    );

    const failed = (await list('status=failed')).data[0];
    const detail = await call('GET', `${base(s)}/${ep.id}/deliveries/${failed.id}`, s.auth.viewer);
    assert.equal(detail.statusCode, 200, detail.body);
    const d = detail.json();
    assert.equal(d.payload.type, 'orders/cancelled');
    assert.equal(d.payload.shop, s.slug);
    assert.equal(d.attempts.length, 1);
    assert.deepEqual(Object.keys(d.attempts[0]).sort(), [
      'attempt_number',
      'duration_ms',
      'error',
      'error_kind',
      'id',
      'outcome',
      'response_excerpt',
      'started_at',
      'status_code',
      'trigger',
      'url',
    ]);
    assert.equal(d.attempts[0].status_code, 500);
    assert.equal(d.attempts[0].outcome, 'failed');
  });

  test('test and replay on a disabled endpoint answer 409', async () => {
    const s = await createTestShop(ctx.db, 'whdis');
    const ep = await createEndpoint(ctx, s.slug, s.auth.admin, { url: rx.url('/dis') });
    await emit(ctx.db, s.shop.id);
    const [m] = await settled(ctx.db, ep.id, 1);
    await call('PATCH', `${base(s)}/${ep.id}`, s.auth.admin, { status: 'disabled' });
    assertError(
      await call('POST', `${base(s)}/${ep.id}/test`, s.auth.editor),
      409,
      'webhook_endpoint_disabled',
    );
    assertError(
      await call('POST', `${base(s)}/${ep.id}/deliveries/${m.id}/replay`, s.auth.editor),
      409,
      'webhook_endpoint_disabled',
    );
    assertError(
      await call('POST', `${base(s)}/${ep.id}/replay-failed`, s.auth.editor, {
        since: '2026-11-01T00:00:00Z',
      }),
      409,
      'webhook_endpoint_disabled',
    );
  });
});

describe('notices', () => {
  test('listed by audience, newest first, dismissed only on request', async () => {
    const s = await createTestShop(ctx.db, 'whn');
    const mk = (id: string, audience: string) =>
      ctx.db.insert(shopNotices).values({
        id,
        shopId: s.shop.id,
        kind: 'webhook_endpoint_disabled',
        audience,
        title: 'T',
        message: 'M',
        data: { endpoint_id: 'whe_x' },
      });
    await mk('ntc_00000000000000000000000001', 'viewer');
    await mk('ntc_00000000000000000000000002', 'admin');
    const ids = async (role: 'viewer' | 'editor' | 'admin', q = '') => {
      const res = await call('GET', `/v1/shops/${s.slug}/notices${q}`, s.auth[role]);
      assert.equal(res.statusCode, 200, res.body);
      return res.json().data.map((n: { id: string }) => n.id);
    };
    assert.deepEqual(await ids('viewer'), ['ntc_00000000000000000000000001']);
    assert.deepEqual(await ids('editor'), ['ntc_00000000000000000000000001']);
    assert.deepEqual(await ids('admin'), [
      'ntc_00000000000000000000000002',
      'ntc_00000000000000000000000001',
    ]);
    assertError(
      await call('POST', `/v1/shops/${s.slug}/notices/ntc_00000000000000000000000002/dismiss`, s.auth.viewer),
      404,
      'notice_not_found',
    );
    const d = await call(
      'POST',
      `/v1/shops/${s.slug}/notices/ntc_00000000000000000000000002/dismiss`,
      s.auth.admin,
    );
    assert.equal(d.statusCode, 200, d.body);
    assert.deepEqual(await ids('admin'), ['ntc_00000000000000000000000001']);
    assert.deepEqual(await ids('admin', '?include_dismissed=true'), [
      'ntc_00000000000000000000000002',
      'ntc_00000000000000000000000001',
    ]);
  });
});

test('the OpenAPI document describes every webhook route', async () => {
  const res = await ctx.app.inject({ method: 'GET', url: '/v1/openapi.json' });
  assert.equal(res.statusCode, 200);
  const doc = res.json();
  const routes: [string, string][] = [
    ['/v1/shops/{slug}/webhooks', 'get'],
    ['/v1/shops/{slug}/webhooks', 'post'],
    ['/v1/shops/{slug}/webhooks/{id}', 'get'],
    ['/v1/shops/{slug}/webhooks/{id}', 'patch'],
    ['/v1/shops/{slug}/webhooks/{id}', 'delete'],
    ['/v1/shops/{slug}/webhooks/{id}/test', 'post'],
    ['/v1/shops/{slug}/webhooks/{id}/rotate-secret', 'post'],
    ['/v1/shops/{slug}/webhooks/{id}/deliveries', 'get'],
    ['/v1/shops/{slug}/webhooks/{id}/deliveries/{message_id}', 'get'],
    ['/v1/shops/{slug}/webhooks/{id}/deliveries/{message_id}/replay', 'post'],
    ['/v1/shops/{slug}/webhooks/{id}/replay-failed', 'post'],
    ['/v1/shops/{slug}/notices', 'get'],
    ['/v1/shops/{slug}/notices/{id}/dismiss', 'post'],
  ];
  for (const [path, method] of routes) {
    const op = doc.paths[path]?.[method];
    assert.ok(op, `${method.toUpperCase()} ${path} is documented`);
    assert.ok(op.summary, `${method.toUpperCase()} ${path} has a summary`);
    assert.ok(op.security?.length, `${method.toUpperCase()} ${path} names its auth`);
  }
  const create = doc.paths['/v1/shops/{slug}/webhooks'].post;
  assert.ok(JSON.stringify(create).includes('https://hooks.example.com/resolve'), 'examples are included');
});
