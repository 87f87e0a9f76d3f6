import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import type { FastifySchemaCompiler } from 'fastify';

// Compiling ~300 route schemas (ajv validators and fast-json-stringify serializers) took ~1.4 s of every start,
// most of the restart budget (issue 2: ≤ 3 s). Compilers made here return a stand-in that compiles its schema
// on first use; `warmUp()` then compiles the rest in small slices once the server listens, so a schema
// mistake still surfaces right after start (logged), and later first requests rarely pay for it.

type Pending = Set<() => unknown>;

function lazy<F extends (...args: never[]) => unknown>(pending: Pending, build: () => F): () => F {
  let fn: F | undefined;
  const get = () => {
    if (!fn) {
      fn = build();
      pending.delete(get);
    }
    return fn;
  };
  pending.add(get);
  return get;
}

type Validator = ReturnType<FastifySchemaCompiler<unknown>> & { errors?: unknown; schemaEnv?: unknown };

/** Wraps a validator compiler: the ajv function is built on the first request that needs it. */
function lazyValidatorCompiler(
  pending: Pending,
  compile: FastifySchemaCompiler<unknown>,
): FastifySchemaCompiler<unknown> {
  return (route) => {
    const get = lazy(pending, () => compile(route) as Validator);
    const validate = ((data: unknown, ctx?: unknown) => {
      const real = get();
      const ok = (real as (d: unknown, c?: unknown) => unknown)(data, ctx);
      validate.errors = real.errors;
      return ok;
    }) as Validator;
    // Fastify passes {parentData, parentDataProperty} only to functions with `schemaEnv` (ajv's do), which lets
    // ajv replace a root value (defaults, coercion of query strings); the stand-in forwards it.
    validate.schemaEnv = true;
    return validate;
  };
}

type SerializerFactory = (externalSchemas: unknown, opts: unknown) => (route: { schema: unknown }) => unknown;

/** Fastify's default serializer factory (fast-json-stringify), with each route's function built on first use. */
function lazySerializerFactory(pending: Pending): SerializerFactory {
  const real = (SerializerSelector as () => SerializerFactory)();
  return (externalSchemas, opts) => {
    const compile = real(externalSchemas, opts);
    return (route) => {
      const get = lazy(pending, () => compile(route) as (data: unknown) => string);
      return (data: unknown) => get()(data);
    };
  };
}

/** Compiles what is still pending, a few schemas per event-loop turn; errors are reported, not thrown. */
function warmUp(pending: Pending, onError: (err: unknown) => void, perTurn = 4): Promise<void> {
  return new Promise((resolve) => {
    const step = () => {
      let n = 0;
      for (const get of pending) {
        try {
          get();
        } catch (err) {
          pending.delete(get);
          onError(err);
        }
        if (++n >= perTurn) return void setImmediate(step);
      }
      resolve();
    };
    setImmediate(step);
  });
}

/** One app's compilers (for Fastify's `schemaController.compilersFactory`) and its warm-up. */
export function lazyCompilers(validatorCompiler: FastifySchemaCompiler<unknown>) {
  const pending: Pending = new Set();
  const validator = lazyValidatorCompiler(pending, validatorCompiler);
  return {
    buildValidator: () => validator,
    buildSerializer: lazySerializerFactory(pending),
    warmUp: (onError: (err: unknown) => void) => warmUp(pending, onError),
    pendingCount: () => pending.size,
  };
}
