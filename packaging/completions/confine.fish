# fish completion for confine(1). Installed as share/fish/vendor_completions.d/confine.fish.
# tests/cli_docs_test.cpp checks that every option of `confine run --help` is listed here.

# Policy names on confine's search path (confine(1), ENVIRONMENT), without .toml.
function __confine_policies
    set -l dirs (string split : -- "$CONFINE_POLICY_PATH")
    if test (id -u) -ne 0
        set -l config $XDG_CONFIG_HOME
        test -n "$config"; or set config $HOME/.config
        set -a dirs $config/confine/policies
    end
    set -a dirs /etc/confine/policies /usr/share/confine/policies /usr/local/share/confine/policies
    for dir in $dirs
        string match -q '/*' -- $dir; or continue
        test -d $dir; or continue
        for file in $dir/*.toml
            basename $file .toml
        end
    end
end

set -l commands run learn batch check explain doctor report
complete -c confine -f
complete -c confine -n "not __fish_seen_subcommand_from $commands" -a run -d 'run a command in a sandbox'
complete -c confine -n "not __fish_seen_subcommand_from $commands" -a learn -d 'write a policy from what a command did'
complete -c confine -n "not __fish_seen_subcommand_from $commands" -a batch -d 'run many jobs from JSON-lines requests'
complete -c confine -n "not __fish_seen_subcommand_from $commands" -a check -d 'validate policies'
complete -c confine -n "not __fish_seen_subcommand_from $commands" -a explain -d 'the effective policy and where each value came from'
complete -c confine -n "not __fish_seen_subcommand_from $commands" -a doctor -d 'will a policy run here, and what will not be enforced'
complete -c confine -n "not __fish_seen_subcommand_from $commands" -a report -d 'print a JSON report for a person'
complete -c confine -n "not __fish_seen_subcommand_from $commands" -l help -d 'print help'
complete -c confine -n "not __fish_seen_subcommand_from $commands" -l version -d 'print the version'

# run: its options until "--"; after it, the command's own completion.
set -l run "__fish_seen_subcommand_from run; and not contains -- -- (commandline -opc)"
complete -c confine -n $run -s p -l policy -x -a '(__confine_policies)' -d 'policy: a file or a name on the search path'
complete -c confine -n $run -l ro -r -F -d 'add a read-only path'
complete -c confine -n $run -l rw -r -F -d 'add a read-write path'
complete -c confine -n $run -l deny -r -F -d 'mask a path even inside an allowed tree'
complete -c confine -n $run -l tmpfs -r -F -d 'add a private tmpfs at PATH[:SIZE]'
complete -c confine -n $run -l cwd -x -a '(__fish_complete_directories)' -d 'working directory inside the sandbox'
complete -c confine -n $run -l hostname -x -d 'hostname inside the sandbox'
complete -c confine -n $run -l env -x -d 'set NAME=VALUE for the command'
complete -c confine -n $run -l keep-env -x -a '(set -xn)' -d "pass the caller's NAME or glob through"
complete -c confine -n $run -l timeout -x -d 'wall-time limit'
complete -c confine -n $run -l cpu-time -x -d 'CPU-time limit of the whole job'
complete -c confine -n $run -l kill-after -x -d 'grace between SIGTERM and SIGKILL'
complete -c confine -n $run -l memory -x -d 'memory limit'
complete -c confine -n $run -l pids -x -d 'processes and threads'
complete -c confine -n $run -l cpus -x -d 'CPU limit in CPUs'
complete -c confine -n $run -l file-size -x -d 'largest file the job may write'
complete -c confine -n $run -l open-files -x -d 'open files per process'
complete -c confine -n $run -l max-output -x -d 'cap on stdout and stderr together'
complete -c confine -n $run -l output -x -a '(__fish_complete_directories)' -d "copy the output area's files into DIR when the job ends"
complete -c confine -n $run -l net -x -a 'none host' -d 'network'
complete -c confine -n $run -l isolation -x -a 'namespaces landlock auto' -d 'how the job is isolated'
complete -c confine -n $run -l stdin -x -a 'null relay' -d "the job's stdin"
complete -c confine -n $run -s i -d "relay confine's stdin to the job"
complete -c confine -n $run -l audit -d 'list what the filter would deny instead of denying it'
complete -c confine -n $run -l best-effort -d 'run even where resource limits cannot be enforced'
complete -c confine -n $run -l report -r -F -d 'write the report to FILE (- for stdout)'
complete -c confine -n $run -l report-fd -x -d 'write the report to a file descriptor'
complete -c confine -n $run -l report-format -x -a 'json text' -d 'report format'
complete -c confine -n $run -l log-level -x -a 'trace debug info warn error off' -d 'log level'
complete -c confine -n $run -l log-fd -x -d "write confine's own lines to a file descriptor"
complete -c confine -n $run -l log-file -r -F -d "write confine's own lines to a file"
complete -c confine -n $run -s q -l quiet -d "print nothing but confine's own errors"
complete -c confine -n $run -l dry-run -d 'print the plan and start nothing'
complete -c confine -n $run -s h -l help -d 'print the options'
complete -c confine -n $run -a '(__fish_complete_command)'
complete -c confine -n "__fish_seen_subcommand_from run; and contains -- -- (commandline -opc)" -F

complete -c confine -n '__fish_seen_subcommand_from check explain' -a '(__confine_policies)' -F
complete -c confine -n '__fish_seen_subcommand_from explain' -l json -d 'print JSON'
complete -c confine -n '__fish_seen_subcommand_from batch' -s j -l jobs -x -d 'jobs running at once'
complete -c confine -n '__fish_seen_subcommand_from batch' -l log-level -x -a 'trace debug info warn error off' -d 'log level'
complete -c confine -n '__fish_seen_subcommand_from batch' -l log-fd -x -d 'log to descriptor'
complete -c confine -n '__fish_seen_subcommand_from batch' -l log-file -r -d 'log to file'
complete -c confine -n '__fish_seen_subcommand_from batch' -s q -l quiet -d 'only errors'
complete -c confine -n '__fish_seen_subcommand_from doctor' -s p -l policy -x -a '(__confine_policies)' -d 'policy to check'
complete -c confine -n '__fish_seen_subcommand_from doctor' -l isolation -x -a 'namespaces landlock auto' -d 'check with this isolation mode'
complete -c confine -n '__fish_seen_subcommand_from doctor' -l json -d 'print JSON'
complete -c confine -n '__fish_seen_subcommand_from report' -F -d 'a JSON report'

# learn: its options until "--".
set -l learn "__fish_seen_subcommand_from learn; and not contains -- -- (commandline -opc)"
complete -c confine -n $learn -s p -l policy -x -a '(__confine_policies)' -d 'isolation to learn under'
complete -c confine -n $learn -l out -r -F -d 'write the learned policy to FILE'
complete -c confine -n $learn -l merge -r -F -d 'union with an earlier learned policy'
complete -c confine -n $learn -l rw -r -F -d 'a read-write directory'
complete -c confine -n $learn -l ro -r -F -d 'a read-only path while learning'
complete -c confine -n $learn -l cwd -r -F -d 'working directory inside the sandbox'
complete -c confine -n $learn -l output -r -F -d 'an output area, copied into DIR at the end'
complete -c confine -n $learn -l allow-failure -d 'write a policy from a failed run'
complete -c confine -n $learn -l report -r -F -d 'write the run report to FILE'
complete -c confine -n $learn -l log-level -x -a 'trace debug info warn error off' -d "confine's log level"
complete -c confine -n $learn -s q -l quiet -d 'print only errors'
