// Package ags sends scores to LTI 1.3 platforms with LTI Advantage
// Assignment and Grade Services: the tool's own RSA keys and their JWKS,
// the OAuth2 client-credentials token with a signed client assertion, and
// the score POST to a line item.
package ags

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/examgate/examgate"
)

// KeyBits is the size of the tool's RSA keys.
const KeyBits = 2048

// DefaultOverlap is how long a replaced key stays in the JWKS: platforms
// that cached the old key set keep verifying assertions signed with it,
// and those that refetch on an unknown kid find the new key at once.
const DefaultOverlap = 24 * time.Hour

// KeyStore keeps the tool keys; the db package implements it.
type KeyStore interface {
	// LTIToolKeys returns the active key first, then the keys retired after
	// retiredSince.
	LTIToolKeys(ctx context.Context, retiredSince time.Time) ([]examgate.LTIToolKey, error)
	// AddFirstLTIToolKey stores k as the active key unless one exists.
	AddFirstLTIToolKey(ctx context.Context, k examgate.LTIToolKey) (bool, error)
	// RotateLTIToolKey makes k active, retires the previous key at
	// k.CreatedAt and deletes keys retired at or before pruneBefore.
	RotateLTIToolKey(ctx context.Context, k examgate.LTIToolKey, pruneBefore time.Time) error
}

// Keys hands out the active signing key and the public key set. The first
// key is made on first use. Safe for concurrent use.
type Keys struct {
	Store   KeyStore
	Clock   examgate.Clock // default SystemClock
	Overlap time.Duration  // default DefaultOverlap

	create sync.Mutex // one first-key generation at a time in this process
	mu     sync.Mutex
	parsed map[string]*rsa.PrivateKey // by kid: parsing a PEM costs more than reading it
}

// NewKeys returns Keys kept in store.
func NewKeys(store KeyStore, clock examgate.Clock) *Keys {
	return &Keys{Store: store, Clock: clock}
}

// SigningKey is a private key with its kid.
type SigningKey struct {
	KID string
	Key *rsa.PrivateKey
}

// Signing returns the active key, making the first one if there is none.
func (k *Keys) Signing(ctx context.Context) (SigningKey, error) {
	keys, err := k.current(ctx)
	if err != nil {
		return SigningKey{}, err
	}
	return keys[0], nil
}

// Public returns the public keys to publish: the active key and those
// retired within the overlap. It makes the first key if there is none, so
// that the kid a platform sees first is the one assertions use.
func (k *Keys) Public(ctx context.Context) ([]JWK, error) {
	keys, err := k.current(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]JWK, len(keys))
	for i, s := range keys {
		out[i] = PublicJWK(s.KID, &s.Key.PublicKey)
	}
	return out, nil
}

// Rotate makes a new active key; the previous one stays published for the
// overlap. It returns the new kid.
func (k *Keys) Rotate(ctx context.Context) (string, error) {
	now := k.now()
	nk, err := newToolKey(now)
	if err != nil {
		return "", err
	}
	if err := k.Store.RotateLTIToolKey(ctx, nk, now.Add(-k.overlap())); err != nil {
		return "", err
	}
	return nk.KID, nil
}

// Current returns the keys published at /lti/jwks, the active one first:
// what verifies a token examgate signed lately.
func (k *Keys) Current(ctx context.Context) ([]SigningKey, error) { return k.current(ctx) }

// current returns the active key first, then the retired ones still
// published, making the first key when the store has none.
func (k *Keys) current(ctx context.Context) ([]SigningKey, error) {
	stored, err := k.Store.LTIToolKeys(ctx, k.now().Add(-k.overlap()))
	if err != nil {
		return nil, err
	}
	if len(stored) == 0 || stored[0].RetiredAt != nil {
		if stored, err = k.first(ctx); err != nil {
			return nil, err
		}
	}
	out := make([]SigningKey, 0, len(stored))
	for _, s := range stored {
		priv, err := k.parse(s)
		if err != nil {
			return nil, err
		}
		out = append(out, SigningKey{KID: s.KID, Key: priv})
	}
	return out, nil
}

// first makes and stores the first active key, or reads the one another
// process made meanwhile.
func (k *Keys) first(ctx context.Context) ([]examgate.LTIToolKey, error) {
	k.create.Lock()
	defer k.create.Unlock()
	since := k.now().Add(-k.overlap())
	stored, err := k.Store.LTIToolKeys(ctx, since)
	if err != nil {
		return nil, err
	}
	if len(stored) > 0 && stored[0].RetiredAt == nil {
		return stored, nil // made while this goroutine waited for the lock
	}
	nk, err := newToolKey(k.now())
	if err != nil {
		return nil, err
	}
	if _, err := k.Store.AddFirstLTIToolKey(ctx, nk); err != nil {
		return nil, err
	}
	// Whether ours or another process's won, read what is stored.
	stored, err = k.Store.LTIToolKeys(ctx, since)
	if err != nil {
		return nil, err
	}
	if len(stored) == 0 || stored[0].RetiredAt != nil {
		return nil, errors.New("LTI tool key was stored but cannot be read back")
	}
	return stored, nil
}

func (k *Keys) parse(s examgate.LTIToolKey) (*rsa.PrivateKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if p, ok := k.parsed[s.KID]; ok {
		return p, nil
	}
	// Errors name the kid only: the PEM is secret.
	block, _ := pem.Decode([]byte(s.PrivateKeyPEM))
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("LTI tool key %s is not a PKCS #8 PEM; rotate the key (examgate lti rotate-key)", s.KID)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("LTI tool key %s cannot be read; rotate the key (examgate lti rotate-key)", s.KID)
	}
	priv, ok := key.(*rsa.PrivateKey)
	if !ok || priv.N.BitLen() < KeyBits {
		return nil, fmt.Errorf("LTI tool key %s is not an RSA key of %d bits or more; rotate the key (examgate lti rotate-key)", s.KID, KeyBits)
	}
	if k.parsed == nil {
		k.parsed = make(map[string]*rsa.PrivateKey)
	}
	k.parsed[s.KID] = priv
	return priv, nil
}

func (k *Keys) now() time.Time {
	if k.Clock == nil {
		return examgate.SystemClock{}.Now()
	}
	return k.Clock.Now()
}

func (k *Keys) overlap() time.Duration {
	if k.Overlap <= 0 {
		return DefaultOverlap
	}
	return k.Overlap
}

// newToolKey generates a key pair named by its RFC 7638 thumbprint.
func newToolKey(now time.Time) (examgate.LTIToolKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return examgate.LTIToolKey{}, fmt.Errorf("generating an LTI tool key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return examgate.LTIToolKey{}, fmt.Errorf("encoding an LTI tool key: %w", err)
	}
	return examgate.LTIToolKey{
		KID:           Thumbprint(&priv.PublicKey),
		PrivateKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		CreatedAt:     now.UTC(),
	}, nil
}

// JWK is an RSA public key as JSON Web Key (RFC 7517).
type JWK struct {
	Kty string `json:"kty"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	Kid string `json:"kid"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// JWKS is a JSON Web Key Set.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// PublicJWK returns pub as a signing JWK for RS256.
func PublicJWK(kid string, pub *rsa.PublicKey) JWK {
	return JWK{Kty: "RSA", Alg: "RS256", Use: "sig", Kid: kid, N: b64(pub.N.Bytes()), E: b64(big.NewInt(int64(pub.E)).Bytes())}
}

// Thumbprint is the RFC 7638 SHA-256 thumbprint of pub, base64url.
func Thumbprint(pub *rsa.PublicKey) string {
	// The members in lexicographic order, no whitespace, as RFC 7638 requires.
	canon, _ := json.Marshal(struct {
		E   string `json:"e"`
		Kty string `json:"kty"`
		N   string `json:"n"`
	}{b64(big.NewInt(int64(pub.E)).Bytes()), "RSA", b64(pub.N.Bytes())})
	sum := sha256.Sum256(canon)
	return b64(sum[:])
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
