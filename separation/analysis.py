"""What a separated song is made of: key, tempo and beats from the accompaniment, the sung melody from the vocals.

Pure functions on audio files (librosa), no Django: the background job (separation.analysis_tasks)
and the benchmark (bench/analysis.py) call ``analyse``; anything may call ``detect_key``.

- Key: a chroma profile of the whole song, correlated with the 24 rotated major/minor key
  profiles (Krumhansl-Schmuckler), the best correlation wins.
- Tempo and beats: librosa's dynamic-programming beat tracker on the onset strength, then
  the tempo is refined from the beat times themselves (the tempogram's lag grid is several
  per cent coarse at pop tempos).
- Melody: pYIN on the vocals stem, limited to the singing range, at a 10 ms hop; notes are
  the stable voiced runs of that contour, at their median pitch rounded.
"""

import numpy as np
import soundfile

# Analysis runs at this rate: plenty for pitch, chroma and onsets, and a fraction of the work at 44.1 kHz.
RATE = 22050
# The contour's hop: 10 ms, the resolution the melody is scored at.
HOP_SECONDS = 0.01
PITCH_HOP = round(RATE * HOP_SECONDS)  # 220 samples at 22.05 kHz
# The singing range: low male (C2) to high soprano (G5). pYIN's cost grows with the range searched.
SING_FMIN, SING_FMAX = 65.0, 800.0
PITCH_FRAME = 1024  # 46 ms: two periods of the lowest note searched
# A note: a voiced run at least this long, split where the pitch moves by more than NOTE_JUMP semitones.
NOTE_MIN_SECONDS = 0.08
NOTE_JUMP = 0.7
BEAT_HOP = 256  # 11.6 ms onset frames: finer beat times, for the tempo refined from them
# The tempo prior's centre (BPM): most popular music lies within an octave either side of it.
TEMPO_PRIOR_BPM = 105.0

PITCH_CLASSES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
# Krumhansl & Kessler's probe-tone ratings, tonic first.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def load_mono(paths, rate=RATE):
    """One or more audio files, summed and mixed down to mono at ``rate`` (float32)."""
    import librosa

    if isinstance(paths, (str, bytes)) or hasattr(paths, "__fspath__"):
        paths = [paths]
    total = None
    for path in paths:
        samples, source_rate = soundfile.read(str(path), dtype="float32", always_2d=True)
        mono = librosa.resample(samples.mean(axis=1), orig_sr=source_rate, target_sr=rate, res_type="soxr_hq")
        if total is None:
            total = mono
        else:
            n = max(len(total), len(mono))
            total = np.pad(total, (0, n - len(total))) + np.pad(mono, (0, n - len(mono)))
    return total if total is not None else np.zeros(0, np.float32)


def key_of(samples, rate=RATE):
    """(tonic, mode) of mono ``samples``: the key profile best correlated with the song's chroma."""
    import librosa

    if not np.any(samples):
        return "C", "major"
    chroma = librosa.feature.chroma_cqt(y=samples, sr=rate, hop_length=2048, bins_per_octave=36)
    profile = chroma.sum(axis=1)
    best = (-2.0, "C", "major")
    for tonic in range(12):
        rotated = np.roll(profile, -tonic)
        for mode, template in (("major", MAJOR_PROFILE), ("minor", MINOR_PROFILE)):
            score = np.corrcoef(rotated, template)[0, 1]
            if score > best[0]:
                best = (score, PITCH_CLASSES[tonic], mode)
    return best[1], best[2]


def detect_key(path):
    """(tonic, mode) of any audio file, e.g. ("A", "minor")."""
    return key_of(load_mono(path))


def tempo_and_beats(samples, rate=RATE):
    """(BPM, beat times in seconds) of mono ``samples``."""
    import librosa

    if not np.any(samples):
        return 0.0, []
    onsets = librosa.onset.onset_strength(y=samples, sr=rate, hop_length=BEAT_HOP, aggregate=np.median)
    tempo, frames = librosa.beat.beat_track(
        onset_envelope=onsets, sr=rate, hop_length=BEAT_HOP, start_bpm=TEMPO_PRIOR_BPM, units="frames"
    )
    beats = librosa.frames_to_time(frames, sr=rate, hop_length=BEAT_HOP)
    return _refined_tempo(float(np.atleast_1d(tempo)[0]), beats), [round(float(t), 3) for t in beats]


def _refined_tempo(tempo, beats):
    """The tempo from a straight line through the beat times (least squares), when they are regular enough."""
    if len(beats) < 8 or tempo <= 0:
        return round(tempo, 1)
    period = 60.0 / tempo
    # Number the beats by elapsed periods, so a missed beat does not shorten the fit's period.
    index = np.round((beats - beats[0]) / period)
    slope, _ = np.polyfit(index, beats, 1)
    refined = 60.0 / slope
    return round(refined if abs(refined / tempo - 1) < 0.08 else tempo, 1)


def melody(samples, rate=RATE):
    """The sung pitch every 10 ms as MIDI (float, None where unvoiced) and the notes made of it."""
    import librosa

    if not np.any(samples):
        return [], []
    f0, voiced, _ = librosa.pyin(
        samples,
        fmin=SING_FMIN,
        fmax=SING_FMAX,
        sr=rate,
        frame_length=PITCH_FRAME,
        hop_length=PITCH_HOP,
        center=True,
    )
    midi = np.where(voiced & np.isfinite(f0), librosa.hz_to_midi(np.where(np.isfinite(f0), f0, 1.0)), np.nan)
    contour = [None if np.isnan(m) else round(float(m), 2) for m in midi]
    return contour, notes_from_contour(midi, HOP_SECONDS)


def notes_from_contour(midi, hop):
    """Stable voiced runs of a MIDI contour (NaN: unvoiced) as notes at their median pitch, rounded."""
    notes = []
    start = None
    for i in range(len(midi) + 1):
        value = midi[i] if i < len(midi) else np.nan
        if start is not None:
            run = midi[start:i]
            if np.isnan(value) or abs(value - np.median(run[-5:])) > NOTE_JUMP:
                if (i - start) * hop >= NOTE_MIN_SECONDS:
                    notes.append(
                        {
                            "start": round(start * hop, 3),
                            "end": round(i * hop, 3),
                            "midi": int(round(float(np.median(run)))),
                        }
                    )
                start = None
        if start is None and not np.isnan(value):
            start = i
    return notes


def analyse(vocals_path, accompaniment_path, on_progress=None):
    """Key, tempo, beats and sung melody of a separated song.

    ``accompaniment_path`` may be one file or several (4stems: drums, bass, other), summed.
    ``on_progress(fraction)`` is called as the parts finish; it may raise to stop.
    """
    report = on_progress or (lambda fraction: None)
    accompaniment = load_mono(accompaniment_path)
    report(0.05)
    tempo, beats = tempo_and_beats(accompaniment)
    report(0.15)
    tonic, mode = key_of(accompaniment)
    report(0.25)
    contour, notes = melody(load_mono(vocals_path))
    report(1.0)
    return {
        "key": tonic,
        "mode": mode,
        "tempo": tempo,
        "beats": beats,
        "notes": notes,
        "contour": {"hop": HOP_SECONDS, "midi": contour},
    }
