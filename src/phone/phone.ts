// Phone helpers. All parsing and formatting goes through libphonenumber-js with the
// "max" metadata: the default "min" metadata only checks lengths, so it would accept
// invalid numbers and cannot tell number types (needed for premium-rate detection).
import { type CountryCode, type PhoneNumber, parsePhoneNumberFromString } from 'libphonenumber-js/max';

export type { CountryCode };

// libphonenumber refuses longer input anyway; bail out early on junk from forms.
const MAX_INPUT_LENGTH = 250;

function parse(input: string, defaultCountry?: CountryCode): PhoneNumber | undefined {
  if (typeof input !== 'string' || input.length > MAX_INPUT_LENGTH) return undefined;
  try {
    return parsePhoneNumberFromString(input, defaultCountry);
  } catch {
    // Unknown default country codes and similar misuse throw; callers want null.
    return undefined;
  }
}

/** Normalizes user or carrier input to E.164, or null when it is not a valid number. */
export function parsePhone(input: string, defaultCountry?: CountryCode): string | null {
  const n = parse(input, defaultCountry);
  return n?.isValid() ? n.number : null;
}

/**
 * Digit strings under which the same number may be written elsewhere (carrier CDRs,
 * CRM exports, caller ids), in this order: international, national with trunk prefix,
 * national significant number. Countries without a trunk prefix repeat the national number
 * so the result always has three entries.
 * Throws a RangeError when the input is not a phone number at all (a caller bug).
 */
export function phoneDigitVariants(e164: string): [string, string, string] {
  const n = parse(e164);
  if (!n) throw new RangeError(`not a phone number: ${JSON.stringify(e164)}`);
  const nsn = n.nationalNumber;
  // The trunk prefix is not exposed directly and some formats omit it, so take it from
  // how the number is actually written nationally: whatever precedes the national number.
  const nationalDigits = n.formatNational().replace(/\D/g, '');
  const withTrunk = nationalDigits.length > nsn.length && nationalDigits.endsWith(nsn) ? nationalDigits : nsn;
  return [`${n.countryCallingCode}${nsn}`, withTrunk, nsn];
}

/** National format as libphonenumber writes it (RU: "8 (495) 123-45-67"); input as is when unparseable. */
export function displayPhone(e164: string): string {
  const n = parse(e164);
  return n ? n.formatNational() : e164;
}

/** True for premium-rate numbers (paid lines a tracking pool must never contain). */
export function isPremiumRate(e164: string): boolean {
  return parse(e164)?.getType() === 'PREMIUM_RATE';
}

/** ISO country of the number (e.g. "RU"), or null for non-geographic or unparseable numbers. */
export function phoneRegion(e164: string): CountryCode | null {
  return parse(e164)?.country ?? null;
}
