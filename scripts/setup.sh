#!/usr/bin/env bash
# Installs what catalog-sync needs to build, test and run its demo on
# Debian 12 or later, and nothing else.  Idempotent: packages already
# installed are not touched.  Uses sudo when not run as root.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang-format
  libev-dev              # the master's event loop
  libcurl4-openssl-dev   # HTTP client for passes
  libjansson-dev         # JSON: aspects, API, reports
  libpq-dev              # state store, job queue, Postgres passes
  libmicrohttpd-dev      # the HTTP API, driven from the libev loop
  libyaml-dev            # the manifest
  libpcre2-dev           # recognizers (PII passes)
  libcmocka-dev          # unit tests
  postgresql             # throwaway clusters for the demo and the tests
  python3 python3-psycopg2 python3-jsonschema  # integration tests and fakes
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
