#!/usr/bin/env bash
# Installs the Debian packages Oriel needs, only those that are missing.
# Usage: scripts/install-deps.sh [build|test|bench]...   (default: build test)
# Idempotent and quiet when nothing is missing; needs root (or sudo) only when it installs.
set -euo pipefail

# Compilers, build tools and the libraries DESIGN.md names.
build_packages=(
  g++ cmake ninja-build ccache pkg-config git
  libboost-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libre2-dev libyaml-cpp-dev libsimdjson-dev rapidjson-dev
  libsnappy-dev libzstd-dev zlib1g-dev libxxhash-dev libroaring-dev
  libcurl4-openssl-dev libfmt-dev libcli11-dev libjemalloc-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)
# Real clients and peers that the tests drive.
test_packages=(
  curl python3 nodejs npm
  prometheus prometheus-pushgateway
)
# Peer systems that only the benchmarks run.
bench_packages=(
  prometheus victoria-metrics prometheus-pushgateway prometheus-alertmanager
  clickhouse-server ripgrep
)

groups=("$@")
[ ${#groups[@]} -eq 0 ] && groups=(build test)

wanted=()
for g in "${groups[@]}"; do
  case "$g" in
    build) wanted+=("${build_packages[@]}") ;;
    test) wanted+=("${test_packages[@]}") ;;
    bench) wanted+=("${bench_packages[@]}") ;;
    *) echo "install-deps: unknown group '$g' (want build, test or bench)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${wanted[@]}"; do
  # A package counts as present only when dpkg says it is fully installed.
  if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    # node and npm may come from outside Debian on a developer's machine.
    if { [ "$p" = nodejs ] && command -v node >/dev/null; } ||
       { [ "$p" = npm ] && command -v npm >/dev/null; }; then
      continue
    fi
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

# Deduplicate while keeping order.
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | awk '!seen[$0]++')
echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# Services from Debian packages must not start on install: tests start their own.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod +x "$policy"
  created_policy=1
fi
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[ "$created_policy" -eq 1 ] && $sudo rm -f "$policy"
exit 0
