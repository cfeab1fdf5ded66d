//! The ledger of a read: how far it is done in change-time order, for a safe checkpoint.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;

use chrono::{DateTime, TimeDelta, Utc};

use super::{Ctx, Staged, StopResult};

/// Tracks how far the read is done in change-time order, for a checkpoint when a run stops
/// in the middle. Only a source that returns records in non-decreasing change time gives a
/// safe mid-read checkpoint; otherwise the cursor stays where it was.
#[derive(Default, Clone, Copy)]
pub(super) struct Tracker {
    pub(super) last: Option<DateTime<Utc>>,
    pub(super) unordered: bool,
}

impl Tracker {
    pub(super) fn advance(&mut self, m: Option<DateTime<Utc>>) {
        match (m, self.last) {
            (Some(m), Some(l)) if m >= l => self.last = Some(m),
            (Some(m), None) => self.last = Some(m),
            _ => self.unordered = true,
        }
    }

    /// Continues with a run of records whose first changed at `first` and that `run` tracked
    /// from its start: the same as advancing over each of them.
    pub(super) fn absorb(&mut self, first: Option<DateTime<Utc>>, run: &Tracker) {
        self.advance(first);
        self.unordered |= run.unordered;
        if run.last.is_some() {
            self.last = run.last;
        }
    }

    pub(super) fn of(m: Option<DateTime<Utc>>) -> Tracker {
        let mut t = Tracker::default();
        t.advance(m);
        t
    }
}

/// One place in the read order after the leading done records.
pub(super) enum Slot {
    /// A record waiting in the buffer: its sequence number and change time.
    Waiting(usize, Option<DateTime<Utc>>),
    /// Done records (written, unchanged or quarantined): the first one's change time and a
    /// tracker over all of them.
    Done(Option<DateTime<Utc>>, Tracker),
}

/// The read, in read order, as far as a checkpoint needs it: a tracker over the leading done
/// records, then the records waiting in the buffer with runs of done records between them (a
/// record counts as done only once its batch was written or it was quarantined). Its size is
/// bounded by the buffer's.
#[derive(Default)]
pub(super) struct Ledger {
    pub(super) tracker: Tracker,
    pub(super) rest: VecDeque<Slot>,
    pub(super) next: usize,
}

impl Ledger {
    /// Notes a record that waits in the buffer; returns its sequence number.
    pub(super) fn waiting(&mut self, m: Option<DateTime<Utc>>) -> usize {
        let seq = self.next;
        self.next += 1;
        self.rest.push_back(Slot::Waiting(seq, m));
        seq
    }

    /// Marks a waiting record done.
    pub(super) fn done(&mut self, seq: usize) {
        for slot in self.rest.iter_mut() {
            if let Slot::Waiting(s, m) = *slot {
                if s == seq {
                    *slot = Slot::Done(m, Tracker::of(m));
                    break;
                }
            }
        }
    }

    /// Forgets a waiting record that a newer version of it replaces.
    pub(super) fn forget(&mut self, seq: usize) {
        self.rest
            .retain(|s| !matches!(s, Slot::Waiting(x, _) if *x == seq));
        self.settle();
    }

    /// Merges neighbouring done runs, the leading ones into the tracker.
    pub(super) fn settle(&mut self) {
        let mut out: VecDeque<Slot> = VecDeque::with_capacity(self.rest.len());
        for slot in std::mem::take(&mut self.rest) {
            if let Slot::Done(first, run) = &slot {
                match out.back_mut() {
                    None => {
                        self.tracker.absorb(*first, run);
                        continue;
                    }
                    Some(Slot::Done(_, prev)) => {
                        prev.absorb(*first, run);
                        continue;
                    }
                    Some(Slot::Waiting(..)) => {}
                }
            }
            out.push_back(slot);
        }
        self.rest = out;
    }

    /// Whether every record noted is done.
    pub(super) fn all_done(&self) -> bool {
        self.rest.is_empty()
    }
}

/// Staged records waiting for the sink, oldest first, and the ledger of the read.
pub(super) struct Buffer<R> {
    pub(super) items: Vec<Staged<R>>,
    pub(super) ledger: Ledger,
}

impl<R> Default for Buffer<R> {
    fn default() -> Self {
        Buffer {
            items: Vec::new(),
            ledger: Ledger::default(),
        }
    }
}

pub(super) async fn checkpoint(
    ctx: &Ctx<'_>,
    tracker: &Tracker,
    stored: Option<DateTime<Utc>>,
) -> StopResult<Option<DateTime<Utc>>> {
    if ctx.plan || tracker.unordered || ctx.lease_lost.load(Ordering::SeqCst) {
        return Ok(None);
    }
    let Some(last) = tracker.last else {
        return Ok(None);
    };
    // Records with exactly `last` may still be unread (since is exclusive): step back a bit.
    let at = (last - TimeDelta::milliseconds(1)).min(ctx.until);
    if stored.is_some_and(|s| s >= at) {
        return Ok(None);
    }
    ctx.store.set_cursor(&ctx.pair.name, ctx.flow, at).await?;
    Ok(Some(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ledger's tracker equals a tracker fed, in read order, the leading records that are
    /// done, whatever the order records are done or forgotten in.
    #[test]
    fn ledger_tracks_the_done_prefix() {
        let t0 = Utc::now();
        let times = [
            None,
            Some(t0),
            Some(t0 + TimeDelta::seconds(1)),
            Some(t0 + TimeDelta::seconds(2)),
        ];
        let mut rng: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: usize| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng % n as u64) as usize
        };
        for _ in 0..5000 {
            let len = 1 + next(8);
            // mostly ordered change times, sometimes not
            let mut ms: Vec<Option<DateTime<Utc>>> = (0..len).map(|_| times[next(4)]).collect();
            if next(3) > 0 {
                ms.sort();
            }
            let mut ledger = Ledger::default();
            // per record: done (true), waiting (false) or forgotten (None)
            let mut state: Vec<Option<bool>> = Vec::new();
            let mut seqs = Vec::new();
            for m in &ms {
                let seq = ledger.waiting(*m);
                seqs.push(seq);
                if next(2) == 0 {
                    ledger.done(seq);
                    state.push(Some(true));
                } else {
                    state.push(Some(false));
                }
                ledger.settle();
            }
            for _ in 0..len {
                let i = next(len);
                match (state[i], next(4)) {
                    (Some(false), 0) => {
                        ledger.forget(seqs[i]);
                        state[i] = None;
                    }
                    (Some(false), _) => {
                        ledger.done(seqs[i]);
                        state[i] = Some(true);
                    }
                    _ => {}
                }
                if next(2) == 0 {
                    ledger.settle();
                }
                let mut expect = Tracker::default();
                let mut all = true;
                for (m, s) in ms.iter().zip(&state) {
                    match s {
                        Some(true) => expect.advance(*m),
                        None => {}
                        Some(false) => {
                            all = false;
                            break;
                        }
                    }
                }
                let mut copy = Ledger {
                    tracker: ledger.tracker,
                    rest: ledger
                        .rest
                        .iter()
                        .map(|s| match s {
                            Slot::Waiting(a, b) => Slot::Waiting(*a, *b),
                            Slot::Done(a, b) => Slot::Done(*a, *b),
                        })
                        .collect(),
                    next: ledger.next,
                };
                copy.settle();
                let got = copy.tracker;
                assert_eq!(copy.all_done(), all, "{ms:?} {state:?}");
                assert_eq!(got.unordered, expect.unordered, "{ms:?} {state:?}");
                if !expect.unordered {
                    assert_eq!(got.last, expect.last, "{ms:?} {state:?}");
                }
                assert!(copy.rest.len() <= 2 * state.iter().filter(|s| **s == Some(false)).count() + 1);
            }
        }
    }
}
