//! Idempotency tokens of create calls (Tencent and Alibaba `ClientToken`, Huawei
//! `X-Client-Token`), derived deterministically so that a create retried after a timeout or
//! a crash reuses the token of the first attempt. Pure functions, no I/O.
//!
//! The documented rules the derivation satisfies (docs/provider-contract.md, "Idempotency
//! tokens across the three clouds"):
//!
//! * Huawei: the token must be a case-sensitive UUID `8-4-4-4-12` (else `Ecs.0123`); the
//!   same token with different parameters is `Ecs.0122`; a token lives 8 hours (`Ecs.0124`).
//!   Source: ECS API reference "Idempotent Requests",
//!   <https://support.huaweicloud.com/intl/en-us/api-ecs/en-us_topic_0000001105258814.html>.
//! * Alibaba: at most 64 ASCII characters; the same token with different parameters is
//!   `IdempotentParameterMismatch` (400). Sources: SDK `alibabacloud-ecs20140526` 7.11.8
//!   `RunInstancesRequest.client_token`; AlibabaCloudDocs/ecs `Call methods/Response
//!   results.md`; <https://help.aliyun.com/document_detail/25693.html>.
//! * Tencent: at most 64 ASCII characters (`InvalidClientToken.TooLong`). Source:
//!   `tencentcloud-sdk-python-cvm` 3.1.178 `models.py` `RunInstancesRequest.ClientToken`,
//!   `errorcodes.py`.
//!
//! A lowercase hyphenated UUID (36 ASCII characters) satisfies all three. The UUID is
//! name-based with SHA-256, laid out as RFC 9562 version 8 (§5.8; Appendix B.2 shows this
//! SHA-256 name-based use), since version 5 is defined for SHA-1 only.

use sha2::{Digest, Sha256};

use super::types::{ChargeType, Disk, Login, Network, ProviderExtras, RunRequest};

/// Separates the token derivations of this module from any other use of SHA-256.
const DOMAIN: &[u8] = b"cloudinstance-controller/create-token/v1";

/// The idempotency token of the create request `req` for the object `uid` in its
/// `incarnation`.
///
/// The same object, incarnation and request always give the same token (a retry after a
/// crash creates nothing twice); a changed request (a spec fixed after a failed create, a
/// dry run instead of the real create) gives a different token, so no cloud sees "the same
/// token with different parameters" (Alibaba `IdempotentParameterMismatch`, Huawei
/// `Ecs.0122`) and a dry run never answers for the real create.
/// `req.client_token` itself is ignored.
pub fn create_token(uid: &str, incarnation: i32, req: &RunRequest) -> String {
    let mut h = Sha256::new();
    field(&mut h, DOMAIN);
    field(&mut h, uid.as_bytes());
    field(&mut h, incarnation.to_string().as_bytes());
    field(&mut h, &request_fingerprint(req));
    uuid_from_digest(&h.finalize())
}

/// SHA-256 over every parameter of a create request that reaches the cloud, in a fixed
/// field order with length-prefixed values. The password is represented only by its
/// presence: its value must not be recoverable from a token (Huawei tags servers with a
/// digest of the token), so a change of the password alone keeps the token.
pub fn request_fingerprint(req: &RunRequest) -> [u8; 32] {
    // Exhaustive destructuring: a new field of RunRequest fails to compile here until it is
    // decided whether it belongs to the fingerprint.
    let RunRequest {
        region,
        zone,
        image_id,
        instance_type,
        instance_name,
        hostname,
        count,
        system_disk,
        data_disks,
        network,
        login,
        tags,
        user_data,
        charge_type,
        client_token: _,
        dry_run,
        extras,
    } = req;
    let Network {
        vpc_id,
        subnet_id,
        security_group_ids,
        public_bandwidth_mbps,
    } = network;
    let Login {
        key_ids,
        password,
        keep_image_login,
    } = login;
    let ProviderExtras { tencent_project_id } = extras;

    let mut h = Sha256::new();
    let s = |h: &mut Sha256, v: &str| field(h, v.as_bytes());
    let o = |h: &mut Sha256, v: &Option<String>| match v {
        None => field(h, b"\x00none"),
        Some(v) => field(h, format!("some:{v}").as_bytes()),
    };
    let disk = |h: &mut Sha256, d: &Disk| {
        o(h, &d.disk_type);
        field(h, d.size_gb.to_string().as_bytes());
    };
    s(&mut h, region);
    s(&mut h, zone);
    s(&mut h, image_id);
    s(&mut h, instance_type);
    o(&mut h, instance_name);
    o(&mut h, hostname);
    s(&mut h, &count.to_string());
    match system_disk {
        None => field(&mut h, b"\x00none"),
        Some(d) => disk(&mut h, d),
    }
    s(&mut h, &data_disks.len().to_string());
    for d in data_disks {
        disk(&mut h, d);
    }
    o(&mut h, vpc_id);
    o(&mut h, subnet_id);
    s(&mut h, &security_group_ids.len().to_string());
    for g in security_group_ids {
        s(&mut h, g);
    }
    o(&mut h, &public_bandwidth_mbps.map(|b| b.to_string()));
    s(&mut h, &key_ids.len().to_string());
    for k in key_ids {
        s(&mut h, k);
    }
    s(&mut h, if password.is_some() { "password" } else { "-" });
    s(&mut h, if *keep_image_login { "keep" } else { "-" });
    s(&mut h, &tags.len().to_string());
    for (k, v) in tags {
        s(&mut h, k);
        s(&mut h, v);
    }
    o(&mut h, user_data);
    s(
        &mut h,
        match charge_type {
            ChargeType::OnDemand => "on-demand",
            ChargeType::Prepaid => "prepaid",
            ChargeType::Spot => "spot",
        },
    );
    s(&mut h, if *dry_run { "dry-run" } else { "create" });
    o(&mut h, &tencent_project_id.map(|p| p.to_string()));
    h.finalize().into()
}

/// A UUID for any token string: the token itself when it already is a lowercase
/// 8-4-4-4-12 UUID, otherwise a name-based UUID of it (Huawei `X-Client-Token` accepts
/// UUIDs only; callers such as the CLI may pass any string).
pub fn uuid_for(token: &str) -> String {
    if is_uuid(token) {
        return token.to_owned();
    }
    let mut h = Sha256::new();
    field(&mut h, b"cloudinstance-controller/token-uuid/v1");
    field(&mut h, token.as_bytes());
    uuid_from_digest(&h.finalize())
}

/// Whether `s` has the form Huawei documents for `X-Client-Token`: 8-4-4-4-12 hex digits
/// (lowercase, as this module produces them).
pub fn is_uuid(s: &str) -> bool {
    is_uuid_any_case(s) && !s.bytes().any(|c| c.is_ascii_uppercase())
}

/// Whether `s` is 8-4-4-4-12 hex digits, in either case.
pub fn is_uuid_any_case(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// The first 16 bytes of a digest as an RFC 9562 version-8 UUID (version nibble 8,
/// variant bits `10`), lowercase and hyphenated.
pub fn uuid_from_digest(digest: &[u8]) -> String {
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
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

/// Hashes one length-prefixed value, so that no two field sequences collide.
fn field(h: &mut Sha256, v: &[u8]) {
    h.update((v.len() as u64).to_be_bytes());
    h.update(v);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::SecretString;

    const UID: &str = "3f1c2b4e-8d9a-4c1b-9e2f-0a1b2c3d4e5f";

    fn req() -> RunRequest {
        RunRequest {
            region: "cn-north-4".into(),
            zone: "cn-north-4a".into(),
            image_id: "img-1".into(),
            instance_type: "s6.large.2".into(),
            instance_name: Some("web".into()),
            count: 1,
            system_disk: Some(Disk {
                disk_type: Some("SSD".into()),
                size_gb: 40,
            }),
            network: Network {
                vpc_id: Some("vpc-1".into()),
                subnet_id: Some("subnet-1".into()),
                security_group_ids: vec!["sg-1".into()],
                public_bandwidth_mbps: Some(5),
            },
            login: Login {
                password: Some(SecretString::new("Passw0rd!")),
                ..Default::default()
            },
            tags: [("team".to_string(), "a".to_string())].into(),
            ..Default::default()
        }
    }

    #[test]
    fn token_is_a_uuid_every_cloud_accepts() {
        let t = create_token(UID, 0, &req());
        assert!(is_uuid(&t), "{t}");
        assert_eq!(t.len(), 36);
        assert!(t.is_ascii() && t.len() <= 64);
        // Version 8, RFC 9562 variant.
        assert_eq!(&t[14..15], "8");
        assert!(matches!(&t[19..20], "8" | "9" | "a" | "b"), "{t}");
    }

    #[test]
    fn same_object_incarnation_and_request_give_the_same_token() {
        assert_eq!(create_token(UID, 0, &req()), create_token(UID, 0, &req()));
        // The token field of the request itself does not matter.
        let mut r = req();
        r.client_token = Some("anything".into());
        assert_eq!(create_token(UID, 0, &r), create_token(UID, 0, &req()));
        // Neither does the password's value (only its presence).
        let mut r = req();
        r.login.password = Some(SecretString::new("other"));
        assert_eq!(create_token(UID, 0, &r), create_token(UID, 0, &req()));
    }

    #[test]
    fn object_incarnation_or_any_parameter_change_gives_a_new_token() {
        let base = create_token(UID, 0, &req());
        assert_ne!(create_token(UID, 1, &req()), base);
        assert_ne!(
            create_token("4f1c2b4e-8d9a-4c1b-9e2f-0a1b2c3d4e5f", 0, &req()),
            base
        );
        type Change = (&'static str, fn(&mut RunRequest));
        let changes: Vec<Change> = vec![
            ("dry run", |r| r.dry_run = true),
            ("image", |r| r.image_id = "img-2".into()),
            ("type", |r| r.instance_type = "s6.xlarge.2".into()),
            ("zone", |r| r.zone = "cn-north-4b".into()),
            ("name", |r| r.instance_name = None),
            ("hostname", |r| r.hostname = Some("h".into())),
            ("count", |r| r.count = 2),
            ("system disk", |r| r.system_disk = None),
            ("data disk", |r| {
                r.data_disks.push(Disk {
                    disk_type: None,
                    size_gb: 10,
                })
            }),
            ("vpc", |r| r.network.vpc_id = Some("vpc-2".into())),
            ("subnet", |r| r.network.subnet_id = None),
            ("sg", |r| r.network.security_group_ids.push("sg-2".into())),
            ("bandwidth", |r| r.network.public_bandwidth_mbps = None),
            ("key", |r| r.login.key_ids.push("kp-1".into())),
            ("no password", |r| r.login.password = None),
            ("keep login", |r| r.login.keep_image_login = true),
            ("tag value", |r| {
                r.tags.insert("team".into(), "b".into());
            }),
            ("user data", |r| r.user_data = Some("#!/bin/sh".into())),
            ("charge", |r| r.charge_type = ChargeType::Prepaid),
            ("project", |r| r.extras.tencent_project_id = Some(7)),
            ("region", |r| r.region = "cn-south-1".into()),
        ];
        let mut seen = std::collections::BTreeSet::from([base.clone()]);
        for (what, change) in changes {
            let mut r = req();
            change(&mut r);
            let t = create_token(UID, 0, &r);
            assert!(seen.insert(t), "{what}: token did not change");
        }
    }

    #[test]
    fn fields_are_length_prefixed() {
        // "ab" + "c" must differ from "a" + "bc".
        let mut a = req();
        a.image_id = "ab".into();
        a.instance_type = "c".into();
        let mut b = req();
        b.image_id = "a".into();
        b.instance_type = "bc".into();
        assert_ne!(request_fingerprint(&a), request_fingerprint(&b));
        let mut a = req();
        a.instance_name = None;
        let mut b = req();
        b.instance_name = Some(String::new());
        assert_ne!(request_fingerprint(&a), request_fingerprint(&b));
    }

    #[test]
    fn uuid_for_keeps_uuids_and_maps_other_strings_deterministically() {
        let u = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9";
        assert_eq!(uuid_for(u), u);
        let t = uuid_for("cic-it-token-0001");
        assert!(is_uuid(&t), "{t}");
        assert_eq!(t, uuid_for("cic-it-token-0001"));
        assert_ne!(t, uuid_for("cic-it-token-0002"));
        // Uppercase is a different string for Huawei (case-sensitive), mapped like any other.
        assert_ne!(uuid_for(&u.to_uppercase()), u);
        assert!(is_uuid(&uuid_for(&u.to_uppercase())));
    }

    #[test]
    fn is_uuid_checks_the_8_4_4_4_12_form() {
        assert!(is_uuid("0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"));
        for bad in [
            "",
            "0f1e2d3c4b5a49788695a4b3c2d1e0f9",
            "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9-0",
            "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0fg",
            "0f1e2d3c-4b5a4-978-8695-a4b3c2d1e0f9",
            "0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9",
        ] {
            assert!(!is_uuid(bad), "{bad}");
        }
    }
}
