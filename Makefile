# Stemroom: `make run` serves the app, `make test` runs the whole suite.
# Both set everything up first on a fresh Debian/Ubuntu machine with Python 3.11.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test setup system system-test lint format bench-upload clean

run: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py serve

test: setup system-test
	bash scripts/test.sh

# The real Spleeter 2stems weights, offline once cached (var/models, var/cache).
setup: $(STAMP) system
	$(PY) manage.py install_models --model 2stems

$(STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
		{ echo "Stemroom needs Python 3.11 (Spleeter pins it): install python3.11 or run make PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

# System pieces: ffmpeg to run; Chromium, PostgreSQL and espeak-ng (test songs) to test.
system:
	bash scripts/install_system.sh run

system-test:
	bash scripts/install_system.sh test

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench-upload: setup
	$(PY) bench/upload.py --runs 9

clean:
	rm -rf $(VENV) var/test-artifacts
