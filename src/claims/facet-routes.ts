import { sql } from 'drizzle-orm';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../app.js';
import { type Db, query } from '../db/client.js';
import { claims } from '../db/schema.js';
import type { ReadyDeps } from '../http/context.js';
import { ListMeta, listAnswer } from '../http/pagination.js';
import { errorResponses, merchantSecurity, NullableOut, StrEnum } from '../http/schema-helpers.js';
import { listMembers } from '../portal/team.js';

/** Values per facet, most claims first: enough for a filter's choices, never a whole table. */
export const FACET_LIMIT = 200;

const Int = Type.Integer();
const Value = (none: string) =>
  Type.Array(Type.Object({ key: NullableOut(Type.String()), claims: Int }), {
    description: `Most claims first, at most ${FACET_LIMIT}; \`key: null\` = ${none} (the filter's \`none\`/\`unassigned\`).`,
  });

export const ClaimFacets = Type.Object(
  {
    reason: Type.Array(Type.Object({ flow: Type.String(), key: Type.String(), claims: Int }), {
      description: `Reason codes per flow (codes repeat across flows), most claims first, at most ${FACET_LIMIT}.`,
    }),
    carrier: Value('no single shipment at submission'),
    country: Value('no shipping address'),
    tag: Type.Array(Type.Object({ key: Type.String(), claims: Int }), {
      description: `Tags, most claims first, at most ${FACET_LIMIT}.`,
    }),
    assignee: Value('unassigned'),
  },
  {
    examples: [
      {
        reason: [{ flow: 'defective', key: 'broken_on_arrival', claims: 12 }],
        carrier: [
          { key: 'dhl', claims: 30 },
          { key: null, claims: 2 },
        ],
        country: [
          { key: 'DE', claims: 25 },
          { key: 'AT', claims: 7 },
        ],
        tag: [{ key: 'vip', claims: 3 }],
        assignee: [
          { key: 'agent@shop.example', claims: 9 },
          { key: null, claims: 23 },
        ],
      },
    ],
  },
);

type Row = {
  flow: string | null;
  reason: string | null;
  carrier: string | null;
  country: string | null;
  assignee: string | null;
  g: number;
  claims: number;
};

/**
 * The values the list's filters take in a shop's claims (reasons per flow, carriers, countries, tags, assignees),
 * with how many claims have each: one grouped scan of the shop's claims, and one over their tags.
 */
export async function claimFacets(db: Db, shopId: string) {
  const [groups, tags] = await Promise.all([
    query<Row>(
      db,
      sql`select ${claims.flow} as flow, ${claims.reason} as reason, ${claims.carrier} as carrier,
            ${claims.countryCode} as country, ${claims.assignee} as assignee,
            grouping(${claims.flow}, ${claims.carrier}, ${claims.countryCode}, ${claims.assignee})::int as g,
            count(*)::int as claims
          from ${claims} where ${claims.shopId} = ${shopId}
          group by grouping sets ((${claims.flow}, ${claims.reason}), (${claims.carrier}),
            (${claims.countryCode}), (${claims.assignee}))`,
    ),
    query<{ key: string; claims: number }>(
      db,
      sql`select t as key, count(*)::int as claims
          from ${claims}, unnest(${claims.tags}) as t
          where ${claims.shopId} = ${shopId}
          group by t order by claims desc, t limit ${FACET_LIMIT}`,
    ),
  ]);
  // grouping(flow, carrier, country, assignee): the bit of each column NOT grouped by is set (flow = 8).
  const of = (mask: number) => groups.filter((r) => Number(r.g) === mask);
  // Most claims first; equal counts by key (the no-value bucket last).
  const top = <T extends { key: string | null; claims: number }>(rows: T[], tie = (r: T) => r.key) =>
    rows
      .sort((a, b) => {
        const [ka, kb] = [tie(a), tie(b)];
        return (
          b.claims - a.claims || (ka === kb ? 0 : ka === null ? 1 : kb === null ? -1 : ka.localeCompare(kb))
        );
      })
      .slice(0, FACET_LIMIT);
  const bucket = (col: 'carrier' | 'country' | 'assignee', mask: number) =>
    top(of(mask).map((r) => ({ key: r[col], claims: Number(r.claims) })));
  return {
    reason: top(
      of(0b0111).map((r) => ({ flow: r.flow as string, key: r.reason as string, claims: Number(r.claims) })),
      (r) => `${r.flow}/${r.key}`,
    ),
    carrier: bucket('carrier', 0b1011),
    country: bucket('country', 0b1101),
    tag: tags.map((t) => ({ key: t.key, claims: Number(t.claims) })),
    assignee: bucket('assignee', 0b1110),
  };
}

/** Roles that may work claims: the ones a claim is assigned to. */
const ASSIGNABLE = ['agent', 'admin'] as const;

/** What the claims list's filters can choose from, and who claims can be assigned to. */
export function claimFacetRoutes(deps: ReadyDeps): FastifyPluginAsync {
  const { db } = deps.database;
  return async (plain) => {
    const app = plain as unknown as App;
    const Slug = Type.Object({ slug: Type.String({ maxLength: 64 }) });

    app.get(
      '/v1/shops/:slug/claims/facets',
      {
        config: { auth: 'viewer' },
        schema: {
          tags: ['Claims'],
          security: merchantSecurity,
          summary: 'Values the claims filters take',
          description: `The reason codes (per flow), carriers, shipping countries, tags and assignees that occur in the shop's claims, each with its number of claims, most first (at most ${FACET_LIMIT} per facet): the choices of the list's \`reason\`, \`carrier\`, \`country\`, \`tag\` and \`assignee\` filters. Any role (viewer and up).`,
          params: Slug,
          querystring: Type.Object({}, { additionalProperties: false }),
          response: { 200: ClaimFacets, ...errorResponses },
        },
      },
      async (req) => claimFacets(db, req.shop.id),
    );

    app.get(
      '/v1/shops/:slug/assignees',
      {
        config: { auth: 'viewer' },
        schema: {
          tags: ['Claims'],
          security: merchantSecurity,
          summary: 'Team members claims can be assigned to',
          description:
            "The shop's portal users who can work claims (portal role `agent` or `admin`), by email, with their name: the portal offers these as a claim's `assignee` (it stores the email). A claim's `assignee` is not limited to them (see PATCH …/claims/{id}). Any role (viewer and up); the full member list with roles is GET …/users (admins).",
          params: Slug,
          response: {
            200: Type.Object({
              data: Type.Array(
                Type.Object({
                  email: Type.String(),
                  name: NullableOut(Type.String()),
                  role: StrEnum(ASSIGNABLE),
                }),
              ),
              ...ListMeta(),
            }),
            ...errorResponses,
          },
        },
      },
      async (req) =>
        listAnswer(
          (await listMembers(db, req.shop.id))
            .filter((m) => (ASSIGNABLE as readonly string[]).includes(m.role))
            .map((m) => ({ email: m.email, name: m.name, role: m.role })),
        ),
    );
  };
}
