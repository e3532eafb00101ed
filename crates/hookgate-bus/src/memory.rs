//! glibc's malloc told to keep the memory librdkafka frees after every batch.
//!
//! For each ProduceRequest, librdkafka's broker thread allocates about 150 KiB for LZ4 (a
//! 64 KiB staging block, a 16 KiB compression state, an output bound of 64 KiB and more)
//! and frees it again once the request is written. Each of those allocations is below
//! glibc's mmap threshold (128 KiB), so they come from the thread's arena; freeing them
//! leaves more than the trim threshold (128 KiB as well) free at the arena's top, which
//! glibc hands back to the kernel with `madvise(MADV_DONTNEED)`. The next batch faults
//! the same pages in again, zeroed: about 9,000 page faults a second on the broker thread
//! at 16 connections. glibc raises both thresholds by itself only after an mmapped chunk
//! is freed, which batches of this size never cause.
//!
//! Allocations up to 1 MiB are now served from the arenas and an arena keeps up to 2 MiB
//! free at its top: the relation glibc's own adjustment keeps (trim twice the mmap
//! threshold), set from the start. An operator who tunes glibc's malloc through the
//! environment (`GLIBC_TUNABLES`, `MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`) keeps
//! those settings: nothing is changed then.
#![allow(unsafe_code)]

use std::sync::Once;

/// Allocations of this size or more get pages of their own, returned when freed.
const MMAP_THRESHOLD: i32 = 1024 * 1024;
/// Free memory at an arena's top beyond this is returned to the kernel.
const TRIM_THRESHOLD: i32 = 2 * MMAP_THRESHOLD;

/// The environment variables through which glibc's malloc is tuned by hand.
const OPERATOR_SETTINGS: [&str; 3] = [
    "GLIBC_TUNABLES",
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TRIM_THRESHOLD_",
];

fn tuned_by_operator() -> bool {
    OPERATOR_SETTINGS
        .iter()
        .any(|name| std::env::var_os(name).is_some())
}

/// Sets glibc's thresholds once per process, unless the operator tuned malloc; other
/// allocators are left alone.
pub(crate) fn keep_batch_memory() {
    static SET: Once = Once::new();
    SET.call_once(|| {
        if tuned_by_operator() {
            return;
        }
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: `mallopt` only changes glibc's tuning parameters, under its own lock;
        // it is called with valid parameter numbers and values.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
            libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
        }
    });
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    /// Page faults of the calling thread so far.
    fn thread_page_faults() -> i64 {
        // SAFETY: `getrusage` fills the zeroed struct it is given.
        unsafe {
            let mut usage: libc::rusage = std::mem::zeroed();
            libc::getrusage(libc::RUSAGE_THREAD, &mut usage);
            usage.ru_minflt
        }
    }

    /// The allocations of one LZ4-compressed batch: written to, then freed.
    fn one_batch() {
        let blocks: Vec<Vec<u8>> = [64 * 1024, 16 * 1024, 70 * 1024]
            .into_iter()
            .map(|size| vec![1u8; size])
            .collect();
        std::hint::black_box(&blocks);
    }

    #[test]
    fn a_batch_reuses_the_pages_the_last_one_freed() {
        if tuned_by_operator() {
            return; // the thresholds are the operator's
        }
        keep_batch_memory();
        let faults = std::thread::spawn(|| {
            one_batch();
            let before = thread_page_faults();
            for _ in 0..50 {
                one_batch();
            }
            thread_page_faults() - before
        })
        .join()
        .expect("batch thread");
        // Returned to the kernel after each batch, part of the memory faults in again
        // every time: 300 faults for these 50 batches under glibc's defaults.
        assert!(faults < 50, "{faults} page faults for 50 batches");
    }
}
