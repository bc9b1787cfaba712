// Static channel rules (DESIGN §5): a visit whose traffic meets a rule's conditions gets the
// rule's fixed number instead of a pool number. Pure.
import { z } from 'zod';
import { hostMatches, normalizeDomain, parseLandingUrl, type Traffic } from './channel.js';

export type StaticRuleConditions = {
  utmSource?: string;
  utmMedium?: string;
  utmCampaign?: string;
  utmContent?: string;
  utmTerm?: string;
  referrerDomain?: string;
  landingPathPrefix?: string;
};

const condition = z.string().trim().min(1).max(500).optional();

/** Rule conditions as the API accepts them; `{}` is valid (offline numbers: billboards, print). */
export const staticRuleConditionsSchema = z
  .object({
    utmSource: condition,
    utmMedium: condition,
    utmCampaign: condition,
    utmContent: condition,
    utmTerm: condition,
    referrerDomain: condition,
    landingPathPrefix: condition,
  })
  .strict();

// Keeps the hand-written type and the schema from drifting apart.
type _SchemaMatchesType = [z.infer<typeof staticRuleConditionsSchema>] extends [StaticRuleConditions]
  ? [StaticRuleConditions] extends [z.infer<typeof staticRuleConditionsSchema>]
    ? true
    : never
  : never;
const _schemaMatchesType: _SchemaMatchesType = true;
void _schemaMatchesType;

export type VisitFacts = { traffic: Traffic; landingUrl: string };

/**
 * The rule a visit falls under: every condition of the rule must hold, and a rule without
 * conditions (an offline number) never matches a visit. Highest priority wins; on a tie the
 * earlier rule in the array.
 *
 * utm conditions compare with the classified traffic (case-insensitively), so a visit with only a
 * gclid counts as utm_source=google, utm_medium=cpc, and an organic Yandex visit as
 * utm_source=yandex, utm_medium=organic: pair a source with a medium to target ads only.
 */
export function matchStaticRule<R extends { priority: number; conditions: StaticRuleConditions }>(
  rules: R[],
  t: VisitFacts,
): R | null {
  let best: R | null = null;
  for (const rule of rules) {
    if (best !== null && !(rule.priority > best.priority)) continue;
    if (ruleMatches(rule.conditions, t)) best = rule;
  }
  return best;
}

function ruleMatches(conditions: StaticRuleConditions, t: VisitFacts): boolean {
  if (conditions === null || typeof conditions !== 'object') return false;
  const { traffic } = t;
  const checks: Array<[string | undefined, (wanted: string) => boolean]> = [
    [conditions.utmSource, (w) => sameText(traffic.source, w)],
    [conditions.utmMedium, (w) => sameText(traffic.medium, w)],
    [conditions.utmCampaign, (w) => sameText(traffic.campaign, w)],
    [conditions.utmContent, (w) => sameText(traffic.content, w)],
    [conditions.utmTerm, (w) => sameText(traffic.keyword, w)],
    [conditions.referrerDomain, (w) => referrerMatches(traffic.referrerDomain, w)],
    [conditions.landingPathPrefix, (w) => pathStartsWith(t.landingUrl, w)],
  ];
  // Blank conditions (possible in stored rows that predate validation) count as absent.
  const active = checks.filter((c): c is [string, (wanted: string) => boolean] => present(c[0]));
  return active.length > 0 && active.every(([wanted, test]) => test(wanted.trim()));
}

function present(value: string | undefined): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

function sameText(actual: string | null, wanted: string): boolean {
  return actual !== null && actual.trim().toLowerCase() === wanted.toLowerCase();
}

/** "vk.com" also matches m.vk.com and www.vk.com. */
function referrerMatches(actual: string | null, wanted: string): boolean {
  if (actual === null) return false;
  const domain = normalizeDomain(wanted);
  return domain !== '' && hostMatches(normalizeDomain(actual), domain);
}

/** Case-insensitive, on the decoded path, so "/Акция" matches "/%D0%B0%D0%BA%D1%86%D0%B8%D1%8F/". */
function pathStartsWith(landingUrl: string, prefix: string): boolean {
  const url = parseLandingUrl(landingUrl);
  if (!url) return false;
  const wanted = prefix.startsWith('/') ? prefix : `/${prefix}`;
  return decodePath(url.pathname).toLowerCase().startsWith(decodePath(wanted).toLowerCase());
}

function decodePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
