package imapserver

// mailgate: COMPRESS=DEFLATE (RFC 4978), advertised after login when
// Options.Caps has it.

import (
	"bufio"
	"bytes"
	"compress/flate"
	"io"
	"strings"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// CapCompressDeflate is RFC 4978's capability.
const CapCompressDeflate imap.Cap = "COMPRESS=DEFLATE"

// ResponseCodeCompressionActive is RFC 4978 §3's answer to a second
// COMPRESS.
const ResponseCodeCompressionActive imap.ResponseCode = "COMPRESSIONACTIVE"

// compressLevel: responses are flushed one by one (RFC 4978 §4), so a
// higher level gains little over a response's few KiB, and BestSpeed's
// Reset (one per response, see deflateWriter) clears no hash tables.
const compressLevel = flate.BestSpeed

func (c *Conn) handleCompress(tag string, dec *imapwire.Decoder) error {
	var mech string
	if !dec.ExpectSP() || !dec.ExpectAtom(&mech) || !dec.ExpectCRLF() {
		return dec.Err()
	}
	if !c.server.options.caps().Has(CapCompressDeflate) {
		return &imap.Error{
			Type: imap.StatusResponseTypeBad,
			Text: "COMPRESS not supported",
		}
	}
	// RFC 4978 §5: compress is a command-auth, valid once logged in.
	// STARTTLS is valid only before (RFC 9051 §6.2.1), so the order is
	// always TLS first, compression inside it: what TLS carries is
	// already compressed, and TLS never sees plaintext to compress (the
	// compression-oracle concern of RFC 4978 §6 stays with what the
	// session itself mixes).
	if err := c.checkState(imap.ConnStateAuthenticated); err != nil {
		return err
	}
	if !strings.EqualFold(mech, "DEFLATE") {
		return &imap.Error{
			Type: imap.StatusResponseTypeBad,
			Text: "Unknown compression mechanism: DEFLATE is the one offered",
		}
	}
	if c.compressed {
		// RFC 4978 §3: the resp-text says which layer compresses.
		return &imap.Error{
			Type: imap.StatusResponseTypeNo,
			Code: ResponseCodeCompressionActive,
			Text: "DEFLATE is active already (COMPRESS)",
		}
	}

	// No other response (an IDLE update) may be written between the OK
	// and the switch: keep encMutex until the transport is compressed.
	enc := newResponseEncoder(c)
	defer enc.end()
	err := writeStatusResp(enc.Encoder, tag, &imap.StatusResponse{
		Type: imap.StatusResponseTypeOK,
		Text: "DEFLATE active",
	})
	if err != nil {
		return err
	}

	// RFC 4978 §3: the client sends nothing more until it has the
	// answer, so whatever it sent after the command is compressed.
	var buf bytes.Buffer
	if _, err := io.CopyN(&buf, c.br, int64(c.br.Buffered())); err != nil {
		panic(err) // unreachable
	}
	var src io.Reader = c.rw
	if buf.Len() > 0 {
		src = io.MultiReader(&buf, c.rw)
	}
	// RFC 4978 §3: the server compresses from right after the CRLF of
	// the tagged OK, which CRLF flushed above.
	c.compressed = true
	c.setReadWriter(&deflateReadWriter{
		Reader: flate.NewReader(bufio.NewReaderSize(src, inflateInputSize)),
		w:      deflateWriter{dst: c.rw},
	})
	return nil
}

// inflateInputSize is the buffer under the inflater (flate reads byte by
// byte): small, for it stays with an idle connection.
const inflateInputSize = 512

// deflateReadWriter is a compressed transport: raw DEFLATE (RFC 1951, no
// zlib header) both ways.
type deflateReadWriter struct {
	io.Reader
	w deflateWriter
}

func (rw *deflateReadWriter) Write(p []byte) (int, error) { return rw.w.Write(p) }

// flushResponse ends a response: RFC 4978 §4, the server flushes after
// each response so the client never waits for data held in the
// compressor.
func (rw *deflateReadWriter) flushResponse() error { return rw.w.flush() }

// Pools of compressors and of the buffers under them. A flate.Writer is
// ~650 KiB whatever the level (its hash tables are arrays), too much to
// keep for each of thousands of idle connections: a connection takes one
// for a response and gives it back after the sync flush that ends it.
// The client's inflater keeps its 32 KiB window; a fresh compressor's
// output is a valid continuation of the stream, it only cannot refer to
// earlier responses.
var (
	deflaterPool = sync.Pool{New: func() any {
		w, err := flate.NewWriter(nil, compressLevel)
		if err != nil {
			panic(err) // unreachable: the level is valid
		}
		return w
	}}
	deflateOutPool = sync.Pool{New: func() any { return bufio.NewWriter(nil) }}
)

// deflateWriter compresses to dst, holding a compressor only from the
// first write of a response to its flush.
type deflateWriter struct {
	dst io.Writer
	fw  *flate.Writer
	out *bufio.Writer
}

func (w *deflateWriter) Write(p []byte) (int, error) {
	if w.fw == nil {
		w.out = deflateOutPool.Get().(*bufio.Writer)
		w.out.Reset(w.dst)
		w.fw = deflaterPool.Get().(*flate.Writer)
		w.fw.Reset(w.out)
	}
	return w.fw.Write(p)
}

// flush sync-flushes (Z_SYNC_FLUSH: the block ends on a byte boundary,
// the stream stays open) and gives the compressor back.
func (w *deflateWriter) flush() error {
	if w.fw == nil {
		return nil
	}
	err := w.fw.Flush()
	if err2 := w.out.Flush(); err == nil {
		err = err2
	}
	w.fw.Reset(nil)
	deflaterPool.Put(w.fw)
	w.out.Reset(nil)
	deflateOutPool.Put(w.out)
	w.fw, w.out = nil, nil
	return err
}
