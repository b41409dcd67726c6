//! A consumer group's offsets: where a group left off (OffsetFetch from
//! its coordinator), and the commits made after each written batch by
//! [`Committer`], a thread of its own fed by the marks the engine reports,
//! so that a commit never waits for a fetch and the last one is made
//! before spate exits. spate commits as a consumer outside the group's
//! membership (generation -1, no member id), which Kafka accepts while the
//! group has no active members.

use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

use super::client::{Conn, KafkaError, c_protocol};
use super::url::KafkaUrl;
use super::wire::{self, Api, code};
use crate::source::mark::PartitionOffset;

/// How long spate waits at exit for the last commit.
const FINAL_COMMIT_WAIT: Duration = Duration::from_secs(15);

/// The group's committed offsets of the partitions `asked` (those it
/// has), by their place in `asked`.
pub(super) fn committed(
    url: &KafkaUrl,
    group: &str,
    asked: &[(&str, i32)],
) -> Result<Vec<(usize, i64)>, KafkaError> {
    let mut c = coordinator(url, group)?;
    let addr = c.addr.clone();
    let got = {
        let mut r = c.call(Api::OffsetFetch, |w, _| {
            wire::offset_fetch_request(w, group, asked)
        })?;
        wire::offset_fetch_response(&mut r).map_err(|e| c_protocol(&addr, e))?
    };
    let mut out = Vec::new();
    for (t, p, err, off) in got {
        if err != code::NONE {
            return Err(KafkaError::Broker {
                broker: addr,
                what: format!("offsets committed by group '{group}' for {t}/{p}"),
                code: err,
            });
        }
        if off >= 0 {
            if let Some(i) = asked.iter().position(|&(at, ap)| at == t && ap == p) {
                out.push((i, off));
            }
        }
    }
    Ok(out)
}

/// A connection to the group's coordinator.
fn coordinator(url: &KafkaUrl, group: &str) -> Result<Conn, KafkaError> {
    let mut last = None;
    for b in &url.brokers {
        let found = Conn::connect(b).and_then(|mut c| {
            let addr = c.addr.clone();
            let mut r = c.call(Api::FindCoordinator, |w, _| {
                wire::find_coordinator_request(w, group)
            })?;
            let (err, msg, at) =
                wire::find_coordinator_response(&mut r).map_err(|e| c_protocol(&addr, e))?;
            if err != code::NONE {
                return Err(KafkaError::Broker {
                    broker: addr,
                    what: format!("finding the coordinator of group '{group}' {msg}")
                        .trim_end()
                        .to_string(),
                    code: err,
                });
            }
            if at == addr {
                Ok(c)
            } else {
                Conn::connect(&at)
            }
        });
        match found {
            Ok(c) => return Ok(c),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| KafkaError::Protocol {
        broker: String::new(),
        what: "no broker given".into(),
    }))
}

/// Commits a group's offsets on its own thread as the engine reports
/// chunks written (see the module's text).
pub struct Committer {
    home: Sender<Vec<PartitionOffset>>,
    close: Sender<()>,
    done: Receiver<()>,
}

impl Committer {
    /// Starts the thread for `url`'s group, if it has one.
    pub fn start(name: &str, url: &KafkaUrl) -> Option<Committer> {
        let group = url.group.clone()?;
        let (home, acks) = crossbeam_channel::unbounded::<Vec<PartitionOffset>>();
        let (close, closed) = crossbeam_channel::bounded::<()>(1);
        let (done_tx, done) = crossbeam_channel::bounded::<()>(1);
        let url = url.clone();
        let thread_name = name.to_string();
        let started = std::thread::Builder::new()
            .name("spate-kafka-commit".into())
            .spawn(move || {
                commit_loop(&thread_name, &url, &group, &acks, &closed);
                let _ = done_tx.send(());
            });
        if let Err(e) = started {
            eprintln!(
                "spate: {name}: cannot start the commit thread ({e}); offsets will not be committed"
            );
            return None;
        }
        Some(Committer { home, close, done })
    }

    /// Where marks report.
    pub fn home(&self) -> Sender<Vec<PartitionOffset>> {
        self.home.clone()
    }

    /// The engine is done: commit what it reported, then stop (waiting
    /// at most [`FINAL_COMMIT_WAIT`]).
    pub fn finish(self) {
        let _ = self.close.send(());
        if self.done.recv_timeout(FINAL_COMMIT_WAIT).is_err() {
            eprintln!("spate: the last Kafka offset commit did not finish in time");
        }
    }
}

fn commit_loop(
    name: &str,
    url: &KafkaUrl,
    group: &str,
    acks: &Receiver<Vec<PartitionOffset>>,
    closed: &Receiver<()>,
) {
    let mut pending: Vec<PartitionOffset> = Vec::new();
    let mut conn: Option<Conn> = None;
    let mut failing = false;
    let merge = |pending: &mut Vec<PartitionOffset>, offsets: Vec<PartitionOffset>| {
        for o in offsets {
            match pending
                .iter_mut()
                .find(|p| p.partition == o.partition && p.topic == o.topic)
            {
                Some(p) => p.next = p.next.max(o.next),
                None => pending.push(o),
            }
        }
    };
    loop {
        let closing = crossbeam_channel::select! {
            recv(acks) -> m => match m {
                Ok(offsets) => { merge(&mut pending, offsets); false }
                Err(_) => true,
            },
            recv(closed) -> _ => true,
        };
        while let Ok(offsets) = acks.try_recv() {
            merge(&mut pending, offsets);
        }
        if !pending.is_empty() {
            match commit(&mut conn, url, group, &pending) {
                Ok(()) => {
                    pending.clear();
                    if failing {
                        eprintln!("spate: {name}: offsets committed to group '{group}' again");
                        failing = false;
                    }
                }
                Err(e) => {
                    conn = None;
                    if !failing || closing {
                        eprintln!(
                            "spate: {name}: committing offsets to group '{group}': {e}{}",
                            if closing {
                                ""
                            } else {
                                "; trying again after the next batch"
                            }
                        );
                    }
                    failing = true;
                }
            }
        }
        if closing {
            return;
        }
    }
}

fn commit(
    conn: &mut Option<Conn>,
    url: &KafkaUrl,
    group: &str,
    offsets: &[PartitionOffset],
) -> Result<(), KafkaError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let res = (|| {
            if conn.is_none() {
                *conn = Some(coordinator(url, group)?);
            }
            let c = conn.as_mut().expect("invariant: connected just above");
            let addr = c.addr.clone();
            let list: Vec<(&str, i32, i64)> = offsets
                .iter()
                .map(|o| (&*o.topic, o.partition, o.next))
                .collect();
            let mut r = c.call(Api::OffsetCommit, |w, _| {
                wire::offset_commit_request(w, group, &list)
            })?;
            for (t, p, err) in
                wire::offset_commit_response(&mut r).map_err(|e| c_protocol(&addr, e))?
            {
                if err != code::NONE {
                    return Err(KafkaError::Broker {
                        broker: addr,
                        what: format!("committing {t}/{p}"),
                        code: err,
                    });
                }
            }
            Ok(())
        })();
        match res {
            Err(e) if attempt < 3 && e.retriable() => {
                *conn = None;
                std::thread::sleep(Duration::from_millis(100 * attempt));
            }
            other => return other,
        }
    }
}
