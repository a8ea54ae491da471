package lti

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"sync"
	"time"

	"github.com/examgate/examgate"
)

const (
	maxJWKSBytes = 256 << 10
	maxJWKSKeys  = 64
	// jwksMaxAge is how long fetched keys are trusted without asking again.
	jwksMaxAge = time.Hour
	// jwksMinRefetch stops a stream of tokens with made-up kids from making
	// examgate hammer the platform: an unknown kid refetches at most this often.
	jwksMinRefetch = 10 * time.Second
)

// JWKSCache fetches platforms' JSON Web Key Sets and keeps them by URL.
type JWKSCache struct {
	Client *http.Client // default: 10 s timeout; redirects are never followed
	Clock  examgate.Clock

	mu   sync.Mutex
	sets map[string]*keySet
}

type keySet struct {
	mu        sync.Mutex // one fetch at a time per URL
	keys      map[string]*rsa.PublicKey
	fetchedAt time.Time // of the keys
	triedAt   time.Time // of the last fetch, whatever its outcome
	lastErr   error     // of the last fetch; nil when it succeeded
}

var defaultJWKSClient = &http.Client{Timeout: 10 * time.Second, CheckRedirect: noRedirects}

// noRedirects makes the JWKS client answer a redirect as a failure: the
// keys must come from the URL the admin registered, not wherever it points.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Key returns the RSA key with kid from the set at url. An unknown kid makes
// it fetch the set again once (the platform may have rotated its keys).
func (c *JWKSCache) Key(ctx context.Context, url, kid string) (*rsa.PublicKey, error) {
	c.mu.Lock()
	if c.sets == nil {
		c.sets = map[string]*keySet{}
	}
	ks := c.sets[url]
	if ks == nil {
		ks = &keySet{}
		c.sets[url] = ks
	}
	c.mu.Unlock()

	ks.mu.Lock()
	defer ks.mu.Unlock()
	now := c.now()
	fresh := ks.keys != nil && now.Sub(ks.fetchedAt) < jwksMaxAge
	if k, ok := ks.keys[kid]; ok && fresh {
		return k, nil
	}
	// The platform was asked moments ago, successfully or not: launches
	// queued behind a fetch that failed, or a stream of made-up kids, do
	// not make examgate ask again (and each wait for the timeout).
	if !ks.triedAt.IsZero() && now.Sub(ks.triedAt) < jwksMinRefetch {
		if k, ok := ks.keys[kid]; ok {
			return k, nil // stale, but the platform was unreachable just now
		}
		if ks.lastErr != nil {
			return nil, errJWKSUnavailable(ks.lastErr)
		}
		return nil, errUnknownKid(kid)
	}
	ks.triedAt = now
	keys, err := c.fetch(ctx, url)
	ks.lastErr = err
	if err != nil {
		if k, ok := ks.keys[kid]; ok {
			return k, nil // the platform is unreachable; the known key still stands
		}
		return nil, errJWKSUnavailable(err)
	}
	ks.keys, ks.fetchedAt = keys, now
	if k, ok := keys[kid]; ok {
		return k, nil
	}
	return nil, errUnknownKid(kid)
}

func errJWKSUnavailable(err error) error {
	return examgate.Wrap(examgate.EUNAVAILABLE, err, "examgate could not fetch the learning platform's keys. Try again in a minute; if it keeps happening, "+lowerFirst(msgAskAdmin))
}

func errUnknownKid(kid string) error {
	return refuse(examgate.EUNAUTHORIZED, msgBadToken, "no key with kid %q in the platform's JWKS", truncate(kid, 64))
}

func (c *JWKSCache) fetch(ctx context.Context, url string) (map[string]*rsa.PublicKey, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	client := c.Client
	if client == nil {
		client = defaultJWKSClient
	}
	noFollow := *client
	noFollow.CheckRedirect = noRedirects
	resp, err := noFollow.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return nil, fmt.Errorf("fetch JWKS %s: status %d, a redirect to %q, which examgate does not follow: register the final JWKS URL", url, resp.StatusCode, truncate(resp.Header.Get("Location"), 200))
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch JWKS %s: status %d", url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read JWKS: %w", err)
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("JWKS larger than %d bytes", maxJWKSBytes)
	}
	return ParseJWKS(body)
}

// ParseJWKS returns the RSA signing keys of a JWKS document by kid; other
// keys (EC, encryption keys, keys without kid) are skipped.
func ParseJWKS(body []byte) (map[string]*rsa.PublicKey, error) {
	var doc struct {
		Keys []struct {
			Kty string `json:"kty"`
			Kid string `json:"kid"`
			Use string `json:"use"`
			Alg string `json:"alg"`
			N   string `json:"n"`
			E   string `json:"e"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("JWKS is not JSON: %w", err)
	}
	if len(doc.Keys) > maxJWKSKeys {
		return nil, fmt.Errorf("JWKS has %d keys, more than %d", len(doc.Keys), maxJWKSKeys)
	}
	keys := map[string]*rsa.PublicKey{}
	for _, k := range doc.Keys {
		if k.Kty != "RSA" || k.Kid == "" || (k.Use != "" && k.Use != "sig") || (k.Alg != "" && k.Alg != "RS256") {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
			continue
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if pub.N.BitLen() < 2048 {
			continue // too weak to trust
		}
		keys[k.Kid] = pub
	}
	if len(keys) == 0 {
		return nil, errors.New("JWKS has no RSA signing key of 2048 bits or more with a kid")
	}
	return keys, nil
}

// JWK is the public JSON Web Key of an RSA key, as a JWKS lists it.
func JWK(kid string, pub *rsa.PublicKey) map[string]string {
	return map[string]string{
		"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}
}

func (c *JWKSCache) now() time.Time {
	if c.Clock == nil {
		return examgate.SystemClock{}.Now()
	}
	return c.Clock.Now()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]+('a'-'A')) + s[1:]
}
