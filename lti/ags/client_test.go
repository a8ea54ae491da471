package ags_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db/dbtest"
	"github.com/examgate/examgate/lti/ags"
	"github.com/examgate/examgate/lti/ltitest"
)

const clientID = "71bafed5-5db8-483a-bc91-0531e651e57d"

// t0 has a fraction of a second, to see it in the score's timestamp.
var t0 = time.Date(2026, 12, 1, 10, 0, 0, 123_000_000, time.UTC)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is the tool (keys in SQLite, its JWKS on a real listener, the score
// client) and a fake platform that verifies it over HTTP.
type env struct {
	clock    *clock
	keys     *ags.Keys
	jwksURL  string
	platform *ltitest.AGSService
	client   *ags.Client
}

func newEnv(t *testing.T) *env { return newEnvTB(t) }

func newEnvTB(t testing.TB) *env {
	t.Helper()
	c := &clock{t: t0}
	keys := ags.NewKeys(dbtest.OpenSQLite(t), c)
	jwks := httptest.NewServer(ags.JWKSHandler(keys, slog.New(slog.DiscardHandler)))
	t.Cleanup(jwks.Close)
	platform := ltitest.NewAGSService(clientID, jwks.URL)
	platform.Now = c.Now
	t.Cleanup(platform.Start().Close)
	client := ags.NewClient(keys, c)
	return &env{clock: c, keys: keys, jwksURL: jwks.URL, platform: platform, client: client}
}

func score(lineItem string) examgate.LTIScoreJob {
	given := 8.0
	return examgate.LTIScoreJob{
		AttemptID: 1, Issuer: "https://account.onlineacademy.nl", ClientID: clientID, LineItemURL: lineItem,
		UserID: "user-12345", ActivityProgress: examgate.LTIActivityCompleted, GradingProgress: examgate.LTIGradingFullyGraded,
		ScoreGiven: &given, ScoreMaximum: 10, Timestamp: t0, Comment: "Passed",
	}
}

func TestTokenRequestAssertion(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	active, err := e.keys.Signing(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := e.client.Token(ctx, e.platform.TokenURL(), clientID, ags.ScoreScope)
	if err != nil || tok == "" {
		t.Fatalf("token %q, %v", tok, err)
	}
	e.clock.Add(2 * time.Hour) // past the token's expiry: a second request
	if _, err := e.client.Token(ctx, e.platform.TokenURL(), clientID, ags.ScoreScope); err != nil {
		t.Fatal(err)
	}
	as := e.platform.Assertions()
	if len(as) != 2 {
		t.Fatalf("%d assertions accepted, want 2", len(as))
	}
	for i, a := range as {
		switch {
		case a.KID != active.KID:
			t.Errorf("assertion %d kid %q, want the active key %q", i, a.KID, active.KID)
		case a.Issuer != clientID || a.Subject != clientID:
			t.Errorf("assertion %d iss %q sub %q, want the client id", i, a.Issuer, a.Subject)
		case len(a.Audience) != 1 || a.Audience[0] != e.platform.TokenURL():
			t.Errorf("assertion %d aud %v, want the token URL", i, a.Audience)
		case a.ExpiresAt.Sub(a.IssuedAt) != ags.AssertionLifetime:
			t.Errorf("assertion %d lives %s", i, a.ExpiresAt.Sub(a.IssuedAt))
		case a.Scope != ags.ScoreScope:
			t.Errorf("assertion %d scope %q", i, a.Scope)
		}
	}
	if as[0].JTI == as[1].JTI || len(as[0].JTI) < 32 {
		t.Errorf("jti %q then %q: want unique random ids", as[0].JTI, as[1].JTI)
	}
	if !as[1].IssuedAt.Equal(t0.Add(2 * time.Hour).Truncate(time.Second)) {
		t.Errorf("second assertion iat %s", as[1].IssuedAt)
	}
}

func TestTokenCached(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for range 3 {
		if err := e.client.PostScore(ctx, e.platform.TokenURL(), score(e.platform.LineItemURL("li-1"))); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.platform.TokenRequests(); n != 1 {
		t.Fatalf("%d token requests for 3 scores, want 1", n)
	}
	// Another client id at another platform gets a token of its own.
	other := ltitest.NewAGSService("other-client", e.jwksURL)
	other.Now = e.clock.Now
	t.Cleanup(other.Start().Close)
	s := score(other.LineItemURL("li-9"))
	s.ClientID = "other-client"
	if err := e.client.PostScore(ctx, other.TokenURL(), s); err != nil {
		t.Fatal(err)
	}
	if other.TokenRequests() != 1 || e.platform.TokenRequests() != 1 {
		t.Fatalf("token requests %d and %d, want 1 each", e.platform.TokenRequests(), other.TokenRequests())
	}
	// Renewed shortly before expires_in (an hour), not after.
	for _, step := range []struct {
		by   time.Duration
		want int
	}{{58*time.Minute + 59*time.Second, 1}, {time.Second, 2}} {
		e.clock.Add(step.by)
		if err := e.client.PostScore(ctx, e.platform.TokenURL(), score(e.platform.LineItemURL("li-1"))); err != nil {
			t.Fatal(err)
		}
		if n := e.platform.TokenRequests(); n != step.want {
			t.Fatalf("%d token requests at %s, want %d", n, e.clock.Now().Sub(t0), step.want)
		}
	}
	if n := e.platform.ScoreRequests(); n != 5 {
		t.Fatalf("%d score requests, want 5: none refused", n)
	}
}

func TestScoresURL(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{in: "https://api.example.com/lineitems/7", want: "https://api.example.com/lineitems/7/scores"},
		{in: "https://api.example.com/lineitems/7/", want: "https://api.example.com/lineitems/7/scores"},
		{in: "https://api.onlineacademy.nl/catalog/v1/lti-results/course-version/42/scores", want: "https://api.onlineacademy.nl/catalog/v1/lti-results/course-version/42/scores"},
		{in: "https://lms.example.com/api/lti/courses/1/line_items/2?type_id=3", want: "https://lms.example.com/api/lti/courses/1/line_items/2/scores?type_id=3"},
		{in: "https://lms.example.com/li/2/scores?type_id=3#frag", want: "https://lms.example.com/li/2/scores?type_id=3"},
		{in: "https://lms.example.com/li/a%2Fb", want: "https://lms.example.com/li/a%2Fb/scores"},
		{in: "http://127.0.0.1:8080/li/1", want: "http://127.0.0.1:8080/li/1/scores"},
		{in: "http://lms.example.com/li/1", err: "not https"},
		{in: "https://user:pw@lms.example.com/li/1", err: "credentials"},
		{in: "/li/1", err: "not an absolute URL"},
	} {
		got, err := ags.ScoresURL(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ScoresURL(%q) = %q, %v; want an error with %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ScoresURL(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestScoreBothLineItemForms(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, li := range []string{
		e.platform.LineItemURL("plain"),
		e.platform.ScoresLineItemURL("skillstown"),
		e.platform.LineItemURL("query") + "?type_id=3&x=a%20b",
		e.platform.ScoresLineItemURL("scoresquery") + "?type_id=4",
	} {
		if err := e.client.PostScore(ctx, e.platform.TokenURL(), score(li)); err != nil {
			t.Fatalf("%s: %v", li, err)
		}
	}
	got := e.platform.Scores()
	want := []struct{ item, query string }{{"plain", ""}, {"skillstown", ""}, {"query", "type_id=3&x=a%20b"}, {"scoresquery", "type_id=4"}}
	if len(got) != len(want) {
		t.Fatalf("%d scores arrived, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].LineItem != w.item || got[i].Query != w.query {
			t.Errorf("score %d reached line item %q with query %q, want %q and %q", i, got[i].LineItem, got[i].Query, w.item, w.query)
		}
	}
}

func TestScoreBody(t *testing.T) {
	e := newEnv(t)
	s := score(e.platform.LineItemURL("li"))
	s.Timestamp = time.Date(2026, 12, 1, 11, 30, 0, 0, time.FixedZone("CET", 3600)) // whole second, not UTC
	if err := e.client.PostScore(context.Background(), e.platform.TokenURL(), s); err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(e.platform.Scores()[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"userId": "user-12345", "activityProgress": "Completed", "gradingProgress": "FullyGraded",
		"scoreGiven": 8.0, "scoreMaximum": 10.0, "timestamp": "2026-12-01T11:30:00.000+01:00", "comment": "Passed",
	}
	if len(body) != len(want) {
		t.Errorf("body %v, want exactly %v", body, want)
	}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("%s = %v, want %v", k, body[k], v)
		}
	}

	// At the start of an attempt: no score yet, nothing optional sent.
	s = score(e.platform.LineItemURL("li"))
	s.ActivityProgress, s.GradingProgress, s.ScoreGiven, s.ScoreMaximum, s.Comment = "InProgress", "Pending", nil, 0, ""
	if err := e.client.PostScore(context.Background(), e.platform.TokenURL(), s); err != nil {
		t.Fatal(err)
	}
	if got := string(e.platform.Scores()[1].Body); got != `{"userId":"user-12345","activityProgress":"InProgress","gradingProgress":"Pending","timestamp":"2026-12-01T10:00:00.123+00:00"}` {
		t.Errorf("in-progress body %s", got)
	}
}

func TestScore401RefreshesTokenOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	li := e.platform.LineItemURL("li")
	if err := e.client.PostScore(ctx, e.platform.TokenURL(), score(li)); err != nil {
		t.Fatal(err)
	}
	// The platform drops its tokens before expires_in: one 401, a new
	// token, and the score goes through.
	e.platform.ExpireTokens()
	if err := e.client.PostScore(ctx, e.platform.TokenURL(), score(li)); err != nil {
		t.Fatalf("after a 401: %v", err)
	}
	if tr, sr, n := e.platform.TokenRequests(), e.platform.ScoreRequests(), len(e.platform.Scores()); tr != 2 || sr != 3 || n != 2 {
		t.Fatalf("token requests %d, score requests %d, scores %d; want 2, 3, 2", tr, sr, n)
	}
	// Refused again with the new token: an error for the worker, no loop.
	e.platform.FailScores(http.StatusUnauthorized, 2, "")
	err := e.client.PostScore(ctx, e.platform.TokenURL(), score(li))
	var later *examgate.RetryLater
	if !errors.As(err, &later) || later.After != ags.DefaultConfigRetry || !strings.Contains(err.Error(), "HTTP 401") {
		t.Fatalf("second 401: %v; want a retry after %s", err, ags.DefaultConfigRetry)
	}
	if tr, sr := e.platform.TokenRequests(), e.platform.ScoreRequests(); tr != 3 || sr != 5 {
		t.Fatalf("token requests %d, score requests %d; want 3 and 5", tr, sr)
	}
	// The next score starts with a new token, not the refused one.
	if err := e.client.PostScore(ctx, e.platform.TokenURL(), score(li)); err != nil {
		t.Fatal(err)
	}
	if tr := e.platform.TokenRequests(); tr != 4 {
		t.Fatalf("token requests %d, want 4", tr)
	}
}

func TestScoreErrorClasses(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name  string
		setup func(e *env)
		check func(t *testing.T, err error)
	}{
		{"score 429 waits Retry-After", func(e *env) { e.platform.FailScores(429, 1, "7") }, retryAfter(7 * time.Second)},
		{"score 429 without Retry-After waits a minute", func(e *env) { e.platform.FailScores(429, 1, "") }, retryAfter(time.Minute)},
		{"score 500 retried with backoff", func(e *env) { e.platform.FailScores(500, 1, "") }, plain("HTTP 500")},
		{"score 503 retried with backoff", func(e *env) { e.platform.FailScores(503, 1, "") }, plain("HTTP 503")},
		{"score 408 retried with backoff", func(e *env) { e.platform.FailScores(408, 1, "") }, plain("HTTP 408")},
		{"score 425 retried with backoff", func(e *env) { e.platform.FailScores(425, 1, "") }, plain("HTTP 425")},
		{"score 400 permanent with the platform's message", func(e *env) { e.platform.FailScores(400, 1, "") }, permanent("simulated failure (HTTP 400)")},
		{"score 404 permanent", func(e *env) { e.platform.FailScores(404, 1, "") }, permanent("HTTP 404")},
		{"score 403 is configuration", func(e *env) { e.platform.FailScores(403, 1, "") }, retryAfter(ags.DefaultConfigRetry)},
		{"token 500 retried with backoff", func(e *env) { e.platform.FailTokens(500, 1, "") }, plain("answered HTTP 500 to the token request")},
		{"token 429 waits Retry-After", func(e *env) { e.platform.FailTokens(429, 1, "30") }, retryAfter(30 * time.Second)},
		{"token 400 permanent", func(e *env) { e.platform.FailTokens(400, 1, "") }, permanent("refused the token request (HTTP 400)")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			c.setup(e)
			c.check(t, e.client.PostScore(ctx, e.platform.TokenURL(), score(e.platform.LineItemURL("li"))))
			if len(e.platform.Scores()) != 0 {
				t.Fatal("a score arrived despite the failure")
			}
			// The worker's next attempt goes through.
			if err := e.client.PostScore(ctx, e.platform.TokenURL(), score(e.platform.LineItemURL("li"))); err != nil {
				t.Fatalf("next attempt: %v", err)
			}
		})
	}
}

func TestTokenRefusedClient(t *testing.T) {
	e := newEnv(t)
	// The platform does not know this client id: its message reaches the
	// job, and the job waits for the registration to be fixed.
	s := score(e.platform.LineItemURL("li"))
	s.ClientID = "unknown-client"
	err := e.client.PostScore(context.Background(), e.platform.TokenURL(), s)
	var later *examgate.RetryLater
	if !errors.As(err, &later) || later.After != ags.DefaultConfigRetry || !strings.Contains(err.Error(), "invalid_client") || !strings.Contains(err.Error(), "issuer") {
		t.Fatalf("unknown client: %v", err)
	}
	// A token URL on plain http elsewhere is never asked.
	err = e.client.PostScore(context.Background(), "http://platform.example.com/token", score(e.platform.LineItemURL("li")))
	if !errors.As(err, &later) || !strings.Contains(err.Error(), "not https") {
		t.Fatalf("http token URL: %v", err)
	}
	// A bad score never leaves.
	bad := score(e.platform.LineItemURL("li"))
	bad.UserID = ""
	var perm *examgate.PermanentError
	if err := e.client.PostScore(context.Background(), e.platform.TokenURL(), bad); !errors.As(err, &perm) {
		t.Fatalf("score without user: %v", err)
	}
	if e.platform.ScoreRequests() != 0 {
		t.Fatal("the platform received a score")
	}
}

func TestKeyRotation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	old, err := e.keys.Signing(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Token(ctx, e.platform.TokenURL(), clientID, ags.ScoreScope); err != nil {
		t.Fatal(err)
	}
	newKID, err := e.keys.Rotate(ctx)
	if err != nil || newKID == old.KID {
		t.Fatalf("rotate: %q, %v", newKID, err)
	}
	if got := jwksKids(t, e.jwksURL); strings.Join(got, ",") != newKID+","+old.KID {
		t.Fatalf("JWKS during rotation lists %v, want the new key then the old", got)
	}
	// The new key signs; the platform meets an unknown kid, fetches the
	// JWKS again and verifies.
	e.clock.Add(2 * time.Hour)
	if _, err := e.client.Token(ctx, e.platform.TokenURL(), clientID, ags.ScoreScope); err != nil {
		t.Fatal(err)
	}
	// An assertion signed with the old key (one in flight at the rotation)
	// still verifies.
	oldClient := ags.NewClient(fixedSigner{old}, e.clock)
	if _, err := oldClient.Token(ctx, e.platform.TokenURL(), clientID, ags.ScoreScope); err != nil {
		t.Fatalf("old key during rotation: %v", err)
	}
	as := e.platform.Assertions()
	if len(as) != 3 || as[0].KID != old.KID || as[1].KID != newKID || as[2].KID != old.KID {
		t.Fatalf("assertions %+v", as)
	}
	if n := e.platform.JWKSFetches(); n != 2 {
		t.Fatalf("%d JWKS fetches, want 2 (first use, unknown kid)", n)
	}

	// After the overlap the old key is gone from the JWKS, and a platform
	// that has not cached it refuses it.
	e.clock.Add(ags.DefaultOverlap)
	if got := jwksKids(t, e.jwksURL); len(got) != 1 || got[0] != newKID {
		t.Fatalf("JWKS after the overlap lists %v", got)
	}
	fresh := ltitest.NewAGSService(clientID, e.jwksURL)
	fresh.Now = e.clock.Now
	t.Cleanup(fresh.Start().Close)
	if _, err := oldClient.Token(ctx, fresh.TokenURL(), clientID, ags.ScoreScope); err == nil || !strings.Contains(err.Error(), "not in the tool's JWKS") {
		t.Fatalf("old key after the overlap: %v", err)
	}
}

type fixedSigner struct{ k ags.SigningKey }

func (f fixedSigner) Signing(context.Context) (ags.SigningKey, error) { return f.k, nil }

func jwksKids(t *testing.T, u string) []string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if _, ok := k[private]; ok {
				t.Fatalf("JWKS publishes the private member %q", private)
			}
		}
		if k["kty"] != "RSA" || k["alg"] != "RS256" || k["use"] != "sig" {
			t.Fatalf("JWKS key %v", k)
		}
		kids = append(kids, k["kid"].(string))
	}
	return kids
}

func retryAfter(d time.Duration) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var later *examgate.RetryLater
		if !errors.As(err, &later) || later.After != d {
			t.Fatalf("%v; want a retry after %s", err, d)
		}
	}
}

func plain(msg string) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var later *examgate.RetryLater
		var perm *examgate.PermanentError
		if err == nil || errors.As(err, &later) || errors.As(err, &perm) || !strings.Contains(err.Error(), msg) {
			t.Fatalf("%v; want a plain error with %q", err, msg)
		}
	}
}

func permanent(msg string) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var perm *examgate.PermanentError
		if !errors.As(err, &perm) || !strings.Contains(err.Error(), msg) {
			t.Fatalf("%v; want a permanent error with %q", err, msg)
		}
	}
}

// With only the line items container, the line item is the resource
// link's, else an unowned one of the exam, else a new one.
func TestLineItemFoundOrCreated(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	job := func(link string) examgate.LTIScoreJob {
		s := score("")
		s.LineItemsURL, s.ResourceLinkID, s.ResourceID, s.Label, s.LineItemMaximum = e.platform.LineItemsURL(), link, "DEMO-101", "Demo exam", 12
		return s
	}
	mine := e.platform.AddLineItem(ltitest.AGSLineItem{ScoreMaximum: 10, Label: "Made by the teacher", ResourceLinkID: "rl-1"})
	e.platform.AddLineItem(ltitest.AGSLineItem{ScoreMaximum: 10, Label: "Another link's", ResourceID: "DEMO-101", ResourceLinkID: "rl-9"})
	if got, err := e.client.LineItem(ctx, e.platform.TokenURL(), job("rl-1")); err != nil || got != mine.ID {
		t.Fatalf("by resource link: %q, %v; want %q", got, err, mine.ID)
	}
	unowned := e.platform.AddLineItem(ltitest.AGSLineItem{ScoreMaximum: 10, Label: "For the exam", ResourceID: "DEMO-101"})
	if got, err := e.client.LineItem(ctx, e.platform.TokenURL(), job("rl-2")); err != nil || got != unowned.ID {
		t.Fatalf("by resource id: %q, %v; want %q", got, err, unowned.ID)
	}
	e.platform.AddLineItem(ltitest.AGSLineItem{}) // noise
	j := job("rl-3")
	j.ResourceID = "OTHER"
	got, err := e.client.LineItem(ctx, e.platform.TokenURL(), j)
	items := e.platform.LineItems()
	last := items[len(items)-1]
	if err != nil || got != last.ID || last.ScoreMaximum != 12 || last.Label != "Demo exam" || last.ResourceLinkID != "rl-3" ||
		last.ResourceID != "OTHER" || last.Tag != ags.LineItemTag {
		t.Fatalf("created: %q, %v; line items %+v", got, err, items)
	}
	// The score then goes to it.
	j.LineItemURL = got
	if err := e.client.PostScore(ctx, e.platform.TokenURL(), j); err != nil {
		t.Fatal(err)
	}
	if sc := e.platform.Scores(); len(sc) != 1 || !strings.HasSuffix(got, "/"+sc[0].LineItem) {
		t.Fatalf("score went to %+v, want %s", sc, got)
	}
}
