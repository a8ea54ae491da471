package server

import (
	"net/http"

	"github.com/examgate/examgate/lti/ags"
)

// ltiJWKS publishes the tool's public keys at /lti/jwks for LTI platforms,
// which verify our client assertions with them. The keys live in the store;
// a store without them (a test double) serves 404.
func (s *Server) ltiJWKS() http.Handler {
	ks, ok := s.Store.(ags.KeyStore)
	if !ok {
		return http.NotFoundHandler()
	}
	return ags.JWKSHandler(ags.NewKeys(ks, s.Clock), s.Logger)
}
