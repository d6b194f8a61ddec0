package node

import (
	"log/slog"

	"mailgate/internal/config"
	"mailgate/internal/verdict"
)

// checks builds the verdict pipelines of the MX and of submission from the
// configuration: the stages, in the order they run (ARCHITECTURE: "verdict
// before the 250"). Stages that need nothing configured are always on.
func checks(cfg *config.Config, log *slog.Logger) (mx, submission *verdict.Pipeline, err error) {
	mx = &verdict.Pipeline{Log: log}
	submission = &verdict.Pipeline{Log: log}
	return mx, submission, nil
}
