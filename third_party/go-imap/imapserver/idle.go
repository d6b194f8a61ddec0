package imapserver

import (
	"fmt"
	"io"
	"runtime/debug"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

func (c *Conn) handleIdle(dec *imapwire.Decoder) error {
	if !dec.ExpectCRLF() {
		return dec.Err()
	}

	if err := c.checkState(imap.ConnStateAuthenticated); err != nil {
		return err
	}

	if err := c.writeContReq("idling"); err != nil {
		return err
	}

	// mailgate: a session that can report updates without a goroutine
	// of its own per idling client.
	if s, ok := c.session.(SessionIdleFunc); ok {
		stop, err := s.IdleFunc(&UpdateWriter{conn: c, allowExpunge: true})
		if err != nil {
			return err
		}
		c.setReadTimeout(idleReadTimeout)
		c.waitInput()
		line, isPrefix, err := c.br.ReadLine()
		stopErr := stop()
		if err == io.EOF {
			return nil
		} else if err != nil {
			return err
		} else if isPrefix || string(line) != "DONE" {
			return newClientBugError("Syntax error: expected DONE to end IDLE command")
		}
		return stopErr
	}

	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				c.server.logger().Printf("panic idling: %v\n%s", v, debug.Stack())
				done <- fmt.Errorf("imapserver: panic idling")
			}
		}()
		w := &UpdateWriter{conn: c, allowExpunge: true}
		done <- c.session.Idle(w, stop)
	}()

	c.setReadTimeout(idleReadTimeout)
	c.waitInput() // mailgate: no read buffer held while idling
	line, isPrefix, err := c.br.ReadLine()
	close(stop)
	if err == io.EOF {
		return nil
	} else if err != nil {
		return err
	} else if isPrefix || string(line) != "DONE" {
		return newClientBugError("Syntax error: expected DONE to end IDLE command")
	}

	return <-done
}
