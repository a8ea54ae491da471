package server_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
)

// docOperation is a GraphQL operation shown in docs/partners.md.
type docOperation struct {
	Query     string         `json:"query"`
	Variables map[string]any `json:"variables"`
}

// docOperations returns the operations of the guide's curl examples
// (-d '{"query": …}') and of its graphql code blocks.
func docOperations(t *testing.T) []docOperation {
	t.Helper()
	text, err := os.ReadFile("../docs/partners.md")
	if err != nil {
		t.Fatal(err)
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
		t.Fatalf("found %d operations in docs/partners.md; the patterns no longer match it", len(ops))
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
// answer, as written, and compares the answers.
func TestPartnerDocsCurlAnswers(t *testing.T) {
	store := dbtest.OpenSQLite(t)
	e := newPartnerEnv(t, store)
	seed(t, store, 2)
	_, key := e.key(examgate.ScopeBookingsRead, examgate.ScopeResultsRead, examgate.ScopeAdmin)
	examples := append(curlExamples(t, "../docs/partners.md"), curlExamples(t, "../docs/graphql-http.md")...)
	if len(examples) < 2 {
		t.Fatalf("found %d curl examples with answers in docs/partners.md and docs/graphql-http.md", len(examples))
	}
	for _, ex := range examples {
		ex.run(t, e.url, key)
	}
}
