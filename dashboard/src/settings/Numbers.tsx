import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, type PhoneNumber, type Pool } from '../api';
import { fmtNumber } from '../format';
import { useDashboard } from '../state';
import { ConfirmButton, Field, FormError, orNull, useApiMutation } from './common';

/** The site's pools and numbers: list, add, remove. */
export function Numbers() {
  const { t, i18n } = useTranslation();
  const { site } = useDashboard();
  const base = `/api/v1/sites/${site.id}`;
  const pools = useQuery({ queryKey: ['pools', site.id], queryFn: () => api<Pool[]>(`${base}/pools`) });
  const numbers = useQuery({
    queryKey: ['numbers', site.id],
    queryFn: () => api<PhoneNumber[]>(`${base}/numbers`),
  });
  const refresh = [
    ['pools', site.id],
    ['numbers', site.id],
  ];
  const removePool = useApiMutation<void, string>(
    (id) => ({ path: `${base}/pools/${id}`, method: 'DELETE' }),
    refresh,
  );
  const removeNumber = useApiMutation<void, string>(
    (id) => ({ path: `${base}/numbers/${id}`, method: 'DELETE' }),
    refresh,
  );
  const poolName = (id: string | null) => pools.data?.find((p) => p.id === id)?.name ?? '—';

  return (
    <>
      <section className="panel" data-section="pools">
        <h2>{t('settings.numbers.pools')}</h2>
        <table className="settings-table">
          <thead>
            <tr>
              <th>{t('settings.numbers.poolName')}</th>
              <th>{t('settings.numbers.region')}</th>
              <th className="num">{t('settings.numbers.size')}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {pools.data?.map((p) => (
              <tr key={p.id} data-pool={p.name}>
                <td>{p.name}</td>
                <td>{p.region ?? <span className="muted">{t('settings.numbers.homeRegion')}</span>}</td>
                <td className="num">{fmtNumber(i18n.language, p.size)}</td>
                <td className="actions">
                  <ConfirmButton label={t('settings.remove')} onConfirm={() => removePool.mutate(p.id)} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <FormError error={removePool.error} />
        <AddPool base={base} refresh={refresh} />
      </section>

      <section className="panel" data-section="numbers">
        <h2>{t('settings.numbers.numbers')}</h2>
        <table className="settings-table">
          <thead>
            <tr>
              <th>{t('settings.numbers.number')}</th>
              <th>{t('settings.numbers.kind')}</th>
              <th>{t('settings.numbers.pool')}</th>
              <th>{t('settings.numbers.region')}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {numbers.data?.map((n) => (
              <tr key={n.id} data-number={n.e164}>
                <td className="mono">{n.e164}</td>
                <td>{t(`settings.numbers.kinds.${n.kind}`)}</td>
                <td>{n.kind === 'pool' ? poolName(n.poolId) : '—'}</td>
                <td>{n.region ?? '—'}</td>
                <td className="actions">
                  <ConfirmButton label={t('settings.remove')} onConfirm={() => removeNumber.mutate(n.id)} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <FormError error={removeNumber.error} />
        <AddNumber base={base} pools={pools.data ?? []} refresh={refresh} />
      </section>
    </>
  );
}

function AddPool({ base, refresh }: { base: string; refresh: unknown[][] }) {
  const { t } = useTranslation();
  const [name, setName] = useState('');
  const [region, setRegion] = useState('');
  const add = useApiMutation<Pool, void>(
    () => ({ path: `${base}/pools`, method: 'POST', body: { name, region: orNull(region) } }),
    refresh,
    () => {
      setName('');
      setRegion('');
    },
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    add.mutate();
  };
  return (
    <form className="inline-form" data-form="add-pool" onSubmit={submit}>
      <Field label={t('settings.numbers.poolName')}>
        <input name="poolName" value={name} onChange={(e) => setName(e.target.value)} />
      </Field>
      <Field label={t('settings.numbers.region')} hint={t('settings.numbers.regionHint')}>
        <input name="poolRegion" value={region} onChange={(e) => setRegion(e.target.value)} />
      </Field>
      <button type="submit" disabled={add.isPending}>
        {t('settings.numbers.addPool')}
      </button>
      <FormError error={add.error} />
    </form>
  );
}

function AddNumber({ base, pools, refresh }: { base: string; pools: Pool[]; refresh: unknown[][] }) {
  const { t } = useTranslation();
  const [number, setNumber] = useState('');
  const [kind, setKind] = useState<PhoneNumber['kind']>('pool');
  const [poolId, setPoolId] = useState('');
  const [region, setRegion] = useState('');
  const add = useApiMutation<PhoneNumber, void>(
    () => ({
      path: `${base}/numbers`,
      method: 'POST',
      body: {
        number,
        kind,
        ...(kind === 'pool' && poolId ? { poolId } : {}),
        region: orNull(region),
      },
    }),
    refresh,
    () => setNumber(''),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    add.mutate();
  };
  return (
    <form className="inline-form" data-form="add-number" onSubmit={submit}>
      <Field label={t('settings.numbers.number')}>
        <input
          name="number"
          value={number}
          placeholder="+7 495 123-45-67"
          onChange={(e) => setNumber(e.target.value)}
        />
      </Field>
      <Field label={t('settings.numbers.kind')}>
        <select name="kind" value={kind} onChange={(e) => setKind(e.target.value as PhoneNumber['kind'])}>
          {(['pool', 'static', 'default'] as const).map((k) => (
            <option key={k} value={k}>
              {t(`settings.numbers.kinds.${k}`)}
            </option>
          ))}
        </select>
      </Field>
      {kind === 'pool' && (
        <Field label={t('settings.numbers.pool')}>
          <select name="poolId" value={poolId} onChange={(e) => setPoolId(e.target.value)}>
            <option value="">{t('settings.numbers.homePool')}</option>
            {pools.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </Field>
      )}
      <Field label={t('settings.numbers.region')}>
        <input name="numberRegion" value={region} onChange={(e) => setRegion(e.target.value)} />
      </Field>
      <button type="submit" disabled={add.isPending}>
        {t('settings.numbers.addNumber')}
      </button>
      <FormError error={add.error} />
    </form>
  );
}
