package model

import (
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/examgate/examgate"
)

// MarshalTime writes a Time as gqlgen does: RFC 3339 with nanoseconds.
func MarshalTime(t time.Time) graphql.Marshaler { return graphql.MarshalTime(t) }

// UnmarshalTime reads a Time argument. A value that is not one is the
// client's mistake (INVALID, saying what to send), not an internal error.
func UnmarshalTime(v any) (time.Time, error) {
	t, err := graphql.UnmarshalTime(v)
	if err != nil {
		return time.Time{}, examgate.Errorf(examgate.EINVALID, "A Time is a string in RFC 3339 form, such as \"2026-12-02T10:00:00Z\".")
	}
	return t, nil
}
