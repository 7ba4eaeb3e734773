"""Connecting over each transport: websocket only, polling only, polling then upgrade."""

import pytest


def check_talks(peer):
    """An acked call and a server push both work on this connection."""
    assert peer.call("echo", "ping", {"n": 1}) == ["ping", {"n": 1}]
    peer.emit("echo", "pushed")
    assert peer.next_event("echo") == ["pushed"]
    me = peer.call1("whoami")
    assert me["id"] == peer.sid("/")
    assert me["nsp"] == "/"


def test_websocket_only(clients):
    peer = clients.new(transports=["websocket"])
    assert peer.transport == "websocket"
    assert peer.sid("/")
    check_talks(peer)
    assert peer.call1("whoami")["query"]["transport"] == "websocket"


def test_polling_only(clients):
    peer = clients.new(transports=["polling"])
    assert peer.transport == "polling"
    check_talks(peer)
    assert peer.call1("whoami")["query"]["transport"] == "polling"
    # several pushes queued while no GET is pending must all come through (at most
    # 16 packets: python-engineio refuses a polling payload of more)
    for i in range(10):
        peer.emit("echo", i)
    got = sorted(peer.next_event("echo")[0] for _ in range(10))
    assert got == list(range(10))


def test_polling_then_upgrade(clients):
    peer = clients.peer()
    peer.connect()  # python-engineio: polling handshake, then upgrade before connect() returns
    assert peer.transport == "websocket", "the websocket upgrade did not happen"
    check_talks(peer)
    # the handshake (and so the query the server recorded) was made on polling
    assert peer.call1("whoami")["query"]["transport"] == "polling"


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_handshake_query(clients, transport):
    peer = clients.new(transports=[transport], query={"room": "lobby", "v": "1"})
    query = peer.call1("whoami")["query"]
    assert query["room"] == "lobby"
    assert query["v"] == "1"
    assert query["EIO"] == "4"


def test_many_clients_have_distinct_ids(clients):
    peers = [clients.new(transports=t) for t in (["websocket"], ["polling"], None)]
    ids = [p.call1("whoami")["id"] for p in peers]
    assert len(set(ids)) == 3
    assert ids == [p.sid("/") for p in peers]
