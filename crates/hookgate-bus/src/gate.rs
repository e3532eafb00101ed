//! The batches of records at the broker, formed by whoever waited for them.
//!
//! librdkafka batches by time (`linger.ms`) or sends what it has at once. A linger adds
//! its whole wait to every request when the load is light (librdkafka waits in whole
//! milliseconds); with none, every record would leave in a request of its own. The gate
//! forms the batches instead: a record passes while nothing is outstanding; after that,
//! records wait in line until every outstanding one is settled, and then the whole line
//! is handed over at once, by whoever settled the last one, in one tight loop. librdkafka,
//! with no linger, sends it the moment the previous batch is answered, batches grow with
//! the load, and a lone request waits for nobody. Under heavy load a line that reaches
//! its longest goes at once, beside the batch already out, so the broker is not left
//! idle while each batch is answered and the next handed over.

use std::{collections::VecDeque, sync::Mutex};

pub(crate) struct Gate<J> {
    state: Mutex<State<J>>,
    /// A line this long goes at once, beside the batch outstanding: under heavy load one
    /// batch at a time would leave the broker idle while the next one is handed over.
    longest_line: usize,
}

struct State<J> {
    /// Jobs let through and not yet settled.
    outstanding: usize,
    line: VecDeque<(u64, J)>,
    next_place: u64,
}

/// What `enter` decided.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Entry<J> {
    /// Nothing was outstanding: go now (the job counts as outstanding).
    Pass,
    /// Waiting in line at this place, to be handed over by `settle`.
    Queued(u64),
    /// Waiting at this place in a line that has just reached its longest: the caller
    /// hands the whole line over (these jobs, its own included, now outstanding).
    Leads(u64, Vec<J>),
}

impl<J> Gate<J> {
    pub(crate) fn new(longest_line: usize) -> Self {
        Self {
            state: Mutex::new(State {
                outstanding: 0,
                line: VecDeque::new(),
                next_place: 0,
            }),
            longest_line: longest_line.max(1),
        }
    }

    /// Lets a job through when nothing is outstanding; otherwise puts the job `waiting`
    /// makes in line (it is made only then).
    pub(crate) fn enter(&self, waiting: impl FnOnce() -> J) -> Entry<J> {
        let mut state = self.lock();
        if state.outstanding == 0 {
            state.outstanding += 1;
            return Entry::Pass;
        }
        let place = state.next_place;
        state.next_place += 1;
        state.line.push_back((place, waiting()));
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

    /// Settles one outstanding job. When none is left, the whole line goes: it is
    /// returned, each job now outstanding, for the caller to hand over.
    #[must_use = "the returned jobs are outstanding until handed over and settled"]
    pub(crate) fn settle(&self) -> Vec<J> {
        let mut state = self.lock();
        state.outstanding = state.outstanding.saturating_sub(1);
        if state.outstanding > 0 || state.line.is_empty() {
            return Vec::new();
        }
        state.take_line()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<J>> {
        match self.state.lock() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

impl<J> State<J> {
    /// Empties the line; its jobs are outstanding from now on.
    fn take_line(&mut self) -> Vec<J> {
        self.outstanding += self.line.len();
        self.line.drain(..).map(|(_, job)| job).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_job_passes_and_later_ones_wait_for_it() {
        let gate = Gate::new(usize::MAX);
        assert_eq!(gate.enter(|| "first"), Entry::Pass);
        assert_eq!(gate.enter(|| "second"), Entry::Queued(0));
        assert_eq!(gate.enter(|| "third"), Entry::Queued(1));
        assert_eq!(
            gate.settle(),
            vec!["second", "third"],
            "the whole line goes at once"
        );
        assert_eq!(
            gate.enter(|| "fourth"),
            Entry::Queued(2),
            "two are outstanding"
        );
        assert!(gate.settle().is_empty(), "one is still outstanding");
        assert_eq!(gate.settle(), vec!["fourth"]);
        assert!(gate.settle().is_empty());
        assert_eq!(
            gate.enter(|| "fifth"),
            Entry::Pass,
            "nothing outstanding: open"
        );
    }

    #[test]
    fn a_line_at_its_longest_goes_beside_the_outstanding_batch() {
        let gate = Gate::new(3);
        assert_eq!(gate.enter(|| 'a'), Entry::Pass);
        assert_eq!(gate.enter(|| 'b'), Entry::Queued(0));
        assert_eq!(gate.enter(|| 'c'), Entry::Queued(1));
        assert_eq!(
            gate.enter(|| 'd'),
            Entry::Leads(2, vec!['b', 'c', 'd']),
            "the third in line takes the line"
        );
        assert_eq!(gate.enter(|| 'e'), Entry::Queued(3), "four are outstanding");
        for _ in 0..3 {
            assert!(gate.settle().is_empty());
        }
        assert_eq!(gate.settle(), vec!['e'], "the last outstanding one settled");
        assert!(gate.settle().is_empty());
        assert_eq!(gate.enter(|| 'f'), Entry::Pass);
    }

    #[test]
    fn a_job_is_made_only_when_it_must_wait() {
        let gate: Gate<&str> = Gate::new(usize::MAX);
        assert_eq!(
            gate.enter(|| panic!("made for a job that passes")),
            Entry::Pass
        );
    }

    #[test]
    fn a_withdrawn_job_is_never_handed_over() {
        let gate = Gate::new(usize::MAX);
        assert_eq!(gate.enter(|| 'a'), Entry::Pass);
        let Entry::Queued(b) = gate.enter(|| 'b') else {
            panic!("b should wait")
        };
        assert_eq!(gate.enter(|| 'c'), Entry::Queued(b + 1));
        assert_eq!(gate.withdraw(b), Some('b'));
        assert_eq!(gate.withdraw(b), None, "withdrawn once");
        assert_eq!(gate.settle(), vec!['c']);
        assert_eq!(gate.withdraw(b + 1), None, "c was handed over");
        assert!(gate.settle().is_empty());
        assert_eq!(gate.enter(|| 'd'), Entry::Pass);
    }

    #[test]
    fn an_emptied_line_leaves_the_gate_open() {
        let gate = Gate::new(usize::MAX);
        assert_eq!(gate.enter(|| 1), Entry::Pass);
        let Entry::Queued(place) = gate.enter(|| 2) else {
            panic!("2 should wait")
        };
        assert_eq!(gate.withdraw(place), Some(2));
        assert!(gate.settle().is_empty());
        assert_eq!(gate.enter(|| 3), Entry::Pass);
    }
}
