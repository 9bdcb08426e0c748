"""The coach's pitch tracker (pitch.js, YIN) on known tones, and its scoring (coach-scoring.js), in Chromium.

The modules are the very files the karaoke page loads, imported into a page of the site.
"""

import pytest

from tests.browser import browser_fixture  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

RATE = 22050  # the worklet halves the context's 44.1 kHz before tracking

# A tone at `hz`: a pure sine, or a voice-like one (harmonics falling off as 1/k, the fundamental weakest of the first three).
TONE_JS = """async ([hz, kind, rate]) => {
  const { detectPitch, frameLength } = await import("/static/frontend/pitch.js");
  const frame = new Float32Array(frameLength(rate).total);
  for (let i = 0; i < frame.length; i += 1) {
    const t = i / rate;
    if (kind === "sine") frame[i] = 0.3 * Math.sin(2 * Math.PI * hz * t);
    else if (kind === "voice") {
      for (let k = 1; k <= 12; k += 1) frame[i] += ((k === 1 ? 0.3 : 1) / k) * 0.2 * Math.sin(2 * Math.PI * hz * k * t + k);
    } else if (kind === "noise") frame[i] = 0.3 * (Math.random() * 2 - 1);
  }
  const pitch = detectPitch(frame, rate);
  return pitch && pitch.midi;
}"""


@pytest.fixture(scope="module")
def site(browser, live_server):
    """One page of the site for the whole module: these tests only run its modules."""
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/accounts/login/")
    yield page
    context.close()
    assert not errors


@pytest.mark.parametrize("kind", ["sine", "voice"])
@pytest.mark.parametrize("midi", [38, 45, 57, 62.5, 69, 81])  # D2 (a bass's low note) to A5, and between two notes
def test_the_tracker_finds_the_pitch_of_a_tone_within_a_tenth_of_a_semitone(site, kind, midi):
    hz = 440 * 2 ** ((midi - 69) / 12)
    assert site.evaluate(TONE_JS, [hz, kind, RATE]) == pytest.approx(midi, abs=0.1)


@pytest.mark.parametrize("kind", ["silence", "noise"])
def test_silence_and_noise_have_no_pitch(site, kind):
    assert site.evaluate(TONE_JS, [0, kind, RATE]) is None


def score(page, body):
    """Score ``[notes, frames ([time, midi, seconds]), difficulty, lineStarts]``: the song and each line."""
    return page.evaluate(
        """async ([notes, frames, difficulty, lineStarts]) => {
          const { Scorecard } = await import("/static/frontend/coach-scoring.js");
          const card = new Scorecard(notes, { difficulty, lineStarts });
          for (const [time, midi, seconds] of frames) card.judge(time, midi, seconds);
          return { score: card.score, lines: card.lines.map((line) => [line.notes.length, card.lineScore(line)]) };
        }""",
        body,
    )


NOTES = [{"start": 0, "end": 1, "midi": 60}, {"start": 1, "end": 2, "midi": 62}, {"start": 4, "end": 6, "midi": 64}]


def sung(offset=0.0, *, until=6.0, step=0.01):
    """Frames singing every note at its pitch + ``offset`` semitones, ``step`` seconds each, up to ``until``."""
    frames, t = [], step / 2
    while t < until:
        note = next((n for n in NOTES if n["start"] <= t < n["end"]), None)
        frames.append([t, note["midi"] + offset if note else None, step])
        t += step
    return frames


def test_every_note_held_in_tune_scores_10000(site):
    assert score(site, [NOTES, sung(), "hard", []])["score"] == 10000


def test_an_octave_away_is_in_tune(site):
    assert score(site, [NOTES, sung(-12), "hard", []])["score"] == 10000
    assert score(site, [NOTES, sung(24.3), "hard", []])["score"] == 10000


@pytest.mark.parametrize(
    "offset, difficulty, expected",
    [(1.5, "easy", 10000), (1.5, "medium", 0), (0.8, "medium", 10000), (0.8, "hard", 0), (0.4, "hard", 10000)],
)
def test_the_tolerance_is_2_1_and_half_a_semitone_by_difficulty(site, offset, difficulty, expected):
    assert score(site, [NOTES, sung(offset), difficulty, []])["score"] == expected


def test_silence_scores_0_and_half_the_song_half_the_points(site):
    assert score(site, [NOTES, [[t / 100, None, 0.01] for t in range(600)], "medium", []])["score"] == 0
    # The first two notes (half the note time) sung, the last not: half the notes' 9,000 and one of two line bonuses.
    half = score(site, [NOTES, sung(until=3.0), "medium", []])
    assert half["score"] == 4500 + 500
    assert half["lines"] == [[2, {"points": 5000, "max": 5000}], [1, {"points": 0, "max": 5000}]]


def test_a_note_held_in_tune_for_90_percent_counts_whole(site):
    # Each note's first 10 % unvoiced (a consonant), the rest in tune: full marks; 20 % unvoiced: not.
    def consonants(share):
        return [
            [t, None if t - n["start"] < share * (n["end"] - n["start"]) else n["midi"], 0.01]
            for n in NOTES
            for t in [n["start"] + 0.005 + i / 100 for i in range(round(100 * (n["end"] - n["start"])))]
        ]

    assert score(site, [NOTES, consonants(0.099), "medium", []])["score"] == 10000
    assert score(site, [NOTES, consonants(0.2), "medium", []])["score"] == round(10000 * 0.8 / 0.9)


def test_lines_follow_the_lyrics_or_else_the_rests(site):
    # Lyric lines at 0.0 and 0.995 (LRC rounds to 10 ms, the note starts at 1.0): two lines, the third note in the second.
    assert [n for n, _ in score(site, [NOTES, [], "medium", [0.0, 0.995]])["lines"]] == [1, 2]
    # No lyrics: the 2 s rest before the third note ends a line.
    assert [n for n, _ in score(site, [NOTES, [], "medium", []])["lines"]] == [2, 1]
