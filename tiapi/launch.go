package tiapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/golang-jwt/jwt/v5"

	"github.com/examgate/examgate"
)

const (
	maxTokenBytes = 8192
	maxClaimBytes = 256
	maxEmailBytes = 254 // RFC 5321 path limit
	// DefaultLaunchSkew is used when NewLaunchVerifier is given no skew.
	DefaultLaunchSkew = 5 * time.Minute
)

const (
	msgDamaged    = "This link is damaged or incomplete. Go back to your course and open the exam again."
	msgUnverified = "This link could not be verified. Go back to your course and open the exam again."
	msgExpired    = "This link has expired. Go back to your course and open the exam again."
	msgNotYet     = "This link is not valid yet. Wait a minute, then open the exam again from your course."
	msgNoEmail    = "This link does not include your email address. Ask your course administrator to check the exam link."
	msgBadEmail   = "The email address in this link is not valid. Ask your course administrator to check the email address on your course account."
	msgNoCourse   = "This link does not say which course it belongs to. Ask your course administrator to check the exam link."
	msgBadValue   = "This link contains a value we cannot accept. Ask your course administrator to check the exam link."
)

// LaunchVerifier checks the HS256 launch token TI appends to exam links as
// ?jwt=.
type LaunchVerifier struct {
	keys    jwt.VerificationKeySet
	maxSkew time.Duration
	clock   examgate.Clock
	parser  *jwt.Parser
}

// NewLaunchVerifier returns a verifier that accepts tokens signed with any
// of secrets (normally the current and, while rotating, the previous one;
// empty ones are ignored) and issued within maxSkew of clock.Now(). A
// maxSkew of zero or less means DefaultLaunchSkew; a nil clock is the
// system clock.
func NewLaunchVerifier(secrets []string, maxSkew time.Duration, clock examgate.Clock) *LaunchVerifier {
	v := &LaunchVerifier{maxSkew: maxSkew, clock: clock}
	for _, s := range secrets {
		if s != "" {
			v.keys.Keys = append(v.keys.Keys, []byte(s))
		}
	}
	if v.maxSkew <= 0 {
		v.maxSkew = DefaultLaunchSkew
	}
	if v.clock == nil {
		v.clock = examgate.SystemClock{}
	}
	// Time claims are checked below against the injected clock, with
	// messages a learner can act on, so the library's own checks are off.
	v.parser = jwt.NewParser(jwt.WithStrictDecoding(),
		jwt.WithValidMethods([]string{"HS256"}),
		jwt.WithJSONNumber(),
		jwt.WithoutClaimsValidation(),
	)
	return v
}

// Verify checks raw and returns its claims. Errors are *examgate.Error with
// the reason in Err; the token itself never appears in them.
func (v *LaunchVerifier) Verify(raw string) (*examgate.LaunchClaims, error) {
	if len(raw) > maxTokenBytes {
		return nil, examgate.Wrap(examgate.EINVALID, fmt.Errorf("launch token is %d bytes, over the %d byte limit", len(raw), maxTokenBytes), msgDamaged)
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, examgate.Wrap(examgate.EINVALID, fmt.Errorf("launch token has %d dot-separated parts, want 3", len(parts)), msgDamaged)
	}
	// Only the base64url alphabet: Go's decoders skip CR and LF even when
	// strict, so "token\n" would verify and yet hash to another replay key.
	// With this, and strict decoding, a token has exactly one spelling.
	for i, p := range parts {
		if j := strings.IndexFunc(p, notBase64URL); j >= 0 {
			return nil, examgate.Wrap(examgate.EINVALID, fmt.Errorf("launch token part %d has a character outside base64url at byte %d", i+1, j), msgDamaged)
		}
	}
	// Check alg before the library sees the token, so that no other
	// algorithm's code path (none, RSA with an HMAC key...) is ever reached.
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, examgate.Wrap(examgate.EINVALID, fmt.Errorf("launch token header is not base64url: %w", err), msgDamaged)
	}
	var header map[string]any
	if err := json.Unmarshal(hb, &header); err != nil {
		return nil, examgate.Wrap(examgate.EINVALID, fmt.Errorf("launch token header is not a JSON object: %w", err), msgDamaged)
	}
	if alg, _ := header["alg"].(string); alg != "HS256" {
		return nil, examgate.Wrap(examgate.EUNAUTHORIZED, fmt.Errorf("launch token alg %q refused, only HS256 is accepted", truncate(alg)), msgUnverified)
	}
	if len(v.keys.Keys) == 0 {
		return nil, examgate.Wrap(examgate.EINTERNAL, errors.New("no TI launch secret is configured"), msgUnverified)
	}

	claims := jwt.MapClaims{}
	if _, err := v.parser.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return v.keys, nil }); err != nil {
		if errors.Is(err, jwt.ErrTokenMalformed) {
			return nil, examgate.Wrap(examgate.EINVALID, fmt.Errorf("launch token: %w", err), msgDamaged)
		}
		return nil, examgate.Wrap(examgate.EUNAUTHORIZED, fmt.Errorf("launch token: %w", err), msgUnverified)
	}

	out := &examgate.LaunchClaims{}
	if err := v.checkTimes(claims, out); err != nil {
		return nil, err
	}
	if err := readClaims(claims, out); err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(raw))
	out.TokenID = hex.EncodeToString(sum[:])
	return out, nil
}

func notBase64URL(r rune) bool {
	return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_')
}

func (v *LaunchVerifier) checkTimes(c jwt.MapClaims, out *examgate.LaunchClaims) error {
	now := v.clock.Now()

	iat, ok, err := numericDate(c, "iat")
	switch {
	case err != nil:
		return examgate.Wrap(examgate.EUNAUTHORIZED, err, msgUnverified)
	case !ok:
		return examgate.Wrap(examgate.EUNAUTHORIZED, errors.New("launch token has no iat claim"), msgUnverified)
	case now.Sub(iat) > v.maxSkew:
		return examgate.Wrap(examgate.EUNAUTHORIZED, fmt.Errorf("launch token issued at %s, more than %s before now (%s)", iat.Format(time.RFC3339), v.maxSkew, now.Format(time.RFC3339)), msgExpired)
	case iat.Sub(now) > v.maxSkew:
		return examgate.Wrap(examgate.EUNAUTHORIZED, fmt.Errorf("launch token issued at %s, more than %s after now (%s); check clock sync", iat.Format(time.RFC3339), v.maxSkew, now.Format(time.RFC3339)), msgNotYet)
	}
	out.IssuedAt = iat

	exp, ok, err := numericDate(c, "exp")
	switch {
	case err != nil:
		return examgate.Wrap(examgate.EUNAUTHORIZED, err, msgUnverified)
	case ok && !now.Before(exp):
		return examgate.Wrap(examgate.EUNAUTHORIZED, fmt.Errorf("launch token expired at %s (now %s)", exp.Format(time.RFC3339), now.Format(time.RFC3339)), msgExpired)
	case ok:
		out.ExpiresAt = exp
	}

	// nbf gets the same allowance as iat: both come from TI's clock.
	nbf, ok, err := numericDate(c, "nbf")
	switch {
	case err != nil:
		return examgate.Wrap(examgate.EUNAUTHORIZED, err, msgUnverified)
	case ok && nbf.Sub(now) > v.maxSkew:
		return examgate.Wrap(examgate.EUNAUTHORIZED, fmt.Errorf("launch token not valid before %s (now %s)", nbf.Format(time.RFC3339), now.Format(time.RFC3339)), msgNotYet)
	}
	return nil
}

// numericDate reads a JWT NumericDate (seconds since the epoch). ok is false
// when the claim is absent.
func numericDate(c jwt.MapClaims, name string) (t time.Time, ok bool, err error) {
	raw, present := c[name]
	if !present {
		return time.Time{}, false, nil
	}
	var f float64
	switch n := raw.(type) {
	case json.Number:
		f, err = n.Float64()
	case float64:
		f = n
	default:
		err = errors.New("not a number")
	}
	// Bounded to years 0001..9999 so the conversion cannot overflow.
	if err == nil && (math.IsNaN(f) || f < -62135596800 || f > 253402300799) {
		err = errors.New("out of range")
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("launch token %s claim is not a usable time: %w", name, err)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true, nil
}

func readClaims(c jwt.MapClaims, out *examgate.LaunchClaims) error {
	var err error
	str := func(names ...string) string {
		if err != nil {
			return ""
		}
		var s string
		s, err = claimString(c, names...)
		return s
	}
	email := str("email")
	out.FirstName = str("firstName")
	out.LastName = str("lastName")
	// The customer's document lists "email, name": one whole name, kept as
	// it is, since splitting names guesses wrong for many learners.
	out.Name = str("name")
	out.ExternalCustomerID = str("externalCustomerId")
	out.CourseID = str("courseId", "course_id")
	out.AssignmentID = str("assignmentId")
	out.TIUserID = str("userId", "learnerId")
	if err != nil {
		return examgate.Wrap(examgate.EINVALID, err, msgBadValue)
	}
	switch {
	case email == "":
		return examgate.Wrap(examgate.EINVALID, errors.New("launch token has no email claim"), msgNoEmail)
	case !validEmail(email):
		return examgate.Wrap(examgate.EINVALID, fmt.Errorf("launch token email %q is not an address", email), msgBadEmail)
	case out.CourseID == "":
		return examgate.Wrap(examgate.EINVALID, errors.New("launch token has neither courseId nor course_id"), msgNoCourse)
	}
	out.Email = email
	return nil
}

// claimString returns the first of names that is present, trimmed. TI sends
// ids as strings or numbers depending on the field and the instance, so
// both are accepted; anything else is refused rather than guessed.
func claimString(c jwt.MapClaims, names ...string) (string, error) {
	for _, name := range names {
		raw, ok := c[name]
		if !ok || raw == nil {
			continue
		}
		var s string
		switch x := raw.(type) {
		case string:
			s = strings.TrimSpace(x)
		case json.Number:
			s = x.String()
		case float64:
			s = strconv.FormatFloat(x, 'f', -1, 64)
		default:
			return "", fmt.Errorf("launch token %s claim is a %T, want a string", name, raw)
		}
		if len(s) > maxClaimBytes {
			return "", fmt.Errorf("launch token %s claim is %d bytes, over the %d byte limit", name, len(s), maxClaimBytes)
		}
		// Control characters (NUL above all) break storage and logs.
		if strings.IndexFunc(s, unicode.IsControl) >= 0 {
			return "", fmt.Errorf("launch token %s claim contains control characters", name)
		}
		if s != "" {
			return s, nil
		}
	}
	return "", nil
}

// validEmail is a plausibility check, not RFC 5322: one bare address with a
// local part and a domain, no display name, no spaces.
func validEmail(s string) bool {
	if len(s) > maxEmailBytes || strings.ContainsAny(s, " \t\r\n<>\"") {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at == len(s)-1 || strings.HasPrefix(s[at+1:], ".") || strings.HasSuffix(s, ".") {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s
}

// truncate keeps attacker-chosen header values short in logs.
func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}
