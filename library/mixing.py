"""Remix settings and the server-side mixdown, computed exactly as the browser's Web Audio graph does.

The browser plays each stem through GainNode(gain) -> StereoPannerNode(pan); the
mixdown applies the same gain and the same panning law (the Web Audio spec's
StereoPannerNode algorithm for stereo input), so a render sounds like the preview.
"""

import math

import numpy as np
import soundfile

from separation import audio
from separation.engines import SAMPLE_RATE

GAIN_DB_RANGE = (-60.0, 12.0)
BLOCK_FRAMES = SAMPLE_RATE * 5
DEFAULTS = {"gain_db": 0.0, "mute": False, "solo": False, "pan": 0.0}


class SettingsError(ValueError):
    pass


def normalize(stems, stem_names):
    """Check remix settings from a client and fill in defaults; raise SettingsError naming the bad field."""
    if stems is None:
        stems = {}
    if not isinstance(stems, dict):
        raise SettingsError('stems must be an object keyed by stem name, e.g. {"vocals": {"gain_db": -6}}.')
    unknown = sorted(set(stems) - set(stem_names))
    if unknown:
        raise SettingsError(f"unknown stem {unknown[0]!r}; this separation has: {', '.join(stem_names)}.")
    result = {}
    for name in stem_names:
        given = stems.get(name, {})
        if not isinstance(given, dict):
            raise SettingsError(f"{name}: must be an object with gain_db, mute, solo and pan.")
        extra = sorted(set(given) - set(DEFAULTS))
        if extra:
            raise SettingsError(f"{name}.{extra[0]}: unknown setting; use gain_db, mute, solo, pan.")
        value = {**DEFAULTS, **given}
        for flag in ("mute", "solo"):
            if not isinstance(value[flag], bool):
                raise SettingsError(f"{name}.{flag}: must be true or false.")
        for number in ("gain_db", "pan"):
            if isinstance(value[number], bool) or not isinstance(value[number], int | float):
                raise SettingsError(f"{name}.{number}: must be a number.")
            # Only floats can be infinite or NaN. JSON integers have no size limit, and
            # math.isfinite() of one with 400 digits raises OverflowError; the range
            # checks below compare such an integer exactly and refuse it.
            if isinstance(value[number], float) and not math.isfinite(value[number]):
                raise SettingsError(f"{name}.{number}: must be a finite number.")
        low, high = GAIN_DB_RANGE
        if not low <= value["gain_db"] <= high:
            raise SettingsError(f"{name}.gain_db: must be between {low:g} and {high:g} dB.")
        if not -1 <= value["pan"] <= 1:
            raise SettingsError(f"{name}.pan: must be between -1 (left) and 1 (right).")
        result[name] = {
            "gain_db": float(value["gain_db"]),
            "mute": value["mute"],
            "solo": value["solo"],
            "pan": float(value["pan"]),
        }
    return result


def audible(stems):
    """Names that sound: the soloed ones if any stem is soloed, else every unmuted one."""
    soloed = [name for name, s in stems.items() if s["solo"]]
    return soloed or [name for name, s in stems.items() if not s["mute"]]


def pan_stereo(block, pan):
    """Web Audio StereoPannerNode on a stereo signal (spec algorithm, equal-power)."""
    left, right = block[:, 0], block[:, 1]
    if pan <= 0:
        x = (pan + 1) * math.pi / 2
        gain_l, gain_r = math.cos(x), math.sin(x)
        return np.stack([left + right * gain_l, right * gain_r], axis=1)
    x = pan * math.pi / 2
    gain_l, gain_r = math.cos(x), math.sin(x)
    return np.stack([left * gain_l, right + left * gain_r], axis=1)


def mix_blocks(stem_files, stems):
    """Yield the mix block by block from {name: FLAC path}: flat memory for any length."""
    names = audible(stems)
    # Every stem is opened for the length, so an all-muted mix is silence, not nothing.
    readers = {name: soundfile.SoundFile(str(path)) for name, path in stem_files.items()}
    try:
        frames = max((r.frames for r in readers.values()), default=0)
        for start in range(0, frames, BLOCK_FRAMES):
            count = min(BLOCK_FRAMES, frames - start)
            out = np.zeros((count, 2), np.float32)
            for name in names:
                reader = readers[name]
                block = reader.read(count, dtype="float32", always_2d=True)
                if block.shape[1] == 1:
                    block = np.repeat(block, 2, axis=1)
                block = block * np.float32(10 ** (stems[name]["gain_db"] / 20))
                out[: len(block)] += pan_stereo(block, stems[name]["pan"])
            yield out
    finally:
        for reader in readers.values():
            reader.close()


def render(stem_files, stems, flac_path, mp3_path):
    """Write the mix as FLAC, then its MP3 rendition."""
    with audio.FlacWriter(flac_path) as writer:
        for block in mix_blocks(stem_files, stems):
            writer.write(block)
    audio.encode_browser_copy(flac_path, mp3_path)
