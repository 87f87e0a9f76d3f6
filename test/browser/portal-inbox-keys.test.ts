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

// The claims inbox as an agent works it by keyboard: shortcuts that stay out of the way of links, buttons and
// dialogs, a way back to the list as it was left, a search box that shows what the list is searched by.

const run = browserAvailable();
const desktop = VIEWPORTS[1];
const ADMIN = { email: 'admin@demo.test', password: 'demo-password-123' };

describe('portal claims inbox: keys, way back, search box, saved views', { skip: !run }, () => {
  let server: PageServer;
  let browser: Browser;
  let mug: { id: string; number: string };
  let gb1: { id: string; number: string };
  let gb2: { id: string; number: string };

  before(async () => {
    server = await startPageServer({}, 'portal');
    browser = await launch();
    // Oldest first: a German claim, then two British ones (newest first in the list: gb2, gb1, mug).
    mug = await submitClaim(
      server,
      { order_number: '1001', zip_code: '10115' },
      (flows) => {
        const f = flows.find((x) => x.flow === 'defective')!;
        return {
          flow: 'defective',
          reason: 'broken_on_arrival',
          items: [{ line_item_id: f.items[1].line_item_id, quantity: 1 }],
          resolution_preference: 'replacement',
        };
      },
      1,
    );
    const question = (text: string) => () => ({
      flow: 'support',
      reason: 'other',
      items: [],
      description: text,
    });
    gb1 = await submitClaim(
      server,
      { order_number: '1005', zip_code: 'SW1A 1AA' },
      question('Can I change the address?'),
    );
    gb2 = await submitClaim(
      server,
      { order_number: '1005', zip_code: 'SW1A 1AA' },
      question('Can you gift wrap it?'),
    );
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  const rows = (page: Page) => page.getByTestId('claim-row').locator('td:first-child').allInnerTexts();
  const selectedRow = (page: Page) =>
    page.evaluate(() =>
      [...document.querySelectorAll('[data-testid=claim-row]')].findIndex((r) =>
        r.classList.contains('selected'),
      ),
    );
  const waitRows = (page: Page, n: number) =>
    page.waitForFunction((n) => document.querySelectorAll('[data-testid=claim-row]').length === n, n);
  /** Waits for a claim's page, whichever claim it is, and returns its path. */
  const opened = async (page: Page) => {
    await page.getByRole('heading', { name: /^Claim R-/ }).waitFor();
    return new URL(page.url()).pathname;
  };
  /** Waits until the page left the list for a claim, or the URL matches `listed`; returns the path. */
  const settled = async (page: Page, listed: RegExp) => {
    await page.waitForFunction(
      (src) => /\/claims\/[^/]+$/.test(location.pathname) || new RegExp(src).test(location.href),
      listed.source,
    );
    return new URL(page.url()).pathname;
  };

  test('Enter on a link, a tab or a button does its own thing; j, k and Enter work with nothing focused', async () => {
    const { context, page } = await newPage(browser, desktop);
    try {
      await portalSignIn(page, server.url, ADMIN);
      await waitRows(page, 3);
      assert.deepEqual(await rows(page), [gb2.number, gb1.number, mug.number]);
      assert.equal(await selectedRow(page), 0);

      // Tab to the second claim's link: Enter opens that claim, not the highlighted first one.
      await page.getByRole('link', { name: gb1.number, exact: true }).focus();
      await page.keyboard.press('Enter');
      assert.equal(await opened(page), `/portal/demo/claims/${gb1.id}`);

      await page.goBack();
      await waitRows(page, 3);
      // Enter on a status tab chooses the tab.
      await page.getByRole('tab', { name: /^Pending/ }).focus();
      await page.keyboard.press('Enter');
      assert.equal(await settled(page, /status=pending/), '/portal/demo/claims', 'the tab, not a claim');
      await waitRows(page, 3);

      // Enter on "Save view" opens the form to name it.
      await page.getByRole('button', { name: 'Save view' }).focus();
      await page.keyboard.press('Enter');
      await page.getByPlaceholder('View name').waitFor();
      assert.equal(new URL(page.url()).pathname, '/portal/demo/claims');
      await page.getByRole('button', { name: 'Cancel' }).click();

      // j, k and / leave a focused control alone.
      await page.getByRole('tab', { name: /^Pending/ }).focus();
      await page.keyboard.press('j');
      await page.keyboard.press('/');
      assert.equal(await selectedRow(page), 0, 'j on a tab moves nothing');
      assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('role')), 'tab');
      await page.getByRole('link', { name: gb2.number, exact: true }).focus();
      await page.keyboard.press('j');
      assert.equal(await selectedRow(page), 0, 'j on a link moves nothing');

      // With nothing focused the keys work: j j k moves to the second row, Enter opens it.
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      await page.keyboard.press('j');
      await page.keyboard.press('j');
      await page.keyboard.press('k');
      assert.equal(await selectedRow(page), 1);
      await page.keyboard.press('Enter');
      assert.equal(await opened(page), `/portal/demo/claims/${gb1.id}`);
      await page.goBack();
      await waitRows(page, 3);
      await page.keyboard.press('/');
      assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('type')), 'search');
    } finally {
      await context.close();
    }
  });

  test('“← Claims” returns to the list as it was left, on the claim just viewed', async () => {
    const { context, page } = await newPage(browser, desktop);
    try {
      await portalSignIn(page, server.url, ADMIN);
      const search = '?status=pending&country=GB&sort=created_at';
      await page.goto(`${server.url}/portal/demo/claims${search}`);
      await waitRows(page, 2);
      assert.deepEqual(await rows(page), [gb1.number, gb2.number]);
      await page.getByRole('link', { name: gb2.number, exact: true }).click();
      await page.getByRole('heading', { name: new RegExp(`^Claim ${gb2.number}`) }).waitFor();

      await page.getByRole('link', { name: '← Claims' }).click();
      await page.getByRole('heading', { name: 'Claims', exact: true }).waitFor();
      assert.equal(new URL(page.url()).search, search, 'the same filters, search and sort');
      await waitRows(page, 2);
      assert.deepEqual(await rows(page), [gb1.number, gb2.number]);
      assert.equal(await selectedRow(page), 1, 'the claim just viewed is highlighted');
      assert.equal(await page.getByRole('combobox', { name: 'Country', exact: true }).inputValue(), 'GB');

      // A claim opened by a link in a new tab, with no list before: back to the plain list.
      const fresh = await context.newPage();
      await fresh.goto(`${server.url}/portal/demo/claims/${mug.id}`);
      await fresh.getByRole('heading', { name: new RegExp(`^Claim ${mug.number}`) }).waitFor();
      assert.equal(
        await fresh.getByRole('link', { name: '← Claims' }).getAttribute('href'),
        '/portal/demo/claims',
      );
      await fresh.getByRole('link', { name: '← Claims' }).click();
      await waitRows(fresh, 3);
      assert.equal(new URL(fresh.url()).search, '');
    } finally {
      await context.close();
    }
  });

  test('the search box shows what the list is searched by, after Back and after a saved view', async () => {
    const { context, page } = await newPage(browser, desktop);
    try {
      await portalSignIn(page, server.url, ADMIN);
      await waitRows(page, 3);
      const box = page.getByRole('searchbox', { name: 'Search' });
      await box.fill(mug.number);
      await box.press('Enter');
      await page.waitForURL(/q=/);
      await waitRows(page, 1);

      await page.goBack();
      await waitRows(page, 3);
      assert.equal(new URL(page.url()).search, '');
      assert.equal(await box.inputValue(), '', 'the list is not searched: the box is empty');
      await page.goForward();
      await waitRows(page, 1);
      assert.equal(await box.inputValue(), mug.number);

      // A saved view that searches fills the box.
      await page.getByRole('button', { name: 'Save view' }).click();
      await page.getByPlaceholder('View name').fill('The mug');
      await page.getByRole('button', { name: 'Save', exact: true }).click();
      await page.getByRole('button', { name: 'Save view' }).waitFor();
      await page.getByRole('button', { name: 'Clear' }).click();
      await waitRows(page, 3);
      assert.equal(await box.inputValue(), '');
      await page.getByRole('combobox', { name: 'Saved view' }).selectOption({ label: 'The mug' });
      await page.waitForURL(/q=/);
      await waitRows(page, 1);
      assert.equal(await box.inputValue(), mug.number, 'the saved view’s search is in the box');
    } finally {
      await context.close();
    }
  });

  test('deleting a saved view, shared or not, asks first and names the view', async () => {
    const { context, page } = await newPage(browser, desktop);
    try {
      await portalSignIn(page, server.url, ADMIN);
      await page.goto(`${server.url}/portal/demo/claims?flow=support`);
      await waitRows(page, 2);
      await page.getByRole('button', { name: 'Save view' }).click();
      await page.getByPlaceholder('View name').fill('Questions');
      await page.getByRole('checkbox', { name: 'Shared' }).check();
      await page.getByRole('button', { name: 'Save', exact: true }).click();
      const views = page.getByRole('combobox', { name: 'Saved view' });
      await page.getByRole('button', { name: 'Delete view' }).waitFor();
      assert.equal(await views.locator('option:checked').innerText(), 'Questions (shared)');

      // Cancel keeps it.
      await page.getByRole('button', { name: 'Delete view' }).click();
      const dialog = page.getByRole('dialog', { name: 'Delete the view “Questions”?' });
      await dialog.waitFor({ timeout: 5000 });
      assert.match(await dialog.innerText(), /shared/i, 'says everyone loses it');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'detached' });
      assert.equal(await views.locator('option:checked').innerText(), 'Questions (shared)');

      // Confirmed, it is gone; Enter in the dialog is the dialog's, not the list's.
      await page.getByRole('button', { name: 'Delete view' }).click();
      await dialog.getByRole('button', { name: 'Delete view' }).focus();
      await page.keyboard.press('Enter');
      await dialog.waitFor({ state: 'detached' });
      await page.getByRole('button', { name: 'Delete view' }).waitFor({ state: 'detached' });
      assert.equal(
        await page.evaluate(() => document.activeElement?.getAttribute('aria-label')),
        'Saved view',
        'the focus is not lost with the button',
      );
      assert.equal(new URL(page.url()).pathname, '/portal/demo/claims');
      assert.deepEqual(
        (await views.locator('option').allInnerTexts()).filter((t) => t.includes('Questions')),
        [],
      );
    } finally {
      await context.close();
    }
  });

  test('a 100-character tag and a long assignee wrap instead of widening the inbox', async () => {
    const api = (method: string, path: string, body?: unknown) =>
      fetch(`${server.url}/v1/shops/demo${path}`, {
        method,
        headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, json: await r.json() }));
    const claim = (await api('GET', `/claims/${gb1.id}`)).json as { version: number };
    const patched = await api('PATCH', `/claims/${gb1.id}`, {
      version: claim.version,
      add_tags: ['x'.repeat(100)],
      assignee: `helpdesk-agent-${'y'.repeat(80)}@example.com`,
    });
    assert.equal(patched.status, 200, JSON.stringify(patched.json));
    const { context, page } = await newPage(browser, desktop);
    try {
      await portalSignIn(page, server.url, ADMIN);
      await waitRows(page, 3);
      const overflow = await page.evaluate(() => {
        const table = document.querySelector('table');
        const box = table?.parentElement;
        return table && box ? table.scrollWidth - box.clientWidth : -1;
      });
      assert.ok(overflow <= 0, `the table is ${overflow}px wider than its box`);
    } finally {
      await context.close();
    }
  });
});
