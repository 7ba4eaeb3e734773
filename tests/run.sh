#!/usr/bin/env bash
# The whole test suite, on a fresh machine: Rust checks and unit tests, then
# the end-to-end suites with real Socket.IO clients (npm socket.io-client and
# PyPI python-socketio) against the real server on loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."

# systemd-analyze checks packaging/confab.service (tests/python/test_packaging.py);
# hadolint comes with the Python requirements.
if ! command -v systemd-analyze >/dev/null; then
  echo "== installing Debian's systemd for systemd-analyze"
  apt-get update -qq && apt-get install -y -qq --no-install-recommends systemd
fi

# The Redis adapter's tests (Rust and JS) start private redis-server instances.
if ! command -v redis-server >/dev/null; then
  echo "== installing Debian's redis-server for the Redis adapter's tests"
  apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server
fi

echo "== rust: format, lints, build"
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo build --workspace --bins --examples --quiet

echo "== rust: unit and actor tests"
cargo test --workspace --quiet

echo "== js: socket.io-client and raw protocol tests"
(cd tests/js && npm ci --no-audit --no-fund --loglevel=error && npm test)

echo "== python: python-socketio client tests; the confab binary as operated; packaging"
bash tests/python/run.sh
