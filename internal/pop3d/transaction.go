package pop3d

import (
	"bufio"
	"fmt"
	"io"
	"os"
)

// msg resolves a message-number argument (RFC 1939 §5: numbers refer to
// the maildrop as of login; deleted messages may not be referred to).
func (s *session) msg(arg string) (int, bool) {
	n, ok := parseMsgNum(arg)
	if !ok || n > len(s.msgs) {
		s.reply("-ERR no such message")
		return 0, false
	}
	if s.deleted[n-1] {
		s.reply("-ERR message %d already deleted", n)
		return 0, false
	}
	return n - 1, true
}

func (s *session) stat(cmd command) {
	if len(cmd.Args) != 0 {
		s.reply("-ERR usage: STAT")
		return
	}
	var count int
	var size int64
	for i, m := range s.msgs {
		if !s.deleted[i] {
			count++
			size += m.Size
		}
	}
	s.reply("+OK %d %d", count, size)
}

// uidl is the message's unique id (RFC 1939 §7): UIDVALIDITY and UID,
// which the index keeps stable across sessions and restarts.
func (s *session) uidl(i int) string {
	return fmt.Sprintf("%08x%08x", s.uidValidity, s.msgs[i].UID)
}

// list serves LIST and UIDL, with or without a message number.
func (s *session) list(cmd command, uid bool) {
	item := func(i int) string {
		if uid {
			return fmt.Sprintf("%d %s", i+1, s.uidl(i))
		}
		return fmt.Sprintf("%d %d", i+1, s.msgs[i].Size)
	}
	switch len(cmd.Args) {
	case 0:
		s.reply("+OK")
		for i := range s.msgs {
			if !s.deleted[i] {
				s.reply("%s", item(i))
			}
		}
		s.reply(".")
	case 1:
		if i, ok := s.msg(cmd.Args[0]); ok {
			s.reply("+OK %s", item(i))
		}
	default:
		s.reply("-ERR too many arguments")
	}
}

func (s *session) retr(cmd command) {
	if len(cmd.Args) != 1 {
		s.reply("-ERR usage: RETR msg")
		return
	}
	i, ok := s.msg(cmd.Args[0])
	if !ok {
		return
	}
	s.send(i, -1)
}

func (s *session) top(cmd command) {
	if len(cmd.Args) != 2 {
		s.reply("-ERR usage: TOP msg lines")
		return
	}
	n, ok := parseLines(cmd.Args[1])
	if !ok {
		s.reply("-ERR invalid line count")
		return
	}
	i, ok := s.msg(cmd.Args[0])
	if !ok {
		return
	}
	s.send(i, n)
}

// send writes message i as a multi-line response: all of it (bodyLines<0)
// or its header and the first bodyLines body lines (TOP, RFC 1939 §7).
func (s *session) send(i, bodyLines int) {
	f, err := s.folder.Open(s.msgs[i].UID)
	if err != nil {
		if os.IsNotExist(err) {
			s.reply("-ERR [SYS/PERM] message %d was removed by another session", i+1)
		} else {
			s.reply("-ERR [SYS/TEMP] cannot read message, try again later")
		}
		return
	}
	defer f.Close()
	if bodyLines < 0 {
		s.reply("+OK %d octets", s.msgs[i].Size)
		s.retrieved[i] = true
	} else {
		s.reply("+OK top of message follows")
	}
	if err := writeDotStuffed(s.w, bufio.NewReaderSize(f, 32<<10), bodyLines); err != nil {
		// The response is cut mid-way; the only honest thing left is to
		// drop the connection.
		s.srv.Logger().Error("pop3: reading message", "account", s.account, "err", err)
		s.state = stateDone
		s.conn.Close()
		return
	}
	s.reply(".")
}

// writeDotStuffed copies a message as RFC 1939 §3 multi-line data: each
// line ends in CRLF, a leading "." is doubled. With bodyLines >= 0 it
// stops after the header, the blank line and bodyLines body lines (TOP).
func writeDotStuffed(w *bufio.Writer, r *bufio.Reader, bodyLines int) error {
	inBody := false
	for {
		chunk, err := r.ReadSlice('\n')
		if len(chunk) == 0 && err == io.EOF {
			return nil
		}
		if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
			return err
		}
		if inBody && bodyLines >= 0 {
			if bodyLines == 0 {
				return nil
			}
			bodyLines--
		}
		content := trimEOL(chunk)
		if len(content) > 0 && content[0] == '.' {
			w.WriteByte('.')
		}
		w.Write(content)
		// A line longer than the buffer: the rest is not a line start.
		for err == bufio.ErrBufferFull {
			chunk, err = r.ReadSlice('\n')
			if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
				return err
			}
			w.Write(trimEOL(chunk))
		}
		w.WriteString("\r\n")
		if !inBody && len(content) == 0 {
			inBody = true
		}
		if err == io.EOF {
			return nil
		}
	}
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

func (s *session) dele(cmd command) {
	if len(cmd.Args) != 1 {
		s.reply("-ERR usage: DELE msg")
		return
	}
	if i, ok := s.msg(cmd.Args[0]); ok {
		s.deleted[i] = true
		s.reply("+OK message %d deleted", i+1)
	}
}

// rset unmarks deleted messages (RFC 1939 §5).
func (s *session) rset(cmd command) {
	if len(cmd.Args) != 0 {
		s.reply("-ERR usage: RSET")
		return
	}
	clear(s.deleted)
	s.reply("+OK")
}

// quit ends the session; from TRANSACTION it enters UPDATE and only now
// removes the messages marked deleted (RFC 1939 §6). Retrieved messages
// are marked \Seen for IMAP clients reading the same mailbox.
func (s *session) quit() {
	s.state = stateDone
	if s.folder == nil {
		s.reply("+OK %s POP3 signing off", s.srv.Hostname)
		return
	}
	var del, seen []uint32
	for i, m := range s.msgs {
		if s.deleted[i] {
			del = append(del, m.UID)
		} else if s.retrieved[i] {
			seen = append(seen, m.UID)
		}
	}
	if len(seen) > 0 {
		s.folder.SetFlags(seen, '+', "S", nil)
	}
	done, err := s.folder.Expunge(del)
	if err != nil || len(done) != len(del) {
		s.srv.Logger().Error("pop3: update state", "account", s.account, "err", err)
		// RFC 1939 §6: -ERR when some deleted messages were not removed.
		s.reply("-ERR [SYS/TEMP] some deleted messages not removed")
		return
	}
	s.reply("+OK %s POP3 signing off (%d messages left)", s.srv.Hostname, len(s.msgs)-len(del))
}
