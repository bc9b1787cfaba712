import { createPublicKey, randomBytes, verify } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../http/context.js';
import { hookBaseUrl, insertIntegration } from './integrations.js';
import { type TexmlDialect, texmlHookRoutes } from './twilio.js';

/** Telnyx signs the send time; older deliveries are refused as replays (Telnyx's SDKs use 5 minutes). */
export const TELNYX_TOLERANCE_SECONDS = 300;

function publicKeyFromBase64(base64: string) {
  const raw = Buffer.from(base64, 'base64');
  if (raw.length !== 32) return null;
  try {
    return createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
      format: 'jwk',
    });
  } catch {
    return null;
  }
}

/**
 * Telnyx TeXML webhooks are signed with Ed25519, not HMAC: `telnyx-signature-ed25519` is the base64
 * signature of `${telnyx-timestamp}|${raw body}` under the account's public key (Mission Control → Keys &
 * Credentials → Public Key); https://developers.telnyx.com/api-reference/callbacks/texml-call-initiated,
 * https://developers.telnyx.com/docs/development/sdk/python/webhooks.
 */
export function validTelnyxSignature(
  publicKey: string,
  signature: string | undefined,
  timestamp: string | undefined,
  rawBody: string,
  now: Date,
): boolean {
  if (!signature || !timestamp || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(now.getTime() / 1000 - Number(timestamp)) > TELNYX_TOLERANCE_SECONDS) return false;
  const key = publicKeyFromBase64(publicKey);
  const sig = Buffer.from(signature, 'base64');
  if (!key || sig.length !== 64) return false;
  return verify(null, Buffer.from(`${timestamp}|${rawBody}`, 'utf8'), key, sig);
}

function telnyxDialect(ctx: AppContext): TexmlDialect {
  return {
    kind: 'telnyx',
    signatureName: 'telnyx-signature-ed25519',
    verify(row, req, _url, raw) {
      const h = (name: string) => {
        const v = req.headers[name];
        return typeof v === 'string' ? v : undefined;
      };
      return validTelnyxSignature(
        String(row.settings.publicKey),
        h('telnyx-signature-ed25519'),
        h('telnyx-timestamp'),
        raw,
        ctx.clock.now(),
      );
    },
    // The public key verifies Telnyx but is public: the cursors get a server-side random key instead.
    cursorKey: (row) => row.secret,
  };
}

export function telnyxHookRoutes(app: FastifyInstance, ctx: AppContext): void {
  texmlHookRoutes(app, ctx, telnyxDialect(ctx));
}

/** `POST /api/v1/integrations/telnyx`: connects a Telnyx TeXML application by the account's public key. */
export function telnyxIntegrationRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/api/v1/integrations/telnyx',
    {
      schema: {
        tags: ['telephony'],
        body: z
          .object({
            name: z.string().min(1).max(200),
            publicKey: z
              .string()
              .max(100)
              .refine(
                (k) => publicKeyFromBase64(k) !== null,
                'must be the base64 Ed25519 public key (32 bytes)',
              ),
          })
          .strict(),
      },
    },
    async (req, reply) => {
      const id = await insertIntegration(ctx, req.accountId, {
        kind: 'telnyx',
        name: req.body.name,
        secret: randomBytes(32).toString('hex'),
        settings: { publicKey: req.body.publicKey },
      });
      const hooks = hookBaseUrl(ctx, 'telnyx', id);
      reply.code(201);
      return {
        id,
        kind: 'telnyx' as const,
        name: req.body.name,
        publicKey: req.body.publicKey,
        voiceUrl: `${hooks}/voice`,
        statusCallbackUrl: `${hooks}/status`,
      };
    },
  );
}
