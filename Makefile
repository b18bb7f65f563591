# The two commands of the README: `make run` and `make test`. Each sets up what is missing
# (a virtual environment in .venv with the package and its dev extras; Debian's Chromium for
# the browser tests) and is quick when everything is already there.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 8501
ADDRESS ?= 127.0.0.1
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test bench lint setup browser clean screenshots

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 is needed"'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,ray]'
	@touch $(STAMP)

setup: $(STAMP)

# Debian's Chromium drives the real-browser tests (Playwright never downloads a browser here).
browser:
	@if [ ! -x "$(CHROMIUM)" ]; then \
		echo "Installing Debian's chromium for the browser tests..."; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

# glibc's malloc keeps one arena per thread that ever allocated; the server's many threads then hold
# memory they freed. Two arenas keep the web process near its working size (README, "Memory").
MALLOC_ARENA_MAX ?= 2
run: setup
	MALLOC_ARENA_MAX=$(MALLOC_ARENA_MAX) $(VENV)/bin/streamlit run app.py --server.port $(PORT) --server.address $(ADDRESS) \
		--server.headless true --browser.gatherUsageStats false

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: setup browser lint
	CHROMIUM=$(CHROMIUM) $(VENV)/bin/pytest

# Refresh the README's pictures in assets/screenshots/ (tracked). `make test` takes the same
# screenshots into the ignored tests/e2e/screenshots/ and never rewrites tracked files.
README_SHOT_TESTS ?= tests/e2e/test_pages.py tests/e2e/test_feature_maps.py
screenshots: setup browser
	EXPLORER_README_SCREENSHOTS=1 CHROMIUM=$(CHROMIUM) $(VENV)/bin/pytest -q $(README_SHOT_TESTS)

bench: setup
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache tests/e2e/screenshots
