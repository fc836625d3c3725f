#!/usr/bin/env bash
# Builds, when absent, the host image of the service-discovery lab (tests/lab/topology.rs): the
# lab host image (build-image.sh) with Debian's docker.io installed and enabled (the app hosts
# run Docker; installing it takes 20 to 60 s per host, so it is done once here), and the .deb
# files of haproxy and etcd-server in apt's cache with fresh package lists (the playbook installs
# them for real, from the cache: no download on each test run).
#
# The image is tagged orc-lab-sd:<hash>, <hash> covering the base image's tag and this script,
# so a change to either builds a new one. It is built from a running lab host (lab.sh up), then
# committed without its SSH host keys and machine id (each host makes its own at boot).
#
# Usage: discovery-image.sh              build when needed; print the tag on stdout
#        discovery-image.sh --print-tag  print the tag, build nothing
# Needs root, docker, flock; the lab hosts reach Debian's mirror. Parallel runs are serialized.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=$here/.cache
mode=build
case "${1:-}" in
"") ;;
--print-tag) mode=tag ;;
*)
    echo "usage: $0 [--print-tag]" >&2
    exit 2
    ;;
esac

t0=$(date +%s)
log() { printf '[discovery-image %3ss] %s\n' "$(($(date +%s) - t0))" "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

base=$(bash "$here/build-image.sh" --print-tag)
tag=orc-lab-sd:$( (echo "$base"; sha256sum "$here/discovery-image.sh") | sha256sum | cut -c1-12)
if [ "$mode" = tag ]; then
    echo "$tag"
    exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/discovery-image.lock"
flock -w 900 9 || die "timed out waiting for $cache/discovery-image.lock"
if docker image inspect "$tag" >/dev/null 2>&1; then
    log "image $tag exists: nothing to build"
    echo "$tag"
    exit 0
fi

base=$(bash "$here/build-image.sh")
name=orc-sd-build-$$
# No owner label: the image must not carry one (lab.sh gc removes labs by their owner).
cleanup() { env -u ORC_LAB_OWNER bash "$here/lab.sh" down "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT
log "building $tag from $base"
env -u ORC_LAB_OWNER bash "$here/lab.sh" up "$name" 1 --image "$base" --inventory "$cache/$name.ini" >&2
rm -f "$cache/$name.ini"
host=$name-1
docker exec -i -e DEBIAN_FRONTEND=noninteractive "$host" bash -euo pipefail -c '
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends docker.io >/dev/null
    apt-get install -y -q --no-install-recommends --download-only haproxy etcd-server >/dev/null
    systemctl enable docker.service containerd.service >/dev/null 2>&1 || true
    systemctl stop docker.service docker.socket containerd.service >/dev/null 2>&1 || true
    # What each host makes for itself at boot.
    rm -f /etc/ssh/ssh_host_* /etc/docker/key.json
    : >/etc/machine-id
    # dockerd makes /var/lib/docker at its first start: kept in an image layer, renaming in it
    # fails on overlayfs ("invalid cross-device link").
    rm -rf /var/lib/docker /var/lib/containerd /tmp/* /var/tmp/*
' >&2 || die "preparing the image on $host failed"
log "docker.io installed; haproxy and etcd-server cached: $(docker exec "$host" sh -c 'ls /var/cache/apt/archives/*.deb | wc -l') packages"
docker stop -t 30 "$host" >/dev/null
docker commit --change 'CMD ["/sbin/init"]' --change 'ENV container=docker' "$host" "$tag" >/dev/null
log "committed $tag"
echo "$tag"
