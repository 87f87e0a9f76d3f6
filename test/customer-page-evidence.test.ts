import assert from 'node:assert/strict';
import { test } from 'node:test';

// Photos of a request as a whole (no item named) on the customer page (web/resolve/src/validate.ts): checked
// as the server counts them (src/claims/check-claim.ts: they are the item's photos when one item is chosen,
// and count for no item otherwise), and sent without a line_item_id.

const web = (path: string) => import(`../web/resolve/src/${path}.ts`);

const flow = (name: string, min: number, max: number) =>
  ({
    flow: name,
    available: true,
    reason_code: null,
    reasons: [{ code: 'other', label: 'Other' }],
    items: [],
    resolutions: [],
    steps: {
      photos: { min, max },
      package_photo: 'off',
      signature: 'off',
      description: { required: false, min_length: 0, max_length: 5000 },
      prompts: [],
      dropoff_permission: false,
      handoff: 'native',
    },
  }) as never;
const order = {
  line_items: [
    { id: 'li-1', title: 'Mug' },
    { id: 'li-2', title: 'Plate' },
  ],
} as never;
let n = 0;
const photo = (lineItemId: string | null) => ({
  key: `p${++n}`,
  kind: 'photo',
  lineItemId,
  status: 'done',
  uploadId: `up-${n}`,
});

test('photos of the request as a whole: sent without an item, counted as the server counts them', async () => {
  const { validateStep, claimInput } = await web('validate');
  const { emptyDraft } = await web('draft');
  const { en } = await web('i18n/en');
  const { translator } = await web('i18n/index');
  const t = translator(en);
  const draft = (items: Record<string, number>, photos: unknown[]) => ({
    ...emptyDraft('support'),
    items,
    photos,
  });

  // "Something else" with no item (nothing shipped): the photos are the request's.
  const none = draft({}, [photo(null), photo(null)]);
  assert.deepEqual(validateStep('evidence', flow('support', 0, 5), none, order, t), {});
  assert.deepEqual(
    claimInput(flow('support', 0, 5), none).evidence.map(
      (e: { line_item_id: string | null }) => e.line_item_id,
    ),
    [null, null],
  );

  // One item chosen: the request's photos count as that item's, towards its minimum and its maximum.
  assert.deepEqual(
    validateStep('evidence', flow('defective', 1, 5), draft({ 'li-1': 1 }, [photo(null)]), order, t),
    {},
  );
  const six = draft({ 'li-1': 1 }, [
    photo('li-1'),
    photo('li-1'),
    photo('li-1'),
    photo(null),
    photo(null),
    photo(null),
  ]);
  assert.equal(
    validateStep('evidence', flow('support', 0, 5), six, order, t)['photo:li-1'],
    'Together with the photos for your request, at most 5 photos of Mug can be sent. Please remove some.',
  );
  // Two items chosen: the request's photos belong to neither.
  const two = validateStep(
    'evidence',
    flow('defective', 1, 5),
    draft({ 'li-1': 1, 'li-2': 1 }, [photo(null)]),
    order,
    t,
  );
  assert.deepEqual(Object.keys(two).sort(), ['photo:li-1', 'photo:li-2']);
});

test('photos of an item the customer unticked: kept in the draft, neither sent nor counted on the review', async () => {
  const { claimInput, sentEvidence } = await web('validate');
  const { emptyDraft } = await web('draft');
  const mug = photo('li-1');
  const plate = photo('li-2');
  const general = photo(null);
  const failed = { ...photo('li-1'), status: 'error', uploadId: null };
  const signature = { ...photo(null), kind: 'signature' };
  // The plate was ticked, photographed, then unticked.
  const d = {
    ...emptyDraft('defective'),
    items: { 'li-1': 1 },
    photos: [mug, plate, general, failed, signature],
  };
  const sent = sentEvidence(d).map((p: { key: string }) => p.key);
  assert.deepEqual(sent, [mug.key, general.key, signature.key]);
  assert.deepEqual(
    claimInput(flow('defective', 1, 5), d).evidence.map((e: { upload_id: string }) => e.upload_id),
    [mug.uploadId, general.uploadId, signature.uploadId],
  );
  // Ticked again, its photo is back.
  const again = sentEvidence({ ...d, items: { 'li-1': 1, 'li-2': 1 } }).map((p: { key: string }) => p.key);
  assert.deepEqual(again, [mug.key, plate.key, general.key, signature.key]);
});

test('file sizes in the page’s language: bytes in words, kB and MB short', async () => {
  const g = globalThis as { document?: unknown };
  const before = g.document;
  const { formatFileSize } = await web('i18n/index');
  try {
    g.document = { documentElement: { lang: 'en' } };
    assert.equal(formatFileSize(1), '1 byte');
    assert.equal(formatFileSize(19), '19 bytes');
    assert.equal(formatFileSize(240 * 1024), '240 kB');
    assert.equal(formatFileSize(2.45 * 1024 * 1024), '2.5 MB');
    g.document = { documentElement: { lang: 'de' } };
    assert.equal(formatFileSize(19), '19 Byte');
    assert.equal(formatFileSize(2.45 * 1024 * 1024), '2,5 MB');
  } finally {
    g.document = before;
  }
});
