"""Disconnects: by the server (namespace or whole connection) and by the client, as
seen by the client and by an observer in the `observers` room."""

import pytest

# what the reference server's `left` says for `server-close` (socket.conn.close())
SERVER_CLOSE_REASON = "forced close"


def observer(clients):
    obs = clients.new()
    obs.call1("join-room", "observers")
    return obs


def next_left_of(obs, sid):
    """The `left` payload about `sid` (skipping other sockets' departures)."""
    while True:
        (info,) = obs.next_event("left")
        if info["id"] == sid:
            return info


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_server_disconnect(clients, transport):
    obs = observer(clients)
    peer = clients.new(transports=[transport])
    sid = peer.sid("/")
    peer.emit("server-disconnect")
    # python-socketio reports a DISCONNECT packet from the server as "server disconnect"
    # (the JS client's "io server disconnect")
    assert peer.wait_disconnect("/") == "server disconnect"
    assert not peer.sio.connected
    assert next_left_of(obs, sid) == {"id": sid, "reason": "server namespace disconnect"}


def test_server_disconnect_of_one_namespace_keeps_the_other(clients):
    peer = clients.new(namespaces=["/", "/admin"], auth={"token": "let-me-in"})
    peer.emit("server-disconnect")
    assert peer.wait_disconnect("/") == "server disconnect"
    # /admin still works on the same Engine.IO connection
    assert peer.call("echo", "alive", namespace="/admin") == ["alive"]
    assert peer.sio.connected


def test_server_close_over_websocket_reconnects(clients):
    obs = observer(clients)
    peer = clients.new(transports=["websocket"], reconnection=True)
    first = peer.sid("/")
    peer.emit("server-close")
    # the websocket closes with no DISCONNECT or CLOSE packet first: python-socketio
    # calls that a "transport error" (the JS client's "transport close") and reconnects
    assert peer.wait_disconnect("/") == "transport error"
    peer.wait_connects(2, timeout=10)
    second = peer.sid("/")
    assert second and second != first
    assert peer.call("echo", "back") == ["back"]
    left = next_left_of(obs, first)
    assert left["reason"] == SERVER_CLOSE_REASON


def test_server_close_over_polling(clients):
    obs = observer(clients)
    peer = clients.new(transports=["polling"])
    first = peer.sid("/")
    peer.emit("server-close")
    # on polling the server closes with an Engine.IO CLOSE packet, which
    # python-engineio reports as "server disconnect" (and does not reconnect after)
    assert peer.wait_disconnect("/") == "server disconnect"
    assert next_left_of(obs, first)["reason"] == SERVER_CLOSE_REASON



@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_client_namespace_disconnect_seen_by_observer(clients, transport):
    obs = observer(clients)
    peer = clients.new(namespaces=["/", "/admin"], auth={"token": "let-me-in"}, transports=[transport])
    sid = peer.sid("/")
    peer.send_namespace_disconnect("/")  # a DISCONNECT packet for "/" only
    assert next_left_of(obs, sid) == {"id": sid, "reason": "client namespace disconnect"}
    assert peer.call("echo", "admin lives", namespace="/admin") == ["admin lives"]


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_client_disconnect_seen_by_observer(clients, transport):
    obs = observer(clients)
    peer = clients.new(transports=[transport])
    sid = peer.sid("/")
    peer.disconnect()
    assert next_left_of(obs, sid) == {"id": sid, "reason": "client namespace disconnect"}
