import { useState } from 'react';
import { useTranslation } from 'react-i18next';

/** Copies a text to the clipboard and says so on the button. */
export function CopyButton(props: { text: string; label: string; name?: string }) {
  const { t } = useTranslation();
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      name={props.name}
      onClick={async () => {
        await navigator.clipboard?.writeText(props.text).catch(() => {});
        setCopied(true);
      }}
    >
      {copied ? t('export.copied') : props.label}
    </button>
  );
}
