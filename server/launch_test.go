package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
	"github.com/examgate/examgate/server"
	"github.com/examgate/examgate/tiapi"
	"github.com/examgate/examgate/tiapi/titest"
	"github.com/golang-jwt/jwt/v5"
)

const (
	secretA = "secret-a"
	secretB = "secret-b"
	apiKey  = "ti-key"
	course  = "course-101"
)

var (
	now       = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	purchased = time.Date(2026, 11, 1, 15, 30, 0, 0, time.UTC)
)

const catalogYAML = `
exams:
  - code: DEMO-101
    title: Demo Certification Exam
    eligibilityDays: 90
    ti: {courseIds: [course-101], courseSlug: demo-course, assignmentId: 9b1d5e2a-7c4f-4a8e-b3d6-0f1e2d3c4b5a}
  - code: OTHER-1
    title: Other Exam
    eligibilityDays: 30
    ti: {courseIds: [course-other]}
  - code: QUIZ-1
    title: Preview Quiz
    eligibilityDays: 30
    ti: {courseIds: [course-101]}
    delivery:
      onDemand: true
      durationMinutes: 5
      passMark: 50
      items:
        - {id: q1, type: truefalse, stem: "Ice is **cold**.", correct: ["true"]}
        - {id: q2, type: single, stem: "Two plus two?", options: [{id: a, text: "3"}, {id: b, text: "4"}], correct: [b]}
`

// env is one examgate server under test with a fake TI behind it.
type env struct {
	t      *testing.T
	store  *db.DB
	ti     *titest.Server
	url    string
	logs   *syncBuffer
	tiUser titest.User
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t *testing.T, store *db.DB) *env {
	t.Helper()
	return newEnvWithCatalog(t, store, catalogYAML, nil)
}

// newEnvWithCatalog starts examgate on catalogSource against a fake TI;
// set, when not nil, adjusts the server's Deps first.
func newEnvWithCatalog(t *testing.T, store *db.DB, catalogSource string, set func(*server.Deps)) *env {
	t.Helper()
	fake := titest.New(apiKey)
	tiSrv := httptest.NewServer(fake)
	t.Cleanup(tiSrv.Close)
	user := fake.AddUser(titest.User{Email: "ada@example.com", ExternalCustomerID: "cust-1", FirstName: "Ada", LastName: "Lovelace"})
	fake.AddPurchase(titest.Purchase{UserID: user.ID, CourseID: course, Time: purchased})

	catalog, err := examgate.ParseCatalog([]byte(catalogSource))
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	logger := slog.New(server.LogHandler{Handler: slog.NewJSONHandler(logs, nil)})
	clock := examgate.ClockFunc(func() time.Time { return now })
	client := tiapi.NewClient(tiSrv.URL, apiKey)
	client.Sleep = func(context.Context, time.Duration) error { return nil }
	base, _ := url.Parse("http://examgate.test")
	attempts := &examgate.Attempts{Store: store, Catalog: catalog, Clock: clock, Logger: logger}
	deps := server.Deps{
		BaseURL: base, Store: store, Catalog: catalog, Clock: clock, Logger: logger,
		Verifier: tiapi.NewLaunchVerifier([]string{secretA, secretB}, 500*time.Second, clock),
		Launcher: &examgate.Launcher{Store: store, TI: client, Catalog: catalog, Clock: clock, Logger: logger, ReplayWindow: 1000 * time.Second},
		Bookings: &examgate.Bookings{Store: store, Catalog: catalog, Clock: clock, Logger: logger, Attempts: attempts},
		Attempts: attempts,
	}
	if set != nil {
		set(&deps)
	}
	hs := httptest.NewServer(server.New(deps))
	t.Cleanup(hs.Close)
	return &env{t: t, store: store, ti: fake, url: hs.URL, logs: logs, tiUser: user}
}

func (e *env) token(mut func(*titest.LaunchToken)) string {
	e.t.Helper()
	c := titest.LaunchToken{
		Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace",
		ExternalCustomerID: "cust-1", CourseID: course, IssuedAt: now.Add(-10 * time.Second),
	}
	if mut != nil {
		mut(&c)
	}
	tok, err := titest.SignLaunch(secretA, c)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// browser is a client with a cookie jar that does not follow redirects.
func (e *env) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (e *env) launch(c *http.Client, exam, token string) (*http.Response, string) {
	e.t.Helper()
	resp, err := c.Get(titest.LaunchURL(e.url, exam, token))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

type gqlResponse struct {
	Data   map[string]json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

func (e *env) graphql(c *http.Client, query string) gqlResponse {
	e.t.Helper()
	return e.graphqlWith(c, query, nil)
}

// graphqlWith is graphql, handing the response to seen before decoding.
func (e *env) graphqlWith(c *http.Client, query string, seen func(*http.Response)) gqlResponse {
	e.t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	req, _ := http.NewRequest(http.MethodPost, e.url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if seen != nil {
		seen(resp)
	}
	var out gqlResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		e.t.Fatalf("graphql: status %d: %v", resp.StatusCode, err)
	}
	return out
}

func (e *env) rows() map[string]int {
	e.t.Helper()
	out := map[string]int{}
	for _, table := range []string{"candidates", "eligibilities", "sessions", "used_launch_tokens"} {
		var n int
		if err := e.store.Bun().QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
			e.t.Fatal(err)
		}
		out[table] = n
	}
	return out
}

func TestLaunch(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store)
		b := e.browser()
		tok := e.token(nil)
		resp, _ := e.launch(b, "DEMO-101", tok)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/exams/DEMO-101" {
			t.Fatalf("status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		var cookie *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == server.SessionCookie {
				cookie = c
			}
		}
		if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure {
			t.Fatalf("cookie = %+v", cookie)
		}

		got := e.graphql(b, `{ me { email firstName lastName externalId } exam(code: "DEMO-101") { title }
			eligibility(examCode: "DEMO-101") { purchasedAt endsAt active } bookings(examCode: "DEMO-101") { id } }`)
		if len(got.Errors) > 0 {
			t.Fatalf("errors: %+v", got.Errors)
		}
		want := map[string]string{
			"me":          `{"email":"ada@example.com","firstName":"Ada","lastName":"Lovelace","externalId":"cust-1"}`,
			"exam":        `{"title":"Demo Certification Exam"}`,
			"eligibility": `{"purchasedAt":"2026-11-01T15:30:00Z","endsAt":"2027-01-30T15:30:00Z","active":true}`,
			"bookings":    `[]`,
		}
		for k, v := range want {
			if string(got.Data[k]) != v {
				t.Errorf("%s = %s, want %s", k, got.Data[k], v)
			}
		}
		// The token never reaches a log line.
		if strings.Contains(e.logs.String(), tok) || strings.Contains(e.logs.String(), tok[len(tok)-20:]) {
			t.Fatal("the launch token appears in the logs")
		}
		// TI was asked for the user by email, then for purchases of the course.
		calls := e.ti.Calls()
		if len(calls) != 2 || calls[0].Path != "/incoming/v2/users/ada@example.com" || calls[1].Path != "/incoming/v2/events/coursePurchase" {
			t.Fatalf("TI calls = %+v", calls)
		}
	})
}

// The customer's document describes a token with email, name and
// course_id: such a learner gets in and is shown by that name.
func TestLaunchWithWholeNameAndCourseID(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store)
		b := e.browser()
		tok := e.token(func(c *titest.LaunchToken) {
			c.FirstName, c.LastName, c.Name, c.SnakeCourseID = "", "", "Aroha Te Whata Ngata", true
			c.AssignmentID = "assignment-7" // not a UUID: TI would refuse results for it
		})
		if resp, body := e.launch(b, "DEMO-101", tok); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("launch = %d %s", resp.StatusCode, body)
		}
		got := e.graphql(b, `{ me { name firstName lastName } }`)
		if len(got.Errors) > 0 || string(got.Data["me"]) != `{"name":"Aroha Te Whata Ngata","firstName":"","lastName":""}` {
			t.Fatalf("me = %s %+v", got.Data["me"], got.Errors)
		}
		var assignment string
		if err := store.Bun().QueryRow("SELECT assignment_id FROM eligibilities").Scan(&assignment); err != nil || assignment != "" {
			t.Fatalf("stored assignment = %q, %v; want the catalog's to be used", assignment, err)
		}
		if !strings.Contains(e.logs.String(), "assignmentId is not a UUID") {
			t.Fatalf("no warning about the assignment id in the logs:\n%s", e.logs.String())
		}

		// A later launch with first and last names shows those.
		b2 := e.browser()
		e.launch(b2, "DEMO-101", e.token(nil))
		if got := e.graphql(b2, `{ me { name } }`); string(got.Data["me"]) != `{"name":"Ada Lovelace"}` {
			t.Fatalf("me = %s", got.Data["me"])
		}
	})
}

// A new launch ends the learner's earlier sessions in the same browser
// family, and leaves those of another browser.
func TestRelaunchEndsEarlierSessionsOfTheBrowser(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store)
		first, again, firefox := e.browser(), e.browser(), e.browser()
		firefox.Transport = userAgent{"Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0"}
		e.launch(first, "DEMO-101", e.token(nil))
		e.launch(firefox, "DEMO-101", e.token(func(c *titest.LaunchToken) { c.IssuedAt = c.IssuedAt.Add(time.Second) }))
		e.launch(again, "DEMO-101", e.token(func(c *titest.LaunchToken) { c.IssuedAt = c.IssuedAt.Add(2 * time.Second) }))
		for name, c := range map[string]*http.Client{"the relaunch": again, "another browser": firefox} {
			if got := e.graphql(c, `{ me { email } }`); string(got.Data["me"]) != `{"email":"ada@example.com"}` {
				t.Fatalf("%s: me = %s %+v", name, got.Data["me"], got.Errors)
			}
		}
		if got := e.graphql(first, `{ me { email } }`); string(got.Data["me"]) != "null" {
			t.Fatalf("the session the relaunch replaced: me = %s", got.Data["me"])
		}
	})
}

// A session unused for longer than the idle timeout reads as signed out
// (me is null, no error): not an outage, which the app would retry.
func TestIdleSessionIsSignedOut(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		store.SetSessionIdle(30 * time.Minute)
		var later atomic.Int64 // how far the server's clock is past now
		e := newEnvWithCatalog(t, store, catalogYAML, func(d *server.Deps) {
			d.Clock = examgate.ClockFunc(func() time.Time { return now.Add(time.Duration(later.Load())) })
		})
		ada := e.browser()
		e.launch(ada, "DEMO-101", e.token(nil))
		later.Store(int64(29 * time.Minute))
		if got := e.graphql(ada, `{ me { email } }`); string(got.Data["me"]) != `{"email":"ada@example.com"}` {
			t.Fatalf("in use: me = %s %+v", got.Data["me"], got.Errors)
		}
		later.Add(int64(30 * time.Minute))
		if got := e.graphql(ada, `{ me { email } }`); string(got.Data["me"]) != "null" || len(got.Errors) != 0 {
			t.Fatalf("idle for 30 minutes: me = %s %+v", got.Data["me"], got.Errors)
		}
	})
}

func TestLaunchSecondSecretAndTIUserID(t *testing.T) {
	e := newEnv(t, dbtest.OpenSQLite(t))
	claims := jwt.MapClaims{"email": "ada@example.com", "course_id": course, "userId": e.tiUser.ID, "iat": now.Unix()}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secretB))
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := e.launch(e.browser(), "DEMO-101", tok); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	// With TI's user id in the token, examgate does not look the user up.
	for _, c := range e.ti.Calls() {
		if strings.HasPrefix(c.Path, "/incoming/v2/users/") {
			t.Fatalf("unneeded user lookup: %+v", c)
		}
	}
}

func TestLaunchNewestPurchaseWins(t *testing.T) {
	e := newEnv(t, dbtest.OpenSQLite(t))
	e.ti.PageSize = 1
	e.ti.AddPurchase(titest.Purchase{UserID: e.tiUser.ID, CourseID: course, Time: purchased.AddDate(0, 0, 5)})
	e.ti.AddPurchase(titest.Purchase{UserID: e.tiUser.ID, CourseID: course, Time: purchased.AddDate(0, 0, -40)})
	b := e.browser()
	if resp, body := e.launch(b, "DEMO-101", e.token(nil)); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	got := e.graphql(b, `{ eligibility(examCode: "DEMO-101") { endsAt } }`)
	if string(got.Data["eligibility"]) != `{"endsAt":"2027-02-04T15:30:00Z"}` {
		t.Fatalf("eligibility = %s", got.Data["eligibility"])
	}
}

func TestLaunchRateLimitedThenServed(t *testing.T) {
	e := newEnv(t, dbtest.OpenSQLite(t))
	e.ti.FailNext(2, http.StatusTooManyRequests, "1")
	if resp, body := e.launch(e.browser(), "DEMO-101", e.token(nil)); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
}

// A TI that does not answer costs the learner the launch's TI budget, not
// the browser's patience, and does not use up their link: once TI answers,
// the same link gets them in.
func TestLaunchTIBudgetKeepsTheLink(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		const budget = 300 * time.Millisecond
		e := newEnvWithCatalog(t, store, catalogYAML, func(d *server.Deps) {
			d.Launcher.TIBudget = budget
			d.Launcher.TI.(*tiapi.Client).HTTP.Timeout = 0 // only the budget ends the wait
		})
		tok := e.token(nil)
		release := e.ti.Hold()
		start := time.Now()
		resp, body := e.launch(e.browser(), "DEMO-101", tok)
		took := time.Since(start)
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "try again in a minute") {
			t.Fatalf("launch while TI hangs = %d %s", resp.StatusCode, body)
		}
		if took < budget {
			t.Fatalf("answered after %s, before the budget ran out", took)
		}
		if rows := e.rows(); rows["used_launch_tokens"] != 0 || rows["sessions"] != 0 || rows["candidates"] != 0 {
			t.Fatalf("a launch that timed out wrote %v", rows)
		}
		release()
		if resp, body := e.launch(e.browser(), "DEMO-101", tok); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("same link after TI recovered = %d %s", resp.StatusCode, body)
		}
	})
}

// Rate limited for longer than the budget: "try again" at once, without
// waiting out a Retry-After the browser would not outlive.
func TestLaunchLongRetryAfterFailsFast(t *testing.T) {
	e := newEnvWithCatalog(t, dbtest.OpenSQLite(t), catalogYAML, func(d *server.Deps) { d.Launcher.TIBudget = 2 * time.Second })
	e.ti.FailNext(1, http.StatusTooManyRequests, "5")
	tok := e.token(nil)
	if resp, body := e.launch(e.browser(), "DEMO-101", tok); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("launch = %d %s", resp.StatusCode, body)
	}
	if resp, body := e.launch(e.browser(), "DEMO-101", tok); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("same link afterwards = %d %s", resp.StatusCode, body)
	}
}

// GraphQL answers can hold a learner's email: no cache keeps them, GET
// queries included; over https, browsers are told to stay on https.
func TestGraphQLNoStoreAndHSTS(t *testing.T) {
	e := newEnvWithCatalog(t, dbtest.OpenSQLite(t), catalogYAML, func(d *server.Deps) {
		d.BaseURL, _ = url.Parse("https://exams.example.com")
	})
	resp, err := http.Get(e.url + "/graphql?query=" + url.QueryEscape("{ __typename }"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Strict-Transport-Security") != "max-age=31536000" {
		t.Fatalf("headers %v", resp.Header)
	}
	plain := newEnv(t, dbtest.OpenSQLite(t))
	resp, err = http.Get(plain.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Strict-Transport-Security") != "" {
		t.Fatal("HSTS over plain http")
	}
}

// /readyz says which check failed: the database, or a job worker whose
// loop stopped turning; /healthz stays liveness.
func TestReadiness(t *testing.T) {
	store := dbtest.OpenSQLite(t)
	var workerStopped atomic.Bool
	e := newEnvWithCatalog(t, store, catalogYAML, func(d *server.Deps) { d.WorkerAlive = func() bool { return !workerStopped.Load() } })
	get := func(path string) (int, string) {
		resp, err := http.Get(e.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// (SQLite has one connection: no pool line.)
	if code, body := get("/readyz"); code != 200 || body != "migrations: ok\ndatabase: ok\njob worker: ok\n" {
		t.Fatalf("ready: %d %q", code, body)
	}
	workerStopped.Store(true)
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "job worker: FAIL") || !strings.Contains(body, "database: ok") {
		t.Fatalf("worker stopped: %d %q", code, body)
	}
	workerStopped.Store(false)
	_ = store.Close()
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "database: FAIL") {
		t.Fatalf("database closed: %d %q", code, body)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Fatalf("liveness failed with the database: %d", code)
	}
}

func rs256Token(t *testing.T) string {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"email": "ada@example.com", "courseId": course, "iat": now.Unix()}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestLaunchRefusals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store)
		// A candidate who owns other@example.com under another external id.
		other := e.ti.AddUser(titest.User{Email: "other@example.com", ExternalCustomerID: "cust-2"})
		e.ti.AddPurchase(titest.Purchase{UserID: other.ID, CourseID: course, Time: purchased})
		if resp, body := e.launch(e.browser(), "DEMO-101", e.token(func(c *titest.LaunchToken) {
			c.Email, c.ExternalCustomerID = "other@example.com", "cust-2"
		})); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("setup launch: %d %s", resp.StatusCode, body)
		}
		used := e.token(func(c *titest.LaunchToken) {
			c.Email, c.ExternalCustomerID = "other@example.com", "cust-2"
			c.FirstName = "again"
		})
		if resp, _ := e.launch(e.browser(), "DEMO-101", used); resp.StatusCode != http.StatusSeeOther {
			t.Fatal("setup launch refused")
		}
		hs512, _ := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims{"email": "ada@example.com", "courseId": course, "iat": now.Unix()}).SignedString([]byte(secretA))
		none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"email": "ada@example.com", "courseId": course, "iat": now.Unix()}).SignedString(jwt.UnsafeAllowNoneSignatureType)
		wrong, _ := titest.SignLaunch("not-the-secret", titest.LaunchToken{Email: "ada@example.com", CourseID: course, IssuedAt: now})

		cases := []struct {
			name   string
			exam   string
			token  string
			before func()
			status int
			text   string
		}{
			{name: "wrong secret", token: wrong, status: 401, text: "could not be verified"},
			{name: "alg none", token: none, status: 401, text: "could not be verified"},
			{name: "HS512", token: hs512, status: 401, text: "could not be verified"},
			{name: "RS256", token: rs256Token(t), status: 401, text: "could not be verified"},
			{name: "iat too old", token: e.token(func(c *titest.LaunchToken) { c.IssuedAt = now.Add(-501 * time.Second) }), status: 401, text: "This link has expired. Go back to your course and open the exam again."},
			{name: "iat in the future", token: e.token(func(c *titest.LaunchToken) { c.IssuedAt = now.Add(501 * time.Second) }), status: 401, text: "not valid yet"},
			{name: "expired exp", token: e.token(func(c *titest.LaunchToken) { c.ExpiresAt = now.Add(-time.Second) }), status: 401, text: "expired"},
			{name: "replay", token: used, status: 401, text: "already been used"},
			// Base64 decoders skip CR and LF: such a copy must not pass for
			// a new link.
			{name: "replay with a newline after", token: used + "\n", status: 400, text: "link"},
			{name: "replay with CR LF in the signature", token: used[:len(used)-4] + "\r\n" + used[len(used)-4:], status: 400, text: "link"},
			{name: "missing email", token: e.token(func(c *titest.LaunchToken) { c.Email = "" }), status: 400, text: "email"},
			{name: "missing course id", token: e.token(func(c *titest.LaunchToken) { c.CourseID = "" }), status: 400, text: "course"},
			{name: "course not listed for exam", exam: "OTHER-1", token: e.token(nil), status: 403, text: "not part of the course"},
			{name: "unknown exam", exam: "NOPE-1", token: e.token(nil), status: 404, text: "not available"},
			{name: "malformed token", token: "not.a-token", status: 400, text: "link"},
			{name: "token over 8 KiB", token: strings.Repeat("a", 9000), status: 400, text: "link"},
			{name: "no token", token: "", status: 400, text: "incomplete"},
			{name: "email of another learner", token: e.token(func(c *titest.LaunchToken) { c.Email = "other@example.com" }), status: 409, text: "already belongs to another learner"},
			{name: "no purchase", token: e.token(func(c *titest.LaunchToken) { c.Email, c.ExternalCustomerID = "new@example.com", "cust-9" }),
				before: func() { e.ti.AddUser(titest.User{Email: "new@example.com"}) }, status: 403, text: "could not find a purchase"},
			{name: "TI down, no stored window", token: e.token(nil), before: func() { e.ti.SetDown(true) }, status: 503, text: "try again in a minute"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if tc.before != nil {
					tc.before()
				}
				t.Cleanup(func() { e.ti.SetDown(false) })
				exam := tc.exam
				if exam == "" {
					exam = "DEMO-101"
				}
				before := e.rows()
				resp, body := e.launch(e.browser(), exam, tc.token)
				if resp.StatusCode != tc.status {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
				}
				if !strings.Contains(body, tc.text) {
					t.Errorf("page does not say %q:\n%s", tc.text, body)
				}
				if len(resp.Cookies()) > 0 {
					t.Errorf("refusal set a cookie: %v", resp.Cookies())
				}
				// The page's reference is the request id, found on a log line.
				id := resp.Header.Get("X-Request-Id")
				if id == "" || !strings.Contains(body, id) {
					t.Errorf("page lacks reference %q", id)
				}
				if !regexp.MustCompile(`"request_id":"` + id + `"[^\n]*|[^\n]*"request_id":"` + id + `"`).MatchString(e.logs.String()) {
					t.Errorf("no log line with request id %s", id)
				}
				if tc.token != "" && len(tc.token) > 20 && strings.Contains(e.logs.String(), tc.token) {
					t.Error("token in logs")
				}
				if after := e.rows(); !equalRows(before, after) {
					t.Errorf("refusal wrote rows: before %v after %v", before, after)
				}
			})
		}
	})
}

func equalRows(a, b map[string]int) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return len(a) == len(b)
}

func TestLaunchUsesStoredWindowWhenTIIsDown(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store)
		if resp, body := e.launch(e.browser(), "DEMO-101", e.token(nil)); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("first launch: %d %s", resp.StatusCode, body)
		}
		e.ti.SetDown(true)
		b := e.browser()
		resp, body := e.launch(b, "DEMO-101", e.token(func(c *titest.LaunchToken) { c.FirstName = "Ada2" }))
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("launch with TI down: %d %s", resp.StatusCode, body)
		}
		got := e.graphql(b, `{ me { firstName } eligibility(examCode: "DEMO-101") { endsAt } }`)
		if string(got.Data["eligibility"]) != `{"endsAt":"2027-01-30T15:30:00Z"}` || string(got.Data["me"]) != `{"firstName":"Ada2"}` {
			t.Fatalf("data = %s %s", got.Data["me"], got.Data["eligibility"])
		}
		if !strings.Contains(e.logs.String(), "using the stored eligibility window") {
			t.Fatal("fallback not logged")
		}
	})
}

func TestGraphQLAuthorization(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store)
		bob := e.ti.AddUser(titest.User{Email: "bob@example.com", ExternalCustomerID: "cust-bob"})
		e.ti.AddPurchase(titest.Purchase{UserID: bob.ID, CourseID: course, Time: purchased.AddDate(0, 0, 3)})
		ada, bobB := e.browser(), e.browser()
		e.launch(ada, "DEMO-101", e.token(nil))
		e.launch(bobB, "DEMO-101", e.token(func(c *titest.LaunchToken) {
			c.Email, c.ExternalCustomerID, c.FirstName = "bob@example.com", "cust-bob", "Bob"
		}))

		q := `{ me { email } eligibility(examCode: "DEMO-101") { endsAt } }`
		if got := e.graphql(ada, q); string(got.Data["me"]) != `{"email":"ada@example.com"}` || string(got.Data["eligibility"]) != `{"endsAt":"2027-01-30T15:30:00Z"}` {
			t.Fatalf("ada sees %s %s", got.Data["me"], got.Data["eligibility"])
		}
		if got := e.graphql(bobB, q); string(got.Data["me"]) != `{"email":"bob@example.com"}` || string(got.Data["eligibility"]) != `{"endsAt":"2027-02-02T15:30:00Z"}` {
			t.Fatalf("bob sees %s %s", got.Data["me"], got.Data["eligibility"])
		}

		anon := e.graphql(e.browser(), `{ me { email } eligibility(examCode: "DEMO-101") { endsAt } }`)
		if string(anon.Data["me"]) != "null" || len(anon.Errors) != 1 || anon.Errors[0].Extensions["code"] != examgate.EUNAUTHORIZED {
			t.Fatalf("anonymous: %s %+v", anon.Data["me"], anon.Errors)
		}
		// A forged cookie is no session.
		u, _ := url.Parse(e.url)
		forged := e.browser()
		forged.Jar.SetCookies(u, []*http.Cookie{{Name: server.SessionCookie, Value: "forged"}})
		if got := e.graphql(forged, `{ me { email } }`); string(got.Data["me"]) != "null" {
			t.Fatalf("forged cookie: %s", got.Data["me"])
		}
	})
}

// A session that cannot be read for a database failure is not reported as
// ended (which would send the learner back to the course): they are told to
// try again.
func TestSessionReadFailureIsUnavailable(t *testing.T) {
	var down atomic.Bool
	e := newEnvWithCatalog(t, dbtest.OpenSQLite(t), catalogYAML, func(d *server.Deps) {
		d.Store = &sessionsDown{Store: d.Store, down: &down}
	})
	ada := e.browser()
	e.launch(ada, "DEMO-101", e.token(nil))
	q := `{ eligibility(examCode: "DEMO-101") { endsAt } }`
	down.Store(true)
	got := e.graphql(ada, q)
	if len(got.Errors) != 1 || got.Errors[0].Extensions["code"] != examgate.EUNAVAILABLE ||
		got.Errors[0].Message != "Your session could not be checked just now. Try again in a moment." {
		t.Fatalf("session read failing: %+v", got.Errors)
	}
	// me too: null with no error would tell the app the learner signed out.
	if got := e.graphql(ada, `{ me { id } }`); len(got.Errors) != 1 || got.Errors[0].Extensions["code"] != examgate.EUNAVAILABLE {
		t.Fatalf("me while the session read fails: %s %+v", got.Data["me"], got.Errors)
	}
	down.Store(false)
	if got := e.graphql(ada, q); len(got.Errors) != 0 || string(got.Data["eligibility"]) != `{"endsAt":"2027-01-30T15:30:00Z"}` {
		t.Fatalf("after the failure: %s %+v", got.Data["eligibility"], got.Errors)
	}
}

// sessionsDown fails session reads while down is set.
type sessionsDown struct {
	examgate.Store
	down *atomic.Bool
}

func (s *sessionsDown) SessionByTokenHash(ctx context.Context, hash string, now time.Time) (*examgate.Session, error) {
	if s.down.Load() {
		return nil, examgate.Errorf(examgate.EINTERNAL, "connection refused")
	}
	return s.Store.SessionByTokenHash(ctx, hash, now)
}

func TestGraphQLLimits(t *testing.T) {
	e := newEnv(t, dbtest.OpenSQLite(t))
	b := e.browser()
	e.launch(b, "DEMO-101", e.token(nil))
	// Introspection is off without the playground.
	if got := e.graphql(b, `{ __schema { types { name } } }`); len(got.Errors) == 0 {
		t.Fatal("introspection answered")
	}
	// An alias bomb is refused before it runs.
	bomb := "{" + strings.Repeat(`a: me { email } `, 300) + "}"
	if got := e.graphql(b, bomb); len(got.Errors) == 0 {
		t.Fatal("alias bomb answered")
	}
	// A mutation over GET is refused (GET carries queries only).
	resp, err := b.Get(e.url + "/graphql?query=" + url.QueryEscape(`mutation { setTimeZone(timeZone: "UTC") { email } }`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
		t.Fatalf("mutation over GET: status %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	// A cross-site POST is refused before GraphQL sees it.
	req, _ := http.NewRequest(http.MethodPost, e.url+"/graphql", strings.NewReader(`{"query":"{ me { email } }"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err = b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site POST: status %d", resp.StatusCode)
	}
	// Bodies over the limit are refused.
	big := `{"query":"{ me { email } }","variables":{"x":"` + strings.Repeat("a", 70<<10) + `"}}`
	req, _ = http.NewRequest(http.MethodPost, e.url+"/graphql", strings.NewReader(big))
	req.Header.Set("Content-Type", "application/json")
	resp, err = b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK && !strings.Contains(string(body), "errors") {
		t.Fatalf("oversized body accepted: %d %s", resp.StatusCode, body)
	}
}
