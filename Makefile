# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install -q

.PHONY: demo test install dev lint docs pictures bench bench-quick bench-baseline clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(PIP) -e ".[plot]"

dev: $(BIN)/python
	$(PIP) -e ".[dev,plot,docs,study]"

demo: install
	$(BIN)/autograd-lite demo

test: dev
	$(BIN)/python -m pytest

lint: dev
	$(BIN)/ruff check autograd_lite tests examples benchmarks

docs: dev
	$(BIN)/mkdocs build --strict

# Every picture of the docs and the README (docs/img), the CLI page's included.
pictures: dev
	$(BIN)/python docs/make_pictures.py

bench: $(BIN)/python
	$(PIP) -e ".[bench]"
	$(BIN)/python -m benchmarks

bench-quick: $(BIN)/python
	$(PIP) -e ".[bench]"
	$(BIN)/python -m benchmarks --quick

# The current engine against the last commit before its redesign, in the same run.
BASELINE ?= d1c4b10
bench-baseline: $(BIN)/python
	$(PIP) -e ".[bench]"
	$(BIN)/python -m benchmarks --baseline $(BASELINE) --write docs/benchmarks.md

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis site
