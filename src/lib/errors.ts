/** One error type with stable keys. Clients switch on `key`; the table below maps keys to HTTP statuses. */
export const ERROR_STATUS = {
  invalid_json: 400,
  validation_failed: 400,
  invalid_request: 400,
  request_timeout: 408,
  uri_too_long: 414,
  request_headers_too_large: 431,
  unauthorized: 401,
  session_required: 401,
  session_expired: 401,
  token_invalid: 401,
  token_expired: 401,
  token_revoked: 401,
  forbidden: 403,
  csrf_failed: 403,
  invalid_credentials: 401,
  invite_invalid: 410,
  invite_not_found: 404,
  already_member: 409,
  user_not_found: 404,
  api_key_not_found: 404,
  api_key_shared: 409,
  last_admin: 409,
  connection_not_found: 404,
  connection_failed: 422,
  backfill_running: 409,
  backfill_not_running: 409,
  platform_unknown: 422,
  webhook_signature_invalid: 401,
  action_unsupported: 422,
  action_lines_invalid: 422,
  action_outcome_unknown: 422,
  action_not_found: 404,
  action_not_uncertain: 409,
  token_required: 403,
  preview_only: 403,
  admin_required: 403,
  not_found: 404,
  route_not_found: 404,
  shop_not_found: 404,
  order_not_found: 404,
  claim_not_found: 404,
  view_not_found: 404,
  upload_not_found: 404,
  file_link_invalid: 403,
  shipment_not_found: 404,
  webhook_endpoint_not_found: 404,
  webhook_message_not_found: 404,
  notice_not_found: 404,
  invalid_webhook_url: 400,
  webhook_endpoint_disabled: 409,
  webhook_endpoint_limit: 422,
  method_not_allowed: 405,
  order_exists: 409,
  duplicate_in_request: 409,
  shop_exists: 409,
  conflict: 409,
  idempotency_conflict: 409,
  idempotency_in_progress: 409,
  view_name_taken: 409,
  api_key_name_taken: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unsupported_file_type: 415,
  unprocessable: 422,
  flow_disabled: 422,
  order_cancelled: 422,
  not_fulfilled: 422,
  not_delivered: 422,
  outside_claim_window: 422,
  outside_return_window: 422,
  already_claimed: 422,
  item_not_eligible: 422,
  quantity_not_eligible: 422,
  evidence_required: 422,
  invalid_evidence: 422,
  action_not_allowed: 422,
  action_unavailable: 422,
  too_many_views: 422,
  invalid_transition: 409,
  stale_version: 409,
  rate_limited: 429,
  internal_error: 500,
  not_ready: 503,
  service_unavailable: 503,
} as const;

export type ErrorKey = keyof typeof ERROR_STATUS;

export interface FieldError {
  path: string;
  message: string;
}

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly key: ErrorKey | string,
    message: string,
    readonly errors: FieldError[] = [],
    status?: number,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'AppError';
    this.status = status ?? (ERROR_STATUS as Record<string, number>)[key] ?? 400;
  }
}

export function errorBody(err: AppError) {
  return {
    error: {
      type: err.status >= 500 ? 'api_error' : 'invalid_request_error',
      key: err.key,
      message: err.message,
      ...(err.errors.length ? { errors: err.errors } : {}),
    },
  };
}
