import { randomUUID } from 'node:crypto';
import type { Db } from '../db/db.js';
import { classifyTraffic } from '../tracking/channel.js';
import { CostParseError, type CostRow } from './parse.js';

/** The channel a visit with these UTM values gets, so cost rows group with their visits. */
export function costChannel(source: string, medium: string, campaign: string): string {
  const qs = new URLSearchParams({ utm_source: source, utm_medium: medium, utm_campaign: campaign });
  return classifyTraffic({ landingUrl: `https://costs.invalid/?${qs}`, siteDomains: [] }).channel;
}

/** Sums rows with the same key (a file broken down by device or region, say) into one. */
function mergeRows(rows: CostRow[]): CostRow[] {
  const byKey = new Map<string, CostRow>();
  for (const r of rows) {
    const key = JSON.stringify([r.date, r.source, r.campaign, r.adGroup, r.keyword]);
    const prev = byKey.get(key);
    if (!prev) byKey.set(key, { ...r });
    else {
      prev.impressions += r.impressions;
      prev.clicks += r.clicks;
      prev.costMinor += r.costMinor;
    }
  }
  return [...byKey.values()];
}

export interface CostImport {
  accountId: string;
  site: { id: string; currency: string };
  /** The file layout, or the connection kind of an ad-platform sync. */
  format: string;
  rows: CostRow[];
  now: Date;
  /**
   * An ad-platform sync: its rows replace every row an earlier sync of the same connection stored for
   * these days (a campaign without spend any more disappears instead of keeping yesterday's figure).
   */
  connection?: { id: string; from: string; to: string };
}

export interface CostImportResult {
  importId: string;
  rows: number;
  costMinor: number;
  currency: string;
}

/**
 * The one writer of ad costs (file imports and ad-platform syncs): checks the currency, sums duplicate
 * keys and upserts the rows in one transaction, so a re-import of the same days replaces instead of adding.
 */
export async function storeCostRows(db: Db, input: CostImport): Promise<CostImportResult> {
  const { accountId, site, now } = input;
  const foreign = input.rows.find((row) => row.currency !== site.currency);
  if (foreign)
    throw new CostParseError(
      foreign.line,
      'currency',
      `${foreign.currency} is not the site's currency ${site.currency}`,
    );
  const merged = mergeRows(input.rows);
  const importId = randomUUID();
  const total = merged.reduce((s, row) => s + row.costMinor, 0);
  await db.tx(async (q) => {
    await q.query(
      `INSERT INTO ad_cost_imports (account_id, id, site_id, format, rows, cost_minor, currency, created_at, connection_id)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
      [
        accountId,
        importId,
        site.id,
        input.format,
        merged.length,
        total,
        site.currency,
        now,
        input.connection?.id ?? null,
      ],
    );
    if (input.connection)
      await q.query(
        `DELETE FROM ad_costs WHERE account_id = $1 AND site_id = $2 AND date >= $4::date AND date <= $5::date
            AND import_id IN (SELECT id FROM ad_cost_imports WHERE account_id = $1 AND connection_id = $3)`,
        [accountId, site.id, input.connection.id, input.connection.from, input.connection.to],
      );
    for (let i = 0; i < merged.length; i += 400) {
      const chunk = merged.slice(i, i + 400);
      const params: unknown[] = [accountId, site.id, importId, now];
      const values = chunk.map((row) => {
        const base = params.length;
        params.push(
          randomUUID(),
          row.date,
          costChannel(row.source, row.medium, row.campaign),
          row.source,
          row.medium,
          row.campaign,
          row.adGroup,
          row.keyword,
          row.campaignId,
          row.impressions,
          row.clicks,
          row.costMinor,
          row.currency,
        );
        const p = (k: number) => `$${base + k}`;
        return `($1, ${p(1)}, $2, ${p(2)}::date, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, ${p(7)}, ${p(8)}, ${p(9)}, ${p(10)}, ${p(11)}, ${p(12)}, ${p(13)}, $3, $4)`;
      });
      await q.query(
        `INSERT INTO ad_costs (account_id, id, site_id, date, channel, source, medium, campaign, ad_group, keyword,
           campaign_id, impressions, clicks, cost_minor, currency, import_id, created_at)
         VALUES ${values.join(', ')}
         ON CONFLICT (account_id, site_id, date, source, campaign, ad_group, keyword) DO UPDATE SET
           channel = excluded.channel, medium = excluded.medium, campaign_id = excluded.campaign_id,
           impressions = excluded.impressions, clicks = excluded.clicks, cost_minor = excluded.cost_minor,
           currency = excluded.currency, import_id = excluded.import_id, created_at = excluded.created_at`,
        params,
      );
    }
    if (input.connection)
      // Earlier syncs whose rows have all been replaced leave no empty entries in the import list.
      await q.query(
        `DELETE FROM ad_cost_imports i WHERE i.account_id = $1 AND i.connection_id = $2 AND i.id <> $3
            AND NOT EXISTS (SELECT 1 FROM ad_costs k WHERE k.account_id = i.account_id AND k.import_id = i.id)`,
        [accountId, input.connection.id, importId],
      );
  });
  return { importId, rows: merged.length, costMinor: total, currency: site.currency };
}
