import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import { en, ru, type Tree } from './locales';

export const LANGUAGES = ['ru', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

export function initialLanguage(): Language {
  const saved = localStorage.getItem('rt.lang');
  return saved === 'en' || saved === 'ru' ? saved : 'ru';
}

void i18next.use(initReactI18next).init({
  resources: { ru: { translation: ru as Tree }, en: { translation: en as Tree } },
  lng: initialLanguage(),
  fallbackLng: 'ru',
  interpolation: { escapeValue: false }, // React escapes
  returnNull: false,
});

export default i18next;
