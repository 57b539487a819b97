# bash completion for confine(1). Installed as share/bash-completion/completions/confine.
# tests/cli_docs_test.cpp checks that every option of `confine run --help` is listed here.

# Policy names on confine's search path (confine(1), ENVIRONMENT), without .toml.
_confine_policy_names() {
  local IFS=: dir file
  local -a dirs
  read -ra dirs <<<"${CONFINE_POLICY_PATH:-}"
  if [[ $EUID -ne 0 ]]; then
    dirs+=("${XDG_CONFIG_HOME:-$HOME/.config}/confine/policies")
  fi
  dirs+=(/etc/confine/policies /usr/share/confine/policies /usr/local/share/confine/policies)
  for dir in "${dirs[@]}"; do
    [[ $dir == /* && -d $dir ]] || continue
    for file in "$dir"/*.toml; do
      [[ -e $file ]] || continue
      file=${file##*/}
      printf '%s\n' "${file%.toml}"
    done
  done
}

_confine_policies() {
  local cur=$1
  COMPREPLY+=($(compgen -W "$(_confine_policy_names)" -- "$cur"))
  _filedir toml
}

_confine() {
  local cur prev words cword
  _init_completion || return

  local commands="run learn batch check explain doctor report"
  if ((cword == 1)); then
    COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
    return
  fi

  local i
  case ${words[1]} in
    run)
      # After "--" (or the command's first word) it is the command's own completion.
      for ((i = 2; i < cword; i++)); do
        if [[ ${words[i]} == -- ]]; then
          _command_offset $((i + 1))
          return
        fi
      done
      case $prev in
        -p | --policy) _confine_policies "$cur"; return ;;
        --ro | --rw | --deny | --tmpfs | --log-file | --report) _filedir; return ;;
        --output) _filedir -d; return ;;
        --cwd) _filedir -d; return ;;
        --net) COMPREPLY=($(compgen -W "none host" -- "$cur")); return ;;
        --isolation) COMPREPLY=($(compgen -W "namespaces landlock auto" -- "$cur")); return ;;
        --stdin) COMPREPLY=($(compgen -W "null relay" -- "$cur")); return ;;
        --report-format) COMPREPLY=($(compgen -W "json text" -- "$cur")); return ;;
        --log-level) COMPREPLY=($(compgen -W "trace debug info warn error off" -- "$cur")); return ;;
        --env | --keep-env | --hostname | --timeout | --cpu-time | --kill-after | --memory | --pids | \
          --cpus | --file-size | --open-files | --max-output | --report-fd | --log-fd)
          return ;;
      esac
      if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "--policy --ro --rw --deny --tmpfs --cwd --hostname --env --keep-env
          --timeout --cpu-time --kill-after --memory --pids --cpus --file-size --open-files --max-output
          --output --net --isolation --stdin --audit --best-effort --report --report-fd --report-format --log-level --log-fd
          --log-file --quiet --dry-run --help -p -i -q -h --" -- "$cur"))
      else
        COMPREPLY=($(compgen -c -- "$cur"))
      fi
      ;;
    check | explain)
      if [[ $cur == -* ]]; then
        local flags="--help"
        [[ ${words[1]} == explain ]] && flags="--json --help"
        COMPREPLY=($(compgen -W "$flags" -- "$cur"))
      else
        _confine_policies "$cur"
      fi
      ;;
    batch)
      case $prev in
        --log-file) _filedir; return ;;
        --log-level) COMPREPLY=($(compgen -W "trace debug info warn error off" -- "$cur")); return ;;
        -j | --jobs | --log-fd) return ;;
      esac
      COMPREPLY=($(compgen -W "--jobs --log-level --log-fd --log-file --quiet --help -j -q" -- "$cur"))
      ;;
    doctor)
      case $prev in
        -p | --policy) _confine_policies "$cur"; return ;;
        --isolation) COMPREPLY=($(compgen -W "namespaces landlock auto" -- "$cur")); return ;;
      esac
      COMPREPLY=($(compgen -W "--policy --isolation --json --help -p" -- "$cur"))
      ;;
    learn)
      for ((i = 2; i < cword; i++)); do
        if [[ ${words[i]} == -- ]]; then
          _command_offset $((i + 1))
          return
        fi
      done
      case $prev in
        -p | --policy | --merge) _confine_policies "$cur"; return ;;
        --out | --report | --ro | --rw | --cwd | --output) _filedir; return ;;
        --log-level) COMPREPLY=($(compgen -W "trace debug info warn error off" -- "$cur")); return ;;
      esac
      COMPREPLY=($(compgen -W "--policy --out --merge --rw --ro --cwd --output --allow-failure --report --log-level --quiet --help -p -q --" -- "$cur"))
      ;;
    report)
      if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "--help" -- "$cur"))
      else
        _filedir json
      fi
      ;;
  esac
} && complete -F _confine confine
