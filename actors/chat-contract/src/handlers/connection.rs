//! Connect and disconnect: the user's record and user room, presence
//! across devices (`clientStatus` to their contacts on the first socket and
//! after the last), and the end of the viewing a socket was doing.

use std::collections::BTreeSet;

use serde_json::Value;
use tracing::warn;

use confab_chat::Unview;
use confab_chat::store::FriendshipStatus;

use crate::service::ChatService;
use crate::wire::ClientStatus;
use confab_engine::{Namespace, Socket};

pub fn install(ns: &mut Namespace, service: &ChatService) {
    // The user is recorded before the CONNECT is answered: once a client
    // is connected, others can open a chat with it at once.
    let record = service.clone();
    ns.middleware(move |req| {
        let service = record.clone();
        async move {
            if let Some(user) = &req.user_id {
                let (name, avatar) = profile_of(req.data.get(confab_engine::IDENTITY_DATA_KEY));
                if let Err(err) = service.upsert_user(user, name.as_deref(), avatar.as_deref()) {
                    warn!(%err, user, "user not recorded");
                }
            }
            Ok(req)
        }
    });
    let on_connect = service.clone();
    ns.on_connect(move |socket| {
        let service = on_connect.clone();
        async move { connected(service, socket).await }
    });
    let on_disconnect = service.clone();
    ns.on_disconnect(move |socket, _| {
        let service = on_disconnect.clone();
        async move { disconnected(service, socket).await }
    });
}

/// What the client says it is: `clientType` in the query or the `auth`
/// object, `web` otherwise.
fn client_type(socket: &Socket) -> String {
    socket
        .handshake()
        .query("clientType")
        .or_else(|| socket.auth().get("clientType").and_then(Value::as_str))
        .unwrap_or("web")
        .to_owned()
}

/// The name and avatar the identity layer found in the token, if any.
fn profile_of(identity: Option<&Value>) -> (Option<String>, Option<String>) {
    let field = |name: &str| {
        identity
            .and_then(|i| i.get(name))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    (field("name"), field("avatar"))
}

async fn connected(service: ChatService, socket: Socket) {
    // Once a socket, not once an event: an event comes from a connected
    // socket, so the service is bound before any handler needs it.
    service.bind(socket.io().clone());
    let Some(user) = socket.user_id().map(str::to_owned) else {
        return;
    };
    if socket.nsp() != service.settings().namespace {
        warn!(
            nsp = socket.nsp(),
            expected = %service.settings().namespace,
            "chat installed on a namespace other than ChatSettings::namespace: server events go to the latter"
        );
    }
    // Before any await: a disconnect handler spawned later sees it.
    let client_type = client_type(&socket);
    let first = service
        .sockets()
        .connected(&user, socket.id(), &client_type);
    socket.join([service.settings().user_room(&user)]).await;
    if first {
        announce(&service, &user, &client_type, true);
    }
}

async fn disconnected(service: ChatService, socket: Socket) {
    let Some(user) = socket.user_id().map(str::to_owned) else {
        return;
    };
    let departure = service.sockets().disconnected(&user, socket.id());
    for chat in departure.viewed {
        let unview = Unview {
            socket: socket.id().to_owned(),
        };
        let _ = service.chats().call_if_running(chat, unview).await;
    }
    if departure.last {
        announce(&service, &user, &departure.client_type, false);
    }
}

/// Everyone who should see `user` come and go: their friends and the
/// other members of their chats.
pub(crate) fn contacts(service: &ChatService, user: &str) -> BTreeSet<String> {
    let store = service.store();
    let mut contacts = BTreeSet::new();
    match store.friendships_of(user) {
        Ok(friends) => contacts.extend(
            friends
                .into_iter()
                .filter(|f| f.status == FriendshipStatus::Accepted)
                .map(|f| f.other),
        ),
        Err(err) => warn!(%err, user, "friendships not read"),
    }
    let chats = store.chats_of(user).unwrap_or_default();
    for chat in chats {
        if let Ok(Some(header)) = store.chat(chat) {
            contacts.extend(header.members.into_iter().filter(|m| m != user));
        }
    }
    contacts
}

/// `clientStatus {userId, clientType, activeNow}` to the user's contacts.
fn announce(service: &ChatService, user: &str, client_type: &str, active: bool) {
    let Some(io) = service.io() else { return };
    let contacts = contacts(service, user);
    if contacts.is_empty() {
        return;
    }
    let rooms = contacts.iter().map(|c| service.settings().user_room(c));
    let body = ClientStatus {
        user_id: user,
        client_type,
        active_now: active,
    };
    let target = io.of(&service.settings().namespace).to_rooms(rooms);
    if let Err(err) = target.emit("clientStatus", &body) {
        warn!(%err, "clientStatus not encoded");
    }
}
