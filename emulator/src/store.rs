//! Cloud-neutral instance store shared by every cloud module.
//!
//! Instance states are computed lazily: every instance carries a *schedule* of phases with
//! absolute end times (`[(STOPPING, until t), (STOPPED, forever)]`), and the state at a
//! given moment is the first phase that has not ended yet. No timers run per instance, so
//! thousands of instances cost nothing while idle.

use std::collections::HashMap;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::Provider;

/// Wall-clock time in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Random lowercase alphanumeric string (instance ids, disk ids, ...).
pub fn random_alnum(len: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}

/// Random RFC 4122 version 4 UUID (request ids, instance UUIDs).
pub fn new_uuid() -> String {
    uuid_v4(rand::rng().random())
}

/// `b` as a version 4 UUID (version nibble 4, variant bits `10`), lowercase and hyphenated:
/// random bytes for [`new_uuid`], a digest for stable ids.
pub fn uuid_v4(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Cloud-neutral lifecycle state. Each cloud module renders it under its own name
/// (Tencent: `RUNNING`, `SHUTDOWN`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VmState {
    Pending,
    LaunchFailed,
    Running,
    Stopping,
    Stopped,
    Starting,
    Rebooting,
    /// Operating system reinstall in progress.
    Resetting,
    Terminating,
    /// Terminated but still visible (Tencent `SHUTDOWN`), removed when the phase ends.
    Terminated,
    /// Removed: never returned by any API.
    Gone,
}

impl VmState {
    pub fn as_str(self) -> &'static str {
        match self {
            VmState::Pending => "pending",
            VmState::LaunchFailed => "launch_failed",
            VmState::Running => "running",
            VmState::Stopping => "stopping",
            VmState::Stopped => "stopped",
            VmState::Starting => "starting",
            VmState::Rebooting => "rebooting",
            VmState::Resetting => "resetting",
            VmState::Terminating => "terminating",
            VmState::Terminated => "terminated",
            VmState::Gone => "gone",
        }
    }

    /// States that end by themselves (a transition is in progress).
    pub fn is_transitional(self) -> bool {
        matches!(
            self,
            VmState::Pending
                | VmState::Stopping
                | VmState::Starting
                | VmState::Rebooting
                | VmState::Resetting
                | VmState::Terminating
        )
    }

    pub fn parse(s: &str) -> Option<VmState> {
        Some(match s.to_ascii_lowercase().as_str() {
            "pending" => VmState::Pending,
            "launch_failed" => VmState::LaunchFailed,
            "running" => VmState::Running,
            "stopping" => VmState::Stopping,
            "stopped" => VmState::Stopped,
            "starting" => VmState::Starting,
            "rebooting" => VmState::Rebooting,
            "resetting" => VmState::Resetting,
            "terminating" => VmState::Terminating,
            "terminated" | "shutdown" => VmState::Terminated,
            _ => return None,
        })
    }
}

/// One step of an instance's schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phase {
    pub state: VmState,
    /// Absolute end (ms since epoch); `None` means the phase lasts until the next operation.
    pub until_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disk {
    pub disk_type: String,
    pub size_gb: u64,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub delete_with_instance: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// The latest asynchronous operation on an instance (Tencent `LatestOperation*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    pub action: String,
    pub request_id: String,
    pub started_ms: i64,
    pub done_ms: i64,
    #[serde(default)]
    pub failed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpState {
    Operating,
    Success,
    Failed,
}

impl Operation {
    pub fn state_at(&self, now: i64) -> OpState {
        if now < self.done_ms {
            OpState::Operating
        } else if self.failed {
            OpState::Failed
        } else {
            OpState::Success
        }
    }
}

/// A virtual machine, whatever cloud created it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    pub provider: Provider,
    /// Key id of the account that owns the instance.
    pub account: String,
    pub region: String,
    pub zone: String,
    pub id: String,
    pub name: String,
    pub image_id: String,
    pub instance_type: String,
    pub cpu: u32,
    pub memory_gb: u32,
    pub schedule: Vec<Phase>,
    #[serde(default)]
    pub private_ips: Vec<String>,
    #[serde(default)]
    pub public_ips: Vec<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub security_groups: Vec<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub charge_type: String,
    #[serde(default)]
    pub expires_ms: Option<i64>,
    #[serde(default)]
    pub renew_flag: Option<String>,
    pub system_disk: Disk,
    #[serde(default)]
    pub data_disks: Vec<Disk>,
    #[serde(default)]
    pub client_token: Option<String>,
    #[serde(default)]
    pub bandwidth_out: u64,
    #[serde(default)]
    pub internet_charge_type: Option<String>,
    #[serde(default)]
    pub vpc_id: Option<String>,
    #[serde(default)]
    pub subnet_id: Option<String>,
    #[serde(default)]
    pub key_ids: Vec<String>,
    #[serde(default)]
    pub host_name: Option<String>,
    #[serde(default)]
    pub user_data: Option<String>,
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub last_operation: Option<Operation>,
    /// Creation order, for stable listings.
    #[serde(default)]
    pub seq: u64,
    #[serde(default)]
    pub uuid: String,
    /// Termination protection (Tencent DisableApiTermination).
    #[serde(default)]
    pub protected: bool,
    /// Stopped with "stop charging" (Tencent StoppedMode=STOP_CHARGING).
    #[serde(default)]
    pub stop_charging: bool,
    /// The guest OS ignores soft (ACPI) shutdown requests: a soft stop goes through
    /// Stopping and back to Running, as on a hung or misconfigured guest. Set through the
    /// control API (`POST /_emulator/instances/{id}/guest`).
    #[serde(default)]
    pub guest_ignores_soft_stop: bool,
    /// Cloud-specific attributes a cloud module wants to keep.
    #[serde(default)]
    pub extra: serde_json::Map<String, Value>,
}

impl Instance {
    /// The state at `now`.
    pub fn state_at(&self, now: i64) -> VmState {
        for p in &self.schedule {
            match p.until_ms {
                Some(until) if now >= until => continue,
                _ => return p.state,
            }
        }
        self.schedule
            .last()
            .map(|p| p.state)
            .unwrap_or(VmState::Gone)
    }

    /// Replace the schedule: each `(state, Some(ms))` lasts `ms` from the end of the previous
    /// phase; `(state, None)` lasts until the next operation.
    pub fn set_schedule(&mut self, now: i64, phases: &[(VmState, Option<u64>)]) {
        let mut t = now;
        self.schedule = phases
            .iter()
            .map(|&(state, dur)| Phase {
                state,
                until_ms: dur.map(|d| {
                    t = t.saturating_add(d as i64);
                    t
                }),
            })
            .collect();
        self.updated_ms = now;
    }

    /// The schedule of a stop request. `soft`: a guest shutdown, which fails (back to
    /// Running) when the guest ignores it; `force_on_failure` then powers off anyway
    /// (Tencent SOFT_FIRST, taking a second `stopping` period).
    pub fn stop_schedule(
        &self,
        soft: bool,
        force_on_failure: bool,
        stopping_ms: u64,
    ) -> Vec<(VmState, Option<u64>)> {
        match (soft && self.guest_ignores_soft_stop, force_on_failure) {
            (false, _) => vec![
                (VmState::Stopping, Some(stopping_ms)),
                (VmState::Stopped, None),
            ],
            (true, true) => vec![
                (VmState::Stopping, Some(stopping_ms.saturating_mul(2))),
                (VmState::Stopped, None),
            ],
            (true, false) => vec![
                (VmState::Stopping, Some(stopping_ms)),
                (VmState::Running, None),
            ],
        }
    }

    /// The time at which the current schedule stops changing (end of the last timed phase).
    pub fn settles_at(&self) -> i64 {
        self.schedule
            .iter()
            .filter_map(|p| p.until_ms)
            .max()
            .unwrap_or(self.updated_ms)
    }

    pub fn record_operation(&mut self, action: &str, request_id: &str, now: i64, done_ms: i64) {
        self.last_operation = Some(Operation {
            action: action.to_string(),
            request_id: request_id.to_string(),
            started_ms: now,
            done_ms,
            failed: false,
        });
    }

    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|t| t.key == key)
            .map(|t| t.value.as_str())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TokenEntry {
    provider: Provider,
    account: String,
    token: String,
    ids: Vec<String>,
}

/// What `--state-file` persists.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Snapshot {
    instances: Vec<Instance>,
    tokens: Vec<TokenEntry>,
    next_seq: u64,
    next_private: u64,
    next_public: u64,
}

/// All instances of all clouds plus idempotency tokens.
#[derive(Debug, Default)]
pub struct Store {
    instances: HashMap<String, Instance>,
    tokens: HashMap<(Provider, String, String), Vec<String>>,
    next_seq: u64,
    next_private: u64,
    next_public: u64,
    generation: u64,
    last_sweep_ms: i64,
}

impl Store {
    pub fn new() -> Self {
        Store::default()
    }

    /// Incremented on every mutation (drives `--state-file` saving).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn mark_dirty(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    /// Drop instances whose schedule has reached [`VmState::Gone`].
    pub fn sweep(&mut self, now: i64) {
        if now - self.last_sweep_ms < 100 && now >= self.last_sweep_ms {
            return;
        }
        self.last_sweep_ms = now;
        let before = self.instances.len();
        self.instances
            .retain(|_, i| i.state_at(now) != VmState::Gone);
        if self.instances.len() != before {
            self.mark_dirty();
        }
    }

    pub fn len(&self) -> usize {
        self.instances.len()
    }

    pub fn is_empty(&self) -> bool {
        self.instances.is_empty()
    }

    /// A live (not gone) instance.
    pub fn get(&self, id: &str, now: i64) -> Option<&Instance> {
        self.instances
            .get(id)
            .filter(|i| i.state_at(now) != VmState::Gone)
    }

    /// A live instance for mutation. Marks the store dirty.
    pub fn get_mut(&mut self, id: &str, now: i64) -> Option<&mut Instance> {
        let live = self
            .instances
            .get(id)
            .is_some_and(|i| i.state_at(now) != VmState::Gone);
        if !live {
            return None;
        }
        self.mark_dirty();
        self.instances.get_mut(id)
    }

    pub fn contains_id(&self, id: &str) -> bool {
        self.instances.contains_key(id)
    }

    /// Insert a new instance, assigning its creation sequence number.
    pub fn insert(&mut self, mut inst: Instance) {
        self.next_seq += 1;
        inst.seq = self.next_seq;
        self.instances.insert(inst.id.clone(), inst);
        self.mark_dirty();
    }

    pub fn remove(&mut self, id: &str) -> Option<Instance> {
        let r = self.instances.remove(id);
        if r.is_some() {
            self.mark_dirty();
        }
        r
    }

    /// Live instances matching `pred`, oldest first.
    pub fn list<F>(&self, now: i64, mut pred: F) -> Vec<&Instance>
    where
        F: FnMut(&Instance) -> bool,
    {
        let mut v: Vec<&Instance> = self
            .instances
            .values()
            .filter(|i| i.state_at(now) != VmState::Gone && pred(i))
            .collect();
        v.sort_by_key(|i| i.seq);
        v
    }

    /// Number of live instances owned by an account.
    pub fn count_owned(&self, provider: Provider, account: &str, now: i64) -> usize {
        self.instances
            .values()
            .filter(|i| {
                i.provider == provider
                    && i.account == account
                    && !matches!(i.state_at(now), VmState::Gone | VmState::Terminated)
            })
            .count()
    }

    /// An id of the form `prefix` + `len` random lowercase alphanumerics, unused so far.
    pub fn unique_id(&self, prefix: &str, len: usize) -> String {
        loop {
            let id = format!("{prefix}{}", random_alnum(len));
            if !self.instances.contains_key(&id) {
                return id;
            }
        }
    }

    pub fn ip_in_use(&self, ip: &str) -> bool {
        self.instances
            .values()
            .any(|i| i.private_ips.iter().any(|p| p == ip) || i.public_ips.iter().any(|p| p == ip))
    }

    fn ip_from_counter(first: u8, n: u64) -> String {
        // 24 bits of host space; .0 and .255 are skipped by the callers.
        format!(
            "{first}.{}.{}.{}",
            (n >> 16) & 0xff,
            (n >> 8) & 0xff,
            n & 0xff
        )
    }

    /// Next free private address in 10.0.0.0/8.
    pub fn alloc_private_ip(&mut self) -> String {
        loop {
            self.next_private += 1;
            let n = self.next_private;
            if matches!(n & 0xff, 0 | 1 | 255) {
                continue;
            }
            let ip = Self::ip_from_counter(10, n % (1 << 24));
            if !self.ip_in_use(&ip) {
                return ip;
            }
        }
    }

    /// Next free public address (plain strings; nothing is routed).
    pub fn alloc_public_ip(&mut self) -> String {
        loop {
            self.next_public += 1;
            let n = self.next_public;
            if matches!(n & 0xff, 0 | 255) {
                continue;
            }
            let ip = Self::ip_from_counter(43, (n + (136 << 16)) % (1 << 24));
            if !self.ip_in_use(&ip) {
                return ip;
            }
        }
    }

    /// Instance ids created earlier with this idempotency token.
    pub fn token_lookup(
        &self,
        provider: Provider,
        account: &str,
        token: &str,
    ) -> Option<&[String]> {
        self.tokens
            .get(&(provider, account.to_string(), token.to_string()))
            .map(|v| v.as_slice())
    }

    pub fn token_record(
        &mut self,
        provider: Provider,
        account: &str,
        token: &str,
        ids: Vec<String>,
    ) {
        self.tokens
            .insert((provider, account.to_string(), token.to_string()), ids);
        self.mark_dirty();
    }

    /// Forget all instances and tokens.
    pub fn clear(&mut self) {
        self.instances.clear();
        self.tokens.clear();
        self.mark_dirty();
    }

    pub fn snapshot(&self) -> Snapshot {
        let mut instances: Vec<Instance> = self.instances.values().cloned().collect();
        instances.sort_by_key(|i| i.seq);
        let mut tokens: Vec<TokenEntry> = self
            .tokens
            .iter()
            .map(|((p, a, t), ids)| TokenEntry {
                provider: *p,
                account: a.clone(),
                token: t.clone(),
                ids: ids.clone(),
            })
            .collect();
        tokens.sort_by(|a, b| {
            (a.provider, &a.account, &a.token).cmp(&(b.provider, &b.account, &b.token))
        });
        Snapshot {
            instances,
            tokens,
            next_seq: self.next_seq,
            next_private: self.next_private,
            next_public: self.next_public,
        }
    }

    pub fn from_snapshot(s: Snapshot) -> Self {
        let mut store = Store {
            next_seq: s.next_seq,
            next_private: s.next_private,
            next_public: s.next_public,
            ..Store::default()
        };
        for i in s.instances {
            store.next_seq = store.next_seq.max(i.seq);
            store.instances.insert(i.id.clone(), i);
        }
        for t in s.tokens {
            store.tokens.insert((t.provider, t.account, t.token), t.ids);
        }
        store
    }
}

/// Write the snapshot atomically (temporary file in the same directory, then rename).
pub fn save_snapshot(path: &Path, snap: &Snapshot) -> std::io::Result<()> {
    let data = serde_json::to_vec(snap).map_err(std::io::Error::other)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, &data)?;
    std::fs::rename(&tmp, path)
}

/// Load a snapshot; a missing file is an empty store.
pub fn load_snapshot(path: &Path) -> Result<Snapshot, String> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| format!("state file {} is not valid: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Snapshot::default()),
        Err(e) => Err(format!("cannot read state file {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests;
