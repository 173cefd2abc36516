//! A harness for the Alibaba emulator unit tests: requests go through `actions::run` (the
//! same dispatch the HTTP handler uses, after authentication), as the demo account.

use serde_json::Value;

use crate::app::AppState;
use crate::config::{ALIBABA_DEMO_KEY_ID, Accounts, Delays, Provider, Settings};
use crate::store::{Store, VmState, now_ms};

use super::AliResult;
use super::actions::{self, Ctx, Fields};

pub struct H {
    pub app: AppState,
    accounts: Accounts,
}

impl H {
    pub fn new() -> Self {
        let settings = Settings {
            transition_delays_ms: Delays::uniform(0),
            rate_limit_enabled: false,
            ..Settings::default()
        };
        H {
            app: AppState::new(Accounts::demo(), settings, Store::new(), None),
            accounts: Accounts::demo(),
        }
    }

    pub fn call(&self, action: &str, params: &[(&str, &str)]) -> AliResult<Fields> {
        let account = self
            .accounts
            .find(Provider::Alibaba, ALIBABA_DEMO_KEY_ID)
            .expect("demo account");
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let ctx = Ctx {
            app: &self.app,
            account,
            params: &params,
            request_id: "req",
            now: now_ms(),
            launch_failed: false,
        };
        actions::run(action, &ctx)
    }

    pub fn code(&self, action: &str, params: &[(&str, &str)]) -> String {
        match self.call(action, params) {
            Ok(_) => "ok".into(),
            Err(e) => e.code,
        }
    }

    /// A running instance of `charge` (`PrePaid` for one month) and type `itype`.
    pub fn run(&self, charge: &str, itype: &str) -> String {
        let mut p = vec![
            ("RegionId", "cn-hangzhou"),
            ("ImageId", "aliyun_3_x64_20G_alibase_20240819.vhd"),
            ("InstanceType", itype),
            ("SecurityGroupId", "sg-bp1fg655nh68xyz9i7nd"),
            ("VSwitchId", "vsw-bp1demo0000000000000"),
            ("InstanceChargeType", charge),
        ];
        if charge == "PrePaid" {
            p.push(("Period", "1"));
            p.push(("PeriodUnit", "Month"));
        }
        self.run_params(&p).expect("RunInstances")
    }

    /// RunInstances with `p`: the first instance's id once it has settled, or the error code.
    pub fn run_params(&self, p: &[(&str, &str)]) -> Result<String, String> {
        let out = self.call("RunInstances", p).map_err(|e| e.code)?;
        let id = out["InstanceIdSets"]["InstanceIdSet"][0]
            .as_str()
            .expect("an id")
            .to_string();
        self.settle(&id);
        Ok(id)
    }

    pub fn settle(&self, id: &str) {
        // Transitions take 0 ms; a later `now` sees the end state.
        std::thread::sleep(std::time::Duration::from_millis(5));
        let _ = self.state(id);
    }

    pub fn state(&self, id: &str) -> Option<VmState> {
        let now = now_ms();
        self.app.store().get(id, now).map(|i| i.state_at(now))
    }

    pub fn field(&self, id: &str, f: impl Fn(&crate::store::Instance) -> Value) -> Value {
        let now = now_ms();
        self.app.store().get(id, now).map(f).unwrap_or(Value::Null)
    }

    pub fn stop(&self, id: &str) {
        assert_eq!(
            self.code(
                "StopInstances",
                &[("RegionId", "cn-hangzhou"), ("InstanceId.1", id)]
            ),
            "ok"
        );
        self.settle(id);
        assert_eq!(self.state(id), Some(VmState::Stopped));
    }

    pub fn expire(&self, id: &str) {
        let now = now_ms();
        if let Some(i) = self.app.store().get_mut(id, now) {
            i.expires_ms = Some(now - 1);
        }
    }
}
