import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { createUser } from '../../src/shops/users.js';
import { en } from '../../web/resolve/src/i18n/en.js';
import { fixture } from '../support/images.js';
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

// A merchant looks an order up in the portal: what was bought, shipped and refunded, where the parcels are, the
// order's claims, and what the customer changed through a Resolve link.

const run = browserAvailable();
const [phone, desktop] = VIEWPORTS;
const VIEWER = { email: 'viewer@demo.test', password: 'viewer-password-1' };
const AGENT = { email: 'agent@demo.test', password: 'agent-password-1' };

describe('merchant portal: orders', { skip: !run }, () => {
  let server: PageServer;
  let browser: Browser;
  let claim: { id: string; number: string };
  let order1001: string;
  let order1003: string;

  const merchant = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
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
  const customer = async (bearer: string, path: string, body: unknown) => {
    const res = await fetch(`${server.url}/v1/resolve/demo${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.ok(res.ok, `${path} → ${res.status} ${await res.text()}`);
  };
  const idOf = async (number: string) =>
    (await merchant<{ data: { id: string }[] }>('GET', `/orders?order_number=${number}`)).data[0].id;

  before(async () => {
    server = await startPageServer({}, 'portal');
    browser = await launch();
    await createUser(server.ctx.db, { shopId: server.demo.id, ...VIEWER, role: 'viewer' });
    await createUser(server.ctx.db, { shopId: server.demo.id, ...AGENT, role: 'agent' });
    claim = await submitClaim(
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
    order1001 = await idOf('1001');
    order1003 = await idOf('1003');
    // The customer of 1003 moves the parcel to another street, then cancels, through the shop's link.
    const link = await merchant<{ token: string }>('POST', `/orders/${order1003}/resolve-link`, {});
    const s = await fetch(`${server.url}/v1/resolve/demo/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: link.token }),
    });
    const bearer = ((await s.json()) as { session: string }).session;
    await customer(bearer, '/order/address', {
      name: 'Jonas Meyer',
      address_line_1: 'Chausseestr. 10',
      city: 'Berlin',
      zip_code: '10117',
      country_code: 'DE',
    });
    await customer(bearer, '/order/cancel', { reason: 'Ordered twice' });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  for (const vp of [desktop, phone]) {
    test(`a viewer searches orders and reads one with its parcel, claims and activity (${vp.name})`, async () => {
      const { context, page } = await newPage(browser, vp);
      const shot = shooter(page, 'portal-orders', vp);
      const width = () => page.evaluate(() => document.documentElement.scrollWidth);
      try {
        await portalSignIn(page, server.url, VIEWER);
        await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Orders' }).click();
        await page.getByRole('heading', { name: 'Orders', level: 1 }).waitFor();
        await page.getByTestId('order-row').nth(5).waitFor();
        assert.equal(await page.getByTestId('order-row').count(), 6, 'all six demo orders, newest first');
        assert.equal(await page.title(), 'Orders · Resolve');
        await shot('list');
        assert.ok((await width()) <= vp.viewport.width, `list: ${await width()}px wide`);

        // By customer email, then by ZIP (10115 is the ZIP of 1001 and 1006).
        await page.getByLabel('Customer email').fill('kim.berg@example.com');
        await page.getByRole('button', { name: 'Search' }).click();
        await page.waitForURL(/email=kim.berg/);
        // The unfiltered list (which has Kim Berg's orders too) may still be shown: wait for the search's rows.
        await page.waitForFunction(() => document.querySelectorAll('[data-testid="order-row"]').length === 2);
        const rows = page.getByTestId('order-row');
        assert.deepEqual((await rows.allInnerTexts()).map((t) => t.split(/\s/)[0]).sort(), [
          '#1001',
          '#1006',
        ]);
        await page.getByRole('link', { name: 'Show all orders' }).click();
        await page.getByTestId('order-row').nth(5).waitFor();
        await page.getByLabel('ZIP code').fill('99999');
        await page.getByRole('button', { name: 'Search' }).click();
        await page.getByText('No order matches this search.').waitFor();
        await page.getByLabel('ZIP code').fill('');
        await page.getByLabel('Order number').fill('1001');
        await page.getByRole('button', { name: 'Search' }).click();
        await page.waitForURL(/order_number=1001/);
        await page.getByTestId('order-row').first().waitFor();
        assert.equal(await page.getByTestId('order-row').count(), 1);
        const row = page.getByTestId('order-row');
        assert.match(await row.innerText(), /#1001[\s\S]*Kim Berg[\s\S]*Shipped[\s\S]*€89\.91/);
        await row.getByRole('link', { name: '#1001' }).click();

        // The order: state, customer, address, items with what was shipped, the parcel and its events.
        await page.getByRole('heading', { name: /Order #1001/ }).waitFor();
        assert.equal(new URL(page.url()).pathname, `/portal/demo/orders/${order1001}`);
        assert.equal(await page.title(), 'Order #1001 · Resolve');
        const body = await page.locator('main').innerText();
        assert.match(body, /Shipped/);
        assert.match(body, /kim\.berg@example\.com/);
        assert.match(body, /Kim Berg, Invalidenstraße 1, 10115 Berlin, DE/);
        assert.match(body, /2 × Organic cotton T-shirt/);
        assert.match(body, /2 of 2 shipped/);
        const parcel = page.getByTestId('order-shipment');
        assert.match(await parcel.innerText(), /Delivered[\s\S]*DHL[\s\S]*00340434161094001001/);
        await parcel.getByText('Parcel picked up by the carrier').waitFor();
        // Its claim, linking to the claim page.
        const claims = page.getByTestId('order-claims');
        await claims.getByRole('link', { name: claim.number }).waitFor();
        assert.match(await claims.innerText(), /Defective · Damaged in transit[\s\S]*1 × Ceramic mug/);
        assert.match(
          await page.getByTestId('order-activity').innerText(),
          /has not cancelled or changed this order/,
        );
        assert.deepEqual(await seriousViolations(page), []);
        await shot('order-1001');
        assert.ok((await width()) <= vp.viewport.width, `order: ${await width()}px wide`);

        // From the claim back to its order.
        await claims.getByRole('link', { name: claim.number }).click();
        await page.getByRole('heading', { name: new RegExp(`Claim ${claim.number}`) }).waitFor();
        await page.getByRole('link', { name: '#1001' }).click();
        await page.getByRole('heading', { name: /Order #1001/ }).waitFor();

        // A stuck parcel says so.
        await page.goto(`${server.url}/portal/demo/orders/${await idOf('1004')}`);
        await page.getByRole('heading', { name: /Order #1004/ }).waitFor();
        assert.match(
          await page.getByTestId('order-shipment').innerText(),
          /Stuck[\s\S]*No carrier news for 9 days/,
        );

        // The cancelled order: what the customer did, in words, newest first.
        await page.goto(`${server.url}/portal/demo/orders/${order1003}`);
        await page.getByRole('heading', { name: /Order #1003/ }).waitFor();
        const activity = page.getByTestId('order-activity-row');
        await activity.nth(1).waitFor();
        const [cancelled, moved] = await activity.allInnerTexts();
        assert.match(cancelled, /^Cancelled by the customer · “Ordered twice” · \d{1,2} \w{3}, \d\d:\d\d$/);
        assert.match(
          moved,
          /^Shipping address changed by the customer: Mönckebergstraße 7, 20095 Hamburg → Chausseestr\. 10, 10117 Berlin · /,
        );
        assert.match(await page.locator('main').innerText(), /Cancelled[\s\S]*Nothing was shipped\./);
        assert.deepEqual(await seriousViolations(page), []);
        await shot('order-1003-cancelled');
        assert.ok((await width()) <= vp.viewport.width, `cancelled order: ${await width()}px wide`);

        // An id that is no order of this shop.
        await page.goto(`${server.url}/portal/demo/orders/ord_nope`);
        await page.getByText('There is no such order in this shop.').waitFor();
      } finally {
        await context.close();
      }
    });
  }

  const claimsOf = async (orderId: string) =>
    (await merchant<{ data: { id: string; channel: string }[] }>('GET', `/claims?order_id=${orderId}`)).data;

  test('an agent records a claim taken by phone: only what the order allows, quantities checked at the field, one claim for a double click (desktop)', async () => {
    const { context, page } = await newPage(browser, desktop);
    const shot = shooter(page, 'portal-record-claim', desktop);
    try {
      await portalSignIn(page, server.url, AGENT);
      // A parcel still on its way: the issues that need a delivery say why they cannot be chosen.
      await page.goto(`${server.url}/portal/demo/orders/${await idOf('1002')}`);
      await page.getByRole('button', { name: 'Record a claim' }).click();
      const form = page.locator('#record-claim');
      await form.getByRole('radio', { name: /Damaged or defective/ }).waitFor();
      assert.equal(await form.getByRole('radio', { name: /Damaged or defective/ }).isDisabled(), true);
      await form.getByText('The parcel has not been delivered yet').first().waitFor();
      await form.getByRole('button', { name: 'Cancel' }).click();
      // Focus goes back to the button that opened the form.
      await page.waitForFunction(() => document.activeElement?.textContent === 'Record a claim');

      await page.goto(`${server.url}/portal/demo/orders/${order1001}`);
      await page.getByRole('button', { name: 'Record a claim' }).click();
      await form.getByRole('radio', { name: /Damaged or defective/ }).check();
      // The mug is already claimed (by the customer): not offered. Two T-shirts and one pair of socks are.
      await form.getByLabel(/Organic cotton T-shirt/).waitFor();
      assert.equal(await form.getByLabel(/Ceramic mug/).count(), 0);
      assert.match(await form.innerText(), /Organic cotton T-shirt \(Black \/ M\)\s*of 2/);
      await form.getByLabel(/Organic cotton T-shirt/).fill('5');
      await form.getByRole('button', { name: 'Record the claim' }).click();
      await form.getByText('At most 2').waitFor();
      await form.getByText('Choose a reason', { exact: true }).waitFor();
      await form.getByText('Choose what the customer would like').waitFor();
      assert.equal(await form.getByLabel(/Organic cotton T-shirt/).getAttribute('aria-invalid'), 'true');
      await shot('field-errors');
      assert.equal((await claimsOf(order1001)).length, 1, 'nothing recorded');

      await form.getByLabel('Reason').selectOption({ label: 'Damaged in transit' });
      await form.getByLabel(/Organic cotton T-shirt/).fill('2');
      await form.getByLabel(/What the customer said/).fill('Called: both shirts arrived torn.');
      // Only the wish is missing: focus goes to its group's first choice.
      await form.getByRole('button', { name: 'Record the claim' }).click();
      await page.waitForFunction(() => (document.activeElement as HTMLInputElement | null)?.name === 'pref');
      await form.getByRole('radio', { name: 'Replacement', exact: true }).check();
      // The photos the customer emailed: a file that is no photo is refused at the field, before any claim.
      const photos = form.getByLabel(/Photos the customer sent/);
      // A photo over the shop's limit (10 MB) is refused when picked, before any upload.
      await photos.setInputFiles([
        { name: 'photo.jpg', mimeType: 'image/jpeg', buffer: Buffer.alloc(10 * 1024 * 1024 + 1) },
      ]);
      await form.getByText('photo.jpg is larger than 10 MB').waitFor();
      assert.equal(await form.getByRole('listitem').filter({ hasText: 'photo.jpg' }).count(), 0);
      await photos.setInputFiles([
        { name: 'notes.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('no photo') },
      ]);
      await form.getByRole('button', { name: 'Record the claim' }).click();
      await form.getByText(/notes\.jpg: Only JPEG, PNG, WebP and HEIC photos are accepted/).waitFor();
      assert.equal(await photos.getAttribute('aria-invalid'), 'true');
      assert.equal((await claimsOf(order1001)).length, 1, 'nothing recorded');
      await form.getByRole('button', { name: 'Remove notes.jpg' }).click();
      await photos.setInputFiles([
        { name: 'torn-shirts.jpg', mimeType: 'image/jpeg', buffer: fixture('plain.jpg') },
      ]);
      await form.getByRole('listitem').filter({ hasText: 'torn-shirts.jpg' }).waitFor();
      assert.deepEqual(await seriousViolations(page), []);
      await shot('filled');
      await form.getByRole('button', { name: 'Record the claim' }).dblclick();
      await page.getByRole('heading', { name: /^Claim R-/ }).waitFor();
      await page.getByRole('heading', { name: 'Evidence (1)' }).waitFor();
      await page.locator('.gallery img').first().waitFor();
      assert.ok(
        await page
          .locator('.gallery img')
          .first()
          .evaluate((img) => (img as HTMLImageElement).naturalWidth > 0),
        'the photo is served to the portal',
      );
      const body = await page.locator('main').innerText();
      assert.match(body, /2 × Organic cotton T-shirt/);
      assert.match(body, /Portal \(entered by the team\)/);
      assert.match(body, /Called: both shirts arrived torn\./);
      await shot('claim');
      const claims = await claimsOf(order1001);
      assert.equal(claims.length, 2, 'one claim for the double click');
      assert.ok(claims.some((c) => c.channel === 'portal'));
    } finally {
      await context.close();
    }
  });

  test('a stuck parcel on a phone: the server’s refusal shows at the item, then the claim is recorded (phone)', async () => {
    const { context, page } = await newPage(browser, phone);
    const shot = shooter(page, 'portal-record-claim', phone);
    const order1004 = await idOf('1004');
    try {
      await portalSignIn(page, server.url, AGENT);
      await page.goto(`${server.url}/portal/demo/orders/${order1004}`);
      await page.getByRole('button', { name: 'Record a claim' }).click();
      const form = page.locator('#record-claim');
      await form.getByRole('radio', { name: /Not received/ }).check();
      await form.getByLabel('Reason').selectOption({ label: 'Stuck in transit' });
      await form.getByLabel(/Insulated bottle/).fill('1');
      // Nothing to photograph for a parcel that never came.
      assert.equal(await form.getByLabel(/Photos the customer sent/).count(), 0);
      // A stuck parcel never reached the door: no question whether the carrier could leave it.
      assert.equal(await form.getByRole('radio', { name: 'No', exact: true }).count(), 0);
      await form.getByRole('radio', { name: 'Refund', exact: true }).check();
      // Meanwhile a colleague records the bottle through the API.
      const order = await merchant<{ line_items: { id: string; title: string }[] }>(
        'GET',
        `/orders/${order1004}`,
      );
      const bottle = order.line_items.find((l) => l.title === 'Insulated bottle')!.id;
      await merchant('POST', '/claims', {
        order_id: order1004,
        flow: 'not_received',
        reason: 'stuck_in_transit',
        items: [{ line_item_id: bottle, quantity: 1 }],
        resolution_preference: 'refund',
      });
      await form.getByRole('button', { name: 'Record the claim' }).click();
      await page.waitForTimeout(1500);
      await shot('debug');
      await form.getByText('Already claimed: earlier claims or refunds cover every unit').waitFor();
      assert.equal(await form.getByLabel(/Insulated bottle/).getAttribute('aria-invalid'), 'true');
      assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= phone.viewport.width);
      await shot('server-refusal');
      await form.getByText('Check the fields marked below.').waitFor();
      await form.getByLabel(/Insulated bottle/).fill('');
      await form.getByLabel(/Canvas tote/).fill('1');
      await form.getByRole('button', { name: 'Record the claim' }).click();
      await page.getByRole('heading', { name: /^Claim R-/ }).waitFor();
      assert.match(await page.locator('main').innerText(), /1 × Canvas tote/);
      await shot('claim');
    } finally {
      await context.close();
    }
  });

  test('an agent creates a customer link that opens the order without the ZIP, then revokes every link (desktop)', async () => {
    const { context, page } = await newPage(browser, desktop);
    const customerSide = await newPage(browser, desktop);
    try {
      await portalSignIn(page, server.url, AGENT);
      await page.goto(`${server.url}/portal/demo/orders/${await idOf('1002')}`);
      const card = page.getByTestId('order-link');
      await card.getByText('without the ZIP code').waitFor();
      await card.getByLabel('Valid for (days)').fill('400');
      await card.getByText('Enter a whole number of days from 1 to 365').waitFor();
      await card.getByLabel('Valid for (days)').fill('7');
      await card.getByLabel('Page language').selectOption({ label: 'English' });
      await card.getByRole('button', { name: 'Create customer link' }).click();
      const field = card.getByLabel('Link for the customer');
      await field.waitFor();
      const url = await field.inputValue();
      assert.match(url, new RegExp(`^${server.url}/resolve/demo\\?token=[^&]+&lang=en$`));
      const inAWeek = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium' }).format(
        Date.now() + 7 * 864e5,
      );
      assert.match(await card.innerText(), new RegExp(`Valid until ${inAWeek}, \\d\\d:\\d\\d\\.`));
      await card.getByRole('button', { name: 'Copy' }).click();
      await card.getByText(/Copied to the clipboard|The link is selected/).waitFor();
      assert.deepEqual(await seriousViolations(page), []);

      // The customer opens it: their order, no ZIP asked.
      const customer = customerSide.page;
      await customer.goto(url);
      await customer.getByRole('heading', { name: /^Hi / }).waitFor();
      assert.equal(await customer.getByLabel(en['lookup.order_number']).count(), 0, 'no lookup needed');

      await card.getByRole('button', { name: /Revoke all links/ }).click();
      const confirm = page.getByRole('dialog', { name: 'Revoke all links of this order?' });
      await confirm.getByRole('button', { name: 'Revoke all links' }).click();
      await card.getByText('Every link made for this order so far no longer works.').waitFor();
      assert.equal(await field.count(), 0);
      const again = await newPage(browser, desktop);
      try {
        await again.page.goto(url);
        await again.page.getByText(en['lookup.token_revoked']).waitFor();
      } finally {
        await again.context.close();
      }
    } finally {
      await customerSide.context.close();
      await context.close();
    }
  });

  test('a viewer is not offered to record a claim', async () => {
    const { context, page } = await newPage(browser, desktop);
    try {
      await portalSignIn(page, server.url, VIEWER);
      await page.goto(`${server.url}/portal/demo/orders/${order1001}`);
      await page.getByRole('heading', { name: /Order #1001/ }).waitFor();
      assert.equal(await page.getByRole('button', { name: 'Record a claim' }).count(), 0);
      assert.equal(await page.getByRole('button', { name: 'Create customer link' }).count(), 0);
    } finally {
      await context.close();
    }
  });
});
