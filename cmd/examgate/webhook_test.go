package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWebhookCommand(t *testing.T) {
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "examgate.db")
	vars := map[string]string{"EXAMGATE_DATABASE_URL": dbPath}
	migrated(t, env(vars))
	cmd := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, append([]string{"webhook"}, args...), env(vars), &out, io.Discard)
		return out.String(), err
	}

	// Private addresses need the flag.
	if _, err := cmd("add", "--url", "http://127.0.0.1:9/hooks", "--events", "all"); err == nil || !strings.Contains(err.Error(), "https://") {
		t.Fatalf("http to loopback without the flag: %v", err)
	}
	if _, err := cmd("add", "--url", "https://10.0.0.8/hooks", "--events", "all"); err == nil || !strings.Contains(err.Error(), "not a public address") {
		t.Fatalf("private address without the flag: %v", err)
	}
	vars["EXAMGATE_WEBHOOK_ALLOW_PRIVATE"] = "1"

	out, err := cmd("add", "--url", "http://127.0.0.1:9/hooks", "--events", "all", "--description", "CRM")
	if err != nil {
		t.Fatal(err)
	}
	_, secret, ok := strings.Cut(out, "signing secret (shown only now; give it to the partner): ")
	secret = strings.TrimSpace(secret)
	if !ok || !strings.HasPrefix(secret, "whsec_") || !strings.Contains(out, "webhook endpoint 1 added") {
		t.Fatalf("add printed %q", out)
	}

	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte("partner-chosen-secret-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = cmd("add", "--url", "http://localhost:9/other", "--events", "booking.cancelled,attempt.completed", "--secret-file", secretFile)
	if err != nil || !strings.Contains(out, "partner-chosen-secret-0123456789") {
		t.Fatalf("add with a secret file: %q %v", out, err)
	}
	if _, err := cmd("add", "--url", "http://localhost:9/x", "--events", "booking.exploded"); err == nil || !strings.Contains(err.Error(), "not an event type") {
		t.Fatalf("unknown event: %v", err)
	}

	out, err = cmd("list")
	if err != nil || !strings.Contains(out, "http://127.0.0.1:9/hooks") || !strings.Contains(out, "booking.cancelled,attempt.completed") ||
		strings.Contains(out, secret) || strings.Contains(out, "partner-chosen") {
		t.Fatalf("list: %q %v", out, err)
	}
	out, err = cmd("deliveries", "--endpoint", "1")
	if err != nil || !strings.Contains(out, "ATTEMPTS") {
		t.Fatalf("deliveries: %q %v", out, err)
	}
	if _, err := cmd("deliveries", "--endpoint", "7"); err == nil || !strings.Contains(err.Error(), "No webhook endpoint with id 7") {
		t.Fatalf("deliveries of unknown endpoint: %v", err)
	}
	if out, err := cmd("enable", "2"); err != nil || !strings.Contains(out, "webhook endpoint 2 enabled") {
		t.Fatalf("enable: %q %v", out, err)
	}
	if out, err := cmd("redeliver", "--endpoint", "2", "--since", "2026-01-01T00:00:00Z"); err != nil || out != "0 failed deliveries of endpoint 2 queued again\n" {
		t.Fatalf("redeliver a range: %q %v", out, err)
	}
	for _, args := range [][]string{{"redeliver"}, {"redeliver", "--endpoint", "2"}, {"redeliver", "--endpoint", "2", "--since", "yesterday"}, {"ping"}, {"enable", "two"}} {
		if _, err := cmd(args...); err == nil {
			t.Fatalf("%v: no error", args)
		}
	}
	if _, err := cmd("redeliver", "--delivery", "5"); err == nil || !strings.Contains(err.Error(), "No webhook delivery with id 5") {
		t.Fatalf("redeliver an unknown delivery: %v", err)
	}
	if _, err := cmd("rotate-secret", "2", "--overlap", "200h"); err == nil || !strings.Contains(err.Error(), "overlap") {
		t.Fatalf("rotate with a long overlap: %v", err)
	}
	if out, err := cmd("remove", "1"); err != nil || !strings.Contains(out, "removed") {
		t.Fatalf("remove: %q %v", out, err)
	}
	if out, _ := cmd("list"); strings.Contains(out, "127.0.0.1:9/hooks") {
		t.Fatalf("still listed: %q", out)
	}
	if _, err := cmd("frobnicate"); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Fatalf("unknown verb: %v", err)
	}
}
