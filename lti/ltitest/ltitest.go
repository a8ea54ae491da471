// Package ltitest is a fake LTI 1.3 platform speaking the real wire format:
// it initiates logins with an auto-submitting form, answers the OIDC
// authorization request with a form_post of id_token and state, signs
// id_tokens with RS256 keys it publishes as a JWKS, rotates keys, and can
// craft bad tokens for tests. With ServeAGS it also plays the platform's
// score service (AGSService) under its issuer. Tests serve it with httptest
// (NewServer); the demo mounts it under a path prefix with http.StripPrefix.
package ltitest

import (
	"cmp"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/examgate/examgate/lti"
)

// Paths the platform serves, relative to its root.
const (
	JWKSPath   = "/jwks"
	AuthPath   = "/auth"
	TokenPath  = "/token" // served by the score service (ServeAGS)
	StartPath  = "/start"
	CoursePath = "/course"

	// LineItemsPath + {id} is a line item, + {id}/scores its score
	// endpoint, served by the score service (ServeAGS).
	LineItemsPath = "/lineitems/"
)

// User is a platform account.
type User struct {
	Sub        string
	Email      string
	GivenName  string
	FamilyName string
	Name       string
}

// Link is a resource link a user launches.
type Link struct {
	TargetLinkURI  string
	ResourceLinkID string         // default "rl-1"
	DeploymentID   string         // default the platform's
	Custom         map[string]any // values may be numbers, as platforms send them
	LineItem       string         // AGS lineitem URL; empty offers no AGS unless LineItems is set
	// LineItems is the AGS lineitems container; empty sends LineItem in
	// its place. Alone, it is a link with no line item (AGS 2.0).
	LineItems string
	// ReturnURL is sent as launch_presentation.return_url.
	ReturnURL string
	// Locale is sent as launch_presentation.locale, a BCP 47 language tag
	// (LTI 1.3 Core, section 5.4.4, launch presentation claim).
	Locale string
	// SendDeploymentClaimOnly leaves lti_deployment_id out of the login
	// initiation, as some platforms do.
	SendDeploymentClaimOnly bool
	// Roles is the roles claim; nil sends the context Learner role.
	Roles []string
	// NoRoles leaves the roles claim out, which LTI Core requires.
	NoRoles bool
	// DeepLinking launches an LtiDeepLinkingRequest (the activity picker)
	// instead of a resource link; AcceptTypes are its accept_types (nil:
	// ltiResourceLink).
	DeepLinking bool
	AcceptTypes []string
}

// Role URIs of LTI Core 1.3 (A.2), for Link.Roles.
const (
	RoleLearner           = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
	RoleInstructor        = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
	RoleTeachingAssistant = "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"
	RoleContentDeveloper  = "http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper"
	RoleAdministrator     = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"
	RoleStudent           = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student"
)

// Launch is a launch in progress, found again by its lti_message_hint.
type Launch struct {
	Hint string
	User User
	Link Link
}

// Platform is the fake platform.
type Platform struct {
	Issuer       string
	ClientID     string
	DeploymentID string
	// Tool is where the tool lives: its login initiation and redirect URIs,
	// and the JWKS that verifies its Deep Linking responses.
	ToolLoginURL, ToolRedirectURI, ToolJWKSURL string
	// Now is the platform's clock; default time.Now.
	Now func() time.Time
	// Tamper, when set, changes the claims and header of the next id_tokens
	// before signing, to craft bad tokens. A header alg of HS256 signs with
	// HMAC keyed by the platform's public key in PEM (algorithm confusion).
	Tamper func(claims map[string]any, header map[string]any)
	// SignWith, when set, signs with this key instead of the current one
	// (with the current kid): a wrong signature.
	SignWith *rsa.PrivateKey
	// RawToken, when set, replaces the signed id_token entirely.
	RawToken func(signed string) string
	// Scope is the scope the authorization endpoint requires, exactly:
	// empty is "openid", as Moodle requires; SkillsTown's guide shows
	// "openid profile email".
	Scope string
	// AuthError, when set, answers every valid authorization request with
	// this OpenID Connect error (and AuthErrorDescription), as a platform
	// whose administrator turned the tool off would.
	AuthError, AuthErrorDescription string
	// Storage makes every start page offer lti_storage_target (postMessage
	// storage in the course page); the course page always offers it.
	Storage bool

	mu       sync.Mutex
	keys     []*signingKey // current first; the previous one is listed during rotation
	launches map[string]*Launch
	issued   []string
	ags      *AGSService

	dlResponses []DeepLinkResponse
	regTokens   map[string]bool
	dynRegs     []DynamicRegistration
}

type signingKey struct {
	kid string
	key *rsa.PrivateKey
}

// New returns a platform with one 2048-bit signing key, made when first
// needed: making it takes tens of milliseconds (88 ms of every demo start
// before), whether or not anything is ever launched through the platform.
func New(issuer, clientID, deploymentID string) *Platform {
	return &Platform{Issuer: issuer, ClientID: clientID, DeploymentID: deploymentID, launches: map[string]*Launch{}}
}

// signingKeys returns the keys, current first, making the first one on
// first use. p.mu is held.
func (p *Platform) signingKeys() []*signingKey {
	if len(p.keys) == 0 {
		p.keys = []*signingKey{newKey()}
	}
	return p.keys
}

// NewServer starts the platform on an httptest server, its URL the issuer.
func NewServer(tb testing.TB, clientID, deploymentID string) *Platform {
	tb.Helper()
	p := New("", clientID, deploymentID)
	srv := httptest.NewServer(p)
	tb.Cleanup(srv.Close)
	p.Issuer = srv.URL
	return p
}

func newKey() *signingKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return &signingKey{kid: randomID(), key: k}
}

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Registration is what an admin enters in examgate for this platform.
func (p *Platform) Registration() lti.Registration {
	scope := ""
	if p.Scope != "" && p.Scope != "openid" {
		scope = p.Scope
	}
	return lti.Registration{
		Name: "Test platform", Issuer: p.Issuer, ClientID: p.ClientID, DeploymentIDs: []string{p.DeploymentID},
		AuthURL: p.Issuer + AuthPath, TokenURL: p.Issuer + TokenPath, JWKSURL: p.Issuer + JWKSPath, LoginScope: scope,
	}
}

// ServeAGS makes the platform serve Assignment and Grade Services at the
// token URL of its Registration and at line items under its issuer, for the
// tool whose keys are at toolJWKSURL, and returns that service (to read the
// scores it received, or make it fail). Call it once the issuer is known.
func (p *Platform) ServeAGS(toolJWKSURL string) *AGSService {
	svc := NewAGSService(p.ClientID, toolJWKSURL)
	svc.BaseURL = p.Issuer
	svc.Now = p.now
	p.mu.Lock()
	p.ags = svc
	p.mu.Unlock()
	return svc
}

// Rotate makes a new key current; the old one stays in the JWKS until
// RetireOldKeys, as a platform does during rotation.
func (p *Platform) Rotate() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = append([]*signingKey{newKey()}, p.signingKeys()...)
}

// RetireOldKeys removes every key but the current one from the JWKS.
func (p *Platform) RetireOldKeys() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = p.signingKeys()[:1]
}

// CurrentKID is the kid of the key that signs.
func (p *Platform) CurrentKID() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.signingKeys()[0].kid
}

// AddLaunch prepares a launch of link by user and returns its
// lti_message_hint.
func (p *Platform) AddLaunch(u User, l Link) string {
	if l.ResourceLinkID == "" {
		l.ResourceLinkID = "rl-1"
	}
	if l.DeploymentID == "" {
		l.DeploymentID = p.DeploymentID
	}
	hint := randomID()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.launches) > 1000 { // the demo runs for days: forget old launches
		clear(p.launches)
	}
	p.launches[hint] = &Launch{Hint: hint, User: u, Link: l}
	return hint
}

// LoginParams is the login initiation the platform sends the tool for a
// launch.
func (p *Platform) LoginParams(hint string) url.Values {
	p.mu.Lock()
	l := p.launches[hint]
	p.mu.Unlock()
	if l == nil {
		return nil
	}
	v := url.Values{
		"iss":              {p.Issuer},
		"login_hint":       {l.User.Sub},
		"target_link_uri":  {l.Link.TargetLinkURI},
		"lti_message_hint": {hint},
		"client_id":        {p.ClientID},
	}
	if !l.Link.SendDeploymentClaimOnly {
		v.Set("lti_deployment_id", l.Link.DeploymentID)
	}
	return v
}

// Claims returns the id_token claims of a launch for a nonce.
func (p *Platform) Claims(l *Launch, nonce string) map[string]any {
	now := p.now()
	c := map[string]any{
		"iss":                  p.Issuer,
		"aud":                  p.ClientID,
		"sub":                  l.User.Sub,
		"iat":                  now.Unix(),
		"nbf":                  now.Unix(),
		"exp":                  now.Add(5 * time.Minute).Unix(),
		"nonce":                nonce,
		lti.ClaimMessageType:   lti.MessageTypeResourceLink,
		lti.ClaimVersion:       lti.Version,
		lti.ClaimDeploymentID:  l.Link.DeploymentID,
		lti.ClaimTargetLinkURI: l.Link.TargetLinkURI,
		lti.ClaimResourceLink:  map[string]any{"id": l.Link.ResourceLinkID, "title": "Exam"},
		lti.ClaimContext:       map[string]any{"id": "ctx-1", "title": "Course"},
	}
	if l.Link.DeepLinking {
		c[lti.ClaimMessageType] = "LtiDeepLinkingRequest"
		delete(c, lti.ClaimResourceLink)
		c[dlSettingsClaim] = p.deepLinkingSettings(l)
	}
	switch {
	case l.Link.NoRoles:
	case l.Link.Roles != nil:
		c[lti.ClaimRoles] = l.Link.Roles
	default:
		c[lti.ClaimRoles] = []string{RoleLearner}
	}
	if l.User.Email != "" {
		c["email"] = l.User.Email
	}
	if l.User.GivenName != "" {
		c["given_name"] = l.User.GivenName
	}
	if l.User.FamilyName != "" {
		c["family_name"] = l.User.FamilyName
	}
	if l.User.Name != "" {
		c["name"] = l.User.Name
	}
	if l.Link.ReturnURL != "" || l.Link.Locale != "" {
		p := map[string]any{"document_target": "iframe"}
		if l.Link.ReturnURL != "" {
			p["return_url"] = l.Link.ReturnURL
		}
		if l.Link.Locale != "" {
			p["locale"] = l.Link.Locale
		}
		c[lti.ClaimPresentation] = p
	}
	if len(l.Link.Custom) > 0 {
		c[lti.ClaimCustom] = l.Link.Custom
	}
	if l.Link.LineItem != "" || l.Link.LineItems != "" {
		ags := map[string]any{
			"scope": []string{
				"https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
				"https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
				lti.ScopeScore,
			},
			"lineitems": l.Link.LineItems,
		}
		if l.Link.LineItems == "" {
			ags["lineitems"] = l.Link.LineItem
		}
		if l.Link.LineItem != "" {
			ags["lineitem"] = l.Link.LineItem
		}
		c[lti.ClaimAGSEndpoint] = ags
	}
	return c
}

// Sign signs claims with the current key, applying Tamper, SignWith and
// RawToken when set.
func (p *Platform) Sign(claims map[string]any) (string, error) {
	p.mu.Lock()
	k := p.signingKeys()[0]
	tamper, signWith, raw := p.Tamper, p.SignWith, p.RawToken
	p.mu.Unlock()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims(claims))
	tok.Header["kid"] = k.kid
	if tamper != nil {
		tamper(claims, tok.Header)
	}
	key := k.key
	if signWith != nil {
		key = signWith
	}
	var signed string
	var err error
	if alg, _ := tok.Header["alg"].(string); alg == "HS256" {
		// The algorithm confusion attack: HMAC keyed with the public key
		// as a tool would hold it (PEM), which anyone can fetch from the
		// JWKS. A tool that let the token pick its algorithm would accept it.
		der, derr := x509.MarshalPKIXPublicKey(&k.key.PublicKey)
		if derr != nil {
			return "", derr
		}
		tok.Method = jwt.SigningMethodHS256
		signed, err = tok.SignedString(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	} else {
		signed, err = tok.SignedString(key)
	}
	if err != nil {
		return "", err
	}
	if raw != nil {
		signed = raw(signed)
	}
	p.mu.Lock()
	p.issued = append(p.issued, signed)
	p.mu.Unlock()
	return signed, nil
}

// LastToken returns the last id_token the platform issued.
func (p *Platform) LastToken() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.issued) == 0 {
		return ""
	}
	return p.issued[len(p.issued)-1]
}

func (p *Platform) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// ServeHTTP serves the JWKS, the authorization endpoint, the pages that
// start a launch in a browser and, after ServeAGS, the score service.
func (p *Platform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The platform's pages frame the tool and are framed by the demo.
	w.Header().Del("X-Frame-Options")
	w.Header().Set("Cache-Control", "no-store")
	p.mu.Lock()
	ags := p.ags
	p.mu.Unlock()
	if ags != nil && (r.URL.Path == TokenPath || r.URL.Path == LineItemsContainerPath || strings.HasPrefix(r.URL.Path, LineItemsPath)) {
		ags.ServeHTTP(w, r)
		return
	}
	switch r.URL.Path {
	case JWKSPath:
		p.serveJWKS(w)
	case AuthPath:
		p.serveAuth(w, r)
	case StartPath:
		p.serveStart(w, r)
	case CoursePath:
		p.serveCourse(w, r)
	case DeepLinkReturnPath:
		p.serveDeepLinkReturn(w, r)
	case OpenIDConfigPath:
		p.serveOpenIDConfig(w)
	case RegistrationPath:
		p.serveRegistration(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (p *Platform) serveJWKS(w http.ResponseWriter) {
	p.mu.Lock()
	keys := make([]map[string]string, 0, len(p.keys))
	for _, k := range p.signingKeys() {
		keys = append(keys, lti.JWK(k.kid, &k.key.PublicKey))
	}
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
}

// serveAuth is the OIDC authorization endpoint. It checks the request the
// way Moodle's mod/lti/auth.php does: a redirect_uri that is not the
// registered one is refused on a page of its own (nothing can be posted to
// it); any other problem is answered to the tool as OpenID Connect Core
// 3.2.2.6 says, by a form_post of error, error_description and state to
// the redirect_uri: invalid_request, invalid_scope (scope must be exactly
// openid, LTI Security Framework 5.1.1.2), unsupported_response_type,
// unauthorized_client or access_denied.
func (p *Platform) serveAuth(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	q := r.Form
	if q.Get("redirect_uri") == "" || (p.ToolRedirectURI != "" && q.Get("redirect_uri") != p.ToolRedirectURI) {
		http.Error(w, "invalid_request: redirect_uri is not the registered one", http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	l := p.launches[q.Get("lti_message_hint")]
	p.mu.Unlock()
	code, desc := "", ""
	switch {
	case q.Get("scope") == "" || q.Get("response_type") == "" || q.Get("client_id") == "" || q.Get("login_hint") == "" || q.Get("nonce") == "":
		code, desc = "invalid_request", "scope, response_type, client_id, login_hint and nonce are required"
	case q.Get("scope") != cmp.Or(p.Scope, "openid"):
		code = "invalid_scope"
	case q.Get("response_type") != "id_token":
		code = "unsupported_response_type"
	case l == nil:
		code, desc = "invalid_request", "lti_message_hint does not match a launch"
	case q.Get("client_id") != p.ClientID:
		code = "unauthorized_client"
	case l.User.Sub != q.Get("login_hint"):
		code = "access_denied"
	case q.Get("response_mode") != "form_post":
		code, desc = "invalid_request", "Invalid response_mode"
	case q.Get("prompt") != "" && q.Get("prompt") != "none":
		code, desc = "invalid_request", "Invalid prompt"
	case p.AuthError != "":
		code, desc = p.AuthError, p.AuthErrorDescription
	}
	if code != "" {
		v := url.Values{"error": {code}, "state": {q.Get("state")}}
		if desc != "" {
			v.Set("error_description", desc)
		}
		writeAutoForm(w, q.Get("redirect_uri"), v)
		return
	}
	token, err := p.Sign(p.Claims(l, q.Get("nonce")))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeAutoForm(w, q.Get("redirect_uri"), url.Values{"id_token": {token}, "state": {q.Get("state")}})
}

// serveStart is what the platform's page does when a learner clicks the
// link: an auto-submitting POST of the login initiation to the tool.
func (p *Platform) serveStart(w http.ResponseWriter, r *http.Request) {
	v := p.LoginParams(r.URL.Query().Get("hint"))
	if v == nil {
		http.Error(w, "unknown launch", http.StatusNotFound)
		return
	}
	if p.Storage || r.URL.Query().Get("storage") == "1" {
		v.Set("lti_storage_target", "_parent")
	}
	writeAutoForm(w, p.ToolLoginURL, v)
}

var autoForm = template.Must(template.New("form").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Opening…</title></head>
<body><form method="post" action="{{.Action}}" id="f">
{{range $k, $vs := .Values}}{{range $vs}}<input type="hidden" name="{{$k}}" value="{{.}}">
{{end}}{{end}}<noscript><button type="submit">Continue</button></noscript></form>
<script>document.getElementById('f').submit()</script></body></html>
`))

const autoFormScript = "document.getElementById('f').submit()"

func writeAutoForm(w http.ResponseWriter, action string, v url.Values) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src "+scriptHash(autoFormScript)+"; form-action *; frame-ancestors 'self'")
	_ = autoForm.Execute(w, map[string]any{"Action": action, "Values": v})
}

// ParseForm reads the auto-submitting form of a platform or tool page: its
// action and hidden fields, as a browser would submit them.
func ParseForm(page string) (action string, values url.Values, err error) {
	m := formRE.FindStringSubmatch(page)
	if m == nil {
		return "", nil, fmt.Errorf("no form in page: %.300s", page)
	}
	values = url.Values{}
	for _, in := range inputRE.FindAllStringSubmatch(page, -1) {
		values.Add(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
	}
	return html.UnescapeString(m[1]), values, nil
}

var (
	formRE  = regexp.MustCompile(`<form[^>]*\baction="([^"]*)"`)
	inputRE = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)"`)
)
