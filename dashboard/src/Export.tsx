import { useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, qs } from './api';
import { CopyButton } from './CopyButton';
import { errorText } from './errors';
import { useDashboard } from './state';

type Params = Record<string, string | number | undefined | null | false>;

/** The dashboard's preset as a feed's relative range, so a sheet keeps following "the last 30 days". */
const RELATIVE = { today: 'today', d7: 'last_7_days', d30: 'last_30_days', month: 'this_month' } as const;

interface Feed {
  id: string;
  url: string;
  formula: string;
}

/**
 * "Export" menu: CSV / Excel downloads of `path` (an export endpoint without its extension) with the
 * current query, and a Google Sheets live feed. `feed` is the feed's kind and filters.
 */
export function ExportMenu(props: {
  path: string;
  query: Params;
  feed: { kind: 'calls' | 'report'; dimension?: string; filters: Params };
  id: string;
}) {
  const { t, i18n } = useTranslation();
  const [sheets, setSheets] = useState(false);
  const menu = useRef<HTMLDetailsElement>(null);
  // Choosing an item closes the menu.
  const close = () => {
    if (menu.current) menu.current.open = false;
  };
  const lang = i18n.language === 'en' ? 'en' : 'ru';
  // Russian Excel splits CSV on semicolons.
  const href = (ext: 'csv' | 'xlsx') =>
    `${props.path}.${ext}?${qs({ ...props.query, lang, sep: ext === 'csv' && lang === 'ru' && 'semicolon' })}`;
  return (
    <>
      <details className="column-picker export-menu" data-export={props.id} ref={menu}>
        <summary>{t('export.button')}</summary>
        <div className="menu export-items">
          <a href={href('csv')} download data-format="csv" onClick={close}>
            {t('export.csv')}
          </a>
          <a href={href('xlsx')} download data-format="xlsx" onClick={close}>
            {t('export.xlsx')}
          </a>
          <button
            type="button"
            data-format="sheets"
            onClick={() => {
              close();
              setSheets(true);
            }}
          >
            {t('export.sheets')}
          </button>
        </div>
      </details>
      {sheets && <SheetsDialog feed={props.feed} lang={lang} onClose={() => setSheets(false)} />}
    </>
  );
}

function SheetsDialog(props: {
  feed: { kind: 'calls' | 'report'; dimension?: string; filters: Params };
  lang: 'ru' | 'en';
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const { site, range } = useDashboard();
  const [feed, setFeed] = useState<Feed | null>(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const relative = range.preset === 'custom' ? null : RELATIVE[range.preset];

  const create = async () => {
    setBusy(true);
    setError('');
    try {
      const filters = Object.fromEntries(
        Object.entries(props.feed.filters).filter(
          ([, v]) => v !== undefined && v !== null && v !== '' && v !== false,
        ),
      );
      setFeed(
        await api<Feed>('/api/v1/exports/feeds', {
          method: 'POST',
          body: {
            kind: props.feed.kind,
            siteId: site.id,
            ...(props.feed.dimension ? { dimension: props.feed.dimension } : {}),
            ...(relative ? { range: relative } : { from: range.from, to: range.to }),
            lang: props.lang,
            ...filters,
          },
        }),
      );
    } catch (e) {
      setError(errorText(t, e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="drawer-backdrop sheets-backdrop">
      <section
        className="panel sheets-dialog"
        role="dialog"
        aria-modal="true"
        aria-label={t('export.sheetsTitle')}
      >
        <h2>{t('export.sheetsTitle')}</h2>
        <p className="muted">{t('export.sheetsHelp')}</p>
        <p>
          {relative
            ? t('export.rangeRelative', { range: t(`range.${range.preset}`) })
            : t('export.rangeFixed', { from: range.from, to: range.to })}
        </p>
        {feed ? (
          <>
            <label className="formula">
              {t('export.formula')}
              <input readOnly value={feed.formula} onFocus={(e) => e.target.select()} name="formula" />
            </label>
            <p className="muted">{t('export.secret')}</p>
            <CopyButton text={feed.formula} label={t('export.copy')} />
          </>
        ) : (
          <button
            type="button"
            className="primary"
            disabled={busy}
            onClick={create}
            data-action="create-feed"
          >
            {t('export.create')}
          </button>
        )}
        {error && <p className="error">{error}</p>}
        <button type="button" className="close" onClick={props.onClose}>
          {t('card.close')}
        </button>
      </section>
    </div>
  );
}
