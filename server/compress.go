package server

import (
	"compress/gzip"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"
)

// Content encodings examgate answers in, best first. The SPA's assets are
// compressed at build time (vite.config.ts writes name.br and name.gz next
// to each); API answers are compressed as they are written.
const (
	encBrotli = "br"
	encGzip   = "gzip"
)

// acceptedEncoding picks br, then gzip, from an Accept-Encoding header, or
// "" for none. A coding with q=0 is refused, as RFC 9110 §12.5.3 says.
func acceptedEncoding(header string) string {
	var br, gz bool
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		ok := true
		if q, found := strings.CutPrefix(strings.TrimSpace(params), "q="); found {
			v, err := strconv.ParseFloat(strings.TrimSpace(q), 64)
			ok = err == nil && v > 0
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case encBrotli:
			br = ok
		case encGzip:
			gz = ok
		}
	}
	switch {
	case br:
		return encBrotli
	case gz:
		return encGzip
	}
	return ""
}

// servePrecompressed serves name from fsys in the best encoding the
// request accepts that the build left beside it (name.br, name.gz); false
// when there is none, for the caller to serve name itself.
func servePrecompressed(w http.ResponseWriter, r *http.Request, fsys fs.FS, name string) bool {
	w.Header().Add("Vary", "Accept-Encoding")
	enc := acceptedEncoding(r.Header.Get("Accept-Encoding"))
	suffixes := map[string][]string{encBrotli: {".br", ".gz"}, encGzip: {".gz"}}[enc]
	for _, suffix := range suffixes {
		f, err := fsys.Open(name + suffix)
		if err != nil {
			continue
		}
		defer f.Close()
		st, err := f.Stat()
		rs, seekable := f.(io.ReadSeeker)
		if err != nil || !seekable {
			return false
		}
		ctype := mime.TypeByExtension(path.Ext(name))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Encoding", map[string]string{".br": encBrotli, ".gz": encGzip}[suffix])
		http.ServeContent(w, r, name, st.ModTime(), rs)
		return true
	}
	return false
}

// minCompress is the smallest answer worth compressing: below about one
// packet, the encoder's overhead buys nothing.
const minCompress = 1024

// withCompression compresses answers (GraphQL JSON) of minCompress bytes
// or more in the encoding the request accepts. Smaller answers, and
// answers already encoded, go out as they are.
func withCompression(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding")
		enc := acceptedEncoding(r.Header.Get("Accept-Encoding"))
		if enc == "" || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		cw := &compressWriter{ResponseWriter: w, enc: enc}
		defer cw.finish()
		next.ServeHTTP(cw, r)
	})
}

// compressWriter holds the first minCompress bytes back to decide whether
// to compress, then streams through the encoder.
type compressWriter struct {
	http.ResponseWriter
	enc     string
	status  int
	buf     []byte
	encoder io.WriteCloser
	decided bool
}

func (c *compressWriter) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
	if code < 200 && code != http.StatusSwitchingProtocols { // 1xx: informational, pass on
		c.ResponseWriter.WriteHeader(code)
	}
}

func (c *compressWriter) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if c.decided {
		if c.encoder != nil {
			return c.encoder.Write(p)
		}
		return c.ResponseWriter.Write(p)
	}
	c.buf = append(c.buf, p...)
	if len(c.buf) >= minCompress {
		if err := c.decide(true); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// decide sends the header, compressing when big is true and the answer is
// not encoded already, then what was held back.
func (c *compressWriter) decide(big bool) error {
	c.decided = true
	h := c.Header()
	if big && h.Get("Content-Encoding") == "" && c.status != http.StatusNoContent && c.status != http.StatusNotModified {
		h.Set("Content-Encoding", c.enc)
		h.Del("Content-Length")
		c.encoder = newEncoder(c.enc, c.ResponseWriter)
	}
	if c.status == 0 {
		c.status = http.StatusOK
	}
	c.ResponseWriter.WriteHeader(c.status)
	held := c.buf
	c.buf = nil
	if len(held) == 0 {
		return nil
	}
	var err error
	if c.encoder != nil {
		_, err = c.encoder.Write(held)
	} else {
		_, err = c.ResponseWriter.Write(held)
	}
	return err
}

// Flush sends what is held back and flushes the encoder, for handlers
// that stream.
func (c *compressWriter) Flush() {
	if !c.decided {
		_ = c.decide(len(c.buf) >= minCompress)
	}
	if f, ok := c.encoder.(interface{ Flush() error }); ok {
		_ = f.Flush()
	}
	_ = http.NewResponseController(c.ResponseWriter).Flush()
}

func (c *compressWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

func (c *compressWriter) finish() {
	if !c.decided {
		if c.status == 0 && len(c.buf) == 0 {
			return // nothing written: net/http sends its own 200
		}
		_ = c.decide(false)
	}
	if c.encoder != nil {
		_ = c.encoder.Close()
		putEncoder(c.enc, c.encoder)
	}
}

// Encoders are pooled: a brotli writer allocates its window for each new one.
var (
	gzipPool   = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(io.Discard, gzip.DefaultCompression); return w }}
	brotliPool = sync.Pool{New: func() any { return brotli.NewWriterLevel(io.Discard, 4) }}
)

func newEncoder(enc string, w io.Writer) io.WriteCloser {
	if enc == encBrotli {
		b := brotliPool.Get().(*brotli.Writer)
		b.Reset(w)
		return b
	}
	g := gzipPool.Get().(*gzip.Writer)
	g.Reset(w)
	return g
}

func putEncoder(enc string, e io.WriteCloser) {
	if enc == encBrotli {
		brotliPool.Put(e)
		return
	}
	gzipPool.Put(e)
}
