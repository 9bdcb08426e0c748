// Stems that play while the worker is still making them.
//
// The worker stores every stem as numbered 16-bit WAV chunks (separation/chunks.py),
// listed by GET /api/jobs/{id}/chunks/; the chunks of a stem, joined, are the final
// stem sample for sample. ProgressivePlayer is a StemPlayer (same strips, mixer
// and analyser) whose sources are those chunks: each chunk is its own
// AudioBufferSourceNode started at  t0 + start/44100  on the one AudioContext
// clock, so consecutive chunks meet at the exact sample (no gap, no click) and
// every stem keeps the same clock (no drift). The context runs at 44.1 kHz, so
// decoding a chunk never resamples it.
//
// It plays only what is there: when the position comes within GUARD of the end
// of the ready part it stops and waits ("separating…"), and goes on by itself
// once RESUME_AHEAD more seconds have arrived. When the job is done, useFinal()
// swaps in the whole stems at one scheduled instant: chunk sources stop and
// whole-stem sources start on the same sample, at the same position.

import { api } from "./common.js";
import { onGrid, StemPlayer, STEM_RATE } from "./stem-player.js";

const GUARD = 0.25; // seconds before the ready end at which playback stops to wait
const RESUME_AHEAD = 3; // seconds that must be ready past the position to play on

// Where a stem's chunks (sorted by start) stop being contiguous from 0, in seconds.
function contiguousEnd(list) {
  let end = 0;
  for (const chunk of list) {
    if (chunk.start > end + 1e-6) break;
    end = Math.max(end, chunk.start + chunk.buffer.duration);
  }
  return end;
}

export class ProgressivePlayer extends StemPlayer {
  // names: the stems it plays; duration: the song's length (the timeline's).
  constructor(context, { names, duration }) {
    super(context);
    this.expected = duration;
    this.chunks = new Map(names.map((name) => [name, []])); // name -> [{start, buffer}] by start
    for (const name of names) this.add(name, null);
    this.readyEnd = 0; // seconds every stem holds without a hole from 0
    this.complete = false; // the last chunk is in
    this.final = false; // playing the whole stems now
    this.waiting = false; // wants to play but the position is at the ready end
    this.stalls = 0; // how often it had to wait (tests read it)
    this.onchange = () => {}; // the Player's changed(): it started or stopped by itself
  }

  get duration() {
    if (this.final) return super.duration;
    if (this.complete) return this.readyEnd;
    return Math.max(this.expected, this.readyEnd);
  }

  get seekable() {
    return this.final || this.complete ? this.duration : Math.max(0, this.readyEnd - GUARD);
  }

  get currentTime() {
    return Math.min(super.currentTime, this.final || this.complete ? this.duration : this.readyEnd);
  }

  // A chunk of one stem: `start` in frames (44.1 kHz), decoded to `buffer`.
  addChunk(name, start, buffer) {
    if (this.final) return;
    const list = this.chunks.get(name);
    const chunk = { start: start / STEM_RATE, buffer };
    if (list.some((c) => c.start === chunk.start)) return; // a restarted run lists the same chunks again
    list.push(chunk);
    list.sort((a, b) => a.start - b.start);
    this.readyEnd = Math.min(...[...this.chunks.values()].map(contiguousEnd));
    if (this.startedAt !== null) this._schedule(name, chunk);
    if (this.waiting && (this.complete || this.readyEnd - this.offset >= RESUME_AHEAD)) this._resume();
  }

  // The manifest said the last chunk is in: nothing more will come.
  markComplete() {
    this.complete = true;
    if (this.waiting) this._resume();
  }

  play() {
    if (this.final) return super.play();
    if (this.startedAt !== null) return Promise.resolve();
    const resumed = this.offline ? Promise.resolve() : this.context.resume();
    if (this.offset >= this.duration && this.complete) this.offset = 0;
    if (!this.complete && this.offset >= this.readyEnd - GUARD) {
      // Nothing (or too little) to play here yet: wait for the worker.
      this.waiting = true;
      return resumed;
    }
    this.waiting = false;
    this.startedAt = onGrid(this.context.currentTime + this.leadIn, this.context.sampleRate);
    this.sources = [];
    for (const [name, list] of this.chunks) for (const chunk of list) this._schedule(name, chunk);
    return resumed;
  }

  pause() {
    this.waiting = false;
    if (this.startedAt !== null) super.pause();
  }

  seek(seconds) {
    const wanted = this.playing || this.waiting;
    this.pause();
    this.offset = Math.min(Math.max(0, seconds), this.seekable);
    if (wanted) this.play();
  }

  // Called every frame while it plays: stop before the audio runs out.
  frame() {
    if (this.final || this.complete || this.startedAt === null) return;
    if (super.currentTime < this.readyEnd - GUARD) return;
    super.pause();
    this.waiting = true;
    this.stalls += 1;
    this.onchange();
  }

  _resume() {
    this.waiting = false;
    this.play();
    this.onchange();
  }

  _schedule(name, chunk) {
    const end = chunk.start + chunk.buffer.duration;
    if (end <= this.offset) return;
    const source = this.context.createBufferSource();
    source.buffer = chunk.buffer;
    source.connect(this.stems.get(name).gain);
    if (chunk.start <= this.offset) {
      source.start(this.startedAt, this.offset - chunk.start);
    } else {
      const when = this.startedAt + (chunk.start - this.offset);
      const now = this.context.currentTime;
      // A chunk that came too late still plays in step with the others (never shifted).
      if (when >= now) source.start(when);
      else source.start(now, now - when);
    }
    this.sources.push(source);
  }

  // The job is done: buffers {name: whole stem}. Playing, the chunk sources stop
  // and the whole stems start on the same sample of the same clock, at the same
  // position; the whole stems equal the joined chunks (when they are the lossless
  // files), so nothing can be heard at the change.
  useFinal(buffers) {
    if (this.final) return;
    const wanted = this.startedAt !== null || this.waiting;
    this.final = true;
    this.waiting = false;
    this.switchBuffers(buffers); // the chunk sources stop, the whole stems start, on one sample
    this.chunks = new Map(); // the whole stems hold it all now: let the chunks go
    if (wanted && this.startedAt === null) this.play();
    this.onchange();
  }
}

// Fetch and decode one chunk; its length must be what the manifest says.
export async function decodeChunk(context, chunk) {
  const response = await fetch(chunk.url, { credentials: "same-origin" });
  if (!response.ok) throw new ChunkGone(`A chunk could not be loaded (${response.status}).`);
  const buffer = await context.decodeAudioData(await response.arrayBuffer());
  if (buffer.length !== chunk.frames) throw new Error(`A chunk decoded to ${buffer.length} frames, not ${chunk.frames}.`);
  return buffer;
}

// The chunks went (the job was cancelled or failed, or a new run replaced them).
export class ChunkGone extends Error {}

// Follows a job's manifest and feeds its new chunks to `player`, in order,
// each index for every stem at once. fetchMore() is safe to call on every poll.
export class ChunkFeed {
  constructor(context, player, { names, onPeaks = () => {} }) {
    this.context = context;
    this.player = player;
    this.names = names;
    this.onPeaks = onPeaks;
    this.next = 0; // the next chunk index to fetch
    this.busy = null;
  }

  fetchMore(manifestUrl) {
    if (!this.busy) {
      this.busy = this._fetch(manifestUrl).finally(() => {
        this.busy = null;
      });
    }
    return this.busy;
  }

  async _fetch(url) {
    const manifest = await api(url);
    this.onPeaks(manifest);
    const counts = this.names.map((name) => (manifest.stems[name] || []).length);
    const available = Math.min(...counts);
    while (this.next < available) {
      const index = this.next;
      const chunks = this.names.map((name) => manifest.stems[name][index]);
      const buffers = await Promise.all(chunks.map((chunk) => decodeChunk(this.context, chunk)));
      chunks.forEach((chunk, i) => this.player.addChunk(this.names[i], chunk.start, buffers[i]));
      this.next += 1;
    }
    if (manifest.complete && this.next >= available) this.player.markComplete();
    return manifest;
  }
}
