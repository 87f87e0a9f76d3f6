import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import type { Browser, Page } from 'playwright-core';
import { query } from '../../src/db/client.js';
import { en } from '../../web/resolve/src/i18n/en.js';
import { orderDoc } from '../support/orders.js';
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
  submitClaim,
  VIEWPORTS,
} from './support.js';

// Where customers got stuck when trying the page by hand: a reload after the photos, refused files, the
// address form's messages, a lock-out on a mistyped order number, and the reason shown for a split order.

const run = browserAvailable();

/** The German texts the address test expects (web/resolve/src/i18n/de.ts). */
const de = {
  'actions.change_address': 'Lieferadresse ändern',
  'actions.address_save': 'Adresse speichern',
  'actions.address_saved': 'Die Lieferadresse wurde aktualisiert.',
  'actions.check_fields': 'Bitte prüfen Sie die markierten Felder.',
  'address.zip': 'Postleitzahl',
  'address.country': 'Ländercode',
  'address.country_name': 'Land',
  'address.zip_invalid': 'Diese Postleitzahl passt nicht zum Land.',
  'address.country_fixed': 'Das Land kann online nicht geändert werden. Bitte wenden Sie sich an den Shop.',
  'lookup.required': 'Bitte füllen Sie dieses Feld aus.',
  'evidence.rejected_type':
    'Diese Datei können wir nicht als Foto annehmen. Bitte verwenden Sie JPEG, PNG, WebP oder HEIC.',
  'evidence.rejected_content':
    'Dieses Foto können wir nicht verwenden: Die Datei enthält mehr als ein Bild. Laden Sie bitte einen Screenshot davon hoch oder machen Sie das Foto noch einmal.',
  'evidence.rejected_size': 'Dieses Foto ist zu groß. Die maximale Größe beträgt {size}.',
};
const phone = VIEWPORTS[0];

/** The damaged-item flow on 1001 for the mug, with one photo, up to the review. */
async function damagedMugToReview(page: Page) {
  await page.getByRole('button', { name: en['flow.defective'] }).click();
  await page.getByRole('checkbox', { name: /Ceramic mug/ }).check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Broken on arrival').check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.locator('[data-testid^="file-photo-"]').first().setInputFiles(FIXTURE_JPEG);
  await page.getByTestId('photo').getByText(en['evidence.uploaded']).waitFor();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel(/Describe the problem/).fill('The handle came off in the box.');
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel(/Replacement/).check();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('heading', { name: en['review.title'] }).waitFor();
}

/** "Something else" on 1003 (nothing shipped: no items to pick), written up to the review. */
async function reportOn1003(page: Page, text: string) {
  await page.getByRole('button', { name: en['flow.support'] }).click();
  const description = page.getByLabel(/Describe the problem/);
  const title = page.locator('#step-title');
  for (let step = 0; step < 6; step++) {
    const now = await title.innerText();
    if (now === en['review.title']) return;
    if (await description.isVisible()) await description.fill(text);
    await page.getByRole('button', { name: 'Continue' }).click();
    // The next step, before looking at it (a second click on the review would send the report).
    await page.waitForFunction((t) => document.querySelector('#step-title')?.textContent !== t, now);
  }
  assert.fail('the review was not reached');
}

describe('customer page: recovering from what went wrong', { skip: !run }, () => {
  let server: PageServer;
  let browser: Browser;
  before(async () => {
    server = await startPageServer({
      lookup: {
        ipMax: 100_000,
        ipWindowSeconds: 600,
        shopMax: 1_000_000,
        orderFailures: 3,
        ipFailures: 10_000,
        lockSeconds: 600,
      },
    });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const merchant = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${server.url}${path}`, {
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

  test('a reload after the photo step returns to the photos (they are not kept), not to a review that fails', async () => {
    const { context, page } = await newPage(browser, phone);
    const shot = shooter(page, 'reload-after-photos', phone);
    try {
      await page.goto(`${server.url}/resolve/demo?lang=en`);
      await lookUp(page, '1001', '10115');
      await damagedMugToReview(page);
      assert.match(await page.getByTestId('review').innerText(), /Photos\n1 photo(?!s)/);

      // The phone reloads the tab (e.g. after the camera app): the answers come back, the photo cannot.
      await page.reload();
      await page.getByRole('heading', { name: en['evidence.title'] }).waitFor();
      await page.getByText('Please add at least 1 photo of Ceramic mug.').waitFor();
      assert.deepEqual(await seriousViolations(page), []);
      await shot('back-at-photos');

      await page.locator('[data-testid^="file-photo-"]').first().setInputFiles(FIXTURE_JPEG);
      await page.getByTestId('photo').getByText(en['evidence.uploaded']).waitFor();
      await page.getByRole('button', { name: 'Continue' }).click();
      assert.equal(
        await page.getByLabel(/Describe the problem/).inputValue(),
        'The handle came off in the box.',
      );
      await page.getByRole('button', { name: 'Continue' }).click();
      assert.equal(await page.getByLabel(/Replacement/).isChecked(), true);
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('button', { name: en['review.submit'] }).click();
      await page.getByTestId('confirmation').waitFor();
      await shot('sent');
      const [row] = await query<{ n: number }>(
        server.ctx.db,
        sql`select count(*)::int as n from claim_evidence e join claims c on c.id = e.claim_id
             where c.shop_id = ${server.demo.id} and c.description = 'The handle came off in the box.'`,
      );
      assert.equal(row.n, 1, 'the claim has its photo');
    } finally {
      await context.close();
    }
  });

  test('a report is never carried over to another order: a link to another order, a lookup after the session ended', async () => {
    const { context, page } = await newPage(browser, phone);
    const shot = shooter(page, 'other-order', phone);
    const wizard = page.locator('section.wizard');
    try {
      await page.goto(`${server.url}/resolve/demo?lang=en`);
      await lookUp(page, '1003', '20095');
      await reportOn1003(page, 'Written about order 1003.');

      // A link to another order, opened in the same tab: that order's page, without 1003's report.
      await page.goto(`${server.url}/resolve/demo?orderNumber=1002&zipCode=80331&lang=en`);
      await page.getByRole('button', { name: en['flow.support'] }).waitFor();
      assert.equal(await wizard.count(), 0, 'no report is open');
      await page.reload();
      await page.getByRole('button', { name: en['flow.support'] }).waitFor();
      assert.equal(await wizard.count(), 0, 'not after a reload either');
      await page.getByRole('button', { name: en['flow.support'] }).click();
      await page.locator('#step-title').waitFor();
      assert.match(
        await page.locator('.progress-text').innerText(),
        /Step 1 of/,
        'a new report, from its start',
      );
      await shot('link-to-other-order');

      // The session ends mid-report; the customer looks up another order: its page, not an empty one.
      await page.goto(`${server.url}/resolve/demo?lang=en`);
      await page.getByRole('button', { name: en['wizard.cancel'] }).first().click();
      const dialog = page.getByRole('alertdialog');
      if (await dialog.count()) await dialog.getByRole('button', { name: en['wizard.cancel'] }).click();
      await lookUp(page, '1003', '20095');
      await reportOn1003(page, 'Also about 1003.');
      await query(server.ctx.db, sql`delete from resolve_sessions where shop_id = ${server.demo.id}`);
      await page.getByRole('button', { name: en['review.submit'] }).click();
      await page.getByTestId('session-expired').waitFor();
      await page.getByLabel('Order number').fill('1002');
      await page.getByLabel('ZIP or postal code').fill('80331');
      await page.getByRole('button', { name: 'Find my order' }).click();
      await page.getByRole('button', { name: en['flow.support'] }).waitFor();
      assert.equal(await wizard.count(), 0);
      await shot('expired-then-other-order');
      const [row] = await query<{ n: number }>(
        server.ctx.db,
        sql`select count(*)::int as n from claims where shop_id = ${server.demo.id} and description like '%1003%'`,
      );
      assert.equal(row.n, 0, 'nothing about 1003 was sent');
    } finally {
      await context.close();
    }
  });

  test('the review on a phone: a pasted long link wraps, and a reason the customer never chose is not shown', async () => {
    const { context, page } = await newPage(browser, phone);
    const shot = shooter(page, 'review-long-text', phone);
    try {
      await page.goto(`${server.url}/resolve/demo?lang=en`);
      await lookUp(page, '1003', '20095');
      const link = `https://tracking.example.com/${'x'.repeat(300)}`;
      await reportOn1003(page, link);
      const review = await page.getByTestId('review').innerText();
      assert.ok(review.includes(link), 'the text is all there');
      assert.doesNotMatch(review, new RegExp(en['review.reason']), '"Something else" has no reason to show');
      const { scroll, client } = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        client: document.documentElement.clientWidth,
      }));
      assert.ok(scroll <= client, `the page does not scroll sideways (${scroll} > ${client})`);
      await shot('review');
      await page.getByRole('button', { name: en['wizard.cancel'] }).first().click();
      await page.getByRole('alertdialog').getByRole('button', { name: en['wizard.cancel'] }).click();
    } finally {
      await context.close();
    }
  });

  test('a link that no longer works, then a lookup: a reload continues the report instead of the link’s error', async () => {
    const { context, page } = await newPage(browser, phone);
    try {
      await page.goto(`${server.url}/resolve/demo?token=not-a-real-token&lang=en`);
      await page.getByText(en['lookup.token_invalid']).waitFor();
      await lookUp(page, '1003', '20095');
      await reportOn1003(page, 'Kept across the reload.');
      await page.reload();
      await page.getByRole('heading', { name: en['review.title'] }).waitFor();
      assert.match(await page.getByTestId('review').innerText(), /Kept across the reload\./);
      assert.equal(await page.getByText(en['lookup.token_invalid']).count(), 0);
    } finally {
      await context.close();
    }
  });

  test('"Start over" asks first when a report is under way; nothing is lost by a stray tap', async () => {
    const { context, page } = await newPage(browser, phone);
    const shot = shooter(page, 'start-over', phone);
    try {
      await page.goto(`${server.url}/resolve/demo?lang=en`);
      await lookUp(page, '1001', '10115');
      // On the order's page nothing is under way yet: no question.
      await page.getByRole('button', { name: en['flow.defective'] }).waitFor();
      await page.getByRole('button', { name: en['wizard.cancel'] }).click();
      await page.getByLabel(/order number/i).waitFor();

      await lookUp(page, '1001', '10115');
      await page.getByRole('button', { name: en['flow.defective'] }).click();
      // Whichever item is still claimable (another test here claims the mug).
      await page.getByRole('checkbox').first().check();
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByLabel('Broken on arrival').check();
      await page.getByRole('button', { name: en['wizard.cancel'] }).click();
      const dialog = page.getByRole('alertdialog');
      await dialog.getByText(en['wizard.cancel_confirm']).waitFor();
      const keep = dialog.getByRole('button', { name: en['wizard.keep_going'] });
      assert.ok(await keep.evaluate((b) => b === document.activeElement), 'the safe answer has the focus');
      assert.deepEqual(await seriousViolations(page), []);
      await shot('asked');
      await keep.click();
      assert.equal(await dialog.count(), 0);
      assert.ok(await page.getByLabel('Broken on arrival').isChecked(), 'the answers are still there');

      await page.getByRole('button', { name: en['wizard.cancel'] }).first().click();
      await page.getByRole('alertdialog').getByRole('button', { name: en['wizard.cancel'] }).click();
      await page.getByLabel(/order number/i).waitFor();
      await shot('started-over');
    } finally {
      await context.close();
    }
  });

  test('a refused file offers no pointless "Try again" and does not use up a place for a photo', async () => {
    const { context, page } = await newPage(browser, phone);
    const shot = shooter(page, 'refused-files', phone);
    try {
      await page.goto(`${server.url}/resolve/demo?lang=en`);
      await lookUp(page, '1005', 'SW1A 1AA');
      await page.getByRole('button', { name: en['flow.defective'] }).click();
      await page.getByRole('button', { name: 'Continue' }).click(); // the lamp is the only item
      await page.getByLabel('Damaged in transit').check();
      await page.getByRole('button', { name: 'Continue' }).click();
      const input = page.locator('[data-testid^="file-photo-"]').first();
      const group = page.locator('fieldset.photo-group').first();

      await input.setInputFiles({
        name: 'holiday.jpg',
        mimeType: 'image/jpeg',
        buffer: Buffer.from('not a photo'),
      });
      await group.getByText(en['evidence.rejected_type']).waitFor();
      await input.setInputFiles({
        name: 'huge.jpg',
        mimeType: 'image/jpeg',
        buffer: Buffer.alloc(11 * 1024 * 1024, 0xff),
      });
      await group.getByText(en['evidence.rejected_size'].replace('{size}', '10 MB')).waitFor();
      // Its size in the same units as the limit (1024s): 11 MB over 10 MB, not "11.5 MB".
      // (shown once the browser has given up decoding it: a tile without preview names the file and its size)
      await group.locator('[data-testid=photo]', { hasText: /huge\.jpg\s*11 MB · / }).waitFor();
      // A photo carrying more than the picture (here a web page appended): the server refuses it (invalid_evidence)
      // and the customer is told what to do instead, not "The upload failed" with a "Try again" that fails again.
      await input.setInputFiles({
        name: 'shared.jpg',
        mimeType: 'image/jpeg',
        buffer: Buffer.concat([fs.readFileSync(FIXTURE_JPEG), Buffer.from('<p>not part of a photo</p>')]),
      });
      await group.getByText(en['evidence.rejected_content']).waitFor();
      assert.equal(await group.getByRole('button', { name: en['evidence.retry'] }).count(), 0);
      assert.deepEqual(await seriousViolations(page), []);
      await shot('refused');

      // The refusals follow a change of language, like the rest of the page, and back.
      const refusals = (
        m: Record<'evidence.rejected_type' | 'evidence.rejected_size' | 'evidence.rejected_content', string>,
      ) => [
        m['evidence.rejected_type'],
        m['evidence.rejected_size'].replace('{size}', '10 MB'),
        m['evidence.rejected_content'],
      ];
      const shown = () => group.locator('[data-testid=photo] [role=alert]').allInnerTexts();
      assert.deepEqual(await shown(), refusals(en));
      await page.getByRole('combobox', { name: 'Language' }).selectOption('de');
      await group.getByText(de['evidence.rejected_type']).waitFor();
      assert.deepEqual(await shown(), refusals(de));
      await shot('refused-de');
      await page.getByRole('combobox', { name: 'Sprache' }).selectOption('en');
      await group.getByText(en['evidence.rejected_type']).waitFor();
      assert.deepEqual(await shown(), refusals(en));

      // Five photos may be added (the flow's maximum) although three tiles show refused files.
      for (let i = 1; i <= 5; i++) {
        await input.setInputFiles(FIXTURE_JPEG);
        await group
          .getByText(en['evidence.uploaded'])
          .nth(i - 1)
          .waitFor();
      }
      assert.equal(await group.getByRole('button', { name: `+ ${en['evidence.add_photo']}` }).count(), 0);
      await shot('five-added');
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('heading', { name: en['details.title'] }).waitFor();
    } finally {
      await context.close();
    }
  });

  test('the address form explains itself in the customer’s language, field by field', async () => {
    const { context, page } = await newPage(browser, phone, { locale: 'de-DE' });
    const shot = shooter(page, 'address-errors', phone);
    try {
      const [order] = (
        await merchant<{ data: { id: string }[] }>('GET', '/v1/shops/demo/orders?order_number=1003')
      ).data;
      const link = await merchant<{ token: string }>(
        'POST',
        `/v1/shops/demo/orders/${order.id}/resolve-link`,
        {},
      );
      await page.goto(`${server.url}/resolve/demo?token=${encodeURIComponent(link.token)}&lang=de`);
      const actions = page.getByTestId('order-actions');
      await actions.getByRole('button', { name: de['actions.change_address'] }).click();
      const field = (label: keyof typeof de) => actions.getByLabel(de[label], { exact: true });
      const save = () => actions.getByRole('button', { name: de['actions.address_save'] }).click();
      const errorOf = async (label: keyof typeof de) => {
        const id = await field(label).getAttribute('aria-describedby');
        assert.ok(id, `${label} names its error`);
        return page.locator(`[id="${id}"]`).innerText();
      };

      // The country cannot be changed online: named in German, with why, instead of a code to type.
      assert.equal(await field('address.country').count(), 0);
      assert.deepEqual(await actions.getByTestId('address-country').locator('p').allInnerTexts(), [
        de['address.country_name'],
        'Deutschland',
        de['address.country_fixed'],
      ]);
      // An empty required field: checked on the page, nothing sent yet.
      await field('address.zip').fill('');
      await save();
      await actions.getByTestId('action-error').getByText(de['actions.check_fields']).waitFor();
      assert.equal(await errorOf('address.zip'), de['lookup.required']);
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'addr-zip_code');
      assert.deepEqual(await seriousViolations(page), []);
      await shot('checked-on-the-page');

      // A postcode of the wrong shape for Germany: refused by the server, explained here.
      await field('address.zip').fill('1234');
      const answered = page.waitForResponse((r) => r.url().includes('/order/address'));
      await save();
      assert.equal((await answered).status(), 400);
      await page.getByText(de['address.zip_invalid']).waitFor();
      assert.equal(await errorOf('address.zip'), de['address.zip_invalid']);
      assert.equal(await actions.getByRole('alert').first().innerText(), de['actions.check_fields']);
      const text = await actions.innerText();
      assert.doesNotMatch(text, /must|invalid|postcode for|request is/i, 'no English server text');
      await shot('checked-by-the-server');

      await field('address.zip').fill('20095');
      await save();
      await page.getByTestId('action-result').getByText(de['actions.address_saved']).waitFor();
    } finally {
      await context.close();
    }
  });

  test('locked out after wrong ZIPs, a corrected order number can be tried at once', async () => {
    const { context, page } = await newPage(browser, phone);
    const shot = shooter(page, 'lockout-other-number', phone);
    try {
      await page.goto(`${server.url}/resolve/demo?lang=en`);
      // The customer keeps typing someone else's order number (1002 instead of 1001) with their own ZIP.
      for (let i = 0; i < 3; i++) {
        await lookUp(page, '1002', '10115');
        await page.getByTestId('lookup-error-order_not_found').waitFor();
      }
      await lookUp(page, '1002', '10115');
      await page.getByTestId('lookup-error-rate_limited').waitFor();
      const button = page.locator('form button[type=submit]');
      assert.equal(await button.isDisabled(), true);
      await shot('locked');
      await page.getByLabel(en['lookup.order_number']).fill('1001');
      assert.equal(await button.isDisabled(), false);
      await button.click();
      await page.getByRole('heading', { name: 'Hi Kim!' }).waitFor();
      await shot('found');
    } finally {
      await context.close();
    }
  });

  test('1005 with the lamp claimed: the bulbs on their way are "not delivered yet", not "already reported"', async () => {
    await submitClaim(
      server,
      { order_number: '1005', zip_code: 'SW1A 1AA' },
      (flows) => {
        const f = flows.find((x) => x.flow === 'wrong_item')!;
        return {
          flow: 'wrong_item',
          reason: 'wrong_product',
          items: [{ line_item_id: f.items[0].line_item_id, quantity: 1 }],
          resolution_preference: 'replacement',
        };
      },
      1,
    );
    const { context, page } = await newPage(browser, phone);
    try {
      await page.goto(`${server.url}/resolve/demo?lang=en`);
      await lookUp(page, '1005', 'sw1a1aa');
      await page.getByRole('heading', { name: 'Hi Oliver!' }).waitFor();
      // Parcel 1 shows as delivered: what waits is the bulbs in parcel 2, not "your parcel" (nor "if it stops
      // moving", which only opens "My parcel has not arrived").
      assert.match(await page.locator('.shipment').nth(0).innerText(), /Delivered/);
      for (const flow of ['defective', 'missing_item', 'wrong_item', 'return', 'dissatisfied']) {
        const text = await page.getByTestId(`unavailable-${flow}`).innerText();
        assert.ok(text.includes(en['unavailable.items_on_the_way']), `${flow}: ${text}`);
        assert.ok(!text.includes(en['reason_code.already_claimed']), `${flow}: ${text}`);
        assert.ok(!text.includes(en['unavailable.awaiting_delivery']), `${flow}: ${text}`);
      }
      await shooter(page, 'split-order-claimed', phone)('order');
    } finally {
      await context.close();
    }
  });

  test('a cancel whose answer was lost: tapping again shows the order cancelled, not "no longer possible"', async () => {
    const doc = { ...orderDoc({ shipments: [] }), customer: { ...orderDoc().customer, first_name: 'Lena' } };
    const order = await merchant<{ id: string }>('PUT', '/v1/shops/demo/orders', doc);
    const link = await merchant<{ token: string }>(
      'POST',
      `/v1/shops/demo/orders/${order.id}/resolve-link`,
      {},
    );
    const { context, page } = await newPage(browser, phone);
    try {
      let cancels = 0;
      // The first cancel reaches the server and is carried out; its answer never reaches the page.
      await page.route('**/order/cancel**', async (route) => {
        if (++cancels > 1) return route.continue();
        await route.fetch();
        await route.abort('connectionreset');
      });
      await page.goto(`${server.url}/resolve/demo?token=${encodeURIComponent(link.token)}&lang=en`);
      await page.getByRole('heading', { name: 'Hi Lena!' }).waitFor();
      const actions = page.getByTestId('order-actions');
      const yes = page.getByRole('alertdialog').getByRole('button', { name: en['actions.cancel_yes'] });
      await actions.getByRole('button', { name: en['actions.cancel'] }).click();
      await yes.click();
      // "You are offline": the question stays, and the customer confirms again.
      await page.getByText(en['page.offline']).first().waitFor();
      await shooter(page, 'cancel-lost-answer', phone)('offline');
      await yes.click();
      await page.getByText(en['order.cancelled']).waitFor();
      assert.equal(cancels, 2);
      assert.equal(await page.getByText(en['actions.not_allowed']).count(), 0);
      const stored = await merchant<{ state: string }>('GET', `/v1/shops/demo/orders/${order.id}`);
      assert.equal(stored.state, 'cancelled');
    } finally {
      await context.close();
    }
  });
});
