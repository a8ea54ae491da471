package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
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

func TestRateKey(t *testing.T) {
	s := &Server{Deps: Deps{RateLimits: RateLimits{Key: Budget{Rate: 1, Burst: 1}, Learner: Budget{Rate: 2, Burst: 2}}}}
	key := func(remote, auth string, sess *examgate.Session) (string, *Budget) {
		r := httptest.NewRequest(http.MethodPost, "http://examgate.test/graphql", nil)
		r.RemoteAddr = remote
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		if sess != nil {
			r = r.WithContext(examgate.NewContextWithSession(r.Context(), sess))
		}
		// The sessions of this test were found live lately.
		k, b, _ := s.rateKey(r, func(bucket string) bool { return bucket == keyBucket("key-one") || bucket == keyBucket("key-two") },
			func(string) bool { return true })
		return k, b
	}
	k1, b := key("192.0.2.1:1000", "Bearer key-one", &examgate.Session{ID: 1, TokenHash: "h1"})
	if b != &s.RateLimits.Key || strings.Contains(k1, "key-one") {
		t.Fatalf("bearer: key %q, budget %v", k1, b)
	}
	if k2, _ := key("192.0.2.2:1000", "bearer key-one", nil); k2 != k1 {
		t.Fatal("the same key from another address has another bucket")
	}
	if k3, _ := key("192.0.2.1:1000", "Bearer key-two", nil); k3 == k1 {
		t.Fatal("two keys share a bucket")
	}
	// Spacing around the key does not make another key of it.
	for _, auth := range []string{"Bearer  key-one", "Bearer key-one ", "BEARER \tkey-one\t"} {
		if k, _ := key("192.0.2.1:1000", auth, nil); k != k1 {
			t.Fatalf("%q has another bucket than %q", auth, "Bearer key-one")
		}
	}
	// A key not accepted (yet), a key with a space inside and any other
	// Authorization header spend from the address, even with a session.
	addr, _ := key("192.0.2.1:1000", "", nil)
	for _, auth := range []string{"Bearer egk_unknown", "Bearer key one", "Bearer key-one extra", "Basic dXNlcjpwYXNz", "Bearer "} {
		if k, b := key("192.0.2.1:1000", auth, &examgate.Session{ID: 1, TokenHash: "h1"}); k != addr || b != &s.RateLimits.Learner {
			t.Fatalf("%q: bucket %q, want the address's", auth, k)
		}
	}
	s1, b := key("192.0.2.1:1000", "", &examgate.Session{ID: 1, TokenHash: "h1"})
	if s2, _ := key("192.0.2.2:2000", "", &examgate.Session{ID: 1, TokenHash: "h1"}); s2 != s1 || b != &s.RateLimits.Learner {
		t.Fatal("a session's bucket depends on its address")
	}
	if s3, _ := key("192.0.2.1:1000", "", &examgate.Session{ID: 2, TokenHash: "h2"}); s3 == s1 {
		t.Fatal("two sessions share a bucket")
	}
	a1, _ := key("192.0.2.1:1000", "", nil)
	if a2, _ := key("192.0.2.1:2000", "", nil); a2 != a1 {
		t.Fatal("one address, two buckets")
	}
	if a3, _ := key("192.0.2.9:1000", "", nil); a3 == a1 {
		t.Fatal("two addresses share a bucket")
	}
	v1, _ := key("[2001:db8:1:2::1]:1000", "", nil)
	if v2, _ := key("[2001:db8:1:2:ffff::9]:1000", "", nil); v2 != v1 {
		t.Fatal("one IPv6 /64, two buckets")
	}
	if v3, _ := key("[2001:db8:1:3::1]:1000", "", nil); v3 == v1 {
		t.Fatal("two IPv6 /64s share a bucket")
	}
}

// A session named by a cookie picks its own bucket when it was found live
// lately; any other cookie spends from its address, and nothing is read to
// decide: a flood of made-up cookies is refused before any database read.
func TestRateKeyReadsNothing(t *testing.T) {
	s := &Server{Deps: Deps{RateLimits: RateLimits{Learner: Budget{Rate: 2, Burst: 2}}}}
	addr := func() string {
		k, _, _ := s.rateKey(httptest.NewRequest(http.MethodPost, "http://examgate.test/graphql", nil), nil, nil)
		return k
	}()
	reads := 0
	key := func(hash string, recent bool) string {
		r := httptest.NewRequest(http.MethodPost, "http://examgate.test/graphql", nil)
		ref := examgate.NewSessionRef(hash, func(context.Context) (*examgate.Session, error) {
			reads++
			return &examgate.Session{ID: 1, TokenHash: hash}, nil
		})
		r = r.WithContext(examgate.NewContextWithSessionRef(r.Context(), ref))
		k, _, _ := s.rateKey(r, nil, func(h string) bool { return recent && h == hash })
		return k
	}
	if k := key("h1", true); k != "sh1" {
		t.Fatalf("recently live: bucket %q", k)
	}
	if k := key("h1", false); k != addr {
		t.Fatalf("not seen lately: bucket %q, want the address's", k)
	}
	if reads != 0 {
		t.Fatalf("choosing a bucket read %d sessions", reads)
	}
}

func TestSessionLiveList(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	l := newRateLimiter(RateLimits{Learner: Budget{Rate: 1, Burst: 1}, MaxClients: 2, Now: func() time.Time { return now }})
	l.sessionChecked("a", true)
	if !l.recentlyLive("a") || l.recentlyLive("b") {
		t.Fatal("live list wrong after one session")
	}
	now = now.Add(sessionLiveFor)
	if l.recentlyLive("a") {
		t.Fatal("a session is taken as live past sessionLiveFor")
	}
	l.sessionChecked("a", true)
	l.sessionChecked("b", true)
	l.sessionChecked("a", false)
	if l.recentlyLive("a") || !l.recentlyLive("b") {
		t.Fatal("an ended session stays live")
	}
	// Full: lapsed entries go first; if none had, all go.
	l.sessionChecked("c", true)
	l.sessionChecked("d", true)
	if len(l.live) > 2 || !l.recentlyLive("d") {
		t.Fatalf("live list over its bound: %v", l.live)
	}
}

// BenchmarkRateLimiter measures what the limiter adds to a request: a
// returning client, and a flood of new keys that keeps the LRU full.
// TestKeyBucketFollowsAuthentication: an accepted key gets its own bucket,
// a refused one loses it.
func TestKeyBucketFollowsAuthentication(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	budget := &Budget{Rate: 1, Burst: 2}
	l := newRateLimiter(RateLimits{Now: clock.now})
	k := keyBucket("egk_x")
	if l.authenticated(k) {
		t.Fatal("a key never checked counts as accepted")
	}
	l.keyChecked(k, budget, false)
	if l.authenticated(k) || l.len() != 0 {
		t.Fatal("a refused key got a bucket")
	}
	l.keyChecked(k, budget, true)
	if !l.authenticated(k) {
		t.Fatal("an accepted key has no bucket")
	}
	// Spent, then accepted again: it keeps what it spent.
	l.take(k, budget)
	l.take(k, budget)
	l.keyChecked(k, budget, true)
	if ok, _ := l.take(k, budget); ok {
		t.Fatal("accepting the key again refilled its bucket")
	}
	// Revoked: its requests go back to the address.
	l.keyChecked(k, budget, false)
	if l.authenticated(k) {
		t.Fatal("a key refused after being accepted keeps its bucket")
	}
}

func BenchmarkRateLimiter(b *testing.B) {
	budget := &Budget{Rate: 1e9, Burst: 1 << 30}
	b.Run("returning", func(b *testing.B) {
		l := newRateLimiter(RateLimits{})
		for b.Loop() {
			l.take("client", budget)
		}
	})
	b.Run("new-keys-full", func(b *testing.B) {
		l := newRateLimiter(RateLimits{MaxClients: 1000})
		keys := make([]string, 4096)
		for i := range keys {
			keys[i] = fmt.Sprint("client-", i)
		}
		i := 0
		for b.Loop() {
			l.take(keys[i%len(keys)], budget)
			i++
		}
	})
}

func TestPlatformFrameSources(t *testing.T) {
	for raw, want := range map[string]string{
		"https://canvas.instructure.com":                  "https://canvas.instructure.com https://*.instructure.com",
		"https://account.onlineacademy.nl/connect/auth":   "https://account.onlineacademy.nl https://*.onlineacademy.nl",
		"https://moodle.school.example:8443/mod/lti/auth": "https://moodle.school.example:8443 https://*.school.example:8443",
		"https://example.com":                             "https://example.com",
		"http://127.0.0.1:8080/lti-sim":                   "http://127.0.0.1:8080",
		"javascript:alert(1)":                             "",
		"https://a.b.c; script-src *":                     "",
	} {
		if got := strings.Join(platformSources(raw), " "); got != want {
			t.Errorf("platformSources(%q) = %q, want %q", raw, got, want)
		}
	}
}

// TestRateLimitHeadersAsSet: the headers are stored as Header.Set would
// store them, and adding to one leaves the others alone.
func TestRateLimitHeadersAsSet(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	got := http.Header{}
	rl := setRateLimitHeaders(got, &Budget{Rate: 2, Burst: 300}, 120.5, now)
	want := http.Header{}
	want.Set("RateLimit-Limit", "300")
	want.Set("RateLimit-Remaining", "120")
	want.Set("RateLimit-Reset", "90")
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("headers %v, want %v", got, want)
	}
	if rl.Limit != 300 || rl.Remaining != 120 || !rl.ResetAt.Equal(now.Add(90*time.Second)) {
		t.Fatalf("rate limit %+v", rl)
	}
	got.Add("RateLimit-Limit", "1")
	if got.Get("RateLimit-Remaining") != "120" || len(got["Ratelimit-Limit"]) != 2 {
		t.Fatalf("after Add: %v", got)
	}
}
