import { normalizeOrderNumber } from '../orders/document.js';

/** The part of a claim's context snapshot (create-claim.ts) that the claims list filters on. */
export interface SnapshotFields {
  order_number: string;
  currency: string;
  claim_value: number;
  shipment: { phase: string; carrier: string | null } | null;
  shipping_address: { country_code?: string | null } | null;
  customer: { email: string | null };
}

const clean = (v: string | null | undefined) => {
  const t = v?.trim();
  return t ? t : null;
};

/**
 * The claim's filter columns, taken from its context snapshot at submission: the list, counts, export and
 * analytics read these plain columns instead of the jsonb. The migration that added them (0003) backfills
 * existing rows with the same rules in SQL; keep the two in step.
 */
export function filterColumns(ctx: SnapshotFields) {
  return {
    orderNumberNorm: normalizeOrderNumber(ctx.order_number),
    customerEmail: clean(ctx.customer.email)?.toLowerCase() ?? null,
    carrier: clean(ctx.shipment?.carrier)?.toLowerCase() ?? null,
    countryCode: clean(ctx.shipping_address?.country_code)?.toUpperCase() ?? null,
    shipmentPhase: ctx.shipment?.phase ?? null,
    claimValue: ctx.claim_value,
    currency: ctx.currency,
  };
}
