#!/usr/bin/env bash
# bench-edge.sh: OP25B edge numbers, ours next to a peer measured in the
# same run.
#  1. Decisions per second per core with 1M prefixes (issue 5: >= 20M/s),
#     next to a naive linear scan (at 1k prefixes; it is O(n)).
#  2. Programming 100k prefixes into a real kernel's nftables inside a
#     throw-away network namespace (issue 5: under a second), next to
#     plain `nft -f` of the same rendered ruleset and nft's own
#     one-element update. Needs root, nft and ip; skipped otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/mailgate-bench-edge.XXXXXX)
ns="mgbench$$"
cleanup() { ip netns del "$ns" 2>/dev/null || true; ip netns del "${ns}p" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

echo "== edge: decisions (go test -bench, 1 core) =="
go test -run '^$' -bench 'Decide1M|Evaluate1M|LinearScan1k' -cpu 1 ./internal/edge/ >"$work/bench.txt"
printf '%-44s %14s %16s\n' "benchmark" "ns/decision" "Mdecisions/s"
awk '/^Benchmark/ { name=$1; sub(/-[0-9]+$/,"",name); for (i=1;i<=NF;i++) { if ($(i+1)=="ns/op") ns=$i; if ($(i+1)=="Mdecisions/s") m=$i }
      printf "%-44s %14s %16s\n", name, ns, m }' "$work/bench.txt"
echo "(Decide1M: mailgate's compiled path with 1M prefixes; hot = 1k active sources, cold = 64k;"
echo " Evaluate1M: the bart LPM step-by-step path with reasons; LinearScan1k: naive peer at 1k prefixes)"

if [ "$(id -u)" != 0 ] || ! command -v nft >/dev/null || ! command -v ip >/dev/null; then
  echo "== edge: kernel apply skipped (needs root, nft and ip) =="
  exit 0
fi

echo "== edge: programming 100k prefixes into nftables (network namespace) =="
go build -o "$work/mailgate" ./cmd/mailgate
mg() { "$work/mailgate" -c "$work/mailgate.toml" "$@"; }
printf 'hostname = "bench.example"\ndata_dir = "%s/data"\n' "$work" >"$work/mailgate.toml"
# 100k distinct /24s (IPv4) and /56s (IPv6) in 8 pools, and 1k more for the change.
awk 'BEGIN { srand(42); print "pool,kind,prefix"; n = 0
  while (n < 100000) { a = int(rand()*223)+1; b = int(rand()*256); c = int(rand()*256); k = a "." b "." c
    if (k in seen) continue; seen[k] = 1; n++
    if (n % 4 == 0) printf "dyn%d,dynamic,2001:db8:%x:%x00::/56\n", n%8, a*256+b, c
    else printf "dyn%d,dynamic,%s.0/24\n", n%8, k }
  m = 0; while (m < 1000) { a = int(rand()*223)+1; b = int(rand()*256); c = int(rand()*256); k = a "." b "." c
    if (k in seen) continue; seen[k] = 1; m++; printf "extra,dynamic,%s.0/24\n", k > "/dev/stderr" } }' \
  >"$work/pools.csv" 2>"$work/extra.csv"
mg pool import "$work/pools.csv" >/dev/null
mg edge relay add 192.0.2.25 2001:db8::25 >/dev/null
ip netns add "$ns"
ip netns add "${ns}p"

ms() { sed -n 's/.* in \([0-9.]*\)\(m\?s\)$/\1 \2/p' | awk '{ if ($2=="s") printf "%d", $1*1000; else printf "%d", $1 }'; }
wall() { local s e; s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }

first=$(ip netns exec "$ns" "$work/mailgate" -c "$work/mailgate.toml" edge apply --resolve=false | ms)
same=$(ip netns exec "$ns" "$work/mailgate" -c "$work/mailgate.toml" edge apply --resolve=false | ms)
mg pool import "$work/extra.csv" >/dev/null
change=$(ip netns exec "$ns" "$work/mailgate" -c "$work/mailgate.toml" edge apply --resolve=false | ms)
verify=$(ip netns exec "$ns" "$work/mailgate" -c "$work/mailgate.toml" edge apply --resolve=false --verify | ms)
firstwall=$(ip netns exec "$ns" nft delete table inet op25b; rm -f "$work/data/edge-applied.json"; wall ip netns exec "$ns" "$work/mailgate" -c "$work/mailgate.toml" edge apply --resolve=false)

mg edge render --resolve=false >"$work/ruleset.nft"
peerfull=$(wall ip netns exec "${ns}p" nft -f "$work/ruleset.nft")
peerone=$(wall ip netns exec "${ns}p" nft add element inet op25b dyn4 '{ 10.255.255.0/24 }')
elements=$(( $(wc -l <"$work/pools.csv") - 1 ))

printf '%-52s %12s %12s\n' "operation (${elements} prefixes)" "mailgate ms" "nft -f ms"
printf '%-52s %12s %12s\n' "first apply: create table + all elements" "$first" "$peerfull"
printf '%-52s %12s %12s\n' "  same, whole process (store load, compile, apply)" "$firstwall" "-"
printf '%-52s %12s %12s\n' "re-apply, nothing changed" "$same" "-"
printf '%-52s %12s %12s\n' "add 1k prefixes (set elements only, no flush)" "$change" "-"
printf '%-52s %12s %12s\n' "add 1 prefix to the 100k set" "-" "$peerone"
printf '%-52s %12s %12s\n' "re-apply with full kernel read-back (--verify)" "$verify" "-"
echo "(mailgate ms: the apply step as the command reports it; nft -f: the same ruleset loaded by nft itself)"
