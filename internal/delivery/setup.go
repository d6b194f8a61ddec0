package delivery

import (
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"

	"mailgate/internal/config"
	"mailgate/internal/dkim"
	"mailgate/internal/dns"
	"mailgate/internal/mtasts"
	"mailgate/internal/quotawarn"
	"mailgate/internal/sieve"
	"mailgate/internal/spool"
	"mailgate/internal/store"
)

// NewAgent builds the delivery agent a node runs from its configuration:
// local Maildir delivery, remote SMTP delivery with the [delivery] and
// [dns] settings, DKIM keys from the store (dir, when it is the store).
func NewAgent(cfg *config.Config, sp *spool.Spool, dir Directory, log *slog.Logger) (*Agent, error) {
	d := cfg.Delivery
	roots, err := loadRoots(d.CAFile)
	if err != nil {
		return nil, err
	}
	res := dns.Shared(cfg.DNS.Servers, cfg.DNS.Timeout)
	remote := &Remote{
		DNS: res, Hostname: cfg.Hostname, Port: d.RemotePort,
		ConnectTimeout: d.ConnectTimeout, CommandTimeout: cfg.Limits.CommandTimeout,
		TLSRequired: map[string]bool{}, Roots: roots,
		Smarthost: d.Smarthost, SmarthostUser: d.SmarthostUsername,
		PerDestination: d.ConcurrencyPerDestination, Log: log,
		DANE: d.DANE && len(cfg.DNS.Servers) > 0,
	}
	if _, port, err := net.SplitHostPort(d.Smarthost); err == nil && port == "465" {
		remote.SmarthostImplicitTLS = true // RFC 8314 submissions port
	}
	for _, dom := range d.TLSRequired {
		remote.TLSRequired[strings.ToLower(strings.TrimSuffix(dom, "."))] = true
	}
	if d.SmarthostPasswordFile != "" {
		pw, err := os.ReadFile(d.SmarthostPasswordFile)
		if err != nil {
			return nil, fmt.Errorf("delivery.smarthost_password_file: %w", err)
		}
		remote.SmarthostPassword = strings.TrimRight(string(pw), "\r\n")
	}
	if d.MTASTS && d.Smarthost == "" {
		remote.STS = &mtasts.Fetcher{DNS: res, Roots: roots, Port: d.MTASTSPort, CacheDir: filepath.Join(cfg.DataDir, "mta-sts"), Log: log}
	}
	local := &Local{Dir: dir, MailRoot: filepath.Join(cfg.DataDir, "mail"), Hostname: cfg.Hostname, Log: log,
		SieveLimits: sieve.Limits{MaxRedirects: cfg.Sieve.MaxRedirects}}
	if scripts, ok := dir.(ScriptSource); ok {
		local.Scripts = scripts // the store: each account's active Sieve script
	}
	if su, ok := dir.(SendUsage); ok {
		// The same daily limits as submission (internal/node).
		local.Sends = su
		local.SendDefaults = store.SendLimits{RecipientsPerDay: cfg.Limits.RecipientsPerDay, MessagesPerDay: cfg.Limits.MessagesPerDay}
	}
	if q, ok := dir.(Quotas); ok {
		// The store: each account's quota, else [mailbox] quota.
		local.Quotas, local.QuotaFull = q, cfg.Mailbox.QuotaFull
		local.QuotaWarner = quotawarn.FromConfig(cfg, log)
	}
	if vl, ok := dir.(VacationLog); ok {
		local.Vacations, local.Spool = vl, sp
	}
	senders, _ := dir.(Senders)
	rewriter, err := newSRS(cfg, log)
	if err != nil {
		return nil, err
	}
	keys := signingKeys(cfg, dir)
	return &Agent{
		Spool: sp, Log: log, Hostname: cfg.Hostname, Senders: senders, SRS: rewriter,
		Local:   local,
		Remote:  remote,
		Signer:  &Signer{Keys: keys, Dir: dir},
		Forward: newForwardSigner(cfg, keys, res, log),
		Schedule: Schedule{
			RetryInitial: d.RetryInitial, RetryMax: d.RetryMax,
			Lifetime: d.Lifetime, DelayWarning: d.DelayWarning,
		},
		Workers: d.Workers, ScanEvery: d.ScanInterval,
	}, nil
}

// The store must stay a dkim.KeyStore: signingKeys finds it by a type
// assertion, which would otherwise fail silently and sign from the legacy
// directory instead.
var _ dkim.KeyStore = (*store.Store)(nil)

// signingKeys are the DKIM keys in the store when dir is the store (every
// node of a fleet then signs with the same key), else the key directory.
// The node is the actor of the one change it makes: copying the legacy
// directory's keys into the store.
func signingKeys(cfg *config.Config, dir Directory) dkim.Keys {
	k := dkim.Keys{Dir: filepath.Join(cfg.DataDir, "dkim"), Actor: dkim.NodeActor(cfg.FleetNode())}
	if ks, ok := dir.(dkim.KeyStore); ok {
		k.Store = ks
	}
	return k.Cached()
}

// loadRoots returns the system roots plus the CAs in file, or nil (system
// roots) when file is "".
func loadRoots(file string) (*x509.CertPool, error) {
	if file == "" {
		return nil, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("delivery.ca_file: %w", err)
	}
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("delivery.ca_file %s: no PEM certificate in it", file)
	}
	return pool, nil
}
