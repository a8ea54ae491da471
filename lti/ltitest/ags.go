package ltitest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The wire constants of AGS, written out here rather than imported so that
// the fake checks the tool against the specification, not against itself.
const (
	AGSScoreScope     = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
	AGSScoreMediaType = "application/vnd.ims.lis.v1.score+json"
	agsAssertionType  = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	agsMaxBody        = 64 << 10
	agsMaxAssertion   = time.Hour // exp - iat beyond this is refused
	agsSkew           = 5 * time.Second
)

// agsScopes are the AGS scopes the fake platform grants.
var agsScopes = []string{
	"https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
	"https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
	"https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
	AGSScoreScope,
}

// agsTimestamp is ISO 8601 with fractional seconds and an offset.
var agsTimestamp = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{1,9}(Z|[+-]\d{2}:\d{2})$`)

// AGSService is a platform's side of LTI Advantage Assignment and Grade
// Services: an OAuth2 token endpoint that accepts client-credentials grants
// with a JWT client assertion, verified with the tool's JWKS, and line item
// score endpoints that take bearer tokens. It records what it received.
//
// Routes, under BaseURL: POST /token, POST /lineitems/{id}/scores.
type AGSService struct {
	ClientID    string // the tool's client id at this platform
	ToolJWKSURL string // where the tool publishes its keys
	// BaseURL is where the service is reachable; the token URL (the
	// assertion's audience) and line item URLs derive from it. Start sets it.
	BaseURL       string
	TokenLifetime time.Duration    // expires_in of issued tokens; default 1h
	Now           func() time.Time // default time.Now
	HTTP          *http.Client     // fetches the tool's JWKS; default a 5s client

	mu            sync.Mutex
	keys          map[string]*rsa.PublicKey
	jwksFetches   int
	jtis          map[string]time.Time // used jti → its exp
	tokens        map[string]agsToken
	assertions    []AGSAssertion
	tokenRequests int
	scoreRequests int
	scores        []AGSScore
	lineItems     []AGSLineItem
	tokenFails    []agsFailure
	scoreFails    []agsFailure
}

type agsToken struct {
	scopes  []string
	expires time.Time
	revoked bool
}

type agsFailure struct {
	status     int
	retryAfter string
}

// AGSAssertion is a verified client assertion, as the token endpoint saw it.
type AGSAssertion struct {
	KID       string
	Issuer    string
	Subject   string
	Audience  []string
	JTI       string
	IssuedAt  time.Time
	ExpiresAt time.Time
	Scope     string
}

// AGSScore is one score the platform accepted.
type AGSScore struct {
	LineItem         string // line item id
	Query            string // raw query string of the request
	UserID           string
	ActivityProgress string
	GradingProgress  string
	ScoreGiven       *float64
	ScoreMaximum     *float64
	Timestamp        string // as sent
	Comment          string
	Received         time.Time
	Body             json.RawMessage
}

// NewAGSService returns a platform that trusts the tool clientID whose keys
// are at toolJWKSURL. Serve it with Start, or mount it and set BaseURL.
func NewAGSService(clientID, toolJWKSURL string) *AGSService {
	return &AGSService{ClientID: clientID, ToolJWKSURL: toolJWKSURL}
}

// Start serves s on a new local listener and sets BaseURL; close the
// returned server when done.
func (s *AGSService) Start() *httptest.Server {
	srv := httptest.NewServer(s)
	s.mu.Lock()
	s.BaseURL = srv.URL
	s.mu.Unlock()
	return srv
}

// TokenURL is the token endpoint, and the audience assertions must name.
func (s *AGSService) TokenURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.TrimRight(s.BaseURL, "/") + TokenPath
}

// LineItemURL is a line item as most platforms put it in the lineitem
// claim: the tool adds /scores.
func (s *AGSService) LineItemURL(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.TrimRight(s.BaseURL, "/") + LineItemsPath + id
}

// ScoresLineItemURL is a line item as SkillsTown puts it in the lineitem
// claim: already ending in /scores.
func (s *AGSService) ScoresLineItemURL(id string) string { return s.LineItemURL(id) + "/scores" }

// Scores returns the scores accepted so far, oldest first.
func (s *AGSService) Scores() []AGSScore {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.scores)
}

// Assertions returns the client assertions accepted so far.
func (s *AGSService) Assertions() []AGSAssertion {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.assertions)
}

// TokenRequests counts requests to the token endpoint, accepted or not.
func (s *AGSService) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenRequests
}

// ScoreRequests counts requests to score endpoints, accepted or not.
func (s *AGSService) ScoreRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.scoreRequests
}

// JWKSFetches counts fetches of the tool's JWKS.
func (s *AGSService) JWKSFetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.jwksFetches
}

// ExpireTokens makes every token issued so far expired, so that the next
// score with one gets a 401.
func (s *AGSService) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, t := range s.tokens {
		t.revoked = true
		s.tokens[k] = t
	}
}

// FailScores makes the next n score requests fail with status (401, 429,
// 500, …) before any check; retryAfter, if set, is sent as Retry-After.
func (s *AGSService) FailScores(status, n int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.scoreFails = append(s.scoreFails, agsFailure{status, retryAfter})
	}
}

// FailTokens makes the next n token requests fail with status.
func (s *AGSService) FailTokens(status, n int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.tokenFails = append(s.tokenFails, agsFailure{status, retryAfter})
	}
}

// ServeHTTP implements http.Handler.
func (s *AGSService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == TokenPath:
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			agsError(w, http.StatusMethodNotAllowed, "invalid_request", "use POST")
			return
		}
		s.serveToken(w, r)
	case r.URL.Path == LineItemsContainerPath:
		s.serveLineItems(w, r)
	case strings.HasPrefix(r.URL.Path, LineItemsPath) && strings.HasSuffix(r.URL.Path, "/scores"):
		id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, LineItemsPath), "/scores")
		if id == "" || strings.Contains(id, "/") {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			agsError(w, http.StatusMethodNotAllowed, "invalid_request", "use POST")
			return
		}
		s.serveScore(w, r, id)
	default:
		http.NotFound(w, r)
	}
}

func (s *AGSService) serveToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.tokenRequests++
	fail, failing := agsPop(&s.tokenFails)
	s.mu.Unlock()
	if failing {
		agsFail(w, fail)
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		agsError(w, http.StatusBadRequest, "invalid_request", "the token request must be a form (application/x-www-form-urlencoded)")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, agsMaxBody)
	if err := r.ParseForm(); err != nil {
		agsError(w, http.StatusBadRequest, "invalid_request", "unreadable form")
		return
	}
	switch {
	case r.PostForm.Get("grant_type") != "client_credentials":
		agsError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be client_credentials")
		return
	case r.PostForm.Get("client_assertion_type") != agsAssertionType:
		agsError(w, http.StatusBadRequest, "invalid_request", "client_assertion_type must be "+agsAssertionType)
		return
	}
	scopes := strings.Fields(r.PostForm.Get("scope"))
	if len(scopes) == 0 {
		agsError(w, http.StatusBadRequest, "invalid_scope", "no scope requested")
		return
	}
	for _, sc := range scopes {
		if !slices.Contains(agsScopes, sc) {
			agsError(w, http.StatusBadRequest, "invalid_scope", "scope "+sc+" is not granted to this tool")
			return
		}
	}
	a, err := s.verifyAssertion(r, r.PostForm.Get("client_assertion"))
	if err != nil {
		agsError(w, http.StatusUnauthorized, "invalid_client", err.Error())
		return
	}
	a.Scope = strings.Join(scopes, " ")

	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := hex.EncodeToString(b)
	life := s.TokenLifetime
	if life <= 0 {
		life = time.Hour
	}
	s.mu.Lock()
	if s.tokens == nil {
		s.tokens = make(map[string]agsToken)
	}
	s.tokens[tok] = agsToken{scopes: scopes, expires: s.now().Add(life)}
	s.assertions = append(s.assertions, a)
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": tok, "token_type": "Bearer", "expires_in": int(life / time.Second), "scope": a.Scope,
	})
}

// verifyAssertion checks the client assertion as RFC 7523 and the IMS
// security framework require.
func (s *AGSService) verifyAssertion(r *http.Request, raw string) (AGSAssertion, error) {
	if raw == "" {
		return AGSAssertion{}, errors.New("no client_assertion")
	}
	tokenURL := s.TokenURL()
	var kid string
	parsed, err := jwt.Parse(raw, func(t *jwt.Token) (any, error) {
		kid, _ = t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("the assertion header has no kid")
		}
		return s.toolKey(r, kid)
	},
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithTimeFunc(s.now),
		jwt.WithLeeway(agsSkew),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(s.ClientID),
		jwt.WithSubject(s.ClientID),
		jwt.WithAudience(tokenURL),
	)
	if err != nil {
		return AGSAssertion{}, fmt.Errorf("client assertion refused: %v", err)
	}
	claims := parsed.Claims.(jwt.MapClaims)
	aud, _ := claims.GetAudience()
	exp, _ := claims.GetExpirationTime()
	iat, _ := claims.GetIssuedAt()
	jti, _ := claims["jti"].(string)
	switch {
	case iat == nil:
		return AGSAssertion{}, errors.New("client assertion has no iat")
	case exp.Sub(iat.Time) > agsMaxAssertion:
		return AGSAssertion{}, errors.New("client assertion lives longer than an hour")
	case jti == "":
		return AGSAssertion{}, errors.New("client assertion has no jti")
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for j, until := range s.jtis {
		if now.After(until.Add(agsSkew)) {
			delete(s.jtis, j)
		}
	}
	if _, used := s.jtis[jti]; used {
		return AGSAssertion{}, errors.New("client assertion jti was used before")
	}
	if s.jtis == nil {
		s.jtis = make(map[string]time.Time)
	}
	s.jtis[jti] = exp.Time
	iss, _ := claims.GetIssuer()
	sub, _ := claims.GetSubject()
	return AGSAssertion{KID: kid, Issuer: iss, Subject: sub, Audience: aud, JTI: jti, IssuedAt: iat.Time, ExpiresAt: exp.Time}, nil
}

// toolKey returns the tool's key kid, fetching the JWKS when the kid is
// not cached (first use, or the tool rotated its key).
func (s *AGSService) toolKey(r *http.Request, kid string) (*rsa.PublicKey, error) {
	s.mu.Lock()
	k, ok := s.keys[kid]
	s.mu.Unlock()
	if ok {
		return k, nil
	}
	keys, err := s.fetchJWKS(r)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.keys = keys
	k, ok = keys[kid]
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("kid %q is not in the tool's JWKS", kid)
	}
	return k, nil
}

func (s *AGSService) fetchJWKS(r *http.Request) (map[string]*rsa.PublicKey, error) {
	s.mu.Lock()
	s.jwksFetches++
	s.mu.Unlock()
	hc := s.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Second}
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, s.ToolJWKSURL, nil)
	if err != nil {
		return nil, fmt.Errorf("tool JWKS URL: %v", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching the tool's JWKS: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the tool's JWKS answered HTTP %d", resp.StatusCode)
	}
	var set struct {
		Keys []struct {
			Kty, Kid, Alg, Use, N, E string
			D                        string `json:"d"`
		} `json:"keys"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, agsMaxBody)).Decode(&set); err != nil {
		return nil, fmt.Errorf("the tool's JWKS is not JSON: %v", err)
	}
	keys := make(map[string]*rsa.PublicKey)
	for _, k := range set.Keys {
		if k.D != "" {
			return nil, errors.New("the tool's JWKS publishes a private key")
		}
		if k.Kty != "RSA" || k.Kid == "" || (k.Alg != "" && k.Alg != "RS256") || (k.Use != "" && k.Use != "sig") {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
			return nil, fmt.Errorf("the tool's JWKS key %q is not base64url", k.Kid)
		}
		keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	return keys, nil
}

func (s *AGSService) serveScore(w http.ResponseWriter, r *http.Request, lineItem string) {
	s.mu.Lock()
	s.scoreRequests++
	fail, failing := agsPop(&s.scoreFails)
	s.mu.Unlock()
	if failing {
		agsFail(w, fail)
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	t, known := s.tokens[tok]
	s.mu.Unlock()
	switch {
	case !ok || !known:
		agsError(w, http.StatusUnauthorized, "invalid_token", "unknown bearer token")
		return
	case t.revoked || !s.now().Before(t.expires):
		agsError(w, http.StatusUnauthorized, "invalid_token", "the bearer token expired")
		return
	case !slices.Contains(t.scopes, AGSScoreScope):
		agsError(w, http.StatusForbidden, "insufficient_scope", "the token does not grant the score scope")
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != AGSScoreMediaType {
		agsError(w, http.StatusUnsupportedMediaType, "invalid_request", "Content-Type must be "+AGSScoreMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, agsMaxBody))
	if err != nil {
		agsError(w, http.StatusRequestEntityTooLarge, "invalid_request", "score too large")
		return
	}
	sc, msg := scoreParse(body)
	if msg != "" {
		agsError(w, http.StatusBadRequest, "invalid_request", msg)
		return
	}
	sc.LineItem, sc.Query, sc.Received = lineItem, r.URL.RawQuery, s.now()
	s.mu.Lock()
	s.scores = append(s.scores, sc)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// scoreParse checks a score body as the AGS score service defines it.
func scoreParse(body []byte) (AGSScore, string) {
	var f struct {
		UserID           *string  `json:"userId"`
		ActivityProgress string   `json:"activityProgress"`
		GradingProgress  string   `json:"gradingProgress"`
		ScoreGiven       *float64 `json:"scoreGiven"`
		ScoreMaximum     *float64 `json:"scoreMaximum"`
		Timestamp        string   `json:"timestamp"`
		Comment          *string  `json:"comment"`
	}
	if err := json.Unmarshal(body, &f); err != nil {
		return AGSScore{}, "the score is not a JSON object of the expected types: " + err.Error()
	}
	switch {
	case f.UserID == nil || *f.UserID == "":
		return AGSScore{}, "userId is required"
	case !slices.Contains([]string{"Initialized", "Started", "InProgress", "Submitted", "Completed"}, f.ActivityProgress):
		return AGSScore{}, "activityProgress is not an AGS value"
	case !slices.Contains([]string{"FullyGraded", "Pending", "PendingManual", "Failed", "NotReady"}, f.GradingProgress):
		return AGSScore{}, "gradingProgress is not an AGS value"
	case !agsTimestamp.MatchString(f.Timestamp):
		return AGSScore{}, "timestamp must be ISO 8601 with fractional seconds and an offset"
	case f.ScoreGiven != nil && *f.ScoreGiven < 0:
		return AGSScore{}, "scoreGiven must not be negative"
	case f.ScoreGiven != nil && (f.ScoreMaximum == nil || *f.ScoreMaximum <= 0):
		return AGSScore{}, "scoreMaximum above zero is required with scoreGiven"
	}
	if _, err := time.Parse(time.RFC3339Nano, f.Timestamp); err != nil {
		return AGSScore{}, "timestamp is not a valid date and time"
	}
	sc := AGSScore{
		UserID: *f.UserID, ActivityProgress: f.ActivityProgress, GradingProgress: f.GradingProgress,
		ScoreGiven: f.ScoreGiven, ScoreMaximum: f.ScoreMaximum, Timestamp: f.Timestamp, Body: slices.Clone(body),
	}
	if f.Comment != nil {
		sc.Comment = *f.Comment
	}
	return sc, ""
}

func (s *AGSService) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func agsPop(q *[]agsFailure) (agsFailure, bool) {
	if len(*q) == 0 {
		return agsFailure{}, false
	}
	f := (*q)[0]
	*q = (*q)[1:]
	return f, true
}

func agsFail(w http.ResponseWriter, f agsFailure) {
	if f.retryAfter != "" {
		w.Header().Set("Retry-After", f.retryAfter)
	}
	code := "server_error"
	switch {
	case f.status == http.StatusUnauthorized:
		code = "invalid_token"
	case f.status == http.StatusTooManyRequests:
		code = "rate_limited"
	case f.status >= 400 && f.status < 500:
		code = "invalid_request"
	}
	agsError(w, f.status, code, fmt.Sprintf("simulated failure (HTTP %d)", f.status))
}

// agsError answers with an OAuth2-style error body.
func agsError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}
