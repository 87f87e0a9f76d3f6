import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import type { Browser } from 'playwright-core';
import { jobHandlers } from '../../src/jobs/catalog.js';
import { createUser } from '../../src/shops/users.js';
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

// What a merchant could not do, or could not read, when working claims in the portal by hand.

const run = browserAvailable();
const [phone, desktop] = VIEWPORTS;
const ADMIN = { email: 'admin@demo.test', password: 'demo-password-123' };

describe('merchant portal: working a claim', { skip: !run }, () => {
  let server: PageServer;
  let browser: Browser;
  let shirts: { id: string; number: string };

  before(async () => {
    server = await startPageServer({}, 'portal');
    browser = await launch();
    // Both T-shirts of 1001 arrived damaged.
    shirts = await submitClaim(
      server,
      { order_number: '1001', zip_code: '10115' },
      (flows) => {
        const f = flows.find((x) => x.flow === 'defective')!;
        return {
          flow: 'defective',
          reason: 'damaged_in_transit',
          items: [{ line_item_id: f.items[0].line_item_id, quantity: 2 }],
          resolution_preference: 'refund',
        };
      },
      1,
    );
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

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
  /** The worker's part: carry out the queued refunds and replacements (the demo shop's connector). */
  const work = () => drainJobs(server.ctx.db, jobHandlers(server.ctx.deps), ['claims.action']);

  test('an agent refunds one of the two units with shipping, then replaces the other, from the claim', async () => {
    const { context, page } = await newPage(browser, desktop);
    const shot = shooter(page, 'portal-claim-actions', desktop);
    try {
      await portalSignIn(page, server.url, ADMIN);
      await page.goto(`${server.url}/portal/demo/claims/${shirts.id}`);
      const section = page.getByTestId('claim-actions');
      await section.getByRole('heading', { name: 'Refunds and replacements' }).waitFor();
      await section.getByText('None yet.').waitFor();

      await section.getByRole('button', { name: 'Refund…' }).click();
      const qty = section.getByLabel('Organic cotton T-shirt');
      assert.equal(await qty.inputValue(), '2', 'the claimed units by default');
      await qty.fill('1');
      await section.getByLabel('Refund the shipping cost too').check();
      await section.getByLabel(/Note/).fill('One shirt is fine after washing');
      assert.deepEqual(await seriousViolations(page), []);
      await shot('refund-form');
      await section.getByRole('button', { name: 'Confirm: refund' }).click();
      await section.getByTestId('claim-action').getByText('Pending').waitFor();
      await work();
      const refund = section.getByTestId('claim-action').first();
      await refund.getByText('Succeeded').waitFor();
      assert.match(
        await refund.innerText(),
        /1 × Organic cotton T-shirt \+ shipping · €\d+\.\d\d · in the shop: /,
      );
      // The history (read again once the outcome is in) has the request and its success.
      await page
        .locator('section[aria-labelledby="history-title"]')
        .getByText('Refund succeeded', { exact: true })
        .waitFor();
      await shot('refunded');

      // One unit is left, to refund or to replace (a refunded unit is not replaced too).
      await section.getByRole('button', { name: 'Refund…' }).click();
      assert.equal(await qty.inputValue(), '1');
      await section.getByRole('button', { name: 'Cancel' }).click();
      await section.getByRole('button', { name: 'Send a replacement…' }).click();
      await qty.fill('1');
      await section.getByRole('button', { name: 'Confirm: send the replacement' }).click();
      // The request is in (its job queued) before the worker's turn: on PostgreSQL the click's POST can still be in
      // flight when the next line runs.
      await section.getByTestId('claim-action').nth(1).getByText('Pending').waitFor();
      await work();
      await section.getByTestId('claim-action').nth(1).getByText('Succeeded').waitFor();
      // The history names the items and the money, without JSON, line ids or minor units.
      const history = page.locator('section[aria-labelledby="history-title"]');
      await history.getByText('Replacement succeeded', { exact: true }).waitFor();
      const rows = await history.locator('ol.history > li').allInnerTexts();
      const row = (what: string) =>
        rows.find((r) => r.includes(what)) ?? `(no "${what}" in ${rows.join(' | ')})`;
      assert.match(row('Refund requested'), /Refund requested\s+by you\s+1 × Organic cotton T-shirt\s/);
      assert.match(row('Refund succeeded'), /by Resolve\s+Amount: €\d+\.\d\d · In the shop: \S+/);
      assert.match(row('Replacement requested'), /by you\s+1 × Organic cotton T-shirt$/);
      assert.match(row('Replacement succeeded'), /by Resolve\s+In the shop: \S+$/);
      assert.doesNotMatch(rows.join('\n'), /[{}"]|li_|Action id|Currency|Amount: \d/);
      await shot('replaced');

      const { data } = await api<{ data: { type: string; status: string; lines: { quantity: number }[] }[] }>(
        'GET',
        `/claims/${shirts.id}/actions`,
      );
      assert.deepEqual(
        data.map((a) => [a.type, a.status, a.lines[0].quantity]),
        [
          ['refund', 'succeeded', 1],
          ['replacement', 'succeeded', 1],
        ],
      );
    } finally {
      await context.close();
    }
  });

  test('a refund the shop never confirmed: the agent marks it as not done, then retries another', async () => {
    // Both shirts are refunded or replaced by now (a unit gets one or the other): a claim for the next item of
    // 1001. Its refund went out, and the shop's answer never came back (as the worker records it).
    const claim = await submitClaim(
      server,
      { order_number: '1001', zip_code: '10115' },
      (flows) => {
        const f = flows.find((x) => x.flow === 'defective')!;
        return {
          flow: 'defective',
          reason: 'damaged_in_transit',
          items: [{ line_item_id: f.items[1].line_item_id, quantity: 1 }],
          resolution_preference: 'refund',
        };
      },
      1,
    );
    const tee = (await api<{ items: { line_item_id: string }[] }>('GET', `/claims/${claim.id}`)).items[0];
    const uncertain = async () => {
      const a = await api<{ id: string }>('POST', `/claims/${claim.id}/actions`, {
        type: 'refund',
        lines: [{ line_item_id: tee.line_item_id, quantity: 1 }],
      });
      await server.ctx.db.execute(
        sql`update claim_actions set status = 'failed', outcome_unknown = true, attempts = 1,
              error = 'Gave up after 10 attempt(s), the shop may have carried it out: unavailable: timeout'
            where id = ${a.id}`,
      );
      await server.ctx.db.execute(sql`delete from jobs where unique_key = ${`claims.action:${a.id}`}`);
      return a.id;
    };
    const first = await uncertain();
    const { context, page } = await newPage(browser, desktop);
    const shot = shooter(page, 'portal-claim-uncertain', desktop);
    try {
      await portalSignIn(page, server.url, ADMIN);
      await page.goto(`${server.url}/portal/demo/claims/${claim.id}`);
      const section = page.getByTestId('claim-actions');
      const row = section.getByTestId('uncertain-action');
      await row.waitFor();
      assert.equal(
        await section.getByRole('button', { name: 'Refund…' }).isDisabled(),
        true,
        'the unit is held',
      );
      assert.deepEqual(await seriousViolations(page), []);
      await shot('outcome-unknown');
      await row.getByRole('button', { name: 'Mark as not done…' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByRole('button', { name: 'Mark as not done' }).click();
      await dialog.getByText('Say what you checked in the shop.').waitFor();
      await dialog.getByLabel(/What did you check/).fill('No refund in the shop admin');
      await dialog.getByRole('button', { name: 'Mark as not done' }).click();
      await row.waitFor({ state: 'detached' });
      assert.equal(await section.getByRole('button', { name: 'Refund…' }).isDisabled(), false, 'free again');

      const second = await uncertain();
      await page.reload();
      await section.getByTestId('uncertain-action').getByRole('button', { name: 'Retry' }).click();
      await section.getByTestId('claim-action').last().getByText('Pending').waitFor();
      await work();
      await section.getByTestId('claim-action').last().getByText('Succeeded').waitFor();
      await shot('retried');
      const { data } = await api<{ data: { id: string; status: string; outcome_unknown: boolean }[] }>(
        'GET',
        `/claims/${claim.id}/actions`,
      );
      assert.deepEqual(
        data.filter((a) => a.id === first || a.id === second).map((a) => [a.status, a.outcome_unknown]),
        [
          ['failed', false],
          ['succeeded', false],
        ],
      );
    } finally {
      await context.close();
    }
  });

  test('on a phone the claims list and a claim with a long note stay within the screen', async () => {
    const claim = await api<{ version: number }>('GET', `/claims/${shirts.id}`);
    await api('PATCH', `/claims/${shirts.id}`, {
      version: claim.version,
      note: `Carrier case https://tracking.example.com/cases/${'0123456789'.repeat(12)}`,
      tags: ['carrier-damage-dhl-hub-hannover-2026-11'],
    });
    const { context, page } = await newPage(browser, phone);
    const shot = shooter(page, 'portal-phone-claims', phone);
    const width = () => page.evaluate(() => document.documentElement.scrollWidth);
    try {
      await portalSignIn(page, server.url, ADMIN);
      await page.getByTestId('claim-row').first().waitFor();
      await shot('list');
      assert.ok((await width()) <= phone.viewport.width, `claims list: ${await width()}px wide`);
      // The claims show as cards: every column is on the screen, none clipped sideways.
      const table = page.locator('table.claims-table');
      assert.ok(
        await table.evaluate((t) => t.scrollWidth <= t.clientWidth),
        'the list does not scroll sideways',
      );

      await page.goto(`${server.url}/portal/demo/claims/${shirts.id}`);
      await page
        .locator('section[aria-labelledby="history-title"]')
        .getByText(/Carrier case/)
        .waitFor();
      await shot('claim');
      assert.ok((await width()) <= phone.viewport.width, `claim: ${await width()}px wide`);
    } finally {
      await context.close();
    }
  });

  test('the assignee is chosen among the team (or Unassigned); free text is gone', async () => {
    await createUser(server.ctx.db, {
      shopId: server.demo.id,
      email: 'kim@demo.test',
      name: 'Kim Agent',
      role: 'agent',
      password: 'agent-password-1',
    });
    await createUser(server.ctx.db, {
      shopId: server.demo.id,
      email: 'val@demo.test',
      role: 'viewer',
      password: 'viewer-password-1',
    });
    const assignee = async () =>
      (await api<{ assignee: string | null }>('GET', `/claims/${shirts.id}`)).assignee;
    for (const vp of [desktop, phone]) {
      const { context, page } = await newPage(browser, vp);
      const shot = shooter(page, 'portal-assignee', vp);
      try {
        // An agent may not read the team settings (admins only), but can assign to the team.
        await portalSignIn(page, server.url, { email: 'kim@demo.test', password: 'agent-password-1' });
        await page.goto(`${server.url}/portal/demo/claims/${shirts.id}`);
        const picker = page.getByRole('combobox', { name: 'Assignee' });
        await page.getByRole('option', { name: /Kim Agent/ }).waitFor({ state: 'attached' });
        assert.equal(await page.getByRole('textbox', { name: 'Assignee' }).count(), 0, 'no free text');
        assert.deepEqual(
          await picker
            .locator('option')
            .evaluateAll((os) => os.map((o) => `${(o as HTMLOptionElement).value}=${o.textContent}`)),
          [
            '=Unassigned',
            'admin@demo.test=Demo Admin (admin@demo.test)',
            'kim@demo.test=Kim Agent (kim@demo.test) — you',
          ],
          'agents and admins; not the viewer',
        );
        // Wait for the save itself: the history may already show this assignee from the previous viewport's pass.
        const saved = page.waitForResponse(
          (r) => r.request().method() === 'PATCH' && r.url().endsWith(`/claims/${shirts.id}`),
        );
        await picker.selectOption({ label: 'Demo Admin (admin@demo.test)' });
        assert.equal((await saved).status(), 200);
        assert.equal(await assignee(), 'admin@demo.test');
        await page.getByRole('button', { name: 'Assign to me' }).click();
        await page.getByRole('button', { name: 'Assign to me' }).waitFor({ state: 'detached' });
        assert.equal(await assignee(), 'kim@demo.test');
        assert.equal(await picker.inputValue(), 'kim@demo.test');

        // An integration's assignee (not a member) is shown as it is, and said to be outside the team.
        const { version } = await api<{ version: number }>('GET', `/claims/${shirts.id}`);
        await api('PATCH', `/claims/${shirts.id}`, { version, assignee: 'helpdesk:agent-7' });
        await page.reload();
        await page.getByText('Not a member of this shop’s team (set through the API).').waitFor();
        assert.equal(await picker.inputValue(), 'helpdesk:agent-7');
        assert.deepEqual(await seriousViolations(page), []);
        await shot('outside-the-team');
        await picker.selectOption({ label: 'Unassigned' });
        await page.getByRole('button', { name: 'Assign to me' }).waitFor();
        for (let i = 0; i < 50 && (await assignee()) !== null; i++) await page.waitForTimeout(100);
        assert.equal(await assignee(), null);
        assert.equal(await page.getByText('Not a member of this shop’s team').count(), 0);
        assert.ok(
          (await page.evaluate(() => document.documentElement.scrollWidth)) <= vp.viewport.width,
          'no sideways scrolling',
        );
        await shot('unassigned');
      } finally {
        await context.close();
      }
    }
  });

  test('settings errors are plain sentences at their fields, and the banner names the fields in words', async () => {
    for (const vp of [desktop, phone]) {
      const { context, page } = await newPage(browser, vp);
      const shot = shooter(page, 'portal-settings-messages', vp);
      try {
        await portalSignIn(page, server.url, ADMIN);
        await page.goto(`${server.url}/portal/demo/settings`);
        await page.locator('#f-claim_window_days').fill('');
        await page.locator('#f-return_window_days').fill('-1');
        await page.getByTestId('flow-defective').locator(':scope > summary').click();
        await page.locator('#f-flows-defective-reasons-0-labels-en').fill('');
        await page.getByLabel('Largest photo upload').fill('100');
        await page
          .getByLabel('Sites that may embed the customer page or call its API')
          .fill('shop.example.com');
        await page.getByRole('button', { name: 'Save changes' }).click();
        const bar = page.getByTestId('savebar');
        await bar.getByText('5 settings need a change before saving:').waitFor();
        const errorOf = (id: string) =>
          page
            .locator('.sfield', { has: page.locator(`[id="${id}"]`) })
            .locator('.field-error')
            .allInnerTexts();
        assert.deepEqual(await errorOf('f-claim_window_days'), ['Enter a whole number of days, at least 1']);
        assert.deepEqual(await errorOf('f-return_window_days'), ['Enter a whole number of days, at least 1']);
        assert.deepEqual(await errorOf('f-flows-defective-reasons-0-labels-en'), ['Enter a label']);
        assert.deepEqual(await errorOf('f-upload_max_bytes'), ['Enter a size in MB, at most 25']);
        assert.deepEqual(await errorOf('f-allowed_origins'), [
          'Line 1: Enter a site’s origin, such as https://shop.example.com (no path), or * for any site',
        ]);
        const items = await bar.getByRole('listitem').allInnerTexts();
        assert.deepEqual(items.sort(), [
          'Claim window: Enter a whole number of days, at least 1',
          'Defective: label of reason 1 (damaged_in_transit), English: Enter a label',
          'Largest photo upload: Enter a size in MB, at most 25',
          'Return window: Enter a whole number of days, at least 1',
          'Sites that may embed the customer page, line 1: Enter a site’s origin, such as https://shop.example.com (no path), or * for any site',
        ]);
        const text = await bar.innerText();
        assert.doesNotMatch(text, /\/claim_window_days|\/flows\/|\/labels|26214400|must |pattern|integer/);
        // A name in the banner takes you to its field.
        await bar.getByRole('link', { name: 'Claim window' }).click();
        assert.equal(await page.evaluate(() => document.activeElement?.id), 'f-claim_window_days');
        await shot('errors');
        assert.ok(
          (await page.evaluate(() => document.documentElement.scrollWidth)) <= vp.viewport.width,
          'no sideways scrolling',
        );
      } finally {
        await context.close();
      }
    }
  });
  test('answers read as asked; a double click saves once; a tag merges with a colleague’s note', async () => {
    const set = await fetch(`${server.url}/v1/shops/demo/settings/resolve`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        flows: {
          support: {
            prompts: [
              {
                id: 'question_1',
                type: 'choice',
                required: true,
                labels: { en: 'Which size do you usually wear?' },
                options: [
                  { value: 'small', labels: { en: 'Small' } },
                  { value: 'medium', labels: { en: 'Medium' } },
                ],
              },
              { id: 'gift', type: 'yes_no', required: true, labels: { en: 'Was it a gift?' } },
            ],
          },
        },
      }),
    });
    assert.equal(set.status, 200, await set.text());
    const ask = await submitClaim(server, { order_number: '1005', zip_code: 'SW1A 1AA' }, () => {
      const body = { flow: 'support', reason: 'other', items: [], description: 'Which size should I order?' };
      return Object.assign(body, {
        answers: [
          { prompt_id: 'question_1', value: 'medium' },
          { prompt_id: 'gift', value: true },
        ],
      });
    });
    const { context, page } = await newPage(browser, desktop);
    try {
      await portalSignIn(page, server.url, ADMIN);
      await page.goto(`${server.url}/portal/demo/claims/${ask.id}`);
      const answers = page.getByTestId('answer');
      await answers.first().getByText('Which size do you usually wear?').waitFor();
      assert.deepEqual(await answers.allInnerTexts(), [
        'Which size do you usually wear?\nMedium',
        'Was it a gift?\nYes',
      ]);
      assert.equal(await page.title(), `Claim ${ask.number} · Resolve`);
      const history = page.locator('ol.history > li');
      const stale = page.getByText('Someone else changed this claim');

      // A double click on Confirm and on Add note: each saves once, with no conflict said.
      const before = await history.count();
      await page.getByRole('button', { name: 'Accept', exact: true }).click();
      await page.getByRole('button', { name: 'Confirm: accept' }).dblclick();
      await page.getByTestId('claim-status').getByText('Accepted').waitFor();
      await page.getByLabel('Internal note').fill('Sent the size chart.');
      await page.getByRole('button', { name: 'Add note' }).dblclick();
      await page.getByText('“Sent the size chart.”').waitFor();
      await page.waitForTimeout(300);
      assert.equal(await history.count(), before + 2);
      assert.equal(await stale.count(), 0);

      // A note of spaces is refused at the field.
      await page.getByLabel('Internal note').fill('   ');
      await page.getByRole('button', { name: 'Add note' }).click();
      await page.getByText('Write a note first.').waitFor();

      // A colleague adds a note while a tag is typed: the tag is added anyway, the note kept.
      await page.getByLabel('New tag').fill('sizing');
      const { version } = await api<{ version: number }>('GET', `/claims/${ask.id}`);
      await api('PATCH', `/claims/${ask.id}`, { version, note: 'Colleague was here.', tags: ['vip'] });
      await page.getByRole('button', { name: 'Add', exact: true }).click();
      await page.getByRole('button', { name: 'Remove tag sizing' }).waitFor();
      assert.deepEqual((await api<{ tags: string[] }>('GET', `/claims/${ask.id}`)).tags, ['vip', 'sizing']);
      await page.getByText('“Colleague was here.”').waitFor();
      assert.equal(await stale.count(), 0);
      // Removing a tag leaves the keyboard at the tag field.
      await page.getByRole('button', { name: 'Remove tag sizing' }).click();
      await page.getByRole('button', { name: 'Remove tag sizing' }).waitFor({ state: 'detached' });
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'new-tag');

      // A claim that is not there leads back to the list.
      await page.goto(`${server.url}/portal/demo/claims/clm_missing`);
      await page.getByRole('link', { name: '← Back to the claims' }).click();
      await page.getByTestId('claim-row').first().waitFor();
    } finally {
      await context.close();
    }
  });
});
