import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { eq, sql } from 'drizzle-orm';
import { type Config, loadConfig } from '../src/config.js';
import { uploads } from '../src/db/schema.js';
import { loadMasterSecret } from '../src/lib/secret.js';
import { signedFileUrl } from '../src/resolve/files.js';
import { removeStaleUploads } from '../src/resolve/uploads.js';
import { createStorage } from '../src/storage/index.js';
import { localStorage } from '../src/storage/local.js';
import type { BlobStorage } from '../src/storage/port.js';
import { s3Storage } from '../src/storage/s3.js';
import { createTestShop, startTestApp } from './support/app.js';
import { orderDoc } from './support/orders.js';
import { type S3Sim, startS3Sim } from './support/s3-sim.js';

// The storage port (evidence files): the local-disk driver and the S3-compatible driver, the latter
// against a local S3 simulator that verifies SigV4 signatures (test/support/s3-sim.ts).

type S3Config = Extract<Config['storage'], { driver: 's3' }>;
const s3Config = (sim: S3Sim, overrides: Partial<S3Config> = {}): S3Config => ({
  driver: 's3',
  bucket: sim.bucket,
  region: sim.region,
  endpoint: sim.endpoint,
  accessKeyId: sim.accessKeyId,
  secretAccessKey: sim.secretAccessKey,
  forcePathStyle: true,
  ...overrides,
});

/** The behaviour every driver must have. */
async function contract(store: BlobStorage) {
  const key = `shop_${randomBytes(4).toString('hex')}/upl_${randomBytes(6).toString('hex')}`;
  const data = randomBytes(200_000); // binary, incl. every byte value; bigger than one socket chunk
  assert.equal(await store.get(key), null, 'missing key → null');
  await store.put(key, data, 'image/jpeg');
  assert.deepEqual(await store.get(key), data);
  const replaced = Buffer.from('second version');
  await store.put(key, replaced, 'image/png');
  assert.deepEqual(await store.get(key), replaced, 'put replaces');
  await store.delete(key);
  assert.equal(await store.get(key), null, 'deleted → null');
  await store.delete(key); // deleting what is gone is fine
  // Keys of two shops never collide.
  const [a, b] = ['shop_a', 'shop_b'].map((s) => `${s}/upl_same`);
  await store.put(a, Buffer.from('A'), 'image/jpeg');
  await store.put(b, Buffer.from('B'), 'image/jpeg');
  assert.equal(String(await store.get(a)), 'A');
  assert.equal(String(await store.get(b)), 'B');
  await store.delete(a);
  assert.equal(String(await store.get(b)), 'B');
  await store.delete(b);
}

describe('local driver', () => {
  let root: string;
  let dir: string;
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'resolve-storage-'));
    dir = path.join(root, 'uploads');
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  test('put / get / delete; a missing key is null', async () => {
    await contract(localStorage(dir));
  });

  test('files land under the directory, written atomically (no temp files left)', async () => {
    const store = localStorage(dir);
    await store.put('shop_x/upl_1', Buffer.from('photo'), 'image/jpeg');
    assert.equal(fs.readFileSync(path.join(dir, 'shop_x', 'upl_1'), 'utf8'), 'photo');
    assert.deepEqual(fs.readdirSync(path.join(dir, 'shop_x')), ['upl_1']);
    await store.delete('shop_x/upl_1');
    assert.deepEqual(fs.readdirSync(path.join(dir, 'shop_x')), []);
  });

  test('path traversal and other odd keys are rejected by put, get and delete', async () => {
    const store = localStorage(dir);
    // A file next to the storage directory that a traversal would reach.
    fs.writeFileSync(path.join(root, 'secret'), 'do not read');
    fs.mkdirSync(dir, { recursive: true });
    const bad = [
      '../secret',
      'shop/../../secret',
      'shop/..',
      '..',
      '/etc/passwd',
      `${root}/secret`,
      'shop\\..\\..\\secret',
      'shop//upl',
      'shop/upl/',
      '',
      'shop/upl\0.jpg',
      '%2e%2e/secret',
      'shop/upl?x=1',
    ];
    for (const key of bad) {
      await assert.rejects(store.get(key), /invalid storage key/, `get ${JSON.stringify(key)}`);
      await assert.rejects(
        store.put(key, Buffer.from('x'), 'image/jpeg'),
        /invalid storage key/,
        `put ${key}`,
      );
      await assert.rejects(store.delete(key), /invalid storage key/, `delete ${JSON.stringify(key)}`);
    }
    assert.equal(fs.readFileSync(path.join(root, 'secret'), 'utf8'), 'do not read');
    assert.deepEqual(fs.readdirSync(root).sort(), ['secret', 'uploads']);
  });

  test('createStorage builds the local driver under DATA_DIR/uploads by default', async () => {
    const config = loadConfig({ DATA_DIR: root, LOG_LEVEL: 'silent' });
    assert.deepEqual(config.storage, { driver: 'local', dir: path.join(root, 'uploads') });
    const store = createStorage(config);
    await store.put('shop_y/upl_2', Buffer.from('z'), 'image/webp');
    assert.ok(fs.existsSync(path.join(root, 'uploads', 'shop_y', 'upl_2')));
    await store.delete('shop_y/upl_2');
  });
});

describe('S3 driver (against the simulator)', () => {
  let sim: S3Sim;
  let store: BlobStorage;
  before(async () => {
    sim = await startS3Sim();
    store = s3Storage(s3Config(sim));
  });
  after(() => sim.close());

  test('put / get / delete; a missing key is null (404 NoSuchKey)', async () => {
    await contract(store);
    assert.deepEqual(sim.unexpected, []);
    const ops = new Set(sim.log.map((l) => l.op));
    assert.deepEqual([...ops].sort(), ['DeleteObject', 'GetObject', 'NoSuchKey', 'PutObject']);
    // Path-style: /{bucket}/{key}.
    assert.ok(
      sim.log.every((l) => l.path.startsWith(`/${sim.bucket}/shop_`)),
      JSON.stringify(sim.log[0]),
    );
  });

  test('the object keeps its content type and exact key', async () => {
    await store.put('shop_q/upl_ct', Buffer.from('png bytes'), 'image/png');
    const obj = sim.objects.get('shop_q/upl_ct');
    assert.equal(obj?.contentType, 'image/png');
    assert.equal(String(obj?.data), 'png bytes');
    // Keys needing URL encoding survive the signature and the path.
    const odd = 'shop_q/upl b+c=d';
    await store.put(odd, Buffer.from('odd'), 'image/jpeg');
    assert.ok(sim.objects.has(odd));
    assert.equal(String(await store.get(odd)), 'odd');
    await store.delete(odd);
    await store.delete('shop_q/upl_ct');
    assert.equal(sim.objects.size, 0);
    assert.deepEqual(sim.unexpected, []);
  });

  test('the simulator answers a missing key with the S3 NoSuchKey error', async () => {
    const client = new S3Client({
      region: sim.region,
      endpoint: sim.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: sim.accessKeyId, secretAccessKey: sim.secretAccessKey },
    });
    await assert.rejects(
      client.send(new GetObjectCommand({ Bucket: sim.bucket, Key: 'nope/none' })),
      (err) => {
        const e = err as { name: string; $metadata: { httpStatusCode?: number } };
        assert.equal(e.name, 'NoSuchKey');
        assert.equal(e.$metadata.httpStatusCode, 404);
        return true;
      },
    );
    client.destroy();
  });

  test('createStorage builds the S3 driver from the environment', async () => {
    const config = loadConfig({
      LOG_LEVEL: 'silent',
      STORAGE_DRIVER: 's3',
      S3_BUCKET: sim.bucket,
      S3_REGION: sim.region,
      S3_ENDPOINT: sim.endpoint,
      S3_ACCESS_KEY_ID: sim.accessKeyId,
      S3_SECRET_ACCESS_KEY: sim.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true',
    });
    const viaConfig = createStorage(config);
    await viaConfig.put('shop_env/upl_1', Buffer.from('env'), 'image/jpeg');
    assert.equal(String(await viaConfig.get('shop_env/upl_1')), 'env');
    await viaConfig.delete('shop_env/upl_1');
    assert.deepEqual(sim.unexpected, []);
  });
});

describe('S3 simulator strictness (so the driver tests mean something)', () => {
  let sim: S3Sim;
  before(async () => {
    sim = await startS3Sim();
  });
  after(() => sim.close());

  test('unsigned requests and requests without x-amz-date / x-amz-content-sha256 are refused', async () => {
    const url = `${sim.endpoint}/${sim.bucket}/shop_a/upl_1`;
    const unsigned = await fetch(url, { method: 'PUT', body: 'x' });
    assert.equal(unsigned.status, 403);
    assert.match(unsigned.headers.get('content-type') ?? '', /xml/);
    assert.match(await unsigned.text(), /<Code>AccessDenied<\/Code>/);

    const auth = `AWS4-HMAC-SHA256 Credential=${sim.accessKeyId}/20260101/${sim.region}/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${'0'.repeat(64)}`;
    const noDate = await fetch(url, {
      headers: { authorization: auth, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    });
    assert.equal(noDate.status, 403);
    const noHash = await fetch(url, { headers: { authorization: auth, 'x-amz-date': '20260101T000000Z' } });
    assert.equal(noHash.status, 400);
    assert.match(await noHash.text(), /x-amz-content-sha256/);
    assert.equal(sim.objects.size, 0);
  });

  test('a wrong secret fails the signature check; get reports it instead of "missing"', async () => {
    const wrong = s3Storage(s3Config(sim, { secretAccessKey: 'not-the-secret' }));
    await assert.rejects(wrong.put('shop_a/upl_1', Buffer.from('x'), 'image/jpeg'), {
      name: 'SignatureDoesNotMatch',
    });
    await assert.rejects(wrong.get('shop_a/upl_1'), { name: 'SignatureDoesNotMatch' });
    const unknownKey = s3Storage(s3Config(sim, { accessKeyId: 'AKIDUNKNOWN' }));
    await assert.rejects(unknownKey.get('shop_a/upl_1'), { name: 'InvalidAccessKeyId' });
    assert.equal(sim.objects.size, 0);
  });

  test('another bucket or another region is refused', async () => {
    const otherBucket = s3Storage(s3Config(sim, { bucket: 'someone-else' }));
    await assert.rejects(otherBucket.put('shop_a/upl_1', Buffer.from('x'), 'image/jpeg'), {
      name: 'NoSuchBucket',
    });
    const otherRegion = s3Storage(s3Config(sim, { region: 'us-west-2' }));
    await assert.rejects(otherRegion.put('shop_a/upl_1', Buffer.from('x'), 'image/jpeg'));
    assert.equal(sim.objects.size, 0);
    assert.ok(sim.unexpected.length >= 2, 'the refusals are recorded as unexpected');
  });
});

describe('evidence uploads end to end on S3', () => {
  test('upload → object in the bucket without GPS → signed URL serves it → cleanup deletes it', async () => {
    const sim = await startS3Sim();
    const ctx = await startTestApp({ storage: s3Config(sim) });
    try {
      const shop = await createTestShop(ctx.db, 'upl-s3');
      const doc = orderDoc();
      const put = await ctx.app.inject({
        method: 'PUT',
        url: `/v1/shops/${shop.slug}/orders`,
        headers: shop.auth.editor,
        payload: doc,
      });
      assert.equal(put.statusCode, 201, put.body);
      const session = await ctx.app.inject({
        method: 'POST',
        url: `/v1/resolve/${shop.slug}/sessions`,
        payload: { order_number: doc.order_number, zip_code: '10115' },
        remoteAddress: `192.168.${randomInt(256)}.${randomInt(1, 255)}`,
      });
      assert.equal(session.statusCode, 201, session.body);

      const photo = fs.readFileSync(path.join(import.meta.dirname, 'fixtures', 'images', 'exif-gps.heic'));
      const boundary = `----s3${randomBytes(6).toString('hex')}`;
      const payload = Buffer.concat([
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="IMG_0001.HEIC"\r\nContent-Type: image/heic\r\n\r\n`,
        ),
        photo,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      const res = await ctx.app.inject({
        method: 'POST',
        url: `/v1/resolve/${shop.slug}/uploads`,
        headers: {
          authorization: `Bearer ${session.json().session}`,
          'content-type': `multipart/form-data; boundary=${boundary}`,
        },
        payload,
      });
      assert.equal(res.statusCode, 201, res.body);
      const { id, content_type } = res.json();
      assert.equal(content_type, 'image/heic');

      const key = `${shop.shop.id}/${id}`;
      const obj = sim.objects.get(key);
      assert.ok(obj, `object ${key} in the bucket`);
      assert.equal(obj.contentType, 'image/heic');
      const latitude = Buffer.alloc(24);
      for (const [i, v] of [52, 1, 31, 1, 7518, 625].entries()) latitude.writeUInt32BE(v, i * 4);
      assert.ok(photo.includes(latitude), 'the fixture has the latitude');
      assert.equal(obj.data.indexOf(latitude), -1, 'the stored object has no latitude');

      const master = await loadMasterSecret(ctx.db, ctx.deps.config);
      const url = signedFileUrl(master, ctx.deps.config.publicUrl, id).slice(
        ctx.deps.config.publicUrl.length,
      );
      const file = await ctx.app.inject({ method: 'GET', url });
      assert.equal(file.statusCode, 200);
      assert.equal(file.headers['content-type'], 'image/heic');
      assert.deepEqual(file.rawPayload, obj.data);

      await ctx.db
        .update(uploads)
        .set({ createdAt: sql`now() - interval '25 hours'` })
        .where(eq(uploads.id, id));
      await removeStaleUploads(ctx.db, createStorage(ctx.deps.config));
      assert.equal(sim.objects.has(key), false, 'object deleted');
      assert.equal((await ctx.db.select().from(uploads).where(eq(uploads.id, id))).length, 0);
      assert.deepEqual(sim.unexpected, []);
    } finally {
      await ctx.close();
      await sim.close();
    }
  });
});
