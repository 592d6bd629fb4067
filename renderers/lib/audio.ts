/**
 * Audio playback for an output: an <audio> element on a URL or on the payload's bytes (a Blob URL,
 * revoked on dispose), with an animation-frame loop reporting the playhead while playing and an
 * optional stop time (play one event, then stop).
 */
import type { Resources } from './host';

export class Player {
  readonly audio: HTMLAudioElement;
  private stopAt: number | null = null;
  private loop = 0;

  constructor(private res: Resources, parent: HTMLElement, src: string | Blob, private onTime: (t: number | null) => void) {
    this.audio = document.createElement('audio');
    this.audio.preload = 'auto';
    this.audio.className = 'sed-audio';
    this.audio.hidden = true;
    if (typeof src === 'string') this.audio.src = src;
    else {
      const url = URL.createObjectURL(src);
      this.audio.src = url;
      res.add(() => URL.revokeObjectURL(url));
    }
    parent.append(this.audio);
    res.on(this.audio, 'play', () => this.tick());
    res.on(this.audio, 'pause', () => this.stopLoop());
    res.on(this.audio, 'ended', () => this.stopLoop());
    res.on(this.audio, 'seeked', () => { if (this.audio.paused) this.onTime(this.audio.currentTime); });
    res.add(() => {
      this.stopLoop();
      this.audio.pause();
      this.audio.removeAttribute('src');
      this.audio.load();
    });
  }

  get playing(): boolean {
    return !this.audio.paused;
  }

  /** Play from `from` seconds (default: where it is), stopping at `until` if given. */
  async play(from?: number, until?: number): Promise<void> {
    if (from !== undefined) this.audio.currentTime = from;
    this.stopAt = until ?? null;
    await this.audio.play();
  }

  pause(): void {
    this.audio.pause();
  }

  seek(t: number): void {
    this.audio.currentTime = t;
    this.onTime(t);
  }

  private tick = () => {
    this.loop = 0;
    if (this.audio.paused) return;
    const t = this.audio.currentTime;
    if (this.stopAt !== null && t >= this.stopAt) {
      this.audio.pause();
      this.onTime(this.stopAt);
      return;
    }
    this.onTime(t);
    this.loop = this.res.frame(this.tick);
  };

  private stopLoop(): void {
    if (this.loop) this.res.cancelFrame(this.loop);
    this.loop = 0;
    this.onTime(this.audio.currentTime);
  }
}
