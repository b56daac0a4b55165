#!/usr/bin/env bash
# Installs the Debian 12 packages assistantd needs to build, run, test and benchmark.
# Only missing packages are installed; runs as root or through sudo.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git curl ca-certificates
  libboost-dev libsqlite3-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  libexpected-dev libssl-dev libcurl4-openssl-dev zlib1g-dev libsodium-dev libpq-dev libhiredis-dev
  libpcre2-dev rapidjson-dev
  libgtest-dev libgmock-dev
  libbenchmark-dev
  wrk sqlite3
)
if [ "${1:-}" = "--security" ]; then
  # make security's attack suite (scripts/security.py).
  packages+=(python3 sqlmap slowhttptest)
fi
if [ "${1:-}" = "--test" ]; then
  # A throwaway PostgreSQL cluster for the PostgreSQL backend's tests (scripts/test-services.sh).
  packages+=(python3 python3-jwt python3-cryptography postgresql redis-server)
  # The fuzz targets (fuzz/), whose corpora make test replays under ASan and UBSan.
  packages+=(clang-14 libclang-rt-14-dev)
  # Quality gates: formatting, clang-tidy on the changed files, line coverage.
  packages+=(clang-format-14 clang-tidy-14 gcovr)
  # Real third-party clients (tests/clients) run on Node.js; keep a Node the machine already has.
  command -v node >/dev/null 2>&1 || packages+=(nodejs)
  command -v npm >/dev/null 2>&1 || packages+=(npm)
  # deploy/ checked by its own tools: promtool (alert rules and their unit tests), nginx -t and
  # a load-balancing test through nginx, systemd-analyze verify on the unit.
  packages+=(prometheus nginx-light systemd)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing missing packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  sudo_cmd=()
elif command -v sudo >/dev/null 2>&1; then
  sudo_cmd=(sudo)
else
  echo "error: missing packages (${missing[*]}) and neither root nor sudo available" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Debian starts a system-wide PostgreSQL cluster when the package is installed; the tests use
# a throwaway cluster of their own (scripts/test-services.sh), so leave the machine as it was.
if printf '%s\n' "${missing[@]}" | grep -qx postgresql; then
  "${sudo_cmd[@]}" service postgresql stop >/dev/null 2>&1 || true
fi
# Likewise for the system Prometheus and nginx (tests run their own on loopback).
for svc in prometheus nginx; do
  if printf '%s\n' "${missing[@]}" | grep -q "^$svc"; then
    "${sudo_cmd[@]}" service "$svc" stop >/dev/null 2>&1 || true
  fi
done
# Likewise for the system Redis that redis-server's package starts (tests use their own).
if printf '%s\n' "${missing[@]}" | grep -qx redis-server; then
  "${sudo_cmd[@]}" service redis-server stop >/dev/null 2>&1 || true
fi
