// Library page: each card shows its stems' status, kept live while a job is
// queued or running (polling the API; the page never reloads), with a one-click
// "Split" for songs that have no stems yet and a karaoke link once they do.

import { api, el, formatTime, JOB_ACTIVE } from "./common.js";

const POLL_MS = 1500;
const cards = [...document.querySelectorAll("#tracks .track[data-track]")];

function badge(status, progress) {
  switch (status) {
    case "queued":
      return [el("span", { class: "badge queued" }, "Queued")];
    case "running":
      return [
        el("span", { class: "badge running" }, `Splitting ${progress}%`),
        el("progress", { max: "100", value: String(progress), "aria-label": "Separation progress" }),
      ];
    case "succeeded":
      return [el("span", { class: "badge ready" }, "Stems ready")];
    case "failed":
      return [el("span", { class: "badge failed" }, "Split failed")];
    case "cancelled":
      return [el("span", { class: "badge" }, "Cancelled")];
    default:
      return [el("span", { class: "badge" }, "No stems yet")];
  }
}

function render(card, error) {
  const { track, status } = card.dataset;
  const progress = Number(card.dataset.progress) || 0;
  const box = card.querySelector(".track-status");
  const parts = badge(status, progress);
  // Sing now: karaoke plays a song while it is being split, from its first chunk on.
  if (status === "succeeded" || (status === "running" && Number(card.dataset.ready) > 0)) {
    parts.push(el("a", { class: "button small accent", href: `/tracks/${track}/karaoke/` }, "♪ Karaoke"));
  } else if (!JOB_ACTIVE.has(status)) {
    parts.push(
      el(
        "button",
        { type: "button", class: "small", "aria-label": `Split ${card.querySelector(".title").textContent} into stems`, onclick: () => split(card) },
        status === "failed" || status === "cancelled" ? "Try again" : "Split",
      ),
    );
  }
  if (error) parts.push(el("span", { class: "error small-text", role: "alert" }, error));
  box.replaceChildren(...parts);
}

function update(card, separation) {
  card.dataset.status = separation ? separation.status : "";
  card.dataset.progress = separation ? String(separation.progress) : "0";
  render(card);
}

async function split(card) {
  const button = card.querySelector(".track-status button");
  if (button) button.disabled = true;
  try {
    const job = await api(`/api/tracks/${card.dataset.track}/separations/`, { method: "POST", body: { model: "2stems" } });
    update(card, job);
    schedule();
  } catch (err) {
    render(card, err.message);
  }
}

let timer = null;

function schedule() {
  clearTimeout(timer);
  if (cards.some((card) => JOB_ACTIVE.has(card.dataset.status))) timer = setTimeout(poll, POLL_MS);
}

async function poll() {
  const active = cards.filter((card) => JOB_ACTIVE.has(card.dataset.status));
  await Promise.all(
    active.map(async (card) => {
      try {
        const track = await api(`/api/tracks/${card.dataset.track}/`);
        const job = track.separation;
        card.dataset.ready = job && job.status === "running" ? (await api(`/api/jobs/${job.id}/`)).ready_seconds : 0;
        update(card, job);
      } catch (err) {
        if (err.status === 404) {
          // Deleted in another tab.
          card.dataset.status = "gone";
          card.remove();
        }
        // Otherwise keep the last known state and try again on the next round.
      }
    }),
  );
  schedule();
}

function formatSize(bytes) {
  return bytes >= 1024 ** 2 ? `${(bytes / 1024 ** 2).toFixed(1)} MB` : `${Math.round(bytes / 1024)} KB`;
}

// A card for a track the upload queue just added (the API's track), the same as the
// server draws; a duplicate upload moves the existing card to the top instead of adding one.
export function addTrack(track) {
  const list = document.getElementById("tracks");
  let card = cards.find((c) => c.dataset.track === track.id);
  if (!card) {
    card = el(
      "li",
      { class: "track", "data-track": track.id },
      el(
        "a",
        { class: "track-link", href: `/tracks/${track.id}/` },
        track.cover_url
          ? el("img", { class: "cover", src: track.cover_url, alt: "", loading: "lazy" })
          : el("span", { class: "cover placeholder", "aria-hidden": "true" }, "♪"),
        el("span", { class: "title" }, track.title),
        el("span", { class: "artist" }, track.artist || "Unknown artist"),
        el("span", { class: "meta" }, `${formatTime(track.duration)} · ${formatSize(track.size)}`),
      ),
      el("div", { class: "track-status", "aria-live": "polite" }),
    );
    cards.push(card);
  }
  list.prepend(card);
  list.hidden = false;
  document.getElementById("library-empty")?.remove();
  update(card, track.separation);
  schedule();
  return card;
}

// The queue asked for stems: the card shows the job and follows it.
export function trackSplitting(trackId, job) {
  const card = cards.find((c) => c.dataset.track === trackId);
  if (!card) return;
  update(card, job);
  schedule();
}

for (const card of cards) render(card);
schedule();
