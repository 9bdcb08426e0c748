// Track page: ONE player (the shared Player, top of the page) that plays the
// original -- streamed by an <audio> element with Range requests, through Web
// Audio for the visualizer -- or, once the song is split, the stems as the Mixer
// sets them (remix-studio.js hands over the engine). A waveform of the original
// (peaks measured at upload) to seek on, the "split into stems" job with live
// progress, and the mixer with this song's remixes. Everything goes through the JSON API.

import { api, el, JOB_ACTIVE } from "./common.js";
import { bindKeys, bindTransport, MediaEngine, Player, watchJob } from "./player.js";
import { mountStudio } from "./remix-studio.js";
import { STEM_RATE } from "./stem-player.js";
import { fullscreenToggle, modeButtons, Visualizer, visualizerKey } from "./visualizer.js";
import { loadPeaks, Waveform } from "./waveform.js";

const STEM_LABELS = { vocals: "Vocals", accompaniment: "Accompaniment", drums: "Drums", bass: "Bass", piano: "Piano", other: "Other" };

const $ = (id) => document.getElementById(id);
const card = $("player-card");
const audio = $("player");
const playerError = $("player-error");
const stemsSection = $("stems");
const stemsBody = $("stems-body");
const karaokeLink = $("karaoke-link");
const vizPanel = $("viz-panel");
const vizHint = $("viz-hint");
const separationsUrl = stemsSection.dataset.separations;

// ---- Player -------------------------------------------------------------

const viz = new Visualizer($("viz"));
$("viz-tools").prepend(...modeButtons(viz));
const fullscreen = fullscreenToggle(vizPanel, (on) => {
  $("viz-fullscreen").textContent = on ? "Exit full screen" : "Full screen";
});
$("viz-fullscreen").addEventListener("click", () => fullscreen.toggle());

let audioContext = null;
let analyser = null;
let studio = null; // the mixer, once the stems exist

// One AudioContext for the page, made on the first press of a Play button:
// browsers only let a page start audio from a user gesture.
function getContext() {
  if (!audioContext) audioContext = new AudioContext({ sampleRate: STEM_RATE });
  return audioContext;
}

// A MediaElementSource silences the element until its context runs, so this
// too waits for the first Play.
function ensureGraph() {
  if (analyser) return;
  const context = getContext();
  const source = context.createMediaElementSource(audio);
  analyser = context.createAnalyser();
  analyser.fftSize = 2048;
  analyser.smoothingTimeConstant = 0.8;
  source.connect(analyser).connect(context.destination);
}

// The original, streamed by the <audio> element (Range requests).
const original = new MediaEngine(audio, {
  duration: Number(card.dataset.duration) || 0,
  beforePlay: async () => {
    ensureGraph();
    playerError.hidden = true;
    await audioContext.resume();
  },
});
const player = new Player({ engine: original });
original.attach(player);

function showPlayerError(message) {
  playerError.textContent = message;
  playerError.hidden = false;
}

bindTransport(player, {
  playButtons: [$("play")],
  back: $("back"),
  forward: $("forward"),
  seek: $("seek"),
  now: $("time-now"),
  total: $("time-total"),
  disableWhileLoading: false,
});
player.addEventListener("beforeplay", () => {
  // The visualizer shows whatever the one player plays.
  if (player.engine === original) ensureGraph();
  viz.setAnalyser(player.engine === original ? analyser : player.engine.analyser);
});
player.addEventListener("error", ({ detail }) => {
  $("source-loading").hidden = true;
  showPlayerError(detail.message);
});
player.addEventListener("loading", ({ detail }) => {
  playerError.hidden = true;
  $("source-loading").hidden = false;
  $("source-load-progress").value = 100 * detail.fraction;
});
player.addEventListener("ready", () => ($("source-loading").hidden = true));
player.addEventListener("state", ({ detail }) => {
  if (detail.playing) vizHint.hidden = true;
});
player.addEventListener("tick", ({ detail }) => {
  if (wave) wave.setTime(detail.time);
});
audio.addEventListener("loadedmetadata", () => {
  if (!original.knownDuration && original.duration) player.dispatchEvent(new CustomEvent("duration"));
});
audio.addEventListener("error", () => {
  if (audio.error) showPlayerError("This audio could not be loaded. Try reloading the page.");
});
bindKeys(() => player, {
  before: (event) => {
    if (event.key === "f" || event.key === "F") {
      fullscreen.toggle();
      return true;
    }
    return visualizerKey(viz, event);
  },
});

// ---- What Play plays: the original or the mix ---------------------------

let source = "original";

// Switch the one player, keeping the position and whether it was playing. The
// stems download only when the mix is to be heard: at once if the player is
// playing, else on the next Play.
async function useSource(name) {
  if (name === source || (name === "mix" && !studio)) return;
  source = name;
  for (const input of document.querySelectorAll('input[name="source"]')) input.checked = input.value === name;
  const at = player.currentTime;
  const wasPlaying = player.playing;
  if (name === "original") {
    if (player.engine) player.pause();
    player.setEngine(original);
  } else {
    player.setLoader(studio.loadEngine);
    if (!wasPlaying) return;
    try {
      await player.prepare();
    } catch {
      return; // the player's "error" says why
    }
  }
  player.seek(at);
  if (wasPlaying) player.play();
}
for (const input of document.querySelectorAll('input[name="source"]')) {
  input.addEventListener("change", () => useSource(input.value));
}

// ---- Waveform of the original -------------------------------------------

let wave = null;
let waveUrl = null; // the peaks being drawn (or asked for): one waveform only

// From the peaks measured at upload; a track from before those has none until
// it is split (then the job's own measure of the original).
async function showWaveform(url) {
  if (waveUrl || !url) return;
  waveUrl = url;
  $("wave-box").hidden = false;
  try {
    wave = new Waveform($("wave"), await loadPeaks(url), {
      duration: Number(card.dataset.duration) || player.duration,
      label: "Waveform of the song: click to seek",
      onSeek: (t) => player.seek(t),
    });
    wave.setActive(true);
    wave.setTime(player.currentTime);
    $("wave-loading").remove();
  } catch (err) {
    $("wave-loading").textContent = err.message;
  }
}
showWaveform(card.dataset.peaks);

// ---- Separation job ------------------------------------------------------

function renderJob(job, error) {
  stemsBody.replaceChildren();
  if (error) stemsBody.append(el("p", { class: "error", role: "alert" }, error));
  if (!job || job.status === "cancelled") {
    stemsBody.append(
      el("p", { class: "muted" }, job ? "The separation was cancelled." : "Split this song into vocals and accompaniment for karaoke and remixing."),
      el("button", { type: "button", class: "accent", id: "separate", onclick: () => start() }, "Split into stems"),
    );
    return;
  }
  // Sing now: karaoke plays a song while it is being split, from its first chunk on.
  karaokeLink.hidden = !(job.status === "succeeded" || (JOB_ACTIVE.has(job.status) && job.ready_seconds > 0));
  if (JOB_ACTIVE.has(job.status)) {
    const label = job.status === "queued" ? "Waiting for a worker…" : `Separating… ${job.progress}%`;
    stemsBody.append(
      el(
        "div",
        { class: "job-progress" },
        el("progress", { max: "100", value: String(job.progress), "aria-label": "Separation progress", id: "job-progress" }),
        el("span", { id: "job-status" }, label),
      ),
      el("button", { type: "button", onclick: () => act(job, "cancel") }, "Cancel"),
    );
    return;
  }
  if (job.status === "failed") {
    stemsBody.append(
      el("p", { class: "error", role: "alert", id: "job-error" }, job.error || "The separation failed."),
      el("button", { type: "button", class: "primary", onclick: () => act(job, "retry") }, "Retry"),
    );
    return;
  }
  const speed = job.realtime_factor ? ` at ${job.realtime_factor.toFixed(1)}× real time` : "";
  const names = job.stems.map((s) => (STEM_LABELS[s.name] || s.name).toLowerCase()).join(" and ");
  stemsBody.append(el("p", { class: "muted", id: "job-status" }, `Split into ${names}${speed}: mix them below, or play the original.`));
  $("sources").hidden = false;
  showWaveform(job.mixture_peaks_url);
  showMixer(job);
}

// ---- Mixer ---------------------------------------------------------------

function showMixer(job) {
  if (studio) return;
  const remixId = new URLSearchParams(window.location.search).get("remix");
  studio = mountStudio($("mixer"), {
    stems: job.stems,
    trackId: card.dataset.track,
    remixId,
    getContext,
    player,
    // Touching the mixer (or opening a remix) is asking to hear the mix.
    onMix: () => useSource("mix"),
  });
  window.stemroom = studio;
  if (remixId) $("mixer").scrollIntoView({ block: "start" });
}

let stopWatching = () => {};

function watch(job) {
  stopWatching();
  stopWatching = watchJob(job, (fresh) => renderJob(fresh), {
    onError: (err, last) => renderJob(last, `${err.message} Retrying…`),
  });
}

async function start() {
  const button = document.getElementById("separate");
  if (button) {
    button.disabled = true;
    button.textContent = "Starting…";
  }
  try {
    watch(await api(separationsUrl, { method: "POST", body: { model: "2stems" } }));
  } catch (err) {
    renderJob(null, err.message);
  }
}

async function act(job, action) {
  try {
    watch(await api(`/api/jobs/${job.id}/${action}/`, { method: "POST" }));
  } catch (err) {
    renderJob(job, err.message);
  }
}

async function load() {
  try {
    const jobs = (await api(separationsUrl)).filter((j) => j.model === "2stems");
    watch(jobs.find((j) => j.status === "succeeded") || jobs.find((j) => j.status !== "failed") || jobs[0] || null);
  } catch (err) {
    stemsBody.replaceChildren(
      el("p", { class: "error", role: "alert" }, `Could not load the stems: ${err.message}`),
      el("button", { type: "button", onclick: load }, "Try again"),
    );
  }
}

load();

// Forms that ask before they send (an inline onsubmit would break the Content-Security-Policy).
for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}
