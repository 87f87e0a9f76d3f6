import { Ajv } from 'ajv';
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
    coerceTypes: coerce ? 'array' : false,
  });
  addFormats(ajv);
  return ajv;
}

// Bodies are JSON: no type coercion, unknown fields rejected. Query strings and params arrive as text: coerced.
const bodyAjv = makeAjv(false);
const textAjv = makeAjv(true);

export function addSharedSchema(schema: object) {
  bodyAjv.addSchema(schema);
  textAjv.addSchema(schema);
}

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? bodyAjv : textAjv;
  return ajv.compile(schema as object) as ReturnType<FastifySchemaCompiler<unknown>>;
};

/** ajv errors → `[{path, message}]` with JSON-pointer paths that name the offending field. */
export function fieldErrors(
  validation: FastifySchemaValidationError[],
  part: string | undefined,
): FieldError[] {
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const v of validation) {
    const params = v.params as Record<string, unknown>;
    let path = v.instancePath || '';
    let message = v.message ?? 'is invalid';
    if (v.keyword === 'required') path += `/${params.missingProperty}`;
    if (v.keyword === 'additionalProperties') {
      path += `/${params.additionalProperty}`;
      message = 'is not a known field';
    }
    if (v.keyword === 'anyOf' || v.keyword === 'if') continue; // the branch errors say more
    const full = part && part !== 'body' ? `${part}:${path || '/'}` : path || '/';
    const k = `${full}|${message}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push({ path: full, message });
  }
  return out.length ? out : [{ path: '/', message: 'is invalid' }];
}

/** A compiled body validator for validating parts of a request by hand (e.g. each item of a bulk call). */
export function bodyValidator(schema: object) {
  return bodyAjv.compile(schema);
}
