#!/usr/bin/env bash
# bash completion of sockfault (scripts/sockfault.bash-completion), driven the way readline
# drives it: COMP_LINE/COMP_POINT/COMP_WORDS/COMP_CWORD set, then the function called.
#   SF_CLI=build/bin/sockfault SF_COMPLETION=scripts/sockfault.bash-completion bash test_completion.sh
set -uo pipefail
: "${SF_CLI:?}" "${SF_COMPLETION:?}"
PATH=$(dirname "$SF_CLI"):$PATH
COMP_WORDBREAKS=$' \t\n"\'><=;|&(:'
# shellcheck source=/dev/null
source "$SF_COMPLETION"
fails=0

# complete LINE: prints the candidates, one a line
complete_line()
{
  COMP_LINE=$1
  COMP_POINT=${#1}
  read -ra COMP_WORDS <<<"$1"
  [[ $1 == *" " ]] && COMP_WORDS+=("")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMP_WORDS[0]=sockfault
  _sockfault
  printf '%s\n' "${COMPREPLY[@]}"
}

# expect LINE WORD...: each WORD is among the candidates
expect()
{
  local line=$1 got w
  shift
  got=$(complete_line "$line")
  for w in "$@"; do
    if ! grep -qxF -- "$w" <<<"$got"; then
      echo "FAIL: '$line' does not offer '$w'; offered: $(tr '\n' ' ' <<<"$got")"
      fails=$((fails + 1))
    fi
  done
}

# expect_not LINE WORD...: no WORD is among the candidates
expect_not()
{
  local line=$1 got w
  shift
  got=$(complete_line "$line")
  for w in "$@"; do
    if grep -qxF -- "$w" <<<"$got"; then
      echo "FAIL: '$line' offers '$w'"
      fails=$((fails + 1))
    fi
  done
}

# every verb of `sockfault --help`, and each verb's options from its --help
verbs=$("$SF_CLI" --help | sed -nE '/^verbs:/,/^$/s/^  ([a-z][a-z-]*) .*/\1/p')
[[ -n $verbs ]] || { echo "FAIL: no verbs in sockfault --help"; exit 1; }
# shellcheck disable=SC2086
expect "sockfault " $verbs --help --version
expect "sockfault er" errnos
expect "sockfault run --" --rule --log --log-level --no-inherit --help
expect "sockfault run -" -e -f -l
expect "sockfault errnos --" --json
# calls, errnos and rule keys; readline replaces only what follows the last ':' or '='
expect "sockfault run -e acc" accept accept4
expect "sockfault run -e accept,so" accept,socket accept,socketpair
expect "sockfault run -e %n" %net
expect "sockfault run -e accept:e" error=
expect "sockfault run -e accept:error=EM" EMFILE
expect "sockfault run -e accept:error=" any ECONNABORTED EMFILE
# (socket's own offered too: an empty list would pass expect_not alone)
expect "sockfault run -e socket:error=E" EMFILE EACCES
expect_not "sockfault run -e socket:error=E" ECONNABORTED EPIPE
expect "sockfault run -e accept:error=EMFILE:fa" family=
expect "sockfault run -e accept:error=EMFILE:family=" inet inet6 unix
expect "sockfault run -e recv:error=EINTR:type=s" stream seqpacket
expect "sockfault run --log-level " all faults
expect "sockfault run --log-level=f" faults
expect "sockfault errnos ac" accept accept4
# explore, replay and merge are verbs of every build: a --help that lost them fails here
# rather than skipping their checks
for v in explore replay merge; do
  grep -qx "$v" <<<"$verbs" || { echo "FAIL: no '$v' among the verbs of sockfault --help"; fails=$((fails + 1)); }
done
expect "sockfault explore --" --check --calls --errnos --fail-on --shard --json --junit
expect "sockfault explore --calls accept,re" accept,recv accept,read
expect "sockfault explore --errnos " core EMFILE
expect "sockfault explore --errnos=co" core
expect "sockfault explore --fail-on crash,st" crash,stopped-serving
expect "sockfault explore --fail-on s" silent stopped-serving spin sanitizer
expect "sockfault explore --kinds once,s" once,sustained
expect "sockfault explore --" --kinds --window
# after '--' the program's own words: commands first
expect "sockfault run -- bas" bash

if ((fails > 0)); then
  echo "$fails failure(s)"
  exit 1
fi
echo "completion: ok"
