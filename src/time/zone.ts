/**
 * Wall-clock time in an IANA time zone. Pure (no Node imports): the dashboard bundle imports it too.
 * Formatters are cached per zone because constructing an Intl.DateTimeFormat is slow.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

type ZonedParts = Record<'year' | 'month' | 'day' | 'weekday' | 'hour' | 'minute' | 'second', string>;

/** Zero-padded local calendar fields of an instant (hour 00-23, weekday "Mon".."Sun"). */
function zonedParts(at: Date | number, timeZone: string): ZonedParts {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return Object.fromEntries(f.formatToParts(at).map((p) => [p.type, p.value])) as ZonedParts;
}

/** How far the zone's wall clock is ahead of UTC at an instant, in ms (whole seconds). */
export function zoneOffsetMs(at: Date | number, timeZone: string): number {
  const p = zonedParts(at, timeZone);
  const local = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  return local - Math.floor(new Date(at).getTime() / 1000) * 1000;
}

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/** Local date "YYYY-MM-DD", ISO weekday (1 = Monday), "HH:MM" and "HH:MM:SS" of an instant. */
export function localTime(
  at: Date,
  timeZone: string,
): { date: string; weekday: number; hhmm: string; hhmmss: string } {
  const p = zonedParts(at, timeZone);
  return {
    date: `${p.year}-${p.month}-${p.day}`,
    weekday: WEEKDAYS.indexOf(p.weekday) + 1,
    hhmm: `${p.hour}:${p.minute}`,
    hhmmss: `${p.hour}:${p.minute}:${p.second}`,
  };
}

/** Today's date in a time zone, "YYYY-MM-DD". */
export function localToday(now: Date, timeZone: string): string {
  return localTime(now, timeZone).date;
}

/**
 * The instant a wall-clock time in a zone names; `wallClock` is that time's fields read as UTC
 * (Date.UTC(y, m - 1, d, h, mi, s)). The offset at the guessed instant, then again at the corrected
 * one: exact except inside the hour a DST switch skips or repeats.
 */
export function wallClockToUtc(wallClock: number, timeZone: string): Date {
  return new Date(wallClock - zoneOffsetMs(wallClock - zoneOffsetMs(wallClock, timeZone), timeZone));
}
