/**
 * Event roll renderer: `application/vnd.sed-studio.event-roll` (safetensors) and
 * `application/vnd.sed-studio.event-roll+json`. One row per class with the frame-wise probabilities as
 * a heat strip, detected events as boxes and ground truth as outlines; a threshold slider re-decodes
 * the events here (no engine round trip); the audio plays with a cursor over the roll and the embedded
 * spectrogram (and over any spectrogram output with the same `source`); clicking an event plays it.
 */
import { Player } from './lib/audio';
import { parseEventRoll, type EventRollData } from './lib/eventRollData';
import { EventDecoder } from './lib/events';
import { createRenderer, Resources, type View } from './lib/host';
import { readPayload } from './lib/payload';
import { LABEL_W, RollPanel } from './lib/rollPanel';
import { formatHover, SpectrogramPanel } from './lib/spectrogramPanel';
import { publishPlayhead } from './lib/sync';
import { formatTime } from './lib/ticks';
import { TimeView, attachZoomPan, zoomButtons } from './lib/timeView';

/** Above this many classes the roll starts with only the classes that have events or ground truth. */
const ACTIVE_ONLY_ABOVE = 24;
/** Beyond this many events a threshold is inside the noise floor: boxes would be unreadable and slow. */
const MAX_EVENTS = 100_000;

export const activate = createRenderer({
  name: 'event roll',
  mount(item, root): View {
    const data = parseEventRoll(readPayload(item));
    const res = new Resources(root.ownerDocument);
    try {
      return build(res, root, data);
    } catch (err) {
      res.dispose();
      throw err;
    }
  },
});

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function build(res: Resources, root: HTMLElement, data: EventRollData): View {
  const duration = data.frames * data.hop;
  const view = new TimeView(data.t0, data.t0 + duration, Math.min(duration, data.hop * 10));
  const title = el('div', 'sed-title', `${data.title ?? 'Event roll'} — ${data.classes.length} classes, ${formatTime(duration, duration)}`);
  const toolbar = el('div', 'sed-toolbar');
  const playBtn = el('button', undefined, '▶ Play');
  playBtn.dataset.action = 'play';
  const clock = el('span', 'sed-readout', '');
  const slider = el('input');
  slider.type = 'range';
  slider.min = '0';
  slider.max = '1';
  slider.step = '0.01';
  slider.value = String(data.threshold);
  slider.title = 'Detection threshold';
  slider.className = 'sed-threshold';
  const thrLabel = el('span', undefined, '');
  const activeBox = el('input');
  activeBox.type = 'checkbox';
  activeBox.checked = data.classes.length > ACTIVE_ONLY_ABOVE;
  const activeLabel = el('label');
  activeLabel.append(activeBox, ' active classes only');
  const status = el('span', 'sed-status', '');
  const thrWrap = el('label', undefined, 'threshold ');
  thrWrap.append(slider, thrLabel);
  if (data.audio) toolbar.append(playBtn, clock);
  toolbar.append(thrWrap, activeLabel);
  zoomButtons(res, toolbar, view);
  toolbar.append(status);
  const readout = el('div', 'sed-readout');
  root.append(title, toolbar, readout);

  const spec = data.spectrogram
    ? new SpectrogramPanel(res, root, data.spectrogram, view, 160, false, (h) => { readout.textContent = formatHover(h); }, LABEL_W)
    : undefined;
  const roll = new RollPanel(res, root, data, view);

  let threshold = data.threshold;
  const decoder = new EventDecoder(data.levels, data.classes.length, data.frames, data.hop, data.t0);
  const gtClasses = new Set(data.groundTruth.map((g) => g.cls));
  const decode = () => {
    const decoded = decoder.decode(threshold, MAX_EVENTS);
    roll.events = decoded ?? [];
    const count = decoded ? decoded.reduce((n, e) => n + e.length, 0) : 0;
    const rows = activeBox.checked
      ? data.classes.map((_, c) => c).filter((c) => (roll.events[c]?.length ?? 0) > 0 || gtClasses.has(c))
      : data.classes.map((_, c) => c);
    roll.setRows(rows.length ? rows : data.classes.map((_, c) => c));
    thrLabel.textContent = ` ${threshold.toFixed(2)}`;
    status.textContent = decoded
      ? `${count} event${count === 1 ? '' : 's'} in ${rows.length} of ${data.classes.length} classes`
      : `more than ${MAX_EVENTS.toLocaleString('en-US')} events at threshold ${threshold.toFixed(2)}: raise the threshold to see them`;
    root.dataset.events = decoded ? String(count) : 'too-many';
    root.dataset.rows = String(roll.rows.length);
    root.dataset.threshold = threshold.toFixed(2);
  };

  let pending = 0;
  const redraw = () => {
    if (pending) return;
    pending = res.frame(() => {
      pending = 0;
      drawAll();
    });
  };
  const drawAll = () => {
    spec?.draw();
    roll.draw();
    root.dataset.view = `${view.t0.toFixed(3)},${view.t1.toFixed(3)}`;
  };

  let decodePending = 0;
  res.on(slider, 'input', () => {
    threshold = Number(slider.value);
    // Coalesce slider drags to one decode per frame.
    if (decodePending) return;
    decodePending = res.frame(() => {
      decodePending = 0;
      decode();
      drawAll();
    });
  });
  res.on(activeBox, 'change', () => { decode(); drawAll(); });
  res.add(view.onChange(redraw));
  const ro = new ResizeObserver(redraw);
  ro.observe(root);
  res.add(() => ro.disconnect());

  let player: Player | undefined;
  const setCursor = (t: number | null) => {
    roll.cursor = t;
    spec?.setCursor(t);
    if (t !== null && player?.playing) view.reveal(t);
    clock.textContent = t === null ? '' : `${formatTime(t, duration)} / ${formatTime(duration, duration)}`;
    root.dataset.cursor = t === null ? '' : t.toFixed(3);
    if (data.source) publishPlayhead(root.ownerDocument, { source: data.source, time: t });
    roll.draw();
  };
  if (data.audio) {
    player = new Player(res, root, data.audio, setCursor);
    const p = player;
    const syncButton = () => { playBtn.textContent = p.playing ? '❚❚ Pause' : '▶ Play'; root.dataset.playing = String(p.playing); };
    res.on(p.audio, 'play', syncButton);
    res.on(p.audio, 'pause', syncButton);
    res.on(p.audio, 'error', () => { status.textContent = `audio cannot be played (${p.audio.error?.message || 'unsupported or unreachable'})`; });
    res.on(playBtn, 'click', () => { if (p.playing) p.pause(); else p.play().catch((e: Error) => { status.textContent = `audio: ${e.message}`; }); });
  }

  const onClick = (t: number, ev: MouseEvent) => {
    const r = roll.canvas.getBoundingClientRect();
    const hit = roll.hit(ev.clientX - r.left, ev.clientY - r.top);
    if (!player) return;
    if (hit?.event) {
      root.dataset.clicked = `${data.classes[hit.cls]}@${hit.event.onset.toFixed(3)}`;
      player.play(hit.event.onset, hit.event.offset).catch((e: Error) => { status.textContent = `audio: ${e.message}`; });
    } else player.seek(Math.max(data.t0, Math.min(data.t0 + duration, t)));
  };
  attachZoomPan(res, roll.canvas, view, LABEL_W, () => roll.plot.w, onClick);
  if (spec) attachZoomPan(res, spec.overlay, view, LABEL_W, () => spec.plot.w, (t) => player?.seek(t));
  res.on(roll.canvas, 'pointermove', (ev: PointerEvent) => {
    const hit = roll.hit(ev.offsetX, ev.offsetY);
    if (!hit) {
      readout.textContent = '';
      return;
    }
    const p = roll.probAt(hit.cls, hit.t);
    const evText = hit.event ? `   event ${formatTime(hit.event.onset, 1)}–${formatTime(hit.event.offset, 1)} (click to play)` : '';
    readout.textContent = `${data.classes[hit.cls]}   t = ${formatTime(hit.t, 1)}   p = ${p === undefined ? '–' : p.toFixed(2)}${evText}`;
  });
  res.on(roll.canvas, 'pointerleave', () => { readout.textContent = ''; });

  decode();
  spec?.draw(root.clientWidth);
  roll.draw(root.clientWidth);
  root.dataset.view = `${view.t0.toFixed(3)},${view.t1.toFixed(3)}`;
  return { retheme: redraw, dispose: () => res.dispose() };
}
