import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import type { Browser } from 'playwright-core';
import { jobHandlers } from '../../src/jobs/catalog.js';
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

// The refund / replacement form on the claim page: the money before confirming, quantities checked at the field
// (not clamped), and why the buttons are off when they are.

const run = browserAvailable();
const [phone, desktop] = VIEWPORTS;
const ADMIN = { email: 'admin@demo.test', password: 'demo-password-123' };
const eur = (minor: number) =>
  new Intl.NumberFormat('en', { style: 'currency', currency: 'EUR' }).format(minor / 100);

interface ClaimJson {
  id: string;
  number: string;
  version: number;
  items: { line_item_id: string; title: string; quantity: number; unit_net_price: number }[];
  order: { currency: string; totals: { shipping: number } };
}

describe('merchant portal: the refund and replacement form', { skip: !run }, () => {
  let server: PageServer;
  let browser: Browser;
  let claim: ClaimJson;
  let socks: ClaimJson;

  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${server.url}/v1/shops/demo${path}`, {
      method,
      headers: {
        authorization: `Bearer ${server.adminKey}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    assert.ok(res.ok, `${method} ${path} → ${res.status} ${text}`);
    return JSON.parse(text) as T;
  };
  const work = () => drainJobs(server.ctx.db, jobHandlers(server.ctx.deps), ['claims.action']);
  /** A defective claim taken by the team (no photos needed) for these of 1001's lines, by position. */
  const claimOn = async (which: number[], qty: (max: number) => number) => {
    const order = await api<{ id: string; line_items: { id: string; quantity: number }[] }>(
      'GET',
      '/orders/demo-1001',
    );
    const { id } = await api<{ id: string }>('POST', '/claims', {
      order_id: order.id,
      flow: 'defective',
      reason: 'damaged_in_transit',
      description: 'Taken by phone',
      items: which.map((i) => ({
        line_item_id: order.line_items[i].id,
        quantity: qty(order.line_items[i].quantity),
      })),
      resolution_preference: 'refund',
      channel: 'portal',
    });
    return api<ClaimJson>('GET', `/claims/${id}`);
  };

  before(async () => {
    server = await startPageServer({}, 'portal');
    browser = await launch();
    // 1001: both T-shirts and the mug arrived damaged; then, on a second claim, the socks.
    claim = await claimOn([0, 1], (m) => m);
    socks = await claimOn([2], () => 1);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('an agent sees the estimated refund as the form changes, and cannot confirm a quantity out of range', async () => {
    const tee = claim.items.find((i) => i.title === 'Organic cotton T-shirt')!;
    const mug = claim.items.find((i) => i.title === 'Ceramic mug')!;
    assert.equal(tee.quantity, 2);
    const shipping = claim.order.totals.shipping;
    assert.ok(shipping > 0, 'the demo order has a shipping cost');
    const { context, page } = await newPage(browser, desktop);
    const shot = shooter(page, 'portal-refund-dialog', desktop);
    try {
      await portalSignIn(page, server.url, ADMIN);
      await page.goto(`${server.url}/portal/demo/claims/${claim.id}`);
      const section = page.getByTestId('claim-actions');
      await section.getByText('None yet.').waitFor();
      await section.getByRole('button', { name: 'Refund…' }).click();
      const estimate = section.getByTestId('refund-estimate');
      const confirm = section.getByRole('button', { name: 'Confirm: refund' });
      const teeQty = section.getByLabel('Organic cotton T-shirt');
      const mugQty = section.getByLabel('Ceramic mug');

      // Every claimed unit by default: the estimate is their net prices.
      await estimate
        .getByText(`Estimated refund: ${eur(2 * tee.unit_net_price + mug.unit_net_price)}`)
        .waitFor();
      assert.match(
        await estimate.innerText(),
        /estimate: the shop’s platform works out the exact amount \(tax, discounts\)/,
      );

      // 5 in a field of 2 is refused at the field, not clamped to 2.
      await teeQty.fill('5');
      await section.getByText('At most 2', { exact: true }).waitFor();
      assert.equal(await teeQty.getAttribute('aria-invalid'), 'true');
      assert.equal(await confirm.isDisabled(), true);
      await estimate.getByText('Estimated refund: —').waitFor();
      await shot('too-many');
      await teeQty.fill('1.5');
      await section.getByText('Enter a whole number', { exact: true }).waitFor();
      assert.equal(await confirm.isDisabled(), true);
      await teeQty.fill('0');
      await mugQty.fill('0');
      await section.getByText('Choose at least one item', { exact: true }).waitFor();
      assert.equal(await confirm.isDisabled(), true);

      // One shirt with shipping: the estimate follows.
      await teeQty.fill('1');
      await estimate.getByText(`Estimated refund: ${eur(tee.unit_net_price)}`).waitFor();
      const ship = section.getByLabel(/Refund the shipping cost too/);
      assert.match(
        (await section.locator('label.check').innerText()).trim(),
        new RegExp(`\\(${eur(shipping).replace('.', '\\.')}\\)$`),
      );
      await ship.check();
      await estimate.getByText(`Estimated refund: ${eur(tee.unit_net_price + shipping)}`).waitFor();
      assert.equal(await confirm.isDisabled(), false);
      assert.deepEqual(await seriousViolations(page), []);
      await shot('estimate');
      await confirm.click();
      await section.getByTestId('claim-action').getByText('Pending').waitFor();
      await work();
      const refund = section.getByTestId('claim-action').first();
      await refund.getByText('Succeeded').waitFor();
      // The amount the shop reported shows with the outcome.
      const [done] = (
        await api<{ data: { amount: number | null; lines: { quantity: number }[] }[] }>(
          'GET',
          `/claims/${claim.id}/actions`,
        )
      ).data;
      assert.deepEqual(
        done.lines.map((l) => l.quantity),
        [1],
      );
      assert.ok(done.amount && done.amount > 0, 'the shop reported an amount');
      assert.match(
        await refund.innerText(),
        new RegExp(
          `1 × Organic cotton T-shirt \\+ shipping · ${eur(done.amount).replace('.', '\\.')} · in the shop: `,
        ),
      );

      // Shipping is refunded once: not offered again.
      await section.getByRole('button', { name: 'Refund…' }).click();
      await section.getByText('The shipping cost was already refunded.').waitFor();
      assert.equal(await section.getByLabel(/Refund the shipping cost too/).count(), 0);
      assert.equal(await teeQty.inputValue(), '1');
      await estimate.getByText(`Estimated refund: ${eur(tee.unit_net_price + mug.unit_net_price)}`).waitFor();
      await confirm.click();
      await section.getByTestId('claim-action').nth(1).getByText('Pending').waitFor();
      await work();
      await section.getByTestId('claim-action').nth(1).getByText('Succeeded').waitFor();

      // Nothing left: the buttons are off, and say why.
      const why = section.getByTestId('actions-why');
      await why.getByText('Every item on this claim has already been refunded or replaced.').waitFor();
      assert.equal(await section.getByRole('button', { name: 'Refund…' }).isDisabled(), true);
      assert.equal(await section.getByRole('button', { name: 'Send a replacement…' }).isDisabled(), true);
      assert.deepEqual(await seriousViolations(page), []);
      await shot('all-done');

      // The order's other claim (the socks) knows that this claim's refund took the shipping: not offered there.
      await page.goto(`${server.url}/portal/demo/claims/${socks.id}`);
      const other = page.getByTestId('claim-actions');
      await other.getByText('None yet.').waitFor();
      await other.getByRole('button', { name: 'Refund…' }).click();
      await other
        .getByTestId('shipping-refunded')
        .getByText(`The shipping cost was already refunded with claim ${claim.number}.`)
        .waitFor();
      assert.equal(await other.getByLabel(/Refund the shipping cost too/).count(), 0);
      assert.doesNotMatch(await other.getByTestId('refund-estimate').innerText(), /shipping cost if ticked/);
      await shot('shipping-refunded-elsewhere');
    } finally {
      await context.close();
    }
  });

  test('on a phone: a quantity over what is left, no platform connected, a rejected claim', async () => {
    const { context, page } = await newPage(browser, phone);
    const shot = shooter(page, 'portal-refund-dialog', phone);
    try {
      await portalSignIn(page, server.url, ADMIN);
      await page.goto(`${server.url}/portal/demo/claims/${socks.id}`);
      const section = page.getByTestId('claim-actions');
      await section.getByText('None yet.').waitFor();
      await section.getByRole('button', { name: 'Refund…' }).click();
      const qty = section.getByLabel('Merino socks (3 pairs)');
      assert.equal(await qty.inputValue(), '1');
      await qty.fill('5');
      await section.getByText('At most 1', { exact: true }).waitFor();
      assert.equal(await section.getByRole('button', { name: 'Confirm: refund' }).isDisabled(), true);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 390, `no sideways scrolling (${width}px)`);
      assert.deepEqual(await seriousViolations(page), []);
      await shot('too-many');
      await section.getByRole('button', { name: 'Cancel' }).click();

      // The shop's platform is disconnected (a headless shop): the agent is told to use the shop's admin.
      const id = server.demo.id;
      await server.ctx.db.execute(sql`update shops set connector = 'headless' where id = ${id}`);
      try {
        await page.reload();
        await section
          .getByTestId('actions-why')
          .getByText('No shop platform is connected: refund or send a replacement in your shop’s admin.')
          .waitFor();
        assert.equal(await section.getByRole('button', { name: 'Refund…' }).isDisabled(), true);
        assert.equal(await section.getByRole('button', { name: 'Send a replacement…' }).isDisabled(), true);
        await shot('no-platform');
      } finally {
        await server.ctx.db.execute(sql`update shops set connector = 'demo' where id = ${id}`);
      }

      await api('PATCH', `/claims/${socks.id}`, { status: 'rejected', version: socks.version });
      await page.reload();
      await section
        .getByTestId('actions-why')
        .getByText('A rejected claim gets no refund or replacement; reopen it first.')
        .waitFor();
      assert.equal(await section.getByRole('button', { name: 'Refund…' }).isDisabled(), true);
      await shot('rejected');
    } finally {
      await context.close();
    }
  });
});
