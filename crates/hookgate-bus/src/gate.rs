//! The batches of records at the broker, formed by whoever waited for them.
//!
//! librdkafka batches by time (`linger.ms`) or sends what it has at once. A linger adds
//! its whole wait to every request when the load is light (librdkafka waits in whole
//! milliseconds); with none, every record would leave in a request of its own. The gate
//! forms the batches instead: a record passes while no batch is waiting for its answer;
//! after that, records wait in line, and the whole line is handed over at once, in one
//! tight loop, by the first request of that batch to learn that it was answered. So a
//! batch leaves the moment the previous one is answered, not after every request of it
//! has written its response; batches grow with the load, and a lone request waits for
//! nobody. Under heavy load a line that reaches its longest goes at once, beside the
//! batch already out, so the broker is not left idle between batches.

use std::{collections::VecDeque, sync::Mutex};

pub(crate) struct Gate<J> {
    state: Mutex<State<J>>,
    /// A line this long goes at once, beside the batch outstanding.
    longest_line: usize,
}

struct State<J> {
    /// The batch let through or handed over last.
    latest: u64,
    /// Whether a job of the latest batch has settled: its answer has come.
    latest_answered: bool,
    line: VecDeque<(u64, J)>,
    next_place: u64,
}

/// Jobs handed over together, as batch `number`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Batch<J> {
    pub(crate) number: u64,
    pub(crate) jobs: Vec<J>,
}

/// What `enter` decided.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Entry<J, T> {
    /// No batch was waiting for its answer: go now, as this batch of one, with the item
    /// given back.
    Pass(u64, T),
    /// Waiting in line at this place, to be handed over by `settle`.
    Queued(u64),
    /// Waiting at this place in a line that has just reached its longest: the caller
    /// hands the whole line over (its own job included).
    Leads(u64, Batch<J>),
}

impl<J> Gate<J> {
    pub(crate) fn new(longest_line: usize) -> Self {
        Self {
            state: Mutex::new(State {
                latest: 0,
                latest_answered: true,
                line: VecDeque::new(),
                next_place: 0,
            }),
            longest_line: longest_line.max(1),
        }
    }

    /// Lets `item` through when no batch is waiting for its answer; otherwise puts the
    /// job `waiting` makes of it in line (it is made only then).
    pub(crate) fn enter<T>(&self, item: T, waiting: impl FnOnce(T) -> J) -> Entry<J, T> {
        let mut state = self.lock();
        if state.latest_answered {
            state.latest += 1;
            state.latest_answered = false;
            return Entry::Pass(state.latest, item);
        }
        let place = state.next_place;
        state.next_place += 1;
        state.line.push_back((place, waiting(item)));
        if state.line.len() < self.longest_line {
            return Entry::Queued(place);
        }
        Entry::Leads(place, state.take_line())
    }

    /// Takes a job back out of line; `None` once it has been handed over.
    pub(crate) fn withdraw(&self, place: u64) -> Option<J> {
        let mut state = self.lock();
        let index = state.line.iter().position(|(p, _)| *p == place)?;
        state.line.remove(index).map(|(_, job)| job)
    }

    /// Settles a job of batch `batch`. The first of the latest batch to settle means the
    /// batch was answered: the whole line goes, returned for the caller to hand over.
    #[must_use = "the returned jobs go to nobody else"]
    pub(crate) fn settle(&self, batch: u64) -> Option<Batch<J>> {
        let mut state = self.lock();
        if batch != state.latest || state.latest_answered {
            return None;
        }
        state.latest_answered = true;
        if state.line.is_empty() {
            return None;
        }
        Some(state.take_line())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<J>> {
        match self.state.lock() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

impl<J> State<J> {
    /// Empties the line into the next batch, which is now the latest.
    fn take_line(&mut self) -> Batch<J> {
        self.latest += 1;
        self.latest_answered = false;
        Batch {
            number: self.latest,
            jobs: self.line.drain(..).map(|(_, job)| job).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch<J>(number: u64, jobs: Vec<J>) -> Option<Batch<J>> {
        Some(Batch { number, jobs })
    }

    #[test]
    fn a_lone_job_passes_and_later_ones_wait_for_its_answer() {
        let gate = Gate::new(usize::MAX);
        assert_eq!(gate.enter((), |()| "first"), Entry::Pass(1, ()));
        assert_eq!(gate.enter((), |()| "second"), Entry::Queued(0));
        assert_eq!(gate.enter((), |()| "third"), Entry::Queued(1));
        assert_eq!(
            gate.settle(1),
            batch(2, vec!["second", "third"]),
            "the whole line goes at once"
        );
        assert_eq!(
            gate.enter((), |()| "fourth"),
            Entry::Queued(2),
            "batch 2 is out"
        );
        assert_eq!(gate.settle(2), batch(3, vec!["fourth"]));
        assert_eq!(gate.settle(2), None, "batch 2 was answered already");
        assert_eq!(gate.settle(3), None, "nobody waits");
        assert_eq!(
            gate.enter((), |()| "fifth"),
            Entry::Pass(4, ()),
            "no batch out: open"
        );
    }

    #[test]
    fn the_line_goes_when_the_latest_batch_is_answered_not_an_older_one() {
        let gate = Gate::new(usize::MAX);
        assert_eq!(gate.enter((), |()| 'a'), Entry::Pass(1, ()));
        assert_eq!(gate.enter((), |()| 'b'), Entry::Queued(0));
        assert_eq!(gate.settle(1), batch(2, vec!['b']));
        assert_eq!(gate.enter((), |()| 'c'), Entry::Queued(1));
        assert_eq!(gate.settle(1), None, "batch 1 is not the latest");
        assert_eq!(gate.settle(2), batch(3, vec!['c']));
    }

    #[test]
    fn a_line_at_its_longest_goes_beside_the_outstanding_batch() {
        let gate = Gate::new(3);
        assert_eq!(gate.enter((), |()| 'a'), Entry::Pass(1, ()));
        assert_eq!(gate.enter((), |()| 'b'), Entry::Queued(0));
        assert_eq!(gate.enter((), |()| 'c'), Entry::Queued(1));
        assert_eq!(
            gate.enter((), |()| 'd'),
            Entry::Leads(
                2,
                Batch {
                    number: 2,
                    jobs: vec!['b', 'c', 'd']
                }
            ),
            "the third in line takes the line"
        );
        assert_eq!(gate.enter((), |()| 'e'), Entry::Queued(3), "batch 2 is out");
        assert_eq!(gate.settle(1), None, "batch 1 is not the latest");
        assert_eq!(gate.settle(2), batch(3, vec!['e']));
        assert_eq!(gate.settle(3), None);
        assert_eq!(gate.enter((), |()| 'f'), Entry::Pass(4, ()));
    }

    #[test]
    fn a_job_is_made_only_when_it_must_wait() {
        let gate: Gate<&str> = Gate::new(usize::MAX);
        assert_eq!(
            gate.enter((), |()| panic!("made for a job that passes")),
            Entry::Pass(1, ())
        );
    }

    #[test]
    fn a_withdrawn_job_is_never_handed_over() {
        let gate = Gate::new(usize::MAX);
        assert_eq!(gate.enter((), |()| 'a'), Entry::Pass(1, ()));
        let Entry::Queued(b) = gate.enter((), |()| 'b') else {
            panic!("b should wait")
        };
        assert_eq!(gate.enter((), |()| 'c'), Entry::Queued(b + 1));
        assert_eq!(gate.withdraw(b), Some('b'));
        assert_eq!(gate.withdraw(b), None, "withdrawn once");
        assert_eq!(gate.settle(1), batch(2, vec!['c']));
        assert_eq!(gate.withdraw(b + 1), None, "c was handed over");
        assert_eq!(gate.settle(2), None);
        assert_eq!(gate.enter((), |()| 'd'), Entry::Pass(3, ()));
    }

    #[test]
    fn an_emptied_line_leaves_the_gate_open() {
        let gate = Gate::new(usize::MAX);
        assert_eq!(gate.enter((), |()| 1), Entry::Pass(1, ()));
        let Entry::Queued(place) = gate.enter((), |()| 2) else {
            panic!("2 should wait")
        };
        assert_eq!(gate.withdraw(place), Some(2));
        assert_eq!(gate.settle(1), None);
        assert_eq!(gate.enter((), |()| 3), Entry::Pass(2, ()));
    }
}
