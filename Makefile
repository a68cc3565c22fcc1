# Two commands on a fresh machine: `make demo` and `make test` (both create .venv first).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test docs bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# The CPU build of torch lies on disk; pin it before the deep extra, whose range it meets
	# (a looser requirement with no torch installed would pull a multi-GB CUDA build).
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev,deep,ray,parquet]"
	# the bytecode pip writes for an installed package: an editable install leaves it to the
	# first import, which never writes it where PYTHONDONTWRITEBYTECODE is set (0.2 s a command)
	$(BIN)/python -m compileall -q src
	# numba compiles a kernel on its first call, not at install: compile the demo's now (about
	# half a minute), so that the first `make demo` loads them from numba's cache
	$(BIN)/python -m dynaq.warm
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/dynaq reproduce fig8.2 --out results/fig8.2
	$(BIN)/dynaq reproduce seed-table --out results/seed-table
	@echo
	@echo "Tables: results/fig8.2/summary.md  results/seed-table/summary.md"
	@echo "Plots:  results/fig8.2/steps_per_episode.png  results/seed-table/value_error.png  results/seed-table/steps_per_episode.png"

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/pytest -q

# The API reference and the tutorial, run so that its page shows the plots (about 30 s);
# `make test` builds them without running it (tests/test_docs.py) and runs it on its own.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 DYNAQ_DOCS_EXECUTE=true $(BIN)/mkdocs build --strict
	@echo "Docs: build/site/index.html  (or: $(BIN)/mkdocs serve)"

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_speed.py

clean:
	rm -rf $(VENV) results build src/*.egg-info
	# numba's cache does not notice edits to a kernel's callees in other files
	find src -name '*.nbi' -delete -o -name '*.nbc' -delete
