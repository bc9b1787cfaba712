import { useQuery } from '@tanstack/react-query';
import { type ReactNode, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { addDays } from '../../src/reports/period.js';
import { api, type CallList, type CallRow, CHANNELS, CLASSES, qs, type Report } from './api';
import { ExportMenu } from './Export';
import { fmtDateTime, fmtDuration, fmtPercent, startOfDayUtc } from './format';
import { navigate } from './router';
import { useDashboard } from './state';

const PAGE = 25;
const COLUMNS = [
  'startedAt',
  'caller',
  'trackingNumber',
  'status',
  'wait',
  'talk',
  'channel',
  'source',
  'medium',
  'campaign',
  'keyword',
  'region',
  'device',
  'classes',
  'employee',
  'group',
  'method',
  'confidence',
  'landing',
  'callPage',
] as const;
type Column = (typeof COLUMNS)[number];
const DEFAULT_COLUMNS: Column[] = [
  'startedAt',
  'caller',
  'status',
  'talk',
  'channel',
  'source',
  'campaign',
  'keyword',
  'classes',
  'method',
];
const STORAGE_KEY = 'rt.calllog.columns';

function loadColumns(): Column[] {
  try {
    const saved = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null');
    if (Array.isArray(saved)) {
      const cols = COLUMNS.filter((c) => saved.includes(c));
      if (cols.length > 0) return cols;
    }
  } catch {
    // a broken saved value falls back to the defaults
  }
  return DEFAULT_COLUMNS;
}

/** Shows a URL as its path (the host is the site's own); the full URL is in the tooltip. */
export function shortUrl(url: string | null): string {
  if (!url) return '';
  try {
    const u = new URL(url);
    return decodeURIComponent(u.pathname + u.search);
  } catch {
    return url;
  }
}

export function CallLog() {
  const { t } = useTranslation();
  const { site, range } = useDashboard();
  const [channel, setChannel] = useState('');
  const [klass, setKlass] = useState('');
  const [source, setSource] = useState('');
  const [sort, setSort] = useState<'-startedAt' | '-talkSeconds'>('-startedAt');
  const [offset, setOffset] = useState(0);
  const [columns, setColumns] = useState<Column[]>(loadColumns);

  // A new period or filter starts from the first page.
  const filterKey = `${site.id}|${range.from}|${range.to}|${channel}|${klass}|${source}|${sort}`;
  const lastKey = useRef(filterKey);
  useEffect(() => {
    if (lastKey.current !== filterKey) {
      lastKey.current = filterKey;
      setOffset(0);
    }
  }, [filterKey]);

  const query = qs({
    siteId: site.id,
    from: startOfDayUtc(range.from, site.timeZone),
    to: startOfDayUtc(addDays(range.to, 1), site.timeZone),
    channel,
    class: klass,
    source,
    sort: sort !== '-startedAt' && sort,
    limit: PAGE,
    offset,
  });
  const calls = useQuery({
    queryKey: ['calls', query],
    queryFn: () => api<CallList>(`/api/v1/calls?${query}`),
    placeholderData: (prev) => prev,
  });
  const sourcesQuery = qs({ siteId: site.id, from: range.from, to: range.to, limit: 100 });
  const sources = useQuery({
    queryKey: ['report', 'source', sourcesQuery],
    queryFn: () => api<Report>(`/api/v1/reports/source?${sourcesQuery}`),
  });
  const sourceKeys = (sources.data?.rows ?? [])
    .filter((r) => (r.calls ?? 0) > 0 && r.key !== '(not set)')
    .map((r) => String(r.key));

  const toggle = (c: Column) => {
    const next = columns.includes(c)
      ? columns.filter((x) => x !== c)
      : COLUMNS.filter((x) => x === c || columns.includes(x));
    if (next.length === 0) return;
    localStorage.setItem(STORAGE_KEY, JSON.stringify(next));
    setColumns(next);
  };

  const data = calls.data;
  return (
    <section className="panel call-log">
      <div className="panel-head wrap">
        <h2>{t('calls.title')}</h2>
        <div className="filters">
          <select name="channel" value={channel} onChange={(e) => setChannel(e.target.value)}>
            <option value="">{t('calls.allChannels')}</option>
            {CHANNELS.map((c) => (
              <option key={c} value={c}>
                {t(`channels.${c}`)}
              </option>
            ))}
          </select>
          <select name="class" value={klass} onChange={(e) => setKlass(e.target.value)}>
            <option value="">{t('calls.allClasses')}</option>
            {CLASSES.map((c) => (
              <option key={c} value={c}>
                {t(`classes.${c}`)}
              </option>
            ))}
          </select>
          <select name="source" value={source} onChange={(e) => setSource(e.target.value)}>
            <option value="">{t('calls.allSources')}</option>
            {[...new Set([...sourceKeys, ...(source ? [source] : [])])].map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
          <select
            name="sort"
            value={sort}
            onChange={(e) => setSort(e.target.value as typeof sort)}
            aria-label={t('calls.sort')}
          >
            <option value="-startedAt">{t('calls.newestFirst')}</option>
            <option value="-talkSeconds">{t('calls.longestFirst')}</option>
          </select>
          <details className="column-picker">
            <summary>{t('calls.columns')}</summary>
            <div className="menu">
              {COLUMNS.map((c) => (
                <label key={c}>
                  <input
                    type="checkbox"
                    name={`col-${c}`}
                    checked={columns.includes(c)}
                    onChange={() => toggle(c)}
                  />
                  {t(`columns.${c}`)}
                </label>
              ))}
            </div>
          </details>
          <ExportMenu
            id="calls"
            path="/api/v1/calls/export"
            query={{
              siteId: site.id,
              from: startOfDayUtc(range.from, site.timeZone),
              to: startOfDayUtc(addDays(range.to, 1), site.timeZone),
              channel,
              class: klass,
              source,
            }}
            feed={{ kind: 'calls', filters: { channel, class: klass, source } }}
          />
        </div>
      </div>
      <div className="table-wrap">
        <table className="calls">
          <thead>
            <tr>
              {columns.map((c) => (
                <th key={c} className={c === 'talk' || c === 'wait' || c === 'confidence' ? 'num' : ''}>
                  {t(`columns.${c}`)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {data?.items.map((call) => (
              <tr
                key={call.id}
                data-call-id={call.id}
                tabIndex={0}
                onClick={() => navigate(`/calls/${call.id}`)}
                onKeyDown={(e) => e.key === 'Enter' && navigate(`/calls/${call.id}`)}
              >
                {columns.map((c) => (
                  <td key={c} className={c === 'talk' || c === 'wait' || c === 'confidence' ? 'num' : ''}>
                    <Cell call={call} column={c} />
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
        {data && data.items.length === 0 && <p className="muted empty">{t('calls.empty')}</p>}
      </div>
      {data && data.total > 0 && (
        <div className="pager">
          <span className="muted">
            {t('calls.shown', {
              from: offset + 1,
              to: Math.min(offset + PAGE, data.total),
              total: data.total,
            })}
          </span>
          <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
            {t('calls.prev')}
          </button>
          <button
            type="button"
            disabled={offset + PAGE >= data.total}
            onClick={() => setOffset(offset + PAGE)}
          >
            {t('calls.next')}
          </button>
        </div>
      )}
    </section>
  );
}

/** Classes implied by a more specific one, left out where space is short. */
const IMPLIED: Record<string, string[]> = {
  unique_targeted: ['unique', 'targeted'],
  first_targeted: ['targeted'],
};

export function Classes({ classes, compact = false }: { classes: string[]; compact?: boolean }) {
  const { t } = useTranslation();
  const hidden = compact ? new Set(classes.flatMap((c) => IMPLIED[c] ?? [])) : new Set<string>();
  return (
    <span className="badges">
      {classes
        .filter((c) => !hidden.has(c))
        .map((c) => (
          <span key={c} className={`badge class-${c}`}>
            {t(`classes.${c}`)}
          </span>
        ))}
    </span>
  );
}

export function StatusBadge({ status }: { status: string }) {
  const { t } = useTranslation();
  const tone =
    status === 'completed' || status === 'answered' ? 'ok' : status === 'ringing' ? 'info' : 'warn';
  return <span className={`status ${tone}`}>{t(`status.${status}`, { defaultValue: status })}</span>;
}

function Cell({ call, column }: { call: CallRow; column: Column }): ReactNode {
  const { t, i18n } = useTranslation();
  const { site } = useDashboard();
  const lang = i18n.language;
  const text = (v: string | null) => (v ? v : <span className="muted">—</span>);
  switch (column) {
    case 'startedAt':
      return <span className="nowrap">{fmtDateTime(lang, call.startedAt, site.timeZone)}</span>;
    case 'caller':
      return <span className="nowrap mono">{call.caller ?? '—'}</span>;
    case 'trackingNumber':
      return <span className="nowrap mono">{call.trackingNumber}</span>;
    case 'status':
      return <StatusBadge status={call.status} />;
    case 'wait':
      return fmtDuration(lang, call.waitSeconds);
    case 'talk':
      return fmtDuration(lang, call.talkSeconds);
    case 'channel':
      return call.channel ? t(`channels.${call.channel}`, { defaultValue: call.channel }) : text(null);
    case 'source':
      return text(call.source);
    case 'medium':
      return text(call.medium);
    case 'campaign':
      return <span className="clip">{text(call.campaign)}</span>;
    case 'keyword':
      return <span className="clip">{text(call.keyword)}</span>;
    case 'region':
      return text([call.city, call.region].filter(Boolean).join(', ') || null);
    case 'device':
      return call.deviceType
        ? t(`devices.${call.deviceType}`, { defaultValue: call.deviceType })
        : text(null);
    case 'classes':
      return <Classes classes={call.classes} compact />;
    case 'employee':
      return text(call.employee);
    case 'group':
      return text(call.groupName);
    case 'method':
      return t(`methods.${call.method}`, { defaultValue: call.method });
    case 'confidence':
      return call.confidence === null ? '—' : fmtPercent(lang, call.confidence, 0);
    case 'landing':
      return (
        <span className="clip" title={call.landingUrl ?? ''}>
          {text(shortUrl(call.landingUrl))}
        </span>
      );
    case 'callPage':
      return (
        <span className="clip" title={call.callPageUrl ?? ''}>
          {text(shortUrl(call.callPageUrl))}
        </span>
      );
  }
}
