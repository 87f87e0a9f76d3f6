import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { OrderInputT } from '../src/orders/document.js';
import { defaultResolveSettings, FLOWS, type Flow } from '../src/resolve/settings.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { assertError, assertInvalidAt, daysAgo } from './support/http.js';
import { orderDoc } from './support/orders.js';

// GET|PATCH /v1/shops/{slug}/settings/resolve (SPEC §4/§5 settings) and their effect on the customer flow.

let ctx: TestContext;
before(async () => {
  ctx = await startTestApp();
});
after(() => ctx.close());

const ipPrefix = `10.${randomInt(256)}`;
let ipSeq = randomInt(1000);
const nextIp = () => {
  ipSeq++;
  return `${ipPrefix}.${Math.floor(ipSeq / 250) % 256}.${(ipSeq % 250) + 1}`;
};

const getSettings = (shop: TestShop, headers = shop.auth.viewer) =>
  ctx.app.inject({ method: 'GET', url: `/v1/shops/${shop.slug}/settings/resolve`, headers });
const patchSettings = (shop: TestShop, payload: unknown, headers = shop.auth.admin) =>
  ctx.app.inject({
    method: 'PATCH',
    url: `/v1/shops/${shop.slug}/settings/resolve`,
    headers,
    payload: payload as object,
  });

async function patchOk(shop: TestShop, payload: unknown) {
  const res = await patchSettings(shop, payload);
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

describe('GET settings', () => {
  test('a new shop has the documented defaults', async () => {
    const shop = await createTestShop(ctx.db, 'set');
    const res = await getSettings(shop);
    assert.equal(res.statusCode, 200, res.body);
    const s = res.json();
    assert.deepEqual(s, defaultResolveSettings());
    // SPEC §4/§5 defaults, stated independently of the code.
    assert.equal(s.claim_window_days, 30);
    assert.equal(s.return_window_days, 30);
    assert.equal(s.stuck_after_days, 5);
    assert.equal(s.upload_max_bytes, 10 * 1024 * 1024);
    assert.deepEqual(Object.keys(s.flows), [...FLOWS]);
    for (const f of FLOWS) assert.equal(s.flows[f].enabled, true, f);
    const codes = (f: Flow) => s.flows[f].reasons.map((r: { code: string }) => r.code);
    assert.deepEqual(codes('defective'), [
      'damaged_in_transit',
      'broken_on_arrival',
      'stopped_working',
      'manufacturing_defect',
    ]);
    assert.deepEqual(codes('not_received'), ['delivered_not_received', 'stuck_in_transit']);
    assert.deepEqual(codes('missing_item'), ['missing_from_parcel']);
    assert.deepEqual(codes('wrong_item'), ['wrong_product', 'wrong_size', 'wrong_colour']);
    assert.deepEqual(codes('return'), [
      'too_small',
      'too_large',
      'changed_mind',
      'not_as_described',
      'arrived_late',
      'other',
    ]);
    assert.deepEqual(codes('dissatisfied'), ['quality', 'not_as_described', 'other']);
    assert.deepEqual(codes('support'), ['other']);
    assert.ok(s.flows.defective.photos.min >= 1, 'defective requires a photo');
    // Labels in every supported language.
    for (const f of FLOWS)
      for (const r of s.flows[f].reasons)
        for (const lang of ['en', 'de', 'fr', 'es', 'it', 'nl', 'da'])
          assert.ok(r.labels[lang], `${f}/${r.code} lacks ${lang}`);
  });

  test('needs an API key of the shop; any role may read', async () => {
    const shop = await createTestShop(ctx.db, 'set');
    const other = await createTestShop(ctx.db, 'set');
    for (const role of ['viewer', 'editor', 'admin'] as const)
      assert.equal((await getSettings(shop, shop.auth[role])).statusCode, 200, role);
    assertError(await getSettings(shop, {} as { authorization: string }), 401, 'unauthorized');
    assertError(await getSettings(shop, other.auth.admin), 404, 'shop_not_found');
  });
});

describe('PATCH settings', () => {
  test('objects merge key by key; the answer is the full effective settings and GET agrees', async () => {
    const shop = await createTestShop(ctx.db, 'set');
    const body = await patchOk(shop, {
      claim_window_days: 14,
      flows: { defective: { photos: { min: 2 } }, return: { enabled: false } },
    });
    const want = defaultResolveSettings();
    want.claim_window_days = 14;
    want.flows.defective.photos = { min: 2, max: 5 };
    want.flows.return.enabled = false;
    assert.deepEqual(body, want);
    assert.deepEqual((await getSettings(shop)).json(), want);

    // A second PATCH keeps the first one's changes.
    const second = await patchOk(shop, { flows: { defective: { photos: { max: 3 } } }, stuck_after_days: 3 });
    want.flows.defective.photos = { min: 2, max: 3 };
    want.stuck_after_days = 3;
    assert.deepEqual(second, want);
    assert.deepEqual((await getSettings(shop)).json(), want);

    // An empty PATCH changes nothing.
    assert.deepEqual(await patchOk(shop, {}), want);
  });

  test('arrays replace', async () => {
    const shop = await createTestShop(ctx.db, 'set');
    const body = await patchOk(shop, {
      flows: {
        defective: { resolutions: ['replacement'] },
        return: { reasons: [{ code: 'too_big', labels: { en: 'Too big', de: 'Zu groß' } }] },
      },
    });
    assert.deepEqual(body.flows.defective.resolutions, ['replacement']);
    assert.deepEqual(body.flows.return.reasons, [
      { code: 'too_big', labels: { en: 'Too big', de: 'Zu groß' } },
    ]);
    const shorter = await patchOk(shop, {
      flows: { return: { reasons: [{ code: 'other', labels: { en: 'Other' } }] } },
    });
    assert.deepEqual(shorter.flows.return.reasons, [{ code: 'other', labels: { en: 'Other' } }]);
    assert.deepEqual(shorter.flows.defective.resolutions, ['replacement']);
  });

  test('nullable values can be set and cleared', async () => {
    const shop = await createTestShop(ctx.db, 'set');
    const ext = await patchOk(shop, {
      returns: { mode: 'external', external_url_template: 'https://returns.example/{orderNumber}?e={email}' },
    });
    assert.deepEqual(ext.returns, {
      mode: 'external',
      external_url_template: 'https://returns.example/{orderNumber}?e={email}',
    });
    const back = await patchOk(shop, { returns: { mode: 'native', external_url_template: null } });
    assert.deepEqual(back.returns, { mode: 'native', external_url_template: null });
  });

  test('a returns URL template with an unknown placeholder is refused, naming it and the known ones', async () => {
    const shop = await createTestShop(ctx.db, 'set');
    const res = await patchSettings(shop, {
      returns: { mode: 'external', external_url_template: 'https://returns.example.com/?o={orderNumbr}' },
    });
    const err = assertError(res, 400, 'validation_failed');
    assert.deepEqual(err.errors, [
      {
        path: '/returns/external_url_template',
        message:
          'Unknown placeholder {orderNumbr}. Known placeholders: {orderNumber}, {orderName}, {email}, {zipCode}, {externalId}, {claimReason}, {selectedItemSkus}, {flowType}',
      },
    ]);
    // Every known placeholder is accepted.
    const all =
      'https://returns.example.com/?o={orderNumber}&n={orderName}&e={email}&z={zipCode}&x={externalId}&r={claimReason}&s={selectedItemSkus}&f={flowType}';
    const ok = await patchOk(shop, { returns: { mode: 'external', external_url_template: all } });
    assert.equal(ok.returns.external_url_template, all);
  });

  test('settings are per shop', async () => {
    const a = await createTestShop(ctx.db, 'set');
    const b = await createTestShop(ctx.db, 'set');
    await patchOk(a, { claim_window_days: 3, flows: { support: { enabled: false } } });
    assert.deepEqual((await getSettings(b)).json(), defaultResolveSettings());
  });

  test('viewer and editor keys may not change settings', async () => {
    const shop = await createTestShop(ctx.db, 'set');
    for (const role of ['viewer', 'editor'] as const)
      assertError(await patchSettings(shop, { claim_window_days: 3 }, shop.auth[role]), 403, 'forbidden');
    assertError(
      await patchSettings(shop, { claim_window_days: 3 }, { authorization: 'Bearer x' }),
      401,
      'unauthorized',
    );
    assert.equal((await getSettings(shop)).json().claim_window_days, 30);
  });

  test('invalid settings are 400 with the path of the problem, and nothing is stored', async () => {
    const shop = await createTestShop(ctx.db, 'set');
    const choice = { id: 'colour', type: 'choice', labels: { en: 'Colour?' }, required: true };
    const cases: [unknown, string][] = [
      [{ flows: { defective: { photos: { min: 6 } } } }, '/flows/defective/photos/min'],
      [{ flows: { defective: { photos: { min: 3, max: 2 } } } }, '/flows/defective/photos/min'],
      [{ flows: { defective: { photos: { max: 11 } } } }, '/flows/defective/photos/max'],
      [{ flows: { refund_only: { enabled: true } } }, '/flows/refund_only'],
      [
        { flows: { defective: { reasons: [{ code: 'Bad Code!', labels: { en: 'x' } }] } } },
        '/flows/defective/reasons/0/code',
      ],
      [
        { flows: { defective: { reasons: [{ code: 'ok_code', labels: { de: 'nur deutsch' } }] } } },
        '/flows/defective/reasons/0/labels/en',
      ],
      [
        { flows: { defective: { reasons: [{ code: 'ok', labels: { en: 'x', pt: 'y' } }] } } },
        '/flows/defective/reasons/0/labels/pt',
      ],
      [{ flows: { defective: { reasons: [] } } }, '/flows/defective/reasons'],
      [
        {
          flows: {
            defective: {
              reasons: [
                { code: 'same', labels: { en: 'a' } },
                { code: 'same', labels: { en: 'b' } },
              ],
            },
          },
        },
        '/flows/defective/reasons',
      ],
      [{ flows: { support: { prompts: [choice] } } }, '/flows/support/prompts/0/options'],
      [{ flows: { support: { prompts: [{ ...choice, type: 'slider' }] } } }, '/flows/support/prompts/0/type'],
      [{ returns: { mode: 'external' } }, '/returns/external_url_template'],
      [
        { returns: { mode: 'external', external_url_template: 'http://insecure.example/{orderNumber}' } },
        '/returns/external_url_template',
      ],
      [{ flows: { defective: { resolutions: ['cash'] } } }, '/flows/defective/resolutions/0'],
      [{ flows: { defective: { resolutions: [] } } }, '/flows/defective/resolutions'],
      [
        { flows: { support: { description: { min_length: 100, max_length: 50 } } } },
        '/flows/support/description/min_length',
      ],
      [{ flows: { defective: { package_photo: 'sometimes' } } }, '/flows/defective/package_photo'],
      [{ flows: { defective: { enabled: 'yes' } } }, '/flows/defective/enabled'],
      [{ flows: { defective: null } }, '/flows/defective'],
      [{ claim_window_days: 0 }, '/claim_window_days'],
      [{ claim_window_days: '30' }, '/claim_window_days'],
      [{ claim_window_days: 1.5 }, '/claim_window_days'],
      [{ return_window_days: 4000 }, '/return_window_days'],
      [{ stuck_after_days: 0 }, '/stuck_after_days'],
      [{ token_ttl_days: 366 }, '/token_ttl_days'],
      [{ upload_max_bytes: 1 }, '/upload_max_bytes'],
      [{ unavailable_flows: 'maybe' }, '/unavailable_flows'],
      [{ colour: 'red' }, '/colour'],
    ];
    for (const [payload, path] of cases) {
      const res = await patchSettings(shop, payload);
      assert.equal(res.statusCode, 400, `${JSON.stringify(payload)} → ${res.statusCode} ${res.body}`);
      assertInvalidAt(res, path);
    }
    assertError(await patchSettings(shop, [{ claim_window_days: 3 }]), 400, 'validation_failed');
    // An empty code is missing, not malformed: the portal then asks for a code (src/ui/errors.ts).
    const empty = await patchSettings(shop, {
      flows: { defective: { reasons: [{ code: '', labels: { en: 'x' } }] } },
    });
    assert.deepEqual(empty.json().error.errors[0], {
      path: '/flows/defective/reasons/0/code',
      message: 'must NOT have fewer than 1 characters',
    });
    assert.deepEqual((await getSettings(shop)).json(), defaultResolveSettings());
  });

  test('a valid choice prompt and a disabled flow without resolutions are accepted', async () => {
    const shop = await createTestShop(ctx.db, 'set');
    const prompt = {
      id: 'colour',
      type: 'choice',
      labels: { en: 'Which colour?', de: 'Welche Farbe?' },
      required: true,
      options: [
        { value: 'red', labels: { en: 'Red', de: 'Rot' } },
        { value: 'blue', labels: { en: 'Blue' } },
      ],
    };
    const s = await patchOk(shop, {
      flows: { wrong_item: { prompts: [prompt] }, dissatisfied: { enabled: false, resolutions: [] } },
    });
    assert.deepEqual(s.flows.wrong_item.prompts, [prompt]);
    assert.equal(s.flows.dissatisfied.enabled, false);
  });
});

describe('settings take effect in the customer flow', () => {
  type Shipment = NonNullable<OrderInputT['shipments']>[number];
  const delivered = (days: number): Shipment => ({
    external_id: 'f-1',
    carrier: 'dhl',
    tracking_number: '1',
    tracking_url: null,
    line_items: [
      { external_id: 'li-1', quantity: 2 },
      { external_id: 'li-2', quantity: 1 },
    ],
    events: [
      { time: daysAgo(days + 1), code: 'picked_up', phase: 'in_transit', description: null, location: null },
      { time: daysAgo(days), code: 'delivered', phase: 'delivered', description: null, location: null },
    ],
  });

  async function sessionFor(shop: TestShop, shipments: Shipment[]) {
    const doc = orderDoc({ shipments });
    const put = await ctx.app.inject({
      method: 'PUT',
      url: `/v1/shops/${shop.slug}/orders`,
      headers: shop.auth.editor,
      payload: doc,
    });
    assert.equal(put.statusCode, 201, put.body);
    const res = await ctx.app.inject({
      method: 'POST',
      url: `/v1/resolve/${shop.slug}/sessions`,
      payload: { order_number: doc.order_number, zip_code: '10115' },
      remoteAddress: nextIp(),
    });
    assert.equal(res.statusCode, 201, res.body);
    return res.json().session as string;
  }

  interface FlowView {
    flow: string;
    available: boolean;
    reason_code: string | null;
    reasons: { code: string; label: string }[];
    steps: { photos: { min: number; max: number }; handoff: string; prompts: { label: string }[] };
  }
  async function flows(shop: TestShop, session: string, query = '') {
    const res = await ctx.app.inject({
      method: 'GET',
      url: `/v1/resolve/${shop.slug}/order${query}`,
      headers: { authorization: `Bearer ${session}` },
      remoteAddress: nextIp(),
    });
    assert.equal(res.statusCode, 200, res.body);
    const list = res.json().flows as FlowView[];
    return { list, by: Object.fromEntries(list.map((f) => [f.flow, f])) as Record<string, FlowView> };
  }

  test('disabling a flow gives flow_disabled', async () => {
    const shop = await createTestShop(ctx.db, 'set');
    const session = await sessionFor(shop, [delivered(2)]);
    assert.equal((await flows(shop, session)).by.defective.available, true);
    await patchOk(shop, { flows: { defective: { enabled: false } } });
    const { by } = await flows(shop, session);
    assert.equal(by.defective.available, false);
    assert.equal(by.defective.reason_code, 'flow_disabled');
    assert.equal(by.wrong_item.available, true);
  });

  test("unavailable_flows: 'hide' leaves out what is not available", async () => {
    const shop = await createTestShop(ctx.db, 'set');
    const session = await sessionFor(shop, [delivered(2)]);
    await patchOk(shop, { flows: { defective: { enabled: false } } });
    assert.equal((await flows(shop, session)).list.length, 7);
    await patchOk(shop, { unavailable_flows: 'hide' });
    const { list } = await flows(shop, session);
    assert.deepEqual(
      list.map((f) => f.flow),
      ['not_received', 'missing_item', 'wrong_item', 'return', 'dissatisfied', 'support'],
    );
    assert.ok(list.every((f) => f.available));
    // Before anything ships, only support is left.
    const unshipped = await sessionFor(shop, []);
    assert.deepEqual(
      (await flows(shop, unshipped)).list.map((f) => f.flow),
      ['support'],
    );
  });

  test('claim_window_days and return_window_days change eligibility', async () => {
    const shop = await createTestShop(ctx.db, 'set');
    const session = await sessionFor(shop, [delivered(10)]);
    const before = (await flows(shop, session)).by;
    assert.equal(before.defective.reason_code, null);
    assert.equal(before.return.reason_code, null);
    await patchOk(shop, { claim_window_days: 7 });
    let { by } = await flows(shop, session);
    for (const f of ['defective', 'not_received', 'missing_item', 'wrong_item', 'dissatisfied'])
      assert.equal(by[f].reason_code, 'outside_claim_window', f);
    assert.equal(by.return.reason_code, null);
    await patchOk(shop, { return_window_days: 5, claim_window_days: 60 });
    ({ by } = await flows(shop, session));
    assert.equal(by.return.reason_code, 'outside_return_window');
    assert.equal(by.defective.reason_code, null);
  });

  test('stuck_after_days decides when a quiet shipment counts as stuck', async () => {
    const shop = await createTestShop(ctx.db, 'set');
    const quiet: Shipment = {
      ...delivered(0),
      events: [
        { time: daysAgo(3), code: 'picked_up', phase: 'in_transit', description: null, location: null },
      ],
    };
    const session = await sessionFor(shop, [quiet]);
    assert.equal((await flows(shop, session)).by.not_received.reason_code, 'not_delivered');
    await patchOk(shop, { stuck_after_days: 2 });
    const { by } = await flows(shop, session);
    assert.equal(by.not_received.reason_code, null);
    assert.equal(by.defective.reason_code, 'not_delivered');
  });

  test('reasons, labels, steps and the returns hand-off follow the settings', async () => {
    const shop = await createTestShop(ctx.db, 'set');
    const session = await sessionFor(shop, [delivered(2)]);
    await patchOk(shop, {
      returns: { mode: 'external', external_url_template: 'https://returns.example/{orderNumber}' },
      flows: {
        defective: {
          photos: { min: 2, max: 4 },
          reasons: [{ code: 'scratched', labels: { en: 'Scratched', de: 'Zerkratzt' } }],
          prompts: [{ id: 'when', type: 'text', labels: { en: 'When?', de: 'Wann?' }, required: false }],
        },
      },
    });
    const de = (await flows(shop, session, '?lang=de')).by;
    assert.deepEqual(de.defective.reasons, [{ code: 'scratched', label: 'Zerkratzt' }]);
    assert.deepEqual(de.defective.steps.photos, { min: 2, max: 4 });
    assert.equal(de.defective.steps.prompts[0].label, 'Wann?');
    assert.equal(de.return.steps.handoff, 'external');
    const fr = (await flows(shop, session, '?lang=fr')).by;
    assert.deepEqual(fr.defective.reasons, [{ code: 'scratched', label: 'Scratched' }]);
  });
});
