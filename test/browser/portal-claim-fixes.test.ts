import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
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
  submitClaim,
  VIEWPORTS,
} from './support.js';

// Fixes from the portal walkthrough: units left across an order's claims in the refund form, the reason filter
// per flow, a decision after a refund, replacement numbers in the history, the inbox on a phone, the channel
// chart's labels, stale webhook URL errors, inverted ranges in the settings, one vocabulary, and the keyboard
// in the decision form.

const run = browserAvailable();
const [phone, desktop] = VIEWPORTS;
const ADMIN = { email: 'admin@demo.test', password: 'demo-password-123' };
const eur = (minor: number) =>
  new Intl.NumberFormat('en', { style: 'currency', currency: 'EUR' }).format(minor / 100);

interface ClaimJson {
  id: string;
  number: string;
  version: number;
  status: string;
  items: { line_item_id: string; title: string; quantity: number; unit_net_price: number }[];
}

describe('merchant portal: fixes from the walkthrough', { skip: !run }, () => {
  let server: PageServer;
  let browser: Browser;
  /** 1001's two T-shirts: one refunded, one replaced, still pending. */
  let acted: ClaimJson;
  let support: { id: string; number: string };
  let dissatisfied: ClaimJson;

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
  const lines = async (order: string) =>
    (await api<{ id: string; line_items: { id: string; title: string; quantity: number }[] }>(
      'GET',
      `/orders/${order}`,
    )) as { id: string; line_items: { id: string; title: string; quantity: number }[] };
  /** A claim taken by the team (no photos needed) for these lines of an order, by position. */
  const claimOn = async (
    order: string,
    flow: string,
    reason: string,
    which: number[],
    qty: (max: number) => number = (m) => m,
  ) => {
    const o = await lines(order);
    const { id } = await api<{ id: string }>('POST', '/claims', {
      order_id: o.id,
      flow,
      reason,
      description: 'Taken by phone, the customer explained it at length.',
      items: which.map((i) => ({
        line_item_id: o.line_items[i].id,
        quantity: qty(o.line_items[i].quantity),
      })),
      resolution_preference: 'refund',
      channel: 'portal',
    });
    return api<ClaimJson>('GET', `/claims/${id}`);
  };
  const open = async (page: Page, id: string) => {
    await page.goto(`${server.url}/portal/demo/claims/${id}`);
    await page.getByRole('heading', { name: /^Claim R-/ }).waitFor();
  };

  before(async () => {
    server = await startPageServer({}, 'portal');
    browser = await launch();
    // 1001: both T-shirts arrived damaged; one is refunded, the other replaced.
    acted = await claimOn('demo-1001', 'defective', 'damaged_in_transit', [0]);
    const tee = acted.items[0];
    assert.equal(tee.quantity, 2);
    await api('POST', `/claims/${acted.id}/actions`, {
      type: 'refund',
      lines: [{ line_item_id: tee.line_item_id, quantity: 1 }],
    });
    await work();
    await api('POST', `/claims/${acted.id}/actions`, {
      type: 'replacement',
      lines: [{ line_item_id: tee.line_item_id, quantity: 1 }],
    });
    await work();
    // "Other" is a reason of Support, Return and Dissatisfied.
    support = await submitClaim(server, { order_number: '1005', zip_code: 'SW1A 1AA' }, () => ({
      flow: 'support',
      reason: 'other',
      items: [],
      description: 'Can I still change the delivery address?',
    }));
    dissatisfied = await claimOn('demo-1001', 'dissatisfied', 'other', [2], () => 1);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('#5 a pending claim with a refund and a replacement suggests accepting; Reject warns first', async () => {
    const { context, page } = await newPage(browser, desktop);
    try {
      await portalSignIn(page, server.url, ADMIN);
      await open(page, acted.id);
      const refund = (
        await api<{ data: { type: string; amount: number | null; external_number: string | null }[] }>(
          'GET',
          `/claims/${acted.id}/actions`,
        )
      ).data;
      const amount = refund.find((a) => a.type === 'refund')?.amount;
      const number = refund.find((a) => a.type === 'replacement')?.external_number;
      assert.ok(amount && number, 'both actions succeeded');
      const hint = page.getByTestId('decision-suggestion');
      await hint.waitFor();
      await shooter(page, 'portal-claim-fixes', desktop)('decision-suggestion');
      assert.equal(
        (await hint.locator('span').innerText()).trim(),
        `Refunded ${eur(amount)} and sent a replacement (${number}) — accept the claim?`,
      );
      await page.getByRole('button', { name: 'Reject', exact: true }).click();
      const warning = page.getByTestId('reject-warning');
      await warning.waitFor();
      assert.match(await warning.innerText(), /Refunded .* does not undo that: the customer keeps the money/);
      await page.getByRole('button', { name: 'Confirm: reject anyway' }).waitFor();
      await shooter(page, 'portal-claim-fixes', desktop)('reject-warning');
      await page.getByRole('button', { name: 'Cancel' }).click();
      assert.equal(await warning.count(), 0);
      // Accept from the suggestion opens the decision form, the keyboard in its reason box.
      await hint.getByRole('button', { name: 'Accept' }).click();
      await page.getByRole('button', { name: 'Confirm: accept' }).waitFor();
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'decision-reason');
      assert.equal(await hint.count(), 0);
      await page.getByRole('button', { name: 'Cancel' }).click();
      await hint.waitFor();
      assert.deepEqual(await seriousViolations(page), []);
    } finally {
      await context.close();
    }
  });

  test('#11 the history names a replacement by its order number, as the actions card does', async () => {
    const { context, page } = await newPage(browser, desktop);
    try {
      await portalSignIn(page, server.url, ADMIN);
      await open(page, acted.id);
      const action = page.getByTestId('claim-action').filter({ hasText: 'Replacement' });
      await action.waitFor();
      const number = /in the shop: (\S+)/.exec(await action.innerText())?.[1];
      assert.ok(number && !number.startsWith('demo-replacement-'), `card: ${number}`);
      const history = page.locator('section[aria-labelledby="history-title"]');
      await history.getByText(`In the shop: ${number}`).waitFor();
      assert.doesNotMatch(await history.innerText(), /demo-replacement-/);
    } finally {
      await context.close();
    }
  });

  test('#6 the refund form offers only the units left across the order’s claims, and says why', async () => {
    // The first claim is rejected (its units are free to claim again); a new one asks for the same T-shirts
    // again, and the mug.
    const now = await api<ClaimJson>('GET', `/claims/${acted.id}`);
    await api('PATCH', `/claims/${acted.id}`, {
      version: now.version,
      status: 'rejected',
      note: 'Sent back by mistake',
    });
    const again = await claimOn('demo-1001', 'dissatisfied', 'quality', [0, 1]);
    const tee = again.items.find((i) => i.title === 'Organic cotton T-shirt')!;
    const mug = again.items.find((i) => i.title === 'Ceramic mug')!;
    assert.equal(tee.quantity, 2);
    const { context, page } = await newPage(browser, desktop);
    try {
      await portalSignIn(page, server.url, ADMIN);
      await open(page, again.id);
      const section = page.getByTestId('claim-actions');
      await section.getByText('None yet.').waitFor();
      await section.getByRole('button', { name: 'Refund…' }).click();
      const teeQty = section.getByLabel('Organic cotton T-shirt');
      await teeQty.waitFor();
      assert.equal(await teeQty.isDisabled(), true, 'no T-shirt is left');
      assert.equal(await teeQty.inputValue(), '0');
      await section
        .getByTestId('action-line-used')
        .getByText('Not available: 1 already refunded, 1 already replaced.')
        .waitFor();
      assert.equal(await section.getByLabel('Ceramic mug').inputValue(), '1');
      await shooter(page, 'portal-claim-fixes', desktop)('refund-left');
      // The estimate is what is offered: the mug alone.
      await section
        .getByTestId('refund-estimate')
        .getByText(`Estimated refund: ${eur(mug.unit_net_price)}`)
        .waitFor();
      await section.getByRole('button', { name: 'Confirm: refund' }).click();
      await section
        .getByTestId('claim-action')
        .getByText(/1 × Ceramic mug/)
        .waitFor();
      await work();
      // Nothing is left now: both buttons are off, and say why.
      await page.reload();
      await section
        .getByTestId('actions-why')
        .getByText(/already been refunded or replaced/)
        .waitFor();
      assert.equal(await section.getByRole('button', { name: 'Refund…' }).isDisabled(), true);
    } finally {
      await context.close();
    }
  });

  test('#3 a reason chosen under a flow lists that flow’s claims only; an old bare code still shows', async () => {
    const { context, page } = await newPage(browser, desktop);
    try {
      await portalSignIn(page, server.url, ADMIN);
      await page.getByTestId('claim-row').first().waitFor();
      const reason = page.getByRole('combobox', { name: 'Reason', exact: true });
      await page.getByRole('option', { name: 'Other (Support)' }).waitFor({ state: 'attached' });
      await reason.selectOption({ label: 'Other (Support)' });
      await page.waitForURL(/reason=support%3Aother/);
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=claim-row]').length === 1);
      assert.equal(await page.getByTestId('claim-row').locator('td:first-child').innerText(), support.number);
      await reason.selectOption({ label: 'Other (Dissatisfied)' });
      await page.waitForURL(/reason=dissatisfied%3Aother/);
      await page.getByTestId('claim-row').filter({ hasText: dissatisfied.number }).waitFor();
      assert.equal(await page.getByTestId('claim-row').count(), 1);
      // A link or saved view from before: "other" in any flow, said so.
      await page.goto(`${server.url}/portal/demo/claims?reason=other`);
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=claim-row]').length === 2);
      await page.getByRole('option', { name: 'Other (Support)' }).waitFor({ state: 'attached' });
      assert.equal(await reason.inputValue(), 'other');
      assert.equal(
        await reason.evaluate((s: HTMLSelectElement) => s.selectedOptions[0]?.textContent),
        'Other (any issue)',
      );
      // A code of one flow is sent as it is, and a flow:code link for it selects it.
      await page.goto(`${server.url}/portal/demo/claims?reason=defective%3Adamaged_in_transit`);
      await page.getByRole('option', { name: 'Other (Support)' }).waitFor({ state: 'attached' });
      assert.equal(await reason.inputValue(), 'damaged_in_transit');
    } finally {
      await context.close();
    }
  });

  test('#10 Accept moves the focus into the reason box, Escape closes the form, the new status gets the focus', async () => {
    const { context, page } = await newPage(browser, desktop);
    try {
      await portalSignIn(page, server.url, ADMIN);
      await open(page, support.id);
      const focused = () =>
        page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName);
      const accept = page.getByRole('button', { name: 'Accept', exact: true });
      await accept.focus();
      await page.keyboard.press('Enter');
      await page.locator('#decision-reason').waitFor();
      assert.equal(await focused(), 'decision-reason');
      // Switching to Reject keeps the keyboard in the box.
      await page.getByRole('button', { name: 'Reject', exact: true }).click();
      await page.getByText(/Reject claim .*: reason/).waitFor();
      assert.equal(await focused(), 'decision-reason');
      await page.keyboard.press('Escape');
      await page.locator('#decision-reason').waitFor({ state: 'detached' });
      await accept.click();
      await page.keyboard.type('Answered by phone');
      await page.getByRole('button', { name: 'Confirm: accept' }).click();
      await page.getByTestId('claim-status').getByText('accepted').waitFor();
      await page.waitForFunction(
        () => document.activeElement?.getAttribute('data-testid') === 'claim-status',
      );
    } finally {
      await context.close();
    }
  });

  test('#9 on a phone the inbox starts on the first screen, as cards that fit, filters behind a toggle', async () => {
    const { context, page } = await newPage(browser, phone);
    try {
      await portalSignIn(page, server.url, ADMIN);
      const first = page.getByTestId('claim-row').first();
      await first.waitFor();
      const box = await first.boundingBox();
      assert.ok(box && box.y + 40 < phone.viewport.height, `the first claim starts at y=${box?.y}`);
      const table = page.locator('table.claims-table');
      assert.ok(
        await table.evaluate((t) => t.scrollWidth <= t.clientWidth),
        'the list does not scroll sideways',
      );
      for (const row of await page.getByTestId('claim-row').all()) {
        assert.ok(
          await row.evaluate((r) => r.getBoundingClientRect().right <= innerWidth),
          'within the screen',
        );
        const link = row.locator('td:first-child a');
        assert.equal(await link.evaluate((a) => a.getClientRects().length), 1, 'the number is on one line');
        // Every column is there, named, within the card.
        const customer = row.locator('td[data-label="Customer"]');
        assert.ok(await customer.isVisible());
        assert.equal(await customer.evaluate((td) => getComputedStyle(td, '::before').content), '"Customer"');
      }
      const toggle = page.getByRole('button', { name: /^Filters/ });
      assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
      assert.equal(await page.getByRole('combobox', { name: 'Country', exact: true }).isVisible(), false);
      await toggle.click();
      const country = page.getByRole('combobox', { name: 'Country', exact: true });
      await country.waitFor();
      await country.selectOption({ label: 'United Kingdom (GB)' });
      await page.waitForURL(/country=GB/);
      await page.getByRole('button', { name: 'Filters (1)' }).waitFor();
      assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= phone.viewport.width);
      assert.deepEqual(await seriousViolations(page), []);
    } finally {
      await context.close();
    }
  });

  test('#13 the Channel chart’s labels fit the card', async () => {
    const { context, page } = await newPage(browser, desktop);
    await page.setViewportSize({ width: 1366, height: 768 });
    try {
      await portalSignIn(page, server.url, ADMIN);
      await page.goto(`${server.url}/portal/demo/analytics`);
      const canvas = page.getByTestId('breakdown-channel').locator('canvas');
      await canvas.waitFor();
      await page.waitForTimeout(300);
      // Text cut at the edge leaves ink in the canvas's first pixels; a label that fits starts further in.
      const ink = await canvas.evaluate((c: HTMLCanvasElement) => {
        const data = c.getContext('2d')?.getImageData(0, 0, 3, c.height).data ?? [];
        let n = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] > 40) n++;
        return n;
      });
      await shooter(page, 'portal-claim-fixes', desktop)('analytics');
      assert.equal(ink, 0, 'no label runs off the left edge');
    } finally {
      await context.close();
    }
  });

  test('#14 the webhook URL’s error goes when the URL is changed', async () => {
    const { context, page } = await newPage(browser, desktop);
    try {
      await portalSignIn(page, server.url, ADMIN);
      await page.goto(`${server.url}/portal/demo/settings/webhooks`);
      const url = page.locator('#wh-url');
      await url.fill('http://hooks.example.com/resolve');
      await page.getByRole('button', { name: 'Add endpoint' }).click();
      const error = page.locator('#wh-url ~ .field-error');
      await error.waitFor();
      await url.fill('not a url');
      await page.getByRole('button', { name: 'Add endpoint' }).click();
      assert.equal(await url.evaluate((i: HTMLInputElement) => i.validity.valid), false);
      assert.equal(await error.count(), 0, 'the old error is gone');
      assert.equal(await url.getAttribute('aria-invalid'), null);
    } finally {
      await context.close();
    }
  });

  test('#16 an inverted range is reported with the other errors, at the first save', async () => {
    const { context, page } = await newPage(browser, desktop);
    try {
      await portalSignIn(page, server.url, ADMIN);
      await page.goto(`${server.url}/portal/demo/settings/resolve`);
      await page.getByRole('heading', { name: 'Windows and gating' }).waitFor();
      await page.getByLabel('Claim window').fill('-5');
      const flow = page.getByTestId('flow-wrong_item');
      await flow.locator(':scope > summary').click();
      await flow.getByLabel('Photos, at least').fill('6');
      await flow.getByLabel('Photos, at most').fill('2');
      await page.getByRole('button', { name: 'Save changes' }).click();
      const summary = page.getByTestId('savebar').getByRole('alert');
      await summary.waitFor();
      const text = await summary.innerText();
      assert.match(text, /2 settings need a change/, text);
      assert.match(text, /Must not be more than the maximum/, text);
      await page
        .locator('#f-flows-wrong_item-photos-min-error')
        .getByText('Must not be more than the maximum')
        .waitFor();
    } finally {
      await context.close();
    }
  });

  test('#17 #19 one vocabulary: Shipped, German, Agent; the invitation’s hint is under the password', async () => {
    const { context, page } = await newPage(browser, desktop);
    try {
      await portalSignIn(page, server.url, ADMIN);
      const order = await lines('demo-1001');
      await page.goto(`${server.url}/portal/demo/orders/${order.id}`);
      await page.getByRole('heading', { name: /Order #1001/ }).waitFor();
      const orderText = await page.locator('main').innerText();
      assert.match(orderText, /Shipped/);
      assert.match(orderText, /Language\s+German/);
      await open(page, acted.id);
      const side = page.locator('section[aria-labelledby="ctx-title"]');
      await side.getByText(/· Shipped/).waitFor();
      assert.doesNotMatch(await side.innerText(), /Fulfilled/);

      const invite = await api<{ url: string }>('POST', '/invites', {
        email: 'agent1@demo.test',
        role: 'agent',
      });
      await page.goto(`${server.url}/portal/demo/settings/team`);
      const row = page.getByTestId('invite-row').filter({ hasText: 'agent1@demo.test' });
      await row.waitFor();
      assert.equal(await row.locator('td').first().innerText(), 'Agent');

      const fresh = await newPage(browser, desktop);
      try {
        await fresh.page.goto(invite.url);
        const password = fresh.page.getByLabel(/Choose a password/);
        await password.waitFor();
        // The label, then its field, then the hint (which describes the field).
        const order = await fresh.page.evaluate(() => {
          const label = document.querySelector('label[for="new-password"]');
          const input = document.getElementById('new-password');
          return label?.nextElementSibling === input && input?.nextElementSibling?.classList.contains('hint');
        });
        assert.equal(order, true);
        assert.match((await password.getAttribute('aria-describedby')) ?? '', /new-password-hint/);
      } finally {
        await fresh.context.close();
      }
    } finally {
      await context.close();
    }
  });
});
