import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import {
  browserAvailable,
  launch,
  newPage,
  type PageServer,
  portalSignIn,
  startPageServer,
  submitClaim,
  VIEWPORTS,
} from './support.js';

const run = browserAvailable();
const desktop = VIEWPORTS[1];
const ADMIN = { email: 'admin@demo.test', password: 'demo-password-123' };

describe('portal settings guards: kept reason codes, no flow offered, the shop’s reason labels', {
  skip: !run,
}, () => {
  let server: PageServer;
  let browser: Browser;

  before(async () => {
    server = await startPageServer({}, 'portal');
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
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const save = (page: Page) => page.getByRole('button', { name: 'Save changes' }).click();
  const reasonRows = (page: Page) =>
    page
      .getByTestId('breakdown-reason')
      .locator('tbody tr')
      .evaluateAll((rows) => rows.map((r) => (r.querySelector('th,td') as HTMLElement).innerText.trim()));

  test('a saved reason’s code is kept, a new one is typed; analytics names reasons by the shop’s labels', async () => {
    const { context, page } = await newPage(browser, desktop);
    await portalSignIn(page, server.url, ADMIN);
    await page.goto(`${server.url}/portal/demo/settings/resolve`);
    await page.getByTestId('flow-defective').locator(':scope > summary').click();
    const code = (i: number) => page.locator(`#f-flows-defective-reasons-${i}-code`);
    assert.equal(await code(1).inputValue(), 'broken_on_arrival');
    assert.equal(await code(1).getAttribute('readonly'), '');
    assert.match(
      await page.locator('#f-flows-defective-reasons-kept').innerText(),
      /The code is kept: claims refer to it\. Change the label instead\./,
    );
    // The label changes; a new reason gets a code of its own, which is kept once saved.
    await page.getByLabel('Label of broken_on_arrival (English)').fill('Arrived in pieces');
    await page.getByTestId('flow-defective').getByRole('button', { name: 'Add reason' }).click();
    await code(4).fill('scratched');
    assert.equal(await code(4).inputValue(), 'scratched');
    await page.getByLabel('Label of scratched (English)').fill('Scratched');
    // Removing a reason stays possible.
    await page.getByRole('button', { name: 'Remove reason stopped_working' }).click();
    await save(page);
    await page.getByText('All changes saved.').waitFor();
    assert.equal(await code(3).inputValue(), 'scratched');
    assert.equal(await code(3).getAttribute('readonly'), '');

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Analytics' }).click();
    await page.getByTestId('breakdown-reason').waitFor();
    assert.equal(await page.title(), 'Analytics · Resolve');
    const rows = await reasonRows(page);
    assert.equal(rows.length, 1);
    assert.match(rows[0], /^Arrived in pieces/);
    // Dates that cannot be applied say why; ten years by day become weeks rather than a refusal.
    await page.getByLabel('From').fill('2026-05-10');
    await page.getByLabel('To').fill('2026-05-01');
    await page.getByTestId('range-dates-error').getByText('“From” is after “To”').waitFor();
    await page.goto(`${server.url}/portal/demo/analytics?from=2016-01-01&to=2025-12-31`);
    await page.getByTestId('range-interval-hint').waitFor();
    assert.equal(await page.getByLabel('Interval').inputValue(), 'week');
    await page.getByTestId('over-time').waitFor();
    await context.close();
  });

  test('a save that offers no flow asks first; an unknown URL placeholder is named at its field', async () => {
    const { context, page } = await newPage(browser, desktop);
    await portalSignIn(page, server.url, ADMIN);
    await page.goto(`${server.url}/portal/demo/settings/resolve`);
    await page.getByRole('heading', { name: 'Windows and gating' }).waitFor();
    assert.equal(await page.title(), 'Flows and reasons · Settings · Resolve');

    await page.getByRole('radio', { name: /In an external returns portal/ }).check();
    await page.getByLabel('Returns portal URL template').fill('https://returns.example.com/?o={orderNumbr}');
    await save(page);
    const templateError = page.locator('#f-returns-external_url_template-error');
    await templateError.waitFor();
    assert.match(
      await templateError.innerText(),
      /^Unknown placeholder \{orderNumbr\}\. Known placeholders: \{orderNumber\}, /,
    );
    await page.getByRole('button', { name: 'Discard' }).click();
    await page.getByText('No changes.').waitFor();

    await page.getByRole('button', { name: 'Expand all' }).click();
    for (const box of await page.getByLabel(/^Offer “.+” to customers$/).all()) await box.uncheck();
    await save(page);
    const dialog = page.getByRole('dialog', { name: 'Offer no flow at all?' });
    await dialog.waitFor();
    assert.match(await dialog.innerText(), /Customers will not be able to report any problem/);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByText('7 unsaved changes').waitFor();
    // Ctrl+S asks too; confirmed, it saves.
    await page.keyboard.press('Control+s');
    await dialog.getByRole('button', { name: 'Save with no flow offered' }).click();
    await page.getByText('All changes saved.').waitFor();
    // Turning one back on saves without asking.
    await page.getByLabel('Offer “Support” to customers').check();
    await save(page);
    await page.getByText('All changes saved.').waitFor();
    assert.equal(await page.getByRole('dialog').count(), 0);
    await context.close();
  });
});
