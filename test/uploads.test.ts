import assert from 'node:assert/strict';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { and, eq, inArray, sql } from 'drizzle-orm';
import pino from 'pino';
import { jobs, uploads } from '../src/db/schema.js';
import type { AppDeps } from '../src/http/context.js';
import { jobHandlers } from '../src/jobs/catalog.js';
import type { ClaimedJob } from '../src/jobs/queue.js';
import { deriveKey, loadMasterSecret } from '../src/lib/secret.js';
import { FILE_URL_TTL_SECONDS, signedFileUrl } from '../src/resolve/files.js';
import { removeStaleUploads } from '../src/resolve/uploads.js';
import { createStorage } from '../src/storage/index.js';
import type { BlobStorage } from '../src/storage/port.js';
import { createTestShop, startTestApp, type TestContext, type TestShop } from './support/app.js';
import { assertError, type Res } from './support/http.js';
import { mp4, noise, VIDEO_PLACE } from './support/images.js';
import { orderDoc } from './support/orders.js';

// Evidence uploads through the customer API (SPEC §5 step 4, issue 3 point 6): multipart, type by content,
// size limit, location removed, stored through the storage port, served only by short-lived signed URLs,
// unattached uploads removed after 24 h by the maintenance job.

const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'images');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name));
const log = pino({ level: 'silent' });

let ctx: TestContext;
let shop: TestShop;
/** The same files the app writes (local driver on the test's DATA_DIR). */
let storage: BlobStorage;
let master: Buffer;
let orderNumber: string;

before(async () => {
  ctx = await startTestApp();
  storage = createStorage(ctx.deps.config);
  master = await loadMasterSecret(ctx.db, ctx.deps.config);
  shop = await createTestShop(ctx.db, 'upl');
  orderNumber = await putOrder(shop);
});
after(() => ctx.close());

// Client IPs unique to this run: lookup rate-limit rows may outlive a run on a shared PostgreSQL database.
const ipPrefix = `172.${16 + randomInt(16)}.${randomInt(256)}`;
let ipSeq = 0;
const nextIp = () => `${ipPrefix}.${(++ipSeq % 250) + 1}`;

async function putOrder(s: TestShop): Promise<string> {
  const doc = orderDoc();
  const res = await ctx.app.inject({
    method: 'PUT',
    url: `/v1/shops/${s.slug}/orders`,
    headers: s.auth.editor,
    payload: doc,
  });
  assert.equal(res.statusCode, 201, res.body);
  return doc.order_number;
}

async function openSession(s: TestShop = shop, number = orderNumber): Promise<{ authorization: string }> {
  const res = await ctx.app.inject({
    method: 'POST',
    url: `/v1/resolve/${s.slug}/sessions`,
    payload: { order_number: number, zip_code: '10115' },
    remoteAddress: nextIp(),
  });
  assert.equal(res.statusCode, 201, res.body);
  return { authorization: `Bearer ${res.json().session}` };
}

interface Part {
  name: string;
  data: Buffer | string;
  filename?: string;
  contentType?: string;
}

/** A multipart/form-data body built by hand (no client library decides anything for us). */
function multipart(parts: Part[]): { payload: Buffer; contentType: string } {
  const boundary = `----resolve${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"`;
    head += '\r\n';
    if (p.contentType) head += `Content-Type: ${p.contentType}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`), Buffer.from(p.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

function upload(
  auth: { authorization: string } | Record<string, never>,
  parts: Part[],
  s: TestShop = shop,
): Promise<Res> {
  const { payload, contentType } = multipart(parts);
  return ctx.app.inject({
    method: 'POST',
    url: `/v1/resolve/${s.slug}/uploads`,
    headers: { ...auth, 'content-type': contentType },
    payload,
  });
}

const photo = (data: Buffer, filename = 'photo.jpg', contentType = 'image/jpeg'): Part[] => [
  { name: 'file', data, filename, contentType },
];

async function uploadRows(shopId: string) {
  return ctx.db.select().from(uploads).where(eq(uploads.shopId, shopId));
}

/** Files the local driver holds for a shop (keys are `{shop id}/{upload id}`). */
function storedFiles(shopId: string): string[] {
  const cfg = ctx.deps.config.storage;
  assert.equal(cfg.driver, 'local');
  const dir = path.join(cfg.dir, shopId);
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
}

/** A valid JPEG of about `size` bytes: plain.jpg with comment segments of filler text. */
function bigJpeg(size: number): Buffer {
  const plain = fixture('plain.jpg');
  const segs: Buffer[] = [];
  for (let left = size - plain.length; left > 0; ) {
    const n = Math.min(60_000, Math.max(left - 4, 1));
    const seg = Buffer.alloc(n + 4, 'A');
    seg[0] = 0xff;
    seg[1] = 0xfe;
    seg.writeUInt16BE(n + 2, 2);
    segs.push(seg);
    left -= n + 4;
  }
  return Buffer.concat([plain.subarray(0, 2), ...segs, plain.subarray(2)]);
}

/** GPSLatitude 52° 31' 7518/625" as the fixtures store it (3 unsigned rationals), both byte orders. */
function latitudeBytes(): Buffer[] {
  const be = Buffer.alloc(24);
  const le = Buffer.alloc(24);
  [52, 1, 31, 1, 7518, 625].forEach((v, i) => {
    be.writeUInt32BE(v, i * 4);
    le.writeUInt32LE(v, i * 4);
  });
  return [be, le];
}

function pathOf(url: string): string {
  const base = ctx.deps.config.publicUrl;
  assert.ok(url.startsWith(`${base}/v1/files/`), url);
  return url.slice(base.length);
}

describe('POST /v1/resolve/{slug}/uploads', () => {
  test('a JPEG sent as image/png named x.exe is stored as image/jpeg (type by content)', async () => {
    const auth = await openSession();
    const jpeg = fixture('plain.jpg');
    for (const [filename, contentType] of [
      ['photo.png', 'image/png'],
      ['x.exe', 'application/x-msdownload'],
      ['noext', 'application/octet-stream'],
    ]) {
      const res = await upload(auth, photo(jpeg, filename, contentType));
      assert.equal(res.statusCode, 201, res.body);
      const body = res.json();
      assert.deepEqual(Object.keys(body).sort(), ['content_type', 'id', 'size']);
      assert.match(body.id, /^upl_/);
      assert.equal(body.content_type, 'image/jpeg');
      assert.equal(body.size, jpeg.length);
    }
  });

  test('every supported format is accepted, recorded and stored without location data', async () => {
    const auth = await openSession();
    const lat = latitudeBytes();
    for (const [name, type] of [
      ['exif-gps-orientation.jpg', 'image/jpeg'],
      ['exif-gps.png', 'image/png'],
      ['exif-gps.webp', 'image/webp'],
      ['exif-gps.heic', 'image/heic'],
      ['xmp-gps.jpg', 'image/jpeg'],
    ]) {
      const original = fixture(name);
      // A part without a declared type and with a misleading name changes nothing.
      const res = await upload(auth, [{ name: 'file', data: original, filename: 'scan.txt' }]);
      assert.equal(res.statusCode, 201, `${name}: ${res.body}`);
      const { id, content_type, size } = res.json();
      assert.equal(content_type, type, name);

      const [row] = await ctx.db.select().from(uploads).where(eq(uploads.id, id));
      assert.equal(row.shopId, shop.shop.id);
      assert.equal(row.claimId, null);
      assert.equal(row.contentType, type);
      assert.equal(row.storageKey, `${shop.shop.id}/${id}`);
      const stored = await storage.get(row.storageKey);
      assert.ok(stored, `${name}: file stored`);
      assert.equal(stored.length, size);
      assert.equal(row.size, size);
      assert.equal(row.sha256, createHash('sha256').update(stored).digest('hex'));

      if (name.startsWith('exif-gps')) {
        assert.ok(
          lat.some((l) => original.includes(l)),
          `${name}: fixture carries the latitude`,
        );
        for (const l of lat) assert.equal(stored.indexOf(l), -1, `${name}: latitude stored`);
      } else {
        assert.ok(original.includes('52,31.20048N'));
        assert.equal(stored.indexOf('52,31.20048N'), -1, `${name}: XMP latitude stored`);
      }
    }
  });

  test('a photo larger than the JSON body limit but within the upload limit is accepted', async () => {
    const auth = await openSession();
    const size = ctx.deps.config.bodyLimitBytes + 512 * 1024;
    const res = await upload(auth, photo(bigJpeg(size)));
    assert.equal(res.statusCode, 201, res.body.slice(0, 300));
    assert.ok(res.json().size >= size - 100);
  });

  test('a motion photo straight from a phone (JPEG + MP4 video) is accepted and stored as the JPEG alone', async () => {
    const auth = await openSession();
    const jpeg = fixture('exif-gps-orientation.jpg');
    const video = mp4(noise(64 * 1024));
    const res = await upload(auth, photo(Buffer.concat([jpeg, video]), 'PXL_20240501_101010123.MP.jpg'));
    assert.equal(res.statusCode, 201, res.body);
    const { id, content_type, size } = res.json();
    assert.equal(content_type, 'image/jpeg');
    assert.equal(size, jpeg.length);
    const [row] = await ctx.db.select().from(uploads).where(eq(uploads.id, id));
    const stored = await storage.get(row.storageKey);
    assert.ok(stored);
    assert.equal(stored.length, jpeg.length);
    assert.equal(row.size, jpeg.length);
    assert.equal(row.sha256, createHash('sha256').update(stored).digest('hex'));
    for (const gone of ['ftyp', 'mdat', VIDEO_PLACE]) assert.equal(stored.indexOf(gone), -1, gone);
    for (const l of latitudeBytes()) assert.equal(stored.indexOf(l), -1, 'EXIF latitude stored');
  });

  test('without a session: 401, nothing stored', async () => {
    const before = (await uploadRows(shop.shop.id)).length;
    assertError(await upload({}, photo(fixture('plain.jpg'))), 401, 'session_required');
    assertError(
      await upload({ authorization: `Bearer rss_${'x'.repeat(43)}` }, photo(fixture('plain.jpg'))),
      401,
      'session_expired',
    );
    assert.equal((await uploadRows(shop.shop.id)).length, before);
  });

  test("another shop's session does not open this shop", async () => {
    const other = await createTestShop(ctx.db, 'upl-other');
    const otherAuth = await openSession(other, await putOrder(other));
    assertError(await upload(otherAuth, photo(fixture('plain.jpg'))), 401, 'session_expired');
    assert.equal((await uploadRows(other.shop.id)).length, 0);
  });

  test('a wrong field name, or no file part at all: 400 at /file', async () => {
    const auth = await openSession();
    const jpeg = fixture('plain.jpg');
    for (const parts of [
      [{ name: 'photo', data: jpeg, filename: 'a.jpg', contentType: 'image/jpeg' }],
      [{ name: 'file', data: 'just a text field' }],
      [{ name: 'note', data: 'hello' }],
    ]) {
      const err = assertError(await upload(auth, parts), 400, 'validation_failed');
      assert.deepEqual(
        err.errors?.map((e) => e.path),
        ['/file'],
      );
    }
  });

  test('two photos, too many fields, a body without boundary or cut off mid-upload: 4xx with a stable key, nothing stored', async () => {
    const auth = await openSession();
    const jpeg = fixture('plain.jpg');
    const before = await uploadRows(shop.shop.id);
    const twoFiles = await upload(auth, [...photo(jpeg), ...photo(jpeg, 'b.jpg')]);
    assertError(twoFiles, 400, 'validation_failed');
    const fields = Array.from({ length: 6 }, (_, i) => ({ name: `note${i}`, data: 'x' }));
    assertError(await upload(auth, [...fields, ...photo(jpeg)]), 400, 'validation_failed');
    const url = `/v1/resolve/${shop.slug}/uploads`;
    const noBoundary = await ctx.app.inject({
      method: 'POST',
      url,
      headers: { ...auth, 'content-type': 'multipart/form-data' },
      payload: 'x',
    });
    assertError(noBoundary, 400, 'invalid_request');
    // An aborted upload: the body ends inside the file part.
    const { payload, contentType } = multipart(photo(jpeg));
    const cut = await ctx.app.inject({
      method: 'POST',
      url,
      headers: { ...auth, 'content-type': contentType },
      payload: payload.subarray(0, payload.length - 300),
    });
    assertError(cut, 400, 'invalid_request');
    assert.deepEqual(await uploadRows(shop.shop.id), before);
  });

  test('not multipart: 415', async () => {
    const auth = await openSession();
    const url = `/v1/resolve/${shop.slug}/uploads`;
    assertError(
      await ctx.app.inject({ method: 'POST', url, headers: auth, payload: { file: 'abc' } }),
      415,
      'unsupported_media_type',
    );
    assertError(
      await ctx.app.inject({
        method: 'POST',
        url,
        headers: { ...auth, 'content-type': 'image/jpeg' },
        payload: fixture('plain.jpg'),
      }),
      415,
      'unsupported_media_type',
    );
    // A form post says what to send: multipart, not JSON.
    const form = assertError(
      await ctx.app.inject({
        method: 'POST',
        url,
        headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'file=abc',
      }),
      415,
      'unsupported_media_type',
    );
    assert.match(form.message, /multipart\/form-data/);
  });

  test('over the shop upload limit: 413 payload_too_large, no row and no file', async () => {
    const small = await createTestShop(ctx.db, 'upl-small');
    const patch = await ctx.app.inject({
      method: 'PATCH',
      url: `/v1/shops/${small.slug}/settings/resolve`,
      headers: small.auth.admin,
      payload: { upload_max_bytes: 100_000 },
    });
    assert.equal(patch.statusCode, 200, patch.body);
    assert.equal(patch.json().upload_max_bytes, 100_000);
    const auth = await openSession(small, await putOrder(small));

    const err = assertError(await upload(auth, photo(bigJpeg(150_000)), small), 413, 'payload_too_large');
    assert.equal(err.message, 'Photos may be at most 0.1 MB.');
    assert.equal((await uploadRows(small.shop.id)).length, 0);
    assert.deepEqual(storedFiles(small.shop.id), []);

    // Just under the limit is fine.
    const ok = await upload(auth, photo(bigJpeg(90_000)), small);
    assert.equal(ok.statusCode, 201, ok.body);
    assert.equal((await uploadRows(small.shop.id)).length, 1);
    assert.equal(storedFiles(small.shop.id).length, 1);
  });

  test('a file that is not a supported photo: 415 unsupported_file_type, nothing stored', async () => {
    const auth = await openSession();
    const before = (await uploadRows(shop.shop.id)).length;
    const gif = Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64');
    for (const [data, filename, contentType] of [
      [gif, 'photo.jpg', 'image/jpeg'],
      [Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'), 'a.png', 'image/png'],
      [Buffer.from('%PDF-1.4\n%%EOF\n'), 'receipt.pdf', 'application/pdf'],
      [Buffer.from('MZ\x90\x00 this program cannot be run in DOS mode'), 'x.exe', 'image/jpeg'],
    ] as const) {
      const err = assertError(
        await upload(auth, photo(data, filename, contentType)),
        415,
        'unsupported_file_type',
      );
      assert.match(err.message, /JPEG, PNG, WebP and HEIC/);
    }
    assertError(await upload(auth, photo(Buffer.alloc(0))), 400, 'validation_failed');
    assert.equal((await uploadRows(shop.shop.id)).length, before);
  });

  test('a polyglot or damaged photo: 422 invalid_evidence, nothing stored', async () => {
    const auth = await openSession();
    const before = (await uploadRows(shop.shop.id)).length;
    const filesBefore = storedFiles(shop.shop.id).length;
    const zip = Buffer.concat([
      Buffer.from('PK\x03\x04', 'latin1'),
      Buffer.alloc(26),
      Buffer.from('PK\x05\x06', 'latin1'),
      Buffer.alloc(18),
    ]);
    const comment = Buffer.from('<script>alert(1)</script>');
    const com = Buffer.concat([Buffer.from([0xff, 0xfe, 0, comment.length + 2]), comment]);
    const jpeg = fixture('plain.jpg');
    for (const [what, data] of [
      ['jpeg+zip', Buffer.concat([jpeg, zip])],
      ['png+bytes after IEND', Buffer.concat([fixture('exif-gps.png'), Buffer.from('<html>')])],
      ['script in a JPEG comment', Buffer.concat([jpeg.subarray(0, 2), com, jpeg.subarray(2)])],
      ['truncated jpeg', jpeg.subarray(0, jpeg.length - 2)],
    ] as const) {
      const res = await upload(auth, photo(data));
      assertError(res, 422, 'invalid_evidence');
      assert.ok(what);
    }
    assert.equal((await uploadRows(shop.shop.id)).length, before);
    assert.equal(storedFiles(shop.shop.id).length, filesBefore);
  });
});

describe('GET /v1/files/{id} (signed URLs)', () => {
  let id: string;
  let stored: Buffer;
  before(async () => {
    const auth = await openSession();
    const res = await upload(auth, photo(fixture('exif-gps-orientation.jpg')));
    assert.equal(res.statusCode, 201, res.body);
    id = res.json().id;
    stored = (await storage.get(`${shop.shop.id}/${id}`))!;
  });

  test('a fresh signed URL serves the stored (cleaned) bytes with safe headers', async () => {
    const url = signedFileUrl(master, ctx.deps.config.publicUrl, id);
    const res = await ctx.app.inject({ method: 'GET', url: pathOf(url) });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['content-type'], 'image/jpeg');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    const csp = String(res.headers['content-security-policy']);
    assert.match(csp, /(^|;)\s*sandbox(\s*;|$)/);
    assert.match(csp, /default-src 'none'/);
    assert.match(String(res.headers['cache-control']), /private/);
    assert.match(String(res.headers['content-disposition']), /^inline/);
    assert.deepEqual(res.rawPayload, stored);
    for (const l of latitudeBytes()) assert.equal(res.rawPayload.indexOf(l), -1);
  });

  test('a tampered signature, a signature for another file, a moved expiry: 403 file_link_invalid', async () => {
    const url = new URL(signedFileUrl(master, ctx.deps.config.publicUrl, id));
    const sig = url.searchParams.get('sig')!;
    const exp = Number(url.searchParams.get('exp'));
    const get = (q: string, file = id) => ctx.app.inject({ method: 'GET', url: `/v1/files/${file}?${q}` });

    const flipped = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
    assertError(await get(`exp=${exp}&sig=${flipped}`), 403, 'file_link_invalid');
    assertError(await get(`exp=${exp}&sig=${sig.slice(0, -1)}`), 403, 'file_link_invalid');
    assertError(await get(`exp=${exp + 3600}&sig=${sig}`), 403, 'file_link_invalid');
    assertError(await get(`exp=${exp}&sig=`), 403, 'file_link_invalid');
    // A valid signature for another id does not open this one (nor does this one open another).
    const other = new URL(signedFileUrl(master, ctx.deps.config.publicUrl, 'upl_other'));
    assertError(await get(other.search.slice(1)), 403, 'file_link_invalid');
    // Signed with another key (e.g. another installation's secret).
    const foreign = new URL(signedFileUrl(randomBytes(32), ctx.deps.config.publicUrl, id));
    assertError(await get(foreign.search.slice(1)), 403, 'file_link_invalid');
    // The file-URL key is purpose-bound: the master secret itself does not sign links.
    assert.notDeepEqual(deriveKey(master, 'file-url'), master);
  });

  test('an expired link: 403 file_link_invalid', async () => {
    const issued = Date.now() - (FILE_URL_TTL_SECONDS + 5) * 1000;
    const url = signedFileUrl(master, ctx.deps.config.publicUrl, id, issued);
    assertError(await ctx.app.inject({ method: 'GET', url: pathOf(url) }), 403, 'file_link_invalid');
  });

  test('a missing exp or sig: 400', async () => {
    assertError(await ctx.app.inject({ method: 'GET', url: `/v1/files/${id}` }), 400, 'validation_failed');
  });

  test('an unknown id with a valid signature: 404; a row whose file is gone: 404', async () => {
    const url = signedFileUrl(master, ctx.deps.config.publicUrl, 'upl_doesnotexist');
    assertError(await ctx.app.inject({ method: 'GET', url: pathOf(url) }), 404, 'upload_not_found');

    const auth = await openSession();
    const res = await upload(auth, photo(fixture('plain.jpg')));
    const gone = res.json().id as string;
    await storage.delete(`${shop.shop.id}/${gone}`);
    const goneUrl = signedFileUrl(master, ctx.deps.config.publicUrl, gone);
    assertError(await ctx.app.inject({ method: 'GET', url: pathOf(goneUrl) }), 404, 'upload_not_found');
  });
});

describe('removing unattached uploads', () => {
  async function newUpload(auth: { authorization: string }): Promise<{ id: string; key: string }> {
    const res = await upload(auth, photo(fixture('plain.jpg')));
    assert.equal(res.statusCode, 201, res.body);
    const id = res.json().id as string;
    return { id, key: `${shop.shop.id}/${id}` };
  }
  const age = (id: string, hours: number) =>
    ctx.db
      .update(uploads)
      .set({ createdAt: sql`now() - (${hours} * interval '1 hour')` })
      .where(eq(uploads.id, id));
  const exists = async (u: { id: string; key: string }) => {
    const rows = await ctx.db.select({ id: uploads.id }).from(uploads).where(eq(uploads.id, u.id));
    const file = await storage.get(u.key);
    return { row: rows.length === 1, file: file !== null };
  };

  test('removeStaleUploads: older than 24 h and unattached goes (row and file); the rest stays', async () => {
    const auth = await openSession();
    const stale = await newUpload(auth);
    const fresh = await newUpload(auth);
    const almost = await newUpload(auth);
    const attached = await newUpload(auth);
    await age(stale.id, 25);
    await age(almost.id, 23);
    await age(attached.id, 72);
    await ctx.db.update(uploads).set({ claimId: 'clm_test_attached' }).where(eq(uploads.id, attached.id));

    const removed = await removeStaleUploads(ctx.db, storage);
    assert.ok(removed >= 1, `removed ${removed}`);
    assert.deepEqual(await exists(stale), { row: false, file: false });
    assert.deepEqual(await exists(fresh), { row: true, file: true });
    assert.deepEqual(await exists(almost), { row: true, file: true });
    assert.deepEqual(await exists(attached), { row: true, file: true });
    // Idempotent: a second run finds nothing of ours.
    await removeStaleUploads(ctx.db, storage);
    assert.deepEqual(await exists(fresh), { row: true, file: true });
  });

  describe('the maintenance job', () => {
    const job = (): ClaimedJob => ({
      id: `job_x${randomBytes(4).toString('hex')}`,
      type: 'maintenance.prune',
      shop_id: null,
      payload: {},
      attempts: 1,
      max_attempts: 10,
    });
    let pruneJobsBefore: string[];
    before(async () => {
      const rows = await ctx.db.select({ id: jobs.id }).from(jobs).where(eq(jobs.type, 'maintenance.prune'));
      pruneJobsBefore = rows.map((r) => r.id);
    });
    after(async () => {
      // The handler enqueues its next run; leave the (possibly shared) database as it was.
      const rows = await ctx.db.select({ id: jobs.id }).from(jobs).where(eq(jobs.type, 'maintenance.prune'));
      const mine = rows.map((r) => r.id).filter((i) => !pruneJobsBefore.includes(i));
      if (mine.length) await ctx.db.delete(jobs).where(inArray(jobs.id, mine));
    });

    test('maintenance.prune removes stale uploads (storage built from config, as in production)', async () => {
      const auth = await openSession();
      const stale = await newUpload(auth);
      const fresh = await newUpload(auth);
      await age(stale.id, 30);
      // ctx.deps has no storage: the handler builds it from config (local driver, same DATA_DIR).
      assert.equal(ctx.deps.storage, undefined);
      await jobHandlers(ctx.deps)['maintenance.prune'](job(), { db: ctx.db, log });
      assert.deepEqual(await exists(stale), { row: false, file: false });
      assert.deepEqual(await exists(fresh), { row: true, file: true });
      const next = await ctx.db
        .select({ id: jobs.id })
        .from(jobs)
        .where(and(eq(jobs.type, 'maintenance.prune'), eq(jobs.status, 'queued')));
      assert.equal(next.length, 1, 'the next run is scheduled');
    });

    test('maintenance.prune uses deps.storage when given', async () => {
      const auth = await openSession();
      const stale = await newUpload(auth);
      await age(stale.id, 30);
      const deleted: string[] = [];
      const spy: BlobStorage = {
        put: (k, d, t) => storage.put(k, d, t),
        get: (k) => storage.get(k),
        delete: async (k) => {
          deleted.push(k);
          await storage.delete(k);
        },
      };
      const deps: AppDeps = { ...ctx.deps, storage: spy };
      await jobHandlers(deps)['maintenance.prune'](job(), { db: ctx.db, log });
      assert.ok(deleted.includes(stale.key), deleted.join());
      assert.deepEqual(await exists(stale), { row: false, file: false });
    });

    test('a storage outage keeps the row (the file may still exist) and does not fail the job', async () => {
      const auth = await openSession();
      const stale = await newUpload(auth);
      await age(stale.id, 30);
      const broken: BlobStorage = {
        put: async () => {},
        get: async () => null,
        delete: async () => {
          throw new Error('storage unavailable');
        },
      };
      await jobHandlers({ ...ctx.deps, storage: broken })['maintenance.prune'](job(), { db: ctx.db, log });
      assert.deepEqual(await exists(stale), { row: true, file: true });
      // The next run (storage back) removes it.
      await jobHandlers({ ...ctx.deps, storage })['maintenance.prune'](job(), { db: ctx.db, log });
      assert.deepEqual(await exists(stale), { row: false, file: false });
    });
  });
});
