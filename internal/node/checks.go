package node

import (
	"log/slog"

	"mailgate/internal/authres"

	"mailgate/internal/config"
	"mailgate/internal/store"
	"mailgate/internal/verdict"
)

// checks builds the verdict pipelines of the MX and of submission from the
// configuration: the stages, in the order they run (ARCHITECTURE: "verdict
// before the 250"). Stages that need nothing configured are always on.
func checks(cfg *config.Config, st *store.Store, log *slog.Logger, reports authres.Recorder) (mx, submission *verdict.Pipeline, err error) {
	mx = &verdict.Pipeline{Log: log}
	submission = &verdict.Pipeline{Log: log}
	if err := addReputation(cfg, st, log, mx); err != nil {
		return nil, nil, err
	}
	authMX, authSubmission := authStages(cfg, reports)
	mx.Message, submission.Message = append(mx.Message, authMX...), append(submission.Message, authSubmission...)
	return mx, submission, nil
}
