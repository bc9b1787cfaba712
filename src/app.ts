import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { serveDashboard } from '../dashboard/serve.js';
import { buildWidget } from '../widget/build.js';
import { accountForKey } from './accounts/keys.js';
import { accountRoutes } from './accounts/routes.js';
import { bulkRoutes } from './bulk/routes.js';
import { callbackRoutes } from './callbacks/routes.js';
import { callRoutes } from './calls/routes.js';
import { type Clock, systemClock } from './clock.js';
import type { Config } from './config.js';
import { conversionRoutes } from './conversions/routes.js';
import { adConnectionRoutes } from './costs/connections.js';
import { costRoutes } from './costs/routes.js';
import { crmHookRoutes } from './crm/hooks.js';
import { crmConnectionRoutes } from './crm/routes.js';
import type { Db } from './db/db.js';
import { exportRoutes, feedRoutes } from './exports/routes.js';
import { employeeRoutes } from './flows/employees.js';
import { flowRoutes } from './flows/routes.js';
import { createContext } from './http/context.js';
import { HttpError } from './http/errors.js';
import { operatorRoutes, poolSettingsRoutes } from './inventory/routes.js';
import { leadCollectRoutes, leadRoutes } from './leads/routes.js';
import { poolSizingRoutes } from './pool-sizing/routes.js';
import { callStreamHub } from './realtime/call-stream.js';
import { realtimeRoutes } from './realtime/routes.js';
import { reportRoutes } from './reports/routes.js';
import { dealRoutes } from './revenue/routes.js';
import { siteRoutes } from './sites/routes.js';
import { asteriskHookRoutes, asteriskIntegrationRoutes } from './telephony/asterisk.js';
import { genericHookRoutes, integrationRoutes } from './telephony/generic.js';
import { kamailioHookRoutes, kamailioIntegrationRoutes } from './telephony/kamailio.js';
import { mangoHookRoutes, mangoIntegrationRoutes } from './telephony/mango.js';
import { signalwireHookRoutes, signalwireIntegrationRoutes } from './telephony/signalwire.js';
import { telnyxHookRoutes, telnyxIntegrationRoutes } from './telephony/telnyx.js';
import { twilioHookRoutes, twilioIntegrationRoutes } from './telephony/twilio.js';
import { zadarmaHookRoutes, zadarmaIntegrationRoutes } from './telephony/zadarma.js';
import { type Geo, openGeo } from './tracking/geo.js';
import { trackingRoutes } from './tracking/routes.js';
import { authRoutes, sessionUser } from './users/routes.js';
import { webhookRoutes } from './webhooks/routes.js';

export interface AppDeps {
  config: Config;
  db: Db;
  clock?: Clock;
  geo?: Geo;
}

/** Builds the HTTP application without listening, so tests drive it through `inject()`. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const ctx = createContext({
    config: deps.config,
    db: deps.db,
    clock: deps.clock ?? systemClock,
    geo: deps.geo ?? (await openGeo()),
  });
  const app = Fastify({
    logger: deps.config.logLevel === 'silent' ? false : { level: deps.config.logLevel },
    trustProxy: deps.config.trustProxy,
    bodyLimit: 256 * 1024,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest('accountId', '');

  // The widget posts JSON as text/plain so browsers send no CORS preflight.
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(new HttpError(400, 'malformed_json', 'Request body is not valid JSON'), undefined);
    }
  });

  app.setErrorHandler((err: FastifyError | HttpError, req, reply) => {
    if (err instanceof HttpError) {
      return reply.code(err.statusCode).send({ error: err.code, message: err.message, details: err.details });
    }
    if ('validation' in err && err.validation) {
      const where = err.validationContext ?? 'request';
      const issues = err.validation.map((v) => ({
        field: [
          where,
          ...String(v.instancePath ?? '')
            .split('/')
            .filter(Boolean),
        ].join('.'),
        message: v.message,
      }));
      const message = issues.map((i) => `${i.field}: ${i.message}`).join('; ');
      return reply.code(400).send({ error: 'invalid_request', message, issues });
    }
    const status = err.statusCode ?? 500;
    if (status >= 500) req.log.error(err);
    const code =
      err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
        ? 'malformed_json'
        : err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? 'body_too_large'
          : err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
            ? 'unsupported_media_type'
            : status >= 500
              ? 'internal'
              : 'bad_request';
    return reply
      .code(status)
      .send({ error: code, message: status >= 500 ? 'Internal server error' : err.message });
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Ringtrace API', version: '1', description: 'Call tracking REST API' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          operatorToken: { type: 'apiKey', in: 'header', name: 'X-Operator-Token' },
        },
      },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs' });
  await app.register(cookie);

  app.get('/healthz', { schema: { hide: true } }, async () => {
    await ctx.db.query('SELECT 1');
    return { ok: true };
  });

  const widgetJs = await buildWidget();
  app.get('/rt.js', { schema: { hide: true } }, async (_req, reply) => {
    reply
      .header('content-type', 'application/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=3600, stale-while-revalidate=86400')
      .header('access-control-allow-origin', '*');
    return widgetJs;
  });

  trackingRoutes(app, ctx);
  leadCollectRoutes(app, ctx);
  genericHookRoutes(app, ctx);
  authRoutes(app, ctx);
  twilioHookRoutes(app, ctx);
  kamailioHookRoutes(app, ctx);
  asteriskHookRoutes(app, ctx);
  mangoHookRoutes(app, ctx);
  zadarmaHookRoutes(app, ctx);
  signalwireHookRoutes(app, ctx);
  telnyxHookRoutes(app, ctx);
  feedRoutes(app, ctx);
  crmHookRoutes(app, ctx);

  const hub = callStreamHub(ctx.db, app.log);
  // Open streams would hold the server's close open; end them first.
  app.addHook('preClose', () => hub.close());

  await app.register(async (api) => {
    api.addHook('onRequest', async (req) => {
      const header = req.headers.authorization ?? '';
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      if (!match) {
        // The dashboard authenticates with its session cookie instead of a key.
        const user = header ? null : await sessionUser(ctx, req);
        if (user) {
          req.accountId = user.accountId;
          return;
        }
        throw new HttpError(401, 'unauthorized', 'Authorization: Bearer <API key> header is required');
      }
      const accountId = await accountForKey(ctx.db, match[1]);
      if (!accountId) throw new HttpError(401, 'unauthorized', 'API key is unknown or revoked');
      req.accountId = accountId;
    });
    accountRoutes(api, ctx);
    siteRoutes(api, ctx);
    callRoutes(api, ctx);
    integrationRoutes(api, ctx);
    twilioIntegrationRoutes(api, ctx);
    kamailioIntegrationRoutes(api, ctx);
    asteriskIntegrationRoutes(api, ctx);
    mangoIntegrationRoutes(api, ctx);
    zadarmaIntegrationRoutes(api, ctx);
    signalwireIntegrationRoutes(api, ctx);
    telnyxIntegrationRoutes(api, ctx);
    flowRoutes(api, ctx);
    employeeRoutes(api, ctx);
    reportRoutes(api, ctx);
    exportRoutes(api, ctx);
    poolSizingRoutes(api, ctx);
    poolSettingsRoutes(api, ctx);
    leadRoutes(api, ctx);
    webhookRoutes(api, ctx);
    costRoutes(api, ctx);
    adConnectionRoutes(api, ctx);
    dealRoutes(api, ctx);
    bulkRoutes(api, ctx);
    realtimeRoutes(api, ctx, hub);
    conversionRoutes(api, ctx);
    crmConnectionRoutes(api, ctx);
    callbackRoutes(api, ctx);
  });

  await operatorRoutes(app, ctx);

  await serveDashboard(app);

  return app;
}
