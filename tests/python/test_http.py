"""The HTTP routes beside Socket.IO: health, emit from the server, sockets list."""

import itertools

import pytest
import requests

_n = itertools.count(1)

TIMEOUT = 5


def post_emit(url, body):
    r = requests.post(f"{url}/api/emit", json=body, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    assert r.json() == {"ok": True}


def test_health(url):
    r = requests.get(f"{url}/api/health", timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.json() == {"ok": True}


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_emit_to_a_room(url, clients, transport):
    room = f"http-room-{next(_n)}"
    a = clients.new(transports=[transport])
    b = clients.new()
    outsider = clients.new(transports=[transport])
    a.call1("join-room", room)
    b.call1("join-room", room)
    data = {"from": "http", "list": [1, "x", None]}
    post_emit(url, {"rooms": [room], "event": "announce", "data": data})
    assert a.next_event("announce") == [data]
    assert b.next_event("announce") == [data]
    outsider.barrier()
    assert outsider.received("announce") == 0


def test_emit_to_everyone(url, clients):
    peers = [clients.new(transports=[t]) for t in ("websocket", "polling")]
    post_emit(url, {"event": "all-hands", "data": "everyone"})
    for p in peers:
        assert p.next_event("all-hands") == ["everyone"]


def test_emit_to_several_rooms_reaches_each_socket_once(url, clients):
    r1, r2 = f"http-room-{next(_n)}", f"http-room-{next(_n)}"
    both, one = clients.new(), clients.new()
    both.call1("join-room", r1)
    both.call1("join-room", r2)
    one.call1("join-room", r2)
    post_emit(url, {"rooms": [r1, r2], "event": "multi", "data": 1})
    assert both.next_event("multi") == [1]
    assert one.next_event("multi") == [1]
    both.barrier()
    assert both.received("multi") == 1


def test_emit_except(url, clients):
    room = f"http-room-{next(_n)}"
    kept, excluded = clients.new(), clients.new()
    kept.call1("join-room", room)
    excluded.call1("join-room", room)
    post_emit(url, {"rooms": [room], "except": [excluded.sid("/")], "event": "filtered", "data": "x"})
    assert kept.next_event("filtered") == ["x"]
    excluded.barrier()
    assert excluded.received("filtered") == 0


def test_emit_to_admin_namespace(url, clients):
    admin = clients.new(namespaces=["/admin"], auth={"token": "let-me-in"})
    root = clients.new()
    post_emit(url, {"nsp": "/admin", "event": "admin-news", "data": {"v": 2}})
    assert admin.next_event("admin-news", namespace="/admin") == [{"v": 2}]
    root.barrier()
    assert root.received("admin-news") == 0


def test_sockets_list(url, clients):
    room = f"http-room-{next(_n)}"
    peer = clients.new()
    peer.call1("join-room", room)
    r = requests.get(f"{url}/api/sockets", params={"nsp": "/"}, timeout=TIMEOUT)
    assert r.status_code == 200
    mine = [s for s in r.json() if s["id"] == peer.sid("/")]
    assert len(mine) == 1, r.json()
    assert mine[0]["nsp"] == "/"
    assert peer.sid("/") in mine[0]["rooms"]
    assert room in mine[0]["rooms"]
