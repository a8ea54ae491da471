package examgate

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"slices"
	"strings"
	"time"
)

// API key scopes. Each is granted on its own: admin does not imply the
// partner scopes, nor the reverse, so a key does only what it was made for.
const (
	ScopeBookingsRead = "bookings:read" // partner queries: bookings, candidates, attempts
	ScopeResultsRead  = "results:read"  // result fields: score, passed, delivery state
	ScopeAdmin        = "admin"         // staff fields and mutations (deliveries, webhooks)
	// ScopeWebhooksManage lets a partner's key register webhook endpoints
	// and manage those it registered (never another's).
	ScopeWebhooksManage = "webhooks:manage"
)

// Scopes lists every scope a key may have.
var Scopes = []string{ScopeBookingsRead, ScopeResultsRead, ScopeAdmin, ScopeWebhooksManage}

// APIKeyPrefix starts every key, so that a leaked key is recognisable (by
// secret scanners and people) and a key is not mistaken for a session token.
const APIKeyPrefix = "egk_"

// apiKeyLen is the length of a key: the prefix and 32 random bytes in
// lower-case base32 without padding (52 characters, 256 bits of entropy).
const apiKeyLen = len(APIKeyPrefix) + 52

var keyEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// APIKey is a partner or staff credential. Only the hash of the secret is
// stored; the secret is shown once, when the key is made.
type APIKey struct {
	ID        int64
	Name      string
	Hint      string // the first characters of the key, to tell keys apart in lists
	Scopes    []string
	CreatedAt time.Time
	RevokedAt time.Time // zero while the key works
}

// Has reports whether the key carries a scope.
func (k *APIKey) Has(scope string) bool { return k != nil && slices.Contains(k.Scopes, scope) }

// APIKeyStore keeps API keys.
type APIKeyStore interface {
	CreateAPIKey(ctx context.Context, k *APIKey, hash string) (*APIKey, error)
	// APIKeyByHash returns the live (not revoked) key with this hash, or a
	// NotFound error.
	APIKeyByHash(ctx context.Context, hash string) (*APIKey, error)
	APIKeys(ctx context.Context) ([]*APIKey, error)
	// RevokeAPIKey revokes a key by id; NotFound if there is no live key with it.
	RevokeAPIKey(ctx context.Context, id int64, at time.Time) error
}

// NewAPIKey returns a fresh random key.
func NewAPIKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics rather)
	return APIKeyPrefix + keyEncoding.EncodeToString(b)
}

// HashAPIKey returns the stored form of a key. A key has 256 random bits,
// so a plain SHA-256 cannot be brute-forced and lets the key be found by
// its hash in one indexed lookup.
func HashAPIKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// WellFormedAPIKey reports whether s has the shape of a key made by
// NewAPIKey, so that garbage is refused without a database lookup.
func WellFormedAPIKey(s string) bool {
	rest, ok := strings.CutPrefix(s, APIKeyPrefix)
	if !ok || len(s) != apiKeyLen {
		return false
	}
	_, err := keyEncoding.DecodeString(rest)
	return err == nil
}

// ParseScopes parses a comma-separated scope list, refusing unknown scopes.
func ParseScopes(s string) ([]string, error) {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !slices.Contains(Scopes, f) {
			return nil, Errorf(EINVALID, "Unknown scope %q: use %s.", f, strings.Join(Scopes, ", "))
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, Errorf(EINVALID, "Give at least one scope: %s.", strings.Join(Scopes, ", "))
	}
	slices.Sort(out)
	return out, nil
}

// MaxAPIKeyName bounds a key's name.
const MaxAPIKeyName = 100

// APIKeys makes, lists and revokes keys (operator commands) and
// authenticates requests.
type APIKeys struct {
	Store APIKeyStore
	Clock Clock
}

// Create makes a key and returns it with its secret, which is not stored
// and cannot be shown again.
func (s *APIKeys) Create(ctx context.Context, name string, scopes []string) (*APIKey, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > MaxAPIKeyName {
		return nil, "", Errorf(EINVALID, "Give the key a name of 1 to %d characters, e.g. the partner system it is for.", MaxAPIKeyName)
	}
	if len(scopes) == 0 {
		return nil, "", Errorf(EINVALID, "Give at least one scope: %s.", strings.Join(Scopes, ", "))
	}
	for _, sc := range scopes {
		if !slices.Contains(Scopes, sc) {
			return nil, "", Errorf(EINVALID, "Unknown scope %q: use %s.", sc, strings.Join(Scopes, ", "))
		}
	}
	secret := NewAPIKey()
	k, err := s.Store.CreateAPIKey(ctx, &APIKey{
		Name: name, Hint: secret[:len(APIKeyPrefix)+6], Scopes: scopes, CreatedAt: s.Clock.Now(),
	}, HashAPIKey(secret))
	if err != nil {
		return nil, "", err
	}
	return k, secret, nil
}

// Authenticate returns the live key for a secret. Every call reads the
// store, so that a revoked key stops working on its next request.
func (s *APIKeys) Authenticate(ctx context.Context, secret string) (*APIKey, error) {
	if !WellFormedAPIKey(secret) {
		return nil, errUnknownKey
	}
	k, err := s.Store.APIKeyByHash(ctx, HashAPIKey(secret))
	if ErrorCode(err) == ENOTFOUND {
		return nil, errUnknownKey
	}
	return k, err
}

var errUnknownKey = Errorf(EUNAUTHORIZED, "Unknown or revoked API key. Ask the examgate operator for a key (examgate apikey create) and send it as Authorization: Bearer <key>.")

// Revoke revokes a key; it stops working on its next request.
func (s *APIKeys) Revoke(ctx context.Context, id int64) error {
	return s.Store.RevokeAPIKey(ctx, id, s.Clock.Now())
}
