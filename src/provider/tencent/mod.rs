//! Tencent Cloud CVM (API 3.0, version 2017-03-12). PLACEHOLDER: being implemented.
use super::*;

#[derive(Clone, Debug)]
pub struct TencentClient {
    config: ClientConfig,
}

impl TencentClient {
    pub fn new(config: ClientConfig) -> Result<Self> {
        Ok(Self { config })
    }
}

impl CloudProvider for TencentClient {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Tencent
    }
    fn batch_limit(&self) -> usize {
        100
    }
    async fn run_instances(&self, _req: &RunRequest) -> Result<Vec<String>> {
        todo!("{:?}", self.config.endpoint)
    }
    async fn start_instances(&self, _region: &str, _ids: &[String]) -> Result<()> {
        todo!()
    }
    async fn stop_instances(&self, _region: &str, _ids: &[String], _mode: StopMode) -> Result<()> {
        todo!()
    }
    async fn reboot_instances(&self, _region: &str, _ids: &[String], _force: bool) -> Result<()> {
        todo!()
    }
    async fn terminate_instances(&self, _region: &str, _ids: &[String]) -> Result<()> {
        todo!()
    }
    async fn describe_status(&self, _region: &str, _ids: &[String]) -> Result<Vec<InstanceStatus>> {
        todo!()
    }
    async fn describe_instances(
        &self,
        _region: &str,
        _filter: &DescribeFilter,
    ) -> Result<Vec<InstanceDetails>> {
        todo!()
    }
    async fn modify_instance(
        &self,
        _region: &str,
        _id: &str,
        _change: &Modification,
    ) -> Result<()> {
        todo!()
    }
    async fn reinstall(&self, _region: &str, _id: &str, _req: &ReinstallRequest) -> Result<()> {
        todo!()
    }
    async fn resize(&self, _region: &str, _id: &str, _instance_type: &str) -> Result<()> {
        todo!()
    }
    async fn regions(&self) -> Result<Vec<Region>> {
        todo!()
    }
    async fn zones(&self, _region: &str) -> Result<Vec<Zone>> {
        todo!()
    }
    async fn images(&self, _region: &str) -> Result<Vec<Image>> {
        todo!()
    }
    async fn instance_types(
        &self,
        _region: &str,
        _zone: Option<&str>,
    ) -> Result<Vec<InstanceTypeInfo>> {
        todo!()
    }
}
