"""What a separated song is made of: key, tempo and beats from the accompaniment, the sung melody from the vocals.

Pure functions on audio files (librosa), no Django: the background job (separation.analysis_tasks)
and the benchmark (bench/analysis.py) call ``analyse``; anything may call ``detect_key``.

- Key: a chroma profile of the whole song, correlated with the 24 rotated major/minor key
  profiles (Krumhansl-Schmuckler), the best correlation wins.
- Tempo and beats: librosa's dynamic-programming beat tracker on the onset strength, then
  the tempo is refined from the beat times themselves (the tempogram's lag grid is several
  per cent coarse at pop tempos).
- Melody: YIN on the vocals stem at 16 kHz, limited to the singing range, at a 10 ms hop,
  voiced where periodic and loud enough, cleaned of octave slips and vibrato; notes are
  the steady voiced runs of that contour, at their median pitch rounded.
"""

import numpy as np
import soundfile

# Analysis runs at this rate: plenty for pitch, chroma and onsets, and a fraction of the work at 44.1 kHz.
RATE = 22050
# The contour's hop: 10 ms, the resolution the melody is scored at.
HOP_SECONDS = 0.01
# Pitch runs at 16 kHz: a sung F0 is far below 8 kHz, and YIN's cost grows with the rate.
PITCH_RATE = 16000
# The singing range: below a low bass (G1) to high soprano (G5).
SING_FMIN, SING_FMAX = 50.0, 800.0
YIN_THRESHOLD = 0.2  # the first trough under this is the period
VOICING_APERIODICITY = 0.4  # above: noise, breath or consonant, not sung pitch
VOICING_RANGE_DB = 35  # quieter than the loud parts by more than this: bleed, not singing
OCTAVE_MEDIAN_FRAMES = 101  # one second of voiced frames: the register octave slips are folded into
VIBRATO_FRAMES = 15  # 150 ms, about one cycle of a 5-7 Hz vibrato
CONSONANT_FRAMES = 8  # unvoiced gaps up to 80 ms take the next vowel's pitch
# A note: a voiced run at least this long, split where the pitch moves by more than NOTE_JUMP semitones.
NOTE_MIN_SECONDS = 0.08
NOTE_JUMP = 0.7
BEAT_HOP = 256  # 11.6 ms onset frames
# Tempos considered (BPM) and the step between them; a faster or slower song is read at double or half.
TEMPO_RANGE = (70.0, 152.0)
TEMPO_STEP = 0.05
TEMPO_LAG_SECONDS = 8  # the longest lag whose autocorrelation counts

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
    onsets = librosa.onset.onset_strength(y=samples, sr=rate, hop_length=BEAT_HOP)
    tempo = comb_tempo(onsets, rate / BEAT_HOP)
    if tempo is None:
        return 0.0, []
    _, frames = librosa.beat.beat_track(onset_envelope=onsets, sr=rate, hop_length=BEAT_HOP, bpm=tempo, units="frames")
    beats = librosa.frames_to_time(frames, sr=rate, hop_length=BEAT_HOP)
    return round(tempo, 2), [round(float(t), 3) for t in beats]


def comb_tempo(onsets, frames_per_second):
    """The tempo (BPM) whose beat period and its multiples best line up with the onsets' autocorrelation.

    Summing the autocorrelation over every multiple of the period up to TEMPO_LAG_SECONDS
    measures the tempo to a fraction of a per cent (a 4-second lag is ~300 onset frames),
    where the plain tempogram's lag grid is 3 % coarse at 140 BPM. Summing (not averaging)
    rewards the level with an onset on every beat over its half, and the range keeps it off
    the eighth notes: TEMPO_RANGE is where nearly all popular music's beat lies.
    """
    import librosa

    centred = onsets - onsets.mean()
    if len(centred) < 4 or not np.any(centred):
        return None
    ac = librosa.autocorrelate(centred)
    ac = ac / ac[0]
    max_lag = min(len(ac) - 2, TEMPO_LAG_SECONDS * frames_per_second)
    lags = np.arange(len(ac))
    best, best_score = None, -np.inf
    for bpm in np.arange(*TEMPO_RANGE, TEMPO_STEP):
        period = 60.0 / bpm * frames_per_second
        multiples = np.arange(1, int(max_lag / period) + 1) * period
        if not len(multiples):
            continue
        score = np.interp(multiples, lags, ac).sum()
        if score > best_score:
            best, best_score = float(bpm), score
    return best


def melody(samples, rate=PITCH_RATE):
    """The sung pitch every 10 ms as MIDI (float, None where unvoiced) and the notes made of it."""
    if not np.any(samples):
        return [], []
    f0, aperiodicity, rms = yin(samples, rate, SING_FMIN, SING_FMAX, round(rate * HOP_SECONDS))
    midi = clean_contour(f0, aperiodicity, rms)
    contour = [None if np.isnan(m) else round(float(m), 2) for m in midi]
    return contour, notes_from_contour(midi, HOP_SECONDS)


def yin(samples, rate, fmin, fmax, hop, threshold=YIN_THRESHOLD):
    """YIN (de Cheveigné & Kawahara, 2002) for every frame at once, with FFT correlations.

    Returns per frame (centred on ``i * hop``): F0 in Hz (parabolically refined), the
    aperiodicity (the normalised difference at that period: 0 for a pure tone, ~1 for
    noise) and the RMS level. librosa's own ``pyin`` is ten times slower (its HMM over
    fine pitch bins), and ``yin`` gives no aperiodicity to decide voicing with.
    """
    import librosa

    shortest, longest = int(rate / fmax), int(np.ceil(rate / fmin))
    window = int(2 ** np.ceil(np.log2(longest)))  # the integration window: at least one longest period
    span = window + longest + 2
    padded = np.pad(samples.astype(np.float64), (window // 2, span))
    count = 1 + len(samples) // hop
    frames = librosa.util.frame(padded, frame_length=span, hop_length=hop)[:, :count].T
    size = int(2 ** np.ceil(np.log2(span + window)))
    # r(tau) = sum over the window of x[j] * x[j + tau], for every lag at once.
    correlation = np.fft.irfft(
        np.fft.rfft(frames, size, axis=1) * np.conj(np.fft.rfft(frames[:, :window], size, axis=1)), size, axis=1
    )[:, : longest + 2]
    energy = np.concatenate([np.zeros((count, 1)), np.cumsum(frames**2, axis=1)], axis=1)
    lags = np.arange(longest + 2)
    difference = np.maximum(energy[:, [window]] + energy[:, lags + window] - energy[:, lags] - 2 * correlation, 0)
    normalised = np.ones_like(difference)
    normalised[:, 1:] = difference[:, 1:] * lags[1:] / np.maximum(np.cumsum(difference[:, 1:], axis=1), 1e-12)
    searched = normalised[:, shortest : longest + 1]
    trough = np.zeros_like(searched, dtype=bool)
    trough[:, 1:-1] = (searched[:, 1:-1] <= searched[:, :-2]) & (searched[:, 1:-1] <= searched[:, 2:])
    below = trough & (searched < threshold)
    # The first trough under the threshold (the shortest period: no octave-down errors), else the deepest.
    lag = np.where(below.any(axis=1), below.argmax(axis=1), searched.argmin(axis=1)) + shortest
    lag = np.clip(lag, 1, longest)
    rows = np.arange(count)
    before, at, after = normalised[rows, lag - 1], normalised[rows, lag], normalised[rows, lag + 1]
    curvature = before - 2 * at + after
    safe = np.where(np.abs(curvature) > 1e-12, curvature, 1.0)
    offset = np.clip(np.where(np.abs(curvature) > 1e-12, 0.5 * (before - after) / safe, 0.0), -1, 1)
    rms = np.sqrt(energy[:, window] / window)
    return rate / (lag + offset), at, rms


def clean_contour(f0, aperiodicity, rms):
    """Raw YIN frames to a singing contour in MIDI (NaN: unvoiced).

    Voiced: periodic enough and within VOICING_RANGE_DB of the loud parts (a separated
    vocal stem keeps quiet bleed from the band). Octave slips are folded back to the
    running median; within each steady stretch the pitch is averaged over about one
    vibrato cycle, and consonant gaps inside a phrase take the pitch of the vowel after.
    """
    from scipy import ndimage

    level = 20 * np.log10(np.maximum(rms, 1e-9))
    loud = np.percentile(level, 95)
    voiced = (aperiodicity < VOICING_APERIODICITY) & (level > loud - VOICING_RANGE_DB)
    midi = np.full(len(f0), np.nan)
    midi[voiced] = 69 + 12 * np.log2(f0[voiced] / 440.0)
    where = np.flatnonzero(voiced)
    if not len(where):
        return midi
    values = midi[where]
    typical = ndimage.median_filter(values, size=OCTAVE_MEDIAN_FRAMES, mode="nearest")
    midi[where] = values - 12 * np.round((values - typical) / 12)
    for run in _voiced_runs(midi):
        if len(run) >= 3:
            midi[run] = ndimage.median_filter(midi[run], size=5, mode="nearest")
        steady = np.split(run, np.flatnonzero(np.abs(np.diff(midi[run])) > NOTE_JUMP) + 1)
        for stretch in steady:
            if len(stretch) >= 3:
                size = min(VIBRATO_FRAMES, len(stretch))
                midi[stretch] = ndimage.uniform_filter1d(midi[stretch], size=size, mode="nearest")
    gaps = np.split(np.arange(len(midi)), np.flatnonzero(np.diff(np.isnan(midi))) + 1)
    for gap in gaps:
        if np.isnan(midi[gap[0]]) and len(gap) <= CONSONANT_FRAMES and gap[-1] + 1 < len(midi):
            midi[gap] = midi[gap[-1] + 1]
    return midi


def _voiced_runs(midi):
    runs = np.split(np.arange(len(midi)), np.flatnonzero(np.diff(np.isnan(midi))) + 1)
    return [run for run in runs if len(run) and not np.isnan(midi[run[0]])]


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
    contour, notes = melody(load_mono(vocals_path, PITCH_RATE))
    report(1.0)
    return {
        "key": tonic,
        "mode": mode,
        "tempo": tempo,
        "beats": beats,
        "notes": notes,
        "contour": {"hop": HOP_SECONDS, "midi": contour},
    }
