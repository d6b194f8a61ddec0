package web

// Texts of the edge page's relays, carriers, scope and action sections
// (console_edge_dest.go), apart from console_text.go for the same reason.
func init() {
	for k, v := range map[string][2]string{
		"con.relays":                  {"自社の中継サーバ（25 番ポートで常に接続可）", "Our relays (port 25 to them always allowed)"},
		"con.relays_help":             {"プールの加入者が 25 番ポートで接続してよい自社の MX・送信サーバです。", "Our own MX and submission hosts: pool subscribers may reach them on port 25."},
		"con.addrelay":                {"中継サーバを追加", "Add relays"},
		"con.carriers":                {"携帯キャリア宛て（第 1 段階の対象）", "Carrier sets (blocked in phase 1)"},
		"con.carriers_help":           {"範囲が「携帯キャリア宛てのみ」のとき、25 番ポートを止める宛先です。メールドメインは MX ホストを edge run が引き直します。", "Where port 25 is blocked while the scope is carrier sets only. For a mail domain, edge run resolves its MX hosts and keeps them current."},
		"con.carrier":                 {"キャリア", "Carrier"},
		"con.carriername":             {"キャリア名", "Carrier name"},
		"con.entries":                 {"プレフィックス・ドメイン", "Prefixes and domains"},
		"con.entries_help":            {"アドレス、プレフィックスまたはメールドメイン、空白・カンマ・改行区切り", "Addresses, prefixes or mail domains, separated by spaces, commas or lines"},
		"con.addcarrier":              {"キャリアに追加", "Add to carrier"},
		"con.removecarrier":           {"キャリアごと削除", "remove the carrier"},
		"con.ce.prefix":               {"プレフィックス", "prefix"},
		"con.ce.domain":               {"ドメイン（MX）", "domain (its MX hosts)"},
		"con.scope":                   {"規制範囲と予定", "Scope and schedule"},
		"con.scope_help":              {"第 1 段階は携帯キャリア宛てだけ、第 2 段階はすべての宛先への 25 番ポートを止めます。日時を指定すると、その時刻に切り替わります。", "Phase 1 blocks port 25 only towards the carrier sets, phase 2 towards every destination. With a date, the change takes effect then."},
		"con.scope.carriers":          {"携帯キャリア宛てのみ（第 1 段階）", "carrier sets only (phase 1)"},
		"con.scope.all":               {"すべての宛先（第 2 段階）", "all destinations (phase 2)"},
		"con.fromcol":                 {"開始", "From"},
		"con.st.past":                 {"終了", "past"},
		"con.st.in force":             {"適用中", "in force"},
		"con.st.upcoming":             {"予定", "upcoming"},
		"con.defaulted":               {"予定はありません。既定ですべての宛先（第 2 段階）です。", "No schedule: all destinations (phase 2) by default."},
		"con.expires":                 {"例外 %s の期限（%s）", "exemption %s expires (%s)"},
		"con.cancel":                  {"取り消す", "cancel"},
		"con.scopefrom":               {"開始日時（空欄なら今すぐ）: 2006-01-02 または 2006-01-02 15:04（%s）", "From (empty: now): 2006-01-02 or 2006-01-02 15:04 (%s)"},
		"con.setscope":                {"範囲を設定", "Set the scope"},
		"con.action":                  {"ブロック時の動作", "What a blocked attempt gets"},
		"con.a.reset":                 {"TCP RST。相手はすぐに「接続拒否」になります（既定）", "TCP RST: the client sees \"connection refused\" at once (default)"},
		"con.a.drop":                  {"破棄。相手はタイムアウトまで待ちます", "dropped: the client waits until it times out"},
		"con.a.icmp":                  {"ICMP 管理上の禁止（administratively prohibited）を返します", "ICMP administratively prohibited"},
		"con.setaction":               {"動作を設定", "Set the action"},
		"con.err.relays":              {"中継サーバのアドレスまたはプレフィックスを入力してください", "give the relays' addresses or prefixes"},
		"con.err.carrier":             {"キャリアのプレフィックスまたはメールドメインを入力してください", "give the carrier's prefixes or mail domains"},
		"con.done.relayadd":           {"中継サーバを追加しました: %s", "relays added: %s"},
		"con.done.relayremove":        {"中継サーバ %s を削除しました", "relay %s removed"},
		"con.done.carrieradd":         {"キャリア %s に追加しました: %s", "carrier %s: added %s"},
		"con.done.carrierremove":      {"キャリア %s を削除しました", "carrier %s removed"},
		"con.done.carrierentryremove": {"%s をキャリア %s から削除しました", "%s removed from carrier %s"},
		"con.done.scopenow":           {"範囲を今から「%s」にしました", "scope now %s"},
		"con.done.scopefrom":          {"範囲を %[2]s から「%[1]s」にします", "scope %s from %s"},
		"con.done.scoperemove":        {"%s の範囲変更を取り消しました", "scope change at %s removed"},
		"con.done.action":             {"ブロック時の動作を %s にしました", "action %s"},
	} {
		catalog[k] = v
	}
}
