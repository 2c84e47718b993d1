#!/usr/bin/env bash
# Installs the system packages Parley's tests use, when they are missing (Debian/Ubuntu, as root or via sudo).
#   libgomp1, libstdc++6: the llama.cpp library the engine loads needs them.
set -euo pipefail
needed=()
for pkg in libgomp1 libstdc++6; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || needed+=("$pkg")
done
[ ${#needed[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
    echo "check: please install ${needed[*]} (the tests need them); no apt-get here to do it." >&2
    exit 1
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "check: installing ${needed[*]}..." >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${needed[@]}" >/dev/null
