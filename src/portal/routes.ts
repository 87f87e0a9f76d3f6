import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../app.js';
import type { ReadyDeps } from '../http/context.js';
import { errorResponses, Str } from '../http/schema-helpers.js';
import { AppError } from '../lib/errors.js';
import { clearPortalCookie, portalCookie, setPortalCookie } from './cookies.js';
import {
  ABSOLUTE_MS,
  closePortalSession,
  csrfMatches,
  findPortalSession,
  membershipsOf,
  openPortalSession,
} from './sessions.js';
import { checkCredentials } from './sign-in.js';
import { acceptInvite, accountPasswordRequired, openInvite } from './team.js';

const tags = ['Portal'];
const Me = Type.Object({
  user: Type.Object({
    id: Type.String(),
    email: Type.String(),
    name: Type.Union([Type.String(), Type.Null()]),
  }),
  shops: Type.Array(
    Type.Object({
      slug: Type.String(),
      name: Type.String(),
      role: Type.String({ enum: ['viewer', 'agent', 'admin'] }),
    }),
  ),
  csrf_token: Type.String({
    description: 'Send it as `x-csrf-token` on every state-changing request made with the session cookie.',
  }),
  expires_at: Type.String(),
});

/** Portal sign-in: a session cookie (httpOnly, SameSite=Lax, Secure on HTTPS) plus a CSRF token. */
export function portalRoutes(deps: ReadyDeps): FastifyPluginAsync {
  const { db } = deps.database;
  const meta = (req: FastifyRequest) => ({
    ip: req.ip,
    userAgent: (req.headers['user-agent'] as string | undefined) ?? null,
  });
  const answer = async (
    user: { id: string; email: string; name: string | null },
    csrf: string,
    expiresAt: Date,
  ) => ({
    user: { id: user.id, email: user.email, name: user.name },
    shops: (await membershipsOf(db, user.id)).map(({ slug, name, role }) => ({ slug, name, role })),
    csrf_token: csrf,
    expires_at: expiresAt.toISOString(),
  });

  return async (plain) => {
    const app = plain as unknown as App;

    app.post(
      '/v1/portal/login',
      {
        schema: {
          tags,
          summary: 'Sign in to the portal',
          description:
            'Sets the session cookie. A wrong email and a wrong password answer the same 401 `invalid_credentials`; repeated failures lock the account for 15 minutes (429 with Retry-After).',
          body: Type.Object(
            { email: Str(254, { minLength: 3 }), password: Str(200, { minLength: 1 }) },
            { additionalProperties: false },
          ),
          response: { 200: Me, ...errorResponses, 429: Type.Ref('Error') },
        },
      },
      async (req, reply) => {
        const { email, password } = req.body as { email: string; password: string };
        const user = await checkCredentials(db, email, password, req.ip);
        const s = await openPortalSession(db, user.id, meta(req));
        setPortalCookie(reply, deps.config, req, s.token, Math.floor(ABSOLUTE_MS / 1000));
        reply.header('cache-control', 'no-store');
        return answer(user, s.csrf, s.expiresAt);
      },
    );

    app.get(
      '/v1/portal/me',
      {
        schema: {
          tags,
          summary: 'The signed-in user, their shops and roles, and the CSRF token',
          description:
            'For the portal’s session cookie; API keys are not accepted here. Each call keeps the session alive: `expires_at` is 12 hours after the last request (renewed at most once a minute), never more than 7 days after sign-in. Without a live session: 401 `unauthorized`.',
          response: { 200: Me, ...errorResponses },
        },
      },
      async (req, reply) => {
        const s = await findPortalSession(db, portalCookie(deps.config, req));
        if (!s) throw new AppError('unauthorized', 'Not signed in.', [], 401);
        reply.header('cache-control', 'no-store');
        return answer({ id: s.userId, email: s.email, name: s.name }, s.csrf, s.expiresAt);
      },
    );

    app.post(
      '/v1/portal/logout',
      {
        schema: {
          tags,
          summary: 'Sign out (needs the CSRF token)',
          description:
            'Ends the session of the cookie and clears the cookie. With a live session, `x-csrf-token` must match it: otherwise 403 `csrf_failed` and the session stays open. Without one (no cookie, or expired) it answers 204 all the same.',
          response: { 204: Type.Null(), ...errorResponses, 403: Type.Ref('Error') },
        },
      },
      async (req, reply) => {
        const s = await findPortalSession(db, portalCookie(deps.config, req));
        if (s) {
          if (!csrfMatches(s, req.headers['x-csrf-token'] as string | undefined))
            throw new AppError(
              'csrf_failed',
              'This request lacks the page’s security token. Reload the page.',
            );
          await closePortalSession(db, s.id);
        }
        clearPortalCookie(reply, deps.config, req);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/v1/portal/invite',
      {
        schema: {
          tags,
          summary: 'What an invitation is for, before accepting it',
          description:
            'For the invitation page: the shop, the invited email and role, when the invitation expires, and whether that email has a Resolve account already (then it is accepted with that account’s password). The token is the one in the invitation link. A used, revoked or expired invitation answers 410 `invite_invalid`.',
          querystring: Type.Object({ token: Str(200, { minLength: 10 }) }, { additionalProperties: false }),
          response: {
            200: Type.Object({
              shop_name: Type.String(),
              email: Type.String(),
              role: Type.String({ examples: ['agent'] }),
              has_account: Type.Boolean(),
              expires_at: Type.String({ format: 'date-time' }),
            }),
            ...errorResponses,
            410: Type.Ref('Error'),
          },
        },
      },
      async (req, reply) => {
        const inv = await openInvite(db, (req.query as { token: string }).token);
        reply.header('cache-control', 'no-store');
        return {
          shop_name: inv.shopName,
          email: inv.email,
          role: inv.role,
          has_account: inv.hasAccount,
          expires_at: inv.expiresAt.toISOString(),
        };
      },
    );

    app.post(
      '/v1/portal/invites/accept',
      {
        schema: {
          tags,
          summary: 'Accept an invitation and sign in',
          description:
            'A new account chooses its password here. An email that has an account already enters that account’s password (401 `invalid_credentials` otherwise; limited and locked out like sign-in). For someone who is a member of the shop already, the invitation’s role replaces theirs; it cannot demote the shop’s last admin (409 `last_admin`, and the invitation stays open). A used, revoked or expired invitation answers 410 `invite_invalid`.',
          body: Type.Object(
            {
              token: Str(200, { minLength: 10 }),
              password: Str(200, { minLength: 10 }),
              name: Type.Optional(Str(200)),
            },
            { additionalProperties: false },
          ),
          response: { 200: Me, ...errorResponses, 409: Type.Ref('Error'), 410: Type.Ref('Error') },
        },
      },
      async (req, reply) => {
        const { token, password, name } = req.body as { token: string; password: string; name?: string };
        // An account that exists already joins with its own password (limited and locked out like a sign-in).
        const invite = await openInvite(db, token);
        let verified: string | null = null;
        if (invite.hasAccount) {
          try {
            verified = (await checkCredentials(db, invite.email, password, req.ip)).id;
          } catch (err) {
            throw err instanceof AppError && err.key === 'invalid_credentials'
              ? accountPasswordRequired()
              : err;
          }
        }
        const { userId } = await acceptInvite(db, token, password, name ?? null, verified);
        const s = await openPortalSession(db, userId, meta(req));
        setPortalCookie(reply, deps.config, req, s.token, Math.floor(ABSOLUTE_MS / 1000));
        const me = await findPortalSession(db, s.token);
        return answer({ id: userId, email: me?.email ?? '', name: me?.name ?? null }, s.csrf, s.expiresAt);
      },
    );
  };
}
