"""Parse LRC lyrics: line-level ``[mm:ss.xx]`` and word-level "enhanced LRC" ``<mm:ss.xx>``.

Strict on purpose: a bad timestamp, lines out of order, binary junk or a huge
file is refused with a message that names the line, so the user can fix it;
nothing half-parsed is ever stored.
"""

import re
from dataclasses import dataclass, field

MAX_BYTES = 256 * 1024
MAX_LINES = 5000
MAX_SECONDS = 6 * 3600

# [mm:ss], [mm:ss.x], [mm:ss.xx], [mm:ss.xxx]; minutes may exceed 59.
TIME_TAG = re.compile(r"\[(-?\d+):(\d{1,2})(?:[.:](\d{1,3}))?\]")
WORD_TAG = re.compile(r"<(-?\d+):(\d{1,2})(?:[.:](\d{1,3}))?>")
# [ar:Artist], [ti:Title], [offset:+250], [length: 3:20] ...
META_TAG = re.compile(r"^\[([a-zA-Z#]+):(.*)\]$")
ANY_BRACKET_START = re.compile(r"^\s*\[")


class LrcError(ValueError):
    def __init__(self, message, line=None):
        super().__init__(f"Line {line}: {message}" if line else message)
        self.line = line


@dataclass
class Word:
    time: float
    text: str


@dataclass
class Line:
    time: float
    text: str
    words: list[Word] = field(default_factory=list)


@dataclass
class Lyrics:
    lines: list[Line]
    meta: dict[str, str]
    offset_ms: int = 0  # from an [offset:] tag, as LRC files carry it

    def as_json(self):
        return [
            {
                "time": round(line.time, 3),
                "text": line.text,
                "words": [{"time": round(w.time, 3), "text": w.text} for w in line.words],
            }
            for line in self.lines
        ]


def decode(data: bytes) -> str:
    """Bytes of an uploaded .lrc file to text, refusing what is not text."""
    if len(data) > MAX_BYTES:
        raise LrcError(f"The lyrics are too large ({len(data) // 1024} KB); the limit is {MAX_BYTES // 1024} KB.")
    if b"\x00" in data:
        raise LrcError("This is not a text file (it contains binary data).")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise LrcError("This is not a text file in a known encoding (use UTF-8).")


def _seconds(minutes, seconds, fraction, line_no, raw):
    if minutes.startswith("-"):
        raise LrcError(f"negative timestamp {raw}; times start at [00:00.00].", line_no)
    if int(seconds) > 59:
        raise LrcError(f"bad timestamp {raw}: seconds must be 00-59.", line_no)
    value = int(minutes) * 60 + int(seconds) + (int(fraction) / 10 ** len(fraction) if fraction else 0)
    if value > MAX_SECONDS:
        raise LrcError(f"timestamp {raw} is past the end of any song.", line_no)
    return value


def parse(text: str) -> Lyrics:
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise LrcError(f"The lyrics are too large; the limit is {MAX_BYTES // 1024} KB.")
    if "\x00" in text:
        raise LrcError("The lyrics contain binary data.")
    raw_lines = text.splitlines()
    if len(raw_lines) > MAX_LINES:
        raise LrcError(f"Too many lines ({len(raw_lines)}); the limit is {MAX_LINES}.")

    lines, meta, offset_ms = [], {}, 0
    previous = -1.0
    for line_no, raw in enumerate(raw_lines, start=1):
        stripped = raw.strip()
        if not stripped:
            continue
        if any(ord(ch) < 32 and ch not in "\t" for ch in stripped):
            raise LrcError("contains control characters; is this a text file?", line_no)
        times = []
        rest = stripped
        while match := TIME_TAG.match(rest):
            times.append(_seconds(*match.groups(), line_no, match.group(0)))
            rest = rest[match.end() :]
        if not times:
            meta_match = META_TAG.match(stripped)
            if meta_match:
                key, value = meta_match.group(1).lower(), meta_match.group(2).strip()
                if key == "offset":
                    try:
                        offset_ms = int(value)
                    except ValueError:
                        raise LrcError(
                            f"bad offset {value!r}: use whole milliseconds, e.g. [offset:+250].", line_no
                        ) from None
                else:
                    meta[key] = value
                continue
            if ANY_BRACKET_START.match(stripped):
                raise LrcError(f"bad timestamp in {stripped[:40]!r}: use [mm:ss.xx].", line_no)
            raise LrcError(f"no timestamp: {stripped[:40]!r}. Each lyric line starts with [mm:ss.xx].", line_no)

        words = _words(rest, line_no)
        text_only = WORD_TAG.sub("", rest).strip()
        for time in times:
            if time < previous and len(times) == 1:
                raise LrcError(
                    f"lines are out of order: {_fmt(time)} comes after {_fmt(previous)}. Sort the lines by time.",
                    line_no,
                )
            lines.append(Line(time=time, text=text_only, words=words))
            previous = max(previous, time)
    if not lines:
        raise LrcError("No timed lyric lines found: each line needs a [mm:ss.xx] timestamp.")
    # A line with several tags ([00:10][00:40]chorus) is legal LRC; order it in.
    lines.sort(key=lambda line: line.time)
    return Lyrics(lines=lines, meta=meta, offset_ms=offset_ms)


def _words(rest, line_no):
    words = []
    matches = list(WORD_TAG.finditer(rest))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(rest)
        text = rest[match.end() : end].strip()
        time = _seconds(*match.groups(), line_no, match.group(0))
        if words and time < words[-1].time:
            raise LrcError(f"word timestamps out of order at {match.group(0)}.", line_no)
        if text:
            words.append(Word(time=time, text=text))
    return words


def _fmt(seconds):
    return f"[{int(seconds // 60):02d}:{seconds % 60:05.2f}]"
