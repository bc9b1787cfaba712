import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, type Me, type Site } from './api';
import { CallCard } from './CallCard';
import { CallLog } from './CallLog';
import { DateField } from './DateField';
import { ApiError, errorText } from './errors';
import { fmtDate } from './format';
import { LANGUAGES, type Language } from './i18n';
import { Login } from './Login';
import { Operator } from './Operator';
import { Overview } from './Overview';
import { navigate, usePath } from './router';
import { Settings } from './settings/Settings';
import { PRESETS, presetRange, previousRange, type Range, StateContext } from './state';

export function App() {
  const { t } = useTranslation();
  const me = useQuery({
    queryKey: ['me'],
    queryFn: () => api<Me>('/api/v1/auth/me'),
    retry: false,
  });
  if (me.isPending) return <div className="splash" />;
  if (me.error) {
    if (me.error instanceof ApiError && me.error.status === 401) return <Login />;
    return <div className="splash error">{t('errors.generic', { message: errorText(t, me.error) })}</div>;
  }
  return <Dashboard me={me.data} />;
}

function Dashboard({ me }: { me: Me }) {
  const { t, i18n } = useTranslation();
  const qc = useQueryClient();
  const path = usePath();
  const sites = useQuery({ queryKey: ['sites'], queryFn: () => api<Site[]>('/api/v1/sites') });
  const [siteId, setSiteId] = useState<string | null>(() => localStorage.getItem('rt.site'));
  const site = sites.data?.find((s) => s.id === siteId) ?? sites.data?.[0];
  const [range, setRange] = useState<Range | null>(null);
  const [compare, setCompare] = useState(() => localStorage.getItem('rt.compare') !== 'false');

  useEffect(() => {
    if (site && !range) setRange(presetRange('d7', site.timeZone));
  }, [site, range]);

  useEffect(() => {
    if (!localStorage.getItem('rt.lang') && me.locale !== i18n.language) void i18n.changeLanguage(me.locale);
  }, [me.locale, i18n]);
  useEffect(() => {
    document.documentElement.lang = i18n.language;
  }, [i18n.language]);

  const logout = useMutation({
    mutationFn: () => api('/api/v1/auth/logout', { method: 'POST' }),
    onSuccess: () => {
      qc.clear();
      navigate('/');
      void qc.invalidateQueries({ queryKey: ['me'] });
    },
  });

  const setLanguage = (lang: Language) => {
    localStorage.setItem('rt.lang', lang);
    void i18n.changeLanguage(lang);
    void api('/api/v1/auth/me', { method: 'PATCH', body: { locale: lang } }).catch(() => {});
  };

  const callId = /^\/calls\/([0-9a-f-]{36})$/.exec(path)?.[1];
  const page = path.startsWith('/calls')
    ? 'calls'
    : path.startsWith('/settings')
      ? 'settings'
      : path === '/operator'
        ? 'operator'
        : 'overview';
  const lang = i18n.language;

  return (
    <div className="layout">
      <header className="topbar">
        <div className="brand">
          <span className="logo" aria-hidden="true" />
          <span className="brand-name">Ringtrace</span>
          <span className="brand-tag">{t('app.tagline')}</span>
        </div>
        <nav className="tabs">
          <a
            href="/"
            className={page === 'overview' ? 'active' : ''}
            onClick={(e) => {
              e.preventDefault();
              navigate('/');
            }}
          >
            {t('nav.overview')}
          </a>
          <a
            href="/calls"
            className={page === 'calls' ? 'active' : ''}
            onClick={(e) => {
              e.preventDefault();
              navigate('/calls');
            }}
          >
            {t('nav.calls')}
          </a>
          <a
            href="/operator"
            className={page === 'operator' ? 'active' : ''}
            onClick={(e) => {
              e.preventDefault();
              navigate('/operator');
            }}
          >
            {t('nav.operator')}
          </a>
          <a
            href="/settings"
            className={page === 'settings' ? 'active' : ''}
            onClick={(e) => {
              e.preventDefault();
              navigate('/settings');
            }}
          >
            {t('nav.settings')}
          </a>
        </nav>
        <div className="topbar-right">
          <fieldset className="lang-switch" aria-label={t('nav.language')}>
            {LANGUAGES.map((l) => (
              <button
                key={l}
                type="button"
                className={lang === l ? 'active' : ''}
                aria-pressed={lang === l}
                onClick={() => setLanguage(l)}
              >
                {l.toUpperCase()}
              </button>
            ))}
          </fieldset>
          <span className="user" title={me.email}>
            {me.name || me.email}
          </span>
          <button type="button" className="link" onClick={() => logout.mutate()}>
            {t('nav.logout')}
          </button>
        </div>
      </header>

      {sites.data && sites.data.length === 0 && <p className="empty-state">{t('site.none')}</p>}
      {site && range && (
        <>
          <div className="toolbar">
            <label className="site-switch">
              <span>{t('site.label')}</span>
              <select
                value={site.id}
                onChange={(e) => {
                  localStorage.setItem('rt.site', e.target.value);
                  setSiteId(e.target.value);
                }}
              >
                {sites.data?.map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.name}
                  </option>
                ))}
              </select>
            </label>
            {page !== 'settings' && (
              <DateRangePicker
                range={range}
                timeZone={site.timeZone}
                onChange={setRange}
                compare={compare}
                onCompare={(on) => {
                  localStorage.setItem('rt.compare', String(on));
                  setCompare(on);
                }}
              />
            )}
          </div>
          <StateContext.Provider value={{ site, range, compare }}>
            <main className="content">
              {page === 'overview' ? (
                <Overview />
              ) : page === 'calls' ? (
                <CallLog />
              ) : page === 'operator' ? (
                <Operator />
              ) : (
                <Settings path={path} />
              )}
              {callId && <CallCard id={callId} onClose={() => navigate('/calls')} />}
            </main>
          </StateContext.Provider>
        </>
      )}
    </div>
  );
}

function DateRangePicker(props: {
  range: Range;
  timeZone: string;
  onChange: (r: Range) => void;
  compare: boolean;
  onCompare: (on: boolean) => void;
}) {
  const { t, i18n } = useTranslation();
  const { range } = props;
  const prev = previousRange(range);
  return (
    <div className="range">
      <fieldset className="presets">
        {PRESETS.map((p) => (
          <button
            key={p}
            type="button"
            data-preset={p}
            className={range.preset === p ? 'active' : ''}
            onClick={() => props.onChange(presetRange(p, props.timeZone))}
          >
            {t(`range.${p}`)}
          </button>
        ))}
      </fieldset>
      <DateField
        name="from"
        label={t('range.from')}
        value={range.from}
        max={range.to}
        onChange={(from) => props.onChange({ preset: 'custom', from, to: range.to })}
      />
      <DateField
        name="to"
        label={t('range.to')}
        value={range.to}
        min={range.from}
        onChange={(to) => props.onChange({ preset: 'custom', from: range.from, to })}
      />
      <label
        className="compare"
        title={t('range.previous', {
          from: fmtDate(i18n.language, prev.from),
          to: fmtDate(i18n.language, prev.to),
        })}
      >
        <input type="checkbox" checked={props.compare} onChange={(e) => props.onCompare(e.target.checked)} />
        <span>{t('range.compare')}</span>
      </label>
    </div>
  );
}
