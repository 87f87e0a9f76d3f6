import type { Flow } from './types';

const FLOWS: Flow[] = [
  'defective',
  'not_received',
  'missing_item',
  'wrong_item',
  'return',
  'dissatisfied',
  'support',
];

/** A link's `flowType`, as snake_case, camelCase or kebab-case (SPEC §3); null when it names no flow. */
export function parseFlow(v: string | null): Flow | null {
  if (!v) return null;
  const k = v.trim().replace(/[-_]/g, '').toLowerCase();
  return FLOWS.find((f) => f.replace(/_/g, '') === k) ?? null;
}
