package server

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/examgate/examgate"
)

// withRequestID gives every request an id, echoed in X-Request-Id.
func (s *Server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := newRequestID()
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// withLogging logs one line per request. It logs the path only, never the
// query string: a launch URL carries the token there.
func (s *Server) withLogging(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		var route routeSeen
		if s.Metrics != nil {
			r = r.WithContext(context.WithValue(r.Context(), routeKey{}, &route))
		}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		d := time.Since(start)
		s.Logger.InfoContext(r.Context(), "request", "method", r.Method, "path", logPath(r.URL.Path),
			"status", rec.status, "duration_ms", d.Milliseconds())
		if s.Metrics != nil {
			s.Metrics.observeHTTP(route.pattern, r.Method, rec.status, d) // the pattern, not the path: bounded labels
		}
	})
}

func (s *Server) withRecover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Logger.ErrorContext(r.Context(), "panic", "panic", v, "path", logPath(r.URL.Path))
				s.errorPage(w, r, examgate.Errorf(examgate.EINTERNAL, "panic"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// withSecurityHeaders sets headers every response needs. The referrer policy
// matters most: the launch URL carries the token.
func (s *Server) withSecurityHeaders(next http.Handler) http.Handler {
	// Browsers that once reached examgate over https keep to it: no
	// downgrade on a later visit from a hostile network.
	hsts := s.BaseURL != nil && strings.EqualFold(s.BaseURL.Scheme, "https")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if hsts {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		next.ServeHTTP(w, r)
	})
}

// withSession puts the session the cookie names, if any, in the context,
// to be read when first needed (examgate.SessionRef): an autosave checks it
// in its own statement, and the rate limiter reads it only for a session it
// has not seen live lately.
func (s *Server) withSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(SessionCookie)
		if err != nil || c.Value == "" || len(c.Value) > 128 {
			next.ServeHTTP(w, r)
			return
		}
		reqCtx, hash := r.Context(), examgate.HashSessionToken(c.Value)
		ref := examgate.NewSessionRef(hash, func(ctx context.Context) (*examgate.Session, error) {
			sess, err := s.Store.SessionByTokenHash(ctx, hash, s.Clock.Now())
			if err != nil && examgate.ErrorCode(err) != examgate.EUNAUTHORIZED {
				// Not "your session has ended": the learner should retry
				// (the player's save queue does), not relaunch.
				s.Logger.ErrorContext(reqCtx, "session lookup failed", "err", err)
				return nil, examgate.Errorf(examgate.EUNAVAILABLE, "Your session could not be checked just now. Try again in a moment.")
			}
			return sess, err
		})
		next.ServeHTTP(w, r.WithContext(examgate.NewContextWithSessionRef(reqCtx, ref)))
	})
}

// noStore keeps GraphQL answers, which can hold a learner's email and
// results, out of every cache, GET queries included.
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// routeSeen carries the route pattern the mux chose back out to the
// request log and metrics, which wrap requests the middleware in between
// copies (WithContext) before the mux sees them.
type routeSeen struct{ pattern string }

type routeKey struct{}

// recordRoute serves the mux and notes the pattern it set on the request.
func (s *Server) recordRoute(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
	if rs, ok := r.Context().Value(routeKey{}).(*routeSeen); ok {
		rs.pattern = r.Pattern
	}
}
