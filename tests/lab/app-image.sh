#!/bin/bash
# Builds the tiny web app image the container tests deploy: busybox-static's httpd serving a page
# that names the version, on port 8080. No image is ever pulled (build with docker import).
# Two CGI pages besides / ("app version N"): /cgi-bin/host answers "app version N on HOSTNAME"
# (the container's host name: which backend answered), /cgi-bin/slow?SECONDS answers after
# SECONDS (1 to 60, default 5): a request held open. /cgi-bin/health answers 200, or 500 when
# VERSION is given as N-unhealthy (the image app:N fails its health check) or N is listed in the
# container's APP_UNHEALTHY variable (comma-separated).
#
#   tests/lab/app-image.sh rootfs VERSION OUT.tar     a rootfs tarball for `docker import`
#   tests/lab/app-image.sh import VERSION NAME:TAG     imports it into the local daemon
#   tests/lab/app-image.sh archive VERSION NAME:TAG OUT.tar
#                                                      a `docker save` archive (for source: load)
#
# Uses this machine's /bin/busybox (Debian's busybox-static, installed by tests/run.sh).
set -euo pipefail

busybox=${BUSYBOX:-/bin/busybox}
# What `docker import` sets on the image: the command, the port, a non-root-free default.
changes=(--change 'CMD ["/bin/busybox", "httpd", "-f", "-v", "-p", "8080", "-h", "/www"]'
         --change 'EXPOSE 8080/tcp'
         --change 'WORKDIR /www')

rootfs() {
    local version=${1%-unhealthy} out=$2 dir unhealthy=no
    [ "$version" = "$1" ] || unhealthy=yes
    { LC_ALL=C ldd "$busybox" 2>&1 || true; } | grep -q 'not a dynamic' || {
        echo "app-image.sh: $busybox is not a static busybox (apt-get install busybox-static)" >&2
        exit 1
    }
    dir=$(mktemp -d)
    trap 'rm -rf "$dir"' RETURN
    mkdir -p "$dir/bin" "$dir/www/cgi-bin" "$dir/tmp" "$dir/etc"
    cp "$busybox" "$dir/bin/busybox"
    for applet in sh wget cat echo sleep ls env hostname; do ln -s busybox "$dir/bin/$applet"; done
    printf 'app version %s\n' "$version" >"$dir/www/index.html"
    # /cgi-bin/host: which backend answered. /cgi-bin/slow?SECONDS: a request held open.
    cat >"$dir/www/cgi-bin/host" <<EOF
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\napp version $version on %s\n' "\$(hostname)"
EOF
    cat >"$dir/www/cgi-bin/slow" <<'EOF'
#!/bin/sh
s=${QUERY_STRING:-5}
case "$s" in ''|*[!0-9]*) s=5 ;; esac
if [ "$s" -lt 1 ] || [ "$s" -gt 60 ]; then s=5; fi
sleep "$s"
printf 'Content-Type: text/plain\r\n\r\nslept %s s on %s\n' "$s" "$(hostname)"
EOF
    # /cgi-bin/health: 200 "healthy", or 500 when the image was built unhealthy (N-unhealthy) or
    # when its version is listed in the container's APP_UNHEALTHY (comma-separated): an image that
    # fails its health check everywhere, or only on the hosts given that variable.
    cat >"$dir/www/cgi-bin/health" <<EOF
#!/bin/sh
case "$unhealthy,\${APP_UNHEALTHY:-}," in
yes,*|*,$version,*) printf 'Status: 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\nunhealthy: app version $version on %s\n' "\$(hostname)" ;;
*) printf 'Content-Type: text/plain\r\n\r\nhealthy: app version $version on %s\n' "\$(hostname)" ;;
esac
EOF
    chmod 755 "$dir/www/cgi-bin/host" "$dir/www/cgi-bin/slow" "$dir/www/cgi-bin/health"
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' >"$dir/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$dir/etc/group"
    tar -C "$dir" --numeric-owner --owner=0 --group=0 -cf "$out" .
}

cmd=${1:-}
case "$cmd" in
rootfs)
    rootfs "$2" "$3"
    ;;
import)
    tmp=$(mktemp --suffix=.tar)
    rootfs "$2" "$tmp"
    docker import "${changes[@]}" "$tmp" "$3" >/dev/null
    rm -f "$tmp"
    ;;
archive)
    tmp=$(mktemp --suffix=.tar)
    rootfs "$2" "$tmp"
    docker import "${changes[@]}" "$tmp" "$3" >/dev/null
    rm -f "$tmp"
    docker save -o "$4" "$3"
    ;;
changes)
    # The --change flags, one per line, for importing a rootfs made elsewhere (on a lab host).
    printf '%s\n' "${changes[@]}"
    ;;
*)
    echo "usage: $0 rootfs VERSION OUT.tar | import VERSION NAME:TAG | archive VERSION NAME:TAG OUT.tar" >&2
    exit 64
    ;;
esac
