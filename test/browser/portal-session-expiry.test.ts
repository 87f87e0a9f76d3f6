import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import { createUser } from '../../src/shops/users.js';
import {
  browserAvailable,
  launch,
  newPage,
  type PageServer,
  portalSignIn,
  seriousViolations,
  startPageServer,
  VIEWPORTS,
} from './support.js';

// The portal's session ends while a merchant is typing (signed out in another tab, or expired): the page stays,
// a dialog asks to sign in again, and what was typed is still there afterwards. Unknown paths say so.

const run = browserAvailable();
const desktop = VIEWPORTS[1];
const AGENT = { email: 'agent@demo.test', password: 'agent-password-1' };
const ADMIN = { email: 'admin@demo.test', password: 'demo-password-123' };

describe('merchant portal: the session ends under an open page', { skip: !run }, () => {
  let server: PageServer;
  let browser: Browser;

  /** Signs the context's session out as another tab would: POST /v1/portal/logout with its cookie and token. */
  const signOutElsewhere = async (context: BrowserContext) => {
    const cookie = (await context.cookies()).find((c) => c.name.endsWith('resolve_portal'));
    assert.ok(cookie, 'a portal session cookie');
    const headers = { cookie: `${cookie.name}=${cookie.value}` };
    const me = await fetch(`${server.url}/v1/portal/me`, { headers });
    const { csrf_token } = (await me.json()) as { csrf_token: string };
    const out = await fetch(`${server.url}/v1/portal/logout`, {
      method: 'POST',
      headers: { ...headers, 'x-csrf-token': csrf_token },
    });
    assert.equal(out.status, 204);
  };

  before(async () => {
    server = await startPageServer({}, 'portal');
    browser = await launch();
    await createUser(server.ctx.db, { shopId: server.demo.id, ...AGENT, role: 'agent' });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('signed out in another tab while recording a claim: sign in again over the form, nothing typed is lost', async () => {
    const { context, page } = await newPage(browser, desktop);
    try {
      // A first visit without a session: the sign-in page.
      await page.goto(`${server.url}/portal`);
      await page.getByRole('heading', { name: 'Sign in to Resolve' }).waitFor();
      assert.equal(await page.title(), 'Sign in · Resolve');
      await portalSignIn(page, server.url, AGENT);

      const orders = await fetch(`${server.url}/v1/shops/demo/orders?order_number=1001`, {
        headers: { authorization: `Bearer ${server.adminKey}` },
      });
      const orderId = ((await orders.json()) as { data: { id: string }[] }).data[0].id;
      await page.goto(`${server.url}/portal/demo/orders/${orderId}`);
      await page.getByRole('button', { name: 'Record a claim' }).click();
      const form = page.locator('#record-claim');
      await form.getByRole('radio', { name: /Damaged or defective/ }).check();
      await form.getByLabel('Reason').selectOption({ label: 'Damaged in transit' });
      await form.getByLabel(/Organic cotton T-shirt/).fill('1');
      const said = 'Called at 10:15: the shirt arrived with a tear along the seam.';
      await form.getByLabel(/What the customer said/).fill(said);
      await form.getByRole('radio', { name: 'Refund', exact: true }).check();

      await signOutElsewhere(context);
      await form.getByRole('button', { name: 'Record the claim' }).click();
      const dialog = page.getByRole('dialog', { name: 'Your session ended' });
      await dialog.waitFor();
      assert.match(await dialog.innerText(), /Sign in again to continue; what you typed is kept\./);
      assert.equal(await dialog.getAttribute('aria-modal'), 'true');
      assert.equal(
        await page.evaluate(() => !!document.activeElement?.closest('dialog')),
        true,
        'focus is in the dialog',
      );
      assert.equal(await dialog.getByLabel('Email').inputValue(), AGENT.email);
      assert.deepEqual(await seriousViolations(page), []);

      await dialog.getByLabel('Password').fill(AGENT.password);
      await dialog.getByRole('button', { name: 'Sign in' }).click();
      await dialog.waitFor({ state: 'detached' });
      // The form as it was, and the action goes through now (with the new session's CSRF token).
      assert.equal(await form.getByLabel(/What the customer said/).inputValue(), said);
      await form.getByRole('button', { name: 'Record the claim' }).click();
      await page.getByRole('heading', { name: /^Claim R-/ }).waitFor();
      assert.match(await page.locator('main').innerText(), /tear along the seam/);

      // Another person signing in on this page starts clean: the page reloads under their session.
      await page.goto(`${server.url}/portal/demo/orders/${orderId}`);
      await page.getByRole('button', { name: 'Record a claim' }).click();
      await form.getByRole('radio', { name: /Damaged or defective/ }).check();
      await form.getByLabel(/What the customer said/).fill('A draft of the agent');
      await signOutElsewhere(context);
      // Goodwill reads the order's eligibility again: the request that finds the session gone.
      await form.getByLabel(/Goodwill/).click();
      await dialog.waitFor();
      await dialog.getByLabel('Email').fill(ADMIN.email);
      await dialog.getByLabel('Password').fill(ADMIN.password);
      await dialog.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: /Order #1001/ }).waitFor();
      await page.getByRole('button', { name: 'Record a claim' }).waitFor();
      assert.equal(await page.locator('#record-claim').count(), 0, 'no draft of the other user');
      assert.equal(await dialog.count(), 0);
      await page.locator('.topbar [title="admin@demo.test"]').waitFor();
    } finally {
      await context.close();
    }
  });

  test('an unknown portal path says so and links to the claims list', async () => {
    const { context, page } = await newPage(browser, desktop);
    try {
      await portalSignIn(page, server.url, AGENT);
      for (const path of ['/portal/demo/nonexistent', '/portal/no-such-shop/claims']) {
        await page.goto(`${server.url}${path}`);
        await page.getByRole('heading', { name: 'Page not found' }).waitFor();
        assert.equal(await page.title(), 'Page not found · Resolve');
      }
      await page.getByRole('link', { name: 'Go to the claims list' }).click();
      await page.getByRole('heading', { name: 'Claims' }).waitFor();
      assert.equal(new URL(page.url()).pathname, '/portal/demo/claims');
    } finally {
      await context.close();
    }
  });
});
