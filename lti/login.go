package lti

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/examgate/examgate"
)

// LoginLifetime is how long a started login waits for its launch.
const LoginLifetime = 10 * time.Minute

// Tool is examgate as an LTI 1.3 tool.
type Tool struct {
	BaseURL       *url.URL // examgate's public URL; target links must be under it
	Registrations Registrations
	Store         LaunchStore
	Keys          *JWKSCache
	Clock         examgate.Clock
	// Leeway is the clock difference accepted on exp and iat; default 60 s.
	Leeway time.Duration
}

// LoginRequest is an OIDC third-party login initiation from a platform.
type LoginRequest struct {
	Issuer         string
	LoginHint      string
	TargetLinkURI  string
	LTIMessageHint string
	ClientID       string
	DeploymentID   string
	StorageTarget  string // lti_storage_target: the platform offers postMessage storage
}

// ParseLoginRequest reads a login initiation from a GET query or a POST form.
func ParseLoginRequest(w http.ResponseWriter, r *http.Request) (*LoginRequest, error) {
	r.Body = http.MaxBytesReader(w, r.Body, 32<<10)
	if err := r.ParseForm(); err != nil {
		return nil, refuse(examgate.EINVALID, msgLoginIncomplete, "login form: %v", err)
	}
	v := r.Form // POST body values first, then the query
	l := &LoginRequest{
		Issuer: v.Get("iss"), LoginHint: v.Get("login_hint"), TargetLinkURI: v.Get("target_link_uri"),
		LTIMessageHint: v.Get("lti_message_hint"), ClientID: v.Get("client_id"),
		DeploymentID: v.Get("lti_deployment_id"), StorageTarget: v.Get("lti_storage_target"),
	}
	switch {
	case l.Issuer == "" || l.LoginHint == "" || l.TargetLinkURI == "":
		return nil, refuse(examgate.EINVALID, msgLoginIncomplete, "login initiation without iss, login_hint or target_link_uri")
	case len(l.Issuer) > maxClaimBytes || len(l.ClientID) > 255 || len(l.DeploymentID) > 255 ||
		len(l.LoginHint) > maxHintBytes || len(l.LTIMessageHint) > maxHintBytes ||
		len(l.TargetLinkURI) > 2048 || len(l.StorageTarget) > 255:
		return nil, refuse(examgate.EINVALID, msgLoginIncomplete, "login initiation parameter too long")
	}
	return l, nil
}

// Login is a started login: where to send the browser, and the secrets that
// bind it to this browser.
type Login struct {
	AuthURL string // the platform's authorization request
	State   string
	// Binding goes into the state cookie and, when offered, the platform's
	// storage; the launch must present it.
	Binding       string
	StorageTarget string
	Registration  *Registration
}

// StartLogin answers a login initiation: it checks the platform and the
// target link, stores the state and nonce and builds the authorization
// request.
func (t *Tool) StartLogin(ctx context.Context, req *LoginRequest) (*Login, error) {
	if _, ok := isOurURL(t.BaseURL, req.TargetLinkURI); !ok {
		return nil, refuse(examgate.EINVALID, msgNotOurs, "target_link_uri %q is not under %s", truncate(req.TargetLinkURI, 200), t.BaseURL)
	}
	reg, err := t.registration(ctx, req.Issuer, req.ClientID)
	if err != nil {
		return nil, err
	}
	if req.DeploymentID != "" && !reg.HasDeployment(req.DeploymentID) {
		return nil, refuse(examgate.EFORBIDDEN, msgBadDeployment, "unknown lti_deployment_id %q for %s", truncate(req.DeploymentID, 100), reg.Issuer)
	}
	state, nonce, binding := randomToken(), randomToken(), randomToken()
	now := t.now()
	if err := t.Store.SaveLogin(ctx, &PendingLogin{
		StateHash: Hash(state), Nonce: nonce, BindingHash: Hash(binding),
		Issuer: reg.Issuer, ClientID: reg.ClientID, DeploymentID: req.DeploymentID,
		TargetLinkURI: req.TargetLinkURI, LoginHint: req.LoginHint, MessageHint: req.LTIMessageHint,
		StorageTarget: req.StorageTarget, ExpiresAt: now.Add(LoginLifetime),
	}); err != nil {
		return nil, err
	}
	// The LTI Security Framework (5.1.1.2) fixes the scope to openid, and
	// platforms compare it exactly (Moodle's mod/lti/auth.php answers
	// invalid_scope to anything else); a registration may ask for more, as
	// SkillsTown's guide shows.
	q := url.Values{
		"scope":         {reg.Scope()},
		"response_type": {"id_token"},
		"response_mode": {"form_post"},
		"prompt":        {"none"},
		"client_id":     {reg.ClientID},
		"iss":           {reg.Issuer},
		"redirect_uri":  {t.RedirectURI()},
		"login_hint":    {req.LoginHint},
		"state":         {state},
		"nonce":         {nonce},
	}
	if req.LTIMessageHint != "" {
		q.Set("lti_message_hint", req.LTIMessageHint)
	}
	auth, err := url.Parse(reg.AuthURL)
	if err != nil {
		return nil, refuse(examgate.EINTERNAL, msgAskAdmin, "authUrl of %s: %v", reg.Issuer, err)
	}
	// Keep any query the platform's URL already has.
	merged := auth.Query()
	for k, vs := range q {
		merged[k] = vs
	}
	auth.RawQuery = merged.Encode()
	return &Login{AuthURL: auth.String(), State: state, Binding: binding, StorageTarget: req.StorageTarget, Registration: reg}, nil
}

// registration finds the platform; without a client id the issuer must have
// exactly one registration.
func (t *Tool) registration(ctx context.Context, issuer, clientID string) (*Registration, error) {
	if clientID != "" {
		reg, err := t.Registrations.Registration(ctx, issuer, clientID)
		if examgate.ErrorCode(err) == examgate.ENOTFOUND {
			return nil, refuse(examgate.EFORBIDDEN, msgUnknownIssuer, "no registration for iss %q client_id %q", truncate(issuer, 200), truncate(clientID, 100))
		}
		return reg, err
	}
	regs, err := t.Registrations.RegistrationsByIssuer(ctx, issuer)
	if err != nil && examgate.ErrorCode(err) != examgate.ENOTFOUND {
		return nil, err
	}
	switch len(regs) {
	case 0:
		return nil, refuse(examgate.EFORBIDDEN, msgUnknownIssuer, "no registration for iss %q", truncate(issuer, 200))
	case 1:
		return regs[0], nil
	default:
		return nil, refuse(examgate.EINVALID, msgLoginIncomplete, "iss %q has several registrations and the login sent no client_id", truncate(issuer, 200))
	}
}

// RedirectURI is where platforms post the id_token.
func (t *Tool) RedirectURI() string { return t.url(LaunchPath) }

// LoginURL is the login initiation URL platforms call.
func (t *Tool) LoginURL() string { return t.url(LoginPath) }

// JWKSURL is where the tool publishes its public keys.
func (t *Tool) JWKSURL() string { return t.url(JWKSPath) }

// TargetLink is the target link URI of one exam.
func (t *Tool) TargetLink(examCode string) string {
	return t.url(ExamTargetPath + url.PathEscape(examCode))
}

func (t *Tool) url(p string) string { return strings.TrimRight(t.BaseURL.String(), "/") + p }

func (t *Tool) now() time.Time {
	if t.Clock == nil {
		return examgate.SystemClock{}.Now()
	}
	return t.Clock.Now()
}

func (t *Tool) leeway() time.Duration {
	if t.Leeway <= 0 {
		return time.Minute
	}
	return t.Leeway
}

// Hash is how states and bindings are stored: only their SHA-256.
func Hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// StateCookieName is the cookie that binds one login's state to the browser.
// One cookie per state, so that two launches in two tabs do not collide.
func StateCookieName(state string) string { return "lti_state_" + Hash(state)[:24] }
