# Two commands set everything up on a fresh machine:
#   make build   creates .venv, installs handouts, builds every handout for every brand into output/
#   make test    creates .venv with the test extras and runs the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: build test lint bench readme-images references clean screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m compileall -q src  # byte-code for the editable install: faster start-up
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m compileall -q src
	touch $@ $(VENV)/.installed

build: $(VENV)/.installed
	$(BIN)/handouts build

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -n auto

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

bench: $(VENV)/.installed-test
	$(BIN)/python bench/run.py

readme-images: $(VENV)/.installed-test
	$(BIN)/python docs/make_images.py

clean:
	rm -rf output dist build .pytest_cache

# Redraw the visual-regression references (tests/reference/*.png) after a deliberate change.
references: $(VENV)/.installed-test
	$(BIN)/python tests/visual.py

# Pictures of the web app (docs/images/serve-*.png) from Debian's chromium.
screenshots: $(VENV)/.installed-test
	$(BIN)/python docs/make_screenshots.py
