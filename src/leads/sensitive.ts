/**
 * Lead forms must never carry secrets into Ringtrace: password and payment-card fields are refused by
 * name, and any value that looks like a card number (13–19 digits passing the Luhn check) is refused.
 * Pure functions; the widget applies the same rules before sending (a later step).
 */

const SENSITIVE_NAME =
  /pass(word|wd|code)?|pwd|пароль|secret|token|card|cc[-_ ]?(num|number|exp|csc|cvv|name)|cvv|cvc|csc|cvn|security[-_ ]?code|expir|exp[-_ ]?(date|month|year)|iban|account[-_ ]?number|routing|ssn|passport|паспорт|карт|^pin$/i;

export function isSensitiveFieldName(name: string): boolean {
  return SENSITIVE_NAME.test(name.normalize('NFKC'));
}

/** Luhn checksum over a digit string. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** True when some run of digits (spaces and dashes allowed between them) looks like a payment card number. */
export function looksLikeCardNumber(value: string): boolean {
  for (const match of value.matchAll(/\d[\d -]{11,30}\d/g)) {
    const digits = match[0].replace(/\D/g, '');
    if (digits.length >= 13 && digits.length <= 19 && luhnValid(digits)) return true;
  }
  return false;
}
