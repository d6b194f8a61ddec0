package web

// Texts of the edge what-if page (console_edge_impact.go).
func init() {
	for k, v := range map[string][2]string{
		"con.impact":               {"影響の試算（フロー記録の再生）", "Impact of the policy (flow records replayed)"},
		"con.impact_help":          {"フロー記録（nfdump -o csv の出力、または「送信元 宛先 [ポート]」の行）を今のポリシーと変更案で判定し、止まる通信を数えます。ストアは変更しません。", "Flow records (nfdump -o csv output, or SRC DST [PORT] lines) are decided by the policy now and by a what-if, and the blocked ones counted. Nothing is changed."},
		"con.impact.link":          {"影響の試算", "Impact of a change"},
		"con.impact.file":          {"フロー記録ファイル（16 MiB まで）", "Flow file (up to 16 MiB)"},
		"con.impact.at":            {"この日時のポリシーでも判定（空欄なら指定なし）: 2006-01-02 または 2006-01-02 15:04（%s）", "Also as the policy will be then (empty: none): 2006-01-02 or 2006-01-02 15:04 (%s)"},
		"con.impact.scope":         {"範囲を変えたら", "With the scope replaced"},
		"con.impact.scopekeep":     {"変えない", "unchanged"},
		"con.impact.exempt":        {"例外に追加したら（プレフィックス、空白区切り）", "With these exempted (prefixes, space-separated)"},
		"con.impact.unexempt":      {"例外から外したら（プレフィックス、空白区切り）", "Without these exemptions (prefixes, space-separated)"},
		"con.impact.pools":         {"プールを変えたら（pool import と同じ CSV pool,kind,prefix か TOML のファイル、任意）", "With these pool prefixes added or moved (a file as pool import reads it: CSV pool,kind,prefix or TOML; optional)"},
		"con.impact.nfdumptz":      {"nfdump の ts の時間帯（nfdump を動かしたマシンの時間帯: UTC、+09:00、Asia/Tokyo など）", "Zone of nfdump's ts (that of the machine nfdump ran on: UTC, +09:00, Asia/Tokyo...)"},
		"con.impact.resolve":       {"通信事業者ドメインの MX", "Carrier domains' MX hosts"},
		"con.impact.resolve.true":  {"DNS で引く", "resolved with DNS"},
		"con.impact.resolve.false": {"引かない（プレフィックスだけで判定）", "not resolved (carrier prefixes only)"},
		"con.impact.warnings":      {"名前解決できなかったもの（プレフィックスだけで判定）", "Not resolved (counted by prefixes only)"},
		"con.impact.top":           {"表示する送信元の数", "Sources listed"},
		"con.impact.run":           {"試算する", "Replay"},
		"con.impact.summary":       {"結果", "Result"},
		"con.impact.flows":         {"読んだフロー", "Flows read"},
		"con.impact.tcp25":         {"TCP/25 のフロー", "TCP/25 flows"},
		"con.impact.malformed":     {"読めなかった行", "Lines skipped"},
		"con.impact.now":           {"現在（%s、%s）", "Now (%s, %s)"},
		"con.impact.then":          {"変更後（%s、%s）", "Then (%s, %s)"},
		"con.impact.blocked":       {"%d フローを遮断（送信元 %d、宛先 %d）", "%d flows blocked, %d sources, %d destinations"},
		"con.impact.toblocked":     {"現在は通過、変更後は遮断", "Allowed now, blocked then"},
		"con.impact.toallowed":     {"現在は遮断、変更後は通過", "Blocked now, allowed then"},
		"con.impact.changed":       {"%d フロー（送信元 %d）", "%d flows from %d sources"},
		"con.impact.topnow":        {"遮断される主な送信元（現在）", "Top blocked sources (now)"},
		"con.impact.topthen":       {"遮断される主な送信元（変更後）", "Top blocked sources (then)"},
		"con.impact.flowscol":      {"フロー数", "Flows"},
		"con.impact.dests":         {"宛先数", "Destinations"},
		"con.impact.subscriber":    {"加入者", "Subscriber"},
		"con.impact.why":           {"理由（1 フローの例）", "Why (one flow)"},
		"con.impact.nofile":        {"フロー記録ファイルを選んでください", "choose a flow file"},
		"con.impact.toolarge":      {"フロー記録ファイルが 16 MiB を超えています。分けて試算するか、サーバで mailgate edge impact を使ってください", "the flow file is over 16 MiB: replay it in parts, or run mailgate edge impact on the host"},
		"con.impact.flowfile":      {"フロー記録ファイル", "flow file"},
	} {
		catalog[k] = v
	}
}
