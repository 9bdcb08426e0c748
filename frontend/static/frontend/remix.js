// A fork's page: someone's shared remix, added to my library. It has no track
// of mine, so it plays its own stems through the mixer (remix-studio.js) with
// the visualizer above; I can change, render and share it like any remix.

import { api } from "./common.js";
import { bindKeys } from "./player.js";
import { STEM_RATE } from "./stem-player.js";
import { mountStudio } from "./remix-studio.js";
import { modeButtons, Visualizer, visualizerKey } from "./visualizer.js";

const page = document.getElementById("remix-page");
const removed = document.getElementById("remix-unavailable-delete");
if (removed) {
  // A cut-off fork: nothing to play; its owner can only delete it.
  removed.addEventListener("click", async () => {
    if (!window.confirm("Delete this copy from your library?")) return;
    try {
      await api(removed.dataset.api, { method: "DELETE" });
      window.location.assign(removed.dataset.done);
    } catch (err) {
      window.alert(err.message);
    }
  });
} else {
  mountPlayer();
}

function mountPlayer() {
  const stems = JSON.parse(document.getElementById("remix-stems").textContent);
  const viz = new Visualizer(document.getElementById("viz"));
  document.getElementById("viz-tools").append(...modeButtons(viz));

  let context = null;
  const studio = mountStudio(document.getElementById("mixer"), {
    stems,
    remixId: page.dataset.remix,
    getContext: () => (context ??= new AudioContext({ sampleRate: STEM_RATE })),
    onPlay: (player) => {
      viz.setAnalyser(player.analyser);
      document.getElementById("viz-hint").hidden = true;
    },
  });
  window.stemroom = studio;

  bindKeys(() => studio.transport, { before: (event) => visualizerKey(viz, event) });
}
