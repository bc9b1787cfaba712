import { describe, expect, it } from 'vitest';
import { isSensitiveFieldName, looksLikeCardNumber, luhnValid } from './sensitive.js';

describe('sensitive lead fields', () => {
  it('refuses password and card field names', () => {
    for (const name of [
      'password',
      'user_pass',
      'pwd',
      'cc-number',
      'card_number',
      'cvv',
      'cvc',
      'exp-date',
      'Пароль',
      'номер карты',
      'iban',
      'pin',
    ]) {
      expect(isSensitiveFieldName(name), name).toBe(true);
    }
    for (const name of ['phone', 'email', 'name', 'comment', 'city', 'company', 'message', 'spinner']) {
      expect(isSensitiveFieldName(name), name).toBe(false);
    }
  });

  it('spots card numbers but not phone numbers or order ids', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(looksLikeCardNumber('4111 1111 1111 1111')).toBe(true);
    expect(looksLikeCardNumber('my card 5555-5555-5555-4444 thanks')).toBe(true);
    expect(looksLikeCardNumber('+7 (916) 123-45-67')).toBe(false);
    expect(looksLikeCardNumber('order 12345')).toBe(false);
    expect(looksLikeCardNumber('4111 1111 1111 1112')).toBe(false);
  });
});
