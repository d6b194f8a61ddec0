package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"mailgate/internal/config"
	"mailgate/internal/node"
)

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "print an example configuration or check one"}
	cmd.AddCommand(
		&cobra.Command{
			Use: "example", Short: "print a complete, commented example mailgate.toml", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				_, err := fmt.Fprint(cmd.OutOrStdout(), config.Example)
				return err
			},
		},
		&cobra.Command{
			Use:   "systemd",
			Short: "print a hardened systemd unit for `mailgate serve` (runs as the mailgate user)",
			Long: `Print a systemd service unit for "mailgate serve": it runs as the
unprivileged user mailgate with only CAP_NET_BIND_SERVICE (ports 25, 587,
993), a read-only system but for data_dir, LimitNOFILE above the
connection caps' total and a stop timeout covering the graceful shutdown.
With -c FILE, data_dir and the caps come from FILE and ExecStart names it;
without, /etc/mailgate/mailgate.toml and /var/lib/mailgate. See the
README, "Running as a service".`,
			Example: `  mailgate -c /etc/mailgate/mailgate.toml config systemd > /etc/systemd/system/mailgate.service
  systemctl daemon-reload && systemctl enable --now mailgate`,
			Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				cfg, err := loadConfig()
				if err != nil {
					return err
				}
				unit, err := node.SystemdUnit(cfg, configPath)
				if err != nil {
					return err
				}
				_, err = fmt.Fprint(cmd.OutOrStdout(), unit)
				return err
			},
		},
		&cobra.Command{
			Use: "check", Short: "load the config given with -c (or MAILGATE_CONFIG) and report any error, unreadable *_file settings included", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				if configFile() == "" {
					return fmt.Errorf("give the file to check with -c FILE (or MAILGATE_CONFIG=FILE)")
				}
				cfg, err := loadConfig()
				if err != nil {
					return err
				}
				if err := cfg.CheckFiles(); err != nil {
					return fmt.Errorf("config %s: %w", configPath, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: OK\n", configPath)
				return nil
			},
		},
	)
	return cmd
}
