import { useTranslation } from 'react-i18next';
import { CopyButton } from '../CopyButton';
import { useDashboard } from '../state';

/** The site's widget snippet, and how to install it directly or through Google Tag Manager. */
export function Widget() {
  const { t } = useTranslation();
  const { site } = useDashboard();
  return (
    <section className="panel widget-code" data-section="widget">
      <h2>{t('settings.widget.title')}</h2>
      <p>{t('settings.widget.help')}</p>
      <pre className="snippet" data-snippet>
        {site.snippet}
      </pre>
      <CopyButton text={site.snippet} label={t('settings.widget.copy')} name="copy-snippet" />
      <h3>{t('settings.widget.gtmTitle')}</h3>
      <ol className="steps">
        <li>{t('settings.widget.gtm1')}</li>
        <li>{t('settings.widget.gtm2')}</li>
        <li>{t('settings.widget.gtm3')}</li>
        <li>{t('settings.widget.gtm4')}</li>
      </ol>
      <p className="muted">{t('settings.widget.numbers')}</p>
    </section>
  );
}
