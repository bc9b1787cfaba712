import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, type PhoneNumber, type StaticRule, type StaticRuleConditions } from '../api';
import { useDashboard } from '../state';
import { ConfirmButton, Field, FormError, orNull, useApiMutation } from './common';

const CONDITIONS: (keyof StaticRuleConditions)[] = [
  'utmSource',
  'utmMedium',
  'utmCampaign',
  'utmContent',
  'utmTerm',
  'referrerDomain',
  'landingPathPrefix',
];

/** Static channel rules: a visit matching a rule's conditions is shown the rule's static number. */
export function Rules() {
  const { t } = useTranslation();
  const { site } = useDashboard();
  const base = `/api/v1/sites/${site.id}`;
  const rules = useQuery({
    queryKey: ['rules', site.id],
    queryFn: () => api<StaticRule[]>(`${base}/static-rules`),
  });
  const numbers = useQuery({
    queryKey: ['numbers', site.id],
    queryFn: () => api<PhoneNumber[]>(`${base}/numbers`),
  });
  const staticNumbers = numbers.data?.filter((n) => n.kind === 'static') ?? [];
  const [editing, setEditing] = useState<string | null>(null);
  const remove = useApiMutation<void, string>(
    (id) => ({ path: `${base}/static-rules/${id}`, method: 'DELETE' }),
    [['rules', site.id]],
  );

  return (
    <>
      <section className="panel" data-section="rules">
        <h2>{t('settings.rules.title')}</h2>
        <p className="muted">{t('settings.rules.help')}</p>
        {rules.data?.length === 0 && <p className="muted empty">{t('settings.rules.none')}</p>}
        <ul className="rule-list">
          {rules.data?.map((r) =>
            editing === r.id ? (
              <li key={r.id} className="rule-item" data-rule={r.name}>
                <RuleForm
                  rule={r}
                  numbers={staticNumbers}
                  onDone={() => setEditing(null)}
                  onCancel={() => setEditing(null)}
                />
              </li>
            ) : (
              <li key={r.id} data-rule={r.name} className="rule-item rule">
                <div className="rule-main">
                  <strong>{r.name}</strong>
                  <span className="mono">{r.number}</span>
                  <span className="muted">
                    {t('settings.rules.priority')}: {r.priority}
                  </span>
                </div>
                <div className="rule-conditions">
                  {Object.keys(r.conditions).length === 0 ? (
                    <span className="muted">{t('settings.rules.offline')}</span>
                  ) : (
                    CONDITIONS.filter((c) => r.conditions[c]).map((c) => (
                      <span key={c} className="badge">
                        {t(`settings.rules.conditions.${c}`)} = {r.conditions[c]}
                      </span>
                    ))
                  )}
                  {[r.source, r.medium, r.campaign].some(Boolean) && (
                    <span className="muted">
                      → {[r.source, r.medium, r.campaign].filter(Boolean).join(' / ')}
                    </span>
                  )}
                </div>
                <div className="actions">
                  <button type="button" className="link" onClick={() => setEditing(r.id)}>
                    {t('settings.edit')}
                  </button>
                  <ConfirmButton label={t('settings.remove')} onConfirm={() => remove.mutate(r.id)} />
                </div>
              </li>
            ),
          )}
        </ul>
        <FormError error={remove.error} />
      </section>
      <section className="panel" data-section="add-rule">
        <h2>{t('settings.rules.add')}</h2>
        {staticNumbers.length === 0 ? (
          <p className="muted">{t('settings.rules.noStaticNumbers')}</p>
        ) : (
          <RuleForm key={rules.data?.length} numbers={staticNumbers} onDone={() => {}} />
        )}
      </section>
    </>
  );
}

function RuleForm(props: {
  rule?: StaticRule;
  numbers: PhoneNumber[];
  onDone: () => void;
  onCancel?: () => void;
}) {
  const { t } = useTranslation();
  const { site } = useDashboard();
  const r = props.rule;
  const [form, setForm] = useState({
    name: r?.name ?? '',
    priority: String(r?.priority ?? 0),
    numberId: r?.numberId ?? props.numbers[0]?.id ?? '',
    source: r?.source ?? '',
    medium: r?.medium ?? '',
    campaign: r?.campaign ?? '',
    ...Object.fromEntries(CONDITIONS.map((c) => [c, r?.conditions[c] ?? ''])),
  } as Record<string, string>);
  const set = (k: string) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  const base = `/api/v1/sites/${site.id}/static-rules`;
  const save = useApiMutation<StaticRule, void>(
    () => ({
      path: r ? `${base}/${r.id}` : base,
      method: r ? 'PATCH' : 'POST',
      body: {
        name: form.name,
        priority: Number(form.priority),
        numberId: form.numberId,
        conditions: Object.fromEntries(
          CONDITIONS.filter((c) => form[c].trim()).map((c) => [c, form[c].trim()]),
        ),
        source: orNull(form.source),
        medium: orNull(form.medium),
        campaign: orNull(form.campaign),
      },
    }),
    [['rules', site.id]],
    props.onDone,
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };
  return (
    <form className="rule-form" data-form={r ? 'edit-rule' : 'add-rule'} onSubmit={submit}>
      <div className="fields">
        <Field label={t('settings.rules.name')}>
          <input name="name" value={form.name} onChange={set('name')} />
        </Field>
        <Field label={t('settings.rules.number')}>
          <select name="numberId" value={form.numberId} onChange={set('numberId')}>
            {props.numbers.map((n) => (
              <option key={n.id} value={n.id}>
                {n.e164}
              </option>
            ))}
          </select>
        </Field>
        <Field label={t('settings.rules.priority')}>
          <input name="priority" type="number" value={form.priority} onChange={set('priority')} />
        </Field>
      </div>
      <h4>{t('settings.rules.when')}</h4>
      <div className="fields">
        {CONDITIONS.map((c) => (
          <Field key={c} label={t(`settings.rules.conditions.${c}`)}>
            <input name={c} value={form[c]} onChange={set(c)} />
          </Field>
        ))}
      </div>
      <h4>{t('settings.rules.reportAs')}</h4>
      <div className="fields">
        {(['source', 'medium', 'campaign'] as const).map((f) => (
          <Field key={f} label={t(`columns.${f}`)}>
            <input name={f} value={form[f]} onChange={set(f)} />
          </Field>
        ))}
      </div>
      <FormError error={save.error} />
      <div className="form-actions">
        <button type="submit" className="primary" disabled={save.isPending}>
          {r ? t('settings.save') : t('settings.rules.add')}
        </button>
        {props.onCancel && (
          <button type="button" onClick={props.onCancel}>
            {t('settings.cancel')}
          </button>
        )}
      </div>
    </form>
  );
}
