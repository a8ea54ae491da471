package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate/tiapi"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// migrated creates the database of getenv (or --db dsn) with `examgate
// migrate`, as an operator does before the other commands.
func migrated(t *testing.T, getenv func(string) string, args ...string) {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), append([]string{"migrate"}, args...), getenv, &out, io.Discard); err != nil || !strings.HasPrefix(out.String(), "migrations applied: ") {
		t.Fatalf("migrate: %q %v", out.String(), err)
	}
}

func TestConfigRefusesMissingSecrets(t *testing.T) {
	_, err := parseConfig(nil, env(map[string]string{"EXAMGATE_EXAMS": "x.yaml"}), io.Discard)
	if err == nil {
		t.Fatal("started without secrets")
	}
	for _, want := range []string{"EXAMGATE_TI_SECRETS", "EXAMGATE_TI_API_KEY", "EXAMGATE_TI_BASE_URL", "EXAMGATE_DEMO=1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
	_, err = parseConfig(nil, env(map[string]string{"EXAMGATE_EXAMS": "x.yaml", "EXAMGATE_TI_API_KEY": "k", "EXAMGATE_TI_BASE_URL": "https://ti.example.com", "EXAMGATE_TI_SECRETS": "a,b,c"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "two") {
		t.Fatalf("three secrets: %v", err)
	}
	_, err = parseConfig(nil, env(map[string]string{"EXAMGATE_DEMO": "1", "EXAMGATE_TI_SECRETS": "real-secret"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "cannot be combined") {
		t.Fatalf("demo with real TI settings: %v", err)
	}
	_, err = parseConfig(nil, env(map[string]string{"EXAMGATE_DEMO": "1", "EXAMGATE_BASE_URL": "ftp://x"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "EXAMGATE_BASE_URL") {
		t.Fatalf("bad base URL: %v", err)
	}
}

func TestConfigDemoDefaults(t *testing.T) {
	c, err := parseConfig([]string{"-addr", "127.0.0.1:9999"}, env(map[string]string{"EXAMGATE_DEMO": "true"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL != "http://127.0.0.1:9999" || c.TIBaseURL != "http://127.0.0.1:9999/ti-sim" || !c.Playground || len(c.TISecrets) != 1 {
		t.Fatalf("config = %+v", c)
	}
}

func TestConfigTIPlan(t *testing.T) {
	real := map[string]string{"EXAMGATE_EXAMS": "x.yaml", "EXAMGATE_TI_API_KEY": "k", "EXAMGATE_TI_BASE_URL": "https://ti.example.com", "EXAMGATE_TI_SECRETS": "a"}
	for _, tc := range []struct {
		plan, rate string
		want       tiapi.Plan
	}{
		{"", "", tiapi.PlanStandard},
		{"enterprise", "", tiapi.PlanEnterprise},
		{"", "300", tiapi.Plan{Name: "custom", PerMinute: 300, Burst: 50}},
	} {
		m := maps.Clone(real)
		m["EXAMGATE_TI_PLAN"], m["EXAMGATE_TI_RATE"] = tc.plan, tc.rate
		c, err := parseConfig(nil, env(m), io.Discard)
		if err != nil || c.TIPlan != tc.want {
			t.Errorf("plan %q rate %q: %+v, %v; want %+v", tc.plan, tc.rate, c.TIPlan, err, tc.want)
		}
	}
	real["EXAMGATE_TI_PLAN"] = "gold"
	if _, err := parseConfig(nil, env(real), io.Discard); err == nil || !strings.Contains(err.Error(), "EXAMGATE_TI_PLAN") {
		t.Fatalf("unknown plan: %v", err)
	}
}

// TestRunServesAndShutsDown runs the whole command in demo mode on a fresh
// SQLite file, checks that it answers, and that cancelling stops it cleanly.
func TestRunServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, env(map[string]string{
			"EXAMGATE_DEMO": "1", "EXAMGATE_ADDR": "127.0.0.1:0",
			"EXAMGATE_DATABASE_URL": t.TempDir() + "/run.db",
		}), pw, io.Discard)
		pw.Close()
	}()
	addr := ""
	sc := bufio.NewScanner(pr)
	for addr == "" && sc.Scan() {
		if line := sc.Text(); strings.Contains(line, "examgate listening") {
			for _, f := range strings.Fields(line) {
				if v, ok := strings.CutPrefix(f, "addr="); ok {
					addr = v
				}
			}
		}
	}
	var rest bytes.Buffer
	copied := make(chan struct{})
	go func() { _, _ = io.Copy(&rest, pr); close(copied) }()
	if addr == "" {
		t.Fatalf("no listening line; run returned %v", <-done)
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz = %d", resp.StatusCode)
	}
	resp, err = http.Post("http://"+addr+"/graphql", "application/json", strings.NewReader(`{"query":"{ me { email } }"}`))
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Data map[string]any }
	_ = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if v, ok := out.Data["me"]; !ok || v != nil {
		t.Fatalf("me = %v", out.Data)
	}
	// The demo serves its metrics and readiness, wired as in production.
	for path, want := range map[string]string{"/metrics": "examgate_sessions_live", "/readyz": "job worker: ok"} {
		// The worker's loop may take a moment to turn first: poll.
		for deadline := time.Now().Add(5 * time.Second); ; {
			resp, err := http.Get("http://" + addr + path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(string(b), want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s = %d %.300s", path, resp.StatusCode, b)
			}
			time.Sleep(20 * time.Millisecond) // polls a condition
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	// The log is buffered: what it held when run returned was written out.
	<-copied
	for _, want := range []string{"msg=request method=GET path=/healthz status=200", "msg=\"shutting down: finishing requests in flight\""} {
		if !strings.Contains(rest.String(), want) {
			t.Errorf("log after shutdown lacks %s:\n%s", want, rest.String())
		}
	}
}

// An operator command run without EXAMGATE_DATABASE_URL, or with one that
// names no file, refuses instead of making an empty database and acting on
// it; `examgate migrate` makes it; each command says which database it used.
func TestCommandsRefuseToCreateADatabase(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	ctx := context.Background()
	for name, getenv := range map[string]func(string) string{
		"unset":    env(nil),
		"mistyped": env(map[string]string{"EXAMGATE_DATABASE_URL": "exmgate.db"}),
	} {
		for _, args := range [][]string{{"webhook", "list"}, {"apikey", "list"}, {"webhook", "deliveries", "--endpoint", "1"}, {"lti", "keys"}, {"accommodation", "list"}, {"deliveries", "list"}} {
			err := run(ctx, args, getenv, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), "there is no database at "+dir) || !strings.Contains(err.Error(), "examgate migrate") {
				t.Errorf("%s: %v: %v", name, args, err)
			}
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("files were made: %v", entries)
	}
	migrated(t, env(nil))
	var stderr bytes.Buffer
	if err := run(ctx, []string{"webhook", "list"}, env(nil), io.Discard, &stderr); err != nil || stderr.String() != "database: "+filepath.Join(dir, "examgate.db")+" (SQLite)\n" {
		t.Fatalf("after migrate: %v %q", err, stderr.String())
	}
}
