package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
	"github.com/examgate/examgate/server"
	"github.com/examgate/examgate/tiapi/titest"
)

// newEnvWith is newEnv with the server's Deps adjusted by set.
func newEnvWith(t *testing.T, store *db.DB, set func(*server.Deps)) *env {
	t.Helper()
	return newEnvWithCatalog(t, store, catalogYAML, set)
}

// stepClock is a clock the test moves by hand.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *stepClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type httpAnswer struct {
	status int
	header http.Header
	body   string
	gql    gqlResponse
}

func (a httpAnswer) code() string {
	if len(a.gql.Errors) == 0 {
		return ""
	}
	c, _ := a.gql.Errors[0].Extensions["code"].(string)
	return c
}

// send makes a /graphql request; headers are name, value pairs.
func (e *env) send(c *http.Client, method, query string, headers ...string) httpAnswer {
	e.t.Helper()
	var req *http.Request
	if method == http.MethodGet {
		req, _ = http.NewRequest(method, e.url+"/graphql?query="+url.QueryEscape(query), nil)
	} else {
		body, _ := json.Marshal(map[string]string{"query": query})
		req, _ = http.NewRequest(method, e.url+"/graphql", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := httpAnswer{status: resp.StatusCode, header: resp.Header, body: string(b)}
	_ = json.Unmarshal(b, &a.gql)
	return a
}

// A cookie naming no session spends from its address, whether one made-up
// cookie is repeated or a new one sent each time: only a session found live
// gets a bucket of its own.
func TestGraphQLRateLimitMadeUpCookies(t *testing.T) {
	clock := &stepClock{t: now}
	var reads atomic.Int64
	e := newEnvWith(t, dbtest.OpenSQLite(t), func(d *server.Deps) {
		d.RateLimits = server.RateLimits{Learner: server.Budget{Rate: 1, Burst: 3}, Now: clock.Now}
		d.Store = &countingSessions{Store: d.Store, reads: &reads}
	})
	cookie := func(v string) []string { return []string{"Cookie", server.SessionCookie + "=" + v} }
	for name, value := range map[string]func(i int) string{
		"repeated": func(int) string { return "made-up" },
		"rotating": func(i int) string { return fmt.Sprintf("made-up-%d", i) },
	} {
		clock.Advance(time.Minute) // a full address budget
		c := e.browser()
		for i := range 3 {
			if got := e.send(c, http.MethodPost, `{ __typename }`, cookie(value(i))...); got.status != http.StatusOK {
				t.Fatalf("%s cookie, request %d: %d %s", name, i+1, got.status, got.body)
			}
		}
		got := e.send(c, http.MethodPost, `{ __typename }`, cookie(value(3))...)
		if got.status != http.StatusTooManyRequests || got.gql.Errors[0].Message != "Too many requests: a client without a session may send 60 requests a minute (bursts of 3). Try again in 1 s." {
			t.Fatalf("%s cookie over the address budget: %d %s", name, got.status, got.body)
		}
	}
	// Choosing the bucket reads nothing: a flood of made-up cookies costs
	// the database only the reads of the requests the budget lets through.
	if n := reads.Load(); n != 0 {
		t.Fatalf("%d session reads for requests that need none", n)
	}
	clock.Advance(time.Minute)
	for i := range 20 {
		e.send(e.browser(), http.MethodPost, `{ me { email } }`, cookie(fmt.Sprintf("flood-%d", i))...)
	}
	if n := reads.Load(); n != 3 {
		t.Fatalf("%d session reads for 20 made-up cookies with a burst of 3, want 3", n)
	}
}

// countingSessions counts session reads.
type countingSessions struct {
	examgate.Store
	reads *atomic.Int64
}

func (s *countingSessions) SessionByTokenHash(ctx context.Context, hash string, now time.Time) (*examgate.Session, error) {
	s.reads.Add(1)
	return s.Store.SessionByTokenHash(ctx, hash, now)
}

// Every answer says what is left of the caller's budget, before it runs
// out: the burst, the requests left, the seconds until it is full.
func TestGraphQLRateLimitHeaders(t *testing.T) {
	clock := &stepClock{t: now}
	e := newEnvWith(t, dbtest.OpenSQLite(t), func(d *server.Deps) {
		d.RateLimits = server.RateLimits{Learner: server.Budget{Rate: 0.5, Burst: 3}, Now: clock.Now}
	})
	c := e.browser()
	for i, want := range [][3]string{{"3", "2", "2"}, {"3", "1", "4"}, {"3", "0", "6"}, {"3", "0", "6"}} {
		got := e.send(c, http.MethodPost, `{ __typename }`)
		h := got.header
		if h.Get("RateLimit-Limit") != want[0] || h.Get("RateLimit-Remaining") != want[1] || h.Get("RateLimit-Reset") != want[2] {
			t.Fatalf("request %d (%d): RateLimit %q %q %q, want %v", i+1, got.status, h.Get("RateLimit-Limit"), h.Get("RateLimit-Remaining"), h.Get("RateLimit-Reset"), want)
		}
		if i == 3 && got.status != http.StatusTooManyRequests {
			t.Fatalf("request 4: %d, want 429", got.status)
		}
	}
}

func TestGraphQLRateLimit(t *testing.T) {
	clock := &stepClock{t: now}
	e := newEnvWith(t, dbtest.OpenSQLite(t), func(d *server.Deps) {
		d.RateLimits = server.RateLimits{
			Key:     server.Budget{Rate: 0.5, Burst: 2}, // a request every 2 s
			Learner: server.Budget{Rate: 1, Burst: 3},
			Now:     clock.Now,
		}
	})
	anon := e.browser()

	// A key not known to be good spends from its address's budget (the
	// learner budget, 3 at once), so that a client making up a new key for
	// every request is throttled like any anonymous client before anything
	// looks its keys up; a client without a key there shares that budget.
	for i := range 3 {
		if got := e.send(anon, http.MethodPost, `{ __typename }`, "Authorization", fmt.Sprintf("Bearer egk_madeup%d", i)); got.status != http.StatusUnauthorized {
			t.Fatalf("made-up key %d: %d %s", i+1, got.status, got.body)
		}
	}
	got := e.send(anon, http.MethodPost, `{ __typename }`, "Authorization", "Bearer egk_madeup4")
	if got.status != http.StatusTooManyRequests || got.header.Get("Retry-After") != "1" || got.code() != "RATE_LIMITED" {
		t.Fatalf("over the address budget with made-up keys: %d Retry-After %q %s", got.status, got.header.Get("Retry-After"), got.body)
	}
	if msg := got.gql.Errors[0].Message; msg != "Too many requests: a client whose API key is not accepted (yet) may send 60 requests a minute (bursts of 3). Try again in 1 s." {
		t.Fatalf("message %q", msg)
	}
	if got := e.send(anon, http.MethodPost, `{ __typename }`); got.status != http.StatusTooManyRequests {
		t.Fatalf("no key from the same address: %d %s", got.status, got.body)
	}

	// A good key's first request spends from the address too; once
	// accepted, the key has its own budget (2 at once), however the header
	// spaces it.
	clock.Advance(3 * time.Second)
	_, secret, err := (&examgate.APIKeys{Store: e.store, Clock: examgate.ClockFunc(func() time.Time { return now })}).Create(context.Background(), "limited", []string{examgate.ScopeBookingsRead})
	if err != nil {
		t.Fatal(err)
	}
	for i, auth := range []string{"Bearer " + secret, "bearer  " + secret, "Bearer " + secret + "  "} {
		if got := e.send(anon, http.MethodPost, `{ __typename }`, "Authorization", auth); got.status != http.StatusOK {
			t.Fatalf("good key request %d: %d %s", i+1, got.status, got.body)
		}
	}
	got = e.send(anon, http.MethodPost, `{ __typename }`, "Authorization", "Bearer   "+secret)
	if got.status != http.StatusTooManyRequests || got.header.Get("Retry-After") != "2" || got.code() != "RATE_LIMITED" {
		t.Fatalf("over the key budget: %d Retry-After %q %s", got.status, got.header.Get("Retry-After"), got.body)
	}
	if msg := got.gql.Errors[0].Message; msg != "Too many requests: an API key may send 30 requests a minute (bursts of 2). Try again in 2 s." {
		t.Fatalf("message %q", msg)
	}
	// The key's budget is its own: the address still has two requests.
	if got := e.send(anon, http.MethodPost, `{ __typename }`); got.status != http.StatusOK {
		t.Fatalf("no key: %d %s", got.status, got.body)
	}
	// A key with spaces inside is not a key, and spends from the address.
	if got := e.send(anon, http.MethodPost, `{ __typename }`, "Authorization", "Bearer "+secret[:8]+" "+secret[8:]); got.status != http.StatusUnauthorized {
		t.Fatalf("key with inner space: %d %s", got.status, got.body)
	}
	if got := e.send(anon, http.MethodPost, `{ __typename }`); got.status != http.StatusTooManyRequests {
		t.Fatalf("the key with an inner space did not spend from the address: %d %s", got.status, got.body)
	}
	// Once the bucket has a token again, the key gets through.
	clock.Advance(2 * time.Second)
	if got := e.send(anon, http.MethodPost, `{ __typename }`, "Authorization", "Bearer "+secret); got.status != http.StatusOK {
		t.Fatalf("key after Retry-After: %d %s", got.status, got.body)
	}

	// Learners are limited per session, not per address: two signed-in
	// learners on one machine each have a full budget.
	ada := e.browser()
	e.launch(ada, "DEMO-101", e.token(nil))
	// The same learner in another browser: a launch ends only the
	// sessions of its own browser family.
	bob := e.browser()
	bob.Transport = userAgent{"Mozilla/5.0 Firefox/130.0"}
	e.launch(bob, "DEMO-101", e.token(func(c *titest.LaunchToken) { c.IssuedAt = c.IssuedAt.Add(time.Second) }))
	// A session's first request spends from its address, before anything
	// is read; once found live, it has its own bucket.
	clock.Advance(time.Minute)
	for _, c := range []*http.Client{ada, bob} {
		if got := e.send(c, http.MethodPost, `{ me { email } }`); got.status != http.StatusOK {
			t.Fatalf("first request of a session: %d %s", got.status, got.body)
		}
	}
	for i := range 3 {
		if got := e.send(ada, http.MethodPost, `{ me { email } }`); got.status != http.StatusOK || string(got.gql.Data["me"]) != `{"email":"ada@example.com"}` {
			t.Fatalf("ada request %d: %d %s", i+1, got.status, got.body)
		}
	}
	got = e.send(ada, http.MethodGet, `{ me { email } }`)
	if got.status != http.StatusTooManyRequests || got.header.Get("Retry-After") != "1" || got.code() != "RATE_LIMITED" {
		t.Fatalf("over the session budget: %d %s", got.status, got.body)
	}
	if got := e.send(bob, http.MethodPost, `{ me { email } }`); got.status != http.StatusOK {
		t.Fatalf("another session: %d %s", got.status, got.body)
	}
	// Pages other than /graphql are not limited.
	resp, err := ada.Get(e.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %d", resp.StatusCode)
	}
}

func TestGraphQLCORS(t *testing.T) {
	const partner = "https://lms.example.com"
	e := newEnvWith(t, dbtest.OpenSQLite(t), func(d *server.Deps) { d.CORSOrigins = []string{partner} })
	c := &http.Client{}

	preflight := func(origin, method, headers string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodOptions, e.url+"/graphql", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", method)
		if headers != "" {
			req.Header.Set("Access-Control-Request-Headers", headers)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}

	// A listed origin may POST with a key and a JSON body, without cookies.
	resp := preflight(partner, "POST", "authorization,content-type")
	h := resp.Header
	if resp.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != partner ||
		h.Get("Access-Control-Allow-Methods") != "POST" || h.Get("Access-Control-Allow-Headers") != "authorization,content-type" ||
		h.Get("Access-Control-Allow-Credentials") != "" || h.Get("Access-Control-Max-Age") != "600" {
		t.Fatalf("preflight: %d %v", resp.StatusCode, h)
	}
	// Anything else gets no CORS headers, which a browser takes as a no.
	for _, p := range []struct{ origin, method, headers string }{
		{"https://evil.example.com", "POST", "authorization,content-type"},
		{"https://lms.example.com.evil.example", "POST", ""},
		{"http://lms.example.com", "POST", ""},
		{partner, "DELETE", ""},
		{partner, "POST", "x-examgate-admin"},
	} {
		if resp := preflight(p.origin, p.method, p.headers); resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight %+v allowed: %v", p, resp.Header)
		}
	}

	// The actual request: a bearer request from the partner's page passes
	// the cross-origin protection (here to the key check, which refuses a
	// made-up key) and its answer is readable there, Retry-After included.
	got := e.send(c, http.MethodPost, `{ __typename }`,
		"Origin", partner, "Sec-Fetch-Site", "cross-site", "Authorization", "Bearer made-up-key")
	if got.status != http.StatusUnauthorized || got.code() != "UNAUTHENTICATED" ||
		got.header.Get("Access-Control-Allow-Origin") != partner || !strings.Contains(got.header.Get("Access-Control-Expose-Headers"), "Retry-After") {
		t.Fatalf("bearer POST from the partner: %d %v %s", got.status, got.header, got.body)
	}
	// A query over GET is safe and readable without a key.
	got = e.send(c, http.MethodGet, `{ __typename }`, "Origin", partner, "Sec-Fetch-Site", "cross-site")
	if got.status != http.StatusOK || got.header.Get("Access-Control-Allow-Origin") != partner {
		t.Fatalf("GET from the partner: %d %v", got.status, got.header)
	}
	// A cross-site POST riding on a learner's cookie stays refused, from a
	// listed origin too.
	ada := e.browser()
	e.launch(ada, "DEMO-101", e.token(nil))
	for _, origin := range []string{partner, "https://evil.example.com"} {
		got = e.send(ada, http.MethodPost, `mutation { setTimeZone(timeZone: "UTC") { email } }`, "Origin", origin, "Sec-Fetch-Site", "cross-site")
		if got.status != http.StatusForbidden || got.code() != "FORBIDDEN" || !strings.Contains(got.gql.Errors[0].Message, "Authorization: Bearer") {
			t.Fatalf("cookie POST from %s: %d %s", origin, got.status, got.body)
		}
	}
	// The SPA's own requests carry no Origin header CORS cares about.
	if got := e.send(ada, http.MethodPost, `{ me { email } }`, "Sec-Fetch-Site", "same-origin"); got.status != http.StatusOK ||
		got.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("same-origin: %d %v", got.status, got.header)
	}
	// CORS is for /graphql only.
	req, _ := http.NewRequest(http.MethodGet, e.url+"/healthz", nil)
	req.Header.Set("Origin", partner)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("CORS headers on /healthz")
	}
}

func TestGraphQLNoCORSByDefault(t *testing.T) {
	e := newEnv(t, dbtest.OpenSQLite(t))
	req, _ := http.NewRequest(http.MethodOptions, e.url+"/graphql", nil)
	req.Header.Set("Origin", "https://lms.example.com")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "" || resp.StatusCode == http.StatusNoContent {
		t.Fatalf("preflight without origins configured: %d %v", resp.StatusCode, resp.Header)
	}
	got := e.send(http.DefaultClient, http.MethodGet, `{ __typename }`, "Origin", "https://lms.example.com")
	// Vary names the encoding (answers are compressed), never Origin.
	if got.status != http.StatusOK || got.header.Get("Access-Control-Allow-Origin") != "" || strings.Contains(got.header.Get("Vary"), "Origin") {
		t.Fatalf("GET: %d %v", got.status, got.header)
	}
}

func TestIntrospectionFollowsPlayground(t *testing.T) {
	store := dbtest.OpenSQLite(t)
	q := `{ __schema { queryType { name } } }`
	on := newEnvWith(t, store, func(d *server.Deps) { d.Playground = true })
	if got := on.send(http.DefaultClient, http.MethodPost, q); got.status != http.StatusOK || string(got.gql.Data["__schema"]) != `{"queryType":{"name":"Query"}}` {
		t.Fatalf("with the playground: %d %s", got.status, got.body)
	}
	off := newEnvWith(t, store, func(d *server.Deps) { d.Playground = false })
	got := off.send(http.DefaultClient, http.MethodPost, q)
	if got.code() != "INTROSPECTION_DISABLED" || !strings.Contains(got.gql.Errors[0].Message, "introspection is turned off on this server") {
		t.Fatalf("without the playground: %d %s", got.status, got.body)
	}
}

// userAgent sends every request with its User-Agent.
type userAgent struct{ ua string }

func (u userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", u.ua)
	return http.DefaultTransport.RoundTrip(r)
}
