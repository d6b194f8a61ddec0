package web

// The compose page's texts: [Japanese, English].
func init() {
	for k, v := range map[string][2]string{
		"compose.title":       {"メールの作成", "New message"},
		"compose.title.draft": {"下書きの編集", "Edit draft"},
		"compose.back":        {"メール一覧へ", "Back to mail"},
		"compose.from":        {"差出人", "From"},
		"compose.fromname":    {"差出人の表示名", "Your name as shown"},
		"compose.to":          {"宛先", "To"},
		"compose.subject":     {"件名", "Subject"},
		"compose.body":        {"本文", "Message"},
		"compose.carried":     {"添付ファイル（チェックを外すと外れます）", "Attached files (untick to remove)"},
		"compose.attach":      {"ファイルを添付（メール全体で %s まで）", "Attach files (up to %s for the whole message)"},
		"compose.send":        {"送信", "Send"},
		"compose.save":        {"下書き保存", "Save draft"},
		"compose.saved":       {"下書きを保存しました。", "Draft saved."},
		"compose.refused":     {"送信できませんでした。サーバーの応答:", "The message was not sent. The server said:"},
		"compose.reattach":    {"添付したファイルはもう一度選んでください。", "Please choose the files to attach again."},
		"compose.sent.title":  {"送信しました", "Sent"},
		"compose.sent":        {"メールを送信しました（受付番号 %s）。", "Your message was sent (queue ID %s)."},
		"compose.sent.nocopy": {"送信済みフォルダーへの保存に失敗しました。メールは送信されています。", "The copy could not be put in Sent; the message itself was sent."},
		"compose.sent.folder": {"送信済みフォルダーを見る", "Open Sent"},
		"compose.another":     {"続けて作成", "Write another"},
		"compose.err.toolarge": {"添付ファイルを含めたメールの大きさが上限（%s）を超えています。ファイルを減らすか小さくしてください。",
			"The message with its attachments is over the limit of %s: remove a file or send a smaller one."},
		"compose.err.address":    {"メールアドレスの形式が正しくありません（%s）。name@example.com の形でカンマ区切りで入力してください。", "An address is not valid (%s): write addresses as name@example.com, separated by commas."},
		"compose.err.norcpt":     {"宛先（To、Cc、Bcc のいずれか）を入力してください。", "Add at least one recipient in To, Cc or Bcc."},
		"compose.err.form":       {"フォームを読み取れませんでした。もう一度お試しください。", "The form could not be read; please try again."},
		"compose.err.unreadable": {"このメールを読み取れないため、返信・転送できません。", "This message cannot be read, so it cannot be replied to or forwarded."},
		"compose.err.full": {"メールボックスが容量の上限に達しているため、下書きを保存できません。不要なメールを削除し、ごみ箱を空にしてからもう一度お試しください。",
			"The draft could not be saved: your mailbox is full. Delete mail you no longer need, empty Trash, and try again."},
		"compose.sent.full": {"メールボックスが容量の上限に達しているため、送信済みフォルダーに保存できませんでした。メールは送信されています。",
			"The copy could not be put in Sent because your mailbox is full; the message itself was sent."},
		"compose.err.nosend":   {"このサーバーではウェブメールから送信できません。", "Sending from webmail is not available on this server."},
		"compose.wrote":        {"%s、%s さんは書きました:", "On %s, %s wrote:"},
		"compose.wrote.nodate": {"%s さんは書きました:", "%s wrote:"},
		"mail.act.reply":       {"返信", "Reply"},
		"mail.act.replyall":    {"全員に返信", "Reply all"},
		"mail.act.forward":     {"転送", "Forward"},
		"mail.act.forwardatt":  {"添付して転送", "Forward as attachment"},
		"mail.compose":         {"メールを作成", "New message"},
	} {
		catalog[k] = v
	}
}
