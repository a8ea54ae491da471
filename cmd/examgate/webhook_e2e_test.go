package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/tiapi/titest"
)

// TestWebhookThroughTheBinary registers an endpoint with the command, runs
// the real server, takes an exam and checks that the signed
// attempt.completed event reaches the endpoint and the log says delivered.
func TestWebhookThroughTheBinary(t *testing.T) {
	bin := crashBuild(t)
	dir := t.TempDir()
	dsn := filepath.Join(dir, "examgate.db")
	catalog := filepath.Join(dir, "exams.yaml")
	if err := os.WriteFile(catalog, []byte(crashCatalog), 0o600); err != nil {
		t.Fatal(err)
	}

	type hit struct {
		header http.Header
		body   []byte
	}
	hits := make(chan hit, 10)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		hits <- hit{r.Header.Clone(), body}
	}))
	defer receiver.Close()

	cli := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"webhook"}, args...), env(map[string]string{
			"EXAMGATE_DATABASE_URL": dsn, "EXAMGATE_WEBHOOK_ALLOW_PRIVATE": "1",
		}), &out, io.Discard)
		if err != nil {
			t.Fatalf("webhook %v: %v", args, err)
		}
		return out.String()
	}
	migrated(t, env(map[string]string{"EXAMGATE_DATABASE_URL": dsn}))
	out := cli("add", "--url", receiver.URL+"/hooks", "--events", "attempt.completed,booking.created")
	_, secret, _ := strings.Cut(out, "give it to the partner): ")
	secret = strings.TrimSpace(secret)

	fake := titest.New(crashKey)
	tiSrv := httptest.NewServer(fake)
	defer tiSrv.Close()
	user := fake.AddUser(titest.User{Email: crashEmail, ExternalCustomerID: "cust-hook", FirstName: "Ada", LastName: "Lovelace"})
	fake.AddPurchase(titest.Purchase{UserID: user.ID, CourseID: crashCourse, Slug: "crash-course", Time: time.Now().Add(-time.Hour)})
	srv := crashStart(t, bin, "server", []string{
		"EXAMGATE_TI_BASE_URL=" + tiSrv.URL, "EXAMGATE_TI_API_KEY=" + crashKey, "EXAMGATE_TI_SECRETS=" + crashSecret,
		"EXAMGATE_EXAMS=" + catalog, "EXAMGATE_DATABASE_URL=" + dsn, "EXAMGATE_WEBHOOK_ALLOW_PRIVATE=1",
	})

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tok, err := titest.SignLaunch(crashSecret, titest.LaunchToken{
		Email: crashEmail, FirstName: "Ada", LastName: "Lovelace", ExternalCustomerID: "cust-hook", CourseID: crashCourse,
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := browser.Get(titest.LaunchURL(srv.base, crashExam, tok))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var attempt struct{ ID string }
	_ = json.Unmarshal(crashGraphQL(t, browser, srv.base,
		`mutation { startOnDemand(input: {examCode: "CRASH-QUICK", clientKey: "hook-start-1"}) { id } }`)["startOnDemand"], &attempt)
	crashGraphQL(t, browser, srv.base, fmt.Sprintf(
		`mutation { saveAnswer(input: {attemptId: %q, itemId: "q1", choices: ["true"], clientSeq: 1}) { accepted } }`, attempt.ID))
	crashGraphQL(t, browser, srv.base, fmt.Sprintf(`mutation { submitAttempt(input: {attemptId: %q}) { status } }`, attempt.ID))

	var got hit
	select {
	case got = <-hits:
	case <-time.After(30 * time.Second):
		t.Fatal("no webhook within 30s of the submission")
	}
	sig := got.header.Get("X-Examgate-Signature")
	ts, _, _ := strings.Cut(strings.TrimPrefix(sig, "t="), ",")
	sec, _ := strconv.ParseInt(ts, 10, 64)
	if sig == "" || sig != examgate.SignWebhook(secret, time.Unix(sec, 0), got.body) || time.Since(time.Unix(sec, 0)).Abs() > time.Minute {
		t.Fatalf("signature %q does not verify with the secret the command printed", sig)
	}
	var ev examgate.WebhookEvent
	if err := json.Unmarshal(got.body, &ev); err != nil || ev.Type != examgate.EventAttemptCompleted || ev.Result == nil ||
		!ev.Result.Passed || ev.Result.AttemptID != attempt.ID || ev.Result.Candidate.ExternalID != "cust-hook" ||
		got.header.Get("X-Examgate-Event-Id") != ev.ID || got.header.Get("Content-Type") != "application/json" {
		t.Fatalf("event %s %v", got.body, err)
	}
	crashPoll(t, 20*time.Second, "delivery logged as delivered", func() bool {
		return strings.Contains(cli("deliveries", "--endpoint", "1"), " delivered ")
	})

	// The receiver lost it: the command queues it again, the running
	// server sends the same event.
	if out := cli("redeliver", "--delivery", "1"); !strings.Contains(out, "delivery 1 (attempt.completed "+ev.ID+") queued again") {
		t.Fatalf("redeliver printed %q", out)
	}
	select {
	case again := <-hits:
		if string(again.body) != string(got.body) || again.header.Get("X-Examgate-Event-Id") != ev.ID {
			t.Fatalf("redelivered %s", again.body)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no redelivery within 30s")
	}

	// Rotating the secret: the command's ping is signed with the new and
	// the old secret.
	out = cli("rotate-secret", "1", "--overlap", "1h")
	_, newSecret, _ := strings.Cut(out, "give it to the partner): ")
	newSecret = strings.TrimSpace(newSecret)
	if !strings.HasPrefix(newSecret, "whsec_") || newSecret == secret {
		t.Fatalf("rotate-secret printed %q", out)
	}
	if out := cli("ping", "1"); !strings.Contains(out, "delivered, 200 OK in ") {
		t.Fatalf("ping printed %q", out)
	}
	ping := <-hits // the ping is sent before the command returns
	sig = ping.header.Get("X-Examgate-Signature")
	ts, _, _ = strings.Cut(strings.TrimPrefix(sig, "t="), ",")
	sec, _ = strconv.ParseInt(ts, 10, 64)
	if sig != examgate.SignWebhook(newSecret, time.Unix(sec, 0), ping.body, secret) || !strings.Contains(string(ping.body), `"type":"ping"`) {
		t.Fatalf("ping %s signed %q", ping.body, sig)
	}
}
