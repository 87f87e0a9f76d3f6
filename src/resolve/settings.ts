import { type Static, Type } from 'typebox';
import { Str, StrEnum } from '../http/schema-helpers.js';
import { bodyValidator, fieldErrors } from '../http/validation.js';
import { AppError } from '../lib/errors.js';
import type { Shop } from '../shops/shops.js';
import { LANGUAGES, REASON_LABELS } from './labels.js';
import { returnsTemplateProblem } from './returns-template.js';

export const FLOWS = [
  'defective',
  'not_received',
  'missing_item',
  'wrong_item',
  'return',
  'dissatisfied',
  'support',
] as const;
export type Flow = (typeof FLOWS)[number];
export const RESOLUTIONS = ['refund', 'replacement', 'store_credit'] as const;
export type Resolution = (typeof RESOLUTIONS)[number];

const LabelsSchema = Type.Object(
  Object.fromEntries(
    LANGUAGES.map((l) => [
      l,
      l === 'en' ? Str(200, { minLength: 1 }) : Type.Optional(Str(200, { minLength: 1 })),
    ]),
  ),
  { additionalProperties: false },
);
const Optionality = StrEnum(['off', 'optional', 'required']);
const Code = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[a-z0-9_]{1,64}$',
  patternMessage: 'must be lower-case letters, digits and _ only, such as broken_box',
});

export const PromptSchema = Type.Object(
  {
    id: Code,
    type: StrEnum(['text', 'yes_no', 'choice']),
    labels: LabelsSchema,
    required: Type.Boolean(),
    max_length: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000 })),
    options: Type.Optional(
      Type.Array(Type.Object({ value: Code, labels: LabelsSchema }, { additionalProperties: false }), {
        minItems: 2,
        maxItems: 20,
      }),
    ),
  },
  { additionalProperties: false },
);

export const FlowSettingsSchema = Type.Object(
  {
    enabled: Type.Boolean(),
    reasons: Type.Array(Type.Object({ code: Code, labels: LabelsSchema }, { additionalProperties: false }), {
      minItems: 1,
      maxItems: 30,
    }),
    resolutions: Type.Array(StrEnum(RESOLUTIONS), { maxItems: 3, uniqueItems: true }),
    photos: Type.Object(
      { min: Type.Integer({ minimum: 0, maximum: 10 }), max: Type.Integer({ minimum: 0, maximum: 10 }) },
      { additionalProperties: false },
    ),
    package_photo: Optionality,
    signature: Optionality,
    description: Type.Object(
      {
        required: Type.Boolean(),
        min_length: Type.Integer({ minimum: 0, maximum: 5000 }),
        max_length: Type.Integer({ minimum: 1, maximum: 5000 }),
      },
      { additionalProperties: false },
    ),
    prompts: Type.Array(PromptSchema, { maxItems: 20 }),
  },
  { additionalProperties: false },
);
export type FlowSettings = Static<typeof FlowSettingsSchema>;

const Colour = Type.String({
  pattern: '^#[0-9a-fA-F]{6}$',
  patternMessage: 'must be a hex colour such as #1f6feb',
  description: 'A hex colour such as #1f6feb.',
});
const CopySchema = Type.Object(
  {
    headline: Type.Optional(Str(120)),
    intro: Type.Optional(Str(600)),
    confirmation: Type.Optional(Str(600)),
  },
  { additionalProperties: false },
);

/** How the customer page looks: the page derives readable text colours from these, so any colour stays legible. */
export const BrandingSchema = Type.Object(
  {
    logo_url: Type.Union([
      Type.String({
        maxLength: 2048,
        pattern: '^https://[^\\s"\'<>]+$',
        patternMessage: 'must be an https:// URL without spaces, quotes or angle brackets',
      }),
      Type.Null(),
    ]),
    primary_color: Colour,
    background_color: Colour,
    font_family: Type.Union([
      Type.String({
        maxLength: 200,
        pattern: '^[A-Za-z0-9 ,\'"-]+$',
        patternMessage: 'must be font names separated by commas (letters, digits, spaces, quotes and - only)',
        description:
          'A CSS font-family list of fonts installed on the customer’s device, e.g. "Georgia, serif".',
      }),
      Type.Null(),
    ]),
    support_email: Type.Union([Type.String({ format: 'email', maxLength: 254 }), Type.Null()]),
    copy: Type.Object(Object.fromEntries(LANGUAGES.map((l) => [l, Type.Optional(CopySchema)])), {
      additionalProperties: false,
      description: 'Custom headline, introduction and confirmation text per language.',
    }),
  },
  { additionalProperties: false },
);
export type Branding = Static<typeof BrandingSchema>;

export const ResolveSettingsSchema = Type.Object(
  {
    claim_window_days: Type.Integer({ minimum: 1, maximum: 3650 }),
    return_window_days: Type.Integer({ minimum: 1, maximum: 3650 }),
    stuck_after_days: Type.Integer({ minimum: 1, maximum: 365 }),
    unavailable_flows: StrEnum(['explain', 'hide'], {
      description: 'Show unavailable flows with their reason, or hide them.',
    }),
    upload_max_bytes: Type.Integer({ minimum: 100_000, maximum: 25 * 1024 * 1024 }),
    token_ttl_days: Type.Integer({ minimum: 1, maximum: 365 }),
    allowed_origins: Type.Array(
      Type.String({
        pattern: '^(\\*|https?://[^/\\s]+)$',
        patternMessage: 'must be * or an origin such as https://shop.example (no path)',
        maxLength: 255,
      }),
      {
        maxItems: 50,
        description:
          'Origins whose pages may call the customer-flow API (CORS); "*" allows any. Sessions travel as Bearer tokens, never cookies.',
      },
    ),
    branding: BrandingSchema,
    returns: Type.Object(
      {
        mode: StrEnum(['native', 'external']),
        external_url_template: Type.Union([
          Type.String({ maxLength: 2048, pattern: '^https://', patternMessage: 'must be an https:// URL' }),
          Type.Null(),
        ]),
      },
      { additionalProperties: false },
    ),
    flows: Type.Object(
      Object.fromEntries(FLOWS.map((f) => [f, FlowSettingsSchema])) as Record<
        Flow,
        typeof FlowSettingsSchema
      >,
      {
        additionalProperties: false,
      },
    ),
  },
  { additionalProperties: false, $id: 'ResolveSettings' },
);
export type ResolveSettings = Static<typeof ResolveSettingsSchema>;

const reasons = (...codes: string[]) => codes.map((code) => ({ code, labels: REASON_LABELS[code] }));
const flow = (f: Partial<FlowSettings> & Pick<FlowSettings, 'reasons'>): FlowSettings => ({
  enabled: true,
  resolutions: ['refund', 'replacement'],
  photos: { min: 0, max: 5 },
  package_photo: 'off',
  signature: 'off',
  description: { required: false, min_length: 0, max_length: 2000 },
  prompts: [],
  ...f,
});

export function defaultResolveSettings(): ResolveSettings {
  return {
    claim_window_days: 30,
    return_window_days: 30,
    stuck_after_days: 5,
    unavailable_flows: 'explain',
    upload_max_bytes: 10 * 1024 * 1024,
    token_ttl_days: 30,
    allowed_origins: ['*'],
    branding: {
      logo_url: null,
      primary_color: '#1f5fbf',
      background_color: '#f6f7f9',
      font_family: null,
      support_email: null,
      copy: {},
    },
    returns: { mode: 'native', external_url_template: null },
    flows: {
      defective: flow({
        reasons: reasons(
          'damaged_in_transit',
          'broken_on_arrival',
          'stopped_working',
          'manufacturing_defect',
        ),
        photos: { min: 1, max: 5 },
        package_photo: 'optional',
      }),
      not_received: flow({
        reasons: reasons('delivered_not_received', 'stuck_in_transit'),
        photos: { min: 0, max: 0 },
      }),
      missing_item: flow({ reasons: reasons('missing_from_parcel'), package_photo: 'optional' }),
      wrong_item: flow({
        reasons: reasons('wrong_product', 'wrong_size', 'wrong_colour'),
        photos: { min: 1, max: 5 },
      }),
      return: flow({
        reasons: reasons(
          'too_small',
          'too_large',
          'changed_mind',
          'not_as_described',
          'arrived_late',
          'other',
        ),
        resolutions: ['refund', 'store_credit', 'replacement'],
      }),
      dissatisfied: flow({
        reasons: reasons('quality', 'not_as_described', 'other'),
        resolutions: ['refund', 'store_credit'],
      }),
      support: flow({
        reasons: reasons('other'),
        resolutions: [],
        photos: { min: 0, max: 5 },
        description: { required: true, min_length: 10, max_length: 5000 },
      }),
    },
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Objects merge key by key; arrays and scalars replace. */
export function deepMerge<T>(base: T, patch: unknown): T {
  if (!isObject(base) || !isObject(patch)) return (patch === undefined ? base : patch) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) out[k] = k in out ? deepMerge(out[k], v) : v;
  return out as T;
}

const validateSettings = bodyValidator(ResolveSettingsSchema);

/** Checks a full settings object, including the rules JSON Schema cannot state. */
export function checkResolveSettings(s: unknown): ResolveSettings {
  if (!validateSettings(s))
    throw new AppError(
      'validation_failed',
      'Invalid settings.',
      fieldErrors(validateSettings.errors ?? [], 'body'),
    );
  const settings = s as ResolveSettings;
  const errors: { path: string; message: string }[] = [];
  for (const f of FLOWS) {
    const fs = settings.flows[f];
    if (fs.photos.min > fs.photos.max)
      errors.push({ path: `/flows/${f}/photos/min`, message: 'must not exceed max' });
    if (fs.description.min_length > fs.description.max_length)
      errors.push({ path: `/flows/${f}/description/min_length`, message: 'must not exceed max_length' });
    if (new Set(fs.reasons.map((r) => r.code)).size !== fs.reasons.length)
      errors.push({ path: `/flows/${f}/reasons`, message: 'reason codes must be unique' });
    if (new Set(fs.prompts.map((p) => p.id)).size !== fs.prompts.length)
      errors.push({ path: `/flows/${f}/prompts`, message: 'prompt ids must be unique' });
    fs.prompts.forEach((p, i) => {
      if (p.type === 'choice' && !p.options?.length)
        errors.push({ path: `/flows/${f}/prompts/${i}/options`, message: 'a choice prompt needs options' });
    });
    if (f !== 'support' && fs.enabled && fs.resolutions.length === 0 && f !== 'return') {
      errors.push({
        path: `/flows/${f}/resolutions`,
        message: 'an enabled flow needs at least one resolution',
      });
    }
  }
  if (settings.returns.mode === 'external' && !settings.returns.external_url_template) {
    errors.push({
      path: '/returns/external_url_template',
      message: 'required when returns.mode is external',
    });
  }
  // Checked only while returns go to the external portal (the field is not shown otherwise), so a template
  // stored long ago cannot block saving unrelated settings of a shop that handles returns in Resolve.
  const template = settings.returns.external_url_template;
  const templateProblem =
    settings.returns.mode === 'external' && template ? returnsTemplateProblem(template) : null;
  if (templateProblem) errors.push({ path: '/returns/external_url_template', message: templateProblem });
  if (errors.length) throw new AppError('validation_failed', 'Invalid settings.', errors);
  return settings;
}

/** The shop's effective settings: stored overrides on top of the defaults. */
export function resolveSettingsOf(shop: Shop): ResolveSettings {
  const stored = (shop.settings as { resolve?: unknown }).resolve;
  return deepMerge(defaultResolveSettings(), stored ?? {});
}
