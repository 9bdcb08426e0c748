// Karaoke: the accompaniment with an adjustable "vocal guide" (the vocals stem's
// gain), synced lyrics (LRC, with word timing when the LRC has it), a
// tap-to-sync editor, a timing offset saved per song, and a full-screen stage
// with the visualizer behind the lyrics. Transport, keys, loading and the frame
// loop are the shared player's (player.js).

import { api, clamp, el } from "./common.js";
import { LyricsView } from "./lyrics.js";
import { bindKeys, bindTransport, loadStems, Player } from "./player.js";
import { STEM_RATE } from "./stem-player.js";
import { fullscreenToggle, modeButtons, Visualizer, visualizerKey } from "./visualizer.js";

const OFFSET_SAVE_DELAY_MS = 600;
const DEFAULT_GUIDE = 50;
const WANTED = ["accompaniment", "vocals"];

const root = document.getElementById("karaoke");
if (root) main();
else watchUntilReady();

// The "stems are not ready" page reopens as the player once the job finishes.
function watchUntilReady() {
  const notice = document.getElementById("karaoke-unavailable");
  if (!notice || !notice.dataset.watch) return;
  const check = async () => {
    try {
      const track = await api(notice.dataset.trackApi);
      const status = track.separation && track.separation.status;
      if (status !== "queued" && status !== "running") {
        window.location.reload();
        return;
      }
    } catch {
      // Keep waiting; the next round may reach the server.
    }
    setTimeout(check, 3000);
  };
  setTimeout(check, 3000);
}

function main() {
  const $ = (id) => document.getElementById(id);
  // At the stems' own rate, so decoding never resamples them (and chunks, decoded
  // one by one, join sample for sample).
  const context = new AudioContext({ sampleRate: STEM_RATE });
  const player = new Player();
  const viz = new Visualizer($("viz"), { background: "#0b0d13" });
  $("viz-tools").prepend(...modeButtons(viz));

  const guide = $("vocal-guide");
  const lyricsBox = $("lyrics-box");
  const lyricsList = $("lyrics");
  const lyricsError = $("lyrics-error");
  const lyricsSaved = $("lyrics-saved");
  const lrcText = $("lrc-text");
  const offsetInput = $("offset");
  const lyricsUrl = root.dataset.lyrics;

  let lyrics = new LyricsView(lyricsList, lyricsBox, { lines: [] });
  let hasLyrics = false;
  let offsetMs = 0;
  let lastGuide = DEFAULT_GUIDE;
  let tapping = null; // {lines: [...], times: [...]} while the tap-to-sync editor runs

  const engine = () => player.engine;

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
    playing: () => player.playing,
    currentTime: () => player.currentTime,
    currentLineIndex: () => lyrics.index,
    lineCount: () => lyrics.lines.length,
    offsetMs: () => offsetMs,
    stageMode: () => stage.active,
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
    showLyricsAt(detail.time);
    if (tapping && tapping.times.length && tapping.times[tapping.times.length - 1] > detail.time) {
      // Taps after a jump back would be out of order: forget those past the new position.
      while (tapping.times.length && tapping.times[tapping.times.length - 1] > detail.time) tapping.times.pop();
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
    let stems;
    try {
      const jobs = await api(root.dataset.separations);
      const job = jobs.find((j) => j.model === "2stems" && j.status === "succeeded");
      if (!job) throw new Error("This song's stems are not ready. Split it on the track page first.");
      stems = WANTED.map((name) => job.stems.find((s) => s.name === name));
      if (stems.some((stem) => !stem)) throw new Error("This song's stems are incomplete. Split it again on the track page.");
      const loaded = await loadStems(
        context,
        stems.map((stem) => ({ name: stem.name, url: stem.audio_url })),
        (fraction) => ($("load-progress").value = 100 * fraction),
      );
      start(loaded);
    } catch (err) {
      showStatus(el("p", { class: "error" }, err.message), el("button", { type: "button", onclick: load }, "Try again"));
    }
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
    offsetMs = data ? data.offset_ms : offsetMs;
    offsetInput.value = String(offsetMs);
    if (data && document.activeElement !== lrcText) lrcText.value = data.lrc;
    $("lrc-delete").hidden = !hasLyrics;
    $("lyrics-empty").hidden = hasLyrics;
    lyrics = new LyricsView(lyricsList, lyricsBox, { lines: data ? data.lines : [], offset_ms: offsetMs });
    showLyricsAt(player.currentTime);
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
  }

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
    lyricsMessage({ saved: "Saving…" });
    try {
      const saved = await api(lyricsUrl, { method: "PUT", body });
      showLyrics(saved);
      lyricsMessage({ saved: `${what} saved: ${saved.lines.length} line${saved.lines.length === 1 ? "" : "s"}.` });
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
    showLyricsAt(player.currentTime);
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
    tapping.times.push(player.currentTime);
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

  load();
  loadLyrics();
}
