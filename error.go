package examgate

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
)

// Error codes, mapped once to HTTP status and GraphQL extensions.code.
const (
	EINVALID      = "INVALID"
	EUNAUTHORIZED = "UNAUTHENTICATED"
	EFORBIDDEN    = "FORBIDDEN"
	ENOTFOUND     = "NOT_FOUND"
	ECONFLICT     = "CONFLICT"
	EUNAVAILABLE  = "UNAVAILABLE"
	ERATELIMITED  = "RATE_LIMITED" // a request budget is spent; retry later
	EINTERNAL     = "INTERNAL"
)

// Error is a domain error: Code is for machines, Message is a sentence a
// learner or partner can act on.
type Error struct {
	Code    string
	Message string
	Err     error // the cause, for logs; never shown
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error that keeps err as its cause.
func Wrap(code string, err error, message string) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EINTERNAL
	}
}

// Unreachable reports whether err says the database (or another service)
// could not be reached or did not answer in time: an outage to report as
// UNAVAILABLE, the same on every process and store, never INTERNAL.
func Unreachable(err error) bool {
	if err == nil {
		return false
	}
	var op *net.OpError
	// io.ErrUnexpectedEOF: the connection was cut while a statement's
	// answer was being read (PostgreSQL restarted, a proxy dropped it).
	// SQLITE_BUSY: another writer held SQLite's one write lock for all of
	// the busy timeout; the driver's error has no type to test for it.
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, sql.ErrConnDone) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &op) ||
		strings.Contains(err.Error(), "(SQLITE_BUSY)")
}

// Outage turns an error that says a service could not be reached into
// UNAVAILABLE with message, and leaves any other error as it is.
func Outage(err error, message string) error {
	if Unreachable(err) && ErrorCode(err) != EUNAVAILABLE {
		return Wrap(EUNAVAILABLE, err, message)
	}
	return err
}

// ErrorMessage returns the user-facing message of err; internal errors get a
// generic sentence so that no detail leaks.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL {
		return e.Message
	}
	return "Something went wrong on our side. Please try again in a minute."
}
