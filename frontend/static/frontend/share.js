// Shared remix page, for anyone holding the link: the remix's stems played
// through the same strips as the mixer (StemPlayer: gain -> pan, set by
// applyMix from the remix's settings, as the server mixdown does), its mixer
// positions shown read-only, a waveform to seek on, the visualizer, synced
// lyrics when the song has them, and "Add to my library" for signed-in visitors.

import { api, clamp, el, formatTime, isTyping } from "./common.js";
import { LyricsView } from "./lyrics.js";
import { MixerPanel } from "./mixer.js";
import { StemPlayer, stripLevels } from "./stem-player.js";
import { modeButtons, Visualizer, visualizerKey } from "./visualizer.js";
import { loadPeaks, Waveform } from "./waveform.js";

const SEEK_STEP = 5;

const $ = (id) => document.getElementById(id);
const data = JSON.parse($("share-data").textContent);
const settings = Object.fromEntries(data.stems.map((stem) => [stem.name, stem.settings]));
const duration = Math.max(0, ...data.stems.map((stem) => stem.duration || 0));
const playButton = $("play");

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
let player = null;
let loading = null;
let wave = null;

// ---- Loading ----------------------------------------------------------------

function showError(message) {
  $("share-error").textContent = message || "";
  $("share-error").hidden = !message;
}

function ensureLoaded() {
  if (player) return Promise.resolve(player);
  if (loading) return loading;
  context = new AudioContext();
  const fresh = new StemPlayer(context);
  const progress = new Map();
  $("share-loading").hidden = false;
  const report = (name, loaded, total) => {
    progress.set(name, [loaded, total || loaded]);
    let sum = 0;
    let of = 0;
    for (const [l, t] of progress.values()) {
      sum += l;
      of += t;
    }
    $("share-load-progress").value = of ? (100 * sum) / of : 0;
  };
  loading = Promise.all(data.stems.map((stem) => fresh.load(stem.name, stem.audio_url, (l, t) => report(stem.name, l, t))))
    .then(() => {
      fresh.applyMix(settings, { glide: false });
      viz.setAnalyser(fresh.analyser);
      player = fresh;
      return player;
    })
    .finally(() => {
      loading = null;
      $("share-loading").hidden = true;
    });
  return loading;
}

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
      onSeek: (t) => seekTo(t),
    });
    $("wave-loading").remove();
  } catch (err) {
    $("wave-loading").textContent = err.message;
  }
}

// ---- Transport ----------------------------------------------------------------

async function play() {
  showError("");
  playButton.disabled = true;
  try {
    await ensureLoaded();
    await player.play();
  } catch (err) {
    showError(err.message);
  } finally {
    playButton.disabled = false;
  }
  $("viz-hint").hidden = true;
  showPlaying();
  tick();
}

function toggle() {
  if (player && player.playing) {
    player.pause();
    showPlaying();
  } else {
    play();
  }
}

async function seekTo(seconds) {
  try {
    await ensureLoaded();
  } catch (err) {
    showError(err.message);
    return;
  }
  player.seek(clamp(seconds, 0, player.duration));
  showTime();
}

function showPlaying() {
  const on = Boolean(player && player.playing);
  playButton.textContent = on ? "❚❚" : "▶";
  playButton.setAttribute("aria-label", on ? "Pause" : "Play");
}

function showTime() {
  const now = player ? player.currentTime : 0;
  $("time-now").textContent = formatTime(now);
  if (wave) wave.setTime(now);
  if (lyrics) lyrics.show(now);
}

function tick() {
  if (!player || !player.playing) return;
  if (player.currentTime >= player.duration) {
    player.pause();
    player.offset = 0;
    showPlaying();
  }
  showTime();
  requestAnimationFrame(tick);
}

playButton.addEventListener("click", toggle);
$("back").addEventListener("click", () => seekTo((player ? player.currentTime : 0) - SEEK_STEP));
$("forward").addEventListener("click", () => seekTo((player ? player.currentTime : 0) + SEEK_STEP));

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return;
  const onControl = event.target.closest && event.target.closest("button, a");
  if (event.key === " " && !onControl) {
    event.preventDefault();
    toggle();
  } else if ((event.key === "ArrowLeft" || event.key === "ArrowRight") && !event.target.closest("input")) {
    event.preventDefault();
    seekTo((player ? player.currentTime : 0) + (event.key === "ArrowLeft" ? -SEEK_STEP : SEEK_STEP));
  } else if (visualizerKey(viz, event)) {
    event.preventDefault();
  }
});

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
    return player;
  },
  visualizer: viz,
  mixer,
  ready: () => Boolean(player),
  playing: () => Boolean(player && player.playing),
  currentTime: () => (player ? player.currentTime : 0),
  currentLineIndex: () => (lyrics ? lyrics.index : -1),
};
