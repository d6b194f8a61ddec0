package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"mailgate/internal/config"
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
