//! Cloud-neutral requests as ECS request bodies: the create body (tags, token tag,
//! charging, login), tag limits and the batch-action server lists.

use base64::Engine as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::provider::common::invalid;
use crate::provider::huawei::{TOKEN_TAG, wire};
use crate::provider::*;

/// Server tags per create: at most 10 (`Ecs.0905`), values of at most 43 characters.
/// Sources: SDK `huaweicloudsdkecs` 3.1.219 `v2/model/post_paid_server.py` `server_tags`,
/// `v2/model/post_paid_server_tag.py` (`value`: 0-43 characters); ECS error codes
/// https://support.huaweicloud.com/api-ecs/ecs_07_0002.html.
const MAX_SERVER_TAGS: usize = 10;
const MAX_TAG_VALUE_CHARS: usize = 43;
/// Keys of the tags the controller puts on every instance (`cloudinstance-uid`, `-name`,
/// `-namespace`, `-incarnation`; reserved for it by the CRD).
const OWN_TAG_PREFIX: &str = "cloudinstance-";

/// EIP types (`publicip.eip.iptype`) per region, where Huawei documents them: the EIP API
/// "申请弹性公网IP" `publicip.type` (https://support.huaweicloud.com/api-eip/eip_api_0001.html,
/// eip_api_0006.html; the same list in the official SDK, huaweicloud-sdk-python-v3
/// `huaweicloudsdkeip` model `PublicipInfoResponseBody.publicip_type`), which the ECS create
/// models point to (SDK post_paid_server_eip.py `iptype`: "详情请参见申请弹性公网IP"). The
/// pages name the regions in Chinese; the ids are those of Huawei's endpoint tables
/// (e.g. https://support.huaweicloud.com/intl/zh-cn/api-cdm/endpoint.html). First entry:
/// the type the client sends. 拉美-布宜诺斯艾利斯一, 拉美-利马一 and 拉美-圣地亚哥二 are
/// not ECS regions of the SDK (`huaweicloudsdkecs/v2/region/ecs_region.py`).
pub const EIP_TYPES_BY_REGION: &[(&str, &[&str])] = &[
    ("cn-south-1", &["5_bgp", "5_sbgp"]),           // 华南-广州
    ("cn-east-3", &["5_bgp", "5_sbgp"]),            // 华东-上海一
    ("cn-east-2", &["5_bgp", "5_sbgp"]),            // 华东-上海二
    ("cn-north-1", &["5_bgp", "5_sbgp"]),           // 华北-北京一
    ("ap-southeast-1", &["5_bgp", "5_youxuanbgp"]), // 中国-香港
    ("ap-southeast-2", &["5_bgp"]),                 // 亚太-曼谷
    ("ap-southeast-3", &["5_bgp"]),                 // 亚太-新加坡
    ("af-south-1", &["5_bgp"]),                     // 非洲-约翰内斯堡
    ("cn-southwest-2", &["5_sbgp"]),                // 西南-贵阳一: static BGP only
    ("cn-north-4", &["5_bgp", "5_sbgp"]),           // 华北-北京四
    ("la-south-2", &["5_bgp"]),                     // 拉美-圣地亚哥
    ("sa-brazil-1", &["5_bgp"]),                    // 拉美-圣保罗一
    ("na-mexico-1", &["5_bgp"]),                    // 拉美-墨西哥城一
];

/// The EIP type to request in `region`: the first documented type of the region, else
/// `5_bgp`, the documented default ("type字段未给定时，默认为5_bgp", same pages) for the
/// regions the pages do not list.
pub fn eip_type(region: &str) -> &'static str {
    EIP_TYPES_BY_REGION
        .iter()
        .find(|(r, _)| *r == region)
        .map_or("5_bgp", |(_, types)| types[0])
}

/// A tag value Huawei accepts. The controller's own informational tags (the object's name
/// can have 253 characters) are shortened to 34 characters, `-` and 8 hex digits of their
/// SHA-256 (43 in all); a user's value that is too long is an error before any call.
pub fn fit_tag_value(key: &str, value: &str) -> Result<String> {
    if value.chars().count() <= MAX_TAG_VALUE_CHARS {
        return Ok(value.to_owned());
    }
    if key.starts_with(OWN_TAG_PREFIX) {
        let head: String = value.chars().take(MAX_TAG_VALUE_CHARS - 9).collect();
        let digest = hex::encode(Sha256::digest(value.as_bytes()));
        return Ok(format!("{head}-{}", &digest[..8]));
    }
    Err(invalid(
        "InvalidTagValue",
        format!(
            "tag {key}: Huawei ECS accepts tag values of at most {MAX_TAG_VALUE_CHARS} characters"
        ),
    ))
}

/// Tag keys of at most this many characters (`post_paid_server_tag.py` `key`).
const MAX_TAG_KEY_CHARS: usize = 36;

/// A server tag's key and value against the model's character rules (SDK
/// `huaweicloudsdkecs/v2/model/post_paid_server_tag.py`: key 1-36 characters, neither key
/// nor value with ASCII 0-31 or `= * < > \ , |`, the key not `/` either), which the cloud
/// answers with Ecs.0906/Ecs.0907 (API 错误码): refused before any call. Value lengths are
/// [`fit_tag_value`]'s.
pub fn check_tag_chars(key: &str, value: &str) -> Result<()> {
    let forbidden = |c: char| (c as u32) < 32 || "=*<>\\,|".contains(c);
    let n = key.chars().count();
    if n == 0 || n > MAX_TAG_KEY_CHARS || key.chars().any(|c| forbidden(c) || c == '/') {
        return Err(invalid(
            "InvalidTagKey",
            format!(
                "tag {key:?}: Huawei ECS accepts tag keys of 1-{MAX_TAG_KEY_CHARS} characters \
                 without control characters or any of = * < > \\ , | /"
            ),
        ));
    }
    if value.chars().any(forbidden) {
        return Err(invalid(
            "InvalidTagValue",
            format!(
                "tag {key}: Huawei ECS accepts tag values without control characters or any \
                 of = * < > \\ , |"
            ),
        ));
    }
    Ok(())
}

/// The value of [`TOKEN_TAG`] for a client token: 40 hex digits of its SHA-256.
pub fn token_tag_value(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))[..40].to_owned()
}

/// The create request for `req`: its path (v1, or v1.1 for yearly/monthly) and body.
/// Disk types whose volumes need provisioned `iops` (and for GPSSD2 `throughput`).
pub const PROVISIONED_VOLUME_TYPES: &[&str] = &["GPSSD2", "ESSD2"];

/// Huawei security group ids are UUIDs of existing groups: "需要指定已有安全组的ID，UUID格式"
/// (SDK huaweicloudsdkecs/v2/model/post_paid_server_security_group.py and
/// pre_paid_server_security_group.py `id`; the VPC port calls take "安全组的ID列表",
/// huaweicloudsdkvpc/v3/model/insert_security_group_option.py). A name such as `default` or
/// `sg-web` is refused here, before any request, instead of by the cloud (Ecs.0014 at
/// create, VPC.0601 on a port). Whether the group exists only the cloud knows.
pub fn check_security_group_ids(ids: &[String]) -> Result<()> {
    match ids
        .iter()
        .find(|id| !crate::provider::token::is_uuid_any_case(id))
    {
        Some(bad) => Err(invalid(
            "InvalidSecurityGroupId",
            format!(
                "spec.network.securityGroupIds: `{bad}` is not a Huawei security group id \
                 (Huawei takes the UUID of an existing group, e.g. \
                 a0608cbf-d047-4f54-8b28-cd7b59853fff, not its name)"
            ),
        )),
        None => Ok(()),
    }
}

pub fn create_body(
    req: &RunRequest,
    token: &str,
    pid: &str,
    user_id: Option<&str>,
) -> Result<(String, Value)> {
    let vpc = req.network.vpc_id.clone().filter(|v| !v.is_empty());
    let subnet = req.network.subnet_id.clone().filter(|v| !v.is_empty());
    let (Some(vpc), Some(subnet)) = (vpc, subnet) else {
        return Err(invalid(
            "MissingNetwork",
            "Huawei ECS needs network.vpc_id and network.subnet_id",
        ));
    };
    check_security_group_ids(&req.network.security_group_ids)?;
    if req.login.key_ids.len() > 1 {
        return Err(invalid(
            "InvalidKeyName",
            "Huawei ECS injects at most one SSH key pair",
        ));
    }
    // GPSSD2 and ESSD2 need `iops` (and GPSSD2 `throughput`), "必填" for these types and not
    // settable for others (SDK huaweicloudsdkecs/v2/model/post_paid_server_root_volume.py,
    // post_paid_server_data_volume.py); a disk spec has no field for them, so such a
    // volume is refused here, before any request, instead of by the cloud.
    for d in req.system_disk.iter().chain(req.data_disks.iter()) {
        if let Some(t) = d
            .disk_type
            .as_deref()
            .filter(|t| PROVISIONED_VOLUME_TYPES.contains(t))
        {
            return Err(invalid(
                "UnsupportedDiskType",
                format!(
                    "Huawei disk type {t} needs provisioned IOPS{} at create, which a \
                     CloudInstance disk cannot carry; use GPSSD, ESSD, SSD, SAS or SATA",
                    if t == "GPSSD2" { " and throughput" } else { "" }
                ),
            ));
        }
    }
    let volume = |d: &Disk| wire::Volume {
        volumetype: d.disk_type.clone().unwrap_or_else(|| "GPSSD".into()),
        size: (d.size_gb > 0).then_some(d.size_gb),
    };
    let mut tags: Vec<wire::Tag> = req
        .tags
        .iter()
        .filter(|(k, _)| k.as_str() != TOKEN_TAG)
        .map(|(k, v)| {
            check_tag_chars(k, v)?;
            Ok(wire::Tag {
                key: k.clone(),
                value: fit_tag_value(k, v)?,
            })
        })
        .collect::<Result<_>>()?;
    tags.push(wire::Tag {
        key: TOKEN_TAG.into(),
        value: token_tag_value(token),
    });
    if tags.len() > MAX_SERVER_TAGS {
        let ours = tags
            .iter()
            .filter(|t| t.key.starts_with(OWN_TAG_PREFIX) || t.key == TOKEN_TAG)
            .count();
        return Err(invalid(
            "TooManyTags",
            format!(
                "Huawei ECS accepts at most {MAX_SERVER_TAGS} tags per server (Ecs.0905) and \
                 {ours} of them are the controller's: at most {} user tags",
                MAX_SERVER_TAGS.saturating_sub(ours)
            ),
        ));
    }
    let prepaid = req.charge_type == ChargeType::Prepaid;
    let extendparam = match req.charge_type {
        ChargeType::OnDemand => wire::ExtendParam {
            charging_mode: Some(json!(0)),
            ..Default::default()
        },
        ChargeType::Spot => wire::ExtendParam {
            charging_mode: Some(json!(0)),
            market_type: Some("spot"),
            ..Default::default()
        },
        ChargeType::Prepaid => wire::ExtendParam {
            charging_mode: Some(json!("prePaid")),
            period_type: Some("month"),
            period_num: Some(1),
            is_auto_pay: Some("true"),
            ..Default::default()
        },
    };
    let server = wire::CreateServer {
        image_ref: req.image_id.clone(),
        flavor_ref: req.instance_type.clone(),
        name: req
            .instance_name
            .clone()
            .or_else(|| req.hostname.clone())
            .unwrap_or_else(|| "cloudinstance".into()),
        vpcid: Some(vpc),
        nics: vec![wire::Nic { subnet_id: subnet }],
        root_volume: req
            .system_disk
            .as_ref()
            .map(volume)
            .unwrap_or(wire::Volume {
                volumetype: "GPSSD".into(),
                size: None,
            }),
        data_volumes: req.data_disks.iter().map(volume).collect(),
        security_groups: req
            .network
            .security_group_ids
            .iter()
            .map(|id| wire::SecurityGroupRef { id: id.clone() })
            .collect(),
        availability_zone: (!req.zone.is_empty()).then(|| req.zone.clone()),
        publicip: req
            .network
            .public_bandwidth_mbps
            .filter(|b| *b > 0)
            .map(|size| wire::PublicIp {
                eip: wire::Eip {
                    iptype: eip_type(&req.region),
                    bandwidth: wire::Bandwidth {
                        size,
                        sharetype: "PER",
                        chargemode: "traffic",
                    },
                },
            }),
        count: req.count.max(1),
        is_auto_rename: true,
        admin_pass: req.login.password.as_ref().map(|p| p.expose().to_owned()),
        key_name: req.login.key_ids.first().cloned(),
        user_data: req
            .user_data
            .as_ref()
            .map(|u| base64::engine::general_purpose::STANDARD.encode(u.as_bytes())),
        server_tags: tags,
        extendparam,
        // A yearly/monthly server created with a key pair needs the IAM user id (SDK
        // huaweicloudsdkecs/v2/model/pre_paid_server.py `metadata` op_svc_userid; API
        // https://support.huaweicloud.com/api-ecs/ecs_02_0101.html).
        metadata: match (prepaid, req.login.key_ids.first(), user_id) {
            (true, Some(_), Some(u)) => [("op_svc_userid".to_owned(), u.to_owned())].into(),
            (true, Some(_), None) => {
                return Err(invalid(
                    "UserIdUnknown",
                    "a yearly/monthly server with an SSH key needs the IAM user id",
                ));
            }
            _ => Default::default(),
        },
    };
    let path = if prepaid {
        format!("/v1.1/{}/cloudservers", pid)
    } else {
        format!("/v1/{}/cloudservers", pid)
    };
    let body = serde_json::to_value(wire::CreateServersBody {
        server,
        dry_run: req.dry_run,
    })
    .map_err(|e| invalid("InvalidBody", e.to_string()))?;
    Ok((path, body))
}

/// `[{"id": …}, …]`, the server list of the batch actions.
pub fn servers_json(ids: &[String]) -> Value {
    Value::Array(ids.iter().map(|id| json!({ "id": id })).collect())
}

/// The `os-change` body of a changeos (reinstall); `user_id` is the IAM user, needed with a
/// key pair.
/// `prepaid`: a yearly/monthly server, whose OS change may change the price; the order is
/// then paid from the account (`isAutoPay` "true", a string; default manual payment leaves
/// it waiting), API https://support.huaweicloud.com/api-ecs/ecs_02_0202.html 表3, SDK
/// huaweicloudsdkecs/v2/model/change_server_os_with_cloud_init_option.py `is_auto_pay`.
pub fn changeos_body(req: &ReinstallRequest, user_id: Option<String>, prepaid: bool) -> Value {
    let mut change = serde_json::Map::new();
    if prepaid {
        change.insert("isAutoPay".into(), json!("true"));
    }
    if let Some(u) = user_id {
        change.insert("userid".into(), json!(u));
    }
    change.insert("imageid".into(), json!(req.image_id));
    change.insert("mode".into(), json!("withStopServer"));
    if let Some(pw) = &req.login.password {
        change.insert("adminpass".into(), json!(pw.expose()));
    }
    if let Some(k) = req.login.key_ids.first() {
        change.insert("keyname".into(), json!(k));
    }
    json!({"os-change": Value::Object(change)})
}
