package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/examgate/examgate/db/dbtest"
	"github.com/examgate/examgate/tiapi/titest"
)

const quizCatalog = `
exams:
  - code: DEMO-101
    title: Quiz
    eligibilityDays: 90
    ti: {courseIds: [course-101]}
    delivery:
      onDemand: true
      durationMinutes: 10
      passMark: 50
      shuffleOptions: true
      items:
        - {id: q1, type: single, stem: "Pick **b**", options: [{id: a, text: "Alpha"}, {id: b, text: "Bravo"}, {id: c, text: "Charlie"}], correct: [b]}
        - {id: q2, type: multiple, stem: "Pick a and c", options: [{id: a, text: "Alpha"}, {id: b, text: "Bravo"}, {id: c, text: "Charlie"}], correct: [a, c]}
        - {id: q3, type: truefalse, stem: "<script>alert(1)</script> True?", correct: ["true"]}
`

// rawGraphQL returns the undecoded response body, to assert on what the
// browser receives byte for byte.
func (e *env) rawGraphQL(c *http.Client, query string) string {
	e.t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	req, _ := http.NewRequest(http.MethodPost, e.url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestAttemptOverGraphQL(t *testing.T) {
	e := newEnvWithCatalog(t, dbtest.OpenSQLite(t), quizCatalog, nil)
	ada, bob := e.browser(), e.browser()
	e.launch(ada, "DEMO-101", e.token(nil))
	other := e.ti.AddUser(titest.User{Email: "bob@example.com", ExternalCustomerID: "cust-bob"})
	e.ti.AddPurchase(titest.Purchase{UserID: other.ID, CourseID: course, Time: purchased})
	e.launch(bob, "DEMO-101", e.token(func(c *titest.LaunchToken) { c.Email, c.ExternalCustomerID = "bob@example.com", "cust-bob" }))

	start := e.graphql(ada, `mutation { startOnDemand(input: {examCode: "DEMO-101", clientKey: "start-click-1"}) { id } }`)
	if len(start.Errors) > 0 {
		t.Fatalf("start: %+v", start.Errors)
	}
	var started struct{ ID string }
	_ = json.Unmarshal(start.Data["startOnDemand"], &started)

	// Everything the schema lets a client ask for an attempt, as raw JSON.
	full := fmt.Sprintf(`{ attempt(id: %q) { id examCode examTitle status startedAt deadline serverTime endedAt
		sections { title items { id number type stemHtml points options { id text } } }
		answers { itemId choices flagged clientSeq savedAt accepted } result { percent } } }`, started.ID)
	raw := e.rawGraphQL(ada, full)
	for _, leak := range []string{"correct", "Correct", `"b"]`, "<script>"} {
		if strings.Contains(raw, leak) {
			t.Errorf("attempt payload contains %q:\n%s", leak, raw)
		}
	}
	if !strings.Contains(raw, `\u003cstrong\u003eb\u003c/strong\u003e`) && !strings.Contains(raw, "<strong>b</strong>") {
		t.Errorf("stem Markdown not rendered:\n%s", raw)
	}

	// Bob cannot read or write Ada's attempt, nor learn that it exists.
	for _, q := range []string{
		full,
		fmt.Sprintf(`mutation { saveAnswer(input: {attemptId: %q, itemId: "q1", choices: ["b"], clientSeq: 1}) { accepted } }`, started.ID),
		fmt.Sprintf(`mutation { submitAttempt(input: {attemptId: %q}) { status } }`, started.ID),
		`{ attempt(id: "not-a-number") { id } }`,
	} {
		got := e.graphql(bob, q)
		if len(got.Errors) != 1 || got.Errors[0].Extensions["code"] != "NOT_FOUND" {
			t.Errorf("bob: %s → %+v", q, got.Errors)
		}
	}

	save := e.graphql(ada, fmt.Sprintf(`mutation { a: saveAnswer(input: {attemptId: %q, itemId: "q1", choices: ["b"], clientSeq: 1}) { accepted }
		b: saveAnswer(input: {attemptId: %q, itemId: "q2", choices: ["a", "c"], clientSeq: 2}) { accepted } }`, started.ID, started.ID))
	if len(save.Errors) > 0 || string(save.Data["a"]) != `{"accepted":true}` {
		t.Fatalf("save: %s %+v", save.Data["a"], save.Errors)
	}
	done := e.graphql(ada, fmt.Sprintf(`mutation { submitAttempt(input: {attemptId: %q}) { status result { score maxScore percent passed items { itemId } } } }`, started.ID))
	if string(done.Data["submitAttempt"]) != `{"status":"SUBMITTED","result":{"score":2,"maxScore":3,"percent":66.67,"passed":true,"items":null}}` {
		t.Fatalf("submit: %s %+v", done.Data["submitAttempt"], done.Errors)
	}
	if got := e.graphql(ada, `{ result(examCode: "DEMO-101") { percent passed } }`); string(got.Data["result"]) != `{"percent":66.67,"passed":true}` {
		t.Fatalf("result: %s", got.Data["result"])
	}
	if got := e.graphql(bob, `{ result(examCode: "DEMO-101") { percent } }`); string(got.Data["result"]) != "null" {
		t.Fatalf("bob sees a result: %s", got.Data["result"])
	}
}
