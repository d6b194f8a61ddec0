# Sourced by the bench scripts that run a mailgate node (not run by
# bench.sh: it is not a scripts/bench-*.sh). The caller sets $work first.
. "$(dirname "${BASH_SOURCE[0]}")/ports.sh"

# mg_setup SERVICE=PORT...: builds mailgate into $work and writes
# $work/mailgate.toml serving only the named listeners, on loopback.
mg_setup() {
  go build -o "$work/mailgate" ./cmd/mailgate
  local -A addr=()
  local kv s
  for kv; do addr[${kv%%=*}]="127.0.0.1:${kv#*=}"; done
  {
    printf 'hostname = "bench.mailgate.test"\ndata_dir = "%s"\n[listen]\n' "$work/data"
    for s in mx submission submissions pop3 pop3s imap imaps managesieve http https; do
      printf '%s = "%s"\n' "$s" "${addr[$s]:-}"
    done
    printf '[log]\nlevel = "warn"\n'
  } >"$work/mailgate.toml"
}

mg() { "$work/mailgate" -c "$work/mailgate.toml" "$@"; }
