//! The client events of the contract, one file per family, and what every
//! event goes through first: a user on the socket, a payload that is an
//! object, no forged `userId`; and after: the answer, as an ack or (when
//! the client asked for none) an `exception` event for a refusal.

mod connection;
mod friends;
mod groups;
mod lists;
mod messages;
mod rooms;

pub(super) use connection::contacts;

use std::future::Future;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tracing::debug;

use super::error::Refusal;
use super::input::Input;
use super::lenient;
use super::service::ChatService;
use super::wire::{Exception, Refused};
use confab_engine::{Ack, Args, Namespace, Payload, Socket};

pub(crate) use lists::with_header;
pub(crate) use messages::Senders;

/// What a handler gets: the service, the socket, its user, the payload,
/// and the event's ack.
pub(super) struct Ctx {
    pub service: ChatService,
    pub socket: Socket,
    pub user: String,
    pub input: Input,
    pub ack: AckSlot,
}

/// The event's ack, if the client asked for one, until it is sent: by
/// the handler's answer, or earlier by whoever the handler gave it to (a
/// chat actor, right after publishing the event the ack reports, so that
/// both leave in one write). Whoever takes it first sends it.
#[derive(Clone, Default)]
pub(super) struct AckSlot(Arc<Mutex<Option<Ack>>>);

impl AckSlot {
    fn new(ack: Option<Ack>) -> AckSlot {
        AckSlot(Arc::new(Mutex::new(ack)))
    }

    pub fn take(&self) -> Option<Ack> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// The client asked for an ack and it has not been sent.
    pub fn is_pending(&self) -> bool {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }
}

/// An event's answer, encoded once for its ack.
pub(super) type Reply = Result<Args, Refusal>;

/// `answer` as the ack's argument.
fn reply(answer: &impl Serialize) -> Reply {
    Ok(Args::new(answer)?)
}

/// Where a node's chat events are served: here, or (a node of a cluster
/// without the chat service) on another node, which the refusal names.
pub enum Serving {
    Here(ChatService),
    Elsewhere(Arc<str>),
}

pub fn install(ns: &mut Namespace, serving: Serving) {
    if let Serving::Here(service) = &serving {
        connection::install(ns, service);
    }
    on(ns, &serving, "createMessage", messages::create);
    on(ns, &serving, "findAllMessages", messages::find_all);
    on(ns, &serving, "updateMessage", messages::update);
    on(ns, &serving, "removeMessage", messages::remove);
    on(ns, &serving, "readMessage", messages::read);
    on(ns, &serving, "joinRoom", rooms::join);
    on(ns, &serving, "leaveRoom", rooms::leave);
    on(ns, &serving, "roomTyping", rooms::typing);
    on(ns, &serving, "findAllChatHeaders", lists::chat_headers);
    on(ns, &serving, "getMyChats", lists::my_chats);
    on(ns, &serving, "getMyFriendships", lists::my_friendships);
    on(ns, &serving, "requestFriendship", friends::request);
    on(ns, &serving, "acceptFriendship", friends::accept);
    on(ns, &serving, "rejectFriendship", friends::reject);
    on(ns, &serving, "blockUser", friends::block);
    on(ns, &serving, "unblockUser", friends::unblock);
    on(ns, &serving, "createGroup", groups::create);
    on(ns, &serving, "addParticipants", groups::add);
    on(ns, &serving, "removeParticipant", groups::remove);
    on(ns, &serving, "leaveGroup", groups::leave);
}

/// Registers `event`: its handler where chat is served here, else a
/// refusal that says where it is.
fn on<F, Fut>(ns: &mut Namespace, serving: &Serving, event: &'static str, handler: F)
where
    F: Fn(Ctx) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Reply> + 'static,
{
    let service = match serving {
        Serving::Here(service) => service.clone(),
        Serving::Elsewhere(message) => {
            let message = message.clone();
            ns.on(event, move |socket, _, ack| {
                let refusal = Refusal::ServedElsewhere(message.to_string());
                answer(&socket, event, ack, Err(refusal));
                async {}
            });
            return;
        }
    };
    ns.on(event, move |socket, payload, ack| {
        let (service, handler) = (service.clone(), handler.clone());
        async move {
            let ack = AckSlot::new(ack);
            let reply = match prepare(service, socket.clone(), &payload, ack.clone()) {
                Ok(ctx) => handler(ctx).await,
                Err(refusal) => Err(refusal),
            };
            // None: not asked for, or sent already.
            answer(&socket, event, ack.take(), reply);
        }
    });
}

fn prepare(
    service: ChatService,
    socket: Socket,
    payload: &Payload,
    ack: AckSlot,
) -> Result<Ctx, Refusal> {
    let user = socket.user_id().ok_or(Refusal::Unauthenticated)?.to_owned();
    let input = Input::from_payload(payload)?;
    check_claimed_user(&input, &user)?;
    Ok(Ctx {
        service,
        socket,
        user,
        input,
        ack,
    })
}

/// What every event may say of who acts: `userId`, if anything.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Claimed {
    #[serde(deserialize_with = "lenient::user")]
    user_id: Option<String>,
}

/// Refuses a payload that names a user other than the connection's:
/// who acts is always the socket's user, never what a payload says.
fn check_claimed_user(input: &Input, user: &str) -> Result<(), Refusal> {
    match lenient::read::<Claimed>(input) {
        Ok(Claimed {
            user_id: Some(claimed),
        }) if claimed != user => Err(Refusal::ForgedUser),
        Ok(_) => Ok(()),
        Err(_) => Err(Refusal::ForgedUser),
    }
}

fn answer(socket: &Socket, event: &str, ack: Option<Ack>, reply: Reply) {
    if let Err(refusal) = &reply {
        debug!(socket = socket.id(), user = ?socket.user_id(), event, %refusal, "chat event refused");
    }
    let sent = match (ack, reply) {
        (Some(ack), Ok(args)) => {
            ack.send_args(&args);
            Ok(())
        }
        (Some(ack), Err(refusal)) => ack.send(&Refused {
            error: &refusal.to_string(),
        }),
        (None, Ok(_)) => Ok(()),
        (None, Err(refusal)) => socket.emit(
            "exception",
            &Exception {
                status: "error",
                message: &refusal.to_string(),
                event,
            },
        ),
    };
    if let Err(err) = sent {
        debug!(%err, event, "answer not encoded");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_claimed_user_must_be_the_connection() {
        let claim = |value| check_claimed_user(&Input::from_value(value), "u1");
        assert!(claim(json!({"UserId": "u1"})).is_ok());
        assert!(claim(json!({"userId": " u1 "})).is_ok());
        assert!(claim(json!({"userId": ""})).is_ok());
        assert!(matches!(
            claim(json!({"userId": "u2"})),
            Err(Refusal::ForgedUser)
        ));
        assert!(matches!(
            claim(json!({"UserId": {"id": "u1"}})),
            Err(Refusal::ForgedUser)
        ));
    }
}
