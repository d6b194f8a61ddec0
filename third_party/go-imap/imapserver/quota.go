package imapserver

// mailgate: GETQUOTA and GETQUOTAROOT (RFC 9208 §4.1.1, §4.1.2), for
// sessions that implement SessionQuota; SETQUOTA is not offered (no
// QUOTASET capability, RFC 9208 §4.1.3).

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// QuotaResource is one resource of a quota root in a QUOTA response
// (RFC 9208 §4.2.1): its usage and limit, in the resource's units
// (STORAGE: units of 1024 octets, §5.1).
type QuotaResource struct {
	Type         imap.QuotaResourceType
	Usage, Limit int64
}

// SessionQuota is an IMAP session that reports quotas (RFC 9208). The
// server advertises QUOTA and QUOTA=RES-<type> for each of
// QuotaResourceTypes once the client is authenticated.
type SessionQuota interface {
	Session

	// QuotaResourceTypes are the resource types the server limits.
	QuotaResourceTypes() []imap.QuotaResourceType
	// Authenticated state
	QuotaRoots(mailbox string) ([]string, error)
	Quota(root string) ([]QuotaResource, error)
}

func (c *Conn) quotaCaps() []imap.Cap {
	s, ok := c.session.(SessionQuota)
	if !ok {
		return nil
	}
	types := s.QuotaResourceTypes()
	if len(types) == 0 {
		return nil // RFC 9208 §1: QUOTA= capabilities come with QUOTA
	}
	caps := []imap.Cap{imap.CapQuota}
	for _, t := range types {
		caps = append(caps, imap.Cap("QUOTA=RES-"+string(t)))
	}
	return caps
}

func (c *Conn) quotaSession() (SessionQuota, error) {
	if err := c.checkState(imap.ConnStateAuthenticated); err != nil {
		return nil, err
	}
	s, ok := c.session.(SessionQuota)
	if !ok {
		return nil, &imap.Error{Type: imap.StatusResponseTypeBad, Text: "Unknown command"}
	}
	return s, nil
}

// handleGetQuota serves GETQUOTA root (RFC 9208 §4.1.1).
func (c *Conn) handleGetQuota(dec *imapwire.Decoder) error {
	var root string
	if !dec.ExpectSP() || !dec.ExpectAString(&root) || !dec.ExpectCRLF() {
		return dec.Err()
	}
	s, err := c.quotaSession()
	if err != nil {
		return err
	}
	res, err := s.Quota(root)
	if err != nil {
		return err
	}
	return c.writeQuota(root, res)
}

// handleGetQuotaRoot serves GETQUOTAROOT mailbox (RFC 9208 §4.1.2): a
// QUOTAROOT response, then a QUOTA response for each root.
func (c *Conn) handleGetQuotaRoot(dec *imapwire.Decoder) error {
	var mailbox string
	if !dec.ExpectSP() || !dec.ExpectMailbox(&mailbox) || !dec.ExpectCRLF() {
		return dec.Err()
	}
	s, err := c.quotaSession()
	if err != nil {
		return err
	}
	roots, err := s.QuotaRoots(mailbox)
	if err != nil {
		return err
	}
	quotas := make([][]QuotaResource, len(roots))
	for i, r := range roots {
		if quotas[i], err = s.Quota(r); err != nil {
			return err
		}
	}
	enc := newResponseEncoder(c)
	enc.Atom("*").SP().Atom("QUOTAROOT").SP().Mailbox(mailbox)
	for _, r := range roots {
		enc.SP().String(r)
	}
	err = enc.CRLF()
	enc.end()
	if err != nil {
		return err
	}
	for i, r := range roots {
		if err := c.writeQuota(r, quotas[i]); err != nil {
			return err
		}
	}
	return nil
}

// writeQuota writes "* QUOTA root (TYPE usage limit ...)" (§4.2.1).
func (c *Conn) writeQuota(root string, res []QuotaResource) error {
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("QUOTA").SP().String(root).SP()
	list := enc.BeginList()
	for _, r := range res {
		list.Item().Atom(string(r.Type)).SP().Number64(r.Usage).SP().Number64(r.Limit)
	}
	list.End()
	return enc.CRLF()
}
