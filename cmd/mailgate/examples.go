package main

import "github.com/spf13/cobra"

// examples are the Example sections of the commands whose Short says what
// they do but not how a call looks: what `mailgate CMD --help` shows an
// operator meeting the command for the first time. Keyed by the command
// path under mailgate; TestEveryCommandIsExplained holds every runnable
// command to a Long or an Example, and every key here to a command.
var examples = map[string]string{
	"abuse blocks": `  mailgate abuse blocks                # the same as abuse blocks list
  mailgate abuse blocks remove 198.51.100.7`,
	"abuse blocks list": `  mailgate abuse blocks list          # SOURCE SCOPE ACCOUNT FAILURES SINCE UNTIL REASON, every node's`,
	"abuse blocks remove": `  mailgate abuse blocks remove 198.51.100.7        # an address, as list shows it
  mailgate abuse blocks remove 198.51.100.0/24     # a network block`,

	"abuse notices": `  mailgate abuse notices --dry-run     # SUBSCRIBER ACCOUNT ATTEMPTS SOURCES LAST SEEN NOTICE: what would be sent
  mailgate abuse notices               # from cron, e.g. hourly: queue the notices and reminders due`,

	"bench auth": `  mailgate bench auth --workers "$(nproc)" --duration 5s   # argon2id verifications/s: the cost of uncached logins`,
	"bench edge-read": `  mailgate -c /etc/mailgate/edge.toml bench edge-read                   # as root on the router: wall and CPU ms
  mailgate -c /etc/mailgate/edge.toml bench edge-read --page-messages   # the same with page-sized dump messages`,
	"bench fsync": `  mailgate bench fsync --dir /var/lib/mailgate --writers 20   # on the spool's file system: write+fsync+link+dir fsync/s`,
	"bench submit": `  printf '%s\n' "$PASSWORD" | mailgate bench submit --user bench@example.net --password-stdin --clients 20 --messages 400
  printf '%s\n' "$PASSWORD" | mailgate bench submit --user bench@example.net --password-stdin --implicit-tls --resume-tls --per-conn 0`,

	"alias add":    `  mailgate alias add info@example.net alice@example.net   # mail to info@ goes to alice, who may also send as it`,
	"alias list":   `  mailgate alias list --account alice@example.net`,
	"alias remove": `  mailgate alias remove info@example.net`,

	"api token add": `  mailgate api token add billing --scope read,directory   # prints the token once: keep it
  curl -H "Authorization: Bearer $TOKEN" https://mail.isp.example/api/v1/domains`,
	"api token list":   `  mailgate api token list             # NAME SCOPES BY CREATED (never the token)`,
	"api token remove": `  mailgate api token remove billing   # requests with its token get 401 at once`,

	"bench tls": `  mailgate -c /etc/mailgate/mailgate.toml bench tls --clients 20 --duration 5s   # the node's certificate
  mailgate bench tls --addr 127.0.0.1:10465   # another server's implicit-TLS port (its CPU is not counted)`,

	"config check": `  mailgate -c /etc/mailgate/mailgate.toml config check   # "FILE: OK", or every bad key by name, exit 1`,
	"config example": `  mailgate config example > /etc/mailgate/mailgate.toml
  mailgate -c /etc/mailgate/mailgate.toml config check`,

	"dkim activate": `  mailgate dkim keygen example.net --selector 2027q1   # publish the TXT record it prints, wait for the TTL
  mailgate dkim activate example.net 2027q1            # every node signs with it from its next message`,
	"dkim keygen": `  mailgate domain add example.net                        # keys are for domains we host
  mailgate dkim keygen example.net --selector 2027q1     # RSA 2048; prints the TXT record as a zone line
  mailgate dkim keygen example.net --selector ed1 --algo ed25519`,
	"dkim list": `  mailgate dkim list                 # DOMAIN ACTIVE SELECTOR: domains with keys
  mailgate dkim list example.net     # SELECTOR ALGORITHM ACTIVE CREATED: that domain's keys`,
	"dkim retire": `  mailgate dkim retire example.net 2026q4   # after a rotation, once the old record is withdrawn`,
	"dkim show":   `  mailgate dkim show example.net           # the active key's TXT record, as a zone line`,

	"dmarc report-now": `  mailgate dmarc report-now          # queue the reports for every count so far; the running node delivers them`,

	"dns check":   `  mailgate dns check example.net || echo "fix the records above"   # exit 1 when any record is not ok (cron)`,
	"dns records": `  mailgate dns records example.net > example.net.zone-lines   # paste into the zone; publish the MTA-STS policy too`,

	"domain add":    `  mailgate domain add example.net bücher.example   # stored as A-labels (xn--bcher-kva.example)`,
	"domain list":   `  mailgate domain list               # DOMAIN ACCOUNTS CREATED`,
	"domain remove": `  mailgate domain remove example.net  # refused while accounts or aliases remain: remove those first`,

	"edge action": `  mailgate edge action               # shows the action in force
  mailgate edge action icmp          # blocked attempts get ICMP admin-prohibited instead of a TCP RST`,
	"edge apply": `  mailgate edge apply --dry-run      # print the nft transaction, change nothing
  mailgate edge apply                # as root on the router: one atomic transaction, only the differences
  mailgate edge apply --verify       # read the kernel's sets back and repair what was changed behind our back`,
	"edge carrier add":  `  mailgate edge carrier add docomo 203.0.113.0/24 docomo.ne.jp   # a domain stands for its MX hosts, re-resolved`,
	"edge carrier list": `  mailgate edge carrier list --resolve   # with the addresses the domains' MX hosts have now`,
	"edge carrier remove": `  mailgate edge carrier remove docomo docomo.ne.jp   # one entry
  mailgate edge carrier remove docomo                # the whole set`,
	"edge check": `  mailgate edge check 198.18.1.1 192.0.2.99        # port 25
  mailgate edge check 198.18.1.1 192.0.2.99 587    # allow: 587 and 465 are never filtered`,
	"edge dnsbl": `  mailgate edge dnsbl --listen 127.0.0.1:5353 --zone dyn.dnsbl.isp.example
  dig @127.0.0.1 -p 5353 1.1.18.198.dyn.dnsbl.isp.example A   # 127.0.0.10 for 198.18.1.1 in a dynamic pool`,
	"edge exempt add": `  mailgate edge exempt add 198.18.7.7 --reason "fixed-IP plan, ticket 7" --until 2026-12-31
  mailgate edge exempt add 198.18.0.0/20 --reason "business line" --force   # wider than edge.max_exempt_prefix_v4`,
	"edge exempt list":   `  mailgate edge exempt list          # PREFIX UNTIL BY ADDED REASON`,
	"edge exempt remove": `  mailgate edge exempt remove 198.18.7.7`,
	"edge feed": `  mailgate edge feed --format txt > dynamic.txt   # for another ISP's reputation import
  curl -H "Authorization: Bearer $FEEDTOKEN" https://mail.isp.example/feed/dynamic.txt   # the same over HTTPS`,
	"edge plan":         `  mailgate edge plan                 # now: scope and action in force, then each change to come and when`,
	"edge relay add":    `  mailgate edge relay add 192.0.2.25 2001:db8::25   # our MX/MSA hosts: port 25 to them always passes`,
	"edge relay list":   `  mailgate edge relay list           # PREFIX: port 25 to these always passes`,
	"edge relay remove": `  mailgate edge relay remove 192.0.2.25`,
	"edge render": `  mailgate edge render > op25b.nft && nft -c -f op25b.nft   # check the ruleset without loading it
  mailgate edge render --format iptables                    # iptables + ipset for routers without nftables`,
	"edge report": `  mailgate edge report --top 20               # this router's kernel counters
  mailgate edge report --store --format json   # every router's recorded counts, with the subscriber`,
	"edge run": `  mailgate -c /etc/mailgate/edge.toml edge run   # as root on the router, under systemd: keeps table inet op25b in step`,
	"edge scope": `  mailgate edge scope carriers                         # phase 1 now: block port 25 towards carrier sets only
  mailgate edge scope all --from "2027-04-01 00:00"    # phase 2 from that date (local time)`,
	"edge scope list":   `  mailgate edge scope list           # FROM SCOPE PHASE: every scheduled change; edge plan shows what is in force`,
	"edge scope remove": `  mailgate edge scope remove 2027-04-01T00:00:00Z   # the time as scope list prints it`,

	"filter add": `  mailgate filter add alice@example.net --header Subject --regex 'invoice|請求書' --folder Bills
  mailgate filter add alice@example.net --header From --regex '@shop\.example$' --folder Shops`,
	"filter list":   `  mailgate filter list alice@example.net    # numbered, as filter remove takes them`,
	"filter remove": `  mailgate filter remove alice@example.net 2`,

	"node drain": `  mailgate -c /etc/mailgate/node-a.toml node drain node-c   # stops at the first failure: run it again to go on`,
	"node list":  `  mailgate node list                 # NODE ADDRESS STATE LAST HEARTBEAT MAILBOXES STARTED`,

	"pool add": `  mailgate pool add dyn-tokyo --kind dynamic 198.18.0.0/16 2001:db8:100::/40
  mailgate pool add fixed-tokyo --kind static 198.18.5.0/24   # inside the dynamic pool: exempt (longest prefix wins)`,
	"pool check":  `  mailgate pool check                # overlaps and how they resolve; exemptions outside dynamic pools`,
	"pool export": `  mailgate pool export --format toml > pools.toml`,
	"pool import": `  mailgate pool import pools.csv               # pool,kind,prefix rows; all or nothing
  mailgate pool import --replace pools.toml    # each pool in the file holds exactly its prefixes afterwards
  ipam-export | mailgate pool import --format csv -`,
	"pool list": `  mailgate pool list                 # POOL KIND PREFIXES UPDATED
  mailgate pool list dyn-tokyo       # its prefixes`,
	"pool remove": `  mailgate pool remove dyn-tokyo 198.18.200.0/24   # one prefix
  mailgate pool remove dyn-tokyo                   # the pool`,

	"queue bounce":  `  mailgate queue bounce 661a1cd498dcb149e49c2   # the sender gets a DSN; the message leaves the queue`,
	"queue hold":    `  mailgate queue hold 661a1cd498dcb149e49c2`,
	"queue list":    `  mailgate queue list                # IDs for show, retry, hold, release, remove, bounce`,
	"queue release": `  mailgate queue release --all`,
	"queue remove":  `  mailgate queue remove 661a1cd498dcb149e49c2   # gone: no delivery, no DSN`,
	"queue retry":   `  mailgate queue retry --all         # after fixing a remote site's problem`,
	"queue show":    `  mailgate queue show 661a1cd498dcb149e49c2`,

	"reputation check": `  mailgate reputation check 198.51.100.7   # accept or reject with the reply, the score, each check's finding`,
	"reputation import": `  mailgate reputation import other-isp https://other-isp.example/feed/dynamic.txt
  mailgate reputation import other-isp feed.json --format json`,
	"reputation list":   `  mailgate reputation list           # NAME PREFIXES IMPORTED SOURCE`,
	"reputation remove": `  mailgate reputation remove other-isp`,

	"srs forward": `  mailgate srs forward carol@sender.example   # SRS0=HHHH=TT=sender.example=carol@<srs domain>, as a redirect sends it today`,

	"srs reverse": `  mailgate srs reverse SRS0=HHHH=TT=sender.example=carol@srs.isp.example   # carol@sender.example, or why the MX refuses it`,
	"sieve activate": `  mailgate sieve activate alice@example.net vacation
  mailgate sieve activate alice@example.net --none   # no filtering`,
	"sieve check":  `  mailgate sieve check rules.sieve   # "rules.sieve: ok", or line:column and what is wrong`,
	"sieve delete": `  mailgate sieve delete alice@example.net old-rules`,
	"sieve get":    `  mailgate sieve get alice@example.net > rules.sieve   # the active script`,
	"sieve list":   `  mailgate sieve list alice@example.net   # NAME ACTIVE UPDATED`,
	"sieve put": `  mailgate sieve put alice@example.net rules.sieve --name rules --activate
  mailgate sieve get alice@example.net | sed s/Bills/Invoices/ | mailgate sieve put alice@example.net - --name rules`,
	"sieve run": `  mailgate sieve run rules.sieve message.eml --from bob@example.org --to alice@example.net   # prints fileinto Bills, keep ...`,

	"serve": `  mailgate serve                                   # zero config: loopback, ports + 2000, ./mailgate-data
  mailgate -c /etc/mailgate/mailgate.toml serve    # under systemd; "mailgate config example" to start the file`,

	"subscriber link": `  mailgate subscriber link 0312345678@isp.example alice@example.net   # the RADIUS User-Name, the account`,
	"subscriber who": `  mailgate subscriber who 198.18.1.1
  mailgate subscriber who 2001:db8:100::1 --at 2026-12-01T10:00:00+09:00`,

	"user add": `  mailgate user add alice@example.net                              # asks for the password twice
  printf '%s\n' "$PASSWORD" | mailgate user add alice@example.net --password-stdin`,
	"user home": `  mailgate user home alice@example.net node-b   # its Maildir is already on node-b`,
	"user limits": `  mailgate user limits alice@example.net                                   # her limits and what she sent in 24 h
  mailgate user limits alice@example.net --recipients-per-day 5000 --messages-per-day default`,
	"user list":   `  mailgate user list --domain example.net   # status, what each sent in 24 h, its own limits`,
	"user move":   `  mailgate -c /etc/mailgate/node-a.toml user move alice@example.net node-b   # UIDs kept; run again to resume`,
	"user passwd": `  mailgate user passwd alice@example.net   # logs out her web sessions; restores sending the compromise response stopped`,
	"user quota": `  mailgate user quota alice@example.net          # her quota, her own or the default, and her usage
  mailgate user quota alice@example.net 2GiB     # "default" gives back the node's, "unlimited" lifts it`,
	"user remove": `  mailgate user remove alice@example.net   # its aliases go too; mail/example.net/alice/ stays on disk`,
	"user resume": `  mailgate user resume alice@example.net --reason "ticket 42: PC cleaned"`,
	"user spam": `  mailgate user spam alice@example.net                                   # her settings
  mailgate user spam alice@example.net --action junk --threshold 7.5   # spam scoring 7.5 or more goes to Junk`,
	"user suspend": `  mailgate user suspend alice@example.net --reason "ticket 42"                  # no login, no sending
  mailgate user suspend alice@example.net --sending-only --reason "spam run"   # reads mail, cannot submit`,

	"version": `  mailgate version                   # mailgate v1.4.0 (revision 5bc239f0c1a2, 2026-12-02T11:51:20Z) go1.26.8
  mailgate version --json            # {"version": ..., "revision": ..., "time": ..., "modified": ..., "go_version": ...}`,

	"web feed-token add":    `  mailgate web feed-token add docomo   # prints the token once; the carrier sends it as Authorization: Bearer`,
	"web feed-token list":   `  mailgate web feed-token list`,
	"web feed-token remove": `  mailgate web feed-token remove docomo`,
}

// addExamples sets each command's Example from the table.
func addExamples(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if e, ok := examples[commandKey(c)]; ok && c.Example == "" {
			c.Example = e
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// commandKey is a command's path under the root: "user add".
func commandKey(c *cobra.Command) string {
	if !c.HasParent() {
		return ""
	}
	if p := commandKey(c.Parent()); p != "" {
		return p + " " + c.Name()
	}
	return c.Name()
}
