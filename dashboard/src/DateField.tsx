import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { fmtDate, parseDate } from './format';

/**
 * A calendar date typed in the interface language's own format ("24.11.2026" / "24/11/2026"), with
 * the browser's date picker behind a button. A native date input alone would follow the browser's
 * locale instead of the language chosen in the dashboard.
 */
export function DateField(props: {
  name: string;
  label: string;
  value: string;
  min?: string;
  max?: string;
  onChange: (date: string) => void;
}) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const [text, setText] = useState(() => fmtDate(lang, props.value));
  const [invalid, setInvalid] = useState(false);
  const picker = useRef<HTMLInputElement>(null);
  useEffect(() => {
    setText(fmtDate(lang, props.value));
    setInvalid(false);
  }, [lang, props.value]);

  const commit = () => {
    const date = parseDate(text);
    const inRange = date && (!props.min || date >= props.min) && (!props.max || date <= props.max);
    if (!date || !inRange) {
      setInvalid(true);
      return;
    }
    setInvalid(false);
    if (date === props.value) setText(fmtDate(lang, date));
    else props.onChange(date);
  };

  return (
    <label className="date">
      <span>{props.label}</span>
      <span className={`date-field${invalid ? ' invalid' : ''}`}>
        <input
          type="text"
          name={props.name}
          data-date={props.value}
          inputMode="numeric"
          size={10}
          value={text}
          placeholder={t('range.datePlaceholder')}
          aria-invalid={invalid}
          title={invalid ? t('range.badDate') : undefined}
          onChange={(e) => setText(e.target.value)}
          onBlur={commit}
          onKeyDown={(e) => e.key === 'Enter' && commit()}
        />
        <button
          type="button"
          className="link"
          aria-label={t('range.pick')}
          onClick={() => picker.current?.showPicker?.()}
        >
          ▾
        </button>
        <input
          ref={picker}
          type="date"
          tabIndex={-1}
          aria-hidden="true"
          className="date-picker"
          value={props.value}
          min={props.min}
          max={props.max}
          onChange={(e) => e.target.value && props.onChange(e.target.value)}
        />
      </span>
    </label>
  );
}
