import type { ApiError } from './api';
import { formatWait, type T } from './i18n';
import type { MessageKey } from './i18n/en';
import type { ReasonCode } from './types';

/**
 * Why a claim was not sent, in the customer's words (never the server's English text), and what the page does
 * about it. Kept as keys, not text, so it follows a language switch.
 */
export interface SubmitProblem {
  key: MessageKey;
  /** An eligibility reason code, shown in words (`error.not_eligible`). */
  reason?: string;
  /** Seconds to wait (429). */
  wait?: number;
  /** The parts of the form the server found wrong (`submit.changed`). */
  parts?: MessageKey[];
  /** Offer the way back to the order: this report cannot go on as it is. */
  toOrder?: boolean;
  /** Reload the order's eligibility and the shop's form: the draft is fitted to them and the wizard goes to
   * the first step that is no longer complete. */
  refresh?: boolean;
  /** Upload the photos again with the next send. */
  reupload?: boolean;
  /** The idempotency key was used for a claim with other answers: a new send needs a new key. */
  newKey?: boolean;
}

/** The flow-level eligibility answers (422, key = reason code, SPEC §14): the flow is closed for this order. */
const FLOW_GATES: string[] = [
  'flow_disabled',
  'order_cancelled',
  'not_fulfilled',
  'not_delivered',
  'outside_claim_window',
  'outside_return_window',
] satisfies ReasonCode[];

/** Field paths of a 400 `validation_failed` (src/claims/check-claim.ts), as the review names those parts. */
const PARTS: [RegExp, MessageKey][] = [
  [/^\/items/, 'review.items'],
  [/^\/reason/, 'review.reason'],
  [/^\/evidence/, 'review.photos'],
  [/^\/description/, 'review.description'],
  [/^\/dropoff_permission/, 'review.dropoff'],
  [/^\/answers/, 'details.title'],
  [/^\/resolution_preference/, 'review.resolution'],
];

/**
 * Every answer POST /v1/resolve/{slug}/claims can give besides 201 (SPEC §14, src/resolve/routes.ts,
 * src/claims/check-claim.ts, src/lib/errors.ts). The session's end (401) is handled before: it reopens the
 * lookup with everything kept.
 */
export function submitProblem(e: ApiError | null): SubmitProblem {
  if (!e) return { key: 'review.failed' };
  if (FLOW_GATES.includes(e.key))
    return { key: 'error.not_eligible', reason: e.key, toOrder: true, refresh: true };
  switch (e.key) {
    case 'offline':
      return { key: 'page.offline' };
    // Also a flow-level gate when every unit is claimed: the refreshed eligibility tells (see App).
    case 'already_claimed':
      return { key: 'submit.already_claimed', refresh: true };
    case 'item_not_eligible':
      return { key: 'submit.items_changed', refresh: true };
    case 'quantity_not_eligible':
      return { key: 'submit.quantity_changed', refresh: true };
    case 'evidence_required':
      return { key: 'submit.evidence', refresh: true };
    case 'invalid_evidence':
      return { key: 'submit.evidence_gone', reupload: true };
    case 'validation_failed': {
      const parts = [
        ...new Set(
          e.errors.flatMap((x) =>
            PARTS.filter(([re]) => re.test(x.path.replace(/^\/body/, ''))).map(([, k]) => k),
          ),
        ),
      ];
      // No part of the form named (e.g. the Idempotency-Key header): the page's own fault, a retry may do.
      return parts.length ? { key: 'submit.changed', parts, refresh: true } : { key: 'review.failed' };
    }
    case 'idempotency_conflict':
    case 'conflict':
      return { key: 'submit.already_sent', toOrder: true, newKey: true, refresh: true };
    case 'idempotency_in_progress':
      return { key: 'submit.busy' };
    case 'rate_limited':
      return { key: 'lookup.throttled', wait: e.retryAfter ?? 60 };
    case 'payload_too_large':
      return { key: 'submit.too_large' };
    case 'shop_not_found':
      return { key: 'page.shop_not_found' };
    case 'service_unavailable':
    case 'not_ready':
      return { key: 'error.unavailable' };
    default:
      // invalid_json, invalid_request, internal_error, order_not_found and anything new: try again.
      return { key: 'review.failed' };
  }
}

/** `reasonText` words an eligibility reason code for the report's flow and order (OrderHome's reasonText). */
export function problemText(t: T, p: SubmitProblem, reasonText?: (code: string) => string): string {
  return t(p.key, {
    reason: p.reason ? (reasonText?.(p.reason) ?? t(`reason_code.${p.reason}` as MessageKey)) : '',
    time: formatWait(t, p.wait ?? 0),
    parts: (p.parts ?? []).map((k) => t(k)).join(', '),
  });
}
