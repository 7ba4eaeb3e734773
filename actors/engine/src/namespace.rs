//! Namespaces: the handlers an application registers, shared read-only by
//! every session.

use std::collections::HashMap;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::task::Poll;

use futures_util::future::{BoxFuture, LocalBoxFuture};
use tracing::error;

use crate::ack::ServerAck;
use crate::handshake::{ConnectError, ConnectRequest};
use crate::io::Io;
use crate::payload::Payload;
use crate::policy::SocketPolicy;
use crate::socket::{Ack, DisconnectReason, Socket};

type Middleware = Arc<
    dyn Fn(ConnectRequest) -> LocalBoxFuture<'static, Result<ConnectRequest, ConnectError>>
        + Send
        + Sync,
>;
type ConnectHandler = Arc<dyn Fn(Socket) -> LocalBoxFuture<'static, ()> + Send + Sync>;
/// A handler of one server-side event, given the engine's handle to act
/// with: it runs on a task of its own (nothing of a session is at hand), so
/// its future is `Send`.
pub(crate) type ServerEventHandler =
    Arc<dyn Fn(Io, Payload, Option<ServerAck>) -> BoxFuture<'static, ()> + Send + Sync>;
type EventHandler =
    Arc<dyn Fn(Socket, Payload, Option<Ack>) -> LocalBoxFuture<'static, ()> + Send + Sync>;
type DisconnectHandler =
    Arc<dyn Fn(Socket, DisconnectReason) -> LocalBoxFuture<'static, ()> + Send + Sync>;

type Guard = Arc<dyn Fn(&Socket, &Payload) -> Result<(), String> + Send + Sync>;

/// One namespace's middlewares and handlers.
#[derive(Default, Clone)]
pub struct Namespace {
    policies: Vec<Arc<dyn SocketPolicy>>,
    middlewares: Vec<Middleware>,
    guards: Vec<Guard>,
    on_connect: Vec<ConnectHandler>,
    on_disconnect: Vec<DisconnectHandler>,
    events: HashMap<String, EventHandler>,
    fallback: Option<EventHandler>,
    /// Handlers of the other nodes' server-side events, by name.
    server_events: HashMap<String, ServerEventHandler>,
}

impl Namespace {
    /// Handles `name` when another node of the cluster emits it with
    /// `serverSideEmit` (Node's `io.on(name, ...)`), with this engine's
    /// handle; `ack` is set when that node waits for an answer. A node
    /// never hears its own.
    pub fn on_server_event<F, Fut>(&mut self, name: impl Into<String>, f: F) -> &mut Self
    where
        F: Fn(Io, Payload, Option<ServerAck>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: ServerEventHandler =
            Arc::new(move |io, payload, ack| Box::pin(f(io, payload, ack)));
        self.server_events.insert(name.into(), handler);
        self
    }

    pub(crate) fn server_event(&self, name: &str) -> Option<&ServerEventHandler> {
        self.server_events.get(name)
    }

    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a handshake middleware: it sees every CONNECT to this namespace,
    /// in order, and may refuse it with a message and data.
    pub fn middleware<F, Fut>(&mut self, f: F) -> &mut Self
    where
        F: Fn(ConnectRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ConnectRequest, ConnectError>> + 'static,
    {
        self.middlewares.push(Arc::new(move |req| Box::pin(f(req))));
        self
    }

    /// Adds a policy the session tells of each socket's milestones
    /// (connected, authenticated), in the order added.
    pub fn policy(&mut self, policy: impl SocketPolicy + 'static) -> &mut Self {
        self.policies.push(Arc::new(policy));
        self
    }

    pub(crate) fn policies(&self) -> &[Arc<dyn SocketPolicy>] {
        &self.policies
    }

    /// Adds a check every event passes before its handler: an `Err` refuses
    /// the event (the client's ack, if any, gets `{"error": message}`).
    pub fn guard<F>(&mut self, f: F) -> &mut Self
    where
        F: Fn(&Socket, &Payload) -> Result<(), String> + Send + Sync + 'static,
    {
        self.guards.push(Arc::new(f));
        self
    }

    /// Runs the guards; the first refusal wins.
    pub(crate) fn check(&self, socket: &Socket, payload: &Payload) -> Result<(), String> {
        self.guards
            .iter()
            .try_for_each(|guard| guard(socket, payload))
    }

    /// Runs when a socket has connected (after the CONNECT reply is sent).
    /// Several services may each add one; they run in the order added.
    pub fn on_connect<F, Fut>(&mut self, f: F) -> &mut Self
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        self.on_connect.push(Arc::new(move |s| Box::pin(f(s))));
        self
    }

    /// As [`Namespace::on_connect`], before every handler added so far: an
    /// observer hears of the socket before the application's handlers act
    /// on it (Node's `prependListener("connection")`).
    pub fn prepend_on_connect<F, Fut>(&mut self, f: F) -> &mut Self
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        self.on_connect.insert(0, Arc::new(move |s| Box::pin(f(s))));
        self
    }

    /// Runs when a socket leaves the namespace, whatever the cause; several
    /// may be added.
    pub fn on_disconnect<F, Fut>(&mut self, f: F) -> &mut Self
    where
        F: Fn(Socket, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        self.on_disconnect
            .push(Arc::new(move |s, r| Box::pin(f(s, r))));
        self
    }

    /// Handles the event `name`; `Ack` is there when the client asked for one.
    pub fn on<F, Fut>(&mut self, name: impl Into<String>, f: F) -> &mut Self
    where
        F: Fn(Socket, Payload, Option<Ack>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        self.events
            .insert(name.into(), Arc::new(move |s, p, a| Box::pin(f(s, p, a))));
        self
    }

    /// Handles every event that has no handler of its own.
    pub fn on_any<F, Fut>(&mut self, f: F) -> &mut Self
    where
        F: Fn(Socket, Payload, Option<Ack>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        self.fallback = Some(Arc::new(move |s, p, a| Box::pin(f(s, p, a))));
        self
    }

    /// Passes a CONNECT through every middleware in order.
    pub(crate) fn admit(
        &self,
        req: ConnectRequest,
    ) -> LocalBoxFuture<'static, Result<ConnectRequest, ConnectError>> {
        let middlewares = self.middlewares.clone();
        Box::pin(async move {
            let mut req = req;
            for middleware in middlewares {
                req = middleware(req).await?;
            }
            Ok(req)
        })
    }

    /// Runs the connect handlers one after the other, in one task: a
    /// later one may rely on what an earlier one did (rooms joined).
    pub(crate) fn connected(&self, socket: Socket) {
        if self.on_connect.is_empty() {
            return;
        }
        let handlers = self.on_connect.clone();
        actix::spawn(async move {
            for handler in handlers {
                handler(socket.clone()).await;
            }
        });
    }

    pub(crate) fn disconnected(&self, socket: Socket, reason: DisconnectReason) {
        if self.on_disconnect.is_empty() {
            return;
        }
        let handlers = self.on_disconnect.clone();
        actix::spawn(async move {
            for handler in handlers {
                handler(socket.clone(), reason).await;
            }
        });
    }

    /// Dispatches an event; when nothing handles it, the ack comes back.
    pub(crate) fn dispatch(
        &self,
        socket: Socket,
        payload: Payload,
        ack: Option<Ack>,
    ) -> Result<(), Option<Ack>> {
        match self.events.get(payload.event()).or(self.fallback.as_ref()) {
            Some(handler) => {
                run_to_first_wait(handler(socket, payload, ack));
                Ok(())
            }
            None => Err(ack),
        }
    }
}

/// Polls an event handler once, here: most handlers answer without
/// waiting, and then cost no task. One that waits goes on as a task, whose
/// first poll registers the real waker (only the latest poll's waker counts).
/// A panicking handler is dropped and logged, as a panicking task would be.
fn run_to_first_wait(mut handler: LocalBoxFuture<'static, ()>) {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match catch_unwind(AssertUnwindSafe(|| handler.as_mut().poll(&mut cx))) {
        Ok(Poll::Ready(())) => {}
        Ok(Poll::Pending) => {
            actix::spawn(handler);
        }
        Err(_) => error!("an event handler panicked"),
    }
}

/// Every namespace of an engine, by name.
#[derive(Default, Clone)]
pub struct Namespaces(HashMap<String, Arc<Namespace>>);

impl Namespaces {
    pub fn insert(&mut self, name: impl Into<String>, ns: Namespace) {
        self.0.insert(normalize(name.into()), Arc::new(ns));
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Namespace>> {
        self.0.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// Every namespace, to add handlers to before the engine starts (an
    /// observer that sees all of them, as the admin UI's server side).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut Namespace)> {
        self.0
            .iter_mut()
            .map(|(name, ns)| (name.as_str(), Arc::make_mut(ns)))
    }
}

/// Namespace names always start with `/`.
fn normalize(name: String) -> String {
    if name.starts_with('/') {
        name
    } else {
        format!("/{name}")
    }
}
