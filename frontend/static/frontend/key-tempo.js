// Key and tempo change on the karaoke page (issue 12), without restarting the song.
//
// Choosing a key (−6…+6 semitones) or tempo (50–150 %) asks the server for that
// version of the stems (POST /api/jobs/{id}/versions/: rendered once by Rubber Band
// in a worker, then shared), shows its progress while the current version plays on,
// decodes the rendered accompaniment and vocals, and hands them to the playing
// StemPlayer's switchBuffers(): the old sources stop and the new ones start on one
// scheduled sample, at the same musical position.
//
// Timelines: while a version at tempo T plays, player time t is original song time
// t * T / 100 (songTime), so lyrics, waveforms and taps stay on the original's
// timeline. Whenever the version in effect changes it dispatches
//   document "stemroom:keytempo" {detail: {semitones, tempo}}  (tempo in percent)
// for the pitch coach, and the shown key follows (the analysis key + semitones).

import { api } from "./common.js";
import { decodeStem } from "./stem-player.js";

const NOTES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];
const FLATS = { Db: "C#", Eb: "D#", Gb: "F#", Ab: "G#", Bb: "A#" };
// A keyboard user stepping through a <select> with the arrows fires a change per
// step: wait this long after the last one before asking for a render.
const APPLY_DELAY_MS = 450;
const POLL_MS = 700;
const ANALYSIS_RETRY_MS = 4000;
const ACTIVE = new Set(["queued", "running"]);

// "A" shifted by 2 -> "B"; null for a name it does not know.
export function transpose(tonic, semitones) {
  const index = NOTES.indexOf(FLATS[tonic] || tonic);
  if (index < 0) return null;
  return NOTES[(((index + semitones) % 12) + 12) % 12];
}

function signed(semitones) {
  return semitones > 0 ? `+${semitones}` : semitones < 0 ? `−${-semitones}` : "0";
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class KeyTempo {
  // root: the #key-tempo fieldset; player: the page's Player (its engine a StemPlayer).
  constructor(root, { context, player }) {
    this.root = root;
    this.context = context;
    this.player = player;
    this.key = root.querySelector("#kt-key");
    this.tempoSelect = root.querySelector("#kt-tempo");
    this.shown = root.querySelector("#kt-shown");
    this.busy = root.querySelector("#kt-busy");
    this.progress = root.querySelector("#kt-progress");
    this.status = root.querySelector("#kt-status");
    this.error = root.querySelector("#kt-error");
    this.semitones = 0; // in effect: what plays now
    this.tempo = 100;
    this.job = null;
    this.analysis = null; // {key, mode, tempo} once the song's analysis is known
    this.original = null; // the original stems' buffers: going back needs no download
    this.wanted = 0; // bumped by every change: a slower, older one then gives up
    this.rendering = false;
    this.timer = null;
    const changed = () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.apply(Number(this.key.value), Number(this.tempoSelect.value)), APPLY_DELAY_MS);
    };
    this.key.addEventListener("change", changed);
    this.tempoSelect.addEventListener("change", changed);
    root.querySelector("#kt-reset").addEventListener("click", () => {
      this.key.value = "0";
      this.tempoSelect.value = "100";
      clearTimeout(this.timer);
      this.apply(0, 100);
    });
  }

  // Original song time of player time t, and back.
  songTime(t) {
    return (t * this.tempo) / 100;
  }

  playerTime(songSeconds) {
    return (songSeconds * 100) / this.tempo;
  }

  get state() {
    return { semitones: this.semitones, tempo: this.tempo, rendering: this.rendering };
  }

  // The finished stems of `job` play now: versions can be made from them.
  enable(job) {
    this.job = job;
    const engine = this.player.engine;
    this.original = Object.fromEntries([...engine.stems].map(([name, strip]) => [name, strip.buffer]));
    this.root.disabled = false;
    this.loadAnalysis();
    this.describe();
  }

  async loadAnalysis() {
    try {
      const found = await api(`/api/jobs/${this.job.id}/analysis/`);
      if (found && found.status === "succeeded" && found.key) this.analysis = found;
      else if (found && ACTIVE.has(found.status)) setTimeout(() => this.loadAnalysis(), ANALYSIS_RETRY_MS);
    } catch {
      // No analysis (yet, or on this server): the controls say the shift instead of the key.
    }
    this.describe();
  }

  describe() {
    const parts = [];
    const tonic = this.analysis && transpose(this.analysis.key, this.semitones);
    if (tonic) {
      const shift = this.semitones ? ` (${signed(this.semitones)})` : "";
      parts.push(`Key: ${tonic} ${this.analysis.mode}${shift}`);
    } else {
      parts.push(this.semitones ? `${signed(this.semitones)} semitones` : "Original key");
    }
    if (this.analysis && this.analysis.tempo) parts.push(`${Math.round((this.analysis.tempo * this.tempo) / 100)} BPM`);
    parts.push(this.tempo === 100 ? "original tempo" : `${this.tempo} % tempo`);
    this.shown.textContent = parts.join(" · ");
  }

  showBusy(text, fraction = null) {
    this.busy.hidden = !text;
    this.status.textContent = text || "";
    if (fraction === null) this.progress.removeAttribute("value");
    else this.progress.value = String(Math.round(100 * fraction));
  }

  showError(message) {
    this.error.textContent = message;
    this.error.hidden = !message;
  }

  async apply(semitones, tempo) {
    const ticket = ++this.wanted;
    const current = () => ticket === this.wanted;
    this.showError("");
    if (semitones === this.semitones && tempo === this.tempo) {
      this.showBusy("");
      return;
    }
    this.rendering = true;
    const label = `${signed(semitones)} semitones at ${tempo} %`;
    try {
      let buffers;
      if (semitones === 0 && tempo === 100 && this.original) {
        buffers = this.original;
      } else {
        this.showBusy(`Preparing ${label}…`, 0);
        let version = await api(`/api/jobs/${this.job.id}/versions/`, { method: "POST", body: { key: semitones, tempo } });
        while (ACTIVE.has(version.status)) {
          if (!current()) return;
          const what = version.status === "queued" ? "waiting for a worker" : `${version.progress} %`;
          this.showBusy(`Rendering ${label}: ${what}`, version.progress / 100);
          await sleep(POLL_MS);
          version = await api(version.url);
        }
        if (version.status !== "succeeded") throw new Error(version.error || `The render was ${version.status}.`);
        if (!current()) return;
        this.showBusy(`Loading ${label}…`, 0);
        const loaded = new Map();
        const report = (name, got, total) => {
          loaded.set(name, [got, total || got]);
          let sum = 0;
          let of = 0;
          for (const [l, t] of loaded.values()) {
            sum += l;
            of += t;
          }
          if (current()) this.showBusy(`Loading ${label}…`, of ? sum / of : 0);
        };
        const decoded = await Promise.all(
          version.stems.map((stem) => decodeStem(this.context, stem.name, stem.audio_url, (l, t) => report(stem.name, l, t))),
        );
        buffers = Object.fromEntries(version.stems.map((stem, i) => [stem.name, decoded[i]]));
      }
      if (!current()) return;
      this.switchTo(buffers, semitones, tempo);
    } catch (err) {
      if (!current()) return;
      this.showError(`Could not change the key and tempo: ${err.message}`);
      // The controls go back to what plays.
      this.key.value = String(this.semitones);
      this.tempoSelect.value = String(this.tempo);
    } finally {
      if (current()) {
        this.rendering = false;
        this.showBusy("");
      }
    }
  }

  // The same musical position in the new version: original time is kept.
  switchTo(buffers, semitones, tempo) {
    const from = this.tempo;
    this.player.engine.switchBuffers(buffers, { map: (t) => (t * from) / tempo, dip: true });
    this.semitones = semitones;
    this.tempo = tempo;
    this.describe();
    this.player.dispatchEvent(new CustomEvent("duration"));
    this.player.changed();
    document.dispatchEvent(new CustomEvent("stemroom:keytempo", { detail: { semitones, tempo } }));
  }
}
