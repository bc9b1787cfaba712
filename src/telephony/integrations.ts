import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';

export type IntegrationKind =
  | 'generic'
  | 'twilio'
  | 'kamailio'
  | 'asterisk'
  | 'mango'
  | 'zadarma'
  | 'signalwire'
  | 'telnyx';

export interface IntegrationRow {
  account_id: string;
  secret: string;
  settings: Record<string, unknown>;
}

/** The server's public base URL without a trailing slash: what providers call and sign. */
export function publicBaseUrl(ctx: AppContext): string {
  return (ctx.config.publicUrl ?? `http://localhost:${ctx.config.port}`).replace(/\/+$/, '');
}

/** `https://<public URL>/hooks/<kind>/<id>`: where the provider sends this integration's webhooks. */
export function hookBaseUrl(ctx: AppContext, kind: IntegrationKind, id: string): string {
  return `${publicBaseUrl(ctx)}/hooks/${kind}/${id}`;
}

export async function insertIntegration(
  ctx: AppContext,
  accountId: string,
  i: {
    kind: IntegrationKind;
    name: string;
    secret: string;
    settings?: Record<string, unknown>;
    /** Twilio's Account SID: callbacks place calls under it (not a secret). */
    accountSid?: string;
  },
): Promise<string> {
  const id = randomUUID();
  await ctx.db.query(
    `INSERT INTO integrations (account_id, id, kind, name, secret, settings, account_sid, created_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
    [
      accountId,
      id,
      i.kind,
      i.name,
      i.secret,
      JSON.stringify(i.settings ?? {}),
      i.accountSid ?? null,
      ctx.clock.now(),
    ],
  );
  return id;
}

/** The integration a hook URL names, of the hook's kind; 404 otherwise (another kind included). */
export async function hookIntegration(
  ctx: AppContext,
  kind: IntegrationKind,
  integrationId: string,
): Promise<IntegrationRow> {
  const row = z.uuid().safeParse(integrationId).success
    ? (
        await ctx.db.query<IntegrationRow>(
          'SELECT account_id, secret, settings FROM integrations WHERE id = $1 AND kind = $2',
          [integrationId, kind],
        )
      )[0]
    : undefined;
  if (!row) throw new HttpError(404, 'unknown_integration', `integration ${integrationId} not found`);
  return row;
}
