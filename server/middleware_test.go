package server

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/examgate/examgate"
)

// logRecords returns the JSON log lines written to b.
func logRecords(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(b.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, rec)
	}
	return out
}

// seen is what a test route saw of its request.
type seen struct {
	id      string
	session *examgate.SessionRef
	header  http.Header
}

// chainServer is a Server over no store, with a test route at
// GET /t/{x} that reports what it saw, answers 201 and says "ok". Tests
// call its ServeHTTP directly, so that its log needs no lock.
func chainServer(t *testing.T, base string) (*Server, *bytes.Buffer, chan seen) {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	s := New(Deps{BaseURL: u, Logger: slog.New(LogHandler{slog.NewJSONHandler(logs, nil)}), Metrics: NewMetrics()})
	got := make(chan seen, 1)
	s.mux.HandleFunc("GET /t/{x}", func(w http.ResponseWriter, r *http.Request) {
		got <- seen{RequestID(r.Context()), examgate.SessionRefFromContext(r.Context()), w.Header().Clone()}
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte("ok"))
	})
	s.mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Partial", "1")
		panic("boom")
	})
	s.mux.HandleFunc("GET /abort", func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) })
	return s, logs, got
}

func requestsCounted(t *testing.T, s *Server, route, method, status string) float64 {
	var m dto.Metric
	if err := s.Metrics.requests.WithLabelValues(route, method, status).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

var requestIDPattern = regexp.MustCompile(`^[0-9a-f]{16}$`)

func TestRequestChain(t *testing.T) {
	s, logs, got := chainServer(t, "https://examgate.example.com")
	ids := map[string]bool{}
	for range 3 {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/t/one?token=secret", nil))
		saw := <-got
		id := rec.Header().Get("X-Request-Id")
		if !requestIDPattern.MatchString(id) || saw.id != id {
			t.Fatalf("X-Request-Id %q, the handler's id %q", id, saw.id)
		}
		if ids[id] {
			t.Fatalf("id %s twice", id)
		}
		ids[id] = true
		if rec.Code != http.StatusCreated || rec.Body.String() != "ok" {
			t.Fatalf("answer %d %q", rec.Code, rec.Body)
		}
		for k, v := range map[string]string{
			"Referrer-Policy":           "no-referrer",
			"X-Content-Type-Options":    "nosniff",
			"X-Frame-Options":           "DENY",
			"Content-Security-Policy":   contentSecurityPolicy,
			"Strict-Transport-Security": "max-age=31536000",
			"X-Request-Id":              id,
		} {
			// Set before the handler ran, one value each.
			if g := saw.header[k]; len(g) != 1 || g[0] != v {
				t.Errorf("%s = %q, want %q", k, g, v)
			}
		}
		if saw.session != nil {
			t.Error("a session without a cookie")
		}
	}
	recs := logRecords(t, logs)
	if len(recs) != 3 {
		t.Fatalf("%d log lines for 3 requests: %v", len(recs), recs)
	}
	for _, rec := range recs {
		if rec["msg"] != "request" || rec["level"] != "INFO" || rec["method"] != "GET" || rec["path"] != "/t/one" ||
			rec["status"] != 201.0 || rec["duration_ms"] == nil || !ids[rec["request_id"].(string)] || len(rec) != 8 {
			t.Errorf("log line %v", rec)
		}
	}
	if n := requestsCounted(t, s, "GET /t/{x}", "GET", "201"); n != 3 {
		t.Errorf("counted %v requests by the route pattern, want 3", n)
	}
	// A request no route takes is counted as unmatched.
	s.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPut, "/t/one", nil))
	if n := requestsCounted(t, s, "unmatched", "PUT", "405"); n != 1 {
		t.Errorf("unmatched: %v", n)
	}
}

func TestRequestChainNoHSTSOverHTTP(t *testing.T) {
	s, _, got := chainServer(t, "http://127.0.0.1:8080")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/t/one", nil))
	<-got
	if v, ok := rec.Header()["Strict-Transport-Security"]; ok {
		t.Fatalf("HSTS over http: %q", v)
	}
	if rec.Header().Get("X-Frame-Options") != "DENY" {
		t.Fatal("no security headers")
	}
}

func TestRequestChainSessionCookie(t *testing.T) {
	s, _, got := chainServer(t, "https://examgate.example.com")
	for _, tc := range []struct {
		cookie string
		want   bool
	}{
		{"", false},
		{SessionCookie + "=", false},
		{SessionCookie + "=" + strings.Repeat("a", 128), true},
		{SessionCookie + "=" + strings.Repeat("a", 129), false}, // longer than any token: not looked up
		{"other=x; " + SessionCookie + "=tok", true},
	} {
		req := httptest.NewRequest(http.MethodGet, "/t/one", nil)
		if tc.cookie != "" {
			req.Header.Set("Cookie", tc.cookie)
		}
		s.ServeHTTP(httptest.NewRecorder(), req)
		saw := <-got
		if (saw.session != nil) != tc.want {
			t.Errorf("cookie %.40q: session %v, want %v", tc.cookie, saw.session != nil, tc.want)
			continue
		}
		if tc.want {
			c, _ := req.Cookie(SessionCookie)
			if saw.session.TokenHash() != examgate.HashSessionToken(c.Value) {
				t.Errorf("cookie %.40q: the session of another token", tc.cookie)
			}
		}
	}
}

func TestRequestChainPanic(t *testing.T) {
	s, logs, _ := chainServer(t, "https://examgate.example.com")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/panic?token=secret", nil))
	id := rec.Header().Get("X-Request-Id")
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), id) ||
		rec.Header().Get("Content-Type") != "text/html; charset=utf-8" || rec.Header().Get("X-Frame-Options") != "DENY" {
		t.Fatalf("after a panic: %d %v %.200s", rec.Code, rec.Header(), rec.Body)
	}
	var panics int
	for _, r := range logRecords(t, logs) {
		if r["request_id"] != id {
			t.Errorf("line without the request's id: %v", r)
		}
		switch r["msg"] {
		case "panic":
			panics++
			if r["level"] != "ERROR" || r["panic"] != "boom" || r["path"] != "/panic" {
				t.Errorf("panic line %v", r)
			}
		case "request":
			t.Errorf("request line after a panic: %v", r) // the panic's lines stand for it
		}
	}
	if panics != 1 {
		t.Errorf("%d panic lines", panics)
	}

	// An aborted handler is net/http's to handle.
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Fatalf("recovered %v, want http.ErrAbortHandler", v)
		}
	}()
	s.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/abort", nil))
}

// TestRequestHeaderValuesStayApart: the headers set from one array of
// values can each be added to without changing another.
func TestRequestHeaderValuesStayApart(t *testing.T) {
	s, _, _ := chainServer(t, "https://examgate.example.com")
	s.mux.HandleFunc("GET /add", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("X-Request-Id", "extra")
		w.Header().Add("Referrer-Policy", "strict-origin")
	})
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/add", nil))
	h := rec.Header()
	if len(h["X-Request-Id"]) != 2 || h["Referrer-Policy"][0] != "no-referrer" || h["Referrer-Policy"][1] != "strict-origin" ||
		h.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("headers %v", h)
	}
}
