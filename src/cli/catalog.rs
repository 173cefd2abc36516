//! `catalog`: what a cloud offers (regions, zones, images, instance types).

use clap::Subcommand;
use cloudinstance_controller::provider::CloudProvider;

use super::cloud::{CloudArgs, provider_from, table};

#[derive(Subcommand)]
pub enum CatalogWhat {
    /// Regions the account can use.
    Regions {
        #[command(flatten)]
        cloud: CloudArgs,
    },
    /// Availability zones of a region.
    Zones {
        #[command(flatten)]
        cloud: CloudArgs,
        /// Region whose zones to list.
        #[arg(long)]
        region: String,
    },
    /// Images (public and the account's own) usable in a region.
    Images {
        #[command(flatten)]
        cloud: CloudArgs,
        /// Region whose images to list.
        #[arg(long)]
        region: String,
    },
    /// Instance types offered in a region (or one zone of it).
    InstanceTypes {
        #[command(flatten)]
        cloud: CloudArgs,
        /// Region whose instance types to list.
        #[arg(long)]
        region: String,
        /// Only the types sold in this zone.
        #[arg(long)]
        zone: Option<String>,
    },
}

pub async fn catalog(what: CatalogWhat) -> Result<(), String> {
    match what {
        CatalogWhat::Regions { cloud } => {
            let p = provider_from(&cloud)?;
            let rows = p.regions().await.map_err(|e| e.to_string())?;
            table(
                &["REGION", "NAME", "AVAILABLE"],
                rows.into_iter()
                    .map(|r| vec![r.id, r.name, r.available.to_string()])
                    .collect(),
            );
        }
        CatalogWhat::Zones { cloud, region } => {
            let p = provider_from(&cloud)?;
            let rows = p.zones(&region).await.map_err(|e| e.to_string())?;
            table(
                &["ZONE", "NAME", "AVAILABLE"],
                rows.into_iter()
                    .map(|r| vec![r.id, r.name, r.available.to_string()])
                    .collect(),
            );
        }
        CatalogWhat::Images { cloud, region } => {
            let p = provider_from(&cloud)?;
            let rows = p.images(&region).await.map_err(|e| e.to_string())?;
            table(
                &["IMAGE", "NAME", "OS", "TYPE"],
                rows.into_iter()
                    .map(|r| vec![r.id, r.name, r.os_name, r.image_type])
                    .collect(),
            );
        }
        CatalogWhat::InstanceTypes {
            cloud,
            region,
            zone,
        } => {
            let p = provider_from(&cloud)?;
            let rows = p
                .instance_types(&region, zone.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            table(
                &["TYPE", "ZONE", "FAMILY", "CPU", "MEMORY(GB)"],
                rows.into_iter()
                    .map(|r| {
                        vec![
                            r.id,
                            r.zone,
                            r.family,
                            r.cpu.to_string(),
                            r.memory_gb.to_string(),
                        ]
                    })
                    .collect(),
            );
        }
    }
    Ok(())
}
