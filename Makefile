# Stemroom: `make run` serves the app, `make test` runs the whole suite.
# Both set everything up first on a fresh Debian/Ubuntu machine with Python 3.11.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# moto's S3 server for the STORAGE=s3 tests, in its own venv (requirements-s3-server.txt says why).
S3_SERVER_STAMP := .venv-s3-server/.installed

.PHONY: run test setup system system-test lint format bench-upload clean

run: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py serve

test: setup system-test $(S3_SERVER_STAMP)
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

$(S3_SERVER_STAMP): requirements-s3-server.txt
	$(PYTHON) -m venv .venv-s3-server
	.venv-s3-server/bin/python -m pip install --quiet -r requirements-s3-server.txt
	touch $(S3_SERVER_STAMP)

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
	rm -rf $(VENV) .venv-s3-server var/test-artifacts
