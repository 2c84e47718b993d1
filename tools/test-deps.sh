#!/usr/bin/env bash
# Installs the system packages Parley's tests use, when they are missing (Debian/Ubuntu, as root or via sudo).
#   libstdc++6:   the llama.cpp libraries the engine loads need it.
#   npm:          the engine fetches llama.cpp's prebuilt libraries with it, once, into a cache folder
#                 (installed only when no npm is on the PATH already).
#   redis-server: the shared rate-limit tests start their own instance on a loopback port
#                 (installed only when no redis-server is on the PATH already).
#   chromium, chromium-driver: the playground's browser test drives /usr/bin/chromium through
#                 /usr/bin/chromedriver (installed when either is missing there).
set -euo pipefail
needed=()
for pkg in libstdc++6; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || needed+=("$pkg")
done
command -v redis-server >/dev/null || needed+=(redis-server)
command -v npm >/dev/null || needed+=(npm)
[ -x /usr/bin/chromium ] || needed+=(chromium)
[ -x /usr/bin/chromedriver ] || needed+=(chromium-driver)
[ ${#needed[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
    echo "check: please install ${needed[*]} (the tests need them); no apt-get here to do it." >&2
    exit 1
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "check: installing ${needed[*]}..." >&2
$sudo apt-get update -qq
# The package's own service is not needed (tests start their own instances); RUNLEVEL=1 asks invoke-rc.d not to start it.
DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $sudo apt-get install -y -qq "${needed[@]}" >/dev/null
