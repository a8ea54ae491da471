package examgate

import (
	"context"
	"strings"
)

type sessionKey struct{}

// NewContextWithSession returns a context carrying the signed-in session.
func NewContextWithSession(ctx context.Context, s *Session) context.Context {
	return context.WithValue(ctx, sessionKey{}, s)
}

// SessionFromContext returns the signed-in session, or nil.
func SessionFromContext(ctx context.Context) *Session {
	s, _ := ctx.Value(sessionKey{}).(*Session)
	return s
}

// RequireSession returns the signed-in session or an Unauthenticated error.
func RequireSession(ctx context.Context) (*Session, error) {
	if s := SessionFromContext(ctx); s != nil {
		return s, nil
	}
	return nil, Errorf(EUNAUTHORIZED, "Your session has ended. Go back to your course and open the exam again.")
}

type apiKeyKey struct{}

// NewContextWithAPIKey returns a context carrying the API key a request was
// made with. It drops any session: a request made with a key acts as the
// key's holder only, never also as a learner whose cookie came along.
func NewContextWithAPIKey(ctx context.Context, k *APIKey) context.Context {
	return context.WithValue(NewContextWithSession(ctx, nil), apiKeyKey{}, k)
}

// APIKeyFromContext returns the API key of the request, or nil.
func APIKeyFromContext(ctx context.Context) *APIKey {
	k, _ := ctx.Value(apiKeyKey{}).(*APIKey)
	return k
}

// NewContextWithAdmin marks a request as made with an admin key (tests and
// the bootstrap key of EXAMGATE_ADMIN_API_KEY).
func NewContextWithAdmin(ctx context.Context) context.Context {
	return NewContextWithAPIKey(ctx, &APIKey{Name: "admin", Scopes: []string{ScopeAdmin}})
}

// RequireScope refuses a request not made with an API key that has scope:
// UNAUTHENTICATED without a key, FORBIDDEN with a key lacking the scope.
func RequireScope(ctx context.Context, scope string) (*APIKey, error) {
	k := APIKeyFromContext(ctx)
	if k == nil {
		return nil, Errorf(EUNAUTHORIZED, "This needs an API key with the %s scope: send it as Authorization: Bearer <key>.", scope)
	}
	if !k.Has(scope) {
		return nil, Errorf(EFORBIDDEN, "This API key (%s) lacks the %s scope; it has %s. Ask the examgate operator for a key with it.",
			k.Name, scope, strings.Join(k.Scopes, ", "))
	}
	return k, nil
}

// RequireAdmin refuses a request not made with an API key with the admin scope.
func RequireAdmin(ctx context.Context) error {
	_, err := RequireScope(ctx, ScopeAdmin)
	return err
}
