import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import type { Browser } from 'playwright-core';
import { query } from '../../src/db/client.js';
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

const run = browserAvailable();

describe('customer page: claim flows on the demo orders', { skip: !run }, () => {
  let server: PageServer;
  let browser: Browser;
  before(async () => {
    server = await startPageServer();
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const claimsOf = async (orderNumber: string) => {
    return query<{ number: string; flow: string; n: number }>(
      server.ctx.db,
      sql`select c.number, c.flow, (select count(*)::int from claim_items i where i.claim_id = c.id) as n
            from claims c join orders o on o.id = c.order_id
           where o.shop_id = ${server.demo.id} and o.order_number = ${orderNumber} order by c.created_at`,
    );
  };

  for (const vp of VIEWPORTS) {
    test(`${vp.name}: wrong ZIP, then a damaged item with a photo, submitted once even when clicked twice`, async () => {
      const { context, page } = await newPage(browser, vp);
      const shot = shooter(page, 'defective', vp);
      await page.goto(`${server.url}/resolve/demo?lang=en`);
      await page.getByRole('heading', { name: 'Find your order' }).waitFor();
      assert.deepEqual(await seriousViolations(page), []);
      await shot('lookup');

      await lookUp(page, '1001', '99999');
      await page.getByTestId('lookup-error-order_not_found').waitFor();
      await shot('wrong-zip');

      await lookUp(page, '#1001', '10115');
      await page.getByRole('heading', { name: 'Hi Kim!' }).waitFor();
      assert.deepEqual(await seriousViolations(page), []);
      await shot('order');

      const before = (await claimsOf('1001')).length;
      await page.getByRole('button', { name: 'An item is damaged or broken' }).click();
      await page.getByRole('heading', { name: 'Which items are affected?' }).waitFor();
      // Each viewport claims other units of the same order, as a second visit would.
      if (vp.name === 'phone') await page.getByRole('checkbox', { name: /Ceramic mug/ }).check();
      else {
        await page.getByRole('checkbox', { name: /Organic cotton T-shirt/ }).check();
        await page.getByRole('button', { name: 'One more Organic cotton T-shirt' }).click();
        assert.match(await page.locator('[data-testid^="qty-"]').innerText(), /2 of 2/);
      }
      await shot('items');
      await page.getByRole('button', { name: 'Continue' }).click();

      await page.getByRole('heading', { name: 'What happened?' }).waitFor();
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByText('Please choose what happened.').waitFor();
      await page.getByLabel('Broken on arrival').check();
      await page.getByRole('button', { name: 'Continue' }).click();

      await page.getByRole('heading', { name: 'Add photos' }).waitFor();
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByText(/Please add at least 1 photo/).waitFor();
      await page.locator('[data-testid^="file-photo-"]').first().setInputFiles(FIXTURE_JPEG);
      await page.getByTestId('photo').getByText('Uploaded').waitFor();
      assert.deepEqual(await seriousViolations(page), []);
      await shot('photo');
      await page.getByRole('button', { name: 'Continue' }).click();

      await page.getByRole('heading', { name: 'Tell us more' }).waitFor();
      await page.getByLabel(/Describe the problem/).fill('The handle came off when I unpacked it.');
      await page.getByText(/39 \/ 2000 characters/).waitFor();
      await page.getByRole('button', { name: 'Continue' }).click();

      await page.getByRole('heading', { name: 'How would you like us to resolve this?' }).waitFor();
      await page.getByLabel(/Replacement/).check();
      await page.getByRole('button', { name: 'Continue' }).click();

      await page.getByRole('heading', { name: 'Check and send' }).waitFor();
      const review = await page.getByTestId('review').innerText();
      assert.match(review, vp.name === 'phone' ? /1 × Ceramic mug/ : /2 × Organic cotton T-shirt/);
      assert.match(review, /Broken on arrival/);
      assert.match(review, /1 photo/);
      // The photo itself, small, as it will be sent (decorative: the count is what screen readers hear).
      const thumbs = page.getByTestId('review-thumbs').locator('img');
      assert.equal(await thumbs.count(), 1);
      await page.waitForFunction(() => {
        const img = document.querySelector('[data-testid=review-thumbs] img') as HTMLImageElement | null;
        return !!img && img.complete && img.naturalWidth > 0;
      });
      assert.match(review, /Replacement/);
      assert.deepEqual(await seriousViolations(page), []);
      await shot('review');

      const send = page.getByRole('button', { name: 'Send request' });
      await send.dblclick();
      await page.getByTestId('confirmation').waitFor();
      const text = await page.getByTestId('confirmation').innerText();
      const number = /request number is ([A-Z0-9-]+)/.exec(text)?.[1];
      assert.ok(number, text);
      assert.deepEqual(await seriousViolations(page), []);
      await shot('confirmation');

      const after = await claimsOf('1001');
      assert.equal(after.length, before + 1, 'a double click creates one claim');
      assert.equal(after.at(-1)?.number, number);
      assert.equal(after.at(-1)?.flow, 'defective');

      await page.getByRole('button', { name: 'Back to my order' }).click();
      await page.getByTestId('earlier-claims').getByText(number).waitFor();
      await shot('earlier-claims');
      await context.close();
    });
  }
});
