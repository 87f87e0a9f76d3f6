import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import type { Browser } from 'playwright-core';
import { query } from '../../src/db/client.js';
import { REASON_LABELS } from '../../src/resolve/labels.js';
import { en } from '../../web/resolve/src/i18n/en.js';
import {
  browserAvailable,
  FIXTURE_JPEG,
  launch,
  lookUp,
  newPage,
  type PageServer,
  seriousViolations,
  shooter,
  startPageServer,
  VIEWPORTS,
} from './support.js';

// What a real customer trips on: the phone's Back button in the middle of a report, a rare refusal at submit
// in another language than English, and an iPhone photo (HEIC) that Chromium cannot show.

const run = browserAvailable();
const phone = VIEWPORTS[0];
/** The German catalogue (loaded by tsx at run time: the page's own modules are type-checked by web/tsconfig). */
let de: Record<keyof typeof en, string>;
const HEIC = path.resolve(import.meta.dirname, '..', 'fixtures', 'images', 'exif-gps.heic');

describe('customer page: Back button, refusals at submit, HEIC photos', { skip: !run }, () => {
  let server: PageServer;
  let browser: Browser;
  const patchSettings = async (body: unknown) => {
    const res = await fetch(`${server.url}/v1/shops/demo/settings/resolve`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200, await res.text());
  };
  const claimsOf = async (orderNumber: string) =>
    (
      await query<{ n: number }>(
        server.ctx.db,
        sql`select count(*)::int as n from claims c join orders o on o.id = c.order_id
             where o.shop_id = ${server.demo.id} and o.order_number = ${orderNumber}`,
      )
    )[0].n;

  /** The customer, in another tab, reports an item as missing (through the same public API). */
  const claimElsewhere = async (orderNumber: string, zip: string, title: string) => {
    const base = `${server.url}/v1/resolve/demo`;
    const s = await fetch(`${base}/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ order_number: orderNumber, zip_code: zip }),
    });
    const session = (await s.json()) as {
      session: string;
      order: { line_items: { id: string; title: string }[] };
    };
    const item = session.order.line_items.find((l) => l.title === title)!;
    const c = await fetch(`${base}/claims`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${session.session}`,
        'content-type': 'application/json',
        'idempotency-key': `other-tab-${Math.random()}`,
      },
      body: JSON.stringify({
        flow: 'missing_item',
        reason: 'missing_from_parcel',
        items: [{ line_item_id: item.id, quantity: 1 }],
        resolution_preference: 'replacement',
        evidence: [],
      }),
    });
    assert.equal(c.status, 201, await c.text());
  };

  before(async () => {
    de = ((await import(`../../web/resolve/src/i18n/${'de'}.ts`)) as { de: typeof de }).de;
    server = await startPageServer();
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('Back and Forward move between the steps, keep the answers, and never reopen a sent claim', async () => {
    const { context, page } = await newPage(browser, phone);
    const shot = shooter(page, 'back-button', phone);
    try {
      const start = `${server.url}/resolve/demo?lang=en`;
      await page.goto(start);
      await lookUp(page, '1001', '10115');
      await page.getByRole('heading', { name: 'Hi Kim!' }).waitFor();
      await page.getByRole('button', { name: en['flow.defective'] }).click();
      await page.getByRole('checkbox', { name: /Organic cotton T-shirt/ }).check();
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByLabel('Stopped working').check();
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('heading', { name: en['evidence.title'] }).waitFor();

      // The phone's Back button on step 3: the previous step, with what was chosen.
      await page.goBack();
      await page.getByRole('heading', { name: en['reason.title'] }).waitFor();
      assert.ok(await page.getByLabel('Stopped working').isChecked(), 'the reason is kept');
      assert.equal(page.url(), start, 'the page’s own address (and its deep-link parameters) stays');
      await page.goBack();
      await page.getByRole('heading', { name: en['items.title'] }).waitFor();
      assert.ok(await page.getByRole('checkbox', { name: /Organic cotton T-shirt/ }).isChecked());
      assert.deepEqual(await seriousViolations(page), []);
      await shot('back-at-items');
      await page.goForward();
      await page.getByRole('heading', { name: en['reason.title'] }).waitFor();
      assert.ok(await page.getByLabel('Stopped working').isChecked());
      await page.goForward();
      await page.getByRole('heading', { name: en['evidence.title'] }).waitFor();

      // Back past the first step: the order, then the lookup (filled in); Forward returns to the order.
      await page.goBack();
      await page.goBack();
      await page.goBack();
      await page.getByRole('heading', { name: 'Hi Kim!' }).waitFor();
      await page.goBack();
      await page.getByRole('heading', { name: en['lookup.title'] }).waitFor();
      assert.equal(await page.getByLabel(en['lookup.order_number']).inputValue(), '1001');
      await page.goForward();
      await page.getByRole('heading', { name: 'Hi Kim!' }).waitFor();
      // The report is still there when the flow is picked again: straight on to where it was.
      await page.goForward();
      await page.getByRole('heading', { name: en['items.title'] }).waitFor();
      assert.ok(await page.getByRole('checkbox', { name: /Organic cotton T-shirt/ }).isChecked());

      // The in-page Back button and the browser's agree: no step is visited twice on the way back.
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.locator('[data-testid^="file-photo-"]').first().setInputFiles(FIXTURE_JPEG);
      await page.getByTestId('photo').getByText(en['evidence.uploaded']).waitFor();
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('heading', { name: en['details.title'] }).waitFor();
      await page.getByRole('button', { name: en['wizard.back'] }).click();
      await page.getByRole('heading', { name: en['evidence.title'] }).waitFor();
      await page.goBack();
      await page.getByRole('heading', { name: en['reason.title'] }).waitFor();
      await page.goForward();
      await page.getByRole('heading', { name: en['evidence.title'] }).waitFor();
      assert.equal(
        await page.getByTestId('photo').getByText(en['evidence.uploaded']).count(),
        1,
        'the photo is kept',
      );
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByLabel(/Describe the problem/).fill('It stopped working after a day.');
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByLabel(/Refund/).check();
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('heading', { name: en['review.title'] }).waitFor();
      await page.getByRole('button', { name: en['review.submit'] }).click();
      await page.getByTestId('confirmation').waitFor();
      assert.equal(await claimsOf('1001'), 1);

      // After sending, Back does not reopen the sent report (nor send it again): the order, with the request.
      await page.goBack();
      await page.getByRole('heading', { name: 'Hi Kim!' }).waitFor();
      await page.getByText(en['order.earlier_claims']).waitFor();
      assert.equal(await page.getByRole('button', { name: en['review.submit'] }).count(), 0);
      await page.goBack();
      await page.goBack();
      assert.equal(await page.getByRole('button', { name: en['review.submit'] }).count(), 0);
      assert.equal(await page.locator('.wizard').count(), 0, 'no step of the sent report');
      await page.goForward();
      await page.goForward();
      await page.goForward();
      assert.equal(await page.locator('.wizard').count(), 0);
      assert.equal(await claimsOf('1001'), 1, 'still one claim');
      await shot('after-sending');
    } finally {
      await context.close();
    }
  });

  test('embedded in an iframe, Back moves the frame one step back and the shop page stays', async () => {
    const shopPage = http.createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<!doctype html><html lang="en"><title>Shop</title><body><h1>Shop</h1>
        <iframe id="resolve" title="Order help" src="${server.url}/resolve/demo?lang=en" style="width:100%;height:900px;border:0"></iframe></body></html>`);
    });
    await new Promise<void>((r) => shopPage.listen(0, '127.0.0.1', r));
    const { context, page } = await newPage(browser, phone);
    try {
      const top = `http://127.0.0.1:${(shopPage.address() as AddressInfo).port}/`;
      await page.goto(top);
      const frame = page.frameLocator('#resolve');
      await frame.getByLabel('Order number').fill('1005');
      await frame.getByLabel('ZIP or postal code').fill('SW1A 1AA');
      await frame.getByRole('button', { name: 'Find my order' }).click();
      await frame.getByRole('button', { name: en['flow.defective'] }).click();
      await frame.getByRole('button', { name: 'Continue' }).click();
      await frame.getByRole('heading', { name: en['reason.title'] }).waitFor();
      await page.evaluate(() => history.back());
      await frame.getByRole('heading', { name: en['items.title'] }).waitFor();
      assert.equal(page.url(), top, 'the shop page was not left');
      await page.evaluate(() => history.back());
      await frame.getByRole('heading', { name: 'Hi Oliver!' }).waitFor();
      assert.equal(page.url(), top);
    } finally {
      await context.close();
      shopPage.close();
    }
  });

  test('refused at submit (claimed meanwhile in another tab, a changed form): explained in German, with the way on', async () => {
    const { context, page } = await newPage(browser, phone, { locale: 'de-DE' });
    const shot = shooter(page, 'submit-refused-de', phone);
    // Exactly: 'Hochgeladen' is also part of 'Wird hochgeladen: 0 %'.
    const uploadedDe = () => page.getByText(`✓ ${de['evidence.uploaded']}`, { exact: true }).waitFor();
    const continueDe = () => page.getByRole('button', { name: de['wizard.continue'] }).click();
    try {
      await page.goto(`${server.url}/resolve/demo?lang=de`);
      await lookUp(page, '1001', '10115');
      await page.getByRole('button', { name: de['flow.defective'] }).click();
      await page.getByRole('checkbox', { name: /Ceramic mug/ }).check();
      await continueDe();
      await page.getByLabel(REASON_LABELS.broken_on_arrival.de!).check();
      await continueDe();
      await page.locator('[data-testid^="file-photo-"]').first().setInputFiles(FIXTURE_JPEG);
      await uploadedDe();
      await continueDe();
      await page.getByLabel(new RegExp(de['details.description'])).fill('Der Henkel ist abgebrochen.');
      await continueDe();
      await page.getByLabel(de['resolution.replacement']).check();
      await continueDe();
      await page.getByRole('heading', { name: de['review.title'] }).waitFor();

      // Meanwhile, in another tab, the mug is reported: the server answers 422 `already_claimed`.
      await claimElsewhere('1001', '10115', 'Ceramic mug');
      const answered = page.waitForResponse(
        (r) => r.url().includes('/claims') && r.request().method() === 'POST',
      );
      await page.getByRole('button', { name: de['review.submit'] }).click();
      const res = await answered;
      assert.equal(res.status(), 422);
      assert.equal(((await res.json()) as { error: { key: string } }).error.key, 'already_claimed');
      const alert = page.getByTestId('submit-error');
      await alert.getByText(de['submit.already_claimed']).waitFor();
      // The list is reloaded: the mug is gone, the customer is at the items with the reason why.
      await page.getByRole('heading', { name: de['items.title'] }).waitFor();
      assert.equal(await page.getByRole('checkbox', { name: /Ceramic mug/ }).count(), 0);
      assert.doesNotMatch(
        await page.locator('main').innerText(),
        /cannot be claimed|Some items|already claimed/i,
      );
      assert.deepEqual(await seriousViolations(page), []);
      await shot('claimed-meanwhile');

      // The T-shirt instead; meanwhile the shop asks for a longer description: a 400 with the field named.
      await page.getByRole('checkbox', { name: /Organic cotton T-shirt/ }).check();
      await continueDe();
      await continueDe();
      await page.locator('[data-testid^="file-photo-"]').first().setInputFiles(FIXTURE_JPEG);
      await uploadedDe();
      await continueDe();
      await continueDe();
      await continueDe();
      await page.getByRole('heading', { name: de['review.title'] }).waitFor();
      await patchSettings({
        flows: { defective: { description: { required: true, min_length: 40, max_length: 2000 } } },
      });
      try {
        await page.getByRole('button', { name: de['review.submit'] }).click();
        // The form is reloaded and the customer taken to the description, told what it needs now.
        await page.getByRole('heading', { name: de['details.title'] }).waitFor();
        await page
          .locator('#description-error')
          .getByText(de['details.too_short'].replace('{min}', '40'))
          .waitFor();
        const text = await page.locator('main').innerText();
        assert.ok(text.includes(de['submit.changed'].split('{')[0]), text);
        assert.doesNotMatch(text, /must be|at least 40 characters|The claim is invalid/i);
        assert.deepEqual(await seriousViolations(page), []);
        await shot('form-changed');
        await page
          .getByLabel(new RegExp(de['details.description']))
          .fill('Der Henkel ist abgebrochen, als ich die Tasse aus dem Karton nahm.');
        await continueDe();
        await continueDe();
        await page.getByRole('button', { name: de['review.submit'] }).click();
        await page.getByTestId('confirmation').waitFor();
      } finally {
        await patchSettings({
          flows: { defective: { description: { required: false, min_length: 0, max_length: 2000 } } },
        });
      }
    } finally {
      await context.close();
    }
  });

  test('a shop that hides closed flows: a flow closed during the report says why on the order page', async () => {
    const { context, page } = await newPage(browser, phone);
    const shot = shooter(page, 'flow-closed-hidden', phone);
    const next = () => page.getByRole('button', { name: 'Continue' }).click();
    try {
      await patchSettings({ unavailable_flows: 'hide' });
      await page.goto(`${server.url}/resolve/demo?lang=en`);
      await lookUp(page, '1005', 'SW1A 1AA');
      await page.getByRole('button', { name: en['flow.defective'] }).click();
      await next();
      await page.getByLabel('Damaged in transit').check();
      await next();
      await page.locator('[data-testid^="file-photo-"]').first().setInputFiles(FIXTURE_JPEG);
      await page.getByText(`✓ ${en['evidence.uploaded']}`, { exact: true }).waitFor();
      await next();
      await next();
      await page.getByLabel(en['resolution.replacement']).check();
      await next();
      await page.getByRole('heading', { name: en['review.title'] }).waitFor();
      // Meanwhile the shop stops offering this kind of report: 422 flow_disabled, and the flow is hidden now.
      await patchSettings({ flows: { defective: { enabled: false } } });
      const answered = page.waitForResponse(
        (r) => r.url().includes('/claims') && r.request().method() === 'POST',
      );
      await page.getByRole('button', { name: en['review.submit'] }).click();
      assert.equal((await answered).status(), 422);
      const why = en['error.not_eligible'].replace('{reason}', en['reason_code.flow_disabled']);
      // On the order page (the review's own alert said it first): a warning, not a success.
      const notice = page.getByTestId('action-result');
      await notice.getByText(why).waitFor();
      assert.match((await notice.getAttribute('class')) ?? '', /alert-warning/);
      await page.getByTestId('order-summary').waitFor();
      assert.equal(await page.getByRole('button', { name: en['flow.defective'] }).count(), 0);
      assert.deepEqual(await seriousViolations(page), []);
      await shot('order-says-why');
    } finally {
      await patchSettings({ unavailable_flows: 'explain', flows: { defective: { enabled: true } } });
      await context.close();
    }
  });

  test('a HEIC photo, which Chromium cannot show, is a tile with its name and size, not a broken image', async () => {
    const { context, page } = await newPage(browser, phone);
    const shot = shooter(page, 'heic-tile', phone);
    try {
      await page.goto(`${server.url}/resolve/demo?lang=en`);
      await lookUp(page, '1005', 'SW1A 1AA');
      await page.getByRole('button', { name: en['flow.defective'] }).click();
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByLabel('Damaged in transit').check();
      await page.getByRole('button', { name: 'Continue' }).click();
      const group = page.locator('fieldset.photo-group').first();
      await page.locator('[data-testid^="file-photo-"]').first().setInputFiles(HEIC);
      await group.getByText(en['evidence.uploaded']).waitFor();
      await page.locator('[data-testid^="file-photo-"]').first().setInputFiles(FIXTURE_JPEG);
      await group.getByText(en['evidence.uploaded']).nth(1).waitFor();
      const [heic, jpeg] = await group.getByTestId('photo').all();
      await heic.getByText('exif-gps.heic').waitFor();
      await heic.getByText(/863\sbytes\b/).waitFor();
      await heic.getByText(en['evidence.no_preview']).waitFor();
      // No image the browser failed to decode is left on the page.
      const broken = await page.evaluate(
        () => Array.from(document.images).filter((i) => i.complete && i.naturalWidth === 0).length,
      );
      assert.equal(broken, 0, 'no broken image');
      assert.equal(await heic.locator('img').count(), 0);
      // A JPEG keeps its preview.
      assert.ok(await jpeg.locator('img').evaluate((i: HTMLImageElement) => i.naturalWidth > 0));
      assert.deepEqual(await seriousViolations(page), []);
      await shot('heic-and-jpeg');
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('heading', { name: en['details.title'] }).waitFor();
    } finally {
      await context.close();
    }
  });
});
