#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, when they are missing:
# PostgreSQL (the suite starts its own server), Chromium (browser tests) and Node.js with npm
# (axe-core, the accessibility checker the browser tests inject); more packages
# can be named as arguments (the benchmarks add wrk, the HTTP load generator).
set -euo pipefail

packages=(postgresql chromium nodejs "$@")
# Debian's nodejs comes without npm (its own package); a Node.js that brings npm needs nothing more.
command -v npm >/dev/null 2>&1 || packages+=(npm)
missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "error: missing Debian packages (${missing[*]}) and no root or sudo to install them" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
