# The two commands of the README. Each sets up .venv on first use (and again
# when pyproject.toml changes), so a fresh clone needs nothing else.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: report test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[serve]'
	touch $(STAMP)

## verify every claim (full profile: long trainings included) and write report.html
report: $(STAMP)
	@status=0; \
	$(BIN)/derivcheck verify --full --save build/results.json || status=$$?; \
	$(BIN)/derivcheck report --results build/results.json -o report.html || true; \
	exit $$status

## the test suite: machinery tests, every symbolic check, every quick numeric confirmation
test: $(STAMP)
	$(BIN)/python -m pytest -q -rs

## speed and memory figures (quoted in README); installs math-verify for the side-by-side comparison
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[bench]'
	$(BIN)/python benchmarks/verify_bench.py
	$(BIN)/python benchmarks/grading_bench.py
	$(BIN)/python benchmarks/serve_bench.py

clean:
	rm -rf build report.html .derivcheck .pytest_cache
