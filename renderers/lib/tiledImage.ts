/**
 * A quantised image (uint8 levels, rows × columns over time, row-major) drawn through a colormap in
 * tiles of TILE columns. Tiles are painted into canvases via ImageData only when first visible and
 * kept in a small LRU cache, and coarser levels (×4 max-pooled along time, so short peaks stay
 * visible) are built on demand, so zooming and panning over an hour of data only blits a few tiles.
 */
const TILE = 1024;
/** Pixel memory kept in cached tiles (RGBA bytes); many rows (447 classes) means fewer tiles. */
const CACHE_BYTES = 64 * 1024 * 1024;

interface Level {
  data: Uint8Array;
  cols: number;
  hop: number;
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export class TiledImage {
  private levels: Level[];
  private tiles = new Map<string, HTMLCanvasElement>();
  private maxTiles: number;

  /**
   * `data` is rows × cols, column c covering [tStart + c·hop, tStart + (c+1)·hop).
   * `flip` puts row 0 at the bottom (spectrograms: low frequencies down).
   */
  constructor(data: Uint8Array, readonly rows: number, cols: number, hop: number, readonly tStart: number, private lut: Uint32Array, private flip: boolean) {
    if (data.length !== rows * cols) throw new Error(`image has ${data.length} values, expected ${rows} × ${cols}`);
    this.levels = [{ data, cols, hop }];
    this.maxTiles = Math.max(8, Math.floor(CACHE_BYTES / (TILE * rows * 4)));
  }

  get duration(): number {
    return this.levels[0].cols * this.levels[0].hop;
  }

  setColormap(lut: Uint32Array): void {
    this.lut = lut;
    this.tiles.clear();
  }

  /** Value (0–255) of row `row` at time `t` at full resolution, or undefined outside. */
  valueAt(row: number, t: number): number | undefined {
    const l = this.levels[0];
    const c = Math.floor((t - this.tStart) / l.hop);
    if (c < 0 || c >= l.cols || row < 0 || row >= this.rows) return undefined;
    return l.data[row * l.cols + c];
  }

  private level(k: number): Level {
    while (this.levels.length <= k) {
      const src = this.levels[this.levels.length - 1];
      const cols = Math.ceil(src.cols / 4);
      const out = new Uint8Array(this.rows * cols);
      for (let r = 0; r < this.rows; r++) {
        const s = r * src.cols;
        const d = r * cols;
        for (let c = 0; c < cols; c++) {
          let m = 0;
          const end = Math.min(src.cols, c * 4 + 4);
          for (let i = c * 4; i < end; i++) if (src.data[s + i] > m) m = src.data[s + i];
          out[d + c] = m;
        }
      }
      this.levels.push({ data: out, cols, hop: src.hop * 4 });
    }
    return this.levels[k];
  }

  /** The level whose columns are no finer than half a pixel at this zoom. */
  private pickLevel(span: number, widthPx: number): number {
    let k = 0;
    while (k < 8) {
      const l = k < this.levels.length ? this.levels[k] : { cols: Math.ceil(this.levels[0].cols / 4 ** k), hop: this.levels[0].hop * 4 ** k };
      if (widthPx / (span / l.hop) >= 0.5 || l.cols <= 4) break;
      k++;
    }
    return k;
  }

  private tile(k: number, i: number): HTMLCanvasElement {
    const key = `${k}:${i}`;
    let c = this.tiles.get(key);
    if (c) {
      this.tiles.delete(key); // re-insert: most recently used last
      this.tiles.set(key, c);
      return c;
    }
    const l = this.level(k);
    const c0 = i * TILE;
    const w = Math.min(TILE, l.cols - c0);
    c = document.createElement('canvas');
    c.width = w;
    c.height = this.rows;
    const ctx = c.getContext('2d')!;
    const img = ctx.createImageData(w, this.rows);
    const px = new Uint32Array(img.data.buffer);
    const lut = this.lut;
    for (let r = 0; r < this.rows; r++) {
      const src = r * l.cols + c0;
      const dst = (this.flip ? this.rows - 1 - r : r) * w;
      for (let x = 0; x < w; x++) px[dst + x] = lut[l.data[src + x]];
    }
    ctx.putImageData(img, 0, 0);
    this.tiles.set(key, c);
    if (this.tiles.size > this.maxTiles) this.tiles.delete(this.tiles.keys().next().value as string);
    return c;
  }

  /**
   * Draw the time window [t0, t1) of rows [row0, row0 + nRows) (in data order) into `dest`.
   * Returns the level used (0 = full resolution).
   */
  draw(ctx: CanvasRenderingContext2D, t0: number, t1: number, dest: Rect, row0 = 0, nRows = this.rows, smooth = true): number {
    const k = this.pickLevel(t1 - t0, dest.w);
    const l = this.level(k);
    const c0 = (t0 - this.tStart) / l.hop;
    const c1 = (t1 - this.tStart) / l.hop;
    const sy = this.flip ? this.rows - row0 - nRows : row0;
    ctx.imageSmoothingEnabled = smooth;
    const first = Math.max(0, Math.floor(c0 / TILE));
    const last = Math.min(Math.ceil(l.cols / TILE) - 1, Math.floor(c1 / TILE));
    for (let i = first; i <= last; i++) {
      const a = Math.max(c0, i * TILE);
      const b = Math.min(c1, Math.min(l.cols, (i + 1) * TILE));
      if (b <= a) continue;
      const dx = dest.x + ((a - c0) / (c1 - c0)) * dest.w;
      const dw = ((b - a) / (c1 - c0)) * dest.w;
      ctx.drawImage(this.tile(k, i), a - i * TILE, sy, b - a, nRows, dx, dest.y, dw, dest.h);
    }
    return k;
  }

  dispose(): void {
    this.tiles.clear();
  }
}
