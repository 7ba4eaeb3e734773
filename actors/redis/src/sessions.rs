//! Connection state recovery across nodes: the engine's [`SessionStore`]
//! on Redis, so that a client whose connection was lost on one node may
//! come back through any other.
//!
//! The node that parks a socket keeps it as on one node (it still
//! receives every broadcast of the cluster, so it goes on holding what
//! the socket misses) and writes a copy here, in order, from one task:
//!
//! - `<prefix>-session#<pid>`: the session as JSON (socket id, namespace,
//!   user, rooms, data, the oldest offset its client may come back with,
//!   and the uid of the node holding it), `PX` the recovery window, as
//!   Node's redis-streams adapter keeps `sio:session:<pid>`;
//! - `<prefix>-missed#<pid>`: a stream of the packets held for it, one
//!   entry each (`o`: the offset the client got with it, then its frames,
//!   `t` text or `b` binary, in order), appended only while the session
//!   exists, trimmed by `MINID` to the window and expiring with it.
//!
//! A node that does not know a client's `pid` claims the session with one
//! script: it takes both keys, checks the namespace, the user, that the
//! holding node still beats, and that the stream covers the client's
//! offset, moves the user's presence to itself (so that nobody sees them
//! go offline and back) and returns the packets after the offset. The
//! holder is then told on `<prefix>-recovery#<uid>#` (`+<pid>`: recovered
//! elsewhere, `-<pid>`: refused), and lets its copy go.
//!
//! Bounds: the holder's byte budget (past it, the holder ends the session
//! and deletes both keys), the window (the keys expire with it) and
//! `MINID`. A packet broadcast in the instant of a hand-over (between the
//! claim and the new node's index taking the socket, one Redis round trip)
//! may be missed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytestring::ByteString;
use confab_engine::adapter::recovery::{
    Claimed, NotRecovered, Resume, SessionStore, SharedSession,
};
use confab_engine::protocol::engineio::{Frame, Frames};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::link::{Link, LinkError};
use crate::node::Node;
use crate::presence;

/// KEYS: the session, its stream. ARGV: the session's JSON, the window in
/// milliseconds. A session parked again starts a new stream.
const KEEP: &str = r"
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('DEL', KEYS[2])
return 1";

/// KEYS: the session, its stream. ARGV: the `MINID` bound, then the
/// entry's fields. Appends only while the session exists (not claimed, not
/// expired); the stream expires with it.
const APPEND: &str = r"
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then return 0 end
local fields = {}
for i = 2, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('XADD', KEYS[2], 'MINID', '~', ARGV[1], '*', unpack(fields))
redis.call('PEXPIRE', KEYS[2], ttl)
return 1";

/// KEYS: the session, its stream. ARGV: the namespace, the client's
/// offset, the user the middlewares found (`''`: not asked), the node
/// heartbeat key prefix, the presence key prefix, this node's uid, this
/// node's user set. Returns `{status, holder uid, session JSON, entries}`.
const CLAIM: &str = r"
local raw = redis.call('GET', KEYS[1])
if not raw then return {'unknown', '', '', {}} end
redis.call('DEL', KEYS[1])
local entries = redis.call('XRANGE', KEYS[2], '-', '+')
redis.call('DEL', KEYS[2])
local s = cjson.decode(raw)
if s.nsp ~= ARGV[1] then return {'nsp', s.uid, '', {}} end
if ARGV[3] ~= '' and s.user_id ~= ARGV[3] then return {'user', s.uid, '', {}} end
if redis.call('EXISTS', ARGV[4] .. s.uid) == 0 then return {'holder', s.uid, '', {}} end
local found = s.base == ARGV[2]
local missed = {}
for _, entry in ipairs(entries) do
  local fields = entry[2]
  if found then
    missed[#missed + 1] = fields
  elseif fields[2] == ARGV[2] then
    found = true
  end
end
if not found then return {'offset', s.uid, '', {}} end
if s.user_id then
  redis.call('SADD', ARGV[5] .. s.user_id, ARGV[6])
  redis.call('SADD', ARGV[7], s.user_id)
end
return {'ok', s.uid, raw, missed}";

static SCRIPTS: LazyLock<[redis::Script; 3]> =
    LazyLock::new(|| [KEEP, APPEND, CLAIM].map(redis::Script::new));

/// The key and channel names of one prefix.
#[derive(Clone)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    pub(crate) fn new(prefix: &str) -> Keys {
        Keys {
            prefix: prefix.to_owned(),
        }
    }
    fn session(&self, pid: &str) -> String {
        format!("{}-session#{pid}", self.prefix)
    }
    fn missed(&self, pid: &str) -> String {
        format!("{}-missed#{pid}", self.prefix)
    }
    /// Where node `uid` hears of the sessions taken from it.
    pub(crate) fn notices(&self, uid: &str) -> String {
        format!("{}-recovery#{uid}#", self.prefix)
    }
}

/// The session as stored: the engine's, and the node holding it.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Stored {
    uid: String,
    #[serde(flatten)]
    session: SharedSession,
}

/// A write, done in order by the store's task.
enum Job {
    Keep {
        session: Stored,
        held: Vec<(u64, Frames)>,
        window: Duration,
    },
    Hold {
        pid: String,
        offset: u64,
        frames: Frames,
        window: Duration,
    },
    Forget {
        pid: String,
    },
}

/// One node's store. Its writes go through an unbounded queue: what is
/// queued is what parked sockets hold, so the engine's byte budget per
/// socket bounds it.
pub(crate) struct Store {
    node: Arc<Node>,
    keys: Keys,
    jobs: mpsc::UnboundedSender<Job>,
    /// The recovery window in milliseconds, as the engine last said.
    window_ms: AtomicU64,
}

impl Store {
    /// The store of `node`, its writer task started (call in a runtime).
    pub(crate) fn start(node: Arc<Node>, keys: Keys) -> Store {
        let (jobs, queued) = mpsc::unbounded_channel();
        tokio::spawn(write(node.link.clone(), keys.clone(), queued));
        Store {
            node,
            keys,
            jobs,
            window_ms: AtomicU64::new(0),
        }
    }

    fn queue(&self, job: Job) {
        // The task ends only with the runtime.
        let _ = self.jobs.send(job);
    }
}

impl SessionStore for Store {
    fn keep(&self, session: SharedSession, held: Vec<(u64, Frames)>, window: Duration) {
        self.window_ms
            .store(window.as_millis() as u64, Ordering::Relaxed);
        let session = Stored {
            uid: self.node.uid.clone(),
            session,
        };
        self.queue(Job::Keep {
            session,
            held,
            window,
        });
    }

    fn hold(&self, pid: &str, offset: u64, frames: &Frames) {
        self.queue(Job::Hold {
            pid: pid.to_owned(),
            offset,
            frames: frames.clone(),
            window: Duration::from_millis(self.window_ms.load(Ordering::Relaxed)),
        });
    }

    fn forget(&self, pid: &str) {
        self.queue(Job::Forget {
            pid: pid.to_owned(),
        });
    }

    fn claim(
        &self,
        nsp: &str,
        resume: &Resume,
        user: Option<&str>,
    ) -> BoxFuture<'static, Result<Claimed, NotRecovered>> {
        let (node, keys) = (self.node.clone(), self.keys.clone());
        let (nsp, resume, user) = (nsp.to_owned(), resume.clone(), user.map(str::to_owned));
        Box::pin(async move {
            let claimed = claim(&node, &keys, &nsp, &resume, user.as_deref()).await;
            if let Err(error) = &claimed {
                tracing::debug!(%error, pid = resume.pid, "a session not claimed from the cluster");
            }
            claimed
        })
    }
}

/// A claim refused by the script, or its answer.
async fn claim(
    node: &Node,
    keys: &Keys,
    nsp: &str,
    resume: &Resume,
    user: Option<&str>,
) -> Result<Claimed, NotRecovered> {
    let presence = presence::Keys {
        prefix: keys.prefix.clone(),
    };
    let script_keys = [keys.session(&resume.pid), keys.missed(&resume.pid)];
    let args = [
        nsp.to_owned(),
        resume.offset.clone(),
        user.unwrap_or_default().to_owned(),
        presence.node(""),
        presence.user_prefix(),
        node.uid.clone(),
        presence.node_users(&node.uid),
    ];
    type Answer = (String, String, Vec<u8>, Vec<Vec<Vec<u8>>>);
    let (status, holder, raw, entries): Answer = node
        .link
        .script(&SCRIPTS[2], &script_keys, &args)
        .await
        .map_err(|e| NotRecovered::Store(e.to_string()))?;
    let refused = match status.as_str() {
        "ok" => None,
        "unknown" => return Err(NotRecovered::Unknown),
        "nsp" => Some(NotRecovered::OtherNamespace),
        "user" => Some(NotRecovered::OtherUser),
        "holder" => Some(NotRecovered::HolderGone),
        _ => Some(NotRecovered::Offset {
            got: resume.offset.clone(),
        }),
    };
    let notice = |sign: char| {
        let channel = keys.notices(&holder);
        node.publish(channel, format!("{sign}{}", resume.pid).into_bytes());
    };
    if let Some(why) = refused {
        notice('-');
        return Err(why);
    }
    // Taken: whatever follows, the holder lets it go (a malformed copy is
    // not recovered here either).
    notice('+');
    let stored: Stored =
        serde_json::from_slice(&raw).map_err(|e| NotRecovered::Store(e.to_string()))?;
    let mut last = parse(&resume.offset)?;
    let mut missed = Vec::with_capacity(entries.len());
    for fields in entries {
        let (offset, frames) = decode(fields)?;
        last = offset;
        missed.push(frames);
    }
    Ok(Claimed {
        session: stored.session,
        missed,
        last,
    })
}

fn parse(offset: &str) -> Result<u64, NotRecovered> {
    offset.parse().map_err(|_| NotRecovered::Offset {
        got: offset.to_owned(),
    })
}

/// A stream entry's fields: `o` and its offset, then `t`/`b` and a frame.
fn encode(offset: u64, frames: &Frames) -> Vec<Vec<u8>> {
    let mut fields = vec![b"o".to_vec(), offset.to_string().into_bytes()];
    for frame in frames.iter() {
        let (kind, bytes): (&[u8], &[u8]) = match frame {
            Frame::Text(text) => (b"t", text.as_bytes()),
            Frame::Binary(data) => (b"b", data),
        };
        fields.push(kind.to_vec());
        fields.push(bytes.to_vec());
    }
    fields
}

fn decode(fields: Vec<Vec<u8>>) -> Result<(u64, Frames), NotRecovered> {
    let malformed = || NotRecovered::Store("a malformed missed packet".into());
    let mut pairs = fields.chunks_exact(2);
    let offset = match pairs.next() {
        Some([o, offset]) if o == b"o" => {
            parse(std::str::from_utf8(offset).map_err(|_| malformed())?)?
        }
        _ => return Err(malformed()),
    };
    let frames = pairs
        .map(|pair| match pair {
            [kind, bytes] if kind == b"t" => String::from_utf8(bytes.clone())
                .map(|text| Frame::Text(ByteString::from(text)))
                .map_err(|_| malformed()),
            [kind, bytes] if kind == b"b" => Ok(Frame::Binary(bytes.clone().into())),
            _ => Err(malformed()),
        })
        .collect::<Result<Vec<Frame>, NotRecovered>>()?;
    Ok((offset, frames.into()))
}

/// The writer task: each job in order, until the store is dropped.
async fn write(link: Link, keys: Keys, mut jobs: mpsc::UnboundedReceiver<Job>) {
    while let Some(job) = jobs.recv().await {
        let pid = match &job {
            Job::Keep { session, .. } => session.session.pid.clone(),
            Job::Hold { pid, .. } | Job::Forget { pid } => pid.clone(),
        };
        if let Err(error) = apply(&link, &keys, job).await {
            // Its copy may now lack a packet: it is not recovered elsewhere.
            tracing::warn!(%error, pid, "recovery: a parked session not written to redis");
            let _ = forget(&link, &keys, &pid).await;
        }
    }
}

async fn apply(link: &Link, keys: &Keys, job: Job) -> Result<(), LinkError> {
    match job {
        Job::Keep {
            session,
            held,
            window,
        } => {
            let pid = session.session.pid.clone();
            let json = serde_json::to_string(&session).unwrap_or_default();
            let args = [json, window.as_millis().to_string()];
            let script_keys = [keys.session(&pid), keys.missed(&pid)];
            link.script::<i64>(&SCRIPTS[0], &script_keys, &args).await?;
            for (offset, frames) in held {
                append(link, keys, &pid, offset, &frames, window).await?;
            }
            Ok(())
        }
        Job::Hold {
            pid,
            offset,
            frames,
            window,
        } => append(link, keys, &pid, offset, &frames, window).await,
        Job::Forget { pid } => forget(link, keys, &pid).await,
    }
}

/// Appends one held packet; what is older than `window` is trimmed.
async fn append(
    link: &Link,
    keys: &Keys,
    pid: &str,
    offset: u64,
    frames: &Frames,
    window: Duration,
) -> Result<(), LinkError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let minid = now.saturating_sub(window).as_millis();
    let mut args = vec![format!("{minid}-0").into_bytes()];
    args.extend(encode(offset, frames));
    let script_keys = [keys.session(pid), keys.missed(pid)];
    link.script::<i64>(&SCRIPTS[1], &script_keys, &args).await?;
    Ok(())
}

async fn forget(link: &Link, keys: &Keys, pid: &str) -> Result<(), LinkError> {
    let mut del = redis::cmd("DEL");
    del.arg(keys.session(pid)).arg(keys.missed(pid));
    link.query::<i64>(del).await?;
    Ok(())
}

/// A notice on this node's channel: a session it parked was taken.
pub(crate) fn on_notice(node: &Node, payload: &[u8]) {
    let Ok(text) = std::str::from_utf8(payload) else {
        return;
    };
    let (recovered, pid) = match text.split_at_checked(1) {
        Some(("+", pid)) => (true, pid),
        Some(("-", pid)) => (false, pid),
        _ => return tracing::debug!(text, "a malformed recovery notice"),
    };
    node.io.handed_over(pid, recovered);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packet_goes_through_its_stream_fields_unchanged() {
        let frames: Frames = vec![
            Frame::Text(ByteString::from(
                "451-[\"e\",{\"_placeholder\":true,\"num\":0},\"7\"]",
            )),
            Frame::Binary(vec![0, 159, 255].into()),
        ]
        .into();
        let fields = encode(7, &frames);
        assert_eq!(fields[0], b"o");
        assert_eq!(decode(fields).unwrap(), (7, frames));
    }

    #[test]
    fn malformed_entries_are_refused_not_guessed() {
        let bad = |fields: Vec<&[u8]>| decode(fields.into_iter().map(<[u8]>::to_vec).collect());
        assert!(bad(vec![b"t", b"x"]).is_err(), "no offset first");
        assert!(bad(vec![b"o", b"x"]).is_err(), "offset not a number");
        assert!(
            bad(vec![b"o", b"1", b"z", b"x"]).is_err(),
            "unknown frame kind"
        );
        assert!(
            bad(vec![b"o", b"1", b"t", &[0xff]]).is_err(),
            "text not UTF-8"
        );
    }

    #[test]
    fn the_stored_session_names_its_holder_beside_the_engine_fields() {
        let stored = Stored {
            uid: "node1".into(),
            session: SharedSession {
                pid: "p".into(),
                nsp: "/".into(),
                sid: "s".into(),
                user_id: None,
                rooms: vec!["r".into()],
                data: Default::default(),
                base: "3".into(),
            },
        };
        let json = serde_json::to_value(&stored).unwrap();
        assert_eq!(json["uid"], "node1");
        assert_eq!(json["nsp"], "/");
        assert!(json.get("user_id").is_none(), "absent, so Lua sees nil");
        assert_eq!(serde_json::from_value::<Stored>(json).unwrap(), stored);
    }
}
