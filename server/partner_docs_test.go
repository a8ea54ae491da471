package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
	"github.com/examgate/examgate/server"
)

// docOperation is a GraphQL operation shown in docs/partners.md.
type docOperation struct {
	Query     string         `json:"query"`
	Variables map[string]any `json:"variables"`
}

// docOperations returns the operations of the partner and operations
// guides' curl examples (-d '{"query": …}') and of their graphql code
// blocks.
func docOperations(t *testing.T) []docOperation {
	t.Helper()
	var text []byte
	for _, name := range []string{"../docs/partners.md", "../docs/operations.md"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		text = append(text, b...)
	}
	var ops []docOperation
	for _, m := range regexp.MustCompile(`(?m)-d '(\{"query".*\})'$`).FindAllStringSubmatch(string(text), -1) {
		var op docOperation
		if err := json.Unmarshal([]byte(m[1]), &op); err != nil {
			var shape map[string]json.RawMessage
			if json.Unmarshal([]byte(m[1]), &shape) == nil {
				continue // an example of a malformed request (TestPartnerDocsCurlAnswers)
			}
			t.Fatalf("curl example is not JSON: %v\n%s", err, m[1])
		}
		ops = append(ops, op)
	}
	for _, m := range regexp.MustCompile("(?s)```graphql\n(.*?)```").FindAllStringSubmatch(string(text), -1) {
		ops = append(ops, docOperation{Query: m[1]})
	}
	if len(ops) < 5 {
		t.Fatalf("found %d operations in docs/partners.md and docs/operations.md; the patterns no longer match them", len(ops))
	}
	return ops
}

// TestPartnerDocsOperationsRun: every operation in the partner guide is
// within the depth and complexity limits and valid against the schema; the
// partner queries answer without any error, the full documented page of
// 100 bookings included.
func TestPartnerDocsOperationsRun(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		e := newPartnerEnv(t, store)
		seed(t, store, 100)
		_, key := e.key(examgate.ScopeBookingsRead, examgate.ScopeResultsRead, examgate.ScopeAdmin)
		refused := map[string]bool{"COMPLEXITY_LIMIT_EXCEEDED": true, "DEPTH_LIMIT_EXCEEDED": true, "GRAPHQL_VALIDATION_FAILED": true, "GRAPHQL_PARSE_FAILED": true}
		for _, op := range docOperations(t) {
			got := e.query(key, op.Query, op.Variables)
			for i, c := range codes(got) {
				if refused[c] {
					t.Errorf("documented operation refused: %s: %s\n%s", c, got.Errors[i].Message, op.Query)
				}
			}
			if strings.Contains(op.Query, "partner {") {
				if len(got.Errors) > 0 || got.Data["partner"] == nil {
					t.Errorf("documented partner query: %+v\n%s", got.Errors, op.Query)
				}
				if strings.Contains(op.Query, "bookings(first: 100") && strings.Count(string(got.Data["partner"]), `"node"`) != 100 {
					t.Errorf("documented page: not 100 bookings")
				}
			}
		}
	})
}

// TestPartnerDocsCurlAnswers runs the guides' curl examples that show their
// answer, as written, and compares the answers. The webhook examples act
// on endpoint 3, a receiver that answers "ok" to requests signed with its
// secret (either one while it is rotated), and on delivery 42.
func TestPartnerDocsCurlAnswers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		clock := examgate.ClockFunc(func() time.Time { return now })
		hooks := &examgate.Webhooks{Store: store, Clock: clock, Sender: examgate.NewWebhookSender(true)}
		// One budget for keys and addresses alike, so that the documented
		// limit does not depend on which request a key makes first.
		budget := server.Budget{Rate: 10, Burst: 60}
		e := newPartnerEnvWith(t, store, func(d *server.Deps) {
			d.Webhooks = hooks
			d.RateLimits = server.RateLimits{Key: budget, Learner: budget, Now: clock.Now}
		})
		seed(t, store, 2)
		var mu sync.Mutex
		var secrets []string
		receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			defer mu.Unlock()
			// Each v1 of the header is one secret's signature of <t>.<body>.
			header := r.Header.Get("X-Examgate-Signature")
			ts, sigs, _ := strings.Cut(header, ",")
			sec, _ := strconv.ParseInt(strings.TrimPrefix(ts, "t="), 10, 64)
			for _, s := range secrets {
				_, want, _ := strings.Cut(examgate.SignWebhook(s, time.Unix(sec, 0), body), ",")
				if slices.Contains(strings.Split(sigs, ","), want) {
					fmt.Fprint(w, "ok")
					return
				}
			}
			w.WriteHeader(http.StatusUnauthorized)
		}))
		t.Cleanup(receiver.Close)
		for i := 1; i <= 3; i++ {
			ep, err := hooks.Add(ctx, receiver.URL+fmt.Sprintf("/hooks/%d", i), []string{examgate.EventBookingCreated}, "", "")
			if err != nil || ep.ID != int64(i) {
				t.Fatalf("endpoint %d: %+v %v", i, ep, err)
			}
			secrets = append(secrets, ep.Secret)
		}
		for i := 1; i <= 42; i++ {
			if _, err := store.FanOutWebhookEvent(ctx, []int64{3}, fmt.Sprintf("evt_%032d", i), examgate.EventBookingCreated, int64(i),
				func(int64) string { return fmt.Sprint("k", i) }, []byte(`{}`), now); err != nil {
				t.Fatal(err)
			}
		}
		if err := store.RecordWebhookAttempt(ctx, 42, examgate.WebhookOutcome{Status: 200}, now); err != nil {
			t.Fatal(err)
		}
		if err := store.DisableWebhookEndpoint(ctx, 3, "answered 410 Gone", now); err != nil {
			t.Fatal(err)
		}
		_, key := e.key(examgate.ScopeBookingsRead, examgate.ScopeResultsRead, examgate.ScopeWebhooksManage)
		_, admin := e.key(examgate.ScopeAdmin)
		examples := append(curlExamples(t, "../docs/partners.md"), curlExamples(t, "../docs/graphql-http.md")...)
		if len(examples) < 4 {
			t.Fatalf("found %d curl examples with answers in docs/partners.md and docs/graphql-http.md", len(examples))
		}
		for _, ex := range examples {
			ex.run(t, e.url, key, admin)
		}
		// Every documented webhook query and mutation runs without an error.
		for _, op := range docOperations(t) {
			if strings.Contains(op.Query, "ebhook") {
				if got := e.query(admin, op.Query, op.Variables); len(got.Errors) > 0 {
					t.Errorf("%s: %+v", op.Query, got.Errors)
				}
			}
		}
	})
}
