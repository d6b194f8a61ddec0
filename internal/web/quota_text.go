package web

// Texts of the storage quota (webmail's folder pane, the account page, the
// console's account page): [Japanese, English].
func init() {
	for k, v := range map[string][2]string{
		"quota.usage":         {"使用量 %s / %s (%d%%)", "%s of %s used (%d%%)"},
		"quota.usage.nolimit": {"使用量 %s（容量制限なし）", "%s used (no limit)"},
		"quota.limit":         {"容量制限 %s", "Storage limit %s"},
		"quota.nolimit":       {"容量制限なし", "No storage limit"},
		"quota.elsewhere":     {"（使用量はメールボックスのあるノード %s で表示されます）", "(the usage is shown by %s, the node that holds the mailbox)"},
		"quota.inwebmail":     {"（使用量はメール画面に表示されます）", "(webmail shows how much is used)"},
		"quota.warn": {"メールボックスがほぼいっぱいです（%d%%）。不要なメールを削除し、「ごみ箱」を空にしてください。いっぱいになると新しいメールを受け取れません。",
			"Your mailbox is almost full (%d%%). Delete mail you no longer need and empty the Trash: once it is full, new mail cannot be delivered to you."},
		"quota.full": {"メールボックスがいっぱいです。新しいメールを受け取れません。不要なメールを削除し、「ごみ箱」を空にしてください。",
			"Your mailbox is full: new mail cannot be delivered to you. Delete mail you no longer need and empty the Trash."},
		"quota.title":   {"メールボックス容量", "Mailbox storage"},
		"quota.own":     {"このアカウント個別の設定", "this account's own setting"},
		"quota.default": {"ノードの既定値（[mailbox] quota）", "the node's default ([mailbox] quota)"},
		"quota.set":     {"容量制限を変更", "Change the storage limit"},
		"quota.help":    {"サイズ（例: 500MB、2GiB、オクテット数）、unlimited（制限なし）、default（ノードの既定値に戻す）", "A size (500MB, 2GiB, octets), unlimited, or default (back to the node's default)"},
		"quota.submit":  {"変更", "Change"},
		"quota.done":    {"%s: 容量制限を %s にしました", "%s: storage limit set to %s"},
	} {
		catalog[k] = v
	}
}
