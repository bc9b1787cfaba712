import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { findSiteByKey, findSiteOfVisit, type Site } from '../sites/store.js';
import { findWidgetSite, recordLeaseRequest, recordPageHit, recordPing } from './visits.js';

const visitorId = z.string().regex(/^[A-Za-z0-9_.-]{8,64}$/, 'must be 8-64 letters, digits, _ . or -');
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(4096);

const visitBody = z
  .object({
    site: z.string().min(1).max(64),
    visitor: visitorId.optional(),
    visit: z.uuid().optional(),
    url: httpUrl,
    referrer: z.union([httpUrl, z.literal('')]).optional(),
    title: z.string().max(1000).optional(),
    gaClientId: z.string().max(100).optional(),
    ymUid: z.string().max(100).optional(),
    /** GA4 session ids per property from the _ga_<container> cookies: "<container>:<session id>,…". */
    gaSessions: z
      .string()
      .regex(
        /^\w{1,30}:\d{1,20}(,\w{1,30}:\d{1,20}){0,9}$/,
        'must be <container>:<session id> pairs joined by commas',
      )
      .optional(),
  })
  .strict();

const pingBody = z.object({ visit: z.uuid(), leave: z.boolean().optional() }).strict();

const leaseBody = z.object({ site: z.string().min(1).max(64), visitor: visitorId, visit: z.uuid() }).strict();

/** Collection endpoints the widget calls from any site: CORS-open, small bodies. */
export function trackingRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const bodyLimit = 16 * 1024;

  app.addHook('onRequest', async (req, reply) => {
    if (req.url.startsWith('/t/')) cors(reply);
  });
  app.options('/t/*', { schema: { hide: true } }, async (_req, reply) => {
    reply
      .header('access-control-allow-methods', 'POST')
      .header('access-control-allow-headers', 'content-type');
    reply.code(204);
  });

  r.post('/t/visit', { bodyLimit, schema: { hide: true, body: visitBody } }, async (req) => {
    const site = await siteFor(ctx, req.body.site, req.body.url, req.headers.origin, findWidgetSite);
    return recordPageHit(ctx, {
      site,
      visitorId: req.body.visitor ?? null,
      visitId: req.body.visit ?? null,
      url: req.body.url,
      referrer: req.body.referrer || null,
      title: req.body.title ?? null,
      gaClientId: req.body.gaClientId ?? null,
      ymUid: req.body.ymUid ?? null,
      gaSessions: req.body.gaSessions ?? null,
      ip: req.ip,
      userAgent: req.headers['user-agent'],
    });
  });

  // Site `leaseOn: visible`: the widget asks for the visit's number once one of the site's numbers is shown.
  r.post('/t/lease', { bodyLimit, schema: { hide: true, body: leaseBody } }, async (req) => {
    const site = await siteFor(ctx, req.body.site, null, req.headers.origin, findSiteByKey);
    return recordLeaseRequest(ctx, site, { visitorId: req.body.visitor, visitId: req.body.visit });
  });

  r.post('/t/ping', { bodyLimit, schema: { hide: true, body: pingBody } }, async (req) => {
    const site = await findSiteOfVisit(ctx.db, req.body.visit);
    if (!site) throw new HttpError(404, 'unknown_visit', `visit: ${req.body.visit} is not a known visit`);
    checkDomain(site, null, req.headers.origin);
    return recordPing(ctx, site, req.body.visit, req.body.leave === true);
  });
}

function cors(reply: FastifyReply): void {
  reply.header('access-control-allow-origin', '*');
}

/** The site of a widget key; a site that lists its domains accepts hits only from them. */
async function siteFor<S extends Site>(
  ctx: AppContext,
  siteKey: string,
  url: string | null,
  origin: string | undefined,
  find: (db: AppContext['db'], siteKey: string) => Promise<S | null>,
): Promise<S> {
  const site = await find(ctx.db, siteKey);
  if (!site) throw new HttpError(404, 'unknown_site', `site: no site has the key ${siteKey}`);
  checkDomain(site, url, origin);
  return site;
}

function checkDomain(site: Site, url: string | null, origin: string | undefined): void {
  if (site.domains.length > 0) {
    for (const candidate of [url, origin]) {
      if (!candidate) continue;
      const host = hostOf(candidate);
      if (!host || !site.domains.some((d) => host === d || host.endsWith(`.${d}`))) {
        throw new HttpError(
          403,
          'domain_not_allowed',
          `${host ?? candidate} is not one of the site's domains`,
        );
      }
    }
  }
}

function hostOf(url: string): string | null {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return null;
  }
}
