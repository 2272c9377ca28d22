#!/usr/bin/env bash
# Installs the Debian packages of deps/debian-packages.txt that are missing: `build`, `test`, or
# `bench` (the build, the tests and the benchmark).
set -euo pipefail

usage() {
    echo "usage: $0 build|test|bench" >&2
    exit 2
}

[[ $# -eq 1 ]] || usage
case "$1" in
build) wanted_sections=" build " ;;
test) wanted_sections=" build tests " ;;
bench) wanted_sections=" build tests bench " ;;
*) usage ;;
esac

list="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/deps/debian-packages.txt"

# The list: a comment line `# build`, `# tests` or `# bench` opens a section; other comments
# are notes.
packages=()
section=""
while IFS= read -r line || [[ -n $line ]]; do
    line="${line%%$'\r'}"
    case "$line" in
    "# build" | "# tests" | "# bench") section="${line#\# }" ;;
    "#"* | "") ;;
    *)
        if [[ -n $section && $wanted_sections == *" $section "* ]]; then
            packages+=("${line//[[:space:]]/}")
        fi
        ;;
    esac
done <"$list"

# One dpkg-query call for all of them; a package it does not know prints nothing on stdout.
declare -A installed=()
while read -r name status; do
    [[ $status == installed ]] && installed[$name]=1
done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${packages[@]}" 2>/dev/null || true)

missing=()
for p in "${packages[@]}"; do
    [[ -n ${installed[$p]:-} ]] && continue
    # Node.js may come from elsewhere (a nodesource build bundles npm): a working command will do.
    case "$p" in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
    esac
    missing+=("$p")
done

[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo=(sudo -n)
    else
        echo "install-deps: missing Debian packages: ${missing[*]}" >&2
        echo "install-deps: install them as root with:" >&2
        echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
        exit 1
    fi
fi

echo "install-deps: installing ${missing[*]}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq update >"$log" 2>&1 ||
    ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq -y --no-install-recommends \
        -o Dpkg::Use-Pty=0 install "${missing[@]}" >>"$log" 2>&1; then
    cat "$log" >&2
    echo "install-deps: apt-get failed" >&2
    exit 1
fi
