/**
 * The notebook renderer plumbing every output kind shares: VS Code calls `renderOutputItem` once per
 * output (and again on the same element when the output is replaced, e.g. live training curves), and
 * `disposeOutputItem(id)` when it goes away (no id: everything). A kind only implements `mount`; this
 * module keeps one live view per output id, releases it on dispose, re-render or abort, and turns any
 * error (bad payload, drawing failure) into a readable message in the cell instead of a blank output.
 */
import type { ActivationFunction, OutputItem, RendererContext } from 'vscode-notebook-renderer';
import { injectTheme } from './theme';

/** A mounted output: updated in place when the same output id is rendered again, then disposed. */
export interface View {
  /** Render a newer payload of the same output into the existing DOM; return false to remount. */
  update?(item: OutputItem, signal: AbortSignal): boolean | Promise<boolean>;
  /** Redraw with the current theme colours (canvas and vega colours are resolved at draw time). */
  retheme?(): void;
  /** Cancel animation frames, stop audio, remove listeners. Called exactly once. */
  dispose(): void;
}

export interface RendererKind {
  /** Short name used in error titles ("spectrogram", "event roll", …). */
  name: string;
  /** Build the view into `root` (an empty div owned by the view). Throw a PayloadError for bad data. */
  mount(item: OutputItem, root: HTMLElement, signal: AbortSignal, ctx: RendererContext<unknown>): View | Promise<View>;
}

/** A malformed payload: the message names the MIME type and what is wrong. */
export class PayloadError extends Error {
  override name = 'PayloadError';
}

interface Entry {
  element: HTMLElement;
  root: HTMLElement;
  view?: View;
}

/** Show `err` as a readable error box in `root` (never a blank cell). */
export function showError(root: HTMLElement, kind: string, mime: string, err: unknown): void {
  const msg = err instanceof Error ? err.message : String(err);
  root.replaceChildren();
  const box = document.createElement('div');
  box.className = 'sed-error';
  box.setAttribute('role', 'alert');
  const title = document.createElement('strong');
  title.textContent = `SED Studio ${kind}: cannot render ${mime}`;
  const body = document.createElement('pre');
  body.textContent = msg;
  box.append(title, body);
  root.append(box);
}

/** Build a VS Code renderer entry point (`export const activate = createRenderer(kind)`). */
export function createRenderer(kind: RendererKind): ActivationFunction {
  return (ctx) => {
    const entries = new Map<string, Entry>();
    // VS Code switches themes by rewriting the --vscode-* variables on <html>/<body> (style and class);
    // watched only while this renderer has outputs, so nothing stays behind after the last dispose.
    let themeObserver: MutationObserver | undefined;
    let themeFrame = 0;
    const watchTheme = (doc: Document) => {
      if (themeObserver) return;
      themeObserver = new MutationObserver(() => {
        if (themeFrame) return;
        themeFrame = requestAnimationFrame(() => {
          themeFrame = 0;
          for (const e of entries.values()) e.view?.retheme?.();
        });
      });
      for (const el of [doc.documentElement, doc.body]) themeObserver.observe(el, { attributes: true, attributeFilter: ['class', 'style', 'data-vscode-theme-kind'] });
    };
    const unwatchTheme = () => {
      if (entries.size) return;
      themeObserver?.disconnect();
      themeObserver = undefined;
      if (themeFrame) cancelAnimationFrame(themeFrame);
      themeFrame = 0;
    };

    const disposeEntry = (id: string) => {
      const e = entries.get(id);
      if (!e) return;
      entries.delete(id);
      unwatchTheme();
      try {
        e.view?.dispose();
      } finally {
        e.root.remove();
      }
    };

    return {
      async renderOutputItem(item, element, signal) {
        injectTheme(element.ownerDocument);
        watchTheme(element.ownerDocument);
        const prev = entries.get(item.id);
        // Same output re-rendered into the same element (live updates): try to update in place.
        if (prev && prev.element === element && prev.view?.update) {
          try {
            if (await prev.view.update(item, signal)) return;
          } catch (err) {
            disposeEntry(item.id);
            const root = newRoot(element);
            entries.set(item.id, { element, root });
            showError(root, kind.name, item.mime, err);
            return;
          }
        }
        disposeEntry(item.id);
        const root = newRoot(element);
        const entry: Entry = { element, root };
        entries.set(item.id, entry);
        try {
          const view = await kind.mount(item, root, signal, ctx);
          // Aborted or replaced while mounting: release what was built at once.
          if (signal.aborted || entries.get(item.id) !== entry) {
            view.dispose();
            return;
          }
          // The signal only cancels this render: VS Code aborts it when a newer render of the same
          // output starts, and the finished view must survive that to be updated in place.
          entry.view = view;
        } catch (err) {
          if (signal.aborted) return;
          showError(root, kind.name, item.mime, err);
        }
      },
      disposeOutputItem(id) {
        if (id === undefined) for (const key of [...entries.keys()]) disposeEntry(key);
        else disposeEntry(id);
      },
    };
  };
}

function newRoot(element: HTMLElement): HTMLElement {
  element.replaceChildren();
  const root = document.createElement('div');
  root.className = 'sed-root';
  element.append(root);
  return root;
}

/**
 * Tracks listeners, animation frames, timers and object URLs of one view so `dispose` can release
 * them all. Live instances are listed in `window.__sedResources` so tests can check that
 * disposing an output leaves no listener or animation frame behind.
 */
export class Resources {
  private cleanups: (() => void)[] = [];
  private frames = new Set<number>();
  listeners = 0;

  constructor(doc: Document) {
    const w = doc.defaultView as (Window & { __sedResources?: Set<Resources> }) | null;
    if (!w) return;
    (w.__sedResources ??= new Set()).add(this);
    this.cleanups.push(() => w.__sedResources?.delete(this));
  }

  on<K extends keyof HTMLElementEventMap>(target: HTMLElement | Document | Window | EventTarget, type: K | string, fn: (ev: any) => void, opts?: AddEventListenerOptions): void {
    target.addEventListener(type, fn, opts);
    this.listeners++;
    this.cleanups.push(() => { target.removeEventListener(type, fn, opts); this.listeners--; });
  }

  frame(fn: FrameRequestCallback): number {
    const id = requestAnimationFrame((t) => { this.frames.delete(id); fn(t); });
    this.frames.add(id);
    return id;
  }

  cancelFrame(id: number): void {
    cancelAnimationFrame(id);
    this.frames.delete(id);
  }

  get pendingFrames(): number {
    return this.frames.size;
  }

  add(cleanup: () => void): void {
    this.cleanups.push(cleanup);
  }

  dispose(): void {
    for (const id of this.frames) cancelAnimationFrame(id);
    this.frames.clear();
    for (const c of this.cleanups.splice(0).reverse()) c();
  }
}
