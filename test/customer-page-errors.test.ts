import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ERROR_STATUS } from '../src/lib/errors.js';
import { REASON_CODES } from '../src/resolve/eligibility.js';

// The customer page's words for every refusal of POST /v1/resolve/{slug}/claims (src/resolve/routes.ts,
// src/resolve/claim-context.ts, src/claims/check-claim.ts, src/claims/create-claim.ts, src/app.ts's error
// handler), in each of its languages. The page's modules are loaded by tsx at run time (web/tsconfig checks them).

/** What the submit can answer besides 201; the session's end (401 session_required/session_expired) reopens
 * the lookup instead and is not a message here. */
const CLAIM_SUBMIT_KEYS = [
  ...REASON_CODES,
  'item_not_eligible',
  'quantity_not_eligible',
  'evidence_required',
  'invalid_evidence',
  'validation_failed',
  'idempotency_conflict',
  'idempotency_in_progress',
  'rate_limited',
  'payload_too_large',
  'shop_not_found',
  'service_unavailable',
  'invalid_json',
  'invalid_request',
  'internal_error',
];
/** Faults of the request itself or of the server: "we could not send it, try again" is the honest answer. */
const GENERIC = new Set(['invalid_json', 'invalid_request', 'internal_error']);

const web = (path: string) => import(`../web/resolve/src/${path}.ts`);

test('every refusal of a claim submit is explained in each of the page’s languages, not in the server’s English', async () => {
  const { submitProblem, problemText } = await web('submit-errors');
  const { ApiError } = await web('api');
  const { LANGUAGES, loadMessages, translator } = await web('i18n/index');
  const fieldErrors = [
    { path: '/description', message: 'must be at least 40 characters' },
    { path: '/answers/0/value', message: 'prompt "p1" is required' },
  ];
  const texts: Record<string, Record<string, string>> = {};
  for (const lang of LANGUAGES as string[]) {
    const t = translator(await loadMessages(lang));
    for (const key of CLAIM_SUBMIT_KEYS) {
      assert.ok(key in ERROR_STATUS, `${key} is one of the API's error keys`);
      const status = (ERROR_STATUS as Record<string, number>)[key];
      const err = new ApiError(
        key,
        'Server text in English.',
        status,
        30,
        key === 'validation_failed' ? fieldErrors : [],
      );
      const problem = submitProblem(err);
      if (!GENERIC.has(key)) assert.notEqual(problem.key, 'review.failed', `${key} has its own words`);
      const text = problemText(t, problem);
      assert.ok(text.trim(), `${lang} ${key}`);
      assert.doesNotMatch(text, /\{\w+\}|Server text|reason_code\./, `${lang} ${key}: ${text}`);
      texts[key] ??= {};
      texts[key][lang] = text;
    }
  }
  for (const key of CLAIM_SUBMIT_KEYS)
    for (const lang of LANGUAGES as string[])
      if (lang !== 'en') assert.notEqual(texts[key][lang], texts[key].en, `${key} is translated to ${lang}`);
  // The parts of the form the server named, in the customer's words.
  assert.match(texts.validation_failed.de, /Beschreibung/);
  assert.match(texts.validation_failed.fr, /Description/i);
  // A flow that closed meanwhile says why, with the way back to the order.
  assert.equal(submitProblem(new ApiError('outside_claim_window', '', 422)).toOrder, true);
  assert.match(texts.outside_claim_window.en, /The time to report this has passed/);
  // Eligibility changes reload the order; photos no longer attachable are uploaded again.
  for (const key of ['already_claimed', 'item_not_eligible', 'quantity_not_eligible', 'evidence_required'])
    assert.equal(submitProblem(new ApiError(key, '', 422)).refresh, true, key);
  assert.equal(submitProblem(new ApiError('invalid_evidence', '', 422)).reupload, true);
  assert.match(texts.rate_limited.en, /30 seconds/);
});

test('counts agree with their number in each language (one photo, two photos; French says 0 photo)', async () => {
  const { translator, loadMessages, formatWait } = await web('i18n/index');
  const cases: [string, string, Record<string, string | number>, string][] = [
    ['en', 'review.photo_count', { count: 1 }, '1 photo'],
    ['en', 'review.photo_count', { count: 2 }, '2 photos'],
    ['en', 'review.photo_count', { count: 0 }, '0 photos'],
    ['fr', 'review.photo_count', { count: 0 }, '0 photo'],
    ['fr', 'review.photo_count', { count: 3 }, '3 photos'],
    ['de', 'review.photo_count', { count: 1 }, '1 Foto'],
    ['nl', 'review.photo_count', { count: 4 }, '4 foto’s'],
    ['da', 'review.photo_count', { count: 1 }, '1 billede'],
    ['it', 'review.photo_count', { count: 2 }, '2 foto'],
    ['en', 'evidence.missing', { min: 1, title: 'Mug' }, 'Please add at least 1 photo of Mug.'],
    ['es', 'evidence.missing', { min: 2, title: 'Taza' }, 'Añade al menos 2 fotos de Taza.'],
  ];
  for (const [lang, key, vars, want] of cases) {
    const t = translator(await loadMessages(lang));
    assert.equal(t(key, vars), want, `${lang} ${key} ${JSON.stringify(vars)}`);
  }
  const en = translator(await loadMessages('en'));
  assert.equal(formatWait(en, 1), '1 second');
  assert.equal(formatWait(en, 45), '45 seconds');
  assert.equal(formatWait(en, 600), '10 minutes');
  const de = translator(await loadMessages('de'));
  assert.equal(formatWait(de, 1), '1 Sekunde');
  // No text of any language is left with an unfilled plural.
  for (const lang of ['en', 'de', 'fr', 'es', 'it', 'nl', 'da']) {
    const t = translator(await loadMessages(lang));
    for (const n of [0, 1, 2, 5])
      for (const key of ['review.photo_count', 'time.seconds', 'time.minutes'])
        assert.doesNotMatch(t(key, { count: n }), /[{}#]|\(s\)/, `${lang} ${key} ${n}`);
  }
});

test('every refusal of a photo upload has its own words in each language, and only passing faults offer "try again"', async () => {
  const { uploadError } = await web('photos');
  const { ApiError } = await web('api');
  const { LANGUAGES, loadMessages } = await web('i18n/index');
  const refusal = (key: string, retryAfter?: number) => {
    const e = new ApiError(key, `server text for ${key}`, 400, retryAfter ?? null);
    return uploadError(e, 5 * 1024 * 1024);
  };
  // The answers of POST /v1/resolve/{slug}/uploads besides 201 (src/resolve/routes.ts, upload-body.ts, image.ts).
  const expected: Record<string, [string, boolean]> = {
    unsupported_file_type: ['evidence.rejected_type', false],
    unsupported_media_type: ['evidence.rejected_type', false],
    invalid_evidence: ['evidence.rejected_content', false],
    payload_too_large: ['evidence.rejected_size', false],
    validation_failed: ['evidence.empty', false],
    shop_not_found: ['page.shop_not_found', false],
    rate_limited: ['evidence.throttled', true],
    service_unavailable: ['error.unavailable', true],
    not_ready: ['error.unavailable', true],
    offline: ['page.offline', true],
    invalid_request: ['evidence.failed', true],
    internal_error: ['evidence.failed', true],
  };
  for (const [key, [message, retryable]] of Object.entries(expected)) {
    const got = refusal(key);
    assert.equal(got.error.key, message, key);
    assert.equal(got.retryable, retryable, `${key}: retryable`);
  }
  assert.equal(uploadError(new TypeError('network'), 1).error.key, 'evidence.failed', 'a non-API fault');
  assert.deepEqual(refusal('payload_too_large').error, {
    key: 'evidence.rejected_size',
    maxBytes: 5 * 1024 * 1024,
  });
  assert.deepEqual(refusal('rate_limited', 42).error, { key: 'evidence.throttled', wait: 42 });
  for (const lang of LANGUAGES) {
    const messages = await loadMessages(lang);
    for (const [message] of Object.values(expected))
      assert.ok(messages[message]?.trim(), `${lang}: ${message} has a text`);
  }
});
