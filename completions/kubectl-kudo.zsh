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
            (manifests)
_arguments "${_arguments_options[@]}" : \
'--controller-namespace=[Namespace the controller runs in]:NAMESPACE:_default' \
'--controller-service-account=[ServiceAccount the controller runs as; the only identity allowed to write escalation status]:NAME:_default' \
'--image=[Controller image]:IMAGE:_default' \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, merged as kubectl does, then ~/.kube/config)]:PATH:_files' \
'--context=[The kubeconfig context to use]:NAME:_default' \
'--cluster=[The kubeconfig cluster to use]:NAME:_default' \
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
(controller)
_arguments "${_arguments_options[@]}" : \
'--log-format=[Log format (logs go to stderr; audit lines to stdout)]:LOG_FORMAT:(text json)' \
'--log=[Log filter, as RUST_LOG (e.g. info, kudo=debug)]:LOG:_default' \
'--kudo-namespace=[Namespace kudo is installed in\: its leader Lease lives there]:NAMESPACE:_default' \
'--leader-elect=[Elect a leader on a Lease before acting; keep on with more than one replica]:BOOL:(true false)' \
'--identity=[This replica'\''s identity in the Lease (default\: the pod name, else the host name)]:NAME:_default' \
'--lease-duration=[How long a leader'\''s Lease lasts without renewal]:DURATION:_default' \
'--sweep-interval=[How often to sweep orphan bindings and report dangerous policies]:DURATION:_default' \
'--listen=[Address of /healthz, /readyz and /metrics]:ADDR:_default' \
'--audit-webhook=[POST every audit record (JSON, with a Slack-compatible \`text\`) to this URL]:URL:_default' \
'--audit-queue=[Audit records waiting for the webhook before new ones are refused (and counted)]:N:_default' \
'--audit-attempts=[Delivery attempts per audit record, with doubling backoff from 500 ms]:N:_default' \
'--concurrency=[Escalations reconciled at once]:N:_default' \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, merged as kubectl does, then ~/.kube/config)]:PATH:_files' \
'--context=[The kubeconfig context to use]:NAME:_default' \
'--cluster=[The kubeconfig cluster to use]:NAME:_default' \
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
(completion)
_arguments "${_arguments_options[@]}" : \
'--kubeconfig=[Path to the kubeconfig file (default\: \$KUBECONFIG, merged as kubectl does, then ~/.kube/config)]:PATH:_files' \
'--context=[The kubeconfig context to use]:NAME:_default' \
'--cluster=[The kubeconfig cluster to use]:NAME:_default' \
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
            (manifests)
_arguments "${_arguments_options[@]}" : \
&& ret=0
;;
(controller)
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
'manifests:Print the install (CRDs, RBAC, admission policies, controller) as YAML' \
'controller:Run the controller (in cluster, or locally against the current kubeconfig)' \
'completion:Print a shell completion script' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'kubectl-kudo commands' commands "$@"
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
(( $+functions[_kubectl-kudo__subcmd__help_commands] )) ||
_kubectl-kudo__subcmd__help_commands() {
    local commands; commands=(
'manifests:Print the install (CRDs, RBAC, admission policies, controller) as YAML' \
'controller:Run the controller (in cluster, or locally against the current kubeconfig)' \
'completion:Print a shell completion script' \
'help:Print this message or the help of the given subcommand(s)' \
    )
    _describe -t commands 'kubectl-kudo help commands' commands "$@"
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
(( $+functions[_kubectl-kudo__subcmd__help__subcmd__help_commands] )) ||
_kubectl-kudo__subcmd__help__subcmd__help_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo help help commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__help__subcmd__manifests_commands] )) ||
_kubectl-kudo__subcmd__help__subcmd__manifests_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo help manifests commands' commands "$@"
}
(( $+functions[_kubectl-kudo__subcmd__manifests_commands] )) ||
_kubectl-kudo__subcmd__manifests_commands() {
    local commands; commands=()
    _describe -t commands 'kubectl-kudo manifests commands' commands "$@"
}

if [ "$funcstack[1]" = "_kubectl-kudo" ]; then
    _kubectl-kudo "$@"
else
    compdef _kubectl-kudo kubectl-kudo
fi
