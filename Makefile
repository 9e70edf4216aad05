# Two commands on a fresh machine: `make demo` (the inspector on a live embedded server)
# and `make test` (the whole suite, interop tests with real npm and Python peers included).
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
INTEROP := tests/interop

.PHONY: demo test lint typecheck bench screenshots recording system-deps clean
LINTED  := server inspector src tests bench

$(BIN)/sioscope: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,speed]'
	touch $@

$(INTEROP)/node_modules/.package-lock.json: $(INTEROP)/package.json $(INTEROP)/package-lock.json
	cd $(INTEROP) && npm ci --no-audit --no-fund
	touch $@

# Debian packages some tests need (Chromium for the official Admin UI test). Installed
# only when missing and only where we can (root); otherwise those tests say why they skip
# locally, and fail in CI.
system-deps:
	@bash scripts/system-deps.sh

demo: $(BIN)/sioscope
	$(BIN)/sioscope demo

test: $(BIN)/sioscope $(INTEROP)/node_modules/.package-lock.json system-deps
	$(BIN)/ruff check $(LINTED)
	MYPY=$(BIN)/mypy bash scripts/typecheck.sh
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(BIN)/sioscope
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	MYPY=$(BIN)/mypy bash scripts/typecheck.sh

# mypy --strict over sioscope.server and sioscope.inspector (also part of `make test`).
typecheck: $(BIN)/sioscope
	MYPY=$(BIN)/mypy bash scripts/typecheck.sh

bench: $(BIN)/sioscope $(INTEROP)/node_modules/.package-lock.json
	$(BIN)/python -m bench $(BENCH_ARGS)

# screenshots/*.svg (and the README's gallery) from the real app on sample data, then
# screenshots/web.png: the demo's --web page in headless Chromium.
screenshots: $(BIN)/sioscope $(INTEROP)/node_modules/.package-lock.json
	$(BIN)/python scripts/screenshot_web.py
	$(BIN)/python -m sioscope.inspector.screenshots

# docs/demo.cast: `sioscope demo` driven through a tour of the views in a pty (asciinema v2).
recording: $(BIN)/sioscope
	$(BIN)/python scripts/record_demo.py docs/demo.cast

clean:
	rm -rf $(VENV) $(INTEROP)/node_modules .pytest_cache .ruff_cache build
