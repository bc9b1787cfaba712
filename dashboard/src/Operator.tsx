import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { CallDetail } from './api';
import { StatusBadge, shortUrl } from './CallLog';
import { fmtDateTime, fmtDuration, fmtTime } from './format';
import { navigate } from './router';
import { useDashboard } from './state';

/** How many recent cards the operator page keeps on screen. */
const KEEP = 20;

/**
 * The operator's screen: a caller card pops up the moment a call starts ringing (server-sent events from
 * /api/v1/stream/calls), so the employee knows the ad, keyword and pages before picking up.
 */
export function Operator() {
  const { t } = useTranslation();
  const { site } = useDashboard();
  const [cards, setCards] = useState<CallDetail[]>([]);
  const [live, setLive] = useState(false);

  useEffect(() => {
    setCards([]);
    const source = new EventSource(`/api/v1/stream/calls?siteId=${encodeURIComponent(site.id)}`);
    source.onopen = () => setLive(true);
    source.onerror = () => setLive(false);
    source.addEventListener('call', (e) => {
      const card = JSON.parse((e as MessageEvent<string>).data) as CallDetail;
      setCards((old) => [card, ...old.filter((c) => c.id !== card.id)].slice(0, KEEP));
    });
    return () => source.close();
  }, [site.id]);

  return (
    <section className="operator">
      <header className="operator-head">
        <h2>{t('operator.title')}</h2>
        <span className={live ? 'live on' : 'live'} data-live={live}>
          {live ? t('operator.live') : t('operator.connecting')}
        </span>
      </header>
      {cards.length === 0 && <p className="empty-state">{t('operator.waiting')}</p>}
      <ol className="operator-cards">
        {cards.map((c) => (
          <OperatorCard key={c.id} c={c} />
        ))}
      </ol>
    </section>
  );
}

function OperatorCard({ c }: { c: CallDetail }) {
  const { t, i18n } = useTranslation();
  const { site } = useDashboard();
  const lang = i18n.language;
  const last = c.previousCalls[0];
  const field = (label: string, value: string | null | undefined) =>
    value ? (
      <div className="kv">
        <dt>{label}</dt>
        <dd>{value}</dd>
      </div>
    ) : null;
  return (
    <li className={`operator-card status-${c.status}`} data-call={c.id} data-status={c.status}>
      <header>
        <strong className="caller">{c.caller ?? t('card.anonymous')}</strong>
        <StatusBadge status={c.status} />
        <span className="muted">{fmtTime(lang, c.startedAt, site.timeZone)}</span>
      </header>
      <dl>
        {field(
          t('columns.channel'),
          c.channel ? t(`channels.${c.channel}`, { defaultValue: c.channel }) : null,
        )}
        {field(t('columns.source'), [c.source, c.medium].filter(Boolean).join(' / '))}
        {field(t('columns.campaign'), c.campaign)}
        {field(t('columns.keyword'), c.keyword)}
        {field(t('card.landing'), c.landingUrl ? shortUrl(c.landingUrl) : null)}
        {field(t('card.callPage'), c.callPageUrl ? shortUrl(c.callPageUrl) : null)}
        {field(t('columns.region'), [c.region, c.city].filter(Boolean).join(', '))}
      </dl>
      {c.pages.length > 0 && (
        <details>
          <summary>{t('operator.pages', { count: c.pages.length })}</summary>
          <ol className="operator-pages">
            {c.pages.map((p) => (
              <li key={p.at + p.url}>
                <span className="muted">{fmtTime(lang, p.at, site.timeZone)}</span>{' '}
                {p.title || shortUrl(p.url)}
              </li>
            ))}
          </ol>
        </details>
      )}
      <p className="operator-history">
        {last
          ? t('operator.previous', {
              count: c.previousCalls.length,
              when: fmtDateTime(lang, last.startedAt, site.timeZone),
              talk: fmtDuration(lang, last.talkSeconds),
            })
          : t('operator.firstCall')}
      </p>
      <button type="button" className="link" onClick={() => navigate(`/calls/${c.id}`)}>
        {t('operator.open')}
      </button>
    </li>
  );
}
