// Synced lyrics on screen: lines from the API ({time, text, words: [{time, text}]}),
// the current one highlighted (and, with word timing, word by word) and kept in
// the middle of its scrolling box. The karaoke stage and the share page use it.

import { el } from "./common.js";

// Enhanced LRC keeps untimed words before the first timed one in `text` only.
export function lineNodes(line) {
  if (!line.words.length) return [line.text || "♪"];
  const timed = line.words.map((w) => w.text).join(" ");
  const lead = line.text.endsWith(timed) ? line.text.slice(0, line.text.length - timed.length).trim() : "";
  const nodes = [];
  if (lead) nodes.push(el("span", { class: "word", "data-time": String(line.time) }, lead), " ");
  line.words.forEach((word, i) => {
    if (i) nodes.push(" ");
    nodes.push(el("span", { class: "word", "data-time": String(word.time) }, word.text));
  });
  return nodes;
}

// The last line whose (offset) time has come; -1 before the first one.
export function lineIndexAt(lines, seconds, offsetMs = 0) {
  const shifted = seconds - offsetMs / 1000;
  let low = 0;
  let high = lines.length - 1;
  let found = -1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    if (lines[mid].time <= shifted) {
      found = mid;
      low = mid + 1;
    } else high = mid - 1;
  }
  return found;
}

// A scrolling list of lyrics that follows the song: call show(seconds) on every
// player "tick". The karaoke stage and the share page use it.
export class LyricsView {
  constructor(list, box, { lines, offset_ms: offsetMs = 0 }) {
    this.list = list;
    this.box = box;
    this.lines = lines;
    this.offsetMs = offsetMs;
    this.index = -2;
    this.lineEls = lines.map((line, i) =>
      el("li", { class: line.words.length ? "line has-words" : "line", "data-index": String(i) }, ...lineNodes(line)),
    );
    list.replaceChildren(...this.lineEls);
  }

  // Every line moves: the next show() redraws them all.
  setOffset(offsetMs) {
    this.offsetMs = offsetMs;
    this.index = -2;
  }

  show(seconds) {
    const index = lineIndexAt(this.lines, seconds, this.offsetMs);
    if (index !== this.index) {
      this.lineEls.forEach((line, i) => {
        line.classList.toggle("past", i < index);
        line.classList.toggle("current", i === index);
        if (i === index) line.setAttribute("aria-current", "true");
        else line.removeAttribute("aria-current");
      });
      this.index = index;
      this.scrollTo(index, true);
    }
    const line = this.lineEls[index];
    if (line && this.lines[index].words.length) {
      const shifted = seconds - this.offsetMs / 1000;
      for (const word of line.querySelectorAll(".word")) word.classList.toggle("sung", Number(word.dataset.time) <= shifted);
    }
    return index;
  }

  scrollTo(index, smooth) {
    const line = this.lineEls[Math.max(0, index)];
    if (!line) return;
    const top = line.offsetTop - this.box.clientHeight / 2 + line.offsetHeight / 2;
    this.box.scrollTo({ top, behavior: smooth ? "smooth" : "auto" });
  }
}
