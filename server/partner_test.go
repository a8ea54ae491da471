package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
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
	"github.com/uptrace/bun"
)

// partnerEnv is a server with the store's API keys, a bootstrap admin key
// and seeded bookings, talked to over HTTP like a partner system would.
type partnerEnv struct {
	t     *testing.T
	store *db.DB
	keys  *examgate.APIKeys
	url   string
}

const bootstrapAdminKey = "bootstrap-admin-key-0123456789"

func newPartnerEnv(t *testing.T, store *db.DB) *partnerEnv {
	t.Helper()
	return newPartnerEnvWith(t, store, nil)
}

// newPartnerEnvWith is newPartnerEnv with the server's Deps adjusted by set.
func newPartnerEnvWith(t *testing.T, store *db.DB, set func(*server.Deps)) *partnerEnv {
	t.Helper()
	catalog, err := examgate.ParseCatalog([]byte(catalogYAML))
	if err != nil {
		t.Fatal(err)
	}
	clock := examgate.ClockFunc(func() time.Time { return now })
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	deps := server.Deps{
		Store: store, Catalog: catalog, Clock: clock, Logger: logger, AdminKey: bootstrapAdminKey,
		Deliveries: &examgate.Deliveries{Store: store, Clock: clock, Kinds: []string{examgate.JobTIResult}},
	}
	if set != nil {
		set(&deps)
	}
	srv := server.New(deps)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &partnerEnv{t: t, store: store, keys: &examgate.APIKeys{Store: store, Clock: clock}, url: hs.URL}
}

func (e *partnerEnv) key(scopes ...string) (*examgate.APIKey, string) {
	e.t.Helper()
	k, secret, err := e.keys.Create(context.Background(), "partner "+strings.Join(scopes, "+"), scopes)
	if err != nil {
		e.t.Fatal(err)
	}
	return k, secret
}

// do posts a query with an Authorization header (none when auth is "").
func (e *partnerEnv) do(auth, rawQuery, query string, vars map[string]any) (int, gqlResponse) {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, e.url+"/graphql"+rawQuery, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out gqlResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		e.t.Fatalf("status %d: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

func (e *partnerEnv) query(key, query string, vars map[string]any) gqlResponse {
	e.t.Helper()
	_, out := e.do("Bearer "+key, "", query, vars)
	return out
}

func codes(r gqlResponse) []string {
	var out []string
	for _, e := range r.Errors {
		c, _ := e.Extensions["code"].(string)
		out = append(out, c)
	}
	return out
}

func oneCode(t *testing.T, what string, r gqlResponse, want string) {
	t.Helper()
	if got := codes(r); len(got) != 1 || got[0] != want {
		t.Fatalf("%s: codes %v, want [%s]: %+v", what, got, want, r.Errors)
	}
}

// seed makes n candidates, each with a booking of DEMO-101 that was started
// and completed (passed when i is even) with a queued TI delivery.
func seed(t *testing.T, store *db.DB, n int) {
	t.Helper()
	ctx := context.Background()
	slot := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	for i := range n {
		c, err := store.CompleteLaunch(ctx, &examgate.LaunchRecord{
			TokenID: fmt.Sprintf("tok-%d", i), TokenExpiresAt: now.Add(time.Hour),
			Candidate:   examgate.Candidate{ExternalID: fmt.Sprintf("ext-%d", i), Email: fmt.Sprintf("c%d@example.com", i), FirstName: "C", LastName: fmt.Sprint(i)},
			Eligibility: examgate.Eligibility{ExamCode: "DEMO-101", CourseID: course, PurchasedAt: purchased, EndsAt: purchased.AddDate(0, 0, 90), CheckedAt: now},
			Session:     examgate.Session{TokenHash: fmt.Sprintf("h-%d", i), CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
		})
		if err != nil {
			t.Fatal(err)
		}
		b, err := store.CreateBooking(ctx, &examgate.Booking{CandidateID: c.ID, ExamCode: "DEMO-101", StartsAt: slot, EndsAt: slot.Add(time.Hour),
			TimeZone: "UTC", CreatedAt: now, UpdatedAt: now}, 1000, examgate.Request{CandidateID: c.ID, ClientKey: "book", Action: examgate.ActionBook, At: now}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if i%4 == 3 {
			continue // some bookings are not sat yet
		}
		a, err := store.StartAttempt(ctx, &examgate.Attempt{CandidateID: c.ID, ExamCode: "DEMO-101", Seed: 1, StartedAt: slot, Deadline: slot.Add(time.Hour)},
			b, examgate.Request{CandidateID: c.ID, ClientKey: "start", Action: examgate.ActionStart, At: slot}, nil)
		if err != nil {
			t.Fatal(err)
		}
		passed := i%2 == 0
		_, err = store.CompleteAttempt(ctx, a, examgate.AttemptSubmitted, slot.Add(30*time.Minute),
			func([]examgate.Answer) examgate.Score {
				return examgate.Score{Points: 8, MaxPoints: 10, Percent: 80, PassMark: 70, Passed: passed}
			},
			func(r *examgate.Result) ([]examgate.Job, error) { return examgate.TIResultJobs(r, nil) })
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestAPIKeyScopesAndRevocation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		e := newPartnerEnv(t, store)
		seed(t, store, 3)
		bookingsQ := `{ partner { bookings(first: 10) { edges { node { id status candidate { email } } } } } }`
		resultsQ := `{ partner { bookings(first: 10) { edges { node { id result { passed percent delivery } } } } } }`
		deliveriesQ := `{ deliveries(first: 10) { edges { node { id state } } } }`

		_, reader := e.key(examgate.ScopeBookingsRead)
		got := e.query(reader, bookingsQ, nil)
		if len(got.Errors) > 0 || strings.Count(string(got.Data["partner"]), `"status":"COMPLETED"`) != 3 || !strings.Contains(string(got.Data["partner"]), "c0@example.com") {
			t.Fatalf("bookings:read: %s %+v", got.Data["partner"], got.Errors)
		}
		// Without results:read every result field is refused (one error per
		// booking), the rest of the booking is still served.
		got = e.query(reader, resultsQ, nil)
		for _, c := range codes(got) {
			if c != examgate.EFORBIDDEN {
				t.Fatalf("results without results:read: %+v", got.Errors)
			}
		}
		if len(got.Errors) != 3 || !strings.Contains(got.Errors[0].Message, "results:read") || !strings.Contains(string(got.Data["partner"]), `"result":null`) {
			t.Fatalf("results without results:read: %s %+v", got.Data["partner"], got.Errors)
		}
		oneCode(t, "deliveries with a partner key", e.query(reader, deliveriesQ, nil), examgate.EFORBIDDEN)

		_, full := e.key(examgate.ScopeBookingsRead, examgate.ScopeResultsRead)
		got = e.query(full, resultsQ, nil)
		if len(got.Errors) > 0 || strings.Count(string(got.Data["partner"]), `"delivery":"SENDING"`) != 3 {
			t.Fatalf("results:read: %s %+v", got.Data["partner"], got.Errors)
		}

		// results:read alone does not list bookings.
		_, resultsOnly := e.key(examgate.ScopeResultsRead)
		oneCode(t, "bookings without bookings:read", e.query(resultsOnly, bookingsQ, nil), examgate.EFORBIDDEN)

		// admin reaches staff fields, not partner ones.
		_, admin := e.key(examgate.ScopeAdmin)
		if got := e.query(admin, deliveriesQ, nil); len(got.Errors) > 0 || strings.Count(string(got.Data["deliveries"]), `"state":"QUEUED"`) != 3 {
			t.Fatalf("admin deliveries: %s %+v", got.Data["deliveries"], got.Errors)
		}
		oneCode(t, "partner bookings with an admin key", e.query(admin, bookingsQ, nil), examgate.EFORBIDDEN)
		// The bootstrap key of EXAMGATE_ADMIN_API_KEY is an admin key.
		if got := e.query(bootstrapAdminKey, deliveriesQ, nil); len(got.Errors) > 0 {
			t.Fatalf("bootstrap admin key: %+v", got.Errors)
		}
		oneCode(t, "partner bookings with the bootstrap key", e.query(bootstrapAdminKey, bookingsQ, nil), examgate.EFORBIDDEN)

		// Unknown, malformed and revoked keys are refused with 401 before
		// GraphQL runs, never served as anonymous.
		k, revoked := e.key(examgate.ScopeBookingsRead)
		if got := e.query(revoked, bookingsQ, nil); len(got.Errors) > 0 {
			t.Fatalf("key before revocation: %+v", got.Errors)
		}
		if err := e.keys.Revoke(context.Background(), k.ID); err != nil {
			t.Fatal(err)
		}
		for name, auth := range map[string]string{
			"revoked":   "Bearer " + revoked,
			"unknown":   "Bearer " + examgate.NewAPIKey(),
			"malformed": "Bearer not-a-key",
			"empty":     "Bearer ",
			"basic":     "Basic " + reader,
		} {
			status, got := e.do(auth, "", bookingsQ, nil)
			if status != http.StatusUnauthorized || len(got.Errors) != 1 || codes(got)[0] != examgate.EUNAUTHORIZED || got.Data != nil {
				t.Fatalf("%s key: status %d %s %+v", name, status, got.Data, got.Errors)
			}
		}
		// The other keys still work.
		if got := e.query(reader, bookingsQ, nil); len(got.Errors) > 0 {
			t.Fatalf("other key after a revocation: %+v", got.Errors)
		}

		// A key in the query string is refused, even a valid one, and even
		// with a valid key in the header too: the URL is in logs already.
		for _, q := range []string{"?api_key=" + reader, "?key=" + reader, "?access_token=" + reader, "?x=" + reader, "?apiKey=whatever"} {
			status, got := e.do("Bearer "+reader, q, bookingsQ, nil)
			if status != http.StatusBadRequest || len(got.Errors) != 1 || !strings.Contains(got.Errors[0].Message, "Authorization: Bearer") || got.Data != nil {
				t.Fatalf("key in %s: status %d %+v", q, status, got.Errors)
			}
			resp, err := http.Get(e.url + "/graphql" + q + "&query=" + url.QueryEscape(bookingsQ))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("GET with key in %s: status %d", q, resp.StatusCode)
			}
		}
	})
}

// TestLearnerAndPartnerSeparation checks both directions over HTTP: a
// learner's session never reaches partner fields, a key never reaches the
// learner's queries and mutations, even with a session cookie alongside.
func TestLearnerAndPartnerSeparation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store)
		learner := e.browser()
		e.launch(learner, "DEMO-101", e.token(nil))
		keys := &examgate.APIKeys{Store: store, Clock: examgate.SystemClock{}}
		_, key := mustKey(t, keys, examgate.ScopeBookingsRead, examgate.ScopeResultsRead, examgate.ScopeAdmin)

		oneCode(t, "partner with a session", e.graphql(learner, `{ partner { bookings { edges { cursor } } } }`), examgate.EUNAUTHORIZED)
		oneCode(t, "candidate with a session", e.graphql(learner, `{ partner { candidate(email: "ada@example.com") { id } } }`), examgate.EUNAUTHORIZED)
		if got := e.graphql(learner, `{ me { email } }`); string(got.Data["me"]) != `{"email":"ada@example.com"}` {
			t.Fatalf("learner me: %s", got.Data["me"])
		}

		withKey := func(c *http.Client, q string) gqlResponse {
			body, _ := json.Marshal(map[string]string{"query": q})
			req, _ := http.NewRequest(http.MethodPost, e.url+"/graphql", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+key)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out gqlResponse
			_ = json.NewDecoder(resp.Body).Decode(&out)
			return out
		}
		// The learner's own browser sending a key too: the key wins and the
		// cookie is ignored, so the key holder cannot act as the learner.
		for name, c := range map[string]*http.Client{"key only": http.DefaultClient, "key and cookie": learner} {
			if got := withKey(c, `{ me { email } }`); string(got.Data["me"]) != "null" {
				t.Fatalf("%s: me = %s", name, got.Data["me"])
			}
			oneCode(t, name+": learner bookings", withKey(c, `{ bookings(examCode: "DEMO-101") { id } }`), examgate.EUNAUTHORIZED)
			oneCode(t, name+": result", withKey(c, `{ result(examCode: "DEMO-101") { passed } }`), examgate.EUNAUTHORIZED)
			oneCode(t, name+": bookSlot", withKey(c, `mutation { bookSlot(input: {examCode: "DEMO-101", startsAt: "2026-11-30T10:00:00Z", clientKey: "key-click-1"}) { id } }`), examgate.EUNAUTHORIZED)
			oneCode(t, name+": setTimeZone", withKey(c, `mutation { setTimeZone(timeZone: "Europe/Paris") { email } }`), examgate.EUNAUTHORIZED)
			if got := withKey(c, `{ partner { candidate(email: "ada@example.com") { email externalId } } }`); len(got.Errors) > 0 ||
				string(got.Data["partner"]) != `{"candidate":{"email":"ada@example.com","externalId":"cust-1"}}` {
				t.Fatalf("%s: partner candidate: %s %+v", name, got.Data["partner"], got.Errors)
			}
		}
	})
}

func mustKey(t *testing.T, keys *examgate.APIKeys, scopes ...string) (*examgate.APIKey, string) {
	t.Helper()
	k, secret, err := keys.Create(context.Background(), "test", scopes)
	if err != nil {
		t.Fatal(err)
	}
	return k, secret
}

// statementCounter counts the SQL statements the store runs.
type statementCounter struct {
	n   atomic.Int64
	mu  sync.Mutex
	log []string
}

func (c *statementCounter) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	return ctx
}

func (c *statementCounter) AfterQuery(_ context.Context, ev *bun.QueryEvent) {
	c.n.Add(1)
	c.mu.Lock()
	c.log = append(c.log, ev.Query)
	c.mu.Unlock()
}

func (c *statementCounter) reset() {
	c.n.Store(0)
	c.mu.Lock()
	c.log = nil
	c.mu.Unlock()
}

// TestPartnerBookingsStatementCount: a page of bookings with candidate, exam,
// attempt, result and delivery fields costs the same few statements
// whatever its size: the key lookup, the page, and one per loader.
func TestPartnerBookingsStatementCount(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		counter := &statementCounter{}
		store.Bun().AddQueryHook(counter)
		e := newPartnerEnv(t, store)
		seed(t, store, 100)
		_, key := e.key(examgate.ScopeBookingsRead, examgate.ScopeResultsRead)
		q := `query($first: Int) { partner { bookings(first: $first) { pageInfo { hasNextPage endCursor } edges { cursor node {
			id status startsAt updatedAt exam { code title }
			candidate { id email externalId firstName lastName }
			attempt { id status endedAt result { passed } }
			result { score maxScore percent passed delivery }
		} } } } }`
		for _, first := range []int{1, 10, 100} {
			counter.reset()
			got := e.query(key, q, map[string]any{"first": first})
			n := counter.n.Load()
			var page struct {
				Bookings struct {
					PageInfo struct{ HasNextPage bool }
					Edges    []struct {
						Node struct {
							Candidate struct{ Email string }
							Result    *struct{ Delivery string }
						}
					}
				}
			}
			_ = json.Unmarshal(got.Data["partner"], &page)
			if len(got.Errors) > 0 || len(page.Bookings.Edges) != first || page.Bookings.PageInfo.HasNextPage != (first < 100) {
				t.Fatalf("first %d: %d edges, %+v", first, len(page.Bookings.Edges), got.Errors)
			}
			results := 0
			for _, edge := range page.Bookings.Edges {
				if edge.Node.Candidate.Email == "" {
					t.Fatalf("first %d: a booking without its candidate", first)
				}
				if edge.Node.Result != nil && edge.Node.Result.Delivery == "SENDING" {
					results++
				}
			}
			if first == 100 && results != 75 {
				t.Fatalf("first 100: %d results with their delivery, want 75", results)
			}
			t.Logf("first %d: %d statements", first, n)
			if n > 6 {
				counter.mu.Lock()
				t.Fatalf("first %d: %d statements, want at most 6:\n%s", first, n, strings.Join(counter.log, "\n"))
			}
		}
	})
}

// TestPartnerCandidateListsStatementCount: the candidate's bookings,
// attempts and results under a page of bookings load for the whole page at
// once: two statements more than the page without them (the candidates'
// bookings and attempts), whatever the page size. The pages are small
// because the complexity limit counts each candidate's lists at their
// largest (100 rows).
func TestPartnerCandidateListsStatementCount(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		counter := &statementCounter{}
		store.Bun().AddQueryHook(counter)
		e := newPartnerEnv(t, store)
		seed(t, store, 8)
		_, key := e.key(examgate.ScopeBookingsRead, examgate.ScopeResultsRead)
		q := `query($first: Int) { partner { bookings(first: $first) { edges { node {
			id status exam { code }
			attempt { status result { passed } }
			result { passed delivery }
			candidate { email bookings { id status } attempts { id status } results { passed delivery } }
		} } } } }`
		for _, first := range []int{1, 3, 5} {
			counter.reset()
			got := e.query(key, q, map[string]any{"first": first})
			n := counter.n.Load()
			var page struct {
				Bookings struct {
					Edges []struct {
						Node struct {
							ID        string
							Attempt   *struct{ Status string }
							Candidate struct {
								Bookings []struct{ ID string }
								Attempts []struct{ ID string }
								Results  []struct{ Delivery string }
							}
						}
					}
				}
			}
			_ = json.Unmarshal(got.Data["partner"], &page)
			if len(got.Errors) > 0 || len(page.Bookings.Edges) != first {
				t.Fatalf("first %d: %d edges, %+v", first, len(page.Bookings.Edges), got.Errors)
			}
			for _, edge := range page.Bookings.Edges {
				c, sat := edge.Node.Candidate, 0
				if edge.Node.Attempt != nil {
					sat = 1
				}
				if len(c.Bookings) != 1 || c.Bookings[0].ID != edge.Node.ID || len(c.Attempts) != sat || len(c.Results) != sat {
					t.Fatalf("first %d: booking %s: candidate %+v", first, edge.Node.ID, c)
				}
				if sat == 1 && c.Results[0].Delivery != "SENDING" {
					t.Fatalf("first %d: booking %s: result delivery %q", first, edge.Node.ID, c.Results[0].Delivery)
				}
			}
			t.Logf("first %d: %d statements", first, n)
			if n > 8 {
				counter.mu.Lock()
				t.Fatalf("first %d: %d statements, want at most 8:\n%s", first, n, strings.Join(counter.log, "\n"))
			}
		}
	})
}

type partnerPage struct {
	Bookings struct {
		PageInfo struct {
			HasNextPage bool
			EndCursor   *string
		}
		Edges []struct {
			Cursor string
			Node   struct {
				ID        string
				Status    string
				UpdatedAt time.Time
				Candidate struct{ Email, ExternalID string }
			}
		}
	}
}

func TestPartnerQueries(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		e := newPartnerEnv(t, store)
		seed(t, store, 12)
		_, key := e.key(examgate.ScopeBookingsRead, examgate.ScopeResultsRead)
		list := func(vars map[string]any) partnerPage {
			t.Helper()
			got := e.query(key, `query($first: Int, $after: String, $filter: PartnerBookingFilter) { partner {
				bookings(first: $first, after: $after, filter: $filter) { pageInfo { hasNextPage endCursor }
					edges { cursor node { id status updatedAt candidate { email externalId } } } } } }`, vars)
			if len(got.Errors) > 0 {
				t.Fatalf("bookings %v: %+v", vars, got.Errors)
			}
			var p partnerPage
			if err := json.Unmarshal(got.Data["partner"], &p); err != nil {
				t.Fatal(err)
			}
			return p
		}

		// Pages of 5 walk all 12 bookings once, in change order.
		var ids []string
		var after any
		for range 3 {
			p := list(map[string]any{"first": 5, "after": after})
			for _, edge := range p.Bookings.Edges {
				ids = append(ids, edge.Node.ID)
			}
			if p.Bookings.PageInfo.EndCursor != nil {
				after = *p.Bookings.PageInfo.EndCursor
			}
			if p.Bookings.PageInfo.HasNextPage != (len(ids) < 12) {
				t.Fatalf("after %d bookings: hasNextPage %v", len(ids), p.Bookings.PageInfo.HasNextPage)
			}
		}
		if len(ids) != 12 {
			t.Fatalf("walked %v", ids)
		}
		// Caught up: an empty page without an endCursor; keep the old one.
		if p := list(map[string]any{"first": 5, "after": after}); len(p.Bookings.Edges) != 0 || p.Bookings.PageInfo.EndCursor != nil {
			t.Fatalf("caught up: %+v", p)
		}

		// Filters.
		p := list(map[string]any{"filter": map[string]any{"status": "PENDING"}})
		if len(p.Bookings.Edges) != 3 {
			t.Fatalf("pending: %+v", p)
		}
		p = list(map[string]any{"filter": map[string]any{"email": " C5@Example.com ", "examCode": "DEMO-101"}})
		if len(p.Bookings.Edges) != 1 || p.Bookings.Edges[0].Node.Candidate.ExternalID != "ext-5" {
			t.Fatalf("by email: %+v", p)
		}
		p = list(map[string]any{"filter": map[string]any{"candidateExternalId": "ext-7"}})
		if len(p.Bookings.Edges) != 1 || p.Bookings.Edges[0].Node.Candidate.Email != "c7@example.com" || p.Bookings.Edges[0].Node.Status != "PENDING" {
			t.Fatalf("by external id: %+v", p)
		}
		if p = list(map[string]any{"filter": map[string]any{"examCode": "OTHER-1"}}); len(p.Bookings.Edges) != 0 {
			t.Fatalf("other exam: %+v", p)
		}
		all := list(map[string]any{"first": 100})
		mid := all.Bookings.Edges[5].Node.UpdatedAt
		p = list(map[string]any{"filter": map[string]any{"updatedSince": mid.Format(time.RFC3339Nano)}})
		if len(p.Bookings.Edges) != 6 || p.Bookings.Edges[0].Node.ID != all.Bookings.Edges[6].Node.ID {
			t.Fatalf("updatedSince %s: %+v", mid, p)
		}

		// Bounds and bad input.
		for _, vars := range []map[string]any{{"first": 0}, {"first": 101}, {"after": "bm90LWEtY3Vyc29y"}, {"after": "!"}} {
			got := e.query(key, `query($first: Int, $after: String) { partner { bookings(first: $first, after: $after) { edges { cursor } } } }`, vars)
			oneCode(t, fmt.Sprint(vars), got, examgate.EINVALID)
		}

		// One booking, and a candidate with their bookings, attempts and results.
		id := all.Bookings.Edges[0].Node.ID
		got := e.query(key, `query($id: ID!) { partner { booking(id: $id) { id exam { code title } attempt { status bookingId result { passed } } }
			missing: booking(id: "999999") { id } bad: booking(id: "x") { id } } }`, map[string]any{"id": id})
		want := `{"booking":{"id":"` + id + `","exam":{"code":"DEMO-101","title":"Demo Certification Exam"},"attempt":{"status":"SUBMITTED","bookingId":"` + id + `","result":{"passed":true}}},"missing":null,"bad":null}`
		if len(got.Errors) > 0 || string(got.Data["partner"]) != want {
			t.Fatalf("booking:\n got %s %+v\nwant %s", got.Data["partner"], got.Errors, want)
		}
		got = e.query(key, `{ partner { candidate(externalId: "ext-1") { email bookings { status } attempts { status result { passed percent } }
			results { passed score maxScore percent passMark delivery } } nobody: candidate(email: "nobody@example.com") { id } } }`, nil)
		want = `{"candidate":{"email":"c1@example.com","bookings":[{"status":"COMPLETED"}],"attempts":[{"status":"SUBMITTED","result":{"passed":false,"percent":80}}],` +
			`"results":[{"passed":false,"score":8,"maxScore":10,"percent":80,"passMark":70,"delivery":"SENDING"}]},"nobody":null}`
		if len(got.Errors) > 0 || string(got.Data["partner"]) != want {
			t.Fatalf("candidate:\n got %s %+v\nwant %s", got.Data["partner"], got.Errors, want)
		}
		for _, q := range []string{`{ partner { candidate { id } } }`, `{ partner { candidate(externalId: "ext-1", email: "c1@example.com") { id } } }`} {
			oneCode(t, q, e.query(key, q, nil), examgate.EINVALID)
		}
	})
}

// TestPartnerAnswersAsDocumented holds the guide's promises on what a
// partner gets back: a field the key lacks the scope for is null with
// FORBIDDEN and the rest is served; a request without a key reaches no
// partner field, in a 200 (the endpoint serves learners too); a bad key is
// a 401; any other method is a 405 with a code.
func TestPartnerAnswersAsDocumented(t *testing.T) {
	store := dbtest.OpenSQLite(t)
	e := newPartnerEnv(t, store)
	seed(t, store, 1)
	_, reader := e.key(examgate.ScopeBookingsRead)

	status, got := e.do("Bearer "+reader, "", `{ partner { candidate(externalId: "ext-0") { email bookings { status } results { passed } } } }`, nil)
	if status != http.StatusOK || string(got.Data["partner"]) != `{"candidate":{"email":"c0@example.com","bookings":[{"status":"COMPLETED"}],"results":null}}` {
		t.Fatalf("candidate results without results:read: %d %s %+v", status, got.Data["partner"], got.Errors)
	}
	oneCode(t, "candidate results without results:read", got, examgate.EFORBIDDEN)

	status, got = e.do("", "", `{ partner { bookings { edges { cursor } } } }`, nil)
	if status != http.StatusOK || string(got.Data["partner"]) != "null" {
		t.Fatalf("no key: %d %s", status, got.Data["partner"])
	}
	oneCode(t, "no key", got, examgate.EUNAUTHORIZED)

	status, got = e.do("Bearer "+examgate.NewAPIKey(), "", `{ partner { bookings { edges { cursor } } } }`, nil)
	if status != http.StatusUnauthorized || got.Data != nil {
		t.Fatalf("unknown key: %d %+v", status, got)
	}
	oneCode(t, "unknown key", got, examgate.EUNAUTHORIZED)

	req, _ := http.NewRequest(http.MethodPut, e.url+"/graphql", strings.NewReader(`{"query":"{ __typename }"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var put gqlResponse
	if err := json.NewDecoder(resp.Body).Decode(&put); err != nil || resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, POST" {
		t.Fatalf("PUT: %d %v", resp.StatusCode, err)
	}
	oneCode(t, "PUT", put, "METHOD_NOT_ALLOWED")
}

// TestPartnerSeesCostAndBudget: every answer to a key tells what the query
// cost and what is left of the key's budget, in the headers, in
// extensions.cost and, when asked, in partner.rateLimit, all agreeing.
func TestPartnerSeesCostAndBudget(t *testing.T) {
	store := dbtest.OpenSQLite(t)
	clock := &stepClock{t: now}
	e := newPartnerEnvWith(t, store, func(d *server.Deps) {
		d.RateLimits = server.RateLimits{Key: server.Budget{Rate: 1, Burst: 10}, Learner: server.Budget{Rate: 10, Burst: 100}, Now: clock.Now}
	})
	seed(t, store, 3)
	_, key := e.key(examgate.ScopeBookingsRead)
	post := func(query string) (http.Header, map[string]json.RawMessage, map[string]any) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"query": query})
		req, _ := http.NewRequest(http.MethodPost, e.url+"/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Data       map[string]json.RawMessage `json:"data"`
			Extensions map[string]any             `json:"extensions"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return resp.Header, out.Data, out.Extensions
	}
	// The key's first request spends from its address; from then on from
	// its own budget of 10.
	post(`{ __typename }`)
	const q = `{ partner { rateLimit { limit remaining resetAt cost } bookings(first: 10) { edges { node { id } } } } }`
	h, data, ext := post(q)
	cost, _ := json.Marshal(ext["cost"])
	// partner 1 + rateLimit (1 + 4) + bookings (1 + 10 × (edges 1 + node 1 + id 1)) = 37
	if string(cost) != `{"limit":5000,"rateLimit":{"limit":10,"remaining":9,"resetAt":"2026-11-27T09:00:01Z"},"requested":37}` {
		t.Fatalf("extensions.cost = %s", cost)
	}
	if h.Get("RateLimit-Limit") != "10" || h.Get("RateLimit-Remaining") != "9" || h.Get("RateLimit-Reset") != "1" {
		t.Fatalf("headers: %v", h)
	}
	if !strings.HasPrefix(string(data["partner"]), `{"rateLimit":{"limit":10,"remaining":9,"resetAt":"2026-11-27T09:00:01Z","cost":37},`) {
		t.Fatalf("partner.rateLimit: %s", data["partner"])
	}
	clock.Advance(500 * time.Millisecond)
	if _, data, _ = post(`{ partner { rateLimit { remaining resetAt } } }`); string(data["partner"]) != `{"rateLimit":{"remaining":8,"resetAt":"2026-11-27T09:00:02Z"}}` {
		t.Fatalf("next request: %s", data["partner"])
	}
	// Refused for its complexity, a query still says what it would cost.
	_, _, ext = post(`{ a: partner { bookings(first: 100) { edges { node { candidate { bookings { id } } } } } } }`)
	if c, _ := ext["cost"].(map[string]any); c["requested"].(float64) <= 5000 || c["limit"].(float64) != 5000 {
		t.Fatalf("refused query's cost: %v", ext)
	}
}
