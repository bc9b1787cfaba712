import type { Queryable } from '../db/db.js';
import type { SecretBox } from '../secrets/secret-box.js';

export const CRM_KINDS = ['amocrm', 'bitrix24'] as const;
export type CrmKind = (typeof CRM_KINDS)[number];

/** Events a connection can push; call.started is for a screen pop while the phone rings. */
export const CRM_EVENTS = ['call.started', 'call.ended', 'lead.created'] as const;
export type CrmEvent = (typeof CRM_EVENTS)[number];
export const DEFAULT_CRM_EVENTS: CrmEvent[] = ['call.ended', 'lead.created'];

/** Source fields of a call or lead that an amoCRM field map can put into lead custom fields. */
export const SOURCE_FIELDS = [
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_term',
  'utm_content',
  'channel',
  'landing_page',
  'tracking_number',
] as const;
export type SourceField = (typeof SOURCE_FIELDS)[number];

export interface AmoSettings {
  baseUrl: string;
  pipelineId?: number;
  statusId?: number;
  responsibleUserId?: number;
  /** Our source field → amoCRM lead custom field id. */
  fieldMap?: Partial<Record<SourceField, number>>;
  tags?: string[];
}

export interface BitrixSettings {
  mode: 'lead' | 'deal';
  assignedById?: number;
  /** Host of the inbound webhook URL, shown so users can tell connections apart; the URL itself is sealed. */
  portal: string;
}

export interface CrmConnection {
  accountId: string;
  id: string;
  kind: CrmKind;
  name: string | null;
  settings: AmoSettings | BitrixSettings;
  /** Opened credential: the amoCRM access token or the Bitrix24 inbound webhook URL. */
  credential: string;
  /** Opened token the CRM's webhooks must present, if set. */
  hookToken: string | null;
  events: CrmEvent[];
  siteIds: string[] | null;
  active: boolean;
}

export interface ConnectionRow {
  account_id: string;
  id: string;
  kind: CrmKind;
  name: string | null;
  settings: AmoSettings | BitrixSettings;
  credentials: string;
  hook_token: string | null;
  events: CrmEvent[];
  site_ids: string[] | null;
  active: boolean;
  created_at: Date;
  updated_at: Date;
}

export const CONNECTION_COLUMNS =
  'account_id, id, kind, name, settings, credentials, hook_token, events, site_ids, active, created_at, updated_at';

export function openConnection(row: ConnectionRow, secrets: SecretBox): CrmConnection {
  return {
    accountId: row.account_id,
    id: row.id,
    kind: row.kind,
    name: row.name,
    settings: row.settings,
    credential: secrets.open(row.credentials),
    hookToken: row.hook_token ? secrets.open(row.hook_token) : null,
    events: row.events,
    siteIds: row.site_ids,
    active: row.active,
  };
}

/** A connection of the account, credentials opened; null when it does not exist. */
export async function loadConnection(
  q: Queryable,
  secrets: SecretBox,
  accountId: string,
  id: string,
): Promise<CrmConnection | null> {
  const [row] = await q.query<ConnectionRow>(
    `SELECT ${CONNECTION_COLUMNS} FROM crm_connections WHERE account_id = $1 AND id = $2`,
    [accountId, id],
  );
  return row ? openConnection(row, secrets) : null;
}

/** What the API shows of a connection: never the credentials nor the hook token. */
export function connectionView(row: ConnectionRow, publicBase: string) {
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    settings: row.settings,
    events: row.events,
    siteIds: row.site_ids,
    active: row.active,
    hookTokenSet: row.hook_token !== null,
    // Bitrix24 authenticates its webhooks with application_token, so its URL carries no secret.
    ...(row.kind === 'bitrix24' ? { hookUrl: `${publicBase}/hooks/bitrix24/${row.id}` } : {}),
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}
