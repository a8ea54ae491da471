package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestAPIKeyCommands makes a key with the command, uses it against the
// running server, lists it (without the secret) and revokes it with the
// command while the server runs: the next request is refused.
func TestAPIKeyCommands(t *testing.T) {
	ctx := context.Background()
	dsn := t.TempDir() + "/keys.db"
	migrated(t, env(nil), "--db", dsn)
	cli := func(args ...string) (string, string, error) {
		var out, errb bytes.Buffer
		err := run(ctx, append(args, "--db", dsn), env(nil), &out, &errb)
		return out.String(), errb.String(), err
	}
	if _, _, err := cli("apikey", "create", "--name", "CRM", "--scope", "bookings:read,results:write"); err == nil || !strings.Contains(err.Error(), `Unknown scope "results:write"`) {
		t.Fatalf("unknown scope: %v", err)
	}
	if _, _, err := cli("apikey", "create", "--scope", "bookings:read"); err == nil || !strings.Contains(err.Error(), "name") {
		t.Fatalf("no name: %v", err)
	}
	out, msg, err := cli("apikey", "create", "--name", "CRM", "--scope", "results:read, bookings:read")
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(out)
	if !strings.HasPrefix(key, "egk_") || len(key) != 56 || !strings.Contains(msg, "shown only now") || !strings.Contains(msg, "bookings:read,results:read") {
		t.Fatalf("create printed %q, %q", out, msg)
	}

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(sctx, nil, env(map[string]string{"EXAMGATE_DEMO": "1", "EXAMGATE_ADDR": "127.0.0.1:0", "EXAMGATE_DATABASE_URL": dsn}), pw, io.Discard)
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
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if addr == "" {
		t.Fatalf("no listening line; run returned %v", <-done)
	}
	partner := func() (int, string) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/graphql", strings.NewReader(`{"query":"{ partner { bookings(first: 5) { edges { cursor } } } }"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body json.RawMessage
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, string(body)
	}
	if status, body := partner(); status != http.StatusOK || !strings.HasPrefix(body, `{"data":{"partner":{"bookings":{"edges":[]}}},"extensions":{"cost":`) {
		t.Fatalf("with the new key: %d %s", status, body)
	}

	out, _, err = cli("apikey", "list")
	if err != nil || !strings.Contains(out, "CRM") || !strings.Contains(out, key[:10]+"…") || strings.Contains(out, key) {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if _, _, err := cli("apikey", "revoke", "1"); err != nil {
		t.Fatal(err)
	}
	if status, body := partner(); status != http.StatusUnauthorized || !strings.Contains(body, "UNAUTHENTICATED") {
		t.Fatalf("after revoke: %d %s", status, body)
	}
	if _, _, err := cli("apikey", "revoke", "1"); err == nil || !strings.Contains(err.Error(), "No live API key") {
		t.Fatalf("revoke twice: %v", err)
	}
	// The revoked key stays listed, with when it was revoked instead of "-".
	if out, _, _ := cli("apikey", "list"); !strings.Contains(out, "CRM") || strings.HasSuffix(strings.TrimSpace(out), "-") {
		t.Fatalf("list after revoke: %s", out)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}
