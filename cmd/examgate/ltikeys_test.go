package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestLTIRotateKeyCommand(t *testing.T) {
	ctx := context.Background()
	getenv := env(map[string]string{"EXAMGATE_DATABASE_URL": t.TempDir() + "/examgate.db"})
	migrated(t, getenv)
	lti := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(ctx, append([]string{"lti"}, args...), getenv, &out, &errOut)
		// Every command names its database first on stderr.
		_, rest, _ := strings.Cut(errOut.String(), " (SQLite)\n")
		return out.String() + rest, err
	}
	if out, err := lti("keys"); err != nil || !strings.Contains(out, "no tool keys yet") {
		t.Fatalf("keys before any: %q, %v", out, err)
	}
	var kids []string
	for range 2 {
		out, err := lti("rotate-key")
		if err != nil || !strings.HasPrefix(out, "new LTI tool key ") || strings.Contains(out, "PRIVATE") {
			t.Fatalf("rotate-key: %q, %v", out, err)
		}
		kids = append(kids, strings.Fields(out)[4])
	}
	out, err := lti("keys")
	if err != nil || strings.Contains(out, "PRIVATE") {
		t.Fatalf("keys: %q, %v", out, err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], kids[1]) || !strings.HasSuffix(lines[0], "active") ||
		!strings.HasPrefix(lines[1], kids[0]) || !strings.Contains(lines[1], "retired") {
		t.Fatalf("keys after two rotations:\n%s", out)
	}
	if _, err := lti(); err == nil || !strings.Contains(err.Error(), "examgate lti rotate-key") {
		t.Fatalf("no subcommand: %v", err)
	}
	if _, err := lti("frobnicate"); err == nil || !strings.Contains(err.Error(), `unknown command "frobnicate"`) {
		t.Fatalf("unknown subcommand: %v", err)
	}
}
