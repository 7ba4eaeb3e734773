"""Events and acks both ways, JSON and binary, over both transports."""

import threading

import pytest

JSON_ARGS = (
    "text",
    "ünïcødé ✓ 🚀",
    0,
    -17,
    2**40,
    1.5,
    True,
    False,
    None,
    [],
    {},
    [1, "two", [3, {"four": 4}]],
    {"nested": {"list": [None, True, 0.25], "empty": {}}},
)


@pytest.fixture(params=["websocket", "polling"])
def peer(request, clients):
    return clients.new(transports=[request.param])


def test_echo_ack_returns_same_args(peer):
    assert peer.call("echo", *JSON_ARGS) == list(JSON_ARGS)


def test_echo_ack_single_and_no_args(peer):
    assert peer.call("echo", "only") == ["only"]
    assert peer.call("echo", {"k": "v"}) == [{"k": "v"}]
    assert peer.call("echo") == []


def test_echo_without_ack_emits_back(peer):
    peer.emit("echo", *JSON_ARGS)
    assert peer.next_event("echo") == list(JSON_ARGS)


def test_many_acks_match_their_calls(peer):
    # acks are matched by id: fire several calls before any reply arrives (at most 16
    # in flight: python-engineio refuses a polling payload of more packets)
    done = threading.Event()
    replies = {}
    lock = threading.Lock()

    def make_ack(i):
        def ack(*args):
            with lock:
                replies[i] = list(args)
                if len(replies) == 10:
                    done.set()

        return ack

    for i in range(10):
        peer.sio.emit("echo", (i, f"call-{i}"), callback=make_ack(i))
    assert done.wait(10), f"only {len(replies)} of 10 acks arrived"
    assert replies == {i: [i, f"call-{i}"] for i in range(10)}


ALL_BYTES = bytes(range(256))


def test_binary_ack_round_trip(peer):
    reply = peer.call("echo", ALL_BYTES)
    assert reply == [ALL_BYTES]
    assert isinstance(reply[0], bytes)


def test_binary_mixed_with_json_in_ack(peer):
    args = ("before", {"blob": b"\x00\x01\xff", "list": [b"a", "b", {"deep": b"\xfe"}]}, ALL_BYTES, 7)
    assert peer.call("echo", *args) == list(args)


def test_binary_large_ack(peer):
    blob = bytes(i % 251 for i in range(200_000))
    assert peer.call("echo", blob, timeout=15) == [blob]


def test_binary_event_round_trip(peer):
    peer.emit("echo", ALL_BYTES, {"also": b"\x10\x20"}, "tail")
    got = peer.next_event("echo")
    assert got == [ALL_BYTES, {"also": b"\x10\x20"}, "tail"]
    assert isinstance(got[0], bytes)


def test_server_asks_client_for_ack(peer):
    questions = []

    def question(data):
        questions.append(data)
        return ("answer", 42, {"from": "python"})

    peer.on("question", question)
    res = peer.call1("ask", {"event": "question", "data": {"q": "meaning?"}, "timeoutMs": 5000}, timeout=10)
    assert res == {"ok": True, "reply": ["answer", 42, {"from": "python"}]}
    assert questions == [{"q": "meaning?"}]


def test_server_ask_with_empty_client_ack(peer):
    # python-socketio acks with no args when the handler returns None
    peer.on("nothing", lambda data: None)
    res = peer.call1("ask", {"event": "nothing", "data": 1, "timeoutMs": 5000}, timeout=10)
    assert res == {"ok": True, "reply": []}


def test_server_ask_with_binary_question(peer):
    seen = []

    def blob(data):
        seen.append(data)
        return len(data["payload"])

    peer.on("blob", blob)
    res = peer.call1("ask", {"event": "blob", "data": {"payload": ALL_BYTES}, "timeoutMs": 5000}, timeout=10)
    assert seen == [{"payload": ALL_BYTES}]
    assert res == {"ok": True, "reply": [256]}


def test_server_ask_with_binary_reply(peer):
    peer.on("reverse", lambda data: data["text"].encode()[::-1])
    res = peer.call1("ask", {"event": "reverse", "data": {"text": "abc"}, "timeoutMs": 5000}, timeout=10)
    assert res == {"ok": True, "reply": [b"cba"]}
    assert isinstance(res["reply"][0], bytes)


def test_server_ask_times_out(peer):
    release = threading.Event()

    def slow(data):
        release.wait(10)  # hold the ack until the server has given up
        return "too late"

    peer.on("slow", slow)
    try:
        res = peer.call1("ask", {"event": "slow", "data": None, "timeoutMs": 300}, timeout=10)
        assert res == {"ok": False, "error": "timeout"}
    finally:
        release.set()
    # the late ack reaches a server that no longer waits for it: the connection stays fine
    assert peer.next_event("slow") == [None]
    assert peer.call("echo", "still here") == ["still here"]
