# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install -q

.PHONY: demo test install dev lint docs bench bench-quick clean

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

bench: $(BIN)/python
	$(PIP) -e ".[bench]"
	$(BIN)/python -m benchmarks

bench-quick: $(BIN)/python
	$(PIP) -e ".[bench]"
	$(BIN)/python -m benchmarks --quick

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis site
