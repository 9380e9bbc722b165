//! How environments are answered: GetEnvironment's and ListEnvironments' shapes, encoded
//! straight from the record.

use super::*;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

impl Environment {
    /// The environment as GetEnvironment shows it: the stored configuration and what Airlock
    /// derives from the record and its lifecycle.
    fn out<'a>(&'a self, seen: &'a lifecycle::Seen) -> EnvironmentOut<'a> {
        EnvironmentOut {
            config: &self.config,
            name: &self.name,
            arn: &self.arn,
            status: seen.status.unwrap_or("DELETED"),
            created_at: crate::iso(self.created),
            webserver_url: self.webserver_host(),
            service_role_arn: crate::partition::global_arn(
                &self.region,
                "iam",
                &self.account,
                "role/aws-service-role/airflow.amazonaws.com/AWSServiceRoleForAmazonMWAA",
            ),
            network_configuration: NetworkOut {
                subnet_ids: &self.subnet_ids,
                security_group_ids: &self.security_group_ids,
            },
            webserver_access_mode: &self.access_mode,
            endpoint_management: &self.endpoint_management,
            database_vpc_endpoint_service: self.service_name(&self.database_service),
            webserver_vpc_endpoint_service: self
                .webserver_service
                .as_deref()
                .map(|w| self.service_name(w)),
            celery_executor_queue: &self.celery_queue,
            tags: &self.tags,
            last_update: seen
                .last_update
                .as_ref()
                .map(|(status, at, failure, strategy)| LastUpdateOut {
                    status,
                    created_at: crate::iso(*at),
                    error: failure.as_ref().map(|f| ErrorOut {
                        error_code: &f.code,
                        error_message: &f.message,
                    }),
                    worker_replacement_strategy: strategy.as_deref(),
                }),
        }
    }
}

/// `Environment` as the API shows it. The configuration's members (`AirflowVersion`,
/// `EnvironmentClass`, ...) never overlap the derived ones, which follow in the model's order
/// (the encoders walk it fastest).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct EnvironmentOut<'a> {
    #[serde(flatten)]
    config: &'a Map<String, Value>,
    arn: &'a str,
    celery_executor_queue: &'a str,
    created_at: String,
    database_vpc_endpoint_service: String,
    endpoint_management: &'a str,
    last_update: Option<LastUpdateOut<'a>>,
    name: &'a str,
    network_configuration: NetworkOut<'a>,
    service_role_arn: String,
    status: &'static str,
    tags: &'a BTreeMap<String, String>,
    webserver_access_mode: &'a str,
    webserver_url: String,
    webserver_vpc_endpoint_service: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct NetworkOut<'a> {
    security_group_ids: &'a [String],
    subnet_ids: &'a [String],
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LastUpdateOut<'a> {
    created_at: String,
    error: Option<ErrorOut<'a>>,
    status: &'a str,
    worker_replacement_strategy: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorOut<'a> {
    error_code: &'a str,
    error_message: &'a str,
}

/// GetEnvironment's answer, encoded straight from the record.
pub(super) struct GetOut(
    pub(super) std::sync::Arc<Environment>,
    pub(super) lifecycle::Seen,
);

impl Serialize for GetOut {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = s.serialize_struct("GetEnvironmentOutput", 1)?;
        out.serialize_field("Environment", &self.0.out(&self.1))?;
        out.end()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ListOut {
    pub(super) environments: Vec<String>,
    pub(super) next_token: Option<String>,
}
