package server

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/examgate/examgate"
)

// request is what the server keeps of one request, made in one allocation
// as it comes in: the context every handler sees (it answers RequestID),
// the recorder of the status for the log line, and the values of the
// headers every answer carries.
type request struct {
	context.Context
	id  string
	rec statusRecorder
	// Header values, sliced with a capacity of one each, so that an
	// append to one cannot write into the next.
	hdr [6]string
}

type requestKey struct{}

// Value implements context.Context.
func (c *request) Value(key any) any {
	if _, ok := key.(requestKey); ok {
		return c
	}
	return c.Context.Value(key)
}

// setHeader sets a header of the answer to a value held in c.hdr[i]: one
// allocation for all of them instead of one each (Header.Set).
func (c *request) setHeader(h http.Header, i int, key, value string) {
	c.hdr[i] = value
	h[key] = c.hdr[i : i+1 : i+1]
}

// contentSecurityPolicy is every answer's, until a page framed by an LTI
// platform puts its own in its place (lti.go).
const contentSecurityPolicy = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// ServeHTTP runs what every request goes through, in one function so that
// the request is copied once (WithContext) however much is put in its
// context: it gives the request an id, echoed in X-Request-Id; sets the
// headers every answer needs; names the session of the cookie, if any;
// serves the route; turns a panic into the error page; and logs one line
// and counts the request by its route pattern.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &request{Context: r.Context(), id: newRequestID()}
	h := w.Header()
	c.setHeader(h, 0, "X-Request-Id", c.id)
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			// The error page gets the request's id but not its session:
			// no store read after a panic.
			r := r.WithContext(c)
			s.Logger.ErrorContext(c, "panic", "panic", v, "path", logPath(r.URL.Path))
			s.errorPage(w, r, examgate.Errorf(examgate.EINTERNAL, "panic"))
		}
	}()
	start := time.Now()
	// The referrer policy matters most: the launch URL carries the token.
	c.setHeader(h, 1, "Referrer-Policy", "no-referrer")
	c.setHeader(h, 2, "X-Content-Type-Options", "nosniff")
	c.setHeader(h, 3, "X-Frame-Options", "DENY")
	c.setHeader(h, 4, "Content-Security-Policy", contentSecurityPolicy)
	if s.hsts {
		c.setHeader(h, 5, "Strict-Transport-Security", "max-age=31536000")
	}
	c.rec.ResponseWriter = w
	r = r.WithContext(s.withSession(c, r))
	s.mux.ServeHTTP(&c.rec, r)
	status := c.rec.status
	if status == 0 {
		status = http.StatusOK
	}
	d := time.Since(start)
	// The path only, never the query string: a launch URL carries the
	// token there.
	s.Logger.LogAttrs(c, slog.LevelInfo, "request", slog.String("method", r.Method), slog.String("path", logPath(r.URL.Path)),
		slog.Int("status", status), slog.Int64("duration_ms", d.Milliseconds()))
	// The mux set the pattern on r: the pattern, not the path, keeps the
	// labels bounded.
	s.Metrics.observeHTTP(r.Pattern, r.Method, status, d)
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

// withSession returns ctx with the session the cookie names, if any, to be
// read when first needed (examgate.SessionRef): an autosave checks it in
// its own statement, and the rate limiter reads it only for a session it
// has not seen live lately.
func (s *Server) withSession(ctx context.Context, r *http.Request) context.Context {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		return ctx
	}
	hash := examgate.HashSessionToken(c.Value)
	ref := examgate.NewSessionRef(hash, func(readCtx context.Context) (*examgate.Session, error) {
		sess, err := s.Store.SessionByTokenHash(readCtx, hash, s.Clock.Now())
		if err != nil && examgate.ErrorCode(err) != examgate.EUNAUTHORIZED {
			// Not "your session has ended": the learner should retry
			// (the player's save queue does), not relaunch.
			s.Logger.ErrorContext(ctx, "session lookup failed", "err", err)
			return nil, examgate.Errorf(examgate.EUNAVAILABLE, "Your session could not be checked just now. Try again in a moment.")
		}
		return sess, err
	})
	return examgate.NewContextWithSessionRef(ctx, ref)
}

// noStore keeps GraphQL answers, which can hold a learner's email and
// results, out of every cache, GET queries included.
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}
