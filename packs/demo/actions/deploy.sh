#!/usr/bin/env bash
# demo.deploy: prints the arguments it was given and changes nothing.
# StackStorm's local-shell-script runner passes keyword arguments first, as
# --name=value (true booleans as a bare --name), then the positional arguments.
set -euo pipefail

positional=()
dry_run=false

printf 'Keyword arguments:\n'
for arg in "$@"; do
    case "$arg" in
        --api_token=*)
            printf '  api_token = ********\n'
            ;;
        --dry_run)
            dry_run=true
            printf '  dry_run (flag)\n'
            ;;
        --*=*)
            name="${arg%%=*}"
            printf '  %s = %s\n' "${name#--}" "${arg#*=}"
            ;;
        --*)
            printf '  %s (flag)\n' "${arg#--}"
            ;;
        *)
            positional+=("$arg")
            ;;
    esac
done

printf 'Positional arguments:\n'
i=0
for arg in "${positional[@]+"${positional[@]}"}"; do
    printf '  [%d] %s\n' "$i" "$arg"
    i=$((i + 1))
done

environment="${positional[0]:-<missing>}"
version="${positional[1]:-<missing>}"
if [ "$dry_run" = true ]; then
    printf 'Dry run: would deploy version %s to %s.\n' "$version" "$environment"
else
    printf 'Demo only: would have deployed version %s to %s.\n' "$version" "$environment"
fi
