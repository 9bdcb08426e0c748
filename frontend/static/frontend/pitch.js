// Pitch of a sung frame by YIN (de Cheveigné & Kawahara, 2002), small enough to
// run in an AudioWorklet on every hop. No npm package fits here: pitchy (MPM)
// imports fft.js by its bare name, which an AudioWorklet cannot resolve without
// a bundler, and the project has none. The page test checks it on known tones.
//
// Pure functions only: pitch-worklet.js runs them on the microphone, and the
// tests import this module into a page.

// The range of a singing voice, with room: a bass's E2 (82 Hz) down to ~60 Hz, a soprano's high C (1047 Hz) and more.
export const MIN_HZ = 60;
export const MAX_HZ = 1400;
// YIN's absolute threshold on the cumulative mean normalised difference: the first dip below it
// is the period. A breathy or vibrato-rich voice misses it now and then; then its deepest dip
// counts if it is below LOOSE_THRESHOLD (YIN's own fallback, bounded so noise stays unvoiced).
const THRESHOLD = 0.15;
const LOOSE_THRESHOLD = 0.45;
// Quieter than this (RMS, full scale 1; -60 dBFS) is silence. Set low on purpose: a held
// note's quiet end (or its reverb) is still sung, and room noise has no period for YIN to find.
export const SILENCE_RMS = 0.001;

export function hzToMidi(hz) {
  return 69 + 12 * Math.log2(hz / 440);
}

export function midiToHz(midi) {
  return 440 * 2 ** ((midi - 69) / 12);
}

// Samples a frame needs at `sampleRate`: one integration window plus the longest period.
export function frameLength(sampleRate) {
  const maxLag = Math.ceil(sampleRate / MIN_HZ);
  return { window: maxLag, maxLag, total: 2 * maxLag };
}

// The fundamental of `frame` (a Float32Array of frameLength(sampleRate).total samples)
// as {hz, midi, clarity}, or null when it is silent or has no clear period (unvoiced).
export function detectPitch(frame, sampleRate) {
  const { window, maxLag } = frameLength(sampleRate);
  const minLag = Math.floor(sampleRate / MAX_HZ);
  let energy = 0;
  for (let j = 0; j < window; j += 1) energy += frame[j] * frame[j];
  if (Math.sqrt(energy / window) < SILENCE_RMS) return null;

  // d(tau) = sum (x_j - x_{j+tau})^2 = E(0) + E(tau) - 2 r(tau), with the window energies kept running.
  const d = new Float32Array(maxLag + 2);
  let shifted = energy; // energy of frame[tau .. tau + window)
  for (let tau = 1; tau <= maxLag + 1; tau += 1) {
    shifted += frame[tau + window - 1] * frame[tau + window - 1] - frame[tau - 1] * frame[tau - 1];
    let r = 0;
    for (let j = 0; j < window; j += 1) r += frame[j] * frame[j + tau];
    d[tau] = Math.max(0, energy + shifted - 2 * r);
  }
  // Cumulative mean normalisation: d'(tau) = d(tau) * tau / sum_{k<=tau} d(k).
  let running = 0;
  const norm = new Float32Array(maxLag + 2);
  norm[0] = 1;
  for (let tau = 1; tau <= maxLag + 1; tau += 1) {
    running += d[tau];
    norm[tau] = running > 0 ? (d[tau] * tau) / running : 1;
  }
  let lag = -1;
  let deepest = Math.max(2, minLag);
  for (let tau = Math.max(2, minLag); tau <= maxLag; tau += 1) {
    if (norm[tau] < THRESHOLD) {
      while (tau + 1 <= maxLag && norm[tau + 1] < norm[tau]) tau += 1;
      lag = tau;
      break;
    }
    if (norm[tau] < norm[deepest]) deepest = tau;
  }
  if (lag < 0 && norm[deepest] < LOOSE_THRESHOLD) lag = deepest;
  if (lag < 0) return null;
  // Parabolic interpolation between the neighbouring lags: pitch finer than one sample of period.
  const a = norm[lag - 1];
  const b = norm[lag];
  const c = norm[lag + 1];
  const bend = a - 2 * b + c;
  const exact = bend > 0 ? lag + (a - c) / (2 * bend) : lag;
  const hz = sampleRate / exact;
  return { hz, midi: hzToMidi(hz), clarity: 1 - b };
}
