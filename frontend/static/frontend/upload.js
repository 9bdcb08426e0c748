// Library upload: drag-and-drop plus a real progress bar (bytes sent) through
// the API. Without JavaScript the same form posts to the page and still works.

const form = document.getElementById("upload-form");
const dropzone = document.getElementById("dropzone");
const input = form.querySelector('input[type="file"]');
const statusBox = document.getElementById("upload-status");
const progress = document.getElementById("upload-progress");
const statusText = document.getElementById("upload-text");
const errors = document.getElementById("upload-errors");

function csrfToken() {
  return form.querySelector('input[name="csrfmiddlewaretoken"]').value;
}

function showError(message) {
  errors.replaceChildren();
  const p = document.createElement("p");
  p.className = "error";
  p.textContent = message;
  errors.append(p);
}

function formatBytes(n) {
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${Math.round(n / 1024)} KB`;
}

function upload(file) {
  errors.replaceChildren();
  const data = new FormData();
  data.append("file", file);
  for (const name of ["title", "artist"]) {
    const value = form.elements[name].value.trim();
    if (value) data.append(name, value);
  }
  const xhr = new XMLHttpRequest();
  xhr.open("POST", form.dataset.api);
  xhr.setRequestHeader("X-CSRFToken", csrfToken());
  xhr.setRequestHeader("Accept", "application/json");
  statusBox.hidden = false;
  progress.value = 0;
  statusText.textContent = `Uploading ${file.name}…`;
  form.classList.add("busy");

  xhr.upload.addEventListener("progress", (event) => {
    if (!event.lengthComputable) return;
    progress.value = (100 * event.loaded) / event.total;
    statusText.textContent = `Uploading ${file.name}: ${formatBytes(event.loaded)} of ${formatBytes(event.total)}`;
    if (event.loaded === event.total) statusText.textContent = "Checking the audio…";
  });
  xhr.addEventListener("load", () => {
    form.classList.remove("busy");
    let body = {};
    try {
      body = JSON.parse(xhr.responseText);
    } catch {
      body = { detail: `The server answered ${xhr.status}.` };
    }
    if (xhr.status === 200 || xhr.status === 201) {
      statusText.textContent = body.duplicate ? "You already have this song; opening it." : "Uploaded.";
      window.location.assign(`/tracks/${body.id}/`);
    } else {
      statusBox.hidden = true;
      showError(body.detail || `Upload failed (${xhr.status}).`);
    }
  });
  xhr.addEventListener("error", () => {
    form.classList.remove("busy");
    statusBox.hidden = true;
    showError("The upload was interrupted. Is the file within the size limit? Check your connection and try again.");
  });
  xhr.send(data);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (!input.files.length) {
    showError("Choose an audio file first.");
    return;
  }
  upload(input.files[0]);
});

input.addEventListener("change", () => {
  if (input.files.length) upload(input.files[0]);
});

for (const type of ["dragenter", "dragover"]) {
  dropzone.addEventListener(type, (event) => {
    event.preventDefault();
    dropzone.classList.add("over");
  });
}
for (const type of ["dragleave", "drop"]) {
  dropzone.addEventListener(type, () => dropzone.classList.remove("over"));
}
dropzone.addEventListener("drop", (event) => {
  event.preventDefault();
  const file = event.dataTransfer.files[0];
  if (file) upload(file);
});
