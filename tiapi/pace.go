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

// Pacer keeps requests under perMinute in every 60-second window (TI counts
// every request of the key, launches and result posts alike) while letting a
// short burst through at once, so that a class opening its exams together
// is not queued behind one another. It is the generic cell rate algorithm:
// with a burst of b and requests spaced minute/(perMinute-b+1) on average,
// no 60-second window can hold more than (b-1) + (perMinute-b+1) = perMinute.
type Pacer struct {
	interval  time.Duration // average spacing
	tolerance time.Duration // how far ahead of the average a request may go: (burst-1) × interval
	clock     examgate.Clock
	sleep     func(ctx context.Context, d time.Duration) error

	mu  sync.Mutex
	tat time.Time // theoretical arrival time of the next request
}

// NewPacer returns a pacer that allows perMinute requests in any 60-second
// window, spaced evenly with no burst. A nil clock reads time.Now, whose
// monotonic reading is immune to wall-clock steps; an injected clock must
// not step back, or requests wait for the lost time. A nil wait sleeps on a
// timer. It panics if perMinute is not positive, which is a wiring mistake.
func NewPacer(perMinute int, clock examgate.Clock, wait func(ctx context.Context, d time.Duration) error) *Pacer {
	return NewBurstPacer(perMinute, 1, clock, wait)
}

// NewBurstPacer is NewPacer letting up to burst requests go at once; the rest
// of the allowance is spread over the minute. examgate uses a sixth of the
// allowance, so that a launch's two TI lookups do not wait on each other.
func NewBurstPacer(perMinute, burst int, clock examgate.Clock, wait func(ctx context.Context, d time.Duration) error) *Pacer {
	if perMinute <= 0 {
		panic("tiapi: NewPacer needs a positive number of requests per minute")
	}
	burst = min(max(burst, 1), perMinute)
	n := time.Duration(perMinute - burst + 1)
	p := &Pacer{
		// Rounded up: 60s/7 rounded down would fit an eighth request into a
		// minute.
		interval: (time.Minute + n - 1) / n,
		clock:    clock,
		sleep:    wait,
	}
	p.tolerance = time.Duration(burst-1) * p.interval
	if p.clock == nil {
		p.clock = examgate.ClockFunc(time.Now)
	}
	if p.sleep == nil {
		p.sleep = sleep
	}
	return p
}

// Interval is the average time between two requests once the burst is spent.
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
	tat := p.tat
	if tat.Before(now) {
		tat = now
	}
	at := tat.Add(-p.tolerance) // the earliest this request may go
	p.tat = tat.Add(p.interval)
	p.mu.Unlock()
	d := at.Sub(now)
	if d <= 0 {
		return nil
	}
	if err := p.sleep(ctx, d); err != nil {
		p.mu.Lock()
		// Give the slot back when nobody queued behind it, so that abandoned
		// waits (a learner closing the tab) do not delay later requests.
		if p.tat.Equal(tat.Add(p.interval)) {
			p.tat = tat
		}
		p.mu.Unlock()
		return err
	}
	return nil
}
