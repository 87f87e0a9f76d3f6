import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import type { Browser, Page } from 'playwright-core';
import { query } from '../../src/db/client.js';
import { en } from '../../web/resolve/src/i18n/en.js';
import {
  browserAvailable,
  launch,
  lookUp,
  newPage,
  type PageServer,
  shooter,
  startPageServer,
  VIEWPORTS,
} from './support.js';

// Each screen of the customer page after the lookup names itself in one h1 that takes the focus; the step count
// is read with that h1 (its description, once per step change); Back after sending leads to the order, not into
// the sent report; and the items of "Something else" say "(optional)" because the API does not require them there.

const run = browserAvailable();
const phone = VIEWPORTS[0];
const LANGS = ['en', 'de', 'fr', 'es', 'it', 'nl', 'da'] as const;
type Catalogue = Record<keyof typeof en, string>;

/** The visible h1s: their text and whether each has the focus. A string: the test's compiler would wrap helpers. */
async function visibleH1s(page: Page): Promise<{ text: string; focused: boolean }[]> {
  return page.evaluate(`Array.from(document.querySelectorAll('h1'))
    .filter((h) => h.checkVisibility())
    .map((h) => ({ text: h.textContent.replace(/\\s+/g, ' ').trim(), focused: document.activeElement === h }))`);
}

/** Waits for the screen's h1 to take the focus, then checks it is the only visible one and contains `name`. */
async function screenHeading(page: Page, name: string | RegExp, what: string): Promise<string> {
  await page
    .waitForFunction(`document.activeElement && document.activeElement.tagName === 'H1'`, null, {
      timeout: 5000,
    })
    .catch(() => undefined);
  const h1s = await visibleH1s(page);
  assert.equal(h1s.length, 1, `${what}: one visible h1 (${JSON.stringify(h1s)})`);
  const [h1] = h1s;
  if (typeof name === 'string')
    assert.ok(h1.text.includes(name), `${what}: the h1 "${h1.text}" says "${name}"`);
  else assert.match(h1.text, name, `${what}: the h1`);
  assert.ok(h1.focused, `${what}: the h1 has the focus`);
  return h1.text;
}

/**
 * What a screen reader says when the focus lands: the focused element's role and name (its accessibility snapshot)
 * and its description (the text of what aria-describedby points to).
 */
async function focusedSpeech(page: Page): Promise<{ snapshot: string; description: string }> {
  const snapshot = await page.locator(':focus').ariaSnapshot();
  const description = (await page.evaluate(`(document.activeElement.getAttribute('aria-describedby') || '')
    .split(' ').filter(Boolean).map((id) => (document.getElementById(id) || {}).textContent || '').join(' ')
    .replace(/\\s+/g, ' ').trim()`)) as string;
  return { snapshot, description };
}

describe('customer page: screen headings, step announcements, Back after sending, optional items', {
  skip: !run,
}, () => {
  let server: PageServer;
  let browser: Browser;
  const catalogues = {} as Record<(typeof LANGS)[number], Catalogue>;
  const claimsOf = async (orderNumber: string) =>
    (
      await query<{ n: number }>(
        server.ctx.db,
        sql`select count(*)::int as n from claims c join orders o on o.id = c.order_id
             where o.shop_id = ${server.demo.id} and o.order_number = ${orderNumber}`,
      )
    )[0].n;

  before(async () => {
    for (const l of LANGS)
      catalogues[l] = ((await import(`../../web/resolve/src/i18n/${l}.ts`)) as Record<string, Catalogue>)[l];
    server = await startPageServer();
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  /** "Something is missing" for one item, from the order to the review (five steps, no photo needed). */
  async function missingItemToReview(page: Page, item: RegExp, check?: (step: number) => Promise<void>) {
    await page.getByRole('button', { name: en['flow.missing_item'] }).click();
    await page.getByRole('heading', { name: en['items.title'] }).waitFor();
    await check?.(1);
    await page.getByRole('checkbox', { name: item }).check();
    await page.getByRole('button', { name: en['wizard.continue'] }).click();
    await page.getByRole('heading', { name: en['evidence.title'] }).waitFor();
    await check?.(2);
    await page.getByRole('button', { name: en['wizard.continue'] }).click();
    await page.getByRole('heading', { name: en['details.title'] }).waitFor();
    await check?.(3);
    await page.getByRole('button', { name: en['wizard.continue'] }).click();
    await page.getByRole('heading', { name: en['resolution.title'] }).waitFor();
    await check?.(4);
    await page.getByLabel(/Replacement/).check();
    await page.getByRole('button', { name: en['wizard.continue'] }).click();
    await page.getByRole('heading', { name: en['review.title'] }).waitFor();
    await check?.(5);
  }

  test('every screen after the lookup has one visible h1 saying where the customer is, and it takes the focus', async () => {
    const { context, page } = await newPage(browser, phone);
    const shot = shooter(page, 'screen-headings', phone);
    try {
      await page.goto(`${server.url}/resolve/demo?lang=en`);
      assert.equal((await visibleH1s(page)).length, 1, 'the lookup has its h1');
      await lookUp(page, '1001', '10115');
      await page.getByRole('heading', { name: 'Hi Kim!' }).waitFor();
      // The order (with the issues to choose from): the greeting and which order this is.
      await screenHeading(page, 'Hi Kim!', 'order');
      assert.match((await focusedSpeech(page)).description, /^Order #1001 placed on /, 'read with the order');
      await shot('order');
      const titles = [
        'items.title',
        'evidence.title',
        'details.title',
        'resolution.title',
        'review.title',
      ] as const;
      await missingItemToReview(page, /Organic cotton T-shirt/, async (step) => {
        await screenHeading(page, en[titles[step - 1]], `step ${step}`);
      });
      // The in-page Back: the previous step's h1 takes the focus.
      await page.getByRole('button', { name: en['wizard.back'] }).click();
      await page.getByRole('heading', { name: en['resolution.title'] }).waitFor();
      await screenHeading(page, en['resolution.title'], 'back to step 4');
      await page.getByRole('button', { name: en['wizard.continue'] }).click();
      await screenHeading(page, en['review.title'], 'review again');
      await page.getByRole('button', { name: en['review.submit'] }).click();
      await page.getByTestId('confirmation').waitFor();
      await screenHeading(page, en['done.title'], 'sent');
      await shot('sent');
      // Back to the order, where the request is listed.
      await page.getByRole('button', { name: en['done.back'] }).click();
      await page.getByTestId('earlier-claims').waitFor();
      await screenHeading(page, 'Hi Kim!', 'order with its requests');
      await shot('order-with-requests');
    } finally {
      await context.close();
    }
  });

  test('the step count is read with the step’s h1 when it takes the focus, once per step, and in no live region', async () => {
    const { context, page } = await newPage(browser, phone);
    try {
      await page.goto(`${server.url}/resolve/demo?lang=en`);
      await lookUp(page, '1001', '10115');
      await page.getByRole('heading', { name: 'Hi Kim!' }).waitFor();
      const check = async (step: number) => {
        const count = en['wizard.step'].replace('{current}', String(step)).replace('{total}', '5');
        const title = [
          'items.title',
          'evidence.title',
          'details.title',
          'resolution.title',
          'review.title',
        ] as const;
        await screenHeading(page, en[title[step - 1]], `step ${step}`);
        // What a screen reader says when the focus lands on the step's h1: its title, and the step count with it.
        const said = await focusedSpeech(page);
        assert.equal(said.snapshot, `- heading "${en[title[step - 1]]}" [level=1]`, `step ${step}`);
        assert.equal(said.description, `${en['flow_short.missing_item']} ${count}`, `step ${step}`);
        // Said once: the page's accessibility tree has the count once, and no live region repeats it.
        const tree = await page.locator('main').ariaSnapshot();
        assert.equal(tree.split(count).length - 1, 1, `step ${step}: "${count}" once in ${tree}`);
        const live = await page.locator('[aria-live], [role=status], [role=alert]').allInnerTexts();
        assert.ok(!live.some((x) => x.includes(count)), `step ${step}: no live region says it again`);
        // Sighted customers still see it.
        assert.match(await page.locator('.progress-text').innerText(), new RegExp(count));
      };
      await missingItemToReview(page, /Merino socks/, check);
      // Back with the browser: the previous step's count is read.
      await page.goBack();
      await page.getByRole('heading', { name: en['resolution.title'] }).waitFor();
      await check(4);
    } finally {
      await context.close();
    }
  });

  test('Back after sending: the order with the draft cleared, one entry per press, and no second claim', async () => {
    const { context, page } = await newPage(browser, phone);
    const shot = shooter(page, 'back-after-sending', phone);
    try {
      await page.goto(`${server.url}/resolve/demo?lang=en`);
      await lookUp(page, '1002', '80331');
      await page.getByRole('heading', { name: /^Hi / }).waitFor();
      const before = await claimsOf('1002');
      await page.getByRole('button', { name: en['flow.support'] }).click();
      await page.getByRole('heading', { name: en['items.title'] }).waitFor();
      await page.getByRole('button', { name: en['wizard.continue'] }).click();
      await page.getByRole('heading', { name: en['evidence.title'] }).waitFor();
      await page.getByRole('button', { name: en['wizard.continue'] }).click();
      await page.getByLabel(/Describe the problem/).fill('Can I change the colour of the cap?');
      await page.getByRole('button', { name: en['wizard.continue'] }).click();
      await page.getByRole('heading', { name: en['review.title'] }).waitFor();
      await page.getByRole('button', { name: en['review.submit'] }).click();
      await page.getByTestId('confirmation').waitFor();
      assert.equal(await claimsOf('1002'), before + 1);
      await shot('sent');

      // Back: the order and its issues, with the sent request listed; nothing of the sent report can be sent again.
      await page.goBack();
      await page.getByTestId('earlier-claims').waitFor();
      await page.getByRole('button', { name: en['flow.support'] }).waitFor();
      await screenHeading(page, /^Hi /, 'back after sending');
      assert.equal(await page.locator('.wizard').count(), 0, 'no step of the sent report');
      assert.equal(await page.getByTestId('confirmation').count(), 0);
      assert.equal(await page.getByRole('button', { name: en['review.submit'] }).count(), 0);
      await shot('back-to-order');

      // One more Back leaves the order for the lookup: the sent report's steps are not stops on the way.
      await page.goBack();
      await page.getByRole('heading', { name: en['lookup.title'] }).waitFor();
      assert.equal(await page.locator('.wizard').count(), 0);
      // Forward: the order, then the confirmation (without a way to send it again).
      await page.goForward();
      await page.getByRole('button', { name: en['flow.support'] }).waitFor();
      await page.goForward();
      await page.getByTestId('confirmation').waitFor();
      assert.equal(await page.getByRole('button', { name: en['review.submit'] }).count(), 0);
      await page.goBack();
      await page.getByRole('button', { name: en['flow.support'] }).waitFor();

      // The draft is cleared: picking the issue again starts a new report, at its first step, with nothing filled in.
      await page.getByRole('button', { name: en['flow.support'] }).click();
      await page.getByRole('heading', { name: en['items.title'] }).waitFor();
      assert.match(await page.locator('.progress-text').innerText(), /Step 1 of/);
      assert.equal(await page.getByRole('checkbox', { checked: true }).count(), 0);
      await page.getByRole('button', { name: en['wizard.continue'] }).click();
      await page.getByRole('button', { name: en['wizard.continue'] }).click();
      assert.equal(await page.getByLabel(/Describe the problem/).inputValue(), '', 'the sent text is gone');
      assert.equal(await claimsOf('1002'), before + 1, 'still one claim');
    } finally {
      await context.close();
    }
  });

  for (const lang of LANGS)
    test(`${lang}: the items of "Something else" are marked optional (as the API takes none), those of other flows not`, async () => {
      const m = catalogues[lang];
      const { context, page } = await newPage(browser, phone);
      try {
        const link = (flowType: string) =>
          `${server.url}/resolve/demo?orderNumber=1001&zipCode=10115&flowType=${flowType}&lang=${lang}`;
        await page.goto(link('support'));
        const title = page.locator('#step-title');
        await title.waitFor();
        await page.waitForFunction((want) => document.documentElement.lang === want, lang);
        await page.locator('#items-hint').waitFor();
        const optional = `(${m['evidence.optional']})`;
        await page.waitForFunction(
          (t) => (document.querySelector('#step-title')?.textContent ?? '').startsWith(t),
          m['items.title'],
        );
        assert.ok(
          (await title.innerText()).includes(optional),
          `${await title.innerText()} says ${optional}`,
        );
        assert.ok((await title.innerText()).startsWith(m['items.title']));
        // The rule the API enforces: Continue without an item goes on.
        await page.locator('.wizard button[type=submit]').click();
        await page.waitForFunction(
          (t) => !(document.querySelector('#step-title')?.textContent ?? '').startsWith(t),
          m['items.title'],
        );
        assert.equal(await page.locator('.field-error').count(), 0);

        // "An item is damaged" needs an item: no "(optional)".
        await context.clearCookies();
        await page.evaluate('sessionStorage.clear()');
        await page.goto(link('defective'));
        await page.waitForFunction(
          (t) => (document.querySelector('#step-title')?.textContent ?? '').startsWith(t),
          m['items.title'],
        );
        assert.equal(await title.innerText(), m['items.title']);
        assert.ok(!(await page.locator('.wizard .heading').innerText()).includes(optional));
      } finally {
        await context.close();
      }
    });
});
