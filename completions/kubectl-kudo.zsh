#compdef kubectl-kudo

autoload -U is-at-least

_kubectl-kudo() {
    typeset -A opt_args
    typeset -a _arguments_options
    local ret=1

    if is-at-least 5.2; then
        _arguments_options=(-s -S -C)
    else
        _arguments_options=(-s -C)
    fi

    local context curcontext="$curcontext" state line
    _arguments "${_arguments_options[@]}" : \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, merged as kubectl does, then ~/.kube/config)]:PATH:_files' \
'--context=[The kubeconfig context to use]:NAME:_default' \
'--cluster=[The kubeconfig cluster to use]:NAME:_default' \
'-n+[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--namespace=[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--user=[The kubeconfig user to use]:NAME:_default' \
'--as=[Username to impersonate for the operation]:USER:_default' \
'*--as-group=[Group to impersonate for the operation; repeat for several]:GROUP:_default' \
'--request-timeout=[How long to wait for one API request (e.g. 10s, 1m); 0 waits forever]:DURATION:_default' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
":: :_kubectl-kudo_commands" \
"*::: :->kubectl kudo" \
&& ret=0
    case $state in
    (kubectl kudo)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:kubectl-kudo-command-$line[1]:"
        case $line[1] in
            (escalate)
_arguments "${_arguments_options[@]}" : \
'()--for=[Instead of POLICY\: the permission needed, as for kubectl auth can-i, e.g. --for "create pods/portforward -n app"; the one policy that grants it is used]:VERB RESOURCE [NAME] [-n NS]:_default' \
'-r+[Why you need it; policies may require a ticket reference]:TEXT:_default' \
'--reason=[Why you need it; policies may require a ticket reference]:TEXT:_default' \
'-d+[How long to hold the grants (default\: the policy'\''s defaultDuration), e.g. 30m, 2h]:DURATION:_default' \
'--duration=[How long to hold the grants (default\: the policy'\''s defaultDuration), e.g. 30m, 2h]:DURATION:_default' \
'--timeout=[Longest wait for the decision]:DURATION:_default' \
'(--start-in)--start-at=[Start later\: not accepted before this time (RFC 3339, e.g. 2026-11-24T08\:00\:00Z)]:TIME:_default' \
'--start-in=[Start later\: not accepted before this much time from now, e.g. 2h]:DURATION:_default' \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, merged as kubectl does, then ~/.kube/config)]:PATH:_files' \
'--context=[The kubeconfig context to use]:NAME:_default' \
'--cluster=[The kubeconfig cluster to use]:NAME:_default' \
'-n+[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--namespace=[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--user=[The kubeconfig user to use]:NAME:_default' \
'--as=[Username to impersonate for the operation]:USER:_default' \
'*--as-group=[Group to impersonate for the operation; repeat for several]:GROUP:_default' \
'--request-timeout=[How long to wait for one API request (e.g. 10s, 1m); 0 waits forever]:DURATION:_default' \
'--break-glass[Emergency\: skip the policy'\''s break-glass review; granted at once and reviewed afterwards]' \
'--no-wait[Do not wait for the decision\: return once the controller has taken the request up (PENDING, and what it waits for), or after 10s]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
'::policy -- The EscalationPolicy to use (asked for on a terminal when left out):_default' \
&& ret=0
;;
(extend)
_arguments "${_arguments_options[@]}" : \
'-d+[How long the extension lasts from its acceptance (default\: the extended escalation'\''s duration), at most the policy'\''s maxDuration]:DURATION:_default' \
'--duration=[How long the extension lasts from its acceptance (default\: the extended escalation'\''s duration), at most the policy'\''s maxDuration]:DURATION:_default' \
'-r+[Why (default\: the extended escalation'\''s reason)]:TEXT:_default' \
'--reason=[Why (default\: the extended escalation'\''s reason)]:TEXT:_default' \
'--timeout=[Longest wait for the decision, with --wait]:DURATION:_default' \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, merged as kubectl does, then ~/.kube/config)]:PATH:_files' \
'--context=[The kubeconfig context to use]:NAME:_default' \
'--cluster=[The kubeconfig cluster to use]:NAME:_default' \
'-n+[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--namespace=[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--user=[The kubeconfig user to use]:NAME:_default' \
'--as=[Username to impersonate for the operation]:USER:_default' \
'*--as-group=[Group to impersonate for the operation; repeat for several]:GROUP:_default' \
'--request-timeout=[How long to wait for one API request (e.g. 10s, 1m); 0 waits forever]:DURATION:_default' \
'--wait[Wait for the decision and report it (by default\: return once the controller has taken the request up)]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'-V[Print version]' \
'--version[Print version]' \
':name -- The running (ACCEPTED) escalation of yours to extend:_default' \
&& ret=0
;;
(approve)
_arguments "${_arguments_options[@]}" : \
'-m+[A note for the requestor and the audit log]:TEXT:_default' \
'--message=[A note for the requestor and the audit log]:TEXT:_default' \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, merged as kubectl does, then ~/.kube/config)]:PATH:_files' \
'--context=[The kubeconfig context to use]:NAME:_default' \
'--cluster=[The kubeconfig cluster to use]:NAME:_default' \
'-n+[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--namespace=[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--user=[The kubeconfig user to use]:NAME:_default' \
'--as=[Username to impersonate for the operation]:USER:_default' \
'*--as-group=[Group to impersonate for the operation; repeat for several]:GROUP:_default' \
'--request-timeout=[How long to wait for one API request (e.g. 10s, 1m); 0 waits forever]:DURATION:_default' \
'-y[Do not ask for confirmation]' \
'--yes[Do not ask for confirmation]' \
'--wait[Then wait (up to a minute) until the controller has acted on the review, and say what it decided\: granted, denied, or what it still waits for]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
':name -- The escalation to review (also as `list -o name` prints it\: escalation/NAME):_default' \
&& ret=0
;;
(deny)
_arguments "${_arguments_options[@]}" : \
'-m+[A note for the requestor and the audit log]:TEXT:_default' \
'--message=[A note for the requestor and the audit log]:TEXT:_default' \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, merged as kubectl does, then ~/.kube/config)]:PATH:_files' \
'--context=[The kubeconfig context to use]:NAME:_default' \
'--cluster=[The kubeconfig cluster to use]:NAME:_default' \
'-n+[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--namespace=[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--user=[The kubeconfig user to use]:NAME:_default' \
'--as=[Username to impersonate for the operation]:USER:_default' \
'*--as-group=[Group to impersonate for the operation; repeat for several]:GROUP:_default' \
'--request-timeout=[How long to wait for one API request (e.g. 10s, 1m); 0 waits forever]:DURATION:_default' \
'-y[Do not ask for confirmation]' \
'--yes[Do not ask for confirmation]' \
'--wait[Then wait (up to a minute) until the controller has acted on the review, and say what it decided\: granted, denied, or what it still waits for]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
':name -- The escalation to review (also as `list -o name` prints it\: escalation/NAME):_default' \
&& ret=0
;;
(list)
_arguments "${_arguments_options[@]}" : \
'-o+[Output format]:FORMAT:(wide json yaml name)' \
'--output=[Output format]:FORMAT:(wide json yaml name)' \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, merged as kubectl does, then ~/.kube/config)]:PATH:_files' \
'--context=[The kubeconfig context to use]:NAME:_default' \
'--cluster=[The kubeconfig cluster to use]:NAME:_default' \
'-n+[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--namespace=[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--user=[The kubeconfig user to use]:NAME:_default' \
'--as=[Username to impersonate for the operation]:USER:_default' \
'*--as-group=[Group to impersonate for the operation; repeat for several]:GROUP:_default' \
'--request-timeout=[How long to wait for one API request (e.g. 10s, 1m); 0 waits forever]:DURATION:_default' \
'-A[Everyone'\''s escalations, not only mine]' \
'--all[Everyone'\''s escalations, not only mine]' \
'(-A --all)--pending-review[PENDING escalations I may review and have not reviewed yet]' \
'(-A --all --pending-review)--after-review[Break-glass escalations (active or ended, anyone'\''s) still awaiting their after-review]' \
'-w[After listing, keep printing changes]' \
'--watch[After listing, keep printing changes]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(ls)
_arguments "${_arguments_options[@]}" : \
'-o+[Output format]:FORMAT:(wide json yaml name)' \
'--output=[Output format]:FORMAT:(wide json yaml name)' \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, merged as kubectl does, then ~/.kube/config)]:PATH:_files' \
'--context=[The kubeconfig context to use]:NAME:_default' \
'--cluster=[The kubeconfig cluster to use]:NAME:_default' \
'-n+[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--namespace=[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--user=[The kubeconfig user to use]:NAME:_default' \
'--as=[Username to impersonate for the operation]:USER:_default' \
'*--as-group=[Group to impersonate for the operation; repeat for several]:GROUP:_default' \
'--request-timeout=[How long to wait for one API request (e.g. 10s, 1m); 0 waits forever]:DURATION:_default' \
'-A[Everyone'\''s escalations, not only mine]' \
'--all[Everyone'\''s escalations, not only mine]' \
'(-A --all)--pending-review[PENDING escalations I may review and have not reviewed yet]' \
'(-A --all --pending-review)--after-review[Break-glass escalations (active or ended, anyone'\''s) still awaiting their after-review]' \
'-w[After listing, keep printing changes]' \
'--watch[After listing, keep printing changes]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(status)
_arguments "${_arguments_options[@]}" : \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, merged as kubectl does, then ~/.kube/config)]:PATH:_files' \
'--context=[The kubeconfig context to use]:NAME:_default' \
'--cluster=[The kubeconfig cluster to use]:NAME:_default' \
'-n+[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--namespace=[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--user=[The kubeconfig user to use]:NAME:_default' \
'--as=[Username to impersonate for the operation]:USER:_default' \
'*--as-group=[Group to impersonate for the operation; repeat for several]:GROUP:_default' \
'--request-timeout=[How long to wait for one API request (e.g. 10s, 1m); 0 waits forever]:DURATION:_default' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
':name:_default' \
&& ret=0
;;
(revoke)
_arguments "${_arguments_options[@]}" : \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, merged as kubectl does, then ~/.kube/config)]:PATH:_files' \
'--context=[The kubeconfig context to use]:NAME:_default' \
'--cluster=[The kubeconfig cluster to use]:NAME:_default' \
'-n+[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--namespace=[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--user=[The kubeconfig user to use]:NAME:_default' \
'--as=[Username to impersonate for the operation]:USER:_default' \
'*--as-group=[Group to impersonate for the operation; repeat for several]:GROUP:_default' \
'--request-timeout=[How long to wait for one API request (e.g. 10s, 1m); 0 waits forever]:DURATION:_default' \
'()--all-mine[End every escalation of mine that is PENDING or ACCEPTED]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
'::name -- The escalation to end:_default' \
&& ret=0
;;
(policies)
_arguments "${_arguments_options[@]}" : \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, merged as kubectl does, then ~/.kube/config)]:PATH:_files' \
'--context=[The kubeconfig context to use]:NAME:_default' \
'--cluster=[The kubeconfig cluster to use]:NAME:_default' \
'-n+[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--namespace=[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--user=[The kubeconfig user to use]:NAME:_default' \
'--as=[Username to impersonate for the operation]:USER:_default' \
'*--as-group=[Group to impersonate for the operation; repeat for several]:GROUP:_default' \
'--request-timeout=[How long to wait for one API request (e.g. 10s, 1m); 0 waits forever]:DURATION:_default' \
'-A[Every policy, not only those I may use]' \
'--all[Every policy, not only those I may use]' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(run)
_arguments "${_arguments_options[@]}" : \
'()--for=[Instead of POLICY\: the permission needed, as for kubectl auth can-i, e.g. --for "create pods/portforward -n app"; the one policy that grants it is used]:VERB RESOURCE [NAME] [-n NS]:_default' \
'-r+[Why you need it; policies may require a ticket reference]:TEXT:_default' \
'--reason=[Why you need it; policies may require a ticket reference]:TEXT:_default' \
'-d+[How long to hold the grants (default\: the policy'\''s defaultDuration), e.g. 30m, 2h]:DURATION:_default' \
'--duration=[How long to hold the grants (default\: the policy'\''s defaultDuration), e.g. 30m, 2h]:DURATION:_default' \
'--timeout=[Longest wait for the decision]:DURATION:_default' \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, merged as kubectl does, then ~/.kube/config)]:PATH:_files' \
'--context=[The kubeconfig context to use]:NAME:_default' \
'--cluster=[The kubeconfig cluster to use]:NAME:_default' \
'-n+[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--namespace=[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--user=[The kubeconfig user to use]:NAME:_default' \
'--as=[Username to impersonate for the operation]:USER:_default' \
'*--as-group=[Group to impersonate for the operation; repeat for several]:GROUP:_default' \
'--request-timeout=[How long to wait for one API request (e.g. 10s, 1m); 0 waits forever]:DURATION:_default' \
'--break-glass[Emergency\: skip the policy'\''s break-glass review; granted at once and reviewed afterwards]' \
'--end-with-escalation[Send CMD a SIGTERM when the escalation ends under it (expired, revoked, denied or deleted). Streams opened meanwhile (exec, attach, port-forward) outlive the grants otherwise\: Kubernetes authorises them only when they connect]' \
'--extend[Keep CMD'\''s grants\: when less than a tenth of the time is left, ask for an extension (kubectl kudo extend; the policy'\''s maxExtensions caps how often), and go on with it once granted]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'-V[Print version]' \
'--version[Print version]' \
'::policy -- The EscalationPolicy to use (asked for on a terminal when left out):_default' \
'*::command -- The command to run with the grants, after `--`:_default' \
&& ret=0
;;
(which)
_arguments "${_arguments_options[@]}" : \
'--subresource=[The subresource, as for kubectl auth can-i (pods/log is the same as pods --subresource log)]:SUBRESOURCE:_default' \
'-o+[Output format\: json or yaml (default\: a table)]:FORMAT:(wide json yaml name)' \
'--output=[Output format\: json or yaml (default\: a table)]:FORMAT:(wide json yaml name)' \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, merged as kubectl does, then ~/.kube/config)]:PATH:_files' \
'--context=[The kubeconfig context to use]:NAME:_default' \
'--cluster=[The kubeconfig cluster to use]:NAME:_default' \
'-n+[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--namespace=[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--user=[The kubeconfig user to use]:NAME:_default' \
'--as=[Username to impersonate for the operation]:USER:_default' \
'*--as-group=[Group to impersonate for the operation; repeat for several]:GROUP:_default' \
'--request-timeout=[How long to wait for one API request (e.g. 10s, 1m); 0 waits forever]:DURATION:_default' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'-V[Print version]' \
'--version[Print version]' \
':verb -- The verb, as RBAC names it\: get, list, create, update, patch, delete, use…:_default' \
':resource -- The resource as kubectl names it\: pods, deploy, deployments.apps. RESOURCE/X is a subresource when the cluster serves one of that name (pods/portforward, pods/log), otherwise an object'\''s name as for kubectl auth can-i (secrets/db):_default' \
'::name -- One object'\''s name (rules limited to resourceNames apply only then):_default' \
&& ret=0
;;
(dashboard)
_arguments "${_arguments_options[@]}" : \
'--port=[Port on 127.0.0.1 to listen on; 0 picks a free one]:PORT:_default' \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, merged as kubectl does, then ~/.kube/config)]:PATH:_files' \
'--context=[The kubeconfig context to use]:NAME:_default' \
'--cluster=[The kubeconfig cluster to use]:NAME:_default' \
'-n+[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--namespace=[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--user=[The kubeconfig user to use]:NAME:_default' \
'--as=[Username to impersonate for the operation]:USER:_default' \
'*--as-group=[Group to impersonate for the operation; repeat for several]:GROUP:_default' \
'--request-timeout=[How long to wait for one API request (e.g. 10s, 1m); 0 waits forever]:DURATION:_default' \
'--no-open[Print the URL only; do not open a browser]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(manifests)
_arguments "${_arguments_options[@]}" : \
'--controller-namespace=[Namespace the controller runs in]:NAMESPACE:_default' \
'--controller-service-account=[ServiceAccount the controller runs as; the only identity allowed to write escalation status]:NAME:_default' \
'--image=[Controller image]:IMAGE:_default' \
'--audit-webhook-secret=[Secret (in the controller'\''s namespace) whose key \`url\` is the audit webhook URL; the controller reads it as KUDO_AUDIT_WEBHOOK. Optional\: without that Secret, no webhook]:NAME:_default' \
'*--metrics-from-namespace=[Pods in this namespace (e.g. Prometheus'\'') may reach the controller'\''s /metrics; repeat for more. By default no pod may\: the NetworkPolicy admits only the node, for kubelet'\''s probes]:NAMESPACE:_default' \
'--helm-chart=[Write the Helm chart (deploy/helm/kudo) into DIR instead\: the same objects, with the defaults as its values (for the project'\''s own regeneration; tests/helm.rs checks the committed one)]:DIR:_files' \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, merged as kubectl does, then ~/.kube/config)]:PATH:_files' \
'--context=[The kubeconfig context to use]:NAME:_default' \
'--cluster=[The kubeconfig cluster to use]:NAME:_default' \
'-n+[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--namespace=[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--user=[The kubeconfig user to use]:NAME:_default' \
'--as=[Username to impersonate for the operation]:USER:_default' \
'*--as-group=[Group to impersonate for the operation; repeat for several]:GROUP:_default' \
'--request-timeout=[How long to wait for one API request (e.g. 10s, 1m); 0 waits forever]:DURATION:_default' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(doctor)
_arguments "${_arguments_options[@]}" : \
'-o+[Output format (default\: one line per check, with the fix under each failure)]:FORMAT:(json)' \
'--output=[Output format (default\: one line per check, with the fix under each failure)]:FORMAT:(json)' \
'--controller-namespace=[Namespace kudo is installed in (as \`kubectl kudo manifests --controller-namespace\` wrote it)]:NAMESPACE:_default' \
'--controller-service-account=[The controller'\''s ServiceAccount, which the admission guards name]:NAME:_default' \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, merged as kubectl does, then ~/.kube/config)]:PATH:_files' \
'--context=[The kubeconfig context to use]:NAME:_default' \
'--cluster=[The kubeconfig cluster to use]:NAME:_default' \
'-n+[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--namespace=[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--user=[The kubeconfig user to use]:NAME:_default' \
'--as=[Username to impersonate for the operation]:USER:_default' \
'*--as-group=[Group to impersonate for the operation; repeat for several]:GROUP:_default' \
'--request-timeout=[How long to wait for one API request (e.g. 10s, 1m); 0 waits forever]:DURATION:_default' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(version)
_arguments "${_arguments_options[@]}" : \
'-o+[Output format (default\: one line per version, warnings on stderr)]:FORMAT:(json)' \
'--output=[Output format (default\: one line per version, warnings on stderr)]:FORMAT:(json)' \
'--controller-namespace=[Namespace kudo is installed in (as \`kubectl kudo manifests --controller-namespace\` wrote it)]:NAMESPACE:_default' \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, merged as kubectl does, then ~/.kube/config)]:PATH:_files' \
'--context=[The kubeconfig context to use]:NAME:_default' \
'--cluster=[The kubeconfig cluster to use]:NAME:_default' \
'-n+[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--namespace=[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--user=[The kubeconfig user to use]:NAME:_default' \
'--as=[Username to impersonate for the operation]:USER:_default' \
'*--as-group=[Group to impersonate for the operation; repeat for several]:GROUP:_default' \
'--request-timeout=[How long to wait for one API request (e.g. 10s, 1m); 0 waits forever]:DURATION:_default' \
'--client[The plugin'\''s version only\: do not contact the cluster]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(sandbox)
_arguments "${_arguments_options[@]}" : \
'--apiserver=[Which API server to run. The kubeconfig goes where --kubeconfig says (default ~/.kube/kudo-sandbox.yaml; for --demo a private temporary file)]:KIND:((memory\:"The in-memory API server, in this process (starts in well under 2s)"
real\:"kudo-testenv, the real control plane (kube-apiserver and etcd), found on PATH"))' \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, merged as kubectl does, then ~/.kube/config)]:PATH:_files' \
'--context=[The kubeconfig context to use]:NAME:_default' \
'--cluster=[The kubeconfig cluster to use]:NAME:_default' \
'-n+[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--namespace=[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--user=[The kubeconfig user to use]:NAME:_default' \
'--as=[Username to impersonate for the operation]:USER:_default' \
'*--as-group=[Group to impersonate for the operation; repeat for several]:GROUP:_default' \
'--request-timeout=[How long to wait for one API request (e.g. 10s, 1m); 0 waits forever]:DURATION:_default' \
'--demo[Play the story once, each step with its timing, and exit\: alice'\''s can-i says no; she escalates; bob approves; alice can; the short grant expires and its binding is gone; can-i says no again]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(controller)
_arguments "${_arguments_options[@]}" : \
'--log-format=[Log format (logs go to stderr; audit lines to stdout)]:LOG_FORMAT:(text json)' \
'--log=[Log filter, as RUST_LOG (e.g. info, kudo=debug)]:LOG:_default' \
'--kudo-namespace=[Namespace kudo is installed in\: its leader Lease lives there]:NAMESPACE:_default' \
'--service-account=[The controller'\''s ServiceAccount, in NAMESPACE\: the admission guards it checks must name it (as \`kubectl kudo manifests --controller-service-account\` wrote them)]:NAME:_default' \
'--leader-elect=[Elect a leader on a Lease before acting; keep on with more than one replica]:BOOL:(true false)' \
'--identity=[This replica'\''s identity in the Lease (default\: the pod name, else the host name)]:NAME:_default' \
'--lease-duration=[How long a leader'\''s Lease lasts without renewal]:DURATION:_default' \
'--sweep-interval=[How often to sweep orphan bindings and report dangerous policies]:DURATION:_default' \
'--listen=[Address of /healthz, /readyz and /metrics]:ADDR:_default' \
'--audit-queue=[Audit records waiting for the webhook before new ones are refused (and counted)]:N:_default' \
'--audit-attempts=[Delivery attempts per audit record, with doubling backoff from 500 ms]:N:_default' \
'--concurrency=[Escalations reconciled at once]:N:_default' \
'--retain-finished=[DENIED and EXPIRED escalations are deleted this long after they ended (after an audit record of the whole object)]:DURATION:_default' \
'--retain-finished-per-requestor=[At most this many DENIED and EXPIRED escalations are kept per requestor\: the oldest beyond go first (after an audit record of the whole object), never one still owed its break-glass after-review]:N:_default' \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, merged as kubectl does, then ~/.kube/config)]:PATH:_files' \
'--context=[The kubeconfig context to use]:NAME:_default' \
'--cluster=[The kubeconfig cluster to use]:NAME:_default' \
'-n+[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--namespace=[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--user=[The kubeconfig user to use]:NAME:_default' \
'--as=[Username to impersonate for the operation]:USER:_default' \
'*--as-group=[Group to impersonate for the operation; repeat for several]:GROUP:_default' \
'--request-timeout=[How long to wait for one API request (e.g. 10s, 1m); 0 waits forever]:DURATION:_default' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(reap)
_arguments "${_arguments_options[@]}" : \
'--budget=[Time for the whole pass; due bindings not reached by then are left to the next pass, the most urgent first again. The CronJob'\''s Job is killed at 55s, so its default leaves 10s to start, connect and exit]:DURATION:_default' \
'--concurrency=[Deletions in flight at once]:N:_default' \
'--log-format=[Log format (logs go to stderr; what was reaped to stdout)]:LOG_FORMAT:(text json)' \
'--log=[Log filter, as RUST_LOG (e.g. info, kudo=debug)]:LOG:_default' \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, merged as kubectl does, then ~/.kube/config)]:PATH:_files' \
'--context=[The kubeconfig context to use]:NAME:_default' \
'--cluster=[The kubeconfig cluster to use]:NAME:_default' \
'-n+[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--namespace=[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--user=[The kubeconfig user to use]:NAME:_default' \
'--as=[Username to impersonate for the operation]:USER:_default' \
'*--as-group=[Group to impersonate for the operation; repeat for several]:GROUP:_default' \
'--request-timeout=[How long to wait for one API request (e.g. 10s, 1m); 0 waits forever]:DURATION:_default' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'-V[Print version]' \
'--version[Print version]' \
&& ret=0
;;
(__complete)
_arguments "${_arguments_options[@]}" : \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, merged as kubectl does, then ~/.kube/config)]:PATH:_files' \
'--context=[The kubeconfig context to use]:NAME:_default' \
'--cluster=[The kubeconfig cluster to use]:NAME:_default' \
'-n+[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--namespace=[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--user=[The kubeconfig user to use]:NAME:_default' \
'--as=[Username to impersonate for the operation]:USER:_default' \
'*--as-group=[Group to impersonate for the operation; repeat for several]:GROUP:_default' \
'--request-timeout=[How long to wait for one API request (e.g. 10s, 1m); 0 waits forever]:DURATION:_default' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
'*::words:_default' \
&& ret=0
;;
(completion)
_arguments "${_arguments_options[@]}" : \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, merged as kubectl does, then ~/.kube/config)]:PATH:_files' \
'--context=[The kubeconfig context to use]:NAME:_default' \
'--cluster=[The kubeconfig cluster to use]:NAME:_default' \
'-n+[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--namespace=[Namespace for namespaced grants when escalating (default\: the policy'\''s defaultNamespace)]:NAMESPACE:_default' \
'--user=[The kubeconfig user to use]:NAME:_default' \
'--as=[Username to impersonate for the operation]:USER:_default' \
'*--as-group=[Group to impersonate for the operation; repeat for several]:GROUP:_default' \
'--request-timeout=[How long to wait for one API request (e.g. 10s, 1m); 0 waits forever]:DURATION:_default' \
'-h[Print help]' \
'--help[Print help]' \
'-V[Print version]' \
'--version[Print version]' \
':shell:(bash elvish fish powershell zsh)' \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
":: :_kubectl-kudo__subcmd__help_commands" \
"*::: :->help" \
&& ret=0

    case $state in
    (help)
        words=($line[1] "${words[@]}")
        (( CURRENT += 1 ))
        curcontext="${curcontext%:*:*}:kubectl-kudo-help-command-$line[1]:"
        case $line[1] in
            (escalate)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(extend)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(approve)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(deny)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(list)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(status)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(revoke)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(policies)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(run)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(which)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(dashboard)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(manifests)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(doctor)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(version)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(sandbox)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(controller)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(reap)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(__complete)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(completion)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(help)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
        esac
    ;;
esac
;;
        esac
    ;;
esac
}

(( $+functions[_kubectl-kudo_commands] )) ||
_kubectl-kudo_commands() {
    local commands; commands=(
'escalate:Ask for a policy'\''s grants for a while\: kubectl kudo escalate POLICY --reason '\''…'\''' \
'extend:Ask for more time on a running escalation, with no gap\: kubectl kudo extend NAME \[--duration 1h\]' \
'approve:Approve someone'\''s PENDING escalation (policies with a PeerReview)' \
'deny:Reject someone'\''s PENDING escalation\: it is DENIED' \
'list:List escalations\: mine by default, --all, or --pending-review' \
'ls:List escalations\: mine by default, --all, or --pending-review' \
'status:One escalation in detail\: state, challenges, grants, timeline' \
'revoke:End an escalation early; its grants are reclaimed at once' \
'policies:The policies I may use\: what they grant, where, for how long, and what they ask first' \
'run:Escalate, run one command with the grants, and revoke when it exits\: kubectl kudo run POLICY --reason '\''…'\'' -- kubectl get secrets -n app' \
'which:Which policies I may use would let me do this\: kubectl kudo which create pods/portforward -n app' \
'dashboard:A local web UI on 127.0.0.1 acting as you (your kubeconfig identity)\: your escalations live, a request form, reviews with what each grants' \
'manifests:Print the install (CRDs, RBAC, admission policies, controller) as YAML' \
'doctor:Check the installation on the current cluster\: each check with ✓ or ✗, and the fix for each ✗' \
'version:This plugin'\''s version and, on a cluster, the controller'\''s and the CRDs'\'' versions' \
'sandbox:A cluster with kudo in one process, to try it\: users admin, alice (squad-a) and bob (squad-b), example policies, and the commands to paste; runs until Ctrl-C' \
'controller:Run the controller (in cluster, or locally against the current kubeconfig)' \
'reap:One reaper pass, then exit\: delete every kudo binding past its end (the earlier of its expires-at annotation and its escalation'\''s expiresAt, revocation or deletion) or whose escalation is gone or final' \
'__complete:kubectl'\''s plugin completion protocol (run by completions/kubectl_complete-kudo)' \
'completion:Print a shell completion script' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'kubectl-kudo commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd____complete_commands] )) ||
_kubectl-kudo__subcmd____complete_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo __complete commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__approve_commands] )) ||
_kubectl-kudo__subcmd__approve_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo approve commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__completion_commands] )) ||
_kubectl-kudo__subcmd__completion_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo completion commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__controller_commands] )) ||
_kubectl-kudo__subcmd__controller_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo controller commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__dashboard_commands] )) ||
_kubectl-kudo__subcmd__dashboard_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo dashboard commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__deny_commands] )) ||
_kubectl-kudo__subcmd__deny_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo deny commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__doctor_commands] )) ||
_kubectl-kudo__subcmd__doctor_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo doctor commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__escalate_commands] )) ||
_kubectl-kudo__subcmd__escalate_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo escalate commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__extend_commands] )) ||
_kubectl-kudo__subcmd__extend_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo extend commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__help_commands] )) ||
_kubectl-kudo__subcmd__help_commands() {
    local commands; commands=(
'escalate:Ask for a policy'\''s grants for a while\: kubectl kudo escalate POLICY --reason '\''…'\''' \
'extend:Ask for more time on a running escalation, with no gap\: kubectl kudo extend NAME \[--duration 1h\]' \
'approve:Approve someone'\''s PENDING escalation (policies with a PeerReview)' \
'deny:Reject someone'\''s PENDING escalation\: it is DENIED' \
'list:List escalations\: mine by default, --all, or --pending-review' \
'status:One escalation in detail\: state, challenges, grants, timeline' \
'revoke:End an escalation early; its grants are reclaimed at once' \
'policies:The policies I may use\: what they grant, where, for how long, and what they ask first' \
'run:Escalate, run one command with the grants, and revoke when it exits\: kubectl kudo run POLICY --reason '\''…'\'' -- kubectl get secrets -n app' \
'which:Which policies I may use would let me do this\: kubectl kudo which create pods/portforward -n app' \
'dashboard:A local web UI on 127.0.0.1 acting as you (your kubeconfig identity)\: your escalations live, a request form, reviews with what each grants' \
'manifests:Print the install (CRDs, RBAC, admission policies, controller) as YAML' \
'doctor:Check the installation on the current cluster\: each check with ✓ or ✗, and the fix for each ✗' \
'version:This plugin'\''s version and, on a cluster, the controller'\''s and the CRDs'\'' versions' \
'sandbox:A cluster with kudo in one process, to try it\: users admin, alice (squad-a) and bob (squad-b), example policies, and the commands to paste; runs until Ctrl-C' \
'controller:Run the controller (in cluster, or locally against the current kubeconfig)' \
'reap:One reaper pass, then exit\: delete every kudo binding past its end (the earlier of its expires-at annotation and its escalation'\''s expiresAt, revocation or deletion) or whose escalation is gone or final' \
'__complete:kubectl'\''s plugin completion protocol (run by completions/kubectl_complete-kudo)' \
'completion:Print a shell completion script' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'kubectl-kudo help commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__help__subcmd____complete_commands] )) ||
_kubectl-kudo__subcmd__help__subcmd____complete_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo help __complete commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__help__subcmd__approve_commands] )) ||
_kubectl-kudo__subcmd__help__subcmd__approve_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo help approve commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__help__subcmd__completion_commands] )) ||
_kubectl-kudo__subcmd__help__subcmd__completion_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo help completion commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__help__subcmd__controller_commands] )) ||
_kubectl-kudo__subcmd__help__subcmd__controller_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo help controller commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__help__subcmd__dashboard_commands] )) ||
_kubectl-kudo__subcmd__help__subcmd__dashboard_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo help dashboard commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__help__subcmd__deny_commands] )) ||
_kubectl-kudo__subcmd__help__subcmd__deny_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo help deny commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__help__subcmd__doctor_commands] )) ||
_kubectl-kudo__subcmd__help__subcmd__doctor_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo help doctor commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__help__subcmd__escalate_commands] )) ||
_kubectl-kudo__subcmd__help__subcmd__escalate_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo help escalate commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__help__subcmd__extend_commands] )) ||
_kubectl-kudo__subcmd__help__subcmd__extend_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo help extend commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__help__subcmd__help_commands] )) ||
_kubectl-kudo__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo help help commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__help__subcmd__list_commands] )) ||
_kubectl-kudo__subcmd__help__subcmd__list_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo help list commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__help__subcmd__manifests_commands] )) ||
_kubectl-kudo__subcmd__help__subcmd__manifests_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo help manifests commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__help__subcmd__policies_commands] )) ||
_kubectl-kudo__subcmd__help__subcmd__policies_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo help policies commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__help__subcmd__reap_commands] )) ||
_kubectl-kudo__subcmd__help__subcmd__reap_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo help reap commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__help__subcmd__revoke_commands] )) ||
_kubectl-kudo__subcmd__help__subcmd__revoke_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo help revoke commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__help__subcmd__run_commands] )) ||
_kubectl-kudo__subcmd__help__subcmd__run_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo help run commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__help__subcmd__sandbox_commands] )) ||
_kubectl-kudo__subcmd__help__subcmd__sandbox_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo help sandbox commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__help__subcmd__status_commands] )) ||
_kubectl-kudo__subcmd__help__subcmd__status_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo help status commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__help__subcmd__version_commands] )) ||
_kubectl-kudo__subcmd__help__subcmd__version_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo help version commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__help__subcmd__which_commands] )) ||
_kubectl-kudo__subcmd__help__subcmd__which_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo help which commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__list_commands] )) ||
_kubectl-kudo__subcmd__list_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo list commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__manifests_commands] )) ||
_kubectl-kudo__subcmd__manifests_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo manifests commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__policies_commands] )) ||
_kubectl-kudo__subcmd__policies_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo policies commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__reap_commands] )) ||
_kubectl-kudo__subcmd__reap_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo reap commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__revoke_commands] )) ||
_kubectl-kudo__subcmd__revoke_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo revoke commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__run_commands] )) ||
_kubectl-kudo__subcmd__run_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo run commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__sandbox_commands] )) ||
_kubectl-kudo__subcmd__sandbox_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo sandbox commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__status_commands] )) ||
_kubectl-kudo__subcmd__status_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo status commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__version_commands] )) ||
_kubectl-kudo__subcmd__version_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo version commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__which_commands] )) ||
_kubectl-kudo__subcmd__which_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo which commands' commands "$@"
}

if [ "$funcstack[1]" = "_kubectl-kudo" ]; then
    _kubectl-kudo "$@"
else
    compdef _kubectl-kudo kubectl-kudo
fi
