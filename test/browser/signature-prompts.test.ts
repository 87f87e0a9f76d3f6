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
const labels = (en: string, de: string) => ({ en, de });

describe('customer page: signature and the merchant’s own questions', { skip: !run }, () => {
  let server: PageServer;
  let browser: Browser;
  before(async () => {
    server = await startPageServer();
    browser = await launch();
    const res = await fetch(`${server.url}/v1/shops/demo/settings/resolve`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        flows: {
          wrong_item: {
            signature: 'required',
            package_photo: 'required',
            photos: { min: 0, max: 2 },
            prompts: [
              {
                id: 'opened',
                type: 'yes_no',
                required: true,
                labels: labels('Did you open the packaging?', 'Haben Sie die Verpackung geöffnet?'),
              },
              {
                id: 'received_colour',
                type: 'choice',
                required: true,
                labels: labels('Which colour did you receive?', 'Welche Farbe haben Sie erhalten?'),
                options: [
                  { value: 'red', labels: labels('Red', 'Rot') },
                  { value: 'blue', labels: labels('Blue', 'Blau') },
                ],
              },
              {
                id: 'label_text',
                type: 'text',
                required: false,
                max_length: 40,
                labels: labels('What does the label say?', 'Was steht auf dem Etikett?'),
              },
            ],
          },
        },
      }),
    });
    assert.equal(res.status, 200, await res.text());
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  for (const vp of VIEWPORTS) {
    test(`${vp.name}: a drawn signature, a required package photo and three custom prompts reach the claim`, async () => {
      const { context, page } = await newPage(browser, vp);
      const shot = shooter(page, 'signature-prompts', vp);
      await page.goto(`${server.url}/resolve/demo?lang=en`);
      await lookUp(page, '1001', '10115');
      await page.getByRole('button', { name: 'I received the wrong item' }).click();
      await page
        .getByRole('checkbox', { name: vp.name === 'phone' ? /Merino socks/ : /Ceramic mug/ })
        .check();
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByLabel('Wrong colour').check();
      await page.getByRole('button', { name: 'Continue' }).click();

      await page.getByRole('heading', { name: 'Add photos' }).waitFor();
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByText('Please add a photo of the parcel.').waitFor();
      await page.getByText('Please add your signature.').waitFor();
      await page.getByTestId('file-package_photo-package').setInputFiles(FIXTURE_JPEG);
      await page.getByTestId('photo').getByText('Uploaded').waitFor();
      const pad = page.getByRole('img', { name: 'Signature area' });
      const box = await pad.boundingBox();
      assert.ok(box);
      await page.mouse.move(box.x + 20, box.y + box.height / 2);
      await page.mouse.down();
      for (let i = 1; i <= 12; i++)
        await page.mouse.move(box.x + 20 + i * 18, box.y + box.height / 2 + (i % 2 ? -25 : 25));
      await page.mouse.up();
      await page.getByRole('button', { name: 'Use this signature' }).click();
      await page.getByText('Signature added.').waitFor();
      assert.deepEqual(await seriousViolations(page), []);
      await shot('evidence');
      await page.getByRole('button', { name: 'Continue' }).click();

      await page.getByRole('heading', { name: 'Tell us more' }).waitFor();
      await page.getByRole('button', { name: 'Continue' }).click();
      assert.equal(await page.getByText('Please answer this question.').count(), 2, 'two required prompts');
      await page.getByRole('group', { name: 'Did you open the packaging?' }).getByLabel('No').check();
      await page.getByLabel('Which colour did you receive?').selectOption('blue');
      await page.getByLabel(/What does the label say\?/).fill('Navy — size 42');
      await page.getByText('14 / 40 characters').waitFor();
      await shot('prompts');
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByLabel(/Refund/).check();
      await page.getByRole('button', { name: 'Continue' }).click();
      // The review shows the answers in the customer's words (the choice's label, not its value), each with a way
      // back to them, although no description was written.
      const review = page.getByTestId('review');
      await review.waitFor();
      const text = await review.innerText();
      assert.match(text, /Did you open the packaging\?\s+No/);
      assert.match(text, /Which colour did you receive\?\s+Blue/);
      assert.match(text, /What does the label say\?\s+Navy — size 42/);
      assert.equal(
        await review.getByRole('button', { name: 'Change: Which colour did you receive?' }).count(),
        1,
      );
      await shot('review-answers');
      await page.getByRole('button', { name: 'Send request' }).click();
      await page.getByTestId('confirmation').waitFor();
      const number = /request number is ([A-Z0-9-]+)/.exec(
        await page.getByTestId('confirmation').innerText(),
      )?.[1];
      assert.ok(number);

      const [claim] = await query<{ id: string; answers: unknown }>(
        server.ctx.db,
        sql`select id, answers from claims where shop_id = ${server.demo.id} and number = ${number}`,
      );
      const answers = (typeof claim.answers === 'string' ? JSON.parse(claim.answers) : claim.answers) as {
        prompt_id: string;
        value: unknown;
      }[];
      assert.deepEqual(Object.fromEntries(answers.map((a) => [a.prompt_id, a.value])), {
        opened: false,
        received_colour: 'blue',
        label_text: 'Navy — size 42',
      });
      const evidence = await query<{ kind: string; content_type: string }>(
        server.ctx.db,
        sql`select e.kind, u.content_type from claim_evidence e join uploads u on u.id = e.upload_id
             where e.claim_id = ${claim.id} order by e.kind`,
      );
      assert.deepEqual(evidence, [
        { kind: 'package_photo', content_type: 'image/jpeg' },
        { kind: 'signature', content_type: 'image/png' },
      ]);
      await context.close();
    });
  }
});
