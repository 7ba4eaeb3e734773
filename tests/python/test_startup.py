"""Start-up settings of the testbed (CONFAB_* variables) and low-level transport manners."""

import os
import subprocess
import threading

import pytest
import socketio
import websocket

import conftest
from e2e import Peer


def test_default_host_prints_loopback_line():
    """With no CONFAB_HOST the server listens on 127.0.0.1 and says exactly so."""
    env = {k: v for k, v in os.environ.items() if k != "CONFAB_HOST"}
    env["CONFAB_PORT"] = "0"
    proc = subprocess.Popen(
        conftest.server_command(), cwd=conftest.ROOT, env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True,
    )
    try:
        lines = []
        reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(30)
        assert lines, "no line on stdout within 30 s"
        assert conftest.EXACT_LISTENING.fullmatch(lines[0].rstrip("\n")), repr(lines[0])
    finally:
        conftest.stop_server(proc)


@pytest.fixture(scope="module")
def custom_server():
    srv = conftest.start_server(
        CONFAB_PATH="/realtime/", CONFAB_PING_INTERVAL_MS=200, CONFAB_PING_TIMEOUT_MS=1000
    )
    try:
        yield srv
    finally:
        conftest.stop_server(srv.proc)


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_custom_path_and_heartbeat(custom_server, transport):
    peer = Peer(custom_server.url)
    try:
        peer.connect(transports=[transport], path="realtime")
        assert peer.sio.eio.ping_interval == 0.2
        assert peer.sio.eio.ping_timeout == 1.0
        # python-engineio answers every PING; the session must outlive several of them
        peer.wait_pings(4, timeout=10)
        assert peer.sio.connected
        assert peer.call("echo", "alive") == ["alive"]
    finally:
        peer.close()


def test_default_path_is_not_served_when_custom(custom_server):
    peer = Peer(custom_server.url)
    try:
        with pytest.raises(socketio.exceptions.ConnectionError):
            peer.connect(transports=["polling"])
    finally:
        peer.close()


def test_websocket_close_frame_is_answered(server):
    """RFC 6455 5.5.1: an endpoint that receives a Close frame sends a Close frame back."""
    url = server.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    ws = websocket.create_connection(url, timeout=5)
    try:
        assert ws.recv().startswith("0{")
        ws.send("40")
        assert ws.recv().startswith("40")
        ws.send_close(websocket.STATUS_NORMAL)
        while True:
            opcode, _ = ws.recv_data(control_frame=True)  # raises if the TCP connection just drops
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                break
    finally:
        ws.shutdown()
