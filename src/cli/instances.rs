//! `instances`: list the instances of a region (all, or the one a CloudInstance created).

use cloudinstance_controller::controller::context::TAG_UID;
use cloudinstance_controller::provider::{CloudProvider, DescribeFilter};

use super::cloud::{CloudArgs, provider_from, table};

pub async fn list(
    cloud: CloudArgs,
    region: String,
    tag_uid: Option<String>,
    name_contains: Option<String>,
) -> Result<(), String> {
    let p = provider_from(&cloud)?;
    let filter = match tag_uid {
        Some(uid) => DescribeFilter::Tag {
            key: TAG_UID.into(),
            value: uid,
        },
        None => DescribeFilter::All,
    };
    let list = p
        .describe_instances(&region, &filter)
        .await
        .map_err(|e| e.to_string())?;
    let needle = name_contains.map(|n| n.to_lowercase());
    let list: Vec<_> = list
        .into_iter()
        .filter(|d| {
            needle
                .as_ref()
                .is_none_or(|n| d.name.to_lowercase().contains(n))
        })
        .collect();
    table(
        &[
            "ID",
            "NAME",
            "STATE",
            "TYPE",
            "ZONE",
            "PRIVATE-IP",
            "PUBLIC-IP",
        ],
        list.into_iter()
            .map(|d| {
                vec![
                    d.id,
                    d.name,
                    d.provider_state,
                    d.instance_type,
                    d.zone,
                    d.private_ips.join(","),
                    d.public_ips.join(","),
                ]
            })
            .collect(),
    );
    Ok(())
}
