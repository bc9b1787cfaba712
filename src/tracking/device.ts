// Device description of a visit from its User-Agent header.
import { isbot } from 'isbot';
import UAParser from 'ua-parser-js';

export type DeviceType = 'desktop' | 'mobile' | 'tablet' | 'other';

export type Device = {
  deviceType: DeviceType;
  /** Browser name without version ("Chrome", "Mobile Safari", "Yandex"), so reports group well. */
  browser: string | null;
  /** OS name without version ("Windows", "iOS", "Android"). */
  os: string | null;
  isBot: boolean;
};

// ua-parser-js truncates at 500 anyway; also bounds the regex work isbot does on hostile input.
const MAX_UA_LENGTH = 1000;

export function describeDevice(userAgent: string | undefined): Device {
  const ua = typeof userAgent === 'string' ? userAgent.trim().slice(0, MAX_UA_LENGTH) : '';
  // Real browsers always send a User-Agent: a missing one is a script.
  if (ua === '') return { deviceType: 'other', browser: null, os: null, isBot: true };

  const result = new UAParser(ua).getResult();
  const browser = result.browser.name || null;
  const os = result.os.name || null;
  return { deviceType: deviceType(result.device.type, browser, os), browser, os, isBot: isbot(ua) };
}

function deviceType(type: string | undefined, browser: string | null, os: string | null): DeviceType {
  if (type === 'mobile') return 'mobile';
  if (type === 'tablet') return 'tablet';
  // TVs, consoles, wearables, embedded.
  if (type) return 'other';
  // ua-parser-js reports no device type for desktops; without any browser or OS it is not one (curl, bots).
  return browser || os ? 'desktop' : 'other';
}
