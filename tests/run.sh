#!/usr/bin/env bash
# The project's test command (README, .ci/run): installs what the tests need, starts dockerd,
# builds the lab image when the lab exists, then runs cargo fmt --check, clippy with warnings
# denied, and every test. Exits non-zero when any of those fails.
#
# Works non-interactively (CI=true, no stdin) as root, or as a user with sudo (used only for
# installing packages and starting dockerd).
#
# Environment:
#   ORC_DOCKERD_LOG     where a dockerd started here logs (default: /tmp/orc-dockerd.log)
#   ORC_DOCKERD_WAIT    seconds to wait for it to answer (default: 60)
#   ORC_JUNIT_PYTHON    a python3 with junitparser for tests/reports.rs (default: tests/.venv's, which
#                       gets junitparser here)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

section() { printf '\n==== %s\n' "$*"; }
note() { printf '  %s\n' "$*"; }

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "need root for: $* (run as root, or install sudo)" >&2
        return 1
    fi
}

# ---------------------------------------------------------------------------------------------
section "System packages"
packages=(docker.io openssh-server debootstrap sudo busybox-static docker-registry)
missing=()
if command -v dpkg-query >/dev/null 2>&1; then
    for pkg in "${packages[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
        if [ "$status" != "install ok installed" ]; then
            missing+=("$pkg")
        fi
    done
    if [ ${#missing[@]} -eq 0 ]; then
        note "already installed: ${packages[*]}"
    else
        note "installing: ${missing[*]}"
        if as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null &&
            as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" </dev/null; then
            note "installed: ${missing[*]}"
        else
            note "WARNING: could not install ${missing[*]}; tests that need them (the lab) will fail or skip"
        fi
    fi
else
    note "WARNING: not a Debian system (no dpkg-query); install ${packages[*]} yourself"
fi
# docker-registry's package starts a registry service on :5000; the tests start their own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker-registry 2>/dev/null; then
    as_root systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi

# ---------------------------------------------------------------------------------------------
section "Docker daemon"
docker_ok=false
if ! command -v docker >/dev/null 2>&1; then
    note "docker is not installed: skipping (the engine tests do not need it)"
elif as_root docker info >/dev/null 2>&1; then
    docker_ok=true
    note "dockerd is running"
else
    log=${ORC_DOCKERD_LOG:-/tmp/orc-dockerd.log}
    wait_s=${ORC_DOCKERD_WAIT:-60}
    if ! command -v dockerd >/dev/null 2>&1; then
        note "WARNING: dockerd not found; continuing without Docker"
    else
        note "starting dockerd in the background (log: $log)"
        # setsid + nohup: the daemon outlives this script; all its output goes to the log so it
        # holds none of our file descriptors open.
        as_root sh -c "setsid nohup dockerd >>'$log' 2>&1 </dev/null &" || true
        for _ in $(seq 1 "$wait_s"); do
            if as_root docker info >/dev/null 2>&1; then
                docker_ok=true
                break
            fi
            sleep 1
        done
        if $docker_ok; then
            note "dockerd is up"
        else
            note "WARNING: dockerd did not answer within ${wait_s}s; continuing without Docker."
            note "last lines of $log:"
            as_root tail -n 20 "$log" 2>/dev/null | sed 's/^/    /' || true
        fi
    fi
fi

# ---------------------------------------------------------------------------------------------
section "Lab image"
if [ ! -f tests/lab/build-image.sh ]; then
    note "no tests/lab/build-image.sh yet: nothing to build"
elif ! $docker_ok; then
    note "WARNING: Docker is not available: cannot build the lab image; lab tests will fail or skip"
else
    # build-image.sh returns at once when the image already exists.
    bash tests/lab/build-image.sh
fi

# ---------------------------------------------------------------------------------------------
section "Ansible (for the parity test) and junitparser (for the JUnit report test)"
# tests/e2e_ansible_parity.rs compares orc with the real ansible-playbook; it finds it in
# tests/.venv (git-ignored) or $ORC_ANSIBLE_PLAYBOOK, and fails without one.
venv=tests/.venv
if [ -n "${ORC_ANSIBLE_PLAYBOOK:-}" ]; then
    note "using ORC_ANSIBLE_PLAYBOOK=$ORC_ANSIBLE_PLAYBOOK"
elif [ -x "$venv/bin/ansible-playbook" ]; then
    note "already installed: $("$venv/bin/ansible-playbook" --version | head -n 1)"
else
    note "creating $venv with ansible-core 2.19"
    if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv </dev/null >/dev/null ||
            note "WARNING: could not install python3-venv"
    fi
    rm -rf "$venv"
    if python3 -m venv "$venv" &&
        timeout 600 "$venv/bin/pip" install -q --disable-pip-version-check 'ansible-core>=2.19,<2.20' </dev/null; then
        note "installed: $("$venv/bin/ansible-playbook" --version | head -n 1)"
    else
        rm -rf "$venv"
        note "WARNING: could not install ansible-core into $venv: the Ansible parity test will fail"
    fi
fi

# tests/reports.rs reads orc's JUnit reports with a real JUnit consumer, junitparser, from the
# same virtualenv (a venv made above, or one an earlier run left without it).
if [ -z "${ORC_JUNIT_PYTHON:-}" ] && [ -x "$venv/bin/python3" ]; then
    if "$venv/bin/python3" -c 'import junitparser' >/dev/null 2>&1; then
        note "already installed: junitparser"
    elif timeout 300 "$venv/bin/pip" install -q --disable-pip-version-check 'junitparser>=3,<6' </dev/null; then
        note "installed: junitparser"
    else
        note "WARNING: could not install junitparser into $venv: the JUnit report test will fail"
    fi
fi

# ---------------------------------------------------------------------------------------------
section "Rust toolchain"
if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo not found: install a Rust toolchain (rustup, with the rustfmt and clippy components)" >&2
    exit 1
fi
for component in rustfmt clippy; do
    if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
        if command -v rustup >/dev/null 2>&1; then
            note "adding the $component component"
            rustup component add "$component"
        else
            echo "cargo ${component/rustfmt/fmt} is missing: install the $component component" >&2
            exit 1
        fi
    fi
done
cargo --version

failed=()

# ---------------------------------------------------------------------------------------------
section "cargo fmt --check"
cargo fmt --all --check || failed+=("cargo fmt --check")

# ---------------------------------------------------------------------------------------------
section "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings || failed+=("cargo clippy")

# ---------------------------------------------------------------------------------------------
if cargo nextest --version >/dev/null 2>&1; then
    section "cargo nextest run --workspace"
    cargo nextest run --workspace --no-fail-fast || failed+=("tests (cargo nextest)")
else
    section "cargo test --workspace"
    cargo test --workspace --no-fail-fast || failed+=("tests (cargo test)")
fi

# ---------------------------------------------------------------------------------------------
section "Summary"
if [ ${#failed[@]} -gt 0 ]; then
    for f in "${failed[@]}"; do
        note "FAILED: $f"
    done
    exit 1
fi
note "all checks passed"
