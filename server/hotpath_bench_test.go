package server_test

// BenchmarkHotPath runs the learner requests that cmd/perfratio compares
// with bare references, in process and one at a time (the handler's
// ServeHTTP with a recorder: no TCP, no client), so that ns/op, B/op and
// allocs/op are examgate's own cost per request: the GraphQL fixed cost
// ({ __typename }), the learner dashboard query and the autosave.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
	"github.com/examgate/examgate/graph"
	"github.com/examgate/examgate/server"
)

// hotDashboard is the web app's dashboard query, as the browser sends it.
const hotDashboard = graph.DashboardDocument

func BenchmarkHotPath(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) *db.DB
	}{
		{"sqlite", func(b *testing.B) *db.DB { s, _ := dbtest.OpenSQLiteFile(b); return s }},
		// Every connection kept idle, as db.Open does in production (the
		// test stores keep two, which would open a backend per request).
		{"postgres", func(b *testing.B) *db.DB { s := dbtest.OpenPostgres(b); s.SetMaxIdleConns(20); return s }},
	}
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			e := saveSetup(b, st.open(b))
			hotPaths(b, e)
		})
		// The same requests answered by gqlgen's executor alone, without
		// the compiled hot documents (graph/compiled.go): what they save.
		b.Run(st.name+"-executor", func(b *testing.B) {
			e := saveSetup(b, st.open(b), func(d *server.Deps) { d.GraphQLExecutorOnly = true })
			hotPaths(b, e)
		})
	}
}

// hotPaths runs the three requests against e.
func hotPaths(b *testing.B, e *saveEnv) {
	l := e.learners[0]
	post := func(b *testing.B, body []byte, cookie string) {
		req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		req.RemoteAddr = "127.0.0.1:40000"
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || bytes.Contains(rec.Body.Bytes(), []byte(`"errors"`)) {
			b.Fatalf("HTTP %d: %s", rec.Code, rec.Body.Bytes())
		}
	}
	body := func(query string, vars map[string]any) []byte {
		raw, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
		return raw
	}
	b.Run("typename", func(b *testing.B) {
		q := body("{ __typename }", nil)
		b.ReportAllocs()
		for b.Loop() {
			post(b, q, "")
		}
	})
	b.Run("dashboard", func(b *testing.B) {
		q := body(hotDashboard, map[string]any{"code": saveExam})
		b.ReportAllocs()
		for b.Loop() {
			post(b, q, l.cookie)
		}
	})
	b.Run("save", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			// Every save newer than the last, across runs too: a stale one
			// is refused and answered with a read of the stored answer.
			seq := l.seq.Add(1)
			post(b, body(saveMutation, map[string]any{"input": map[string]any{
				"attemptId": l.attemptID, "itemId": fmt.Sprintf("q%d", 1+seq%saveItems), "choices": []string{"b"}, "clientSeq": seq,
			}}), l.cookie)
		}
	})
}
