/**
 * The placeholders a returns-portal URL template may hold (`returnHandoffUrl` fills each in), and the check of a
 * template. No imports: the portal's settings form bundles this file and says exactly what the server says.
 */
export const RETURNS_URL_PLACEHOLDERS = [
  'orderNumber',
  'orderName',
  'email',
  'zipCode',
  'externalId',
  'claimReason',
  'selectedItemSkus',
  'flowType',
] as const;
export type ReturnsUrlPlaceholder = (typeof RETURNS_URL_PLACEHOLDERS)[number];

/**
 * Why a returns URL template would send customers to a broken address (a `{…}` that is no known placeholder stays
 * in the URL literally), or null.
 */
export function returnsTemplateProblem(template: string): string | null {
  const known: readonly string[] = RETURNS_URL_PLACEHOLDERS;
  const unknown = [
    ...new Set([...template.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]).filter((k) => !known.includes(k))),
  ];
  if (!unknown.length) return null;
  return `Unknown placeholder${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `{${k}}`).join(', ')}. Known placeholders: ${known.map((k) => `{${k}}`).join(', ')}`;
}
