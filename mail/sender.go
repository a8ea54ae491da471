package mail

import (
	"context"
	"errors"
	"time"
)

// Sender delivers a message. Implementations return a *SendError so that a
// job worker can tell, with IsTemporary, whether a retry may succeed.
type Sender interface {
	Send(ctx context.Context, m *Message) error
}

// SendError is a failed delivery.
type SendError struct {
	// Temporary is true when the same message may go through later: the
	// server was unreachable, slow, busy (4xx) or the context ended. It is
	// false when the server refused the message (5xx) or the message is
	// invalid, so retrying would only repeat the refusal.
	Temporary bool
	// Code is the SMTP reply code, or 0 when the server sent none.
	Code int
	// Err is the cause.
	Err error

	what string // what failed, naming the server
	hint string // what the operator can do
}

func (e *SendError) Error() string {
	var s string
	switch {
	case e.what == "" && e.Err != nil:
		s = e.Err.Error() // already says what failed, e.g. an invalid message
	case e.Err != nil:
		s = "mail: " + e.what + ": " + e.Err.Error()
	default:
		s = "mail: " + e.what
	}
	if e.hint != "" {
		s += "; " + e.hint
	}
	return s
}

func (e *SendError) Unwrap() error { return e.Err }

// IsTemporary reports whether err is a delivery failure worth retrying.
func IsTemporary(err error) bool {
	var e *SendError
	return errors.As(err, &e) && e.Temporary
}

func temporary(err error, what, hint string) *SendError {
	return &SendError{Temporary: true, Err: err, what: what, hint: hint}
}

func permanent(err error, what, hint string) *SendError {
	return &SendError{Err: err, what: what, hint: hint}
}

// contextError wraps a cancelled or expired ctx. It is temporary: the
// message itself is fine, and a worker shutting down should send it later
// rather than drop it.
func contextError(err error, what string) *SendError {
	return temporary(err, what, "the send was cancelled or ran out of time before the server accepted the message; sending again later may succeed")
}

// ctxErr is ctx.Err(), also when the deadline has passed but ctx's own
// timer has not fired yet: the connection, which shares the deadline, may
// time out first.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}
