#!/usr/bin/env bash
# A local base image for machines that cannot pull one: Debian bookworm (minbase) with
# python3, venv, libpython3.11 (the Triton stub of Dockerfile.triton-cpu loads it) and
# redis-server, made with debootstrap and `docker import`. Needs root,
# debootstrap and a running Docker daemon. Real users build on python:3.11-slim instead.
#
#   deploy/docker/build-base-image.sh [IMAGE]      # default plano-base:bookworm
set -euo pipefail
image=${1:-plano-base:bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase \
    --include=python3,python3-venv,libpython3.11,ca-certificates,redis-server,passwd \
    bookworm "$root" "$mirror"
# Package lists and caches are of no use in the image.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*
tar -C "$root" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/bash"]' \
    - "$image"
echo "built $image"
