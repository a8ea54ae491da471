package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/examgate/examgate"
)

// keyParams are query parameters a client might put an API key in. A key in
// a URL ends up in proxy, server and browser logs, so such a request is
// refused rather than served, and the message says to revoke the key.
var keyParams = []string{"api_key", "apikey", "api-key", "key", "access_token", "token", "bearer", "authorization"}

// withAPIKeys authenticates GraphQL requests that carry an API key in
// Authorization: Bearer. The key is looked up on every request (a single
// indexed read), so a revoked key fails on its very next request. A request
// with an unknown or revoked key is refused outright rather than treated as
// anonymous, so that a wrong key is noticed at once. A request made with a
// key carries no learner session, even if a cookie came along.
//
// EXAMGATE_ADMIN_API_KEY (Deps.AdminKey) still works as a bootstrap key with
// the admin scope only, so that existing set-ups keep their staff access
// until they move to keys made with `examgate apikey create`.
func (s *Server) withAPIKeys(next http.Handler) http.Handler {
	bootstrap := sha256.Sum256([]byte(s.AdminKey))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if name, ok := keyInQuery(r); ok {
			s.Logger.WarnContext(r.Context(), "API key in query string refused", "path", r.URL.Path, "param", name)
			writeGraphQLError(w, http.StatusBadRequest, examgate.EINVALID,
				"API keys are not accepted in the URL (parameter "+name+"): URLs end up in logs. Send the key as Authorization: Bearer <key>, and revoke this key (examgate apikey revoke) if it was a real one.")
			return
		}
		h := r.Header.Get("Authorization")
		if h == "" {
			next.ServeHTTP(w, r)
			return
		}
		secret, ok := bearerToken(r)
		if !ok {
			s.unauthorized(w, r, "Send the API key as Authorization: Bearer <key> (the key has no spaces in it).")
			return
		}
		if s.AdminKey != "" {
			got := sha256.Sum256([]byte(secret))
			if subtle.ConstantTimeCompare(got[:], bootstrap[:]) == 1 {
				reportKeyChecked(r.Context(), true)
				ctx := examgate.NewContextWithAPIKey(r.Context(), &examgate.APIKey{Name: "EXAMGATE_ADMIN_API_KEY", Scopes: []string{examgate.ScopeAdmin}})
				next.ServeHTTP(w, r.WithContext(ctx))
				return
			}
		}
		if s.APIKeys == nil {
			s.unauthorized(w, r, "Unknown API key.")
			return
		}
		k, err := s.APIKeys.Authenticate(r.Context(), secret)
		switch examgate.ErrorCode(err) {
		case "":
			reportKeyChecked(r.Context(), true)
			next.ServeHTTP(w, r.WithContext(examgate.NewContextWithAPIKey(r.Context(), k)))
		case examgate.EUNAUTHORIZED:
			reportKeyChecked(r.Context(), false)
			s.unauthorized(w, r, examgate.ErrorMessage(err))
		default:
			s.Logger.ErrorContext(r.Context(), "API key lookup failed", "err", err)
			writeGraphQLError(w, http.StatusServiceUnavailable, examgate.EUNAVAILABLE, "Could not check the API key. Try again in a minute.")
		}
	})
}

func keyInQuery(r *http.Request) (string, bool) {
	if r.URL.RawQuery == "" {
		return "", false
	}
	for name, values := range r.URL.Query() {
		for _, p := range keyParams {
			if strings.EqualFold(name, p) {
				return name, true
			}
		}
		for _, v := range values {
			if strings.HasPrefix(strings.TrimSpace(v), examgate.APIKeyPrefix) {
				return name, true
			}
		}
	}
	return "", false
}

func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request, msg string) {
	s.Logger.WarnContext(r.Context(), "API key refused", "path", r.URL.Path)
	w.Header().Set("WWW-Authenticate", `Bearer realm="examgate"`)
	writeGraphQLError(w, http.StatusUnauthorized, examgate.EUNAUTHORIZED, msg)
}

// writeGraphQLError answers with a GraphQL error document, so that clients
// read it like any other error.
func writeGraphQLError(w http.ResponseWriter, status int, code, msg string) {
	body, _ := json.Marshal(map[string]any{"errors": []map[string]any{{"message": msg, "extensions": map[string]any{"code": code}}}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
