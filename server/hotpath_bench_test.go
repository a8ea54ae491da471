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
)

// hotDashboard is the web app's dashboard query (frontend/src/pages/ExamDashboard.tsx).
const hotDashboard = `query ExamDashboard($code: String!) {
  me { id name email timeZone }
  exam(code: $code) { code title bookable timeZone onDemand durationMinutes itemCount passMark }
  eligibility(examCode: $code) { endsAt active }
  bookings(examCode: $code) { id status startsAt endsAt timeZone checkInOpensAt checkInClosesAt reschedulesLeft
    canStart { allowed code reason } canCancel { allowed code reason } canReschedule { allowed code reason }
    calendarUrl attemptId updatedAt }
  result(examCode: $code) { attemptId examCode passed percent delivery }
}`

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
				seq := l.seq.Load()
				b.ReportAllocs()
				for b.Loop() {
					seq++
					post(b, body(saveMutation, map[string]any{"input": map[string]any{
						"attemptId": l.attemptID, "itemId": fmt.Sprintf("q%d", 1+seq%saveItems), "choices": []string{"b"}, "clientSeq": seq,
					}}), l.cookie)
				}
			})
		})
	}
}
