import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { TestContext as NodeTestContext } from 'node:test';
import pg from 'pg';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import type { Config } from '../../src/config.js';
import { seedDemo } from '../../src/demo/seed.js';
import { createApiKey } from '../../src/shops/api-keys.js';
import type { Shop } from '../../src/shops/shops.js';
import { startTestApp, type TestContext } from '../support/app.js';
import { DATABASE_URL } from '../support/db.js';

const root = path.resolve(import.meta.dirname, '..', '..');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = path.join(root, 'test-results', 'screenshots');

/** Phone first, then a desktop. */
export const VIEWPORTS = [
  { name: 'phone', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
  { name: 'desktop', viewport: { width: 1280, height: 860 }, isMobile: false, hasTouch: false },
] as const;
export type Viewport = (typeof VIEWPORTS)[number];

/**
 * Browser tests need Debian's Chromium (`.ci/run` installs it). Outside CI a machine without it skips them
 * with a note; in CI a missing browser fails the run.
 */
export function browserAvailable(t?: NodeTestContext): boolean {
  if (fs.existsSync(CHROMIUM)) return true;
  if (process.env.CI) throw new Error(`Chromium not found at ${CHROMIUM}: browser tests cannot run in CI.`);
  t?.skip(`Chromium not found at ${CHROMIUM} (apt-get install -y chromium)`);
  return false;
}

/** The customer page must be built; `npm test` builds it, and this covers a single test file run by hand. */
export function ensureWebBuild(app: 'resolve' | 'portal' | null = null): void {
  const args = [
    path.join(root, 'scripts', 'build.mjs'),
    'web',
    '--if-stale',
    ...(app ? [`--app=${app}`] : []),
  ];
  const r = spawnSync(process.execPath, args, {
    cwd: root,
    stdio: 'inherit',
  });
  if (r.status !== 0) throw new Error(`building ${app ?? 'the front ends'} failed`);
}

export interface PageServer {
  ctx: TestContext;
  url: string;
  demo: Shop;
  adminKey: string;
  close(): Promise<void>;
}

/** The real app on a real port with the demo shop, as `npm start` serves it. */
export async function startPageServer(
  overrides: Partial<Config> = {},
  app: 'resolve' | 'portal' | null = 'resolve',
): Promise<PageServer> {
  ensureWebBuild(app);
  const generous = {
    ipMax: 100_000,
    ipWindowSeconds: 600,
    shopMax: 1_000_000,
    orderFailures: 1000,
    ipFailures: 10_000,
    lockSeconds: 60,
  };
  // On PostgreSQL, test files share one database, and every browser test drives the one demo shop: each page
  // server gets a database of its own (on PGlite each file has its own anyway).
  const own = await ownDatabase();
  let ctx: TestContext;
  try {
    ctx = await startTestApp({ lookup: generous, ...overrides }, { databaseUrl: own?.url ?? null });
  } catch (err) {
    await own?.drop();
    throw err;
  }
  const { shop } = await seedDemo(ctx.db, { password: 'demo-password-123' });
  const adminKey = (await createApiKey(ctx.db, { shopIds: [shop.id], role: 'admin', name: 'browser tests' }))
    .secret;
  await ctx.app.listen({ port: 0, host: '127.0.0.1' });
  const address = ctx.app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  // Links the server makes (evidence files, resolve links) must point at this server.
  ctx.deps.config.publicUrl = url;
  return {
    ctx,
    url,
    demo: shop,
    adminKey,
    close: async () => {
      await ctx.close();
      await own?.drop();
    },
  };
}

async function ownDatabase(): Promise<{ url: string; drop(): Promise<void> } | null> {
  if (!DATABASE_URL) return null;
  const name = `t_browser_${randomBytes(6).toString('hex')}`;
  const admin = new URL(DATABASE_URL);
  admin.pathname = '/postgres';
  const run = async (statement: string) => {
    const c = new pg.Client({ connectionString: admin.toString() });
    await c.connect();
    try {
      await c.query(statement);
    } finally {
      await c.end();
    }
  };
  await run(`create database "${name}"`);
  const own = new URL(DATABASE_URL);
  own.pathname = `/${name}`;
  return { url: own.toString(), drop: () => run(`drop database if exists "${name}" with (force)`) };
}

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

export async function newPage(
  browser: Browser,
  vp: Viewport,
  opts: { locale?: string; timezoneId?: string } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    viewport: vp.viewport,
    isMobile: vp.isMobile,
    hasTouch: vp.hasTouch,
    locale: opts.locale ?? 'en-GB',
    ...(opts.timezoneId ? { timezoneId: opts.timezoneId } : {}),
    deviceScaleFactor: 1,
  });
  const page = await context.newPage();
  // CI machines are shared and slower: a wait there may take longer without anything being wrong.
  page.setDefaultTimeout(process.env.CI ? 30_000 : 15_000);
  return { context, page };
}

/** Screenshots of each step, under test-results/ (ignored by git). */
export function shooter(page: Page, scenario: string, vp: Viewport) {
  const dir = path.join(SCREENSHOTS, scenario);
  fs.mkdirSync(dir, { recursive: true });
  let n = 0;
  return async (step: string) => {
    n += 1;
    await page.screenshot({
      path: path.join(dir, `${vp.name}-${String(n).padStart(2, '0')}-${step}.png`),
      fullPage: true,
    });
  };
}

const AXE = fs.readFileSync(path.join(root, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

/** axe-core on the current page: the serious and critical WCAG 2.1 A/AA violations (none expected). */
export async function seriousViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol, so the page's strict CSP stays on.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, o: object): Promise<AxeResult> } }).axe;
    return axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    });
  });
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}
interface AxeResult {
  violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[];
}

/** A customer types the order number and ZIP and submits, as on the page. */
export async function lookUp(page: Page, orderNumber: string, zip: string): Promise<void> {
  await page.getByLabel(/order number|bestellnummer|numéro de commande/i).fill(orderNumber);
  await page.getByLabel(/zip|postleitzahl|code postal/i).fill(zip);
  await page.locator('form button[type=submit]').click();
}

export const FIXTURE_JPEG = path.join(root, 'test', 'fixtures', 'images', 'plain.jpg');

/** A claim submitted through the public customer API (as the page would), with optional photos. */
export async function submitClaim(
  server: PageServer,
  lookup: { order_number: string; zip_code: string },
  pick: (flows: { flow: string; items: { line_item_id: string; max_quantity: number }[] }[]) => {
    flow: string;
    reason: string;
    items: { line_item_id: string; quantity: number }[];
    description?: string;
    resolution_preference?: string | null;
    dropoff_permission?: boolean;
  },
  /** How many copies of the JPEG fixture, or which image files, to attach as photos of the first item. */
  photos: number | string[] = 0,
): Promise<{ id: string; number: string }> {
  const base = `${server.url}/v1/resolve/demo`;
  const s = await fetch(`${base}/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(lookup),
  });
  if (s.status !== 201) throw new Error(`lookup failed: ${s.status} ${await s.text()}`);
  const session = (await s.json()) as { session: string; flows: Parameters<typeof pick>[0] };
  const auth = { authorization: `Bearer ${session.session}` };
  const input = pick(session.flows);
  const evidence: { upload_id: string; kind: string; line_item_id: string }[] = [];
  const files = typeof photos === 'number' ? Array<string>(photos).fill(FIXTURE_JPEG) : photos;
  for (const file of files) {
    const form = new FormData();
    form.append('file', new Blob([fs.readFileSync(file)]), path.basename(file));
    const up = await fetch(`${base}/uploads`, { method: 'POST', headers: auth, body: form });
    if (up.status !== 201) throw new Error(`upload failed: ${up.status} ${await up.text()}`);
    evidence.push({
      upload_id: ((await up.json()) as { id: string }).id,
      kind: 'photo',
      line_item_id: input.items[0].line_item_id,
    });
  }
  const c = await fetch(`${base}/claims`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': `seed-${Math.random()}` },
    body: JSON.stringify({ ...input, evidence }),
  });
  if (c.status !== 201) throw new Error(`claim failed: ${c.status} ${await c.text()}`);
  return (await c.json()) as { id: string; number: string };
}

/** Signs in on the portal's sign-in page and waits for the claims list. */
export async function portalSignIn(page: Page, baseUrl: string, who: { email: string; password: string }) {
  await page.goto(`${baseUrl}/portal`);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Claims' }).waitFor();
}
