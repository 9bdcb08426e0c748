// Track page: ask for stems, watch the job's progress live, then play or
// download each stem. Everything goes through the JSON API.

const section = document.getElementById("stems");
const body = document.getElementById("stems-body");
const separationsUrl = section.dataset.separations;
const POLL_MS = 1000;

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

async function api(url, options = {}) {
  const response = await fetch(url, {
    ...options,
    headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    credentials: "same-origin",
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.detail || `The server answered ${response.status}.`);
  return data;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "onclick") node.addEventListener("click", value);
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

function render(job, error) {
  body.replaceChildren();
  if (error) body.append(el("p", { class: "error", role: "alert" }, error));
  if (!job || job.status === "cancelled") {
    body.append(
      el("p", { class: "muted" }, job ? "The separation was cancelled." : "Split this song into vocals and accompaniment."),
      el("button", { class: "primary", id: "separate", onclick: () => start() }, "Split into stems"),
    );
    return;
  }
  if (job.status === "queued" || job.status === "running") {
    const label = job.status === "queued" ? "Waiting for a worker…" : `Separating… ${job.progress}%`;
    body.append(
      el("div", { class: "upload-status" },
        el("progress", { max: "100", value: String(job.progress), "aria-label": "Separation progress", id: "job-progress" }),
        el("span", { id: "job-status" }, label)),
      el("button", { onclick: () => act(job, "cancel") }, "Cancel"),
    );
    return;
  }
  if (job.status === "failed") {
    body.append(
      el("p", { class: "error", role: "alert", id: "job-error" }, job.error || "The separation failed."),
      el("button", { class: "primary", onclick: () => act(job, "retry") }, "Retry"),
    );
    return;
  }
  const speed = job.realtime_factor ? ` at ${job.realtime_factor.toFixed(1)}× real time` : "";
  body.append(el("p", { class: "muted", id: "job-status" }, `Separated${speed}.`));
  const list = el("ul", { class: "stem-list" });
  for (const stem of job.stems) {
    list.append(
      el("li", { class: "stem", "data-stem": stem.name },
        el("strong", {}, stem.name),
        el("audio", { controls: "", preload: "none", src: stem.audio_url }),
        el("a", { class: "button", href: stem.flac_url, download: `${stem.name}.flac` }, "FLAC")),
    );
  }
  body.append(list);
}

let timer = null;

function watch(job) {
  render(job);
  clearTimeout(timer);
  if (job.status === "queued" || job.status === "running") {
    timer = setTimeout(async () => {
      try {
        watch(await api(`/api/jobs/${job.id}/`));
      } catch (err) {
        render(job, err.message);
        timer = setTimeout(() => watch(job), POLL_MS * 5);
      }
    }, POLL_MS);
  }
}

async function start() {
  try {
    watch(await api(separationsUrl, { method: "POST", body: JSON.stringify({ model: "2stems" }) }));
  } catch (err) {
    render(null, err.message);
  }
}

async function act(job, action) {
  try {
    watch(await api(`/api/jobs/${job.id}/${action}/`, { method: "POST" }));
  } catch (err) {
    render(job, err.message);
  }
}

async function load() {
  try {
    const jobs = await api(separationsUrl);
    const job = jobs.find((j) => j.model === "2stems" && j.status !== "failed") || jobs.find((j) => j.model === "2stems");
    watch(job || null);
  } catch (err) {
    render(null, err.message);
  }
}

load();
