import { type TSchema, Type } from 'typebox';

/** `T | null`, optional in input. */
export const Nullable = <T extends TSchema>(t: T) => Type.Optional(Type.Union([t, Type.Null()]));
export const NullableOut = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
export const DateTime = (opts: Record<string, unknown> = {}) => Type.String({ format: 'date-time', ...opts });
export const Money = (description?: string) =>
  Type.Integer({ minimum: 0, maximum: 1e14, description: description ?? 'Integer minor units (cents).' });
export const Str = (max = 255, opts: Record<string, unknown> = {}) =>
  Type.String({ maxLength: max, ...opts });

/** Error envelope (SPEC §8). */
export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      type: Type.Union([Type.Literal('invalid_request_error'), Type.Literal('api_error')]),
      key: Type.String(),
      message: Type.String(),
      errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
    }),
  },
  { $id: 'Error' },
);

export const errorResponses = {
  400: Type.Ref('Error'),
  401: Type.Ref('Error'),
  404: Type.Ref('Error'),
} as const;

/** A string enum with its literal union type (`{type: string, enum: [...]}` in the OpenAPI document). */
export const StrEnum = <const T extends readonly string[]>(values: T, opts: Record<string, unknown> = {}) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...opts });

/** OpenAPI security of merchant endpoints: an API key by HTTP Basic or Bearer (or the portal's session cookie). */
export const merchantSecurity: { [k: string]: string[] }[] = [{ basicAuth: [] }, { bearerAuth: [] }];
