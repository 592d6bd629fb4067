/**
 * The spectrogram payload (see renderers/README.md): a quantised dB image, rows = frequency bins
 * (row 0 lowest), columns = frames, plus the header that gives it units. Shared by the spectrogram
 * renderer and the event roll, which may embed one.
 */
import { COLORMAPS, type ColormapName } from './colormap';
import { PayloadError } from './host';
import { Fields, minMax, quantise, tensor2d, type Payload } from './payload';

export interface SpectrogramData {
  kind: 'mel' | 'linear';
  /** Centre frequency of each row in Hz, ascending (row 0 = lowest). */
  freqs: number[];
  dbMin: number;
  dbMax: number;
  /** Start time of column 0 and seconds per column. */
  t0: number;
  hop: number;
  rows: number;
  cols: number;
  /** rows × cols levels 0–255 mapping linearly to [dbMin, dbMax]. */
  levels: Uint8Array;
  colormap: ColormapName;
  title?: string;
  /** Playback sync key: cursors of outputs with the same source move together. */
  source?: string;
}

/**
 * Read a spectrogram from a header object and, for the binary form, the tensor `tensorName`;
 * in the JSON form the image is the header's `db` matrix.
 */
export function parseSpectrogram(p: Payload, f: Fields, tensorName = 'spectrogram'): SpectrogramData {
  const kind = f.oneOf('kind', ['mel', 'linear'] as const, 'mel');
  const hop = f.num('hop_s', undefined, (v) => v > 0, 'a positive number of seconds per column');
  const t0 = f.num('t0', 0);
  const colormap = f.oneOf('colormap', COLORMAPS, 'viridis');
  let rows: number;
  let cols: number;
  let levels: Uint8Array;
  let dbMin: number;
  let dbMax: number;
  if (f.has('db')) {
    const m = f.matrix('db');
    [rows, cols] = [m.rows, m.cols];
    const [lo, hi] = minMax(m.data);
    dbMin = f.num('db_min', lo);
    dbMax = f.num('db_max', hi);
    levels = quantise(m.data, dbMin, dbMax);
  } else {
    if (p.tensors.size === 0) throw new PayloadError(`${f.where}: no image: give "db" (a rows × frames matrix in dB) or use the binary form with a "${tensorName}" tensor`);
    const { t, rows: r, cols: c } = tensor2d(p, tensorName);
    [rows, cols] = [r, c];
    if (t.dtype === 'U8') {
      dbMin = f.num('db_min');
      dbMax = f.num('db_max');
      levels = t.data as Uint8Array;
    } else {
      const data = t.data as Float32Array;
      const [lo, hi] = minMax(data);
      dbMin = f.num('db_min', lo);
      dbMax = f.num('db_max', hi);
      levels = quantise(data, dbMin, dbMax);
    }
  }
  if (!(dbMax > dbMin)) throw new PayloadError(`${f.where}: db_max (${dbMax}) must be greater than db_min (${dbMin})`);
  const freqs = f.numbers('freqs_hz');
  if (freqs.length !== rows) throw new PayloadError(`${f.where}: "freqs_hz" has ${freqs.length} entries but the image has ${rows} frequency rows`);
  for (let i = 1; i < freqs.length; i++) {
    if (!(freqs[i] > freqs[i - 1])) throw new PayloadError(`${f.where}: "freqs_hz" must be strictly ascending (index ${i}: ${freqs[i - 1]} then ${freqs[i]})`);
  }
  return {
    kind, freqs, dbMin, dbMax, t0, hop, rows, cols, levels, colormap,
    title: f.has('title') ? f.str('title') : undefined,
    source: f.has('source') ? f.str('source') : undefined,
  };
}

/** Fractional row position of frequency `hz` (interpolated between bin centres, clamped). */
export function rowOfHz(freqs: number[], hz: number): number {
  if (hz <= freqs[0]) return 0;
  const n = freqs.length;
  if (hz >= freqs[n - 1]) return n - 1;
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (freqs[mid] <= hz) lo = mid;
    else hi = mid;
  }
  return lo + (hz - freqs[lo]) / (freqs[hi] - freqs[lo]);
}
