//! ValidatingAdmissionPolicies, evaluated like the API server does, including
//! the `authorizer` library (answered by the fake's own RBAC evaluator).

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use kube::core::cel::{
    KubeCelExt,
    cel::{
        Context, ExecutionError,
        extractors::This,
        objects::{Key, Map, Value as Cel},
    },
};
use serde_json::{Value, json};

use crate::{
    auth::{self, Attributes, RbacSource, User},
    compiled,
    errors::ApiError,
    resources::ResourceType,
    selectors::Filter,
    store::State,
};

pub struct Request<'a> {
    pub operation: &'a str,
    pub rt: &'a ResourceType,
    pub subresource: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    pub object: Option<&'a Value>,
    pub old: Option<&'a Value>,
    pub user: &'a User,
}

/// A copy of the RBAC objects, so authorizer checks can run after the store lock is released.
#[derive(Default)]
struct RbacSnapshot {
    crbs: Vec<Value>,
    rbs: HashMap<String, Vec<Value>>,
    cluster_roles: HashMap<String, Value>,
    roles: HashMap<(String, String), Value>,
}

impl RbacSnapshot {
    fn of(state: &State) -> Self {
        let key = |v: &Value, f: &str| v["metadata"][f].as_str().unwrap_or_default().to_string();
        let mut s = Self { crbs: state.cluster_role_bindings().into_iter().cloned().collect(), ..Default::default() };
        for rb in state.list("rbac.authorization.k8s.io/rolebindings", None) {
            s.rbs.entry(key(rb, "namespace")).or_default().push(rb.clone());
        }
        for cr in state.list("rbac.authorization.k8s.io/clusterroles", None) {
            s.cluster_roles.insert(key(cr, "name"), cr.clone());
        }
        for r in state.list("rbac.authorization.k8s.io/roles", None) {
            s.roles.insert((key(r, "namespace"), key(r, "name")), r.clone());
        }
        s
    }
}

impl RbacSource for RbacSnapshot {
    fn cluster_role_bindings(&self) -> Vec<&Value> {
        self.crbs.iter().collect()
    }
    fn role_bindings(&self, namespace: &str) -> Vec<&Value> {
        self.rbs.get(namespace).map(|v| v.iter().collect()).unwrap_or_default()
    }
    fn cluster_role(&self, name: &str) -> Option<&Value> {
        self.cluster_roles.get(name)
    }
    fn role(&self, namespace: &str, name: &str) -> Option<&Value> {
        self.roles.get(&(namespace.to_string(), name.to_string()))
    }
}

fn has(list: &Value, want: &str) -> bool {
    list.as_array().is_some_and(|l| l.iter().any(|v| v == "*" || v == want))
}

fn rule_matches(rule: &Value, req: &Request<'_>) -> bool {
    let resource = if req.subresource.is_empty() {
        req.rt.plural.clone()
    } else {
        format!("{}/{}", req.rt.plural, req.subresource)
    };
    let resource_ok = rule["resources"].as_array().is_some_and(|rs| {
        rs.iter().filter_map(Value::as_str).any(|r| {
            r == "*"
                || r == resource
                || r.strip_prefix("*/").is_some_and(|s| s == req.subresource)
                || r.strip_suffix("/*").is_some_and(|p| p == req.rt.plural && !req.subresource.is_empty())
        })
    });
    let scope_ok = match rule["scope"].as_str() {
        Some("Cluster") => !req.rt.namespaced,
        Some("Namespaced") => req.rt.namespaced,
        _ => true,
    };
    has(&rule["apiGroups"], &req.rt.group)
        && has(&rule["apiVersions"], &req.rt.version)
        && has(&rule["operations"], req.operation)
        && resource_ok
        && scope_ok
}

fn resources_match(m: &Value, req: &Request<'_>) -> bool {
    if m.is_null() {
        return true;
    }
    let included = m["resourceRules"].as_array().is_some_and(|rules| rules.iter().any(|r| rule_matches(r, req)));
    let excluded = m["excludeResourceRules"].as_array().is_some_and(|rules| rules.iter().any(|r| rule_matches(r, req)));
    let labels = m["objectSelector"]["matchLabels"].as_object().map(|l| {
        l.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect::<Vec<_>>().join(",")
    });
    let object_ok = labels.is_none_or(|sel| {
        let f = Filter::parse(Some(&sel), None).unwrap_or_default();
        [req.object, req.old].into_iter().flatten().any(|o| f.matches(o))
    });
    included && !excluded && object_ok
}

fn cel(v: &Value) -> Cel {
    kube::core::cel::cel::to_value(v).unwrap_or(Cel::Null)
}

fn map_with(this: &Cel, key: &str, value: Cel) -> Cel {
    let mut m: HashMap<Key, Cel> = match this {
        Cel::Map(m) => (*m.map).clone(),
        _ => HashMap::new(),
    };
    m.insert(Key::String(Arc::new(key.into())), value);
    Cel::Map(Map { map: Arc::new(m) })
}

fn field(this: &Cel, key: &str) -> String {
    match this {
        Cel::Map(m) => match m.map.get(&Key::String(Arc::new(key.into()))) {
            Some(Cel::String(s)) => s.to_string(),
            _ => String::new(),
        },
        _ => String::new(),
    }
}

/// RBAC for the `authorizer` library. Copying every role and binding is
/// costly in a large cluster and most evaluations short-circuit before any
/// check, so the first evaluation runs without it and only a `check` that
/// really runs makes the policy be evaluated again with a snapshot.
#[derive(Clone)]
enum Authorizer {
    Lazy(Arc<AtomicBool>),
    Ready(Arc<RbacSnapshot>),
}

fn register_authorizer(ctx: &mut Context<'_>, rbac: Authorizer, user: User) {
    for step in ["group", "resource", "subresource", "namespace", "name"] {
        ctx.add_function(step, move |This(this): This<Cel>, v: Arc<String>| -> Result<Cel, ExecutionError> {
            Ok(map_with(&this, step, Cel::String(v)))
        });
    }
    ctx.add_function(
        "serviceAccount",
        |This(this): This<Cel>, ns: Arc<String>, name: Arc<String>| -> Result<Cel, ExecutionError> {
            Ok(map_with(&this, "user", Cel::String(Arc::new(format!("system:serviceaccount:{ns}:{name}")))))
        },
    );
    ctx.add_function("check", move |This(this): This<Cel>, verb: Arc<String>| -> Result<Cel, ExecutionError> {
        let rbac = match &rbac {
            Authorizer::Ready(rbac) => rbac,
            Authorizer::Lazy(needed) => {
                needed.store(true, Ordering::Relaxed);
                return Err(ExecutionError::function_error("check", "RBAC not loaded yet"));
            }
        };
        let who = field(&this, "user");
        let subject = if who.is_empty() {
            user.clone()
        } else {
            let ns = who.split(':').nth(2).unwrap_or_default().to_string();
            User::new(&who, &["system:serviceaccounts", &format!("system:serviceaccounts:{ns}")])
        };
        let a = Attributes {
            verb: verb.to_string(),
            group: field(&this, "group"),
            resource: field(&this, "resource"),
            subresource: field(&this, "subresource"),
            namespace: field(&this, "namespace"),
            name: field(&this, "name"),
        };
        let allowed = auth::allowed(rbac.as_ref(), &subject, &a);
        let mut m: HashMap<Key, Cel> = HashMap::new();
        m.insert(Key::String(Arc::new("allowed".into())), Cel::Bool(allowed));
        let reason = if allowed { "allowed by RBAC" } else { "" };
        m.insert(Key::String(Arc::new("reason".into())), Cel::String(Arc::new(reason.into())));
        Ok(Cel::Map(Map { map: Arc::new(m) }))
    });
    ctx.add_function("allowed", |This(this): This<Cel>| -> Result<Cel, ExecutionError> {
        Ok(match &this {
            Cel::Map(m) => m.map.get(&Key::String(Arc::new("allowed".into()))).cloned().unwrap_or(Cel::Bool(false)),
            _ => Cel::Bool(false),
        })
    });
    ctx.add_function("reason", |This(this): This<Cel>| -> Result<Cel, ExecutionError> {
        Ok(Cel::String(Arc::new(field(&this, "reason"))))
    });
    ctx.add_function("errored", |This(_this): This<Cel>| -> Result<Cel, ExecutionError> { Ok(Cel::Bool(false)) });
}

enum Outcome {
    Pass,
    Fail(String),
    Error(String),
}

fn eval(ctx: &Context<'_>, expr: &str) -> Result<Cel, String> {
    match compiled::program(expr).as_ref() {
        Ok(program) => program.execute(ctx).map_err(|e| e.to_string()),
        Err(e) => Err(e.clone()),
    }
}

fn evaluate(policy: &Value, req: &Request<'_>, rbac: Authorizer) -> Outcome {
    let spec = &policy["spec"];
    let mut ctx = Context::default().with_all();
    let null = Value::Null;
    let object = req.object.unwrap_or(&null);
    let request = json!({
        "operation": req.operation, "name": req.name, "namespace": req.namespace,
        "subResource": req.subresource, "dryRun": false, "options": {},
        "userInfo": {"username": req.user.name, "groups": req.user.groups, "uid": "", "extra": {}},
        "kind": {"group": req.rt.group, "version": req.rt.version, "kind": req.rt.kind},
        "resource": {"group": req.rt.group, "version": req.rt.version, "resource": req.rt.plural},
    });
    ctx.add_variable_from_value("object", cel(object));
    ctx.add_variable_from_value("oldObject", cel(req.old.unwrap_or(&null)));
    ctx.add_variable_from_value("request", cel(&request));
    ctx.add_variable_from_value("params", Cel::Null);
    ctx.add_variable_from_value("namespaceObject", Cel::Null);
    ctx.add_variable_from_value("authorizer", Cel::Map(Map { map: Arc::new(HashMap::new()) }));
    register_authorizer(&mut ctx, rbac, req.user.clone());

    let mut variables: HashMap<Key, Cel> = HashMap::new();
    for v in spec["variables"].as_array().into_iter().flatten() {
        ctx.add_variable_from_value("variables", Cel::Map(Map { map: Arc::new(variables.clone()) }));
        match eval(&ctx, v["expression"].as_str().unwrap_or_default()) {
            Ok(value) => {
                variables.insert(Key::String(Arc::new(v["name"].as_str().unwrap_or_default().into())), value);
            }
            Err(e) => return Outcome::Error(e),
        }
    }
    ctx.add_variable_from_value("variables", Cel::Map(Map { map: Arc::new(variables) }));

    for mc in spec["matchConditions"].as_array().into_iter().flatten() {
        match eval(&ctx, mc["expression"].as_str().unwrap_or_default()) {
            Ok(Cel::Bool(true)) => {}
            Ok(Cel::Bool(false)) => return Outcome::Pass,
            Ok(other) => return Outcome::Error(format!("matchCondition returned {other:?}, not a bool")),
            Err(e) => return Outcome::Error(e),
        }
    }
    for v in spec["validations"].as_array().into_iter().flatten() {
        let expr = v["expression"].as_str().unwrap_or_default();
        match eval(&ctx, expr) {
            Ok(Cel::Bool(true)) => {}
            Ok(Cel::Bool(false)) => {
                let from_expr = v["messageExpression"].as_str().and_then(|m| match eval(&ctx, m) {
                    Ok(Cel::String(s)) if !s.trim().is_empty() => Some(s.to_string()),
                    _ => None,
                });
                let message = from_expr
                    .or_else(|| v["message"].as_str().map(String::from))
                    .unwrap_or_else(|| format!("failed expression: {expr}"));
                let reason = v["reason"].as_str().unwrap_or("Invalid").to_string();
                return Outcome::Fail(format!("{reason}\u{0}{message}"));
            }
            Ok(other) => return Outcome::Error(format!("expression '{expr}' returned {other:?}, not a bool")),
            Err(e) => return Outcome::Error(format!("expression '{expr}' resulted in error: {e}")),
        }
    }
    Outcome::Pass
}

/// Runs every bound policy that matches the request; the first denial wins.
pub fn validate(state: &State, req: &Request<'_>) -> Result<(), ApiError> {
    let mut rbac: Option<Arc<RbacSnapshot>> = None;
    for binding in state.list("admissionregistration.k8s.io/validatingadmissionpolicybindings", None) {
        let bspec = &binding["spec"];
        if !bspec["validationActions"].as_array().is_some_and(|a| a.iter().any(|x| x == "Deny")) {
            continue;
        }
        let policy_name = bspec["policyName"].as_str().unwrap_or_default();
        let Some(policy) = state.get("admissionregistration.k8s.io/validatingadmissionpolicies", "", policy_name)
        else {
            continue;
        };
        if !resources_match(&policy["spec"]["matchConstraints"], req) || !resources_match(&bspec["matchResources"], req)
        {
            continue;
        }
        let needed = Arc::new(AtomicBool::new(false));
        let mut outcome = evaluate(policy, req, Authorizer::Lazy(needed.clone()));
        if needed.load(Ordering::Relaxed) {
            let rbac = rbac.get_or_insert_with(|| Arc::new(RbacSnapshot::of(state)));
            outcome = evaluate(policy, req, Authorizer::Ready(rbac.clone()));
        }
        let binding_name = binding["metadata"]["name"].as_str().unwrap_or_default();
        let prefix = format!("ValidatingAdmissionPolicy '{policy_name}' with binding '{binding_name}' denied request");
        match outcome {
            Outcome::Pass => {}
            Outcome::Fail(text) => {
                let (reason, message) = text.split_once('\u{0}').unwrap_or(("Invalid", &text));
                let full = format!("{prefix}: {message}");
                return Err(match reason {
                    "Forbidden" => ApiError::forbidden_message(full),
                    _ => ApiError::invalid_message(full),
                });
            }
            Outcome::Error(e) => {
                if policy["spec"]["failurePolicy"] != "Ignore" {
                    return Err(ApiError::forbidden_message(format!("{prefix}: {e}")));
                }
            }
        }
    }
    Ok(())
}
