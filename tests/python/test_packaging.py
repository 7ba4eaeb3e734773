"""The packaging: the Dockerfile lints clean with hadolint (installed from
requirements.txt), the systemd unit verifies and keeps its hardening, and, where a
container runtime answers, the image builds and reports itself healthy."""

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

import conftest

ROOT = conftest.ROOT
UNIT = ROOT / "packaging" / "confab.service"
CONFAB = ROOT / "target" / "debug" / "confab"


def run(*args, timeout=120, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)


def test_dockerfile_lints_clean():
    hadolint = Path(sys.prefix) / "bin" / "hadolint"
    out = run(str(hadolint), "--failure-threshold", "info", str(ROOT / "Dockerfile"))
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.fixture
def unit(tmp_path):
    """The unit with ExecStart pointing at the built binary (verify checks it exists)."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    if not CONFAB.is_file():
        pytest.fail(f"confab not built: {CONFAB}", pytrace=False)
    copy = tmp_path / "confab.service"
    copy.write_text(UNIT.read_text().replace("/usr/local/bin/confab", str(CONFAB)))
    return copy


def test_systemd_unit_verifies(unit):
    out = run("systemd-analyze", "verify", str(unit))
    # verify exits 0 on unknown keys and bad values: it only warns about them.
    assert (out.returncode, out.stdout + out.stderr) == (0, "")


def test_systemd_unit_is_hardened(unit):
    # Exposure 0.0 (locked down) to 10.0 (unprotected); threshold in tenths.
    out = run("systemd-analyze", "security", "--offline=yes", "--threshold=20", str(unit))
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr


def docker_runs():
    if shutil.which("docker") is None:
        return False
    return run("docker", "info", timeout=30).returncode == 0


@pytest.mark.skipif(not docker_runs(), reason="no container runtime answers (docker info)")
def test_image_builds_and_is_healthy():
    tag = f"confab-test:{uuid.uuid4().hex[:12]}"
    built = run("docker", "build", "-t", tag, str(ROOT), timeout=3600)
    assert built.returncode == 0, built.stderr[-4000:]
    name = f"confab-test-{uuid.uuid4().hex[:12]}"
    started = run("docker", "run", "-d", "--name", name, "-p", "127.0.0.1::3000", tag)
    assert started.returncode == 0, started.stderr
    try:
        health = ""
        deadline = time.monotonic() + 120  # a safety net: the first check runs within 30 s
        while health != "healthy" and time.monotonic() < deadline:
            inspect = run("docker", "inspect", "--format", "{{.State.Health.Status}}", name)
            health = inspect.stdout.strip()
            assert health in ("starting", "healthy"), health + inspect.stderr
            time.sleep(1)
        assert health == "healthy"
        port = run("docker", "port", name, "3000/tcp").stdout.split(":")[-1].strip()
        ready = requests.get(f"http://127.0.0.1:{port}/api/ready", timeout=10)
        assert ready.json() == {"ready": True}
        user = run("docker", "exec", name, "id", "-u").stdout.strip()
        assert user == "10001"
        secret = run("docker", "exec", name, "ls", "/data/jwt-secret")
        assert secret.returncode == 0, secret.stderr
    finally:
        run("docker", "rm", "-f", name)
        run("docker", "rmi", "-f", tag)
