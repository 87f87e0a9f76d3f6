import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { ConfigError, loadConfig } from '../src/config.js';
import { deriveKey, openSecret, sealSecret } from '../src/lib/secret.js';
import { retryDelayMs } from '../src/webhooks/deliver.js';
import { blockedReason, egressPolicy } from '../src/webhooks/egress-policy.js';
import { checkWebhookUrl, EVENT_FILTERS, matchesFilter } from '../src/webhooks/endpoints.js';
import { newWebhookSecret, signatureHeader, webhookHeaders } from '../src/webhooks/signing.js';
import { parseRetryAfter } from '../src/webhooks/transport.js';

// The pure parts: signing (checked against the official library), the address policy, the retry arithmetic,
// sealing secrets, URL checks and the WEBHOOK_* configuration.

describe('Standard Webhooks signing', () => {
  test('the signature is exactly what the standardwebhooks library computes, and it verifies', () => {
    for (let i = 0; i < 20; i++) {
      const secret = newWebhookSecret();
      const id = `msg_${randomBytes(8).toString('hex')}`;
      const body = JSON.stringify({ n: i, text: 'Grüße, 😀', nested: { a: [1, 2] } });
      const ts = Math.floor(Date.now() / 1000) - i;
      const lib = new Webhook(secret).sign(id, new Date(ts * 1000), body);
      assert.equal(signatureHeader([secret], id, ts, body), lib);
      const headers = webhookHeaders([secret], id, ts, body);
      assert.deepEqual(new Webhook(secret).verify(body, headers), JSON.parse(body));
    }
  });

  test('two secrets give two space-separated signatures; each secret verifies on its own', () => {
    const [a, b] = [newWebhookSecret(), newWebhookSecret()];
    const ts = Math.floor(Date.now() / 1000);
    const h = webhookHeaders([a, b], 'msg_1', ts, '{}');
    assert.equal(h['webhook-signature'].split(' ').length, 2);
    assert.doesNotThrow(() => new Webhook(a).verify('{}', h));
    assert.doesNotThrow(() => new Webhook(b).verify('{}', h));
    assert.throws(() => new Webhook(newWebhookSecret()).verify('{}', h));
    assert.throws(() => new Webhook(a).verify('{"x":1}', h), 'a changed body fails');
  });
});

describe('egress policy', () => {
  test('non-public addresses are named; public ones pass', () => {
    const blocked: Record<string, RegExp> = {
      '127.0.0.1': /loopback/,
      '127.255.255.254': /loopback/,
      '10.0.0.1': /private/,
      '172.31.255.1': /private/,
      '192.168.0.1': /private/,
      '100.64.0.1': /CGNAT/,
      '169.254.169.254': /link-local/,
      '0.0.0.0': /unspecified/,
      '224.0.0.251': /multicast/,
      '255.255.255.255': /reserved/,
      '198.18.0.1': /benchmarking/,
      '::': /unspecified/,
      '::1': /loopback/,
      'fe80::1': /link-local/,
      'fe80::1%eth0': /link-local/,
      'fd12:3456::1': /unique local/,
      'ff02::1': /multicast/,
      '::ffff:127.0.0.1': /loopback \(embedded/,
      '::ffff:a9fe:a9fe': /link-local .*embedded/,
      '64:ff9b::a00:1': /private \(embedded/,
      '2002:c0a8:0101::1': /private \(embedded/,
      '2001:db8::1': /documentation/,
      '2001:0:4136:e378::1': /Teredo/,
    };
    for (const [ip, why] of Object.entries(blocked)) assert.match(blockedReason(ip) ?? 'null', why, ip);
    for (const ip of [
      '8.8.8.8',
      '93.184.216.34',
      '172.32.0.1',
      '2606:4700::1111',
      '::ffff:8.8.8.8',
      '64:ff9b::808:808',
    ])
      assert.equal(blockedReason(ip), null, ip);
  });

  test('allow-list: exact hosts, *.suffix, CIDRs (also for the IPv4-mapped form)', () => {
    const p = egressPolicy({
      allowedHosts: ['hooks.internal', '*.corp.example'],
      allowedCidrs: [{ address: '10.1.0.0', prefix: 16, family: 'ipv4' }],
    });
    assert.equal(p.hostAllowed('hooks.internal'), true);
    assert.equal(p.hostAllowed('HOOKS.internal.'), true);
    assert.equal(p.hostAllowed('x.hooks.internal'), false);
    assert.equal(p.hostAllowed('a.b.corp.example'), true);
    assert.equal(p.hostAllowed('corp.example'), false);
    assert.equal(p.hostAllowed('evilcorp.example'), false);
    assert.equal(p.refuseAddress('10.1.2.3'), null);
    assert.equal(p.refuseAddress('::ffff:10.1.2.3'), null);
    assert.match(p.refuseAddress('10.2.0.1') ?? '', /private/);
    assert.equal(p.refuseAddress('8.8.8.8'), null);
  });

  test('URL checks normalise good URLs and refuse the rest with a reason', () => {
    const p = egressPolicy({ allowedHosts: [], allowedCidrs: [] });
    assert.equal(
      checkWebhookUrl('https://Hooks.Example.com:8443/a?b=1', p),
      'https://hooks.example.com:8443/a?b=1',
    );
    assert.equal(checkWebhookUrl('https://8.8.8.8/x', p), 'https://8.8.8.8/x');
    for (const bad of ['https://127.0.0.1/x', 'https://[::1]/', 'https://localhost/', 'https://a.localhost/'])
      assert.throws(() => checkWebhookUrl(bad, p), /Invalid webhook URL/, bad);
    const open = egressPolicy({ allowedHosts: ['localhost'], allowedCidrs: [] });
    assert.equal(checkWebhookUrl('https://localhost:9000/x', open), 'https://localhost:9000/x');
  });
});

describe('event filters', () => {
  test('*, sources and exact types', () => {
    assert.ok(EVENT_FILTERS.includes('claims') && EVENT_FILTERS.includes('orders/cancelled'));
    assert.equal(matchesFilter(['*'], 'claims/created'), true);
    assert.equal(matchesFilter(['claims'], 'claims/action'), true);
    assert.equal(matchesFilter(['claims'], 'orders/cancelled'), false);
    assert.equal(matchesFilter(['claims/created'], 'claims/updated'), false);
    assert.equal(matchesFilter(['orders/cancelled', 'claims/updated'], 'claims/updated'), true);
    assert.equal(matchesFilter(['claim'], 'claims/created'), false);
  });
});

describe('retry arithmetic', () => {
  const schedule = [0, 5000, 300_000, 1_800_000];
  test('the step, jittered within ±10 %; null when used up', () => {
    assert.equal(
      retryDelayMs(schedule, 1, null, () => 0),
      4500,
    );
    assert.equal(
      retryDelayMs(schedule, 1, null, () => 0.5),
      5000,
    );
    assert.equal(
      retryDelayMs(schedule, 1, null, () => 0.999999),
      5500,
    );
    assert.equal(
      retryDelayMs(schedule, 0, null, () => 0.7),
      0,
    );
    assert.equal(retryDelayMs(schedule, 4, null), null);
  });
  test('Retry-After: never sooner than the schedule, never later than its longest step', () => {
    assert.equal(
      retryDelayMs(schedule, 1, 60_000, () => 0.5),
      60_000,
    );
    assert.equal(
      retryDelayMs(schedule, 1, 1000, () => 0.5),
      5000,
    );
    assert.equal(
      retryDelayMs(schedule, 1, 86_400_000, () => 0.5),
      1_800_000,
    );
    assert.equal(retryDelayMs(schedule, 4, 1000), null);
  });
  test('Retry-After values: seconds or an HTTP date', () => {
    const now = Date.parse('2026-11-29T10:00:00Z');
    assert.equal(parseRetryAfter('120', now), 120_000);
    assert.equal(parseRetryAfter(' 0 ', now), 0);
    assert.equal(parseRetryAfter('Sun, 29 Nov 2026 10:01:30 GMT', now), 90_000);
    assert.equal(parseRetryAfter('Sun, 29 Nov 2026 09:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), null);
    assert.equal(parseRetryAfter('-5', now), null);
    assert.equal(parseRetryAfter(undefined, now), null);
  });
});

describe('sealed secrets', () => {
  const key = deriveKey(randomBytes(32), 'webhook-endpoint-secret');
  test('round-trip; the wrong key, row or a changed byte does not open', () => {
    const secret = newWebhookSecret();
    const sealed = sealSecret(key, secret, 'whe_1');
    assert.ok(!sealed.includes(secret.slice(6)));
    assert.notEqual(sealSecret(key, secret, 'whe_1'), sealed, 'a fresh IV every time');
    assert.equal(openSecret(key, sealed, 'whe_1'), secret);
    assert.throws(() => openSecret(key, sealed, 'whe_2'));
    assert.throws(() => openSecret(deriveKey(randomBytes(32), 'x'), sealed, 'whe_1'));
    const raw = Buffer.from(sealed.slice(3), 'base64url');
    raw[raw.length - 1] ^= 1;
    assert.throws(() => openSecret(key, `v1.${raw.toString('base64url')}`, 'whe_1'));
    assert.throws(() => openSecret(key, 'plain', 'whe_1'));
  });
});

describe('configuration', () => {
  const load = (env: Record<string, string>) => loadConfig({ DATA_DIR: os.tmpdir(), ...env });
  const problems = (env: Record<string, string>) => {
    try {
      load(env);
    } catch (err) {
      if (err instanceof ConfigError) return err.message;
      throw err;
    }
    return '';
  };

  test('defaults follow SPEC §10', () => {
    const c = load({}).webhooks;
    assert.deepEqual(
      c.retryScheduleMs,
      [0, 5, 300, 1800, 7200, 18_000, 36_000, 50_400, 72_000, 86_400].map((s) => s * 1000),
    );
    assert.equal(c.connectTimeoutMs, 5000);
    assert.equal(c.timeoutMs, 15_000);
    assert.deepEqual(c.allowedHosts, []);
    assert.equal(c.proxyUrl, null);
  });

  test('WEBHOOK_* values are parsed, and bad ones stop the start with a readable message', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'whcfg-'));
    const ca = path.join(dir, 'ca.pem');
    fs.writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const c = load({
      WEBHOOK_RETRY_SCHEDULE: '0, 250ms, 2s,1m,1h, 1d',
      WEBHOOK_ALLOWED_HOSTS: 'Hooks.Internal, *.corp.example, 10.0.0.0/8, fd00::/8, 192.168.1.10',
      WEBHOOK_CA_FILE: ca,
      WEBHOOK_PROXY_URL: 'http://user:pw@proxy.internal:3128',
      WEBHOOK_TIMEOUT_MS: '20000',
      WEBHOOK_CONNECT_TIMEOUT_MS: '2000',
    }).webhooks;
    assert.deepEqual(c.retryScheduleMs, [0, 250, 2000, 60_000, 3_600_000, 86_400_000]);
    assert.deepEqual(c.allowedHosts, ['hooks.internal', '*.corp.example']);
    assert.deepEqual(
      c.allowedCidrs.map((x) => `${x.address}/${x.prefix}`),
      ['10.0.0.0/8', 'fd00::/8', '192.168.1.10/32'],
    );
    assert.equal(c.caFile, ca);
    assert.equal(c.proxyUrl, 'http://user:pw@proxy.internal:3128');
    assert.equal(c.timeoutMs, 20_000);

    assert.match(problems({ WEBHOOK_RETRY_SCHEDULE: '0,5x' }), /WEBHOOK_RETRY_SCHEDULE must be/);
    assert.match(problems({ WEBHOOK_RETRY_SCHEDULE: '0,8d' }), /WEBHOOK_RETRY_SCHEDULE/);
    assert.match(problems({ WEBHOOK_ALLOWED_HOSTS: '10.0.0.0/33' }), /not a valid CIDR/);
    assert.match(problems({ WEBHOOK_ALLOWED_HOSTS: 'bad host' }), /neither a hostname/);
    assert.match(
      problems({ WEBHOOK_CA_FILE: path.join(dir, 'missing.pem') }),
      /WEBHOOK_CA_FILE: cannot read/,
    );
    fs.writeFileSync(path.join(dir, 'empty.pem'), 'nothing');
    assert.match(problems({ WEBHOOK_CA_FILE: path.join(dir, 'empty.pem') }), /holds no PEM certificate/);
    assert.match(problems({ WEBHOOK_PROXY_URL: 'https://proxy:3128' }), /WEBHOOK_PROXY_URL must be http:/);
    assert.match(problems({ WEBHOOK_TIMEOUT_MS: '5' }), /WEBHOOK_TIMEOUT_MS must be a whole number/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
