//! What the subscriber receives, applied here: other nodes' broadcasts go
//! to this node's sockets (through [`confab_engine::Io::apply`], marked
//! local so they go no further), their requests are carried out and
//! answered, and answers to this node's own requests go to the waiting
//! request. This node's own messages, which Redis echoes back, are skipped
//! by their uid.

use std::sync::Arc;
use std::time::Duration;

use confab_engine::{Broadcast, ServerAck, Target};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::mpsc;

use crate::broadcast::BroadcastMessage;
use crate::channels::Channels;
use crate::link::Inbound;
use crate::node::Node;
use crate::request::{Ask, Request, Target as RequestTarget};
use crate::response::{Answer, Response};
use crate::sockets::to_remote;
use crate::wire::Selection;

/// Which of a namespace's channels a message came on.
enum Kind {
    Broadcast,
    Request,
    Response,
}

/// The inbound task: until the link's subscriber ends. `notices`: this
/// node's channel for the recovery sessions taken from it.
pub(crate) async fn run(node: Arc<Node>, mut inbound: mpsc::Receiver<Inbound>, notices: String) {
    while let Some(message) = inbound.recv().await {
        match message {
            Inbound::Message { channel, payload } if channel == notices => {
                crate::sessions::on_notice(&node, &payload)
            }
            Inbound::Message { channel, payload } => {
                let Some((nsp, channels, kind)) = classify(&node, &channel) else {
                    tracing::debug!(channel, "a message on a channel of no namespace here");
                    continue;
                };
                match kind {
                    Kind::Broadcast => on_broadcast(&node, &nsp, &payload),
                    Kind::Request => on_request(&node, &nsp, &channels, &payload).await,
                    Kind::Response => on_response(&node, &payload),
                }
            }
            Inbound::Connected => {
                // Redis is back: the publisher connection reconnects on its
                // next call, so make one now rather than lose the first
                // message (often an answer another node awaits).
                let link = node.link.clone();
                tokio::spawn(async move {
                    if let Err(error) = link.query::<String>(redis::cmd("PING")).await {
                        tracing::debug!(%error, "redis publisher not back yet");
                    }
                });
            }
            Inbound::Lost => tracing::debug!(uid = node.uid, "cluster messages stopped"),
        }
    }
}

fn classify(node: &Node, channel: &str) -> Option<(String, Channels, Kind)> {
    node.read_channels().iter().find_map(|(nsp, channels)| {
        let kind = if channels.broadcast_scope(channel).is_some() {
            Kind::Broadcast
        } else if channel == channels.request() {
            Kind::Request
        } else if channel.starts_with(channels.response()) {
            Kind::Response
        } else {
            return None;
        };
        Some((nsp.clone(), channels.clone(), kind))
    })
}

/// This node's sockets of `nsp` in `selection`, marked local.
fn here(node: &Node, nsp: &str, selection: Selection) -> Broadcast {
    node.io.apply(Target {
        nsp: nsp.to_owned(),
        rooms: selection.rooms,
        except: selection.except,
        local: true,
    })
}

fn on_broadcast(node: &Node, nsp: &str, payload: &[u8]) {
    let message = match BroadcastMessage::decode(payload) {
        Ok(message) => message,
        Err(error) => return tracing::debug!(%error, "a malformed broadcast is dropped"),
    };
    if message.uid == node.uid || message.packet.nsp != nsp {
        return;
    }
    here(node, nsp, message.opts.selection).emit_args(&message.packet.event, &message.packet.args);
}

fn on_response(node: &Node, payload: &[u8]) {
    match Response::decode(payload) {
        Ok(response) => {
            node.pending.answer(&response.request_id, response.answer);
        }
        Err(error) => tracing::debug!(%error, "a malformed answer is dropped"),
    }
}

async fn on_request(node: &Arc<Node>, nsp: &str, channels: &Channels, payload: &[u8]) {
    let request = match Request::decode(payload) {
        Ok(request) => request,
        Err(error) => return tracing::debug!(%error, "a malformed request is dropped"),
    };
    let own = request.uid.as_deref() == Some(node.uid.as_str())
        || request
            .request_id
            .as_deref()
            .is_some_and(|id| node.pending.is_open(id));
    if own {
        // Done here before it was published.
        return;
    }
    let reply = |answer: Answer| {
        if let Some(request_id) = request.request_id.clone() {
            let response = Response { request_id, answer };
            node.publish_encoded(channels.response().to_owned(), response.encode());
        }
    };
    match request.ask {
        Ask::Sockets { rooms } => {
            let selection = Selection {
                rooms,
                except: Vec::new(),
            };
            let sockets = here(node, nsp, selection).sockets().await;
            reply(Answer::SocketIds(
                sockets.into_iter().map(|s| s.id).collect(),
            ));
        }
        Ask::AllRooms => {
            let sockets = here(node, nsp, Selection::default()).sockets().await;
            let mut rooms: Vec<String> = sockets.into_iter().flat_map(|s| s.rooms).collect();
            rooms.sort();
            rooms.dedup();
            reply(Answer::Rooms(rooms));
        }
        Ask::Fetch { selection } => {
            let sockets = here(node, nsp, selection).sockets().await;
            reply(Answer::Sockets(sockets.iter().map(to_remote).collect()));
        }
        Ask::Join { target, rooms } => {
            if let Some(chosen) = chosen(node, nsp, target).await {
                chosen.join(rooms);
                reply(Answer::Done);
            }
        }
        Ask::Leave { target, rooms } => {
            if let Some(chosen) = chosen(node, nsp, target).await {
                chosen.leave(rooms);
                reply(Answer::Done);
            }
        }
        Ask::Disconnect { target, close } => {
            if let Some(chosen) = chosen(node, nsp, target).await {
                if close {
                    chosen.close_connections();
                } else {
                    chosen.disconnect();
                }
                reply(Answer::Done);
            }
        }
        Ask::Broadcast { packet, opts } => {
            let Some(request_id) = request.request_id.clone() else {
                return;
            };
            let timeout = opts
                .flags
                .timeout
                .map_or(node.timeout, Duration::from_millis);
            let asked =
                here(node, nsp, opts.selection).ask_local(&packet.event, &packet.args, timeout);
            reply(Answer::ClientCount(asked.count as u64));
            tokio::spawn(relay_acks(
                node.clone(),
                channels.response().to_owned(),
                request_id,
                asked.answers,
            ));
        }
        Ask::ServerSideEmit { event, args } => {
            let payload = confab_engine::Payload::new(event, args);
            let (ack, answer) = match request.request_id.clone() {
                Some(request_id) => {
                    let (ack, answer) = ServerAck::new();
                    (Some(ack), Some((request_id, answer)))
                }
                None => (None, None),
            };
            let event = payload.event().to_owned();
            if !node.io.server_event(nsp, payload, ack) {
                // As a Node server with no listener: nothing, no answer.
                return tracing::debug!(nsp, event, "a server-side event nobody here handles");
            }
            if let Some((request_id, answer)) = answer {
                let (node, channel) = (node.clone(), channels.response().to_owned());
                tokio::spawn(async move {
                    // A handler that drops its ack answers nothing.
                    if let Ok(data) = answer.await {
                        let answer = Answer::ServerSideEmit(data);
                        let response = Response { request_id, answer };
                        node.publish_encoded(channel, response.encode());
                    }
                });
            }
        }
    }
}

/// The sockets a join, leave or disconnect is for. A selection is taken
/// as it is (its answer, none, is not awaited); one socket by id only if
/// it is here, and then answered.
async fn chosen(node: &Node, nsp: &str, target: RequestTarget) -> Option<Broadcast> {
    match target {
        RequestTarget::Selection(selection) => Some(here(node, nsp, selection)),
        RequestTarget::Socket(sid) => {
            let selection = Selection {
                rooms: vec![sid],
                except: Vec::new(),
            };
            let found = here(node, nsp, selection.clone()).sockets().await;
            (!found.is_empty()).then(|| here(node, nsp, selection))
        }
    }
}

/// Each client's ack to another node's broadcast, as it comes.
async fn relay_acks(
    node: Arc<Node>,
    channel: String,
    request_id: String,
    answers: Vec<
        tokio::sync::oneshot::Receiver<Result<confab_engine::Payload, confab_engine::AckError>>,
    >,
) {
    let mut answers: FuturesUnordered<_> = answers.into_iter().collect();
    while let Some(answer) = answers.next().await {
        if let Ok(Ok(payload)) = answer {
            let response = Response {
                request_id: request_id.clone(),
                answer: Answer::BroadcastAck(payload.args().clone()),
            };
            node.publish_encoded(channel.clone(), response.encode());
        }
    }
}
