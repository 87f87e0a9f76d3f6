import type { Flow } from './types';

/** Every flow, once: a Record over the server's Flow type, so tsc fails if the server adds or drops one. */
const EVERY_FLOW: Record<Flow, true> = {
  defective: true,
  not_received: true,
  missing_item: true,
  wrong_item: true,
  return: true,
  dissatisfied: true,
  support: true,
};
const FLOWS = Object.keys(EVERY_FLOW) as Flow[];

/** A link's `flowType`, as snake_case, camelCase or kebab-case (SPEC §3); null when it names no flow. */
export function parseFlow(v: string | null): Flow | null {
  if (!v) return null;
  const k = v.trim().replace(/[-_]/g, '').toLowerCase();
  return FLOWS.find((f) => f.replace(/_/g, '') === k) ?? null;
}
