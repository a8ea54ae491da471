package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/cmd/internal/loadgen"
	"github.com/examgate/examgate/db/dbtest"
	"github.com/examgate/examgate/mail"
	"github.com/examgate/examgate/server"
	"github.com/examgate/examgate/tiapi"
	"github.com/examgate/examgate/tiapi/titest"
)

func TestWriteCatalog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "exams.yaml")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-write-catalog", path}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "EXAMGATE_EXAMS="+path) {
		t.Errorf("no start command in:\n%s", out.String())
	}
	catalog, err := examgate.LoadCatalog(path)
	if err != nil {
		t.Fatal(err)
	}
	exam, err := catalog.Exam(loadExam)
	if err != nil {
		t.Fatal(err)
	}
	d := exam.Delivery
	if d == nil || !d.OnDemand || d.DurationMinutes != 180 || !exam.HasCourse("3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f") || exam.TI.CourseIDs[0] != "3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f" {
		t.Fatalf("LOAD-1 = %+v, delivery %+v", exam, d)
	}
	if _, ok := d.Item("q20"); !ok {
		t.Error("LOAD-1 lacks item q20")
	}
}

// demoServer is an in-process examgate wired as cmd/examgate wires demo
// mode, with the catalog -write-catalog writes.
func demoServer(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "exams.yaml")
	if err := os.WriteFile(path, loadCatalog(), 0o644); err != nil {
		t.Fatal(err)
	}
	catalog, err := examgate.LoadCatalog(path)
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(ts.Close)
	store, _ := dbtest.OpenSQLiteFile(t)
	clock := examgate.SystemClock{}
	logger := slog.New(slog.DiscardHandler)
	base, _ := url.Parse(ts.URL)
	attempts := &examgate.Attempts{Store: store, Catalog: catalog, Clock: clock, Logger: logger}
	h = server.New(server.Deps{
		BaseURL: base, Store: store, Catalog: catalog, Clock: clock, Logger: logger,
		Verifier: tiapi.NewLaunchVerifier([]string{"demo-launch-secret"}, 500*time.Second, clock),
		Launcher: &examgate.Launcher{
			Store: store, TI: tiapi.NewClient(ts.URL+"/ti-sim", "demo-ti-api-key"), Catalog: catalog,
			Clock: clock, Logger: logger, ReplayWindow: 1000 * time.Second,
		},
		Bookings: &examgate.Bookings{Store: store, Catalog: catalog, Clock: clock, Logger: logger, Attempts: attempts},
		Attempts: attempts,
		Demo:     &server.Demo{TI: titest.New("demo-ti-api-key"), Secret: "demo-launch-secret", Mail: &mail.Sink{}},
	})
	return ts.URL
}

func TestRunAgainstDemo(t *testing.T) {
	base := demoServer(t)
	want := func(out string, lines ...string) {
		t.Helper()
		for _, l := range lines {
			if !strings.Contains(out, l) {
				t.Errorf("report lacks %q:\n%s", l, out)
			}
		}
	}

	// Paced: 5 candidates every 100 ms for 600 ms make about 30 saves.
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-base", base, "-candidates", "5", "-interval", "100ms", "-duration", "600ms", "-server-pid", strconv.Itoa(os.Getpid())}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	want(out.String(), "setup           5 candidates", "errors          none", "offered 50.0 saves/s", "behind schedule", "latency         p50", "load average    ", "server CPU      ")
	if strings.Contains(out.String(), "saves           0 ") {
		t.Errorf("no saves sent:\n%s", out.String())
	}

	// Back-to-back, capped by -max: 4 candidates at 100 saves/s for 500 ms
	// send about 50 saves, not the hundreds they could.
	out.Reset()
	if err := run(context.Background(), []string{"-base", base, "-candidates", "4", "-interval", "0", "-max", "100", "-duration", "500ms"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	want(out.String(), "back-to-back", "capped at 100 saves/s", "errors          none")
	var n int
	for _, line := range strings.Split(out.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, "saves           "); ok {
			n, _ = atoiPrefix(rest)
		}
	}
	if n < 30 || n > 60 {
		t.Errorf("-max 100 for 500 ms sent %d saves:\n%s", n, out.String())
	}

	// A catalog without -exam, a wrong secret and a non-loopback target are
	// reported before any load.
	if err := run(context.Background(), []string{"-base", base, "-exam", "NOPE-1"}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "-write-catalog") {
		t.Errorf("unknown -exam: err = %v", err)
	}
	if err := run(context.Background(), []string{"-base", base, "-candidates", "1", "-secret", "other"}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "not signed with -secret") {
		t.Errorf("wrong -secret: err = %v", err)
	}
	if err := run(context.Background(), []string{"-base", "http://192.0.2.1:8080"}, io.Discard, io.Discard); err == nil {
		t.Error("a non-loopback -base was accepted")
	}
}

// TestEndedAttemptIsAnError makes sure a save the server refuses is counted
// by its GraphQL code rather than as a success.
func TestEndedAttemptIsAnError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"errors":[{"message":"This attempt has ended.","extensions":{"code":"CONFLICT"}}],"data":null}`)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	c := &candidate{client: loadgen.Client(http.DefaultTransport, nil, time.Second), attemptID: "1",
		items: []item{{ID: "q1", Options: []struct{ ID string }{{ID: "a"}}}}}
	r := c.save(context.Background(), &options{base: u})
	if r.key != "HTTP 200 GraphQL CONFLICT" {
		t.Fatalf("key = %q", r.key)
	}
}

func atoiPrefix(s string) (int, bool) {
	n, ok := 0, false
	for _, r := range s {
		if r < '0' || r > '9' {
			break
		}
		n, ok = n*10+int(r-'0'), true
	}
	return n, ok
}
