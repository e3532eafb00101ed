//! The async runtime every role runs on.

/// Overrides the number of async worker threads (tokio's own variable).
pub const WORKER_THREADS_VAR: &str = "TOKIO_WORKER_THREADS";

/// Async worker threads: one fewer than the cores, at least one, unless
/// `TOKIO_WORKER_THREADS` says otherwise. librdkafka's broker thread, and the kernel's work
/// for every request's packets, need a core of their own: on two cores, one worker took a
/// fifth less CPU per request, and answered a quarter more requests, at 256 connections
/// than two workers that kept waking and preempting each other and the broker thread.
pub fn worker_threads() -> usize {
    if let Some(set) = std::env::var(WORKER_THREADS_VAR)
        .ok()
        .and_then(|value| value.trim().parse::<usize>().ok())
        .filter(|&threads| threads > 0)
    {
        return set;
    }
    std::thread::available_parallelism()
        .map_or(1, |cores| cores.get().saturating_sub(1))
        .max(1)
}

/// The multi-threaded runtime with [`worker_threads`] workers.
pub fn build() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads())
        .enable_all()
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_leaves_a_core_to_librdkafka_and_the_kernel() {
        let runtime = build().expect("runtime");
        assert_eq!(runtime.metrics().num_workers(), worker_threads());
        if std::env::var_os(WORKER_THREADS_VAR).is_none() {
            let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
            assert_eq!(worker_threads(), cores.saturating_sub(1).max(1));
        }
    }
}
