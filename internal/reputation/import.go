package reputation

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	"mailgate/internal/edge"
	"mailgate/internal/store"
)

// maxFeedBytes bounds a feed: a million IPv6 prefixes in JSON fit.
const maxFeedBytes = 256 << 20

// ReadFeed reads a feed from a file, "-" for standard input, or an
// http(s) URL, and parses it in the formats `edge feed` publishes
// (format "" tells them apart).
func ReadFeed(ctx context.Context, src, format string, stdin io.Reader) ([]netip.Prefix, error) {
	var r io.Reader
	switch {
	case src == "-":
		r = stdin
	case strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://"):
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
		if err != nil {
			return nil, fmt.Errorf("feed %s: %w", src, err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("feed %s: %w", src, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("feed %s: HTTP %s: check the URL with the list's publisher", src, resp.Status)
		}
		r = resp.Body
	default:
		f, err := os.Open(src)
		if err != nil {
			return nil, fmt.Errorf("feed: %w", err)
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxFeedBytes+1))
	if err != nil {
		return nil, fmt.Errorf("feed %s: %w", src, err)
	}
	if len(data) > maxFeedBytes {
		return nil, fmt.Errorf("feed %s: larger than %d MiB", src, maxFeedBytes>>20)
	}
	ps, err := edge.ParseFeed(data, format)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	return ps, nil
}

// Import loads a feed into list name, replacing what the list held.
// An empty feed is refused: it would silently drop the whole list, which
// a publisher's broken export must not do (remove the list instead).
func Import(ctx context.Context, st *store.Store, actor, name, src, format string, stdin io.Reader) (int, error) {
	if err := store.CheckListName(name); err != nil {
		return 0, err
	}
	ps, err := ReadFeed(ctx, src, format, stdin)
	if err != nil {
		return 0, err
	}
	if len(ps) == 0 {
		return 0, fmt.Errorf("feed %s holds no prefixes: nothing imported (to drop list %s, use reputation remove)", src, name)
	}
	return st.ReplaceReputationList(ctx, actor, name, src, ps)
}
