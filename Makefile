# The two commands of the README. Each sets up .venv on first use (and again
# when pyproject.toml changes), so a fresh clone needs nothing else.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: report test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $(STAMP)

## verify every claim (full profile: long trainings included) and write report.html.
## Results go to the results store (derivcheck/store.py: $$DERIVCHECK_RESULTS, else
## ~/.cache/derivcheck/results.json), the same place `derivcheck list` reads afterwards.
report: $(STAMP)
	@status=0; \
	$(BIN)/derivcheck verify --full || status=$$?; \
	$(BIN)/derivcheck report -o report.html || true; \
	exit $$status

# the test suite also runs the Dask LocalCluster test and the live check page's tests, so it installs the
# [dask] extra (light: ~35 MB, no compiler), the [serve] extra (Starlette, uvicorn, httpx) and the
# [browser] extra (Playwright, which drives Debian's chromium where it is installed; else those tests skip)
TEST_STAMP := $(VENV)/.test-extras-stamp
$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dask,serve,browser]'
	touch $(TEST_STAMP)

## the test suite: machinery tests, every symbolic check, every quick numeric confirmation
test: $(TEST_STAMP)
	$(BIN)/python -m pytest -q -rs

## speed and memory figures (quoted in README); installs math-verify for the side-by-side comparison
bench: $(TEST_STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[bench]'
	$(BIN)/python benchmarks/verify_bench.py
	$(BIN)/python benchmarks/grading_bench.py
	$(BIN)/python benchmarks/report_size.py
	$(BIN)/python benchmarks/serve_bench.py
	$(BIN)/python benchmarks/questions_bench.py
	$(BIN)/python benchmarks/batch_bench.py

## build outputs only (and the old in-folder cache); the results store is left alone
clean:
	rm -rf build report.html .derivcheck .pytest_cache
