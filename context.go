package examgate

import "context"

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

type adminKey struct{}

// NewContextWithAdmin marks a request as made with the admin API key.
func NewContextWithAdmin(ctx context.Context) context.Context {
	return context.WithValue(ctx, adminKey{}, true)
}

// RequireAdmin refuses a request not made with the admin API key.
func RequireAdmin(ctx context.Context) error {
	if ok, _ := ctx.Value(adminKey{}).(bool); ok {
		return nil
	}
	return Errorf(EFORBIDDEN, "This needs the admin API key: send it as Authorization: Bearer <key>.")
}
