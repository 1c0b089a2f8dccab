#!/usr/bin/env bash
# Make the local base image the container tier builds on, without pulling from a container registry:
# a minimal Debian bookworm with python3 + venv (debootstrap from Debian's package mirror), imported into
# podman as localhost/mlops-base:bookworm. Idempotent: the rootfs tarball is cached and the import is
# skipped when the image already exists. Prints the image name on stdout.
set -euo pipefail

IMAGE="${MLOPS_BASE_IMAGE:-localhost/mlops-base:bookworm}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/mlops-template"
TARBALL="$CACHE/bookworm-minbase-python3.tar"
PODMAN=(podman --runtime runc)

log() { echo "podman-base: $*" >&2; }

need=()
command -v podman >/dev/null || need+=(podman)
command -v runc >/dev/null || [[ -x /usr/sbin/runc ]] || need+=(runc)
command -v debootstrap >/dev/null || [[ -x /usr/sbin/debootstrap ]] || need+=(debootstrap)
# apt, waiting up to 10 minutes while another apt (another run of this script, a daily apt job)
# holds its lock.
apt_() {
  local try err
  exec 3>&2
  for try in $(seq 60); do
    # stdout to the log (fd 3), stderr captured to tell a busy lock from a real error
    if err=$(apt-get -o DPkg::Lock::Timeout=10 "$@" 2>&1 1>&3); then return 0; fi
    if ! grep -q "Could not get lock" <<<"$err"; then echo "$err" >&2; return 1; fi
    log "apt is busy (another apt holds its lock); try $try of 60 in 10 s"
    sleep 10
  done
  echo "$err" >&2
  return 1
}

if ((${#need[@]})); then
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt_ update -q
  apt_ install -y -q --no-install-recommends "${need[@]}"
fi
export PATH="$PATH:/usr/sbin:/sbin"

if "${PODMAN[@]}" image exists "$IMAGE"; then
  log "$IMAGE already present"
  echo "$IMAGE"
  exit 0
fi

mkdir -p "$CACHE"
if [[ ! -s "$TARBALL" ]]; then
  root="$(mktemp -d "$CACHE/rootfs.XXXXXX")"
  trap 'rm -rf "$root"' EXIT
  log "debootstrap bookworm into $root (minutes)"
  debootstrap --variant=minbase --include=python3,python3-venv bookworm "$root" >&2
  # Drop apt lists and caches: they are not needed at run time and only grow the image.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
  tar -C "$root" --numeric-owner -cf "$TARBALL.part" .
  mv "$TARBALL.part" "$TARBALL"
fi

log "importing $TARBALL as $IMAGE"
"${PODMAN[@]}" import --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' "$TARBALL" "$IMAGE" >&2
echo "$IMAGE"
