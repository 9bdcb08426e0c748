// The one player every page that plays a song builds on (track page, karaoke,
// remix mixer, shared remix):
//
//   - onFrame(): the page's single requestAnimationFrame loop; the visualizer
//     draws from it and every Player emits its "tick" from it;
//   - Player: transport state (play / pause / seek / position) over an engine,
//     which is a StemPlayer (stems on one AudioContext clock), a
//     ProgressivePlayer (progressive.js: stems arriving in chunks) or an <audio> element
//     (MediaEngine). It is an EventTarget: "tick" {time} every frame while it
//     plays and after every jump, "state" when it starts or stops, "loading"
//     {fraction}, "ready", "error" {message};
//   - bindTransport(): play buttons, ±5 s, the position slider and the clock;
//   - bindKeys(): Space, ←/→ for whichever player the page says is active;
//   - loadStems(): fetch + decodeAudioData every stem with one progress figure;
//   - watchJob(): poll a separation job while it is queued or running.
//
// Pages keep only what is theirs (lyrics, mixer, sources); lyrics, waveforms and
// clocks follow a player by listening to its "tick".

import { api, clamp, formatTime, isTyping, JOB_ACTIVE } from "./common.js";
import { StemPlayer } from "./stem-player.js";

export const SEEK_STEP = 5;
export const POLL_MS = 1000;

// ---- One animation-frame loop per page -----------------------------------

const frameListeners = new Set();
let frameRequested = false;

function requestFrame() {
  if (frameRequested || !frameListeners.size) return;
  frameRequested = true;
  requestAnimationFrame(runFrame);
}

function runFrame(now) {
  frameRequested = false;
  for (const listener of [...frameListeners]) listener(now);
  requestFrame();
}

// Call listener(now) on every frame the display shows until the returned function is called.
export function onFrame(listener) {
  frameListeners.add(listener);
  requestFrame();
  return () => frameListeners.delete(listener);
}

// ---- Player -----------------------------------------------------------------

export class Player extends EventTarget {
  // engine: something that plays (see the module comment), or null with
  // `load(report)`: an async function making one on first use (report(fraction)
  // while it downloads), so a page can wait for a press of Play to fetch stems.
  constructor({ engine = null, load = null } = {}) {
    super();
    this.engine = null;
    this._load = load;
    this._loading = null;
    this._stopFrames = null;
    if (engine) this.setEngine(engine);
  }

  setEngine(engine) {
    this.engine = engine;
    // A progressive engine stops and starts by itself (waiting for the worker).
    if ("onchange" in engine) engine.onchange = () => this.changed();
    this._emit("ready");
    this.changed();
  }

  // Play something else from now on, made by `load` on the next play or seek
  // (see the constructor); what played before stops.
  setLoader(load) {
    if (this.engine && this.playing) this.engine.pause();
    this.engine = null;
    this._load = load;
    this._loading = null;
    this.changed();
  }

  get ready() {
    return Boolean(this.engine) && !this._loading;
  }

  // Playing, or about to: a progressive engine waiting for the next chunk counts
  // (Space then pauses it, and it goes on by itself once the audio is there).
  get playing() {
    return Boolean(this.engine && (this.engine.playing || this.engine.waiting));
  }

  get waiting() {
    return Boolean(this.engine && this.engine.waiting);
  }

  get currentTime() {
    return this.engine ? this.engine.currentTime : 0;
  }

  get duration() {
    return this.engine ? this.engine.duration : 0;
  }

  // How far a seek may go: the whole song, or only the part a progressive engine has.
  get seekable() {
    if (!this.engine) return 0;
    return this.engine.seekable ?? this.engine.duration;
  }

  // Resolves with the engine, loading it first if needed.
  prepare() {
    if (this.engine) return Promise.resolve(this.engine);
    if (this._loading) return this._loading;
    if (!this._load) return Promise.reject(new Error("Nothing to play yet."));
    this._emit("loading", { fraction: 0 });
    this._loading = this._load((fraction) => this._emit("loading", { fraction }))
      .then((engine) => {
        this._loading = null;
        this.setEngine(engine);
        return engine;
      })
      .catch((err) => {
        this._loading = null;
        this._emit("error", { message: err.message });
        throw err;
      });
    return this._loading;
  }

  async play() {
    const engine = await this.prepare();
    this._emit("beforeplay");
    const started = engine.play();
    this.changed();
    try {
      await started;
    } catch (err) {
      this._emit("error", { message: `Cannot start the audio: ${err.message}` });
      this.changed();
    }
  }

  pause() {
    if (!this.playing) return;
    this.engine.pause();
    this.changed();
  }

  toggle() {
    if (this.playing) this.pause();
    else this.play().catch(() => {});
  }

  seek(seconds) {
    if (!this.engine) {
      this.prepare()
        .then(() => this.seek(seconds))
        .catch(() => {});
      return;
    }
    this.engine.seek(clamp(seconds, 0, this.seekable));
    this.changed();
  }

  seekBy(seconds) {
    this.seek(this.currentTime + seconds);
  }

  // The engine started, stopped or jumped (by itself, or through the calls
  // above): tell the page, and run the frame loop only while it plays.
  changed() {
    const playing = this.playing;
    if (playing && !this._stopFrames) this._stopFrames = onFrame(() => this._frame());
    if (!playing && this._stopFrames) {
      this._stopFrames();
      this._stopFrames = null;
    }
    const waiting = this.waiting;
    if (playing !== this._wasPlaying || waiting !== this._wasWaiting) {
      this._wasPlaying = playing;
      this._wasWaiting = waiting;
      this._emit("state", { playing, waiting });
    }
    this._emit("tick", { time: this.currentTime });
  }

  _frame() {
    if (!this.engine) return;
    if (this.engine.frame) this.engine.frame(); // a progressive engine watches its ready part
    if (this.playing && this.duration > 0 && this.currentTime >= this.duration) {
      this.engine.pause();
      this._emit("ended");
    }
    if (!this.playing) {
      this.changed();
      return;
    }
    this._emit("tick", { time: this.currentTime });
  }

  _emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

// An <audio> element as a Player's engine. `beforePlay` runs first (the track
// page connects it to its AudioContext there); the element's own play/pause
// events (it ends, or the page swaps its source) reach the Player.
export class MediaEngine {
  constructor(audio, { beforePlay = async () => {}, duration = 0 } = {}) {
    this.audio = audio;
    this.beforePlay = beforePlay;
    this.knownDuration = duration;
  }

  attach(player) {
    for (const type of ["play", "pause", "seeked", "loadedmetadata"]) this.audio.addEventListener(type, () => player.changed());
  }

  get playing() {
    return !this.audio.paused;
  }

  get currentTime() {
    return this.audio.currentTime;
  }

  get duration() {
    return this.knownDuration || (Number.isFinite(this.audio.duration) ? this.audio.duration : 0);
  }

  async play() {
    await this.beforePlay();
    await this.audio.play();
  }

  pause() {
    this.audio.pause();
  }

  seek(seconds) {
    this.audio.currentTime = seconds;
  }
}

// ---- Transport controls ---------------------------------------------------------

// Wires a page's controls to a player; every element is optional.
// labels: what the play buttons say to screen readers in each state.
export function bindTransport(
  player,
  { playButtons = [], back, forward, seek, now, total, labels = { play: "Play", pause: "Pause" }, disableWhileLoading = true },
) {
  const showPlaying = () => {
    const on = player.playing;
    for (const button of playButtons) {
      button.textContent = on ? "❚❚" : "▶";
      button.setAttribute("aria-label", on ? labels.pause : labels.play);
    }
  };
  const showDuration = () => {
    const duration = player.duration;
    if (!duration) return;
    if (seek) seek.max = String(duration);
    if (total) total.textContent = formatTime(duration);
  };
  for (const button of playButtons) button.addEventListener("click", () => player.toggle());
  if (back) back.addEventListener("click", () => player.seekBy(-SEEK_STEP));
  if (forward) forward.addEventListener("click", () => player.seekBy(SEEK_STEP));
  if (seek) seek.addEventListener("input", () => player.seek(Number(seek.value)));
  player.addEventListener("tick", ({ detail }) => {
    if (now) now.textContent = formatTime(detail.time);
    if (seek && document.activeElement !== seek) seek.value = String(detail.time);
  });
  player.addEventListener("state", showPlaying);
  player.addEventListener("ready", () => {
    showDuration();
    if (disableWhileLoading) for (const button of playButtons) button.disabled = false;
  });
  player.addEventListener("duration", showDuration);
  if (disableWhileLoading) {
    player.addEventListener("loading", () => {
      for (const button of playButtons) button.disabled = true;
    });
    player.addEventListener("error", () => {
      for (const button of playButtons) button.disabled = false;
    });
  }
  showPlaying();
  showDuration();
}

// ---- Keyboard -----------------------------------------------------------------

// Space plays/pauses and ←/→ seek 5 s on getPlayer()'s player. `before(event)`
// sees every key first (the page's own: visualizer views, full screen, ...)
// and returns true when it used it.
export function bindKeys(getPlayer, { before = () => false } = {}) {
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return;
    if (document.querySelector("dialog[open]")) return; // a modal question owns the keyboard
    const target = event.target;
    const inside = (selector) => Boolean(target.closest && target.closest(selector));
    if (before(event)) {
      event.preventDefault();
      return;
    }
    const player = getPlayer();
    if (!player) return;
    if (event.key === " ") {
      if (inside("button, a, label.button, input[type=radio]")) return; // Space presses the focused control
      event.preventDefault();
      player.toggle();
    } else if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      if (inside("input")) return; // sliders use their arrows
      event.preventDefault();
      player.seekBy(event.key === "ArrowLeft" ? -SEEK_STEP : SEEK_STEP);
    }
  });
}

// ---- Loading stems ------------------------------------------------------------------

// stems: [{name, url}] -> a StemPlayer holding them all, decoded whole.
// report(fraction) follows the downloads together.
export async function loadStems(context, stems, report = () => {}) {
  const player = new StemPlayer(context);
  const progress = new Map();
  const update = (name, loaded, total) => {
    progress.set(name, [loaded, total || loaded]);
    let sum = 0;
    let of = 0;
    for (const [l, t] of progress.values()) {
      sum += l;
      of += t;
    }
    report(of ? sum / of : 0);
  };
  await Promise.all(stems.map((stem) => player.load(stem.name, stem.url, (l, t) => update(stem.name, l, t))));
  return player;
}

// ---- Job polling --------------------------------------------------------------------

// Calls onJob(job) now and after every poll while the job is queued or running;
// onError(err) when a poll fails (it tries again, more slowly). Returns stop().
export function watchJob(job, onJob, { interval = POLL_MS, onError = () => {} } = {}) {
  let timer = null;
  let stopped = false;
  const next = (current, delay) => {
    if (stopped || !current || !JOB_ACTIVE.has(current.status)) return;
    timer = setTimeout(async () => {
      try {
        const fresh = await api(`/api/jobs/${current.id}/`);
        if (stopped) return;
        onJob(fresh);
        next(fresh, interval);
      } catch (err) {
        if (stopped) return;
        onError(err, current);
        next(current, interval * 4);
      }
    }, delay);
  };
  onJob(job);
  next(job, interval);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
