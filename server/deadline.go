package server

import (
	"context"
	"net/http"
	"time"

	"github.com/examgate/examgate/graph"
)

// Deadlines bound the work of one request, carried into every statement
// through its context: a stalled table or an exhausted pool answers 503
// UNAVAILABLE with Retry-After when the deadline passes, instead of holding
// the request until the write timeout cuts it. Zero values take the
// defaults.
type Deadlines struct {
	Learner time.Duration // /graphql with a session or nothing: default 10 s
	Partner time.Duration // /graphql with an API key (partner and admin pages): default 30 s
	Launch  time.Duration // TI and LTI launches: default 20 s (TI's own budget is 8 s)
}

func (d Deadlines) learner() time.Duration { return orDuration(d.Learner, 10*time.Second) }
func (d Deadlines) partner() time.Duration { return orDuration(d.Partner, 30*time.Second) }
func (d Deadlines) launch() time.Duration  { return orDuration(d.Launch, 20*time.Second) }

func orDuration(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// retryAfterBusy is the Retry-After of a 503 for a request that ran out of
// time.
const retryAfterBusy = "5"

// withGraphQLDeadline runs /graphql under the deadline of its caller, and
// turns an answer with an UNAVAILABLE error into a 503 with Retry-After.
func (s *Server) withGraphQLDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := s.Deadlines.learner()
		if _, ok := bearerToken(r); ok {
			d = s.Deadlines.partner()
		}
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		ctx, outcome := graph.WithOutcome(ctx)
		next.ServeHTTP(&busyWriter{ResponseWriter: w, outcome: outcome}, r.WithContext(ctx))
	})
}

// withDeadline runs a page under d.
func withDeadline(d time.Duration, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next(w, r.WithContext(ctx))
	}
}

// busyWriter makes a 200 a 503 when the request had an UNAVAILABLE error:
// a client and a load balancer should see the outage in the status too.
type busyWriter struct {
	http.ResponseWriter
	outcome *graph.Outcome
	wrote   bool
}

func (b *busyWriter) WriteHeader(code int) {
	if !b.wrote {
		b.wrote = true
		if code == http.StatusOK && b.outcome.Unavailable() {
			b.Header().Set("Retry-After", retryAfterBusy)
			code = http.StatusServiceUnavailable
		}
	}
	b.ResponseWriter.WriteHeader(code)
}

func (b *busyWriter) Write(p []byte) (int, error) {
	if !b.wrote {
		b.WriteHeader(http.StatusOK)
	}
	return b.ResponseWriter.Write(p)
}
