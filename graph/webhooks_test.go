package graph_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
	"github.com/examgate/examgate/graph"
)

type gqlResult struct {
	Data   map[string]json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

// webhookAPI serves the GraphQL handler; requests carrying the header
// X-Test-Admin are marked as made with admin rights, the way the server's
// authentication marks them.
func webhookAPI(t *testing.T, store *db.DB, now time.Time) func(admin bool, query string, vars map[string]any) gqlResult {
	clock := examgate.ClockFunc(func() time.Time { return now })
	hooks := &examgate.Webhooks{Store: store, Clock: clock, Sender: examgate.NewWebhookSender(true)}
	h := graph.NewHandler(&graph.Resolver{Store: store, Hooks: hooks, Clock: clock}, graph.Options{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Test-Admin") != "" {
			r = r.WithContext(examgate.NewContextWithAdmin(r.Context()))
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return func(admin bool, query string, vars map[string]any) gqlResult {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if admin {
			req.Header.Set("X-Test-Admin", "1")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out gqlResult
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatalf("status %d: %v", resp.StatusCode, err)
		}
		return out
	}
}

func errorCode(r gqlResult) string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

func TestWebhookGraphQL(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
		do := webhookAPI(t, store, now)
		const add = `mutation($in: AddWebhookInput!) { addWebhook(input: $in) { secret endpoint { id url events description disabledAt createdAt } } }`
		in := map[string]any{"in": map[string]any{
			"url": "http://127.0.0.1:9/hooks", "events": []string{"BOOKING_CREATED", "BOOKING_NO_SHOW"}, "description": "CRM",
		}}

		// Without admin rights every field is refused.
		for _, q := range []struct {
			query string
			vars  map[string]any
		}{
			{add, in},
			{`{ webhooks { id } }`, nil},
			{`{ webhookDeliveries(endpointId: "1") { edges { cursor } } }`, nil},
			{`mutation { removeWebhook(id: "1") }`, nil},
		} {
			if r := do(false, q.query, q.vars); errorCode(r) != examgate.EUNAUTHORIZED {
				t.Fatalf("%s without admin: %+v", q.query, r)
			}
		}

		r := do(true, add, in)
		if len(r.Errors) > 0 {
			t.Fatalf("add: %+v", r.Errors)
		}
		var added struct {
			Secret   string
			Endpoint struct {
				ID, URL, Description string
				Events               []string
				DisabledAt           *time.Time
				CreatedAt            time.Time
			}
		}
		if err := json.Unmarshal(r.Data["addWebhook"], &added); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(added.Secret, "whsec_") || added.Endpoint.URL != "http://127.0.0.1:9/hooks" ||
			fmt.Sprint(added.Endpoint.Events) != "[BOOKING_CREATED BOOKING_NO_SHOW]" || added.Endpoint.Description != "CRM" ||
			added.Endpoint.DisabledAt != nil || !added.Endpoint.CreatedAt.Equal(now) {
			t.Fatalf("added = %+v", added)
		}
		// The schema has no way to read the secret again.
		if r := do(true, `{ webhooks { id secret } }`, nil); len(r.Errors) == 0 {
			t.Fatal("webhooks exposes a secret field")
		}
		r = do(true, `{ webhooks { id url events } }`, nil)
		if len(r.Errors) > 0 || !strings.Contains(string(r.Data["webhooks"]), `"events":["BOOKING_CREATED","BOOKING_NO_SHOW"]`) ||
			strings.Contains(string(r.Data["webhooks"]), added.Secret) {
			t.Fatalf("webhooks = %s %+v", r.Data["webhooks"], r.Errors)
		}

		// Invalid input is refused with a message that says what to do.
		bad := map[string]any{"in": map[string]any{"url": "https://10.0.0.1/hooks", "events": []string{"BOOKING_CREATED"}}}
		strict := &examgate.Webhooks{Store: store, Clock: examgate.SystemClock{}, Sender: examgate.NewWebhookSender(false)}
		h := graph.NewHandler(&graph.Resolver{Store: store, Hooks: strict}, graph.Options{})
		body, _ := json.Marshal(map[string]any{"query": add, "variables": bad})
		req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body)).WithContext(examgate.NewContextWithAdmin(t.Context()))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var refused gqlResult
		_ = json.Unmarshal(rec.Body.Bytes(), &refused)
		if errorCode(refused) != examgate.EINVALID || !strings.Contains(refused.Errors[0].Message, "not a public address") {
			t.Fatalf("private address: %s", rec.Body.String())
		}

		// The delivery log pages with cursors.
		id := added.Endpoint.ID
		var epID int64
		fmt.Sscan(id, &epID)
		key := func(int64) string { return "k" }
		for i := 1; i <= 3; i++ {
			if _, err := store.FanOutWebhookEvent(t.Context(), []int64{epID}, fmt.Sprintf("evt_%d", i), examgate.EventBookingNoShow, int64(40+i), key, []byte(`{}`), now); err != nil {
				t.Fatal(err)
			}
		}
		const page = `query($id: ID!, $after: String) { webhookDeliveries(endpointId: $id, first: 2, after: $after) {
			edges { cursor node { eventId eventType bookingId state attempts lastStatusCode nextTryAt } } pageInfo { hasNextPage endCursor } } }`
		type conn struct {
			Edges []struct {
				Node struct {
					EventID, EventType, State string
					BookingID                 *string
					Attempts                  int
					LastStatusCode            *int
					NextTryAt                 *time.Time
				}
			}
			PageInfo struct {
				HasNextPage bool
				EndCursor   *string
			}
		}
		var p1, p2 conn
		r = do(true, page, map[string]any{"id": id})
		if err := json.Unmarshal(r.Data["webhookDeliveries"], &p1); err != nil || len(p1.Edges) != 2 || !p1.PageInfo.HasNextPage {
			t.Fatalf("page 1: %s %+v", r.Data["webhookDeliveries"], r.Errors)
		}
		n := p1.Edges[0].Node
		if n.EventID != "evt_3" || n.EventType != "BOOKING_NO_SHOW" || n.State != "PENDING" || *n.BookingID != "43" ||
			n.Attempts != 0 || n.LastStatusCode != nil || n.NextTryAt == nil {
			t.Fatalf("node = %+v", n)
		}
		r = do(true, page, map[string]any{"id": id, "after": *p1.PageInfo.EndCursor})
		if err := json.Unmarshal(r.Data["webhookDeliveries"], &p2); err != nil || len(p2.Edges) != 1 || p2.PageInfo.HasNextPage ||
			p2.Edges[0].Node.EventID != "evt_1" {
			t.Fatalf("page 2: %s", r.Data["webhookDeliveries"])
		}
		if r := do(true, page, map[string]any{"id": id, "after": "bogus"}); errorCode(r) != examgate.EINVALID {
			t.Fatalf("bad cursor: %+v", r)
		}
		if r := do(true, `{ webhookDeliveries(endpointId: "999") { edges { cursor } } }`, nil); errorCode(r) != examgate.ENOTFOUND {
			t.Fatalf("unknown endpoint: %+v", r)
		}

		if r := do(true, `mutation($id: ID!) { removeWebhook(id: $id) }`, map[string]any{"id": id}); string(r.Data["removeWebhook"]) != "true" {
			t.Fatalf("remove: %+v", r)
		}
		if r := do(true, `{ webhooks { id } }`, nil); string(r.Data["webhooks"]) != "[]" {
			t.Fatalf("after remove: %s", r.Data["webhooks"])
		}
	})
}
