import { and, eq, sql } from 'drizzle-orm';
import { type Static, Type } from 'typebox';
import { type Db, query } from '../db/client.js';
import { claimHistory, claims } from '../db/schema.js';
import { Str, StrEnum } from '../http/schema-helpers.js';
import { AppError } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { type Flow, RESOLUTIONS, type ResolveSettings } from '../resolve/settings.js';
import type { Actor } from './create-claim.js';
import { emitEvent } from './events.js';
import { CLAIM_STATUSES, type ClaimStatus, checkTransition } from './status.js';

const Tag = Str(100, { minLength: 1 });

export const ClaimPatch = Type.Object(
  {
    version: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          'The `version` you read; a stale one answers 409 `stale_version`. Required, except for a change made only of `add_tags`, `remove_tags` and `note`: those merge with whatever changed meanwhile.',
      }),
    ),
    status: Type.Optional(StrEnum(CLAIM_STATUSES)),
    resolution_preference: Type.Optional(Type.Union([StrEnum(RESOLUTIONS), Type.Null()])),
    tags: Type.Optional(
      Type.Array(Tag, { maxItems: 50, description: 'Replaces all tags (not with add_tags/remove_tags).' }),
    ),
    add_tags: Type.Optional(Type.Array(Tag, { maxItems: 50, description: 'Tags to add (kept once).' })),
    remove_tags: Type.Optional(Type.Array(Tag, { maxItems: 50, description: 'Tags to remove, if present.' })),
    assignee: Type.Optional(
      Type.Union([Str(320, { minLength: 1 }), Type.Null()], {
        description:
          "Who works on it; null unassigns. Any text up to 320 characters, not checked against the shop's team: the portal offers the members who work claims (GET …/assignees) and stores their email, and an integration may store its own id (e.g. a helpdesk agent's email).",
      }),
    ),
    note: Type.Optional(
      Str(5000, {
        description:
          'An internal note, kept in the claim history (alone, or as the reason of a status change, e.g. a rejection).',
      }),
    ),
  },
  {
    additionalProperties: false,
    examples: [
      { version: 3, status: 'rejected', note: 'No damage visible on the photos.' },
      { version: 4, add_tags: ['carrier-claim'], assignee: 'agent@shop.example' },
      { version: 5, note: 'Called the customer; replacement on its way.' },
    ],
  },
);
const MAX_TAGS = 50;
/** The parts of a change that merge with any other change, so they need no `version`. */
const MERGING = new Set(['add_tags', 'remove_tags', 'note']);
export type ClaimPatchT = Static<typeof ClaimPatch>;

/**
 * The one way a claim changes (DESIGN convention 6): checks the status machine, bumps `version`
 * (optimistic concurrency), appends one history row and a `claims/updated` event, in one transaction.
 */
export async function transitionClaim(
  tx: Db,
  shopId: string,
  claimId: string,
  patch: ClaimPatchT,
  actor: Actor,
  isAdmin: boolean,
  settings: ResolveSettings,
  now = new Date(),
) {
  if (patch.version === undefined) {
    // Adding or removing a tag and writing a note cannot overwrite a colleague's change: no version needed.
    const other = Object.keys(patch).filter((k) => !MERGING.has(k));
    if (other.length)
      throw new AppError('validation_failed', 'The request is invalid.', [
        {
          path: '/version',
          message: `is required with ${other.join(', ')} (only add_tags, remove_tags and note go without it)`,
        },
      ]);
  }
  const [c] = await tx
    .select()
    .from(claims)
    .where(and(eq(claims.shopId, shopId), eq(claims.id, claimId)))
    .for('update');
  if (!c) throw new AppError('claim_not_found', 'No such claim.');
  if (patch.version !== undefined && c.version !== patch.version)
    throw new AppError(
      'stale_version',
      patch.version > c.version
        ? `This claim is at version ${c.version}; version ${patch.version} was never read. Send the version of the claim you loaded.`
        : `This claim was changed by someone else since you loaded it (it is at version ${c.version}, you sent ${patch.version}). Reload it, check the changes, and apply yours again.`,
      [{ path: '/version', message: `is ${patch.version}; the claim is at version ${c.version}` }],
    );

  const changes: Record<string, { from: unknown; to: unknown }> = {};
  const set: Partial<typeof claims.$inferInsert> = {};
  if (patch.status !== undefined && patch.status !== c.status) {
    checkTransition(c.status as ClaimStatus, patch.status, isAdmin);
    if (patch.status === 'pending' && c.outcome === 'rejected')
      await checkUnitsStillFree(tx, shopId, c.id, c.orderId);
    if (patch.status === 'accepted' || patch.status === 'rejected') set.outcome = patch.status;
    if (patch.status === 'pending') set.outcome = null;
    changes.status = { from: c.status, to: patch.status };
    set.status = patch.status;
  }
  if (patch.resolution_preference !== undefined && patch.resolution_preference !== c.resolutionPreference) {
    // As on submission: one of the resolutions the shop offers for the claim's flow (null clears it).
    const offered = settings.flows[c.flow as Flow].resolutions;
    const pref = patch.resolution_preference;
    if (pref !== null && !offered.includes(pref))
      throw new AppError('validation_failed', 'The request is invalid.', [
        {
          path: '/resolution_preference',
          message: offered.length
            ? `must be one of ${offered.join(', ')} (the resolutions offered for ${c.flow})`
            : `the ${c.flow} flow takes no resolution`,
        },
      ]);
    changes.resolution_preference = { from: c.resolutionPreference, to: patch.resolution_preference };
    set.resolutionPreference = patch.resolution_preference;
  }
  const tags = nextTags(c.tags, patch);
  if (tags) {
    if (JSON.stringify(tags) !== JSON.stringify(c.tags)) {
      changes.tags = { from: c.tags, to: tags };
      set.tags = tags;
    }
  }
  const assignee = patch.assignee === undefined ? undefined : (patch.assignee?.trim() ?? null);
  if (assignee === '')
    throw new AppError('validation_failed', 'The request is invalid.', [
      { path: '/assignee', message: 'must not be blank (null unassigns)' },
    ]);
  if (assignee !== undefined && assignee !== c.assignee) {
    changes.assignee = { from: c.assignee, to: assignee };
    set.assignee = assignee;
  }
  const note = patch.note?.trim() || null;
  if (!Object.keys(changes).length && !note) return { changed: false, version: c.version };

  const version = c.version + 1;
  await tx
    .update(claims)
    .set({ ...set, version, updatedAt: now })
    .where(and(eq(claims.shopId, shopId), eq(claims.id, claimId)));
  const action = changes.status
    ? changes.status.to === 'pending'
      ? 'reopened'
      : String(changes.status.to)
    : Object.keys(changes).length
      ? 'updated'
      : 'noted';
  await tx.insert(claimHistory).values({
    id: newId('clh'),
    shopId,
    claimId,
    actorType: actor.type,
    actorId: actor.id,
    action,
    changes,
    note,
    createdAt: now,
  });
  await emitEvent(tx, shopId, 'claims/updated', claimId, {
    claim_id: claimId,
    number: c.number,
    changes,
    note,
    version,
  });
  return { changed: true, version };
}

/** The tags after the patch (null: tags not touched): `tags` replaces, `add_tags`/`remove_tags` edit. */
function nextTags(current: string[], patch: ClaimPatchT): string[] | null {
  // Tags differ by more than case: "VIP" added to a claim tagged "vip" keeps "vip", removing "VIP" removes it.
  const fold = (t: string) => t.trim().toLowerCase();
  const clean = (ts: string[]) => {
    const seen = new Set<string>();
    return ts.map((t) => t.trim()).filter((t) => t && !seen.has(fold(t)) && seen.add(fold(t)));
  };
  const editing = patch.add_tags !== undefined || patch.remove_tags !== undefined;
  if (patch.tags !== undefined && editing)
    throw new AppError(
      'validation_failed',
      'Send tags (to replace them) or add_tags/remove_tags, not both.',
      [{ path: '/tags', message: 'not together with add_tags or remove_tags' }],
    );
  // The list's tag filter takes several tags separated by commas: a tag with a comma could never be found.
  for (const field of ['tags', 'add_tags', 'remove_tags'] as const)
    (patch[field] ?? []).forEach((t, i) => {
      if (!t.trim())
        throw new AppError('validation_failed', 'A tag cannot be blank.', [
          { path: `/${field}/${i}`, message: 'must not be blank' },
        ]);
      if (field !== 'remove_tags' && t.includes(','))
        throw new AppError('validation_failed', `A tag cannot contain a comma: "${t}".`, [
          {
            path: `/${field}/${i}`,
            message: 'must not contain a comma (the tag filter separates tags with commas)',
          },
        ]);
    });
  if (patch.tags !== undefined) return clean(patch.tags);
  if (!editing) return null;
  const add = clean(patch.add_tags ?? []);
  const remove = new Set(clean(patch.remove_tags ?? []).map(fold));
  const both = add.find((t) => remove.has(fold(t)));
  if (both !== undefined)
    throw new AppError('validation_failed', `The tag "${both}" is both added and removed.`, [
      { path: '/remove_tags', message: `"${both}" is also in add_tags` },
    ]);
  const out = clean([...current, ...add]).filter((t) => !remove.has(fold(t)));
  if (out.length > MAX_TAGS)
    throw new AppError('validation_failed', `A claim takes at most ${MAX_TAGS} tags.`, [
      { path: '/add_tags', message: `would make ${out.length} tags` },
    ]);
  return out;
}

/**
 * A rejected claim gave its units back; reopening (or closing a rejection is fine) must not claim units
 * that another claim has taken since. Runs under the order row lock, like claim creation.
 */
async function checkUnitsStillFree(tx: Db, shopId: string, claimId: string, orderId: string): Promise<void> {
  await tx.execute(sql`select id from orders where shop_id = ${shopId} and id = ${orderId} for update`);
  const over = await query<{ line_item_id: string }>(
    tx,
    sql`select ci.line_item_id
        from claim_items ci
        join shipment_line_items sli on sli.shipment_id = ci.shipment_id and sli.line_item_id = ci.line_item_id
        where ci.shop_id = ${shopId} and ci.claim_id = ${claimId}
          and ci.quantity > sli.quantity - coalesce((
            select sum(o.quantity) from claim_items o join claims oc on oc.id = o.claim_id
            where o.shop_id = ${shopId} and oc.order_id = ${orderId} and oc.id <> ${claimId} and oc.outcome is distinct from 'rejected'
              and o.shipment_id = ci.shipment_id and o.line_item_id = ci.line_item_id), 0)`,
  );
  if (over.length) {
    throw new AppError(
      'already_claimed',
      'Another claim has taken these units since this claim was rejected; it cannot be reopened.',
    );
  }
}
