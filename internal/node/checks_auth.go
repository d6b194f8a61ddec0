package node

import (
	"mailgate/internal/authres"
	"mailgate/internal/config"
	"mailgate/internal/dns"
	"mailgate/internal/verdict"
)

// authStages is the MX's sender authentication ([auth]): SPF, DKIM, DMARC
// and the Authentication-Results field, on the node's shared DNS cache.
func authStages(cfg *config.Config) []verdict.MessageStage {
	if !cfg.Auth.Enabled {
		return nil
	}
	a := cfg.Auth
	return []verdict.MessageStage{&authres.Stage{
		Resolver: dns.Shared(cfg.DNS.Servers, cfg.DNS.Timeout),
		Policy: authres.Policy{
			AuthservID: cfg.AuthservID(), Receiver: cfg.Hostname,
			TempError: a.TempError, DMARCReject: a.DMARCReject,
			SPFFailReject: a.SPFFailReject, Timeout: a.Timeout,
		},
	}}
}
