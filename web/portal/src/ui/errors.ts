// The server's validation errors (`{path: JSON pointer, message: ajv's wording}`) in the portal's words: a plain
// sentence at the field ("Enter a whole number of days, at least 1") and the field's name in a banner ("Claim
// window"), never a JSON pointer, a schema keyword or a regular expression.

/** What the portal knows of a field, to word its errors. */
export interface FieldInfo {
  /** The field in words, as its label says it: "Claim window". */
  name: string;
  /** What a number counts: "days", "photos", "characters". */
  unit?: string;
  /** The number as asked for (default: "a whole number of {unit}"): "a size in MB". */
  what?: string;
  /** Stored value ÷ scale = the value the form shows (bytes shown as MB). */
  scale?: number;
  /** The smallest value the form takes, as the form shows it. */
  min?: number;
  /** What an empty text is missing: "a label" → "Enter a label". */
  noun?: string;
  /** What the value must look like, when a pattern (regular expression) refused it. */
  format?: string;
  /** Said when a list has too few items: "A flow needs at least one reason". */
  tooFew?: string;
}

const round = (n: number) => Math.round(n * 100) / 100;

/** Server messages of Resolve's own checks (not the schema validator's), in the portal's words. */
const SAID: Record<string, string> = {
  'must not exceed max': 'Must not be more than the maximum',
  'must not exceed max_length': 'Must not be more than the maximum length',
  'reason codes must be unique': 'Each reason needs a code of its own',
  'prompt ids must be unique': 'Each question needs an ID of its own',
  'a choice prompt needs options': 'A choice question needs at least two options',
  'an enabled flow needs at least one resolution':
    'Choose at least one resolution, or stop offering this flow',
  'required when returns.mode is external': 'Enter the address of your returns portal',
  'must not be blank': 'Fill this in',
  'is not a known field': 'Resolve does not know this field',
  // A claim's checks (src/claims/check-claim.ts).
  'choose at least one item': 'Choose at least one item',
  'already claimed': 'Already claimed: earlier claims or refunds cover every unit',
  'this item cannot be claimed in this flow': 'This item cannot be claimed for this issue',
  'items from more than one shipment': 'Choose items of one parcel: a not-received claim covers one parcel',
  'more units than this shipment has left': 'More units than this parcel has left',
  'required (true or false) for not_received, unless the parcel is stuck in transit': 'Choose yes or no',
  'listed twice': 'This item is listed twice',
};

/**
 * One validation message as a plain sentence for the field it belongs to. Messages Resolve words itself pass
 * through (capitalised); the schema validator's are rephrased, and a pattern is never shown.
 */
export function plainMessage(message: string, field?: FieldInfo): string {
  const f = field ?? { name: '' };
  if (message in SAID) return SAID[message];
  for (const [pattern, say] of RULES) {
    const m = pattern.exec(message);
    if (m) return say(f, m);
  }
  // A pattern the server words itself ("must be a hex colour such as #1f6feb"): the form's own words first.
  if (f.format && message.startsWith('must be ')) return f.format;
  return message.charAt(0).toUpperCase() + message.slice(1);
}

const what = (f: FieldInfo) => f.what ?? `a whole number${f.unit ? ` of ${f.unit}` : ''}`;
const shown = (f: FieldInfo, n: string) => round(f.scale ? Number(n) / f.scale : Number(n));
const unexpected = (f: FieldInfo) => f.format ?? 'This is not in the form Resolve expects';

/** The schema validator's (ajv's) messages, and how each is said to a person. */
const RULES: [RegExp, (f: FieldInfo, m: RegExpExecArray) => string][] = [
  [
    /^must be (integer|number)$/,
    (f) => `Enter ${what(f)}${f.min !== undefined ? `, at least ${f.min}` : ''}`,
  ],
  [/^must be >=? (-?[\d.]+)$/, (f, m) => `Enter ${what(f)}, at least ${shown(f, m[1])}`],
  [/^must be <=? (-?[\d.]+)$/, (f, m) => `Enter ${what(f)}, at most ${shown(f, m[1])}`],
  [
    /^must NOT have fewer than (\d+) characters$/,
    (f, m) => (m[1] === '1' ? `Enter ${f.noun ?? 'a value'}` : `Use at least ${m[1]} characters`),
  ],
  [/^must NOT have more than (\d+) characters$/, (_, m) => `Use at most ${m[1]} characters`],
  [/^must NOT have fewer than (\d+) items$/, (f, m) => f.tooFew ?? `Add at least ${m[1]}`],
  [/^must NOT have more than (\d+) items$/, (_, m) => `Use at most ${m[1]}`],
  [/^must NOT have duplicate items/, () => 'Each may be chosen only once'],
  [/^at most (\d+)$/, (_, m) => `At most ${m[1]}`],
  [/^must be at least (\d+) characters$/, (_, m) => `Use at least ${m[1]} characters`],
  [/^must be at most (\d+) characters$/, (_, m) => `Use at most ${m[1]} characters`],
  [/^required: one of /, () => 'Choose one'],
  [
    /^does not fit this order's parcels/,
    () => 'This reason does not fit this order’s parcels; choose another',
  ],
  [/^must be one of /, () => 'Choose one of the options'],
  [/^prompt ".*" is required$/, (f) => `Enter ${f.noun ?? 'an answer'}`],
  [/^required$/, (f) => `Enter ${f.noun ?? 'a value'}`],
  [/^must match (the )?pattern/, unexpected],
  [/^must match format "email"$/, () => 'Enter an email address, such as help@shop.example'],
  [/^must match format "date-time"$/, () => 'Enter a date and time'],
  [/^must match format/, unexpected],
  [/^must be equal to one of the allowed values$/, () => 'Choose one of the options'],
  [/^must have required property/, (f) => `Enter ${f.noun ?? 'a value'}`],
  [/^must be (string|boolean|object|array|null)/, () => 'Enter a valid value'],
];

/**
 * A field named by its path alone, when the page has no better name: the last named step in words
 * (`/settings/shop_domain` → "Shop domain"); null for the request as a whole.
 */
export function nameFromPath(path: string): string | null {
  const steps = path
    .replace(/^[a-z]+:/, '')
    .split('/')
    .filter((s) => s && !/^\d+$/.test(s));
  const last = steps.at(-1);
  return last ? last.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase()) : null;
}

/** Field errors in words: the field's name (null: the request as a whole) and what to do. */
export function plainErrors(
  errors: { path: string; message: string }[],
  fields: (path: string) => FieldInfo | undefined = () => undefined,
): { path: string; name: string | null; message: string }[] {
  return errors.map((e) => {
    const info = fields(e.path);
    return { path: e.path, name: info?.name ?? nameFromPath(e.path), message: plainMessage(e.message, info) };
  });
}
