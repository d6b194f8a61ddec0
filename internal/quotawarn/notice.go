package quotawarn

import (
	"fmt"
	"mime"
	"strings"
	"time"

	"mailgate/internal/mailbox"
	"mailgate/internal/message"
)

// Message is the notice: Japanese first, as the subscribers
// read it, then English, in UTF-8 (RFC 6532 body, RFC 2047 subject), with
// Auto-Submitted (RFC 3834 §5) so no vacation reply answers it; built as
// the abuse notices are (internal/abuse).
func Message(from, to, hostname string, pct int, u mailbox.Usage, limit int64, now time.Time) []byte {
	used, quota := sizeMB(u.Bytes), sizeMB(limit)
	subject := fmt.Sprintf("メールボックスの容量が %d%% を超えました / Your mailbox is over %d%% full", pct, pct)
	text := fmt.Sprintf(`%s 様

メールボックスの使用量が容量制限の %d%% を超えました。
使用量: %s / %s（%d 通）

容量がいっぱいになると、新しいメールを受け取れなくなります（送信者に
エラーが返ります）。不要なメールを削除し、「ごみ箱」を空にしてください。
大きな添付ファイルのあるメールは、保存してから削除すると効果があります。

--
Dear %s,

Your mailbox is over %d%% of its storage limit.
Used: %s of %s (%d messages)

Once it is full, new mail cannot be delivered to you (the senders get an
error). Please delete mail you no longer need and empty the Trash; saving
large attachments elsewhere and deleting their messages helps most.
`, to, pct, used, quota, u.Messages, to, pct, used, quota, u.Messages)
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\n", from)
	fmt.Fprintf(&b, "To: %s\r\n", to)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.BEncoding.Encode("UTF-8", subject))
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	b.WriteString(message.MessageIDField(hostname, now) + "\r\n")
	b.WriteString("Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(strings.ReplaceAll(text, "\n", "\r\n"))
	return []byte(b.String())
}

// sizeMB is a size for the notice, in binary units as config sizes are:
// 512 B, 9.8 KB, 1.5 MB, 2.0 GB.
func sizeMB(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
}
