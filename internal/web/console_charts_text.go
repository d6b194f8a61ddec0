package web

// The charts' texts, kept apart from catalog.go and merged into it.
var chartCatalog = map[string][2]string{
	"con.charts":          {"グラフ", "Charts"},
	"chart.title":         {"グラフ（全ノード）", "Charts (all nodes)"},
	"chart.lead":          {"%s UTC からの 1 時間ごとの値です。各ノードが定期的にデータベースへ書き込んだ値の合計です。", "Hourly values since %s UTC, summed over the nodes, which write them to the database regularly."},
	"chart.numbers":       {"数値", "Numbers"},
	"chart.none":          {"記録はありません。", "Nothing recorded."},
	"chart.blocked":       {"25 番ポートのブロック（1 時間ごと）", "Blocked port-25 attempts per hour"},
	"chart.blocked.s":     {"ブロック", "blocked"},
	"chart.sources":       {"ブロックの多い送信元", "Top sources of blocked attempts"},
	"chart.queue":         {"キューの大きさ（1 時間の最大）", "Queue size (peak of each hour)"},
	"chart.queue.s":       {"送信待ち", "queued"},
	"chart.in":            {"受信したメール", "Messages in"},
	"chart.in.mx":         {"MX（25 番）", "MX (port 25)"},
	"chart.in.submission": {"送信（587・465 番）", "submission (587, 465)"},
	"chart.out":           {"配送の試行", "Delivery attempts (out)"},
	"chart.out.delivered": {"配送済み", "delivered"},
	"chart.out.deferred":  {"再試行", "deferred"},
	"chart.out.failed":    {"失敗", "failed"},
	"chart.refusals":      {"拒否の理由（24 時間）", "Refusals by reason (24 hours)"},

	// RFC 3463 §3: the subject of an enhanced status code.
	"rej.0": {"その他", "other"},
	"rej.1": {"宛先・差出人アドレス", "addressing"},
	"rej.2": {"メールボックス", "mailbox"},
	"rej.3": {"メールシステム", "mail system"},
	"rej.4": {"ネットワーク・経路", "network or routing"},
	"rej.5": {"SMTP プロトコル", "SMTP protocol"},
	"rej.6": {"メッセージの内容", "message content"},
	"rej.7": {"セキュリティ・ポリシー", "security or policy"},
	// The IANA SMTP Enhanced Status Codes registry, for the codes sent.
	"rej.1.1":  {"宛先のメールボックスがありません", "no such mailbox"},
	"rej.1.3":  {"宛先アドレスの書式が不正", "bad recipient address syntax"},
	"rej.1.7":  {"差出人アドレスの書式が不正", "bad sender address syntax"},
	"rej.1.8":  {"差出人のドメインが不正", "bad sender's system address"},
	"rej.2.2":  {"メールボックスが満杯", "mailbox full"},
	"rej.3.0":  {"サーバー内部の一時的な問題", "local error"},
	"rej.3.4":  {"メッセージが大きすぎます", "message too big"},
	"rej.4.2":  {"接続の問題（タイムアウト）", "bad connection (timeout)"},
	"rej.5.1":  {"不正なコマンド", "invalid command"},
	"rej.5.2":  {"構文エラー", "syntax error"},
	"rej.5.3":  {"宛先が多すぎます", "too many recipients"},
	"rej.5.4":  {"不正な引数", "invalid command arguments"},
	"rej.6.0":  {"メッセージの形式が不正", "bad message content"},
	"rej.7.0":  {"ポリシーによる拒否", "refused by policy"},
	"rej.7.1":  {"許可されていません（中継・差出人・迷惑メール・ウイルス）", "not authorised (relay, sender, spam, virus)"},
	"rej.7.8":  {"認証情報が正しくありません", "authentication credentials invalid"},
	"rej.7.23": {"SPF の検証に失敗", "SPF validation failed"},
	"rej.7.25": {"逆引き DNS の検証に失敗", "reverse DNS validation failed"},
	"rej.7.26": {"複数の認証に失敗（DMARC）", "multiple authentication checks failed (DMARC)"},
	"rej.7.27": {"差出人ドメインが Null MX", "sender domain has a null MX"},
}

func init() {
	for k, v := range chartCatalog {
		catalog[k] = v
	}
}
