import { type FormEvent, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Site } from '../api';
import { useDashboard } from '../state';
import { Field, FormError, lines, orNull, useApiMutation } from './common';

const TIME_ZONES: string[] = Intl.supportedValuesOf?.('timeZone') ?? [];

const formOf = (site: Site) => ({
  name: site.name,
  domains: site.domains.join('\n'),
  timeZone: site.timeZone,
  freezeMinutes: String(site.freezeMinutes),
  replaceNumbers: site.replaceNumbers.join('\n'),
  defaultNumber: site.defaultNumber ?? '',
  exhaustionPolicy: site.exhaustionPolicy,
});

export function SiteForm() {
  const { t } = useTranslation();
  const { site } = useDashboard();
  const [form, setForm] = useState(() => formOf(site));
  const [saved, setSaved] = useState(false);
  useEffect(() => setForm(formOf(site)), [site]);
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => {
    setSaved(false);
    setForm({ ...form, [k]: e.target.value });
  };

  const save = useApiMutation<Site, typeof form>(
    (f) => ({
      path: `/api/v1/sites/${site.id}`,
      method: 'PATCH',
      body: {
        name: f.name,
        domains: lines(f.domains),
        timeZone: f.timeZone,
        // Sent as typed: the API names a bad value ("body.freezeMinutes: ...").
        freezeMinutes: f.freezeMinutes.trim() === '' ? null : Number(f.freezeMinutes),
        replaceNumbers: lines(f.replaceNumbers),
        defaultNumber: orNull(f.defaultNumber),
        exhaustionPolicy: f.exhaustionPolicy,
      },
    }),
    [['sites']],
    () => setSaved(true),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSaved(false);
    save.mutate(form);
  };

  return (
    <form className="panel settings-form" data-form="site" onSubmit={submit}>
      <h2>{t('settings.site.title')}</h2>
      <div className="fields">
        <Field label={t('settings.site.name')}>
          <input name="name" value={form.name} onChange={set('name')} required />
        </Field>
        <Field label={t('settings.site.timeZone')}>
          <input name="timeZone" list="time-zones" value={form.timeZone} onChange={set('timeZone')} />
          <datalist id="time-zones">
            {TIME_ZONES.map((z) => (
              <option key={z} value={z} />
            ))}
          </datalist>
        </Field>
        <Field label={t('settings.site.domains')} hint={t('settings.site.domainsHint')}>
          <textarea name="domains" rows={3} value={form.domains} onChange={set('domains')} />
        </Field>
        <Field label={t('settings.site.replaceNumbers')} hint={t('settings.site.replaceNumbersHint')}>
          <textarea
            name="replaceNumbers"
            rows={3}
            value={form.replaceNumbers}
            onChange={set('replaceNumbers')}
          />
        </Field>
        <Field label={t('settings.site.defaultNumber')} hint={t('settings.site.defaultNumberHint')}>
          <input name="defaultNumber" value={form.defaultNumber} onChange={set('defaultNumber')} />
        </Field>
        <Field label={t('settings.site.freezeMinutes')} hint={t('settings.site.freezeMinutesHint')}>
          <input
            name="freezeMinutes"
            type="number"
            inputMode="numeric"
            value={form.freezeMinutes}
            onChange={set('freezeMinutes')}
          />
        </Field>
        <Field label={t('settings.site.exhaustionPolicy')} hint={t('settings.site.exhaustionPolicyHint')}>
          <select name="exhaustionPolicy" value={form.exhaustionPolicy} onChange={set('exhaustionPolicy')}>
            <option value="default">{t('settings.site.policyDefault')}</option>
            <option value="share">{t('settings.site.policyShare')}</option>
          </select>
        </Field>
      </div>
      <FormError error={save.error} />
      <div className="form-actions">
        <button type="submit" className="primary" disabled={save.isPending}>
          {t('settings.save')}
        </button>
        {saved && (
          <span className="saved" role="status">
            {t('settings.saved')}
          </span>
        )}
      </div>
    </form>
  );
}
