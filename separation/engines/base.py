"""The contract every separation engine meets, and the one error type it raises.

Audio crosses this boundary as float32 arrays of shape (n_samples, 2) at 44.1 kHz. Stems come
back in the same shape and length, keyed by stem name ("vocals", "accompaniment", ...).
"""

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator

import numpy as np

SAMPLE_RATE = 44100
CHANNELS = 2

ProgressCallback = Callable[[float], None]


class EngineError(Exception):
    """Separation cannot be done; the message is written for the person who asked for it."""


class Engine(ABC):
    """Splits a stereo mix into stems.

    Engines implement ``separate_stream``; ``separate`` is the same thing for audio that is
    already in memory. Streaming exists so that memory stays flat for any track length: a
    20-minute song is 420 MB as float32, before its stems are even allocated.
    """

    model: str
    stem_names: tuple[str, ...]

    @abstractmethod
    def separate_stream(
        self,
        blocks: Iterable[np.ndarray],
        total_samples: int | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> Iterator[dict[str, np.ndarray]]:
        """Separate audio that arrives as consecutive (n, 2) float32 blocks of any size.

        Yields consecutive stem blocks; concatenated, they equal ``separate`` of the
        concatenated input. ``total_samples`` (exact or estimated) scales the progress
        fractions passed to ``on_progress``, which reaches 1.0 at the end.
        """

    def warm_up(self) -> None:
        """Do once, ahead of the first job, whatever makes an engine's first run slower than the next."""
        return None  # nothing, for an engine that has no such cost

    def separate(self, audio: np.ndarray, on_progress: ProgressCallback | None = None) -> dict[str, np.ndarray]:
        audio = check_audio(audio)
        pieces = {name: [] for name in self.stem_names}
        for block in self.separate_stream([audio], total_samples=len(audio), on_progress=on_progress):
            for name, piece in block.items():
                pieces[name].append(piece)
        return {
            name: np.concatenate(parts) if parts else np.zeros((0, CHANNELS), np.float32)
            for name, parts in pieces.items()
        }


def check_audio(audio):
    """Return ``audio`` as float32 (n, 2); anything else is a programming error, not a user's."""
    audio = np.asarray(audio)
    if audio.ndim != 2 or audio.shape[1] != CHANNELS:
        raise ValueError(f"expected audio of shape (n_samples, {CHANNELS}), got {audio.shape}")
    return audio.astype(np.float32, copy=False)
