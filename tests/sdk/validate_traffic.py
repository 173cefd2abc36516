"""Check recorded cloud API requests against the vendors' official SDK request models.

Input: a JSON file (argv[1]) holding the emulator's request log (`GET /_emulator/requests`):
a list of {cloud, action, method, path, query: [[k, v]], form: [[k, v]], json, headers}.

Only the official SDKs decide (our emulator's routing is never trusted):

* Tencent (tencentcloud-sdk-python-cvm): the action is a `CvmClient` method with a
  `models.<Action>Request` class; `X-TC-Version` is the client's API version; every JSON field
  at every depth is a property of the model class the SDK itself deserializes it into
  (nested classes are the ones `_deserialize` builds); `ClientToken` is ASCII, <= 64.
* Alibaba (alibabacloud-ecs20140526): the action has a `Client.<snake>_with_options` method
  and a `models.<Action>Request`; every query/form name, RPC-flattened (`InstanceId.1`,
  `Tag.1.Key`), is a wire name of that model (walking `to_map` and the nested models'
  `to_map`, lists as `.N`) or one `_with_options` sends, or a common RPC parameter; integer
  and boolean fields parse as such; `Version` is the SDK's; `ClientToken` ASCII <= 64; a V3
  request (`x-acs-action`) has the SDK's `x-acs-date` format, a nonce and no V2 parameters.
* Huawei (huaweicloudsdkecs / ims / and any other installed huaweicloudsdk* v2/v3 client):
  method + path match a `_<op>_http_info` method + resource path template of an SDK client;
  query names and headers are the op's; the JSON body's names at every depth are in the body
  models' `attribute_map`, with their `openapi_types`, and carries every attribute the model
  requires (the generated `__init__` assigns it without `if x is not None`);
  `X-Client-Token` is an 8-4-4-4-12 UUID.

Prints every violation, one per line, and exits 1 if there is any (2 on bad input).
"""

import importlib
import inspect
import json
import re
import sys
import warnings
from collections import Counter

VIOLATIONS = []
CHECKED = Counter()


def violation(req, msg):
    where = f"#{req.get('seq', '?')} {req.get('cloud')} {req.get('method')} {req.get('path')}"
    action = req.get("action") or "?"
    VIOLATIONS.append(f"{where} [{action}]: {msg}")


def ascii_token(req, name, value, limit=64):
    if not isinstance(value, str) or not value:
        violation(req, f"{name} {value!r}: not a non-empty string")
    elif not value.isascii() or len(value) > limit:
        violation(req, f"{name} {value!r}: must be ASCII and at most {limit} characters")


def headers_of(req):
    return {k.lower(): v for k, v in (req.get("headers") or {}).items()}


# ---------------------------------------------------------------------------------------
# Tencent

def tencent_type_ok(t, v):
    """A JSON value against a Tencent model property's `:rtype:` (str, int, bool, float,
    `list of X`, a model class)."""
    if v is None or not t:
        return True
    if t.startswith("list of "):
        return isinstance(v, list) and all(tencent_type_ok(t[8:], x) for x in v)
    if t == "str":
        return isinstance(v, str)
    if t == "int":
        return isinstance(v, int) and not isinstance(v, bool)
    if t == "bool":
        return isinstance(v, bool)
    if t == "float":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t.startswith(":class:") or t[:1].isupper():
        return isinstance(v, dict)
    return True


def tencent(req):
    from tencentcloud.common.abstract_model import AbstractModel
    from tencentcloud.cvm.v20170312 import cvm_client, models

    h = headers_of(req)
    action = h.get("x-tc-action") or dict(req.get("query") or []).get("Action")
    if not action:
        violation(req, "no X-TC-Action header")
        return
    client = cvm_client.CvmClient
    if not callable(getattr(client, action, None)):
        violation(req, f"action {action}: CvmClient has no such method")
        return
    cls = getattr(models, action + "Request", None)
    if cls is None:
        violation(req, f"action {action}: no models.{action}Request")
        return
    version = h.get("x-tc-version")
    if version != client._apiVersion:
        violation(req, f"X-TC-Version {version!r}, the SDK's CvmClient uses {client._apiVersion!r}")
    body = req.get("json")
    if req.get("form") or (req.get("query") and body is None):
        violation(req, "parameters outside a JSON body (only signature v3 JSON bodies are checked)")
        return
    if body is None:
        body = {}
    if not isinstance(body, dict):
        violation(req, f"body is not a JSON object: {body!r}")
        return

    def walk(obj, data, path):
        if not isinstance(data, dict):
            violation(req, f"{path}: expected an object for {type(obj).__name__}, got {data!r}")
            return
        for k, v in data.items():
            prop = getattr(type(obj), k, None)
            if not isinstance(prop, property):
                violation(req, f"{path}.{k}: not a field of tencentcloud.cvm.v20170312.models.{type(obj).__name__}")
                continue
            m = re.search(r":rtype: (.+)", prop.__doc__ or "")
            t = m.group(1).strip() if m else ""
            if not tencent_type_ok(t, v):
                violation(req, f"{path}.{k}={v!r}: models.{type(obj).__name__}.{k} is {t}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                obj._deserialize(data)
            except Exception as e:  # a value of the wrong shape
                violation(req, f"{path}: {type(obj).__name__} cannot deserialize it: {e!r}")
                return
        for k, v in data.items():
            if not isinstance(getattr(type(obj), k, None), property):
                continue
            sub = getattr(obj, k, None)
            if isinstance(sub, AbstractModel):
                walk(sub, v, f"{path}.{k}")
            elif isinstance(sub, list) and isinstance(v, list):
                for i, (s, d) in enumerate(zip(sub, v)):
                    if isinstance(s, AbstractModel):
                        walk(s, d, f"{path}.{k}[{i}]")

    walk(cls(), body, "$")
    if "ClientToken" in body:
        ascii_token(req, "ClientToken", body["ClientToken"])
    CHECKED[("tencent", action)] += 1


# ---------------------------------------------------------------------------------------
# Alibaba

ALI_COMMON = {
    "Action", "Version", "Format", "AccessKeyId", "Signature", "SignatureMethod",
    "SignatureVersion", "SignatureNonce", "SignatureType", "Timestamp", "SecurityToken",
}
_ali_cache = {}


def snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def ali_wire_names(M, cls, prefix=""):
    """{wire name pattern: annotation} of a request model (lists as `.N`), walking to_map."""
    key = (cls.__name__, prefix)
    if key in _ali_cache:
        return _ali_cache[key]
    src = inspect.getsource(cls.to_map)
    pairs = re.findall(r"if self\.(\w+) is not None:\s*\n\s*result\['([^']+)'\]", src)
    pairs += [(a, k) for k, a in re.findall(r"result\['([^']+)'\] = \[\]\s*\n\s*if self\.(\w+)", src)]
    ann = inspect.signature(cls.__init__).parameters
    out = {}
    for attr, wire in pairs:
        t = str(ann[attr].annotation) if attr in ann else "str"
        is_list = t.startswith("List[") or t.startswith("typing.List[")
        sub = re.search(r"main_models\.(\w+)", t)
        base = prefix + wire + (".N" if is_list else "")
        if sub and hasattr(M, sub.group(1)):
            out.update(ali_wire_names(M, getattr(M, sub.group(1)), base + "."))
        else:
            inner = re.sub(r"^(typing\.)?List\[(.*)\]$", r"\2", t)
            out[base] = inner
    _ali_cache[key] = out
    return out


def alibaba(req):
    from alibabacloud_ecs20140526 import models as M
    from alibabacloud_ecs20140526.client import Client

    h = headers_of(req)
    pairs = list(req.get("query") or []) + list(req.get("form") or [])
    params = {}
    for k, v in pairs:
        params.setdefault(k, v)
    action = h.get("x-acs-action") or params.get("Action")
    if not action:
        violation(req, "no Action")
        return
    method = getattr(Client, snake(action) + "_with_options", None)
    cls = getattr(M, action + "Request", None)
    if method is None or cls is None:
        violation(req, f"action {action}: the SDK has no Client.{snake(action)}_with_options / models.{action}Request")
        return
    src = inspect.getsource(method)
    m = re.search(r"version\s*=\s*'([^']+)'", src)
    sdk_version = m.group(1) if m else None
    version = h.get("x-acs-version") or params.get("Version")
    if sdk_version and version != sdk_version:
        violation(req, f"Version {version!r}, the SDK sends {sdk_version!r}")
    allowed = dict(ali_wire_names(M, cls))
    for wire in re.findall(r"(?:query|body)\['([^']+)'\]\s*=", src):
        allowed.setdefault(wire, "str")
    for k, v in pairs:
        if k in ALI_COMMON:
            continue
        pattern = re.sub(r"\.\d+(?=\.|$)", ".N", k)
        if pattern not in allowed:
            violation(req, f"parameter {k}: not a wire name of alibabacloud_ecs20140526.models.{action}Request")
            continue
        t = allowed[pattern]
        if t in ("int", "<class 'int'>") and not re.fullmatch(r"-?\d+", v):
            violation(req, f"parameter {k}={v!r}: the model says int")
        if t in ("bool", "<class 'bool'>") and v not in ("true", "false"):
            violation(req, f"parameter {k}={v!r}: the model says bool (true/false)")
    for k in params:
        if re.search(r"\.0(\.|$)", k):
            violation(req, f"parameter {k}: RPC list indexes start at 1")
    if "ClientToken" in params:
        ascii_token(req, "ClientToken", params["ClientToken"])
    if req.get("json") is not None:
        violation(req, "a JSON body: the RPC API takes query/form parameters")
    if h.get("x-acs-action"):
        # Signature V3, as the SDK sends it (alibabacloud_tea_openapi Client.call_api): the
        # date as Utils.get_timestamp formats it, a nonce, and none of the V2 parameters.
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", h.get("x-acs-date") or ""):
            violation(req, f"x-acs-date {h.get('x-acs-date')!r}: the SDK sends yyyy-MM-ddTHH:mm:ssZ")
        if not h.get("x-acs-signature-nonce"):
            violation(req, "a V3 request without x-acs-signature-nonce")
        v2 = sorted(k for k in params if k in ALI_COMMON and k not in ("SecurityToken",))
        if v2:
            violation(req, f"V2 common parameters in a V3 request: {v2}")
    CHECKED[("alibaba", action)] += 1


# ---------------------------------------------------------------------------------------
# Huawei

HW_CLIENTS = [
    ("huaweicloudsdkecs.v2", "EcsClient"),
    ("huaweicloudsdkims.v2", "ImsClient"),
    ("huaweicloudsdkvpc.v3", "VpcClient"),
    ("huaweicloudsdkvpc.v2", "VpcClient"),
    ("huaweicloudsdkiam.v3", "IamClient"),
    ("huaweicloudsdkbss.v2", "BssClient"),
]
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
HW_COMMON_HEADERS = {"content-type", "x-sdk-date", "x-project-id", "host", "authorization"}
_hw_ops = None


def camel(s):
    return "".join(p[:1].upper() + p[1:] for p in s.split("_"))


def hw_ops():
    """Every operation of the installed Huawei SDK clients: (pkg, op, method, template regex,
    literal segment count, query names, header names, body class name or None)."""
    global _hw_ops
    if _hw_ops is not None:
        return _hw_ops
    _hw_ops = []
    for pkg_name, client_name in HW_CLIENTS:
        try:
            pkg = importlib.import_module(pkg_name)
        except ImportError:
            continue
        client = getattr(pkg, client_name)
        for attr in dir(client):
            m = re.fullmatch(r"_(\w+)_http_info", attr)
            if not m:
                continue
            op = camel(m.group(1))
            rcls = getattr(pkg, op + "Request", None)
            if rcls is None:
                continue
            try:
                info = getattr(client, attr)(rcls())
            except Exception:
                continue
            tpl = info["resource_path"]
            rx = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(tpl)) + "$")
            literal = sum(1 for s in tpl.split("/") if s and not s.startswith("{"))
            query = {q[0] for q in info.get("query_params") or []}
            headers = {k.lower() for k in (info.get("header_params") or {})}
            body_t = rcls.openapi_types.get("body") if "body" in rcls.attribute_map else None
            _hw_ops.append((pkg, op, info["method"].upper(), tpl, rx, literal, query, headers, body_t))
    return _hw_ops


def hw_type_ok(t, v):
    if v is None:
        return True
    if t == "str":
        return isinstance(v, str)
    if t == "int":
        return isinstance(v, int) and not isinstance(v, bool)
    if t == "bool":
        return isinstance(v, bool)
    if t == "float":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t.startswith("list["):
        return isinstance(v, list)
    if t.startswith("dict("):
        return isinstance(v, dict)
    return True  # object, date, models (walked separately)


_hw_required = {}


def hw_required(cls):
    """Attributes the model requires: its generated `__init__` assigns them unconditionally
    (optional ones are guarded by `if x is not None:`)."""
    if cls not in _hw_required:
        src = inspect.getsource(cls.__init__)
        lines = src.splitlines()
        req = set()
        for i, line in enumerate(lines):
            m = re.fullmatch(r"\s*self\.(\w+) = (\w+)\s*", line)
            if m and m.group(1) == m.group(2) and m.group(1) in cls.attribute_map:
                prev = lines[i - 1].strip() if i else ""
                if not prev.startswith("if "):
                    req.add(m.group(1))
        _hw_required[cls] = req
    return _hw_required[cls]


def hw_body_errors(pkg, name, data, path):
    cls = getattr(pkg, name, None)
    if cls is None:
        return [f"{path}: no model {pkg.__name__}.{name}"]
    if not isinstance(data, dict):
        return [f"{path}: expected an object for {pkg.__name__}.{name}, got {data!r}"]
    rev = {js: py for py, js in cls.attribute_map.items()}
    errs = [
        f"{path}.{cls.attribute_map[a]}: required by {pkg.__name__}.{name}, missing"
        for a in sorted(hw_required(cls))
        if data.get(cls.attribute_map[a]) is None
    ]
    for k, v in data.items():
        if k not in rev:
            errs.append(f"{path}.{k}: not in {pkg.__name__}.{name}.attribute_map")
            continue
        t = cls.openapi_types[rev[k]]
        if not hw_type_ok(t, v):
            errs.append(f"{path}.{k}={v!r}: {pkg.__name__}.{name} says {t}")
            continue
        lm = re.fullmatch(r"list\[(\w+)\]", t)
        inner = lm.group(1) if lm else t
        if inner[:1].isupper() and inner != "Object" and hasattr(pkg, inner):
            items = v if lm else [v]
            for i, it in enumerate(items or []):
                sub = f"{path}.{k}" + (f"[{i}]" if lm else "")
                errs += hw_body_errors(pkg, inner, it, sub)
        elif lm and inner in ("str", "int", "bool"):
            for i, it in enumerate(v):
                if not hw_type_ok(inner, it):
                    errs.append(f"{path}.{k}[{i}]={it!r}: {pkg.__name__}.{name} says {t}")
    return errs


def huawei(req):
    method = (req.get("method") or "").upper()
    path = req.get("path") or ""
    cands = [o for o in hw_ops() if o[2] == method and o[4].match(path)]
    if not cands:
        violation(req, f"no operation of the installed Huawei SDK clients is {method} {path}")
        return
    h = headers_of(req)
    query = [k for k, _ in req.get("query") or []]
    body = req.get("json")
    results = []
    for pkg, op, _m, tpl, _rx, literal, qnames, hnames, body_t in cands:
        errs = [f"query parameter {k}: not one of {op}'s ({sorted(qnames)})" for k in query if k not in qnames]
        for k in h:
            if k not in HW_COMMON_HEADERS and k not in hnames:
                errs.append(f"header {k}: {op} sends no such header")
        if body is not None:
            if body_t is None:
                errs.append(f"a JSON body, but {op}Request has no body")
            else:
                errs += hw_body_errors(pkg, body_t, body, "$")
        elif body_t is not None and method in ("POST", "PUT"):
            errs.append(f"no JSON body, {op}Request has one ({body_t})")
        results.append((len(errs), -literal, op, tpl, errs, pkg))
    results.sort(key=lambda r: (r[0], r[1]))
    n, _, op, tpl, errs, pkg = results[0]
    for e in errs:
        violation(req, f"{pkg.__name__} {op} ({method} {tpl}): {e}")
    if req.get("action") and req["action"] not in [r[2] for r in results if r[0] == n]:
        print(f"note: #{req.get('seq')} the emulator routes {method} {path} as {req['action']}, the SDK as {op}")
    token = h.get("x-client-token")
    if token is not None and not UUID.fullmatch(token):
        violation(req, f"X-Client-Token {token!r}: Huawei requires an 8-4-4-4-12 UUID (Ecs.0123)")
    CHECKED[("huawei", op)] += 1


def main():
    if len(sys.argv) != 2:
        print("usage: validate_traffic.py REQUESTS.json", file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        reqs = json.load(f)
    if not isinstance(reqs, list):
        print("the request log must be a JSON list", file=sys.stderr)
        return 2
    for req in reqs:
        cloud = req.get("cloud")
        check = {"tencent": tencent, "alibaba": alibaba, "huawei": huawei}.get(cloud)
        if check is None:
            violation(req, f"unknown cloud {cloud!r}")
        else:
            check(req)
    for (cloud, op), n in sorted(CHECKED.items()):
        print(f"checked {cloud} {op}: {n}")
    for v in VIOLATIONS:
        print("VIOLATION " + v)
    print(f"{len(reqs)} requests, {len(VIOLATIONS)} violations")
    return 1 if VIOLATIONS else 0


if __name__ == "__main__":
    sys.exit(main())
