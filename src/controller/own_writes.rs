//! Read-your-own-writes: the status this controller last wrote for each object, with the
//! `resourceVersion` the apiserver gave that write.
//!
//! A reconcile can start from a cache that does not hold our last status write yet: the
//! write's watch event is still on its way while the poller, a requeue or another watch
//! event triggers the object. Planning from the older status would undo what the write
//! recorded and repeat what it records as done: a second reboot after `lastRebootRequestedAt`
//! was written, a second create after a refusal was recorded, a wait erased. Writing that
//! older status back (server-side apply of the whole status) would also erase the fields.
//! So when the cached object is older than our last write, the reconcile works from the
//! status we wrote; once the cache has caught up, the memory is dropped and the cache is the
//! truth again (it then also carries whatever others changed since).
//!
//! Which is older: `resourceVersion`s are opaque to clients by API convention, but an
//! apiserver backed by etcd3 (every supported Kubernetes) hands out etcd revisions, which
//! are integers that only grow. If either version is not an integer, nothing is assumed:
//! the cache is used, as before this memory existed. In memory only: after a restart the
//! first listing is a consistent read, newer than any write of the previous process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kube::{Resource, ResourceExt};

use super::status::Applied;

/// One object's last status write.
struct Written<S> {
    resource_version: u64,
    status: S,
}

/// Last status written, by object uid.
pub struct OwnWrites<S>(Mutex<HashMap<String, Written<S>>>);

impl<S> Default for OwnWrites<S> {
    fn default() -> Self {
        Self(Mutex::new(HashMap::new()))
    }
}

impl<S: Clone> OwnWrites<S> {
    /// Remember that `status` was written to `uid` and the apiserver answered with
    /// `resource_version` (ignored unless an integer).
    pub fn remember(&self, uid: &str, resource_version: Option<&str>, status: S) {
        let Some(resource_version) = resource_version.and_then(|v| v.parse().ok()) else {
            self.forget(uid);
            return;
        };
        if let Ok(mut m) = self.0.lock() {
            m.insert(
                uid.to_owned(),
                Written {
                    resource_version,
                    status,
                },
            );
        }
    }

    /// After a status apply to `obj`: remember `status` if it was written. Returns whether
    /// it was.
    pub fn note<K: Resource>(&self, obj: &K, applied: Applied, status: &S) -> bool {
        match applied {
            Applied::Unchanged => false,
            Applied::Written { resource_version } => {
                let uid = obj.uid().unwrap_or_default();
                self.remember(&uid, resource_version.as_deref(), status.clone());
                true
            }
        }
    }

    /// The status to work from instead of the cached one: what we wrote, if the cached
    /// object (at `cached_version`) predates that write. Once the cache has caught up the
    /// memory is dropped and `None` says "the cache is current".
    pub fn newer_than_cache(&self, uid: &str, cached_version: Option<&str>) -> Option<S> {
        let mut m = self.0.lock().ok()?;
        let w = m.get(uid)?;
        if cache_predates(w.resource_version, cached_version) {
            return Some(w.status.clone());
        }
        m.remove(uid);
        None
    }

    /// `obj` with the status to work from: ours if the cached object predates our last
    /// write (`status_of` names the object's status field), else `obj` as cached.
    pub fn freshest<K>(
        &self,
        obj: Arc<K>,
        status_of: impl FnOnce(&mut K) -> &mut Option<S>,
    ) -> Arc<K>
    where
        K: Resource + Clone,
    {
        let uid = obj.uid().unwrap_or_default();
        match self.newer_than_cache(&uid, obj.meta().resource_version.as_deref()) {
            Some(written) => {
                tracing::debug!(
                    name = %obj.name_any(),
                    cached = obj.meta().resource_version.as_deref().unwrap_or(""),
                    "the cache predates our last status write: working from what we wrote"
                );
                let mut fresh = (*obj).clone();
                *status_of(&mut fresh) = Some(written);
                Arc::new(fresh)
            }
            None => obj,
        }
    }

    /// Drop what is remembered of `uid` (the object is gone or let go).
    pub fn forget(&self, uid: &str) {
        if let Ok(mut m) = self.0.lock() {
            m.remove(uid);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.lock().map(|m| m.len()).unwrap_or(0)
    }
}

/// Whether a cached object at `cached` is older than our write at `written`. An
/// unreadable cached version is taken as current.
fn cache_predates(written: u64, cached: Option<&str>) -> bool {
    cached
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|c| c < written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_cache_gets_our_write() {
        let w = OwnWrites::default();
        w.remember("u", Some("120"), "written");
        assert_eq!(w.newer_than_cache("u", Some("100")), Some("written"));
        // still older: still ours (the memory is kept until the cache catches up)
        assert_eq!(w.newer_than_cache("u", Some("119")), Some("written"));
    }

    #[test]
    fn a_cache_that_caught_up_wins_and_the_memory_goes() {
        let w = OwnWrites::default();
        w.remember("u", Some("120"), "written");
        assert_eq!(w.newer_than_cache("u", Some("120")), None);
        assert_eq!(w.len(), 0);
        w.remember("u", Some("120"), "written");
        // someone changed the object after our write: the cache has both
        assert_eq!(w.newer_than_cache("u", Some("135")), None);
        assert_eq!(w.len(), 0);
    }

    #[test]
    fn versions_that_are_not_integers_trust_the_cache() {
        let w = OwnWrites::default();
        w.remember("u", Some("120"), "written");
        assert_eq!(w.newer_than_cache("u", Some("abc")), None);
        assert_eq!(w.newer_than_cache("u", None), None);
        w.remember("u", Some("opaque"), "written");
        assert_eq!(w.len(), 0);
        assert_eq!(w.newer_than_cache("u", Some("1")), None);
    }

    #[test]
    fn objects_are_kept_apart_and_forgotten() {
        let w = OwnWrites::default();
        w.remember("a", Some("50"), "a-status");
        w.remember("b", Some("60"), "b-status");
        assert_eq!(w.newer_than_cache("a", Some("10")), Some("a-status"));
        assert_eq!(w.newer_than_cache("b", Some("10")), Some("b-status"));
        assert_eq!(w.newer_than_cache("c", Some("10")), None);
        w.forget("a");
        assert_eq!(w.newer_than_cache("a", Some("10")), None);
        // a later write replaces the earlier one
        w.remember("b", Some("70"), "b-later");
        assert_eq!(w.newer_than_cache("b", Some("65")), Some("b-later"));
    }
}
