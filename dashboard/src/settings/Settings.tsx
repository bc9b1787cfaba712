import { useTranslation } from 'react-i18next';
import { navigate } from '../router';
import { ApiKeys } from './ApiKeys';
import { Numbers } from './Numbers';
import { Rules } from './Rules';
import { SiteForm } from './SiteForm';
import { Widget } from './Widget';

const TABS = ['site', 'numbers', 'rules', 'widget', 'keys'] as const;
type Tab = (typeof TABS)[number];

/** Settings of the selected site (and the account's API keys), one page per tab: /settings/{tab}. */
export function Settings({ path }: { path: string }) {
  const { t } = useTranslation();
  const tab: Tab = TABS.find((x) => path === `/settings/${x}`) ?? 'site';
  return (
    <div className="settings">
      <nav className="subtabs" aria-label={t('nav.settings')}>
        {TABS.map((x) => (
          <a
            key={x}
            href={`/settings/${x}`}
            data-tab={x}
            className={tab === x ? 'active' : ''}
            onClick={(e) => {
              e.preventDefault();
              navigate(`/settings/${x}`);
            }}
          >
            {t(`settings.tabs.${x}`)}
          </a>
        ))}
      </nav>
      {tab === 'site' && <SiteForm />}
      {tab === 'numbers' && <Numbers />}
      {tab === 'rules' && <Rules />}
      {tab === 'widget' && <Widget />}
      {tab === 'keys' && <ApiKeys />}
    </div>
  );
}
