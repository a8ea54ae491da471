package db

import (
	"context"
	"sync/atomic"

	"github.com/examgate/examgate"
)

// BookingConns bounds the connections of PostgreSQL's main pool (20) that
// booking reads and changes may hold together. When the bookings table
// stalls (held by a lock, or a slow plan), booking requests wait for a place
// here, holding no connection, and answer 503 at their deadline; the
// other connections stay free for launches, `me`, results and the worker.
const BookingConns = 10

// opClass bounds how many operations of one class (the statements that
// wait on one table) hold a connection of the main pool at once, so that
// one stalled query shape cannot take every connection. Nil bounds
// nothing (SQLite: one connection, one writer, nothing to share out).
type opClass struct {
	name    string
	slots   chan struct{}
	waiting atomic.Int64
}

func newOpClass(name string, n int) *opClass {
	return &opClass{name: name, slots: make(chan struct{}, n)}
}

// enter waits for a place in the class until ctx ends, then answers
// UNAVAILABLE. The caller runs release when its statements are done.
func (c *opClass) enter(ctx context.Context) (release func(), err error) {
	if c == nil {
		return func() {}, nil
	}
	select {
	case c.slots <- struct{}{}:
		return c.leave, nil
	default:
	}
	c.waiting.Add(1)
	defer c.waiting.Add(-1)
	select {
	case c.slots <- struct{}{}:
		return c.leave, nil
	case <-ctx.Done():
		return nil, examgate.Wrap(examgate.EUNAVAILABLE, ctx.Err(), "Bookings cannot be read or changed just now. Try again in a few seconds.")
	}
}

func (c *opClass) leave() { <-c.slots }

// inClass runs fn with a place in class c.
func inClass[T any](ctx context.Context, c *opClass, fn func() (T, error)) (T, error) {
	release, err := c.enter(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	defer release()
	return fn()
}

// ClassStats is what one class of operations holds and waits for.
type ClassStats struct {
	Name    string
	Limit   int // connections the class may hold
	InUse   int
	Waiting int // operations waiting for a place
}

// ClassStats reports each bounded class (none on SQLite).
func (db *DB) ClassStats() []ClassStats {
	var out []ClassStats
	for _, c := range []*opClass{db.bookings} {
		if c != nil {
			out = append(out, ClassStats{Name: c.name, Limit: cap(c.slots), InUse: len(c.slots), Waiting: int(c.waiting.Load())})
		}
	}
	return out
}
