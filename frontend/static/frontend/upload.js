// Library upload queue: choose or drop many songs (a folder's worth too); each
// one gets its own row with a real progress bar (bytes sent) and, if it fails,
// the API's own sentence. Two upload at a time; the page stays on the library and
// each finished song appears in the list at once, split on arrival if asked.
// Without JavaScript the same form posts one file to the page and still works.

import { api, csrfToken, el } from "./common.js";
import { addTrack, trackSplitting } from "./library.js";

// Two at a time: enough to keep the connection busy, few enough that the first
// songs arrive soon and the server's upload pool is not taken by one person.
const CONCURRENCY = 2;
// What a dropped folder may hold besides songs (covers, playlists, notes): only
// these are queued from a folder. A file dropped or chosen on its own always goes,
// and the server says precisely why if it is not audio.
const AUDIO_EXTENSIONS = /\.(mp3|wav|wave|flac|ogg|oga|opus|m4a|aac|aif|aiff)$/i;

const form = document.getElementById("upload-form");
const dropzone = document.getElementById("dropzone");
const input = form.querySelector('input[type="file"]');
const list = document.getElementById("upload-queue");
const summary = document.getElementById("queue-summary");
const splitOnArrival = document.getElementById("split-on-arrival");
const errors = document.getElementById("upload-errors");

const waiting = [];
const items = [];
let running = 0;

// The queue replaces the one-file form: its Title/Artist fields and Upload button
// would only mislead next to many files, so they are the no-JS fallback alone.
document.getElementById("upload-fallback").hidden = true;
document.getElementById("queue-options").hidden = false;

function formatBytes(n) {
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${Math.round(n / 1024)} KB`;
}

function enqueue(files, { skipped = 0 } = {}) {
  errors.replaceChildren();
  for (const file of files) {
    const item = {
      file,
      state: "waiting",
      bar: el("progress", { max: "100", value: "0", "aria-label": `Upload of ${file.name}` }),
      text: el("span", { class: "queue-text" }, "Waiting…"),
    };
    item.row = el(
      "li",
      { class: "queue-item waiting" },
      el("span", { class: "queue-name", title: file.name }, file.name),
      item.bar,
      item.text,
    );
    items.push(item);
    waiting.push(item);
    list.append(item.row);
  }
  list.hidden = items.length === 0;
  if (skipped) {
    errors.append(el("p", { class: "muted" }, `Skipped ${skipped} file(s) in the folder that are not audio.`));
  }
  pump();
}

function pump() {
  while (running < CONCURRENCY && waiting.length) {
    running += 1;
    send(waiting.shift()).finally(() => {
      running -= 1;
      pump();
    });
  }
  describe();
}

function describe() {
  const count = (state) => items.filter((item) => item.state === state).length;
  const done = count("done");
  const failed = count("failed");
  const left = items.length - done - failed;
  const parts = [];
  if (left) parts.push(`${left} to go`);
  if (done) parts.push(`${done} added`);
  if (failed) parts.push(`${failed} failed`);
  summary.textContent = parts.join(" · ");
}

function setState(item, state, text) {
  item.state = state;
  item.row.className = `queue-item ${state}`;
  item.text.textContent = text;
  if (state === "failed") item.text.setAttribute("role", "alert");
  describe();
}

function post(item) {
  return new Promise((resolve) => {
    const data = new FormData();
    data.append("file", item.file);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.api);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (event) => {
      if (!event.lengthComputable) return;
      item.bar.value = (100 * event.loaded) / event.total;
      item.text.textContent =
        event.loaded === event.total
          ? "Checking the audio…"
          : `${formatBytes(event.loaded)} of ${formatBytes(event.total)}`;
    });
    xhr.addEventListener("load", () => {
      let body;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = {};
      }
      resolve({ status: xhr.status, body });
    });
    xhr.addEventListener("error", () =>
      resolve({
        status: 0,
        body: { detail: "The upload was interrupted. Is the file within the size limit? Check your connection." },
      }),
    );
    xhr.send(data);
  });
}

async function send(item) {
  setState(item, "sending", "Starting…");
  const { status, body } = await post(item);
  if (status !== 200 && status !== 201) {
    item.bar.value = 0;
    setState(item, "failed", body.detail || `Upload failed (the server answered ${status}).`);
    return;
  }
  item.bar.value = 100;
  addTrack(body);
  const added = body.duplicate ? "Already in your library" : "Added";
  if (!splitOnArrival.checked) {
    setState(item, "done", `${added}.`);
    return;
  }
  try {
    const job = await api(`/api/tracks/${body.id}/separations/`, { method: "POST", body: { model: "2stems" } });
    trackSplitting(body.id, job);
    setState(item, "done", `${added}; splitting into stems.`);
  } catch (err) {
    // The song arrived; only the split was refused (a quota, a missing model): say so on its row.
    setState(item, "failed", `${added}, but it could not be split: ${err.message}`);
  }
}

// ---- Choosing and dropping -------------------------------------------------

input.addEventListener("change", () => {
  const files = [...input.files];
  // The queue holds the files now; the picker keeps no name (least of all a failed one).
  input.value = "";
  if (files.length) enqueue(files);
});

form.addEventListener("submit", (event) => {
  event.preventDefault();
});

// A dropped folder arrives as a directory entry: read it (and its subfolders) for songs.
function readEntries(reader) {
  return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
}

async function filesIn(entry, found) {
  if (entry.isFile) {
    const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
    if (AUDIO_EXTENSIONS.test(file.name)) found.files.push(file);
    else found.skipped += 1;
    return;
  }
  const reader = entry.createReader();
  // readEntries hands out a directory in batches (100 in Chromium) until an empty one.
  for (let batch = await readEntries(reader); batch.length; batch = await readEntries(reader)) {
    for (const child of batch) await filesIn(child, found);
  }
}

// Everything is taken from the DataTransfer at once: it empties after the drop event.
function dropped(transfer) {
  const folders = [];
  const files = [];
  for (const item of transfer.items || []) {
    if (item.kind !== "file") continue;
    const entry = item.webkitGetAsEntry ? item.webkitGetAsEntry() : null;
    if (entry && entry.isDirectory) folders.push(entry);
    else files.push(item.getAsFile());
  }
  if (!transfer.items || !transfer.items.length) files.push(...transfer.files);
  return async () => {
    const found = { files: files.filter(Boolean), skipped: 0 };
    for (const folder of folders) await filesIn(folder, found);
    return found;
  };
}

for (const type of ["dragenter", "dragover"]) {
  dropzone.addEventListener(type, (event) => {
    event.preventDefault();
    dropzone.classList.add("over");
  });
}
dropzone.addEventListener("dragleave", () => dropzone.classList.remove("over"));
dropzone.addEventListener("drop", async (event) => {
  event.preventDefault();
  dropzone.classList.remove("over");
  const read = dropped(event.dataTransfer);
  try {
    const { files, skipped } = await read();
    if (files.length) enqueue(files, { skipped });
    else errors.replaceChildren(el("p", { class: "error" }, "No audio files in what was dropped."));
  } catch (err) {
    errors.replaceChildren(el("p", { class: "error" }, `Could not read what was dropped: ${err.message}`));
  }
});
