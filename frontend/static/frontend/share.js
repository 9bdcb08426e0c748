// Shared remix page: play the remix's stems with its mixer settings (the same
// GainNode -> StereoPannerNode graph as the mixer and the server mixdown), and
// let a signed-in visitor add it to their library.

const data = JSON.parse(document.getElementById("share-data").textContent);
const root = document.getElementById("share-player");
const LEAD_IN = 0.05;

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  node.append(...children);
  return node;
}

function audibleNames() {
  const soloed = data.stems.filter((s) => s.settings.solo).map((s) => s.name);
  return soloed.length ? soloed : data.stems.filter((s) => !s.settings.mute).map((s) => s.name);
}

let context = null;
let buffers = null;
let sources = [];
let startedAt = null;
let offset = 0;

async function load() {
  context = new AudioContext();
  const decoded = await Promise.all(
    data.stems.map(async (stem) => {
      const response = await fetch(stem.audio_url);
      if (!response.ok) throw new Error(`The ${stem.name} stem could not be loaded (${response.status}).`);
      return [stem.name, await context.decodeAudioData(await response.arrayBuffer())];
    }),
  );
  buffers = new Map(decoded);
}

function start() {
  const when = context.currentTime + LEAD_IN;
  const audible = new Set(audibleNames());
  sources = data.stems
    .filter((stem) => audible.has(stem.name))
    .map((stem) => {
      const source = context.createBufferSource();
      source.buffer = buffers.get(stem.name);
      const gain = context.createGain();
      gain.gain.value = 10 ** (stem.settings.gain_db / 20);
      const pan = context.createStereoPanner();
      pan.pan.value = stem.settings.pan;
      source.connect(gain).connect(pan).connect(context.destination);
      source.start(when, offset);
      return source;
    });
  startedAt = when;
}

function stop() {
  for (const source of sources) source.stop();
  sources = [];
  offset += context.currentTime - startedAt;
  startedAt = null;
}

const button = el("button", { type: "button", class: "primary", id: "share-play" }, "Play");
const status = el("span", { class: "muted", id: "share-status" });
button.addEventListener("click", async () => {
  try {
    if (!buffers) {
      status.textContent = "Loading the stems…";
      button.disabled = true;
      await load();
      status.textContent = "";
      button.disabled = false;
    }
    if (startedAt === null) {
      await context.resume();
      start();
      button.textContent = "Pause";
    } else {
      stop();
      button.textContent = "Play";
    }
  } catch (error) {
    button.disabled = false;
    status.textContent = error.message;
  }
});
root.append(el("div", { class: "upload-row" }, button, status));

const fork = document.getElementById("fork");
if (fork) {
  fork.addEventListener("click", async () => {
    fork.disabled = true;
    const response = await fetch(fork.dataset.url, {
      method: "POST",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
      credentials: "same-origin",
    });
    const body = await response.json().catch(() => ({}));
    fork.replaceWith(
      el("p", { role: "status" }, response.ok ? "Added to your remixes." : body.detail || "Could not add it."),
    );
  });
}
