// Package lti makes examgate an LTI 1.3 tool: OIDC login initiation, the
// id_token launch check against the platform's JWKS, and the claims examgate
// needs from it. Scores back to the platform (AGS) are in lti/ags. The fake
// platform for tests and the demo is lti/ltitest.
package lti

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/examgate/examgate"
)

// Claim names of LTI 1.3 Core and AGS.
const (
	ClaimMessageType   = "https://purl.imsglobal.org/spec/lti/claim/message_type"
	ClaimVersion       = "https://purl.imsglobal.org/spec/lti/claim/version"
	ClaimDeploymentID  = "https://purl.imsglobal.org/spec/lti/claim/deployment_id"
	ClaimTargetLinkURI = "https://purl.imsglobal.org/spec/lti/claim/target_link_uri"
	ClaimResourceLink  = "https://purl.imsglobal.org/spec/lti/claim/resource_link"
	ClaimRoles         = "https://purl.imsglobal.org/spec/lti/claim/roles"
	ClaimCustom        = "https://purl.imsglobal.org/spec/lti/claim/custom"
	ClaimContext       = "https://purl.imsglobal.org/spec/lti/claim/context"
	ClaimAGSEndpoint   = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
	ClaimPresentation  = "https://purl.imsglobal.org/spec/lti/claim/launch_presentation"

	MessageTypeResourceLink = "LtiResourceLinkRequest"
	MessageTypeDeepLinking  = "LtiDeepLinkingRequest"
	Version                 = "1.3.0"

	// ScopeScore is the AGS scope that lets a tool post scores.
	ScopeScore = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
	// ScopeLineItem lets a tool find and create line items.
	ScopeLineItem = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
)

// Paths examgate serves as a tool, relative to its base URL. A platform admin
// enters them (see README).
const (
	LoginPath       = "/lti/login"
	LaunchPath      = "/lti/launch"
	JWKSPath        = "/lti/jwks"
	ExamTargetPath  = "/lti/exams/" // + exam code: the target link of one exam
	maxIDTokenBytes = 16 << 10
	maxClaimBytes   = 1024
	maxHintBytes    = 4096
)

// Registration is one platform (issuer + client id) examgate trusts.
type Registration struct {
	Name          string   `json:"name,omitempty" yaml:"name,omitempty"`
	Issuer        string   `json:"issuer" yaml:"issuer"`
	ClientID      string   `json:"clientId" yaml:"clientId"`
	DeploymentIDs []string `json:"deploymentIds" yaml:"deploymentIds"`
	// AuthURL is the platform's OIDC authorization endpoint, where the login
	// sends the browser (SkillsTown calls it the Authorization URL).
	AuthURL  string `json:"authUrl" yaml:"authUrl"`
	TokenURL string `json:"tokenUrl" yaml:"tokenUrl"` // OAuth2 token endpoint, for scores
	JWKSURL  string `json:"jwksUrl" yaml:"jwksUrl"`   // the platform's public keys
	// CourseIDSource is the launch value that carries the course id, as the
	// platform's admin chose it (SkillsTown Inspire asks): one of
	// CourseIDSources. Empty takes the first of them the launch carries.
	CourseIDSource string `json:"courseIdSource,omitempty" yaml:"courseIdSource,omitempty"`
	// LoginScope is the scope of the authorization request. Empty is
	// "openid", which the LTI Security Framework fixes and Moodle requires
	// exactly; SkillsTown's guide shows "openid profile email".
	LoginScope string `json:"loginScope,omitempty" yaml:"loginScope,omitempty"`
}

// Scope is the scope to ask the platform for.
func (r *Registration) Scope() string {
	if r.LoginScope == "" {
		return "openid"
	}
	return r.LoginScope
}

// Where a launch carries the course id (Registration.CourseIDSource).
const (
	CourseIDFromCustomCourseID = "course_id"       // custom parameter course_id
	CourseIDFromCustomID       = "id"              // custom parameter id
	CourseIDFromDeployment     = "deployment_id"   // the deployment_id claim
	CourseIDFromTargetLink     = "target_link_uri" // the target_link_uri claim
)

// CourseIDSources are the values of Registration.CourseIDSource, in the
// order an empty one tries them.
var CourseIDSources = []string{CourseIDFromCustomCourseID, CourseIDFromCustomID, CourseIDFromDeployment, CourseIDFromTargetLink}

// HasDeployment reports whether id is one of the registration's deployments.
func (r *Registration) HasDeployment(id string) bool {
	return id != "" && slices.Contains(r.DeploymentIDs, id)
}

// Validate checks a registration before it is stored, with messages that
// name the field to fix.
func (r *Registration) Validate() error {
	bad := func(format string, args ...any) error {
		return examgate.Errorf(examgate.EINVALID, "platform %q: %s", r.Issuer, fmt.Sprintf(format, args...))
	}
	if r.Issuer == "" || len(r.Issuer) > maxClaimBytes {
		return examgate.Errorf(examgate.EINVALID, "platform: give the issuer (iss), at most %d characters", maxClaimBytes)
	}
	if r.ClientID == "" || len(r.ClientID) > 255 {
		return bad("give the client id examgate was registered under, at most 255 characters")
	}
	if len(r.DeploymentIDs) == 0 {
		return bad("give at least one deployment id")
	}
	for _, d := range r.DeploymentIDs {
		if d == "" || len(d) > 255 {
			return bad("deployment ids must be 1 to 255 characters")
		}
	}
	if r.CourseIDSource != "" && !slices.Contains(CourseIDSources, r.CourseIDSource) {
		return bad("courseIdSource %q: use one of %s, or leave it empty for that order of preference", truncate(r.CourseIDSource, 40), strings.Join(CourseIDSources, ", "))
	}
	if r.LoginScope != "" && (len(r.LoginScope) > 200 || !slices.Contains(strings.Fields(r.LoginScope), "openid") ||
		strings.IndexFunc(r.LoginScope, func(c rune) bool { return c < 0x20 || c > 0x7e }) >= 0) {
		return bad("loginScope %q: give space-separated scopes that include openid, or leave it empty for openid", truncate(r.LoginScope, 40))
	}
	for name, u := range map[string]string{"authUrl": r.AuthURL, "tokenUrl": r.TokenURL, "jwksUrl": r.JWKSURL} {
		if err := checkPlatformURL(u); err != nil {
			return bad("%s %q: %v", name, u, err)
		}
	}
	return nil
}

// checkPlatformURL requires https, except for loopback hosts (tests, demo).
func checkPlatformURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || len(raw) > 2048 {
		return fmt.Errorf("give an absolute URL")
	}
	if u.Scheme == "https" {
		return nil
	}
	if u.Scheme == "http" && isLoopback(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("use https")
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Registrations finds platform registrations. Both methods return a
// NotFound error when nothing matches.
type Registrations interface {
	Registration(ctx context.Context, issuer, clientID string) (*Registration, error)
	RegistrationsByIssuer(ctx context.Context, issuer string) ([]*Registration, error)
}

// PendingLogin is a login the tool started and whose launch it awaits.
type PendingLogin struct {
	StateHash     string // SHA-256 of the state; the state itself is not stored
	Nonce         string
	BindingHash   string // SHA-256 of the browser binding (cookie or platform storage)
	Issuer        string
	ClientID      string
	DeploymentID  string // lti_deployment_id of the login request, if sent
	TargetLinkURI string
	LoginHint     string // kept to restart the login in a new window
	MessageHint   string
	StorageTarget string // lti_storage_target, when the platform offered storage
	ExpiresAt     time.Time
}

// LaunchStore keeps logins between initiation and launch, and used nonces.
type LaunchStore interface {
	SaveLogin(ctx context.Context, l *PendingLogin) error
	// PeekLogin returns a pending login without consuming it, or NotFound.
	PeekLogin(ctx context.Context, stateHash string, now time.Time) (*PendingLogin, error)
	// TakeLogin consumes a pending login: a second call returns NotFound.
	TakeLogin(ctx context.Context, stateHash string, now time.Time) (*PendingLogin, error)
	// UseNonce records a nonce; ECONFLICT when it was used before.
	UseNonce(ctx context.Context, issuer, nonce string, expiresAt time.Time) error
}

// Learner-facing messages. Every refusal names what to do next.
const (
	msgRelaunch        = "Go back to your course and open the exam again."
	msgAskAdmin        = "Ask your course administrator to check the examgate tool settings on the learning platform."
	msgUnknownIssuer   = "This learning platform is not registered with examgate. " + msgAskAdmin
	msgNotOurs         = "This exam link does not point to examgate. " + msgAskAdmin
	msgLoginIncomplete = "The learning platform did not send everything needed to start the exam. " + msgAskAdmin
	msgBadToken        = "The learning platform's sign-in could not be verified. " + msgRelaunch
	msgExpiredLogin    = "This exam sign-in has expired or was already used. " + msgRelaunch
	msgStateMismatch   = "This sign-in was started in another browser window. " + msgRelaunch
	msgBadDeployment   = "This course's link to examgate is not registered (unknown deployment). " + msgAskAdmin
	msgNoUser          = "The learning platform did not say who you are. Sign in to the platform, then open the exam again from your course."
	msgNoResourceLink  = "The learning platform did not say which activity you opened. " + msgAskAdmin
	msgNoExam          = "This link does not say which exam to open. " + msgAskAdmin
	msgTargetMismatch  = "This exam link was changed on its way to examgate. " + msgRelaunch
	msgNoRoles         = "The learning platform did not say what your role in this course is, so examgate cannot tell whether to open the exam or a preview. " + msgAskAdmin
	msgWrongMessage    = "This kind of LTI launch is not supported: examgate accepts resource link and deep linking launches (LTI 1.3). " + msgAskAdmin
)

// PlatformError is the refusal shown when the platform answered the
// authorization request with an OpenID Connect error (error,
// error_description) instead of an id_token. The platform's words are
// shown, bounded and stripped of control characters, with what to do.
func PlatformError(issuer, code, description string) error {
	code, description = Printable(code, 64), Printable(description, 300)
	said := code
	if description != "" {
		said += ": " + description
	}
	return refuse(examgate.EFORBIDDEN,
		fmt.Sprintf("The learning platform did not sign you in to examgate. It said: %q. Contact your course administrator: the examgate tool settings on the platform need checking.", said),
		"platform %s answered the authorization request with error %q (%q)", truncate(issuer, 200), code, description)
}

// Printable keeps at most n bytes of s, without control characters.
func Printable(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
	return truncate(s, n)
}

func refuse(code, msg string, format string, args ...any) error {
	return examgate.Wrap(code, fmt.Errorf(format, args...), msg)
}

// isOurURL reports whether raw is an absolute URL on base's origin and under
// its path.
func isOurURL(base *url.URL, raw string) (*url.URL, bool) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || len(raw) > 2048 {
		return nil, false
	}
	if !strings.EqualFold(u.Scheme, base.Scheme) || !strings.EqualFold(u.Host, base.Host) || u.User != nil {
		return nil, false
	}
	prefix := strings.TrimRight(base.Path, "/")
	if prefix != "" && u.Path != prefix && !strings.HasPrefix(u.Path, prefix+"/") {
		return nil, false
	}
	return u, true
}
