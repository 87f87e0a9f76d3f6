import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eq } from 'drizzle-orm';
import { webhookEndpoints } from '../src/db/schema.js';
import { loadMasterSecret } from '../src/lib/secret.js';
import { activeSecrets } from '../src/webhooks/endpoints.js';
import { createTestShop, startTestApp, type TestContext } from './support/app.js';
import { DATABASE_URL } from './support/db.js';
import { holdWritesTogether } from './support/hold-writes.js';

// Two rotations of an endpoint's signing secret at the same moment (a double click, two admins, a retried
// call): each answer's secret must sign deliveries. Both rotations read the endpoint before either wrote, so
// the interleaving needs two transactions open at once: PostgreSQL only.

describe('webhook secret rotation, twice at once', {
  skip: DATABASE_URL ? false : 'needs PostgreSQL',
}, () => {
  let ctx: TestContext;
  let master: Buffer;
  before(async () => {
    ctx = await startTestApp();
    master = await loadMasterSecret(ctx.db, ctx.deps.config);
  });
  after(() => ctx?.close());

  test('both secrets answered sign deliveries (the later is current, the earlier overlaps)', async () => {
    const s = await createTestShop(ctx.db, 'whrot');
    const created = await ctx.app.inject({
      method: 'POST',
      url: `/v1/shops/${s.slug}/webhooks`,
      headers: s.auth.admin,
      payload: { url: 'https://hooks.example.com/resolve' },
    });
    assert.equal(created.statusCode, 201, created.body);
    const { id, secret: first } = created.json() as { id: string; secret: string };

    const answers = await holdWritesTogether(ctx.db, 'webhook_endpoints', `old.id = '${id}'`, () =>
      [0, 1].map(() =>
        ctx.app.inject({
          method: 'POST',
          url: `/v1/shops/${s.slug}/webhooks/${id}/rotate-secret`,
          headers: s.auth.admin,
          payload: { overlap_seconds: 3600 },
        }),
      ),
    );
    for (const r of answers) assert.equal(r.statusCode, 200, r.body);
    const secrets = answers.map((r) => r.json().secret as string);
    assert.notEqual(secrets[0], secrets[1]);

    const [row] = await ctx.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id));
    const signing = activeSecrets(row, master, new Date());
    assert.equal(signing.length, 2);
    for (const sec of secrets)
      assert.ok(signing.includes(sec), 'a secret answered by a rotation never signs a delivery');
    assert.ok(!signing.includes(first), 'the secret of before both rotations still signs');
  });
});
