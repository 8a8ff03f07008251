PYTHON ?= python3
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: install run test lint format check-config envoy-config demo bench

# Installs the package and its test/dev tools into the current Python environment. torch goes
# first, pinned: on our package index torch==2.13.0 is the CPU-only wheel (about 190 MB), all
# the embedded classifier needs, so the resolver never reaches for a CUDA build.
install:
	$(PYTHON) -m pip install -q 'torch==2.13.0'
	$(PYTHON) -m pip install -q -e '.[dev]'

# Envoy + the ext_proc service on the example config, in the foreground; Ctrl-C stops both.
# No GPU and no provider keys are needed for the /routing/v1/* decision endpoints.
run: install
	plano-extproc up --config config.example.yaml

# Replays the seed demo against a running `make run`.
demo:
	./demo.sh

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

# Regenerates the committed Envoy config from the example (a test fails when they drift).
envoy-config:
	plano-extproc envoy-config config.example.yaml > envoy/envoy.yaml

# The ext_proc's overhead: Envoy alone vs Envoy + ext_proc against a local nginx, about 2 minutes.
# Needs Debian's nginx and wrk. E.g. make bench BENCH_ARGS='--workers 2 --json bench.json'
bench: install
	$(PYTHON) bench/overhead.py $(BENCH_ARGS)
	$(PYTHON) bench/classifier.py
