package server

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/examgate/examgate"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestRateLimiterBucket(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	budget := &Budget{Rate: 2, Burst: 3} // 3 at once, then one every 500 ms
	l := newRateLimiter(RateLimits{Now: clock.now})

	for i := range 3 {
		if ok, _ := l.take("a", budget); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := l.take("a", budget)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("over the burst: ok %v, wait %v", ok, wait)
	}
	// Another client has its own bucket.
	if ok, _ := l.take("b", budget); !ok {
		t.Fatal("another client refused")
	}
	// Half a token's time later there is still none, and the wait shrinks.
	clock.advance(250 * time.Millisecond)
	if ok, wait := l.take("a", budget); ok || wait != 250*time.Millisecond {
		t.Fatalf("after 250 ms: ok %v, wait %v", ok, wait)
	}
	clock.advance(250 * time.Millisecond)
	if ok, _ := l.take("a", budget); !ok {
		t.Fatal("refill refused")
	}
	// Refilling stops at the burst.
	clock.advance(time.Hour)
	for i := range 3 {
		if ok, _ := l.take("a", budget); !ok {
			t.Fatalf("request %d after an hour refused", i+1)
		}
	}
	if ok, _ := l.take("a", budget); ok {
		t.Fatal("more than the burst after an hour")
	}
}

func TestRateLimiterMemoryIsBounded(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	budget := &Budget{Rate: 1, Burst: 10} // full again 10 s after emptying
	l := newRateLimiter(RateLimits{Now: clock.now, MaxClients: 100})

	// Many clients (or many made-up keys) never hold more than MaxClients
	// buckets; the least recently used one goes first.
	for i := range 1000 {
		l.take(fmt.Sprint("client-", i), budget)
	}
	if n := l.len(); n != 100 {
		t.Fatalf("%d buckets kept, want 100", n)
	}
	if _, kept := l.byKey["client-999"]; !kept {
		t.Fatal("the newest bucket was dropped")
	}
	if _, kept := l.byKey["client-0"]; kept {
		t.Fatal("the oldest bucket was kept")
	}

	// Buckets idle long enough to be full again are forgotten by the next
	// request, whoever makes it; a busy one is kept.
	clock.advance(5 * time.Second)
	for range 10 {
		l.take("busy", budget)
	}
	clock.advance(5 * time.Second)
	l.take("late", budget)
	if n := l.len(); n != 2 {
		t.Fatalf("%d buckets after the idle ones refilled, want busy and late", n)
	}
	// Forgetting lost nothing: the busy client is still out of tokens
	// (5 s at 1/s refilled 5 of the 10 it spent, and it spends one now).
	for i := range 5 {
		if ok, _ := l.take("busy", budget); !ok {
			t.Fatalf("busy request %d refused", i+1)
		}
	}
	if ok, _ := l.take("busy", budget); ok {
		t.Fatal("the busy client's bucket was reset")
	}
}

func TestCSRFUnlessBearer(t *testing.T) {
	var sawSession *examgate.Session
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawSession = examgate.SessionFromContext(r.Context())
	})
	h := withCSRFUnlessBearer(next)
	sess := &examgate.Session{ID: 7}

	serve := func(auth string) int {
		sawSession = nil
		r := httptest.NewRequest(http.MethodPost, "http://examgate.test/graphql", nil)
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		r.Header.Set("Origin", "https://lms.example.com")
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		r = r.WithContext(examgate.NewContextWithSession(r.Context(), sess))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	// A cross-site POST riding on a session cookie is refused.
	if code := serve(""); code != http.StatusForbidden {
		t.Fatalf("cross-site cookie POST: %d", code)
	}
	if code := serve("Basic dXNlcjpwYXNz"); code != http.StatusForbidden {
		t.Fatalf("cross-site POST with Basic auth: %d", code)
	}
	// With a bearer key it passes, acting as the key only: the session the
	// browser's cookie carried is dropped.
	if code := serve("Bearer some-key"); code != http.StatusOK || sawSession != nil {
		t.Fatalf("bearer: status %d, session %v", code, sawSession)
	}
}
