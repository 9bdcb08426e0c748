// Shared remix page, for anyone holding the link: the remix's stems played
// through the same strips as the mixer (StemPlayer: gain -> pan, set by
// applyMix from the remix's settings, as the server mixdown does), its mixer
// positions shown read-only, a waveform to seek on, the visualizer, synced
// lyrics when the song has them, and "Add to my library" for signed-in visitors.

import { api, el, formatTime } from "./common.js";
import { LyricsView } from "./lyrics.js";
import { MixerPanel } from "./mixer.js";
import { bindKeys, bindTransport, loadStems, Player } from "./player.js";
import { STEM_RATE, stripLevels } from "./stem-player.js";
import { modeButtons, Visualizer, visualizerKey } from "./visualizer.js";
import { loadPeaks, Waveform } from "./waveform.js";

const $ = (id) => document.getElementById(id);
const data = JSON.parse($("share-data").textContent);
const settings = Object.fromEntries(data.stems.map((stem) => [stem.name, stem.settings]));
const duration = Math.max(0, ...data.stems.map((stem) => stem.duration || 0));

const mixer = new MixerPanel(
  $("mix-strips"),
  data.stems.map((stem) => stem.name),
  { readOnly: true },
);
mixer.set(settings);

const viz = new Visualizer($("viz"));
$("viz-tools").append(...modeButtons(viz));
const lyrics = data.lyrics && data.lyrics.lines.length ? new LyricsView($("lyrics"), $("lyrics-box"), data.lyrics) : null;
$("time-total").textContent = formatTime(duration);

let context = null;
let wave = null;

function showError(message) {
  $("share-error").textContent = message || "";
  $("share-error").hidden = !message;
}

// The stems download on the first press of Play (or a seek): a visitor who only
// looks costs nothing. Shared remixes play finished stems only.
const player = new Player({
  load: async (report) => {
    context = new AudioContext({ sampleRate: STEM_RATE });
    const stems = await loadStems(
      context,
      data.stems.map((stem) => ({ name: stem.name, url: stem.audio_url })),
      report,
    );
    stems.applyMix(settings, { glide: false });
    viz.setAnalyser(stems.analyser);
    return stems;
  },
});
bindTransport(player, { playButtons: [$("play")], back: $("back"), forward: $("forward"), now: $("time-now") });
player.addEventListener("loading", ({ detail }) => {
  showError("");
  $("share-loading").hidden = false;
  $("share-load-progress").value = 100 * detail.fraction;
});
player.addEventListener("ready", () => ($("share-loading").hidden = true));
player.addEventListener("error", ({ detail }) => {
  $("share-loading").hidden = true;
  showError(detail.message);
});
player.addEventListener("state", ({ detail }) => {
  if (detail.playing) $("viz-hint").hidden = true;
});
player.addEventListener("tick", ({ detail }) => {
  if (wave) wave.setTime(detail.time);
  if (lyrics) lyrics.show(detail.time);
});
bindKeys(() => player, { before: (event) => visualizerKey(viz, event) });

// One waveform for the mix: each stem's peaks scaled by its level, added up
// (an upper bound of the mix's peaks, which is what a waveform shows).
async function showWaveform() {
  const levels = stripLevels(settings);
  try {
    const all = await Promise.all(data.stems.map((stem) => loadPeaks(stem.peaks_url)));
    const length = Math.max(1, ...all.map((peaks) => peaks.length));
    const mix = new Array(length).fill(0);
    all.forEach((peaks, s) => {
      const gain = levels[data.stems[s].name].gain;
      if (!gain || !peaks.length) return;
      for (let i = 0; i < length; i += 1) mix[i] += peaks[Math.floor((i * peaks.length) / length)] * gain;
    });
    wave = new Waveform($("wave"), mix.map((value) => Math.min(1, value)), {
      duration,
      label: "Waveform of the remix: click to seek",
      onSeek: (t) => player.seek(t),
    });
    $("wave-loading").remove();
  } catch (err) {
    $("wave-loading").textContent = err.message;
  }
}

// ---- Add to my library ----------------------------------------------------------

const fork = $("fork");
if (fork) {
  fork.addEventListener("click", async () => {
    fork.disabled = true;
    $("fork-status").textContent = "Adding…";
    try {
      const remix = await api(fork.dataset.url, { method: "POST" });
      fork.remove();
      $("fork-status").replaceChildren(
        "Added to your library. ",
        el("a", { href: `/remixes/${remix.id}/`, id: "open-fork" }, "Open it"),
        " · ",
        el("a", { href: "/remixes/", id: "my-remixes" }, "My remixes"),
      );
    } catch (err) {
      fork.disabled = false;
      $("fork-status").textContent = err.message;
      $("fork-status").classList.add("error");
    }
  });
}

showWaveform();
if (lyrics) lyrics.show(0);

// A read-only handle for tests and the curious (browser console).
window.stemroom = {
  get audioContext() {
    return context;
  },
  get player() {
    return player.engine;
  },
  visualizer: viz,
  mixer,
  ready: () => player.ready,
  playing: () => player.playing,
  currentTime: () => player.currentTime,
  currentLineIndex: () => (lyrics ? lyrics.index : -1),
};
