import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
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

const run = browserAvailable();
const phone = VIEWPORTS[0];
const labels = (text: string) => ({ en: text });
const JPEG = fs.readFileSync(FIXTURE_JPEG);
const jpeg = (name: string) => ({ name, mimeType: 'image/jpeg', buffer: JPEG });
/** A GIF: refused by the server for its content. */
const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/** What has the focus: its tag, id, name or text, and whether it is marked invalid. */
async function focused(page: Page) {
  return page.evaluate(() => {
    const a = document.activeElement as HTMLElement | null;
    if (!a || a === document.body) return { tag: 'body', id: '', text: '', invalid: null, describedBy: null };
    return {
      tag: a.tagName.toLowerCase(),
      id: a.id,
      text: (a.getAttribute('aria-label') || a.innerText || (a as HTMLInputElement).value || '').trim(),
      invalid: a.getAttribute('aria-invalid'),
      describedBy: a.getAttribute('aria-describedby'),
    };
  });
}

/** Presses Enter on a control, as a keyboard user does. */
async function enterOn(page: Page, locator: ReturnType<Page['locator']>) {
  await locator.focus();
  await page.keyboard.press('Enter');
}

/** The text of every live region (alerts, status and aria-live) as screen readers get it (aria-hidden left out). */
async function liveTexts(page: Page): Promise<string[]> {
  // A string: the test's compiler would wrap a nested function in a helper the page does not have.
  return page.evaluate(`Array.from(document.querySelectorAll('[aria-live], [role=alert], [role=status]')).map((el) => {
    const parts = [];
    const walk = (n) => {
      if (n.nodeType === Node.TEXT_NODE) parts.push(n.textContent || '');
      else if (n instanceof Element && n.getAttribute('aria-hidden') !== 'true') n.childNodes.forEach(walk);
    };
    walk(el);
    return parts.join('').trim();
  })`);
}

async function merchant<T>(server: PageServer, method: string, path: string, body?: unknown): Promise<T> {
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
}

/** From the order to "Add photos" of "Something is missing" (a required signature, three questions). */
async function toSignature(page: Page) {
  await page.getByRole('button', { name: en['flow.missing_item'] }).click();
  await page.getByRole('checkbox', { name: /Ceramic mug/ }).check();
  await page.getByRole('button', { name: en['wizard.continue'] }).click();
  await page.getByRole('heading', { name: en['evidence.title'] }).waitFor();
}
/** From the order to "Add photos" of "An item is damaged", for one item (the mug unless told). */
async function toPhotosOf(page: Page, item: RegExp) {
  await page.getByRole('button', { name: en['flow.defective'] }).click();
  await page.getByRole('checkbox', { name: item }).check();
  await page.getByRole('button', { name: en['wizard.continue'] }).click();
  await page.getByLabel('Stopped working').check();
  await page.getByRole('button', { name: en['wizard.continue'] }).click();
  await page.getByRole('heading', { name: en['evidence.title'] }).waitFor();
}
const toPhotos = (page: Page) => toPhotosOf(page, /Ceramic mug/);

/** "An item is damaged" up to the review, for one item. */
async function toReview(page: Page, item: RegExp) {
  await toPhotosOf(page, item);
  await page.locator('[data-testid^="file-photo-"]').first().setInputFiles(FIXTURE_JPEG);
  await page.getByTestId('photo').getByText(en['evidence.uploaded']).waitFor();
  await page.getByRole('button', { name: en['wizard.continue'] }).click();
  await page.getByRole('heading', { name: en['details.title'] }).waitFor();
  await page.getByRole('button', { name: en['wizard.continue'] }).click();
  await page.getByLabel(/Refund/).check();
  await page.getByRole('button', { name: en['wizard.continue'] }).click();
  await page.getByRole('heading', { name: en['review.title'] }).waitFor();
}

describe('customer page: errors and focus for keyboard and screen reader users', { skip: !run }, () => {
  let server: PageServer;
  let browser: Browser;
  before(async () => {
    server = await startPageServer();
    browser = await launch();
    // "Something is missing" with a required signature and three questions of the shop's own.
    await merchant(server, 'PATCH', '/v1/shops/demo/settings/resolve', {
      flows: {
        missing_item: {
          signature: 'required',
          photos: { min: 0, max: 5 },
          prompts: [
            {
              id: 'seal',
              type: 'text',
              required: true,
              max_length: 40,
              labels: labels('What did the seal say?'),
            },
            { id: 'opened', type: 'yes_no', required: true, labels: labels('Was the parcel opened?') },
            {
              id: 'colour',
              type: 'choice',
              required: true,
              labels: labels('Which colour was the tape?'),
              options: [
                { value: 'brown', labels: labels('Brown') },
                { value: 'clear', labels: labels('Clear') },
              ],
            },
          ],
        },
      },
    });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const open = async (number = '1001', zip = '10115', name = 'Kim') => {
    const { context, page } = await newPage(browser, phone);
    await page.goto(`${server.url}/resolve/demo?lang=en`);
    await lookUp(page, number, zip);
    await page.getByRole('heading', { name: `Hi ${name}!` }).waitFor();
    page.setDefaultTimeout(10_000);
    return { context, page };
  };

  test('lookup: empty fields are announced, marked and focused; a failed search keeps the focus', async () => {
    const { context, page } = await newPage(browser, phone);
    const shot = shooter(page, 'a11y-lookup', phone);
    try {
      await page.goto(`${server.url}/resolve/demo?lang=en`);
      // The hint reads as English does.
      await page.getByText(en['lookup.order_number_hint']).waitFor();
      assert.match(en['lookup.order_number_hint'], /^You can find it/);
      const find = page.getByRole('button', { name: en['lookup.submit'] });
      await enterOn(page, find);
      const error = page.locator('#order-number-error');
      await error.waitFor();
      assert.equal(await error.getAttribute('role'), 'alert', 'the message is announced');
      await page.waitForFunction(() => document.activeElement?.id === 'order-number');
      const f = await focused(page);
      assert.equal(f.invalid, 'true');
      assert.match(f.describedBy ?? '', /order-number-error/);
      await shot('empty');

      // A wrong ZIP, sent with the button: the focus stays on it (it is not disabled while searching).
      await page.getByLabel(en['lookup.order_number']).fill('1001');
      await page.getByLabel(en['lookup.zip_code']).fill('10116');
      await enterOn(page, find);
      await page.getByTestId('lookup-error-order_not_found').waitFor();
      assert.equal((await focused(page)).text, en['lookup.submit']);
      await page.keyboard.press('Shift+Tab');
      assert.equal((await focused(page)).id, 'zip-code', 'the next Tab stays in the form');
      await shot('not-found');
    } finally {
      await context.close();
    }
  });

  test('too many attempts: said once, and when the wait is over the page says so', async () => {
    const { context, page } = await newPage(browser, phone);
    try {
      await page.route('**/v1/resolve/demo/sessions*', (route) =>
        route.fulfill({
          status: 429,
          headers: { 'content-type': 'application/json', 'retry-after': '3' },
          body: JSON.stringify({ error: { key: 'rate_limited', message: 'Too many attempts' } }),
        }),
      );
      await page.goto(`${server.url}/resolve/demo?lang=en`);
      await page.getByLabel(en['lookup.order_number']).fill('1001');
      await page.getByLabel(en['lookup.zip_code']).fill('10115');
      await enterOn(page, page.getByRole('button', { name: en['lookup.submit'] }));
      const alert = page.getByTestId('lookup-error-rate_limited');
      await alert.waitFor();
      // The button is off during the wait: the focus is on the message, not lost.
      await page.waitForFunction(() => document.activeElement?.id === 'lookup-error');
      const first = await liveTexts(page);
      assert.ok(
        first.some((x) => /Too many attempts\. Please wait 3 seconds/.test(x)),
        first.join(' | '),
      );
      await page.waitForTimeout(1300);
      assert.deepEqual(await liveTexts(page), first, 'the countdown is not read out every second');
      assert.match(await alert.innerText(), /Please wait (1|2) seconds?/, 'the countdown is still seen');
      await page.getByTestId('lookup-ready').getByText(en['lookup.try_again_now']).waitFor({ timeout: 6000 });
      assert.equal(await page.getByText(/Please wait 1 second/).count(), 0);
      assert.equal(await page.locator('form button[type=submit]').isDisabled(), false);
    } finally {
      await context.close();
    }
  });

  test('items: a refused Continue marks the checkboxes, announces the message and focuses the first one', async () => {
    const { context, page } = await open();
    const shot = shooter(page, 'a11y-items', phone);
    try {
      await page.getByRole('button', { name: en['flow.defective'] }).click();
      await page.getByRole('heading', { name: en['items.title'] }).waitFor();
      await enterOn(page, page.getByRole('button', { name: en['wizard.continue'] }));
      const error = page.locator('#items-error');
      await error.waitFor();
      assert.equal(await error.getAttribute('role'), 'alert');
      const boxes = page.getByRole('checkbox');
      for (let i = 0; i < (await boxes.count()); i++) {
        assert.equal(await boxes.nth(i).getAttribute('aria-invalid'), 'true');
        assert.equal(await boxes.nth(i).getAttribute('aria-describedby'), 'items-error');
      }
      await page.waitForFunction(
        () => (document.activeElement as HTMLInputElement | null)?.type === 'checkbox',
      );
      assert.equal((await focused(page)).invalid, 'true');
      assert.deepEqual(await seriousViolations(page), []);
      await shot('error');
      await page.getByRole('checkbox', { name: /Organic cotton T-shirt/ }).check();
      // Corrected: no longer invalid.
      await page.waitForFunction(() => !document.querySelector('[aria-invalid="true"]'));
    } finally {
      await context.close();
    }
  });

  test('items: the quantity stepper keeps the focus at its limits', async () => {
    const { context, page } = await open();
    try {
      await page.getByRole('button', { name: en['flow.defective'] }).click();
      // 2 T-shirts in the order.
      await page.getByRole('checkbox', { name: /Organic cotton T-shirt/ }).check();
      const plus = page.getByRole('button', { name: 'One more Organic cotton T-shirt' });
      const minus = page.getByRole('button', { name: 'One less Organic cotton T-shirt' });
      await enterOn(page, plus);
      await page.getByText(/2 of 2/).waitFor();
      assert.equal(
        await focused(page).then((f) => f.text),
        'One more Organic cotton T-shirt',
        'on + at the maximum',
      );
      assert.equal(await plus.getAttribute('aria-disabled'), 'true');
      await page.keyboard.press('Enter');
      await page.getByText(/2 of 2/).waitFor();
      await enterOn(page, minus);
      await page.getByText(/1 of 2/).waitFor();
      assert.equal(
        await focused(page).then((f) => f.text),
        'One less Organic cotton T-shirt',
        'on − at the minimum',
      );
      assert.equal(await minus.getAttribute('aria-disabled'), 'true');
    } finally {
      await context.close();
    }
  });

  test('"Start over": "Keep going" and Escape close the question and return to "Start over"', async () => {
    const { context, page } = await open();
    try {
      await page.getByRole('button', { name: en['flow.defective'] }).click();
      await page.getByRole('checkbox', { name: /Ceramic mug/ }).check();
      const startOver = page.getByRole('button', { name: en['wizard.cancel'] }).last();
      await enterOn(page, startOver);
      await enterOn(page, page.getByRole('button', { name: en['wizard.keep_going'] }));
      await page.getByRole('alertdialog').waitFor({ state: 'detached' });
      await page.waitForFunction((t) => document.activeElement?.textContent === t, en['wizard.cancel']);
      await page.keyboard.press('Enter');
      await page.getByRole('alertdialog').waitFor();
      await page.keyboard.press('Escape');
      await page.getByRole('alertdialog').waitFor({ state: 'detached' });
      await page.waitForFunction((t) => document.activeElement?.textContent === t, en['wizard.cancel']);
    } finally {
      await context.close();
    }
  });

  test('German: the start-over question is formal like the rest', async () => {
    const { context, page } = await newPage(browser, phone);
    try {
      await page.goto(`${server.url}/resolve/demo?lang=de`);
      await lookUp(page, '1001', '10115');
      await page.getByRole('button', { name: 'Ein Artikel ist beschädigt oder defekt' }).click();
      await page.getByRole('checkbox').first().check();
      await page.getByRole('button', { name: 'Neu beginnen' }).last().click();
      const q = page.getByRole('alertdialog');
      assert.match(await q.innerText(), /Ihre Angaben zu dieser Meldung/);
      assert.doesNotMatch(await q.innerText(), /\bDeine?\b/);
    } finally {
      await context.close();
    }
  });

  test('signature by keyboard: "Type your name instead", saving and clearing keep the focus in the pad', async () => {
    const { context, page } = await open();
    const shot = shooter(page, 'a11y-signature', phone);
    try {
      await toSignature(page);
      await enterOn(page, page.getByRole('button', { name: en['signature.type_instead'] }));
      await page.waitForFunction(() => document.activeElement?.id === 'signature-typed');
      await page.keyboard.type('Kim Berger');
      await enterOn(page, page.getByRole('button', { name: en['signature.save'] }));
      await page.getByText(en['signature.saved']).waitFor();
      await page.waitForFunction(() => document.activeElement?.id === 'signature-status');
      await enterOn(page, page.getByRole('button', { name: en['signature.clear'] }));
      await page.waitForFunction(() => document.activeElement?.id === 'signature-typed');
      await shot('typed');
    } finally {
      await context.close();
    }
  });

  test('the shop’s questions and the signature: refused Continue marks, announces and focuses', async () => {
    const { context, page } = await open();
    const shot = shooter(page, 'a11y-prompts', phone);
    try {
      await toSignature(page);
      // No signature yet: the message is announced and takes the focus (no field can).
      await enterOn(page, page.getByRole('button', { name: en['wizard.continue'] }));
      assert.equal(await page.locator('#signature-error').getAttribute('role'), 'alert');
      await page.waitForFunction(() => document.activeElement?.id === 'signature-error');
      await page.getByRole('button', { name: en['signature.type_instead'] }).click();
      await page.getByLabel(en['signature.typed_label']).fill('Kim Berger');
      await page.getByRole('button', { name: en['signature.save'] }).click();
      await page.getByText(en['signature.saved']).waitFor();
      await page.getByRole('button', { name: en['wizard.continue'] }).click();

      await page.getByRole('heading', { name: en['details.title'] }).waitFor();
      await enterOn(page, page.getByRole('button', { name: en['wizard.continue'] }));
      for (const id of ['prompt-seal-error', 'prompt-opened-error', 'prompt-colour-error'])
        assert.equal(await page.locator(`#${id}`).getAttribute('role'), 'alert', id);
      assert.equal(await page.locator('#prompt-seal').getAttribute('aria-invalid'), 'true');
      assert.match(
        (await page.locator('#prompt-seal').getAttribute('aria-describedby')) ?? '',
        /prompt-seal-error/,
      );
      assert.equal(await page.locator('#prompt-colour').getAttribute('aria-invalid'), 'true');
      assert.equal(
        await page.locator('#prompt-colour').getAttribute('aria-describedby'),
        'prompt-colour-error',
      );
      const radios = page.getByRole('radio');
      assert.equal(await radios.count(), 2);
      for (let i = 0; i < 2; i++) {
        assert.equal(await radios.nth(i).getAttribute('aria-invalid'), 'true');
        assert.equal(await radios.nth(i).getAttribute('aria-describedby'), 'prompt-opened-error');
      }
      await page.waitForFunction(() => document.activeElement?.id === 'prompt-seal');
      assert.deepEqual(await seriousViolations(page), []);
      await shot('questions');
      await page.getByLabel('What did the seal say?').fill('Intact');
      await enterOn(page, page.getByRole('button', { name: en['wizard.continue'] }));
      await page.waitForFunction(() => (document.activeElement as HTMLInputElement | null)?.type === 'radio');
      assert.equal((await focused(page)).invalid, 'true');
    } finally {
      await context.close();
    }
  });

  test('something else: an empty description is announced and focused', async () => {
    const { context, page } = await open();
    try {
      await page.getByRole('button', { name: en['flow.support'] }).click();
      await page.getByRole('button', { name: en['wizard.continue'] }).click();
      // Items are optional here; the photos too.
      await page.getByRole('heading', { name: en['evidence.title'] }).waitFor();
      await page.getByRole('button', { name: en['wizard.continue'] }).click();
      await page.getByRole('heading', { name: en['details.title'] }).waitFor();
      await enterOn(page, page.getByRole('button', { name: en['wizard.continue'] }));
      await page.waitForFunction(() => document.activeElement?.id === 'description');
      assert.equal((await focused(page)).invalid, 'true');
      assert.equal(await page.locator('#description-error').getAttribute('role'), 'alert');
    } finally {
      await context.close();
    }
  });

  test('photos: upload progress is not read out, only its start and end', async () => {
    const { context, page } = await open();
    try {
      await toPhotos(page);
      // A slow server: the photo stays "uploading" until released.
      let release: () => void = () => undefined;
      const held = new Promise<void>((r) => {
        release = r;
      });
      await page.route('**/v1/resolve/demo/uploads*', async (route) => {
        await held;
        await route.continue();
      });
      await page.locator('[data-testid^="file-photo-"]').first().setInputFiles(jpeg('first.jpg'));
      await page.locator('progress').waitFor();
      const during = await liveTexts(page);
      assert.ok(
        during.every((x) => !/%/.test(x)),
        `no percentages in live regions: ${during.join(' | ')}`,
      );
      assert.ok(during.some((x) => x.includes(en['evidence.uploading_name'].replace('{name}', 'first.jpg'))));
      release();
      await page.getByTestId('photo').getByText(en['evidence.uploaded']).waitFor();
      assert.ok((await liveTexts(page)).some((x) => x.includes(en['evidence.uploaded'])));
    } finally {
      await context.close();
    }
  });

  test('photos: those beyond the limit are counted, and a refused one is named', async () => {
    const { context, page } = await open();
    const shot = shooter(page, 'a11y-photos-limit', phone);
    try {
      await toPhotos(page);
      const input = page.locator('[data-testid^="file-photo-"]').first();
      // Seven at once: five fit, two are not added, and the page says so.
      await input.setInputFiles(['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((n) => jpeg(`${n}.jpg`)));
      await page.getByText(/2 photos were not added/).waitFor();
      assert.match(await page.locator('[data-testid^="dropped-photo-"]').innerText(), /Only 5 photos/);
      assert.equal(await page.getByTestId('photo').count(), 5);
      await page.waitForFunction(
        () => document.querySelectorAll('[data-testid="photo"] .ok').length === 5,
        undefined,
        {
          timeout: 20_000,
        },
      );
      await shot('five');
      await page.getByRole('button', { name: 'Remove photo: e.jpg' }).click();
      // A refused file says which one it was.
      await page.locator('[data-testid^="file-photo-"]').first().setInputFiles({
        name: 'tiny.gif',
        mimeType: 'image/gif',
        buffer: GIF,
      });
      const refused = page.locator('.photo-error');
      await refused.getByRole('alert').waitFor();
      assert.match(await refused.innerText(), /tiny\.gif/);
      await shot('refused');
    } finally {
      await context.close();
    }
  });

  test('photos: Remove and Try again keep the focus on the photos', async () => {
    const { context, page } = await open();
    try {
      await toPhotos(page);
      const input = page.locator('[data-testid^="file-photo-"]').first();
      await input.setInputFiles(['a', 'b', 'c'].map((n) => jpeg(`${n}.jpg`)));
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="photo"] .ok').length === 3);
      const tile = (n: number) => page.getByTestId('photo').nth(n);
      const remove = (n: number) => tile(n).getByRole('button', { name: new RegExp(en['evidence.remove']) });
      /** The photo whose control has the focus (its image's name), or what else has it. */
      const focusedTile = () =>
        page.evaluate(() => {
          const a = document.activeElement;
          if (!a || a === document.body) return 'body';
          const li = a.closest('[data-testid="photo"]');
          return li ? li.querySelector('img')?.getAttribute('alt') : a.textContent;
        });
      // Removing the last photo: the focus goes to "Add a photo".
      // The focus moves within a frame or two of the tile going: wait for it to land (the body never counts).
      const focusLands = (want: (f: string) => boolean) =>
        page
          .waitForFunction(
            () => document.activeElement !== null && document.activeElement !== document.body,
            undefined,
            { timeout: 5000 },
          )
          .then(async () => {
            const f = (await focusedTile()) ?? '';
            assert.ok(want(f), `the focus is on ${f}`);
            return f;
          });
      await enterOn(page, remove(2));
      await page.getByTestId('photo').nth(2).waitFor({ state: 'detached' });
      await focusLands((f) => new RegExp(en['evidence.add_photo']).test(f));
      // Removing the first: the focus goes to the next photo's Remove.
      await enterOn(page, remove(0));
      await page.getByTestId('photo').nth(1).waitFor({ state: 'detached' });
      assert.equal(await focusLands((f) => f === 'b.jpg'), 'b.jpg');
      assert.equal((await focused(page)).text, `${en['evidence.remove']}: b.jpg`);

      // A failed upload, then Try again: the focus stays on the tile.
      let failOnce = true;
      await page.route('**/v1/resolve/demo/uploads*', (route) => {
        if (failOnce) {
          failOnce = false;
          return route.abort('connectionreset');
        }
        return route.continue();
      });
      await input.setInputFiles(jpeg('again.jpg'));
      const retry = tile(1).getByRole('button', { name: new RegExp(en['evidence.retry']) });
      await enterOn(page, retry);
      await retry.waitFor({ state: 'detached' });
      assert.equal(await focusLands((f) => f === 'again.jpg'), 'again.jpg');
    } finally {
      await context.close();
    }
  });

  test('send: a failed request keeps the focus on Send', async () => {
    const { context, page } = await open();
    try {
      await toReview(page, /Merino socks/);
      await page.route('**/v1/resolve/demo/claims*', (route) =>
        route.request().method() === 'POST' ? route.fulfill({ status: 503, body: '' }) : route.continue(),
      );
      await enterOn(page, page.getByRole('button', { name: en['review.submit'] }));
      await page.getByTestId('submit-error').waitFor();
      assert.equal((await focused(page)).text, en['review.submit'], 'the focus stays on Send');
      await page.keyboard.press('Shift+Tab');
      assert.equal((await focused(page)).text, en['wizard.back'], 'and Tab moves on from there');
    } finally {
      await context.close();
    }
  });

  test('offline: a lost request is said once, not in a banner too; the next answer clears the banner', async () => {
    const { context, page } = await open();
    const shot = shooter(page, 'a11y-offline', phone);
    try {
      await toReview(page, /Organic cotton T-shirt/);
      let failOnce = true;
      await page.route('**/v1/resolve/demo/claims*', (route) => {
        if (route.request().method() === 'POST' && failOnce) {
          failOnce = false;
          return route.abort('connectionreset');
        }
        return route.continue();
      });
      await page.getByRole('button', { name: en['review.submit'] }).click();
      await page.getByTestId('submit-error').getByText(en['page.offline']).waitFor();
      assert.equal(await page.getByText(en['page.offline']).count(), 1, 'said once, not twice');
      await shot('failed');
      // The browser says it is offline: the banner; the next answer of the server clears it (no 'online' event).
      await page.evaluate(() => dispatchEvent(new Event('offline')));
      await page.getByTestId('offline-banner').waitFor();
      await page.getByRole('button', { name: en['review.submit'] }).click();
      await page.getByTestId('confirmation').waitFor();
      await page.getByTestId('offline-banner').waitFor({ state: 'detached' });
      await shot('sent');
    } finally {
      await context.close();
    }
  });

  /** The shop's link for 1003 (unfulfilled: it may be cancelled and its address changed), opened. */
  const openToken = async () => {
    const { context, page } = await newPage(browser, phone);
    const list = await merchant<{ data: { id: string }[] }>(
      server,
      'GET',
      '/v1/shops/demo/orders?order_number=1003',
    );
    const link = await merchant<{ token: string }>(
      server,
      'POST',
      `/v1/shops/demo/orders/${list.data[0].id}/resolve-link`,
      {},
    );
    await page.goto(`${server.url}/resolve/demo?token=${encodeURIComponent(link.token)}&lang=en`);
    await page.getByRole('heading', { name: 'Hi Jonas!' }).waitFor();
    page.setDefaultTimeout(10_000);
    return { context, page };
  };

  test('token link: a session that ends during an address change is announced, and the address is kept', async () => {
    const { context, page } = await openToken();
    const shot = shooter(page, 'a11y-token-expired', phone);
    try {
      await page.getByRole('button', { name: en['actions.change_address'] }).click();
      // The form's first field takes the focus when it opens: typing starts after that.
      await page.waitForFunction(() => document.activeElement?.id === 'addr-name');
      const street = page.getByLabel(en['address.line1'], { exact: true });
      await street.fill('Neuer Wall 10');
      assert.equal(await street.inputValue(), 'Neuer Wall 10');
      // The server no longer knows the session: a real 401 session_expired.
      await page.route('**/v1/resolve/demo/**', (route) =>
        route.continue({
          headers: { ...route.request().headers(), authorization: 'Bearer expired-session' },
        }),
      );
      await enterOn(page, page.getByRole('button', { name: en['actions.address_save'] }));
      const card = page.getByTestId('session-expired');
      await card.waitFor();
      await page.waitForFunction(() => !!document.activeElement?.closest('[data-testid="session-expired"]'));
      assert.equal((await focused(page)).text, en['expired.title']);
      await shot('expired');
      await page.unroute('**/v1/resolve/demo/**');
      await card.getByRole('button', { name: en['expired.resume'] }).click();
      await card.waitFor({ state: 'detached' });
      assert.equal(await street.inputValue(), 'Neuer Wall 10', 'what the customer typed is kept');
      assert.equal(await page.getByTestId('action-error').count(), 0, 'no error for the ended session');
      await page.getByRole('button', { name: en['actions.address_save'] }).click();
      await page.getByTestId('action-result').getByText(en['actions.address_saved']).waitFor();
      await shot('saved');
    } finally {
      await context.close();
    }
  });

  test('token link: the address form and the cancel question manage the focus (Escape closes the question)', async () => {
    const { context, page } = await openToken();
    const shot = shooter(page, 'a11y-order-actions', phone);
    try {
      const change = page.getByRole('button', { name: en['actions.change_address'] });
      const cancel = page.getByRole('button', { name: en['actions.cancel'], exact: true });
      await enterOn(page, change);
      await page.waitForFunction(() => document.activeElement?.id === 'addr-name');
      await enterOn(page, page.getByTestId('order-actions').getByRole('button', { name: en['wizard.back'] }));
      await page.waitForFunction(
        (t) => document.activeElement?.textContent === t,
        en['actions.change_address'],
      );

      await enterOn(page, cancel);
      await page.getByRole('alertdialog').waitFor();
      await page.keyboard.press('Escape');
      await page.getByRole('alertdialog').waitFor({ state: 'detached' });
      await page.waitForFunction((t) => document.activeElement?.textContent === t, en['actions.cancel']);
      await page.keyboard.press('Enter');
      await enterOn(page, page.getByRole('button', { name: en['actions.cancel_no'] }));
      await page.waitForFunction((t) => document.activeElement?.textContent === t, en['actions.cancel']);

      await enterOn(page, change);
      await page.waitForFunction(() => document.activeElement?.id === 'addr-name');
      await page.getByLabel(en['address.line1'], { exact: true }).fill('Neuer Wall 12');
      await enterOn(page, page.getByRole('button', { name: en['actions.address_save'] }));
      await page.getByTestId('action-result').getByText(en['actions.address_saved']).waitFor();
      await page.waitForFunction(() => document.activeElement?.id === 'action-result');
      await shot('saved');
      // Last: this cancels 1003 for good.
      await enterOn(page, cancel);
      await enterOn(page, page.getByRole('button', { name: en['actions.cancel_yes'] }));
      await page.getByTestId('action-result').getByText(en['actions.cancelled']).waitFor();
      await page.waitForFunction(() => document.activeElement?.id === 'action-result');
      await shot('cancelled');
    } finally {
      await context.close();
    }
  });
});
