import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from './api';
import { LANGUAGES } from './i18n';

export function Login() {
  const { t, i18n } = useTranslation();
  const qc = useQueryClient();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const login = useMutation({
    mutationFn: () => api('/api/v1/auth/login', { method: 'POST', body: { email, password } }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['me'] }),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    login.mutate();
  };
  return (
    <div className="login-page">
      <form className="login-card" onSubmit={submit}>
        <div className="brand">
          <span className="logo" aria-hidden="true" />
          <span className="brand-name">Ringtrace</span>
        </div>
        <h1>{t('login.title')}</h1>
        <p className="muted">{t('login.subtitle')}</p>
        <label>
          <span>{t('login.email')}</span>
          <input
            name="email"
            type="email"
            autoComplete="username"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
        </label>
        <label>
          <span>{t('login.password')}</span>
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        {login.isError && (
          <p className="form-error" role="alert">
            {t('login.failed')}
          </p>
        )}
        <button type="submit" className="primary" disabled={login.isPending}>
          {login.isPending ? t('login.submitting') : t('login.submit')}
        </button>
        <p className="hint">{t('login.hint')}</p>
        <div className="lang-switch small">
          {LANGUAGES.map((l) => (
            <button
              key={l}
              type="button"
              className={i18n.language === l ? 'active' : ''}
              onClick={() => {
                localStorage.setItem('rt.lang', l);
                void i18n.changeLanguage(l);
              }}
            >
              {l.toUpperCase()}
            </button>
          ))}
        </div>
      </form>
    </div>
  );
}
