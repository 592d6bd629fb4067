/**
 * Spectrogram renderer: `application/vnd.sed-studio.spectrogram` (safetensors, large) and
 * `application/vnd.sed-studio.spectrogram+json` (small clips). Log-mel or linear, colormapped canvas
 * tiles, time/frequency axes in s and Hz, zoom and pan, hover read-out, and a playback cursor synced
 * with event rolls that share its `source`.
 */
import { colormapCss, colormapLut, COLORMAPS, type ColormapName } from './lib/colormap';
import { createRenderer, Resources, type View } from './lib/host';
import { Fields, readPayload } from './lib/payload';
import { parseSpectrogram } from './lib/spectrogramData';
import { formatHover, SpectrogramPanel } from './lib/spectrogramPanel';
import { subscribePlayhead } from './lib/sync';
import { TimeView, attachZoomPan, zoomButtons } from './lib/timeView';

export const activate = createRenderer({
  name: 'spectrogram',
  mount(item, root): View {
    const p = readPayload(item);
    const spec = parseSpectrogram(p, new Fields(item.mime, p.header));
    const res = new Resources(root.ownerDocument);
    try {
      return build(res, root, spec);
    } catch (err) {
      res.dispose();
      throw err;
    }
  },
});

function build(res: Resources, root: HTMLElement, spec: ReturnType<typeof parseSpectrogram>): View {
  const duration = spec.cols * spec.hop;
  const view = new TimeView(spec.t0, spec.t0 + duration, Math.min(duration, spec.hop * 8));
  const title = document.createElement('div');
  title.className = 'sed-title';
  title.textContent = `${spec.title ?? 'Spectrogram'} — ${spec.kind === 'mel' ? 'log-mel' : 'linear'}, ${spec.rows} bins, ${duration.toFixed(duration < 60 ? 2 : 0)} s`;
  const toolbar = document.createElement('div');
  toolbar.className = 'sed-toolbar';
  zoomButtons(res, toolbar, view);
  const cmap = document.createElement('select');
  cmap.title = 'Colormap';
  for (const name of COLORMAPS) cmap.append(new Option(name, name, false, name === spec.colormap));
  const bar = document.createElement('span');
  bar.className = 'sed-colorbar';
  const paintBar = (name: ColormapName) => {
    const stops = [0, 0.25, 0.5, 0.75, 1].map((v) => colormapCss(name, v)).join(', ');
    bar.innerHTML = '';
    const lo = document.createElement('span');
    lo.textContent = `${spec.dbMin.toFixed(0)} dB`;
    const strip = document.createElement('span');
    strip.style.cssText = `display:inline-block;width:100px;height:10px;margin:0 4px;vertical-align:middle;background:linear-gradient(to right, ${stops})`;
    const hi = document.createElement('span');
    hi.textContent = `${spec.dbMax.toFixed(0)} dB`;
    bar.append(lo, strip, hi);
  };
  paintBar(spec.colormap);
  toolbar.append(cmap, bar);
  const readout = document.createElement('div');
  readout.className = 'sed-readout';
  root.append(title, toolbar, readout);

  const panel = new SpectrogramPanel(res, root, spec, view, 260, true, (h) => { readout.textContent = formatHover(h); });
  res.on(cmap, 'change', () => {
    const name = cmap.value as ColormapName;
    panel.setColormap(colormapLut(name));
    paintBar(name);
  });
  attachZoomPan(res, panel.overlay, view, panel.plot.x, () => panel.plot.w);

  let pending = 0;
  const redraw = () => {
    if (pending) return;
    pending = res.frame(() => {
      pending = 0;
      panel.draw();
      publish();
    });
  };
  res.add(view.onChange(redraw));
  const ro = new ResizeObserver(redraw);
  ro.observe(root);
  res.add(() => ro.disconnect());
  // State for tests and tooling: level of detail drawn, visible window, plot rectangle.
  const publish = () => {
    const p = panel.plot;
    root.dataset.level = String(panel.lastLevel);
    root.dataset.view = `${view.t0.toFixed(3)},${view.t1.toFixed(3)}`;
    root.dataset.plot = `${p.x},${p.y},${p.w},${p.h}`; // canvas coordinates
  };
  panel.draw(root.clientWidth);
  publish();

  if (spec.source) {
    subscribePlayhead(res, root.ownerDocument, spec.source, (t) => {
      if (t !== null) view.reveal(t);
      panel.setCursor(t);
    });
  }
  return { retheme: redraw, dispose: () => res.dispose() };
}
