package imapserver

import (
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

func (c *Conn) handleStore(dec *imapwire.Decoder, numKind NumKind) error {
	var (
		numSet imap.NumSet
		item   string
	)
	if !dec.ExpectSP() || !dec.ExpectNumSet(numKind.wire(), &numSet) || !dec.ExpectSP() {
		return dec.Err()
	}
	// mailgate: store-modifiers (RFC 4466 §2.5), UNCHANGEDSINCE the one
	// known (RFC 7162 §3.1.3).
	options := imap.StoreOptions{}
	unchangedSince := false
	if dec.Special('(') {
		err := readModifiers(dec, func(name string) error {
			if name != "UNCHANGEDSINCE" || unchangedSince {
				return newClientBugError("Unknown STORE modifier")
			}
			unchangedSince = true
			return readModSeqValue(dec, &options.UnchangedSince, true)
		})
		if err != nil {
			return err
		}
		if !dec.ExpectSP() {
			return dec.Err()
		}
	}
	if !dec.ExpectAtom(&item) || !dec.ExpectSP() {
		return dec.Err()
	}
	var flags []imap.Flag
	isList, err := dec.List(func() error {
		flag, err := internal.ExpectFlag(dec)
		if err != nil {
			return err
		}
		flags = append(flags, flag)
		return nil
	})
	if err != nil {
		return err
	} else if !isList {
		for {
			flag, err := internal.ExpectFlag(dec)
			if err != nil {
				return err
			}
			flags = append(flags, flag)

			if !dec.SP() {
				break
			}
		}
	}
	if !dec.ExpectCRLF() {
		return dec.Err()
	}

	item = strings.ToUpper(item)
	silent := strings.HasSuffix(item, ".SILENT")
	item = strings.TrimSuffix(item, ".SILENT")

	var op imap.StoreFlagsOp
	switch {
	case strings.HasPrefix(item, "+"):
		op = imap.StoreFlagsAdd
		item = strings.TrimPrefix(item, "+")
	case strings.HasPrefix(item, "-"):
		op = imap.StoreFlagsDel
		item = strings.TrimPrefix(item, "-")
	default:
		op = imap.StoreFlagsSet
	}

	if item != "FLAGS" {
		return newClientBugError("STORE can only change FLAGS")
	}

	if err := c.checkState(imap.ConnStateSelected); err != nil {
		return err
	}
	if unchangedSince {
		if !c.condStoreAvailable() {
			return newClientBugError("Unknown STORE modifier")
		}
		// An enabling command (RFC 7162 §3.1).
		if err := c.enableCondStore(); err != nil {
			return err
		}
	}

	w := &FetchWriter{conn: c}
	// mailgate: UnchangedSince 0 is a real condition (every message
	// fails it), so the session tells it from none by this flag.
	options.HasUnchangedSince = unchangedSince
	err = c.session.Store(w, numSet, &imap.StoreFlags{
		Op:     op,
		Silent: silent,
		Flags:  flags,
	}, &options)
	if err == nil && w.modified != nil && !isNumSetEmpty(w.modified) {
		// RFC 7162 §3.1.3: the messages not stored, in the tagged OK.
		c.okCode = imap.ResponseCode("MODIFIED " + w.modified.String())
	}
	return err
}
