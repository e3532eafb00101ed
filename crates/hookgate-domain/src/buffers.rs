//! Record buffers kept for the next record, on the thread that let them go.
//!
//! A record's value is about as large as the request's body, usually a kilobyte or more.
//! glibc serves such sizes outside its per-thread cache, and first merges its small free
//! chunks on every such allocation: at 256 connections that was about 4 % of the async
//! worker. Under a steady load the same buffers now go round between the records being
//! built and the records whose delivery reports have come back.

use std::cell::RefCell;

/// Buffers kept per thread. A record's buffer comes back with its delivery report, so
/// about as many as there are records in flight under a heavy load.
const KEPT: usize = 256;
/// Larger buffers go back to the allocator, so one huge body does not stay resident.
const LARGEST_KEPT: usize = 16 * 1024;

thread_local! {
    static SPARE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// An empty buffer with room for at least `capacity` bytes, reused when one is spare.
pub(crate) fn take(capacity: usize) -> Vec<u8> {
    let spare = SPARE
        .try_with(|spare| spare.try_borrow_mut().ok()?.pop())
        .ok()
        .flatten();
    match spare {
        Some(mut buffer) => {
            buffer.reserve(capacity);
            buffer
        }
        None => Vec::with_capacity(capacity),
    }
}

/// Keeps `buffer` for a later [`take`] on this thread, unless enough are kept already.
pub(crate) fn give_back(mut buffer: Vec<u8>) {
    if buffer.capacity() == 0 || buffer.capacity() > LARGEST_KEPT {
        return;
    }
    buffer.clear();
    // A thread that is exiting has no pool left; the buffer is simply freed.
    let _ = SPARE.try_with(|spare| {
        if let Ok(mut spare) = spare.try_borrow_mut() {
            if spare.len() < KEPT {
                spare.push(buffer);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept() -> usize {
        SPARE.with(|spare| spare.borrow().len())
    }

    #[test]
    fn a_buffer_given_back_is_the_next_one_taken() {
        let buffer = take(1500);
        let address = buffer.as_ptr();
        give_back(buffer);
        let decoy = Vec::<u8>::with_capacity(1500);
        let again = take(1000);
        drop(decoy);
        assert_eq!(again.as_ptr(), address, "the same allocation, reused");
        assert!(again.is_empty());
        assert!(again.capacity() >= 1500);
        let grown = {
            give_back(again);
            take(4000)
        };
        assert!(grown.capacity() >= 4000, "a spare too small is grown");
    }

    #[test]
    fn large_buffers_and_buffers_beyond_the_count_are_freed() {
        give_back(Vec::with_capacity(LARGEST_KEPT + 1));
        assert_eq!(kept(), 0, "a buffer over the largest kept size is not kept");
        for _ in 0..KEPT + 10 {
            give_back(Vec::with_capacity(64));
        }
        assert_eq!(kept(), KEPT);
        give_back(Vec::new());
        assert_eq!(kept(), KEPT);
    }
}
