import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import type { Browser, Page } from 'playwright-core';
import { query } from '../../src/db/client.js';
import {
  browserAvailable,
  FIXTURE_JPEG,
  launch,
  newPage,
  type PageServer,
  seriousViolations,
  shooter,
  startPageServer,
  VIEWPORTS,
} from './support.js';

const run = browserAvailable();

describe('customer page: embedding, preview mode, branding, keyboard only', { skip: !run }, () => {
  let server: PageServer;
  let browser: Browser;
  const admin = () => ({ authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json' });
  const patchSettings = async (body: unknown) => {
    const res = await fetch(`${server.url}/v1/shops/demo/settings/resolve`, {
      method: 'PATCH',
      headers: admin(),
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200, await res.text());
  };
  const rowCounts = async () =>
    (
      await query<{ claims: number; uploads: number; sessions: number; events: number }>(
        server.ctx.db,
        sql`select (select count(*)::int from claims where shop_id = ${server.demo.id}) as claims,
                   (select count(*)::int from uploads where shop_id = ${server.demo.id}) as uploads,
                   (select count(*)::int from resolve_sessions where shop_id = ${server.demo.id}) as sessions,
                   (select count(*)::int from events where shop_id = ${server.demo.id}) as events`,
      )
    )[0];

  before(async () => {
    server = await startPageServer();
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('embedded in an iframe on a shop page, it tells the parent its height as it changes', async () => {
    // The merchant's page, on another origin.
    const shopPage = http.createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<!doctype html><html><body><h1>Help centre</h1>
        <iframe id="resolve" title="Order help" src="${server.url}/resolve/demo?lang=en" style="width:100%;border:0"></iframe>
        <script>
          window.heights = [];
          window.addEventListener('message', (e) => {
            if (e.origin === '${server.url}' && e.data && e.data.type === 'resolve:height') {
              window.heights.push(e.data.height);
              document.getElementById('resolve').style.height = e.data.height + 'px';
            }
          });
        </script></body></html>`);
    });
    await new Promise<void>((r) => shopPage.listen(0, '127.0.0.1', r));
    const { context, page } = await newPage(browser, VIEWPORTS[0]);
    try {
      await page.goto(`http://127.0.0.1:${(shopPage.address() as AddressInfo).port}/`);
      const frame = page.frameLocator('#resolve');
      await frame.getByRole('heading', { name: 'Find your order' }).waitFor();
      await page.waitForFunction(() => (window as unknown as { heights: number[] }).heights.length > 0);
      const first = await page.evaluate(
        () => (window as unknown as { heights: number[] }).heights.at(-1) ?? 0,
      );
      assert.ok(first > 300, `reported height ${first}`);
      await frame.getByLabel('Order number').fill('1001');
      await frame.getByLabel('ZIP or postal code').fill('10115');
      await frame.getByRole('button', { name: 'Find my order' }).click();
      await frame.getByRole('heading', { name: 'Hi Kim!' }).waitFor();
      await page.waitForFunction(
        (h) => ((window as unknown as { heights: number[] }).heights.at(-1) ?? 0) > h + 200,
        first,
      );
      const iframeHeight = await page.locator('#resolve').evaluate((el) => el.getBoundingClientRect().height);
      assert.ok(iframeHeight > first + 200, 'the parent resized the frame to the order view');
      await shooter(page, 'embedded', VIEWPORTS[0])('order-in-iframe');
    } finally {
      await context.close();
      shopPage.close();
    }
  });

  test('preview mode from a merchant credential runs on a test order and creates nothing', async () => {
    const res = await fetch(`${server.url}/v1/shops/demo/resolve/preview`, {
      method: 'POST',
      headers: admin(),
      body: JSON.stringify({ lang: 'en' }),
    });
    assert.equal(res.status, 201);
    const { url } = (await res.json()) as { url: string };
    const path = url.slice(url.indexOf('/resolve/'));
    const before = await rowCounts();
    const { context, page } = await newPage(browser, VIEWPORTS[1]);
    const shot = shooter(page, 'preview', VIEWPORTS[1]);
    await page.goto(`${server.url}${path}`);
    await page.getByTestId('preview-banner').waitFor();
    await page.getByText(/Order PREVIEW placed on/).waitFor();
    await shot('order');
    await page.getByRole('button', { name: 'An item is damaged or broken' }).click();
    await page.getByRole('checkbox', { name: /Ceramic mug/ }).check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel('Damaged in transit').check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.locator('[data-testid^="file-photo-"]').first().setInputFiles(FIXTURE_JPEG);
    await page.getByTestId('photo').getByText('Uploaded').waitFor();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByLabel(/Refund/).check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('button', { name: 'Send request' }).click();
    await page
      .getByTestId('confirmation')
      .getByText('Preview: this request was checked but not saved.')
      .waitFor();
    await shot('confirmation');
    assert.deepEqual(await rowCounts(), before, 'the preview wrote nothing');
    await context.close();
  });

  test('branding: colours, font and copy from the settings, kept legible', async () => {
    await patchSettings({
      branding: {
        primary_color: '#ffd400',
        background_color: '#10243e',
        font_family: 'Georgia, serif',
        copy: {
          en: {
            headline: 'Trouble with your Acme order?',
            confirmation: 'Acme support answers within a day.',
          },
        },
      },
    });
    try {
      for (const vp of VIEWPORTS) {
        const { context, page } = await newPage(browser, vp);
        await page.goto(`${server.url}/resolve/demo?lang=en`);
        await page.getByRole('heading', { name: 'Trouble with your Acme order?' }).waitFor();
        const button = page.getByRole('button', { name: 'Find my order' });
        const style = await button.evaluate((el) => {
          const s = getComputedStyle(el);
          return { bg: s.backgroundColor, color: s.color, font: s.fontFamily };
        });
        assert.equal(style.bg, 'rgb(255, 212, 0)');
        assert.equal(style.color, 'rgb(0, 0, 0)', 'dark text on a light brand colour');
        assert.match(style.font, /Georgia/);
        // The headline sits on the dark background: it must turn light.
        const headline = await page
          .getByRole('heading', { name: 'Trouble with your Acme order?' })
          .evaluate((el) => getComputedStyle(el).color);
        assert.equal(headline, 'rgb(255, 255, 255)');
        assert.deepEqual(await seriousViolations(page), []);
        await shooter(page, 'branding', vp)('lookup');
        await context.close();
      }
    } finally {
      await patchSettings({
        branding: { primary_color: '#1f5fbf', background_color: '#f6f7f9', font_family: null, copy: {} },
      });
    }
  });

  test('keyboard only: a missing-item claim from lookup to confirmation without a pointer', async () => {
    const { context, page } = await newPage(browser, VIEWPORTS[1]);
    const shot = shooter(page, 'keyboard', VIEWPORTS[1]);
    await page.goto(`${server.url}/resolve/demo?lang=en`);
    await page.getByRole('heading', { name: 'Find your order' }).waitFor();
    await tabTo(page, (el) => el.id === 'order-number');
    await page.keyboard.type('1001');
    await page.keyboard.press('Tab'); // the hint is text, the next stop is the ZIP field
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'zip-code');
    await page.keyboard.type('10115');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Hi Kim!' }).waitFor();

    await tabTo(page, (el) => el.getAttribute('data-flow') === 'missing_item');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Which items are affected?' }).waitFor();
    await tabTo(
      page,
      (el) =>
        el.getAttribute('type') === 'checkbox' && !!el.closest('li')?.textContent?.includes('Merino socks'),
    );
    await page.keyboard.press('Space');
    await tabTo(page, (el) => el.textContent === 'Continue');
    await page.keyboard.press('Enter');
    // One reason only: no reason step. Photos are optional here.
    await page.getByRole('heading', { name: 'Add photos' }).waitFor();
    await tabTo(page, (el) => el.textContent === 'Continue');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Tell us more' }).waitFor();
    await tabTo(page, (el) => el.id === 'description');
    await page.keyboard.type('The socks were not in the parcel.');
    await tabTo(page, (el) => el.textContent === 'Continue');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'How would you like us to resolve this?' }).waitFor();
    await tabTo(page, (el) => el.getAttribute('type') === 'radio');
    await page.keyboard.press('ArrowDown'); // moves within the group and selects
    await page.keyboard.press('Space');
    await tabTo(page, (el) => el.textContent === 'Continue');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Check and send' }).waitFor();
    assert.match(await page.getByTestId('review').innerText(), /Replacement/);
    await tabTo(page, (el) => el.textContent === 'Send request');
    await shot('review-focused');
    await page.keyboard.press('Enter');
    await page.getByTestId('confirmation').waitFor();
    await shot('confirmation');
    await context.close();
  });
});

/** Presses Tab until the focused element matches (a keyboard user's way through the page). */
async function tabTo(page: Page, match: (el: Element) => boolean, max = 40): Promise<void> {
  const fn = `(${match.toString()})`;
  for (let i = 0; i < max; i++) {
    const hit = await page.evaluate((f) => {
      const el = document.activeElement;
      // Indirect eval (global scope) of the test's own predicate, passed as text.
      // biome-ignore lint/security/noGlobalEval: the predicate is this test's code, not input
      const indirect = eval;
      return !!el && el !== document.body && indirect(f)(el);
    }, fn);
    if (hit) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`no focusable element matched after ${max} tabs: ${fn}`);
}
