import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../app.js';
import type { ReadyDeps } from '../http/context.js';
import { withSecretOnce } from '../http/idempotency.js';
import { ListMeta, listAnswer } from '../http/pagination.js';
import { errorResponses, merchantSecurity, NullableOut, Str, StrEnum } from '../http/schema-helpers.js';
import { AppError } from '../lib/errors.js';
import { createApiKey, ROLES, type Role } from '../shops/api-keys.js';
import { USER_ROLES, type UserRole } from '../shops/users.js';
import {
  changeMemberRole,
  createInvite,
  INVITE_TTL_DAYS,
  listApiKeys,
  listInvites,
  listMembers,
  removeMember,
  revokeApiKey,
  revokeInvite,
} from './team.js';

const tags = ['Team and API keys'];
const security = merchantSecurity;
const Slug = Type.Object({ slug: Type.String({ maxLength: 64 }) });
const SlugId = Type.Object({ slug: Type.String({ maxLength: 64 }), id: Type.String({ maxLength: 64 }) });
const iso = (d: Date | null) => (d ? d.toISOString() : null);

const Member = Type.Object({
  id: Type.String(),
  email: Type.String(),
  name: NullableOut(Type.String()),
  role: StrEnum(USER_ROLES),
  created_at: Type.String(),
});
const Invite = Type.Object({
  id: Type.String(),
  email: Type.String(),
  role: StrEnum(USER_ROLES),
  expires_at: Type.String(),
  created_at: Type.String(),
});
const Key = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: StrEnum(ROLES),
  secret_hint: Type.String({ description: 'The last four characters of the secret.' }),
  expires_at: NullableOut(Type.String()),
  last_used_at: NullableOut(Type.String()),
  revoked_at: NullableOut(Type.String()),
  created_at: Type.String(),
});

/** Shop admins manage who may use the portal and which API keys exist. */
export function teamRoutes(deps: ReadyDeps): FastifyPluginAsync {
  const { db } = deps.database;
  const inviteUrl = (token: string) => `${deps.config.publicUrl}/portal/invite#token=${token}`;
  return async (plain) => {
    const app = plain as unknown as App;

    app.get(
      '/v1/shops/:slug/users',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          security,
          summary: 'Portal users of the shop',
          description:
            'Every member of the shop with their portal role (`viewer`, `agent` or `admin`), by email. Needs the admin role (403 `forbidden`).',
          params: Slug,
          response: {
            200: Type.Object({ data: Type.Array(Member), ...ListMeta() }),
            ...errorResponses,
            403: Type.Ref('Error'),
          },
        },
      },
      async (req) =>
        listAnswer(
          (await listMembers(db, req.shop.id)).map((m) => ({ ...m, created_at: m.created_at.toISOString() })),
        ),
    );

    app.patch(
      '/v1/shops/:slug/users/:id',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          security,
          summary: 'Change a user’s role in the shop',
          description: 'The last admin cannot be demoted (409 `last_admin`).',
          params: SlugId,
          body: Type.Object({ role: StrEnum(USER_ROLES) }, { additionalProperties: false }),
          response: { 204: Type.Null(), ...errorResponses, 409: Type.Ref('Error') },
        },
      },
      async (req, reply) => {
        await changeMemberRole(
          db,
          req.shop.id,
          (req.params as { id: string }).id,
          (req.body as { role: UserRole }).role,
        );
        return reply.code(204).send(null);
      },
    );

    app.delete(
      '/v1/shops/:slug/users/:id',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          security,
          summary: 'Remove a user from the shop (signs them out)',
          description:
            'Ends their membership of this shop and every portal session they have, for all their shops; the account itself and their memberships of other shops stay. The last admin cannot be removed (409 `last_admin`); 404 `user_not_found` for someone who is not a member. Needs the admin role (403 `forbidden`).',
          params: SlugId,
          response: { 204: Type.Null(), ...errorResponses, 403: Type.Ref('Error'), 409: Type.Ref('Error') },
        },
      },
      async (req, reply) => {
        await removeMember(db, req.shop.id, (req.params as { id: string }).id);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/v1/shops/:slug/invites',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          security,
          summary: 'Open invitations',
          description:
            'Invitations neither accepted nor revoked, newest first; expired ones are listed too (compare `expires_at`). The link is never shown again. Needs the admin role (403 `forbidden`).',
          params: Slug,
          response: {
            200: Type.Object({ data: Type.Array(Invite), ...ListMeta() }),
            ...errorResponses,
            403: Type.Ref('Error'),
          },
        },
      },
      async (req) =>
        listAnswer(
          (await listInvites(db, req.shop.id)).map((i) => ({
            id: i.id,
            email: i.email,
            role: i.role as UserRole,
            expires_at: i.expiresAt.toISOString(),
            created_at: i.createdAt.toISOString(),
          })),
        ),
    );

    app.post(
      '/v1/shops/:slug/invites',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          security,
          summary: 'Invite someone to the portal',
          description: `Answers the invitation link (valid ${INVITE_TTL_DAYS} days, shown once) to send to the person. A new invitation for an email that has an open one replaces it (only the latest link works). Someone who is already a member of the shop is not invited again: 409 \`already_member\` (change their role with PATCH …/users/{id}).`,
          params: Slug,
          body: Type.Object(
            { email: Type.String({ format: 'email', maxLength: 254 }), role: StrEnum(USER_ROLES) },
            { additionalProperties: false },
          ),
          response: {
            201: Type.Object({ ...Invite.properties, url: Type.String() }),
            ...errorResponses,
            409: Type.Ref('Error'),
          },
        },
      },
      async (req, reply) => {
        const { email, role } = req.body as { email: string; role: UserRole };
        const { invite, token } = await createInvite(db, {
          shopId: req.shop.id,
          email,
          role,
          createdBy: req.principal.id,
        });
        reply.code(201);
        return {
          id: invite.id,
          email: invite.email,
          role: invite.role as UserRole,
          expires_at: invite.expiresAt.toISOString(),
          created_at: invite.createdAt.toISOString(),
          url: inviteUrl(token),
        };
      },
    );

    app.delete(
      '/v1/shops/:slug/invites/:id',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          security,
          summary: 'Revoke an invitation',
          description:
            'Its link stops working (accepting it answers 410 `invite_invalid`). An invitation already accepted, already revoked or not of this shop answers 404 `invite_not_found`; revoking does not undo an acceptance. Needs the admin role (403 `forbidden`).',
          params: SlugId,
          response: { 204: Type.Null(), ...errorResponses, 403: Type.Ref('Error') },
        },
      },
      async (req, reply) => {
        await revokeInvite(db, req.shop.id, (req.params as { id: string }).id);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/v1/shops/:slug/api-keys',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          security,
          summary: 'API keys of the shop (never their secrets)',
          description:
            'Every key that covers this shop, newest first, revoked and expired ones included (`revoked_at`, `expires_at`), with the last four characters of the secret (`secret_hint`) and `last_used_at` (updated at most once a minute). Needs the admin role (403 `forbidden`).',
          params: Slug,
          response: {
            200: Type.Object({ data: Type.Array(Key), ...ListMeta() }),
            ...errorResponses,
            403: Type.Ref('Error'),
          },
        },
      },
      async (req) =>
        listAnswer(
          (await listApiKeys(db, req.shop.id)).map((k) => ({
            id: k.id,
            name: k.name,
            role: k.role as Role,
            secret_hint: k.secret_hint,
            expires_at: iso(k.expires_at),
            last_used_at: iso(k.last_used_at),
            revoked_at: iso(k.revoked_at),
            created_at: k.created_at.toISOString(),
          })),
        ),
    );

    app.post(
      '/v1/shops/:slug/api-keys',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          security,
          summary: 'Create an API key for this shop',
          description:
            'The answer holds the `secret`, the only time it is shown (an Idempotency-Key replay answers `secret: null`). HTTP Basic username = `name`, so it must be unique among the shop’s active keys (409 `api_key_name_taken`; revoke the old key first). `expires_at` must be in the future.',
          params: Slug,
          body: Type.Object(
            {
              name: Str(100, {
                minLength: 1,
                pattern: '^[A-Za-z0-9._-]+$',
                patternMessage: 'must be letters, digits, dots, dashes and _ only',
              }),
              role: StrEnum(ROLES),
              expires_at: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
            },
            { additionalProperties: false },
          ),
          response: {
            201: Type.Object({ ...Key.properties, secret: Type.String() }),
            ...errorResponses,
            409: Type.Ref('Error'),
          },
        },
      },
      async (req, reply) => {
        const body = req.body as { name: string; role: Role; expires_at?: string | null };
        if (body.expires_at && Date.parse(body.expires_at) <= Date.now())
          throw new AppError('validation_failed', 'The request is invalid.', [
            { path: '/expires_at', message: 'must be in the future' },
          ]);
        const { key, secret } = await createApiKey(db, {
          shopIds: [req.shop.id],
          role: body.role,
          name: body.name,
          expiresAt: body.expires_at ? new Date(body.expires_at) : null,
          uniqueNameInShop: req.shop.id,
        });
        reply.code(201).header('cache-control', 'no-store');
        const view = {
          id: key.id,
          name: key.name,
          role: key.role as Role,
          secret_hint: key.secretHint,
          expires_at: iso(key.expiresAt),
          last_used_at: null,
          revoked_at: null,
          created_at: key.createdAt.toISOString(),
        };
        return withSecretOnce(db, req, 201, view, secret);
      },
    );

    app.delete(
      '/v1/shops/:slug/api-keys/:id',
      {
        config: { auth: 'admin' },
        schema: {
          tags,
          security,
          summary: 'Revoke an API key',
          description:
            'At once: its next request answers 401 `unauthorized`. A key that also serves other shops is revoked with the CLI, not here (409 `api_key_shared`); an unknown key, one already revoked or one not of this shop answers 404 `api_key_not_found`. Needs the admin role (403 `forbidden`); an admin key may revoke itself.',
          params: SlugId,
          response: { 204: Type.Null(), ...errorResponses, 403: Type.Ref('Error'), 409: Type.Ref('Error') },
        },
      },
      async (req, reply) => {
        await revokeApiKey(db, req.shop.id, (req.params as { id: string }).id);
        return reply.code(204).send(null);
      },
    );
  };
}
