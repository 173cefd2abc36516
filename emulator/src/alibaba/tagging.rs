//! Tags on existing instances: `TagResources`, `UntagResources`, `ListTagResources`
//! (ECS API 2014-05-26; the controller only tags at creation, SDK users call these).
//!
//! Sources:
//! * SDK `alibabacloud-ecs20140526` 7.11.8 models `TagResourcesRequest` ("The array of
//!   resource IDs. Array length: 1 to 50", "The array of tags. Array length: 1 to 20 ... the
//!   tag key Key must be unique"), `TagResourcesRequestTag` (key "cannot be empty or an empty
//!   string. It can be up to 128 characters in length. It cannot start with aliyun or acs:,
//!   and cannot contain http:// or https://"; value "cannot be null but can be an empty
//!   string ... up to 128 characters ... cannot contain http:// or https://"),
//!   `UntagResourcesRequest` (`TagKey.N` up to 20, `All` only without `TagKey.N`),
//!   `ListTagResourcesRequest` (`ResourceId.N` 1–50, `Tag.N`, `TagFilter.N` with 1–5 keys,
//!   `NextToken`; no page size) and `ListTagResourcesResponseBody`
//!   (`TagResources.TagResource[]{ResourceId, ResourceType, TagKey, TagValue}`, `NextToken`).
//! * AlibabaCloudDocs/ecs `intl.en-US/API Reference/Tags/{TagResources,UntagResources,
//!   ListTagResources}.md`: value "cannot start with `acs:`"; ListTagResources needs at least
//!   one of `ResourceId.N`, `Tag.N`, `TagFilter.N`; `Tag.N.Value` alone is
//!   `InvalidParameter.TagValue`; `TagFilter.N` and `Tag.N` exclude each other; error codes
//!   `MissingParameter.RegionId`/`.ResourceType`/`.Tags` (404), `NumberExceed.ResourceIds`
//!   / `.Tags` (400), `Duplicate.TagKey` (400), `InvalidResourceId.NotFound` (404),
//!   `InvalidResourceType.NotFound` (404), `InvalidTagKey.Malformed` /
//!   `InvalidTagValue.Malformed` (400), `InvalidTag.Mismatch` (400),
//!   `OperationDenied.QuotaExceed` (400, the per-resource tag quota, 20 per resource).
//!
//! Only `ResourceType=instance` has resources here; the other documented types exist but
//! hold nothing (`InvalidResourceId.NotFound`). Pages hold [`PAGE_SIZE`] rows (the API
//! documents no page size); the `NextToken` is opaque.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::config::Provider;
use crate::store::{Instance, Tag};

use super::actions::{Ctx, Fields};
use super::catalog;
use super::{AliError, AliResult};

/// Resource ids per call (`ResourceId.N`, N 1–50).
pub const MAX_RESOURCES: usize = 50;
/// Tags per call (`Tag.N`, `TagKey.N`: 1–20) and per resource.
pub const MAX_TAGS: usize = 20;
/// `TagFilter.N` keys per call (1–5).
pub const MAX_FILTERS: usize = 5;
/// Rows per ListTagResources page.
pub const PAGE_SIZE: usize = 50;

/// The documented `ResourceType` values.
const RESOURCE_TYPES: &[&str] = &[
    "instance",
    "disk",
    "snapshot",
    "image",
    "securitygroup",
    "volume",
    "eni",
    "ddh",
    "ddhcluster",
    "keypair",
    "launchtemplate",
    "reservedinstance",
    "snapshotpolicy",
    "elasticityassurance",
    "capacityreservation",
    "command",
    "invocation",
    "activation",
    "managedinstance",
];

/// Parameters of the request models (besides the common ones and the owner fields).
pub const PARAMS: &[(&str, &[&str])] = &[
    (
        "TagResources",
        &[
            "RegionId",
            "ResourceId.N",
            "ResourceType",
            "Tag.N.Key",
            "Tag.N.Value",
        ],
    ),
    (
        "UntagResources",
        &[
            "All",
            "RegionId",
            "ResourceId.N",
            "ResourceType",
            "TagKey.N",
        ],
    ),
    (
        "ListTagResources",
        &[
            "NextToken",
            "RegionId",
            "ResourceId.N",
            "ResourceType",
            "Tag.N.Key",
            "Tag.N.Value",
            "TagFilter.N.TagKey",
            "TagFilter.N.TagValues.N",
        ],
    ),
];

fn err(status: u16, code: &str, message: impl Into<String>) -> AliError {
    AliError::new(status, code, message)
}

/// RegionId (required, `MissingParameter.RegionId`) and ResourceType (required, one of the
/// documented values).
fn scope(ctx: &Ctx) -> AliResult<(String, String)> {
    let region = ctx.opt("RegionId").ok_or_else(|| {
        err(
            404,
            "MissingParameter.RegionId",
            "The parameter - RegionId should not be null",
        )
    })?;
    if catalog::region(&region).is_none() {
        return Err(err(
            404,
            "InvalidRegionId.NotFound",
            "The specified RegionId does not exist.",
        ));
    }
    let kind = ctx.opt("ResourceType").ok_or_else(|| {
        err(
            404,
            "MissingParameter.ResourceType",
            "The parameter - ResourceType should not be null",
        )
    })?;
    if !RESOURCE_TYPES.contains(&kind.as_str()) {
        return Err(err(
            404,
            "InvalidResourceType.NotFound",
            "The ResourceType provided does not exist in our records.",
        ));
    }
    Ok((region, kind))
}

fn resource_ids(ctx: &Ctx, required: bool) -> AliResult<Vec<String>> {
    let ids = ctx.list("ResourceId");
    if required && ids.is_empty() {
        return Err(AliError::missing("ResourceId.N"));
    }
    if ids.len() > MAX_RESOURCES {
        return Err(err(
            400,
            "NumberExceed.ResourceIds",
            format!("The ResourceIds parameter's number is exceed , Valid : {MAX_RESOURCES}"),
        ));
    }
    Ok(ids)
}

fn too_many_tags() -> AliError {
    err(
        400,
        "NumberExceed.Tags",
        format!("The Tags parameter's number is exceed , Valid : {MAX_TAGS}"),
    )
}

/// `Tag.N.Key` / `Tag.N.Value` in index order; `None` for a half that is absent.
fn tag_pairs(ctx: &Ctx, prefix: &str) -> Vec<(Option<String>, Option<String>)> {
    let mut by_n: BTreeMap<u32, (Option<String>, Option<String>)> = BTreeMap::new();
    for (k, v) in ctx.params {
        let Some((n, field)) = k.strip_prefix(prefix).and_then(|rest| rest.split_once('.')) else {
            continue;
        };
        let Ok(n) = n.parse::<u32>() else {
            continue;
        };
        let e = by_n.entry(n).or_default();
        match field {
            "Key" => e.0 = Some(v.clone()),
            "Value" => e.1 = Some(v.clone()),
            _ => {}
        }
    }
    by_n.into_values().collect()
}

fn has_url(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    l.contains("http://") || l.contains("https://")
}

/// The documented key rules: 1–128 characters, not `aliyun…`/`acs:…`, no URL.
pub fn check_key(k: &str) -> AliResult<()> {
    let l = k.to_ascii_lowercase();
    if k.is_empty()
        || k.chars().count() > 128
        || l.starts_with("aliyun")
        || l.starts_with("acs:")
        || has_url(k)
    {
        return Err(err(
            400,
            "InvalidTagKey.Malformed",
            format!("The specified Tag.n.Key `{k}` is not valid."),
        ));
    }
    Ok(())
}

/// The documented value rules: 0–128 characters, not `acs:…`, no URL.
pub fn check_value(k: &str, v: &str) -> AliResult<()> {
    if v.chars().count() > 128 || v.to_ascii_lowercase().starts_with("acs:") || has_url(v) {
        return Err(err(
            400,
            "InvalidTagValue.Malformed",
            format!("The specified Tag.n.Value of `{k}` is not valid."),
        ));
    }
    Ok(())
}

/// The instances of `ids` in the account and region; any other id is
/// `InvalidResourceId.NotFound` (other resource types hold nothing here).
fn targets(ctx: &Ctx, region: &str, kind: &str, ids: &[String]) -> AliResult<()> {
    let store = ctx.app.store();
    for id in ids {
        let found = kind == "instance"
            && store.get(id, ctx.now).is_some_and(|i| {
                i.provider == Provider::Alibaba
                    && i.account == ctx.account.key_id
                    && i.region == region
            });
        if !found {
            return Err(err(
                404,
                "InvalidResourceId.NotFound",
                format!("The specified ResourceIds are not found in our records: {id}"),
            ));
        }
    }
    Ok(())
}

pub fn tag_resources(ctx: &Ctx) -> AliResult<Fields> {
    let (region, kind) = scope(ctx)?;
    let ids = resource_ids(ctx, true)?;
    let pairs = tag_pairs(ctx, "Tag.");
    if pairs.is_empty() {
        return Err(err(
            404,
            "MissingParameter.Tags",
            "The parameter - Tags should not be null",
        ));
    }
    if pairs.len() > MAX_TAGS {
        return Err(too_many_tags());
    }
    let mut tags: Vec<(String, String)> = Vec::new();
    for (k, v) in pairs {
        let (Some(k), Some(v)) = (k, v) else {
            return Err(err(
                400,
                "InvalidTag.Mismatch",
                "The specified Tag.n.Key and Tag.n.Value are not match.",
            ));
        };
        check_key(&k)?;
        check_value(&k, &v)?;
        if tags.iter().any(|(x, _)| *x == k) {
            return Err(err(
                400,
                "Duplicate.TagKey",
                "The Tag.N.Key contain duplicate key.",
            ));
        }
        tags.push((k, v));
    }
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    drop(store);
    targets(ctx, &region, &kind, &ids)?;
    let mut store = ctx.app.store();
    // All or nothing: the quota is checked for every resource before any changes.
    let merged = |i: &Instance| {
        let mut t = i.tags.clone();
        for (k, v) in &tags {
            match t.iter_mut().find(|x| x.key == *k) {
                Some(x) => x.value = v.clone(),
                None => t.push(Tag {
                    key: k.clone(),
                    value: v.clone(),
                }),
            }
        }
        t
    };
    for id in &ids {
        if store
            .get(id, ctx.now)
            .is_some_and(|i| merged(i).len() > MAX_TAGS)
        {
            return Err(err(
                400,
                "OperationDenied.QuotaExceed",
                format!(
                    "The quota of tags on resource is beyond permitted range: {id} would have more than {MAX_TAGS}."
                ),
            ));
        }
    }
    for id in &ids {
        if let Some(i) = store.get_mut(id, ctx.now) {
            i.tags = merged(i);
            i.updated_ms = ctx.now;
        }
    }
    Ok(Fields::new())
}

pub fn untag_resources(ctx: &Ctx) -> AliResult<Fields> {
    let (region, kind) = scope(ctx)?;
    let ids = resource_ids(ctx, true)?;
    let keys = ctx.list("TagKey");
    if keys.len() > MAX_TAGS {
        return Err(too_many_tags());
    }
    let all = ctx.boolean("All")?.unwrap_or(false);
    // `All` "takes effect only when TagKey.N is not specified".
    if keys.is_empty() && !all {
        return Err(err(
            404,
            "MissingParameter.Tags",
            "The parameter - Tags should not be null",
        ));
    }
    targets(ctx, &region, &kind, &ids)?;
    let mut store = ctx.app.store();
    for id in &ids {
        if let Some(i) = store.get_mut(id, ctx.now) {
            if keys.is_empty() {
                i.tags.clear();
            } else {
                i.tags.retain(|t| !keys.contains(&t.key));
            }
            i.updated_ms = ctx.now;
        }
    }
    Ok(Fields::new())
}

/// `TagFilter` patterns: `x*` (prefix), `*x*` (infix) or `x` (exact).
fn fuzzy(pattern: &str, s: &str) -> bool {
    match (pattern.strip_prefix('*'), pattern.strip_suffix('*')) {
        (Some(_), Some(_)) if pattern.len() >= 2 => s.contains(&pattern[1..pattern.len() - 1]),
        (None, Some(p)) => s.starts_with(p),
        _ => s == pattern,
    }
}

/// `TagFilter.N.TagKey` with its `TagFilter.N.TagValues.N`.
fn tag_filters(ctx: &Ctx) -> Vec<(String, Vec<String>)> {
    let mut by_n: BTreeMap<u32, (String, Vec<String>)> = BTreeMap::new();
    for (k, v) in ctx.params {
        let Some((n, field)) = k.strip_prefix("TagFilter.").and_then(|r| r.split_once('.')) else {
            continue;
        };
        let Ok(n) = n.parse::<u32>() else {
            continue;
        };
        let e = by_n.entry(n).or_default();
        if field == "TagKey" {
            e.0 = v.clone();
        } else if field.starts_with("TagValues.") {
            e.1.push(v.clone());
        }
    }
    by_n.into_values().collect()
}

pub fn list_tag_resources(ctx: &Ctx) -> AliResult<Fields> {
    let (region, kind) = scope(ctx)?;
    let ids = resource_ids(ctx, false)?;
    let pairs = tag_pairs(ctx, "Tag.");
    if pairs.len() > MAX_TAGS {
        return Err(too_many_tags());
    }
    let mut wanted: Vec<(String, Option<String>)> = Vec::new();
    for (k, v) in pairs {
        let Some(k) = k else {
            return Err(err(
                400,
                "InvalidParameter.TagValue",
                "Tag.N.Value was given without Tag.N.Key.",
            ));
        };
        wanted.push((k, v));
    }
    let filters = tag_filters(ctx);
    if filters.len() > MAX_FILTERS {
        return Err(err(
            400,
            "InvalidParameter",
            format!("The specified parameter \"TagFilter\" is not valid: at most {MAX_FILTERS}."),
        ));
    }
    if !filters.is_empty() && !wanted.is_empty() {
        return Err(err(
            400,
            "InvalidParameter",
            "TagFilter.N and Tag.N cannot be used at the same time.",
        ));
    }
    if ids.is_empty() && wanted.is_empty() && filters.is_empty() {
        return Err(err(
            404,
            "MissingParameter.Tags",
            "Specify ResourceId.N, Tag.N or TagFilter.N.",
        ));
    }
    let offset = match ctx.opt("NextToken") {
        None => 0,
        Some(t) => t
            .strip_prefix("tr")
            .and_then(|n| usize::from_str_radix(n, 16).ok())
            .ok_or_else(|| {
                AliError::invalid("NextToken", "the token is not one this API issued")
            })?,
    };
    let mut store = ctx.app.store();
    store.sweep(ctx.now);
    let mut instances: Vec<&Instance> = store
        .list(ctx.now, |i| {
            kind == "instance"
                && i.provider == Provider::Alibaba
                && i.account == ctx.account.key_id
                && i.region == region
        })
        .into_iter()
        .filter(|i| ids.is_empty() || ids.contains(&i.id))
        .filter(|i| {
            wanted.iter().all(|(k, v)| {
                i.tags
                    .iter()
                    .any(|t| t.key == *k && v.as_ref().is_none_or(|v| t.value == *v))
            })
        })
        .filter(|i| {
            filters.iter().all(|(k, values)| {
                i.tags.iter().any(|t| {
                    if values.is_empty() {
                        fuzzy(k, &t.key)
                    } else {
                        t.key == *k && values.iter().any(|v| fuzzy(v, &t.value))
                    }
                })
            })
        })
        .collect();
    instances.sort_by_key(|i| i.seq);
    let rows: Vec<Value> = instances
        .iter()
        .flat_map(|i| {
            i.tags.iter().map(|t| {
                json!({"ResourceId": i.id, "ResourceType": "instance",
                       "TagKey": t.key, "TagValue": t.value})
            })
        })
        .collect();
    let page: Vec<Value> = rows.iter().skip(offset).take(PAGE_SIZE).cloned().collect();
    let next = offset + page.len();
    let mut out = Fields::new();
    out.insert("TagResources".into(), json!({ "TagResource": page }));
    out.insert(
        "NextToken".into(),
        Value::String(if next < rows.len() {
            format!("tr{next:x}")
        } else {
            String::new()
        }),
    );
    Ok(out)
}
