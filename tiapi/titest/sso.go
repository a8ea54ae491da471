package titest

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"math"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// SSOMaxSkew is how far a sign-in token's iat may be from the server's
// clock; TI documents 500 seconds.
const SSOMaxSkew = 500 * time.Second

// SSOLogin is one visit to /access/jwt. The names are filled only when the
// signature was good.
type SSOLogin struct {
	Time               time.Time
	Email              string
	ExternalCustomerID string
	FirstName          string
	LastName           string
	ReturnTo           string
	Valid              bool
	Error              string // why the token was refused
}

// SSOLogins returns a copy of the last sign-in attempts, oldest first.
func (s *Server) SSOLogins() []SSOLogin {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SSOLogin(nil), s.logins...)
}

// ssoLogin verifies a sign-in token the way TI's JWT SSO does and, instead
// of signing anyone in, says who would have been signed in and where to.
func (s *Server) ssoLogin(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	login, err := s.verifySSO(r.URL.Query().Get("jwt"), now)
	login.Time = now
	if err != nil {
		login.Error = err.Error()
	} else {
		login.Valid = true
	}
	s.mu.Lock()
	s.logins = keepLast(s.logins, login)
	s.mu.Unlock()

	if err != nil {
		writeHTML(w, http.StatusUnauthorized, "Sign-in refused: "+err.Error())
		return
	}
	to := login.ReturnTo
	if to == "" {
		to = "the TI home page"
	}
	writeHTML(w, http.StatusOK, fmt.Sprintf("Signed in to the simulated TI as %s. You would now be at %s.", login.Email, to))
}

func (s *Server) verifySSO(raw string, now time.Time) (SSOLogin, error) {
	var login SSOLogin
	if raw == "" {
		return login, errors.New("the jwt query parameter is missing")
	}
	if s.apiKey == "" {
		return login, errors.New("the simulated TI has no API key to verify tokens with")
	}
	claims := jwt.MapClaims{}
	p := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithJSONNumber(), jwt.WithoutClaimsValidation())
	if _, err := p.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return []byte(s.apiKey), nil }); err != nil {
		return login, fmt.Errorf("token not accepted: %w", err)
	}

	var bad error
	str := func(name string) string {
		v, ok := claims[name]
		if !ok || v == nil {
			return ""
		}
		sv, ok := v.(string)
		if !ok && bad == nil {
			bad = fmt.Errorf("claim %s is not a string", name)
		}
		return sv
	}
	login.Email = str("email")
	login.ExternalCustomerID = str("externalCustomerId")
	login.FirstName = str("firstName")
	login.LastName = str("lastName")
	login.ReturnTo = str("returnTo")
	if bad != nil {
		return login, bad
	}
	if login.Email == "" {
		return login, errors.New("token has no email claim")
	}

	n, ok := claims["iat"].(json.Number)
	if !ok {
		return login, errors.New("token has no numeric iat claim")
	}
	// Bounded to years 0001..9999 so the conversion cannot overflow.
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || f < -62135596800 || f > 253402300799 {
		return login, errors.New("token iat claim is not a usable time")
	}
	iat := time.Unix(int64(f), 0)
	if skew := now.Sub(iat); skew > SSOMaxSkew || skew < -SSOMaxSkew {
		return login, fmt.Errorf("token issued at %s, more than %s from the server time %s", iat.UTC().Format(time.RFC3339), SSOMaxSkew, now.UTC().Format(time.RFC3339))
	}
	// docs/integrations/sso asks issuers for a short exp and a one-time
	// jti; the fake holds them to both when they are sent.
	if e, ok := claims["exp"].(json.Number); ok {
		if sec, err := e.Int64(); err != nil || !now.Before(time.Unix(sec, 0)) {
			return login, errors.New("token has expired")
		}
	}
	if jti, ok := claims["jti"].(string); ok && jti != "" {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.jtis == nil {
			s.jtis = map[string]bool{}
		}
		if s.jtis[jti] {
			return login, errors.New("token jti was used before")
		}
		if len(s.jtis) < 10000 {
			s.jtis[jti] = true
		}
	}
	return login, nil
}

func writeHTML(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Simulated Thought Industries</title></head>\n<body><main><p>%s</p></main></body></html>\n", html.EscapeString(text))
}
