"""Rooms: join-room / leave-room / to-room between several clients."""

import itertools

import pytest

_n = itertools.count(1)


def room_name(prefix="room"):
    return f"{prefix}-{next(_n)}"


def rooms_of(peer, reply):
    rooms = reply["rooms"]
    assert rooms[0] == peer.sid("/"), f"own id must come first: {rooms!r}"
    return sorted(rooms[1:])


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_join_and_leave_report_rooms(clients, transport):
    peer = clients.new(transports=[transport])
    a, b = room_name(), room_name()
    assert rooms_of(peer, peer.call1("join-room", a)) == [a]
    assert rooms_of(peer, peer.call1("join-room", b)) == sorted([a, b])
    assert rooms_of(peer, peer.call1("join-room", a)) == sorted([a, b])  # joining twice is one membership
    assert rooms_of(peer, peer.call1("leave-room", a)) == [b]
    assert rooms_of(peer, peer.call1("leave-room", a)) == [b]  # leaving a room not joined is harmless
    assert rooms_of(peer, peer.call1("leave-room", b)) == []


@pytest.mark.parametrize(
    "transports", [("websocket", "websocket"), ("polling", "websocket"), ("websocket", "polling")]
)
def test_to_room_reaches_members_but_not_sender_or_others(clients, transports):
    room = room_name()
    sender = clients.new(transports=[transports[0]])
    member = clients.new(transports=[transports[1]])
    member2 = clients.new()
    outsider = clients.new(transports=[transports[1]])
    for p in (sender, member, member2):
        p.call1("join-room", room)

    data = {"text": "hello room", "n": [1, 2, 3]}
    assert sender.call1("to-room", {"room": room, "event": "news", "data": data}) is True

    assert member.next_event("news") == [data]
    assert member2.next_event("news") == [data]
    for p in (sender, outsider):
        p.barrier()
        assert p.received("news") == 0
    member.barrier()
    assert member.received("news") == 1  # exactly once


def test_to_room_with_binary_data(clients):
    room = room_name()
    sender, member = clients.new(), clients.new(transports=["polling"])
    sender.call1("join-room", room)
    member.call1("join-room", room)
    data = {"blob": bytes(range(256)), "label": "bin"}
    assert sender.call1("to-room", {"room": room, "event": "file", "data": data}) is True
    assert member.next_event("file") == [data]


def test_sender_outside_room_can_send_to_it(clients):
    room = room_name()
    sender, member = clients.new(), clients.new()
    member.call1("join-room", room)
    assert sender.call1("to-room", {"room": room, "event": "news", "data": "from outside"}) is True
    assert member.next_event("news") == ["from outside"]


def test_left_room_gets_nothing_more(clients):
    room = room_name()
    sender, stayer, leaver = clients.new(), clients.new(), clients.new()
    stayer.call1("join-room", room)
    leaver.call1("join-room", room)

    sender.call1("to-room", {"room": room, "event": "news", "data": 1})
    assert stayer.next_event("news") == [1]
    assert leaver.next_event("news") == [1]

    leaver.call1("leave-room", room)
    sender.call1("to-room", {"room": room, "event": "news", "data": 2})
    assert stayer.next_event("news") == [2]
    leaver.barrier()
    assert leaver.received("news") == 1


def test_socket_id_is_a_room(clients):
    sender, target, other = clients.new(), clients.new(), clients.new()
    assert sender.call1("to-room", {"room": target.sid("/"), "event": "dm", "data": "psst"}) is True
    assert target.next_event("dm") == ["psst"]
    other.barrier()
    assert other.received("dm") == 0


def test_disconnected_member_leaves_rooms(clients):
    room = room_name()
    sender, member, gone = clients.new(), clients.new(), clients.new()
    member.call1("join-room", room)
    gone.call1("join-room", room)
    gone.disconnect()
    assert sender.call1("to-room", {"room": room, "event": "news", "data": "after"}) is True
    assert member.next_event("news") == ["after"]
