package tiapi

import (
	"context"
	"sync"
	"time"

	"github.com/examgate/examgate"
)

// DefaultPerMinute is TI's documented allowance of requests per minute for
// one API key.
const DefaultPerMinute = 120

// Pacer spaces requests at least a minute/perMinute apart. It allows no
// burst at all: a bucket that let a quiet minute's savings be spent at once
// could put twice the allowance into one 60-second window, and TI counts
// every request of the key, launches and result posts alike.
type Pacer struct {
	interval time.Duration
	clock    examgate.Clock
	sleep    func(ctx context.Context, d time.Duration) error

	mu   sync.Mutex
	next time.Time // earliest start of the next request
}

// NewPacer returns a pacer that allows perMinute requests in any 60-second
// window. A nil clock reads time.Now, whose monotonic reading is immune to
// wall-clock steps; an injected clock must not step back, or requests wait
// for the lost time. A nil wait sleeps on a timer. It panics if perMinute
// is not positive, which is a wiring mistake.
func NewPacer(perMinute int, clock examgate.Clock, wait func(ctx context.Context, d time.Duration) error) *Pacer {
	if perMinute <= 0 {
		panic("tiapi: NewPacer needs a positive number of requests per minute")
	}
	n := time.Duration(perMinute)
	p := &Pacer{
		// Rounded up: 60s/7 rounded down would fit an eighth request into a
		// minute.
		interval: (time.Minute + n - 1) / n,
		clock:    clock,
		sleep:    wait,
	}
	if p.clock == nil {
		p.clock = examgate.ClockFunc(time.Now)
	}
	if p.sleep == nil {
		p.sleep = sleep
	}
	return p
}

// Interval is the least time between two requests.
func (p *Pacer) Interval() time.Duration { return p.interval }

// Wait blocks until the caller may send one request, or ctx ends. A nil
// Pacer never waits. Waiters are served in the order they arrive.
func (p *Pacer) Wait(ctx context.Context) error {
	if p == nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// The slot is reserved under the lock and waited for outside it, so
	// concurrent callers queue one interval apart without serialising on
	// each other's sleeps.
	p.mu.Lock()
	now := p.clock.Now()
	slot := now
	if p.next.After(slot) {
		slot = p.next
	}
	p.next = slot.Add(p.interval)
	p.mu.Unlock()

	d := slot.Sub(now)
	if d <= 0 {
		return nil
	}
	if err := p.sleep(ctx, d); err != nil {
		p.mu.Lock()
		// Give the slot back when nobody queued behind it, so that abandoned
		// waits (a learner closing the tab) do not delay later requests.
		if p.next.Equal(slot.Add(p.interval)) {
			p.next = slot
		}
		p.mu.Unlock()
		return err
	}
	return nil
}
