//! Work on many files with every core, results handed back in input order:
//! decoding a folder is as fast as the cores allow while its output reads
//! as if one thread had written it.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Condvar, Mutex};

/// Results a worker may run ahead of the one being emitted, per thread:
/// bounds memory whatever the input's size.
const AHEAD_PER_THREAD: usize = 32;

/// Runs `work` on every item on `threads` threads and gives each result to
/// `emit` in the items' order. `emit` may stop early with `ControlFlow::Break`
/// (e.g. the reader of the output went away); the workers then stop too.
///
/// ```
/// use alertstream::decode::parallel::map_ordered;
/// use std::ops::ControlFlow;
///
/// let mut squares = Vec::new();
/// map_ordered(&[1, 2, 3, 4, 5], 2, |n| n * n, |sq| {
///     squares.push(sq);
///     ControlFlow::Continue(())
/// });
/// assert_eq!(squares, [1, 4, 9, 16, 25]);
/// ```
pub fn map_ordered<I, T>(
    items: &[I],
    threads: usize,
    work: impl Fn(&I) -> T + Sync,
    emit: impl FnMut(T) -> ControlFlow<()>,
) where
    I: Sync,
    T: Send,
{
    map_ordered_ahead(items, threads, AHEAD_PER_THREAD, work, emit)
}

/// [`map_ordered`] with at most `ahead_per_thread` results per thread
/// waiting to be emitted: small for large results (record batches).
pub fn map_ordered_ahead<I, T>(
    items: &[I],
    threads: usize,
    ahead_per_thread: usize,
    work: impl Fn(&I) -> T + Sync,
    mut emit: impl FnMut(T) -> ControlFlow<()>,
) where
    I: Sync,
    T: Send,
{
    let threads = threads.clamp(1, items.len().max(1));
    let ahead = threads * ahead_per_thread.max(1);
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    // How many results were emitted, and a wake-up for workers that ran ahead.
    let emitted = (Mutex::new(0usize), Condvar::new());
    let (results, received) = mpsc::channel::<(usize, T)>();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let results = results.clone();
            let (next, stop, emitted, work) = (&next, &stop, &emitted, &work);
            scope.spawn(move || loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= items.len() || !wait_for_room(emitted, index, ahead, stop) {
                    return;
                }
                if results.send((index, work(&items[index]))).is_err() {
                    return;
                }
            });
        }
        drop(results);
        let mut pending = BTreeMap::new();
        let mut due = 0;
        for (index, result) in received.iter() {
            pending.insert(index, result);
            while let Some(result) = pending.remove(&due) {
                due += 1;
                *emitted.0.lock().unwrap_or_else(|e| e.into_inner()) = due;
                emitted.1.notify_all();
                if emit(result).is_break() {
                    stop.store(true, Ordering::Relaxed);
                    emitted.1.notify_all();
                    return;
                }
            }
        }
    });
}

/// Waits until `index` is within `ahead` of the next result to emit;
/// false when asked to stop.
fn wait_for_room(
    emitted: &(Mutex<usize>, Condvar),
    index: usize,
    ahead: usize,
    stop: &AtomicBool,
) -> bool {
    let mut done = emitted.0.lock().unwrap_or_else(|e| e.into_inner());
    while index >= *done + ahead && !stop.load(Ordering::Relaxed) {
        done = emitted.1.wait(done).unwrap_or_else(|e| e.into_inner());
    }
    !stop.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_order_whatever_the_work_time() {
        let items: Vec<u64> = (0..500).collect();
        let mut out = Vec::new();
        map_ordered(
            &items,
            4,
            |&n| {
                // Uneven work: later items often finish first.
                std::thread::sleep(std::time::Duration::from_micros((n * 7919) % 300));
                n * 2
            },
            |r| {
                out.push(r);
                ControlFlow::Continue(())
            },
        );
        assert_eq!(out, items.iter().map(|n| n * 2).collect::<Vec<_>>());
    }

    #[test]
    fn a_break_stops_the_workers_early() {
        let items: Vec<u64> = (0..100_000).collect();
        let done = AtomicUsize::new(0);
        let mut seen = 0;
        map_ordered(
            &items,
            2,
            |&n| {
                done.fetch_add(1, Ordering::Relaxed);
                n
            },
            |_| {
                seen += 1;
                if seen == 10 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        );
        assert_eq!(seen, 10);
        assert!(done.load(Ordering::Relaxed) < 1000, "workers ran on");
    }
}
