// Track page: a player for the original or any stem (one <audio> element
// streamed with Range requests, routed through Web Audio for the visualizer),
// waveform overviews from the precomputed peaks, the "split into stems" job
// with live progress, and once the stems exist the mixer and this song's
// remixes (remix-studio.js). Everything goes through the JSON API.

import { api, el, formatTime, JOB_ACTIVE } from "./common.js";
import { bindKeys, bindTransport, MediaEngine, Player, watchJob } from "./player.js";
import { mountStudio } from "./remix-studio.js";
import { STEM_RATE } from "./stem-player.js";
import { fullscreenToggle, modeButtons, Visualizer, visualizerKey } from "./visualizer.js";
import { loadPeaks, Waveform } from "./waveform.js";

const STEM_LABELS = { vocals: "Vocals", accompaniment: "Accompaniment", drums: "Drums", bass: "Bass", piano: "Piano", other: "Other" };

const card = document.getElementById("player-card");
const audio = document.getElementById("player");
const playerError = document.getElementById("player-error");
const sourcesBox = document.getElementById("sources");
const sourceRows = document.getElementById("source-rows");
const stemsSection = document.getElementById("stems");
const stemsBody = document.getElementById("stems-body");
const karaokeLink = document.getElementById("karaoke-link");
const vizPanel = document.getElementById("viz-panel");
const vizHint = document.getElementById("viz-hint");
const separationsUrl = stemsSection.dataset.separations;

const sources = new Map([["original", { label: "Original", url: card.dataset.audio }]]);
let current = "original";
const waveforms = new Map();

// ---- Player -------------------------------------------------------------

const viz = new Visualizer(document.getElementById("viz"));
document.getElementById("viz-tools").prepend(...modeButtons(viz));
const fullscreen = fullscreenToggle(vizPanel, (on) => {
  document.getElementById("viz-fullscreen").textContent = on ? "Exit full screen" : "Full screen";
});
document.getElementById("viz-fullscreen").addEventListener("click", () => fullscreen.toggle());

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

// The original or one stem, streamed by the <audio> element (Range requests),
// routed through Web Audio for the visualizer.
const engine = new MediaEngine(audio, {
  duration: Number(card.dataset.duration) || 0,
  beforePlay: async () => {
    ensureGraph();
    viz.setAnalyser(analyser);
    active = player;
    if (studio) studio.pause();
    playerError.hidden = true;
    await audioContext.resume();
  },
});
const player = new Player({ engine });
engine.attach(player);
let active = player; // the player Space and the arrow keys drive: this one or the mixer's

function showPlayerError(message) {
  playerError.textContent = message;
  playerError.hidden = false;
}

audio.controls = false;
document.getElementById("transport").hidden = false;
bindTransport(player, {
  playButtons: [document.getElementById("play")],
  back: document.getElementById("back"),
  forward: document.getElementById("forward"),
  seek: document.getElementById("seek"),
  now: document.getElementById("time-now"),
  total: document.getElementById("time-total"),
  disableWhileLoading: false,
});
player.addEventListener("error", ({ detail }) => showPlayerError(detail.message));
player.addEventListener("state", ({ detail }) => {
  if (detail.playing) vizHint.hidden = true;
});
player.addEventListener("tick", ({ detail }) => {
  for (const wave of waveforms.values()) wave.setTime(detail.time);
});
audio.addEventListener("loadedmetadata", () => {
  if (!engine.knownDuration && engine.duration) player.dispatchEvent(new CustomEvent("duration"));
});
audio.addEventListener("error", () => {
  if (audio.error) showPlayerError("This audio could not be loaded. Try reloading the page.");
});

// Switch what plays, keeping the position and whether it was playing.
function select(name, at = audio.currentTime) {
  if (name === current || !sources.has(name)) return;
  const wasPlaying = !audio.paused;
  current = name;
  audio.src = sources.get(name).url;
  audio.addEventListener(
    "loadedmetadata",
    () => {
      audio.currentTime = at;
      if (wasPlaying) player.play();
    },
    { once: true },
  );
  for (const [key, wave] of waveforms) wave.setActive(key === name);
  for (const input of sourceRows.querySelectorAll('input[name="source"]')) input.checked = input.value === name;
}

bindKeys(() => active, {
  before: (event) => {
    if (event.key === "f" || event.key === "F") {
      fullscreen.toggle();
      return true;
    }
    return visualizerKey(viz, event);
  },
});

// One row per thing you can play: a radio button, its waveform, its download.
function sourceRow(name, { peaksUrl, download }) {
  const source = sources.get(name);
  const id = `source-${name}`;
  const canvas = el("canvas", { class: "wave" });
  const row = el(
    "div",
    { class: "source-row", "data-source": name },
    el(
      "label",
      { class: "source-pick", for: id },
      el("input", { type: "radio", name: "source", id, value: name, checked: name === current, onchange: () => select(name) }),
      el("span", {}, source.label),
    ),
    el("div", { class: "wave-box" }, canvas, el("span", { class: "wave-loading muted" }, "Loading waveform…")),
    download,
  );
  if (peaksUrl) {
    loadPeaks(peaksUrl)
      .then((peaks) => {
        const wave = new Waveform(canvas, peaks, {
          duration: player.duration,
          label: `${source.label} waveform: click to seek`,
          // Clicking another stem's waveform plays that stem from there.
          onSeek: (t) => (name === current ? player.seek(t) : select(name, t)),
          color: name === "vocals" ? "#22c3a6" : "#7c5cff",
        });
        wave.setActive(name === current);
        wave.setTime(player.currentTime);
        waveforms.set(name, wave);
        row.querySelector(".wave-loading").remove();
      })
      .catch((err) => {
        row.querySelector(".wave-loading").textContent = err.message;
      });
  } else {
    row.querySelector(".wave-box").remove();
  }
  return row;
}

let shownJobId = null;

function showSources(job) {
  if (shownJobId === job.id) return;
  shownJobId = job.id;
  for (const stem of job.stems) sources.set(stem.name, { label: STEM_LABELS[stem.name] || stem.name, url: stem.audio_url });
  const rows = [
    sourceRow("original", {
      peaksUrl: job.mixture_peaks_url,
      download: el("a", { class: "button small", href: `${card.dataset.audio}?download=1`, "aria-label": "Download the original" }, "⬇ Original"),
    }),
  ];
  for (const stem of job.stems) {
    rows.push(
      sourceRow(stem.name, {
        peaksUrl: stem.peaks_url,
        download: el(
          "a",
          {
            class: "button small",
            href: stem.flac_url,
            download: `${stem.name}.flac`,
            "data-download": stem.name,
            "aria-label": `Download ${stem.name} as FLAC`,
          },
          "⬇ FLAC",
        ),
      }),
    );
  }
  sourceRows.replaceChildren(...rows);
  sourcesBox.hidden = false;
}

// ---- Separation job ------------------------------------------------------

function renderJob(job, error) {
  stemsBody.replaceChildren();
  if (error) stemsBody.append(el("p", { class: "error", role: "alert" }, error));
  if (!job || job.status === "cancelled") {
    stemsBody.append(
      el("p", { class: "muted" }, job ? "The separation was cancelled." : "Split this song into vocals and accompaniment for karaoke and remixing."),
      el("button", { type: "button", class: "primary", id: "separate", onclick: () => start() }, "Split into stems"),
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
  stemsBody.append(
    el("p", { class: "muted", id: "job-status" }, `Split into ${names}${speed}. Pick what to play above, or download a stem.`),
    el(
      "ul",
      { class: "stem-list" },
      ...job.stems.map((stem) =>
        el(
          "li",
          { class: "stem", "data-stem": stem.name },
          el("strong", {}, STEM_LABELS[stem.name] || stem.name),
          el("span", { class: "muted" }, `${formatTime(stem.duration)} · ${(stem.size / 1024 ** 2).toFixed(1)} MB`),
          el(
            "a",
            { class: "button small", href: stem.flac_url, download: `${stem.name}.flac`, "aria-label": `Download ${stem.name} as FLAC` },
            "⬇ FLAC",
          ),
        ),
      ),
    ),
  );
  showSources(job);
  showMixer(job);
}

// ---- Mixer ---------------------------------------------------------------

function showMixer(job) {
  if (studio) return;
  const remixId = new URLSearchParams(window.location.search).get("remix");
  studio = mountStudio(document.getElementById("mixer"), {
    stems: job.stems,
    trackId: card.dataset.track,
    remixId,
    getContext,
    onPlay: (stemPlayer) => {
      // One thing plays at a time, and the visualizer shows it.
      player.pause();
      active = studio.transport;
      viz.setAnalyser(stemPlayer.analyser);
      vizHint.hidden = true;
    },
  });
  window.stemroom = studio;
  if (remixId) document.getElementById("mixer").scrollIntoView({ block: "start" });
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
