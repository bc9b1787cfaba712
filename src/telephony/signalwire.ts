import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../http/context.js';
import { hookBaseUrl, insertIntegration } from './integrations.js';
import { type TexmlDialect, texmlHookRoutes, validTwilioSignature } from './twilio.js';

/**
 * SignalWire's Compatibility API (cXML, formerly LaML) speaks TwiML and signs its webhooks like Twilio:
 * `X-SignalWire-Signature` (with `X-Twilio-Signature` sent as an alias) is base64 HMAC-SHA1 of the URL and
 * the sorted POST parameters, keyed with the project's Signing Key rather than an auth token
 * (https://developer.signalwire.com/guides/webhook-security/; reference/telephony.md §1.7).
 */
function signalwireDialect(ctx: AppContext): TexmlDialect {
  return {
    kind: 'signalwire',
    signatureName: 'X-SignalWire-Signature',
    verify(row, req, url, _raw, form) {
      const sw = req.headers['x-signalwire-signature'] ?? req.headers['x-twilio-signature'];
      return validTwilioSignature(
        ctx.secrets.open(row.secret),
        typeof sw === 'string' ? sw : undefined,
        url,
        form.all,
      );
    },
    cursorKey: (row) => ctx.secrets.open(row.secret),
  };
}

export function signalwireHookRoutes(app: FastifyInstance, ctx: AppContext): void {
  texmlHookRoutes(app, ctx, signalwireDialect(ctx));
}

/** `POST /api/v1/integrations/signalwire`: connects a SignalWire project by its Signing Key (stored sealed). */
export function signalwireIntegrationRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/api/v1/integrations/signalwire',
    {
      schema: {
        tags: ['telephony'],
        body: z
          .object({ name: z.string().min(1).max(200), signingKey: z.string().min(16).max(200) })
          .strict(),
      },
    },
    async (req, reply) => {
      const id = await insertIntegration(ctx, req.accountId, {
        kind: 'signalwire',
        name: req.body.name,
        secret: ctx.secrets.seal(req.body.signingKey),
      });
      const hooks = hookBaseUrl(ctx, 'signalwire', id);
      reply.code(201);
      // The signing key is never shown back.
      return {
        id,
        kind: 'signalwire' as const,
        name: req.body.name,
        voiceUrl: `${hooks}/voice`,
        statusCallbackUrl: `${hooks}/status`,
      };
    },
  );
}
