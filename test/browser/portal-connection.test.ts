import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { jobHandlers } from '../../src/jobs/catalog.js';
import { startWooSim, type WooSim } from '../simulators/woocommerce.js';
import { drainJobs } from '../support/jobs.js';
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

const run = browserAvailable();

describe('portal: connecting the shop platform', { skip: !run }, () => {
  let server: PageServer;
  let browser: Browser;
  let sim: WooSim;
  before(async () => {
    server = await startPageServer({ connectorTestUrls: true }, 'portal');
    browser = await launch();
    sim = await startWooSim({ deliver: null });
    sim.addProduct({ id: 1, name: 'Teapot', sku: 'TEA-1', price: 3900 });
    sim.createOrder({
      number: '9001',
      createdAt: new Date(Date.now() - 3 * 86_400_000),
      billing: { first_name: 'Jo', last_name: 'Doe', email: 'jo@example.com' },
      shipping: {
        first_name: 'Jo',
        last_name: 'Doe',
        address_1: 'Main St 1',
        city: 'Berlin',
        postcode: '10115',
        country: 'DE',
      },
      lines: [{ productId: 1, name: 'Teapot', sku: 'TEA-1', quantity: 1, price: 3900 }],
    });
  });
  after(async () => {
    await sim?.close();
    await browser?.close();
    await server?.close();
  });

  test('a refused setting is said at its field, and switching platform clears it', async () => {
    for (const vp of [VIEWPORTS[1], VIEWPORTS[0]]) {
      const { context, page } = await newPage(browser, vp);
      const shot = shooter(page, 'portal-connection-errors', vp);
      await portalSignIn(page, server.url, { email: 'admin@demo.test', password: 'demo-password-123' });
      await page.goto(`${server.url}/portal/demo/settings/connection`);
      await page.getByRole('heading', { name: 'Connect your shop' }).waitFor();
      await page.getByLabel('Platform').selectOption('shopify');
      await page.getByLabel('Shop domain').fill('acme');
      await page.getByLabel('Admin API access token').fill('shpat_x');
      await page.getByLabel(/App client secret/).fill('secret');
      await page.getByRole('button', { name: 'Test and connect' }).click();
      const domain = page.getByLabel('Shop domain');
      await page.locator('#set-shop_domain-error').waitFor();
      assert.equal(
        await page.locator('#set-shop_domain-error').innerText(),
        "Must be the shop's myshopify domain, e.g. acme.myshopify.com",
      );
      assert.equal(await domain.getAttribute('aria-invalid'), 'true');
      const alert = page.getByRole('alert');
      assert.equal(await alert.innerText(), 'Check this field: Shop domain.');
      const form = await page.locator('form[aria-labelledby=connect-title]').innerText();
      assert.doesNotMatch(form, /\/settings\/|shop_domain/);
      assert.deepEqual(await seriousViolations(page), []);
      await shot('at-the-field');
      // Shopware's form has no shop domain: nothing about it stays on screen.
      await page.getByLabel('Platform').selectOption('shopware');
      await page.getByLabel('Shop URL').waitFor();
      assert.equal(await page.getByRole('alert').count(), 0);
      assert.equal(await page.locator('.field-error').count(), 0);
      await shot('switched');
      await context.close();
    }
  });

  test('an admin connects WooCommerce (refused keys first), sees the import, stops a second one, tests and disconnects', async () => {
    const vp = VIEWPORTS[1];
    const { context, page } = await newPage(browser, vp);
    const shot = shooter(page, 'portal-connection', vp);
    await page.goto(`${server.url}/portal`);
    await page.getByLabel('Email').fill('admin@demo.test');
    await page.getByLabel('Password').fill('demo-password-123');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Claims' }).waitFor();
    await page.goto(`${server.url}/portal/demo/settings/connection`);
    await page.getByRole('heading', { name: 'Connect your shop' }).waitFor();
    // The demo shop says what carries out its refunds instead of looking unconnected.
    assert.match(await page.getByTestId('demo-connector').innerText(), /built-in demo connector/);
    assert.deepEqual(await seriousViolations(page), []);
    await page.getByLabel('Platform').selectOption('woocommerce');
    await page.getByLabel(/Store URL/).fill('https://shop.example');
    await page.getByLabel(/API base URL|api_base_url/i).fill(sim.apiBase);
    await page.getByLabel(/Consumer key/i).fill(sim.consumerKey);
    await page.getByLabel(/Consumer secret/i).fill('cs_wrong');
    await page.getByLabel(/Webhook secret/i).fill('whsec_portal');
    await page.getByLabel(/Import orders of the last/).fill('30');
    await page.getByRole('button', { name: 'Test and connect' }).click();
    await page.getByText(/The platform refused the connection/).waitFor();
    await shot('refused');
    await page.getByLabel(/Consumer secret/i).fill(sim.consumerSecret);
    await page.getByRole('button', { name: 'Test and connect' }).click();
    await page.getByTestId('connection').waitFor();
    assert.equal(await page.getByText(sim.consumerSecret).count(), 0, 'the secret is never shown');
    // Import again while the first import is still queued: refused, and said so (not a silent no-op).
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page
      .getByRole('alert')
      .getByText(/A backfill is already running/)
      .waitFor();
    // The worker imports the orders; the status follows.
    await drainJobs(server.ctx.db, jobHandlers(server.ctx.deps), ['connector.backfill']);
    await page.getByRole('button', { name: 'Refresh status' }).click();
    await page
      .getByTestId('sync-status')
      .getByText(/done — 1 order\(s\) imported/)
      .waitFor();
    // A new import started by mistake is stopped before its job runs: the status says so, and how far it got.
    await page.getByLabel(/Import again, last/).fill('365');
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page
      .getByTestId('sync-status')
      .getByText(/running — 0 order\(s\) imported/)
      .waitFor();
    await page.getByRole('button', { name: 'Stop import' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Stop import' }).click();
    await page
      .getByTestId('sync-status')
      .getByText(/Import stopped: 0 order\(s\) imported .*stopped \d/)
      .waitFor();
    assert.equal(await page.getByRole('button', { name: 'Stop import' }).count(), 0, 'nothing left to stop');
    assert.equal(
      (await drainJobs(server.ctx.db, jobHandlers(server.ctx.deps), ['connector.backfill'])).ran,
      0,
      'its job left the queue',
    );
    await page.getByRole('button', { name: 'Refresh status' }).click();
    await page
      .getByTestId('sync-status')
      .getByText(/Import stopped/)
      .waitFor();
    assert.deepEqual(await seriousViolations(page), []);
    await shot('import-stopped');
    await page.getByRole('button', { name: 'Test connection' }).click();
    await page
      .getByTestId('test-result')
      .getByText(/Connected to/)
      .waitFor();
    assert.deepEqual(await seriousViolations(page), []);
    await shot('connected');
    await page.getByRole('button', { name: 'Disconnect' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Disconnect' }).click();
    await page.getByRole('heading', { name: 'Connect your shop' }).waitFor();
    await context.close();
  });
});
