import type { Queryable } from '../db/db.js';
import { camelize } from '../http/rows.js';
import type { Channel } from '../tracking/channel.js';

export interface Site {
  accountId: string;
  id: string;
  name: string;
  siteKey: string;
  domains: string[];
  timeZone: string;
  currency: string;
  country: string;
  homeRegion: string | null;
  defaultNumber: string | null;
  replaceNumbers: string[];
  freezeMinutes: number;
  lateGraceMinutes: number;
  targetedThresholdSeconds: number;
  countUniqueness: boolean;
  uniquenessWindowDays: number | null;
  leadGroups: string[];
  dynamicChannels: Channel[];
  exhaustionPolicy: 'default' | 'share';
  multiRegional: boolean;
  numberSelection: 'lru' | 'random';
  visitorStickiness: boolean;
  leaseOn: 'load' | 'visible';
  createdAt: Date;
}

export async function findSiteByKey(db: Queryable, siteKey: string): Promise<Site | null> {
  const rows = await db.query('SELECT * FROM sites WHERE site_key = $1', [siteKey]);
  return rows[0] ? camelize<Site>(rows[0]) : null;
}

export async function findSite(db: Queryable, accountId: string, siteId: string): Promise<Site | null> {
  const rows = await db.query('SELECT * FROM sites WHERE account_id = $1 AND id = $2', [accountId, siteId]);
  return rows[0] ? camelize<Site>(rows[0]) : null;
}

/** The site a visit belongs to; visit ids are random UUIDs, unique across accounts. */
export async function findSiteOfVisit(db: Queryable, visitId: string): Promise<Site | null> {
  const rows = await db.query(
    `SELECT s.* FROM visits v JOIN sites s ON s.account_id = v.account_id AND s.id = v.site_id WHERE v.id = $1`,
    [visitId],
  );
  return rows[0] ? camelize<Site>(rows[0]) : null;
}

/** Snake-case column for each updatable camelCase site field. */
export const siteColumns: Record<string, string> = {
  name: 'name',
  domains: 'domains',
  timeZone: 'time_zone',
  currency: 'currency',
  country: 'country',
  homeRegion: 'home_region',
  defaultNumber: 'default_number',
  replaceNumbers: 'replace_numbers',
  freezeMinutes: 'freeze_minutes',
  lateGraceMinutes: 'late_grace_minutes',
  targetedThresholdSeconds: 'targeted_threshold_seconds',
  countUniqueness: 'count_uniqueness',
  uniquenessWindowDays: 'uniqueness_window_days',
  leadGroups: 'lead_groups',
  dynamicChannels: 'dynamic_channels',
  exhaustionPolicy: 'exhaustion_policy',
  multiRegional: 'multi_regional',
  numberSelection: 'number_selection',
  visitorStickiness: 'visitor_stickiness',
  leaseOn: 'lease_on',
};
