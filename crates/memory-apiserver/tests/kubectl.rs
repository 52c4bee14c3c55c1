//! The conformance table: the real kubectl against the fake and against a
//! real kube-apiserver (kudo-testenv, v1.36), with the same assertions on
//! each: discovery, OpenAPI, apply (client- and server-side), printer
//! columns, field validation, admission, delete, and the errors people
//! meet. A row that holds on one server and not the other is a difference
//! to fix in the fake, or to list, with why, in the README.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use memory_apiserver::{Account, MemoryApiServer};

fn kubectl(kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> (bool, String) {
    let mut child = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
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

/// The same users on the fake and on a real control plane.
struct Servers {
    fake: MemoryApiServer,
    real: testenv::Testenv,
}

impl Servers {
    async fn start(users: &[(&str, &[&str])]) -> Self {
        let fake = MemoryApiServer::start(users.iter().map(|(n, g)| Account::new(n, g)).collect()).await.unwrap();
        let real = testenv::Testenv::start(users).await.unwrap_or_else(|e| panic!("{e}"));
        Self { fake, real }
    }

    /// Each server's name and kubeconfig, the real one first.
    fn each(&self) -> [(&'static str, PathBuf); 2] {
        [("real", self.real.kubeconfig_path().to_path_buf()), ("fake", self.fake.kubeconfig_path())]
    }
}

/// Retries `kubectl` until `done` holds: a real API server serves a new
/// CRD, and enforces a new admission policy, a moment after the write.
fn eventually(kubeconfig: &Path, args: &[&str], stdin: Option<&str>, done: impl Fn(bool, &str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (ok, out) = kubectl(kubeconfig, args, stdin);
        if done(ok, &out) || Instant::now() > deadline {
            return out;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
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
    let servers = Servers::start(&[]).await;
    for (server, kc) in servers.each() {
        let (ok, out) = kubectl(&kc, &["apply", "-f", "-"], Some(CRD));
        assert!(ok, "{server}: {out}");
        assert!(
            out.contains("customresourcedefinition.apiextensions.k8s.io/widgets.example.com created"),
            "{server}: {out}"
        );
        // What a script does before using a new kind.
        let (ok, out) =
            kubectl(&kc, &["wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=20s"], None);
        assert!(ok && out.contains("condition met"), "{server}: {out}");

        let (ok, out) = kubectl(&kc, &["apply", "-f", "-"], Some(&widget("3", "")));
        assert!(ok && out.contains("widget.example.com/w1 created"), "{server}: {out}");
        let (ok, out) = kubectl(&kc, &["get", "wd"], None);
        assert!(ok, "{server}: {out}");
        let header: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
        // A CRD that lists printer columns gets those only: no default AGE.
        assert_eq!(header, ["NAME", "SIZE"], "{server}: {out}");
        assert!(out.lines().nth(1).unwrap().starts_with("w1"), "{server}: {out}");
        assert_eq!(out.lines().nth(1).unwrap().split_whitespace().nth(1), Some("3"), "{server}: {out}");

        // Client-side apply of a change, then server-side apply taking the
        // field over (forced: on the fake, whose objects carry no
        // managedFields, kubectl cannot upgrade the client-side manager's
        // ownership first, as it does on a real server; see the README).
        let (ok, out) = kubectl(&kc, &["apply", "-f", "-"], Some(&widget("4", "")));
        assert!(ok && out.contains("widget.example.com/w1 configured"), "{server}: {out}");
        let (ok, out) =
            kubectl(&kc, &["apply", "--server-side", "--force-conflicts", "-f", "-"], Some(&widget("5", "")));
        assert!(ok && out.contains("serverside-applied"), "{server}: {out}");
        let (_, out) = kubectl(&kc, &["get", "widget", "w1", "-o", "jsonpath={.spec.size}"], None);
        assert_eq!(out, "5", "{server}");
        // A field another server-side manager owns conflicts, unless forced.
        let intruder = ["apply", "--server-side", "--field-manager=intruder", "-f", "-"];
        let (ok, out) = kubectl(&kc, &intruder, Some(&widget("6", "")));
        assert!(!ok && out.contains("conflict"), "{server}: a field owned by another manager must conflict: {out}");
        let (ok, out) = kubectl(&kc, &[&intruder[..], &["--force-conflicts"]].concat(), Some(&widget("6", "")));
        assert!(ok && out.contains("serverside-applied"), "{server}: {out}");
        let (_, out) = kubectl(&kc, &["get", "widget", "w1", "-o", "jsonpath={.spec.size}"], None);
        assert_eq!(out, "6", "{server}");

        // Schema validation runs on the server.
        let (ok, out) = kubectl(&kc, &["apply", "-f", "-"], Some(&widget("0", "")));
        assert!(
            !ok && out.contains("spec.size") && out.contains("should be greater than or equal to 1"),
            "{server}: {out}"
        );
        let (ok, out) = kubectl(&kc, &["apply", "-f", "-"], Some(&widget("5", "  colour: red\n")));
        assert!(!ok && out.contains(r#"unknown field "spec.colour""#), "strict is kubectl's default: {out}");
        let (ok, out) = kubectl(&kc, &["apply", "--validate=warn", "-f", "-"], Some(&widget("6", "  colour: red\n")));
        assert!(ok && out.contains(r#"unknown field "spec.colour""#), "{server}: {out}");

        let (ok, out) = kubectl(&kc, &["delete", "widget", "w1"], None);
        assert!(ok && out.contains("widget.example.com \"w1\" deleted"), "{server}: {out}");
        let (ok, out) = kubectl(&kc, &["get", "widget", "w1"], None);
        assert!(!ok && out.contains("NotFound"), "{server}: {out}");
        let (ok, out) = kubectl(&kc, &["delete", "-f", "-"], Some(CRD));
        assert!(ok, "{server}: {out}");
        // Deleting the CRD stops serving its kind.
        let (ok, out) = kubectl(&kc, &["get", "--raw", "/apis/example.com/v1/namespaces/default/widgets"], None);
        assert!(!ok && out.contains("NotFound"), "{server}: {out}");
    }
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
    let servers = Servers::start(&[("alice", &["squad-a"])]).await;
    for (server, kc) in servers.each() {
        let (ok, out) = kubectl(&kc, &["apply", "-f", "-"], Some(POLICY));
        assert!(ok, "{server}: {out}");
        let cm = |owner: &str| {
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c, namespace: default}}\ndata: {{owner: {owner}}}\n"
            )
        };
        // A new policy is enforced a moment after it is written.
        let out = eventually(
            &kc,
            &["--context", "alice", "create", "--dry-run=server", "-f", "-"],
            Some(&cm("bob")),
            |ok, _| !ok,
        );
        assert!(out.contains("owner must be alice"), "{server}: {out}");
        let (ok, out) = kubectl(&kc, &["--context", "alice", "create", "-f", "-"], Some(&cm("bob")));
        assert!(!ok, "{server}: {out}");
        assert!(
            out.contains(
                "ValidatingAdmissionPolicy 'owner-is-you' with binding 'owner-is-you' denied request: owner must be alice"
            ),
            "{server}: {out}"
        );
        let (ok, out) = kubectl(&kc, &["--context", "alice", "create", "-f", "-"], Some(&cm("alice")));
        assert!(ok, "{server}: {out}");
        // The same object is judged against the user making the request.
        let (ok, out) = kubectl(&kc, &["--context", "admin", "apply", "-f", "-"], Some(&cm("alice")));
        assert!(!ok && out.contains("owner must be admin"), "{server}: {out}");
    }
}

/// What users and admins type, each checked for what a real API server
/// answers (issue 12's conformance table). Runs in order: later rows use
/// what earlier rows made.
#[tokio::test(flavor = "multi_thread")]
async fn conformance_table() {
    let servers = Servers::start(&[("alice", &["squad-a"])]).await;
    for (server, kc) in servers.each() {
        let stream = concat!(
            r#"{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "s1"}}"#,
            "\n",
            r#"{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "s2"}}"#,
            "\n"
        );
        let list = "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: l1}}\n- {apiVersion: v1, kind: Namespace, metadata: {name: l2}}\n";
        let deployment = |value: &str, second: &str| {
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: x}}\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      containers:\n      - {{name: a, image: nginx, env: [{{name: A, value: '{value}'}}]}}\n{second}"
            )
        };
        let (web1, web2) = (deployment("1", "      - {name: b, image: busybox}\n"), deployment("2", ""));
        let rb_yaml = "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: applied, namespace: x}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\nsubjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: u}]\n";
        let cm_yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm2, namespace: x}\ndata: {a: b}\n";
        // (args, stdin, what the output contains)
        let succeeds: &[(&[&str], Option<&str>, &str)] = &[
            (&["create", "namespace", "x"], None, "namespace/x created"),
            (
                &["create", "rolebinding", "r", "--clusterrole=view", "--user=u", "-n", "x"],
                None,
                "rolebinding.rbac.authorization.k8s.io/r created",
            ),
            (
                &["create", "clusterrolebinding", "c", "--clusterrole=view", "--user=u"],
                None,
                "clusterrolebinding.rbac.authorization.k8s.io/c created",
            ),
            (&["create", "serviceaccount", "s", "-n", "x"], None, "serviceaccount/s created"),
            (&["create", "configmap", "cm", "--from-literal=k=v", "-n", "x"], None, "configmap/cm created"),
            (&["create", "secret", "generic", "sec", "--from-literal=k=v", "-n", "x"], None, "secret/sec created"),
            (
                &["create", "role", "ro", "--verb=get", "--resource=pods", "-n", "x"],
                None,
                "role.rbac.authorization.k8s.io/ro created",
            ),
            (
                &["create", "clusterrole", "cro", "--verb=get", "--resource=pods"],
                None,
                "clusterrole.rbac.authorization.k8s.io/cro created",
            ),
            (&["create", "-f", "-"], Some(stream), "namespace/s2 created"),
            (&["create", "-f", "-"], Some(list), "namespace/l2 created"),
            (
                &["run", "p", "--image=nginx", "-n", "x", "--env=A=1", "--port=80", "--", "sleep", "1"],
                None,
                "pod/p created",
            ),
            (
                &["create", "deployment", "d", "--image=nginx", "--replicas=2", "-n", "x"],
                None,
                "deployment.apps/d created",
            ),
            (&["create", "job", "j", "--image=busybox", "-n", "x", "--", "echo", "hi"], None, "job.batch/j created"),
            (
                &["create", "cronjob", "cj", "--image=busybox", "--schedule=*/5 * * * *", "-n", "x", "--", "date"],
                None,
                "cronjob.batch/cj created",
            ),
            (
                &[
                    "get",
                    "pod",
                    "p",
                    "-n",
                    "x",
                    "-o",
                    "jsonpath={.spec.containers[0].args}/{.spec.containers[0].env[0].value}",
                ],
                None,
                r#"["sleep","1"]/1"#,
            ),
            (&["get", "deployment", "d", "-n", "x", "-o", "jsonpath={.spec.replicas}"], None, "2"),
            (&["apply", "-f", "-"], Some(&web1), "deployment.apps/web created"),
            // A second apply sends a strategic merge patch built from the published
            // schema: containers merge by name, env by name.
            (&["apply", "-f", "-"], Some(&web2), "deployment.apps/web configured"),
            (
                &[
                    "get",
                    "deployment",
                    "web",
                    "-n",
                    "x",
                    "-o",
                    "jsonpath={.spec.template.spec.containers[*].name}/{.spec.template.spec.containers[0].env[0].value}",
                ],
                None,
                "a/2",
            ),
            (&["explain", "rolebinding.roleRef.kind"], None, "Kind is the type of resource being referenced"),
            (&["apply", "-f", "-"], Some(rb_yaml), "rolebinding.rbac.authorization.k8s.io/applied created"),
            (&["apply", "--server-side", "-f", "-"], Some(cm_yaml), "configmap/cm2 serverside-applied"),
            (
                &["patch", "configmap", "cm", "-n", "x", "--type", "merge", "-p", r#"{"data":{"m":"1"}}"#],
                None,
                "configmap/cm patched",
            ),
            (
                &[
                    "patch",
                    "configmap",
                    "cm",
                    "-n",
                    "x",
                    "--type",
                    "json",
                    "-p",
                    r#"[{"op":"add","path":"/data/j","value":"2"}]"#,
                ],
                None,
                "configmap/cm patched",
            ),
            (
                &[
                    "patch",
                    "rolebinding",
                    "applied",
                    "-n",
                    "x",
                    "--type",
                    "strategic",
                    "-p",
                    r#"{"metadata":{"finalizers":["a.io/one"]}}"#,
                ],
                None,
                "patched",
            ),
            (
                &[
                    "patch",
                    "rolebinding",
                    "applied",
                    "-n",
                    "x",
                    "--type",
                    "strategic",
                    "-p",
                    r#"{"metadata":{"finalizers":["a.io/two"]}}"#,
                ],
                None,
                "patched",
            ),
            // Finalizers merge as a set under a strategic merge patch; subjects are replaced.
            (
                &["get", "rolebinding", "applied", "-n", "x", "-o", "jsonpath={.metadata.finalizers}"],
                None,
                // A real server's order: the patch's new finalizer first.
                r#"["a.io/two","a.io/one"]"#,
            ),
            (
                &[
                    "patch",
                    "rolebinding",
                    "applied",
                    "-n",
                    "x",
                    "--type",
                    "strategic",
                    "-p",
                    r#"{"metadata":{"$deleteFromPrimitiveList/finalizers":["a.io/one","a.io/two"]},"subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"v"}]}"#,
                ],
                None,
                "patched",
            ),
            (
                &[
                    "get",
                    "rolebinding",
                    "applied",
                    "-n",
                    "x",
                    "-o",
                    "jsonpath={.metadata.finalizers}/{.subjects[*].name}",
                ],
                None,
                "/v",
            ),
            (&["label", "configmap", "cm", "-n", "x", "team=a"], None, "configmap/cm labeled"),
            (&["annotate", "configmap", "cm", "-n", "x", "note=b"], None, "configmap/cm annotated"),
            (
                &[
                    "get",
                    "configmap",
                    "cm",
                    "-n",
                    "x",
                    "-o",
                    "jsonpath={.data.k}{.data.m}{.data.j}{.metadata.labels.team}",
                ],
                None,
                "v12a",
            ),
            (
                &[
                    "get",
                    "rolebinding",
                    "r",
                    "-n",
                    "x",
                    "-o",
                    "jsonpath={.roleRef.name}/{.subjects[0].kind}/{.subjects[0].name}",
                ],
                None,
                "view/User/u",
            ),
            (&["get", "secret", "sec", "-n", "x", "-o", "jsonpath={.data.k}/{.type}"], None, "dg==/Opaque"),
            (
                &["get", "rolebinding", "r", "-n", "x", "-o", "jsonpath={.subjects[0].apiGroup}"],
                None,
                "rbac.authorization.k8s.io",
            ),
            (&["get", "namespaces", "-o", "wide"], None, "s1"),
            (&["get", "serviceaccount", "s", "-n", "x", "-o", "yaml"], None, "name: s"),
            (&["auth", "can-i", "create", "pods", "-n", "x"], None, "yes"),
            (&["auth", "whoami"], None, "admin"),
            (&["delete", "configmap", "cm", "-n", "x", "--wait"], None, "configmap \"cm\" deleted"),
        ];
        for (args, stdin, expect) in succeeds {
            let (ok, out) = kubectl(&kc, args, *stdin);
            assert!(ok && out.contains(expect), "{server}: kubectl {}: {out}", args.join(" "));
        }

        // A token for a ServiceAccount authenticates as it, until it is deleted.
        let (ok, token) = kubectl(&kc, &["create", "token", "s", "-n", "x", "--duration", "15m"], None);
        assert!(ok && !token.trim().is_empty(), "{token}");
        let (ok, out) = kubectl(
            &kc,
            &["--token", token.trim(), "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"],
            None,
        );
        assert!(ok && out == "system:serviceaccount:x:s", "{server}: {out}");
        let (ok, out) = kubectl(&kc, &["--token", token.trim(), "auth", "can-i", "list", "pods", "-n", "x"], None);
        assert!(!ok && out.contains("no"), "{server}: a fresh ServiceAccount may do nothing: {out}");
        let (ok, out) = kubectl(&kc, &["--context", "alice", "create", "token", "s", "-n", "x"], None);
        assert!(!ok && out.contains("cannot create resource \"serviceaccounts/token\""), "{server}: {out}");
        let (ok, out) = kubectl(&kc, &["create", "token", "s", "-n", "x", "--duration", "1m"], None);
        assert!(!ok && out.contains("may not specify a duration less than 10 minutes"), "{server}: {out}");
        kubectl(&kc, &["delete", "serviceaccount", "s", "-n", "x"], None);
        // ... a moment later on a real server, whose token authenticator
        // looks the ServiceAccount up in an informer's cache.
        let out = eventually(&kc, &["--token", token.trim(), "auth", "whoami"], None, |ok, _| !ok);
        assert!(out.contains("Unauthorized"), "{server}: a deleted ServiceAccount's token stops working: {out}");

        // What a real server refuses, the fake refuses with the same words.
        let bogus = "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: bad, namespace: x}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\nbogus: 1\n";
        let binding = |role_kind: &str, subject_kind: &str| {
            format!(
                "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: b, namespace: x}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: {role_kind}, name: view}}\nsubjects: [{{kind: {subject_kind}, name: u}}]\n"
            )
        };
        let (bad_kind, bad_subject) = (binding("Foo", "User"), binding("ClusterRole", "Userx"));
        let bad_list = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: rbac.authorization.k8s.io/v1\n  kind: RoleBinding\n  metadata: {name: lb, namespace: x}\n  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\n  subjects: [{kind: User, name: u, bogus: 1}]\n";
        let fails: &[(&[&str], Option<&str>, &str)] = &[
            (
                &["create", "-f", "-"],
                Some(bad_list),
                r#"ValidationError(RoleBinding.subjects[0]): unknown field "bogus" in io.k8s.api.rbac.v1.Subject"#,
            ),
            (
                &["apply", "--validate=strict", "-f", "-"],
                Some(bogus),
                r#"RoleBinding in version "v1" cannot be handled as a RoleBinding: strict decoding error: unknown field "bogus""#,
            ),
            (
                &["create", "rolebinding", "r", "--clusterrole=view", "--user=u", "-n", "missing"],
                None,
                r#"namespaces "missing" not found"#,
            ),
            (&["get", "configmap", "nope", "-n", "x"], None, r#"configmaps "nope" not found"#),
            (&["create", "namespace", "x"], None, r#"namespaces "x" already exists"#),
            (
                &["apply", "-f", "-"],
                Some(&bad_kind),
                r#"roleRef.kind: Unsupported value: "Foo": supported values: "Role", "ClusterRole""#,
            ),
            (
                &["apply", "-f", "-"],
                Some(&bad_subject),
                r#"subjects[0].kind: Unsupported value: "Userx": supported values: "ServiceAccount", "User", "Group""#,
            ),
        ];
        for (args, stdin, expect) in fails {
            let (ok, out) = kubectl(&kc, args, *stdin);
            assert!(
                !ok && out.contains(expect),
                "{server}: kubectl {} should fail with {expect:?}: {out}",
                args.join(" ")
            );
        }
        let (ok, out) = kubectl(&kc, &["apply", "--validate=warn", "-f", "-"], Some(bogus));
        assert!(ok && out.contains(r#"unknown field "bogus""#), "{server}: {out}");
    }
}

const GADGETS: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  names: {kind: Gadget, plural: gadgets}
  scope: Cluster
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
    additionalPrinterColumns:
    - {name: Where, type: string, jsonPath: '.spec.refs[?(@.ref.ns)].ref.ns'}
    - {name: Missing, type: string, jsonPath: .spec.nothing}
    - {name: First, type: string, jsonPath: '.spec.refs[0].name', priority: 1}
"#;

/// A server-side Table as a client other than kubectl reads it (`kubectl
/// kudo list`): kubectl prints a missing cell as `<none>` whatever the
/// server sent, so only the raw answer shows that it is null.
#[tokio::test(flavor = "multi_thread")]
async fn table_cells_as_a_client_reads_them() {
    let servers = Servers::start(&[]).await;
    for (server, kc) in servers.each() {
        let (ok, out) = kubectl(&kc, &["apply", "-f", "-"], Some(GADGETS));
        assert!(ok, "{server}: {out}");
        let gadget = "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g1}\nspec:\n  refs: [{name: a}, {name: b, ref: {ns: app}}, {name: c, ref: {ns: other}}]\n";
        let out = eventually(&kc, &["apply", "-f", "-"], Some(gadget), |ok, _| ok);
        assert!(out.contains("gadget.example.com/g1 created"), "{server}: {out}");
        let client = match server {
            "real" => servers.real.client("admin").await.unwrap(),
            _ => servers.fake.client("admin").await,
        };
        let request = http::Request::get("/apis/example.com/v1/gadgets?includeObject=None")
            .header(http::header::ACCEPT, "application/json;as=Table;v=v1;g=meta.k8s.io, application/json")
            .body(Vec::new())
            .unwrap();
        let table: serde_json::Value = serde_json::from_str(&client.request_text(request).await.unwrap()).unwrap();
        assert_eq!(table["kind"], "Table", "{server}: {table}");
        let columns: Vec<(&str, i64)> = table["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["name"].as_str().unwrap(), c["priority"].as_i64().unwrap_or(0)))
            .collect();
        assert_eq!(columns, [("Name", 0), ("Where", 0), ("Missing", 0), ("First", 1)], "{server}: {table}");
        let row = &table["rows"][0];
        assert_eq!(row["cells"], serde_json::json!(["g1", "app", null, "a"]), "{server}: {table}");
        assert!(row["object"].is_null(), "{server}: includeObject=None: {table}");
    }
}
