import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api';
import { errorText } from '../errors';

/**
 * A write to the API that refreshes the given queries when it succeeds; its error is shown by <FormError>
 * next to the form, in the UI's language, with the API's own message below.
 */
export function useApiMutation<T = unknown, V = void>(
  request: (vars: V) => { path: string; method: string; body?: unknown },
  refresh: unknown[][],
  onSuccess?: (data: T) => void,
) {
  const qc = useQueryClient();
  return useMutation<T, Error, V>({
    mutationFn: (vars) => {
      const r = request(vars);
      return api<T>(r.path, { method: r.method, body: r.body });
    },
    onSuccess: (data) => {
      for (const key of refresh) void qc.invalidateQueries({ queryKey: key });
      onSuccess?.(data);
    },
  });
}

export function FormError({ error }: { error: Error | null }) {
  const { t } = useTranslation();
  if (!error) return null;
  const text = errorText(t, error);
  return (
    <p className="form-error" role="alert">
      {t('settings.error', { message: text })}
      {/* The API's own words name the exact problem (which field, which number); kept for precision. */}
      {text !== error.message && <small className="error-detail">{error.message}</small>}
    </p>
  );
}

export function Field(props: { label: string; hint?: string; children: ReactNode }) {
  return (
    // biome-ignore lint/a11y/noLabelWithoutControl: the control comes in as children
    <label className="field">
      <span className="field-label">{props.label}</span>
      {props.children}
      {props.hint && <span className="field-hint">{props.hint}</span>}
    </label>
  );
}

/** Text lines of a textarea as a list, without blanks. */
export const lines = (text: string): string[] =>
  text
    .split(/[\n,]+/)
    .map((l) => l.trim())
    .filter(Boolean);

/** An empty text field means "not set". */
export const orNull = (text: string): string | null => (text.trim() === '' ? null : text.trim());

/** A destructive action takes a second click on the same button ("Remove" → "Really remove?"). */
export function ConfirmButton(props: { label: string; onConfirm: () => void }) {
  const { t } = useTranslation();
  const [armed, setArmed] = useState(false);
  return (
    <button
      type="button"
      className={`link danger${armed ? ' armed' : ''}`}
      onBlur={() => setArmed(false)}
      onClick={() => {
        if (!armed) return setArmed(true);
        setArmed(false);
        props.onConfirm();
      }}
    >
      {armed ? t('settings.confirm') : props.label}
    </button>
  );
}
