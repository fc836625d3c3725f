#!/usr/bin/env bash
# Starts and removes labs: sets of real Debian hosts (systemd + sshd) in Docker containers on a
# private bridge network, for orc's end-to-end tests and for trying orc by hand. See docs/lab.md.
#
# Usage:
#   lab.sh up NAME N [options]   start hosts NAME-1 .. NAME-N, wait until each one's sshd accepts
#                                the lab key, print an INI inventory (stdout or --inventory FILE)
#       --net NET          bridge network for the hosts (default NAME-net; created if missing)
#       --isolated K       the last K hosts are only on a second, internal network; host 1 (the
#                          bastion) is on both. This machine cannot reach the isolated hosts:
#                          only the bastion can (ProxyJump tests)
#       --net2 NET2        name of that second network (default NAME-inner; with --isolated 0,
#                          host 1 is still attached to it)
#       --inventory FILE   write the inventory there instead of stdout
#       --image TAG        image to run (default: the one build-image.sh builds, built if absent)
#       --wait SECONDS     how long to wait for the hosts to be ready (default 60)
#       --kind KIND        systemd (default): systemd as PID 1, sshd as its service, what the tests
#                          use. light: the same image running sshd alone as PID 1 (no systemd, no
#                          capabilities, one ed25519 host key), started and checked in parallel:
#                          hundreds of hosts in about a minute, for benchmarks (bench/run --scale).
#                          Light hosts have no services, no cgroups and no second network; they
#                          are on Docker's default network unless --net is given
#   lab.sh down NAME             remove the lab's containers, the networks it created, its firewall rule
#   lab.sh gc                    remove labs whose owning process (ORC_LAB_OWNER, set by the Rust
#                                harness) is gone: what a killed test run left behind
#   lab.sh ls                    list the lab containers on this machine
#
# Environment: ORC_LAB_OWNER="PID:STARTTIME:PIDNS" labels the lab with the process that owns it (for gc).
#
# Everything a lab creates carries the Docker label orc-lab=NAME; `down` removes exactly that.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
key=$here/.cache/id_ed25519

log() { printf '[lab] %s\n' "$*" >&2; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
since() { local ms=$(($(now_ms) - $1)); printf '%d.%01d' $((ms / 1000)) $((ms % 1000 / 100)); }
die() {
    printf '[lab] ERROR: %s\n' "$*" >&2
    exit 1
}
usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}

# The flags that make systemd run as PID 1 in a container here (see docs/lab.md for each).
# --privileged cannot be used: CAP_SYS_RESOURCE is not in this machine's bounding set.
host_flags() {
    local cg
    cg=$(docker info -f '{{.CgroupVersion}}' 2>/dev/null || echo 1)
    printf '%s\n' --cap-add ALL --cap-drop SYS_RESOURCE \
        --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
        --tmpfs /run --tmpfs /run/lock --stop-signal SIGRTMIN+3 --memory 1g
    if [ "$cg" = 2 ]; then
        # cgroup v2: systemd must be able to create its own cgroups.
        printf '%s\n' --cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw
    else
        printf '%s\n' -v /sys/fs/cgroup:/sys/fs/cgroup:ro
    fi
}

# The host-side bridge interface of a Docker network.
bridge_of() {
    local id
    id=$(docker network inspect -f '{{.Id}}' "$1")
    local custom
    custom=$(docker network inspect -f '{{index .Options "com.docker.network.bridge.name"}}' "$1" 2>/dev/null || true)
    if [ -n "$custom" ] && [ "$custom" != "<no value>" ]; then
        echo "$custom"
    else
        echo "br-${id:0:12}"
    fi
}

# Creates network $2 for lab $1 unless it exists; $3=internal makes it internal and unreachable
# from this machine (REJECT of host-originated traffic on its bridge, tagged with the lab name).
ensure_net() {
    local name=$1 net=$2 kind=${3:-}
    if docker network inspect "$net" >/dev/null 2>&1; then
        return
    fi
    local labels=(--label "orc-lab=$name")
    if [ -n "${ORC_LAB_OWNER:-}" ]; then
        labels+=(--label "orc-lab.owner=$ORC_LAB_OWNER")
    fi
    if [ "$kind" = internal ]; then
        docker network create --internal "${labels[@]}" "$net" >/dev/null
        local br
        br=$(bridge_of "$net")
        iptables -I OUTPUT -o "$br" -m comment --comment "orc-lab:$name" \
            -j REJECT --reject-with icmp-host-prohibited ||
            die "could not add the firewall rule that hides $net from this machine (need root and iptables)"
    else
        docker network create "${labels[@]}" "$net" >/dev/null
    fi
}

ip_on() { docker inspect -f "{{with index .NetworkSettings.Networks \"$2\"}}{{.IPAddress}}{{end}}" "$1"; }

# Light hosts (--kind light): sshd alone as PID 1, with a host key of its own made at start
# (ed25519 only: RSA key generation would cost each host a fraction of a second of CPU).
light_cmd='ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key </dev/null &&
mkdir -p /run/sshd && exec /usr/sbin/sshd -D -e -h /etc/ssh/ssh_host_ed25519_key'
light_flags=(--tmpfs /run --memory 256m)
# How many `docker run`s and readiness checks of light hosts run at once.
light_parallel=8

ssh_opts=(-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
    -o LogLevel=ERROR -o ConnectTimeout=5)

# Ready = systemd finished booting (running or degraded) and sshd sends its banner.
host_ready() {
    docker exec "$1" bash -c '
        case "$(systemctl is-system-running 2>/dev/null)" in running|degraded) ;; *) exit 1 ;; esac
        exec 3<>/dev/tcp/127.0.0.1/22 && IFS= read -r -t 2 banner <&3 && [ "${banner#SSH-2.0}" != "$banner" ]
    ' >/dev/null 2>&1
}

cmd_up() {
    [ $# -ge 2 ] || usage
    local name=$1 n=$2
    shift 2
    local net="" net2="" net2_given=false isolated=0 inventory="" image="" wait_s=60 kind=systemd
    while [ $# -gt 0 ]; do
        case "$1" in
        --net) net=$2; shift 2 ;;
        --net2) net2=$2; net2_given=true; shift 2 ;;
        --isolated) isolated=$2; shift 2 ;;
        --inventory) inventory=$2; shift 2 ;;
        --image) image=$2; shift 2 ;;
        --wait) wait_s=$2; shift 2 ;;
        --kind) kind=$2; shift 2 ;;
        *) die "unknown option $1 (see: $0 --help)" ;;
        esac
    done
    [[ "$name" =~ ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$ ]] || die "bad lab name '$name' (letters, digits, _ . -)"
    [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] || die "N must be a positive number, got '$n'"
    [[ "$isolated" =~ ^[0-9]+$ ]] && [ "$isolated" -lt "$n" ] ||
        die "--isolated K needs 0 <= K < N (host 1 is the bastion), got K=$isolated N=$n"
    case "$kind" in
    systemd) ;;
    light)
        [ "$isolated" -eq 0 ] && ! $net2_given || die "--kind light hosts have one network (no --isolated, --net2)"
        ;;
    *) die "unknown --kind '$kind' (systemd or light)" ;;
    esac
    if [ "$kind" = light ]; then
        # Docker's default network: Docker 20.10 miscounts the endpoints of a user-defined network
        # when hundreds of containers join and leave it at once, and then refuses to remove it
        # ("has active endpoints") until the daemon restarts. The default network is never removed.
        net=${net:-bridge}
    fi
    net=${net:-$name-net}
    net2=${net2:-$name-inner}

    local t0
    t0=$(now_ms)
    if [ -z "$image" ]; then
        image=$(bash "$here/build-image.sh")
    fi
    docker image inspect "$image" >/dev/null 2>&1 || die "no image $image (run $here/build-image.sh)"
    [ -f "$key" ] || die "no lab key $key (run $here/build-image.sh)"

    local existing
    existing=$(docker ps -aq --filter "label=orc-lab=$name")
    [ -z "$existing" ] || die "lab $name already has containers: run '$0 down $name' first"

    [ "$net" = bridge ] || ensure_net "$name" "$net"
    local use_net2=false
    if [ "$isolated" -gt 0 ] || $net2_given; then
        use_net2=true
        ensure_net "$name" "$net2" internal
    fi

    local flags=() owner_label=()
    if [ -n "${ORC_LAB_OWNER:-}" ]; then
        owner_label=(--label "orc-lab.owner=$ORC_LAB_OWNER")
    fi
    if [ "$kind" = light ]; then
        up_light "$name" "$n" "$net" "$image" "$inventory" "$wait_s" "$t0" "${owner_label[@]}"
        return
    fi
    mapfile -t flags < <(host_flags)

    local i host first_isolated=$((n - isolated + 1))
    for i in $(seq 1 "$n"); do
        host=$name-$i
        local on=$net
        if [ "$i" -ge "$first_isolated" ]; then on=$net2; fi
        docker run -d --name "$host" --hostname "$host" --network "$on" \
            --label "orc-lab=$name" "${owner_label[@]}" "${flags[@]}" "$image" >/dev/null ||
            die "could not start $host"
        if [ "$i" -eq 1 ] && $use_net2; then
            docker network connect "$net2" "$host"
        fi
    done
    log "started $n hosts of lab $name ($image) in $(since "$t0")s; waiting for sshd (up to ${wait_s}s)"

    # Wait, bounded, for every host; then prove the lab key logs in as root on each host this
    # machine can reach directly.
    local deadline=$(($(date +%s) + wait_s)) pending=() ip
    for i in $(seq 1 "$n"); do pending+=("$name-$i"); done
    while [ ${#pending[@]} -gt 0 ]; do
        local still=()
        for host in "${pending[@]}"; do
            local ok=false
            if host_ready "$host"; then
                i=${host##*-}
                if [ "$i" -ge "$first_isolated" ]; then
                    ok=true
                else
                    ip=$(ip_on "$host" "$net")
                    if ssh "${ssh_opts[@]}" -i "$key" "root@$ip" true </dev/null 2>/dev/null; then ok=true; fi
                fi
            fi
            $ok || still+=("$host")
        done
        pending=("${still[@]+"${still[@]}"}")
        [ ${#pending[@]} -eq 0 ] && break
        if [ "$(date +%s)" -ge "$deadline" ]; then
            for host in "${pending[@]}"; do
                log "$host not ready: systemd $(docker exec "$host" systemctl is-system-running 2>&1 || true)"
                docker exec "$host" systemctl --failed --no-legend 2>&1 | sed 's/^/[lab]   /' >&2 || true
                docker logs --tail 20 "$host" 2>&1 | sed 's/^/[lab]   /' >&2 || true
            done
            die "hosts not ready after ${wait_s}s: ${pending[*]} (remove with: $0 down $name)"
        fi
        sleep 0.3
    done
    log "lab $name ready in $(since "$t0")s"

    local out
    out=$(write_inventory "$name" "$n" "$net" "$net2" "$first_isolated")
    if [ -n "$inventory" ]; then
        printf '%s\n' "$out" >"$inventory"
        log "inventory: $inventory"
    else
        printf '%s\n' "$out"
    fi
}

# Runs "$@" in the background, at most $light_parallel at once (the caller `wait`s for the rest).
bounded_bg() {
    while [ "$(jobs -rp | wc -l)" -ge "$light_parallel" ]; do wait -n || true; done
    "$@" &
}

# Does sshd at $1 send its banner? (No fork: bash's /dev/tcp, bounded by `read -t`.)
banner_ok() {
    timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/22" && IFS= read -r -t 2 b <&3 && [ "${b#SSH-2.0}" != "$b" ]' _ "$1" \
        >/dev/null 2>&1
}

# `up` for --kind light: starts the hosts in parallel, waits until each one's sshd sends its
# banner (checked in parallel from this machine), proves the lab key logs in on the first host
# (every host runs the same image), writes the inventory.
up_light() {
    local name=$1 n=$2 net=$3 image=$4 inventory=$5 wait_s=$6 t0=$7
    shift 7
    local owner_label=("$@") tmp i host
    tmp=$(mktemp -d)
    # shellcheck disable=SC2064
    trap "rm -rf '$tmp'" EXIT
    start_one() {
        docker run -d --name "$1" --hostname "$1" --network "$net" --label "orc-lab=$name" \
            "${owner_label[@]}" "${light_flags[@]}" "$image" /bin/sh -c "$light_cmd" >/dev/null 2>"$tmp/$1.err" ||
            : >"$tmp/$1.failed"
    }
    for i in $(seq 1 "$n"); do bounded_bg start_one "$name-$i"; done
    wait
    local failed
    failed=$(cd "$tmp" && ls -- *.failed 2>/dev/null | sed 's/\.failed$//' | tr '\n' ' ' || true)
    if [ -n "$failed" ]; then
        for host in $failed; do sed "s/^/[lab]   $host: /" "$tmp/$host.err" >&2; done
        die "could not start: $failed (remove with: $0 down $name)"
    fi
    log "started $n light hosts of lab $name ($image) in $(since "$t0")s; waiting for sshd (up to ${wait_s}s)"

    # Every host's address in one docker call.
    declare -A ip_of
    local cname cip
    while read -r cname cip; do
        ip_of[${cname#/}]=$cip
    done < <(docker inspect -f "{{.Name}} {{with index .NetworkSettings.Networks \"$net\"}}{{.IPAddress}}{{end}}" \
        $(docker ps -q --filter "label=orc-lab=$name"))

    local deadline=$(($(date +%s) + wait_s)) pending=()
    for i in $(seq 1 "$n"); do
        host=$name-$i
        [ -n "${ip_of[$host]:-}" ] || die "$host has no address on $net (remove with: $0 down $name)"
        pending+=("$host")
    done
    check_one() { banner_ok "${ip_of[$1]}" || : >"$tmp/$1.pending"; }
    while [ ${#pending[@]} -gt 0 ]; do
        rm -f "$tmp"/*.pending
        for host in "${pending[@]}"; do bounded_bg check_one "$host"; done
        wait
        mapfile -t pending < <(cd "$tmp" && ls -- *.pending 2>/dev/null | sed 's/\.pending$//')
        [ ${#pending[@]} -eq 0 ] && break
        if [ "$(date +%s)" -ge "$deadline" ]; then
            for host in "${pending[@]:0:5}"; do
                docker logs --tail 10 "$host" 2>&1 | sed "s/^/[lab]   $host: /" >&2 || true
            done
            die "hosts not ready after ${wait_s}s: ${pending[*]} (remove with: $0 down $name)"
        fi
        sleep 0.3
    done
    ssh "${ssh_opts[@]}" -i "$key" "root@${ip_of[$name-1]}" true </dev/null ||
        die "the lab key does not log in as root on $name-1 (remove with: $0 down $name)"
    log "lab $name ready in $(since "$t0")s"

    local vars="ansible_user=root ansible_ssh_private_key_file=$key ansible_python_interpreter=/usr/bin/python3"
    {
        echo "# Lab $name (light hosts: sshd only), written by tests/lab/lab.sh. Remove it with: tests/lab/lab.sh down $name"
        echo "[lab]"
        for i in $(seq 1 "$n"); do echo "$name-$i ansible_host=${ip_of[$name-$i]} $vars"; done
        echo
        echo "# Hosts this machine reaches directly."
        echo "[reachable]"
        for i in $(seq 1 "$n"); do echo "$name-$i"; done
    } >"$tmp/inventory"
    if [ -n "$inventory" ]; then
        cp "$tmp/inventory" "$inventory"
        log "inventory: $inventory"
    else
        cat "$tmp/inventory"
    fi
}

write_inventory() {
    local name=$1 n=$2 net=$3 net2=$4 first_isolated=$5 i host ip
    local vars="ansible_user=root ansible_ssh_private_key_file=$key ansible_python_interpreter=/usr/bin/python3"
    echo "# Lab $name, written by tests/lab/lab.sh. Remove it with: tests/lab/lab.sh down $name"
    echo "[lab]"
    for i in $(seq 1 "$n"); do
        host=$name-$i
        if [ "$i" -ge "$first_isolated" ]; then
            ip=$(ip_on "$host" "$net2")
        else
            ip=$(ip_on "$host" "$net")
        fi
        echo "$host ansible_host=$ip $vars"
    done
    echo
    echo "# Hosts this machine reaches directly."
    echo "[reachable]"
    for i in $(seq 1 $((first_isolated - 1))); do echo "$name-$i"; done
    if [ "$first_isolated" -le "$n" ]; then
        echo
        echo "# Host 1 is on both networks; the isolated hosts are reachable only through it."
        echo "[bastion]"
        echo "$name-1"
        echo
        echo "[isolated]"
        for i in $(seq "$first_isolated" "$n"); do echo "$name-$i"; done
        echo
        echo "# OpenSSH's ProxyJump does not pass -i to the jump: load the key into ssh-agent for it."
        echo "[isolated:vars]"
        echo "ansible_ssh_common_args='-o ProxyJump=root@$(ip_on "$name-1" "$net")'"
    fi
}

cmd_down() {
    [ $# -eq 1 ] || usage
    local name=$1 ids nets net br rule
    ids=$(docker ps -aq --filter "label=orc-lab=$name")
    if [ -n "$ids" ]; then
        # shellcheck disable=SC2086
        docker rm -f $ids >/dev/null
    fi
    # Firewall rules first (they name the bridges of the networks about to go).
    while rule=$(iptables -S OUTPUT 2>/dev/null | grep -F -e "--comment \"orc-lab:$name\" " -e "--comment orc-lab:$name " | head -n 1) && [ -n "$rule" ]; do
        # shellcheck disable=SC2086
        eval "iptables ${rule/-A OUTPUT/-D OUTPUT}"
    done
    nets=$(docker network ls -q --filter "label=orc-lab=$name")
    # After many containers go at once, Docker may still hold their endpoints for a moment
    # ("has active endpoints"): retry, bounded.
    local try
    for net in $nets; do
        for try in 1 2 3 4 5 6 7 8 9 10; do
            docker network rm "$net" >/dev/null 2>&1 && break
            [ "$try" -lt 10 ] || docker network rm "$net" >/dev/null
            sleep 1
        done
    done
    log "lab $name removed ($(echo "$ids" | grep -c . || true) containers, $(echo "$nets" | grep -c . || true) networks)"
}

# Is the process PID:STARTTIME:PIDNS still alive (same pid and same start time: not a reused
# pid)? An owner in another pid namespace (another CI job sharing this dockerd) cannot be checked
# from here and counts as alive.
owner_alive() {
    local pid start ns stat
    IFS=: read -r pid start ns <<<"$1"
    if [ -n "$ns" ] && [ "$ns" != "$(readlink /proc/self/ns/pid | tr -dc 0-9)" ]; then
        return 0
    fi
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "$(echo "$stat" | awk '{ print $20 }')" = "$start" ]
}

cmd_gc() {
    local name owner
    {
        docker ps -a --filter label=orc-lab.owner \
            --format '{{.Label "orc-lab"}} {{.Label "orc-lab.owner"}}'
        docker network ls --filter label=orc-lab.owner \
            --format '{{.Label "orc-lab"}} {{.Label "orc-lab.owner"}}'
    } | sort -u |
        while read -r name owner; do
            if ! owner_alive "$owner"; then
                log "lab $name: owner process $owner is gone"
                cmd_down "$name"
            fi
        done
}

cmd_ls() {
    {
        printf 'LAB\tCONTAINER\tSTATUS\tOWNER\n'
        docker ps -a --filter label=orc-lab \
            --format '{{.Label "orc-lab"}}\t{{.Names}}\t{{.Status}}\t{{.Label "orc-lab.owner"}}'
    } | if command -v column >/dev/null 2>&1; then column -t -s "$(printf '\t')"; else cat; fi
}

case "${1:-}" in
up) shift; cmd_up "$@" ;;
down) shift; cmd_down "$@" ;;
gc) shift; cmd_gc ;;
ls) shift; cmd_ls ;;
*) usage ;;
esac
