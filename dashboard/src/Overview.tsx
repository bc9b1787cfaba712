import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { TALK_BUCKETS } from '../../src/reports/dimensions';
import { addDays } from '../../src/reports/period.js';
import { api, type CallList, type Metric, type Metrics, qs, type Report, type Timeseries } from './api';
import { Chart } from './Chart';
import { ExportMenu } from './Export';
import { fmtDateTime, fmtDuration, fmtMoney, fmtNumber, fmtPercent, safeHref, startOfDayUtc } from './format';
import { navigate } from './router';
import { previousRange, useDashboard } from './state';

const KPIS: Metric[] = [
  'calls',
  'unique',
  'targeted',
  'unique_targeted',
  'first_targeted',
  'repeat',
  'missed',
  'answer_rate',
  'avg_wait_seconds',
  'avg_talk_seconds',
  'visits',
  'visit_to_call_conversion',
];
const RATES: Metric[] = ['answer_rate', 'visit_to_call_conversion'];
const DURATIONS: Metric[] = ['avg_wait_seconds', 'avg_talk_seconds'];
/** Metrics where growth is bad news. */
const LOWER_IS_BETTER: Metric[] = ['missed', 'avg_wait_seconds'];

export function formatMetric(lang: string, metric: Metric, v: number | null | undefined): string {
  if (RATES.includes(metric)) return fmtPercent(lang, v, metric === 'visit_to_call_conversion' ? 2 : 1);
  if (DURATIONS.includes(metric)) return fmtDuration(lang, v);
  return fmtNumber(lang, v);
}

function useReport(dimension: string, extra: Record<string, string | number> = {}) {
  const { site, range, compare } = useDashboard();
  const query = qs({
    siteId: site.id,
    from: range.from,
    to: range.to,
    compare: compare && 'previous',
    ...extra,
  });
  return useQuery({
    queryKey: ['report', dimension, query],
    queryFn: () => api<Report>(`/api/v1/reports/${dimension}?${query}`),
    placeholderData: (prev) => prev,
  });
}

export function Overview() {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const { site, range, compare } = useDashboard();
  const channels = useReport('channel', { limit: 100 });
  const keywords = useReport('keyword', { sort: 'calls', limit: 10 });
  const campaigns = useReport('campaign', { sort: 'calls', limit: 10 });
  const seriesQuery = (r: { from: string; to: string }) =>
    qs({ siteId: site.id, from: r.from, to: r.to, interval: 'day', metrics: 'calls,targeted' });
  const series = useQuery({
    queryKey: ['series', seriesQuery(range)],
    queryFn: () => api<Timeseries>(`/api/v1/reports/timeseries?${seriesQuery(range)}`),
    placeholderData: (prev) => prev,
  });
  const prevSeries = useQuery({
    queryKey: ['series', seriesQuery(previousRange(range))],
    queryFn: () => api<Timeseries>(`/api/v1/reports/timeseries?${seriesQuery(previousRange(range))}`),
    enabled: compare,
    placeholderData: (prev) => prev,
  });

  const numberKinds = useReport('number_kind');
  const talk = useReport('talk_bucket', { sort: 'key', order: 'asc' });
  const regions = useReport('region', { sort: 'calls', limit: 10 });

  const totals = channels.data?.totals;
  const previous = compare ? channels.data?.previousTotals : undefined;

  return (
    <div className="overview">
      <section className="kpis" aria-busy={channels.isFetching}>
        {KPIS.map((m) => (
          <Kpi key={m} metric={m} value={totals?.[m]} previous={previous?.[m]} />
        ))}
      </section>
      {totals && <Profit totals={totals} />}

      <section className="panel">
        <div className="panel-head">
          <h2>{t('overview.chart')}</h2>
          <div className="legend">
            <span className="swatch calls" /> {t('metrics.calls')}
            <span className="swatch targeted" /> {t('metrics.targeted')}
            {compare && (
              <>
                <span className="swatch previous" /> {t('overview.vsPrevious')}
              </>
            )}
          </div>
        </div>
        {series.data ? (
          <Chart points={series.data.points} previous={compare ? prevSeries.data?.points : undefined} />
        ) : (
          <div className="chart-placeholder">{t('overview.loading')}</div>
        )}
      </section>

      <div className="grid-2">
        <BarList
          id="number-kinds"
          title={t('overview.numberKinds')}
          help={t('overview.numberKindsHelp')}
          report={numberKinds.data}
          label={(key) => t(`numberKinds.${key}`, { defaultValue: key })}
        />
        <ClassRatios totals={totals} />
      </div>
      <div className="grid-2">
        <BarList
          id="talk"
          title={t('overview.talkDistribution')}
          report={talk.data}
          only={TALK_BUCKETS.map((b) => b.key)}
          label={(key) => talkLabel(lang, key, t)}
        />
        <LongestCalls />
      </div>
      <div className="grid-2">
        <TopTable
          title={t('overview.topKeywords')}
          head={t('overview.keyword')}
          report={keywords.data}
          id="keywords"
          dimension="keyword"
        />
        <TopTable
          title={t('overview.topCampaigns')}
          head={t('overview.campaign')}
          report={campaigns.data}
          id="campaigns"
          dimension="campaign"
        />
      </div>
      <div className="grid-2">
        <BarList
          id="channels"
          title={t('overview.byChannel')}
          report={channels.data}
          label={(key) => t(`channels.${key}`, { defaultValue: key })}
        />
        <BarList
          id="regions"
          title={t('overview.byRegion')}
          report={regions.data}
          label={(key) => (key === '(not set)' ? t('calls.notSet') : key)}
        />
      </div>
    </div>
  );
}

function Kpi(props: {
  metric: Metric;
  value: number | null | undefined;
  previous: number | null | undefined;
}) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const { metric, value, previous } = props;
  let change: { text: string; tone: 'up' | 'down' | 'flat'; good: boolean | null } | null = null;
  if (previous !== undefined && value !== undefined && value !== null && previous !== null) {
    const isRate = RATES.includes(metric);
    const diff = isRate ? value - previous : previous === 0 ? null : (value - previous) / previous;
    if (diff === null) change = value === 0 ? { text: '0', tone: 'flat', good: null } : null;
    else {
      const tone = Math.abs(diff) < 1e-9 ? 'flat' : diff > 0 ? 'up' : 'down';
      const sign = diff > 0 ? '+' : diff < 0 ? '−' : '±';
      const text = isRate
        ? `${sign}${fmtNumber(lang, Math.abs(diff) * 100, 1)} ${lang === 'en' ? 'pp' : 'п.п.'}`
        : `${sign}${fmtPercent(lang, Math.abs(diff), 0)}`;
      const good =
        tone === 'flat' || metric === 'repeat' ? null : (tone === 'up') !== LOWER_IS_BETTER.includes(metric);
      change = { text, tone, good };
    }
  }
  return (
    <article className="kpi" data-metric={metric}>
      <h3>{t(`metrics.${metric}`)}</h3>
      <div className="kpi-value">{formatMetric(lang, metric, value)}</div>
      {previous !== undefined && (
        <div className="kpi-change">
          {change && (
            <span
              className={`delta ${change.tone} ${change.good === null ? '' : change.good ? 'good' : 'bad'}`}
            >
              {change.tone === 'up' ? '▲' : change.tone === 'down' ? '▼' : ''} {change.text}
            </span>
          )}
          <span className="muted">
            {t('overview.previousValue', { value: formatMetric(lang, metric, previous) })}
          </span>
        </div>
      )}
    </article>
  );
}

function TopTable(props: {
  title: string;
  head: string;
  report: Report | undefined;
  id: string;
  dimension: string;
}) {
  const { t, i18n } = useTranslation();
  const { site, range } = useDashboard();
  const lang = i18n.language;
  const rows = props.report?.rows.filter((r) => (r.calls ?? 0) > 0) ?? [];
  const max = Math.max(1, ...rows.map((r) => r.calls ?? 0));
  return (
    <section className="panel" data-table={props.id}>
      <div className="panel-head">
        <h2>{props.title}</h2>
        <ExportMenu
          id={props.id}
          path={`/api/v1/reports/${props.dimension}/export`}
          query={{ siteId: site.id, from: range.from, to: range.to, sort: 'calls' }}
          feed={{ kind: 'report', dimension: props.dimension, filters: { sort: 'calls' } }}
        />
      </div>
      {rows.length === 0 ? (
        <p className="muted empty">{t('overview.noData')}</p>
      ) : (
        <table className="top">
          <thead>
            <tr>
              <th>{props.head}</th>
              <th className="num">{t('metrics.calls')}</th>
              <th className="num">{t('metrics.targeted')}</th>
              <th className="num">{t('metrics.visit_to_call_conversion')}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={String(r.key)}>
                <td className="key">
                  <span className={String(r.key) === '(not set)' ? 'muted' : ''}>
                    {String(r.key) === '(not set)' ? t('calls.notSet') : String(r.key)}
                  </span>
                  <span className="bar" style={{ width: `${((r.calls ?? 0) / max) * 100}%` }} />
                </td>
                <td className="num">{fmtNumber(lang, r.calls)}</td>
                <td className="num">{fmtNumber(lang, r.targeted)}</td>
                <td className="num">{fmtPercent(lang, r.visit_to_call_conversion, 1)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/**
 * Calls per row as horizontal bars (targeted calls overlaid), with each row's share of the calls
 * shown; `only` keeps the listed keys in that order (e.g. talk buckets without unanswered calls).
 */
function BarList(props: {
  id: string;
  title: string;
  help?: string;
  report: Report | undefined;
  label: (key: string) => string;
  only?: readonly string[];
}) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const all = props.report?.rows ?? [];
  const rows = (props.only ? props.only.flatMap((k) => all.filter((r) => String(r.key) === k)) : all).filter(
    (r) => (r.calls ?? 0) > 0,
  );
  const total = rows.reduce((sum, r) => sum + (r.calls ?? 0), 0);
  return (
    <section className="panel" data-table={props.id}>
      <h2>{props.title}</h2>
      {props.help && <p className="panel-help muted">{props.help}</p>}
      {rows.length === 0 ? (
        <p className="muted empty">{t('overview.noData')}</p>
      ) : (
        <ul className="channel-bars">
          {rows.map((r) => {
            const key = String(r.key);
            const share = total ? (r.calls ?? 0) / total : 0;
            return (
              <li key={key} data-key={key}>
                <span className="label">{props.label(key)}</span>
                <span className="track">
                  <span className="fill" style={{ width: `${share * 100}%` }} />
                  <span
                    className="fill targeted"
                    style={{ width: `${total ? ((r.targeted ?? 0) / total) * 100 : 0}%` }}
                  />
                </span>
                <span className="num">{fmtNumber(lang, r.calls)}</span>
                <span className="num muted">{fmtPercent(lang, share, 0)}</span>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

/** "до 30 с", "1 мин – 3 мин", "более 10 мин" for a talk bucket key. */
function talkLabel(lang: string, key: string, t: (k: string, o?: Record<string, string>) => string): string {
  const b = TALK_BUCKETS.find((x) => x.key === key);
  if (!b) return key;
  if (b.to === null) return t('overview.talkOver', { d: fmtDuration(lang, b.from) });
  if (b.from === 0) return t('overview.talkUpTo', { d: fmtDuration(lang, b.to) });
  return `${fmtDuration(lang, b.from)} – ${fmtDuration(lang, b.to)}`;
}

const RATIOS: Metric[] = ['unique', 'unique_targeted', 'first_targeted', 'repeat'];

/** How many of the period's calls were unique, unique-targeted, first-targeted and repeat. */
function ClassRatios({ totals }: { totals: Metrics | undefined }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const calls = totals?.calls ?? 0;
  return (
    <section className="panel" data-table="class-ratios">
      <h2>{t('overview.classRatios')}</h2>
      {!calls ? (
        <p className="muted empty">{t('overview.noData')}</p>
      ) : (
        <ul className="channel-bars ratios">
          {RATIOS.map((m) => {
            const n = totals?.[m] ?? 0;
            return (
              <li key={m} data-key={m}>
                <span className="label">{t(`metrics.${m}`)}</span>
                <span className="track">
                  <span className={`fill ratio-${m}`} style={{ width: `${(n / calls) * 100}%` }} />
                </span>
                <span className="num">
                  {t('overview.ofCalls', { n: fmtNumber(lang, n), total: fmtNumber(lang, calls) })}
                </span>
                <span className="num muted">{fmtPercent(lang, n / calls, 0)}</span>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

/** The period's longest conversations, each with its recording. */
function LongestCalls() {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const { site, range } = useDashboard();
  const query = qs({
    siteId: site.id,
    from: startOfDayUtc(range.from, site.timeZone),
    to: startOfDayUtc(addDays(range.to, 1), site.timeZone),
    sort: '-talkSeconds',
    limit: 5,
  });
  const calls = useQuery({
    queryKey: ['calls', query],
    queryFn: () => api<CallList>(`/api/v1/calls?${query}`),
    placeholderData: (prev) => prev,
  });
  const items = calls.data?.items.filter((c) => (c.talkSeconds ?? 0) > 0) ?? [];
  return (
    <section className="panel" data-table="longest-calls">
      <h2>{t('overview.longestCalls')}</h2>
      {items.length === 0 ? (
        <p className="muted empty">{t('overview.noData')}</p>
      ) : (
        <ul className="longest-calls">
          {items.map((c) => {
            const recording = safeHref(c.recordingUrl);
            return (
              <li key={c.id} className="longest-call" data-call-id={c.id}>
                <a
                  href={`/calls/${c.id}`}
                  onClick={(e) => {
                    e.preventDefault();
                    navigate(`/calls/${c.id}`);
                  }}
                >
                  <span className="talk">{fmtDuration(lang, c.talkSeconds)}</span>
                  <span className="mono">{c.caller ?? t('overview.hiddenNumber')}</span>
                  <span className="muted">{fmtDateTime(lang, c.startedAt, site.timeZone)}</span>
                </a>
                {recording ? (
                  // biome-ignore lint/a11y/useMediaCaption: call recordings have no captions
                  <audio controls preload="none" src={recording} />
                ) : (
                  <span className="muted">{t('card.noRecording')}</span>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

/** Revenue from won deals against ad costs, once the period has either. Money is in minor units. */
function Profit({ totals }: { totals: Metrics }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const { site } = useDashboard();
  if (!totals.cost && !totals.revenue) return null;
  const money = (v: number | null) => (v === null ? '—' : fmtMoney(lang, v, site.currency));
  const cells: [string, string, string][] = [
    ['revenue', t('overview.revenue'), money(totals.revenue)],
    ['cost', t('overview.cost'), money(totals.cost)],
    ['profit', t('overview.profit'), money(totals.profit)],
    ['roi', t('overview.roi'), fmtPercent(lang, totals.roi, 0)],
  ];
  return (
    <section className="kpis money" data-table="profit">
      {cells.map(([key, label, value]) => (
        <article
          key={key}
          className={`kpi${key === 'profit' && (totals.profit ?? 0) < 0 ? ' loss' : ''}`}
          data-metric={key}
        >
          <h3>{label}</h3>
          <div className="kpi-value">{value}</div>
        </article>
      ))}
    </section>
  );
}
