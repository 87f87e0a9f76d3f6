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
  submitClaim,
  VIEWPORTS,
} from './support.js';

const run = browserAvailable();
const [phone, desktop] = VIEWPORTS;
const ADMIN = { email: 'admin@demo.test', password: 'demo-password-123' };

describe('portal claims filters in Chromium', { skip: !run }, () => {
  let server: PageServer;
  let browser: Browser;
  let damaged: { id: string; number: string };
  let question: { id: string; number: string };

  before(async () => {
    server = await startPageServer({}, 'portal');
    browser = await launch();
    damaged = await submitClaim(
      server,
      { order_number: '1001', zip_code: '10115' },
      (flows) => {
        const f = flows.find((x) => x.flow === 'defective')!;
        return {
          flow: 'defective',
          reason: 'broken_on_arrival',
          items: [{ line_item_id: f.items[1].line_item_id, quantity: 1 }],
          description: 'The mug arrived in pieces.',
          resolution_preference: 'replacement',
        };
      },
      1,
    );
    question = await submitClaim(server, { order_number: '1005', zip_code: 'SW1A 1AA' }, () => ({
      flow: 'support',
      reason: 'other',
      items: [],
      description: 'Can I still change the delivery address?',
    }));
    await createUser(server.ctx.db, {
      shopId: server.demo.id,
      email: 'kim@demo.test',
      name: 'Kim Agent',
      role: 'agent',
      password: 'agent-password-1',
    });
    // Tagged and assigned through the API, as a helpdesk integration would (its own assignee id).
    const patch = async (id: string, body: object) => {
      const read = await fetch(`${server.url}/v1/shops/demo/claims/${id}`, {
        headers: { authorization: `Bearer ${server.adminKey}` },
      });
      const { version } = (await read.json()) as { version: number };
      const res = await fetch(`${server.url}/v1/shops/demo/claims/${id}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ version, ...body }),
      });
      assert.equal(res.status, 200, await res.text());
    };
    await patch(damaged.id, { tags: ['vip'], assignee: 'kim@demo.test' });
    await patch(question.id, { assignee: 'helpdesk:agent-7' });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  /** A select's options as "value=text", groups as "[label]". */
  const optionsOf = (page: Page, name: string) =>
    page
      .getByRole('combobox', { name, exact: true })
      .evaluate((s) =>
        [...s.querySelectorAll('optgroup,option')].map((o) =>
          o instanceof HTMLOptGroupElement
            ? `[${o.label}]`
            : `${(o as HTMLOptionElement).value}=${o.textContent}`,
        ),
      );
  const rows = (page: Page) => page.getByTestId('claim-row').locator('td:first-child').allInnerTexts();

  test('country, reason, carrier, tag and assignee are chosen in words and sent as codes', async () => {
    const { context, page } = await newPage(browser, desktop);
    const shot = shooter(page, 'portal-filters', desktop);
    await portalSignIn(page, server.url, ADMIN);
    await page.getByTestId('claim-row').first().waitFor();
    // The choices arrive with the shop's facets, settings and team.
    await page.getByRole('option', { name: 'Germany (DE)' }).waitFor({ state: 'attached' });

    assert.deepEqual(await optionsOf(page, 'Country'), ['=Any', 'DE=Germany (DE)', 'GB=United Kingdom (GB)']);
    const reasons = await optionsOf(page, 'Reason');
    assert.ok(reasons.includes('[Defective]'), reasons.join(' | '));
    assert.ok(reasons.includes('broken_on_arrival=Broken on arrival'), reasons.join(' | '));
    assert.ok(reasons.includes('[Support]'), reasons.join(' | '));
    assert.deepEqual(await optionsOf(page, 'Tag'), ['=Any', 'vip=vip']);
    assert.deepEqual(await optionsOf(page, 'Assignee'), [
      '=Any',
      'unassigned=Unassigned',
      '[Team]',
      'admin@demo.test=Demo Admin (admin@demo.test)',
      'kim@demo.test=Kim Agent (kim@demo.test)',
      '[Others]',
      'helpdesk:agent-7=helpdesk:agent-7',
    ]);
    const carriers = await optionsOf(page, 'Carrier');
    assert.equal(carriers[1], 'none=No single shipment', carriers.join(' | '));
    assert.ok(carriers.length >= 3, 'the demo order’s carrier is listed');
    assert.deepEqual(
      await page.getByRole('textbox', { name: /Country|Reason|Carrier|Tag|Assignee/ }).count(),
      0,
    );

    await page
      .getByRole('combobox', { name: 'Country', exact: true })
      .selectOption({ label: 'Germany (DE)' });
    await page.waitForURL(/country=DE/);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=claim-row]').length === 1);
    assert.deepEqual(await rows(page), [damaged.number]);
    await page.getByRole('combobox', { name: 'Country', exact: true }).selectOption('');
    await page
      .getByRole('combobox', { name: 'Reason', exact: true })
      .selectOption({ label: 'Broken on arrival' });
    await page.waitForURL(/reason=broken_on_arrival/);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=claim-row]').length === 1);
    await page.getByRole('combobox', { name: 'Reason', exact: true }).selectOption('');
    await page
      .getByRole('combobox', { name: 'Assignee', exact: true })
      .selectOption({ label: 'helpdesk:agent-7' });
    await page.waitForURL(/assignee=helpdesk%3Aagent-7/);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=claim-row]').length === 1);
    assert.deepEqual(await rows(page), [question.number]);
    // With a flow chosen, the reasons are that flow's.
    await page.getByRole('combobox', { name: 'Assignee', exact: true }).selectOption('');
    await page.getByLabel('Flow').selectOption('support');
    await page.waitForURL(/flow=support/);
    assert.deepEqual(await optionsOf(page, 'Reason'), ['=Any', '[Support]', 'other=Other']);
    assert.deepEqual(await seriousViolations(page), [], 'axe on the filtered list');
    await shot('chosen');
    await context.close();
  });

  test('a sort keeps the status counts; From and To are the agent’s own days, far from UTC too', async () => {
    // UTC+14: a claim made now is already "tomorrow" here for most of the UTC day.
    const { context, page } = await newPage(browser, desktop, { timezoneId: 'Pacific/Kiritimati' });
    try {
      await portalSignIn(page, server.url, ADMIN);
      await page.getByTestId('claim-row').first().waitFor();
      const all = page.getByTestId('count-all');
      await page.waitForFunction(
        () => document.querySelector('[data-testid=count-all]')?.textContent !== '…',
      );
      const total = Number(await all.innerText());
      assert.ok(total >= 2, `counted ${total}`);
      await page.getByRole('combobox', { name: 'Sort' }).selectOption('created_at');
      await page.waitForURL(/sort=created_at/);
      await page.waitForFunction(
        (n) => document.querySelector('[data-testid=count-all]')?.textContent === String(n),
        total,
      );

      // Today in Kiritimati: every claim (all made in the last minutes) is from today, none from tomorrow.
      const today = await page.evaluate(() =>
        [new Date().getFullYear(), new Date().getMonth() + 1, new Date().getDate()]
          .map((n) => String(n).padStart(2, '0'))
          .join('-'),
      );
      const from = page.getByLabel('From', { exact: true });
      const to = page.getByLabel('To', { exact: true });
      await from.fill(today);
      await to.fill(today);
      await page.waitForURL(/created_to=/);
      // The filtered list itself (the counts alone could still be the unfiltered ones: the same number).
      await page.waitForFunction(
        (n) =>
          document.querySelector('[data-testid=count-all]')?.textContent === String(n) &&
          document.querySelectorAll('[data-testid=claim-row]').length === n,
        total,
      );
      assert.equal(await from.inputValue(), today, 'the field shows the day chosen');
      assert.equal(await to.inputValue(), today);
      // The URL holds the local midnight as an instant: 10:00 UTC the day before, in UTC+14.
      const url = new URL(page.url());
      const start = new Date(url.searchParams.get('created_from')!);
      assert.equal(start.getUTCHours(), 10);
      assert.equal(
        new Date(url.searchParams.get('created_to')!).getTime() - start.getTime(),
        86_400_000,
        'one local day',
      );
      // To before From: said, instead of a silent empty list.
      const yesterday = await page.evaluate(() => {
        const d = new Date();
        d.setDate(d.getDate() - 1);
        return [d.getFullYear(), d.getMonth() + 1, d.getDate()]
          .map((n) => String(n).padStart(2, '0'))
          .join('-');
      });
      await to.fill(yesterday);
      await page.getByTestId('dates-inverted').waitFor();
      await to.fill(today);
      await page.getByTestId('dates-inverted').waitFor({ state: 'detached' });

      // The shop's own words for a reason, wherever the claim shows it (not only in the filter).
      const res = await fetch(`${server.url}/v1/shops/demo/settings/resolve`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          flows: {
            defective: { reasons: [{ code: 'broken_on_arrival', labels: { en: 'Arrived in pieces' } }] },
          },
        }),
      });
      assert.equal(res.status, 200, await res.text());
      await page.reload();
      const row = page.getByTestId('claim-row').filter({ hasText: damaged.number });
      await row.getByText('Arrived in pieces', { exact: true }).waitFor();
      await page.goto(`${server.url}/portal/demo/claims/${damaged.id}`);
      await page.getByText('Arrived in pieces', { exact: true }).waitFor();
    } finally {
      await context.close();
    }
  });

  test('a filter value the list refuses is named in a sentence, without the validator’s pattern', async () => {
    for (const vp of [desktop, phone]) {
      const { context, page } = await newPage(browser, vp);
      const shot = shooter(page, 'portal-filters', vp);
      await portalSignIn(page, server.url, ADMIN);
      // An edited URL or an old saved view: "Germany" where the API expects a country code.
      await page.goto(`${server.url}/portal/demo/claims?country=Germany`);
      const alert = page.getByTestId('list-error');
      await alert.waitFor();
      const text = await alert.innerText();
      assert.match(
        text,
        /The Country filter cannot use “Germany”\. Choose a value from the list, or clear the filter\./,
      );
      assert.doesNotMatch(text, /must match|pattern|querystring|\^|\{2\}/);
      // The select shows what the URL holds, as a choice of its own.
      assert.equal(
        await page.getByRole('combobox', { name: 'Country', exact: true }).inputValue(),
        'Germany',
      );
      await shot('refused-filter');
      assert.ok(
        (await page.evaluate(() => document.documentElement.scrollWidth)) <= vp.viewport.width,
        'no sideways scrolling',
      );
      await alert.getByRole('button', { name: 'Clear this filter' }).click();
      await page.getByTestId('claim-row').first().waitFor();
      assert.doesNotMatch(page.url(), /country=/);
      assert.equal(await page.getByTestId('claim-row').count(), 2);
      await context.close();
    }
  });
  test('Load more appends a page once; Flow drops another flow’s reason; reversed dates are not asked for', async () => {
    const { context, page } = await newPage(browser, desktop);
    try {
      await portalSignIn(page, server.url, ADMIN);
      await page.getByTestId('claim-row').first().waitFor();
      const ids = await page.evaluate(async () => {
        const r = await fetch('/v1/shops/demo/claims?per_page=50');
        return ((await r.json()) as { data: { id: string }[] }).data.map((c) => c.id);
      });
      assert.equal(ids.length, 2);
      // The list as two pages of one claim: the second fails once, then comes slowly.
      let nextCalls = 0;
      await page.route(
        (u) => u.pathname === '/v1/shops/demo/claims',
        async (route) => {
          const url = new URL(route.request().url());
          const cursor = url.searchParams.has('cursor');
          url.searchParams.delete('cursor');
          const res = await route.fetch({ url: url.toString() });
          const body = (await res.json()) as {
            data: { id: string }[];
            has_more: boolean;
            next_cursor: unknown;
          };
          if (!cursor)
            return route.fulfill({
              response: res,
              json: { ...body, data: body.data.slice(0, 1), has_more: true, next_cursor: 'next' },
            });
          if (++nextCalls === 1)
            return route.fulfill({
              status: 503,
              json: { error: { key: 'unavailable', message: 'Try again later.' } },
            });
          await new Promise((r) => setTimeout(r, 300));
          return route.fulfill({ response: res, json: { ...body, data: body.data.slice(1) } });
        },
      );
      await page.reload();
      await page.getByTestId('claim-row').first().waitFor();
      const more = page.getByRole('button', { name: 'Load more' });
      await more.click();
      await page.getByText('Try again later.').waitFor();
      await more.dblclick();
      await page.getByTestId('claim-row').nth(1).waitFor();
      await page.waitForTimeout(400);
      assert.equal(await page.getByTestId('claim-row').count(), 2, 'the page is appended once');
      assert.equal(nextCalls, 2, 'one request for the double click');
      await page.unroute((u) => u.pathname === '/v1/shops/demo/claims');

      // A Defective reason goes when the flow becomes Support; it stays with "Any".
      await page.goto(`${server.url}/portal/demo/claims?flow=defective&reason=broken_on_arrival`);
      await page.locator('select[name=reason] optgroup[label=Defective]').waitFor({ state: 'attached' });
      const flow = page.getByRole('combobox', { name: 'Flow', exact: true });
      await flow.selectOption('');
      await page.waitForURL(/^[^?]*\?reason=broken_on_arrival$/);
      await flow.selectOption('defective');
      await page.waitForURL(/flow=defective/);
      assert.match(page.url(), /reason=broken_on_arrival/);
      await flow.selectOption('support');
      await page.waitForURL(/flow=support/);
      assert.doesNotMatch(page.url(), /reason=/);

      // From after To: one message at the dates; the refused list is not asked for; counts are not "…".
      const asked: string[] = [];
      page.on('request', (r) => r.url().includes('/v1/shops/demo/claims') && asked.push(r.url()));
      await page.goto(
        `${server.url}/portal/demo/claims?created_from=2026-12-05T00:00:00.000Z&created_to=2026-12-02T00:00:00.000Z`,
      );
      await page.getByTestId('dates-inverted').waitFor();
      await page.waitForTimeout(300);
      assert.equal(await page.getByTestId('list-error').count(), 0);
      assert.equal(await page.getByTestId('count-all').innerText(), '–');
      assert.deepEqual(
        asked.filter((u) => /created_to/.test(u)),
        [],
      );
    } finally {
      await context.close();
    }
  });
});
