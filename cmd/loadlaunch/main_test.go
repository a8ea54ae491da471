package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db/dbtest"
	"github.com/examgate/examgate/server"
	"github.com/examgate/examgate/tiapi"
	"github.com/examgate/examgate/tiapi/titest"
)

// TestRunAgainstDemo runs a small load against an in-process examgate wired
// as cmd/examgate wires demo mode.
func TestRunAgainstDemo(t *testing.T) {
	catalog, err := examgate.ParseCatalog([]byte(`exams:
  - code: DEMO-101
    title: Demo Certification Exam
    eligibilityDays: 90
    ti:
      courseIds: ["3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f"]
      courseSlug: demo-course
`))
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	defer ts.Close()
	store, _ := dbtest.OpenSQLiteFile(t)
	clock := examgate.SystemClock{}
	logger := slog.New(slog.DiscardHandler)
	base, _ := url.Parse(ts.URL)
	h = server.New(server.Deps{
		BaseURL: base, Store: store, Catalog: catalog, Clock: clock, Logger: logger,
		Verifier: tiapi.NewLaunchVerifier([]string{"demo-launch-secret"}, 500*time.Second, clock),
		Launcher: &examgate.Launcher{
			Store: store, TI: tiapi.NewClient(ts.URL+"/ti-sim", "demo-ti-api-key"), Catalog: catalog,
			Clock: clock, Logger: logger, ReplayWindow: 1000 * time.Second,
		},
		Demo: &server.Demo{TI: titest.New("demo-ti-api-key"), Secret: "demo-launch-secret"},
	})

	var out bytes.Buffer
	if err := run(context.Background(), []string{"-base", ts.URL, "-n", "20", "-c", "4"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"launches        20 of 20", "succeeded       20", "errors          none", "launch latency  p50"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}

	// A wrong secret or API key is reported as such.
	out.Reset()
	if err := run(context.Background(), []string{"-base", ts.URL, "-n", "1", "-secret", "other"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "not signed with -secret") {
		t.Errorf("wrong -secret not reported:\n%s", out.String())
	}
	if err := run(context.Background(), []string{"-base", ts.URL, "-api-key", "other"}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "-api-key") {
		t.Errorf("wrong -api-key: err = %v", err)
	}
	if err := run(context.Background(), []string{"-base", "http://192.0.2.1:8080"}, io.Discard, io.Discard); err == nil {
		t.Error("a non-loopback -base was accepted")
	}

	// -duration ends a run that -n would not.
	out.Reset()
	if err := run(context.Background(), []string{"-base", ts.URL, "-n", "1000000", "-c", "2", "-duration", "300ms"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "stopped by -duration") || !strings.Contains(out.String(), "errors          none") {
		t.Errorf("a run cut by -duration reports:\n%s", out.String())
	}

	// A server not in demo mode is refused before any load is sent.
	plain := httptest.NewServer(server.New(server.Deps{BaseURL: base, Store: store, Catalog: catalog, Logger: logger}))
	defer plain.Close()
	if err := run(context.Background(), []string{"-base", plain.URL}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "EXAMGATE_DEMO=1") {
		t.Errorf("a server without demo mode: err = %v", err)
	}
}
