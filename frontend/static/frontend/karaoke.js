// Karaoke: the accompaniment with an adjustable "vocal guide" (the vocals stem's
// gain), synced lyrics (LRC, with word timing when the LRC has it), a
// tap-to-sync editor, a timing offset saved per song, and a full-screen stage
// with the visualizer behind the lyrics. Transport, keys, loading and the frame
// loop are the shared player's (player.js).
//
// "Sing now": on a song still being split it plays the stems as the worker makes
// them (progressive.js), then moves to the finished stems; a song with no stems
// yet gets a Split button that starts the job and plays as soon as it can.

import { api, clamp, el, formatTime, JOB_ACTIVE } from "./common.js";
import { startCoach } from "./coach.js";
import { askToConfirm } from "./confirm-dialog.js";
import { KeyTempo } from "./key-tempo.js";
import { LyricsView } from "./lyrics.js";
import { bindKeys, bindTransport, loadStems, Player, watchJob } from "./player.js";
import { ChunkFeed, ChunkGone, ProgressivePlayer } from "./progressive.js";
import { decodeStem, STEM_RATE } from "./stem-player.js";
import { StemWaves } from "./stem-waves.js";
import { fullscreenToggle, modeButtons, Visualizer, visualizerKey } from "./visualizer.js";

const OFFSET_SAVE_DELAY_MS = 600;
const DEFAULT_GUIDE = 50;
const WANTED = ["accompaniment", "vocals"];
// While separating, the job is polled this often: the first chunk is out about
// 0.3 s after a warm worker starts, and every poll may bring the next one.
const PROGRESSIVE_POLL_MS = 300;
const REQUEUED = "The worker separating this song stopped. Waiting for another worker to carry on; what is ready still plays.";
const RESTARTED = "The worker separating this song stopped; another worker took over and carries on.";

const root = document.getElementById("karaoke");
if (root) main();

function main() {
  const $ = (id) => document.getElementById(id);
  // At the stems' own rate, so decoding never resamples them (and chunks, decoded
  // one by one, join sample for sample).
  const context = new AudioContext({ sampleRate: STEM_RATE });
  const player = new Player();
  const viz = new Visualizer($("viz"), { background: "#0b0d13" });
  // Each stem's waveform: growing from the chunks' peaks while it separates, then the final peaks.
  const waves = new StemWaves(
    $("stem-waves"),
    Object.fromEntries(WANTED.map((name) => [name, $(`wave-${name}`)])),
    {
      duration: Number(root.dataset.duration) || 0,
      labels: { accompaniment: "Accompaniment", vocals: "Vocals" },
      colors: { accompaniment: "#7c5cff", vocals: "#22c3a6" },
      onSeek: (t) => player.seek(keyTempo.playerTime(t)),
    },
  );
  // Key and tempo (key-tempo.js): lyrics, waveforms and taps stay on the original's timeline.
  const keyTempo = new KeyTempo($("key-tempo"), { context, player });
  const songTime = () => keyTempo.songTime(player.currentTime);
  $("viz-tools").prepend(...modeButtons(viz));

  const guide = $("vocal-guide");
  const lyricsBox = $("lyrics-box");
  const lyricsList = $("lyrics");
  const lyricsError = $("lyrics-error");
  const lyricsSaved = $("lyrics-saved");
  const undoButton = $("lyrics-undo");
  const lrcText = $("lrc-text");
  const offsetInput = $("offset");
  const lyricsUrl = root.dataset.lyrics;

  let lyrics = new LyricsView(lyricsList, lyricsBox, { lines: [] });
  let hasLyrics = false;
  let savedLyrics = null; // the lyrics as last loaded or saved: what Undo puts back
  let offsetMs = 0;
  let lastGuide = DEFAULT_GUIDE;
  let tapping = null; // {lines: [...], times: [...]} while the tap-to-sync editor runs

  const engine = () => player.engine;
  const coach = startCoach({ context, player, root });

  // A read-only handle for tests and the curious (browser console).
  window.stemroom = Object.freeze({
    audioContext: context,
    get player() {
      return engine();
    },
    get analyser() {
      return engine() && engine().analyser;
    },
    visualizer: viz,
    get vocalsGain() {
      return engine() && engine().gain("vocals");
    },
    get accompanimentGain() {
      return engine() && engine().gain("accompaniment");
    },
    ready: () => player.ready,
    waiting: () => player.waiting,
    playing: () => player.playing,
    currentTime: () => player.currentTime,
    currentLineIndex: () => lyrics.index,
    lineCount: () => lyrics.lines.length,
    offsetMs: () => offsetMs,
    stageMode: () => stage.active,
    keyTempo: () => keyTempo.state,
    coach,
  });

  // ---- Stage ---------------------------------------------------------------

  const stage = fullscreenToggle($("stage"), (on) => {
    $("stage-toggle").textContent = on ? "Leave stage" : "Stage mode";
    requestAnimationFrame(() => lyrics.scrollTo(lyrics.index, false));
  });
  $("stage-toggle").addEventListener("click", () => stage.toggle());
  $("stage-exit").addEventListener("click", () => stage.toggle());

  // ---- Transport -----------------------------------------------------------

  function showError(message) {
    $("player-error").textContent = message;
    $("player-error").hidden = !message;
  }

  bindTransport(player, {
    playButtons: [$("play"), $("stage-play")],
    back: $("back"),
    forward: $("forward"),
    seek: $("seek"),
    now: $("time-now"),
    total: $("time-total"),
  });
  player.addEventListener("error", ({ detail }) => showError(detail.message));
  player.addEventListener("tick", ({ detail }) => {
    const time = keyTempo.songTime(detail.time);
    showLyricsAt(time);
    waves.setTime(time);
    if (tapping && tapping.times.length && tapping.times[tapping.times.length - 1] > time) {
      // Taps after a jump back would be out of order: forget those past the new position.
      while (tapping.times.length && tapping.times[tapping.times.length - 1] > time) tapping.times.pop();
      showTapState();
    }
  });

  function setGuide(percent, { immediate = false } = {}) {
    const value = clamp(Math.round(percent), 0, 100);
    guide.value = String(value);
    $("vocal-guide-value").textContent = `${value}%`;
    if (value > 0) lastGuide = value;
    const gain = engine() && engine().gain("vocals");
    if (!gain) return;
    if (immediate) gain.gain.value = value / 100;
    // A short glide instead of a jump: no click in the audio.
    else gain.gain.setTargetAtTime(value / 100, context.currentTime, 0.015);
  }
  guide.addEventListener("input", () => setGuide(Number(guide.value)));

  // ---- Loading the stems ---------------------------------------------------

  function showStatus(...children) {
    const status = $("stage-status");
    status.hidden = !children.length;
    status.replaceChildren(...children);
  }

  async function load() {
    showStatus(
      el("p", { id: "load-text" }, "Loading the stems…"),
      el("progress", { id: "load-progress", max: "100", value: "0", "aria-label": "Loading the stems" }),
    );
    try {
      const jobs = (await api(root.dataset.separations)).filter((j) => j.model === "2stems");
      const job = jobs.find((j) => j.status === "succeeded") || jobs.find((j) => JOB_ACTIVE.has(j.status));
      if (!job) throw new Error("This song's stems are not ready. Split it on the track page first.");
      if (job.status === "succeeded") {
        start(await loadFinished(job));
        showFinalWaves(job);
        keyTempo.enable(job);
      }
      else follow(job);
    } catch (err) {
      showStatus(el("p", { class: "error" }, err.message), el("button", { type: "button", onclick: load }, "Try again"));
    }
  }

  function wantedStems(job) {
    const stems = WANTED.map((name) => job.stems.find((s) => s.name === name));
    if (stems.some((stem) => !stem)) throw new Error("This song's stems are incomplete. Split it again on the track page.");
    return stems;
  }

  // A finished job: its stems decoded whole, as they always were.
  function loadFinished(job) {
    return loadStems(
      context,
      wantedStems(job).map((stem) => ({ name: stem.name, url: stem.audio_url })),
      (fraction) => ($("load-progress").value = 100 * fraction),
    );
  }

  function showFinalWaves(job) {
    waves.useFinal(wantedStems(job)).catch((err) => showError(err.message));
  }

  // ---- Sing now: playing while the worker separates -----------------------

  const separating = $("separating");
  const separatingText = $("separating-text");

  function showSeparating(text, { waiting = false } = {}) {
    separating.hidden = !text;
    separating.classList.toggle("waiting", waiting);
    separatingText.textContent = text || "";
  }

  // Plays `job`'s chunks as they come; `autoplay` when a press of Split started it.
  function follow(job, { autoplay = false } = {}) {
    const engine = new ProgressivePlayer(context, { names: WANTED, duration: Number(root.dataset.duration) || 0 });
    const feed = new ChunkFeed(context, engine, { names: WANTED, onPeaks: (manifest) => waves.fromManifest(manifest) });
    let ranBefore = false; // seen running: queued again means its worker died
    let attempts = job.attempts;
    let problem = ""; // what went wrong, said in the player until it is over
    let finishing = null;
    start(engine);
    showStatus();
    if (autoplay) player.play();

    const describe = () => {
      if (engine.final) return showSeparating("");
      const ready = formatTime(engine.readyEnd);
      const fill = engine.duration ? Math.min(100, (100 * engine.readyEnd) / engine.duration) : 0;
      $("ready-fill").style.width = `${fill}%`;
      showStatus();
      if (problem) return showSeparating(problem);
      if (engine.waiting) {
        const first = engine.readyEnd === 0;
        showStatus(el("p", { class: "waiting" }, "Separating…"));
        return showSeparating(first ? "Separating… it starts in a moment." : `Separating… ${ready} ready; it goes on in a moment.`, { waiting: true });
      }
      showSeparating(engine.complete ? "Separated. Loading the finished stems…" : `Separating: ${ready} of ${formatTime(engine.duration)} ready. Seek within it.`);
    };
    player.addEventListener("state", describe);

    const fetchChunks = (url) =>
      feed
        .fetchMore(url)
        .then(describe)
        .catch((err) => {
          // The job's status says why chunks went (cancelled, failed, restarted): the next poll shows it.
          if (!(err instanceof ChunkGone)) showError(err.message);
        });

    const onJob = (fresh) => {
      if (fresh.status === "running") {
        // A higher attempt, or running again after queued: a new worker took over from a dead one.
        if (ranBefore && (fresh.attempts > attempts || problem === REQUEUED)) problem = RESTARTED;
        ranBefore = true;
        attempts = fresh.attempts;
      } else if (fresh.status === "queued" && ranBefore) {
        problem = REQUEUED;
      } else if (fresh.status === "failed") {
        problem = `The separation failed: ${fresh.error || "no reason given"}. What was ready still plays; try again on the track page.`;
        engine.markComplete();
      } else if (fresh.status === "cancelled") {
        problem = "The separation was cancelled. What was ready still plays; split it again to hear the rest.";
        engine.markComplete();
      }
      if (fresh.chunks_url && JOB_ACTIVE.has(fresh.status)) fetchChunks(fresh.chunks_url);
      if (fresh.status === "succeeded" && !finishing) finishing = finish(fresh);
      describe();
    };

    // The job is done: the finished stems take over. The lossless ones when
    // chunks played (they equal the chunks, so the change is seamless), the
    // usual browser rendition when nothing was heard yet.
    const finish = async (done) => {
      try {
        if (done.chunks_url) fetchChunks(done.chunks_url); // the rest of the chunks, to play on meanwhile
        const heard = engine.readyEnd > 0;
        const stems = wantedStems(done);
        const buffers = await Promise.all(
          stems.map((stem) => decodeStem(context, stem.name, heard ? stem.flac_url : stem.audio_url)),
        );
        engine.useFinal(Object.fromEntries(stems.map((stem, i) => [stem.name, buffers[i]])));
        showFinalWaves(done);
        keyTempo.enable(done);
        problem = "";
        describe();
        player.dispatchEvent(new CustomEvent("duration"));
      } catch (err) {
        showError(`The finished stems could not be loaded: ${err.message}`);
      }
    };

    watchJob(job, onJob, {
      interval: PROGRESSIVE_POLL_MS,
      onError: (err) => showSeparating(`${err.message} Retrying…`),
    });
  }

  // The notice's "Split and sing now": start the job, then play it as it comes.
  function offerSplit(notice) {
    const button = $("sing-now");
    button.addEventListener("click", async () => {
      button.disabled = true;
      // Resumed inside the click: the browser lets audio start from a user gesture only.
      context.resume();
      try {
        const job = await api(root.dataset.separations, { method: "POST", body: { model: "2stems" } });
        notice.remove();
        root.hidden = false;
        follow(job, { autoplay: true });
      } catch (err) {
        button.disabled = false;
        $("sing-now-error").textContent = err.message;
        $("sing-now-error").hidden = false;
      }
    });
  }

  function start(stemPlayer) {
    showStatus();
    viz.setAnalyser(stemPlayer.analyser);
    player.setEngine(stemPlayer);
    setGuide(Number(guide.value), { immediate: true });
  }

  // ---- Lyrics display ------------------------------------------------------

  function showLyrics(data) {
    hasLyrics = Boolean(data);
    savedLyrics = data || null;
    offsetMs = data ? data.offset_ms : offsetMs;
    offsetInput.value = String(offsetMs);
    if (data && document.activeElement !== lrcText) lrcText.value = data.lrc;
    $("lrc-delete").hidden = !hasLyrics;
    $("lyrics-empty").hidden = hasLyrics;
    lyrics = new LyricsView(lyricsList, lyricsBox, { lines: data ? data.lines : [], offset_ms: offsetMs });
    showLyricsAt(songTime());
  }

  function showLyricsAt(seconds) {
    const before = lyrics.index;
    const index = lyrics.show(seconds);
    if (index === before) return;
    const next = lyrics.lines[index + 1];
    $("next-line").hidden = !next;
    $("next-text").textContent = next ? next.text || "♪" : "";
  }

  // ---- Lyrics editing ------------------------------------------------------

  function lyricsMessage({ error = "", saved = "" }) {
    lyricsError.textContent = error;
    lyricsError.hidden = !error;
    lyricsSaved.textContent = saved;
    undoButton.hidden = true;
  }

  // Undo the last save: put the lyrics from before it back (or delete them if there were none).
  let undoTo = null;
  function offerUndo(previous) {
    undoTo = previous;
    undoButton.hidden = false;
  }
  undoButton.addEventListener("click", async () => {
    const previous = undoTo;
    undoButton.disabled = true;
    try {
      if (previous) {
        const body = { lrc: previous.lrc, offset_ms: previous.offset_ms };
        const restored = await api(lyricsUrl, { method: "PUT", body });
        lrcText.value = restored.lrc;
        showLyrics(restored);
        lyricsMessage({ saved: "Undone: the lyrics from before are back." });
      } else {
        await api(lyricsUrl, { method: "DELETE" });
        lrcText.value = "";
        showLyrics(null);
        lyricsMessage({ saved: "Undone: this song has no lyrics again." });
      }
    } catch (err) {
      lyricsMessage({ error: `Could not undo: ${err.message}` });
    } finally {
      undoButton.disabled = false;
    }
  });

  // Point the textarea at the line an LRC error names ("lrc: Line 3: ...").
  function selectErrorLine(message) {
    const match = /Line (\d+):/.exec(message);
    if (!match) return;
    const all = lrcText.value.split("\n");
    const n = Number(match[1]) - 1;
    if (n >= all.length) return;
    const start = all.slice(0, n).reduce((sum, text) => sum + text.length + 1, 0);
    lrcText.focus();
    lrcText.setSelectionRange(start, start + all[n].length);
  }

  async function saveLyrics(body, what) {
    const previous = savedLyrics;
    lyricsMessage({ saved: "Saving…" });
    try {
      const saved = await api(lyricsUrl, { method: "PUT", body });
      showLyrics(saved);
      lyricsMessage({ saved: `${what} saved: ${saved.lines.length} line${saved.lines.length === 1 ? "" : "s"}.` });
      offerUndo(previous);
      return true;
    } catch (err) {
      lyricsMessage({ error: err.message });
      if (!(body instanceof FormData)) selectErrorLine(err.message);
      return false;
    }
  }

  function lrcBody(lrc) {
    // Before any lyrics exist, an offset set here rides along with the first save.
    return !hasLyrics && offsetMs ? { lrc, offset_ms: offsetMs } : { lrc };
  }

  $("lrc-save").addEventListener("click", () => {
    if (!lrcText.value.trim()) {
      lyricsMessage({ error: "Paste some LRC lyrics first." });
      lrcText.focus();
      return;
    }
    saveLyrics(lrcBody(lrcText.value), "Lyrics");
  });

  $("lrc-file").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    const form = new FormData();
    form.append("file", file);
    await saveLyrics(form, `“${file.name}”`);
    event.target.value = "";
  });

  $("lrc-delete").addEventListener("click", async () => {
    if (!window.confirm("Delete this song's lyrics?")) return;
    try {
      await api(lyricsUrl, { method: "DELETE" });
      lrcText.value = "";
      showLyrics(null);
      lyricsMessage({ saved: "Lyrics deleted." });
    } catch (err) {
      lyricsMessage({ error: err.message });
    }
  });

  let offsetTimer = null;
  function setOffset(value) {
    offsetMs = clamp(Math.round(Number(value) || 0), -30000, 30000);
    offsetInput.value = String(offsetMs);
    lyrics.setOffset(offsetMs);
    showLyricsAt(songTime());
    clearTimeout(offsetTimer);
    if (!hasLyrics) return; // saved with the lyrics
    offsetTimer = setTimeout(async () => {
      try {
        const saved = await api(lyricsUrl, { method: "PATCH", body: { offset_ms: offsetMs } });
        lyricsMessage({ saved: `Offset saved: ${saved.offset_ms} ms.` });
      } catch (err) {
        lyricsMessage({ error: err.message });
      }
    }, OFFSET_SAVE_DELAY_MS);
  }
  offsetInput.addEventListener("change", () => setOffset(offsetInput.value));
  $("offset-earlier").addEventListener("click", () => setOffset(offsetMs - 100));
  $("offset-later").addEventListener("click", () => setOffset(offsetMs + 100));

  async function loadLyrics() {
    try {
      showLyrics(await api(lyricsUrl));
    } catch (err) {
      if (err.status === 404) showLyrics(null);
      else lyricsMessage({ error: `Could not load the lyrics: ${err.message}` });
    }
  }

  // ---- Tap to sync ---------------------------------------------------------

  function lrcTime(seconds) {
    const centis = Math.round(seconds * 100);
    const m = String(Math.floor(centis / 6000)).padStart(2, "0");
    const s = String(Math.floor((centis % 6000) / 100)).padStart(2, "0");
    return `${m}:${s}.${String(centis % 100).padStart(2, "0")}`;
  }

  function showTapState() {
    if (!tapping) return;
    const done = tapping.times.length;
    $("tap-next").textContent = done < tapping.lines.length ? tapping.lines[done] : "(all lines tapped)";
    $("tap-count").textContent = `${done} of ${tapping.lines.length} tapped`;
  }

  function startTapping() {
    const tapLines = $("tap-text").value.split("\n").map((line) => line.trim()).filter(Boolean);
    if (!tapLines.length) {
      lyricsMessage({ error: "Paste the plain lyrics first, one line per line." });
      $("tap-text").focus();
      return;
    }
    if (!player.ready) {
      lyricsMessage({ error: "Wait until the song has loaded." });
      return;
    }
    lyricsMessage({});
    tapping = { lines: tapLines, times: [] };
    $("tap-idle").hidden = true;
    $("tap-live").hidden = false;
    $("tap-panel").classList.add("tapping");
    showTapState();
    $("tap-button").focus();
    player.seek(0);
    if (!player.playing) player.play().catch(() => {});
  }

  function tap() {
    if (!tapping || tapping.times.length >= tapping.lines.length) return;
    tapping.times.push(songTime());
    showTapState();
    if (tapping.times.length === tapping.lines.length) finishTapping();
  }

  function undoTap() {
    if (!tapping) return;
    tapping.times.pop();
    showTapState();
  }

  function stopTapping() {
    tapping = null;
    $("tap-idle").hidden = false;
    $("tap-live").hidden = true;
    $("tap-panel").classList.remove("tapping");
  }

  async function finishTapping() {
    if (!tapping) return;
    if (!tapping.times.length) {
      lyricsMessage({ error: "Tap at least one line first (Enter or T as the line starts)." });
      return;
    }
    const lrc = tapping.times.map((time, i) => `[${lrcTime(time)}]${tapping.lines[i]}`).join("\n") + "\n";
    stopTapping();
    lrcText.value = lrc;
    if (savedLyrics) {
      // Minutes of someone's timing work are on the line: ask, and keep the taps either way.
      const count = savedLyrics.lines.length;
      const replace = await askToConfirm($("confirm-dialog"), {
        title: "Replace the saved lyrics?",
        text: `This song already has synced lyrics (${count} line${count === 1 ? "" : "s"}). Your tapped timings would replace them; you can undo right after.`,
        confirm: "Replace them",
        cancel: "Keep the saved lyrics",
      });
      if (!replace) {
        lyricsMessage({ saved: "Not saved: your tapped timings are in the LRC box, to edit or save." });
        return;
      }
    }
    await saveLyrics(lrcBody(lrc), "Tapped lyrics");
  }

  $("tap-start").addEventListener("click", startTapping);
  $("tap-button").addEventListener("click", tap);
  $("tap-undo").addEventListener("click", undoTap);
  $("tap-finish").addEventListener("click", finishTapping);
  $("tap-cancel").addEventListener("click", stopTapping);

  // ---- Keyboard ------------------------------------------------------------

  bindKeys(() => player, {
    before: (event) => {
      if (tapping && (event.key === "Enter" || event.key === "t" || event.key === "T")) {
        tap();
        return true;
      }
      if (tapping && event.key === "Backspace") {
        undoTap();
        return true;
      }
      if (event.key === "v" || event.key === "V") {
        setGuide(Number(guide.value) > 0 ? 0 : lastGuide);
        return true;
      }
      if (event.key === "f" || event.key === "F") {
        stage.toggle();
        return true;
      }
      return visualizerKey(viz, event);
    },
  });

  const notice = $("karaoke-unavailable");
  if (notice) offerSplit(notice);
  else load();
  loadLyrics();
}
