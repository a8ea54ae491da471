package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
	"github.com/examgate/examgate/tiapi/titest"
)

// TestReference runs every route of the reference against a migrated store
// on both databases, so that what perfratio compares examgate with works.
func TestReference(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		r, err := newRef(ctx, store.Bun().DB, store.HotPool(), store.Postgres(), []byte("secret"))
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := store.Bun().DB.ExecContext(ctx, r.text(q), args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		exec(`INSERT INTO candidates (id, external_id, email, first_name, last_name, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			1, "ext-1", "ada@example.com", "Ada", "Lovelace", r.ts(now), r.ts(now))
		exec(`INSERT INTO attempts (id, candidate_id, exam_code, seed, started_at, deadline, status) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			7, 1, "EX-1", 1, r.ts(now), r.ts(now.Add(time.Hour)), "open")
		srv := httptest.NewServer(r.routes())
		defer srv.Close()
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		post := func(path, cookie, body string, out any) int {
			t.Helper()
			req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
			if cookie != "" {
				req.Header.Set("Cookie", "examgate_session="+cookie)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
				t.Fatal(err)
			}
			return resp.StatusCode
		}

		var saved struct{ Accepted bool }
		for _, want := range []bool{true, false} { // the same clientSeq twice: the second is older
			if code := post("/save", "", `{"attemptId":"7","itemId":"q1","choices":["b"],"clientSeq":3}`, &saved); code != 200 || saved.Accepted != want {
				t.Fatalf("save: HTTP %d, accepted %v, want %v", code, saved.Accepted, want)
			}
		}

		tok, err := titest.SignLaunch("secret", titest.LaunchToken{Email: "ada@example.com", ExternalCustomerID: "ext-1", CourseID: "c"})
		if err != nil {
			t.Fatal(err)
		}
		launch := func() *http.Response {
			resp, err := client.Get(srv.URL + "/launch?jwt=" + url.QueryEscape(tok))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		resp := launch()
		if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 {
			t.Fatalf("launch: HTTP %d, cookies %v", resp.StatusCode, resp.Cookies())
		}
		cookie := resp.Cookies()[0].Value
		if again := launch(); again.StatusCode != http.StatusUnauthorized {
			t.Fatalf("the same token again: HTTP %d, want 401", again.StatusCode)
		}

		var dash struct {
			Data struct {
				Me struct{ ID, Email string }
			}
		}
		if code := post("/dashboard", cookie, `{"code":"EX-1"}`, &dash); code != 200 || dash.Data.Me.ID != "1" || dash.Data.Me.Email != "ada@example.com" {
			t.Fatalf("dashboard: HTTP %d, %+v", code, dash)
		}
		var hello struct {
			Data struct {
				Typename string `json:"__typename"`
			}
		}
		if code := post("/hello", "", `{"query":"{ __typename }"}`, &hello); code != 200 || hello.Data.Typename != "Query" {
			t.Fatalf("hello: HTTP %d, %+v", code, hello)
		}
	})
}
