package node

import (
	"log/slog"

	"mailgate/internal/config"
	"mailgate/internal/dns"
	"mailgate/internal/reputation"
	"mailgate/internal/store"
	"mailgate/internal/verdict"
)

// addReputation puts the source checks on the MX: the connect stage (DNS
// lists and imported dynamic ranges, before the greeting), the client
// stage (all of those again, our own pools, rDNS) and the message stage
// that carries the score. They come first, so later stages (a spam scanner) can read the
// "reputation" note.
func addReputation(cfg *config.Config, st *store.Store, log *slog.Logger, mx *verdict.Pipeline) error {
	c, err := reputation.New(cfg.ReputationConfig(), dns.Shared(cfg.DNS.Servers, cfg.DNS.Timeout), cfg.DNS.Timeout, st, log)
	if err != nil {
		return err
	}
	mx.Connect = append(mx.Connect, reputation.ConnectStage{C: c})
	mx.Client = append(mx.Client, reputation.ClientStage{C: c})
	mx.Message = append(mx.Message, reputation.MessageStage{C: c})
	return nil
}
