// Several stems of one song played in lock-step, each through its own mixer
// strip. Each stem is decoded whole (decodeAudioData) and played by an
// AudioBufferSourceNode; every source is started on the same AudioContext at
// the same `when`, so they share one clock and cannot drift. Seeking stops them
// all and starts new ones together.
//
//   stem -> its GainNode -> its StereoPannerNode -> master -> analyser -> speakers
//
// The strips are made once per stem and outlive the sources: a mixer change
// only moves AudioParams (gliding, so it never clicks), it never rebuilds the
// graph. The server's mixdown (library/mixing.py) applies the same gain and the
// same panning law, so renderMix() here and a server render agree sample for
// sample.

const LEAD_IN = 0.05; // seconds between scheduling and the first sample, so every start() lands in time
// Time constant of a mixer change: 15 ms reaches the new value within ~0.1 s,
// slow enough that a jump of the slider is not a click, fast enough to feel instant.
export const GLIDE = 0.015;
// The rate the worker stores every stem at (separation.engines.SAMPLE_RATE).
export const STEM_RATE = 44100;
// Seconds ahead a switch to other buffers is scheduled (time to set it up), and how long the
// master dips on each side of it when the new buffers are other audio (a hard cut clicks).
export const SWITCH_AHEAD = 0.15;
const SWITCH_DIP = 0.012;

// Context time rounded to a whole sample, so every source lands on the sample grid.
export function onGrid(seconds, rate) {
  return Math.ceil(seconds * rate) / rate;
}

export const DEFAULT_STRIP = Object.freeze({ gain_db: 0, mute: false, solo: false, pan: 0 });

export function dbToGain(db) {
  return 10 ** (db / 20);
}

// The names that sound: the soloed ones if any stem is soloed (solo wins over
// mute), else every unmuted one. The same rule as library.mixing.audible().
export function audibleStems(settings) {
  const names = Object.keys(settings);
  const soloed = names.filter((name) => settings[name].solo);
  return new Set(soloed.length ? soloed : names.filter((name) => !settings[name].mute));
}

// {name: {gain_db, mute, solo, pan}} -> {name: {gain, pan}}: what each strip's
// AudioParams must hold (an inaudible stem is a gain of 0, never a disconnect).
export function stripLevels(settings) {
  const audible = audibleStems(settings);
  const levels = {};
  for (const [name, strip] of Object.entries(settings)) {
    levels[name] = { gain: audible.has(name) ? dbToGain(strip.gain_db) : 0, pan: strip.pan };
  }
  return levels;
}

export class StemPlayer {
  constructor(context, { leadIn = LEAD_IN } = {}) {
    this.context = context;
    this.leadIn = leadIn;
    this.offline = typeof context.startRendering === "function";
    this.master = context.createGain();
    this.analyser = context.createAnalyser();
    this.analyser.fftSize = 2048;
    this.analyser.smoothingTimeConstant = 0.8;
    this.master.connect(this.analyser).connect(context.destination);
    this.stems = new Map(); // name -> {buffer, gain, pan}
    this.sources = [];
    this.offset = 0; // song position when playback (re)started, or where it is paused
    this.startedAt = null; // context time that `offset` plays at; null while paused
  }

  // Fetch and decode one stem; onProgress(loadedBytes, totalBytes) while downloading.
  async load(name, url, onProgress = () => {}) {
    const buffer = await decodeStem(this.context, name, url, onProgress);
    this.add(name, buffer);
    return buffer;
  }

  // Give a decoded stem its strip: gain -> pan -> master.
  add(name, buffer) {
    const gain = this.context.createGain();
    // Two channels always: a mono stem is spread to both sides before the
    // panner, as the server does, so the panner uses its stereo law for every stem.
    gain.channelCount = 2;
    gain.channelCountMode = "explicit";
    gain.channelInterpretation = "speakers";
    const pan = this.context.createStereoPanner();
    gain.connect(pan).connect(this.master);
    this.stems.set(name, { buffer, gain, pan });
  }

  gain(name) {
    return this.stems.get(name)?.gain ?? null;
  }

  panner(name) {
    return this.stems.get(name)?.pan ?? null;
  }

  // Set every strip from mixer settings. `glide` moves the AudioParams smoothly
  // from wherever they are (for changes while playing); without it they jump
  // (before playback, and for offline renders, where a glide would be audible).
  applyMix(settings, { glide = true } = {}) {
    const now = this.context.currentTime;
    for (const [name, level] of Object.entries(stripLevels(settings))) {
      const strip = this.stems.get(name);
      if (!strip) continue;
      setParam(strip.gain.gain, level.gain, now, glide);
      setParam(strip.pan.pan, level.pan, now, glide);
    }
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
    // An offline context runs when rendering starts; resume() would refuse it.
    const resumed = this.offline ? Promise.resolve() : this.context.resume();
    const when = this.context.currentTime + this.leadIn;
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

  // Play other buffers ({name: AudioBuffer}) from now on without stopping: the
  // current sources stop and the new ones start on one scheduled sample of the
  // same clock, at map(the position then) in the new buffers (a version at
  // another tempo has another timeline). Strips, mixer and analyser stay.
  // `dip`: the new buffers are different audio (another key), so the master
  // fades out and back in over a few milliseconds around the cut.
  switchBuffers(buffers, { map = (t) => t, dip = false } = {}) {
    const playing = this.startedAt !== null;
    let at = this.offset;
    let when = null;
    if (playing) {
      when = onGrid(this.context.currentTime + SWITCH_AHEAD, this.context.sampleRate);
      at = this.offset + (when - this.startedAt);
      for (const source of this.sources) {
        source.stop(when);
        source.onended = () => source.disconnect();
      }
    }
    for (const [name, strip] of this.stems) if (buffers[name]) strip.buffer = buffers[name];
    this.offset = Math.min(Math.max(0, map(at)), this.duration);
    if (!playing) return;
    if (dip) {
      const level = this.master.gain;
      level.cancelScheduledValues(when - SWITCH_DIP);
      level.setValueAtTime(1, when - SWITCH_DIP);
      level.linearRampToValueAtTime(0, when);
      level.linearRampToValueAtTime(1, when + SWITCH_DIP);
    }
    this.sources = [...this.stems.values()].map(({ buffer, gain }) => {
      const source = this.context.createBufferSource();
      source.buffer = buffer;
      source.connect(gain);
      source.start(when, this.offset);
      return source;
    });
    this.startedAt = when;
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

function setParam(param, value, now, glide) {
  if (glide) {
    param.setTargetAtTime(value, now, GLIDE);
  } else {
    param.cancelScheduledValues(0);
    param.setValueAtTime(value, now);
  }
}

export async function decodeStem(context, name, url, onProgress = () => {}) {
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
  try {
    return await context.decodeAudioData(bytes.buffer);
  } catch {
    throw new Error(`The ${name} stem could not be decoded by this browser.`);
  }
}

// Render a mix faster than real time, through the very StemPlayer graph the
// live preview uses: stems [{name, url}] and mixer settings -> a stereo AudioBuffer
// as long as the longest stem. Give it the lossless stems to compare it with a
// server mixdown sample for sample.
export async function renderMix(stems, settings, { sampleRate = STEM_RATE } = {}) {
  // Decoding needs a context of the output rate; its length does not matter.
  const decoder = new OfflineAudioContext(2, 1, sampleRate);
  const buffers = await Promise.all(stems.map((stem) => decodeStem(decoder, stem.name, stem.url)));
  const length = Math.max(1, ...buffers.map((buffer) => buffer.length));
  const context = new OfflineAudioContext(2, length, sampleRate);
  const player = new StemPlayer(context, { leadIn: 0 });
  stems.forEach((stem, i) => player.add(stem.name, buffers[i]));
  player.applyMix(settings, { glide: false });
  player.play();
  return context.startRendering();
}
