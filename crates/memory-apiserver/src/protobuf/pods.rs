//! Pods and the workloads that template them, as kubectl's typed `run`,
//! `create deployment|job|cronjob` send them.
//!
//! Only the fields those commands and common manifests set are read. Each
//! field read is taken out of the decoded message, and whatever is left must
//! be empty: a body using a field not read here is refused (send it as JSON)
//! rather than stored with the field silently gone.

use std::mem::take;

use k8s_pb::{
    api::{apps::v1 as apps, batch::v1 as batch, core::v1 as core},
    apimachinery::pkg::{api::resource::Quantity, util::intstr::IntOrString},
};
use serde_json::{Value, json};

use super::{J, meta, selector};
use crate::errors::{ApiError, ApiResult};

fn unread<T: Default + PartialEq>(what: &str, rest: &T) -> ApiResult<()> {
    if *rest == T::default() {
        return Ok(());
    }
    Err(ApiError::unsupported_media_type(
        "application/json, application/yaml",
        &format!("application/vnd.kubernetes.protobuf (fields of {what} the fake does not read from protobuf)"),
    ))
}

/// The fields of a Pod besides `metadata` (taken by the caller).
pub fn pod(spec: Option<core::PodSpec>) -> ApiResult<J> {
    Ok(J::new().value("spec", spec.map(pod_spec).transpose()?))
}

pub fn deployment(spec: Option<apps::DeploymentSpec>) -> ApiResult<J> {
    let Some(mut s) = spec else { return Ok(J::new()) };
    let strategy = s.strategy.take().map(|mut st| {
        let rolling = st.rolling_update.take().map(|mut r| {
            J::new()
                .value("maxUnavailable", r.max_unavailable.take().map(int_or_string))
                .value("maxSurge", r.max_surge.take().map(int_or_string))
                .done()
        });
        J::new().str("type", st.r#type.take()).value("rollingUpdate", rolling).done()
    });
    let spec = J::new()
        .int("replicas", s.replicas.take().map(i64::from))
        .value("selector", s.selector.take().map(selector))
        .value("template", s.template.take().map(template).transpose()?)
        .value("strategy", strategy)
        .nonzero("minReadySeconds", s.min_ready_seconds.take().map(i64::from))
        .int("revisionHistoryLimit", s.revision_history_limit.take().map(i64::from))
        .flag("paused", s.paused.take())
        .int("progressDeadlineSeconds", s.progress_deadline_seconds.take().map(i64::from));
    unread("DeploymentSpec", &s)?;
    Ok(J::new().object("spec", spec))
}

pub fn job(spec: Option<batch::JobSpec>) -> ApiResult<J> {
    Ok(J::new().value("spec", spec.map(job_spec).transpose()?))
}

pub fn cron_job(spec: Option<batch::CronJobSpec>) -> ApiResult<J> {
    Ok(J::new().value("spec", spec.map(cron_job_spec).transpose()?))
}

fn job_spec(mut s: batch::JobSpec) -> ApiResult<Value> {
    let spec = J::new()
        .int("parallelism", s.parallelism.take().map(i64::from))
        .int("completions", s.completions.take().map(i64::from))
        .int("activeDeadlineSeconds", s.active_deadline_seconds.take())
        .int("backoffLimit", s.backoff_limit.take().map(i64::from))
        .value("selector", s.selector.take().map(selector))
        .bool("manualSelector", s.manual_selector.take())
        .value("template", s.template.take().map(template).transpose()?)
        .int("ttlSecondsAfterFinished", s.ttl_seconds_after_finished.take().map(i64::from))
        .str("completionMode", s.completion_mode.take())
        .bool("suspend", s.suspend.take())
        .done();
    unread("JobSpec", &s)?;
    Ok(spec)
}

fn cron_job_spec(mut s: batch::CronJobSpec) -> ApiResult<Value> {
    let job_template = match s.job_template.take() {
        Some(mut t) => {
            let spec = t.spec.take().map(job_spec).transpose()?;
            Some(J::new().value("metadata", t.metadata.take().map(|m| meta(Some(m)))).value("spec", spec).done())
        }
        None => None,
    };
    let spec = J::new()
        .str("schedule", s.schedule.take())
        .str("timeZone", s.time_zone.take())
        .int("startingDeadlineSeconds", s.starting_deadline_seconds.take())
        .str("concurrencyPolicy", s.concurrency_policy.take())
        .bool("suspend", s.suspend.take())
        .value("jobTemplate", job_template)
        .int("successfulJobsHistoryLimit", s.successful_jobs_history_limit.take().map(i64::from))
        .int("failedJobsHistoryLimit", s.failed_jobs_history_limit.take().map(i64::from))
        .done();
    unread("CronJobSpec", &s)?;
    Ok(spec)
}

fn template(mut t: core::PodTemplateSpec) -> ApiResult<Value> {
    let spec = t.spec.take().map(pod_spec).transpose()?;
    Ok(J::new().value("metadata", Some(meta(t.metadata.take()))).value("spec", spec).done())
}

fn pod_spec(mut s: core::PodSpec) -> ApiResult<Value> {
    let containers = |list: Vec<core::Container>| list.into_iter().map(container).collect::<ApiResult<Vec<_>>>();
    let pulls = take(&mut s.image_pull_secrets).into_iter().map(|r| J::new().str("name", r.name).done());
    let spec = J::new()
        .list("initContainers", containers(take(&mut s.init_containers))?.into_iter())
        .list("containers", containers(take(&mut s.containers))?.into_iter())
        .str("restartPolicy", s.restart_policy.take())
        .int("terminationGracePeriodSeconds", s.termination_grace_period_seconds.take())
        .int("activeDeadlineSeconds", s.active_deadline_seconds.take())
        .str("dnsPolicy", s.dns_policy.take())
        .map("nodeSelector", take(&mut s.node_selector))
        .str("serviceAccountName", s.service_account_name.take())
        .str("serviceAccount", s.service_account.take())
        .bool("automountServiceAccountToken", s.automount_service_account_token.take())
        .str("nodeName", s.node_name.take())
        .flag("hostNetwork", s.host_network.take())
        .flag("hostPID", s.host_pid.take())
        .flag("hostIPC", s.host_ipc.take())
        .list("imagePullSecrets", pulls)
        .str("hostname", s.hostname.take())
        .str("subdomain", s.subdomain.take())
        .str("schedulerName", s.scheduler_name.take())
        .str("priorityClassName", s.priority_class_name.take())
        .bool("enableServiceLinks", s.enable_service_links.take())
        .done();
    unread("PodSpec", &s)?;
    Ok(spec)
}

fn container(mut c: core::Container) -> ApiResult<Value> {
    let ports = take(&mut c.ports).into_iter().map(|p| {
        J::new()
            .str("name", p.name)
            .nonzero("hostPort", p.host_port.map(i64::from))
            .int("containerPort", p.container_port.map(i64::from))
            .str("protocol", p.protocol)
            .str("hostIP", p.host_ip)
            .done()
    });
    let mut env = Vec::new();
    for mut e in take(&mut c.env) {
        // `value` is written even when empty: an empty variable is still set.
        let value = e.value.take().map(Value::from);
        env.push(J::new().str("name", e.name.take()).value("value", value).done());
        unread("EnvVar", &e)?;
    }
    let resources = match c.resources.take() {
        Some(mut r) => {
            let quantities = |m: std::collections::BTreeMap<String, Quantity>| {
                m.into_iter().map(|(k, q)| (k, q.string.unwrap_or_default())).collect()
            };
            let out = J::new()
                .map("limits", quantities(take(&mut r.limits)))
                .map("requests", quantities(take(&mut r.requests)));
            unread("ResourceRequirements", &r)?;
            Some(json!(out.done()))
        }
        None => None,
    };
    let mounts = take(&mut c.volume_mounts).into_iter().map(|m| {
        J::new()
            .str("name", m.name)
            .flag("readOnly", m.read_only)
            .str("mountPath", m.mount_path)
            .str("subPath", m.sub_path)
            .done()
    });
    let out = J::new()
        .str("name", c.name.take())
        .str("image", c.image.take())
        .strings("command", take(&mut c.command))
        .strings("args", take(&mut c.args))
        .str("workingDir", c.working_dir.take())
        .list("ports", ports)
        .list("env", env.into_iter())
        .value("resources", resources)
        .list("volumeMounts", mounts)
        .str("terminationMessagePath", c.termination_message_path.take())
        .str("terminationMessagePolicy", c.termination_message_policy.take())
        .str("imagePullPolicy", c.image_pull_policy.take())
        .flag("stdin", c.stdin.take())
        .flag("stdinOnce", c.stdin_once.take())
        .flag("tty", c.tty.take())
        .done();
    unread("Container", &c)?;
    Ok(out)
}

fn int_or_string(v: IntOrString) -> Value {
    match v.r#type {
        Some(1) => json!(v.str_val.unwrap_or_default()),
        _ => json!(v.int_val.unwrap_or_default()),
    }
}
