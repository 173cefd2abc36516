//! State shared by every cloud module and the control API.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use crate::calls::{CallCounters, Outcome};
use crate::config::{Accounts, Provider, Settings};
use crate::faults::{FaultEffect, Faults};
use crate::ratelimit::RateLimiter;
use crate::store::{self, Store};

pub type Shared = Arc<AppState>;

pub struct AppState {
    pub accounts: Accounts,
    store: Mutex<Store>,
    calls: Mutex<CallCounters>,
    faults: Mutex<Faults>,
    limiter: Mutex<RateLimiter>,
    settings: RwLock<Settings>,
    pub state_file: Option<PathBuf>,
    /// Ids left out of batched status listings (fault injection: an eventually consistent
    /// list that omits a live instance; a describe by id still finds it).
    hidden: Mutex<std::collections::HashSet<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AppState {
    pub fn new(
        accounts: Accounts,
        settings: Settings,
        store: Store,
        state_file: Option<PathBuf>,
    ) -> Self {
        AppState {
            accounts,
            store: Mutex::new(store),
            calls: Mutex::new(CallCounters::default()),
            faults: Mutex::new(Faults::default()),
            limiter: Mutex::new(RateLimiter::new()),
            settings: RwLock::new(settings),
            state_file,
            hidden: Mutex::new(Default::default()),
        }
    }

    /// Whether `id` is left out of batched status listings.
    pub fn hidden_from_status(&self, id: &str) -> bool {
        lock(&self.hidden).contains(id)
    }

    pub fn set_hidden_from_status(&self, id: &str, hidden: bool) {
        let mut h = lock(&self.hidden);
        if hidden {
            h.insert(id.to_owned());
        } else {
            h.remove(id);
        }
    }

    /// The instance store. Hold the guard only for synchronous work.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    pub fn calls(&self) -> MutexGuard<'_, CallCounters> {
        lock(&self.calls)
    }

    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.faults)
    }

    pub fn settings(&self) -> Settings {
        self.settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn update_settings<F: FnOnce(&mut Settings)>(&self, f: F) -> Settings {
        let mut s = self.settings.write().unwrap_or_else(|p| p.into_inner());
        f(&mut s);
        s.clone()
    }

    pub fn record_call(&self, provider: Provider, action: &str, outcome: &Outcome) {
        self.calls().record(provider, action, outcome);
    }

    /// Injected faults that apply to this call.
    pub fn fault_effect(&self, provider: Provider, action: &str) -> FaultEffect {
        self.faults().evaluate(provider, action)
    }

    /// Rate limiting: `documented_rate` is the cloud's documented per-second limit for the
    /// action; settings may disable, scale or override it.
    pub fn allow_request(
        &self,
        provider: Provider,
        account: &str,
        action: &str,
        documented_rate: f64,
    ) -> bool {
        let s = self.settings();
        if !s.rate_limit_enabled {
            return true;
        }
        let base = s
            .rate_limit_overrides
            .get(action)
            .copied()
            .unwrap_or(documented_rate);
        let rate = base * s.rate_limit_multiplier;
        lock(&self.limiter).try_acquire(provider, account, action, rate)
    }

    /// Drop all instances, tokens, counters, faults and rate-limit buckets (settings stay).
    pub fn reset(&self) {
        self.store().clear();
        self.calls().clear();
        self.faults().clear();
        lock(&self.limiter).clear();
    }

    /// Save the store to `--state-file` if its generation changed since `last_saved`.
    /// Returns the generation now on disk.
    pub fn save_if_changed(&self, last_saved: u64) -> std::io::Result<u64> {
        let Some(path) = &self.state_file else {
            return Ok(last_saved);
        };
        let (generation, snap) = {
            let s = self.store();
            if s.generation() == last_saved {
                return Ok(last_saved);
            }
            (s.generation(), s.snapshot())
        };
        store::save_snapshot(path, &snap)?;
        Ok(generation)
    }
}
