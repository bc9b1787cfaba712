// The columns of exported files with their Russian and English headers. Pure.

import { METRICS } from '../reports/metrics.js';
import type { Cell } from './csv.js';

export type Lang = 'ru' | 'en';

export interface Column<R> {
  id: string;
  ru: string;
  en: string;
  value: (row: R) => Cell;
  /** Spreadsheet column width in characters (XLSX). */
  width?: number;
}

export type CallExportRow = Record<string, unknown>;

const text = (v: unknown): Cell => (v === null || v === undefined ? null : String(v));
const num = (v: unknown): Cell => (v === null || v === undefined || v === '' ? null : Number(v));
const flag = (v: unknown): Cell => (v ? 1 : 0);

const CLASS_LABELS: Record<string, { ru: string; en: string }> = {
  is_unique: { ru: 'Уникальный', en: 'Unique' },
  is_targeted: { ru: 'Целевой', en: 'Targeted' },
  is_unique_targeted: { ru: 'Уникально-целевой', en: 'Unique-targeted' },
  is_first_targeted: { ru: 'Первичный целевой', en: 'First-targeted' },
  is_repeat: { ru: 'Повторный', en: 'Repeat' },
  is_missed: { ru: 'Пропущенный', en: 'Missed' },
};

/** Columns of the call log export, over the snake_case rows of calls.ts's query. */
export const CALL_COLUMNS: Column<CallExportRow>[] = [
  { id: 'id', ru: 'ID звонка', en: 'Call ID', value: (r) => text(r.id), width: 38 },
  // Wall-clock time in the site's time zone, as "YYYY-MM-DD HH:MM:SS" (spreadsheets read it as a date).
  { id: 'started_at', ru: 'Начало', en: 'Started at', value: (r) => text(r.started_local), width: 20 },
  { id: 'caller', ru: 'Звонящий', en: 'Caller', value: (r) => text(r.caller), width: 14 },
  {
    id: 'tracking_number',
    ru: 'Номер',
    en: 'Tracking number',
    value: (r) => text(r.tracking_number),
    width: 14,
  },
  { id: 'status', ru: 'Статус', en: 'Status', value: (r) => text(r.status) },
  { id: 'wait_seconds', ru: 'Ожидание, с', en: 'Wait, s', value: (r) => num(r.wait_seconds) },
  { id: 'talk_seconds', ru: 'Разговор, с', en: 'Talk, s', value: (r) => num(r.talk_seconds) },
  { id: 'channel', ru: 'Канал', en: 'Channel', value: (r) => text(r.channel) },
  { id: 'source', ru: 'Источник', en: 'Source', value: (r) => text(r.source) },
  { id: 'medium', ru: 'Тип трафика', en: 'Medium', value: (r) => text(r.medium) },
  { id: 'campaign', ru: 'Кампания', en: 'Campaign', value: (r) => text(r.campaign), width: 24 },
  { id: 'content', ru: 'Объявление', en: 'Content', value: (r) => text(r.content) },
  { id: 'keyword', ru: 'Ключевое слово', en: 'Keyword', value: (r) => text(r.keyword), width: 24 },
  {
    id: 'landing_url',
    ru: 'Страница входа',
    en: 'Landing page',
    value: (r) => text(r.landing_url),
    width: 30,
  },
  {
    id: 'call_page_url',
    ru: 'Страница звонка',
    en: 'Call page',
    value: (r) => text(r.call_page_url),
    width: 30,
  },
  { id: 'referrer', ru: 'Реферер', en: 'Referrer', value: (r) => text(r.referrer), width: 30 },
  { id: 'region', ru: 'Регион', en: 'Region', value: (r) => text(r.region) },
  { id: 'city', ru: 'Город', en: 'City', value: (r) => text(r.city) },
  { id: 'device_type', ru: 'Устройство', en: 'Device', value: (r) => text(r.device_type) },
  { id: 'employee', ru: 'Сотрудник', en: 'Employee', value: (r) => text(r.employee) },
  { id: 'group_name', ru: 'Группа', en: 'Group', value: (r) => text(r.group_name) },
  { id: 'method', ru: 'Атрибуция', en: 'Attribution', value: (r) => text(r.method) },
  { id: 'origin', ru: 'Происхождение', en: 'Origin', value: (r) => text(r.origin) },
  { id: 'lead_id', ru: 'Заявка', en: 'Lead', value: (r) => text(r.lead_id) },
  { id: 'confidence', ru: 'Уверенность', en: 'Confidence', value: (r) => num(r.confidence) },
  ...Object.entries(CLASS_LABELS).map(
    ([col, label]): Column<CallExportRow> => ({ id: col.slice(3), ...label, value: (r) => flag(r[col]) }),
  ),
  { id: 'recording_url', ru: 'Запись', en: 'Recording', value: (r) => text(r.recording_url), width: 30 },
];

const METRIC_LABELS: Record<string, { ru: string; en: string }> = {
  visits: { ru: 'Визиты', en: 'Visits' },
  calls: { ru: 'Звонки', en: 'Calls' },
  unique: { ru: 'Уникальные', en: 'Unique' },
  targeted: { ru: 'Целевые', en: 'Targeted' },
  unique_targeted: { ru: 'Уникально-целевые', en: 'Unique-targeted' },
  first_targeted: { ru: 'Первичные целевые', en: 'First-targeted' },
  repeat: { ru: 'Повторные', en: 'Repeat' },
  missed: { ru: 'Пропущенные', en: 'Missed' },
  answer_rate: { ru: 'Доля отвеченных', en: 'Answer rate' },
  avg_wait_seconds: { ru: 'Среднее ожидание, с', en: 'Average wait, s' },
  avg_talk_seconds: { ru: 'Средний разговор, с', en: 'Average talk, s' },
  visit_to_call_conversion: { ru: 'Конверсия визит → звонок', en: 'Visit → call conversion' },
  leads: { ru: 'Заявки', en: 'Leads' },
  impressions: { ru: 'Показы', en: 'Impressions' },
  clicks: { ru: 'Клики', en: 'Clicks' },
  cost: { ru: 'Расход', en: 'Cost' },
  revenue: { ru: 'Выручка', en: 'Revenue' },
  cost_per_call: { ru: 'Цена звонка', en: 'Cost per call' },
  cost_per_targeted_call: { ru: 'Цена целевого звонка', en: 'Cost per targeted call' },
  cpl: { ru: 'Цена заявки', en: 'Cost per lead' },
  profit: { ru: 'Прибыль', en: 'Profit' },
  roi: { ru: 'ROI', en: 'ROI' },
};

const DIMENSION_LABELS: Record<string, { ru: string; en: string }> = {
  channel: { ru: 'Канал', en: 'Channel' },
  source: { ru: 'Источник', en: 'Source' },
  medium: { ru: 'Тип трафика', en: 'Medium' },
  campaign: { ru: 'Кампания', en: 'Campaign' },
  keyword: { ru: 'Ключевое слово', en: 'Keyword' },
  content: { ru: 'Объявление', en: 'Content' },
  landing_page: { ru: 'Страница входа', en: 'Landing page' },
  call_page: { ru: 'Страница звонка', en: 'Call page' },
  region: { ru: 'Регион', en: 'Region' },
  city: { ru: 'Город', en: 'City' },
  device: { ru: 'Устройство', en: 'Device' },
  tracking_number: { ru: 'Номер', en: 'Tracking number' },
  employee: { ru: 'Сотрудник', en: 'Employee' },
  group: { ru: 'Группа', en: 'Group' },
  number_kind: { ru: 'Тип номера', en: 'Number kind' },
  talk_bucket: { ru: 'Длительность разговора', en: 'Talk time' },
  hour_of_day: { ru: 'Час', en: 'Hour of day' },
  day_of_week: { ru: 'День недели', en: 'Day of week' },
  date: { ru: 'Дата', en: 'Date' },
  week: { ru: 'Неделя', en: 'Week' },
  month: { ru: 'Месяц', en: 'Month' },
};

export type ReportExportRow = { key: string | number } & Record<string, unknown>;

/**
 * Columns of a report export: the dimension key, then every metric reports/metrics.ts knows (metrics
 * added there later appear under their own name until they get a label here).
 */
export function reportColumns(dimension: string): Column<ReportExportRow>[] {
  const dim = DIMENSION_LABELS[dimension] ?? { ru: dimension, en: dimension };
  return [
    { id: 'key', ...dim, value: (r) => (typeof r.key === 'number' ? r.key : text(r.key)), width: 28 },
    ...METRICS.map(
      (m): Column<ReportExportRow> => ({
        id: m,
        ...(METRIC_LABELS[m] ?? { ru: m, en: m }),
        value: (r) => num(r[m]),
        width: 14,
      }),
    ),
  ];
}

export const TOTAL_LABEL: Record<Lang, string> = { ru: 'Итого', en: 'Total' };

export const headers = <R>(columns: Column<R>[], lang: Lang) => columns.map((c) => c[lang]);
