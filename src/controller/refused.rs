//! Read-your-own-writes memory of creates the cloud refused. The refusal is recorded in
//! status (`Ready` reason `CreateRefused` for that generation), but the cache can still hold
//! the object from before that status write: this makes the next reconcile see it anyway.
//! In memory only; after a restart status is the record.

use std::collections::HashMap;
use std::sync::Mutex;

use super::problem::Problem;
use crate::api::Condition;

/// A create the cloud refused, as this controller recorded it in status.
#[derive(Clone, Debug)]
pub struct RefusedCreate {
    pub generation: Option<i64>,
    pub ready: Condition,
    pub synced: Problem,
}

/// Refused creates by object uid.
#[derive(Default)]
pub struct RefusedCreates(Mutex<HashMap<String, RefusedCreate>>);

impl RefusedCreates {
    /// The refusal recorded for this generation of `uid`, if any.
    pub fn get(&self, uid: &str, generation: Option<i64>) -> Option<RefusedCreate> {
        let m = self.0.lock().ok()?;
        m.get(uid).filter(|r| r.generation == generation).cloned()
    }

    pub fn record(&self, uid: &str, refusal: RefusedCreate) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(uid.to_owned(), refusal);
        }
    }

    pub fn forget(&self, uid: &str) {
        if let Ok(mut m) = self.0.lock() {
            m.remove(uid);
        }
    }
}
