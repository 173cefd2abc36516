//! Typed access to request parameters with Tencent's validation errors.
//!
//! Parameters arrive either as a JSON object (signature v3, POST) or as flat
//! `InstanceIds.0=...&Filters.0.Values.1=...` pairs (signature v3 GET and signature v1),
//! which [`unflatten`] turns into the same JSON shape. Flat values are all strings, so
//! accessors are *lenient* for them and accept `"20"` for an integer.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::error::{ApiError, ApiResult};

#[derive(Clone)]
pub struct Params<'a> {
    map: &'a Map<String, Value>,
    prefix: String,
    lenient: bool,
}

impl<'a> Params<'a> {
    pub fn root(map: &'a Map<String, Value>, lenient: bool) -> Self {
        Params {
            map,
            prefix: String::new(),
            lenient,
        }
    }

    /// Full dotted name of a parameter, for messages (`Placement.Zone`).
    pub fn path(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    fn raw(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn has(&self, key: &str) -> bool {
        self.raw(key).is_some()
    }

    /// Reject parameters that are not in `known` with `UnknownParameter`.
    pub fn check_known(&self, known: &[&str]) -> ApiResult<()> {
        for k in self.map.keys() {
            if !known.contains(&k.as_str()) {
                return Err(ApiError::unknown(&self.path(k)));
            }
        }
        Ok(())
    }

    fn as_string(&self, name: &str, v: &Value) -> ApiResult<String> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) if self.lenient => Ok(n.to_string()),
            Value::Bool(b) if self.lenient => Ok(b.to_string()),
            _ => Err(ApiError::bad_type(name, "String")),
        }
    }

    pub fn string(&self, key: &str) -> ApiResult<Option<String>> {
        match self.raw(key) {
            None => Ok(None),
            Some(v) => self.as_string(&self.path(key), v).map(Some),
        }
    }

    pub fn required_string(&self, key: &str) -> ApiResult<String> {
        self.string(key)?
            .ok_or_else(|| ApiError::missing(&self.path(key)))
    }

    pub fn int(&self, key: &str) -> ApiResult<Option<i64>> {
        let name = self.path(key);
        match self.raw(key) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| ApiError::bad_type(&name, "Integer")),
            Some(Value::String(s)) if self.lenient => s
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| ApiError::bad_type(&name, "Integer")),
            Some(_) => Err(ApiError::bad_type(&name, "Integer")),
        }
    }

    /// Booleans: JSON `true`/`false`, or the documented `TRUE`/`FALSE` strings.
    pub fn boolean(&self, key: &str) -> ApiResult<Option<bool>> {
        let name = self.path(key);
        match self.raw(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) => match s.to_ascii_uppercase().as_str() {
                "TRUE" => Ok(Some(true)),
                "FALSE" => Ok(Some(false)),
                _ => Err(ApiError::bad_type(&name, "Boolean")),
            },
            Some(_) => Err(ApiError::bad_type(&name, "Boolean")),
        }
    }

    pub fn string_list(&self, key: &str) -> ApiResult<Option<Vec<String>>> {
        let name = self.path(key);
        match self.raw(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| self.as_string(&format!("{name}.{i}"), v))
                .collect::<ApiResult<Vec<_>>>()
                .map(Some),
            Some(_) => Err(ApiError::bad_type(&name, "Array of String")),
        }
    }

    pub fn object(&self, key: &str) -> ApiResult<Option<Params<'a>>> {
        let name = self.path(key);
        match self.raw(key) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(Params {
                map: m,
                prefix: name,
                lenient: self.lenient,
            })),
            Some(_) => Err(ApiError::bad_type(&name, "Object")),
        }
    }

    pub fn object_list(&self, key: &str) -> ApiResult<Option<Vec<Params<'a>>>> {
        let name = self.path(key);
        match self.raw(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::Object(m) => Ok(Params {
                        map: m,
                        prefix: format!("{name}.{i}"),
                        lenient: self.lenient,
                    }),
                    _ => Err(ApiError::bad_type(&format!("{name}.{i}"), "Object")),
                })
                .collect::<ApiResult<Vec<_>>>()
                .map(Some),
            Some(_) => Err(ApiError::bad_type(&name, "Array of Object")),
        }
    }
}

enum Node {
    Leaf(String),
    Branch(BTreeMap<String, Node>),
}

fn node_to_value(n: Node) -> Value {
    match n {
        Node::Leaf(s) => Value::String(s),
        Node::Branch(children) => {
            let numeric =
                !children.is_empty() && children.keys().all(|k| k.parse::<usize>().is_ok());
            if numeric {
                let mut items: Vec<(usize, Node)> = children
                    .into_iter()
                    .map(|(k, v)| (k.parse::<usize>().unwrap_or(0), v))
                    .collect();
                items.sort_by_key(|(i, _)| *i);
                Value::Array(items.into_iter().map(|(_, v)| node_to_value(v)).collect())
            } else {
                Value::Object(
                    children
                        .into_iter()
                        .map(|(k, v)| (k, node_to_value(v)))
                        .collect(),
                )
            }
        }
    }
}

/// Turn flat `A.0.B=x` pairs into nested JSON (numeric segments become arrays).
pub fn unflatten(pairs: &[(String, String)]) -> ApiResult<Map<String, Value>> {
    let mut root: BTreeMap<String, Node> = BTreeMap::new();
    for (key, value) in pairs {
        let segments: Vec<&str> = key.split('.').collect();
        if segments.iter().any(|s| s.is_empty()) {
            return Err(ApiError::new(
                "InvalidParameter",
                format!("The parameter name `{key}` is malformed."),
            ));
        }
        let conflict = || {
            ApiError::new(
                "InvalidParameter",
                format!("The parameter `{key}` conflicts with another parameter."),
            )
        };
        let mut level = &mut root;
        for (i, seg) in segments.iter().enumerate() {
            let last = i + 1 == segments.len();
            if last {
                if level.contains_key(*seg) {
                    return Err(conflict());
                }
                level.insert(seg.to_string(), Node::Leaf(value.clone()));
            } else {
                let entry = level
                    .entry(seg.to_string())
                    .or_insert_with(|| Node::Branch(BTreeMap::new()));
                match entry {
                    Node::Branch(children) => level = children,
                    Node::Leaf(_) => return Err(conflict()),
                }
            }
        }
    }
    Ok(root
        .into_iter()
        .map(|(k, v)| (k, node_to_value(v)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn unflatten_builds_arrays_and_objects() {
        let m = unflatten(&pairs(&[
            ("InstanceIds.1", "ins-b"),
            ("InstanceIds.0", "ins-a"),
            ("Filters.0.Name", "zone"),
            ("Filters.0.Values.0", "ap-guangzhou-3"),
            ("Limit", "20"),
        ]))
        .unwrap();
        assert_eq!(
            Value::Object(m),
            json!({
                "InstanceIds": ["ins-a", "ins-b"],
                "Filters": [{"Name": "zone", "Values": ["ap-guangzhou-3"]}],
                "Limit": "20"
            })
        );
        assert!(unflatten(&pairs(&[("A", "1"), ("A.B", "2")])).is_err());
        assert!(unflatten(&pairs(&[("A..B", "1")])).is_err());
    }

    #[test]
    fn typed_access() {
        let v = json!({"Limit": 5, "Ids": ["a", "b"], "P": {"Zone": "z"}, "B": "TRUE", "S": 3});
        let m = v.as_object().unwrap();
        let p = Params::root(m, false);
        assert_eq!(p.int("Limit").unwrap(), Some(5));
        assert_eq!(p.string_list("Ids").unwrap().unwrap(), vec!["a", "b"]);
        assert_eq!(
            p.object("P")
                .unwrap()
                .unwrap()
                .required_string("Zone")
                .unwrap(),
            "z"
        );
        assert_eq!(p.boolean("B").unwrap(), Some(true));
        let e = p.string("S").unwrap_err();
        assert_eq!(e.code, "InvalidParameter");
        let e = p
            .object("P")
            .unwrap()
            .unwrap()
            .required_string("X")
            .unwrap_err();
        assert_eq!(e.code, "MissingParameter");
        assert!(e.message.contains("P.X"));
        let e = p.check_known(&["Limit"]).unwrap_err();
        assert_eq!(e.code, "UnknownParameter");
        // Flat (lenient) values are strings.
        let v = json!({"Limit": "7"});
        let lp = Params::root(v.as_object().unwrap(), true);
        assert_eq!(lp.int("Limit").unwrap(), Some(7));
        let sp = Params::root(v.as_object().unwrap(), false);
        assert_eq!(sp.int("Limit").unwrap_err().code, "InvalidParameter");
    }
}
