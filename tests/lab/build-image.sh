#!/usr/bin/env bash
# Builds the lab host image (Debian + systemd + sshd + sudo + python3) when it is absent.
#
# The image is built from a `debootstrap --variant=minbase` rootfs of this machine's own Debian
# suite, fetched from the mirror this machine's apt already uses, then `docker import`ed: no image
# is ever pulled from a registry. It is tagged `orc-lab:<hash>` and `orc-lab:latest`, where
# <hash> is the first 12 hex digits of a sha256 over the recipe (this script, everything under
# tests/lab/recipe/) and the lab SSH public key baked into it. When `orc-lab:<hash>` exists,
# nothing is built.
#
# The lab SSH key (tests/lab/.cache/id_ed25519, git-ignored) is generated on first use. A fresh
# clone on a machine that still has an image from another clone gets a new key, hence a new hash
# and a new image: an image never holds a key this checkout does not have.
#
# Usage: build-image.sh              build when needed; print the tag on stdout, progress on stderr
#        build-image.sh --print-tag  print the tag (generating the key if needed), build nothing
#        build-image.sh --force      rebuild even when the tag exists
#
# Environment:
#   ORC_LAB_MIRROR   Debian mirror URL to debootstrap from (default: from /etc/apt/sources*)
#   ORC_LAB_SUITE    Debian suite (default: VERSION_CODENAME of /etc/os-release)
#
# Needs root (debootstrap, chroot), docker, debootstrap, ssh-keygen, flock. Runs without a
# terminal. Parallel runs are serialized by a lock in tests/lab/.cache/.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=$here/.cache
key=$cache/id_ed25519
mode=build
case "${1:-}" in
"") ;;
--print-tag) mode=tag ;;
--force) mode=force ;;
*)
    echo "usage: $0 [--print-tag|--force]" >&2
    exit 2
    ;;
esac

t0=$(date +%s)
log() { printf '[build-image %3ss] %s\n' "$(($(date +%s) - t0))" "$*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

for tool in docker ssh-keygen flock sha256sum; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done

mkdir -p "$cache"
# One build at a time on this checkout (parallel test processes all call this script).
exec 9>"$cache/build.lock"
flock -w 900 9 || die "timed out waiting for $cache/build.lock (another build running?)"

if [ ! -f "$key" ] || [ ! -f "$key.pub" ]; then
    rm -f "$key" "$key.pub"
    ssh-keygen -q -t ed25519 -N '' -C orc-lab -f "$key" </dev/null
    log "generated the lab SSH key $key"
fi
chmod 0600 "$key"

# The recipe hash: relative path and content of every recipe file, plus the public key.
recipe_hash() {
    (
        cd "$here"
        find build-image.sh recipe -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
        sha256sum .cache/id_ed25519.pub
    ) | sha256sum | cut -c1-12
}
tag=orc-lab:$(recipe_hash)

if [ "$mode" = tag ]; then
    echo "$tag"
    exit 0
fi

if [ "$mode" = build ] && docker image inspect "$tag" >/dev/null 2>&1; then
    log "image $tag exists: nothing to build"
    docker tag "$tag" orc-lab:latest
    echo "$tag"
    exit 0
fi

[ "$(id -u)" -eq 0 ] || die "building the image needs root (debootstrap, chroot); run: sudo $0"
command -v debootstrap >/dev/null 2>&1 || die "debootstrap is not installed (apt-get install debootstrap)"

# The suite: this machine's own.
suite=${ORC_LAB_SUITE:-}
if [ -z "$suite" ]; then
    suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
fi
[ -n "$suite" ] || die "no VERSION_CODENAME in /etc/os-release: set ORC_LAB_SUITE"

# The mirror: the first enabled `deb` source of this machine that serves $suite itself (not
# -updates or -security), from one-line .list files or deb822 .sources files.
find_mirror() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk -v suite="$suite" '
            /^[ \t]*deb[ \t]/ {
                i = 2
                if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                if ($(i + 1) == suite) { print $i; exit }
            }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v suite="$suite" '
            function flush() {
                if (types ~ /(^|[ \t])deb([ \t]|$)/ && enabled !~ /^(no|false)$/ &&
                    (" " suites " ") ~ (" " suite " ")) { split(uris, u, /[ \t]+/); print u[1]; found = 1 }
                types = uris = suites = enabled = ""
            }
            /^[ \t]*$/ { flush(); if (found) exit; next }
            /^[ \t]*#/ { next }
            { line = $0; sub(/^[^:]*:[ \t]*/, "", line); gsub(/[ \t]+/, " ", line) }
            tolower($1) == "types:" { types = line }
            tolower($1) == "uris:" { uris = line }
            tolower($1) == "suites:" { suites = line }
            tolower($1) == "enabled:" { enabled = tolower(line) }
            END { if (!found) flush() }' "$f"
    done
}
mirror=${ORC_LAB_MIRROR:-$(find_mirror | head -n 1)}
[ -n "$mirror" ] || die "no apt source for suite $suite in /etc/apt/sources.list{,.d/}: set ORC_LAB_MIRROR"

packages=$(grep -v '^[[:space:]]*#' "$here/recipe/packages" | tr -s ' \t\n' ',' | sed 's/^,//; s/,$//')

rootfs=$(mktemp -d /var/tmp/orc-lab-rootfs.XXXXXX)
cleanup() {
    # debootstrap mounts proc/sys/dev inside the rootfs while it works: unmount whatever is
    # left (deepest first) before deleting, and never cross into another filesystem.
    local m
    for m in $(awk -v r="$rootfs/" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r); do
        umount -l "$m" 2>/dev/null || true
    done
    rm -rf --one-file-system "$rootfs"
}
trap cleanup EXIT

log "building $tag: debootstrap $suite from $mirror into $rootfs"
log "packages: $packages"
if ! debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" \
    >"$cache/debootstrap.log" 2>&1 </dev/null; then
    tail -n 30 "$cache/debootstrap.log" >&2
    die "debootstrap failed (full log: $cache/debootstrap.log)"
fi
log "debootstrap done"

tar -C "$here/recipe/overlay" --owner=0 --group=0 -c . | tar -C "$rootfs" -x --no-same-owner
install -m 0644 "$key.pub" "$rootfs/tmp/lab.pub"
install -m 0755 "$here/recipe/configure.sh" "$rootfs/tmp/configure.sh"
chroot "$rootfs" /bin/sh /tmp/configure.sh /tmp/lab.pub </dev/null >&2
rm -f "$rootfs/tmp/lab.pub" "$rootfs/tmp/configure.sh"
log "configured: $(du -sh --one-file-system "$rootfs" | cut -f1)"

tar -C "$rootfs" --numeric-owner -c . |
    docker import \
        --change 'ENV container=docker' \
        --change 'CMD ["/sbin/init"]' \
        - "$tag" >/dev/null
docker tag "$tag" orc-lab:latest
log "imported $tag (also orc-lab:latest)"
echo "$tag"
