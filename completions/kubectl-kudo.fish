# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_kubectl_kudo_global_optspecs
    string join \n kubeconfig= context= cluster= n/namespace= user= as= as-group= request-timeout= h/help V/version
end

function __fish_kubectl_kudo_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_kubectl_kudo_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_kubectl_kudo_using_subcommand
    set -l cmd (__fish_kubectl_kudo_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, merged as kubectl does, then ~/.kube/config)' -r -F
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -s n -l namespace -d 'Namespace for namespaced grants when escalating (default: the policy\'s defaultNamespace)' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -l as-group -d 'Group to impersonate for the operation; repeat for several' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -l request-timeout -d 'How long to wait for one API request (e.g. 10s, 1m); 0 waits forever' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -s h -l help -d 'Print help'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -s V -l version -d 'Print version'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -f -a "escalate" -d 'Ask for a policy\'s grants for a while: kubectl kudo escalate POLICY --reason \'…\''
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -f -a "extend" -d 'Ask for more time on a running escalation, with no gap: kubectl kudo extend NAME [--duration 1h]'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -f -a "approve" -d 'Approve someone\'s PENDING escalation (policies with a PeerReview)'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -f -a "deny" -d 'Reject someone\'s PENDING escalation: it is DENIED'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -f -a "list" -d 'List escalations: mine by default, --all, or --pending-review'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -f -a "ls" -d 'List escalations: mine by default, --all, or --pending-review'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -f -a "status" -d 'One escalation in detail: state, challenges, grants, timeline'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -f -a "revoke" -d 'End an escalation early; its grants are reclaimed at once'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -f -a "policies" -d 'The policies I may use: what they grant, where, for how long, and what they ask first'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -f -a "run" -d 'Escalate, run one command with the grants, and revoke when it exits: kubectl kudo run POLICY --reason \'…\' -- kubectl get secrets -n app'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -f -a "which" -d 'Which policies I may use would let me do this: kubectl kudo which create pods/portforward -n app'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -f -a "dashboard" -d 'A local web UI on 127.0.0.1 acting as you (your kubeconfig identity): your escalations live, a request form, reviews with what each grants'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -f -a "manifests" -d 'Print the install (CRDs, RBAC, admission policies, controller) as YAML'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -f -a "doctor" -d 'Check the installation on the current cluster: each check with ✓ or ✗, and the fix for each ✗'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -f -a "version" -d 'This plugin\'s version and, on a cluster, the controller\'s and the CRDs\' versions'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -f -a "sandbox" -d 'A cluster with kudo in one process, to try it: users admin, alice (squad-a) and bob (squad-b), example policies, and the commands to paste; runs until Ctrl-C'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -f -a "controller" -d 'Run the controller (in cluster, or locally against the current kubeconfig)'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -f -a "reap" -d 'One reaper pass, then exit: delete every kudo binding past its end (the earlier of its expires-at annotation and its escalation\'s expiresAt, revocation or deletion) or whose escalation is gone or final'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -f -a "__complete" -d 'kubectl\'s plugin completion protocol (run by completions/kubectl_complete-kudo)'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -f -a "completion" -d 'Print a shell completion script'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand escalate" -l for -d 'Instead of POLICY: the permission needed, as for kubectl auth can-i, e.g. --for "create pods/portforward -n app"; the one policy that grants it is used' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand escalate" -s r -l reason -d 'Why you need it; policies may require a ticket reference' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand escalate" -s d -l duration -d 'How long to hold the grants (default: the policy\'s defaultDuration), e.g. 30m, 2h' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand escalate" -l timeout -d 'Longest wait for the decision' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand escalate" -l start-at -d 'Start later: not accepted before this time (RFC 3339, e.g. 2026-11-24T08:00:00Z)' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand escalate" -l start-in -d 'Start later: not accepted before this much time from now, e.g. 2h' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand escalate" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, merged as kubectl does, then ~/.kube/config)' -r -F
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand escalate" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand escalate" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand escalate" -s n -l namespace -d 'Namespace for namespaced grants when escalating (default: the policy\'s defaultNamespace)' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand escalate" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand escalate" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand escalate" -l as-group -d 'Group to impersonate for the operation; repeat for several' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand escalate" -l request-timeout -d 'How long to wait for one API request (e.g. 10s, 1m); 0 waits forever' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand escalate" -l break-glass -d 'Emergency: skip the policy\'s break-glass review; granted at once and reviewed afterwards'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand escalate" -l no-wait -d 'Do not wait for the decision: return once the controller has taken the request up (PENDING, and what it waits for), or after 10s'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand escalate" -s h -l help -d 'Print help'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand escalate" -s V -l version -d 'Print version'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand extend" -s d -l duration -d 'How long the extension lasts from its acceptance (default: the extended escalation\'s duration), at most the policy\'s maxDuration' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand extend" -s r -l reason -d 'Why (default: the extended escalation\'s reason)' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand extend" -l timeout -d 'Longest wait for the decision, with --wait' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand extend" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, merged as kubectl does, then ~/.kube/config)' -r -F
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand extend" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand extend" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand extend" -s n -l namespace -d 'Namespace for namespaced grants when escalating (default: the policy\'s defaultNamespace)' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand extend" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand extend" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand extend" -l as-group -d 'Group to impersonate for the operation; repeat for several' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand extend" -l request-timeout -d 'How long to wait for one API request (e.g. 10s, 1m); 0 waits forever' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand extend" -l wait -d 'Wait for the decision and report it (by default: return once the controller has taken the request up)'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand extend" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand extend" -s V -l version -d 'Print version'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand approve" -s m -l message -d 'A note for the requestor and the audit log' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand approve" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, merged as kubectl does, then ~/.kube/config)' -r -F
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand approve" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand approve" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand approve" -s n -l namespace -d 'Namespace for namespaced grants when escalating (default: the policy\'s defaultNamespace)' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand approve" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand approve" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand approve" -l as-group -d 'Group to impersonate for the operation; repeat for several' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand approve" -l request-timeout -d 'How long to wait for one API request (e.g. 10s, 1m); 0 waits forever' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand approve" -s y -l yes -d 'Do not ask for confirmation'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand approve" -l wait -d 'Then wait (up to a minute) until the controller has acted on the review, and say what it decided: granted, denied, or what it still waits for'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand approve" -s h -l help -d 'Print help'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand approve" -s V -l version -d 'Print version'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand deny" -s m -l message -d 'A note for the requestor and the audit log' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand deny" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, merged as kubectl does, then ~/.kube/config)' -r -F
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand deny" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand deny" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand deny" -s n -l namespace -d 'Namespace for namespaced grants when escalating (default: the policy\'s defaultNamespace)' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand deny" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand deny" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand deny" -l as-group -d 'Group to impersonate for the operation; repeat for several' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand deny" -l request-timeout -d 'How long to wait for one API request (e.g. 10s, 1m); 0 waits forever' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand deny" -s y -l yes -d 'Do not ask for confirmation'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand deny" -l wait -d 'Then wait (up to a minute) until the controller has acted on the review, and say what it decided: granted, denied, or what it still waits for'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand deny" -s h -l help -d 'Print help'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand deny" -s V -l version -d 'Print version'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand list" -s o -l output -d 'Output format' -r -f -a "wide\t''
json\t''
yaml\t''
name\t''"
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand list" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, merged as kubectl does, then ~/.kube/config)' -r -F
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand list" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand list" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand list" -s n -l namespace -d 'Namespace for namespaced grants when escalating (default: the policy\'s defaultNamespace)' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand list" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand list" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand list" -l as-group -d 'Group to impersonate for the operation; repeat for several' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand list" -l request-timeout -d 'How long to wait for one API request (e.g. 10s, 1m); 0 waits forever' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand list" -s A -l all -d 'Everyone\'s escalations, not only mine'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand list" -l pending-review -d 'PENDING escalations I may review and have not reviewed yet'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand list" -l after-review -d 'Break-glass escalations (active or ended, anyone\'s) still awaiting their after-review'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand list" -s w -l watch -d 'After listing, keep printing changes'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand list" -s h -l help -d 'Print help'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand list" -s V -l version -d 'Print version'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand ls" -s o -l output -d 'Output format' -r -f -a "wide\t''
json\t''
yaml\t''
name\t''"
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand ls" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, merged as kubectl does, then ~/.kube/config)' -r -F
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand ls" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand ls" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand ls" -s n -l namespace -d 'Namespace for namespaced grants when escalating (default: the policy\'s defaultNamespace)' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand ls" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand ls" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand ls" -l as-group -d 'Group to impersonate for the operation; repeat for several' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand ls" -l request-timeout -d 'How long to wait for one API request (e.g. 10s, 1m); 0 waits forever' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand ls" -s A -l all -d 'Everyone\'s escalations, not only mine'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand ls" -l pending-review -d 'PENDING escalations I may review and have not reviewed yet'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand ls" -l after-review -d 'Break-glass escalations (active or ended, anyone\'s) still awaiting their after-review'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand ls" -s w -l watch -d 'After listing, keep printing changes'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand ls" -s h -l help -d 'Print help'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand ls" -s V -l version -d 'Print version'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand status" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, merged as kubectl does, then ~/.kube/config)' -r -F
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand status" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand status" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand status" -s n -l namespace -d 'Namespace for namespaced grants when escalating (default: the policy\'s defaultNamespace)' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand status" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand status" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand status" -l as-group -d 'Group to impersonate for the operation; repeat for several' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand status" -l request-timeout -d 'How long to wait for one API request (e.g. 10s, 1m); 0 waits forever' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand status" -s h -l help -d 'Print help'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand status" -s V -l version -d 'Print version'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand revoke" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, merged as kubectl does, then ~/.kube/config)' -r -F
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand revoke" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand revoke" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand revoke" -s n -l namespace -d 'Namespace for namespaced grants when escalating (default: the policy\'s defaultNamespace)' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand revoke" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand revoke" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand revoke" -l as-group -d 'Group to impersonate for the operation; repeat for several' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand revoke" -l request-timeout -d 'How long to wait for one API request (e.g. 10s, 1m); 0 waits forever' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand revoke" -l all-mine -d 'End every escalation of mine that is PENDING or ACCEPTED'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand revoke" -s h -l help -d 'Print help'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand revoke" -s V -l version -d 'Print version'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand policies" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, merged as kubectl does, then ~/.kube/config)' -r -F
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand policies" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand policies" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand policies" -s n -l namespace -d 'Namespace for namespaced grants when escalating (default: the policy\'s defaultNamespace)' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand policies" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand policies" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand policies" -l as-group -d 'Group to impersonate for the operation; repeat for several' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand policies" -l request-timeout -d 'How long to wait for one API request (e.g. 10s, 1m); 0 waits forever' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand policies" -s A -l all -d 'Every policy, not only those I may use'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand policies" -s h -l help -d 'Print help'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand policies" -s V -l version -d 'Print version'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand run" -l for -d 'Instead of POLICY: the permission needed, as for kubectl auth can-i, e.g. --for "create pods/portforward -n app"; the one policy that grants it is used' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand run" -s r -l reason -d 'Why you need it; policies may require a ticket reference' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand run" -s d -l duration -d 'How long to hold the grants (default: the policy\'s defaultDuration), e.g. 30m, 2h' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand run" -l timeout -d 'Longest wait for the decision' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand run" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, merged as kubectl does, then ~/.kube/config)' -r -F
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand run" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand run" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand run" -s n -l namespace -d 'Namespace for namespaced grants when escalating (default: the policy\'s defaultNamespace)' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand run" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand run" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand run" -l as-group -d 'Group to impersonate for the operation; repeat for several' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand run" -l request-timeout -d 'How long to wait for one API request (e.g. 10s, 1m); 0 waits forever' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand run" -l break-glass -d 'Emergency: skip the policy\'s break-glass review; granted at once and reviewed afterwards'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand run" -l end-with-escalation -d 'Send CMD a SIGTERM when the escalation ends under it (expired, revoked, denied or deleted). Streams opened meanwhile (exec, attach, port-forward) outlive the grants otherwise: Kubernetes authorises them only when they connect'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand run" -l extend -d 'Keep CMD\'s grants: when less than a tenth of the time is left, ask for an extension (kubectl kudo extend; the policy\'s maxExtensions caps how often), and go on with it once granted'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand run" -s V -l version -d 'Print version'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand which" -l subresource -d 'The subresource, as for kubectl auth can-i (pods/log is the same as pods --subresource log)' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand which" -s o -l output -d 'Output format: json or yaml (default: a table)' -r -f -a "wide\t''
json\t''
yaml\t''
name\t''"
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand which" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, merged as kubectl does, then ~/.kube/config)' -r -F
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand which" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand which" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand which" -s n -l namespace -d 'Namespace for namespaced grants when escalating (default: the policy\'s defaultNamespace)' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand which" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand which" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand which" -l as-group -d 'Group to impersonate for the operation; repeat for several' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand which" -l request-timeout -d 'How long to wait for one API request (e.g. 10s, 1m); 0 waits forever' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand which" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand which" -s V -l version -d 'Print version'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand dashboard" -l port -d 'Port on 127.0.0.1 to listen on; 0 picks a free one' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand dashboard" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, merged as kubectl does, then ~/.kube/config)' -r -F
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand dashboard" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand dashboard" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand dashboard" -s n -l namespace -d 'Namespace for namespaced grants when escalating (default: the policy\'s defaultNamespace)' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand dashboard" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand dashboard" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand dashboard" -l as-group -d 'Group to impersonate for the operation; repeat for several' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand dashboard" -l request-timeout -d 'How long to wait for one API request (e.g. 10s, 1m); 0 waits forever' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand dashboard" -l no-open -d 'Print the URL only; do not open a browser'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand dashboard" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand dashboard" -s V -l version -d 'Print version'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand manifests" -l controller-namespace -d 'Namespace the controller runs in' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand manifests" -l controller-service-account -d 'ServiceAccount the controller runs as; the only identity allowed to write escalation status' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand manifests" -l image -d 'Controller image' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand manifests" -l audit-webhook-secret -d 'Secret (in the controller\'s namespace) whose key `url` is the audit webhook URL; the controller reads it as KUDO_AUDIT_WEBHOOK. Optional: without that Secret, no webhook' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand manifests" -l metrics-from-namespace -d 'Pods in this namespace (e.g. Prometheus\') may reach the controller\'s /metrics; repeat for more. By default no pod may: the NetworkPolicy admits only the node, for kubelet\'s probes' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand manifests" -l helm-chart -d 'Write the Helm chart (deploy/helm/kudo) into DIR instead: the same objects, with the defaults as its values (for the project\'s own regeneration; tests/helm.rs checks the committed one)' -r -F
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand manifests" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, merged as kubectl does, then ~/.kube/config)' -r -F
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand manifests" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand manifests" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand manifests" -s n -l namespace -d 'Namespace for namespaced grants when escalating (default: the policy\'s defaultNamespace)' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand manifests" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand manifests" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand manifests" -l as-group -d 'Group to impersonate for the operation; repeat for several' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand manifests" -l request-timeout -d 'How long to wait for one API request (e.g. 10s, 1m); 0 waits forever' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand manifests" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand manifests" -s V -l version -d 'Print version'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand doctor" -s o -l output -d 'Output format (default: one line per check, with the fix under each failure)' -r -f -a "json\t''"
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand doctor" -l controller-namespace -d 'Namespace kudo is installed in (as `kubectl kudo manifests --controller-namespace` wrote it)' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand doctor" -l controller-service-account -d 'The controller\'s ServiceAccount, which the admission guards name' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand doctor" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, merged as kubectl does, then ~/.kube/config)' -r -F
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand doctor" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand doctor" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand doctor" -s n -l namespace -d 'Namespace for namespaced grants when escalating (default: the policy\'s defaultNamespace)' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand doctor" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand doctor" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand doctor" -l as-group -d 'Group to impersonate for the operation; repeat for several' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand doctor" -l request-timeout -d 'How long to wait for one API request (e.g. 10s, 1m); 0 waits forever' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand doctor" -s V -l version -d 'Print version'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand version" -s o -l output -d 'Output format (default: one line per version, warnings on stderr)' -r -f -a "json\t''"
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand version" -l controller-namespace -d 'Namespace kudo is installed in (as `kubectl kudo manifests --controller-namespace` wrote it)' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand version" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, merged as kubectl does, then ~/.kube/config)' -r -F
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand version" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand version" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand version" -s n -l namespace -d 'Namespace for namespaced grants when escalating (default: the policy\'s defaultNamespace)' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand version" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand version" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand version" -l as-group -d 'Group to impersonate for the operation; repeat for several' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand version" -l request-timeout -d 'How long to wait for one API request (e.g. 10s, 1m); 0 waits forever' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand version" -l client -d 'The plugin\'s version only: do not contact the cluster'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand version" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand version" -s V -l version -d 'Print version'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand sandbox" -l apiserver -d 'Which API server to run. The kubeconfig goes where --kubeconfig says (default ~/.kube/kudo-sandbox.yaml; for --demo a private temporary file)' -r -f -a "memory\t'The in-memory API server, in this process (starts in well under 2s)'
real\t'kudo-testenv, the real control plane (kube-apiserver and etcd), found on PATH'"
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand sandbox" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, merged as kubectl does, then ~/.kube/config)' -r -F
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand sandbox" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand sandbox" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand sandbox" -s n -l namespace -d 'Namespace for namespaced grants when escalating (default: the policy\'s defaultNamespace)' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand sandbox" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand sandbox" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand sandbox" -l as-group -d 'Group to impersonate for the operation; repeat for several' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand sandbox" -l request-timeout -d 'How long to wait for one API request (e.g. 10s, 1m); 0 waits forever' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand sandbox" -l demo -d 'Play the story once, each step with its timing, and exit: alice\'s can-i says no; she escalates; bob approves; alice can; the short grant expires and its binding is gone; can-i says no again'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand sandbox" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand sandbox" -s V -l version -d 'Print version'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand controller" -l log-format -d 'Log format (logs go to stderr; audit lines to stdout)' -r -f -a "text\t''
json\t''"
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand controller" -l log -d 'Log filter, as RUST_LOG (e.g. info, kudo=debug)' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand controller" -l kudo-namespace -d 'Namespace kudo is installed in: its leader Lease lives there' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand controller" -l service-account -d 'The controller\'s ServiceAccount, in NAMESPACE: the admission guards it checks must name it (as `kubectl kudo manifests --controller-service-account` wrote them)' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand controller" -l leader-elect -d 'Elect a leader on a Lease before acting; keep on with more than one replica' -r -f -a "true\t''
false\t''"
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand controller" -l identity -d 'This replica\'s identity in the Lease (default: the pod name, else the host name)' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand controller" -l lease-duration -d 'How long a leader\'s Lease lasts without renewal' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand controller" -l sweep-interval -d 'How often to sweep orphan bindings and report dangerous policies' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand controller" -l listen -d 'Address of /healthz, /readyz and /metrics' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand controller" -l audit-queue -d 'Audit records waiting for the webhook before new ones are refused (and counted)' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand controller" -l audit-attempts -d 'Delivery attempts per audit record, with doubling backoff from 500 ms' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand controller" -l concurrency -d 'Escalations reconciled at once' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand controller" -l retain-finished -d 'DENIED and EXPIRED escalations are deleted this long after they ended (after an audit record of the whole object)' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand controller" -l retain-finished-per-requestor -d 'At most this many DENIED and EXPIRED escalations are kept per requestor: the oldest beyond go first (after an audit record of the whole object), never one still owed its break-glass after-review' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand controller" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, merged as kubectl does, then ~/.kube/config)' -r -F
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand controller" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand controller" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand controller" -s n -l namespace -d 'Namespace for namespaced grants when escalating (default: the policy\'s defaultNamespace)' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand controller" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand controller" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand controller" -l as-group -d 'Group to impersonate for the operation; repeat for several' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand controller" -l request-timeout -d 'How long to wait for one API request (e.g. 10s, 1m); 0 waits forever' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand controller" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand controller" -s V -l version -d 'Print version'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand reap" -l budget -d 'Time for the whole pass; due bindings not reached by then are left to the next pass, the most urgent first again. The CronJob\'s Job is killed at 55s, so its default leaves 10s to start, connect and exit' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand reap" -l concurrency -d 'Deletions in flight at once' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand reap" -l log-format -d 'Log format (logs go to stderr; what was reaped to stdout)' -r -f -a "text\t''
json\t''"
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand reap" -l log -d 'Log filter, as RUST_LOG (e.g. info, kudo=debug)' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand reap" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, merged as kubectl does, then ~/.kube/config)' -r -F
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand reap" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand reap" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand reap" -s n -l namespace -d 'Namespace for namespaced grants when escalating (default: the policy\'s defaultNamespace)' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand reap" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand reap" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand reap" -l as-group -d 'Group to impersonate for the operation; repeat for several' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand reap" -l request-timeout -d 'How long to wait for one API request (e.g. 10s, 1m); 0 waits forever' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand reap" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand reap" -s V -l version -d 'Print version'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand __complete" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, merged as kubectl does, then ~/.kube/config)' -r -F
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand __complete" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand __complete" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand __complete" -s n -l namespace -d 'Namespace for namespaced grants when escalating (default: the policy\'s defaultNamespace)' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand __complete" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand __complete" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand __complete" -l as-group -d 'Group to impersonate for the operation; repeat for several' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand __complete" -l request-timeout -d 'How long to wait for one API request (e.g. 10s, 1m); 0 waits forever' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand __complete" -s h -l help -d 'Print help'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand __complete" -s V -l version -d 'Print version'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand completion" -l kubeconfig -d 'Path to the kubeconfig file (default: $KUBECONFIG, merged as kubectl does, then ~/.kube/config)' -r -F
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand completion" -l context -d 'The kubeconfig context to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand completion" -l cluster -d 'The kubeconfig cluster to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand completion" -s n -l namespace -d 'Namespace for namespaced grants when escalating (default: the policy\'s defaultNamespace)' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand completion" -l user -d 'The kubeconfig user to use' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand completion" -l as -d 'Username to impersonate for the operation' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand completion" -l as-group -d 'Group to impersonate for the operation; repeat for several' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand completion" -l request-timeout -d 'How long to wait for one API request (e.g. 10s, 1m); 0 waits forever' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand completion" -s h -l help -d 'Print help'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand completion" -s V -l version -d 'Print version'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand help; and not __fish_seen_subcommand_from escalate extend approve deny list status revoke policies run which dashboard manifests doctor version sandbox controller reap __complete completion help" -f -a "escalate" -d 'Ask for a policy\'s grants for a while: kubectl kudo escalate POLICY --reason \'…\''
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand help; and not __fish_seen_subcommand_from escalate extend approve deny list status revoke policies run which dashboard manifests doctor version sandbox controller reap __complete completion help" -f -a "extend" -d 'Ask for more time on a running escalation, with no gap: kubectl kudo extend NAME [--duration 1h]'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand help; and not __fish_seen_subcommand_from escalate extend approve deny list status revoke policies run which dashboard manifests doctor version sandbox controller reap __complete completion help" -f -a "approve" -d 'Approve someone\'s PENDING escalation (policies with a PeerReview)'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand help; and not __fish_seen_subcommand_from escalate extend approve deny list status revoke policies run which dashboard manifests doctor version sandbox controller reap __complete completion help" -f -a "deny" -d 'Reject someone\'s PENDING escalation: it is DENIED'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand help; and not __fish_seen_subcommand_from escalate extend approve deny list status revoke policies run which dashboard manifests doctor version sandbox controller reap __complete completion help" -f -a "list" -d 'List escalations: mine by default, --all, or --pending-review'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand help; and not __fish_seen_subcommand_from escalate extend approve deny list status revoke policies run which dashboard manifests doctor version sandbox controller reap __complete completion help" -f -a "status" -d 'One escalation in detail: state, challenges, grants, timeline'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand help; and not __fish_seen_subcommand_from escalate extend approve deny list status revoke policies run which dashboard manifests doctor version sandbox controller reap __complete completion help" -f -a "revoke" -d 'End an escalation early; its grants are reclaimed at once'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand help; and not __fish_seen_subcommand_from escalate extend approve deny list status revoke policies run which dashboard manifests doctor version sandbox controller reap __complete completion help" -f -a "policies" -d 'The policies I may use: what they grant, where, for how long, and what they ask first'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand help; and not __fish_seen_subcommand_from escalate extend approve deny list status revoke policies run which dashboard manifests doctor version sandbox controller reap __complete completion help" -f -a "run" -d 'Escalate, run one command with the grants, and revoke when it exits: kubectl kudo run POLICY --reason \'…\' -- kubectl get secrets -n app'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand help; and not __fish_seen_subcommand_from escalate extend approve deny list status revoke policies run which dashboard manifests doctor version sandbox controller reap __complete completion help" -f -a "which" -d 'Which policies I may use would let me do this: kubectl kudo which create pods/portforward -n app'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand help; and not __fish_seen_subcommand_from escalate extend approve deny list status revoke policies run which dashboard manifests doctor version sandbox controller reap __complete completion help" -f -a "dashboard" -d 'A local web UI on 127.0.0.1 acting as you (your kubeconfig identity): your escalations live, a request form, reviews with what each grants'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand help; and not __fish_seen_subcommand_from escalate extend approve deny list status revoke policies run which dashboard manifests doctor version sandbox controller reap __complete completion help" -f -a "manifests" -d 'Print the install (CRDs, RBAC, admission policies, controller) as YAML'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand help; and not __fish_seen_subcommand_from escalate extend approve deny list status revoke policies run which dashboard manifests doctor version sandbox controller reap __complete completion help" -f -a "doctor" -d 'Check the installation on the current cluster: each check with ✓ or ✗, and the fix for each ✗'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand help; and not __fish_seen_subcommand_from escalate extend approve deny list status revoke policies run which dashboard manifests doctor version sandbox controller reap __complete completion help" -f -a "version" -d 'This plugin\'s version and, on a cluster, the controller\'s and the CRDs\' versions'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand help; and not __fish_seen_subcommand_from escalate extend approve deny list status revoke policies run which dashboard manifests doctor version sandbox controller reap __complete completion help" -f -a "sandbox" -d 'A cluster with kudo in one process, to try it: users admin, alice (squad-a) and bob (squad-b), example policies, and the commands to paste; runs until Ctrl-C'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand help; and not __fish_seen_subcommand_from escalate extend approve deny list status revoke policies run which dashboard manifests doctor version sandbox controller reap __complete completion help" -f -a "controller" -d 'Run the controller (in cluster, or locally against the current kubeconfig)'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand help; and not __fish_seen_subcommand_from escalate extend approve deny list status revoke policies run which dashboard manifests doctor version sandbox controller reap __complete completion help" -f -a "reap" -d 'One reaper pass, then exit: delete every kudo binding past its end (the earlier of its expires-at annotation and its escalation\'s expiresAt, revocation or deletion) or whose escalation is gone or final'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand help; and not __fish_seen_subcommand_from escalate extend approve deny list status revoke policies run which dashboard manifests doctor version sandbox controller reap __complete completion help" -f -a "__complete" -d 'kubectl\'s plugin completion protocol (run by completions/kubectl_complete-kudo)'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand help; and not __fish_seen_subcommand_from escalate extend approve deny list status revoke policies run which dashboard manifests doctor version sandbox controller reap __complete completion help" -f -a "completion" -d 'Print a shell completion script'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand help; and not __fish_seen_subcommand_from escalate extend approve deny list status revoke policies run which dashboard manifests doctor version sandbox controller reap __complete completion help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
