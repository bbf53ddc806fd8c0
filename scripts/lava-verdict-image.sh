#!/bin/bash
# Build the verdict image for LAVA's docker test shell without a registry or
# the internet: FROM scratch, with this host's node, bash and busybox (and the
# shared libraries ldd names for them) and the built vmspec package (what
# `npm pack` ships: bin/, dist/bundle/, spec/, schema/...), vmspec on PATH,
# and the verdict step the jobs call (lava/verdict-image/: vmspec-lava-verdict,
# with its job log fetcher and HTTP client: no curl in the image).
#
# usage: scripts/lava-verdict-image.sh [TAG]     (default vmspec:latest)
# Needs: a running docker daemon, vmspec built (npm run build), busybox.
# Environment: DOCKER_HOST as docker itself reads it.
set -euo pipefail

TAG=${1:-vmspec:latest}
HERE=$(cd "$(dirname "$0")/.." && pwd)
log() { printf 'lava-verdict-image: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ -s "$HERE/dist/bundle/main.cjs" ] || die "vmspec is not built: run npm run build in $HERE"
NODE=$(readlink -f "$(command -v node)") || die "node not found on PATH"
BASH_BIN=$(readlink -f "$(command -v bash)")
BUSYBOX=$(readlink -f "$(command -v busybox)") || die "busybox not found: apt-get install busybox"

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
root=$ctx/root
mkdir -p "$root"/{bin,usr/bin,usr/local/bin,opt,etc} "$root/tmp"
chmod 1777 "$root/tmp"

# copy_with_libs FILE DEST: the binary and every library its dynamic loader resolves.
copy_with_libs() {
  install -D -m 755 "$1" "$root$2"
  local lib
  for lib in $(ldd "$1" | grep -o '/[^ ]*' | sort -u); do
    [ -e "$root$lib" ] || install -D -m 755 "$(readlink -f "$lib")" "$root$lib"
  done
}
copy_with_libs "$NODE" /usr/bin/node
copy_with_libs "$BASH_BIN" /bin/bash
copy_with_libs "$BUSYBOX" /bin/busybox
# LAVA's test shell scripts need sh, awk, sed, grep, find, mkdir, cat...: busybox's applets.
for applet in $("$BUSYBOX" --list); do
  [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
ln -sf ../../bin/busybox "$root/usr/bin/env" # vmspec's #!/usr/bin/env node
printf 'root:x:0:0:root:/root:/bin/bash\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"

# The vmspec package as npm would publish it.
(cd "$HERE" && npm pack --ignore-scripts --silent --pack-destination "$ctx" >/dev/null)
tar -xzf "$ctx"/vmspec-*.tgz -C "$ctx"
mv "$ctx/package" "$root/opt/vmspec"
chmod 755 "$root"/opt/vmspec/bin/*.js
ln -s /opt/vmspec/bin/vmspec.js "$root/usr/local/bin/vmspec"
# The verdict step jobs run (one line in the job: lava/verdict-step.ts) and the log fetcher it calls.
install -D -m 755 "$HERE/lava/verdict-image/vmspec-lava-verdict.sh" "$root/opt/vmspec-lava/vmspec-lava-verdict.sh"
install -D -m 644 "$HERE/lava/verdict-image/vmspec-lava-job-log.cjs" "$root/opt/vmspec-lava/vmspec-lava-job-log.cjs"
install -D -m 644 "$HERE/lava/verdict-image/vmspec-lava-http.cjs" "$root/opt/vmspec-lava/vmspec-lava-http.cjs"
ln -s /opt/vmspec-lava/vmspec-lava-verdict.sh "$root/usr/local/bin/vmspec-lava-verdict"

cat >"$ctx/Dockerfile" <<'EOF'
FROM scratch
COPY root/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin
CMD ["/bin/bash"]
EOF
DOCKER_BUILDKIT=0 docker build -q -t "$TAG" "$ctx" >/dev/null 2>"$ctx/build.log" || { cat "$ctx/build.log" >&2; die "docker build failed"; }
docker run --rm --network none "$TAG" vmspec --version >/dev/null || die "the image $TAG was built but vmspec does not run in it"
# A usage error (exit 2) proves the command is on PATH and its shell runs.
set +e
docker run --rm --network none "$TAG" vmspec-lava-verdict >/dev/null 2>&1
usage=$?
set -e
[ "$usage" = 2 ] || die "the image $TAG was built but vmspec-lava-verdict does not run in it (exit $usage)"
log "$TAG built ($(docker image inspect --format '{{.Size}}' "$TAG") bytes)"
