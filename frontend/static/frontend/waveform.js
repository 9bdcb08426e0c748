// A waveform overview drawn from precomputed peaks (a JSON array of 0-1 values
// over the whole song), with the played part coloured. Click or use the arrow
// keys on it to seek; it behaves as a slider for screen readers.
//
// While a song is being split the peaks arrive chunk by chunk: `span` (how many
// peaks the whole song will have) keeps each column at its place in the song,
// so the drawing grows to the right as setPeaks() brings more. The canvas's
// data-peaks says how many peaks are drawn (tests and the curious read it).

import { clamp, formatTime } from "./common.js";

export class Waveform {
  constructor(canvas, peaks, { duration, label, onSeek, color = "#7c5cff", span = 0 }) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.peaks = peaks;
    this.span = span;
    this.duration = duration;
    this.onSeek = onSeek;
    this.color = color;
    this.fraction = 0;
    this.drawnAt = -1;
    canvas.tabIndex = 0;
    canvas.setAttribute("role", "slider");
    canvas.setAttribute("aria-label", label);
    canvas.setAttribute("aria-valuemin", "0");
    canvas.setAttribute("aria-valuemax", String(Math.round(duration)));
    canvas.addEventListener("click", (event) => {
      const box = canvas.getBoundingClientRect();
      this.onSeek(clamp((event.clientX - box.left) / box.width, 0, 1) * this.duration);
    });
    canvas.addEventListener("keydown", (event) => {
      const step = { ArrowLeft: -5, ArrowRight: 5, PageDown: -30, PageUp: 30 }[event.key];
      if (step === undefined && event.key !== "Home" && event.key !== "End") return;
      event.preventDefault();
      event.stopPropagation(); // the page's own arrow keys would seek twice
      const now = this.fraction * this.duration;
      if (event.key === "Home") this.onSeek(0);
      else if (event.key === "End") this.onSeek(this.duration);
      else this.onSeek(clamp(now + step, 0, this.duration));
    });
    new ResizeObserver(() => this._resize()).observe(canvas);
    this._resize();
  }

  setTime(seconds) {
    this.fraction = this.duration ? clamp(seconds / this.duration, 0, 1) : 0;
    this.canvas.setAttribute("aria-valuenow", String(Math.round(seconds)));
    this.canvas.setAttribute("aria-valuetext", `${formatTime(seconds)} of ${formatTime(this.duration)}`);
    // Redraw only when the playhead moves by a device pixel.
    const x = Math.round(this.fraction * this.canvas.width);
    if (x !== this.drawnAt) this.draw();
  }

  // New peaks (more of a growing song, or the finished stem's): one redraw.
  setPeaks(peaks, { span = 0 } = {}) {
    this.peaks = peaks;
    this.span = span;
    this.draw();
  }

  setActive(active) {
    this.active = active;
    this.draw();
  }

  _resize() {
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.max(1, Math.round(this.canvas.clientWidth * dpr));
    this.canvas.height = Math.max(1, Math.round(this.canvas.clientHeight * dpr));
    this.dpr = dpr;
    this.draw();
  }

  draw() {
    const { width, height } = this.canvas;
    const ctx = this.ctx;
    ctx.clearRect(0, 0, width, height);
    const bar = Math.max(1, Math.round(2 * this.dpr));
    const gap = Math.max(1, Math.round(this.dpr));
    const columns = Math.floor(width / (bar + gap));
    const playedX = this.fraction * width;
    const peaks = this.peaks;
    const total = Math.max(this.span, peaks.length); // peaks in the whole song
    const middle = height / 2;
    for (let c = 0; c < columns; c += 1) {
      // Each column shows the loudest peak in its slice of the song.
      const from = Math.floor((c / columns) * total);
      if (from >= peaks.length) break; // not separated yet: left empty
      const to = Math.max(from + 1, Math.floor(((c + 1) / columns) * total));
      let max = 0;
      for (let i = from; i < to && i < peaks.length; i += 1) max = Math.max(max, peaks[i]);
      const h = Math.max(gap, max * (height - 2));
      const x = c * (bar + gap);
      ctx.fillStyle = x < playedX ? this.color : this.active === false ? "#3a4050" : "#5a6175";
      ctx.fillRect(x, middle - h / 2, bar, h);
    }
    ctx.fillStyle = "#e8eaf0";
    ctx.fillRect(Math.min(width - gap, playedX), 0, gap, height);
    this.drawnAt = Math.round(playedX);
    this.canvas.dataset.peaks = String(peaks.length);
  }
}

export async function loadPeaks(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`The waveform could not be loaded (${response.status}).`);
  const peaks = await response.json();
  if (!Array.isArray(peaks)) throw new Error("The waveform data is not a list of peaks.");
  return peaks.map(Number);
}
