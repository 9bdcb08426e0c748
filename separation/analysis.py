"""What a separated song is made of: key, tempo and beats from the accompaniment, the sung melody from the vocals.

Pure functions on audio files (librosa), no Django: the background job (separation.analysis_tasks)
and the benchmark (bench/analysis.py) call ``analyse``; anything may call ``detect_key``.

- Key: the diatonic scale holding most of the song's (log-compressed) chroma, then its major
  or relative minor tonic from the Krumhansl-Kessler profiles and the bass (``key_of``).
- Tempo and beats: librosa's dynamic-programming beat tracker on the onset strength, then
  the tempo is refined from the beat times themselves (the tempogram's lag grid is several
  per cent coarse at pop tempos).
- Melody: YIN on each channel of the vocals stem at 12 kHz (and, where the channels disagree,
  on each with part of the other taken away), limited to the singing range, at a 10 ms hop;
  the lead picked frame by frame (``lead_pitch``), voiced where periodic and loud enough,
  cleaned of harmonic slips and vibrato; notes are the steady voiced runs of that contour, at
  their median pitch rounded.
"""

import math
import statistics

import numpy as np
import soundfile

# Analysis runs at this rate: plenty for pitch, chroma and onsets, and a fraction of the work at 44.1 kHz.
RATE = 22050
# The contour's hop: 10 ms, the resolution the melody is scored at.
HOP_SECONDS = 0.01
# Pitch runs at 12 kHz: a sung F0 is far below 6 kHz, and YIN's cost grows with the rate (its
# integration window, a power of two of at least the longest period, is then 21 ms: 16 kHz took 32 ms,
# and melody accuracy was 0.7 points lower there on bench/analysis.py, 2.4 on its held-out seeds).
PITCH_RATE = 12000
# The singing range: below a low bass (G1) to high soprano (G5).
SING_FMIN, SING_FMAX = 50.0, 800.0
OCTAVE_SEARCH = 0.04  # a trough within 4 % of half (a third of) the strongest period's lag is its octave (twelfth)
OCTAVE_SLACK = 0.1  # ... and is taken when no shallower than the strongest by more than this
OCTAVE_PASSES = 3  # ... checked this many times over, so a trough at up to 8 (or 27) periods comes down to one
SIDE_CANCEL = 0.3  # how much of the other channel each side view takes away (lead_pitch)
CHANNELS_AGREE = 0.5  # semitones: two channels this close give one voice's pitch (lead_pitch)
LEAD_REFERENCE_FRAMES = 151  # 1.5 s of frames where both channels agree: where the lead sings
LEAD_REFERENCE_MIN_FRAMES = 10  # fewer agreeing frames say nothing: keep the most periodic view
YIN_BLOCK_FRAMES = 4096  # frames analysed at once: 41 s of audio
VOICING_APERIODICITY = 0.5  # above: noise, breath or consonant, not sung pitch
VOICING_RANGE_DB = 35  # quieter than the loud parts by more than this: bleed, not singing
OCTAVE_MEDIAN_FRAMES = 101  # one second of voiced frames: the register octave slips are folded into
# A frame that locked onto a harmonic (2nd-8th) or a subharmonic (1/2-1/8) of the sung pitch lies
# this many semitones from it; a real melody moves from its one-second median by far less.
HARMONIC_SLIPS = np.array(sorted({0.0, *(sign * 12 * np.log2(k) for k in range(2, 9) for sign in (1, -1))}))
VIBRATO_FRAMES = 15  # 150 ms, about one cycle of a 5-7 Hz vibrato
CONSONANT_FRAMES = 15  # unvoiced gaps up to 150 ms (a consonant cluster) take the next vowel's pitch
# A note: a voiced run at least this long, split where the pitch moves by more than NOTE_JUMP semitones.
NOTE_MIN_SECONDS = 0.08
NOTE_JUMP = 0.7
BEAT_HOP = 256  # 11.6 ms onset frames
# Tempos considered (BPM) and the step between them; a faster or slower song is read at double or half.
TEMPO_RANGE = (70.0, 152.0)
TEMPO_STEP = 0.05
TEMPO_LAG_SECONDS = 8  # the longest lag whose autocorrelation counts

# Key: a constant-Q spectrum from C1 over seven octaves, a third of a semitone per bin, every ~93 ms.
KEY_RATE = 11025
KEY_HOP = 1024
KEY_OCTAVES = 7
KEY_BINS_PER_OCTAVE = 36
BASS_OCTAVES = 2  # C1-B2: the bass line
OPENING_SECONDS = 1.0  # how much of the opening bass counts as the song's first chord
MAJOR_SCALE = np.array([0, 2, 4, 5, 7, 9, 11])

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


def load_channels(path, rate):
    """An audio file's channels at ``rate``, one row each (float32)."""
    import librosa

    samples, source_rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    if not len(samples):
        return np.zeros((samples.shape[1], 0), np.float32)
    return librosa.resample(np.ascontiguousarray(samples.T), orig_sr=source_rate, target_sr=rate, res_type="soxr_hq")


def key_of(samples, rate=RATE):
    """(tonic, mode) of mono ``samples``, in two steps.

    1. The scale: the diatonic collection (one of 12) holding the most of the song's
       log-compressed chroma. Compressing first keeps a loud instrument's harmonics (its
       3rd partial is a fifth up, its 5th a third up) from outweighing quieter real notes,
       which is what pulls a plain chroma profile to the dominant key.
    2. The tonic: the collection's major tonic or its relative minor's, two keys with the
       same notes. Three kinds of evidence, each the major's minus the minor's: the
       Krumhansl-Kessler profile correlation, the bass at the song's opening (songs
       start on their tonic far more often than anywhere else), and the bass's weight
       on tonic plus dominant. The weights put each on the same footing (their spread over
       the generated evaluation songs).
    """
    import librosa

    if not np.any(samples):
        return "C", "major"
    # Seven octaves from C1 end below 4 kHz: half the analysis rate is plenty, and halves the CQT's work.
    samples = librosa.resample(samples, orig_sr=rate, target_sr=KEY_RATE, res_type="soxr_hq")
    rate = KEY_RATE
    spectrum = np.abs(
        librosa.cqt(
            samples,
            sr=rate,
            hop_length=KEY_HOP,
            fmin=librosa.note_to_hz("C1"),
            n_bins=KEY_OCTAVES * KEY_BINS_PER_OCTAVE,
            bins_per_octave=KEY_BINS_PER_OCTAVE,
        )
    )
    compressed = np.log1p(100 * spectrum / max(spectrum.max(), 1e-12))
    chroma = _chroma(compressed).sum(axis=1)
    scale = int(np.argmax([chroma[(MAJOR_SCALE + tonic) % 12].sum() for tonic in range(12)]))
    major, minor = scale, (scale + 9) % 12

    bass = _chroma(spectrum[: BASS_OCTAVES * KEY_BINS_PER_OCTAVE])
    sounding = np.flatnonzero(bass.sum(axis=0) > 0.2 * bass.sum(axis=0).max())
    opening = bass[:, sounding[: max(1, round(OPENING_SECONDS * rate / KEY_HOP))]].sum(axis=1)
    bass = bass.sum(axis=1)

    def share(values, *pitch_classes):
        return values[list(pitch_classes)].sum() / max(values.sum(), 1e-12)

    profile = (
        np.corrcoef(np.roll(chroma, -major), MAJOR_PROFILE)[0, 1]
        - np.corrcoef(np.roll(chroma, -minor), MINOR_PROFILE)[0, 1]
    )
    evidence = (
        profile / 0.22
        + (share(opening, major) - share(opening, minor)) / 0.22
        + (share(bass, major, (major + 7) % 12) - share(bass, minor, (minor + 7) % 12)) / 0.12
    )
    return (PITCH_CLASSES[major], "major") if evidence > 0 else (PITCH_CLASSES[minor], "minor")


def _chroma(spectrum):
    import librosa

    return librosa.feature.chroma_cqt(C=spectrum, bins_per_octave=KEY_BINS_PER_OCTAVE, norm=None)


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
    bpms = np.arange(*TEMPO_RANGE, TEMPO_STEP)
    periods = 60.0 / bpms * frames_per_second
    # Every candidate's multiples of its period at once (one row each), those past max_lag masked.
    counts = np.floor(max_lag / periods).astype(int)
    if not counts.max(initial=0):
        return None
    multiples = periods[:, None] * np.arange(1, counts.max() + 1)
    inside = np.arange(1, counts.max() + 1) <= counts[:, None]
    scores = np.where(inside, np.interp(multiples, np.arange(len(ac)), ac), 0.0).sum(axis=1)
    scores[counts == 0] = -np.inf
    return float(bpms[np.argmax(scores)])


def melody(samples, rate=PITCH_RATE):
    """The sung pitch every 10 ms as MIDI (float, None where unvoiced) and the notes made of it.

    ``samples``: mono, or one row per channel. A stereo vocal stem is tracked four ways (see
    ``lead_pitch``), which finds the lead where a harmony or the band's bleed would take over
    a plain mix-down.
    """
    channels = np.atleast_2d(samples)
    if not np.any(channels):
        return [], []

    def track(view, only=None):
        return yin(view, rate, SING_FMIN, SING_FMAX, round(rate * HOP_SECONDS), VOICING_RANGE_DB, only)

    if len(channels) == 2:
        left, right = channels
        tracked = [track(left), track(right)]
        # The side views matter only where the channels disagree: tracked there alone, they cost a fraction.
        (f0_left, *_), (f0_right, *_) = tracked
        with np.errstate(invalid="ignore"):
            differ = _semitones_apart(f0_left, f0_right) > CHANNELS_AGREE
        tracked += [track(left - SIDE_CANCEL * right, differ), track(right - SIDE_CANCEL * left, differ)]
    else:
        tracked = [track(channels.mean(axis=0))]
    f0s, aperiodicities, levels = (np.stack(part) for part in zip(*tracked, strict=True))
    f0, aperiodicity = lead_pitch(f0s, aperiodicities)
    rms = np.sqrt(np.mean(levels[: len(channels)] ** 2, axis=0))
    midi = clean_contour(f0, aperiodicity, rms)
    contour = [None if np.isnan(m) else round(float(m), 2) for m in midi]
    return contour, notes_from_contour(midi, HOP_SECONDS)


def lead_pitch(f0s, aperiodicities):
    """(F0, aperiodicity) per frame from YIN run on several views of one stem (one row each).

    Views: the left and right channels, then each with a part of the other taken away (which
    cancels a voice panned towards that other side). Every frame takes the most periodic view,
    except where two voices sing at once: the lead is usually clearer on one side, a harmony
    (panned away from it) on the other, and which one is the more periodic changes from frame
    to frame. Where the two channels agree, one voice sings (the lead: harmonies come and go);
    the running median of those frames (LEAD_REFERENCE_FRAMES) says where the lead is, and
    where the channels disagree the view nearest it wins. bench/analysis.py, melody: the most
    periodic channel 84.0 %, these views and this rule 85.3 % (its held-out seeds 81.4 -> 83.1 %).
    Views that were not tracked in a frame have NaN F0 and aperiodicity 1 there.
    """
    frames = np.arange(f0s.shape[1])
    chosen = np.argmin(aperiodicities, axis=0)
    if len(f0s) >= 2:
        voiced = aperiodicities.min(axis=0) < VOICING_APERIODICITY
        with np.errstate(invalid="ignore", divide="ignore"):
            midi = 69 + 12 * np.log2(f0s / 440.0)
            agree = np.flatnonzero(voiced & (_semitones_apart(f0s[0], f0s[1]) <= CHANNELS_AGREE))
        if len(agree) > LEAD_REFERENCE_MIN_FRAMES:
            from scipy import ndimage

            typical = ndimage.median_filter(midi[0, agree], size=LEAD_REFERENCE_FRAMES, mode="nearest")
            reference = np.interp(frames, agree, typical)
            disagree = voiced & np.all(np.isfinite(midi), axis=0)
            disagree[agree] = False
            nearest = np.argmin(np.abs(np.nan_to_num(midi, nan=np.inf) - reference), axis=0)
            chosen = np.where(disagree, nearest, chosen)
    return f0s[chosen, frames], aperiodicities[chosen, frames]


def _semitones_apart(f0_a, f0_b):
    """Per frame, how far apart two F0 tracks are in semitones (NaN where either is unvoiced)."""
    return np.abs(12 * np.log2(f0_a / f0_b))


def yin(samples, rate, fmin, fmax, hop, quiet_db=None, only=None):
    """YIN (de Cheveigné & Kawahara, 2002) for many frames at once, with FFT correlations.

    Returns per frame (centred on ``i * hop``): F0 in Hz (parabolically refined), the
    aperiodicity (the normalised difference at that period: 0 for a pure tone, ~1 for
    noise) and the RMS level. librosa's own ``pyin`` is ten times slower (its HMM over
    fine pitch bins), and ``yin`` gives no aperiodicity to decide voicing with. Frames
    more than ``quiet_db`` under the loud parts (``loud_enough``) are not analysed: NaN
    F0, aperiodicity 1 (a vocal stem is silent or bleed for much of a song); with ``only``
    (a boolean per frame), neither are the frames it leaves out.
    """
    import librosa

    shortest, longest = int(rate / fmax), int(np.ceil(rate / fmin))
    window = int(2 ** np.ceil(np.log2(longest)))  # the integration window: at least one longest period
    span = window + longest + 2
    padded = np.pad(samples.astype(np.float64), (window // 2, span))
    count = 1 + len(samples) // hop
    all_frames = librosa.util.frame(padded, frame_length=span, hop_length=hop)[:, :count].T
    rms = np.sqrt(np.einsum("ij,ij->i", all_frames[:, :window], all_frames[:, :window]) / window)
    f0, aperiodicity = np.full(count, np.nan), np.ones(count)
    active = np.ones(count, bool) if quiet_db is None else loud_enough(rms, quiet_db)
    if only is not None:
        active &= only[:count]
    where = np.flatnonzero(active)
    # In blocks, so a long song's frames never sit in memory all at once (with every lag, a
    # 20-minute song's would take 2 GB); the block is long enough that the FFTs stay batched.
    for block in np.array_split(where, max(1, math.ceil(len(where) / YIN_BLOCK_FRAMES))):
        if len(block):
            f0[block], aperiodicity[block] = _periods(all_frames[block], rate, window, shortest, longest)
    return f0, aperiodicity, rms


def _periods(frames, rate, window, shortest, longest):
    """(F0 in Hz, aperiodicity) of each of ``frames`` (one per row: the window, then ``longest`` more samples)."""
    import scipy.fft

    span = frames.shape[1]
    size = int(2 ** np.ceil(np.log2(span + window)))
    # r(tau) = sum over the window of x[j] * x[j + tau], for every lag at once.
    # (scipy's FFT in single precision, on every core: a third of numpy's time; the
    # difference function below is still summed in double.)
    single = frames.astype(np.float32)
    spectrum = scipy.fft.rfft(single, size, axis=1, workers=-1)
    spectrum *= np.conj(scipy.fft.rfft(single[:, :window], size, axis=1, workers=-1))
    correlation = scipy.fft.irfft(spectrum, size, axis=1, workers=-1)[:, : longest + 2]
    energy = np.concatenate([np.zeros((len(frames), 1)), np.cumsum(frames**2, axis=1)], axis=1)
    lags = np.arange(longest + 2)
    difference = np.maximum(energy[:, [window]] + energy[:, lags + window] - energy[:, lags] - 2 * correlation, 0)
    normalised = np.ones_like(difference)
    normalised[:, 1:] = difference[:, 1:] * lags[1:] / np.maximum(np.cumsum(difference[:, 1:], axis=1), 1e-12)
    searched = normalised[:, shortest : longest + 1]
    trough = np.zeros_like(searched, dtype=bool)
    trough[:, 1:-1] = (searched[:, 1:-1] <= searched[:, :-2]) & (searched[:, 1:-1] <= searched[:, 2:])
    rows = np.arange(len(frames))
    lag = np.clip(_strongest_period(searched, trough, shortest), 1, longest)
    before, at, after = normalised[rows, lag - 1], normalised[rows, lag], normalised[rows, lag + 1]
    curvature = before - 2 * at + after
    safe = np.where(np.abs(curvature) > 1e-12, curvature, 1.0)
    offset = np.clip(np.where(np.abs(curvature) > 1e-12, 0.5 * (before - after) / safe, 0.0), -1, 1)
    return rate / (lag + offset), at


def loud_enough(rms, range_db):
    """Frames within ``range_db`` of the loud parts (the 95th percentile level)."""
    level = 20 * np.log10(np.maximum(rms, 1e-9))
    return level > np.percentile(level, 95) - range_db


def _strongest_period(difference, trough, shortest):
    """Per frame, the period (lag) in ``difference``: YIN's normalised difference at lags ``shortest`` and up.

    The deepest trough is the strongest periodicity: with two voices, a lead and a quieter
    harmony, it is the lead's, where YIN's "first trough under a threshold" takes whichever
    voice is higher. A period's multiples are troughs nearly as deep, so a trough near a half
    or a third of the deepest one's lag and almost as deep (OCTAVE_SLACK) wins instead: no
    octave-down errors.
    """
    count, width = difference.shape
    rows = np.arange(count)
    depth = np.where(trough, difference, np.inf)
    index = np.where(np.isfinite(depth).any(axis=1), depth.argmin(axis=1), difference.argmin(axis=1))
    # Halving or thirding once is not always enough: a steady tone's troughs at every multiple of
    # its period are all about as deep, and the deepest may lie at four or eight periods.
    for divisor in (3, 2) * OCTAVE_PASSES:
        lag = (index + shortest) / divisor
        low = np.floor(lag * (1 - OCTAVE_SEARCH)).astype(int) - shortest
        high = np.minimum(np.ceil(lag * (1 + OCTAVE_SEARCH)).astype(int) - shortest, width - 1)
        best, best_index = np.full(count, np.inf), index.copy()
        for step in range(int(np.max(high - low, initial=0)) + 1):
            at = low + step
            inside = (at <= high) & (at >= 1)
            value = np.where(inside, depth[rows, np.clip(at, 0, width - 1)], np.inf)
            better = value < best
            best, best_index = np.where(better, value, best), np.where(better, at, best_index)
        index = np.where(best < difference[rows, index] + OCTAVE_SLACK, best_index, index)
    return index + shortest


def clean_contour(f0, aperiodicity, rms):
    """Raw YIN frames to a singing contour in MIDI (NaN: unvoiced).

    Voiced: periodic enough and within VOICING_RANGE_DB of the loud parts (a separated
    vocal stem keeps quiet bleed from the band). Frames that slipped onto a harmonic or
    subharmonic of the sung pitch (an octave, a twelfth, two octaves...) are folded back to
    the running median; within each steady stretch the pitch is averaged over about one
    vibrato cycle, and consonant gaps inside a phrase take the pitch of the vowel after.
    """
    from scipy import ndimage

    voiced = (aperiodicity < VOICING_APERIODICITY) & loud_enough(rms, VOICING_RANGE_DB)
    midi = np.full(len(f0), np.nan)
    midi[voiced] = 69 + 12 * np.log2(f0[voiced] / 440.0)
    where = np.flatnonzero(voiced)
    if not len(where):
        return midi
    values = midi[where]
    typical = ndimage.median_filter(values, size=OCTAVE_MEDIAN_FRAMES, mode="nearest")
    slip = HARMONIC_SLIPS[np.argmin(np.abs((values - typical)[:, None] - HARMONIC_SLIPS), axis=1)]
    midi[where] = values - slip
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
    # Plain floats and statistics.median: np.median's overhead on five values, every frame, was most of the time.
    values = [float(m) for m in np.asarray(midi, dtype=float)] + [math.nan]
    notes = []
    start = None
    for i, value in enumerate(values):
        ends = start is not None and (
            math.isnan(value) or abs(value - statistics.median(values[max(start, i - 5) : i])) > NOTE_JUMP
        )
        if ends:
            if (i - start) * hop >= NOTE_MIN_SECONDS:
                notes.append(
                    {
                        "start": round(start * hop, 3),
                        "end": round(i * hop, 3),
                        "midi": int(round(statistics.median(values[start:i]))),
                    }
                )
            start = None
        if start is None and not math.isnan(value):
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
    contour, notes = melody(load_channels(vocals_path, PITCH_RATE))
    report(1.0)
    return {
        "key": tonic,
        "mode": mode,
        "tempo": tempo,
        "beats": beats,
        "notes": notes,
        "contour": {"hop": HOP_SECONDS, "midi": contour},
    }
