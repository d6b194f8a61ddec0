# Sourced by scripts that start servers on loopback ports.

# freeports N prints N distinct free loopback ports, like testpeer.FreePort:
# from below the kernel's ephemeral range, because a port taken from :0
# lies inside it and, until the server binds it, any outgoing connection
# may be given that number as its local port (the bind then fails).
freeports() {
  python3 - "$1" <<'PY'
import random, socket, sys
want = int(sys.argv[1])
try:
    lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    lo = 0
got = []
while len(got) < want:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", random.randrange(10000, lo) if lo > 12000 else 0))
        p = s.getsockname()[1]
    except OSError:
        continue
    finally:
        s.close()
    if p not in got:
        got.append(p)
print(*got)
PY
}

# waitport PORT waits up to 15 s for a loopback listener on PORT.
waitport() {
  for _ in $(seq 150); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "port $1 did not open" >&2
  exit 1
}
