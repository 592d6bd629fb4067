/** Axis ticks and unit-aware labels shared by the canvas and SVG charts. */

/** About `count` round tick values covering [lo, hi] (1, 2, 5 × 10^k steps). */
export function niceTicks(lo: number, hi: number, count = 6): number[] {
  if (!(hi > lo) || !isFinite(lo) || !isFinite(hi)) return isFinite(lo) ? [lo] : [];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

/** Powers of ten (and 2×, 5× when the range is narrow) within [lo, hi], for log axes. */
export function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  const a = Math.floor(Math.log10(lo));
  const b = Math.ceil(Math.log10(hi));
  const mults = b - a <= 3 ? [1, 2, 5] : [1];
  for (let k = a; k <= b; k++) for (const m of mults) {
    const v = m * 10 ** k;
    if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
  }
  return out;
}

/** Seconds as "12.5 s", or "m:ss" / "h:mm:ss" once the visible span is minutes long. */
export function formatTime(t: number, span: number): string {
  if (span < 120) {
    const digits = span < 2 ? 2 : span < 20 ? 1 : 0;
    return `${t.toFixed(digits)} s`;
  }
  const s = Math.round(t);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** Hertz as "250 Hz" / "1.5 kHz". */
export function formatHz(f: number): string {
  if (Math.abs(f) >= 1000) return `${+(f / 1000).toFixed(f % 1000 === 0 ? 0 : 1)} kHz`;
  return `${Math.round(f)} Hz`;
}

/** Compact numbers for counts: 860k, 3.8M, 1.5G. */
export function formatSI(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toPrecision(3)}k`;
  return `${+v.toPrecision(3)}`;
}
