// The karaoke coach's score, defined as UltraStar Deluxe scores a song: up to
// 10,000 points, 9,000 for the notes and a 1,000 line bonus.
//
// - A note earns its share of the 9,000 (by its length) for the time the singer
//   held it within the difficulty's tolerance, octave-folded (a man singing a
//   woman's line an octave down is in tune). Held in tune for NOTE_WHOLE of its
//   length it counts whole: the consonants at a word's edges have no pitch.
// - Each lyric line earns an equal share of the 1,000 bonus, scaled by how much
//   of its notes' points it got.
//
// Everything here is on the song's original timeline and key: coach.js turns the
// player's time and the singer's pitch back to them when the key or tempo changes.

export const TOLERANCE = { easy: 2, medium: 1, hard: 0.5 };
export const MAX_SCORE = 10000;
const NOTE_POINTS = 9000;
const LINE_BONUS = MAX_SCORE - NOTE_POINTS;
export const NOTE_WHOLE = 0.9;
// Without lyrics, a rest this long between notes ends a line.
const LINE_BREAK_REST = 1.0;
const LRC_SLACK = 0.05;

// Semitones from `target` to the nearest octave of `sung`: -6 to 6.
export function foldedError(sung, target) {
  return ((((sung - target) % 12) + 18) % 12) - 6;
}

// Notes ([{start, end, midi}]) grouped into lines: at the lyric lines' start
// times when there are lyrics, else at long rests.
export function splitLines(notes, lineStarts = []) {
  const sorted = [...notes].sort((a, b) => a.start - b.start);
  // Which lyric line a note is in: the last to start by then (LRC times are rounded to 10 ms).
  const lineOf = (note) => lineStarts.filter((start) => start <= note.start + LRC_SLACK).length;
  const lines = [];
  for (const note of sorted) {
    const last = lines[lines.length - 1];
    const previous = last && last[last.length - 1];
    const newLine = lineStarts.length
      ? !last || lineOf(note) !== lineOf(previous)
      : !last || note.start - previous.end >= LINE_BREAK_REST;
    if (newLine) lines.push([note]);
    else last.push(note);
  }
  return lines;
}

export class Scorecard {
  constructor(notes, { difficulty = "medium", lineStarts = [] } = {}) {
    this.difficulty = difficulty;
    this.lines = splitLines(
      notes.filter((note) => note.end > note.start),
      lineStarts,
    ).map((lineNotes) => ({ notes: lineNotes.map((note) => ({ ...note, held: 0 })) }));
    this.notes = this.lines.flatMap((line) => line.notes);
    this.totalLength = this.notes.reduce((sum, note) => sum + (note.end - note.start), 0);
    this.lines.forEach((line, index) => {
      line.index = index;
      line.start = line.notes[0].start;
      line.end = Math.max(...line.notes.map((note) => note.end));
      line.length = line.notes.reduce((sum, note) => sum + (note.end - note.start), 0);
    });
  }

  get tolerance() {
    return TOLERANCE[this.difficulty];
  }

  // The note sounding at `time`, or null.
  noteAt(time) {
    for (const note of this.notes) if (note.start <= time && time < note.end) return note;
    return null;
  }

  // One pitch frame: `seconds` of singing at `time` (original timeline), `midi`
  // (original key) or null for silence. Returns the note it judged, hit or not.
  judge(time, midi, seconds) {
    const note = this.noteAt(time);
    if (!note) return null;
    const hit = midi !== null && Math.abs(foldedError(midi, note.midi)) <= this.tolerance;
    if (hit) note.held = Math.min(note.end - note.start, note.held + seconds);
    return { note, hit };
  }

  reset() {
    for (const note of this.notes) note.held = 0;
  }

  notePoints(note) {
    if (!this.totalLength) return 0;
    const length = note.end - note.start;
    return (NOTE_POINTS * length * Math.min(1, note.held / (NOTE_WHOLE * length))) / this.totalLength;
  }

  // A line's points so far: {points, max}, its bonus included.
  lineScore(line) {
    if (!this.totalLength) return { points: 0, max: 0 };
    const notePoints = line.notes.reduce((sum, note) => sum + this.notePoints(note), 0);
    const noteMax = (NOTE_POINTS * line.length) / this.totalLength;
    const bonus = LINE_BONUS / this.lines.length;
    return { points: notePoints + (noteMax ? (bonus * notePoints) / noteMax : 0), max: noteMax + bonus };
  }

  get score() {
    return Math.round(this.lines.reduce((sum, line) => sum + this.lineScore(line).points, 0));
  }
}
