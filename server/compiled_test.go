package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
	"github.com/examgate/examgate/graph"
	"github.com/examgate/examgate/server"
	"github.com/examgate/examgate/tiapi/titest"
)

// answer is what a server sent back, as the browser receives it.
type answer struct {
	status      int
	contentType string
	body        string
}

// twoPaths is one store served twice: by the handler as deployed, which
// answers the web app's hot documents with compiled code, and by one that
// answers everything with gqlgen's executor.
type twoPaths struct {
	*env
	executor string // base URL of the executor-only server
}

func newTwoPaths(t *testing.T, store *db.DB, catalog string, withDeliveries bool) *twoPaths {
	t.Helper()
	var deps server.Deps
	e := newEnvWithCatalog(t, store, catalog, func(d *server.Deps) {
		if withDeliveries {
			d.Deliveries = &examgate.Deliveries{Store: store, Clock: d.Clock, Kinds: []string{examgate.JobTIResult}}
		}
		// Budgets the test never reaches, so that extensions.cost carries
		// a rate limit on both paths; with a still clock, so that both
		// paths' budgets refill alike.
		d.RateLimits.Learner = server.Budget{Rate: 1000, Burst: 1000}
		d.RateLimits.Now = func() time.Time { return now }
		deps = *d
	})
	deps.GraphQLExecutorOnly = true
	exec := httptest.NewServer(server.New(deps))
	t.Cleanup(exec.Close)
	return &twoPaths{env: e, executor: exec.URL}
}

// cookie is the session cookie a launch gave c.
func (p *twoPaths) cookie(c *http.Client) string {
	p.t.Helper()
	u, _ := url.Parse(p.url)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == server.SessionCookie {
			return ck.Name + "=" + ck.Value
		}
	}
	p.t.Fatal("no session cookie")
	return ""
}

// post sends body to base's /graphql as the web app does.
func (p *twoPaths) post(base, cookie, accept string, body []byte) answer {
	p.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header.Get("Content-Type"), string(b)}
}

func gqlBody(query string, vars any, extra map[string]any) []byte {
	m := map[string]any{"query": query, "variables": vars}
	for k, v := range extra {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return b
}

// TestCompiledOperationsMatchExecutor sends the web app's autosave, in every
// state and form that matters, to both paths: two learners in the same
// state, one per path, and the two answers must be the same bytes.
func TestCompiledOperationsMatchExecutor(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		p := newTwoPaths(t, store, quizCatalog, true)
		ada, bob := p.browser(), p.browser()
		p.launch(ada, "DEMO-101", p.token(nil))
		other := p.ti.AddUser(titest.User{Email: "bob@example.com", ExternalCustomerID: "cust-bob", FirstName: "Ada", LastName: "Lovelace"})
		p.ti.AddPurchase(titest.Purchase{UserID: other.ID, CourseID: course, Time: purchased})
		p.launch(bob, "DEMO-101", p.token(func(c *titest.LaunchToken) { c.Email, c.ExternalCustomerID = "bob@example.com", "cust-bob" }))
		adaCookie, bobCookie := p.cookie(ada), p.cookie(bob)
		// Each learner's requests go to one path only, so that both spend
		// from their budgets alike.
		start := func(base, cookie string) string {
			got := p.post(base, cookie, "application/json", gqlBody(`mutation { startOnDemand(input: {examCode: "DEMO-101", clientKey: "start-1"}) { id } }`, nil, nil))
			var s struct {
				Data struct{ StartOnDemand struct{ ID string } }
			}
			if err := json.Unmarshal([]byte(got.body), &s); err != nil || s.Data.StartOnDemand.ID == "" {
				t.Fatalf("start: %+v", got)
			}
			return s.Data.StartOnDemand.ID
		}
		adaAttempt, bobAttempt := start(p.url, adaCookie), start(p.executor, bobCookie)

		type step struct {
			name   string
			vars   func(own, theirs string) any
			extra  map[string]any
			accept string
			anon   bool
		}
		save := func(item string, choices any, seq any) func(own, theirs string) any {
			return func(own, _ string) any {
				return map[string]any{"input": map[string]any{"attemptId": own, "itemId": item, "choices": choices, "clientSeq": seq}}
			}
		}
		steps := []step{
			{name: "first save", vars: save("q1", []string{"b"}, 1)},
			{name: "same sequence again: not accepted", vars: save("q1", []string{"a"}, 1)},
			{name: "several choices", vars: save("q2", []string{"a", "c"}, 2)},
			{name: "cleared", vars: save("q2", []string{}, 3)},
			{name: "choice ids to escape", vars: save("q1", []string{"<b>&\"\\\u2028", "é"}, 4)},
			{name: "unknown item", vars: save("nope", []string{"a"}, 5)},
			{name: "not an attempt id", vars: func(_, _ string) any {
				return map[string]any{"input": map[string]any{"attemptId": "not-a-number", "itemId": "q1", "choices": []string{"a"}, "clientSeq": 6}}
			}},
			{name: "the other learner's attempt", vars: func(_, theirs string) any {
				return map[string]any{"input": map[string]any{"attemptId": theirs, "itemId": "q1", "choices": []string{"a"}, "clientSeq": 7}}
			}},
			{name: "no session", vars: save("q1", []string{"a"}, 8), anon: true},
			{name: "sequence as a float", vars: save("q1", []string{"a"}, 9.5)},
			{name: "sequence past Int", vars: save("q1", []string{"a"}, int64(1)<<40)},
			{name: "a null choice", vars: save("q1", []any{"a", nil}, 10)},
			{name: "a number as an ID", vars: save("q1", []any{7}, 11)},
			{name: "choices missing", vars: func(own, _ string) any {
				return map[string]any{"input": map[string]any{"attemptId": own, "itemId": "q1", "clientSeq": 12}}
			}},
			{name: "an unknown input field", vars: func(own, _ string) any {
				return map[string]any{"input": map[string]any{"attemptId": own, "itemId": "q1", "choices": []string{}, "clientSeq": 13, "extra": 1}}
			}},
			{name: "no variables", vars: func(_, _ string) any { return nil }},
			{name: "operation named", vars: save("q3", []string{"true"}, 14), extra: map[string]any{"operationName": "PlayerSaveAnswer"}},
			{name: "another operation named", vars: save("q3", []string{"true"}, 15), extra: map[string]any{"operationName": "Other"}},
			{name: "graphql-response+json", vars: save("q3", []string{"false"}, 16), accept: "application/graphql-response+json"},
			{name: "no Accept", vars: save("q3", []string{"true"}, 17), accept: "-"},
			{name: "after all that", vars: save("q1", []string{"c"}, 18)},
		}
		run := func(st step) {
			t.Helper()
			accept := "application/json"
			switch st.accept {
			case "-":
				accept = ""
			case "":
			default:
				accept = st.accept
			}
			ac, bc := adaCookie, bobCookie
			if st.anon {
				ac, bc = "", ""
			}
			compiled := p.post(p.url, ac, accept, gqlBody(graph.SaveAnswerDocument, st.vars(adaAttempt, bobAttempt), st.extra))
			executor := p.post(p.executor, bc, accept, gqlBody(graph.SaveAnswerDocument, st.vars(bobAttempt, adaAttempt), st.extra))
			if compiled != executor {
				t.Errorf("%s:\ncompiled: %+v\nexecutor: %+v", st.name, compiled, executor)
			}
		}
		for _, st := range steps {
			run(st)
		}
		for _, l := range []struct{ base, cookie, attempt string }{{p.url, adaCookie, adaAttempt}, {p.executor, bobCookie, bobAttempt}} {
			got := p.post(l.base, l.cookie, "application/json", gqlBody(fmt.Sprintf(`mutation { submitAttempt(input: {attemptId: %q}) { status } }`, l.attempt), nil, nil))
			if got.status != http.StatusOK || !strings.Contains(got.body, `"SUBMITTED"`) {
				t.Fatalf("submit: %+v", got)
			}
		}
		run(step{name: "attempt submitted", vars: save("q1", []string{"a"}, 19)})
	})
}

// sameAnswer compares two answers byte for byte, but for the order of
// several errors, which the executor gives in the order its concurrent
// resolvers finished; for the budget's remaining count, which each server
// keeps for itself; and for request ids.
func sameAnswer(a, b answer) bool {
	for re, same := range map[*regexp.Regexp]string{regexp.MustCompile(`"remaining":\d+`): `"remaining":0`, regexp.MustCompile(`"requestId":"[0-9a-f]+"`): `"requestId":""`} {
		a.body = re.ReplaceAllString(a.body, same)
		b.body = re.ReplaceAllString(b.body, same)
	}
	if a == b {
		return true
	}
	if a.status != b.status || a.contentType != b.contentType {
		return false
	}
	norm := func(body string) any {
		var v map[string]any
		d := json.NewDecoder(strings.NewReader(body))
		d.UseNumber()
		if d.Decode(&v) != nil {
			return body
		}
		if errs, ok := v["errors"].([]any); ok && len(errs) > 1 {
			sort.Slice(errs, func(i, j int) bool {
				pi, _ := json.Marshal(errs[i].(map[string]any)["path"])
				pj, _ := json.Marshal(errs[j].(map[string]any)["path"])
				return string(pi) < string(pj)
			})
			return v
		}
		return body // one error or none: bytes must agree
	}
	return reflect.DeepEqual(norm(a.body), norm(b.body))
}

// TestCompiledDashboardMatchesExecutor asks both paths for the web app's
// dashboard in the states a learner meets: signed out, nothing booked, a
// booking, a cancelled and a new one, an unknown exam, a result.
func TestCompiledDashboardMatchesExecutor(t *testing.T) {
	// Without the delivery log, Result.delivery panics: both paths must
	// answer that alike too.
	for _, withDeliveries := range []bool{true, false} {
		t.Run(fmt.Sprintf("deliveries=%v", withDeliveries), func(t *testing.T) { compiledDashboard(t, withDeliveries) })
	}
}

func compiledDashboard(t *testing.T, withDeliveries bool) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		p := newTwoPaths(t, store, bookableCatalog, withDeliveries)
		ada := p.browser()
		p.launch(ada, "DEMO-101", p.token(nil))
		cookie := p.cookie(ada)
		ask := func(name, cookie string, vars any) {
			t.Helper()
			body := gqlBody(graph.DashboardDocument, vars, nil)
			compiled := p.post(p.url, cookie, "application/json", body)
			executor := p.post(p.executor, cookie, "application/json", body)
			if !sameAnswer(compiled, executor) {
				t.Errorf("%s:\ncompiled: %+v\nexecutor: %+v", name, compiled, executor)
			}
			if compiled.status != http.StatusOK {
				t.Errorf("%s: HTTP %d", name, compiled.status)
			}
		}
		code := func(c string) any { return map[string]any{"code": c} }
		ask("signed out", "", code("DEMO-101"))

		// A name to escape, in an answer without errors.
		cy := p.browser()
		u := p.ti.AddUser(titest.User{Email: "cy@example.com", ExternalCustomerID: "cust-cy", FirstName: "Cy <b>&amp;\u2028x\u2029y", LastName: "\"q\" é"})
		p.ti.AddPurchase(titest.Purchase{UserID: u.ID, CourseID: course, Time: purchased})
		p.launch(cy, "DEMO-101", p.token(func(c *titest.LaunchToken) {
			c.Email, c.ExternalCustomerID, c.FirstName, c.LastName = u.Email, u.ExternalCustomerID, u.FirstName, u.LastName
		}))
		ask("a name to escape", p.cookie(cy), code("DEMO-101"))

		ask("nothing booked", cookie, code("DEMO-101"))
		ask("unknown exam", cookie, code("NOPE-1"))
		ask("exam code to escape", cookie, code("<x>&\"\u2028"))
		ask("code as a number", cookie, map[string]any{"code": 7})
		ask("no code", cookie, map[string]any{})
		ask("an unknown variable", cookie, map[string]any{"code": "DEMO-101", "other": 1})

		book := func(slot, key string) string {
			got := p.graphql(ada, fmt.Sprintf(`mutation { bookSlot(input: {examCode: "DEMO-101", startsAt: %q, clientKey: %q}) { id } }`, slot, key))
			var b struct{ ID string }
			if err := json.Unmarshal(got.Data["bookSlot"], &b); err != nil || len(got.Errors) > 0 {
				t.Fatalf("book: %s %+v", got.Data["bookSlot"], got.Errors)
			}
			return b.ID
		}
		first := book("2026-11-30T10:00:00Z", "dash-book-1")
		ask("one booking", cookie, code("DEMO-101"))
		if got := p.graphql(ada, fmt.Sprintf(`mutation { cancelBooking(input: {bookingId: %q, clientKey: "dash-cancel-1"}) { status } }`, first)); len(got.Errors) > 0 {
			t.Fatalf("cancel: %+v", got.Errors)
		}
		book("2026-12-01T11:00:00Z", "dash-book-2")
		ask("a cancelled and a pending booking", cookie, code("DEMO-101"))

		// QUIZ-1 is on demand: an attempt, then its result.
		if resp, body := p.launch(ada, "QUIZ-1", p.token(func(c *titest.LaunchToken) { c.IssuedAt = now.Add(-time.Minute) })); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("launch QUIZ-1: %d %s", resp.StatusCode, body)
		}
		cookie = p.cookie(ada)
		ask("on demand, no result", cookie, code("QUIZ-1"))
		got := p.graphql(ada, `mutation { startOnDemand(input: {examCode: "QUIZ-1", clientKey: "dash-quiz"}) { id } }`)
		var started struct{ ID string }
		if err := json.Unmarshal(got.Data["startOnDemand"], &started); err != nil || len(got.Errors) > 0 {
			t.Fatalf("start: %s %+v", got.Data["startOnDemand"], got.Errors)
		}
		ask("attempt open", cookie, code("QUIZ-1"))
		if got := p.graphql(ada, fmt.Sprintf(`mutation { submitAttempt(input: {attemptId: %q}) { status } }`, started.ID)); len(got.Errors) > 0 {
			t.Fatalf("submit: %+v", got.Errors)
		}
		ask("a result", cookie, code("QUIZ-1"))
	})
}
