"""A thin layer over python-socketio's sync Client for the end-to-end tests.

Every wait has a timeout and nothing is timed by sleeping. python-socketio runs each
received message's handler in its own thread, so handler order is not arrival order;
`Peer.raw_events` is therefore recorded in the Engine.IO read loop itself, in arrival
order, and `Peer.barrier()` makes "X did not arrive" checks exact: the server answers
packets of one socket in order, so anything it sent this socket before answering the
barrier is already in `raw_events` when the barrier's answer is seen.
"""

import itertools
import threading

import engineio
import socketio
from socketio import packet as sio_packet

DEFAULT_TIMEOUT = 5.0
CONNECT_TIMEOUT = 10.0

_tokens = itertools.count(1)


class Peer:
    """One python-socketio client plus what it has seen."""

    def __init__(self, url, reconnection=False):
        self.url = url
        self.sio = socketio.Client(
            reconnection=reconnection,
            reconnection_delay=0.2,
            reconnection_delay_max=0.5,
            randomization_factor=0.1,
            handle_sigint=False,
            request_timeout=10,
        )
        self._cond = threading.Condition()
        self.events = []  # (namespace, event, args) in handler-call order
        self.raw_events = []  # (namespace, event) in arrival order
        self.connects = []  # namespace, each time one connects
        self.disconnects = []  # (namespace, reason)
        self.connect_errors = []  # (namespace, data)
        self.pings = 0  # Engine.IO PING packets received
        self._cursors = {}
        self._hook_read_loop()

    # -- recording -----------------------------------------------------------------

    def _hook_read_loop(self):
        eio = self.sio.eio
        original = eio._receive_packet

        def receive(pkt):
            if pkt.packet_type == engineio.packet.PING:
                with self._cond:
                    self.pings += 1
                    self._cond.notify_all()
            if pkt.packet_type == engineio.packet.MESSAGE and isinstance(pkt.data, str):
                try:
                    p = sio_packet.Packet(encoded_packet=pkt.data)
                except Exception:  # a malformed packet is the client's business
                    p = None
                if p is not None and p.packet_type in (sio_packet.EVENT, sio_packet.BINARY_EVENT):
                    with self._cond:
                        self.raw_events.append((p.namespace or "/", p.data[0]))
            return original(pkt)

        eio._receive_packet = receive

    def _record(self, kind, item):
        with self._cond:
            getattr(self, kind).append(item)
            self._cond.notify_all()

    def watch(self, namespace):
        """Registers recording handlers for `namespace` (before connecting to it)."""
        sio = self.sio
        sio.on("connect", lambda: self._record("connects", namespace), namespace=namespace)
        sio.on(
            "disconnect",
            lambda reason=None: self._record("disconnects", (namespace, reason)),
            namespace=namespace,
        )
        sio.on(
            "connect_error",
            lambda data=None: self._record("connect_errors", (namespace, data)),
            namespace=namespace,
        )
        sio.on(
            "*",
            lambda event, *args: self._record("events", (namespace, event, args)),
            namespace=namespace,
        )

    def on(self, event, handler, namespace="/"):
        """A handler of one event; its return value is the ack (a tuple = several args)."""

        def recorded(*args):
            self._record("events", (namespace, event, args))
            return handler(*args)

        self.sio.on(event, recorded, namespace=namespace)

    # -- connecting ----------------------------------------------------------------

    def connect(self, namespaces=("/",), transports=None, auth=None, query=None, path="socket.io"):
        namespaces = list(namespaces)
        for ns in namespaces:
            if ns not in self.sio.handlers or "*" not in self.sio.handlers[ns]:
                self.watch(ns)
        url = self.url
        if query:
            from urllib.parse import urlencode

            url = f"{url}?{urlencode(query)}"
        self.sio.connect(
            url,
            transports=transports,
            namespaces=namespaces,
            auth=auth,
            wait_timeout=CONNECT_TIMEOUT,
            socketio_path=path,
        )
        return self

    def sid(self, namespace="/"):
        return self.sio.get_sid(namespace)

    @property
    def transport(self):
        return self.sio.transport()

    def disconnect(self):
        """The client disconnects, as socketio.Client.disconnect() does: a DISCONNECT packet
        per namespace, then the Engine.IO CLOSE. Unlike python-engineio's own disconnect(),
        it waits for each to be written before going on (python-engineio may drop them
        from its queue unsent, so the server would sometimes see only the transport going
        away, and over polling disconnect() may wait for the server's next ping)."""
        sio, eio = self.sio, self.sio.eio
        if not sio.connected:
            return
        for ns in list(sio.namespaces):
            sio._send_packet(sio.packet_class(sio_packet.DISCONNECT, namespace=ns))
        self._flush()
        if eio.current_transport == "websocket":
            eio.disconnect()  # sends CLOSE and closes the websocket; the read loop ends with it
        else:
            eio._send_packet(engineio.packet.Packet(engineio.packet.CLOSE))
            self._flush()
            eio.disconnect(abort=True)  # no waiting for the pending GET

    def close(self):
        """Teardown: no reconnection, no waiting on the server."""
        sio = self.sio
        sio.reconnection = False
        if sio.connected:
            self.disconnect()
        else:
            sio.shutdown()  # stops a pending reconnection
            if sio.eio.state == "connected":
                sio.eio.disconnect(abort=True)

    def _flush(self, timeout=DEFAULT_TIMEOUT):
        """Waits until the packets queued so far have been written out."""
        q = self.sio.eio.queue
        if q is None:
            return
        with q.all_tasks_done:
            q.all_tasks_done.wait_for(lambda: q.unfinished_tasks == 0, timeout)

    def send_namespace_disconnect(self, namespace):
        """Sends a DISCONNECT packet for one namespace, leaving the connection and the
        client's idea of that namespace as they are (python-socketio has no API for it)."""
        self.sio._send_packet(self.sio.packet_class(sio_packet.DISCONNECT, namespace=namespace))

    # -- talking -------------------------------------------------------------------

    def call(self, event, *args, namespace="/", timeout=DEFAULT_TIMEOUT):
        """Emits with an ack and returns the ack's args as a list."""
        done = threading.Event()
        got = []

        def ack(*reply):
            got.append(list(reply))
            done.set()

        self.sio.emit(event, tuple(args), namespace=namespace, callback=ack)
        if not done.wait(timeout):
            raise AssertionError(f'no ack for "{event}" on {namespace} within {timeout} s')
        return got[0]

    def call1(self, event, *args, namespace="/", timeout=DEFAULT_TIMEOUT):
        """Like call, for an ack with exactly one arg: returns it."""
        reply = self.call(event, *args, namespace=namespace, timeout=timeout)
        assert len(reply) == 1, f"expected one ack arg for {event}, got {reply!r}"
        return reply[0]

    def emit(self, event, *args, namespace="/"):
        self.sio.emit(event, tuple(args), namespace=namespace)

    # -- waiting -------------------------------------------------------------------

    def _wait_for(self, predicate, what, timeout):
        with self._cond:
            if not self._cond.wait_for(predicate, timeout):
                raise AssertionError(f"{what} not seen within {timeout} s")

    def next_event(self, event, namespace="/", timeout=DEFAULT_TIMEOUT):
        """The args (a list) of the next not yet consumed `event` on `namespace`."""
        key = (namespace, event)
        found = []

        def seen():
            start = self._cursors.get(key, 0)
            for i in range(start, len(self.events)):
                ns, ev, args = self.events[i]
                if ns == namespace and ev == event:
                    self._cursors[key] = i + 1
                    found.append(list(args))
                    return True
            self._cursors[key] = len(self.events)
            return False

        self._wait_for(seen, f'event "{event}" on {namespace}', timeout)
        return found[0]

    def wait_disconnect(self, namespace="/", timeout=DEFAULT_TIMEOUT):
        """The reason of the first disconnect of `namespace`."""
        found = []

        def seen():
            for ns, reason in self.disconnects:
                if ns == namespace:
                    found.append(reason)
                    return True
            return False

        self._wait_for(seen, f"disconnect of {namespace}", timeout)
        return found[0]

    def wait_connects(self, count, namespace="/", timeout=DEFAULT_TIMEOUT):
        self._wait_for(
            lambda: self.connects.count(namespace) >= count,
            f"{count} connects of {namespace}",
            timeout,
        )

    def wait_pings(self, count, timeout=DEFAULT_TIMEOUT):
        self._wait_for(lambda: self.pings >= count, f"{count} pings", timeout)

    def barrier(self, namespace="/", timeout=DEFAULT_TIMEOUT):
        """Round trip through the server (echo without ack, answered by an `echo` event)."""
        token = f"barrier-{next(_tokens)}"
        self.emit("echo", token, namespace=namespace)

        def seen():
            return any(
                ns == namespace and ev == "echo" and list(args) == [token]
                for ns, ev, args in self.events
            )

        self._wait_for(seen, f"barrier echo {token}", timeout)

    def received(self, event, namespace="/"):
        """How many `event` packets on `namespace` arrived so far (use after barrier())."""
        with self._cond:
            return sum(1 for ns, ev in self.raw_events if ns == namespace and ev == event)


class ClientFactory:
    def __init__(self, url):
        self.url = url
        self.peers = []

    def peer(self, reconnection=False):
        """A client not yet connected, to register handlers on first."""
        p = Peer(self.url, reconnection=reconnection)
        self.peers.append(p)
        return p

    def new(self, namespaces=("/",), transports=None, auth=None, query=None, reconnection=False):
        """A connected client."""
        return self.peer(reconnection=reconnection).connect(
            namespaces=namespaces, transports=transports, auth=auth, query=query
        )

    def close_all(self):
        import sys
        for p in self.peers:
            try:
                p.close()
            except Exception as e:
                sys.stderr.write(f"closing a client failed: {e!r}\n")
            if p.sio.eio.state != "disconnected":
                sys.stderr.write(f"client left in Engine.IO state {p.sio.eio.state}\n")
