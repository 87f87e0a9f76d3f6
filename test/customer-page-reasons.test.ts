import assert from 'node:assert/strict';
import { test } from 'node:test';

// Why the customer page says a flow is not available (web/resolve/src/reasons.ts): the server's `not_delivered`
// is worded per flow and per order, in each of the page's languages. The page's modules are loaded by tsx.

const web = (path: string) => import(`../web/resolve/src/${path}.ts`);

type Shipment = { phase: string; delivered_at: string | null };
const order = (...shipments: Shipment[]) => ({ shipments }) as never;
const moving = { phase: 'in_transit', delivered_at: null };
const delivered = { phase: 'delivered', delivered_at: '2026-11-28T10:00:00Z' };

test('not_delivered: only "not received" also opens when a parcel stops moving; a split order names the items on their way', async () => {
  const { reasonKey } = await web('reasons');
  const others = ['defective', 'missing_item', 'wrong_item', 'return', 'dissatisfied'];
  // One parcel on its way, or stuck (1002, 1004): the other flows wait for the delivery, nothing more.
  for (const flow of others) {
    assert.equal(reasonKey(flow, 'not_delivered', order(moving)), 'unavailable.awaiting_delivery', flow);
    assert.equal(reasonKey(flow, 'not_delivered', order(moving, moving)), 'unavailable.awaiting_delivery');
  }
  assert.equal(reasonKey('not_received', 'not_delivered', order(moving)), 'reason_code.not_delivered');
  // A parcel of the order arrived (1005 once its items are reported): the rest waits for the other parcel.
  for (const flow of others)
    assert.equal(reasonKey(flow, 'not_delivered', order(delivered, moving)), 'unavailable.items_on_the_way');
  // "Delivered" without a delivery time is not counted as delivered (as the server's gating does).
  assert.equal(
    reasonKey('defective', 'not_delivered', order({ phase: 'delivered', delivered_at: null }, moving)),
    'unavailable.awaiting_delivery',
  );
  assert.equal(
    reasonKey('not_received', 'not_delivered', order(delivered, moving)),
    'reason_code.not_delivered',
  );
  // Every other reason keeps its own words; an available flow has none.
  assert.equal(
    reasonKey('defective', 'outside_claim_window', order(delivered)),
    'reason_code.outside_claim_window',
  );
  assert.equal(reasonKey('defective', null, order(delivered)), null);
});

test('the new reasons are translated in every language, and only "not received" mentions a parcel that stops', async () => {
  const { LANGUAGES, loadMessages, translator } = await web('i18n/index');
  const en = translator(await loadMessages('en'));
  assert.equal(en('unavailable.awaiting_delivery'), 'Available once your parcel has been delivered.');
  assert.match(en('unavailable.items_on_the_way'), /items still on their way/);
  for (const lang of LANGUAGES as string[]) {
    const messages = await loadMessages(lang);
    const t = translator(messages);
    for (const key of ['unavailable.awaiting_delivery', 'unavailable.items_on_the_way']) {
      assert.ok(messages[key]?.trim(), `${lang} ${key}`);
      if (lang !== 'en') assert.notEqual(t(key), en(key), `${lang} ${key} is translated`);
    }
    // The text for the other flows is the one for "not received" without its "(or if it stops moving)".
    assert.ok(t('reason_code.not_delivered').length > t('unavailable.awaiting_delivery').length, lang);
    assert.doesNotMatch(t('unavailable.awaiting_delivery'), /\(/, lang);
  }
});
