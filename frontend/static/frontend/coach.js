// The karaoke coach: listens to the singer (microphone -> pitch-worklet.js), draws
// the melody as note bars with the sung pitch over them, as UltraStar does, and
// scores each lyric line and the song (coach-scoring.js). The melody is the
// song's analysis (GET /api/jobs/{id}/analysis/ notes); scores are saved per
// track with a personal best (/api/tracks/{id}/scores/).
//
// The microphone is asked for only when the singer turns the coach on; without
// one (or with permission denied) the coach says so and the player carries on.
//
// Timing: every pitch the worklet posts carries the context time of its frame, so
// it is placed on the song by the player's own clock, minus the latency the
// calibration measured (a click played and heard back, saved per browser). When
// "Sing" opens the microphone, the song's clock starts with the microphone's: the
// song starts at the position the microphone has been open for, so a recording fed
// in as the microphone (the tests' fake device) lines up with the song.
//
// Key and tempo changes (the `stemroom:keytempo` event): the bars move with the
// song (MIDI + semitones, times * 100 / tempo); the score is kept on the original
// timeline and key, so a change mid-song keeps what was sung.

import { api, clamp } from "./common.js";
import { MAX_SCORE, NOTE_WHOLE, Scorecard, TOLERANCE } from "./coach-scoring.js";

const LATENCY_KEY = "stemroom.coach.latencyMs";
const ANALYSIS_POLL_MS = 2000;
const MIC_WAIT_MS = 5000; // for the microphone's first sound after it opens
const WINDOW_BEFORE = 2; // seconds of song shown behind the now line
const WINDOW_AFTER = 6;
const TRAIL_SECONDS = WINDOW_BEFORE + 0.5;
const CLICKS = 3; // calibration clicks; the median latency counts
const CLICK_GAP = 0.7;
const MAX_LATENCY = 1.0; // an onset later than this after a click is not its echo

const MESSAGES = {
  NotAllowedError:
    "The microphone is blocked for this site, so the coach cannot hear you. Allow it in the browser's site settings and press Sing again; the player works without it.",
  SecurityError:
    "The microphone is blocked for this site, so the coach cannot hear you. Allow it in the browser's site settings and press Sing again; the player works without it.",
  NotFoundError: "No microphone found. Plug one in and press Sing again; the player works without it.",
  NotReadableError: "The microphone is busy in another program. Close it there and press Sing again.",
};

export const formatScore = (points) => Math.round(points).toLocaleString("en-US");

export function startCoach({ context, player, root }) {
  const box = document.getElementById("coach");
  if (!box) return null;
  const $ = (id) => document.getElementById(id);
  const canvas = $("coach-notes");
  const scoresUrl = box.dataset.scores || "";
  const state = {
    notes: [], // the original melody: [{start, end, midi}]
    lineStarts: [],
    card: null,
    semitones: 0,
    tempo: 100,
    latency: loadLatency(),
    mic: null, // {stream, node, source} once the microphone is open
    micOrigin: null, // context time of the microphone's first sample
    trail: [], // [{t (player time), midi}] for drawing
    running: false, // a scored run from Sing to the end of the song
    finished: false,
    final: null,
    alignment: null,
    saved: null,
    best: null,
    lastLine: -1,
    onsets: null, // the sharp sounds heard while calibrating
  };

  function message(text, { error = false } = {}) {
    $("coach-error").textContent = error ? text : "";
    $("coach-error").hidden = !error || !text;
    $("coach-status").textContent = error ? "" : text;
  }

  // ---- The melody -----------------------------------------------------------

  async function loadMelody() {
    const jobs = await api(root.dataset.separations);
    const job = jobs.find((j) => j.status === "succeeded" && (j.model || "2stems") === "2stems");
    if (!job) throw new Error("The coach scores a song once it is split into stems and its melody is learned.");
    const analysed = () =>
      api(`/api/jobs/${job.id}/analysis/`).catch((err) => {
        if (err.status === 404) throw new Error("The coach has no melody for this song here: it is learned when the song is split.");
        throw err;
      });
    let analysis = await analysed();
    while (analysis.status === "queued" || analysis.status === "running") {
      message(`Learning the melody… ${analysis.progress || 0}%`);
      await new Promise((done) => setTimeout(done, ANALYSIS_POLL_MS));
      analysis = await analysed();
    }
    if (analysis.status === "failed") throw new Error(`The melody could not be learned: ${analysis.error}`);
    if (!analysis.notes || !analysis.notes.length) throw new Error("No sung notes were found in this song's vocals.");
    state.notes = analysis.notes.map(({ start, end, midi }) => ({ start, end, midi }));
    try {
      const lyrics = await api(root.dataset.lyrics);
      state.lineStarts = lyrics.lines.map((line) => line.time + lyrics.offset_ms / 1000);
    } catch {
      state.lineStarts = []; // no lyrics: lines break at rests
    }
    newCard();
    message("");
  }

  let melody = null;
  function melodyReady() {
    melody ??= loadMelody().catch((err) => {
      melody = null; // try again on the next press
      throw err;
    });
    return melody;
  }

  function newCard() {
    state.card = new Scorecard(state.notes, { difficulty: $("coach-difficulty").value, lineStarts: state.lineStarts });
    state.trail = [];
    state.lastLine = -1;
    state.finished = false;
    state.final = null;
    showScore();
    $("coach-line").textContent = "";
    draw();
  }

  // ---- Scores ---------------------------------------------------------------

  function showScore() {
    const score = state.card ? state.card.score : 0;
    $("coach-score").textContent = formatScore(score);
    $("coach-score").setAttribute("aria-label", `Score ${formatScore(score)} of ${formatScore(MAX_SCORE)}`);
  }

  function showBest(best) {
    state.best = best;
    const difficulty = $("coach-difficulty").value;
    const value = best && best[difficulty];
    $("coach-best").textContent = value === null || value === undefined ? "" : `Personal best: ${formatScore(value)}`;
  }

  async function loadBest() {
    if (!scoresUrl) return;
    try {
      showBest((await api(scoresUrl)).personal_best);
    } catch {
      // the best is a nicety; the coach works without it
    }
  }

  async function finish() {
    if (!state.running || state.finished) return;
    state.finished = true;
    state.running = false;
    const score = state.card.score;
    state.final = score;
    $("coach-line").textContent = `Final score: ${formatScore(score)} of ${formatScore(MAX_SCORE)}.`;
    message("The song is over. Press Sing to go again.");
    if (!scoresUrl) return;
    try {
      const saved = await api(scoresUrl, { method: "POST", body: { score, difficulty: state.card.difficulty } });
      state.saved = saved;
      showBest(saved.personal_best);
      if (saved.new_best) $("coach-line").textContent += " A new personal best!";
    } catch (err) {
      message(`The score could not be saved: ${err.message}`, { error: true });
    }
  }

  // ---- Time and pitch --------------------------------------------------------

  const engine = () => player.engine;

  // Player time of the song at context time `time`, or null when it is not playing.
  function songTimeAt(time) {
    const e = engine();
    if (!e || !player.playing || e.startedAt === null || e.startedAt === undefined) return null;
    const t = e.offset + (time - e.startedAt);
    return t >= 0 ? t : null;
  }

  const toOriginal = (playerTime) => (playerTime * state.tempo) / 100;

  function onPitch({ time, midi, seconds }) {
    const t = songTimeAt(time - state.latency);
    if (t === null || !state.card) return;
    state.trail.push({ t, midi });
    while (state.trail.length && state.trail[0].t < t - TRAIL_SECONDS) state.trail.shift();
    if (!state.running) return;
    const original = toOriginal(t);
    state.card.judge(original, midi === null ? null : midi - state.semitones, toOriginal(seconds));
    showScore();
    showLines(original);
  }

  // The line just sung: its score, once the song is past its last note.
  function showLines(original) {
    const done = state.card.lines.filter((line) => line.end <= original);
    const line = done[done.length - 1];
    if (!line || line.index === state.lastLine) return;
    state.lastLine = line.index;
    const { points, max } = state.card.lineScore(line);
    const share = max ? points / max : 0;
    const word = share >= 0.9 ? "Perfect!" : share >= 0.7 ? "Great!" : share >= 0.4 ? "Good." : "Keep going.";
    $("coach-line").textContent = `Line ${line.index + 1}: ${formatScore(points)} of ${formatScore(max)}. ${word}`;
  }

  // ---- The microphone ----------------------------------------------------------

  async function openMic() {
    if (state.mic) return state.mic;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error("This browser gives the page no microphone here (it needs https, or localhost); the player works without it.");
    }
    let stream;
    try {
      // Raw sound: echo cancelling, noise suppression and gain riding bend a sung tone.
      stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
      });
    } catch (err) {
      throw new Error(MESSAGES[err.name] || `The microphone could not be opened (${err.message}); the player works without it.`);
    }
    let source;
    let node;
    try {
      await context.audioWorklet.addModule(new URL("./pitch-worklet.js", import.meta.url));
      // Browsers that cannot resample a microphone into the player's 44.1 kHz context refuse here.
      source = context.createMediaStreamSource(stream);
      node = new AudioWorkletNode(context, "stemroom-pitch", { numberOfOutputs: 1 });
    } catch (err) {
      stream.getTracks().forEach((track) => track.stop());
      throw new Error(`This browser cannot listen to the microphone here (${err.message}); the player works without it.`);
    }
    const started = new Promise((resolve) => {
      node.port.onmessage = ({ data }) => {
        if (data.type === "start") {
          state.micOrigin = data.time;
          resolve(data.time);
        } else if (data.type === "pitch") onPitch(data);
        else if (data.type === "onset" && state.onsets) state.onsets.push(data.time);
      };
    });
    // The node only runs when something pulls it; its output is silence.
    source.connect(node).connect(context.destination);
    state.mic = { stream, node, source, started };
    box.classList.add("listening");
    $("coach-off").hidden = false;
    return state.mic;
  }

  function closeMic() {
    if (!state.mic) return;
    state.mic.stream.getTracks().forEach((track) => track.stop());
    state.mic.source.disconnect();
    state.mic.node.disconnect();
    state.mic = null;
    state.running = false;
    box.classList.remove("listening");
    $("coach-off").hidden = true;
    message("The coach is off: the microphone is closed.");
  }

  // Sing: the microphone on (asked for now, the first time), the score from zero, the song from the top.
  async function sing() {
    const button = $("coach-sing");
    button.disabled = true;
    context.resume(); // inside the click: the browser lets audio start from a user gesture only
    try {
      await melodyReady();
      const firstTime = !state.mic;
      const mic = await openMic();
      if (!player.ready) await new Promise((ready) => player.addEventListener("ready", ready, { once: true }));
      newCard();
      if (player.playing) player.pause();
      let from = 0;
      if (firstTime) {
        // The song's clock starts with the microphone's first sample.
        const origin = await Promise.race([
          mic.started,
          new Promise((_, fail) =>
            setTimeout(() => fail(new Error("The microphone sends no sound. Check it is plugged in and not muted.")), MIC_WAIT_MS),
          ),
        ]);
        from = Math.max(0, context.currentTime + (engine().leadIn || 0) - origin);
      }
      player.seek(from);
      await player.play();
      const e = engine();
      state.alignment = firstTime && e.startedAt !== null ? e.startedAt - e.offset - state.micOrigin : null;
      state.running = true;
      message(`Listening. Sing along: ${difficultyText()}.`);
    } catch (err) {
      message(err.message, { error: true });
    } finally {
      button.disabled = false;
    }
  }

  const difficultyText = () => `${$("coach-difficulty").selectedOptions[0].textContent.toLowerCase()}`;

  // ---- Latency calibration ---------------------------------------------------------

  function loadLatency() {
    const ms = Number(window.localStorage.getItem(LATENCY_KEY));
    return Number.isFinite(ms) ? clamp(ms, 0, MAX_LATENCY * 1000) / 1000 : 0;
  }

  function showLatency() {
    $("coach-latency").textContent = `Microphone delay: ${Math.round(state.latency * 1000)} ms${
      window.localStorage.getItem(LATENCY_KEY) === null ? " (not calibrated)" : ""
    }.`;
  }

  function click(at) {
    const buffer = context.createBuffer(1, Math.round(context.sampleRate * 0.004), context.sampleRate);
    buffer.getChannelData(0).fill(0.9);
    const source = context.createBufferSource();
    source.buffer = buffer;
    source.connect(context.destination);
    source.start(at);
  }

  // Plays a few clicks and listens for each coming back through the microphone.
  async function calibrate() {
    const button = $("coach-calibrate");
    button.disabled = true;
    try {
      player.pause();
      await openMic();
      await context.resume();
      message("Calibrating: listen for three clicks, and keep quiet…");
      state.onsets = [];
      const first = context.currentTime + 0.3;
      const times = Array.from({ length: CLICKS }, (_, i) => first + i * CLICK_GAP);
      times.forEach(click);
      await new Promise((done) => setTimeout(done, (0.3 + CLICKS * CLICK_GAP + MAX_LATENCY) * 1000));
      const delays = times
        .map((at) => state.onsets.find((heard) => heard >= at && heard - at <= MAX_LATENCY))
        .map((heard, i) => (heard === undefined ? null : heard - times[i]))
        .filter((delay) => delay !== null)
        .sort((a, b) => a - b);
      if (delays.length < 2) {
        message(
          "The coach did not hear the clicks. Turn the speakers up (headphones keep them from the microphone) and calibrate again.",
          { error: true },
        );
        return;
      }
      state.latency = delays[Math.floor(delays.length / 2)];
      window.localStorage.setItem(LATENCY_KEY, String(Math.round(state.latency * 1000)));
      showLatency();
      message(`Calibrated: the microphone hears the song ${Math.round(state.latency * 1000)} ms late; saved for this browser.`);
    } catch (err) {
      message(err.message, { error: true });
    } finally {
      state.onsets = null;
      button.disabled = false;
    }
  }

  // ---- Drawing ---------------------------------------------------------------------

  function draw() {
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (!width || !height) return;
    const scale = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(width * scale) || canvas.height !== Math.round(height * scale)) {
      canvas.width = Math.round(width * scale);
      canvas.height = Math.round(height * scale);
    }
    const g = canvas.getContext("2d");
    g.setTransform(scale, 0, 0, scale, 0, 0);
    g.clearRect(0, 0, width, height);
    const notes = shownNotes();
    if (!notes.length) {
      // Empty state: say what will appear here rather than show a blank box.
      g.fillStyle = "#9aa0b4";
      g.font = "15px system-ui, sans-serif";
      g.textAlign = "center";
      g.textBaseline = "middle";
      const lines = state.card
        ? ["No sung notes in this song."]
        : ["The melody's note bars appear here", "once it is learned from the vocals."];
      lines.forEach((text, i) => g.fillText(text, width / 2, height / 2 + (i - (lines.length - 1) / 2) * 20, width - 16));
      return;
    }
    const now = player.currentTime;
    const low = Math.min(...notes.map((n) => n.midi)) - 3;
    const high = Math.max(...notes.map((n) => n.midi)) + 3;
    const x = (t) => ((t - (now - WINDOW_BEFORE)) / (WINDOW_BEFORE + WINDOW_AFTER)) * width;
    const y = (midi) => height - ((midi - low) / (high - low)) * height;
    const bar = Math.max(6, Math.min(14, height / (high - low)));
    for (const note of notes) {
      if (note.end < now - WINDOW_BEFORE || note.start > now + WINDOW_AFTER) continue;
      const left = x(note.start);
      const length = Math.max(2, x(note.end) - left);
      g.fillStyle = "#7c5cff55";
      g.strokeStyle = "#b7a6ff";
      g.lineWidth = 1;
      g.beginPath();
      g.roundRect(left, y(note.midi) - bar / 2, length, bar, bar / 2);
      g.fill();
      g.stroke();
      if (note.held > 0) {
        g.fillStyle = "#22c3a6";
        g.beginPath();
        g.roundRect(left, y(note.midi) - bar / 2, Math.min(length, (length * note.held) / (note.end - note.start) / NOTE_WHOLE), bar, bar / 2);
        g.fill();
      }
    }
    // The sung pitch, folded to the octave of the note it is judged against (or the middle of the staff).
    g.fillStyle = "#ffd166";
    for (const point of state.trail) {
      if (point.midi === null || point.t < now - WINDOW_BEFORE) continue;
      const target = notes.find((n) => n.start <= point.t && point.t < n.end);
      const centre = target ? target.midi : (low + high) / 2;
      const folded = centre + ((((point.midi - centre) % 12) + 18) % 12) - 6;
      g.beginPath();
      g.arc(x(point.t), y(clamp(folded, low, high)), 2.5, 0, 2 * Math.PI);
      g.fill();
    }
    g.strokeStyle = "#ffffffaa";
    g.beginPath();
    g.moveTo(x(now), 0);
    g.lineTo(x(now), height);
    g.stroke();
  }

  // The notes in the key and time the player plays them now, with what was held of each.
  function shownNotes() {
    if (!state.card) return [];
    const k = 100 / state.tempo;
    return state.card.notes.map((note) => ({
      start: note.start * k,
      end: note.end * k,
      midi: note.midi + state.semitones,
      held: note.held * k,
    }));
  }

  // ---- Wiring ---------------------------------------------------------------------

  $("coach-sing").addEventListener("click", sing);
  $("coach-off").addEventListener("click", closeMic);
  $("coach-calibrate").addEventListener("click", calibrate);
  $("coach-difficulty").addEventListener("change", () => {
    showBest(state.best);
    if (!state.card) return;
    state.card.difficulty = $("coach-difficulty").value;
    if (state.running) {
      newCard();
      message(`Difficulty changed: the score starts again. Sing along: ${difficultyText()}.`);
    }
  });
  player.addEventListener("tick", draw);
  player.addEventListener("ended", finish);
  window.addEventListener("resize", draw);
  document.addEventListener("stemroom:keytempo", (event) => {
    const { semitones = 0, tempo = 100 } = event.detail || {};
    state.semitones = Number(semitones) || 0;
    state.tempo = Number(tempo) || 100;
    draw();
  });

  showLatency();
  loadBest();
  // The bars show before the microphone is on; a song not ready yet says why when Sing is pressed.
  draw();
  melodyReady().then(draw, draw);

  return Object.freeze({
    score: () => (state.card ? state.card.score : 0),
    final: () => state.final,
    lineScores: () => (state.card ? state.card.lines.map((line) => state.card.lineScore(line)) : []),
    notes: () => shownNotes(),
    running: () => state.running,
    listening: () => Boolean(state.mic),
    alignment: () => state.alignment,
    latency: () => state.latency,
    saved: () => state.saved,
    tolerance: () => TOLERANCE[$("coach-difficulty").value],
  });
}
