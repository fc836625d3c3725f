#!/usr/bin/env bash
# The service-discovery lab by hand (docs/discovery.md; the tests use tests/lab/topology.rs, which
# runs the same steps): six lab hosts from the discovery image (discovery-image.sh: Docker
# installed, haproxy and etcd-server in apt's cache), the app images loaded into the app hosts'
# Docker, and an inventory with the groups the service-discovery playbook expects.
#
# Usage:
#   discovery-lab.sh up NAME [--versions 1,2] [--inventory FILE]
#       NAME-1 is the load balancer (group lb), NAME-2 the registry (group registry), NAME-3 to
#       NAME-5 the app hosts (group app); NAME-6 has Docker and the images too but is in no group
#       yet (the host to scale out to: add it under [app]). app:V is loaded for each version
#       (default 1). The inventory goes to FILE (default: stdout).
#   discovery-lab.sh load CONTAINER VERSION...
#       Builds app:VERSION (app-image.sh) and loads it into the Docker of lab host CONTAINER
#       (VERSION N-unhealthy: app:N answering 500 on /cgi-bin/health).
#   discovery-lab.sh down NAME
#       Removes the lab (lab.sh down).
# Needs root and docker, like lab.sh.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log() { printf '[discovery-lab] %s\n' "$*" >&2; }
die() {
    printf '[discovery-lab] ERROR: %s\n' "$*" >&2
    exit 1
}
usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}

# Loads app:V for each V into the Docker daemon of lab host $1.
cmd_load() {
    [ $# -ge 2 ] || usage
    local host=$1 v tmp
    shift
    tmp=$(mktemp -d)
    for v in "$@"; do
        # N-unhealthy: app:N answers 500 on /cgi-bin/health (app-image.sh).
        [[ "$v" =~ ^[0-9]+(-unhealthy)?$ ]] || die "version must be a number (or N-unhealthy), got '$v'"
        bash "$here/app-image.sh" archive "$v" "app:${v%-unhealthy}" "$tmp/app-$v.tar"
        docker rmi "app:${v%-unhealthy}" >/dev/null
        docker cp "$tmp/app-$v.tar" "$host:/var/tmp/app-$v.tar"
        docker exec "$host" sh -c "docker load -q -i /var/tmp/app-$v.tar >/dev/null && rm -f /var/tmp/app-$v.tar"
    done
    rm -rf "$tmp"
}

cmd_up() {
    [ $# -ge 1 ] || usage
    local name=$1 versions=1 inventory=""
    shift
    while [ $# -gt 0 ]; do
        case "$1" in
        --versions) versions=$2; shift 2 ;;
        --inventory) inventory=$2; shift 2 ;;
        *) die "unknown option $1" ;;
        esac
    done
    local image lab_inv i
    image=$(bash "$here/discovery-image.sh")
    lab_inv=$(mktemp)
    bash "$here/lab.sh" up "$name" 6 --image "$image" --inventory "$lab_inv"
    for i in 3 4 5 6; do
        # shellcheck disable=SC2046
        cmd_load "$name-$i" $(tr ',' ' ' <<<"$versions")
    done
    log "app images loaded on $name-3 .. $name-6: app:${versions//,/, app:}"
    local out
    out=$(
        echo "# The service-discovery lab $name (tests/lab/discovery-lab.sh). Remove it with:"
        echo "#   tests/lab/discovery-lab.sh down $name"
        echo "[lb]"
        grep "^$name-1 " "$lab_inv"
        echo
        echo "[registry]"
        grep "^$name-2 " "$lab_inv"
        echo
        echo "[app]"
        for i in 3 4 5; do grep "^$name-$i " "$lab_inv"; done
        echo
        echo "# Has Docker and the app images, in no group yet: move it under [app] to scale out."
        echo "[spare]"
        grep "^$name-6 " "$lab_inv"
    )
    rm -f "$lab_inv"
    if [ -n "$inventory" ]; then
        printf '%s\n' "$out" >"$inventory"
        log "inventory: $inventory"
    else
        printf '%s\n' "$out"
    fi
}

case "${1:-}" in
up) shift; cmd_up "$@" ;;
load) shift; cmd_load "$@" ;;
down) shift; bash "$here/lab.sh" down "$@" ;;
*) usage ;;
esac
