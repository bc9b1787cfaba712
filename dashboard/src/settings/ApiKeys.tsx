import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { type ApiKey, api } from '../api';
import { CopyButton } from '../CopyButton';
import { fmtDateTime } from '../format';
import { useDashboard } from '../state';
import { ConfirmButton, Field, FormError, useApiMutation } from './common';

/** The account's API keys: list, create (the key is shown once), revoke. */
export function ApiKeys() {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const { site } = useDashboard();
  const keys = useQuery({ queryKey: ['api-keys'], queryFn: () => api<ApiKey[]>('/api/v1/api-keys') });
  const [name, setName] = useState('');
  const [created, setCreated] = useState<{ name: string; key: string } | null>(null);
  const create = useApiMutation<{ name: string; key: string }, void>(
    () => ({ path: '/api/v1/api-keys', method: 'POST', body: { name } }),
    [['api-keys']],
    (key) => {
      setCreated(key);
      setName('');
    },
  );
  const revoke = useApiMutation<void, string>(
    (id) => ({ path: `/api/v1/api-keys/${id}`, method: 'DELETE' }),
    [['api-keys']],
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setCreated(null);
    create.mutate();
  };

  return (
    <section className="panel" data-section="api-keys">
      <h2>{t('settings.keys.title')}</h2>
      <p className="muted">{t('settings.keys.help')}</p>
      <table className="settings-table">
        <thead>
          <tr>
            <th>{t('settings.keys.name')}</th>
            <th>{t('settings.keys.prefix')}</th>
            <th>{t('settings.keys.created')}</th>
            <th>{t('settings.keys.status')}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {keys.data?.map((k) => (
            <tr key={k.id} data-key={k.name} className={k.revoked_at ? 'revoked' : ''}>
              <td>{k.name}</td>
              <td className="mono">{k.prefix}…</td>
              <td>{fmtDateTime(lang, k.created_at, site.timeZone)}</td>
              <td>
                {k.revoked_at
                  ? t('settings.keys.revokedAt', { at: fmtDateTime(lang, k.revoked_at, site.timeZone) })
                  : t('settings.keys.active')}
              </td>
              <td className="actions">
                {!k.revoked_at && (
                  <ConfirmButton label={t('settings.keys.revoke')} onConfirm={() => revoke.mutate(k.id)} />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <FormError error={revoke.error} />
      <form className="inline-form" data-form="add-key" onSubmit={submit}>
        <Field label={t('settings.keys.name')}>
          <input name="keyName" value={name} onChange={(e) => setName(e.target.value)} />
        </Field>
        <button type="submit" disabled={create.isPending}>
          {t('settings.keys.create')}
        </button>
        <FormError error={create.error} />
      </form>
      {created && (
        <div className="new-key" role="status">
          <p>{t('settings.keys.shownOnce', { name: created.name })}</p>
          <code className="mono" data-new-key>
            {created.key}
          </code>
          <CopyButton text={created.key} label={t('settings.keys.copy')} />
        </div>
      )}
    </section>
  );
}
