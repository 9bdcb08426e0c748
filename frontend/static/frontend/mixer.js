// The mixer's controls: one strip per stem with mute, solo, gain (dB) and pan.
// It holds the settings in the API's shape ({name: {gain_db, mute, solo, pan}})
// and reports every change; what plays them is StemPlayer.applyMix(). With
// `readOnly` it only shows a remix's positions (the share page).

import { clamp, el } from "./common.js";
import { audibleStems, DEFAULT_STRIP } from "./stem-player.js";

export const GAIN_MIN = -60;
export const GAIN_MAX = 12;
const GAIN_STEP = 0.5;
const PAN_STEP = 0.05;

export const STEM_LABELS = {
  vocals: "Vocals",
  accompaniment: "Accompaniment",
  drums: "Drums",
  bass: "Bass",
  piano: "Piano",
  other: "Other",
};

export function stemLabel(name) {
  return STEM_LABELS[name] || name;
}

// −4.5 -> "−4.5 dB", 0 -> "0 dB", 3 -> "+3 dB", -60 -> "−60 dB".
export function formatDb(db) {
  const rounded = Math.round(db * 10) / 10;
  if (rounded === 0) return "0 dB";
  return `${rounded > 0 ? "+" : "−"}${Math.abs(rounded)} dB`;
}

// -0.6 -> "L 60", 0 -> "C", 0.35 -> "R 35" (percent towards that side).
export function formatPan(pan) {
  const percent = Math.round(Math.abs(pan) * 100);
  if (percent === 0) return "C";
  return `${pan < 0 ? "L" : "R"} ${percent}`;
}

function describePan(pan) {
  const percent = Math.round(Math.abs(pan) * 100);
  return percent === 0 ? "centre" : `${percent}% ${pan < 0 ? "left" : "right"}`;
}

export function defaultSettings(names) {
  return Object.fromEntries(names.map((name) => [name, { ...DEFAULT_STRIP }]));
}

// Two settings objects mix the same (what "unsaved changes" compares).
export function sameSettings(a, b) {
  const names = Object.keys(a);
  if (names.length !== Object.keys(b).length) return false;
  return names.every((name) => {
    const x = a[name];
    const y = b[name];
    return y && x.gain_db === y.gain_db && x.pan === y.pan && x.mute === y.mute && x.solo === y.solo;
  });
}

export class MixerPanel {
  constructor(root, names, { readOnly = false, onChange = () => {} } = {}) {
    this.root = root;
    this.names = names;
    this.readOnly = readOnly;
    this.onChange = onChange;
    this.settings = defaultSettings(names);
    this.rows = new Map();
    // Read-only strips look like a readout, not like controls (stemroom.css: .read-only).
    root.classList.toggle("read-only", readOnly);
    root.setAttribute("aria-readonly", readOnly ? "true" : "false");
    root.replaceChildren(...names.map((name) => this._row(name)));
    this._show();
  }

  // Replace every strip (missing fields take their defaults); does not call onChange.
  set(settings) {
    this.settings = Object.fromEntries(
      this.names.map((name) => [name, { ...DEFAULT_STRIP, ...(settings && settings[name]) }]),
    );
    this._show();
  }

  get value() {
    return structuredClone(this.settings);
  }

  _change(name, patch) {
    this.settings[name] = { ...this.settings[name], ...patch };
    this._show();
    this.onChange(this.value, name);
  }

  _row(name) {
    const label = stemLabel(name);
    const id = (what) => `mix-${name}-${what}`;
    const disabled = this.readOnly;
    const mute = el(
      "button",
      { type: "button", class: "mix-toggle mute", id: id("mute"), "aria-pressed": "false", disabled, title: `Mute ${label}` },
      "M",
    );
    const solo = el(
      "button",
      { type: "button", class: "mix-toggle solo", id: id("solo"), "aria-pressed": "false", disabled, title: `Solo ${label}` },
      "S",
    );
    mute.setAttribute("aria-label", `Mute ${label}`);
    solo.setAttribute("aria-label", `Solo ${label}`);
    if (disabled) {
      for (const button of [mute, solo]) button.setAttribute("aria-disabled", "true");
      mute.title = `${label}: mute (read-only)`;
      solo.title = `${label}: solo (read-only)`;
    }
    const gain = el("input", {
      type: "range",
      id: id("gain"),
      min: String(GAIN_MIN),
      max: String(GAIN_MAX),
      step: String(GAIN_STEP),
      value: "0",
      disabled,
    });
    const pan = el("input", { type: "range", id: id("pan"), min: "-1", max: "1", step: String(PAN_STEP), value: "0", disabled });
    const gainOut = el("output", { for: id("gain"), class: "mix-value" });
    const panOut = el("output", { for: id("pan"), class: "mix-value" });
    if (!disabled) {
      mute.addEventListener("click", () => this._change(name, { mute: !this.settings[name].mute }));
      solo.addEventListener("click", () => this._change(name, { solo: !this.settings[name].solo }));
      gain.addEventListener("input", () => this._change(name, { gain_db: clamp(Number(gain.value), GAIN_MIN, GAIN_MAX) }));
      pan.addEventListener("input", () => this._change(name, { pan: clamp(Number(pan.value), -1, 1) }));
      // Double-click (or Enter on the slider) puts a slider back to its centre.
      gain.addEventListener("dblclick", () => this._change(name, { gain_db: 0 }));
      pan.addEventListener("dblclick", () => this._change(name, { pan: 0 }));
      for (const [input, field] of [
        [gain, "gain_db"],
        [pan, "pan"],
      ]) {
        input.addEventListener("keydown", (event) => {
          if (event.key === "Enter") this._change(name, { [field]: 0 });
        });
      }
    }
    const row = el(
      "div",
      { class: "mix-strip", "data-stem": name, role: "group", "aria-label": label },
      el("span", { class: "mix-name" }, label),
      el("div", { class: "mix-toggles" }, mute, solo),
      el("label", { class: "mix-slider", for: id("gain") }, el("span", { class: "mix-what" }, "Gain"), gain, gainOut),
      el("label", { class: "mix-slider", for: id("pan") }, el("span", { class: "mix-what" }, "Pan"), pan, panOut),
    );
    this.rows.set(name, { row, mute, solo, gain, pan, gainOut, panOut, label });
    return row;
  }

  _show() {
    const audible = audibleStems(this.settings);
    for (const [name, parts] of this.rows) {
      const strip = this.settings[name];
      parts.mute.setAttribute("aria-pressed", String(strip.mute));
      parts.solo.setAttribute("aria-pressed", String(strip.solo));
      if (Number(parts.gain.value) !== strip.gain_db) parts.gain.value = String(strip.gain_db);
      if (Number(parts.pan.value) !== strip.pan) parts.pan.value = String(strip.pan);
      parts.gainOut.textContent = formatDb(strip.gain_db);
      parts.panOut.textContent = formatPan(strip.pan);
      parts.gain.setAttribute("aria-valuetext", formatDb(strip.gain_db));
      parts.pan.setAttribute("aria-valuetext", describePan(strip.pan));
      parts.gain.setAttribute("aria-label", `${parts.label} gain`);
      parts.pan.setAttribute("aria-label", `${parts.label} pan`);
      parts.row.classList.toggle("silent", !audible.has(name));
      parts.row.title = audible.has(name) ? "" : strip.mute && !strip.solo ? "Muted" : "Silent: another stem is soloed";
    }
  }
}
