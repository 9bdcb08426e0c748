// One waveform per stem that grows while the worker separates: each chunk of the
// chunk manifest (GET /api/jobs/{id}/chunks/) carries its own peaks, and a stem's
// chunk peaks joined are its final peaks (separation/chunks.py cuts chunks on
// peak-bin borders). When the job ends the stored final peaks replace them.
//
// Cheap by design: the manifest is polled several times a second, but a stem is
// joined and redrawn only when it lists more chunks than are drawn.

import { loadPeaks, Waveform } from "./waveform.js";

// One peak per 60 ms of audio (separation/audio.py PEAK_BIN_SAMPLES at 44.1 kHz).
const PEAK_SECONDS = 0.06;

export class StemWaves {
  // canvases: {name: <canvas>}; duration: the song's length in seconds.
  constructor(box, canvases, { duration, labels, colors = {}, onSeek }) {
    this.box = box;
    this.drawn = new Map(); // name -> chunks drawn
    this.final = false;
    // The whole song's peak count, so a half-made stem is drawn at its place (growing rightwards).
    this.span = Math.ceil(duration / PEAK_SECONDS);
    this.waves = new Map(
      Object.entries(canvases).map(([name, canvas]) => [
        name,
        new Waveform(canvas, [], {
          duration,
          span: this.span,
          label: `${labels[name] || name} waveform: click to seek`,
          color: colors[name],
          onSeek,
        }),
      ]),
    );
    box.dataset.state = "empty";
  }

  // A chunk manifest arrived (ChunkFeed's onPeaks): draw the stems that grew.
  fromManifest(manifest) {
    if (this.final) return;
    for (const [name, wave] of this.waves) {
      const chunks = (manifest.stems && manifest.stems[name]) || [];
      // A restarted run lists its chunks again from the first: keep what is drawn until it overtakes it.
      if (chunks.length <= (this.drawn.get(name) || 0)) continue;
      wave.setPeaks(chunks.flatMap((chunk) => chunk.peaks), { span: this.span });
      this.drawn.set(name, chunks.length);
      this.box.dataset.state = "growing";
    }
    this.box.hidden = false;
  }

  // The finished stems' peaks replace the chunks' ({name, peaks_url} per stem).
  async useFinal(stems) {
    const peaks = await Promise.all(stems.map((stem) => loadPeaks(stem.peaks_url)));
    this.final = true;
    stems.forEach((stem, i) => {
      const wave = this.waves.get(stem.name);
      if (wave) wave.setPeaks(peaks[i]);
    });
    this.box.dataset.state = "final";
    this.box.hidden = false;
  }

  setTime(seconds) {
    for (const wave of this.waves.values()) wave.setTime(seconds);
  }
}
