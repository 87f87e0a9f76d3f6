import { Type } from 'typebox';
import { NullableOut, Str, StrEnum } from '../http/schema-helpers.js';
import { EVENT_FILTERS, MAX_URL_LENGTH } from './endpoints.js';

const S = Type.String();
const NS = NullableOut(Type.String());

export const security: { [k: string]: string[] }[] = [{ basicAuth: [] }, { bearerAuth: [] }];
export const tags = ['Webhooks'];

export const SlugParams = Type.Object({ slug: Type.String() });
export const EndpointParams = Type.Object({
  slug: Type.String(),
  id: Type.String({ maxLength: 64, description: 'Webhook endpoint id (`whe_…`).' }),
});
export const MessageParams = Type.Object({
  slug: Type.String(),
  id: Type.String({ maxLength: 64, description: 'Webhook endpoint id (`whe_…`).' }),
  message_id: Type.String({ maxLength: 64, description: 'Message id (`msg_…`), the `webhook-id` header.' }),
});

const WebhookUrl = Str(MAX_URL_LENGTH, {
  minLength: 1,
  description:
    'Where to POST events: `https://` only, no credentials, a public address (unless the operator allow-lists it).',
  examples: ['https://hooks.example.com/resolve'],
});
const EventTypes = (opts: Record<string, unknown> = {}) =>
  Type.Array(Str(64, { enum: [...EVENT_FILTERS] }), {
    minItems: 1,
    maxItems: 20,
    description:
      '`*` for every event, a source (`claims`, `orders`) for all of its types, or exact types such as `claims/created`.',
    examples: [['claims/created', 'claims/updated'], ['*']],
    ...opts,
  });
const Description = NullableOut(
  Str(500, { description: 'A note for people, e.g. what receives these events.' }),
);

export const EndpointCreate = Type.Object(
  {
    url: WebhookUrl,
    description: Type.Optional(Description),
    event_types: Type.Optional(EventTypes({ default: ['*'] })),
  },
  { additionalProperties: false },
);

export const EndpointPatch = Type.Object(
  {
    url: Type.Optional(WebhookUrl),
    description: Type.Optional(Description),
    event_types: Type.Optional(EventTypes()),
    status: Type.Optional(
      StrEnum(['enabled', 'disabled'], {
        description:
          'Enabling clears the failure record (`disabled_reason`, `failing_since`); messages that failed meanwhile stay failed: replay them (`POST …/replay-failed`).',
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const RotateBody = Type.Object(
  {
    overlap_seconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 7 * 86_400,
        default: 86_400,
        description:
          'How long the old secret keeps signing too (a second `v1,` signature), so receivers can switch without dropping a message. 0 retires it at once.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const EndpointView = Type.Object(
  {
    id: S,
    url: S,
    description: NS,
    event_types: Type.Array(S),
    status: StrEnum(['enabled', 'disabled']),
    disabled_reason: NullableOut(
      StrEnum(['manual', 'gone', 'failing'], {
        description:
          '`manual`; `gone`: the receiver answered 410; `failing`: every attempt failed for 5 days.',
      }),
    ),
    disabled_at: NS,
    failing_since: NullableOut(
      Type.String({ description: 'First failed attempt since the last success; null while it answers.' }),
    ),
    last_success_at: NullableOut(
      Type.String({ description: 'Last successful attempt (updated at most once a minute).' }),
    ),
    secret_rotated_at: NS,
    previous_secret_expires_at: NullableOut(
      Type.String({
        description: 'While set, deliveries carry a second signature made with the previous secret.',
      }),
    ),
    created_at: S,
    updated_at: S,
  },
  { description: 'A webhook endpoint. Its secret is never shown here (only on create and rotate).' },
);

export const EndpointWithSecret = Type.Object({
  ...EndpointView.properties,
  secret: NullableOut(
    Type.String({
      description:
        'The signing secret (`whsec_…`), shown only in this answer. A replay of this request by Idempotency-Key answers null here: rotate the secret if the first answer was lost.',
      examples: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
    }),
  ),
});

export const DeliveryView = Type.Object(
  {
    id: Type.String({
      description: 'Message id, sent as `webhook-id` (the same on every attempt and replay).',
    }),
    endpoint_id: S,
    event_id: NullableOut(Type.String({ description: 'The event (`evt_…`); null for test messages.' })),
    event_type: S,
    status: StrEnum(['pending', 'succeeded', 'failed'], {
      description:
        '`pending`: an attempt is due at `next_attempt_at`; `failed`: retries used up, 410, or the endpoint is disabled.',
    }),
    attempt_count: Type.Integer(),
    next_attempt_at: NS,
    last_attempt_at: NS,
    last_status_code: NullableOut(Type.Integer()),
    last_error: NS,
    delivered_at: NS,
    created_at: S,
  },
  { description: 'One event for one endpoint (a message) and the state of its delivery.' },
);

export const AttemptView = Type.Object({
  id: S,
  attempt_number: Type.Integer(),
  trigger: StrEnum(['event', 'retry', 'replay', 'test']),
  url: S,
  started_at: S,
  duration_ms: Type.Integer(),
  status_code: NullableOut(Type.Integer()),
  outcome: StrEnum(['succeeded', 'failed']),
  error: NS,
  error_kind: NS,
  response_excerpt: NullableOut(Type.String({ description: 'The first 4 kB of the response body.' })),
});

export const DeliveryDetail = Type.Object({
  ...DeliveryView.properties,
  payload: Type.Object(
    {},
    { additionalProperties: true, description: 'The body sent (the event envelope).' },
  ),
  attempts: Type.Array(AttemptView),
});

export const ListMeta = { has_more: Type.Boolean(), next_cursor: NS };

export const NoticeView = Type.Object({
  id: S,
  kind: Type.String({ examples: ['webhook_endpoint_disabled'] }),
  audience: StrEnum(['viewer', 'editor', 'admin']),
  title: S,
  message: S,
  data: Type.Object({}, { additionalProperties: true }),
  created_at: S,
  dismissed_at: NS,
});
