import { useTranslation } from 'react-i18next';
import type { Metrics } from './api';
import { fmtDay, fmtNumber } from './format';

type Point = { bucket: string } & Partial<Metrics>;

const W = 960;
const H = 260;
const PAD = { left: 44, right: 16, top: 16, bottom: 30 };

/** Daily calls (bars) and targeted calls (line), with the previous period's calls dashed. Plain SVG. */
export function Chart({ points, previous }: { points: Point[]; previous?: Point[] }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const n = points.length;
  if (n === 0) return <div className="chart-placeholder">{t('overview.noData')}</div>;
  const calls = points.map((p) => p.calls ?? 0);
  const targeted = points.map((p) => p.targeted ?? 0);
  const prev = previous?.slice(-n).map((p) => p.calls ?? 0);
  const max = Math.max(4, ...calls, ...(prev ?? []));
  const step = niceStep(max / 4);
  const top = Math.ceil(max / step) * step;
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  const slot = iw / n;
  const x = (i: number) => PAD.left + slot * (i + 0.5);
  const y = (v: number) => PAD.top + ih - (v / top) * ih;
  const bw = Math.min(36, slot * 0.62);
  const line = (vals: number[]) =>
    vals.map((v, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join('');
  const labelEvery = Math.ceil(n / 10);
  const ticks = Array.from({ length: Math.round(top / step) + 1 }, (_, i) => i * step);

  return (
    <svg className="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={t('overview.chart')}>
      {ticks.map((v) => (
        <g key={v}>
          <line x1={PAD.left} x2={W - PAD.right} y1={y(v)} y2={y(v)} className="grid" />
          <text x={PAD.left - 8} y={y(v) + 4} className="axis" textAnchor="end">
            {fmtNumber(lang, v)}
          </text>
        </g>
      ))}
      {points.map((p, i) => (
        <g key={p.bucket} className="bar-group">
          <title>
            {`${fmtDay(lang, p.bucket, true)}: ${t('metrics.calls')} ${fmtNumber(lang, calls[i])}, ${t('metrics.targeted')} ${fmtNumber(lang, targeted[i])}`}
          </title>
          <rect x={x(i) - slot / 2} y={PAD.top} width={slot} height={ih} className="hover" />
          <rect
            x={x(i) - bw / 2}
            y={y(calls[i])}
            width={bw}
            height={Math.max(0, y(0) - y(calls[i]))}
            rx={3}
            className="bar"
          />
          {i % labelEvery === 0 && (
            <text x={x(i)} y={H - 8} className="axis" textAnchor="middle">
              {fmtDay(lang, p.bucket)}
            </text>
          )}
        </g>
      ))}
      {prev && prev.length === n && <path d={line(prev)} className="line previous" />}
      <path d={line(targeted)} className="line targeted" />
      {targeted.map((v, i) => (
        <circle key={points[i].bucket} cx={x(i)} cy={y(v)} r={n > 40 ? 0 : 3.5} className="dot" />
      ))}
    </svg>
  );
}

function niceStep(raw: number): number {
  const mag = 10 ** Math.floor(Math.log10(Math.max(raw, 1)));
  for (const m of [1, 2, 5, 10]) if (raw <= m * mag) return m * mag;
  return 10 * mag;
}
