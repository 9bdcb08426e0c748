// Several stems of one song played in lock-step. Each stem is decoded whole
// (decodeAudioData) and played by an AudioBufferSourceNode; every source is
// started on the same AudioContext at the same `when`, so they share one clock
// and cannot drift. Seeking stops them all and starts new ones together.
//
//   stem -> its GainNode -> master -> analyser -> speakers

const LEAD_IN = 0.05; // seconds between scheduling and the first sample, so every start() lands in time

export class StemPlayer {
  constructor(context) {
    this.context = context;
    this.master = context.createGain();
    this.analyser = context.createAnalyser();
    this.analyser.fftSize = 2048;
    this.analyser.smoothingTimeConstant = 0.8;
    this.master.connect(this.analyser).connect(context.destination);
    this.stems = new Map(); // name -> {buffer, gain}
    this.sources = [];
    this.offset = 0; // song position when playback (re)started, or where it is paused
    this.startedAt = null; // context time that `offset` plays at; null while paused
  }

  // Fetch and decode one stem; onProgress(loadedBytes, totalBytes) while downloading.
  async load(name, url, onProgress = () => {}) {
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`The ${name} stem could not be loaded (${response.status}).`);
    const total = Number(response.headers.get("Content-Length")) || 0;
    const reader = response.body.getReader();
    const chunks = [];
    let loaded = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.length;
      onProgress(loaded, total);
    }
    const bytes = new Uint8Array(loaded);
    let at = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, at);
      at += chunk.length;
    }
    let buffer;
    try {
      buffer = await this.context.decodeAudioData(bytes.buffer);
    } catch {
      throw new Error(`The ${name} stem could not be decoded by this browser.`);
    }
    const gain = this.context.createGain();
    gain.connect(this.master);
    this.stems.set(name, { buffer, gain });
    return buffer;
  }

  gain(name) {
    return this.stems.get(name)?.gain ?? null;
  }

  get duration() {
    let longest = 0;
    for (const { buffer } of this.stems.values()) longest = Math.max(longest, buffer.duration);
    return longest;
  }

  get playing() {
    return this.startedAt !== null;
  }

  get currentTime() {
    if (!this.playing) return this.offset;
    return Math.min(this.duration, this.offset + Math.max(0, this.context.currentTime - this.startedAt));
  }

  // Synchronous on purpose: a suspended context's clock stands still, so sources
  // scheduled now start together once resume() lets it run.
  play() {
    if (this.playing || !this.stems.size) return Promise.resolve();
    if (this.offset >= this.duration) this.offset = 0;
    const resumed = this.context.resume();
    const when = this.context.currentTime + LEAD_IN;
    this.sources = [...this.stems.values()].map(({ buffer, gain }) => {
      const source = this.context.createBufferSource();
      source.buffer = buffer;
      source.connect(gain);
      source.start(when, Math.min(this.offset, buffer.duration));
      return source;
    });
    this.startedAt = when;
    return resumed;
  }

  pause() {
    if (!this.playing) return;
    this.offset = this.currentTime;
    this._stopSources();
  }

  seek(seconds) {
    const wasPlaying = this.playing;
    this._stopSources();
    this.offset = Math.min(Math.max(0, seconds), this.duration);
    if (wasPlaying) this.play();
  }

  _stopSources() {
    for (const source of this.sources) {
      try {
        source.stop();
      } catch {
        // already stopped
      }
      source.disconnect();
    }
    this.sources = [];
    this.startedAt = null;
  }
}
