package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"mailgate/internal/buildinfo"
)

func newVersionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "print the build: module version, commit, commit time, modified tree, Go version",
		Long: `Prints which build this binary is, as the go command recorded it: the
module version, and for a build made in a git checkout the commit, its
time and whether the tree had uncommitted changes; then the Go version.
The same line is the first that "mailgate serve" prints, and the same
values label the mailgate_build_info metric. "mailgate --version" prints
the line too.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bi := buildinfo.Read()
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), bi)
			}
			fmt.Fprintln(cmd.OutOrStdout(), "mailgate "+bi.String())
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON object: version, revision, time, modified, go_version")
	return cmd
}
