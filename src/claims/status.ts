import { AppError } from '../lib/errors.js';

export const CLAIM_STATUSES = ['pending', 'accepted', 'rejected', 'closed'] as const;
export type ClaimStatus = (typeof CLAIM_STATUSES)[number];

const NEXT: Record<ClaimStatus, ClaimStatus[]> = {
  pending: ['accepted', 'rejected'],
  accepted: ['closed'],
  rejected: ['closed'],
  closed: [],
};

/** SPEC §6: pending → accepted | rejected → closed; back to pending (reopen) only by an admin. */
export function checkTransition(from: ClaimStatus, to: ClaimStatus, isAdmin: boolean): void {
  if (from === to) return;
  if (to === 'pending') {
    if (!isAdmin) throw new AppError('admin_required', 'Only an admin can reopen a claim.');
    return;
  }
  if (!NEXT[from].includes(to))
    throw new AppError(
      'invalid_transition',
      `${from === 'accepted' ? 'An' : 'A'} ${from} claim cannot become ${to}.`,
    );
}
