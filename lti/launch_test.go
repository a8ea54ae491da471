package lti_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/lti"
	"github.com/examgate/examgate/lti/ltitest"
)

const toolBase = "https://exams.example.com"

type fixture struct {
	platform *ltitest.Platform
	tool     *lti.Tool
	store    *ltitest.MemoryStore
	now      time.Time
	// editLogin, when set, changes the login initiation on its way to the
	// tool, as a learner can: it is an unsigned browser request.
	editLogin func(*lti.LoginRequest)
}

func newFixture(t testing.TB) *fixture { return newFixtureWith(t, nil) }

// newFixtureWith registers the platform with edit applied to its
// registration.
func newFixtureWith(t testing.TB, edit func(*lti.Registration)) *fixture {
	t.Helper()
	f := &fixture{now: time.Now().UTC().Truncate(time.Second)}
	f.platform = ltitest.NewServer(t, "client-1", "dep-1")
	f.platform.Now = func() time.Time { return f.now }
	base, _ := url.Parse(toolBase)
	f.store = &ltitest.MemoryStore{}
	reg := f.platform.Registration()
	if edit != nil {
		edit(&reg)
	}
	f.store.AddRegistration(reg)
	clock := examgate.ClockFunc(func() time.Time { return f.now })
	f.tool = &lti.Tool{BaseURL: base, Registrations: f.store, Store: f.store, Clock: clock, Keys: &lti.JWKSCache{Clock: clock}}
	f.platform.ToolLoginURL = f.tool.LoginURL()
	f.platform.ToolRedirectURI = f.tool.RedirectURI()
	return f
}

var student = ltitest.User{Sub: "user-42", Email: "grace@example.com", GivenName: "Grace", FamilyName: "Hopper"}

func examLink(code string) ltitest.Link {
	return ltitest.Link{TargetLinkURI: toolBase + "/lti/exams/" + code, LineItem: "https://platform.example.com/lineitems/7/scores"}
}

// run performs a whole launch as a browser would: login initiation, the
// authorization request and the form_post back, returning the form posted.
func (f *fixture) run(t testing.TB, u ltitest.User, l ltitest.Link) (lti.LaunchRequest, error) {
	t.Helper()
	hint := f.platform.AddLaunch(u, l)
	v := f.platform.LoginParams(hint)
	req := &lti.LoginRequest{
		Issuer: v.Get("iss"), LoginHint: v.Get("login_hint"), TargetLinkURI: v.Get("target_link_uri"),
		LTIMessageHint: v.Get("lti_message_hint"), ClientID: v.Get("client_id"), DeploymentID: v.Get("lti_deployment_id"),
	}
	if f.editLogin != nil {
		f.editLogin(req)
	}
	login, err := f.tool.StartLogin(context.Background(), req)
	if err != nil {
		return lti.LaunchRequest{}, err
	}
	resp, err := http.Get(login.AuthURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("platform refused the authorization request: %d %s", resp.StatusCode, body)
	}
	action, form, err := ltitest.ParseForm(string(body))
	if err != nil {
		t.Fatal(err)
	}
	if action != f.tool.RedirectURI() {
		t.Fatalf("form_post to %q, want %q", action, f.tool.RedirectURI())
	}
	return lti.LaunchRequest{IDToken: form.Get("id_token"), State: form.Get("state"), Binding: login.Binding}, nil
}

func (f *fixture) launch(t testing.TB, u ltitest.User, l ltitest.Link) (*lti.Launch, error) {
	t.Helper()
	req, err := f.run(t, u, l)
	if err != nil {
		return nil, err
	}
	return f.tool.Launch(context.Background(), req)
}

func TestLoginRedirect(t *testing.T) {
	f := newFixture(t)
	hint := f.platform.AddLaunch(student, examLink("DEMO-101"))
	v := f.platform.LoginParams(hint)
	login, err := f.tool.StartLogin(context.Background(), &lti.LoginRequest{
		Issuer: v.Get("iss"), LoginHint: v.Get("login_hint"), TargetLinkURI: v.Get("target_link_uri"),
		LTIMessageHint: `{"course_id":"x","test":false}`, ClientID: "client-1", DeploymentID: "dep-1",
	})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(login.AuthURL)
	if got := u.Scheme + "://" + u.Host + u.Path; got != f.platform.Issuer+ltitest.AuthPath {
		t.Errorf("redirect to %s", got)
	}
	q := u.Query()
	want := map[string]string{
		"client_id": "client-1", "iss": f.platform.Issuer, "response_type": "id_token", "scope": "openid",
		"redirect_uri": toolBase + "/lti/launch", "login_hint": "user-42", "prompt": "none", "response_mode": "form_post",
		"lti_message_hint": `{"course_id":"x","test":false}`, "state": login.State,
	}
	for k, w := range want {
		if q.Get(k) != w {
			t.Errorf("%s = %q, want %q", k, q.Get(k), w)
		}
	}
	if len(q.Get("nonce")) < 32 || len(login.State) < 32 || q.Get("nonce") == login.State {
		t.Errorf("nonce %q and state %q must be long and distinct", q.Get("nonce"), login.State)
	}
	if len(q) != len(want)+1 {
		t.Errorf("extra parameters: %v", q)
	}
}

func TestLoginRefusals(t *testing.T) {
	f := newFixture(t)
	ok := lti.LoginRequest{Issuer: f.platform.Issuer, LoginHint: "u", TargetLinkURI: toolBase + "/lti/exams/X", ClientID: "client-1"}
	cases := map[string]struct {
		edit func(*lti.LoginRequest)
		code string
		msg  string
	}{
		"target elsewhere":   {func(r *lti.LoginRequest) { r.TargetLinkURI = "https://evil.example.com/lti/exams/X" }, examgate.EINVALID, "does not point to examgate"},
		"target other port":  {func(r *lti.LoginRequest) { r.TargetLinkURI = "https://exams.example.com:8443/x" }, examgate.EINVALID, "does not point to examgate"},
		"target relative":    {func(r *lti.LoginRequest) { r.TargetLinkURI = "//evil.example.com/" }, examgate.EINVALID, "does not point to examgate"},
		"unknown issuer":     {func(r *lti.LoginRequest) { r.Issuer = "https://other.example.com" }, examgate.EFORBIDDEN, "not registered"},
		"unknown client":     {func(r *lti.LoginRequest) { r.ClientID = "client-2" }, examgate.EFORBIDDEN, "not registered"},
		"unknown deployment": {func(r *lti.LoginRequest) { r.DeploymentID = "dep-9" }, examgate.EFORBIDDEN, "unknown deployment"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r := ok
			c.edit(&r)
			_, err := f.tool.StartLogin(context.Background(), &r)
			if examgate.ErrorCode(err) != c.code || !strings.Contains(examgate.ErrorMessage(err), c.msg) {
				t.Fatalf("got %v, want %s with %q", err, c.code, c.msg)
			}
		})
	}
	// Without client_id, the issuer's single registration is used.
	r := ok
	r.ClientID = ""
	if _, err := f.tool.StartLogin(context.Background(), &r); err != nil {
		t.Fatalf("login without client_id: %v", err)
	}
}

func TestValidLaunches(t *testing.T) {
	cases := map[string]struct {
		user                       ltitest.User
		link                       ltitest.Link
		email, first, last, course string
	}{
		"email and names":        {student, withCustom(examLink("DEMO-101"), map[string]any{"course_id": "C-77"}), "grace@example.com", "Grace", "Hopper", "C-77"},
		"no email, no names":     {ltitest.User{Sub: "anon-1"}, withCustom(examLink("DEMO-101"), map[string]any{"course_id": "C-77"}), "", "", "", "C-77"},
		"only full name":         {ltitest.User{Sub: "u2", Name: "Ada Lovelace"}, withCustom(examLink("DEMO-101"), map[string]any{"id": "C-8"}), "", "Ada", "Lovelace", "C-8"},
		"custom id as number":    {student, withCustom(examLink("DEMO-101"), map[string]any{"id": 12345}), "grace@example.com", "Grace", "Hopper", "12345"},
		"course from deployment": {student, examLink("DEMO-101"), "grace@example.com", "Grace", "Hopper", "dep-1"},
		"empty custom claim":     {student, ltitest.Link{TargetLinkURI: toolBase + "/lti/exams/DEMO-101", Custom: map[string]any{}}, "grace@example.com", "Grace", "Hopper", "dep-1"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			l, err := f.launch(t, c.user, c.link)
			if err != nil {
				t.Fatal(err)
			}
			if l.Email != c.email || l.GivenName != c.first || l.FamilyName != c.last || l.CourseID != c.course {
				t.Errorf("got email %q names %q %q course %q", l.Email, l.GivenName, l.FamilyName, l.CourseID)
			}
			if l.ExamCode != "DEMO-101" || l.Subject != c.user.Sub || l.Issuer != f.platform.Issuer || l.ClientID != "client-1" || l.DeploymentID != "dep-1" || l.ResourceLinkID != "rl-1" {
				t.Errorf("launch %+v", l)
			}
		})
	}
}

func TestCourseIDSources(t *testing.T) {
	// SkillsTown Inspire: custom course_id, else custom id, else the
	// deployment id, else the target link; or the one source the
	// registration names.
	const target = "https://exams.example.com/lti/provide/course/12345"
	all := map[string]string{"course_id": "A", "id": "B"}
	for _, c := range []struct {
		source           string
		custom           map[string]string
		deployment, want string
	}{
		{"", all, "D", "A"},
		{"", map[string]string{"id": "B"}, "D", "B"},
		{"", map[string]string{}, "D", "D"},
		{"", map[string]string{}, "", target},
		{"course_id", all, "D", "A"},
		{"id", all, "D", "B"},
		{"deployment_id", all, "D", "D"},
		{"target_link_uri", all, "D", target},
		{"id", map[string]string{"course_id": "A"}, "D", ""}, // the chosen source is missing
	} {
		if got := lti.CourseID(c.source, c.custom, c.deployment, target); got != c.want {
			t.Errorf("CourseID(%q, %v, %q) = %q, want %q", c.source, c.custom, c.deployment, got, c.want)
		}
	}
}

// Each course id source a platform admin can choose, in a valid launch that
// carries all four.
func TestCourseIDSourceLaunches(t *testing.T) {
	custom := map[string]any{"course_id": "C-77", "id": 4711, "exam_code": "DEMO-202"}
	courseLink := ltitest.Link{TargetLinkURI: toolBase + "/lti/provide/course/12345", Custom: custom}
	for _, c := range []struct{ source, want string }{
		{"", "C-77"},
		{lti.CourseIDFromCustomCourseID, "C-77"},
		{lti.CourseIDFromCustomID, "4711"},
		{lti.CourseIDFromDeployment, "dep-1"},
		{lti.CourseIDFromTargetLink, toolBase + "/lti/provide/course/12345"},
	} {
		t.Run("source "+c.source, func(t *testing.T) {
			f := newFixtureWith(t, func(r *lti.Registration) { r.CourseIDSource = c.source })
			l, err := f.launch(t, student, courseLink)
			if err != nil {
				t.Fatal(err)
			}
			if l.CourseID != c.want || l.ExamCode != "DEMO-202" {
				t.Errorf("course %q exam %q, want course %q", l.CourseID, l.ExamCode, c.want)
			}
		})
	}
	t.Run("chosen source missing", func(t *testing.T) {
		f := newFixtureWith(t, func(r *lti.Registration) { r.CourseIDSource = lti.CourseIDFromCustomID })
		_, err := f.launch(t, student, withCustom(examLink("DEMO-101"), map[string]any{"course_id": "C-77"}))
		if examgate.ErrorCode(err) != examgate.EINVALID || !strings.Contains(examgate.ErrorMessage(err), "custom parameter id") ||
			!strings.Contains(err.Error(), "no course id in id") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("target link claim missing", func(t *testing.T) {
		f := newFixtureWith(t, func(r *lti.Registration) { r.CourseIDSource = lti.CourseIDFromTargetLink })
		f.platform.Tamper = func(c, h map[string]any) { delete(c, lti.ClaimTargetLinkURI) }
		_, err := f.launch(t, student, courseLink)
		if examgate.ErrorCode(err) != examgate.EINVALID || !strings.Contains(examgate.ErrorMessage(err), "target link") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestLaunchExtras(t *testing.T) {
	f := newFixture(t)
	// Exam from custom exam_code when the target link is not an exam link,
	// AGS endpoint, aud array with azp,
	// login without lti_deployment_id.
	link := ltitest.Link{TargetLinkURI: toolBase + "/lti/provide/course/12345", Custom: map[string]any{"exam_code": "DEMO-202"},
		LineItem: "https://platform.example.com/lineitems/7", SendDeploymentClaimOnly: true}
	f.platform.Tamper = func(c, h map[string]any) {
		c["aud"] = []string{"client-1", "other"}
		c["azp"] = "client-1"
		delete(c, lti.ClaimDeploymentID)
		c[lti.ClaimDeploymentID] = "dep-1"
	}
	l, err := f.launch(t, student, link)
	if err != nil {
		t.Fatal(err)
	}
	if l.ExamCode != "DEMO-202" || l.CourseID != "dep-1" {
		t.Errorf("exam %q course %q", l.ExamCode, l.CourseID)
	}
	if !l.Grades.CanPostScores() || l.Grades.LineItem != "https://platform.example.com/lineitems/7" {
		t.Errorf("grades %+v", l.Grades)
	}
}

func TestKeyRotation(t *testing.T) {
	f := newFixture(t)
	if _, err := f.launch(t, student, examLink("DEMO-101")); err != nil {
		t.Fatal(err)
	}
	f.platform.Rotate()
	f.platform.RetireOldKeys()
	// The new kid is unknown to the cached set: it is fetched again once.
	f.now = f.now.Add(time.Minute)
	if _, err := f.launch(t, student, examLink("DEMO-101")); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
}

func TestUnknownKidRefetchIsBounded(t *testing.T) {
	f := newFixture(t)
	if _, err := f.launch(t, student, examLink("DEMO-101")); err != nil {
		t.Fatal(err)
	}
	f.platform.Rotate()
	// Within seconds of the last fetch an unknown kid is refused without
	// asking the platform again; once the pause has passed it is fetched.
	_, err := f.launch(t, student, examLink("DEMO-101"))
	if examgate.ErrorCode(err) != examgate.EUNAUTHORIZED {
		t.Fatalf("got %v", err)
	}
	f.now = f.now.Add(11 * time.Second)
	if _, err := f.launch(t, student, examLink("DEMO-101")); err != nil {
		t.Fatal(err)
	}
}

func withCustom(l ltitest.Link, c map[string]any) ltitest.Link {
	l.Custom = c
	return l
}

func TestBadLaunches(t *testing.T) {
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	type setup func(f *fixture)
	tamper := func(fn func(c, h map[string]any, f *fixture)) setup {
		return func(f *fixture) { f.platform.Tamper = func(c, h map[string]any) { fn(c, h, f) } }
	}
	cases := map[string]struct {
		setup setup
		code  string
		msg   string // part of the learner's message
		why   string // part of the internal reason, for the logs
	}{
		"no kid":          {tamper(func(c, h map[string]any, _ *fixture) { delete(h, "kid") }), examgate.EUNAUTHORIZED, "could not be verified", "header has no kid"},
		"unknown kid":     {tamper(func(c, h map[string]any, _ *fixture) { h["kid"] = "nope" }), examgate.EUNAUTHORIZED, "could not be verified", `no key with kid "nope"`},
		"wrong signature": {func(f *fixture) { f.platform.SignWith = otherKey }, examgate.EUNAUTHORIZED, "could not be verified", "verification error"},
		"HS256":           {tamper(func(c, h map[string]any, _ *fixture) { h["alg"] = "HS256" }), examgate.EUNAUTHORIZED, "could not be verified", "signing method HS256 is invalid"},
		"alg none": {func(f *fixture) {
			f.platform.RawToken = func(s string) string {
				parts := strings.Split(s, ".")
				return "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + "."
			}
		}, examgate.EUNAUTHORIZED, "could not be verified", "signing method none is invalid"},
		"not a JWT":                     {func(f *fixture) { f.platform.RawToken = func(string) string { return "this-is-not-a-jwt" } }, examgate.EINVALID, "could not be verified", "is not a JWT"},
		"wrong version":                 {tamper(func(c, h map[string]any, _ *fixture) { c[lti.ClaimVersion] = "1.1.0" }), examgate.EINVALID, "not supported", `version "1.1.0"`},
		"missing version":               {tamper(func(c, h map[string]any, _ *fixture) { delete(c, lti.ClaimVersion) }), examgate.EINVALID, "not supported", `version ""`},
		"missing message_type":          {tamper(func(c, h map[string]any, _ *fixture) { delete(c, lti.ClaimMessageType) }), examgate.EINVALID, "not supported", `message_type ""`},
		"other message type":            {tamper(func(c, h map[string]any, _ *fixture) { c[lti.ClaimMessageType] = "LtiSubmissionReviewRequest" }), examgate.EINVALID, "not supported", `message_type "LtiSubmissionReviewRequest"`},
		"deep linking without settings": {tamper(func(c, h map[string]any, _ *fixture) { c[lti.ClaimMessageType] = "LtiDeepLinkingRequest" }), examgate.EINVALID, "did not say where to send", "without deep_linking_settings"},
		"missing deployment_id":         {tamper(func(c, h map[string]any, _ *fixture) { delete(c, lti.ClaimDeploymentID) }), examgate.EFORBIDDEN, "unknown deployment", `deployment_id ""`},
		"deployment not the login's":    {tamper(func(c, h map[string]any, _ *fixture) { c[lti.ClaimDeploymentID] = "dep-2" }), examgate.EFORBIDDEN, "unknown deployment", `deployment_id "dep-2" (login sent "dep-1")`},
		"missing resource_link.id":      {tamper(func(c, h map[string]any, _ *fixture) { c[lti.ClaimResourceLink] = map[string]any{"title": "x"} }), examgate.EINVALID, "which activity", "resource_link.id missing"},
		"missing sub":                   {tamper(func(c, h map[string]any, _ *fixture) { delete(c, "sub") }), examgate.EUNAUTHORIZED, "did not say who you are", "sub missing"},
		"empty sub":                     {tamper(func(c, h map[string]any, _ *fixture) { c["sub"] = "" }), examgate.EUNAUTHORIZED, "did not say who you are", "sub missing"},
		"expired": {tamper(func(c, h map[string]any, f *fixture) {
			c["exp"] = f.now.Add(-5 * time.Minute).Unix()
			c["iat"] = f.now.Add(-10 * time.Minute).Unix()
		}), examgate.EUNAUTHORIZED, "expired", "id_token expired at"},
		"missing exp": {tamper(func(c, h map[string]any, _ *fixture) { delete(c, "exp") }), examgate.EUNAUTHORIZED, "could not be verified", "exp missing"},
		"iat in the future": {tamper(func(c, h map[string]any, f *fixture) {
			c["iat"] = f.now.Add(10 * time.Minute).Unix()
			c["exp"] = f.now.Add(20 * time.Minute).Unix()
		}), examgate.EUNAUTHORIZED, "clock is ahead", "in the future"},
		"wrong aud":             {tamper(func(c, h map[string]any, _ *fixture) { c["aud"] = "client-2" }), examgate.EUNAUTHORIZED, "could not be verified", "does not contain client id"},
		"aud array without us":  {tamper(func(c, h map[string]any, _ *fixture) { c["aud"] = []string{"a", "b"} }), examgate.EUNAUTHORIZED, "could not be verified", "does not contain client id"},
		"aud array without azp": {tamper(func(c, h map[string]any, _ *fixture) { c["aud"] = []string{"client-1", "b"} }), examgate.EUNAUTHORIZED, "could not be verified", `azp "" is not the client id`},
		"wrong azp":             {tamper(func(c, h map[string]any, _ *fixture) { c["azp"] = "b" }), examgate.EUNAUTHORIZED, "could not be verified", `azp "b" is not the client id`},
		"wrong iss":             {tamper(func(c, h map[string]any, _ *fixture) { c["iss"] = "https://evil.example.com" }), examgate.EUNAUTHORIZED, "could not be verified", `iss "https://evil.example.com" is not the registered`},
		"wrong nonce":           {tamper(func(c, h map[string]any, _ *fixture) { c["nonce"] = "another" }), examgate.EUNAUTHORIZED, "expired or was already used", "nonce does not match the login"},
		"target link elsewhere": {tamper(func(c, h map[string]any, _ *fixture) { c[lti.ClaimTargetLinkURI] = "https://evil.example.com/" }), examgate.EINVALID, "does not point to examgate", "target_link_uri claim \"https://evil.example.com/\" is not ours"},
		"no exam": {func(f *fixture) {
			f.platform.Tamper = func(c, h map[string]any) { c[lti.ClaimTargetLinkURI] = toolBase + "/lti/other" }
			f.editLogin = func(r *lti.LoginRequest) { r.TargetLinkURI = toolBase + "/lti/other" }
		}, examgate.EINVALID, "which exam", "no exam in the target_link_uri claim"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			c.setup(f)
			_, err := f.launch(t, student, examLink("DEMO-101"))
			if examgate.ErrorCode(err) != c.code || !strings.Contains(examgate.ErrorMessage(err), c.msg) || !strings.Contains(err.Error(), c.why) {
				t.Fatalf("got %v, want %s with %q because %q", err, c.code, c.msg, c.why)
			}
		})
	}
}

func TestStateAndNonce(t *testing.T) {
	ctx := context.Background()
	t.Run("replayed launch", func(t *testing.T) {
		f := newFixture(t)
		req, err := f.run(t, student, examLink("DEMO-101"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.tool.Launch(ctx, req); err != nil {
			t.Fatal(err)
		}
		_, err = f.tool.Launch(ctx, req)
		if examgate.ErrorCode(err) != examgate.EUNAUTHORIZED || !strings.Contains(examgate.ErrorMessage(err), "already used") {
			t.Fatalf("replay: %v", err)
		}
	})
	t.Run("token replayed with a new login", func(t *testing.T) {
		f := newFixture(t)
		first, err := f.run(t, student, examLink("DEMO-101"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.tool.Launch(ctx, first); err != nil {
			t.Fatal(err)
		}
		second, err := f.run(t, student, examLink("DEMO-101"))
		if err != nil {
			t.Fatal(err)
		}
		second.IDToken = first.IDToken // its nonce belongs to the first login
		if _, err := f.tool.Launch(ctx, second); examgate.ErrorCode(err) != examgate.EUNAUTHORIZED {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("missing state", func(t *testing.T) {
		f := newFixture(t)
		req, _ := f.run(t, student, examLink("DEMO-101"))
		req.State = ""
		if _, err := f.tool.Launch(ctx, req); examgate.ErrorCode(err) != examgate.EUNAUTHORIZED {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("unknown state", func(t *testing.T) {
		f := newFixture(t)
		req, _ := f.run(t, student, examLink("DEMO-101"))
		req.State = "made-up-state"
		if _, err := f.tool.Launch(ctx, req); examgate.ErrorCode(err) != examgate.EUNAUTHORIZED {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("state from another browser", func(t *testing.T) {
		f := newFixture(t)
		req, _ := f.run(t, student, examLink("DEMO-101"))
		req.Binding = "another-browser"
		_, err := f.tool.Launch(ctx, req)
		if examgate.ErrorCode(err) != examgate.EUNAUTHORIZED || !strings.Contains(examgate.ErrorMessage(err), "another browser window") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("expired login", func(t *testing.T) {
		f := newFixture(t)
		req, _ := f.run(t, student, examLink("DEMO-101"))
		f.now = f.now.Add(lti.LoginLifetime + time.Second)
		if _, err := f.tool.Launch(ctx, req); examgate.ErrorCode(err) != examgate.EUNAUTHORIZED {
			t.Fatalf("got %v", err)
		}
	})
}

func TestRegistrationValidate(t *testing.T) {
	ok := lti.Registration{Issuer: "https://p.example.com", ClientID: "c", DeploymentIDs: []string{"d"},
		AuthURL: "https://p.example.com/auth", TokenURL: "https://p.example.com/token", JWKSURL: "https://p.example.com/jwks"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := ok
	bad.JWKSURL = "http://p.example.com/jwks"
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "jwksUrl") {
		t.Errorf("plain http accepted: %v", err)
	}
	bad = ok
	bad.DeploymentIDs = nil
	if err := bad.Validate(); err == nil {
		t.Error("no deployments accepted")
	}
	for _, src := range append([]string{""}, lti.CourseIDSources...) {
		good := ok
		good.CourseIDSource = src
		if err := good.Validate(); err != nil {
			t.Errorf("courseIdSource %q: %v", src, err)
		}
	}
	bad = ok
	bad.CourseIDSource = "context_id"
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "courseIdSource") {
		t.Errorf("unknown courseIdSource accepted: %v", err)
	}
}

// The exam comes from signed claims only: a learner who edits the unsigned
// login initiation must not reach another exam.
func TestExamFromSignedClaimsOnly(t *testing.T) {
	secret := toolBase + "/lti/exams/SECRET-9"
	t.Run("login edited, claim present", func(t *testing.T) {
		f := newFixture(t)
		f.editLogin = func(r *lti.LoginRequest) { r.TargetLinkURI = secret }
		_, err := f.launch(t, student, examLink("DEMO-101"))
		if examgate.ErrorCode(err) != examgate.EINVALID || !strings.Contains(examgate.ErrorMessage(err), "was changed") ||
			!strings.Contains(err.Error(), "differs from the login's") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("claim differs from the login", func(t *testing.T) {
		f := newFixture(t)
		f.platform.Tamper = func(c, h map[string]any) { c[lti.ClaimTargetLinkURI] = toolBase + "/lti/exams/DEMO-202" }
		_, err := f.launch(t, student, examLink("DEMO-101"))
		if examgate.ErrorCode(err) != examgate.EINVALID || !strings.Contains(err.Error(), "differs from the login's") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("claim absent, login edited, no exam_code", func(t *testing.T) {
		f := newFixture(t)
		f.platform.Tamper = func(c, h map[string]any) { delete(c, lti.ClaimTargetLinkURI) }
		f.editLogin = func(r *lti.LoginRequest) { r.TargetLinkURI = secret }
		_, err := f.launch(t, student, withCustom(examLink("DEMO-101"), map[string]any{"course_id": "C-1"}))
		if examgate.ErrorCode(err) != examgate.EINVALID || !strings.Contains(examgate.ErrorMessage(err), "which exam") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("claim absent, login edited, exam_code signed", func(t *testing.T) {
		f := newFixture(t)
		f.platform.Tamper = func(c, h map[string]any) { delete(c, lti.ClaimTargetLinkURI) }
		f.editLogin = func(r *lti.LoginRequest) { r.TargetLinkURI = secret }
		l, err := f.launch(t, student, withCustom(examLink("DEMO-101"), map[string]any{"exam_code": "DEMO-202"}))
		if err != nil {
			t.Fatal(err)
		}
		if l.ExamCode != "DEMO-202" || l.TargetLinkURI != "" {
			t.Fatalf("exam %q target %q, want the signed exam_code and no target link", l.ExamCode, l.TargetLinkURI)
		}
	})
}
