"""Small real audio files for tests, made with ffmpeg (no binary fixtures in git)."""

import subprocess
from pathlib import Path

from PIL import Image

CODEC_ARGS = {
    "wav": ["-c:a", "pcm_s16le"],
    "mp3": ["-c:a", "libmp3lame", "-b:a", "128k"],
    "flac": ["-c:a", "flac"],
    "ogg": ["-c:a", "libvorbis", "-q:a", "3"],
    "m4a": ["-c:a", "aac", "-b:a", "128k"],
    "opus": ["-c:a", "libopus", "-b:a", "96k"],
}


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *map(str, args)], check=True)


def make_audio(
    path, *, seconds=3.0, freq=440, rate=44100, channels=2, title=None, artist=None, cover=False, codec=None
):
    """A tone of ``seconds`` in the format the suffix names (``codec`` picks another ffmpeg
    codec for it), optionally tagged and with cover art."""
    path = Path(path)
    ext = path.suffix.lstrip(".")
    source = ["-f", "lavfi", "-i", f"sine=frequency={freq}:sample_rate={rate}:duration={seconds}"]
    inputs = list(source)
    maps = ["-map", "0:a"]
    if cover:
        picture = path.with_suffix(".cover.png")
        Image.new("RGB", (640, 480), (200, 40, 120)).save(picture)
        inputs += ["-i", str(picture)]
        maps += ["-map", "1:v", "-c:v", "mjpeg", "-disposition:v", "attached_pic"]
    meta = []
    if title:
        meta += ["-metadata", f"title={title}"]
    if artist:
        meta += ["-metadata", f"artist={artist}"]
    extra = ["-id3v2_version", "3"] if ext == "mp3" else []
    ffmpeg(*inputs, *maps, "-ac", channels, *(["-c:a", codec] if codec else CODEC_ARGS[ext]), *meta, *extra, path)
    return path


def append_flac_frames(path, copies):
    """Append the audio frames of the FLAC at ``path`` to itself until it holds ``copies``
    times its audio, leaving its STREAMINFO header (and so the length it declares) as it was:
    the length bomb of issue 9."""
    path = Path(path)
    data = path.read_bytes()
    assert data[:4] == b"fLaC", "not a FLAC file"
    frames_start = 4
    while True:  # metadata blocks: 1 byte last-flag + type, 3 bytes length
        is_last = data[frames_start] & 0x80
        frames_start += 4 + int.from_bytes(data[frames_start + 1 : frames_start + 4], "big")
        if is_last:
            break
    path.write_bytes(data + data[frames_start:] * (copies - 1))
    return path
