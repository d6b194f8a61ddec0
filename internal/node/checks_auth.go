package node

import (
	"mailgate/internal/arc"
	"mailgate/internal/authres"
	"mailgate/internal/config"
	"mailgate/internal/dns"
	"mailgate/internal/verdict"
)

// authStages is the MX's sender authentication ([auth]): SPF, DKIM, ARC,
// DMARC and the Authentication-Results field, on the node's shared DNS cache.
// Submission only loses Authentication-Results fields claiming to be ours
// (RFC 8601 §5). reports, when not nil, counts the DMARC verdicts for
// aggregate reports ([dmarc_reports]).
func authStages(cfg *config.Config, reports authres.Recorder) (mx, submission []verdict.MessageStage) {
	if !cfg.Auth.Enabled {
		return nil, nil
	}
	a := cfg.Auth
	submission = []verdict.MessageStage{authres.StripForged{AuthservID: cfg.AuthservID()}}
	return []verdict.MessageStage{&authres.Stage{
		Resolver: dns.Shared(cfg.DNS.Servers, cfg.DNS.Timeout),
		Policy: authres.Policy{
			AuthservID: cfg.AuthservID(), Receiver: cfg.Hostname,
			TempError: a.TempError, DMARCReject: a.DMARCReject,
			SPFFailReject: a.SPFFailReject, Timeout: a.Timeout,
			ARCTrustedSealers: cfg.ARCTrustedSealers(),
		},
		ARC:     arc.Validate,
		Reports: reports,
	}}, submission
}
