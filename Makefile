# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test install dev lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(BIN)/python -m pip install -q -e .

dev: $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[dev]"

demo: install
	$(BIN)/autograd-lite demo

test: dev
	$(BIN)/python -m pytest

lint: dev
	$(BIN)/ruff check autograd_lite tests

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
