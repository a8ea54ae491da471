package lti_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/lti"
)

// jwksServer serves one key as a JWKS, or fails with status when it is
// set, and counts the requests it gets.
type jwksServer struct {
	*httptest.Server
	fetches atomic.Int32
	status  atomic.Int32
	key     *rsa.PrivateKey
}

func newJWKSServer(t *testing.T) *jwksServer {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s := &jwksServer{key: k}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		if st := s.status.Load(); st != 0 {
			http.Error(w, "down", int(st))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []any{lti.JWK("k1", &k.PublicKey)}})
	}))
	t.Cleanup(s.Close)
	return s
}

func TestJWKSRedirectNotFollowed(t *testing.T) {
	target := newJWKSServer(t)
	redirect := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusFound))
	t.Cleanup(redirect.Close)
	cache := &lti.JWKSCache{Client: &http.Client{}} // a client that would follow redirects
	_, err := cache.Key(context.Background(), redirect.URL, "k1")
	if examgate.ErrorCode(err) != examgate.EUNAVAILABLE || !strings.Contains(err.Error(), "redirect") {
		t.Fatalf("got %v", err)
	}
	if n := target.fetches.Load(); n != 0 {
		t.Fatalf("the redirect target was fetched %d times", n)
	}
	// The default client does not follow them either.
	_, err = (&lti.JWKSCache{}).Key(context.Background(), redirect.URL, "k1")
	if examgate.ErrorCode(err) != examgate.EUNAVAILABLE || target.fetches.Load() != 0 {
		t.Fatalf("default client: %v, %d fetches of the target", err, target.fetches.Load())
	}
}

// A JWKS that cannot be fetched is asked again at most every 10 s: launches
// arriving meanwhile, together or one after another, fail at once instead
// of each waiting for their own fetch.
func TestJWKSFailureRefetchIsBounded(t *testing.T) {
	srv := newJWKSServer(t)
	srv.status.Store(http.StatusServiceUnavailable)
	var mu sync.Mutex
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	clock := examgate.ClockFunc(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	cache := &lti.JWKSCache{Clock: clock}
	ctx := context.Background()

	const launches = 8
	var wg sync.WaitGroup
	errs := make(chan error, launches)
	for range launches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := cache.Key(ctx, srv.URL, "k1")
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if examgate.ErrorCode(err) != examgate.EUNAVAILABLE || !strings.Contains(err.Error(), "status 503") {
			t.Fatalf("got %v", err)
		}
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for %d launches at once, want 1", n, launches)
	}
	advance(9 * time.Second)
	if _, err := cache.Key(ctx, srv.URL, "k1"); examgate.ErrorCode(err) != examgate.EUNAVAILABLE {
		t.Fatalf("within 10 s of the failure: %v", err)
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches within 10 s of a failure, want 1", n)
	}
	// Once the pause has passed the platform is asked again, and the key
	// it now serves is taken.
	advance(2 * time.Second)
	srv.status.Store(0)
	if _, err := cache.Key(ctx, srv.URL, "k1"); err != nil {
		t.Fatal(err)
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
	// A known key still stands while the platform is down.
	srv.status.Store(http.StatusInternalServerError)
	advance(2 * time.Hour)
	for range 3 {
		if _, err := cache.Key(ctx, srv.URL, "k1"); err != nil {
			t.Fatalf("known key while the platform is down: %v", err)
		}
	}
	if n := srv.fetches.Load(); n != 3 {
		t.Fatalf("%d fetches, want 3", n)
	}
}
