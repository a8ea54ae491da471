package examgate

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
)

type sessionKey struct{}

// SessionRef is the session a request's cookie names. It is read from the
// store at most once, and only when something needs it: an autosave checks
// the token inside its own statement instead (Attempts.SaveChoices), which
// spares the busiest request a database round trip.
type SessionRef struct {
	hash string
	load func(context.Context) (*Session, error)

	once     sync.Once
	sess     *Session
	err      error
	done     atomic.Bool // sess and err are set
	verified atomic.Bool
}

// NewSessionRef names the session whose token hashes to hash; load reads it
// (an EUNAUTHORIZED error when it has ended).
func NewSessionRef(hash string, load func(context.Context) (*Session, error)) *SessionRef {
	return &SessionRef{hash: hash, load: load}
}

// KnownSession is a SessionRef to a session already read.
func KnownSession(s *Session) *SessionRef {
	r := &SessionRef{hash: s.TokenHash}
	r.once.Do(func() { r.sess = s })
	r.done.Store(true)
	r.verified.Store(true)
	return r
}

// TokenHash is the hash of the session token the request carried.
func (r *SessionRef) TokenHash() string { return r.hash }

// Session reads the session once: an EUNAUTHORIZED error when it has ended,
// or the load function's error when the read failed.
func (r *SessionRef) Session(ctx context.Context) (*Session, error) {
	r.once.Do(func() {
		r.sess, r.err = r.load(ctx)
		if r.err == nil && r.sess == nil {
			r.err = ErrSessionEnded()
		}
		if r.err == nil {
			r.verified.Store(true)
		}
		r.done.Store(true)
	})
	return r.sess, r.err
}

// Read returns the session if it has been read and found live, without
// reading it.
func (r *SessionRef) Read() *Session {
	if !r.done.Load() {
		return nil
	}
	return r.sess
}

// Ended tells whether the session was read and found ended.
func (r *SessionRef) Ended() bool { return r.done.Load() && r.sess == nil }

// Verified tells whether the token was found live during this request:
// read, or checked by a statement that used it (MarkVerified).
func (r *SessionRef) Verified() bool { return r.verified.Load() }

// MarkVerified records that a statement found the token live.
func (r *SessionRef) MarkVerified() { r.verified.Store(true) }

// ErrSessionEnded is the refusal of a request whose session is missing,
// expired or signed out.
func ErrSessionEnded() error {
	return Errorf(EUNAUTHORIZED, "Your session has ended. Go back to your course and open the exam again.")
}

// NewContextWithSession returns a context carrying the signed-in session.
func NewContextWithSession(ctx context.Context, s *Session) context.Context {
	if s == nil {
		return NewContextWithSessionRef(ctx, nil)
	}
	return NewContextWithSessionRef(ctx, KnownSession(s))
}

// NewContextWithSessionRef returns a context carrying the session a
// request's cookie names, not yet read; nil for none.
func NewContextWithSessionRef(ctx context.Context, r *SessionRef) context.Context {
	return context.WithValue(ctx, sessionKey{}, r)
}

// SessionRefFromContext returns the session the request names, or nil.
func SessionRefFromContext(ctx context.Context) *SessionRef {
	r, _ := ctx.Value(sessionKey{}).(*SessionRef)
	return r
}

// SessionFromContext returns the signed-in session, reading it if need be,
// or nil.
func SessionFromContext(ctx context.Context) *Session {
	s, _ := RequireSession(ctx)
	return s
}

// RequireSession returns the signed-in session or an Unauthenticated error.
func RequireSession(ctx context.Context) (*Session, error) {
	if r := SessionRefFromContext(ctx); r != nil {
		return r.Session(ctx)
	}
	return nil, ErrSessionEnded()
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
