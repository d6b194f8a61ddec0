package config

import (
	"strings"
	"testing"
	"time"
)

// Issue 11 §2–§4: [abuse.login] and [abuse.compromise] defaults, and the
// keys their errors name.
func TestAbuseLoginAndCompromiseSections(t *testing.T) {
	c, err := Load(write(t, "[abuse]\nown_network_relay = \"ip\"\n[abuse.login]\nblock_after = 20\n[abuse.compromise]\nmode = \"report\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	l, m := c.Abuse.Login, c.Abuse.Compromise
	if l.BlockAfter != 20 || l.BlockAfterAccount != 5 || l.BlockAfterNetwork != 50 || l.Delay != 2*time.Second || l.MaxDelay != 15*time.Second || l.Window != 15*time.Minute || l.BlockTime != 15*time.Minute {
		t.Fatalf("abuse.login = %+v", l)
	}
	if m.Mode != "report" || m.BaselineFactor != 10 || m.RefusedShare != 0.5 || !m.Virus || m.SpamScore != 0 || m.LoginSources != 10 {
		t.Fatalf("abuse.compromise = %+v", m)
	}
	if c.Abuse.OwnNetworkRelay != OwnRelayIP || c.Abuse.PoolRefresh != time.Minute {
		t.Fatalf("abuse = %+v", c.Abuse)
	}
	for body, key := range map[string]string{
		"[abuse]\nown_network_relay = \"open\"\n":     "abuse.own_network_relay",
		"[abuse]\npool_refresh = \"10ms\"\n":          "abuse.pool_refresh",
		"[abuse.login]\nblock_after = 2\n":            "abuse.login.block_after",
		"[abuse.login]\nblock_after_account = 1\n":    "abuse.login.block_after_account",
		"[abuse.login]\nmax_delay = \"1s\"\n":         "abuse.login.max_delay",
		"[abuse.login]\nwindow = \"1s\"\n":            "abuse.login.window",
		"[abuse.login]\nblock_time = \"48h\"\n":       "abuse.login.block_time",
		"[abuse.compromise]\nmode = \"on\"\n":         "abuse.compromise.mode",
		"[abuse.compromise]\nrefused_share = 2.0\n":   "abuse.compromise.refused_share",
		"[abuse.compromise]\nspam_score = -1.0\n":     "abuse.compromise.spam_score",
		"[abuse.compromise]\noperator = \"a b\"\n":    "abuse.compromise.operator",
		"[abuse.compromise]\nlogin_window = \"1s\"\n": "abuse.compromise.login_sources",
	} {
		if _, err := Load(write(t, body)); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("config %q: error %v does not name %s", body, err, key)
		}
	}
}
