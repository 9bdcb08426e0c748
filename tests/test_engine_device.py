"""SEPARATION_DEVICE=gpu on a machine where TensorFlow sees no GPU fails clearly, never silently on the CPU."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_gpu_mode_without_a_visible_gpu_stops_with_one_clear_line(spleeter_2stems, song_wav, tmp_path):
    # An empty CUDA_VISIBLE_DEVICES hides every GPU, so this holds on GPU machines too.
    env = {
        **os.environ,
        "SEPARATION_DEVICE": "gpu",
        "CUDA_VISIBLE_DEVICES": "",
        "SPLEETER_MODEL_PATH": str(spleeter_2stems.parent),
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "separate", str(song_wav), "--out", str(tmp_path / "stems")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "CommandError: SEPARATION_DEVICE is 'gpu' but TensorFlow sees no GPU on this machine."
    )
    assert not (tmp_path / "stems").exists()
