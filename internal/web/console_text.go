package web

// Texts of the console's edge and DKIM pages, kept apart from catalog.go
// so pages added by separate changes do not edit one map literal.
func init() {
	for k, v := range map[string][2]string{
		"con.edge":          {"OP25B ポリシー", "OP25B policy"},
		"con.dkim":          {"DKIM と DNS", "DKIM and DNS"},
		"con.pools":         {"加入者アドレスプール", "Subscriber address pools"},
		"con.kind":          {"種別", "Kind"},
		"con.prefixes":      {"プレフィックス", "Prefixes"},
		"con.k.dynamic":     {"動的（25 番ポートを制限）", "dynamic (port 25 filtered)"},
		"con.k.static":      {"固定（制限なし）", "fixed (not filtered)"},
		"con.poolname":      {"プール名", "Pool name"},
		"con.prefixes_help": {"アドレスまたはプレフィックス（IPv4・IPv6）、空白・カンマ・改行区切り", "Addresses or prefixes (IPv4 and IPv6), separated by spaces, commas or lines"},
		"con.addpool":       {"プールに追加", "Add to pool"},
		"con.remove":        {"削除", "remove"},
		"con.removepool":    {"プールごと削除", "remove the pool"},
		"con.exemptions":    {"例外（25 番ポートを許可）", "Exemptions (port 25 allowed)"},
		"con.prefix":        {"アドレス / プレフィックス", "Address / prefix"},
		"con.reason":        {"理由（監査ログに記録）", "Reason (kept in the audit log)"},
		"con.until":         {"期限（任意）: 2006-01-02 または 2006-01-02 15:04", "Until (optional): 2006-01-02 or 2006-01-02 15:04"},
		"con.force":         {"/%d（IPv4）・/%d（IPv6）より広い範囲を許可する", "Allow a prefix wider than /%d (IPv4) or /%d (IPv6)"},
		"con.addexempt":     {"例外を追加", "Add exemption"},
		"con.by":            {"登録者", "By"},
		"con.untilcol":      {"期限", "Until"},
		"con.expired":       {"期限切れ", "expired"},
		"con.never":         {"無期限", "no expiry"},
		"con.none":          {"ありません。", "None."},
		"con.plan":          {"現在の規制範囲: %s。ブロック時の動作: %s", "In force: %s. A blocked attempt gets %s"},
		"con.nextchange":    {"次の変更: %s", "Next change: %s"},
		"con.keys":          {"DKIM 署名鍵", "DKIM signing keys"},
		"con.selector":      {"セレクタ", "Selector"},
		"con.algorithm":     {"方式", "Algorithm"},
		"con.active":        {"使用中", "active"},
		"con.activate":      {"使用する", "activate"},
		"con.retire":        {"廃止", "retire"},
		"con.record":        {"公開する TXT レコード", "TXT record to publish"},
		"con.newkey":        {"新しい鍵（ローテーション）", "New key (rotation)"},
		"con.activatenow":   {"すぐに署名に使う", "Sign with it at once"},
		"con.generate":      {"生成", "Generate"},
		"con.records":       {"公開する DNS レコード", "DNS records to publish"},
		"con.pickdomain":    {"ドメインを選んでください。", "Pick a domain."},
		"con.createdat":     {"作成", "Created"},
		"con.checklive":     {"DNS を今すぐ確認する", "Check the DNS now"},
		"con.found":         {"実際の値:", "found:"},
		"con.dns.ok":        {"OK", "ok"},
		"con.dns.missing":   {"未登録", "missing"},
		"con.dns.different": {"不一致", "different"},
		"con.dns.error":     {"確認できず", "lookup failed"},
	} {
		catalog[k] = v
	}
}
