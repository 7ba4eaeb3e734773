#!/usr/bin/env bash
# End-to-end tests with the python-socketio client.
#   tests/python/run.sh [pytest args...]
# Runs against confab's testbed (target/debug/examples/testbed, which must be built:
# `cargo build --examples`), or, with CONFAB_TEST_SERVER=node, against the Node
# reference (tests/js/reference/testbed.js; needs `npm ci` in tests/js).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
python="${PYTHON:-python3}"
venv="$here/.venv"
stamp="$venv/.requirements.sha256"
want="$(sha256sum requirements.txt | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r requirements.txt
  echo "$want" > "$stamp"
fi
exec "$venv/bin/python" -m pytest -q "$@"
