# The two commands a new user needs (see README):
#   make run    set up .venv and start the app on http://127.0.0.1:7860
#   make test   set up .venv (with test tools and Debian's chromium) and run the whole test suite
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
# The CPU build of torch; installing it first keeps every later resolver step from pulling a CUDA build.
TORCH   ?= torch==2.13.0

.PHONY: run test setup setup-test browser bench lint clean-index

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e ".[build,test]"
	$(BIN)/pip check
	touch $@

setup: $(VENV)/.installed

browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Build the index (and the fast query encoder) first, so the app answers within seconds of starting.
run: setup
	$(BIN)/roadmap-qa build-index
	$(BIN)/python app.py

test: setup browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python bench/run.py

clean-index:
	rm -rf index/*.faiss index/manifest.json
