package ags_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/examgate/examgate/lti/ags"
)

// BenchmarkPostScore is one score with a cached token: the cost per score
// once a platform's token is held (a loopback round trip to the fake).
func BenchmarkPostScore(b *testing.B) {
	e := newEnvTB(b)
	ctx := context.Background()
	s := score(e.platform.LineItemURL("li"))
	if err := e.client.PostScore(ctx, e.platform.TokenURL(), s); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := e.client.PostScore(ctx, e.platform.TokenURL(), s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkToken is a token request: signing the assertion, and the fake
// verifying it (its JWKS cached).
func BenchmarkToken(b *testing.B) {
	e := newEnvTB(b)
	ctx := context.Background()
	for b.Loop() {
		e.clock.Add(2 * time.Hour) // past the cached token's expiry
		if _, err := e.client.Token(ctx, e.platform.TokenURL(), clientID, ags.ScoreScope); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJWKS is GET /lti/jwks's handler with two published keys in SQLite.
func BenchmarkJWKS(b *testing.B) {
	e := newEnvTB(b)
	if _, err := e.keys.Rotate(context.Background()); err != nil {
		b.Fatal(err)
	}
	h := ags.JWKSHandler(e.keys, nil)
	req := httptest.NewRequest(http.MethodGet, "/lti/jwks", nil)
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}
