//! Forensics of the reliability campaigns: when an invariant fails, the history of every
//! object and instance it names (the soak, `hack/soak.sh`, stops at a failure and shows
//! this): the campaign's operations on the object, each change of the object seen by a
//! watch (status writes, finalizers, deletion), the emulator's record of the instances, the
//! cloud requests naming them (when the emulator keeps a request log), and the lines of
//! every controller incarnation's log that mention them.

use std::collections::HashMap;
use std::time::Instant;

use kube::api::ListParams;
use kube::{Api, ResourceExt};
use serde_json::Value;

use super::campaign::Fleet;
use super::fixtures::Control;
use cloudinstance_controller::api::CloudInstance;

/// Changes of the fleet's objects as a watch saw them: (time, object name, summary).
pub type Changes = std::sync::Arc<std::sync::Mutex<Vec<(Instant, String, String)>>>;

/// What of an object a history shows: metadata the controller touches (finalizers,
/// deletion) and its status (instance id, state, the create marker, conditions).
pub fn change_summary(o: &CloudInstance) -> String {
    let st = serde_json::to_value(&o.status).unwrap_or(Value::Null);
    let conds: Vec<String> = st["conditions"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    format!(
                        "{}={}/{}@{}",
                        c["type"].as_str().unwrap_or("?"),
                        c["status"].as_str().unwrap_or("?"),
                        c["reason"].as_str().unwrap_or("?"),
                        c["observedGeneration"]
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    format!(
        "uid {} gen {} deleting {} finalizers {:?} | status instanceId {} state {} observedGeneration {} \
         createRequestedAt {} incarnation {} conditions [{}]",
        o.uid().unwrap_or_default(),
        o.metadata.generation.unwrap_or(0),
        o.metadata.deletion_timestamp.is_some(),
        o.finalizers(),
        st["instanceId"],
        st["state"],
        st["observedGeneration"],
        st["createRequestedAt"],
        st["incarnation"],
        conds.join(" ")
    )
}

/// Record every change of the objects `api` lists (until aborted). Consecutive identical
/// summaries of an object are recorded once; resourceVersion is shown, not compared.
pub async fn record_changes(api: Api<CloudInstance>, changes: Changes) {
    use futures::StreamExt as _;
    use kube::runtime::{WatchStreamExt as _, watcher};
    let mut last: HashMap<String, String> = HashMap::new();
    let mut events = std::pin::pin!(watcher(api, watcher::Config::default()).default_backoff());
    while let Some(ev) = events.next().await {
        let (obj, gone) = match ev {
            Ok(watcher::Event::Apply(o)) | Ok(watcher::Event::InitApply(o)) => (o, false),
            Ok(watcher::Event::Delete(o)) => (o, true),
            Ok(_) => continue,
            Err(e) => {
                let mut c = changes.lock().unwrap_or_else(|p| p.into_inner());
                c.push((Instant::now(), String::new(), format!("watch error: {e}")));
                continue;
            }
        };
        let name = obj.name_any();
        let summary = if gone {
            "DELETED from the API".to_string()
        } else {
            change_summary(&obj)
        };
        if last.get(&name) == Some(&summary) {
            continue;
        }
        last.insert(name.clone(), summary.clone());
        let rv = obj.resource_version().unwrap_or_default();
        changes.lock().unwrap_or_else(|p| p.into_inner()).push((
            Instant::now(),
            name,
            format!("rv {rv} {summary}"),
        ));
    }
}

/// The object names (`vm-NNNN`), Tencent instance ids (`ins-xxxxxxxx`) and UIDs a text
/// mentions.
pub fn mentioned(text: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    let (mut names, mut ids, mut uids) = (Vec::new(), Vec::new(), Vec::new());
    let tokens = text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'));
    for t in tokens {
        let push = |v: &mut Vec<String>, x: &str| {
            if !v.iter().any(|y| y == x) {
                v.push(x.to_string());
            }
        };
        if let Some(rest) = t.strip_prefix("vm-")
            && rest.len() >= 4
            && rest[..4].bytes().all(|b| b.is_ascii_digit())
        {
            push(&mut names, &t[..7]);
        } else if t.len() == 12
            && t.starts_with("ins-")
            && t[4..].bytes().all(|b| b.is_ascii_alphanumeric())
        {
            push(&mut ids, t);
        } else if t.len() == 36
            && t.bytes().enumerate().all(|(i, b)| {
                if [8, 13, 18, 23].contains(&i) {
                    b == b'-'
                } else {
                    b.is_ascii_hexdigit()
                }
            })
        {
            push(&mut uids, t);
        }
    }
    (names, ids, uids)
}

/// The emulator's request log (`GET /_emulator/requests`), `None` when it has none.
pub async fn emulator_requests(ctl: &Control) -> Option<Vec<Value>> {
    let r = reqwest::get(format!("{}/requests", ctl.base)).await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    match r.json::<Value>().await.ok()? {
        Value::Array(a) => Some(a),
        _ => None,
    }
}

/// `text` without ANSI colour sequences (the controller colours its log).
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for d in chars.by_ref() {
                if ('@'..='~').contains(&d) {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// At most the last `n` of `lines`, with a note of how many were left out.
pub fn last_lines(lines: Vec<&str>, n: usize) -> String {
    let skip = lines.len().saturating_sub(n);
    let mut out = String::new();
    if skip > 0 {
        out.push_str(&format!("    ... {skip} earlier line(s) left out\n"));
    }
    for l in &lines[skip..] {
        out.push_str("    ");
        out.push_str(l);
        out.push('\n');
    }
    out
}

impl Fleet {
    /// The history of every object and instance that `problems` name: the campaign's
    /// operations, the watched changes of the objects (status writes included), the
    /// emulator's record of the instances, the cloud requests that name them (when the
    /// emulator keeps a request log), and the controllers' log lines about them.
    pub async fn histories(&self, problems: &[String], ctl: Option<&Control>) -> String {
        let text = problems.join(" ");
        let (mut names, mut ids, mut uids) = mentioned(&text);
        // widen: the objects' uids and instance ids, the instances' owners
        if let Ok(list) = self.api().list(&ListParams::default()).await {
            for o in list.items.iter().filter(|o| names.contains(&o.name_any())) {
                uids.extend(o.uid());
                if let Some(id) = o.status.as_ref().and_then(|s| s.instance_id.clone()) {
                    ids.push(id);
                }
            }
        }
        {
            let changes = self.changes.lock().unwrap_or_else(|p| p.into_inner());
            for (_, name, what) in changes.iter() {
                if names.contains(name) {
                    let (_, i, u) = mentioned(what);
                    ids.extend(i);
                    uids.extend(u);
                }
            }
        }
        let instances = match ctl {
            Some(c) => c.instances().await,
            None => Vec::new(),
        };
        let mut tokens = Vec::new();
        for i in &instances {
            let id = i["id"].as_str().unwrap_or_default().to_string();
            let uid = i["tags"]["cloudinstance-uid"].as_str().unwrap_or_default();
            let name = i["tags"]["cloudinstance-name"].as_str().unwrap_or_default();
            if ids.contains(&id) || uids.iter().any(|u| u == uid) || names.iter().any(|n| n == name)
            {
                ids.push(id);
                uids.push(uid.to_string());
                if !names.iter().any(|n| n == name) && !name.is_empty() {
                    names.push(name.to_string());
                }
                tokens.extend(i["client_token"].as_str().map(str::to_string));
            }
        }
        for v in [&mut names, &mut ids, &mut uids, &mut tokens] {
            v.retain(|x| !x.is_empty());
            v.sort();
            v.dedup();
        }
        let keys: Vec<&String> = names
            .iter()
            .chain(&ids)
            .chain(&uids)
            .chain(&tokens)
            .collect();
        let hit = |line: &str| keys.iter().any(|k| line.contains(k.as_str()));
        let t = |at: &Instant| at.saturating_duration_since(self.born).as_secs_f64();

        let mut out = String::new();
        out.push_str(&format!(
            "==== histories of objects {names:?}, instances {ids:?}, uids {uids:?} ====\n"
        ));
        if let Some((seed, test)) = self.seed {
            out.push_str(&format!(
                "replay: CIC_CAMPAIGN_SEED={seed} cargo test --test {} {test} -- --nocapture\n",
                env!("CARGO_CRATE_NAME")
            ));
        }
        out.push_str("-- campaign operations --\n");
        out.push_str(&self.history_for(&names.join(" ")));
        out.push_str(
            "\n-- object changes seen by a watch (status writes, finalizers, deletion) --\n",
        );
        {
            let changes = self.changes.lock().unwrap_or_else(|p| p.into_inner());
            for (at, name, what) in changes.iter() {
                if names.contains(name) || (name.is_empty() && !what.is_empty()) {
                    out.push_str(&format!("  +{:.3}s {name} {what}\n", t(at)));
                }
            }
        }
        out.push_str("-- the emulator's record of the instances --\n");
        for i in instances
            .iter()
            .filter(|i| ids.iter().any(|id| i["id"].as_str() == Some(id.as_str())))
        {
            out.push_str(&format!("  {i}\n"));
        }
        if let Some(c) = ctl {
            out.push_str("-- cloud requests naming them (emulator request log) --\n");
            match emulator_requests(c).await {
                Some(reqs) => {
                    let lines: Vec<String> = reqs
                        .iter()
                        .map(|r| r.to_string())
                        .filter(|r| hit(r))
                        .collect();
                    out.push_str(&last_lines(lines.iter().map(String::as_str).collect(), 200));
                }
                None => out.push_str("    (this emulator keeps no request log)\n"),
            }
        }
        let mut logs = self.old_logs.clone();
        if let Some(f) = &self.log_file {
            logs.push((
                "the running controller".to_string(),
                std::fs::read_to_string(f).unwrap_or_default(),
            ));
        }
        for (label, text) in &logs {
            let text = strip_ansi(text);
            let lines: Vec<&str> = text.lines().filter(|l| hit(l)).collect();
            out.push_str(&format!(
                "-- controller log, {label}: {} line(s) about them --\n",
                lines.len()
            ));
            out.push_str(&last_lines(lines, 300));
        }
        out
    }
}
