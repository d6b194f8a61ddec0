package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"mailgate/internal/address"
	"mailgate/internal/password"
	"mailgate/internal/store"
)

func newDomainCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "domain", Short: "manage the mail domains we host (add, list, remove)"}
	cmd.AddCommand(
		&cobra.Command{
			Use: "add DOMAIN...", Short: "add hosted domains", Args: cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return withStore(func(ctx context.Context, st *store.Store) error {
					added, err := st.AddDomains(ctx, actor(), args)
					if err != nil {
						return err
					}
					for _, d := range added {
						fmt.Fprintf(cmd.OutOrStdout(), "domain %s added\n", d)
					}
					return nil
				})
			},
		},
		&cobra.Command{
			Use: "list", Short: "list hosted domains with their account counts", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return withStore(func(ctx context.Context, st *store.Store) error {
					ds, err := st.Domains(ctx)
					if err != nil {
						return err
					}
					tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "DOMAIN\tACCOUNTS\tCREATED")
					for _, d := range ds {
						fmt.Fprintf(tw, "%s\t%d\t%s\n", d.Name, d.Accounts, d.Created.UTC().Format("2006-01-02"))
					}
					return tw.Flush()
				})
			},
		},
		&cobra.Command{
			Use: "remove DOMAIN", Short: "remove a domain that has no accounts or aliases left", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return withStore(func(ctx context.Context, st *store.Store) error {
					if err := st.RemoveDomain(ctx, actor(), args[0]); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "domain %s removed\n", canonicalDomain(args[0]))
					return nil
				})
			},
		},
	)
	return cmd
}

func newUserCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "manage accounts (add, list, passwd, suspend, resume, remove)"}
	var pwStdin bool
	var home string
	add := &cobra.Command{
		Use: "add ADDRESS", Short: "add an account; the password comes from a prompt or --password-stdin", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := context.Background()
			st, cfg, err := openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.CheckNewAccount(ctx, args[0]); err != nil {
				return err
			}
			node, err := pickHome(ctx, st, cfg, home)
			if err != nil {
				return err
			}
			hash, err := readPassword(cmd, pwStdin)
			if err != nil {
				return err
			}
			if err := st.AddAccount(ctx, actor(), args[0], hash); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "account %s added\n", canonical(args[0]))
			return assignHome(ctx, cmd.OutOrStdout(), st, cfg, canonical(args[0]), node)
		},
	}
	add.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password from the first line of standard input")
	add.Flags().StringVar(&home, "home", "", "fleet: the node holding the mailbox (default: fleet.home, least-loaded)")
	passwd := &cobra.Command{
		Use: "passwd ADDRESS", Short: "set an account's password (prompt or --password-stdin)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(func(ctx context.Context, st *store.Store) error {
				if _, err := st.Account(ctx, args[0]); err != nil {
					return err
				}
				hash, err := readPassword(cmd, pwStdin)
				if err != nil {
					return err
				}
				if err := st.SetPassword(ctx, actor(), args[0], hash); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "password of %s changed\n", canonical(args[0]))
				return nil
			})
		},
	}
	passwd.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password from the first line of standard input")
	var domain string
	list := &cobra.Command{
		Use: "list", Short: "list accounts and their status", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(func(ctx context.Context, st *store.Store) error {
				as, err := st.Accounts(ctx, domain)
				if err != nil {
					return err
				}
				standings, err := st.SendStandings(ctx)
				if err != nil {
					return err
				}
				homes, err := st.Homes(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ACCOUNT\tSTATUS\tCREATED\tSENT 24H (RCPTS/MSGS)\tLIMITS/DAY (RCPTS/MSGS)"+homeColumn(homes, ""))
				for _, a := range as {
					sent, limits := "0/0", "default"
					if sd := standings[a.Address]; sd != nil {
						sent = fmt.Sprintf("%d/%d", sd.Recipients, sd.Messages)
						if o := sd.Override; o.RecipientsPerDay != nil || o.MessagesPerDay != nil {
							limits = overrideText(o.RecipientsPerDay) + "/" + overrideText(o.MessagesPerDay)
						}
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s%s\n", a.Address, a.Status, a.Created.UTC().Format("2006-01-02"), sent, limits, homeColumn(homes, a.Address))
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().StringVar(&domain, "domain", "", "only accounts of this domain")
	var reason string
	var sendingOnly bool
	suspend := &cobra.Command{
		Use:   "suspend ADDRESS",
		Short: "suspend an account (no login, no sending), or with --sending-only stop only its sending",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			status := store.StatusSuspended
			if sendingOnly {
				status = store.StatusSendingDisabled
			}
			return setStatus(cmd, args[0], status, reason)
		},
	}
	suspend.Flags().StringVar(&reason, "reason", "", "why, for the audit log")
	suspend.Flags().BoolVar(&sendingOnly, "sending-only", false, "keep mail reading, disable sending only")
	resume := &cobra.Command{
		Use: "resume ADDRESS", Short: "make a suspended account active again", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return setStatus(cmd, args[0], store.StatusActive, reason)
		},
	}
	resume.Flags().StringVar(&reason, "reason", "", "why, for the audit log")
	remove := &cobra.Command{
		Use: "remove ADDRESS", Short: "remove an account and its aliases (its mailbox files stay on disk)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(func(ctx context.Context, st *store.Store) error {
				if err := st.RemoveAccount(ctx, actor(), args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "account %s removed\n", canonical(args[0]))
				return nil
			})
		},
	}
	cmd.AddCommand(add, list, passwd, suspend, resume, remove, newUserLimitsCmd(), newUserSpamCmd(), newUserQuotaCmd(), newUserHomeCmd(), newUserMoveCmd())
	return cmd
}

// canonical is an address as the store keeps it, for messages: lower
// case, the domain as its A-label.
func canonical(addr string) string {
	if n, err := address.Normalize(addr); err == nil {
		return n
	}
	return addr
}

// canonicalAlias is an alias, or a catch-all, as the store keeps it.
func canonicalAlias(alias string) string {
	if n, err := store.NormalizeAlias(alias); err == nil {
		return n
	}
	return alias
}

// canonicalDomain is a domain as the store keeps it and `domain add` and
// `domain list` print it: lower case, A-labels.
func canonicalDomain(d string) string {
	if c, err := address.CanonicalDomain(d); err == nil {
		return c
	}
	return d
}

func setStatus(cmd *cobra.Command, addr, status, reason string) error {
	return withStore(func(ctx context.Context, st *store.Store) error {
		if err := st.SetStatus(ctx, actor(), addr, status, reason); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "account %s is now %s\n", canonical(addr), status)
		return nil
	})
}

// readPassword reads a new password from stdin's first line or a prompt
// without echo, and returns its hash. Passwords never come from argv,
// where every user of the machine could read them.
func readPassword(cmd *cobra.Command, fromStdin bool) (string, error) {
	var pw string
	if fromStdin {
		var err error
		if pw, err = readStdinLine(cmd); err != nil {
			return "", err
		}
	} else {
		fd := int(os.Stdin.Fd())
		if !term.IsTerminal(fd) {
			return "", errors.New("no terminal to ask for the password: pipe it in with --password-stdin")
		}
		fmt.Fprint(cmd.ErrOrStderr(), "Password: ")
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return "", err
		}
		fmt.Fprint(cmd.ErrOrStderr(), "Again: ")
		b2, err := term.ReadPassword(fd)
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return "", err
		}
		if string(b) != string(b2) {
			return "", errors.New("the two passwords differ; nothing changed")
		}
		pw = string(b)
	}
	if err := password.CheckNew(pw); err != nil {
		return "", err
	}
	return password.Hash(pw)
}

// readStdinLine returns the first line of the command's standard input
// without its line ending: the password given with --password-stdin.
func readStdinLine(cmd *cobra.Command) (string, error) {
	line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func newAliasCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "alias", Short: "manage aliases: extra addresses delivering to, and sendable by, an account"}
	var account string
	list := &cobra.Command{
		Use: "list", Short: "list aliases", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(func(ctx context.Context, st *store.Store) error {
				as, err := st.Aliases(ctx, account)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ALIAS\tACCOUNT")
				for _, a := range as {
					fmt.Fprintf(tw, "%s\t%s\n", a.Address, a.Account)
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().StringVar(&account, "account", "", "only aliases of this account")
	cmd.AddCommand(
		&cobra.Command{
			Use: "add ALIAS ACCOUNT", Short: "add an alias owned by ACCOUNT, or a domain's catch-all (@DOMAIN)", Args: cobra.ExactArgs(2),
			Long: `Adds ALIAS, an address in a domain we host, delivering to and sendable by ACCOUNT.

ALIAS @DOMAIN is the domain's catch-all: mail to an address of DOMAIN that no
account or alias holds is delivered to ACCOUNT (an account or alias always wins
over it). ACCOUNT may not send as those addresses: add an alias for each one
it should send as.`,
			Example: `  mailgate alias add info@example.net alice@example.net
  mailgate alias add @example.net alice@example.net   # catch-all
  mailgate alias remove @example.net`,
			RunE: func(cmd *cobra.Command, args []string) error {
				return withStore(func(ctx context.Context, st *store.Store) error {
					if err := st.AddAlias(ctx, actor(), args[0], args[1]); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "alias %s -> %s added\n", canonicalAlias(args[0]), canonical(args[1]))
					return nil
				})
			},
		},
		list,
		&cobra.Command{
			Use: "remove ALIAS", Short: "remove an alias, or a domain's catch-all (@DOMAIN)", Args: cobra.ExactArgs(1),
			Example: `  mailgate alias remove info@example.net
  mailgate alias remove @example.net`,
			RunE: func(cmd *cobra.Command, args []string) error {
				return withStore(func(ctx context.Context, st *store.Store) error {
					if err := st.RemoveAlias(ctx, actor(), args[0]); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "alias %s removed\n", canonicalAlias(args[0]))
					return nil
				})
			},
		},
	)
	return cmd
}
