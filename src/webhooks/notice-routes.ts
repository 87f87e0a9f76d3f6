import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { App } from '../app.js';
import type { ReadyDeps } from '../http/context.js';
import { pageRequest, splitPage } from '../http/pagination.js';
import { errorResponses } from '../http/schema-helpers.js';
import { ListMeta, NoticeView, SlugParams, security } from './api-schemas.js';
import { dismissNotice, listNotices, noticeView } from './notices.js';

const tags = ['Notices'];

/** What the portal shows a shop's people (e.g. "a webhook endpoint was disabled"), by the caller's role. */
export function noticeRoutes(deps: ReadyDeps): FastifyPluginAsync {
  const { db } = deps.database;
  return async (plain) => {
    const app = plain as unknown as App;

    app.get(
      '/v1/shops/:slug/notices',
      {
        config: { auth: 'viewer' },
        schema: {
          tags,
          security,
          summary: 'List notices for the shop',
          description:
            'Newest first; only notices meant for the caller’s role or below (e.g. disabled webhook endpoints are for admins). Dismissed notices only with `include_dismissed=true`.',
          params: SlugParams,
          querystring: Type.Object(
            {
              include_dismissed: Type.Optional(Type.Boolean({ default: false })),
              per_page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 25 })),
              cursor: Type.Optional(Type.String({ maxLength: 200 })),
            },
            { additionalProperties: false },
          ),
          response: { 200: Type.Object({ data: Type.Array(NoticeView), ...ListMeta }), ...errorResponses },
        },
      },
      async (req) => {
        const q = req.query as { include_dismissed?: boolean; per_page?: number; cursor?: string };
        const page = pageRequest(q);
        const rows = await listNotices(db, req.shop.id, req.principal.role, {
          includeDismissed: q.include_dismissed ?? false,
          after: page.after,
          limit: page.limit,
        });
        const { rows: pageRows, has_more, next_cursor } = splitPage(rows, page);
        return { data: pageRows.map(noticeView), has_more, next_cursor };
      },
    );

    app.post(
      '/v1/shops/:slug/notices/:id/dismiss',
      {
        config: { auth: 'viewer' },
        schema: {
          tags,
          security,
          summary: 'Dismiss a notice',
          description: 'For everyone in the shop. A notice the caller’s role does not see is 404.',
          params: Type.Object({ slug: Type.String(), id: Type.String({ maxLength: 64 }) }),
          response: { 200: NoticeView, ...errorResponses },
        },
      },
      async (req) => {
        const { id } = req.params as { id: string };
        return noticeView(await dismissNotice(db, req.shop.id, id, req.principal.role));
      },
    );
  };
}
