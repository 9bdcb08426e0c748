// A live visualizer of whatever an AnalyserNode hears, drawn on a canvas at the
// display's frame rate from the page's one frame loop (player.js onFrame).
// Used by the track page, behind the karaoke lyrics, and on the shared remix page.
//
//   const viz = new Visualizer(canvas);   viz.setAnalyser(analyser);
//   toolbar.append(...modeButtons(viz));  // and visualizerKey(viz, event) in a keydown handler
//
// The canvas keeps its CSS size; its backing store follows devicePixelRatio so
// lines stay sharp on phones and HiDPI screens.

import { onFrame } from "./player.js";

export const MODES = [
  { id: "bars", label: "Bars", key: "1" },
  { id: "circle", label: "Circle", key: "2" },
  { id: "scope", label: "Scope", key: "3" },
  { id: "waterfall", label: "Waterfall", key: "4" },
];

const MIN_HZ = 30;
const MAX_HZ = 16000;

export class Visualizer {
  constructor(canvas, { mode = "bars", background = "#0b0d13" } = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.background = background;
    this.analyser = null;
    this.mode = MODES.some((m) => m.id === mode) ? mode : "bars";
    this.frames = 0;
    this.peaks = [];
    this.running = false;
    this._stopFrames = null;
    // Also fires when the page moves to a screen with another pixel density.
    this._observer = new ResizeObserver(() => this._resize());
    this._observer.observe(canvas);
    this._watchDensity();
    this._resize();
  }

  setAnalyser(analyser) {
    this.analyser = analyser;
    this.freq = new Uint8Array(analyser.frequencyBinCount);
    this.wave = new Uint8Array(analyser.fftSize);
    this.start();
  }

  setMode(id) {
    if (!MODES.some((m) => m.id === id) || id === this.mode) return;
    this.mode = id;
    this.peaks = [];
    this._clear();
    this.canvas.dispatchEvent(new CustomEvent("modechange", { detail: id }));
  }

  nextMode() {
    const index = MODES.findIndex((m) => m.id === this.mode);
    this.setMode(MODES[(index + 1) % MODES.length].id);
  }

  start() {
    if (this.running) return;
    this.running = true;
    this._stopFrames = onFrame(() => this._frame());
  }

  stop() {
    this.running = false;
    if (this._stopFrames) this._stopFrames();
    this._stopFrames = null;
  }

  _resize() {
    const dpr = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(this.canvas.clientWidth * dpr));
    const height = Math.max(1, Math.round(this.canvas.clientHeight * dpr));
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    this.dpr = dpr;
    this._clear();
  }

  _watchDensity() {
    const query = matchMedia(`(resolution: ${window.devicePixelRatio}dppx)`);
    query.addEventListener(
      "change",
      () => {
        this._resize();
        this._watchDensity();
      },
      { once: true },
    );
  }

  _clear() {
    this.ctx.fillStyle = this.background;
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
  }

  _frame() {
    this.frames += 1;
    if (!this.analyser) return this._clear();
    this.analyser.getByteFrequencyData(this.freq);
    this.analyser.getByteTimeDomainData(this.wave);
    if (this.mode === "waterfall") return this._waterfall();
    this._clear();
    if (this.mode === "bars") this._bars();
    else if (this.mode === "circle") this._circle();
    else this._scope();
  }

  // The analyser's linear bins folded onto a log frequency axis: one value (0-1) per band.
  _bands(count) {
    const nyquist = this.analyser.context.sampleRate / 2;
    const bins = this.freq.length;
    const bands = new Float32Array(count);
    for (let i = 0; i < count; i += 1) {
      const lowHz = MIN_HZ * (MAX_HZ / MIN_HZ) ** (i / count);
      const highHz = MIN_HZ * (MAX_HZ / MIN_HZ) ** ((i + 1) / count);
      const low = Math.min(bins - 1, Math.floor((lowHz / nyquist) * bins));
      const high = Math.min(bins, Math.max(low + 1, Math.ceil((highHz / nyquist) * bins)));
      let max = 0;
      for (let b = low; b < high; b += 1) max = Math.max(max, this.freq[b]);
      bands[i] = max / 255;
    }
    return bands;
  }

  _bars() {
    const { width, height } = this.canvas;
    const ctx = this.ctx;
    const count = Math.max(16, Math.min(96, Math.floor(width / (10 * this.dpr))));
    const bands = this._bands(count);
    const slot = width / count;
    const gap = Math.max(1, slot * 0.18);
    for (let i = 0; i < count; i += 1) {
      const value = bands[i];
      const barHeight = value ** 1.6 * height * 0.92;
      const x = i * slot + gap / 2;
      const hue = 262 - (i / count) * 100;
      ctx.fillStyle = `hsl(${hue} 85% ${45 + value * 20}%)`;
      ctx.fillRect(x, height - barHeight, slot - gap, barHeight);
      // Peak caps fall slowly, so short hits stay readable.
      const peak = Math.max(barHeight, (this.peaks[i] || 0) - height * 0.006);
      this.peaks[i] = peak;
      if (peak > 2) {
        ctx.fillStyle = `hsl(${hue} 90% 75%)`;
        ctx.fillRect(x, height - peak - 3 * this.dpr, slot - gap, 2 * this.dpr);
      }
    }
  }

  _circle() {
    const { width, height } = this.canvas;
    const ctx = this.ctx;
    const size = Math.min(width, height);
    const cx = width / 2;
    const cy = height / 2;
    const count = 120;
    const bands = this._bands(count / 2);
    const bass = (bands[0] + bands[1] + bands[2] + bands[3]) / 4;
    const radius = size * (0.17 + bass * 0.04);
    ctx.lineCap = "round";
    ctx.lineWidth = Math.max(2, (2 * Math.PI * radius) / count - 2 * this.dpr);
    for (let i = 0; i < count; i += 1) {
      // Mirrored halves, so low notes sit at the top and the shape is symmetric.
      const value = bands[i < count / 2 ? i : count - 1 - i];
      const angle = (i / count) * Math.PI * 2 - Math.PI / 2;
      const length = 4 * this.dpr + value * value * size * 0.25;
      const cos = Math.cos(angle);
      const sin = Math.sin(angle);
      ctx.strokeStyle = `hsl(${262 - value * 100} 85% ${50 + value * 20}%)`;
      ctx.beginPath();
      ctx.moveTo(cx + cos * radius, cy + sin * radius);
      ctx.lineTo(cx + cos * (radius + length), cy + sin * (radius + length));
      ctx.stroke();
    }
    ctx.fillStyle = `hsl(262 70% ${18 + bass * 30}%)`;
    ctx.beginPath();
    ctx.arc(cx, cy, radius - 6 * this.dpr, 0, Math.PI * 2);
    ctx.fill();
  }

  _scope() {
    const { width, height } = this.canvas;
    const ctx = this.ctx;
    const samples = this.wave;
    ctx.lineWidth = 2.5 * this.dpr;
    ctx.strokeStyle = "#22c3a6";
    ctx.shadowColor = "#22c3a6";
    ctx.shadowBlur = 12 * this.dpr;
    ctx.beginPath();
    // Start at a rising zero crossing so the trace stands still on steady tones.
    let start = 0;
    for (let i = 1; i < samples.length / 2; i += 1) {
      if (samples[i - 1] < 128 && samples[i] >= 128) {
        start = i;
        break;
      }
    }
    const shown = samples.length / 2;
    for (let i = 0; i < shown; i += 1) {
      const x = (i / (shown - 1)) * width;
      const y = height / 2 + ((samples[start + i] - 128) / 128) * height * 0.45;
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    }
    ctx.stroke();
    ctx.shadowBlur = 0;
  }

  _waterfall() {
    const { width, height } = this.canvas;
    const ctx = this.ctx;
    const step = Math.max(1, Math.round(2 * this.dpr));
    // Scroll what is there left by one column and paint the newest spectrum on the right.
    ctx.drawImage(this.canvas, step, 0, width - step, height, 0, 0, width - step, height);
    const rows = Math.max(32, Math.min(256, Math.floor(height / (3 * this.dpr))));
    const bands = this._bands(rows);
    const rowHeight = height / rows;
    for (let i = 0; i < rows; i += 1) {
      const value = bands[i];
      ctx.fillStyle = value < 0.05 ? this.background : `hsl(${262 - value * 120} 85% ${value * 60}%)`;
      ctx.fillRect(width - step, height - (i + 1) * rowHeight, step, Math.ceil(rowHeight));
    }
  }
}

// One toggle button per mode (aria-pressed), kept in step with the visualizer.
export function modeButtons(viz) {
  const buttons = MODES.map((mode) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "viz-mode";
    button.dataset.mode = mode.id;
    button.textContent = mode.label;
    button.title = `${mode.label} (key ${mode.key})`;
    button.setAttribute("aria-pressed", String(mode.id === viz.mode));
    button.addEventListener("click", () => viz.setMode(mode.id));
    return button;
  });
  viz.canvas.addEventListener("modechange", () => {
    for (const button of buttons) button.setAttribute("aria-pressed", String(button.dataset.mode === viz.mode));
  });
  return buttons;
}

// Keys 1-4 pick a view, M cycles through them. Returns true when it used the key.
export function visualizerKey(viz, event) {
  const mode = MODES.find((m) => m.key === event.key);
  if (mode) {
    viz.setMode(mode.id);
    return true;
  }
  if (event.key === "m" || event.key === "M") {
    viz.nextMode();
    return true;
  }
  return false;
}

// Full screen for `element`, with a CSS fallback (.is-fullscreen fills the window)
// for browsers or frames that refuse the Fullscreen API. Escape leaves both.
export function fullscreenToggle(element, onChange = () => {}) {
  let active = false;
  const set = (value) => {
    active = value;
    element.classList.toggle("is-fullscreen", value);
    document.documentElement.classList.toggle("has-fullscreen", value);
    onChange(value);
  };
  const leave = async () => {
    if (active) set(false);
    if (document.fullscreenElement) await document.exitFullscreen().catch(() => {});
  };
  document.addEventListener("fullscreenchange", () => {
    if (!document.fullscreenElement && active) set(false);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && active) leave();
  });
  return {
    get active() {
      return active;
    },
    async toggle() {
      if (active) return leave();
      set(true);
      if (element.requestFullscreen) await element.requestFullscreen({ navigationUI: "hide" }).catch(() => {});
    },
  };
}
