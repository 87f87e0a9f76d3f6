import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsImport from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import type { FastifySchemaValidationError } from 'fastify/types/schema.js';
import type { FieldError } from '../lib/errors.js';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = ((addFormatsImport as unknown as { default?: typeof addFormatsImport }).default ??
  addFormatsImport) as unknown as (ajv: Ajv) => Ajv;

function makeAjv(coerce: boolean): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    strict: false,
    removeAdditional: false,
    useDefaults: true,
    // Errors carry their schema: a pattern's `patternMessage` words it (patternMessage()).
    verbose: true,
    coerceTypes: coerce ? 'array' : false,
  });
  addFormats(ajv);
  // RFC 3339 allows what JS dates or PostgreSQL cannot hold (leap second :60, year 0, past 9999 in UTC).
  const rfc = ajv.formats['date-time'] as { validate: (s: string) => boolean } | ((s: string) => boolean);
  const isRfc = typeof rfc === 'function' ? rfc : rfc.validate;
  ajv.addFormat('date-time', {
    type: 'string',
    validate: (s: string) => {
      if (!isRfc(s)) return false;
      const t = Date.parse(s);
      return t >= MIN_TIME && t <= MAX_TIME;
    },
  });
  return ajv;
}

const MIN_TIME = Date.parse('0001-01-01T00:00:00Z');
const MAX_TIME = Date.parse('9999-12-31T23:59:59.999Z');

// Bodies are JSON: no type coercion, unknown fields rejected. Query strings and params arrive as text: coerced.
const bodyAjv = makeAjv(false);
const textAjv = makeAjv(true);

/** Makes a schema with an `$id` available to `$ref`; adding the same id again is a no-op (one app per test file). */
export function addSharedSchema(schema: object) {
  const id = (schema as { $id?: string }).$id;
  for (const ajv of [bodyAjv, textAjv]) if (!id || !ajv.getSchema(id)) ajv.addSchema(schema);
}

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? bodyAjv : textAjv;
  return ajv.compile(schema as object) as ReturnType<FastifySchemaCompiler<unknown>>;
};

/**
 * Of a union (`anyOf`) that failed, only the errors of the branch the value came closest to (of the right type,
 * then fewest errors, then the first): `{"order_number": <101 chars>, "zip_code": "1"}` against "number + ZIP, or a token" says the
 * number is too long, not also that `token` is missing and both fields are unknown.
 */
function closestBranches(validation: FastifySchemaValidationError[]) {
  let errors = validation;
  for (const union of validation) {
    if (union.keyword !== 'anyOf') continue;
    const prefix = `${union.schemaPath}/`;
    const inUnion = (v: FastifySchemaValidationError) =>
      v.schemaPath.startsWith(prefix) && v.instancePath.startsWith(union.instancePath);
    const branchOf = (v: FastifySchemaValidationError) => v.schemaPath.slice(prefix.length).split('/')[0];
    // Score per branch: a wrong type of the value itself (e.g. "must be null" for an object) puts it far.
    const scores = new Map<string, number>();
    for (const v of errors) {
      if (!inUnion(v)) continue;
      const far = v.keyword === 'type' && v.instancePath === union.instancePath ? 1000 : 1;
      scores.set(branchOf(v), (scores.get(branchOf(v)) ?? 0) + far);
    }
    if (scores.size < 2) continue;
    const best = [...scores].reduce((a, b) => (b[1] < a[1] ? b : a))[0];
    errors = errors.filter((v) => !inUnion(v) || branchOf(v) === best);
  }
  return errors;
}

const listed = (values: unknown[]) => {
  const words = values.map((x) => (typeof x === 'string' ? x : JSON.stringify(x)));
  return words.length > 20
    ? `${words.slice(0, 20).join(', ')}, … (${words.length} in all)`
    : words.join(', ');
};

/**
 * A pattern's own words when its schema has them (`patternMessage`, an annotation ajv ignores), else the pattern:
 * "must be a two-letter country code such as DE" rather than "must match pattern "^[A-Za-z]{2}$"".
 */
function patternMessage(v: FastifySchemaValidationError): string {
  const own = (v as { parentSchema?: { patternMessage?: unknown } }).parentSchema?.patternMessage;
  if (typeof own === 'string') return own;
  return `must match the pattern ${(v.params as { pattern: string }).pattern}`;
}

/** ajv errors → `[{path, message}]` with JSON-pointer paths that name the offending field. */
export function fieldErrors(
  validation: FastifySchemaValidationError[],
  part: string | undefined,
): FieldError[] {
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const v of closestBranches(validation)) {
    const params = v.params as Record<string, unknown>;
    let path = v.instancePath || '';
    let message = v.message ?? 'is invalid';
    if (v.keyword === 'required') path += `/${params.missingProperty}`;
    if (v.keyword === 'additionalProperties') {
      path += `/${params.additionalProperty}`;
      message = 'is not a known field';
    }
    if (v.keyword === 'enum') message = `must be one of: ${listed(params.allowedValues as unknown[])}`;
    if (v.keyword === 'const') message = `must be ${JSON.stringify(params.allowedValue)}`;
    if (v.keyword === 'pattern') message = patternMessage(v);
    if (v.keyword === 'minProperties')
      message = `must have at least ${params.limit} field${params.limit === 1 ? '' : 's'}`;
    // `?status=a&status=b`: a list parameter is given once, its values separated by commas.
    if (v.keyword === 'type' && part === 'querystring' && Array.isArray((v as { data?: unknown }).data))
      message = 'must be given once; separate several values with commas';
    if (v.keyword === 'anyOf' || v.keyword === 'if') continue; // the branch errors say more
    const full = part && part !== 'body' ? `${part}:${path || '/'}` : path || '/';
    const k = `${full}|${message}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push({ path: full, message });
  }
  return out.length ? out : [{ path: '/', message: 'is invalid' }];
}

export interface BodyValidator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

/**
 * A body validator for validating parts of a request by hand (e.g. each item of a bulk call). It compiles on
 * first use: modules create theirs at import, and compiling them all then cost ~0.5 s of every start.
 */
export function bodyValidator(schema: object): BodyValidator {
  let compiled: ValidateFunction | undefined;
  const validate: BodyValidator = (data) => {
    compiled ??= bodyAjv.compile(schema);
    const ok = compiled(data) as boolean;
    validate.errors = compiled.errors;
    return ok;
  };
  return validate;
}

// PostgreSQL stores neither NUL nor unpaired UTF-16 surrogates (jsonb rejects the latter's \u escapes).
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const unstorable = (s: string) => s.includes('\u0000') || LONE_SURROGATE.test(s);

/** JSON-pointer path of the first string (value or key) in a parsed body the database cannot store. */
export function unstorableTextPath(body: unknown): string | null {
  // Iterative (bodies may nest deeper than the call stack), children pushed in reverse: document order.
  const stack: [unknown, string, string?][] = [[body, '']];
  while (stack.length) {
    const [v, path, key] = stack.pop()!;
    if (key !== undefined && unstorable(key)) return path;
    if (typeof v === 'string') {
      if (unstorable(v)) return path || '/';
    } else if (v !== null && typeof v === 'object' && !ArrayBuffer.isView(v)) {
      const entries = Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, x] = entries[i];
        stack.push([x, `${path}/${k.replaceAll('~', '~0').replaceAll('/', '~1')}`, k]);
      }
    }
  }
  return null;
}
