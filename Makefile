# fiscal_nlp — `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
RAW    ?= data/raw
OUT    ?= data/processed
JOBS   ?= 2

.DEFAULT_GOAL := help
.PHONY: help env fonts browser lint test data reports lab clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name fiscal-nlp --display-name "fiscal-nlp (.venv)" >/dev/null
	touch $(STAMP)

env: $(STAMP) fonts ## create .venv, install the package, its Jupyter kernel and a CJK font

fonts: $(STAMP) ## make sure matplotlib has a font with Chinese glyphs (installs one if missing)
	@$(BIN)/python -m fiscal_nlp.reports.fonts --ensure

browser: ## headless Chromium for the report rendering test (Debian's package; needs root + apt-get)
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    echo "installing Debian's chromium for the browser test …" && \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "chromium not available: the headless-browser test will be skipped" >&2

lint: env ## byte-compile and check notebooks are stripped
	$(BIN)/python -m compileall -q fiscal_nlp tests benchmarks

test: env browser ## run the full test suite
	$(BIN)/python -m pytest -n $(JOBS) -q

data: env ## extract data/raw into data/processed (Parquet + DuckDB)
	$(BIN)/fiscal-nlp extract $(RAW) -o $(OUT)

reports: env ## extract, then build every report into reports/ (the main command)
	$(BIN)/fiscal-nlp build --raw $(RAW) --processed $(OUT) --reports reports --jobs $(JOBS)

lab: env ## open JupyterLab on notebooks/ with the project's kernel
	$(BIN)/jupyter lab notebooks/

clean: ## delete generated files only (data/processed, reports)
	find data/processed -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
	find reports -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
