#!/usr/bin/env bash
# bench-edge.sh: OP25B edge numbers, ours next to a peer measured in the
# same run, with the machine facts that decide them printed first.
#  1. Decisions per second per core with 1M prefixes (issue 5: >= 20M/s),
#     hot and cold (what each means is printed below the table), beside
#     the machine's own random-read cost and a naive linear scan (at 1k
#     prefixes; it is O(n)).
#  2. Programming 100k prefixes into a real kernel's nftables inside a
#     throw-away network namespace (issue 5: under a second), next to
#     plain `nft -f` of the same rendered ruleset and nft's own
#     one-element update; and the --verify read-back, before (page-sized
#     dump messages) and now, next to `nft list set`. Needs root, nft and
#     ip; skipped otherwise.
# Every figure is the median of RUNS (default 3, odd) runs, interleaved:
# on a shared machine the runs of one row are spread over the same time
# as the other rows' runs.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
[ $((runs % 2)) = 1 ] || { echo "RUNS must be odd (a median of an even count is no run's figure)" >&2; exit 1; }
work=$(mktemp -d /tmp/mailgate-bench-edge.XXXXXX)
ns="mgbench$$"
cleanup() { ip netns del "$ns" 2>/dev/null || true; ip netns del "${ns}p" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# median reads numbers, one a line, and prints the middle one.
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'; }

echo "== edge: the machine =="
cache() {
  local d out=""
  for d in /sys/devices/system/cpu/cpu0/cache/index*; do
    [ -r "$d/size" ] || continue
    local t; t=$(cat "$d/type"); t=${t/Unified/}; t=${t/Data/d}; t=${t/Instruction/i}
    out="$out L$(cat "$d/level")$t $(cat "$d/size")"
    [ -r "$d/shared_cpu_list" ] && out="$out (cpus $(cat "$d/shared_cpu_list"))"
  done
  echo "${out# }"
}
printf '%-22s %s\n' "cpu" "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(nproc) online"
printf '%-22s %s\n' "caches (cpu0, sysfs)" "$(cache)"
virt() {
  local vm ct
  vm=$(lscpu 2>/dev/null | sed -n 's/^Hypervisor vendor: *//p')
  ct=$(systemd-detect-virt --container 2>/dev/null || true)
  echo "hypervisor: ${vm:-none seen}; container: ${ct:-none seen}"
}
printf '%-22s %s\n' "virtualisation" "$(virt)"
printf '%-22s %s\n' "kernel" "$(uname -r)"
printf '%-22s %s\n' "transparent hugepages" "enabled: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo absent); defrag: $(cat /sys/kernel/mm/transparent_hugepage/defrag 2>/dev/null || echo absent)"
printf '%-22s %s\n' "load average (start)" "$(cut -d' ' -f1-3 /proc/loadavg)"

echo "== edge: decisions (go test -bench, 1 core, median of $runs interleaved runs) =="
go test -c -o "$work/edge.test" ./internal/edge/
for r in $(seq "$runs"); do
  "$work/edge.test" -test.run '^$' -test.bench 'Decide1M|RandomRead|Evaluate1M|LinearScan1k' -test.cpu 1 >>"$work/bench.txt"
done
# One line per run and benchmark: name, then "value unit" pairs.
awk '/^Benchmark/ { name = $1; sub(/-[0-9]+$/, "", name); printf "%s", name
      for (i = 3; i < NF; i += 2) printf " %s=%s", $(i+1), $i; print "" }' "$work/bench.txt" >"$work/rows.txt"
col() { awk -v b="$1" -v k="$2=" '$1 == b { for (i = 2; i <= NF; i++) if (index($i, k) == 1) print substr($i, length(k) + 1) }' "$work/rows.txt" | median; }
printf '%-40s %10s %12s %14s %9s %9s\n' "benchmark" "ns (wall)" "M/s (wall)" "M/s (CPU time)" "table MiB" "huge MiB"
for b in $(cut -d' ' -f1 "$work/rows.txt" | awk '!seen[$0]++'); do
  case $b in BenchmarkRandomRead*)
    printf '%-40s %10s %12s %14s %9s %9s\n' "$b" "$(col "$b" ns/op)" "-" "$(col "$b" cpu-ns/read) ns/read" "-" "-"; continue;;
  esac
  printf '%-40s %10s %12s %14s %9s %9s\n' "$b" "$(col "$b" ns/op)" "$(col "$b" Mdecisions/s)" \
    "$(col "$b" Mdecisions/cpu-s)" "$(col "$b" tableMiB)" "$(col "$b" hugeMiB)"
done
cat <<'EOF'
(Decide1M: mailgate's compiled path with 1M prefixes (3/4 IPv4 /24../30, 1/4 IPv6 /56).
   hot: 1024 sources cycled, their table lines in L1/L2.
   cold: 2^20 distinct random sources over all prefixes (a random host of a random prefix), each decided
     once per pass, caches flushed before the timed loop; whatever of the table fits stays in cache.
   cold-evicted: the same with the caches flushed (2 x L3 written, untimed) every 16384 decisions.
   /batch: through DecideBatch, 1024 a call: the lines of the next 16 prefetched while 16 are decided.
 M/s (CPU time): decisions per second of the thread's CPU time, which other processes' turns on a shared
   core do not inflate (their cache pollution does); wall figures are the go test ones.
 table MiB: the tables a decision reads; huge MiB: the growth of AnonHugePages (/proc/self/smaps_rollup)
   while they were built, i.e. how much the kernel put in 2 MiB pages.
 RandomRead: the machine's cost of one 8-byte read at random over a buffer the table's size (huge pages,
   flushed as cold-evicted): dependent = one at a time, independent = 16 in flight; one read per decision
   caps decisions/s at 1/(ns/read).
 Evaluate1M: the bart LPM step-by-step path with reasons; LinearScan1k: naive peer at 1k prefixes)
EOF

if [ "$(id -u)" != 0 ] || ! command -v nft >/dev/null || ! command -v ip >/dev/null; then
  echo "== edge: kernel apply skipped (needs root, nft and ip) =="
  exit 0
fi

echo "== edge: programming 100k prefixes into nftables (network namespace, median of $runs) =="
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
inns() { ip netns exec "$ns" "$work/mailgate" -c "$work/mailgate.toml" "$@"; }

ms() { sed -n 's/.* in \([0-9.]*\)\(m\?s\)$/\1 \2/p' | awk '{ if ($2=="s") printf "%d\n", $1*1000; else printf "%d\n", $1 }'; }
# cpuwall CMD...: "wall_ms cpu_ms" of the command (user + system, children
# included); its output goes to $work/last.out.
cpuwall() {
  local TIMEFORMAT='%R %U %S' t
  t=$( { time "$@" >"$work/last.out"; } 2>&1 | tail -1)
  awk -v t="$t" 'BEGIN { split(t, v, " "); printf "%d %d\n", v[1]*1000, (v[2]+v[3])*1000 }'
}

mg edge render --resolve=false >"$work/ruleset.nft"
inns edge apply --resolve=false >/dev/null
for r in $(seq "$runs"); do
  inns edge apply --resolve=false | ms >>"$work/same"
  # the whole process, from an empty namespace: store load, compile, apply
  ip netns exec "$ns" nft delete table inet op25b; rm -f "$work/data/edge-applied.json"
  cpuwall inns edge apply --resolve=false >>"$work/firstwall"
  ms <"$work/last.out" >>"$work/first"
  ip netns exec "${ns}p" nft flush ruleset
  cpuwall ip netns exec "${ns}p" nft -f "$work/ruleset.nft" >>"$work/peerfull"
  cpuwall ip netns exec "${ns}p" nft add element inet op25b dyn4 '{ 10.255.255.0/24 }' >>"$work/peerone"
  cpuwall inns edge apply --resolve=false --verify >>"$work/verify"
  inns bench edge-read --page-messages >>"$work/readpage"
  inns bench edge-read >>"$work/readnow"
  cpuwall ip netns exec "$ns" nft list set inet op25b dyn4 >>"$work/peerlist4"
  cpuwall ip netns exec "$ns" nft list set inet op25b dyn6 >>"$work/peerlist6"
done
mg pool import "$work/extra.csv" >/dev/null
change=$(inns edge apply --resolve=false | ms)
first=$(median <"$work/first")
elements=$(( $(wc -l <"$work/pools.csv") - 1 ))
w() { cut -d' ' -f1 "$work/$1" | median; }
c() { cut -d' ' -f2 "$work/$1" | median; }
rw() { sed -n 's/.* in \([0-9]*\) ms, cpu \([0-9]*\) ms.*/\1 \2/p' "$work/$1" >"$work/$1.wc"; w "$1.wc"; }
rc() { c "$1.wc"; }
sum2() { awk -v a="$1" -v b="$2" 'BEGIN { print a + b }'; }

printf '%-58s %12s %12s\n' "operation (${elements} prefixes)" "mailgate ms" "nft ms"
printf '%-58s %12s %12s\n' "first apply: create table + all elements" "$first" "$(w peerfull) (nft -f)"
printf '%-58s %12s %12s\n' "  same, whole process (store load, compile, apply)" "$(w firstwall)" "-"
printf '%-58s %12s %12s\n' "re-apply, nothing changed" "$(median <"$work/same")" "-"
printf '%-58s %12s %12s\n' "add 1k prefixes (set elements only, no flush)" "$change" "-"
printf '%-58s %12s %12s\n' "add 1 prefix to the 100k set" "-" "$(w peerone)"
printf '%-58s %12s %12s\n' "apply --verify, whole process (wall / CPU)" "$(w verify) / $(c verify)" "-"
printf '%-58s %12s %12s\n' "  read-back alone, 32 KiB dump messages (now; wall / CPU)" "$(rw readnow) / $(rc readnow)" \
  "$(sum2 "$(w peerlist4)" "$(w peerlist6)") / $(sum2 "$(c peerlist4)" "$(c peerlist6)")"
printf '%-58s %12s %12s\n' "  read-back alone, one page per message (before; wall / CPU)" "$(rw readpage) / $(rc readpage)" "-"
echo "(mailgate ms: the apply step as the command reports it, or the process; nft: the same ruleset loaded by"
echo " nft -f, and nft list set of dyn4 and dyn6 beside the read-back; CPU = user + system of the process:"
echo " the kernel's set walk runs inside the reader's recvmsg calls and counts as its system time)"
printf '%-22s %s\n' "load average (end)" "$(cut -d' ' -f1-3 /proc/loadavg)"
