package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

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

func newTwoPaths(t *testing.T, store *db.DB, catalog string) *twoPaths {
	t.Helper()
	var deps server.Deps
	e := newEnvWithCatalog(t, store, catalog, func(d *server.Deps) {
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
		p := newTwoPaths(t, store, quizCatalog)
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
