# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_kubectl_kudo_global_optspecs
    string join \n h/help V/version
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

complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -s h -l help -d 'Print help'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -s V -l version -d 'Print version'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -f -a "manifests" -d 'Print the install (CRDs, RBAC, admission policies, controller) as YAML'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -f -a "completion" -d 'Print a shell completion script'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand manifests" -l controller-namespace -d 'Namespace the controller runs in' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand manifests" -l controller-service-account -d 'ServiceAccount the controller runs as; the only identity allowed to write escalation status' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand manifests" -l image -d 'Controller image' -r
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand manifests" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand manifests" -s V -l version -d 'Print version'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand completion" -s h -l help -d 'Print help'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand completion" -s V -l version -d 'Print version'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand help; and not __fish_seen_subcommand_from manifests completion help" -f -a "manifests" -d 'Print the install (CRDs, RBAC, admission policies, controller) as YAML'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand help; and not __fish_seen_subcommand_from manifests completion help" -f -a "completion" -d 'Print a shell completion script'
complete -c kubectl-kudo -n "__fish_kubectl_kudo_using_subcommand help; and not __fish_seen_subcommand_from manifests completion help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
