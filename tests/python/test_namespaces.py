"""The /admin namespace and its auth middleware; unknown namespaces."""

import pytest
import socketio

GOOD = {"token": "let-me-in"}
UNAUTHORIZED = {"message": "unauthorized", "data": {"reason": "bad token"}}


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_admin_with_good_token(clients, transport):
    peer = clients.new(namespaces=["/admin"], auth=GOOD, transports=[transport])
    me = peer.call1("whoami", namespace="/admin")
    assert me["id"] == peer.sid("/admin")
    assert me["nsp"] == "/admin"
    assert me["auth"] == GOOD
    assert peer.call("echo", "hi", b"\x01\x02", namespace="/admin") == ["hi", b"\x01\x02"]
    peer.emit("echo", "pushed", namespace="/admin")
    assert peer.next_event("echo", namespace="/admin") == ["pushed"]


@pytest.mark.parametrize(
    "auth", [{"token": "wrong"}, None, {"token": ""}], ids=["wrong", "none", "empty"]
)
def test_admin_refuses_bad_token(clients, auth):
    peer = clients.peer()
    with pytest.raises(socketio.exceptions.ConnectionError) as info:
        peer.connect(namespaces=["/admin"], auth=auth)
    assert "/admin" in str(info.value)
    # the CONNECT_ERROR payload reaches the client's connect_error handler
    assert peer.connect_errors == [("/admin", UNAUTHORIZED)]
    assert peer.connects == []


def test_unknown_namespace_is_refused(clients):
    peer = clients.peer()
    with pytest.raises(socketio.exceptions.ConnectionError):
        peer.connect(namespaces=["/nope"])
    assert peer.connect_errors == [("/nope", {"message": "Invalid namespace"})]


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_root_and_admin_on_one_connection(clients, transport):
    peer = clients.new(namespaces=["/", "/admin"], auth=GOOD, transports=[transport])
    root = peer.call1("whoami")
    admin = peer.call1("whoami", namespace="/admin")
    assert root["nsp"] == "/" and admin["nsp"] == "/admin"
    assert root["id"] == peer.sid("/") and admin["id"] == peer.sid("/admin")
    assert root["id"] != admin["id"]
    assert root["auth"] == GOOD
    # each namespace answers on its own
    assert peer.call("echo", "root") == ["root"]
    assert peer.call("echo", "admin", namespace="/admin") == ["admin"]


def test_root_whoami_reports_auth(clients):
    peer = clients.new(auth={"user": "ada", "n": 3})
    assert peer.call1("whoami")["auth"] == {"user": "ada", "n": 3}
