import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { createUser } from '../../src/shops/users.js';
import {
  browserAvailable,
  launch,
  newPage,
  type PageServer,
  portalSignIn,
  seriousViolations,
  shooter,
  startPageServer,
  VIEWPORTS,
} from './support.js';

// SPEC §3: lock-outs "a merchant can see". A customer who mistyped the ZIP too often calls the shop; the portal
// shows which order numbers are locked, whether each is a real order, and lets an agent lift the lock.

const run = browserAvailable();
const desktop = VIEWPORTS[1];
const ADMIN = { email: 'admin@demo.test', password: 'demo-password-123' };
const VIEWER = { email: 'lock-viewer@demo.test', password: 'viewer-password-1' };
const FAILURES = 3;

describe('portal: locked order lookups in Chromium', { skip: !run }, () => {
  let server: PageServer;
  let browser: Browser;

  const lookup = (order_number: string, zip_code: string) =>
    fetch(`${server.url}/v1/resolve/demo/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ order_number, zip_code }),
    });

  before(async () => {
    server = await startPageServer(
      {
        lookup: {
          ipMax: 100_000,
          ipWindowSeconds: 600,
          shopMax: 1_000_000,
          orderFailures: FAILURES,
          ipFailures: 10_000,
          lockSeconds: 900,
        },
      },
      'portal',
    );
    browser = await launch();
    await createUser(server.ctx.db, {
      shopId: server.demo.id,
      email: VIEWER.email,
      role: 'viewer',
      password: VIEWER.password,
    });
    // A customer mistypes the ZIP of a real order; someone tries a number that is no order.
    for (let i = 0; i < FAILURES; i++) {
      assert.equal((await lookup('#1001', '99999')).status, 404);
      assert.equal((await lookup('NOPE-77', '10115')).status, 404);
    }
    assert.equal((await lookup('1001', '10115')).status, 429, 'the real order is locked now');
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const signIn = (page: Page, who: { email: string; password: string }) =>
    portalSignIn(page, server.url, who);

  const rows = (page: Page) =>
    page
      .getByTestId('lockout-row')
      .evaluateAll((trs) =>
        trs.map((r) => [...r.querySelectorAll('th,td')].map((c) => (c as HTMLElement).innerText.trim())),
      );

  test('an agent sees both locks, which one is a real order, and lifts it; the customer gets in again', async () => {
    const { context, page } = await newPage(browser, desktop);
    const shot = shooter(page, 'portal-lockouts', desktop);
    try {
      await signIn(page, ADMIN);
      await page.goto(`${server.url}/portal/demo/settings`);
      await page.getByRole('link', { name: 'Locked lookups' }).click();
      await page.getByRole('heading', { name: 'Locked order lookups' }).waitFor();
      await page.getByTestId('lockouts-table').waitFor();
      assert.match(
        await page.getByTestId('lockout-policy').innerText(),
        new RegExp(`After ${FAILURES} failed lookups .* locked for 15 minutes`),
      );
      const listed = (await rows(page)).map((r) => [r[0], r[1], r[2]]).sort();
      assert.deepEqual(listed, [
        ['1001', '1001 · claims', String(FAILURES)],
        ['nope-77', 'No such order (someone guessing numbers?)', String(FAILURES)],
      ]);
      const orderLink = page.getByRole('link', { name: '1001 · claims' });
      assert.match((await orderLink.getAttribute('href')) ?? '', /\/portal\/demo\/claims\?order_id=ord_/);
      assert.deepEqual(await seriousViolations(page), [], 'axe on the lock-outs tab');
      await shot('two-locks');

      await page.getByRole('button', { name: 'Lift lock on 1001' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByText(`${FAILURES} more times`).waitFor();
      await dialog.getByRole('button', { name: 'Lift lock' }).click();
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=lockout-row]').length === 1);
      assert.deepEqual(
        (await rows(page)).map((r) => r[0]),
        ['nope-77'],
      );
      await shot('lifted');
      assert.equal((await lookup('1001', '10115')).status, 201, 'the customer can look the order up again');
    } finally {
      await context.close();
    }
  });

  test('a viewer sees the locks but cannot lift them', async () => {
    const { context, page } = await newPage(browser, desktop);
    try {
      await signIn(page, VIEWER);
      await page.goto(`${server.url}/portal/demo/settings/lockouts`);
      await page.getByTestId('lockouts-table').waitFor();
      assert.ok((await rows(page)).some((r) => r[0] === 'nope-77'));
      assert.equal(await page.getByRole('button', { name: /Lift lock/ }).count(), 0);
    } finally {
      await context.close();
    }
  });
});
