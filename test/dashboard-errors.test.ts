import i18next from 'i18next';
import { beforeAll, describe, expect, it } from 'vitest';
import { ApiError, apiError, errorText } from '../dashboard/src/errors.js';
import { en, ru, type Tree } from '../dashboard/src/locales.js';
import { testEnv } from './helpers.js';

const i18n = i18next.createInstance();
beforeAll(async () => {
  await i18n.init({
    resources: { ru: { translation: ru as Tree }, en: { translation: en as Tree } },
    lng: 'ru',
    interpolation: { escapeValue: false },
  });
});

describe('dashboard error text', () => {
  it('says what went wrong in the UI language, naming the fields a validation error names', () => {
    const invalid = new ApiError(400, 'invalid_request', 'body.name: Too small', ['name', 'domains.0']);
    expect(errorText(i18n.getFixedT('ru'), invalid)).toBe(
      'Запрос не прошёл проверку. Проверьте поля: name, domains.0.',
    );
    expect(errorText(i18n.getFixedT('en'), invalid)).toBe(
      'The request did not pass validation. Check the fields: name, domains.0.',
    );
    expect(errorText(i18n.getFixedT('ru'), new ApiError(409, 'in_use', 'Pool has numbers'))).toBe(
      'Нельзя удалить: запись используется.',
    );
  });

  it('falls back to the server message for a code the UI does not know, and names a lost connection', () => {
    expect(errorText(i18n.getFixedT('ru'), new ApiError(502, 'ad_sync_failed', 'Yandex said 503'))).toBe(
      'Yandex said 503',
    );
    expect(errorText(i18n.getFixedT('ru'), new TypeError('Failed to fetch'))).toBe(
      'Сервер недоступен. Проверьте соединение и попробуйте ещё раз.',
    );
  });

  it('reads the real validation error of the API into the fields the user must fix', async () => {
    const env = await testEnv();
    try {
      const bad = await env.api('POST', '/api/v1/api-keys', { name: '' });
      expect(bad.statusCode).toBe(400);
      const error = apiError(bad.statusCode, 'Bad Request', bad.json());
      expect(error.code).toBe('invalid_request');
      expect(error.fields).toEqual(['name']);
      expect(error.message).toContain('body.name');
      expect(errorText(i18n.getFixedT('ru'), error)).toBe('Запрос не прошёл проверку. Проверьте поля: name.');
      // Every code the dashboard names has its sentence in both languages (the resources' types make en
      // mirror ru, so a missing key would fail to compile; this checks they are not left empty).
      for (const lng of ['ru', 'en'] as const)
        for (const code of Object.keys(ru.errors.codes))
          expect(i18n.getFixedT(lng)(`errors.codes.${code}`), `${lng} ${code}`).not.toMatch(/^errors\.|^$/);
    } finally {
      await env.close();
    }
  });
});
