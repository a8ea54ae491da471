package examgate

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestAPIKeyShape(t *testing.T) {
	a, b := NewAPIKey(), NewAPIKey()
	if a == b || !strings.HasPrefix(a, "egk_") || len(a) != 56 || !WellFormedAPIKey(a) {
		t.Fatalf("keys %q %q", a, b)
	}
	if HashAPIKey(a) == HashAPIKey(b) || len(HashAPIKey(a)) != 64 || strings.Contains(HashAPIKey(a), a[4:]) {
		t.Fatal("hash")
	}
	for _, bad := range []string{"", "egk_", a[:55], a + "a", "egk_" + strings.Repeat("A", 52), "xyz_" + a[4:], strings.Replace(a, a[10:11], "!", 1)} {
		if WellFormedAPIKey(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseScopes(t *testing.T) {
	got, err := ParseScopes(" results:read,bookings:read,results:read ")
	if err != nil || !slices.Equal(got, []string{"bookings:read", "results:read"}) {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{"", ",", "bookings:write", "admin,root"} {
		if _, err := ParseScopes(bad); ErrorCode(err) != EINVALID {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestRequireScope(t *testing.T) {
	ctx := context.Background()
	if _, err := RequireScope(ctx, ScopeBookingsRead); ErrorCode(err) != EUNAUTHORIZED {
		t.Fatalf("no key: %v", err)
	}
	k := &APIKey{Name: "crm", Scopes: []string{ScopeBookingsRead}}
	// A key drops the session of the same request.
	ctx = NewContextWithAPIKey(NewContextWithSession(ctx, &Session{CandidateID: 1}), k)
	if SessionFromContext(ctx) != nil {
		t.Fatal("session kept alongside a key")
	}
	if got, err := RequireScope(ctx, ScopeBookingsRead); err != nil || got != k {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := RequireScope(ctx, ScopeResultsRead); ErrorCode(err) != EFORBIDDEN || !strings.Contains(ErrorMessage(err), "results:read") {
		t.Fatalf("missing scope: %v", err)
	}
	if err := RequireAdmin(ctx); ErrorCode(err) != EFORBIDDEN {
		t.Fatalf("admin: %v", err)
	}
	if err := RequireAdmin(NewContextWithAdmin(context.Background())); err != nil {
		t.Fatal(err)
	}
}
