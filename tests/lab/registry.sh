#!/usr/bin/env bash
# Docker on a lab host, a private Docker registry there, and the container tests' app images in
# it. Everything
# stays inside the lab: packages come from Debian's mirror, images are built here from
# busybox-static (app-image.sh) and pushed to the lab host's own registry. No other registry is
# ever contacted. See docs/lab.md ("A private registry").
#
# Usage:
#   registry.sh docker HOST
#       On lab host container HOST: refreshes apt's lists when older than an hour, installs
#       docker.io (without recommended packages) when absent, starts dockerd and waits until it
#       answers. The first step of `start`, alone.
#   registry.sh start HOST [--port P] [--auth USER:PASSWORD]
#       On lab host container HOST: installs docker.io when absent (and starts it), installs
#       Debian's docker-registry, writes its configuration (listening on :P, default 5000,
#       storage in /var/lib/docker-registry; no authentication, or htpasswd basic auth for USER
#       with --auth, htpasswd coming from apache2-utils) and waits until GET /v2/ answers.
#       Other lab hosts reach it at <HOST's lab address>:P, over plain HTTP: put that address in
#       their daemon.json "insecure-registries".
#       The credentials are kept on HOST (/etc/docker/registry/orc-lab-credentials, root only) for
#       `push`.
#   registry.sh push HOST VERSION... [--port P]
#       Builds the app image of each VERSION here (app-image.sh rootfs), copies it into HOST
#       (docker cp), imports it there as app:VERSION (with app-image.sh's --change flags), pushes
#       it as localhost:P/app:VERSION (logged in for the push only, when the registry has
#       credentials), then removes the local tags: afterwards HOST has no app image and no login,
#       the registry has app:VERSION.
#
# Prints the time each step took on stderr ([registry] lines). Needs root, docker, and
# busybox-static on this machine (tests/run.sh installs it).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

log() { printf '[registry] %s\n' "$*" >&2; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
since() { local ms=$(($(now_ms) - $1)); printf '%d.%01d' $((ms / 1000)) $((ms % 1000 / 100)); }
die() {
    printf '[registry] ERROR: %s\n' "$*" >&2
    exit 1
}
usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}

# Runs a shell script on the lab host as root, non-interactively.
on_host() { docker exec -i -e DEBIAN_FRONTEND=noninteractive "$host" bash -euo pipefail -c "$1"; }

# Like on_host, but quiet: the script's output is shown only when it fails.
on_host_quiet() {
    local out
    if ! out=$(on_host "$1" 2>&1); then
        printf '%s\n' "$out" | tail -n 30 | sed 's/^/[registry]   /' >&2
        return 1
    fi
}

# The HTTP status of GET /v2/ on the registry (000 when it does not answer), from inside the host.
status_of_v2() {
    on_host "exec 3<>/dev/tcp/127.0.0.1/$port && printf 'GET /v2/ HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3 &&
        IFS=' ' read -r -t 5 _ code _ <&3 && echo \"\$code\"" 2>/dev/null || echo 000
}

parse_common() {
    port=5000 auth=""
    rest=()
    while [ $# -gt 0 ]; do
        case "$1" in
        --port) port=$2; shift 2 ;;
        --auth) auth=$2; shift 2 ;;
        -*) die "unknown option $1 (see: $0 --help)" ;;
        *) rest+=("$1"); shift ;;
        esac
    done
    [[ "$port" =~ ^[0-9]+$ ]] || die "--port needs a number, got '$port'"
    if [ -n "$auth" ] && [[ "$auth" != *:* ]]; then die "--auth needs USER:PASSWORD"; fi
}

# Installs and starts docker.io on $host (see `docker` in the usage).
ensure_docker() {
    local t
    t=$(now_ms)
    # apt's lists may be old (the lab image dates them to the epoch): refresh them once.
    on_host_quiet '[ -n "$(find /var/lib/apt/lists -maxdepth 1 -name "*Packages*" -mmin -60 2>/dev/null | head -n 1)" ] ||
        apt-get update -q' || die "$host: apt-get update failed"
    log "$host: apt lists fresh in $(since "$t")s"

    t=$(now_ms)
    on_host_quiet 'command -v dockerd >/dev/null || apt-get install -y -q --no-install-recommends docker.io
        systemctl start docker
        for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && exit 0; sleep 0.5; done
        echo "dockerd did not answer within 30 s" >&2; systemctl status docker --no-pager >&2; exit 1' ||
        die "$host: docker.io could not be installed or started"
    log "$host: docker.io ready in $(since "$t")s"
}

cmd_docker() {
    [ $# -eq 1 ] || usage
    host=$1
    docker inspect "$host" >/dev/null 2>&1 || die "no container $host (a lab host name, see: lab.sh ls)"
    ensure_docker
}

cmd_start() {
    parse_common "$@"
    [ ${#rest[@]} -eq 1 ] || usage
    host=${rest[0]}
    docker inspect "$host" >/dev/null 2>&1 || die "no container $host (a lab host name, see: lab.sh ls)"
    local t0 t
    t0=$(now_ms)
    ensure_docker

    t=$(now_ms)
    local pkgs=docker-registry
    [ -z "$auth" ] || pkgs="$pkgs apache2-utils"
    on_host_quiet "apt-get install -y -q --no-install-recommends $pkgs" ||
        die "$host: installing $pkgs failed"
    log "$host: $pkgs installed in $(since "$t")s"

    t=$(now_ms)
    # Debian's default configuration asks for htpasswd auth with no password file: replace it.
    local auth_conf=""
    if [ -n "$auth" ]; then
        on_host "htpasswd -Bbc /etc/docker/registry/htpasswd $(printf '%q %q' "${auth%%:*}" "${auth#*:}") 2>/dev/null
            chown root:docker-registry /etc/docker/registry/htpasswd && chmod 0640 /etc/docker/registry/htpasswd"
        printf '%s\n' "$auth" | docker exec -i "$host" sh -c 'umask 077 && cat >/etc/docker/registry/orc-lab-credentials'
        auth_conf=$'auth:\n  htpasswd:\n    realm: orc-lab-registry\n    path: /etc/docker/registry/htpasswd\n'
    else
        on_host 'rm -f /etc/docker/registry/orc-lab-credentials /etc/docker/registry/htpasswd'
    fi
    on_host "cat >/etc/docker/registry/config.yml <<'EOF'
# Written by tests/lab/registry.sh: the lab's private registry.
version: 0.1
log:
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: /var/lib/docker-registry
  delete:
    enabled: true
http:
  addr: :$port
${auth_conf}EOF
systemctl enable docker-registry >/dev/null 2>&1
systemctl restart docker-registry"
    local code=000 i
    for i in $(seq 1 100); do
        code=$(status_of_v2)
        case "$code" in 200 | 401) break ;; esac
        sleep 0.1
    done
    case "$code" in
    200 | 401) ;;
    *)
        on_host 'journalctl -u docker-registry --no-pager -n 20' >&2 || true
        die "$host: the registry does not answer on port $port (GET /v2/: $code)"
        ;;
    esac
    log "$host: registry configured and answering on :$port (GET /v2/ $code) in $(since "$t")s"
    log "$host: registry started in $(since "$t0")s in all"
}

cmd_push() {
    parse_common "$@"
    [ ${#rest[@]} -ge 2 ] || usage
    host=${rest[0]}
    local versions=("${rest[@]:1}") v t t0 changes=()
    docker inspect "$host" >/dev/null 2>&1 || die "no container $host (a lab host name, see: lab.sh ls)"
    mapfile -t changes < <(bash "$here/app-image.sh" changes)
    t0=$(now_ms)
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    [ -z "$auth" ] || die "push takes no --auth: it uses the credentials start --auth left on $host"
    auth=$(docker exec "$host" sh -c 'cat /etc/docker/registry/orc-lab-credentials 2>/dev/null' || true)
    if [ -n "$auth" ]; then
        printf '%s' "${auth#*:}" | docker exec -i "$host" docker login -u "${auth%%:*}" --password-stdin \
            "localhost:$port" >/dev/null 2>&1 || die "$host: docker login localhost:$port failed"
    fi
    for v in "${versions[@]}"; do
        [[ "$v" =~ ^[0-9A-Za-z._-]+$ ]] || die "bad version '$v' (letters, digits, . _ -)"
        t=$(now_ms)
        bash "$here/app-image.sh" rootfs "$v" "$tmp/app-$v.tar"
        docker cp "$tmp/app-$v.tar" "$host:/tmp/orc-app-$v.tar" >/dev/null
        docker exec "$host" docker import "${changes[@]}" "/tmp/orc-app-$v.tar" "app:$v" >/dev/null ||
            die "$host: docker import of app:$v failed"
        docker exec "$host" sh -c "docker tag app:$v localhost:$port/app:$v &&
            docker push -q localhost:$port/app:$v >/dev/null &&
            docker rmi app:$v localhost:$port/app:$v >/dev/null &&
            rm -f /tmp/orc-app-$v.tar" || die "$host: pushing app:$v to localhost:$port failed"
        log "$host: app:$v built, imported and pushed in $(since "$t")s"
    done
    if [ -n "$auth" ]; then
        docker exec "$host" docker logout "localhost:$port" >/dev/null 2>&1 || true
    fi
    log "$host: ${#versions[@]} app image(s) pushed in $(since "$t0")s"
}

case "${1:-}" in
docker) shift; cmd_docker "$@" ;;
start) shift; cmd_start "$@" ;;
push) shift; cmd_push "$@" ;;
*) usage ;;
esac
