package lti

import (
	"context"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/examgate/examgate"
)

// Launch is a checked LTI resource link launch.
type Launch struct {
	Issuer, ClientID, DeploymentID string
	Subject                        string // sub: the platform's user id
	Email                          string // optional
	GivenName, FamilyName, Name    string // optional
	ResourceLinkID                 string
	TargetLinkURI                  string            // the signed claim; empty when the platform sent none
	Custom                         map[string]string // numbers and booleans as text
	Grades                         *GradeService     // nil when the platform offers no AGS
	CourseID                       string
	ExamCode                       string
	ExpiresAt                      time.Time
	ReturnURL                      string   // launch_presentation.return_url, https only
	Locale                         string   // launch_presentation.locale, a BCP 47 tag such as "nl-NL"; empty when absent or malformed
	Roles                          []string // the roles claim, as sent
	Audience                       string   // AudienceLearner or AudienceStaff
	// DeepLinking is set for an LtiDeepLinkingRequest (an instructor adding
	// the tool in the platform's activity picker); such a launch has no
	// resource link, course or exam.
	DeepLinking *DeepLinkingSettings
}

// localeTag is the shape of a BCP 47 language tag ("nl", "nl-NL", "en_US"
// from platforms that write it the POSIX way), at most 35 characters.
var localeTag = regexp.MustCompile(`^[A-Za-z]{2,8}([-_][A-Za-z0-9]{1,8}){0,3}$`)

// GradeService is the launch's AGS endpoint claim.
type GradeService struct {
	LineItem  string   // where this resource link's scores go
	LineItems string   // the context's line item container
	Scope     []string // what the tool may do
}

// CanPostScores reports whether the platform gave a line item and the score scope.
func (g *GradeService) CanPostScores() bool {
	return g != nil && g.LineItem != "" && slices.Contains(g.Scope, ScopeScore)
}

// CanFindLineItem reports whether, without a line item, the platform gave
// the line items container with the scopes to find or create the line item
// and to post scores to it (AGS 2.0: a link with no line item, or several).
func (g *GradeService) CanFindLineItem() bool {
	return g != nil && g.LineItem == "" && g.LineItems != "" && slices.Contains(g.Scope, ScopeScore) && slices.Contains(g.Scope, ScopeLineItem)
}

// LaunchRequest is what the platform posted to the redirect URI, with the
// browser binding from the state cookie or the platform's storage.
type LaunchRequest struct {
	IDToken string
	State   string
	Binding string
}

// Pending returns the login a state belongs to without consuming it, so that
// the server can decide how to find the browser binding.
func (t *Tool) Pending(ctx context.Context, state string) (*PendingLogin, error) {
	if state == "" || len(state) > 128 {
		return nil, refuse(examgate.EUNAUTHORIZED, msgExpiredLogin, "launch without a valid state")
	}
	p, err := t.Store.PeekLogin(ctx, Hash(state), t.now())
	if examgate.ErrorCode(err) == examgate.ENOTFOUND {
		return nil, refuse(examgate.EUNAUTHORIZED, msgExpiredLogin, "unknown, expired or used state")
	}
	return p, err
}

// Launch checks a launch: the state and its browser binding, then the
// id_token (RS256 with the platform's key, issuer, audience, times, nonce,
// message type, version, deployment, resource link, subject), and extracts
// what examgate needs. The state is consumed whatever the outcome.
func (t *Tool) Launch(ctx context.Context, req LaunchRequest) (*Launch, error) {
	if req.IDToken == "" {
		return nil, refuse(examgate.EINVALID, msgBadToken, "launch without id_token")
	}
	if len(req.IDToken) > maxIDTokenBytes {
		return nil, refuse(examgate.EINVALID, msgBadToken, "id_token longer than %d bytes", maxIDTokenBytes)
	}
	if req.State == "" || len(req.State) > 128 {
		return nil, refuse(examgate.EUNAUTHORIZED, msgExpiredLogin, "launch without a valid state")
	}
	now := t.now()
	login, err := t.Store.TakeLogin(ctx, Hash(req.State), now)
	if examgate.ErrorCode(err) == examgate.ENOTFOUND {
		return nil, refuse(examgate.EUNAUTHORIZED, msgExpiredLogin, "unknown, expired or used state")
	}
	if err != nil {
		return nil, err
	}
	if req.Binding == "" || subtle.ConstantTimeCompare([]byte(Hash(req.Binding)), []byte(login.BindingHash)) != 1 {
		return nil, refuse(examgate.EUNAUTHORIZED, msgStateMismatch, "state not bound to this browser")
	}
	reg, err := t.Registrations.Registration(ctx, login.Issuer, login.ClientID)
	if err != nil {
		if examgate.ErrorCode(err) == examgate.ENOTFOUND {
			return nil, refuse(examgate.EFORBIDDEN, msgUnknownIssuer, "registration %s removed during the login", login.Issuer)
		}
		return nil, err
	}
	claims, err := t.verify(ctx, req.IDToken, reg)
	if err != nil {
		return nil, err
	}
	l, err := t.check(claims, reg, login, now)
	if err != nil {
		return nil, err
	}
	if err := t.Store.UseNonce(ctx, l.Issuer, login.Nonce, l.ExpiresAt.Add(t.leeway())); err != nil {
		if examgate.ErrorCode(err) == examgate.ECONFLICT {
			return nil, refuse(examgate.EUNAUTHORIZED, msgExpiredLogin, "nonce replayed")
		}
		return nil, err
	}
	return l, nil
}

// verify checks the signature with the platform's key named by kid.
func (t *Tool) verify(ctx context.Context, raw string, reg *Registration) (jwt.MapClaims, error) {
	var keyErr error
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithJSONNumber(), jwt.WithoutClaimsValidation())
	claims := jwt.MapClaims{}
	_, err := parser.ParseWithClaims(raw, claims, func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		if kid == "" || len(kid) > 256 {
			keyErr = refuse(examgate.EUNAUTHORIZED, msgBadToken, "id_token header has no kid")
			return nil, keyErr
		}
		var k *rsa.PublicKey
		k, keyErr = t.keys().Key(ctx, reg.JWKSURL, kid)
		if keyErr != nil {
			return nil, keyErr
		}
		return k, nil
	})
	switch {
	case err == nil:
		return claims, nil
	case keyErr != nil:
		return nil, keyErr
	case errors.Is(err, jwt.ErrTokenMalformed):
		return nil, refuse(examgate.EINVALID, msgBadToken, "id_token is not a JWT: %v", err)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return nil, refuse(examgate.EUNAUTHORIZED, msgBadToken, "id_token signature: %v", err)
	default:
		return nil, refuse(examgate.EUNAUTHORIZED, msgBadToken, "id_token: %v", err)
	}
}

func (t *Tool) keys() *JWKSCache {
	if t.Keys == nil {
		return sharedKeys
	}
	return t.Keys
}

// sharedKeys serves tools built without their own cache.
var sharedKeys = &JWKSCache{}

// check applies the LTI 1.3 rules to verified claims.
func (t *Tool) check(c jwt.MapClaims, reg *Registration, login *PendingLogin, now time.Time) (*Launch, error) {
	bad := func(format string, args ...any) error {
		return refuse(examgate.EUNAUTHORIZED, msgBadToken, format, args...)
	}
	if iss, _ := c["iss"].(string); iss != reg.Issuer {
		return nil, bad("iss %q is not the registered %q", truncate(iss, 200), reg.Issuer)
	}
	aud, ok := audience(c["aud"])
	if !ok || !contains(aud, reg.ClientID) {
		return nil, bad("aud %v does not contain client id %q", c["aud"], reg.ClientID)
	}
	azp, hasAzp := c["azp"].(string)
	if (len(aud) > 1 && !hasAzp) || (hasAzp && azp != reg.ClientID) {
		return nil, bad("azp %q is not the client id %q", azp, reg.ClientID)
	}
	exp, ok := numericTime(c["exp"])
	if !ok {
		return nil, bad("exp missing")
	}
	if now.After(exp.Add(t.leeway())) {
		return nil, refuse(examgate.EUNAUTHORIZED, msgExpiredLogin, "id_token expired at %s", exp.Format(time.RFC3339))
	}
	iat, ok := numericTime(c["iat"])
	if !ok {
		return nil, bad("iat missing")
	}
	if iat.After(now.Add(t.leeway())) {
		return nil, refuse(examgate.EUNAUTHORIZED, "The learning platform's clock is ahead of ours, so its sign-in is not valid yet. Wait a minute, then open the exam again from your course.", "iat %s in the future", iat.Format(time.RFC3339))
	}
	if nbf, ok := numericTime(c["nbf"]); ok && nbf.After(now.Add(t.leeway())) {
		return nil, bad("nbf %s in the future", nbf.Format(time.RFC3339))
	}
	if nonce, _ := c["nonce"].(string); nonce == "" || subtle.ConstantTimeCompare([]byte(nonce), []byte(login.Nonce)) != 1 {
		return nil, refuse(examgate.EUNAUTHORIZED, msgExpiredLogin, "nonce does not match the login")
	}
	mt, _ := c[ClaimMessageType].(string)
	if mt != MessageTypeResourceLink && mt != MessageTypeDeepLinking {
		return nil, refuse(examgate.EINVALID, msgWrongMessage, "message_type %q", truncate(mt, 100))
	}
	if v, _ := c[ClaimVersion].(string); v != Version {
		return nil, refuse(examgate.EINVALID, msgWrongMessage, "version %q, want %s", truncate(v, 100), Version)
	}
	dep, _ := c[ClaimDeploymentID].(string)
	if !reg.HasDeployment(dep) || (login.DeploymentID != "" && dep != login.DeploymentID) {
		return nil, refuse(examgate.EFORBIDDEN, msgBadDeployment, "deployment_id %q (login sent %q)", truncate(dep, 100), truncate(login.DeploymentID, 100))
	}
	rl, _ := c[ClaimResourceLink].(map[string]any)
	rlID, _ := rl["id"].(string)
	if mt == MessageTypeResourceLink && (rlID == "" || len(rlID) > 255) {
		return nil, refuse(examgate.EINVALID, msgNoResourceLink, "resource_link.id missing or too long")
	}
	sub, _ := c["sub"].(string)
	if sub == "" || len(sub) > 255 {
		return nil, refuse(examgate.EUNAUTHORIZED, msgNoUser, "sub missing or too long")
	}
	// LTI Core 1.3 (5.3.7) requires the roles claim: without it examgate
	// cannot tell a learner from an instructor previewing the activity.
	rawRoles, ok := c[ClaimRoles].([]any)
	if !ok || len(rawRoles) > 100 {
		return nil, refuse(examgate.EINVALID, msgNoRoles, "roles claim missing or not a list")
	}
	var roles []string
	for _, r := range rawRoles {
		if s, ok := r.(string); ok && len(s) <= 255 {
			roles = append(roles, s)
		}
	}
	l := &Launch{
		Issuer: reg.Issuer, ClientID: reg.ClientID, DeploymentID: dep, Subject: sub,
		ResourceLinkID: rlID, ExpiresAt: exp, Roles: roles, Audience: Audience(roles),
	}
	var err error
	if l.GivenName, err = optionalString(c, "given_name"); err != nil {
		return nil, err
	}
	if l.FamilyName, err = optionalString(c, "family_name"); err != nil {
		return nil, err
	}
	if l.Name, err = optionalString(c, "name"); err != nil {
		return nil, err
	}
	if l.Email, err = optionalString(c, "email"); err != nil {
		return nil, err
	}
	if l.Email != "" {
		a, err := mail.ParseAddress(l.Email)
		if err != nil || a.Address != l.Email || len(l.Email) > 254 {
			// An unusable address is dropped, not fatal: the learner can still sit the exam.
			l.Email = ""
		}
	}
	if l.GivenName == "" && l.FamilyName == "" && l.Name != "" {
		l.GivenName, l.FamilyName = splitName(l.Name)
	}
	if l.Custom, err = customClaims(c[ClaimCustom]); err != nil {
		return nil, err
	}
	// The exam and the course come from signed claims only: the login
	// initiation's target_link_uri is unsigned and the learner can edit it.
	if tl, ok := c[ClaimTargetLinkURI].(string); ok && tl != "" {
		if _, ours := isOurURL(t.BaseURL, tl); !ours {
			return nil, refuse(examgate.EINVALID, msgNotOurs, "target_link_uri claim %q is not ours", truncate(tl, 200))
		}
		if login.TargetLinkURI != "" && login.TargetLinkURI != tl {
			return nil, refuse(examgate.EINVALID, msgTargetMismatch, "target_link_uri claim %q differs from the login's %q", truncate(tl, 200), truncate(login.TargetLinkURI, 200))
		}
		l.TargetLinkURI = tl
	}
	if mt == MessageTypeDeepLinking {
		if l.DeepLinking, err = deepLinkingSettings(c[ClaimDeepLinkingSettings]); err != nil {
			return nil, err
		}
		return l, nil // no resource link, course or exam yet: the instructor picks one
	}
	l.Grades = gradeService(c[ClaimAGSEndpoint])
	if lp, ok := c[ClaimPresentation].(map[string]any); ok {
		if u, _ := lp["return_url"].(string); u != "" && checkPlatformURL(u) == nil {
			l.ReturnURL = u
		}
		if loc, _ := lp["locale"].(string); localeTag.MatchString(loc) {
			l.Locale = loc
		}
	}
	l.CourseID = CourseID(reg.CourseIDSource, l.Custom, dep, l.TargetLinkURI)
	if l.CourseID == "" {
		return nil, refuse(examgate.EINVALID, fmt.Sprintf("This course link does not carry the course id in %s, where examgate is set to find it. %s", courseIDPlace(reg.CourseIDSource), msgAskAdmin),
			"no course id in %s (courseIdSource of %s)", reg.CourseIDSource, reg.Issuer)
	}
	l.ExamCode = t.examCode(l.TargetLinkURI, l.Custom)
	if l.ExamCode == "" {
		return nil, refuse(examgate.EINVALID, msgNoExam, "no exam in the target_link_uri claim %q or custom exam_code", truncate(l.TargetLinkURI, 200))
	}
	return l, nil
}

// CourseID reads the course id from SkillsTown Inspire's four sources: the
// one source names (a Registration.CourseIDSource), or with source empty
// the first present of custom course_id, custom id, the deployment id and
// the target link. It returns "" when the chosen source is empty.
func CourseID(source string, custom map[string]string, deploymentID, targetLink string) string {
	values := map[string]string{
		CourseIDFromCustomCourseID: custom["course_id"], CourseIDFromCustomID: custom["id"],
		CourseIDFromDeployment: deploymentID, CourseIDFromTargetLink: targetLink,
	}
	if source != "" {
		return values[source]
	}
	for _, src := range CourseIDSources {
		if v := values[src]; v != "" {
			return v
		}
	}
	return ""
}

// courseIDPlace names a course id source for a learner's message.
func courseIDPlace(source string) string {
	switch source {
	case CourseIDFromCustomCourseID, CourseIDFromCustomID:
		return "the custom parameter " + source
	case CourseIDFromTargetLink:
		return "the target link"
	}
	return "the deployment id"
}

// examCode reads the exam from a target link /lti/exams/{code}, else from
// the custom exam_code.
func (t *Tool) examCode(targetLink string, custom map[string]string) string {
	if u, ok := isOurURL(t.BaseURL, targetLink); ok {
		p := strings.TrimPrefix(u.EscapedPath(), strings.TrimRight(t.BaseURL.EscapedPath(), "/"))
		if rest, ok := strings.CutPrefix(p, ExamTargetPath); ok && rest != "" && !strings.Contains(rest, "/") {
			if code, err := url.PathUnescape(rest); err == nil && len(code) <= 64 {
				return code
			}
		}
	}
	if code := custom["exam_code"]; len(code) <= 64 {
		return code
	}
	return ""
}

func audience(v any) ([]string, bool) {
	switch a := v.(type) {
	case string:
		return []string{a}, a != ""
	case []any:
		out := make([]string, 0, len(a))
		for _, x := range a {
			s, ok := x.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, len(out) > 0
	}
	return nil, false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func numericTime(v any) (time.Time, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || f < 0 || f > 1e11 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
}

func optionalString(c jwt.MapClaims, name string) (string, error) {
	v, ok := c[name]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok || len(s) > 256 || !utf8.ValidString(s) {
		return "", refuse(examgate.EINVALID, "Your name or email on the learning platform contains something we cannot accept. Ask your course administrator to check your profile.", "claim %s is not a short string", name)
	}
	return strings.TrimSpace(s), nil
}

// customClaims flattens the custom claim to text: platforms send numbers and
// booleans as JSON values, not strings. Nested values are ignored.
func customClaims(v any) (map[string]string, error) {
	out := map[string]string{}
	m, ok := v.(map[string]any)
	if !ok {
		return out, nil
	}
	if len(m) > 100 {
		return nil, refuse(examgate.EINVALID, msgAskAdmin, "custom claim has %d keys", len(m))
	}
	for k, x := range m {
		var s string
		switch x := x.(type) {
		case string:
			s = x
		case json.Number:
			s = x.String()
		case bool:
			s = strconv.FormatBool(x)
		default:
			continue
		}
		if len(s) > maxClaimBytes {
			return nil, refuse(examgate.EINVALID, "This course link carries a custom value that is too long. "+msgAskAdmin, "custom %s longer than %d bytes", truncate(k, 64), maxClaimBytes)
		}
		out[k] = s
	}
	return out, nil
}

func gradeService(v any) *GradeService {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	g := &GradeService{}
	g.LineItem, _ = m["lineitem"].(string)
	g.LineItems, _ = m["lineitems"].(string)
	if scopes, ok := m["scope"].([]any); ok {
		for _, s := range scopes {
			if s, ok := s.(string); ok {
				g.Scope = append(g.Scope, s)
			}
		}
	}
	// Scores go to this URL with the tool's token: only https (or loopback).
	for _, u := range []*string{&g.LineItem, &g.LineItems} {
		if *u != "" && checkPlatformURL(*u) != nil {
			*u = ""
		}
	}
	return g
}

func splitName(name string) (string, string) {
	first, last, _ := strings.Cut(strings.TrimSpace(name), " ")
	return first, strings.TrimSpace(last)
}
