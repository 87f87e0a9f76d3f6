import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../app.js';
import type { ReadyDeps } from '../http/context.js';
import { ListMeta, listAnswer } from '../http/pagination.js';
import { errorResponses, Str } from '../http/schema-helpers.js';
import { AppError } from '../lib/errors.js';
import { roleRank } from '../shops/api-keys.js';
import { SavedView } from './api-schemas.js';
import { callerId, callerRole } from './caller.js';
import { ViewQuery } from './filters.js';
import { createView, deleteView, listViews, updateView, type ViewQueryT } from './views.js';

const security: { [k: string]: string[] }[] = [{ basicAuth: [] }, { bearerAuth: [] }];
const tags = ['Claims'];
const Slug = Type.Object({ slug: Type.String() });
const SlugId = Type.Object({ slug: Type.String(), id: Type.String({ maxLength: 64 }) });
const Name = Str(100, {
  minLength: 1,
  pattern: '\\S',
  patternMessage: 'must not be blank',
  description: 'Unique among your views.',
});
const Shared = Type.Boolean({ description: 'List it for everyone in the shop (needs the editor role).' });

/** Sharing a view puts it in front of everyone: an editor's decision; a viewer keeps views to themselves. */
function checkMayShare(role: ReturnType<typeof callerRole>, shared: boolean | undefined) {
  if (shared && roleRank(role) < roleRank('editor'))
    throw new AppError('forbidden', 'Sharing a view needs the editor role; save it unshared.');
}

export function claimViewRoutes(deps: ReadyDeps): FastifyPluginAsync {
  const { db } = deps.database;
  return async (plain) => {
    const app = plain as unknown as App;

    app.get(
      '/v1/shops/:slug/claim-views',
      {
        config: { auth: 'viewer' },
        schema: {
          tags,
          security,
          summary: 'List saved views of the claims list',
          description: 'Your views and the views others shared, by name.',
          params: Slug,
          response: { 200: Type.Object({ data: Type.Array(SavedView), ...ListMeta() }), ...errorResponses },
        },
      },
      async (req) => listAnswer(await listViews(db, req.shop.id, callerId(req))),
    );

    app.post(
      '/v1/shops/:slug/claim-views',
      {
        config: { auth: 'viewer' },
        schema: {
          tags,
          security,
          summary: 'Save a view of the claims list',
          description:
            '`query` holds the list’s filters and sort, as its query parameters (validated like them). Saved views are personal settings: the viewer role suffices, sharing needs editor.',
          params: Slug,
          body: Type.Object(
            { name: Name, query: ViewQuery, shared: Type.Optional(Shared) },
            {
              additionalProperties: false,
              examples: [
                {
                  name: 'Open DHL damage',
                  query: { status: 'pending', flow: 'defective', carrier: 'dhl' },
                  shared: true,
                },
              ],
            },
          ),
          response: {
            201: SavedView,
            ...errorResponses,
            403: Type.Ref('Error'),
            409: Type.Ref('Error'),
            422: Type.Ref('Error'),
          },
        },
      },
      async (req, reply) => {
        const body = req.body as { name: string; query: ViewQueryT; shared?: boolean };
        checkMayShare(callerRole(req), body.shared);
        const view = await createView(db, req.shop.id, callerId(req), body);
        reply.code(201);
        return view;
      },
    );

    app.patch(
      '/v1/shops/:slug/claim-views/:id',
      {
        config: { auth: 'viewer' },
        schema: {
          tags,
          security,
          summary: 'Rename, re-filter or (un)share a saved view',
          description: 'Only its owner changes a view. `query` replaces the whole query.',
          params: SlugId,
          body: Type.Object(
            { name: Type.Optional(Name), query: Type.Optional(ViewQuery), shared: Type.Optional(Shared) },
            { additionalProperties: false, minProperties: 1 },
          ),
          response: { 200: SavedView, ...errorResponses, 403: Type.Ref('Error'), 409: Type.Ref('Error') },
        },
      },
      async (req) => {
        const body = req.body as { name?: string; query?: ViewQueryT; shared?: boolean };
        checkMayShare(callerRole(req), body.shared);
        return updateView(db, req.shop.id, callerId(req), (req.params as { id: string }).id, body);
      },
    );

    app.delete(
      '/v1/shops/:slug/claim-views/:id',
      {
        config: { auth: 'viewer' },
        schema: {
          tags,
          security,
          summary: 'Delete a saved view',
          description:
            'Only its owner (the API key or portal user that saved it) deletes a view, whatever its role: a view shared by someone else answers 403 `forbidden`, an id that is neither yours nor shared 404 `view_not_found`.',
          params: SlugId,
          response: { 204: Type.Null(), ...errorResponses, 403: Type.Ref('Error') },
        },
      },
      async (req, reply) => {
        await deleteView(db, req.shop.id, callerId(req), (req.params as { id: string }).id);
        return reply.code(204).send(null);
      },
    );
  };
}
