package ags

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
)

// JWKSMaxAge is how long platforms and caches may keep the key set. Short,
// because a rotated key signs at once; platforms refetch on an unknown kid.
const JWKSMaxAge = 5 * 60

// JWKSHandler serves the public keys as a JWKS (never a private part).
func JWKSHandler(keys *Keys, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pub, err := keys.Public(r.Context())
		if err != nil {
			if logger != nil {
				logger.ErrorContext(r.Context(), "LTI tool keys unavailable", "error", err)
			}
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, "The tool's keys are unavailable; try again in a minute.", http.StatusServiceUnavailable)
			return
		}
		body, _ := json.Marshal(JWKS{Keys: pub})
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(JWKSMaxAge))
		_, _ = w.Write(body)
	})
}
