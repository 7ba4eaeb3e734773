"""The confab binary as an operator runs it: JSON logs with one line per connection
event under the target confab::connections, which RUST_LOG can silence; no secret in
the logs whatever the flow; liveness, readiness and `confab health`."""

import json
import os
import subprocess
import tempfile

import pytest
import requests
import socketio

import conftest
from e2e import Peer

pytestmark = pytest.mark.skipif(
    conftest.SERVER_KIND == "node", reason="the confab binary itself, not the testbed contract"
)

CONFAB = conftest.ROOT / "target" / "debug" / "confab"
SECRET = "operate-test-secret-0123456789-abcdefghij"
API_KEY = "operate-test-api-key-5f3a9c"
CONNECTIONS = "confab::connections"


@pytest.fixture
def data_dir():
    with tempfile.TemporaryDirectory(prefix="confab-operate-") as d:
        yield d


def settings(data_dir):
    return {
        "CONFAB_DATA_DIR": data_dir,
        "CONFAB_IDENTITY__SECRET": SECRET,
        "CONFAB_API__KEYS": API_KEY,
        "CONFAB_LOG_FORMAT": "json",
    }


def run_confab(args, env):
    full = {**os.environ, **env}
    return subprocess.run(
        [str(CONFAB), *args], env=full, cwd=conftest.ROOT, capture_output=True, text=True, timeout=60
    )


def start(env, log_path):
    if not CONFAB.is_file():
        pytest.fail(f"confab not built: {CONFAB} (run `cargo build --bins`)", pytrace=False)
    with open(log_path, "w") as log:
        return conftest.start_server(command=[str(CONFAB)], stderr=log, **env)


def stop(server):
    conftest.stop_server(server.proc)


def log_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def token(env, user, *roles):
    out = run_confab(["token", user, *[a for r in roles for a in ("--role", r)]], env)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_json_connection_lines_and_no_secrets(data_dir, tmp_path):
    env = settings(data_dir)
    env["RUST_LOG"] = "debug"  # more than an operator would run: still no secrets
    alice, admin = token(env, "alice"), token(env, "ops", "admin")
    log = tmp_path / "confab.log"
    server = start(env, log)
    try:
        with_auth = Peer(server.url).connect(auth={"token": alice})
        in_query = Peer(server.url).connect(query={"token": alice}, transports=["polling"])
        refused = Peer(server.url)
        with pytest.raises(socketio.exceptions.ConnectionError):
            refused.connect(auth={"token": alice[:-4] + "AAAA"}, transports=["websocket"])
        api = f"{server.url}/api/clients"
        assert requests.get(api, headers={"X-API-Key": API_KEY}, timeout=10).status_code == 200
        bearer = {"Authorization": f"Bearer {admin}"}
        assert requests.get(api, headers=bearer, timeout=10).status_code == 200
        wrong = {"Authorization": f"Bearer {API_KEY}x"}
        assert requests.get(api, headers=wrong, timeout=10).status_code == 401
        for peer in (with_auth, in_query, refused):
            peer.close()
    finally:
        stop(server)

    text = log.read_text()
    for secret in (SECRET, API_KEY, alice, admin, *alice.split(".")[1:], *admin.split(".")[1:]):
        assert secret not in text, f"a secret is in the logs: {secret[:12]}..."
    lines = log_lines(log)  # every line is one JSON object
    assert all({"timestamp", "level", "target", "fields"} <= set(l) for l in lines)
    conns = [l["fields"] for l in lines if l["target"] == CONNECTIONS]
    assert all(l["level"] == "INFO" for l in lines if l["target"] == CONNECTIONS)
    messages = [c["message"] for c in conns]
    assert messages.count("connection opened") == 3, messages
    users = [c["user"] for c in conns if c["message"] == "socket connected"]
    assert users == ["alice", "alice"], conns
    refusals = [c for c in conns if c["message"] == "CONNECT refused"]
    assert [r["reason"] for r in refusals] == ["Invalid or expired token"], conns
    assert messages.count("connection closed") == 3, messages
    opened = [c for c in conns if c["message"] == "connection opened"]
    assert {c["transport"] for c in opened} == {"websocket", "polling"}
    assert all(c["address"].startswith("127.0.0.1:") for c in opened)


def test_connection_lines_can_be_turned_off(data_dir, tmp_path):
    env = settings(data_dir)
    env["RUST_LOG"] = f"info,{CONNECTIONS}=off"
    log = tmp_path / "confab.log"
    server = start(env, log)
    try:
        Peer(server.url).connect(auth={"token": token(env, "bob")}).close()
    finally:
        stop(server)
    lines = log_lines(log)
    assert any(l["fields"].get("message") == "engine started" for l in lines)
    assert [l for l in lines if l["target"] == CONNECTIONS] == []


def test_liveness_readiness_and_confab_health(data_dir, tmp_path):
    env = settings(data_dir)
    server = start(env, tmp_path / "confab.log")
    probe_env = {**env, "CONFAB_HOST": "127.0.0.1", "CONFAB_PORT": str(server.port)}
    try:
        live = requests.get(f"{server.url}/api/health", timeout=10)
        assert (live.status_code, live.json()) == (200, {"ok": True})
        ready = requests.get(f"{server.url}/api/ready", timeout=10)
        assert (ready.status_code, ready.json()) == (200, {"ready": True})
        # No credentials needed, whatever api.keys says.
        assert requests.get(f"{server.url}/api/clients", timeout=10).status_code == 401
        ok = run_confab(["health"], probe_env)
        assert ok.returncode == 0, ok.stderr
    finally:
        stop(server)
    gone = run_confab(["health"], probe_env)
    assert gone.returncode == 1
    assert f"no server at 127.0.0.1:{server.port}" in gone.stderr
