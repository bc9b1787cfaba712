import { createContext, useContext } from 'react';
import { addDays, periodDays } from '../../src/reports/period.js';
import { localToday } from '../../src/time/zone.js';
import type { Site } from './api';

export type Preset = 'today' | 'd7' | 'd30' | 'month' | 'custom';
export const PRESETS: Exclude<Preset, 'custom'>[] = ['today', 'd7', 'd30', 'month'];

export interface Range {
  preset: Preset;
  from: string;
  to: string;
}

export function presetRange(preset: Exclude<Preset, 'custom'>, timeZone: string): Range {
  const today = localToday(new Date(), timeZone);
  switch (preset) {
    case 'today':
      return { preset, from: today, to: today };
    case 'd7':
      return { preset, from: addDays(today, -6), to: today };
    case 'd30':
      return { preset, from: addDays(today, -29), to: today };
    case 'month':
      return { preset, from: `${today.slice(0, 8)}01`, to: today };
  }
}

/** The period of equal length just before, as the reports API computes it. */
export function previousRange(r: { from: string; to: string }): { from: string; to: string } {
  const days = periodDays(r);
  return { from: addDays(r.from, -days), to: addDays(r.from, -1) };
}

export interface DashboardState {
  site: Site;
  range: Range;
  compare: boolean;
}

export const StateContext = createContext<DashboardState | null>(null);

export function useDashboard(): DashboardState {
  const s = useContext(StateContext);
  if (!s) throw new Error('no dashboard state');
  return s;
}
