#!/usr/bin/env bash
# Podman and the workflow's image, built without a container registry (as in CI):
#   1. podman, runc and debootstrap from Debian's packages;
#   2. a Debian 12 base image with python3 from debootstrap, imported as BASE_IMAGE;
#   3. the project's wheels downloaded on the host (a build here cannot reach a package index);
#   4. containers/Dockerfile built offline on that base: IMAGE.
# Run as root from anywhere:  bash tests/servers/podman/provision.sh
# Idempotent: packages and the base image are made only when missing; the build reuses podman's
# layer cache, so an unchanged requirements.txt costs seconds.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
BASE_IMAGE="${BASE_IMAGE:-localhost/debian-python:bookworm}"
VERSION="$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$REPO/scripts/dimred_flow/__init__.py")"
IMAGE="${IMAGE:-localhost/dimred-flow:$VERSION}"
export CONTAINERS_CONF="$HERE/containers.conf"

log() { printf '[provision-podman] %s\n' "$*"; }

missing=()
for tool in podman runc debootstrap; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap >/dev/null
fi

if ! podman image exists "$BASE_IMAGE"; then
  log "building $BASE_IMAGE with debootstrap (Debian's default mirror)"
  rootfs="$(mktemp -d)"
  trap 'rm -rf "$rootfs"' EXIT
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$rootfs" >/dev/null
  tar -C "$rootfs" -c . | podman import - "$BASE_IMAGE" >/dev/null
fi

# pip wheel, not pip download: a package published only as source (annoy, which trimap needs) is
# built here, where its build requirements can be fetched; the image's build cannot reach an index.
log "building the wheels of requirements.txt into containers/wheelhouse"
if ! output="$(python3 -m pip wheel --quiet -r "$REPO/requirements.txt" -w "$REPO/containers/wheelhouse" 2>&1)"; then
  echo "$output" >&2
  exit 1
fi

log "building $IMAGE on $BASE_IMAGE"
started=$SECONDS
podman build --quiet --build-arg "BASE_IMAGE=$BASE_IMAGE" --build-arg PIP_NO_INDEX=1 \
  -f "$REPO/containers/Dockerfile" -t "$IMAGE" "$REPO" >/dev/null
log "built $IMAGE in $((SECONDS - started)) s: $(podman image inspect --format '{{.Size}}' "$IMAGE") bytes"
