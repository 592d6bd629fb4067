/**
 * Playback cursor sync between outputs. All renderers of a notebook share one webview document but are
 * separate bundles (separate module instances), so the channel is a DOM event on the document: an
 * event roll playing audio with `source: "x"` moves the cursor of every spectrogram with the same source.
 */
import type { Resources } from './host';

const EVENT = 'sed-studio:playhead';

export interface Playhead {
  source: string;
  /** Seconds into the audio, or null when playback stopped. */
  time: number | null;
}

export function publishPlayhead(doc: Document, ph: Playhead): void {
  doc.dispatchEvent(new CustomEvent<Playhead>(EVENT, { detail: ph }));
}

export function subscribePlayhead(res: Resources, doc: Document, source: string, fn: (time: number | null) => void): void {
  res.on(doc, EVENT, (ev: CustomEvent<Playhead>) => {
    if (ev.detail?.source === source) fn(ev.detail.time);
  });
}
