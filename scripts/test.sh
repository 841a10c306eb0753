#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what it needs, then runs every test.
# `.ci/run` calls this same script after its format and lint checks.
#
# What it changes on the machine (as root, or through sudo): Debian packages through apt
# (python3, python3-venv, prometheus, prometheus-alertmanager, docker-registry, buildah, skopeo,
# apache2-utils, kubectl, openssl, curl) when they
# are missing; a Python virtual environment with kubernetes-validate in target/pyvenv (never a
# global pip install); the control plane's binaries in ~/.cache/kube-verdict/. Without apt it
# names what to install and stops.
set -euo pipefail
cd "$(dirname "$0")/.."

have() { command -v "$1" >/dev/null 2>&1; }
apt_install() {
  if ! have apt-get; then
    echo "missing: $* (install it with your package manager, then run this script again)" >&2
    exit 1
  fi
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "$@" >/dev/null
}

have cargo || { echo "cargo not found: install Rust with rustup first (https://rustup.rs)"; exit 1; }
have python3 || apt_install python3
# The real consumers the tests run: Prometheus and promtool (Debian's prometheus package).
have prometheus && have promtool || apt_install prometheus
# Alertmanager and amtool (Debian's prometheus-alertmanager package).
have prometheus-alertmanager && have amtool || apt_install prometheus-alertmanager
# A real OCI registry and real image builds for tests/registry.rs: Debian's docker-registry
# (distribution 2.8), buildah and skopeo, and htpasswd (apache2-utils) for the registry's auth.
have docker-registry || apt_install docker-registry
have buildah || apt_install buildah
have skopeo || apt_install skopeo
have htpasswd || apt_install apache2-utils
# kubectl (for `kubectl kustomize`) ships with this machine image; Debian-based images get it here.
have kubectl || apt_install kubectl
# The offline schema validator for the deploy manifests (PyPI), in a virtual environment under
# the build folder unless the machine has it already.
if ! have kubernetes-validate; then
  if [ ! -x target/pyvenv/bin/kubernetes-validate ]; then
    python3 -m venv target/pyvenv 2>/dev/null || { apt_install python3-venv && python3 -m venv target/pyvenv; }
    target/pyvenv/bin/pip install --quiet kubernetes-validate
  fi
  export PATH="$PWD/target/pyvenv/bin:$PATH"
fi

# A real control plane for tests/real_cluster.rs: kube-apiserver, kube-scheduler and
# kube-controller-manager v1.35.4, etcd 3.6.5 and KWOK 0.8.0, built from the Go module proxy
# once per machine (10 to 20 minutes on 2 cores) and cached in ~/.cache/kube-verdict/.
have openssl || apt_install openssl
have curl || apt_install curl
if ! bash scripts/control-plane.sh built; then
  have go || { echo "go not found: Go 1.25 or newer is needed to build the control plane"; exit 1; }
  echo "building the real control plane for tests/real_cluster.rs (once per machine; cached in ~/.cache/kube-verdict/)"
  bash scripts/control-plane.sh build
fi

# Built above, so the real-cluster tests must run: with CI set, a missing control plane fails
# them instead of skipping them.
export CI="${CI:-1}"

# The committed scenario dumps must be exactly what their generator writes.
python3 tests/fixtures/scenarios.py --check

# The peer of benches/real_scale.rs (plain kube-rs reflectors), which its smoke run under
# `cargo test` starts: `cargo test` builds examples without putting them at their plain path.
cargo build --locked --example plain_reflectors

rm -f target/tmp/real-cluster-api-faults.txt
# Every test target; the last line sums them up ("N passed, M failed").
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --all-targets --locked 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
echo
# The API-fault figures of tests/real_cluster.rs (seconds from each fault's end to the truth).
if [ -f target/tmp/real-cluster-api-faults.txt ]; then
  echo "real control plane, API faults:"
  sed 's/^/  /' target/tmp/real-cluster-api-faults.txt
fi
# A target without the test harness (the benches' smoke runs) that fails prints no "test
# result" line, only cargo's "error: test failed": counted as one failure each.
awk '/^test result:/ { for (i = 1; i < NF; i++) { if ($(i+1) ~ /^passed;?$/) p += $i; if ($(i+1) ~ /^failed;?$/) f += $i } }
     /^error: test failed, to rerun pass/ && !/--test |--lib/ { f += 1 }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
