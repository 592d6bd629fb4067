/**
 * The visible time window shared by the panels of one output (spectrogram and event roll zoom and pan
 * together), and the mouse gestures that change it: drag to pan, Ctrl/⌘+wheel to zoom around the
 * pointer, Shift+wheel or a horizontal wheel to pan, double-click to reset. A plain vertical wheel is
 * left alone so the notebook keeps scrolling.
 */
import type { Resources } from './host';

export class TimeView {
  t0: number;
  t1: number;
  private listeners = new Set<() => void>();

  /** `minSpan` bounds zooming in (e.g. a few frames). */
  constructor(readonly start: number, readonly end: number, readonly minSpan: number) {
    this.t0 = start;
    this.t1 = end;
  }

  get span(): number {
    return this.t1 - this.t0;
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  set(t0: number, t1: number): void {
    const full = this.end - this.start;
    let span = Math.min(full, Math.max(this.minSpan, t1 - t0));
    if (!(span > 0)) span = full;
    let a = Math.max(this.start, Math.min(t0, this.end - span));
    if (!isFinite(a)) a = this.start;
    if (a === this.t0 && a + span === this.t1) return;
    this.t0 = a;
    this.t1 = a + span;
    for (const fn of this.listeners) fn();
  }

  /** Zoom by `factor` (< 1 zooms in) keeping time `around` at the same screen position. */
  zoom(factor: number, around = (this.t0 + this.t1) / 2): void {
    const span = this.span * factor;
    const frac = (around - this.t0) / this.span;
    this.set(around - frac * span, around - frac * span + span);
  }

  pan(dt: number): void {
    this.set(this.t0 + dt, this.t1 + dt);
  }

  reset(): void {
    this.set(this.start, this.end);
  }

  /** Scroll so that `t` is visible (used by the playback cursor). */
  reveal(t: number): void {
    if (t < this.t0 || t > this.t1) this.set(t - this.span * 0.1, t + this.span * 0.9);
  }
}

/**
 * Attach the zoom/pan gestures to `el`, whose plot area spans x ∈ [left, left + width()) in CSS pixels.
 * A click (no drag) is passed to `onClick` with the time under the pointer and the event.
 */
export function attachZoomPan(res: Resources, el: HTMLElement, view: TimeView, left: number, width: () => number, onClick?: (t: number, ev: MouseEvent) => void): void {
  const timeAt = (clientX: number) => {
    const r = el.getBoundingClientRect();
    return view.t0 + ((clientX - r.left - left) / width()) * view.span;
  };
  let drag: { x: number; t0: number; moved: boolean } | null = null;
  res.on(el, 'pointerdown', (ev: PointerEvent) => {
    if (ev.button !== 0) return;
    drag = { x: ev.clientX, t0: view.t0, moved: false };
    el.setPointerCapture?.(ev.pointerId);
  });
  res.on(el, 'pointermove', (ev: PointerEvent) => {
    if (!drag) return;
    const dx = ev.clientX - drag.x;
    if (Math.abs(dx) > 3) drag.moved = true;
    if (drag.moved) view.set(drag.t0 - (dx / width()) * view.span, drag.t0 - (dx / width()) * view.span + view.span);
  });
  res.on(el, 'pointerup', (ev: PointerEvent) => {
    const d = drag;
    drag = null;
    if (d && !d.moved && onClick) onClick(timeAt(ev.clientX), ev);
  });
  res.on(el, 'pointercancel', () => { drag = null; });
  res.on(el, 'wheel', (ev: WheelEvent) => {
    if (ev.ctrlKey || ev.metaKey) {
      ev.preventDefault();
      view.zoom(Math.exp(Math.max(-1, Math.min(1, ev.deltaY / 300))), timeAt(ev.clientX));
    } else if (ev.shiftKey || Math.abs(ev.deltaX) > Math.abs(ev.deltaY)) {
      ev.preventDefault();
      view.pan(((ev.shiftKey ? ev.deltaY : ev.deltaX) / width()) * view.span);
    }
  }, { passive: false });
  res.on(el, 'dblclick', () => view.reset());
}

/** The zoom buttons (+, −, fit) for a toolbar. */
export function zoomButtons(res: Resources, toolbar: HTMLElement, view: TimeView): void {
  const mk = (label: string, title: string, fn: () => void) => {
    const b = document.createElement('button');
    b.textContent = label;
    b.title = title;
    b.dataset.action = title.toLowerCase().replace(/\s+/g, '-');
    res.on(b, 'click', fn);
    toolbar.append(b);
  };
  mk('+', 'Zoom in', () => view.zoom(0.5));
  mk('−', 'Zoom out', () => view.zoom(2));
  mk('⤢', 'Show all', () => view.reset());
}
