import { useQuery } from '@tanstack/react-query';
import { type ReactNode, useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { api, type CallDetail } from './api';
import { Classes, StatusBadge, shortUrl } from './CallLog';
import { fmtDateTime, fmtDuration, fmtPercent, fmtTime, safeHref } from './format';
import { navigate } from './router';
import { useDashboard } from './state';

/** The call card: a drawer over the call log with the visitor's journey, source and attribution. */
export function CallCard({ id, onClose }: { id: string; onClose: () => void }) {
  const { t } = useTranslation();
  const call = useQuery({ queryKey: ['call', id], queryFn: () => api<CallDetail>(`/api/v1/calls/${id}`) });
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);
  const c = call.data;
  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: a click beside the drawer closes it; Escape does too
    <div className="drawer-backdrop" onClick={onClose} onKeyDown={undefined} role="presentation">
      <aside
        className="drawer call-card"
        role="dialog"
        aria-modal="true"
        aria-label={c ? t('card.title', { caller: c.caller ?? '' }) : t('card.loading')}
        onClick={(e) => e.stopPropagation()}
        onKeyDown={undefined}
      >
        <button type="button" className="close" onClick={onClose} aria-label={t('card.close')}>
          ×
        </button>
        {call.isPending && <p className="muted">{t('card.loading')}</p>}
        {call.isError && <p className="form-error">{t('card.notFound')}</p>}
        {c && <CardBody c={c} />}
      </aside>
    </div>
  );
}

function CardBody({ c }: { c: CallDetail }) {
  const { t, i18n } = useTranslation();
  const { site } = useDashboard();
  const lang = i18n.language;
  const recording = safeHref(c.recordingUrl);
  return (
    <>
      <header className="card-head">
        <h2 className="card-title">
          {c.caller ? t('card.title', { caller: c.caller }) : t('card.anonymous')}
        </h2>
        <div className="card-sub">
          <span>{fmtDateTime(lang, c.startedAt, site.timeZone)}</span>
          <StatusBadge status={c.status} />
          <Classes classes={c.classes} />
        </div>
      </header>

      <section className="card-section" data-section="journey">
        <h3>{t('card.journey')}</h3>
        <Journey c={c} />
      </section>

      <div className="card-cols">
        <section className="card-section" data-section="source">
          <h3>{t('card.sourceData')}</h3>
          <dl className="facts">
            <Fact label={t('columns.channel')}>
              {c.channel ? t(`channels.${c.channel}`, { defaultValue: c.channel }) : null}
            </Fact>
            <Fact label={t('columns.source')}>{c.source}</Fact>
            <Fact label={t('columns.medium')}>{c.medium}</Fact>
            <Fact label={t('columns.campaign')}>{c.campaign}</Fact>
            <Fact label={t('columns.keyword')}>{c.keyword}</Fact>
            <Fact label={t('card.referrer')}>{c.referrer}</Fact>
            <Fact label={t('columns.landing')}>
              {c.landingUrl ? (
                <span className="clamp" title={c.landingUrl}>
                  {readableUrl(c.landingUrl)}
                </span>
              ) : null}
            </Fact>
            <Fact label={t('card.region')}>
              {[c.city, c.region, c.country].filter(Boolean).join(', ') || null}
            </Fact>
            <Fact label={t('card.device')}>
              {c.deviceType
                ? [t(`devices.${c.deviceType}`, { defaultValue: c.deviceType }), c.browser, c.os]
                    .filter(Boolean)
                    .join(' · ')
                : null}
            </Fact>
            <Fact label={t('card.clickIds')}>
              {[c.gclid && `gclid ${c.gclid}`, c.yclid && `yclid ${c.yclid}`].filter(Boolean).join(', ') ||
                null}
            </Fact>
          </dl>
        </section>

        <section className="card-section" data-section="attribution">
          <h3>{t('card.attribution')}</h3>
          <dl className="facts">
            <Fact label={t('card.method')}>
              <span data-field="method">{t(`methods.${c.method}`, { defaultValue: c.method })}</span>
            </Fact>
            <Fact label={t('card.confidence')}>
              <span className="confidence">
                <span className="meter">
                  <span style={{ width: `${(c.confidence ?? 0) * 100}%` }} />
                </span>
                <span data-field="confidence">{fmtPercent(lang, c.confidence ?? 0, 0)}</span>
              </span>
            </Fact>
          </dl>
          <h4>{t('card.candidates')}</h4>
          {c.candidates && c.candidates.length > 0 ? (
            <ul className="candidates">
              {c.candidates.map((cand) => (
                <li key={cand.visitId} className={cand.visitId === c.visitId ? 'chosen' : ''}>
                  <span className="mono" title={cand.visitId}>
                    {t('card.visit')} {cand.visitId.slice(0, 8)}
                  </span>
                  <span className="score">{fmtPercent(lang, cand.score, 0)}</span>
                  <span className="muted">
                    {cand.reasons.map((r) => t(`reasons.${r}`, { defaultValue: r })).join(', ')}
                  </span>
                  {cand.visitId === c.visitId && <span className="badge">{t('card.chosen')}</span>}
                </li>
              ))}
            </ul>
          ) : (
            <p className="muted">{t('card.noCandidates')}</p>
          )}

          <h4>{t('card.details')}</h4>
          <dl className="facts">
            <Fact label={t('columns.trackingNumber')}>
              <span className="mono">{c.trackingNumber}</span>
            </Fact>
            <Fact label={t('columns.wait')}>{fmtDuration(lang, c.waitSeconds)}</Fact>
            <Fact label={t('columns.talk')}>{fmtDuration(lang, c.talkSeconds)}</Fact>
            <Fact label={t('card.employee')}>
              {[c.employee, c.groupName].filter(Boolean).join(' · ') || null}
            </Fact>
          </dl>
        </section>
      </div>

      <section className="card-section" data-section="recording">
        <h3>{t('card.recording')}</h3>
        {recording ? (
          // biome-ignore lint/a11y/useMediaCaption: call recordings have no captions
          <audio controls preload="none" src={recording} />
        ) : (
          <p className="muted">{t('card.noRecording')}</p>
        )}
      </section>

      <section className="card-section" data-section="legs">
        <h3>{t('card.legs')}</h3>
        {c.legs.length === 0 ? (
          <p className="muted">{t('card.noLegs')}</p>
        ) : (
          <ul className="call-legs">
            {c.legs.map((l) => (
              <li key={l.legId} data-leg={l.legId}>
                <span className="time">{fmtTime(lang, l.startedAt, site.timeZone)}</span>
                <span>{l.employee ?? l.target ?? t(`legKind.${l.kind}`)}</span>
                {l.kind !== 'employee' && <span className="muted">{t(`legKind.${l.kind}`)}</span>}
                <span className={`badge leg-${l.status}`}>{t(`legStatus.${l.status}`)}</span>
                {l.answeredAt && <span className="muted">{fmtDuration(lang, l.talkSeconds)}</span>}
              </li>
            ))}
          </ul>
        )}
        {c.transfers.map((tr) => (
          <p key={`${tr.at}-${tr.to}`} className="muted" data-transfer={tr.kind}>
            {fmtTime(lang, tr.at, site.timeZone)}{' '}
            {t(`card.transfer.${tr.kind}`, { from: tr.from ?? '—', to: tr.to })}
          </p>
        ))}
        {c.finishedBy && c.finishedBy !== c.employee && (
          <p data-field="finishedBy">{t('card.finishedBy', { employee: c.finishedBy })}</p>
        )}
      </section>

      <section className="card-section" data-section="previous">
        <h3>{t('card.previous')}</h3>
        {c.previousCalls.length === 0 ? (
          <p className="muted">{t('card.noPrevious')}</p>
        ) : (
          <ul className="previous-calls">
            {c.previousCalls.map((p) => (
              <li key={p.id}>
                <a
                  href={`/calls/${p.id}`}
                  onClick={(e) => {
                    e.preventDefault();
                    navigate(`/calls/${p.id}`);
                  }}
                >
                  {fmtDateTime(lang, p.startedAt, site.timeZone)}
                </a>
                <StatusBadge status={p.status} />
                <span className="muted">{fmtDuration(lang, p.talkSeconds)}</span>
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="fact">
      <dt>{label}</dt>
      <dd>
        {children === null || children === undefined || children === '' ? (
          <span className="muted">—</span>
        ) : (
          children
        )}
      </dd>
    </div>
  );
}

function Journey({ c }: { c: CallDetail }) {
  const { t, i18n } = useTranslation();
  const { site } = useDashboard();
  const lang = i18n.language;
  if (!c.visitId) return <p className="muted">{t('card.noVisit')}</p>;
  const pages =
    c.pages.length > 0 ? c.pages : c.landingUrl ? [{ url: c.landingUrl, title: null, at: '' }] : [];
  // The page the call came from: the last view of the call page before the call.
  let callPageIndex = -1;
  pages.forEach((p, i) => {
    if (c.callPageUrl && p.url === c.callPageUrl && (!p.at || p.at <= c.startedAt)) callPageIndex = i;
  });
  const callStep = (
    <li key="call" className="step call" data-kind="call">
      <span className="time">{fmtTime(lang, c.startedAt, site.timeZone)}</span>
      <span className="dot" />
      <div className="what">
        <span className="kind">{t('card.call', { number: c.trackingNumber })}</span>
        <span className="title">
          <StatusBadge status={c.status} /> {fmtDuration(lang, c.talkSeconds)}
        </span>
      </div>
    </li>
  );
  const steps = pages.map((p, i) => {
    const kind = i === callPageIndex ? 'call-page' : i === 0 ? 'landing' : 'page';
    const href = safeHref(p.url);
    return (
      <li key={`${p.at}|${p.url}`} className={`step ${kind}`} data-kind={kind}>
        <span className="time">{p.at ? fmtTime(lang, p.at, site.timeZone) : ''}</span>
        <span className="dot" />
        <div className="what">
          <span className="kind">
            {i === 0 && kind === 'call-page'
              ? `${t('card.landing')} · ${t('card.callPage')}`
              : t(kind === 'landing' ? 'card.landing' : kind === 'call-page' ? 'card.callPage' : 'card.page')}
          </span>
          {p.title && <span className="title">{p.title}</span>}
          {href ? (
            <a className="url" href={href} target="_blank" rel="noopener noreferrer nofollow" title={p.url}>
              {shortUrl(p.url)}
            </a>
          ) : (
            <span className="url">{p.url}</span>
          )}
        </div>
      </li>
    );
  });
  // The call sits among the page views at its moment; pages viewed after it follow it.
  const callAt = pages.findIndex((p) => p.at && p.at > c.startedAt);
  steps.splice(callAt === -1 ? steps.length : Math.max(callAt, 1), 0, callStep);
  return <ol className="timeline">{steps}</ol>;
}

/** A URL with its percent-escapes decoded for reading. */
function readableUrl(url: string): string {
  try {
    return decodeURIComponent(url);
  } catch {
    return url;
  }
}
