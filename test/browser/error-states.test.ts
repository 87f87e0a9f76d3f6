import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import type { Browser, Page } from 'playwright-core';
import { query } from '../../src/db/client.js';
import {
  browserAvailable,
  FIXTURE_JPEG,
  launch,
  lookUp,
  newPage,
  type PageServer,
  seriousViolations,
  shooter,
  startPageServer,
  VIEWPORTS,
} from './support.js';

const run = browserAvailable();

/** Walks the damaged-item flow on 1001 up to the review, with one photo of the given item. */
async function toReview(page: Page, item: RegExp) {
  await page.getByRole('button', { name: 'An item is damaged or broken' }).click();
  await page.getByRole('checkbox', { name: item }).check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Stopped working').check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.locator('[data-testid^="file-photo-"]').first().setInputFiles(FIXTURE_JPEG);
  await page.getByTestId('photo').getByText('Uploaded').waitFor();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel(/Describe the problem/).fill('It stopped working after one day.');
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel(/Refund/).check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { name: 'Check and send' }).waitFor();
}

describe('customer page: every error state', { skip: !run }, () => {
  let server: PageServer;
  let browser: Browser;
  before(async () => {
    server = await startPageServer();
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const evidenceOf = async (number: string) =>
    (
      await query<{ n: number }>(
        server.ctx.db,
        sql`select count(*)::int as n from claim_evidence e join claims c on c.id = e.claim_id
             where c.shop_id = ${server.demo.id} and c.number = ${number}`,
      )
    )[0].n;

  for (const vp of VIEWPORTS) {
    test(`${vp.name}: a rejected upload, then a session that ends before submitting, resumed without losing anything`, async () => {
      const { context, page } = await newPage(browser, vp);
      const shot = shooter(page, 'session-expired', vp);
      await page.goto(`${server.url}/resolve/demo?lang=en`);
      await lookUp(page, '1001', '10115');
      await page.getByRole('button', { name: 'An item is damaged or broken' }).click();
      await page
        .getByRole('checkbox', { name: vp.name === 'phone' ? /Merino socks/ : /Organic cotton T-shirt/ })
        .check();
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByLabel('Manufacturing defect').check();
      await page.getByRole('button', { name: 'Continue' }).click();

      // A text file named like a photo is refused by content, with a clear message; it can be removed.
      const fake = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'resolve-')), 'holiday.jpg');
      fs.writeFileSync(fake, 'this is not an image, whatever the name says');
      await page.locator('[data-testid^="file-photo-"]').first().setInputFiles(fake);
      await page.getByText('This file is not a photo we can accept').waitFor();
      assert.deepEqual(await seriousViolations(page), []);
      await shot('upload-rejected');
      await page.getByRole('button', { name: 'Remove photo' }).click();
      await page.locator('[data-testid^="file-photo-"]').first().setInputFiles(FIXTURE_JPEG);
      await page.getByTestId('photo').getByText('Uploaded').waitFor();
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByLabel(/Describe the problem/).fill('The seam split on the first wash.');
      await page.getByRole('button', { name: 'Continue' }).click();
      await page
        .getByLabel(/Store credit|Refund/)
        .first()
        .check();
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('heading', { name: 'Check and send' }).waitFor();

      // The session ends (expired or pruned) while the customer reads the review.
      await query(server.ctx.db, sql`delete from resolve_sessions where shop_id = ${server.demo.id}`);
      await page.getByRole('button', { name: 'Send request' }).click();
      const panel = page.getByTestId('session-expired');
      await panel.getByRole('heading', { name: 'Your session has ended' }).waitFor();
      assert.equal(await page.getByLabel('Order number').inputValue(), '1001');
      assert.equal(await page.getByLabel('ZIP or postal code').inputValue(), '10115');
      assert.deepEqual(await seriousViolations(page), []);
      await shot('expired');
      await page.getByRole('button', { name: 'Find my order' }).click();

      // Back on the review with every answer kept; the photo is uploaded again under the new session.
      await page.getByRole('heading', { name: 'Check and send' }).waitFor();
      assert.match(await page.getByTestId('review').innerText(), /The seam split on the first wash/);
      await shot('resumed');
      await page.getByRole('button', { name: 'Send request' }).click();
      await page.getByTestId('confirmation').waitFor();
      const number = /request number is ([A-Z0-9-]+)/.exec(
        await page.getByTestId('confirmation').innerText(),
      )?.[1];
      assert.ok(number);
      assert.equal(await evidenceOf(number), 1, 'the photo made it into the claim');
      await context.close();
    });

    test(`${vp.name}: offline while submitting, then sent once the connection is back`, async () => {
      const { context, page } = await newPage(browser, vp);
      const shot = shooter(page, 'offline', vp);
      await page.goto(`${server.url}/resolve/demo?lang=en`);
      // Each viewport claims another item: the first visit's claim makes its units ineligible.
      if (vp.name === 'phone') await lookUp(page, '1001', '10115');
      else await lookUp(page, '1005', 'SW1A 1AA');
      await toReview(page, vp.name === 'phone' ? /Ceramic mug/ : /Desk lamp/);
      await context.setOffline(true);
      await page.getByRole('button', { name: 'Send request' }).click();
      await page
        .getByTestId('submit-error')
        .getByText(/You are offline/)
        .waitFor();
      await page.getByTestId('offline-banner').waitFor();
      await shot('offline');
      await context.setOffline(false);
      await page.getByTestId('offline-banner').waitFor({ state: 'detached' });
      await page.getByRole('button', { name: 'Send request' }).click();
      await page.getByTestId('confirmation').waitFor();
      await shot('sent');
      const n = await query<{ n: number }>(
        server.ctx.db,
        sql`select count(*)::int as n from claims c join orders o on o.id = c.order_id
             where o.shop_id = ${server.demo.id} and c.flow = 'defective'
               and exists (select 1 from claim_items i join line_items l on l.id = i.line_item_id
                           where i.claim_id = c.id and l.title = ${vp.name === 'phone' ? 'Ceramic mug' : 'Desk lamp'})`,
      );
      assert.equal(n[0].n, 1, 'one claim although the first attempt was made offline');
      await context.close();
    });
  }

  test('a gated flow stays gated at submission: the reason is explained in plain words', async () => {
    const { context, page } = await newPage(browser, VIEWPORTS[0]);
    await page.goto(`${server.url}/resolve/demo?lang=en`);
    await lookUp(page, '1001', '10115');
    await toReview(page, /Organic cotton T-shirt/);
    // Meanwhile the shop switches the flow off: the page explains instead of failing vaguely.
    const res = await fetch(`${server.url}/v1/shops/demo/settings/resolve`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ flows: { defective: { enabled: false } } }),
    });
    assert.equal(res.status, 200);
    try {
      await page.getByRole('button', { name: 'Send request' }).click();
      await page
        .getByTestId('submit-error')
        .getByText(/This can no longer be reported/)
        .waitFor();
      // Sending again cannot help; the way on is back to the order, where the flow shows why it is closed.
      assert.equal(await page.getByRole('button', { name: 'Send request' }).isDisabled(), true);
      await shooter(page, 'not-eligible', VIEWPORTS[0])('refused');
      await page.getByTestId('submit-error').getByRole('button', { name: 'Back to my order' }).click();
      await page.getByTestId('unavailable-defective').waitFor();
    } finally {
      await fetch(`${server.url}/v1/shops/demo/settings/resolve`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ flows: { defective: { enabled: true } } }),
      });
      await context.close();
    }
  });
});

describe('customer page: throttled lookups', { skip: !run }, () => {
  let server: PageServer;
  let browser: Browser;
  before(async () => {
    server = await startPageServer({
      lookup: {
        ipMax: 1000,
        ipWindowSeconds: 600,
        shopMax: 100_000,
        orderFailures: 3,
        ipFailures: 1000,
        lockSeconds: 120,
      },
    });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('after repeated wrong ZIPs the page says how long to wait and holds the button', async () => {
    const { context, page } = await newPage(browser, VIEWPORTS[0]);
    const shot = shooter(page, 'throttled', VIEWPORTS[0]);
    await page.goto(`${server.url}/resolve/demo?lang=en`);
    for (let i = 0; i < 3; i++) {
      await lookUp(page, '1002', `0000${i}`);
      await page.getByTestId('lookup-error-order_not_found').waitFor();
      await page.getByRole('button', { name: 'Find my order' }).waitFor();
    }
    await lookUp(page, '1002', '80331');
    const alert = page.getByTestId('lookup-error-rate_limited');
    await alert.waitFor();
    assert.match(await alert.innerText(), /Too many attempts\. Please wait (2 minutes|1[0-9]{2} seconds)/);
    assert.equal(await page.locator('form button[type=submit]').isDisabled(), true);
    assert.deepEqual(await seriousViolations(page), []);
    await shot('throttled');
    await context.close();
  });
});

describe('customer page: a submit whose answer is lost', { skip: !run }, () => {
  let server: PageServer;
  let browser: Browser;
  before(async () => {
    server = await startPageServer();
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('the server creates the claim but the answer never arrives: the retry returns the same claim', async () => {
    const { context, page } = await newPage(browser, VIEWPORTS[0]);
    await page.goto(`${server.url}/resolve/demo?lang=en`);
    await lookUp(page, '1001', '10115');
    await toReview(page, /Ceramic mug/);
    let lost = 0;
    await page.route('**/v1/resolve/demo/claims?*', async (route) => {
      if (route.request().method() !== 'POST' || lost > 0) return route.fallback();
      lost += 1;
      await route.fetch(); // reaches the server, which creates the claim…
      await route.abort('connectionreset'); // …but the phone never hears back
    });
    await page.getByRole('button', { name: 'Send request' }).click();
    await page.getByTestId('submit-error').waitFor();
    await page.getByRole('button', { name: 'Send request' }).click();
    await page.getByTestId('confirmation').waitFor();
    const number = /request number is ([A-Z0-9-]+)/.exec(
      await page.getByTestId('confirmation').innerText(),
    )?.[1];
    const rows = await query<{ number: string }>(
      server.ctx.db,
      sql`select c.number from claims c join orders o on o.id = c.order_id
           where o.shop_id = ${server.demo.id} and o.order_number = '1001'`,
    );
    assert.equal(lost, 1);
    assert.deepEqual(
      rows.map((r) => r.number),
      [number],
      'one claim, the one the confirmation shows',
    );
    await context.close();
  });
});
