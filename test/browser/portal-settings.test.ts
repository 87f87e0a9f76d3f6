import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import type { Browser, Page } from 'playwright-core';
import { createUser } from '../../src/shops/users.js';
import { webhookJobs } from '../../src/webhooks/jobs.js';
import { DELIVER_JOB } from '../../src/webhooks/messages.js';
import { drainJobs } from '../support/jobs.js';
import {
  browserAvailable,
  launch,
  lookUp,
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
const desktop = VIEWPORTS[1];
const ADMIN = { email: 'admin@demo.test', password: 'demo-password-123' };

describe('portal analytics and settings in Chromium', { skip: !run }, () => {
  let server: PageServer;
  let browser: Browser;

  before(async () => {
    server = await startPageServer();
    browser = await launch();
    await submitClaim(
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
    await submitClaim(server, { order_number: '1004', zip_code: '50667' }, (flows) => {
      const f = flows.find((x) => x.flow === 'not_received')!;
      return {
        flow: 'not_received',
        reason: 'stuck_in_transit',
        items: f.items.map((i) => ({ line_item_id: i.line_item_id, quantity: i.max_quantity })),
        resolution_preference: 'refund',
        dropoff_permission: false,
      };
    });
    await createUser(server.ctx.db, {
      shopId: server.demo.id,
      email: 'viewer@demo.test',
      role: 'viewer',
      password: 'viewer-password-1',
    });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  async function signIn(page: Page, who: { email: string; password: string }, then?: string) {
    await portalSignIn(page, server.url, who);
    if (then) await page.goto(`${server.url}${then}`);
  }

  /** Nothing on the page is still loading. */
  const settled = (page: Page) =>
    page.waitForFunction(
      () => ![...document.querySelectorAll('[role=status]')].some((e) => e.textContent?.includes('Loading')),
    );

  const axe = async (page: Page, where: string) =>
    assert.deepEqual(await seriousViolations(page), [], `axe on ${where}`);

  /** A table's body rows as text cells (header cell first). */
  const tableRows = (page: Page, testId: string) =>
    page
      .getByTestId(testId)
      .locator('tbody tr')
      .evaluateAll((rows) =>
        rows.map((r) => [...r.querySelectorAll('th,td')].map((c) => (c as HTMLElement).innerText.trim())),
      );

  test('analytics shows the seeded claims: totals, over time, breakdowns, charts', async () => {
    const { context, page } = await newPage(browser, desktop);
    const shot = shooter(page, 'portal-analytics', desktop);
    await signIn(page, ADMIN);
    await page.getByRole('link', { name: 'Analytics' }).click();
    await page.getByRole('heading', { name: 'Analytics', level: 1 }).waitFor();
    await page.getByTestId('total-claims').waitFor();
    assert.equal(await page.getByTestId('total-claims').innerText(), '2');
    assert.equal(await page.getByTestId('total-orders').innerText(), '2');
    // 1 mug + every unit of the stuck order's shipment.
    assert.ok(Number(await page.getByTestId('total-units').innerText()) >= 2);
    const total = await page.getByTestId('series-total').locator('td').allInnerTexts();
    assert.deepEqual(total, ['2', '2']);
    assert.equal(await page.locator('[data-testid=over-time] tbody tr').count(), 30, '30 daily buckets');

    const flows = await tableRows(page, 'breakdown-flow');
    assert.deepEqual(flows.map((r) => [r[0], r[1]]).sort(), [
      ['Defective', '1'],
      ['Not received', '1'],
    ]);
    const reasons = await tableRows(page, 'breakdown-reason');
    assert.ok(reasons.some((r) => r[0].startsWith('Broken on arrival') && r[1] === '1'));
    const prefs = await tableRows(page, 'breakdown-preference');
    assert.deepEqual(prefs.map((r) => r[0]).sort(), ['Refund', 'Replacement']);
    assert.ok((await tableRows(page, 'breakdown-phase')).length >= 1);
    assert.ok((await tableRows(page, 'breakdown-product')).length >= 2);
    assert.ok((await tableRows(page, 'breakdown-country')).some((r) => r[0].includes('(DE)')));

    // The charts drew something (a blank canvas encodes far smaller).
    const canvases = page.locator('canvas');
    assert.ok((await canvases.count()) >= 8);
    const drawn = await canvases
      .first()
      .evaluate(
        (c) => (c as HTMLCanvasElement).width > 100 && (c as HTMLCanvasElement).toDataURL().length > 5000,
      );
    assert.ok(drawn, 'the line chart is drawn');
    await axe(page, 'analytics');
    await shot('last-30-days');

    await page.getByRole('button', { name: 'Last 7 days' }).click();
    await page.waitForURL(/range=7/);
    // The table is replaced when the new range's numbers arrive: wait for the 7 rows, not for the old 30.
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid=over-time] tbody tr').length === 7,
    );
    assert.equal(await page.locator('[data-testid=over-time] tbody tr').count(), 7);
    assert.equal(await page.getByTestId('total-claims').innerText(), '2');
    await page.getByLabel('Interval').selectOption('week');
    await page.waitForURL(/interval=week/);
    await page.getByRole('columnheader', { name: 'Week' }).waitFor();
    assert.equal(await page.getByTestId('total-claims').innerText(), '2');

    // A custom range before the claims: zero, and the breakdowns say so.
    await page.getByLabel('From').fill('2020-01-01');
    await page.getByLabel('To').fill('2020-01-31');
    await page.getByRole('button', { name: 'Apply dates' }).click();
    await page.waitForURL(/from=2020-01-01&to=2020-01-31/);
    await page.getByTestId('breakdown-flow').getByText('No claims in this range.').waitFor();
    assert.equal(await page.getByTestId('total-claims').innerText(), '0');
    await shot('empty-range');
    await context.close();
  });

  test('every settings tab renders for an admin and passes axe', async () => {
    const { context, page } = await newPage(browser, desktop);
    const shot = shooter(page, 'portal-settings', desktop);
    await signIn(page, ADMIN);
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Windows and gating' }).waitFor();
    const tabs: [string, string][] = [
      ['Flows and reasons', 'Windows and gating'],
      ['Branding', 'Live preview'],
      ['Languages', 'How the customer page picks its language'],
      ['API keys', 'Create an API key'],
      ['Team', 'People'],
      ['Webhooks', 'Add an endpoint'],
    ];
    for (const [tab, heading] of tabs) {
      await page
        .getByRole('navigation', { name: 'Settings sections' })
        .getByRole('link', { name: tab })
        .click();
      await page.getByRole('heading', { name: heading }).waitFor();
      await settled(page);
      if (tab === 'Flows and reasons') {
        await page.getByTestId('flow-defective').locator(':scope > summary').click();
        await page.getByRole('button', { name: 'Add question' }).first().click();
        await page.getByLabel('Answer').selectOption('choice');
        await page.getByRole('button', { name: 'Add option' }).waitFor();
      }
      if (tab === 'Languages') {
        // Admins change the shop's default language here (PATCH /v1/shops/{slug}).
        const select = page.getByTestId('default-language');
        await page.waitForFunction(
          () =>
            (document.querySelector('[data-testid=default-language]') as HTMLSelectElement | null)?.value ===
            'en',
        );
        await select.selectOption('de');
        await page.getByText('Saved.').waitFor();
        const shopNow = await (
          await fetch(`${server.url}/v1/shops/demo`, {
            headers: { authorization: `Bearer ${server.adminKey}` },
          })
        ).json();
        assert.equal((shopNow as { default_language: string }).default_language, 'de');
        await select.selectOption('en');
        await page.getByText('Saved.').waitFor();
      }
      await axe(page, `settings ${tab}`);
      await shot(tab.toLowerCase().replace(/\W+/g, '-'));
    }
    await context.close();
  });

  test('a setting changed in the portal shows on the customer page', async () => {
    const { context, page } = await newPage(browser, desktop);
    const shot = shooter(page, 'portal-settings-change', desktop);
    await signIn(page, ADMIN, '/portal/demo/settings/resolve');

    // A server validation error lands next to its field, in a flow that unfolds by itself.
    await page.getByRole('heading', { name: 'Windows and gating' }).waitFor();
    await page.getByTestId('flow-wrong_item').locator(':scope > summary').click();
    await page.getByTestId('flow-wrong_item').getByLabel('Photos, at least').fill('6');
    await page.getByRole('button', { name: 'Save changes' }).click();
    const fieldError = page.locator('#f-flows-wrong_item-photos-min-error');
    await fieldError.waitFor();
    assert.equal(await fieldError.innerText(), 'Must not be more than the maximum');
    assert.equal(await page.locator('#f-flows-wrong_item-photos-min').getAttribute('aria-invalid'), 'true');
    await shot('validation-error');
    await page.getByRole('button', { name: 'Discard' }).click();
    await page.getByText('No changes.').waitFor();

    await page.getByTestId('flow-return').locator(':scope > summary').click();
    await page.getByLabel('Offer “Return” to customers').uncheck();
    await page.getByTestId('unsaved').waitFor();
    await page.getByText('1 unsaved change').waitFor();
    // Leaving the settings with unsaved edits asks first; staying keeps them.
    const asked = new Promise<string>((resolve) =>
      page.once('dialog', (d) => {
        resolve(d.message());
        void d.dismiss();
      }),
    );
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Claims' }).click();
    assert.match(await asked, /unsaved changes/);
    assert.match(page.url(), /\/settings\/resolve$/);
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('All changes saved.').waitFor();

    await page.getByRole('link', { name: 'Branding' }).click();
    await page.getByLabel('Headline (English)').fill('Sorted in no time');
    // The live preview follows as you type, before anything is saved.
    await page.getByTestId('preview-headline').getByText('Sorted in no time').waitFor();
    await page.getByLabel('Primary colour, hex').fill('#0a7f5a');
    await page.getByTestId('brand-preview').locator('.bp-button').waitFor();
    const button = await page
      .getByTestId('brand-preview')
      .locator('.bp-button')
      .evaluate((el) => getComputedStyle(el).backgroundColor);
    assert.equal(button, 'rgb(10, 127, 90)');
    await page.getByText('save first to try your changes').waitFor();
    await shot('branding-live-preview');
    await page.keyboard.press('Control+s');
    await page.getByText('All changes saved.').waitFor();

    // The real page in preview mode, framed in the portal and in a new tab.
    await page.getByTestId('preview-frame').click();
    const frame = page.frameLocator('iframe[title="Customer page preview"]');
    await frame.getByTestId('preview-banner').waitFor();
    // The preview opens on its test order, with the saved settings: no returns.
    await frame.getByTestId('unavailable-return').waitFor();
    const [tab] = await Promise.all([context.waitForEvent('page'), page.getByTestId('preview-tab').click()]);
    await tab.waitForURL(/\/resolve\/demo\?preview=1/);
    await tab.getByTestId('preview-banner').waitFor();
    await tab.close();
    await shot('branding-saved');

    // The customer page, as a customer opens it.
    const customer = await context.newPage();
    await customer.goto(`${server.url}/resolve/demo`);
    await customer.getByRole('heading', { level: 1, name: 'Sorted in no time' }).waitFor();
    await lookUp(customer, '1001', '10115');
    const unavailable = customer.getByTestId('unavailable-return');
    await unavailable.waitFor();
    assert.match(await unavailable.innerText(), /does not offer this/);
    await customer.close();
    await context.close();
  });

  test('an API key is shown once, works, and can be revoked', async () => {
    const { context, page } = await newPage(browser, desktop);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    const shot = shooter(page, 'portal-keys', desktop);
    await signIn(page, ADMIN, '/portal/demo/settings/keys');
    await page.getByLabel('Name').fill('erp-sync');
    await page.getByLabel('Role').selectOption('viewer');
    await page.getByRole('button', { name: 'Create key' }).click();
    const box = page.getByTestId('new-key');
    await box.waitFor();
    await box.getByText('it is shown only this once').waitFor();
    await box.getByText('Resolve stores only a hash of it').waitFor();
    const secret = await box.getByLabel('Secret').inputValue();
    assert.ok(secret.length >= 20, secret);
    await box.getByRole('button', { name: 'Copy' }).click();
    await box.getByText('Copied to the clipboard.').waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
    await shot('secret-once');

    const claims = await fetch(`${server.url}/v1/shops/demo/claims`, {
      headers: { authorization: `Bearer ${secret}` },
    });
    assert.equal(claims.status, 200);
    assert.equal(((await claims.json()) as { data: unknown[] }).data.length, 2);

    await box.getByRole('button', { name: 'I have copied it' }).click();
    await box.waitFor({ state: 'detached' });
    const row = page.getByTestId('key-row').filter({ hasText: 'erp-sync' });
    await row.getByText(`…${secret.slice(-4)}`).waitFor();
    await page.reload();
    await row.waitFor();
    assert.ok(!(await page.content()).includes(secret), 'the secret is never shown again');
    // The name is the HTTP Basic user name: a second active key of that name is refused at the field.
    await page.getByLabel('Name').fill('erp-sync');
    await page.getByRole('button', { name: 'Create key' }).click();
    assert.equal(
      await page.getByTestId('key-name-error').innerText(),
      'An API key named "erp-sync" already exists; choose another name or revoke it first.',
    );

    await row.getByRole('button', { name: 'Revoke erp-sync' }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke the API key “erp-sync”?' });
    await dialog.waitFor();
    await axe(page, 'revoke dialog');
    await shot('revoke-confirm');
    await dialog.getByRole('button', { name: 'Revoke key' }).click();
    await row.waitFor({ state: 'detached' });
    const after = await fetch(`${server.url}/v1/shops/demo/claims`, {
      headers: { authorization: `Bearer ${secret}` },
    });
    assert.equal(after.status, 401);
    await page.getByLabel('Show revoked and expired').check();
    await row.getByText('revoked').waitFor();
    await context.close();
  });

  test('an invitation link is shown once and signs the new person in', async () => {
    const { context, page } = await newPage(browser, desktop);
    const shot = shooter(page, 'portal-team', desktop);
    await signIn(page, ADMIN, '/portal/demo/settings/team');
    await page.getByTestId('member-row').first().waitFor();

    // The last admin cannot demote themself: the server's refusal is shown, the role stays.
    await page.getByLabel('Role of admin@demo.test').selectOption('viewer');
    await page.getByText('A shop needs at least one admin').waitFor();
    assert.equal(await page.getByLabel('Role of admin@demo.test').inputValue(), 'admin');

    await page.getByLabel('Email').fill('new.agent@demo.test');
    await page.getByLabel('Role', { exact: true }).selectOption('agent');
    await page.getByRole('button', { name: 'Create invitation' }).click();
    const box = page.getByTestId('invite-link');
    await box.waitFor();
    const link = await box.getByLabel('Invitation link').inputValue();
    assert.match(link, /\/portal\/invite#token=inv_/);
    await page.getByTestId('invite-row').filter({ hasText: 'new.agent@demo.test' }).waitFor();
    await axe(page, 'team with invite');
    await shot('invite-created');

    const fresh = await newPage(browser, desktop);
    await fresh.page.goto(link);
    // The page names the shop, the invited email and role before anything is typed.
    await fresh.page.getByRole('heading', { name: 'Join Demo Shop on Resolve' }).waitFor();
    assert.equal(
      await fresh.page.getByTestId('invite-for').innerText(),
      'Invited as Agent: new.agent@demo.test',
    );
    await fresh.page.getByLabel('Your name').fill('Nia Agent');
    await fresh.page.getByLabel(/Choose a password/).fill('agent-password-42');
    await fresh.page.getByRole('button', { name: 'Accept invitation' }).click();
    await fresh.page.getByRole('heading', { name: 'Claims' }).waitFor();
    // Named in the top bar (the claims list's Assignee filter lists them too).
    await fresh.page.getByText('Nia Agent', { exact: true }).waitFor();
    assert.match(fresh.page.url(), /\/portal\/demo\/claims/);
    await fresh.context.close();

    await page.reload();
    const member = page.getByTestId('member-row').filter({ hasText: 'new.agent@demo.test' });
    await member.waitFor();
    assert.equal(await page.getByLabel('Role of new.agent@demo.test').inputValue(), 'agent');
    assert.equal(await page.getByTestId('invite-row').count(), 0);

    // Remove them again, through the confirmation.
    await member.getByRole('button', { name: 'Remove new.agent@demo.test' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove' }).click();
    await member.waitFor({ state: 'detached' });

    // An invitation nobody accepted in time stays listed (so it can be revoked or sent again), marked expired.
    await page.getByLabel('Email').fill('late.agent@demo.test');
    await page.getByRole('button', { name: 'Create invitation' }).click();
    const late = page.getByTestId('invite-row').filter({ hasText: 'late.agent@demo.test' });
    await late.waitFor();
    assert.equal(await late.getByTestId('invite-expired').count(), 0, 'a new invitation is not expired');
    await server.ctx.db.execute(
      sql`update invites set expires_at = now() - interval '1 minute' where email = 'late.agent@demo.test'`,
    );
    await page.reload();
    await late.getByTestId('invite-expired').waitFor();
    assert.match(await late.innerText(), /expired/i);
    await late.getByRole('button', { name: 'Revoke invitation for late.agent@demo.test' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke invitation' }).click();
    await late.waitFor({ state: 'detached' });
    await context.close();
  });

  test('webhook endpoints: secret once, test event, delivery log, disable, rotate, delete', async () => {
    const { context, page } = await newPage(browser, desktop);
    const shot = shooter(page, 'portal-webhooks', desktop);
    await signIn(page, ADMIN, '/portal/demo/settings/webhooks');
    await page.getByLabel('URL').fill('http://hooks.example.com/resolve');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.getByText('must start with https://').waitFor();
    await page.getByLabel('URL').fill('https://hooks.example.com/resolve');
    await page.getByLabel('Description (optional)').fill('ERP sync');
    await page.getByLabel('All events, including types added later').uncheck();
    await page.getByRole('checkbox', { name: /claims\/created/ }).check();
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const secretBox = page.getByTestId('webhook-secret');
    await secretBox.waitFor();
    const secret = await secretBox.getByLabel('Signing secret').inputValue();
    assert.match(secret, /^whsec_/);
    // Resolve signs with it, so it keeps it (encrypted), not a hash of it: the text says so.
    const said = await secretBox.innerText();
    assert.match(said, /Resolve keeps it encrypted, to sign each delivery, and never shows it again/);
    assert.doesNotMatch(said, /hash/);
    const endpoint = page.getByTestId('endpoint').filter({ hasText: 'https://hooks.example.com/resolve' });
    await endpoint.getByText('claims/created').waitFor();
    await secretBox.getByRole('button', { name: 'I have copied it' }).click();

    await endpoint.getByRole('button', { name: 'Send test event' }).click();
    const log = endpoint.getByTestId('deliveries-table');
    await log.getByText('webhooks/test').waitFor();
    await axe(page, 'webhooks with log');
    await shot('delivery-log');
    await endpoint.getByLabel('Status').selectOption('succeeded');
    await endpoint.getByText('No deliveries with status succeeded.').waitFor();
    await endpoint.getByLabel('Status').selectOption('');
    await log.getByRole('button', { name: 'Details' }).first().click();
    await log.getByText('Payload').waitFor();
    await log.getByRole('button', { name: 'Replay' }).first().click();
    await endpoint.getByText(/queued again/).waitFor();

    // The events and description change in place; the secret stays.
    await endpoint.getByRole('button', { name: 'Edit' }).click();
    const edit = endpoint.getByRole('form', { name: 'Change this endpoint' });
    await edit.getByLabel('Description (optional)').fill('ERP sync, orders too');
    await edit.getByRole('checkbox', { name: /orders\/cancelled/ }).check();
    await edit.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText(/was changed; its secret stays the same/).waitFor();
    await endpoint.getByText('ERP sync, orders too').waitFor();
    assert.match(await endpoint.locator('dd').first().innerText(), /claims\/created, orders\/cancelled/);
    assert.equal(await endpoint.getByRole('form', { name: 'Change this endpoint' }).count(), 0);

    await endpoint.getByRole('button', { name: 'Disable' }).click();
    await endpoint.locator('.badge', { hasText: 'disabled' }).waitFor();
    await endpoint.getByRole('button', { name: 'Enable' }).waitFor();
    await endpoint.getByRole('button', { name: 'Rotate secret' }).click();
    const rotate = page.getByRole('dialog', { name: 'Rotate the signing secret?' });
    await rotate.getByLabel('Switch-over').selectOption('0');
    await rotate.getByRole('button', { name: 'Rotate secret' }).click();
    const rotated = await page.getByTestId('webhook-secret').getByLabel('Signing secret').inputValue();
    assert.match(rotated, /^whsec_/);
    assert.notEqual(rotated, secret);
    await endpoint.getByRole('button', { name: /Delete endpoint/ }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete endpoint' }).click();
    await endpoint.waitFor({ state: 'detached' });
    await page.getByText('No endpoints yet.').waitFor();
    await context.close();
  });

  test('a test event’s outcome shows by itself: the delivery log is read again until it was tried', async () => {
    const created = await fetch(`${server.url}/v1/shops/demo/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'https://hooks.example.com/outcome', event_types: ['*'] }),
    });
    assert.equal(created.status, 201, await created.text());
    // The worker's part, with a DNS that does not know the host (no network needed).
    const jobs = webhookJobs(server.ctx.deps, {
      resolve: async (host: string) => {
        throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      },
    });
    const deliver = () => drainJobs(server.ctx.db, jobs.handlers, [DELIVER_JOB]);
    for (const vp of [desktop, VIEWPORTS[0]]) {
      const { context, page } = await newPage(browser, vp);
      const shot = shooter(page, 'portal-webhook-test-outcome', vp);
      try {
        await signIn(page, ADMIN, '/portal/demo/settings/webhooks');
        const endpoint = page
          .getByTestId('endpoint')
          .filter({ hasText: 'https://hooks.example.com/outcome' });
        await endpoint.getByRole('button', { name: 'Send test event' }).click();
        const outcome = endpoint.getByTestId('test-outcome');
        await outcome.getByText('Sending the test event…').waitFor();
        const row = endpoint.getByTestId('delivery-row').first();
        await row.getByText('pending').waitFor();
        assert.match(await row.innerText(), /webhooks\/test/);
        await shot('queued');

        // The worker tries it; nobody clicks Refresh.
        await deliver();
        await outcome
          .getByText(/Test event not delivered yet: dns: hooks\.example\.com does not resolve/)
          .waitFor({
            timeout: 10_000,
          });
        await row.getByText('dns: hooks.example.com does not resolve', { exact: false }).waitFor();
        await row.getByText('retrying').waitFor();
        assert.deepEqual(await seriousViolations(page), []);
        await shot('tried');

        // A delivered one says so: the receiver answered 2xx (recorded here as the worker would).
        await endpoint.getByRole('button', { name: 'Send test event' }).click();
        await outcome.getByText('Sending the test event…').waitFor();
        await server.ctx.db.execute(
          sql`update webhook_messages set status = 'succeeded', attempt_count = 1, last_status_code = 200,
                last_error = null, delivered_at = now(), next_attempt_at = null
              where id = (select id from webhook_messages where status = 'pending' and attempt_count = 0
                          order by id desc limit 1)`,
        );
        await outcome.getByText('Test event delivered (HTTP 200).').waitFor({ timeout: 10_000 });
        await endpoint.getByTestId('delivery-row').first().getByText('delivered').waitFor();
        await shot('delivered');
        assert.ok(
          (await page.evaluate(() => document.documentElement.scrollWidth)) <= vp.viewport.width,
          'no sideways scrolling',
        );
      } finally {
        await context.close();
      }
    }
    jobs.close();
  });

  test('on a phone the analytics and settings pages stay usable', async () => {
    const phone = VIEWPORTS[0];
    const { context, page } = await newPage(browser, phone);
    const shot = shooter(page, 'portal-phone', phone);
    await signIn(page, ADMIN, '/portal/demo/analytics');
    await page.getByTestId('total-claims').waitFor();
    await shot('analytics');
    const width = () => page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok((await width()) <= phone.viewport.width, 'analytics: no sideways scrolling');
    for (const tab of ['resolve', 'branding', 'keys', 'team', 'webhooks']) {
      await page.goto(`${server.url}/portal/demo/settings/${tab}`);
      await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
      await settled(page);
      await axe(page, `phone settings ${tab}`);
      await shot(tab);
      assert.ok(
        (await width()) <= phone.viewport.width,
        `${tab}: no sideways scrolling (${await width()}px)`,
      );
    }
    await context.close();
  });

  test('a viewer sees settings read-only; a demoted admin’s save shows the server’s refusal', async () => {
    const { context, page } = await newPage(browser, desktop);
    const shot = shooter(page, 'portal-settings-viewer', desktop);
    await signIn(
      page,
      { email: 'viewer@demo.test', password: 'viewer-password-1' },
      '/portal/demo/settings/resolve',
    );
    await page.getByText('You have viewer access').waitFor();
    await page.getByRole('heading', { name: 'Windows and gating' }).waitFor();
    assert.ok(await page.getByLabel('Claim window').isDisabled());
    assert.equal(await page.getByRole('button', { name: 'Save changes' }).count(), 0);
    await axe(page, 'viewer settings');
    await shot('read-only');
    await page.getByRole('link', { name: 'Branding' }).click();
    assert.ok(await page.getByLabel('Headline (English)').isDisabled());
    assert.ok(await page.getByTestId('preview-frame').isDisabled());
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByText('Only admins of this shop can see and manage API keys').waitFor();
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByText('Only admins can add, change or delete endpoints.').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Add endpoint' }).count(), 0);
    const status = await page.evaluate(async () => {
      const me = await (await fetch('/v1/portal/me')).json();
      const r = await fetch('/v1/shops/demo/settings/resolve', {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrf_token },
        body: JSON.stringify({ claim_window_days: 5 }),
      });
      return r.status;
    });
    assert.equal(status, 403);
    await context.close();

    // An admin demoted while the page is open: the save is refused and the server's reason shown.
    const boss = await createUser(server.ctx.db, {
      shopId: server.demo.id,
      email: 'boss@demo.test',
      role: 'admin',
      password: 'boss-password-1',
    });
    const second = await newPage(browser, desktop);
    await signIn(
      second.page,
      { email: 'boss@demo.test', password: 'boss-password-1' },
      '/portal/demo/settings/resolve',
    );
    await second.page.getByLabel('Claim window').fill('45');
    const demote = await fetch(`${server.url}/v1/shops/demo/users/${boss.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'viewer' }),
    });
    assert.equal(demote.status, 204);
    await second.page.getByRole('button', { name: 'Save changes' }).click();
    await second.page
      .getByTestId('savebar')
      .getByRole('alert')
      .getByText('Your role (viewer) cannot do this')
      .waitFor();
    await second.page.getByText('1 unsaved change').waitFor();
    await shooter(second.page, 'portal-settings-viewer', desktop)('demoted-save-refused');
    await second.context.close();
  });
});
