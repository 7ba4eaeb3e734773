"""Starts a real server on a loopback port for each test module and stops it after.

By default the server is confab's testbed example (target/debug/examples/testbed,
built with `cargo build --examples`). With CONFAB_TEST_SERVER=node the same
contract (tests/TESTBED.md) is served by the official Node server
(tests/js/reference/testbed.js), which is how the expected answers were checked
against the reference. Mirrors tests/js/harness.js.
"""

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from e2e import ClientFactory

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:(\d+))")
EXACT_LISTENING = re.compile(r"confab listening on http://127\.0\.0\.1:\d+")
START_TIMEOUT_S = 30

SERVER_KIND = "node" if os.environ.get("CONFAB_TEST_SERVER") == "node" else "confab"


def pytest_report_header(config):
    return f"server: {SERVER_KIND}"


class Server:
    def __init__(self, url, port, kind, proc):
        self.url = url
        self.port = port
        self.kind = kind
        self.proc = proc

    def __repr__(self):
        return f"Server({self.kind} at {self.url})"


def server_command():
    if SERVER_KIND == "node":
        script = ROOT / "tests" / "js" / "reference" / "testbed.js"
        if not script.is_file():
            pytest.fail(f"Node reference server not found: {script}", pytrace=False)
        return ["node", str(script)]
    binary = ROOT / "target" / "debug" / "examples" / "testbed"
    if not binary.is_file():
        pytest.fail(
            f"confab testbed not built: {binary} (run `cargo build --examples`, "
            "or set CONFAB_TEST_SERVER=node)",
            pytrace=False,
        )
    return [str(binary)]


def start_server(command=None, stderr=None, **settings):
    """Starts a server (the testbed unless `command` says) with the given CONFAB_*
    settings; returns a Server once it listens. Its logs go to our stderr (captured by
    pytest, shown on failure) unless `stderr` is a file to write them to."""
    env = dict(os.environ)
    env.update({"CONFAB_PORT": "0", "CONFAB_HOST": "127.0.0.1"})
    env.update({k: str(v) for k, v in settings.items()})
    proc = subprocess.Popen(
        command or server_command(),
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        bufsize=1,
    )
    found = {}
    ready = threading.Event()

    def read_stdout():
        # Keep draining stdout for the server's whole life so it never blocks on a full pipe.
        for line in proc.stdout:
            if not ready.is_set():
                m = LISTENING.search(line)
                if m:
                    found["url"], found["port"] = m.group(1), int(m.group(2))
                    ready.set()
            else:
                sys.stderr.write(f"[server stdout] {line}")
        ready.set()  # EOF: the server exited

    threading.Thread(target=read_stdout, name="server-stdout", daemon=True).start()
    if not ready.wait(START_TIMEOUT_S) or "url" not in found:
        code = proc.poll()
        stop_server(proc)
        if code is not None:
            raise RuntimeError(f"server exited early with {code}")
        raise RuntimeError(f"server did not print its listening line in {START_TIMEOUT_S} s")
    return Server(found["url"], found["port"], SERVER_KIND, proc)


def stop_server(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sys.stderr.write("server still running 10 s after SIGTERM: killing it\n")
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def server():
    srv = start_server()
    try:
        yield srv
    finally:
        stop_server(srv.proc)


@pytest.fixture(scope="module")
def url(server):
    return server.url


@pytest.fixture
def clients(server):
    """Makes connected clients (see e2e.ClientFactory) and disconnects them all after the test."""
    factory = ClientFactory(server.url)
    try:
        yield factory
    finally:
        factory.close_all()
