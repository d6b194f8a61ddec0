package node

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	"mailgate/internal/config"
	"mailgate/internal/radius"
	"mailgate/internal/store"
)

// startRADIUS serves RADIUS accounting when listen.radius_accounting is
// set; the returned stop waits for requests being recorded. nil stop: off.
func startRADIUS(cfg *config.Config, st *store.Store, log *slog.Logger, banner io.Writer) (stop func(context.Context), err error) {
	if cfg.Listen.RadiusAccounting == "" {
		return nil, nil
	}
	secret, err := readSecret(cfg.Radius.SecretFile)
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenPacket("udp", cfg.Listen.RadiusAccounting)
	if err != nil {
		return nil, fmt.Errorf("listen radius accounting on %s: %w (change listen.radius_accounting)", cfg.Listen.RadiusAccounting, err)
	}
	fmt.Fprintf(banner, "mailgate: %-36s %s\n", "radius accounting (udp)", conn.LocalAddr())
	acct := &radius.Accounting{Sessions: st, Secret: secret, Log: log.With("service", "radius")}
	go func() {
		if err := acct.Serve(conn); err != nil {
			log.Error("radius accounting stopped", "err", err)
		}
	}()
	return acct.Shutdown, nil
}

// readSecret reads a shared secret: the file's first line.
func readSecret(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("radius.secret_file: %w", err)
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("radius.secret_file %s: %w", path, err)
	}
	secret := strings.TrimRight(line, "\r\n")
	if secret == "" {
		return nil, fmt.Errorf("radius.secret_file %s: the first line (the shared secret) is empty", path)
	}
	return []byte(secret), nil
}
