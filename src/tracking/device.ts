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

/**
 * Devices by User-Agent: parsing one (ua-parser-js and isbot's regular expressions) costs a few hundred
 * microseconds, about the CPU of the rest of a new visit's work in this process, and a site's visitors send
 * far fewer distinct User-Agents than they make visits. Cleared when full, which bounds the memory a flood
 * of made-up User-Agents can take.
 */
const devices = new Map<string, Readonly<Device>>();
const MAX_DEVICES = 10_000;

export function describeDevice(userAgent: string | undefined): Readonly<Device> {
  const ua = typeof userAgent === 'string' ? userAgent.trim().slice(0, MAX_UA_LENGTH) : '';
  let device = devices.get(ua);
  if (!device) {
    if (devices.size >= MAX_DEVICES) devices.clear();
    device = Object.freeze(parseDevice(ua));
    devices.set(ua, device);
  }
  return device;
}

function parseDevice(ua: string): Device {
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
