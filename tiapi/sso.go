package tiapi

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/golang-jwt/jwt/v5"
)

// SSOUser is the learner signed back in to TI.
type SSOUser struct {
	Email              string
	ExternalCustomerID string
	FirstName          string
	LastName           string
}

// SSOLifetime is the exp of a sign-in token. TI's SSO page asks for a short
// exp and a one-time jti, since the token travels in a URL
// (docs/integrations/sso); TI itself refuses an iat more than 500 seconds
// off its clock.
const SSOLifetime = 2 * time.Minute

// ssoClaims fixes the claim order; the embedded registered claims add iat,
// exp and jti. Empty names are left out: TI updates the user's profile from
// the names it is sent, and an empty one would erase the name TI has.
type ssoClaims struct {
	Email              string `json:"email"`
	ExternalCustomerID string `json:"externalCustomerId,omitempty"`
	FirstName          string `json:"firstName,omitempty"`
	LastName           string `json:"lastName,omitempty"`
	jwt.RegisteredClaims
	ReturnTo string `json:"returnTo,omitempty"`
}

// SSOToken returns the HS256 token for TI's JWT single sign-on, keyed with
// the TI API key as TI documents, issued at now. returnTo is the path on
// the TI site to land on; empty means TI's default page. Only paths are
// accepted, so that a signed token never sends a learner to another site.
func SSOToken(apiKey string, u SSOUser, returnTo string, now time.Time) (string, error) {
	if apiKey == "" {
		return "", errors.New("no TI API key is configured to sign the sign-in link; set EXAMGATE_TI_API_KEY")
	}
	email := strings.TrimSpace(u.Email)
	if !validEmail(email) {
		return "", fmt.Errorf("cannot sign the learner in to TI: email %q is not an address", truncate(email))
	}
	if returnTo != "" && (!strings.HasPrefix(returnTo, "/") || strings.HasPrefix(returnTo, "//") ||
		strings.ContainsRune(returnTo, '\\') || strings.IndexFunc(returnTo, unicode.IsControl) >= 0) {
		return "", fmt.Errorf("TI returnTo %q must be a path on the TI site, such as /learn", truncate(returnTo))
	}
	c := ssoClaims{
		Email:              email,
		ExternalCustomerID: strings.TrimSpace(u.ExternalCustomerID),
		FirstName:          strings.TrimSpace(u.FirstName),
		LastName:           strings.TrimSpace(u.LastName),
		RegisteredClaims: jwt.RegisteredClaims{
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(SSOLifetime)),
			ID:        rand.Text(),
		},
		ReturnTo: returnTo,
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(apiKey))
	if err != nil {
		return "", fmt.Errorf("signing the TI sign-in token: %w", err)
	}
	return tok, nil
}

// SSOURL returns the TI address that signs the learner in with token.
func SSOURL(tiBaseURL, token string) string {
	return strings.TrimRight(tiBaseURL, "/") + "/access/jwt?jwt=" + url.QueryEscape(token)
}
