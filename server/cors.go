package server

import (
	"net/http"

	"github.com/examgate/examgate"
	"github.com/rs/cors"
)

// withCORS lets pages on the configured origins call /graphql with an API
// key. Without origins it adds nothing: no CORS headers, and the browser
// keeps other sites' pages from reading the answers.
//
// Credentials are not allowed: partners authenticate with
// Authorization: Bearer, which needs no cookie, and allowing them would let
// a listed site act as whichever learner is signed in in the same browser.
func (s *Server) withCORS(next http.Handler) http.Handler {
	if len(s.CORSOrigins) == 0 {
		return next
	}
	c := cors.New(cors.Options{
		AllowedOrigins: s.CORSOrigins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost},
		AllowedHeaders: []string{"Authorization", "Content-Type"},
		// Retry-After tells a throttled page when to try again; the
		// request id is what to quote when asking for support.
		ExposedHeaders:   []string{"Retry-After", "X-Request-Id", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"},
		AllowCredentials: false,
		MaxAge:           600,
	})
	// A preflight is answered by c: with the CORS headers if its origin,
	// method and headers are allowed, with none otherwise (which the
	// browser takes as a refusal). A plain OPTIONS learns the methods.
	return c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			w.Header().Set("Allow", "GET, POST, OPTIONS")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	}))
}

// withCSRFUnlessBearer applies the cross-origin protection (which refuses
// a cross-site POST, so that another site cannot act with a learner's
// session cookie) to requests without an API key. A request with
// Authorization: Bearer cannot be forged that way, since a browser never
// adds that header by itself and a cross-origin page can send it only after
// a CORS preflight the origin of which is listed; it passes, with any
// session cookie it carries ignored, so that it acts as its key alone.
// The API key check after this refuses it if the key is not valid.
func withCSRFUnlessBearer(next http.Handler) http.Handler {
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"errors":[{"message":"Cross-site request refused: a page on another site cannot act with a learner's session. A partner system sends its API key as Authorization: Bearer <key>.","extensions":{"code":"FORBIDDEN"}}]}`))
	}))
	protected := csrf.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := bearerToken(r); ok {
			next.ServeHTTP(w, r.WithContext(examgate.NewContextWithSession(r.Context(), nil)))
			return
		}
		protected.ServeHTTP(w, r)
	})
}
