"""A model folder without usable weights fails loudly, never separating with random weights.

Spleeter itself, given an empty model folder, logs "running initialization to predict" and
returns stems from randomly initialised weights with exit status 0.
"""

import shutil

import pytest

from separation.engines import EngineError, get_engine
from separation.engines.spleeter import SpleeterEngine
from separation.models_install import WEIGHTS_FILE


@pytest.fixture
def model_copy(spleeter_2stems, tmp_path):
    return shutil.copytree(spleeter_2stems, tmp_path / "2stems")


def test_an_absent_model_folder_says_to_install_the_model(tmp_path):
    with pytest.raises(EngineError, match="not installed.*install_models --model 2stems"):
        SpleeterEngine("2stems", tmp_path / "nowhere")


def test_an_empty_model_folder_is_not_loaded_with_random_weights(tmp_path):
    (tmp_path / "2stems").mkdir()

    with pytest.raises(EngineError, match="not installed"):
        SpleeterEngine("2stems", tmp_path / "2stems")


def test_corrupt_weights_are_refused(model_copy):
    with open(model_copy / WEIGHTS_FILE, "r+b") as weights:
        weights.seek(40_000_000)
        weights.write(b"\0" * 64)

    with pytest.raises(EngineError, match="damaged.*install_models"):
        SpleeterEngine("2stems", model_copy)


def test_truncated_weights_are_refused(model_copy):
    with open(model_copy / WEIGHTS_FILE, "r+b") as weights:
        weights.truncate(1_000_000)

    with pytest.raises(EngineError, match="damaged"):
        SpleeterEngine("2stems", model_copy)


def test_get_engine_reports_a_missing_model_and_does_not_remember_the_failure(settings, tmp_path, spleeter_2stems):
    settings.SPLEETER_MODEL_PATH = tmp_path

    with pytest.raises(EngineError, match="not installed"):
        get_engine("2stems")

    shutil.copytree(spleeter_2stems, tmp_path / "2stems")
    assert get_engine("2stems").stem_names == ("vocals", "accompaniment")


def test_an_unknown_model_name_is_an_engine_error():
    with pytest.raises(EngineError, match="Unknown separation model"):
        get_engine("3stems")
