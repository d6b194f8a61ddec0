// Command mailgate is the ISP mail platform: one binary for the mail node
// (`mailgate serve`) and the operators' tools. Subcommands only wire
// packages together; the logic lives in internal/.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/user"

	"github.com/spf13/cobra"

	"mailgate/internal/buildinfo"
	"mailgate/internal/config"
	"mailgate/internal/store"
)

func main() {
	if err := execute(newRoot()); err != nil {
		fmt.Fprintln(os.Stderr, "mailgate:", err)
		os.Exit(1)
	}
}

// configPath is the -c flag shared by every command.
var configPath string

func newRoot() *cobra.Command {
	loaded, invokedAs = nil, ""
	root := &cobra.Command{
		Use:   "mailgate",
		Short: "mail platform for an ISP: submission, MX, mailboxes and OP25B edge policy",
		Long: `mailgate runs an ISP's mail node — the MX on 25, authenticated submission on
587/465, POP3 and IMAP, the spool, local and remote delivery — manages its
directory of domains and accounts, and programs the OP25B port-25 policy
into the edge router's nftables.

Without -c, mailgate uses the zero-config setup: loopback only, standard
ports + 2000, data in ./mailgate-data, SQLite.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// --version (and -v): the line `mailgate version` prints.
		Version: buildinfo.Read().String(),
	}
	root.PersistentPreRunE = actAsDataDirOwner
	root.SetVersionTemplate("mailgate {{.Version}}\n")
	root.PersistentFlags().StringVarP(&configPath, "config", "c", "", "TOML config `FILE` (see: mailgate config example)")
	root.AddCommand(newServeCmd(), newConfigCmd(), newDomainCmd(), newUserCmd(), newAliasCmd(), newQueueCmd(), newSubscriberCmd(), newAbuseCmd(), newDMARCCmd(),
		newDKIMCmd(), newPoolCmd(), newEdgeCmd(), newReputationCmd(), newDNSCmd(), newSieveCmd(), newSRSCmd(), newFilterCmd(), newWebCmd(), newAPICmd(), newNodeCmd(), newBenchCmd(), newVersionCmd())
	addExamples(root)
	explainUsageErrors(root)
	return root
}

// configFile is the config file a command reads: -c, else
// $MAILGATE_CONFIG, else "" (the zero config).
func configFile() string {
	if configPath != "" {
		return configPath
	}
	return os.Getenv("MAILGATE_CONFIG")
}

// loadConfig reads -c, or returns the zero-config defaults.
func loadConfig() (*config.Config, error) {
	configPath = configFile()
	if loaded != nil {
		return loaded, nil
	}
	if configPath == "" {
		return config.Default(), nil
	}
	return config.Load(configPath)
}

// openStore opens the configured directory store for a CLI command.
func openStore(ctx context.Context) (*store.Store, *config.Config, error) {
	cfg, err := loadConfig()
	if err != nil {
		return nil, nil, err
	}
	st, err := store.Open(ctx, cfg.DatabaseDSN())
	if err != nil {
		return nil, nil, err
	}
	// "mailgate sieve put" and the filter commands hold scripts to the
	// same quotas as ManageSieve.
	st.SetSieveQuota(store.SieveQuota{MaxScripts: cfg.Sieve.MaxScripts, MaxScriptBytes: cfg.Sieve.MaxScriptBytes})
	st.SetDefaultMailboxQuota(int64(cfg.Mailbox.Quota))
	return st, cfg, nil
}

// withStore runs fn against the configured store and closes it after.
func withStore(fn func(ctx context.Context, st *store.Store) error) error {
	return withStoreConfig(func(ctx context.Context, st *store.Store, _ *config.Config) error { return fn(ctx, st) })
}

// withStoreConfig is withStore for a command that also reads the config
// (the [dns] servers, say).
func withStoreConfig(fn func(ctx context.Context, st *store.Store, cfg *config.Config) error) error {
	ctx := context.Background()
	st, cfg, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(ctx, st, cfg)
}

// actor names who makes a change, for the audit log: who started the
// command, not data_dir's owner it may act as.
func actor() string {
	if invokedAs != "" {
		return invokedAs
	}
	if u, err := user.Current(); err == nil {
		return "cli:" + u.Username
	}
	return "cli"
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// redactDSN hides a password in a postgres URL before printing it.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxx")
	}
	return u.String()
}
