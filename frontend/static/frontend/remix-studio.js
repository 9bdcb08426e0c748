// The mixer card: a live preview of the stems through StemPlayer's strips,
// the MixerPanel controls, and a remix's life through the API -- save, update,
// delete, render a mixdown (with live status), share links (copy, revoke) and
// the forks other people made of it (see, revoke).
// The track page mounts it over the song's stems (and lists that song's
// remixes); a fork's page mounts it over the fork's stems.
//
// Mixer changes while playing only glide AudioParams (StemPlayer.applyMix):
// the sources keep playing, nothing is rebuilt, so there is no glitch.

import { api, el, formatTime } from "./common.js";
import { MixerPanel, defaultSettings, sameSettings } from "./mixer.js";
import { bindTransport, loadStems, Player, POLL_MS } from "./player.js";
import { renderMix } from "./stem-player.js";

function dateTime(iso) {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

// stems: [{name, audio_url, flac_url}] of one separation; trackId: the song the
// remixes belong to (null for a fork: it can be edited but not saved as new).
// player: the page's one Player, when the page has its own transport (the track
// page: Original or the mix); then the studio plays nothing itself, hands the
// page `loadEngine` (the stems with this mix applied) and calls onMix() when the
// mix is touched, so the page can switch its player to it. Without it the studio
// makes its own Player on the card's transport (a fork's page).
export function mountStudio(
  root,
  { stems, trackId = null, remixId = null, getContext, onPlay = () => {}, player: shared = null, onMix = () => {} },
) {
  const $ = (id) => document.getElementById(id);
  const names = stems.map((stem) => stem.name);
  const nameInput = $("remix-name");
  const saveButton = $("remix-save");
  const saveNewButton = $("remix-save-new");
  const newButton = $("remix-new");
  const deleteButton = $("remix-delete");
  const remixStatus = $("remix-status");
  const playButton = $("mix-play");
  const seek = $("mix-seek");

  let current = null; // the remix loaded into the mixer, as the API last returned it
  let savedSettings = defaultSettings(names);
  let busy = false;
  let mixdown = null; // the newest render of the saved settings
  let pollTimer = null;

  const mixer = new MixerPanel($("mix-strips"), names, {
    onChange: (settings) => {
      applyMix(settings);
      showState();
      onMix();
    },
  });

  // ---- Preview -------------------------------------------------------------

  function showError(message) {
    $("mix-error").textContent = message || "";
    $("mix-error").hidden = !message;
  }

  // The stems load on the first press of Play: most visits never play the mix.
  // A mix plays finished stems only (remixes and forks are made of them).
  let stemEngine = null;
  let loadingStems = null;
  function loadEngine(report = () => {}) {
    if (!loadingStems) {
      loadingStems = loadStems(
        getContext(),
        stems.map((stem) => ({ name: stem.name, url: stem.audio_url })),
        report,
      ).then(
        (engine) => {
          engine.applyMix(mixer.value, { glide: false });
          stemEngine = engine;
          return engine;
        },
        (err) => {
          loadingStems = null; // a later press tries again
          throw err;
        },
      );
    }
    return loadingStems;
  }

  const player = shared || new Player({ load: loadEngine });
  if (!shared) {
    bindTransport(player, {
      playButtons: [playButton],
      seek,
      now: $("mix-now"),
      total: $("mix-total"),
      labels: { play: "Play the mix", pause: "Pause the mix" },
    });
    player.addEventListener("loading", ({ detail }) => {
      showError("");
      $("mix-loading").hidden = false;
      $("mix-load-progress").value = 100 * detail.fraction;
    });
    player.addEventListener("ready", () => ($("mix-loading").hidden = true));
    player.addEventListener("error", ({ detail }) => {
      $("mix-loading").hidden = true;
      showError(detail.message);
    });
    player.addEventListener("beforeplay", () => onPlay(player.engine));
  }

  // Mixer changes while playing glide; before, they jump (nothing to hear yet).
  function applyMix(settings) {
    if (stemEngine) stemEngine.applyMix(settings, { glide: stemEngine.playing });
  }

  $("mix-reset").addEventListener("click", () => {
    mixer.set(defaultSettings(names));
    applyMix(mixer.value);
    showState();
    onMix();
  });

  // ---- Remixes -------------------------------------------------------------

  function say(message, error = false) {
    remixStatus.textContent = message;
    remixStatus.classList.toggle("error", error);
  }

  function dirty() {
    if (!current) return !sameSettings(mixer.value, defaultSettings(names));
    return !sameSettings(mixer.value, savedSettings) || nameInput.value.trim() !== current.name;
  }

  function showState() {
    const loaded = Boolean(current);
    saveButton.textContent = loaded ? "Save changes" : "Save as remix";
    saveButton.disabled = busy || (loaded && !dirty());
    saveNewButton.hidden = !loaded || !trackId;
    newButton.hidden = !loaded || !trackId;
    deleteButton.hidden = !loaded;
    $("remix-output").hidden = !loaded;
    $("mixer-editing").textContent = loaded
      ? `Editing “${current.name}”${dirty() ? " · unsaved changes" : ""}`
      : "A new mix: set it up, then save it as a remix.";
    $("remix-render").textContent = dirty() ? "Save and render mixdown" : "Render mixdown";
    $("remix-share").textContent = dirty() ? "Save and create a share link" : "Create a share link";
    for (const item of document.querySelectorAll("#remix-list [data-remix]")) {
      const on = loaded && item.dataset.remix === current.id;
      item.classList.toggle("current", on);
      if (on) item.setAttribute("aria-current", "true");
      else item.removeAttribute("aria-current");
    }
  }

  function remixUrl(id) {
    const url = new URL(window.location.href);
    if (id) url.searchParams.set("remix", id);
    else url.searchParams.delete("remix");
    return url;
  }

  function setCurrent(remix, { keepMixer = false } = {}) {
    current = remix;
    if (remix) {
      savedSettings = structuredClone(remix.stems);
      if (!keepMixer) mixer.set(remix.stems);
      nameInput.value = remix.name;
      if (trackId) window.history.replaceState(null, "", remixUrl(remix.id));
      showLinks(remix.share_links);
      loadForks();
    } else {
      savedSettings = defaultSettings(names);
      if (trackId) window.history.replaceState(null, "", remixUrl(null));
      clearTimeout(pollTimer);
      mixdown = null;
    }
    applyMix(mixer.value);
    showState();
    if (remix && !keepMixer) onMix(); // opening a remix is asking to hear it
  }

  async function load(id) {
    if (dirty() && !window.confirm("Discard the unsaved changes to this mix?")) return;
    say("Loading…");
    try {
      setCurrent(await api(`/api/remixes/${id}/`));
      say(`Loaded “${current.name}”.`);
      loadMixdowns();
    } catch (err) {
      say(err.status === 404 ? "That remix is not in your library any more." : err.message, true);
    }
  }

  async function save({ asNew = false } = {}) {
    const name = nameInput.value.trim();
    if (!name) {
      say("Give the remix a name first.", true);
      nameInput.focus();
      return false;
    }
    busy = true;
    showState();
    say("Saving…");
    try {
      const body = { name, stems: mixer.value };
      const remix =
        current && !asNew
          ? await api(`/api/remixes/${current.id}/`, { method: "PATCH", body })
          : await api("/api/remixes/", { method: "POST", body: { ...body, track: trackId } });
      const created = !current || asNew;
      setCurrent(remix, { keepMixer: true });
      say(created ? `Saved “${remix.name}”.` : `Saved the changes to “${remix.name}”.`);
      if (created) mixdown = null;
      showMixdown();
      refreshList();
      return true;
    } catch (err) {
      say(err.message, true);
      return false;
    } finally {
      busy = false;
      showState();
    }
  }

  async function ensureSaved() {
    return current && !dirty() ? true : save();
  }

  saveButton.addEventListener("click", () => save());
  saveNewButton.addEventListener("click", () => save({ asNew: true }));
  nameInput.addEventListener("input", showState);
  nameInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      save();
    }
  });
  newButton.addEventListener("click", () => {
    if (dirty() && !window.confirm("Discard the unsaved changes to this mix?")) return;
    setCurrent(null);
    nameInput.value = "";
    mixer.set(defaultSettings(names));
    applyMix(mixer.value);
    say("");
    showState();
    nameInput.focus();
  });
  deleteButton.addEventListener("click", async () => {
    if (!current || !window.confirm(`Delete the remix “${current.name}”? Its share links stop working.`)) return;
    try {
      await api(`/api/remixes/${current.id}/`, { method: "DELETE" });
      const gone = current.name;
      setCurrent(null);
      nameInput.value = "";
      say(`Deleted “${gone}”.`);
      if (trackId) refreshList();
      else window.location.assign("/remixes/");
    } catch (err) {
      say(err.message, true);
    }
  });

  async function refreshList() {
    const box = $("remix-list-box");
    if (!trackId || !box) return;
    const list = $("remix-list");
    let mine = [];
    try {
      // The remix API has no track filter: walk every page of mine and keep this song's.
      let url = "/api/remixes/?page_size=200";
      while (url) {
        const page = await api(url);
        mine = mine.concat(page.results.filter((remix) => remix.track === trackId));
        url = page.next;
      }
    } catch (err) {
      list.replaceChildren(el("li", { class: "error" }, `Could not list your remixes: ${err.message}`));
      return;
    }
    box.hidden = false;
    if (!mine.length) {
      list.replaceChildren(el("li", { class: "muted" }, "None yet."));
      return;
    }
    list.replaceChildren(
      ...mine.map((remix) =>
        el(
          "li",
          { "data-remix": remix.id },
          el("button", { type: "button", class: "link", onclick: () => load(remix.id) }, remix.name),
          el(
            "span",
            { class: "muted" },
            ` · ${dateTime(remix.updated)}${remix.share_links.length ? ` · shared (${remix.share_links.length})` : ""}`,
          ),
        ),
      ),
    );
    showState();
  }

  // ---- Mixdown -------------------------------------------------------------

  const RENDER_TEXT = {
    queued: "Waiting for a worker…",
    running: "Rendering…",
    succeeded: "Ready:",
    failed: "The render failed.",
  };

  function showMixdown() {
    const status = $("mixdown-status");
    const links = $("mixdown-links");
    links.replaceChildren();
    status.classList.remove("error");
    if (!mixdown) {
      status.dataset.status = "none";
      status.textContent = "Not rendered yet.";
      return;
    }
    status.dataset.status = mixdown.status;
    status.textContent = RENDER_TEXT[mixdown.status] || mixdown.status;
    if (mixdown.status === "failed") {
      status.classList.add("error");
      if (mixdown.error) status.textContent = `${RENDER_TEXT.failed} ${mixdown.error}`;
    }
    if (mixdown.status === "succeeded") {
      const file = `${current.title} (${current.name})`;
      links.append(
        el("a", { class: "button small", id: "mixdown-mp3", href: mixdown.mp3_url, download: `${file}.mp3` }, "⬇ MP3"),
        el("a", { class: "button small", id: "mixdown-flac", href: mixdown.flac_url, download: `${file}.flac` }, "⬇ FLAC"),
      );
    }
    $("remix-render").disabled = mixdown.status === "queued" || mixdown.status === "running";
  }

  function watchMixdown() {
    clearTimeout(pollTimer);
    if (!mixdown || !current || !["queued", "running"].includes(mixdown.status)) return;
    const remixId = current.id;
    const wanted = mixdown.id;
    pollTimer = setTimeout(async () => {
      try {
        const all = await api(`/api/remixes/${remixId}/mixdowns/`);
        if (!current || current.id !== remixId) return;
        mixdown = all.find((m) => m.id === wanted) || null;
      } catch (err) {
        $("mixdown-status").textContent = `${err.message} Retrying…`;
      }
      showMixdown();
      watchMixdown();
    }, POLL_MS);
  }

  async function loadMixdowns() {
    clearTimeout(pollTimer);
    mixdown = null;
    showMixdown();
    if (!current) return;
    try {
      const all = await api(`/api/remixes/${current.id}/mixdowns/`);
      mixdown = all.find((m) => m.status !== "failed" && sameSettings(m.stems, current.stems)) || null;
    } catch (err) {
      $("mixdown-status").textContent = `Could not check the mixdowns: ${err.message}`;
      return;
    }
    showMixdown();
    watchMixdown();
  }

  $("remix-render").addEventListener("click", async () => {
    if (!(await ensureSaved())) return;
    $("remix-render").disabled = true;
    try {
      mixdown = await api(`/api/remixes/${current.id}/render/`, { method: "POST" });
    } catch (err) {
      $("mixdown-status").textContent = err.message;
      $("mixdown-status").classList.add("error");
      $("remix-render").disabled = false;
      return;
    }
    showMixdown();
    watchMixdown();
  });

  // ---- Share links -----------------------------------------------------------

  function shareStatus(message, error = false) {
    $("share-status").textContent = message;
    $("share-status").classList.toggle("error", error);
  }

  async function copy(input) {
    try {
      await navigator.clipboard.writeText(input.value);
    } catch {
      // No clipboard permission (or an old browser): select it for Ctrl+C.
      input.focus();
      input.select();
      shareStatus("Press Ctrl+C (⌘C) to copy the selected link.");
      return;
    }
    shareStatus("Link copied.");
  }

  function linkItem(link) {
    const input = el("input", {
      type: "text",
      readonly: true,
      value: link.url,
      class: "share-url",
      "aria-label": "Share link",
      onfocus: (event) => event.target.select(),
    });
    return el(
      "li",
      { "data-token": link.token },
      input,
      el("button", { type: "button", class: "small", onclick: () => copy(input) }, "Copy"),
      el("a", { class: "button small", href: link.url, target: "_blank", rel: "noopener" }, "Open"),
      el("button", { type: "button", class: "small danger", onclick: () => revoke(link) }, "Revoke"),
    );
  }

  function showLinks(links) {
    const list = $("share-links");
    list.replaceChildren(...links.map(linkItem));
    $("share-none").hidden = links.length > 0;
  }

  async function revoke(link) {
    if (!window.confirm("Revoke this link? Anyone opening it will get “not found”.")) return;
    try {
      await api(`/api/shares/${encodeURIComponent(link.token)}/`, { method: "DELETE" });
    } catch (err) {
      shareStatus(err.message, true);
      return;
    }
    current.share_links = current.share_links.filter((l) => l.token !== link.token);
    showLinks(current.share_links);
    shareStatus("Link revoked.");
    refreshList();
  }

  // ---- Forks: copies other people added from a share link -------------------

  function forkItem(fork) {
    const who = `${fork.owner} · added ${dateTime(fork.created)}`;
    const state = fork.available
      ? el("span", { class: `badge${fork.shared ? " ready" : ""}` }, fork.shared ? "shared on" : "not shared")
      : el("span", { class: "badge failed" }, "revoked");
    return el(
      "li",
      { "data-fork": fork.id },
      el("span", { class: "fork-who" }, who),
      state,
      fork.available
        ? el("button", { type: "button", class: "small danger", onclick: () => revokeFork(fork) }, "Revoke")
        : null,
    );
  }

  async function loadForks() {
    const box = $("remix-forks");
    const remix = current;
    let forks = [];
    try {
      forks = await api(`/api/remixes/${remix.id}/forks/`);
    } catch {
      forks = [];
    }
    if (current !== remix) return;
    box.hidden = forks.length === 0;
    $("fork-list").replaceChildren(...forks.map(forkItem));
  }

  async function revokeFork(fork) {
    const question = `Revoke ${fork.owner}’s copy? It stops playing for them and for anyone with their links.`;
    if (!window.confirm(question)) return;
    try {
      await api(`/api/remixes/${current.id}/forks/${fork.id}/revoke/`, { method: "POST" });
    } catch (err) {
      shareStatus(err.message, true);
      return;
    }
    shareStatus(`${fork.owner}’s copy revoked.`);
    loadForks();
  }

  $("remix-share").addEventListener("click", async () => {
    if (!(await ensureSaved())) return;
    try {
      const link = await api("/api/shares/", { method: "POST", body: { remix: current.id } });
      current.share_links = [link, ...current.share_links];
      showLinks(current.share_links);
      shareStatus("Link created: anyone with it can listen to this remix.");
      $("share-links").querySelector(".share-url").focus();
      refreshList();
    } catch (err) {
      shareStatus(err.message, true);
    }
  });

  // ---- Start -----------------------------------------------------------------

  if ($("mix-total")) $("mix-total").textContent = formatTime(Math.max(0, ...stems.map((stem) => stem.duration || 0)));
  root.hidden = false;
  showState();
  refreshList();
  if (remixId) load(remixId);

  // The page drives `transport` (its keys); the rest is a read-only handle for
  // tests and the curious (browser console).
  return {
    transport: player,
    loadEngine,
    mixer,
    toggle: () => player.toggle(),
    pause: () => player.pause(),
    seekBy: (seconds) => player.seekBy(seconds),
    get player() {
      return player.engine;
    },
    get remix() {
      return current;
    },
    ready: () => player.ready,
    playing: () => player.playing,
    currentTime: () => player.currentTime,
    // The mixer's settings rendered offline through the preview's own graph;
    // "flac" uses the lossless stems (what the server mixes).
    renderPreview: (rendition = "mp3") =>
      renderMix(
        stems.map((stem) => ({ name: stem.name, url: rendition === "flac" ? stem.flac_url : stem.audio_url })),
        mixer.value,
      ),
  };
}
