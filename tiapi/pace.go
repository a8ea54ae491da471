package tiapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
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

	mu      sync.Mutex
	tat     time.Time // theoretical arrival time of the next request
	blocked time.Time // no request before this (TI said its window is spent)
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
// of the allowance is spread over the minute. examgate takes the burst of
// TI's plan (UsePlan), or a sixth of a limit agreed outside the plans.
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

// Priority orders requests that wait for the same allowance.
type Priority int

const (
	// Interactive requests have a learner waiting on them (a launch); they
	// go first, in the order they arrive. It is the default.
	Interactive Priority = iota
	// Background requests (result posts, course resets) take the slots no
	// interactive request has claimed, so that a cohort arriving at 09:00
	// is not queued behind yesterday's results.
	Background
)

type priorityKey struct{}

// WithPriority marks the TI requests made with ctx.
func WithPriority(ctx context.Context, p Priority) context.Context {
	return context.WithValue(ctx, priorityKey{}, p)
}

func priorityOf(ctx context.Context) Priority {
	p, _ := ctx.Value(priorityKey{}).(Priority)
	return p
}

// ErrNoSlotInTime is returned by Wait when the next free slot lies beyond
// ctx's deadline: failing at once beats holding a learner's page until the
// deadline cuts it off.
var ErrNoSlotInTime = errors.New("no TI request slot before the deadline")

// Block stops all requests for d, from now: TI said its window is spent
// (X-RateLimit-Remaining 0, or a 429 with Retry-After). A nil Pacer does
// nothing.
func (p *Pacer) Block(d time.Duration) {
	if p == nil || d <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if until := p.clock.Now().Add(d); until.After(p.blocked) {
		p.blocked = until
	}
}

// Wait blocks until the caller may send one request, or ctx ends. A nil
// Pacer never waits. Interactive callers (the default) are served in the
// order they arrive; Background callers (see WithPriority) take the slots
// left over.
func (p *Pacer) Wait(ctx context.Context) error {
	if p == nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if priorityOf(ctx) == Background {
		return p.waitBackground(ctx)
	}
	// The slot is reserved under the lock and waited for outside it, so
	// concurrent callers queue one interval apart without serialising on
	// each other's sleeps.
	p.mu.Lock()
	now := p.clock.Now()
	at, tat := p.nextLocked(now)
	if dl, ok := ctx.Deadline(); ok && at.After(now.Add(time.Until(dl))) {
		p.mu.Unlock()
		return ErrNoSlotInTime
	}
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

// nextLocked returns when the next request may go and the theoretical
// arrival time it takes.
func (p *Pacer) nextLocked(now time.Time) (at, tat time.Time) {
	tat = p.tat
	if tat.Before(now) {
		tat = now
	}
	at = tat.Add(-p.tolerance) // the earliest this request may go
	if at.Before(p.blocked) {
		at = p.blocked
		if tat.Before(at) {
			tat = at
		}
	}
	return at, tat
}

// waitBackground takes a slot only when one is free now, never reserving
// one ahead: interactive callers arriving meanwhile reserve theirs first,
// and it sleeps until the next free slot and looks again.
func (p *Pacer) waitBackground(ctx context.Context) error {
	for {
		p.mu.Lock()
		now := p.clock.Now()
		at, tat := p.nextLocked(now)
		if !at.After(now) {
			p.tat = tat.Add(p.interval)
			p.mu.Unlock()
			return nil
		}
		p.mu.Unlock()
		if dl, ok := ctx.Deadline(); ok && at.After(now.Add(time.Until(dl))) {
			return ErrNoSlotInTime
		}
		if err := p.sleep(ctx, at.Sub(now)); err != nil {
			return err
		}
	}
}

// Plan is a TI rate-limit plan: requests per minute for one API key and
// the burst TI allows on top of its pace (docs/rest/rate-limits, "Default
// limits"). examgate keeps within PerMinute in every 60-second window and
// uses Burst only to let that many go at once.
type Plan struct {
	Name      string
	PerMinute int
	Burst     int
}

// TI's documented plans (docs/rest/rate-limits).
var (
	PlanStandard   = Plan{Name: "standard", PerMinute: 120, Burst: 20}
	PlanEnterprise = Plan{Name: "enterprise", PerMinute: 600, Burst: 100}
)

// Lower limits TI documents for some endpoint categories, within the plan
// (docs/rest/rate-limits, "Limits by endpoint category"): event reads
// (coursePurchase) and user writes (resetProgress).
const (
	EventReadsPerMinute = 100
	UserWritesPerMinute = 60
)

// ParsePlan reads a plan name: standard or enterprise.
func ParsePlan(name string) (Plan, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", PlanStandard.Name:
		return PlanStandard, nil
	case PlanEnterprise.Name:
		return PlanEnterprise, nil
	}
	return Plan{}, fmt.Errorf("unknown TI plan %q: use standard (120 requests a minute) or enterprise (600)", truncate(name))
}

// UsePlan paces every request of c by plan, and event reads and user
// writes also by their category's lower limit. Each category lets a sixth
// of its allowance go at once.
func (c *Client) UsePlan(plan Plan) {
	c.Pace = NewBurstPacer(plan.PerMinute, plan.Burst, nil, nil)
	events := min(EventReadsPerMinute, plan.PerMinute)
	c.EventPace = NewBurstPacer(events, events/6, nil, nil)
	writes := min(UserWritesPerMinute, plan.PerMinute)
	c.UserWritePace = NewBurstPacer(writes, writes/6, nil, nil)
}

// maxBlock caps how long one TI answer can stop all requests, against a
// Reset or Retry-After far in the future.
const maxBlock = 5 * time.Minute

// observe adapts the pace to what TI reports of the key's window
// (docs/rest/rate-limits, "Rate limit headers"): when X-RateLimit-Remaining
// is 0, nothing is sent before X-RateLimit-Reset (Unix seconds).
func (c *Client) observe(h http.Header) {
	if c.Pace == nil {
		return
	}
	rem, err := strconv.Atoi(strings.TrimSpace(h.Get("X-RateLimit-Remaining")))
	if err != nil || rem > 0 {
		return
	}
	reset, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-RateLimit-Reset")), 10, 64)
	if err != nil {
		return
	}
	c.Pace.Block(min(time.Until(time.Unix(reset, 0)), maxBlock))
}

// waitSlot waits for each pacer in turn; nil ones are skipped.
func waitSlot(ctx context.Context, pacers ...*Pacer) error {
	for _, p := range pacers {
		if err := p.Wait(ctx); err != nil {
			return err
		}
	}
	return nil
}
