//! The real kubectl against the fake: discovery, OpenAPI, apply (client- and
//! server-side), printer columns, field validation, admission, delete.

use std::{io::Write, process::Command};

use fake_apiserver::{Account, FakeApiServer};

fn kubectl(fake: &FakeApiServer, args: &[&str], stdin: Option<&str>) -> (bool, String) {
    let mut child = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(fake.kubeconfig_path())
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kubectl runs");
    child.stdin.take().unwrap().write_all(stdin.unwrap_or_default().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

const CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, shortNames: [wd]}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer, minimum: 1}
          status:
            type: object
            properties:
              ready: {type: boolean}
"#;

fn widget(size: &str, extra: &str) -> String {
    format!(
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\n  namespace: default\nspec:\n  size: {size}\n{extra}"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_get_delete_round_trip() {
    let fake = FakeApiServer::start(vec![]).await.unwrap();
    let (ok, out) = kubectl(&fake, &["apply", "-f", "-"], Some(CRD));
    assert!(ok, "{out}");
    assert!(out.contains("customresourcedefinition.apiextensions.k8s.io/widgets.example.com created"), "{out}");

    let (ok, out) = kubectl(&fake, &["apply", "-f", "-"], Some(&widget("3", "")));
    assert!(ok && out.contains("widget.example.com/w1 created"), "{out}");
    let (ok, out) = kubectl(&fake, &["get", "wd"], None);
    assert!(ok, "{out}");
    let header: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "SIZE", "AGE"]);
    assert!(out.lines().nth(1).unwrap().starts_with("w1"), "{out}");
    assert_eq!(out.lines().nth(1).unwrap().split_whitespace().nth(1), Some("3"), "{out}");

    // Client-side apply of a change, then server-side apply taking the field over.
    let (ok, out) = kubectl(&fake, &["apply", "-f", "-"], Some(&widget("4", "")));
    assert!(ok && out.contains("widget.example.com/w1 configured"), "{out}");
    let (ok, out) = kubectl(&fake, &["apply", "--server-side", "-f", "-"], Some(&widget("5", "")));
    assert!(!ok && out.contains("conflict"), "a field owned by another manager must conflict: {out}");
    let (ok, out) = kubectl(&fake, &["apply", "--server-side", "--force-conflicts", "-f", "-"], Some(&widget("5", "")));
    assert!(ok && out.contains("serverside-applied"), "{out}");
    let (_, out) = kubectl(&fake, &["get", "widget", "w1", "-o", "jsonpath={.spec.size}"], None);
    assert_eq!(out, "5");

    // Schema validation runs on the server.
    let (ok, out) = kubectl(&fake, &["apply", "-f", "-"], Some(&widget("0", "")));
    assert!(!ok && out.contains("spec.size") && out.contains("should be greater than or equal to 1"), "{out}");
    let (ok, out) = kubectl(&fake, &["apply", "-f", "-"], Some(&widget("5", "  colour: red\n")));
    assert!(!ok && out.contains(r#"unknown field "spec.colour""#), "strict is kubectl's default: {out}");
    let (ok, out) = kubectl(&fake, &["apply", "--validate=warn", "-f", "-"], Some(&widget("6", "  colour: red\n")));
    assert!(ok && out.contains(r#"unknown field "spec.colour""#), "{out}");

    let (ok, out) = kubectl(&fake, &["delete", "widget", "w1"], None);
    assert!(ok && out.contains("widget.example.com \"w1\" deleted"), "{out}");
    let (ok, out) = kubectl(&fake, &["get", "widget", "w1"], None);
    assert!(!ok && out.contains("NotFound"), "{out}");
    let (ok, out) = kubectl(&fake, &["delete", "-f", "-"], Some(CRD));
    assert!(ok, "{out}");
    // Deleting the CRD stops serving its kind.
    let (ok, out) = kubectl(&fake, &["get", "--raw", "/apis/example.com/v1/namespaces/default/widgets"], None);
    assert!(!ok && out.contains("NotFound"), "{out}");
}

const POLICY: &str = r#"
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: owner-is-you
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [configmaps]
  validations:
  - expression: object.data.owner == request.userInfo.username
    messageExpression: "'owner must be ' + request.userInfo.username"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: owner-is-you
spec:
  policyName: owner-is-you
  validationActions: [Deny]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: alice-edits
  namespace: default
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn bound_admission_policies_judge_requests() {
    let fake = FakeApiServer::start(vec![Account::new("alice", &["squad-a"])]).await.unwrap();
    let (ok, out) = kubectl(&fake, &["apply", "-f", "-"], Some(POLICY));
    assert!(ok, "{out}");
    let cm = |owner: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c, namespace: default}}\ndata: {{owner: {owner}}}\n"
        )
    };
    let (ok, out) = kubectl(&fake, &["--context", "alice", "create", "-f", "-"], Some(&cm("bob")));
    assert!(!ok, "{out}");
    assert!(
        out.contains(
            "ValidatingAdmissionPolicy 'owner-is-you' with binding 'owner-is-you' denied request: owner must be alice"
        ),
        "{out}"
    );
    let (ok, out) = kubectl(&fake, &["--context", "alice", "create", "-f", "-"], Some(&cm("alice")));
    assert!(ok, "{out}");
    // The same object is judged against the user making the request.
    let (ok, out) = kubectl(&fake, &["--context", "admin", "apply", "-f", "-"], Some(&cm("alice")));
    assert!(!ok && out.contains("owner must be admin"), "{out}");
}
