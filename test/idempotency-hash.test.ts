import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requestHash } from '../src/http/idempotency.js';

test('an Idempotency-Key binds the request as data: field and query order do not matter, values and list order do', () => {
  const h = requestHash;
  const base = h('POST', '/v1/shops/a/claims?x=1&y=2', { a: 1, b: { c: [1, 2], d: 'e' } });
  assert.equal(h('POST', '/v1/shops/a/claims?y=2&x=1', { b: { d: 'e', c: [1, 2] }, a: 1 }), base);
  // A field sent as undefined is not sent (JSON has no undefined).
  assert.equal(
    h('POST', '/v1/shops/a/claims?x=1&y=2', { a: 1, z: undefined, b: { c: [1, 2], d: 'e' } }),
    base,
  );
  for (const other of [
    h('POST', '/v1/shops/a/claims?x=1&y=3', { a: 1, b: { c: [1, 2], d: 'e' } }),
    h('POST', '/v1/shops/a/claims?x=1', { a: 1, b: { c: [1, 2], d: 'e' } }),
    h('POST', '/v1/shops/b/claims?x=1&y=2', { a: 1, b: { c: [1, 2], d: 'e' } }),
    h('PUT', '/v1/shops/a/claims?x=1&y=2', { a: 1, b: { c: [1, 2], d: 'e' } }),
    h('POST', '/v1/shops/a/claims?x=1&y=2', { a: 1, b: { c: [2, 1], d: 'e' } }),
    h('POST', '/v1/shops/a/claims?x=1&y=2', { a: '1', b: { c: [1, 2], d: 'e' } }),
    h('POST', '/v1/shops/a/claims?x=1&y=2', { a: 1, b: { c: [1, 2], d: 'e', f: null } }),
  ])
    assert.notEqual(other, base);
  assert.equal(h('POST', '/x', null), h('POST', '/x', undefined));
  assert.notEqual(h('POST', '/x', null), h('POST', '/x', {}));
});
