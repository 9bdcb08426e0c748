"""Spleeter, run the way its own estimator runs it, but loaded once and fed segment by segment.

Spleeter's predict graph takes a whole waveform: it computes the STFT, cuts the magnitude
spectrogram into independent 512-frame segments for its U-Net, builds ratio masks and inverts the
masked STFT. Run on a whole file that costs about 1 GB + 20 MB per second of audio, and its
``Separator`` rebuilds the graph and restores the checkpoint on every call.

This engine builds Spleeter's own U-Net (its model function, as ``EstimatorSpecBuilder`` calls
it) once per process, on a placeholder holding the magnitude spectrogram of exactly one
512-frame segment of that same STFT grid, and restores the checkpoint once. Because the U-Net
never looks across segment borders, the result equals a whole-file run to float rounding, with
no overlap or cross-fade, and memory stays flat. Everything around the U-Net -- each segment's
STFT, Spleeter's ratio masks and the inverse STFT (a plain overlap-add, the only step that
crosses segment borders) -- is done here in NumPy, while TensorFlow works on the next segment.

TensorFlow is imported inside this module only, and this module is imported lazily by
``get_engine``: TensorFlow initialised in a process that later forks (django-q2) hangs the fork.
"""

import logging
import os
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from unittest import mock

import numpy as np
import scipy.fft

from separation.engines.base import CHANNELS, SAMPLE_RATE, Engine, EngineError, check_audio

logger = logging.getLogger(__name__)


def _prepare_tensorflow():
    """Settings TensorFlow reads from the environment, set before it is first imported."""
    # TensorFlow's start-up notices and the deprecation warnings Spleeter's TF1 code triggers
    # say nothing an operator can act on, and would drown the worker's own log lines.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    # TensorFlow turns its oneDNN kernels on by itself only on CPUs with AVX-512 VNNI and
    # newer: on an AVX2-only server (an AMD EPYC here) its plain kernels ran a segment
    # in 0.68 s against oneDNN's 0.45 s, with the same separation. An operator can still
    # set it to 0.
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


class SpleeterEngine(Engine):
    def __init__(self, model, model_dir, device="auto", threads=0):
        _prepare_tensorflow()
        import tensorflow as tf
        from spleeter.model import EstimatorSpecBuilder, get_model_function
        from spleeter.utils.configuration import load_configuration

        self.model = model
        self.model_dir = str(model_dir)
        started = time.monotonic()
        session_config = self._session_config(tf, device, threads)
        checkpoint = tf.train.latest_checkpoint(self.model_dir)
        if checkpoint is None:
            # Without this check Spleeter would happily "separate" with random weights.
            raise EngineError(
                f"The {model} separation model is not installed (no checkpoint in {self.model_dir}). "
                f"Run: python manage.py install_models --model {model}"
            )
        try:
            params = load_configuration(f"spleeter:{model}")
        except Exception:
            raise EngineError(f"Unknown separation model {model!r}.") from None
        if params["sample_rate"] != SAMPLE_RATE or params["n_channels"] != CHANNELS:
            raise EngineError(f"The {model} model expects {params['sample_rate']} Hz audio, which Stemroom lacks.")

        if params["mask_extension"] != "zeros":
            raise EngineError(f"The {model} model extends its masks in a way Stemroom does not implement.")

        self.stem_names = tuple(params["instrument_list"])
        self._frame_length = params["frame_length"]
        self._frame_step = params["frame_step"]
        self._segment_frames = params["T"]
        self._model_bins = params["F"]
        self._exponent = params["separation_exponent"]
        self._epsilon = EstimatorSpecBuilder.EPSILON
        self._window = _periodic_hann(self._frame_length)
        self._compensation = EstimatorSpecBuilder.WINDOW_COMPENSATION_FACTOR

        # Spleeter's U-Net is TF1 code (placeholders, Keras layers in a v1 graph).
        tf.compat.v1.disable_eager_execution()
        self._graph = tf.Graph()
        with self._graph.as_default():
            # Inference only: batch normalisation uses its stored statistics directly, without
            # a tf.cond on Keras's learning phase around each layer. (Keras warns that this call
            # is deprecated; it is the TF1 way Spleeter's layers read the phase, and TF is pinned.)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                tf.compat.v1.keras.backend.set_learning_phase(0)
            # Only the U-Net runs in TensorFlow; the STFT, the ratio masks and the inverse STFT
            # around it are done here in NumPy (_stft, _masked_stfts, _inverse_stft), while the
            # U-Net works on the next segment. Timed alone, Spleeter's whole graph took 0.28 s a
            # segment against 0.21 s for the U-Net: its masks, casts and 33 MB complex result.
            self._spectrogram_input = tf.compat.v1.placeholder(
                tf.float32, shape=(None, self._segment_frames, self._model_bins, CHANNELS), name="segment_spectrogram"
            )
            apply_model = get_model_function(params["model"]["type"])
            with _one_filter_deconvolutions_as_convolutions(tf):
                estimates = apply_model(self._spectrogram_input, self.stem_names, params["model"]["params"])
            self._estimates = tf.stack([estimates[f"{name}_spectrogram"] for name in self.stem_names])
            saver = tf.compat.v1.train.Saver()
        self._session = tf.compat.v1.Session(graph=self._graph, config=session_config)
        try:
            saver.restore(self._session, checkpoint)
        except Exception as exc:
            self._session.close()
            logger.error("Restoring %s failed: %s", checkpoint, _cause_of(exc))
            raise EngineError(
                f"The {model} separation model in {self.model_dir} is damaged and cannot be loaded. "
                f"Reinstall it: python manage.py install_models --model {model}"
            ) from None
        self._graph.finalize()
        self._tensorflow_error = tf.errors.OpError
        logger.info("Loaded Spleeter %s from %s in %.1f s", model, self.model_dir, time.monotonic() - started)

    def _stft(self, samples):
        """The STFT exactly as ``EstimatorSpecBuilder._build_stft_feature`` computes it, minus padding.

        (samples, channels) float32 -> (channels, frames, bins) complex64. The segment's
        samples already include Spleeter's leading frame of zeros (and its end padding for
        the last segment), so framing without ``pad_end`` yields the same frames.
        """
        # Channels first, here and up to the inverse STFT: framing, windowing and the FFTs
        # then run along rows in memory order (a segment in 36 ms, against 80 ms channels-last).
        channels = np.ascontiguousarray(samples.T)
        frames = np.lib.stride_tricks.sliding_window_view(channels, self._frame_length, axis=1)[:, :: self._frame_step]
        return scipy.fft.rfft(frames * self._window, axis=-1)

    @staticmethod
    def _session_config(tf, device, threads):
        gpus = tf.config.list_physical_devices("GPU")
        if device == "gpu" and not gpus:
            raise EngineError("SEPARATION_DEVICE is 'gpu' but TensorFlow sees no GPU on this machine.")
        cores = threads or len(os.sched_getaffinity(0))
        config = tf.compat.v1.ConfigProto(
            intra_op_parallelism_threads=cores,
            # Two ops at once, each using every core: the model's U-Nets (one per stem) are
            # independent branches, and one runs while the other waits between its ops. On 2
            # cores the engine took a median 5.41 s for a 3-minute song against 6.18 s one op
            # at a time (12 of each, alternating; the first chunk as soon), and four at once
            # were slower again.
            inter_op_parallelism_threads=min(2, cores),
        )
        if device == "cpu":
            config.device_count["GPU"] = 0
        else:
            config.gpu_options.allow_growth = True
        logger.info("Spleeter runs on %s", "GPU" if gpus and device != "cpu" else "CPU")
        return config

    def separate_stream(self, blocks, total_samples=None, on_progress=None):
        grid = _SegmentGrid(self._frame_length, self._frame_step, self._segment_frames)
        stitcher = _Stitcher(self._frame_length, grid.advance)
        # One thread runs the U-Net on segment k+1 while this one inverts the STFT of segment k.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="spleeter") as executor:
            # The masked STFTs of a segment, reused: only the model's bins are ever written,
            # the bins above them stay zero.
            masked = np.zeros(
                (len(self.stem_names), CHANNELS, self._segment_frames, self._frame_length // 2 + 1), np.complex64
            )
            pending = None
            for segment in grid.segments(blocks):
                stft = self._stft(segment)
                running = (stft, executor.submit(self._run_model, self._spectrogram(stft)))
                if pending is not None:
                    yield from self._finish(pending, masked, stitcher, grid, total_samples, on_progress)
                pending = running
            if pending is not None:
                yield from self._finish(pending, masked, stitcher, grid, total_samples, on_progress)
        rest = stitcher.flush(grid.end)
        if rest.shape[1]:
            yield self._as_stems(rest)
        if on_progress:
            on_progress(1.0)

    def warm_up(self):
        """Run the U-Net once on a segment of silence.

        TensorFlow's first ``Session.run`` prunes and optimises the graph and oneDNN picks
        its kernels: that first segment takes several times longer than the next ones. Paid
        when the worker starts, it no longer delays the first chunk of the first job.
        """
        started = time.monotonic()
        span = (self._segment_frames - 1) * self._frame_step + self._frame_length
        self._run_model(self._spectrogram(self._stft(np.zeros((span, CHANNELS), np.float32))))
        logger.info("Warmed up Spleeter %s in %.1f s", self.model, time.monotonic() - started)

    def _spectrogram(self, stft):
        """The U-Net's input, as Spleeter makes it: the magnitude of the model's bins, padded to T frames.

        (channels, frames, bins) complex64 -> (1, T, F, channels) float32.
        """
        spectrogram = np.zeros((1, self._segment_frames, self._model_bins, CHANNELS), np.float32)
        spectrogram[0, : stft.shape[1]] = np.abs(stft[:, :, : self._model_bins]).transpose(1, 2, 0)
        return spectrogram

    def _run_model(self, spectrogram):
        """The U-Net on one segment: every stem's estimated spectrogram, (stems, 1, T, F, channels)."""
        try:
            return self._session.run(self._estimates, {self._spectrogram_input: spectrogram})
        except self._tensorflow_error as exc:
            # Out of (GPU) memory, mostly: say so in one line, keep TensorFlow's details in the log.
            logger.error("Spleeter failed on a segment: %s", _cause_of(exc))
            raise EngineError(f"The separation model failed: {_cause_of(exc)}") from None

    def _finish(self, pending, masked, stitcher, grid, total_samples, on_progress):
        stft, estimates = pending
        masked = self._masked_stfts(stft, estimates.result(), masked)
        finished = stitcher.add(self._inverse_stft(masked), grid.end)
        if len(finished[0]):
            yield self._as_stems(finished)
        if on_progress and total_samples:
            on_progress(min(stitcher.done / total_samples, 0.999))

    def _masked_stfts(self, stft, estimates, out):
        """Spleeter's ratio masks applied to the segment's STFT (``EstimatorSpecBuilder._build_masks``).

        Each stem's mask is its estimate to the separation exponent over the sum of all of
        them; above the model's F bins the mask is zero ("mask_extension": "zeros"). Written
        into ``out``, whose bins above F are zero: (stems, channels, frames, bins) complex64.
        """
        frames = stft.shape[1]
        estimates = np.ascontiguousarray(estimates[:, 0, :frames].transpose(0, 3, 1, 2))
        powers = estimates**self._exponent
        total = powers.sum(axis=0) + np.float32(self._epsilon)
        masks = (powers + np.float32(self._epsilon / len(powers))) / total
        masked = out[:, :, :frames]
        np.multiply(masks, stft[np.newaxis, :, :, : self._model_bins], out=masked[..., : self._model_bins])
        return masked

    def _inverse_stft(self, masked_stfts):
        """``tf.signal.inverse_stft`` times Spleeter's window compensation, as its graph does.

        (stems, channels, frames, bins) complex64 -> (stems, samples, channels) float32. The
        work runs channels first, each frame contiguous (a segment in 45 ms, against 79 ms
        channels-last).
        """
        frames = scipy.fft.irfft(masked_stfts, n=self._frame_length, axis=-1)
        frames *= self._window * np.float32(self._compensation)
        return np.ascontiguousarray(_overlap_add(frames, self._frame_step).transpose(0, 2, 1))

    def _as_stems(self, stacked):
        return {name: stacked[i] for i, name in enumerate(self.stem_names)}


# Each tap of a 5-wide, stride-2 "same" transposed convolution, by output phase (even or
# odd sample) and by input position (previous, same, next); 5 marks a tap that is zero.
_PHASE_TAPS = ((3, 1, 5), (4, 2, 0))


@contextmanager
def _one_filter_deconvolutions_as_convolutions(tf):
    """Spleeter's U-Net, built with its one-filter transposed convolutions done as plain convolutions.

    The last transposed convolution of each U-Net (32 channels in, 1 out, 512 x 1024) was its
    slowest op: 17 ms of the 220 ms a segment takes (oneDNN, 2 cores). Each of its four output
    phases (even/odd row, even/odd column) is an ordinary 3 x 3 convolution of its input with
    taps picked from the 5 x 5 kernel; one convolution with four filters followed by
    ``depth_to_space`` makes all four: the same sums, 0.32 s of CPU a segment for the whole
    model against 0.37 s. Transposed convolutions with more filters ran slower that way and
    stay as they are.
    """
    from spleeter.model.functions import unet
    from tensorflow.keras import layers

    # The same class name: Keras names a layer's variables after it, and the checkpoint holds
    # them as conv2d_transpose_<n>.
    class Conv2DTranspose(layers.Conv2DTranspose):
        def call(self, inputs):
            if not self._is_one_filter_upsampling():
                return super().call(inputs)
            taps = tf.constant(_PHASE_TAPS)
            kernel = tf.pad(self.kernel, [[0, 1], [0, 1], [0, 0], [0, 0]])
            kernel = tf.gather(tf.gather(kernel, taps, axis=0), taps, axis=2)  # (a, u, b, v, out, in)
            kernel = tf.reshape(tf.transpose(kernel, [1, 3, 5, 0, 2, 4]), [3, 3, inputs.shape[-1], 4 * self.filters])
            phases = tf.nn.bias_add(tf.nn.conv2d(inputs, kernel, 1, "SAME"), tf.tile(self.bias, [4]))
            return tf.nn.depth_to_space(phases, 2)

        def _is_one_filter_upsampling(self):
            return (
                self.filters == 1
                and tuple(self.kernel_size) == (5, 5)
                and tuple(self.strides) == (2, 2)
                and self.padding == "same"
                and self.data_format == "channels_last"
                and tuple(self.dilation_rate) == (1, 1)
                and self.output_padding is None
                and self.use_bias
                and self.activation is tf.keras.activations.linear
            )

    with mock.patch.object(unet, "Conv2DTranspose", Conv2DTranspose):
        yield


def _cause_of(error):
    """The line of a TensorFlow error that says what went wrong, without the graph's stack traces."""
    text = str(error).split("Original stack trace")[0]
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith((" ", "\t"))]
    lines = [line for line in lines if not line.startswith(("Detected at node", "Node:", "Graph execution error"))]
    return lines[0] if lines else type(error).__name__


def _periodic_hann(length):
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(length) / length)).astype(np.float32)


def _overlap_add(frames, step):
    """Sum frames placed ``step`` apart, like ``tf.signal.overlap_and_add``.

    (stems, channels, n_frames, frame_length) -> (stems, channels, samples).
    """
    stems, channels, n_frames, frame_length = frames.shape
    pieces = frame_length // step
    out = np.zeros((stems, channels, n_frames + pieces - 1, step), dtype=frames.dtype)
    parts = frames.reshape(stems, channels, n_frames, pieces, step)
    for i in range(pieces):
        out[:, :, i : i + n_frames] += parts[:, :, :, i]
    return out.reshape(stems, channels, -1)


class _SegmentGrid:
    """Cuts incoming audio into the sample spans of Spleeter's 512-frame STFT segments.

    Spleeter prefixes the waveform with one frame of zeros, frames it with ``pad_end=True``
    (ceil((n + frame_length) / step) frames, zero-padded at the end) and cuts the frames into
    segments of T. Segment k covers frames [kT, kT + T), i.e. padded samples
    [kT*step, kT*step + (T - 1)*step + frame_length).
    """

    def __init__(self, frame_length, frame_step, segment_frames):
        self.frame_length = frame_length
        self.frame_step = frame_step
        self.segment_frames = segment_frames
        self.span = (segment_frames - 1) * frame_step + frame_length
        self.advance = segment_frames * frame_step
        self.received = 0
        self.end = None  # padded-signal index where the audio ends, once all of it has arrived

    def segments(self, blocks):
        buffer = np.zeros((self.frame_length, CHANNELS), np.float32)
        frames_done = 0
        for block in blocks:
            block = check_audio(block)
            self.received += len(block)
            buffer = np.concatenate([buffer, block])
            while len(buffer) >= self.span:
                yield buffer[: self.span]
                buffer = buffer[self.advance :]
                frames_done += self.segment_frames
        self.end = self.frame_length + self.received
        if not self.received:
            return
        total_frames = -(-self.end // self.frame_step)
        while frames_done < total_frames:
            frames = min(self.segment_frames, total_frames - frames_done)
            needed = (frames - 1) * self.frame_step + self.frame_length
            segment = np.zeros((needed, CHANNELS), np.float32)
            available = min(len(buffer), needed)
            segment[:available] = buffer[:available]
            yield segment
            buffer = buffer[self.advance :]
            frames_done += frames


class _Stitcher:
    """Overlap-adds consecutive segment outputs and hands out the samples no later segment touches.

    Positions are in the padded signal; Spleeter's leading frame of zeros is dropped from the
    output, and the output ends where the input did.
    """

    def __init__(self, frame_length, advance):
        self.frame_length = frame_length
        self.advance = advance
        self.start = 0  # padded-signal index of the next segment's first sample
        self.emitted = frame_length
        self.carry = None

    @property
    def done(self):
        return self.emitted - self.frame_length

    def add(self, signal, end=None):
        if self.carry is not None:
            signal[:, : self.carry.shape[1]] += self.carry
        self.carry = signal[:, self.advance :]
        finished = signal[:, : self.advance]
        self.start += self.advance
        return self._take(finished, self.start - self.advance, end)

    def flush(self, end):
        carry, self.carry = self.carry, None
        if carry is None:
            return np.zeros((1, 0, CHANNELS), np.float32)
        return self._take(carry, self.start, end)

    def _take(self, signal, offset, end):
        lo = max(self.emitted, offset)
        hi = offset + signal.shape[1] if end is None else min(offset + signal.shape[1], end)
        if hi <= lo:
            return signal[:, :0]
        self.emitted = hi
        return signal[:, lo - offset : hi - offset]
