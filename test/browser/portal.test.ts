import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { createShop } from '../../src/shops/shops.js';
import { createUser } from '../../src/shops/users.js';
import {
  browserAvailable,
  FIXTURE_JPEG,
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

const FIXTURES = path.dirname(FIXTURE_JPEG);
const run = browserAvailable();
const desktop = VIEWPORTS[1];

/** RFC 4180 rows (quoted fields with commas, quotes and newlines). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field || row.length) rows.push([...row, field]);
  return rows;
}

describe('merchant portal in Chromium', { skip: !run }, () => {
  let server: PageServer;
  let browser: Browser;
  let damaged: { id: string; number: string };
  let stuck: { id: string; number: string };

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
      // A JPEG, and a HEIC from an iPhone (Chromium cannot decode HEIC).
      [FIXTURE_JPEG, path.join(FIXTURES, 'exif-gps.heic')],
    );
    stuck = await submitClaim(server, { order_number: '1004', zip_code: '50667' }, (flows) => {
      const f = flows.find((x) => x.flow === 'not_received')!;
      return {
        flow: 'not_received',
        reason: 'stuck_in_transit',
        items: f.items.map((i) => ({ line_item_id: i.line_item_id, quantity: i.max_quantity })),
        resolution_preference: 'refund',
        dropoff_permission: false,
      };
    });
    const demo = server.demo;
    await createUser(server.ctx.db, {
      shopId: demo.id,
      email: 'viewer@demo.test',
      role: 'viewer',
      password: 'viewer-password-1',
    });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const signIn = (page: Page, email: string, password: string) =>
    portalSignIn(page, server.url, { email, password });

  test('an admin signs in, filters, opens a claim, views evidence, accepts it and exports CSV', async () => {
    const { context, page } = await newPage(browser, desktop);
    const shot = shooter(page, 'portal', desktop);
    await page.goto(`${server.url}/portal`);
    await page.getByLabel('Email').fill('admin@demo.test');
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('The email address or password is not correct.').waitFor();
    assert.deepEqual(await seriousViolations(page), []);
    await shot('login-failed');
    await signIn(page, 'admin@demo.test', 'demo-password-123');
    await page.getByTestId('claim-row').first().waitFor();
    assert.equal(await page.getByTestId('claim-row').count(), 2);
    // Counts load beside the list: wait for them rather than read them at once.
    await page.locator('[data-testid=count-pending]', { hasText: /^2$/ }).waitFor();
    assert.deepEqual(await seriousViolations(page), []);
    await shot('claims');

    // Filter by flow and search by order number: the URL carries the view.
    await page.getByLabel('Flow').selectOption('not_received');
    await page.waitForURL(/flow=not_received/);
    await page.getByTestId('claim-row').first().getByText(stuck.number).waitFor();
    assert.equal(await page.getByTestId('claim-row').count(), 1);
    await page.getByLabel('Flow').selectOption('');
    assert.deepEqual(await page.getByLabel('Channel').locator('option').allInnerTexts(), [
      'Any',
      'Customer, by order number + ZIP',
      'Customer, by the shop’s link',
      'API',
      'Portal (entered by the team)',
    ]);
    await page.getByLabel('Search').fill('#1001');
    await page.getByLabel('Search').press('Enter');
    await page.waitForURL(/q=%231001/);
    await page.getByTestId('claim-row').getByText(damaged.number).waitFor();
    assert.equal(await page.getByTestId('claim-row').count(), 1);
    await shot('filtered');

    // PUBLIC_URL names another host than the one the portal is open at (a LAN address, a second proxy name):
    // the photos still load, from the portal's own origin (its CSP admits only itself and https for images).
    server.ctx.deps.config.publicUrl = 'http://resolve-elsewhere.test';
    await page.getByRole('link', { name: damaged.number }).click();
    await page.getByRole('heading', { name: new RegExp(`Claim ${damaged.number}`) }).waitFor();
    await page.getByText('The mug arrived in pieces.').waitFor();
    // How it came in, in words (not the API's `zip` and `en`).
    const submitted = await page.locator('.facts dt:has-text("Submitted") + dd').innerText();
    assert.match(
      submitted,
      / · Customer, by order number \+ ZIP · German$/,
      'the order’s language, 1001 is in Berlin',
    );
    await page.getByRole('heading', { name: 'Evidence (2)' }).waitFor();
    assert.deepEqual(await seriousViolations(page), []);
    await shot('claim');
    await page
      .getByRole('button', { name: /Open Photo/ })
      .first()
      .click();
    const full = page.getByTestId('evidence-full');
    await full.waitFor();
    await page.waitForFunction(() => {
      const img = document.querySelector('[data-testid=evidence-full]') as HTMLImageElement | null;
      return !!img && img.complete && img.naturalWidth > 0;
    });
    assert.match((await full.getAttribute('src')) ?? '', /^\/v1\/files\/upl_[^?]+\?exp=\d+&sig=/);
    assert.deepEqual(
      await page.evaluate(() =>
        [...document.querySelectorAll('.gallery img')].map((i) => (i as HTMLImageElement).naturalWidth > 0),
      ),
      [true],
    );
    // The HEIC has no broken image: a tile names its type, and its viewer says how to see it.
    await page.getByTestId('no-preview').waitFor();
    await page.getByRole('button', { name: 'Open Photo (HEIC) of Ceramic mug' }).waitFor();
    server.ctx.deps.config.publicUrl = server.url;
    await page.getByRole('button', { name: 'Zoom in' }).click();
    assert.match((await full.getAttribute('style')) ?? '', /scale\(1\.5\)/);
    await shot('evidence');
    await page.getByRole('button', { name: 'Next' }).click();
    await page
      .getByTestId('evidence-nopreview')
      .getByText(/cannot show HEIC photos/)
      .waitFor();
    const original = await page.getByRole('link', { name: 'Original' }).getAttribute('href');
    const heic = await page.request.get(`${server.url}${original}`);
    assert.equal(heic.headers()['content-type'], 'image/heic');
    await page.getByRole('button', { name: 'Close' }).click();

    await page.getByRole('button', { name: 'Accept' }).click();
    await page.getByLabel(/reason/).fill('Photos show breakage; replacement approved.');
    await page.getByRole('button', { name: 'Confirm: accept' }).click();
    await page.getByRole('heading', { name: /accepted/ }).waitFor();
    await page.getByText('“Photos show breakage; replacement approved.”').waitFor();
    // The history reads as words: who (the customer, you), and what changed, without ids or JSON.
    const history = await page.locator('ol.history > li').allInnerTexts();
    assert.equal(history.length, 2, history.join('\n'));
    assert.match(history[0], /Created\s+by the customer\s+Status: — → Pending/);
    assert.match(history[1], /Accepted\s+by you\s+Status: Pending → Accepted/);
    assert.doesNotMatch(history.join('\n'), /"|ses_|usr_|\bnull\b/);
    await shot('accepted');

    // Back to the list as it was left (searched for #1001), then export the whole list as CSV, read back.
    await page.getByRole('link', { name: '← Claims' }).click();
    await page.waitForURL(/q=%231001/);
    await page.getByTestId('claim-row').getByText(damaged.number).waitFor();
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.waitForFunction(() => location.search === '');
    await page.getByTestId('claim-row').getByText(stuck.number).waitFor();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('export-csv').click(),
    ]);
    const text = fs.readFileSync((await download.path()) as string, 'utf8');
    assert.equal(text.charCodeAt(0), 0xfeff, 'UTF-8 BOM for spreadsheets');
    const rows = parseCsv(text.slice(1)).filter((r) => r.length > 1);
    const header = rows[0];
    const col = (name: string) => header.indexOf(name);
    assert.ok(col('claim_number') >= 0 && col('status') >= 0, header.join(','));

    const mine = rows.slice(1).filter((r) => r[col('claim_number')] === damaged.number);
    assert.equal(mine.length, 1, 'one row per claim item');
    assert.equal(mine[0][col('status')], 'accepted');
    const notReceived = rows.slice(1).filter((r) => r[col('claim_number')] === stuck.number);
    assert.equal(notReceived.length, 2, 'the stuck order has two items');
    await context.close();
  });

  test('a stale edit gets a clear conflict message instead of overwriting', async () => {
    const { context, page } = await newPage(browser, desktop);
    await signIn(page, 'admin@demo.test', 'demo-password-123');
    await page.goto(`${server.url}/portal/demo/claims/${stuck.id}`);
    await page.getByRole('heading', { name: new RegExp(`Claim ${stuck.number}`) }).waitFor();
    // Someone else tags it meanwhile (through the API).
    const current = (await (
      await fetch(`${server.url}/v1/shops/demo/claims/${stuck.id}`, {
        headers: { authorization: `Bearer ${server.adminKey}` },
      })
    ).json()) as { version: number };
    const other = await fetch(`${server.url}/v1/shops/demo/claims/${stuck.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ version: current.version, tags: ['carrier-dispute'] }),
    });
    assert.equal(other.status, 200);
    await page.getByRole('button', { name: 'Reject' }).click();
    // A reason of spaces is no reason: the form says so and nothing is sent (the other change is not seen yet).
    await page.getByLabel(/reason/).fill('   ');
    await page.getByRole('button', { name: 'Confirm: reject' }).click();
    await page.getByText('Write why the claim is rejected').waitFor();
    assert.equal(await page.getByLabel(/reason/).getAttribute('aria-invalid'), 'true');
    assert.equal(await page.getByText('Someone else changed this claim since you opened it.').count(), 0);
    await page.getByLabel(/reason/).fill('Tracking shows delivery.');
    await page.getByRole('button', { name: 'Confirm: reject' }).click();
    await page.getByText('Someone else changed this claim since you opened it.').waitFor();
    await page.getByRole('button', { name: 'Load the latest version' }).click();
    await page.locator('.tag', { hasText: 'carrier-dispute' }).waitFor();
    assert.match(await page.getByRole('heading', { name: /Claim/ }).innerText(), /pending/i);
    await context.close();
  });

  test('a viewer sees claims but cannot change anything; another shop’s claim is not found', async () => {
    const { context, page } = await newPage(browser, desktop);
    await signIn(page, 'viewer@demo.test', 'viewer-password-1');
    await page.goto(`${server.url}/portal/demo/claims/${stuck.id}`);
    await page.getByRole('heading', { name: new RegExp(`Claim ${stuck.number}`) }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Reject' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Add note' }).count(), 0);
    await page.getByText('You have read access to this shop').waitFor();
    // Even a hand-made request is refused by the server.
    const status = await page.evaluate(async (id) => {
      const me = await (await fetch('/v1/portal/me')).json();
      const r = await fetch(`/v1/shops/demo/claims/${id}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrf_token },
        body: JSON.stringify({ version: 1, status: 'rejected' }),
      });
      return r.status;
    }, stuck.id);
    assert.equal(status, 403);

    const otherShop = await createShop(server.ctx.db, { slug: `other-${Date.now()}`, name: 'Other' });
    await createUser(server.ctx.db, {
      shopId: otherShop.id,
      email: 'viewer@demo.test',
      role: 'admin',
      password: 'viewer-password-1',
    });
    const cross = await page.evaluate(
      async ([slug, id]) => (await fetch(`/v1/shops/${slug}/claims/${id}`)).status,
      [otherShop.slug, stuck.id],
    );
    assert.equal(cross, 404, "a demo claim id under another shop's path is 404");
    await context.close();
  });
});
