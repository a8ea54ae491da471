package graph_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/examgate/examgate/graph"
)

// These tests need no store: every request either is refused before it
// runs or asks for __typename only.

type response struct {
	status  int
	header  http.Header
	raw     map[string]json.RawMessage
	Data    map[string]any `json:"data"`
	Errors  []gqlError     `json:"errors"`
	rawBody string
}

type gqlError struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions"`
}

func (r response) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

func newServer(t *testing.T, introspection bool) *httptest.Server {
	t.Helper()
	h := graph.NewHandler(&graph.Resolver{Logger: slog.New(slog.DiscardHandler)}, graph.Options{Introspection: introspection})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func post(t *testing.T, srv *httptest.Server, accept string, body any) response {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	out := response{status: resp.StatusCode, header: resp.Header, rawBody: string(body)}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("status %d, body %q: %v", resp.StatusCode, body, err)
	}
	_ = json.Unmarshal(body, &out.raw)
	return out
}

func query(q string) map[string]any { return map[string]any{"query": q} }

func sha(q string) string {
	sum := sha256.Sum256([]byte(q))
	return hex.EncodeToString(sum[:])
}

func persisted(hash string) map[string]any {
	return map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}
}

func TestPersistedQueries(t *testing.T) {
	srv := newServer(t, false)
	q := `query Hello { __typename }`

	// A client tries the hash alone first; the server does not know it yet.
	got := post(t, srv, "", map[string]any{"extensions": persisted(sha(q))})
	if got.code() != "PERSISTED_QUERY_NOT_FOUND" || got.Errors[0].Message != "PersistedQueryNotFound" {
		t.Fatalf("unknown hash: %s", got.rawBody)
	}
	// It then sends the query with its hash, which registers it...
	got = post(t, srv, "", map[string]any{"query": q, "extensions": persisted(sha(q))})
	if len(got.Errors) > 0 || got.Data["__typename"] != "Query" {
		t.Fatalf("register: %s", got.rawBody)
	}
	// ...and from then on the hash alone runs it, with POST or GET.
	got = post(t, srv, "", map[string]any{"extensions": persisted(sha(q))})
	if len(got.Errors) > 0 || got.Data["__typename"] != "Query" {
		t.Fatalf("hash only: %s", got.rawBody)
	}
	ext, _ := json.Marshal(persisted(sha(q)))
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"?extensions="+url.QueryEscape(string(ext)), nil)
	if got := do(t, req); got.status != http.StatusOK || got.Data["__typename"] != "Query" {
		t.Fatalf("hash only over GET: %d %s", got.status, got.rawBody)
	}

	// A query whose hash is not the one sent is refused and not kept, so
	// that nobody can plant a query under another's hash.
	other := `query Other { __typename }`
	got = post(t, srv, "", map[string]any{"query": other, "extensions": persisted(sha("something else"))})
	if len(got.Errors) != 1 || got.Errors[0].Message != "provided APQ hash does not match query" || got.Data != nil {
		t.Fatalf("wrong hash: %s", got.rawBody)
	}
	if got := post(t, srv, "", map[string]any{"extensions": persisted(sha("something else"))}); got.code() != "PERSISTED_QUERY_NOT_FOUND" {
		t.Fatalf("wrong hash was kept: %s", got.rawBody)
	}

	// A long query runs but is not kept.
	long := `query Long { __typename }` + "\n#" + strings.Repeat("x", graph.MaxPersistedQueryBytes)
	if got := post(t, srv, "", map[string]any{"query": long, "extensions": persisted(sha(long))}); got.Data["__typename"] != "Query" {
		t.Fatalf("long query: %s", got.rawBody)
	}
	if got := post(t, srv, "", map[string]any{"extensions": persisted(sha(long))}); got.code() != "PERSISTED_QUERY_NOT_FOUND" {
		t.Fatalf("long query was kept: %s", got.rawBody)
	}
}

// nest returns a query nesting __Type.ofType n times, depth n + 2. The
// schema itself has no cycle yet, and gqlparser already caps the nesting of
// __Type.fields and the like; ofType it leaves alone (the introspection
// query nests it seven deep).
func nest(n int) string {
	return `{ __type(name: "Query") { ` + strings.Repeat(`ofType { `, n) + `name` + strings.Repeat(` }`, n) + ` } }`
}

func TestDepthLimit(t *testing.T) {
	srv := newServer(t, true)

	// The playground's introspection query fits.
	iq, err := os.ReadFile("testdata/introspection.graphql")
	if err != nil {
		t.Fatal(err)
	}
	if got := post(t, srv, "", query(string(iq))); len(got.Errors) > 0 || got.Data["__schema"] == nil {
		t.Fatalf("introspection query refused: %s", got.rawBody)
	}
	if got := post(t, srv, "", query(nest(13))); len(got.Errors) > 0 {
		t.Fatalf("depth 15 refused: %s", got.rawBody)
	}

	cases := map[string]string{
		"nesting bomb": nest(40),
		"just over":    nest(14),
		// The same depth hidden in fragments spreading each other.
		"through fragments": `{ __type(name: "Query") { ...F1 } }
			fragment F1 on __Type { ofType { ofType { ...F2 } } }
			fragment F2 on __Type { ofType { ofType { ...F3 } } }
			fragment F3 on __Type { ofType { ofType { ...F4 } } }
			fragment F4 on __Type { ofType { ofType { ... on __Type { ...F5 } } } }
			fragment F5 on __Type { ofType { ofType { ...F6 } } }
			fragment F6 on __Type { ofType { ofType { ...F7 } } }
			fragment F7 on __Type { ofType { ofType { ...F8 } } }
			fragment F8 on __Type { ofType { ofType { name } } }`,
	}
	for name, q := range cases {
		t.Run(name, func(t *testing.T) {
			got := post(t, srv, "", query(q))
			if got.status != http.StatusOK || got.code() != graph.CodeDepthLimit || got.Data != nil {
				t.Fatalf("status %d: %s", got.status, got.rawBody)
			}
			if msg := got.Errors[0].Message; !strings.Contains(msg, "exceeds the limit of 15") || !strings.Contains(msg, "ask for fewer nested fields or split it into several queries") {
				t.Fatalf("message %q", msg)
			}
		})
	}

	// Fragments spread many times are measured once each: this document
	// would be 2^40 selections walked naively, and still answers at once.
	var b strings.Builder
	b.WriteString(`{ __type(name: "Query") { ...G0 } }`)
	for i := range 40 {
		b.WriteString("\nfragment G" + strconv.Itoa(i) + ` on __Type { name ofType { ...G` + strconv.Itoa(i+1) + ` } a: ofType { ...G` + strconv.Itoa(i+1) + ` } }`)
	}
	b.WriteString("\nfragment G40 on __Type { name }")
	if got := post(t, srv, "", query(b.String())); got.code() != graph.CodeDepthLimit {
		t.Fatalf("fan-out through fragments: %s", got.rawBody)
	}
}

func TestAliasBomb(t *testing.T) {
	srv := newServer(t, false)
	bomb := "{" + strings.Repeat(`a: me { email } `, 300) + "}"
	got := post(t, srv, "", query(bomb))
	if got.status != http.StatusOK || got.code() != graph.CodeComplexityLimit || got.Data != nil {
		t.Fatalf("status %d: %s", got.status, got.rawBody)
	}
	if msg := got.Errors[0].Message; msg != "operation selects 600 fields, which exceeds the limit of 200: ask for fewer fields (each alias counts) or split it into several queries" {
		t.Fatalf("message %q", msg)
	}
	// With the spec's media type a refused document is a 400 without data.
	got = post(t, srv, "application/graphql-response+json", query(bomb))
	if got.status != http.StatusBadRequest || got.code() != graph.CodeComplexityLimit {
		t.Fatalf("graphql-response+json: status %d: %s", got.status, got.rawBody)
	}
	if _, ok := got.raw["data"]; ok {
		t.Fatalf("refused document answered with a data entry: %s", got.rawBody)
	}
	if ct := got.header.Get("Content-Type"); ct != "application/graphql-response+json" {
		t.Fatalf("Content-Type %q", ct)
	}
	// Fragments spread many times count each time.
	var b strings.Builder
	b.WriteString(`{ me { ...F0 } }`)
	for i := range 40 {
		fmt.Fprintf(&b, "\nfragment F%d on Candidate { ...F%d ...F%d a: email }", i, i+1, i+1)
	}
	b.WriteString("\nfragment F40 on Candidate { email }")
	if got := post(t, srv, "", query(b.String())); got.code() != graph.CodeComplexityLimit {
		t.Fatalf("fields through fragments: %s", got.rawBody)
	}
}

// TestNestedListBomb: lists nested in lists multiply the response (a page
// of bookings, each candidate's bookings, their candidate's bookings …)
// and so the complexity, well within the depth limit.
func TestNestedListBomb(t *testing.T) {
	srv := newServer(t, false)
	// Aliases of a page each cost the page.
	var b strings.Builder
	b.WriteString("{")
	for i := range 20 {
		fmt.Fprintf(&b, " a%d: partner { bookings(first: 100) { edges { node { id status } } } }", i)
	}
	b.WriteString(" }")
	got := post(t, srv, "", query(b.String()))
	if got.status != http.StatusOK || got.code() != graph.CodeComplexityLimit || got.Data != nil {
		t.Fatalf("status %d: %s", got.status, got.rawBody)
	}
	// Each alias: partner 1 + bookings (1 + 100 rows × (edges 1 + node 1 + 2 fields)).
	if msg := got.Errors[0].Message; msg != "operation has complexity 8040, which exceeds the limit of 5000: ask for smaller pages (first) or fewer lists nested in lists (each row counts), or split it into several queries" {
		t.Fatalf("message %q", msg)
	}
	for _, q := range []string{
		`{ partner { bookings(first: 100) { edges { node { candidate { bookings { candidate { bookings { id } } } } } } } } }`,
		`{ partner { bookings(first: 10) { edges { node { candidate { bookings { candidate { attempts { id } } } } } } } } }`,
		`{ partner { candidate(email: "a@example.com") { bookings { candidate { results { score } } } } } }`,
		// The default page is 50 rows; a first out of range is priced as 100.
		`{ partner { bookings { edges { node { candidate { attempts { id status } } } } } } }`,
		`{ partner { bookings(first: 1000000) { edges { node { candidate { email bookings { id } } } } } } }`,
	} {
		got := post(t, srv, "", query(q))
		if got.code() != graph.CodeComplexityLimit || got.Data != nil {
			t.Fatalf("%s: status %d: %s", q, got.status, got.rawBody)
		}
	}
	// A list nested as deep as the depth limit allows does not overflow
	// into a small complexity.
	q := `{ partner { bookings(first: 100) { edges { node { candidate { bookings { candidate { bookings { candidate { bookings { candidate { bookings { candidate { bookings { id } } } } } } } } } } } } } } }`
	if got := post(t, srv, "", query(q)); got.code() != graph.CodeComplexityLimit {
		t.Fatalf("deepest bomb: status %d: %s", got.status, got.rawBody)
	}
	// One candidate's lists, as the partner guide asks, pass.
	ok := `{ partner { candidate(email: "a@example.com") { email bookings { id status startsAt } attempts { status } results { score passed } } } }`
	if got := post(t, srv, "", query(ok)); got.code() == graph.CodeComplexityLimit {
		t.Fatalf("one candidate's lists refused: %s", got.rawBody)
	}
}

func TestIntrospection(t *testing.T) {
	q := `{ __schema { queryType { name } } }`
	t.Run("on", func(t *testing.T) {
		got := post(t, newServer(t, true), "", query(q))
		if len(got.Errors) > 0 || got.Data["__schema"] == nil {
			t.Fatalf("%s", got.rawBody)
		}
	})
	t.Run("off", func(t *testing.T) {
		srv := newServer(t, false)
		for _, q := range []string{q, `{ __type(name: "Query") { name } }`, `{ ...S } fragment S on Query { ... on Query { __schema { description } } }`} {
			got := post(t, srv, "application/graphql-response+json", query(q))
			if got.status != http.StatusBadRequest || got.code() != graph.CodeIntrospectionDisabled || !strings.Contains(got.Errors[0].Message, "introspection is turned off") {
				t.Fatalf("%s: status %d: %s", q, got.status, got.rawBody)
			}
		}
		// __typename is not introspection: clients add it everywhere.
		if got := post(t, srv, "", query(`{ __typename }`)); len(got.Errors) > 0 {
			t.Fatalf("__typename refused: %s", got.rawBody)
		}
	})
}

func TestRequestLimits(t *testing.T) {
	srv := newServer(t, false)
	// A body over the limit is a 413 that says what to do.
	big := `{"query":"{ __typename }","variables":{"x":"` + strings.Repeat("a", graph.MaxBodyBytes) + `"}}`
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(big))
	req.Header.Set("Content-Type", "application/json")
	if got := do(t, req); got.status != http.StatusRequestEntityTooLarge || !strings.Contains(got.Errors[0].Message, "send a smaller query") {
		t.Fatalf("big body: %d %s", got.status, got.rawBody)
	}
	// A mutation over GET is a 405 that names POST.
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"?query="+url.QueryEscape(`mutation { setTimeZone(timeZone: "UTC") { id } }`), nil)
	if got := do(t, req); got.status != http.StatusMethodNotAllowed || got.header.Get("Allow") != "POST" {
		t.Fatalf("mutation over GET: %d %s", got.status, got.rawBody)
	}
	// A document that does not parse: 200 with application/json (what
	// clients older than the spec expect), 400 with the spec's media type.
	if got := post(t, srv, "application/json", query(`{`)); got.status != http.StatusOK || got.code() != "GRAPHQL_PARSE_FAILED" {
		t.Fatalf("parse error, application/json: %d %s", got.status, got.rawBody)
	}
	if got := post(t, srv, "application/graphql-response+json", query(`{ nope }`)); got.status != http.StatusBadRequest || got.code() != "GRAPHQL_VALIDATION_FAILED" {
		t.Fatalf("validation error, graphql-response+json: %d %s", got.status, got.rawBody)
	}
}

// Every refusal carries extensions.code and a message in the client's
// terms: no Go type names, no echo of the body.
func TestTransportErrorsHaveCodes(t *testing.T) {
	srv := newServer(t, false)
	raw := func(method, target, contentType, body string) response {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+target, strings.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		return do(t, req)
	}
	ext, _ := json.Marshal(map[string]any{"persistedQuery": map[string]any{"version": 2, "sha256Hash": "abc"}})
	cases := []struct {
		name   string
		got    response
		status int
		code   string
		says   string
	}{
		{"text/plain", raw("POST", "", "text/plain", `{"query":"{ __typename }"}`), 415, "BAD_REQUEST", "Content-Type: application/json"},
		{"no content type", raw("POST", "", "", `{"query":"{ __typename }"}`), 415, "BAD_REQUEST", "Content-Type: application/json"},
		{"empty body", raw("POST", "", "application/json", ``), 400, "BAD_REQUEST", "empty"},
		{"cut short", raw("POST", "", "application/json", `{"query":`), 400, "BAD_REQUEST", "cut short"},
		{"not JSON", raw("POST", "", "application/json", `query { __typename }`), 400, "BAD_REQUEST", "not valid JSON (error at byte 1)"},
		{"query a number", raw("POST", "", "application/json", `{"query":5}`), 400, "BAD_REQUEST", `"query" as a JSON number: it must be a string`},
		{"variables an array", raw("POST", "", "application/json", `{"query":"{ __typename }","variables":[1]}`), 400, "BAD_REQUEST", `"variables" as a JSON array: it must be an object`},
		{"body an array", raw("POST", "", "application/json", `[{"query":"{ __typename }"}]`), 400, "BAD_REQUEST", "a JSON array: it must be an object"},
		{"GET variables", raw("GET", "?query=%7B__typename%7D&variables=nope", "", ""), 400, "BAD_REQUEST", "variables parameter is not valid JSON"},
		{"GET bad escape", raw("GET", "?query=%zz", "", ""), 400, "BAD_REQUEST", "URL encoding"},
		{"query string too long", raw("GET", "?query="+strings.Repeat("a", graph.MaxBodyBytes+1), "", ""), 414, "REQUEST_TOO_LARGE", "send large queries with POST"},
		{"body too large", raw("POST", "", "application/json", `{"query":"`+strings.Repeat("a", graph.MaxBodyBytes)+`"}`), 413, "REQUEST_TOO_LARGE", "64 KiB"},
		{"mutation over GET", raw("GET", "?query="+url.QueryEscape(`mutation { setTimeZone(timeZone: "UTC") { id } }`), "", ""), 405, "METHOD_NOT_ALLOWED", "POST"},
		{"hash mismatch", post(t, srv, "", map[string]any{"query": "{ __typename }", "extensions": persisted(sha("other"))}), 200, "PERSISTED_QUERY_MISMATCH", "does not match"},
		{"APQ version", raw("POST", "", "application/json", `{"extensions":`+string(ext)+`}`), 200, "BAD_REQUEST", `"version": 1`},
		{"bad Time", post(t, srv, "", query(`{ availableSlots(examCode: "X", from: "yesterday", to: "today") { startsAt } }`)), 200, "INVALID", "RFC 3339"},
	}
	for _, c := range cases {
		if c.got.status != c.status || c.got.code() != c.code || len(c.got.Errors) != 1 || !strings.Contains(c.got.Errors[0].Message, c.says) {
			t.Errorf("%s: %d %s", c.name, c.got.status, c.got.rawBody)
		}
		for _, leak := range []string{"Go struct", "map[string]", "interface {}", "body:", "json:", "RawParams"} {
			if strings.Contains(c.got.rawBody, leak) {
				t.Errorf("%s: the answer shows %q: %s", c.name, leak, c.got.rawBody)
			}
		}
	}
}

// Without a rate limit the answer still says what the query cost.
func TestCostWithoutRateLimit(t *testing.T) {
	srv := newServer(t, false)
	got := post(t, srv, "", query(`{ __typename }`))
	if string(got.raw["extensions"]) != `{"cost":{"limit":5000,"requested":1}}` {
		t.Fatalf("extensions: %s", got.raw["extensions"])
	}
	// A document that does not parse was never priced.
	if got := post(t, srv, "", query(`{`)); got.raw["extensions"] != nil {
		t.Fatalf("extensions of a parse error: %s", got.raw["extensions"])
	}
}
