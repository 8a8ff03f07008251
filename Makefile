PYTHON ?= python3
PYTEST_ARGS ?=

.PHONY: install test lint format check-config

# Installs the package and its test/dev tools into the current Python environment.
install:
	$(PYTHON) -m pip install -q -e '.[dev]'

# The whole suite with coverage; the routing package must stay at >= 90 % line coverage.
test: install
	$(PYTHON) -m pytest --cov=plano_extproc --cov-report=term:skip-covered $(PYTEST_ARGS)
	$(PYTHON) -m coverage report --include='plano_extproc/routing/*' --fail-under=90

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

format:
	$(PYTHON) -m ruff check --fix .
	$(PYTHON) -m ruff format .

check-config:
	plano-extproc check-config config.example.yaml
