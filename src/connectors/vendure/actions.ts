import type { AddressInputT } from '../../orders/document.js';
import { type ActionLine, PlatformError } from '../platform.js';
import type { VendureApi } from './client.js';
import { vendureAddress } from './mappers.js';
import {
  CANCEL_ORDER,
  GLOBAL_STOCK,
  MODIFY_ORDER,
  ORDER_STATE,
  SET_DRAFT_SHIPPING_ADDRESS,
  STOCK,
  TRANSITION_ORDER,
} from './queries.js';
import { DraftAddressSet, GlobalStock, IdResult, Modified, OrderState, StockOrder } from './schemas.js';

/** Order states in which nothing has left the warehouse and the customer's order stands. */
const BEFORE_FULFILMENT = new Set(['PaymentAuthorized', 'PaymentSettled', 'Modifying']);

async function orderState(api: VendureApi, id: string) {
  const data = await api.request(ORDER_STATE, { id }, OrderState, `order ${id}`);
  if (!data.order) throw new PlatformError('not_found', `No Vendure order ${id}`);
  return data.order;
}

function assertUnfulfilled(o: Awaited<ReturnType<typeof orderState>>, what: string) {
  if ((o.fulfillments ?? []).some((f) => f.state !== 'Cancelled'))
    throw new PlatformError('rejected', `cannot ${what}: order ${o.code} is already being fulfilled`);
  if (!BEFORE_FULFILMENT.has(o.state))
    throw new PlatformError('rejected', `cannot ${what}: order ${o.code} is ${o.state}`);
}

/**
 * `cancelOrder` for all lines and the shipping: Vendure releases the stock and moves the order to Cancelled.
 * Like Vendure's own admin, it moves no money; a refund is its own action. Already cancelled → nothing to do.
 */
export async function cancelOrder(
  api: VendureApi,
  id: string,
  reason: string,
): Promise<{ externalRef: string | null }> {
  const o = await orderState(api, id);
  if (o.state === 'Cancelled') return { externalRef: o.id };
  assertUnfulfilled(o, 'cancel');
  await api.mutate(
    CANCEL_ORDER,
    { input: { orderId: o.id, reason: `${reason} (through Resolve)`.slice(0, 500), cancelShipping: true } },
    'cancelOrder',
    IdResult,
    `cancelling order ${o.code}`,
  );
  return { externalRef: o.id };
}

const transition = (api: VendureApi, id: string, state: string) =>
  api.mutate(
    TRANSITION_ORDER,
    { id, state },
    'transitionOrderToState',
    IdResult,
    `moving order ${id} to ${state}`,
  );

/**
 * A placed order's address changes only through an order modification: Modifying → `modifyOrder` with
 * `updateShippingAddress` (shipping not recalculated, promotions frozen: the price must not move, or the order
 * would wait for an extra payment or a refund) → back to the state it came from. A failed modification still
 * returns the order to that state. The same address again is not an error.
 */
export async function changeShippingAddress(
  api: VendureApi,
  id: string,
  address: AddressInputT,
): Promise<{ externalRef: string | null }> {
  const o = await orderState(api, id);
  const input = vendureAddress(address);
  if (o.state === 'Draft') {
    await api.request(SET_DRAFT_SHIPPING_ADDRESS, { id: o.id, input }, DraftAddressSet, 'a draft address');
    return { externalRef: o.id };
  }
  assertUnfulfilled(o, 'change the address');
  // A crashed earlier attempt may have left it in Modifying: it goes back to where its payments say.
  const back =
    o.state !== 'Modifying'
      ? o.state
      : (o.payments ?? []).every((p) => p.state === 'Settled')
        ? 'PaymentSettled'
        : 'PaymentAuthorized';
  if (o.state !== 'Modifying') await transition(api, o.id, 'Modifying');
  let ref: string | null = o.id;
  try {
    const r = await api.mutate(
      MODIFY_ORDER,
      {
        input: {
          orderId: o.id,
          dryRun: false,
          updateShippingAddress: input,
          note: 'Shipping address changed by the customer through Resolve',
          options: { recalculateShipping: false, freezePromotions: true },
        },
      },
      'modifyOrder',
      Modified,
      `changing the address of order ${o.code}`,
    );
    ref = r.modifications.at(-1)?.id ?? o.id;
  } catch (err) {
    const same =
      err instanceof PlatformError &&
      (err.details as { errorCode?: string } | null)?.errorCode === 'NO_CHANGES_SPECIFIED_ERROR';
    if (!same) {
      await transition(api, o.id, back).catch(() => undefined);
      throw err;
    }
  }
  await transition(api, o.id, back);
  return { externalRef: ref };
}

/**
 * Units available per line: the variant's stock on hand minus what is allocated to placed orders and the
 * out-of-stock threshold; null for a variant whose inventory is not tracked (own flag, or the global one).
 */
export async function stockCheck(
  api: VendureApi,
  id: string,
  lines: ActionLine[],
): Promise<{ externalLineId: string; available: number | null }[]> {
  const data = await api.request(STOCK, { id }, StockOrder, `stock for order ${id}`);
  if (!data.order) throw new PlatformError('not_found', `No Vendure order ${id}`);
  const byId = new Map(data.order.lines.map((l) => [l.id, l.productVariant]));
  const needsGlobal = lines.some((l) => {
    const v = byId.get(l.externalLineId);
    return v && (v.trackInventory === 'INHERIT' || v.useGlobalOutOfStockThreshold);
  });
  const global = needsGlobal
    ? (await api.request(GLOBAL_STOCK, {}, GlobalStock, 'the stock settings')).globalSettings
    : null;
  return lines.map((l) => {
    const v = byId.get(l.externalLineId);
    if (!v) return { externalLineId: l.externalLineId, available: null };
    const tracked =
      v.trackInventory === 'TRUE' || (v.trackInventory === 'INHERIT' && !!global?.trackInventory);
    if (!tracked) return { externalLineId: l.externalLineId, available: null };
    const threshold = v.useGlobalOutOfStockThreshold
      ? (global?.outOfStockThreshold ?? 0)
      : v.outOfStockThreshold;
    return {
      externalLineId: l.externalLineId,
      available: Math.max(0, v.stockOnHand - v.stockAllocated - threshold),
    };
  });
}
