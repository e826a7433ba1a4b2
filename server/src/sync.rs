//! Locking helpers shared by every module that holds a std mutex, apart from the server state
//! (so a tool runner can lock without depending on the LSP layer).

use std::sync::{Mutex, MutexGuard};

/// Locks a std mutex, recovering the data if a panicking thread poisoned it.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
