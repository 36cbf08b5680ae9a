#!/bin/bash
# Makes this machine ready to build and run reweb's container images (tests/images), idempotent:
#   1. Debian's docker.io (its client, BuildKit included, at /usr/bin/docker) and debootstrap, if missing;
#   2. dockerd, if no daemon answers on /var/run/docker.sock (started in the background, its own session,
#      log in $CACHE/dockerd.log; it is left running for the next run);
#   3. the base image `debian:bookworm-slim`, if absent: no registry is reachable here, so it is a
#      `debootstrap --variant=minbase bookworm` root (with the host's CA bundle, for HTTPS inside builds),
#      cached as a tarball under $CACHE/images and imported with `docker import`;
#   4. BuildKit's build cache trimmed to 16 GB.
# $CACHE is $REWEB_CACHE or ~/.cache/reweb (as for the RIE). Needs root. Every wait is bounded.
set -euo pipefail
CACHE=${REWEB_CACHE:-$HOME/.cache/reweb}
MIRROR=${REWEB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
BASE=debian:bookworm-slim
TARBALL=$CACHE/images/debian-bookworm-minbase-v2.tar
DOCKER=/usr/bin/docker
export DOCKER_BUILDKIT=1
mkdir -p "$CACHE/images"
log() { echo "prepare.sh: $*" >&2; }
# One run at a time (two test sessions on one machine): the second waits, then finds everything ready.
exec 9>"$CACHE/prepare.lock"
flock -w 1800 9 || { log "another prepare.sh holds $CACHE/prepare.lock"; exit 1; }

# -- 1. packages ---------------------------------------------------------------------------------------------
need=()
[ -x "$DOCKER" ] && command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 apt-get update -qq
  timeout 900 apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# -- 2. dockerd ----------------------------------------------------------------------------------------------
if ! timeout 20 "$DOCKER" version >/dev/null 2>&1; then
  log "starting dockerd (log: $CACHE/dockerd.log)"
  # From /: it outlives this run, and BuildKit runs git (a git:// context) in the daemon's working directory,
  # which must not be a checkout that is removed later ("unable to get current working directory").
  (cd / && exec setsid dockerd >>"$CACHE/dockerd.log" 2>&1 < /dev/null 9>&-) &
  echo $! > "$CACHE/dockerd.pid"
  for _ in $(seq 1 120); do
    timeout 5 "$DOCKER" version >/dev/null 2>&1 && break
    if ! kill -0 "$(cat "$CACHE/dockerd.pid")" 2>/dev/null; then
      log "dockerd exited:"; tail -n 30 "$CACHE/dockerd.log" >&2; exit 1
    fi
    sleep 0.5
  done
  timeout 5 "$DOCKER" version >/dev/null 2>&1 \
    || { log "dockerd did not answer within 60 s:"; tail -n 30 "$CACHE/dockerd.log" >&2; exit 1; }
fi

# -- 3. base image -------------------------------------------------------------------------------------------
# REV 4: pip and Node (npm) told to use the host's CA bundle too (they bring their own roots, which a
# TLS-inspecting egress proxy's CA is not in), as a copy of its own at /etc/ssl/host-ca-bundle.crt: Debian's
# ca-certificates package (pulled in by python3-venv, say) rewrites /etc/ssl/certs without it. An older import
# is replaced.
REV=4
if [ "$("$DOCKER" image inspect --format '{{index .Config.Labels "org.reweb.base-rev"}}' "$BASE" 2>/dev/null)" != "$REV" ]; then
  if [ ! -s "$TARBALL" ]; then
    log "debootstrap --variant=minbase bookworm (first run only; cached in $TARBALL)"
    root=$(mktemp -d "$CACHE/images/rootfs.XXXXXX")
    trap 'rm -rf "$root"' EXIT
    timeout 1200 debootstrap --variant=minbase bookworm "$root" "$MIRROR" >"$CACHE/images/debootstrap.log" 2>&1 \
      || { tail -n 30 "$CACHE/images/debootstrap.log" >&2; exit 1; }
    security=${MIRROR%/debian}/debian-security
    printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s bookworm-security main\n' \
      "$MIRROR" "$MIRROR" "$security" > "$root/etc/apt/sources.list"
    mkdir -p "$root/etc/ssl/certs"
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
    # As the official slim images: no package lists or downloaded .debs kept, none kept by later apt runs.
    printf '%s\n' 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };' \
      'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };' \
      'Binary::apt::APT::Keep-Downloaded-Packages "false";' > "$root/etc/apt/apt.conf.d/docker-clean"
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin \
      "$root"/tmp/* "$root"/root/.cache
    find "$root/var/log" -type f -delete
    tar --numeric-owner -C "$root" -cf "$TARBALL.tmp" .
    mv "$TARBALL.tmp" "$TARBALL"
    rm -rf "$root"; trap - EXIT
  fi
  log "importing $BASE from $TARBALL"
  extra=$(mktemp -d "$CACHE/images/extra.XXXXXX")
  mkdir -p "$extra/etc/ssl"
  cp /etc/ssl/certs/ca-certificates.crt "$extra/etc/ssl/host-ca-bundle.crt"
  cp "$TARBALL" "$extra.tar"
  tar --numeric-owner --owner=0 --group=0 -C "$extra" -rf "$extra.tar" ./etc/ssl/host-ca-bundle.crt
  "$DOCKER" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    --change 'LABEL org.reweb.base="debootstrap --variant=minbase bookworm"' \
    --change "LABEL org.reweb.base-rev=$REV" \
    --change 'ENV PIP_CERT=/etc/ssl/host-ca-bundle.crt NODE_EXTRA_CA_CERTS=/etc/ssl/host-ca-bundle.crt' \
    "$extra.tar" "$BASE" >/dev/null
  rm -rf "$extra" "$extra.tar"
fi
# -- 4. BuildKit's cache: each checkout's builds add to it (35 GB after a day of runs here); trim it to 16 GB,
# least recently used first (records a build is using are kept).
"$DOCKER" builder prune -f --keep-storage 16GB >/dev/null || log "could not trim BuildKit's cache (docker builder prune)"
log "ready: $("$DOCKER" version --format 'docker {{.Server.Version}}'), $BASE $("$DOCKER" image inspect --format '{{.Id}}' "$BASE" | cut -c1-19)"
