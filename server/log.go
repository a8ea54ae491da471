package server

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"log/slog"
	"math/rand/v2"
)

// RequestID returns the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	if c, ok := ctx.Value(requestKey{}).(*request); ok {
		return c.id
	}
	return ""
}

// newRequestID returns 64 random bits in hex. The id correlates log lines,
// it is no secret: math/rand/v2's generator (ChaCha8, seeded by the
// runtime from the operating system, one a thread) is enough, and cheaper
// than a read from crypto/rand.
func newRequestID() string {
	var b [8]byte
	var d [16]byte
	binary.LittleEndian.PutUint64(b[:], rand.Uint64())
	hex.Encode(d[:], b[:])
	return string(d[:])
}

// LogHandler adds the request id to every record logged with a request's
// context, so that every line of a request can be found from its error page.
type LogHandler struct{ slog.Handler }

// Handle implements slog.Handler.
func (h LogHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h LogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return LogHandler{h.Handler.WithAttrs(as)}
}

// WithGroup implements slog.Handler.
func (h LogHandler) WithGroup(name string) slog.Handler {
	return LogHandler{h.Handler.WithGroup(name)}
}
