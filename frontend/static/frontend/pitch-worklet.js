// The coach's ear: an AudioWorklet processor on the microphone. Every HOP samples
// it finds the pitch of the last frame (pitch.js, YIN) and posts
// {type: "pitch", time, midi, seconds} to coach.js: `time` the context time of
// the frame's middle, `midi` null when nothing is sung, `seconds` the hop. It also posts
// {type: "onset", time} when a sharp sound follows quiet: the latency
// calibration's click coming back.
//
// The voice is halved in rate first (pairs averaged): singing lies far below the
// new Nyquist frequency, and YIN costs a quarter as much.

import { detectPitch, frameLength } from "./pitch.js";

const HOP = 512; // at the halved rate: a pitch every ~23 ms
const ONSET_PEAK = 0.2; // a click's peak, full scale 1
const QUIET_PEAK = 0.05; // what counts as quiet before it
const QUIET_SECONDS = 0.15;

class PitchProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.rate = sampleRate / 2;
    this.size = frameLength(this.rate).total;
    this.ring = new Float32Array(this.size);
    this.frame = new Float32Array(this.size);
    this.filled = 0; // samples written since the start, at the halved rate
    this.sinceHop = 0;
    this.odd = null; // the first of a pair waiting for its partner
    this.lastLoud = currentTime;
    this.started = false;
  }

  process(inputs) {
    const input = inputs[0];
    if (!input || !input.length) return true;
    const channel = input[0];
    const blockTime = currentTime;
    if (!this.started) {
      // The first sound from the microphone: coach.js lines the song up with it.
      this.started = true;
      this.port.postMessage({ type: "start", time: blockTime });
    }
    let peak = 0;
    for (let i = 0; i < channel.length; i += 1) {
      const sample = channel[i];
      peak = Math.max(peak, Math.abs(sample));
      if (this.odd === null) {
        this.odd = sample;
        continue;
      }
      this.ring[this.filled % this.size] = (this.odd + sample) / 2;
      this.odd = null;
      this.filled += 1;
      this.sinceHop += 1;
      if (this.sinceHop >= HOP && this.filled >= this.size) {
        this.sinceHop = 0;
        this.analyse(blockTime + (i + 1) / sampleRate);
      }
    }
    this.listenForClick(peak, blockTime);
    return true;
  }

  analyse(endTime) {
    const start = this.filled % this.size;
    // Unroll the ring, oldest sample first.
    this.frame.set(this.ring.subarray(start));
    this.frame.set(this.ring.subarray(0, start), this.size - start);
    const pitch = detectPitch(this.frame, this.rate);
    const time = endTime - this.size / 2 / this.rate;
    this.port.postMessage({ type: "pitch", time, midi: pitch ? pitch.midi : null, seconds: HOP / this.rate });
  }

  listenForClick(peak, blockTime) {
    if (peak >= ONSET_PEAK && blockTime - this.lastLoud >= QUIET_SECONDS) {
      this.port.postMessage({ type: "onset", time: blockTime });
    }
    if (peak >= QUIET_PEAK) this.lastLoud = blockTime;
  }
}

registerProcessor("stemroom-pitch", PitchProcessor);
