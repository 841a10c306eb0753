#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what it needs, then runs every test.
# `.ci/run` calls this same script after its format and lint checks.
set -euo pipefail
cd "$(dirname "$0")/.."

have() { command -v "$1" >/dev/null 2>&1; }
apt_install() {
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "$@" >/dev/null
}

have cargo || { echo "cargo not found: install Rust with rustup first (https://rustup.rs)"; exit 1; }
have python3 || apt_install python3
# The real consumers the tests run: Prometheus and promtool (Debian's prometheus package).
have prometheus && have promtool || apt_install prometheus
# Alertmanager and amtool (Debian's prometheus-alertmanager package).
have prometheus-alertmanager && have amtool || apt_install prometheus-alertmanager
# kubectl (for `kubectl kustomize`) ships with this machine image; Debian-based images get it here.
have kubectl || apt_install kubectl
# The offline schema validator for the deploy manifests (PyPI).
have kubernetes-validate || python3 -m pip install --quiet kubernetes-validate

# The committed scenario dumps must be exactly what their generator writes.
python3 tests/fixtures/scenarios.py --check

cargo test --all-targets --locked
