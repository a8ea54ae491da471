package tiapi_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/tiapi"
	"github.com/examgate/examgate/tiapi/titest"
)

var paceStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// virtualTime is a clock that moves only when told to or when slept on.
type virtualTime struct {
	mu  sync.Mutex
	now time.Time
}

func (v *virtualTime) Now() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.now
}

func (v *virtualTime) advance(d time.Duration) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.now = v.now.Add(d)
}

func (v *virtualTime) sleep(ctx context.Context, d time.Duration) error {
	v.advance(d)
	return ctx.Err()
}

// checkWindows fails if any 60-second window [t, t+60s) holds more than
// limit of the sorted times.
func checkWindows(t *testing.T, times []time.Time, limit int) {
	t.Helper()
	for i := 0; i+limit < len(times); i++ {
		if d := times[i+limit].Sub(times[i]); d < time.Minute {
			t.Fatalf("requests %d..%d (%d of them) start within %s, want at most %d per minute", i, i+limit, limit+1, d, limit)
		}
	}
}

func TestPacerWindowWithBurstsAndPauses(t *testing.T) {
	clock := &virtualTime{now: paceStart}
	p := tiapi.NewPacer(120, clock, clock.sleep)
	if p.Interval() != 500*time.Millisecond {
		t.Fatalf("Interval = %s, want 500ms", p.Interval())
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var sent []time.Time
	for i := range 500 {
		// Mostly bursts, sometimes a trickle, now and then a pause long
		// enough that a token bucket would have refilled.
		switch r := rng.IntN(10); {
		case r < 6:
		case r < 9:
			clock.advance(time.Duration(rng.IntN(2000)) * time.Millisecond)
		default:
			clock.advance(time.Duration(60+rng.IntN(60)) * time.Second)
		}
		before := clock.Now()
		if err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		now := clock.Now()
		if i > 0 {
			prev := sent[len(sent)-1]
			// Never later than needed: a request waits only for its slot.
			if want := prev.Add(500 * time.Millisecond); now.After(before) && !now.Equal(want) {
				t.Fatalf("request %d sent at +%s, want +%s", i, now.Sub(paceStart), want.Sub(paceStart))
			}
		}
		sent = append(sent, now)
	}
	checkWindows(t, sent, 120)
}

func TestPacerConcurrent(t *testing.T) {
	// The clock stands still, so each send time is start+wait and only the
	// reservations keep requests apart.
	var mu sync.Mutex
	var sent []time.Time
	p := tiapi.NewPacer(120, examgate.ClockFunc(func() time.Time { return paceStart }), func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		sent = append(sent, paceStart.Add(d))
		return nil
	})
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			for range 25 {
				if err := p.Wait(context.Background()); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	sent = append(sent, paceStart) // the first Wait does not sleep
	slices.SortFunc(sent, time.Time.Compare)
	if len(sent) != 500 {
		t.Fatalf("%d requests, want 500", len(sent))
	}
	for i := 1; i < len(sent); i++ {
		if d := sent[i].Sub(sent[i-1]); d != 500*time.Millisecond {
			t.Fatalf("requests %d and %d are %s apart, want 500ms", i-1, i, d)
		}
	}
	checkWindows(t, sent, 120)
}

func TestPacerRoundsUp(t *testing.T) {
	clock := &virtualTime{now: paceStart}
	p := tiapi.NewPacer(7, clock, clock.sleep)
	var sent []time.Time
	for range 8 {
		if err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, clock.Now())
	}
	checkWindows(t, sent, 7)
}

func TestPacerCancelledWait(t *testing.T) {
	var waits []time.Duration
	refuse := true
	p := tiapi.NewPacer(60, examgate.ClockFunc(func() time.Time { return paceStart }), func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		if refuse {
			return context.Canceled
		}
		return nil
	})
	ctx := context.Background()
	if err := p.Wait(ctx); err != nil { // takes the free slot
		t.Fatal(err)
	}
	if err := p.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v, want context.Canceled", err)
	}
	refuse = false
	// The abandoned slot is given back, not skipped.
	if err := p.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if want := []time.Duration{time.Second, time.Second}; !slices.Equal(waits, want) {
		t.Fatalf("waits = %v, want %v", waits, want)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := p.Wait(cancelled); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait on a cancelled context = %v", err)
	}
	if len(waits) != 2 {
		t.Fatalf("waits = %v, want no wait for a cancelled context", waits)
	}
}

func TestPacerRealClock(t *testing.T) {
	p := tiapi.NewPacer(60000, nil, nil) // 1ms apart
	start := time.Now()
	for range 5 {
		if err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 4*time.Millisecond {
		t.Fatalf("5 requests took %s, want at least 4ms", d)
	}
	var none *tiapi.Pacer
	if err := none.Wait(context.Background()); err != nil {
		t.Fatalf("nil Pacer: %v", err)
	}
}

func TestNewPacerRefusesZero(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewPacer(0) did not panic")
		}
	}()
	tiapi.NewPacer(0, nil, nil)
}

// Every request to TI takes a slot: launch GETs, their 429 retries and the
// result POSTs.
func TestClientPacesEveryRequest(t *testing.T) {
	f := newFixture(t)
	u := f.ti.AddUser(titest.User{Email: "ada@example.com"})
	f.ti.AddPurchase(titest.Purchase{UserID: u.ID, CourseID: "c1"})
	var waits []time.Duration
	f.c.Pace = tiapi.NewPacer(120, examgate.ClockFunc(func() time.Time { return paceStart }), func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		return nil
	})
	ctx := context.Background()
	f.ti.FailNext(1, 429, "1")
	if _, err := f.c.UserID(ctx, "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.LatestPurchase(ctx, u.ID, "c1"); err != nil {
		t.Fatal(err)
	}
	if err := f.c.PostResult(ctx, tiapi.ResultPost{Status: "completed", AssignmentID: "123e4567-e89b-12d3-a456-426614174000", LearnerID: u.ID, Grade: 100}); err != nil {
		t.Fatal(err)
	}
	if err := f.c.ResetProgress(ctx, u.ID, "slug"); err != nil {
		t.Fatal(err)
	}
	if n := len(f.ti.Calls()); n != 5 {
		t.Fatalf("TI got %d requests, want 5", n)
	}
	// The 429's Retry-After of 1s holds every request of the key, then
	// one slot per request follows.
	want := []time.Duration{time.Second, 1500 * time.Millisecond, 2 * time.Second, 2500 * time.Millisecond}
	if !slices.Equal(waits, want) {
		t.Fatalf("pacer waits = %v, want %v (the Retry-After, then one slot per request)", waits, want)
	}

	// A wait cut short fails the request before it is sent.
	f.c.Pace = tiapi.NewPacer(1, nil, func(context.Context, time.Duration) error { return context.DeadlineExceeded })
	_ = f.c.Pace.Wait(ctx) // uses the free slot
	f.ti.Reset()
	if _, err := f.c.UserID(ctx, "ada@example.com"); examgate.ErrorCode(err) != examgate.EUNAVAILABLE {
		t.Fatalf("UserID = %v, want EUNAVAILABLE", err)
	}
	if err := f.c.PostResult(ctx, tiapi.ResultPost{Status: "completed", AssignmentID: "123e4567-e89b-12d3-a456-426614174000", LearnerID: u.ID}); class(err) != "backoff" || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("PostResult = %v, want a plain error", err)
	}
	if n := len(f.ti.Calls()); n != 0 {
		t.Fatalf("TI got %d requests without a slot", n)
	}
}

func TestBurstPacer(t *testing.T) {
	clock := &virtualTime{now: paceStart}
	p := tiapi.NewBurstPacer(120, 20, clock, clock.sleep)
	// The burst goes at once.
	for i := range 20 {
		if err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !clock.Now().Equal(paceStart) {
			t.Fatalf("request %d of the burst waited %s", i, clock.Now().Sub(paceStart))
		}
	}
	// Whatever the pattern afterwards, no minute holds more than 120.
	sent := slices.Repeat([]time.Time{paceStart}, 20)
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		switch r := rng.IntN(10); {
		case r < 6:
		case r < 9:
			clock.advance(time.Duration(rng.IntN(3000)) * time.Millisecond)
		default:
			clock.advance(time.Duration(30+rng.IntN(90)) * time.Second)
		}
		if err := p.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, clock.Now())
	}
	checkWindows(t, sent, 120)
}

// A launch's request that arrives while a result post waits for a slot
// goes first.
func TestPacerInteractiveBeforeBackground(t *testing.T) {
	clock := &virtualTime{now: paceStart}
	var order []string
	var p *tiapi.Pacer
	hooked := false
	p = tiapi.NewPacer(60, clock, func(ctx context.Context, d time.Duration) error {
		if !hooked {
			hooked = true
			// While the background request sleeps, a learner launches.
			if err := p.Wait(context.Background()); err != nil {
				return err
			}
			order = append(order, "interactive at +"+clock.Now().Sub(paceStart).String())
		}
		clock.advance(d)
		return nil
	})
	if err := p.Wait(context.Background()); err != nil { // takes the free slot
		t.Fatal(err)
	}
	if err := p.Wait(tiapi.WithPriority(context.Background(), tiapi.Background)); err != nil {
		t.Fatal(err)
	}
	order = append(order, "background at +"+clock.Now().Sub(paceStart).String())
	if want := []string{"interactive at +1s", "background at +2s"}; !slices.Equal(order, want) {
		t.Fatalf("order = %v, want %v", order, want)
	}
}

// A slot beyond the caller's deadline is refused at once and stays free.
func TestPacerDeadline(t *testing.T) {
	clock := &virtualTime{now: paceStart}
	p := tiapi.NewPacer(60, clock, clock.sleep)
	_ = p.Wait(context.Background())
	for _, prio := range []tiapi.Priority{tiapi.Interactive, tiapi.Background} {
		ctx, cancel := context.WithTimeout(tiapi.WithPriority(context.Background(), prio), 500*time.Millisecond)
		err := p.Wait(ctx)
		cancel()
		if !errors.Is(err, tiapi.ErrNoSlotInTime) || !clock.Now().Equal(paceStart) {
			t.Fatalf("priority %d: Wait = %v at +%s, want ErrNoSlotInTime at once", prio, err, clock.Now().Sub(paceStart))
		}
	}
	if err := p.Wait(context.Background()); err != nil || !clock.Now().Equal(paceStart.Add(time.Second)) {
		t.Fatalf("next Wait = %v at +%s, want the slot at +1s", err, clock.Now().Sub(paceStart))
	}
}

// TI's X-RateLimit-Remaining 0 holds every request until X-RateLimit-Reset.
func TestClientHonoursRateLimitHeaders(t *testing.T) {
	reset := time.Now().Add(30 * time.Second).Unix()
	url := docServer(t, 200, map[string]string{
		"X-RateLimit-Limit": "120", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(reset, 10),
	}, docPing)
	clock := &virtualTime{now: paceStart}
	var waits []time.Duration
	c := tiapi.NewClient(url, apiKey)
	c.Pace = tiapi.NewBurstPacer(120, 20, clock, func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		clock.advance(d)
		return nil
	})
	if _, err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(waits) != 0 {
		t.Fatalf("first request waited %v", waits)
	}
	if _, err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(waits) != 1 || waits[0] <= 25*time.Second || waits[0] > 30*time.Second {
		t.Fatalf("waits = %v, want one until the window's reset, about 30s", waits)
	}
}

// Event reads and user writes also wait for their category's allowance.
func TestClientCategoryPacing(t *testing.T) {
	f := newFixture(t)
	u := f.ti.AddUser(titest.User{Email: "ada@example.com"})
	f.ti.AddPurchase(titest.Purchase{UserID: u.ID, CourseID: "c1"})
	var waited []string
	pacer := func(name string) *tiapi.Pacer {
		p := tiapi.NewPacer(1, examgate.ClockFunc(func() time.Time { return paceStart }), func(context.Context, time.Duration) error {
			waited = append(waited, name)
			return nil
		})
		_ = p.Wait(context.Background()) // spend the free slot: the next request waits
		return p
	}
	f.c.EventPace, f.c.UserWritePace = pacer("events"), pacer("user writes")
	ctx := context.Background()
	if _, err := f.c.UserID(ctx, "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.LatestPurchase(ctx, u.ID, "c1"); err != nil {
		t.Fatal(err)
	}
	if err := f.c.PostResult(ctx, tiapi.ResultPost{Status: "completed", AssignmentID: "123e4567-e89b-12d3-a456-426614174000", LearnerID: u.ID}); err != nil {
		t.Fatal(err)
	}
	if err := f.c.ResetProgress(ctx, u.ID, "slug"); err != nil {
		t.Fatal(err)
	}
	if want := []string{"events", "user writes"}; !slices.Equal(waited, want) {
		t.Fatalf("category waits = %v, want %v", waited, want)
	}
}

func TestPlans(t *testing.T) {
	for in, want := range map[string]tiapi.Plan{"": tiapi.PlanStandard, "Standard": tiapi.PlanStandard, "enterprise": tiapi.PlanEnterprise} {
		if got, err := tiapi.ParsePlan(in); err != nil || got != want {
			t.Errorf("ParsePlan(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := tiapi.ParsePlan("gold"); err == nil || !strings.Contains(err.Error(), "enterprise") {
		t.Errorf("ParsePlan(gold) = %v", err)
	}
	c := tiapi.NewClient("http://ti.invalid", apiKey)
	c.UsePlan(tiapi.PlanStandard)
	// Event reads (100 a minute) and user writes (60) are paced slower
	// than the key's 120.
	if c.Pace == nil || !(c.Pace.Interval() < c.EventPace.Interval() && c.EventPace.Interval() < c.UserWritePace.Interval()) {
		t.Fatalf("intervals = %s, %s, %s", c.Pace.Interval(), c.EventPace.Interval(), c.UserWritePace.Interval())
	}
}
