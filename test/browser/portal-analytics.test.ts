import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Request } from 'playwright-core';
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
const desktop = VIEWPORTS[1];
const ADMIN = { email: 'admin@demo.test', password: 'demo-password-123' };
const DAY = 86_400_000;

/** The calendar day (YYYY-MM-DD) at `t` in `zone`. */
const dayIn = (zone: string, t: number) => new Intl.DateTimeFormat('en-CA', { timeZone: zone }).format(t);
/** The hour and minute at `t` in `zone` ("00:00" at midnight). */
const clockIn = (zone: string, t: number) =>
  new Intl.DateTimeFormat('en-GB', {
    timeZone: zone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(t);

describe('portal analytics counts days in the shop’s time zone, whatever the browser’s', {
  skip: !run,
}, () => {
  let server: PageServer;
  let browser: Browser;

  before(async () => {
    server = await startPageServer({}, 'portal');
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('an agent in Los Angeles sees the Berlin shop’s days: tz=Europe/Berlin and Berlin midnights', async () => {
    // The demo shop is in Europe/Berlin; this browser is 9 hours behind it.
    assert.equal(server.demo.timezone, 'Europe/Berlin');
    const { context, page } = await newPage(browser, desktop, { timezoneId: 'America/Los_Angeles' });
    try {
      assert.equal(
        await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone),
        'America/Los_Angeles',
      );
      await portalSignIn(page, server.url, ADMIN);
      const requests: URL[] = [];
      page.on('request', (r: Request) => {
        const u = new URL(r.url());
        if (u.pathname === '/v1/shops/demo/analytics/claims') requests.push(u);
      });
      const sent = () => requests[requests.length - 1];

      await page.getByRole('link', { name: 'Analytics' }).click();
      await page.getByRole('heading', { name: 'Analytics', level: 1 }).waitFor();
      await page.getByTestId('total-claims').waitFor();
      // The default: the last 30 of the shop's days, today in Berlin included.
      assert.ok(requests.length >= 1, 'the page asked for the figures');
      let q = sent().searchParams;
      assert.equal(q.get('tz'), 'Europe/Berlin');
      const from = Date.parse(q.get('from')!);
      const to = Date.parse(q.get('to')!);
      assert.equal(clockIn('Europe/Berlin', from), '00:00', `from ${q.get('from')} is a Berlin midnight`);
      assert.equal(clockIn('Europe/Berlin', to), '00:00', `to ${q.get('to')} is a Berlin midnight`);
      const now = Date.now();
      assert.equal(
        dayIn('Europe/Berlin', to - 1),
        dayIn('Europe/Berlin', now),
        'the last day is Berlin’s today',
      );
      assert.ok(Math.abs(to - from - 30 * DAY) <= 3_600_000, '30 days (give or take a DST hour)');
      // It says whose days these are.
      const label = (await page.getByText(/^Days in /).innerText()).trim();
      assert.match(label, /Europe\/Berlin/);
      assert.match(label, /shop/);
      assert.doesNotMatch(label, /Los_Angeles/);
      // The date fields show the shop's days too.
      assert.equal(await page.getByLabel('To').inputValue(), dayIn('Europe/Berlin', now));
      assert.equal(await page.getByLabel('From').inputValue(), dayIn('Europe/Berlin', from));
      assert.deepEqual(await seriousViolations(page), [], 'axe on analytics');
      await shooter(page, 'portal-analytics-tz', desktop)('last-30-days');

      // A preset: 7 Berlin days.
      const before7 = requests.length;
      await page.getByRole('button', { name: 'Last 7 days' }).click();
      await page.waitForURL(/range=7/);
      await page.waitForFunction(
        () => document.querySelectorAll('[data-testid=over-time] tbody tr').length === 7,
      );
      assert.ok(requests.length > before7);
      q = sent().searchParams;
      assert.equal(q.get('tz'), 'Europe/Berlin');
      assert.equal(clockIn('Europe/Berlin', Date.parse(q.get('from')!)), '00:00');
      assert.equal(dayIn('Europe/Berlin', Date.parse(q.get('to')!) - 1), dayIn('Europe/Berlin', Date.now()));

      // Days from the URL: winter in Berlin (UTC+1), 9 hours ahead of Los Angeles.
      await page.goto(`${server.url}/portal/demo/analytics?from=2026-01-05&to=2026-01-11`);
      await page.getByTestId('total-claims').waitFor();
      q = sent().searchParams;
      assert.equal(q.get('from'), '2026-01-04T23:00:00.000Z');
      assert.equal(q.get('to'), '2026-01-11T23:00:00.000Z');
      assert.equal(q.get('tz'), 'Europe/Berlin');
      assert.equal(await page.getByLabel('From').inputValue(), '2026-01-05');
      assert.equal(await page.getByLabel('To').inputValue(), '2026-01-11');

      // Across Berlin's spring change (29 March 2026), by the form: the end is midnight UTC+2.
      await page.getByLabel('From').fill('2026-03-23');
      await page.getByLabel('To').fill('2026-03-29');
      const spring = page.waitForRequest((r) => r.url().includes('/v1/shops/demo/analytics/claims?'));
      await page.getByRole('button', { name: 'Apply dates' }).click();
      await page.waitForURL(/from=2026-03-23&to=2026-03-29/);
      q = new URL((await spring).url()).searchParams;
      assert.equal(q.get('from'), '2026-03-22T23:00:00.000Z');
      assert.equal(q.get('to'), '2026-03-29T22:00:00.000Z');
      assert.equal(q.get('tz'), 'Europe/Berlin');
      await page.getByTestId('total-claims').waitFor();

      // The CSV export covers the same instants.
      const href = await page.getByRole('link', { name: 'Export these claims (CSV)' }).getAttribute('href');
      const exported = new URL(href!, server.url).searchParams;
      assert.equal(exported.get('created_from'), '2026-03-22T23:00:00.000Z');
      assert.equal(exported.get('created_to'), '2026-03-29T22:00:00.000Z');
    } finally {
      await context.close();
    }
  });
});
