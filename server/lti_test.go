package server_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
	"github.com/examgate/examgate/lti"
	"github.com/examgate/examgate/lti/ltitest"
	"github.com/examgate/examgate/server"
)

// ltiEnv is examgate serving LTI launches from a fake platform.
type ltiEnv struct {
	t        *testing.T
	store    *db.DB
	platform *ltitest.Platform
	url      string
	now      time.Time
	lastPost url.Values  // the platform's last form_post to examgate
	logs     *syncBuffer // examgate's log
}

func newLTIEnv(t *testing.T, store *db.DB) *ltiEnv {
	t.Helper()
	return newLTIEnvWith(t, store, nil)
}

// newLTIEnvWith is newLTIEnv with set, when not nil, adjusting the
// server's Deps first.
func newLTIEnvWith(t *testing.T, store *db.DB, set func(*server.Deps)) *ltiEnv {
	t.Helper()
	e := &ltiEnv{t: t, store: store, now: time.Now().UTC().Truncate(time.Second), logs: &syncBuffer{}}
	catalog, err := examgate.ParseCatalog([]byte(catalogYAML))
	if err != nil {
		t.Fatal(err)
	}
	var handler http.Handler
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(hs.Close)
	e.url = hs.URL
	base, _ := url.Parse(hs.URL)
	clock := examgate.ClockFunc(func() time.Time { return e.now })
	logger := slog.New(slog.NewTextHandler(e.logs, nil))

	e.platform = ltitest.NewServer(t, "examgate-client", "dep-1")
	e.platform.Now = func() time.Time { return e.now }
	e.platform.ToolLoginURL = hs.URL + "/lti/login"
	e.platform.ToolRedirectURI = hs.URL + "/lti/launch"
	e.platform.ToolJWKSURL = hs.URL + "/lti/jwks"
	reg := e.platform.Registration()
	if err := store.SaveRegistration(context.Background(), &reg, e.now); err != nil {
		t.Fatal(err)
	}
	tool := &lti.Tool{BaseURL: base, Registrations: store, Store: store, Clock: clock, Keys: &lti.JWKSCache{Clock: clock}}
	attempts := &examgate.Attempts{Store: store, Catalog: catalog, Clock: clock, Logger: logger, LTI: store}
	deps := server.Deps{
		BaseURL: base, Store: store, Catalog: catalog, Clock: clock, Logger: logger,
		Attempts: attempts, Bookings: &examgate.Bookings{Store: store, Catalog: catalog, Clock: clock, Attempts: attempts},
		LTITool: tool, LTILaunch: &examgate.LTILauncher{Store: store, Catalog: catalog, Clock: clock, Logger: logger},
	}
	if set != nil {
		set(&deps)
	}
	handler = server.New(deps)
	return e
}

// browser is a cookie-keeping client that stops at the dashboard.
func (e *ltiEnv) browser(cookies bool) *http.Client {
	c := &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.Path, "/exams/") {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	if cookies {
		c.Jar, _ = cookiejar.New(nil)
	}
	return c
}

type page struct {
	status   int
	body     string
	location string
	header   http.Header
}

func do(t *testing.T, c *http.Client, req *http.Request) page {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, body: string(b), location: resp.Header.Get("Location"), header: resp.Header}
}

func postForm(t *testing.T, c *http.Client, action string, v url.Values, header ...string) page {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, action, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, c, req)
}

// submit posts a page's auto-submitting form as the browser would.
func submit(t *testing.T, c *http.Client, p page, header ...string) page {
	t.Helper()
	if p.status != http.StatusOK {
		t.Fatalf("status %d: %s", p.status, p.body)
	}
	action, v, err := ltitest.ParseForm(p.body)
	if err != nil {
		t.Fatal(err)
	}
	return postForm(t, c, action, v, header...)
}

// launch runs the whole flow: the platform's start page posts the login
// initiation, examgate redirects to the platform's authorization endpoint,
// which posts the id_token back. It returns examgate's answer to that post.
func (e *ltiEnv) launch(c *http.Client, u ltitest.User, l ltitest.Link, header ...string) page {
	e.t.Helper()
	hint := e.platform.AddLaunch(u, l)
	start := do(e.t, c, mustGet(e.platform.Issuer+ltitest.StartPath+"?hint="+hint))
	authPage := submit(e.t, c, start) // login initiation, redirect followed to the platform
	_, e.lastPost, _ = ltitest.ParseForm(authPage.body)
	return submit(e.t, c, authPage, header...)
}

func mustGet(u string) *http.Request {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return req
}

func (e *ltiEnv) link(code string) ltitest.Link {
	return ltitest.Link{TargetLinkURI: e.url + "/lti/exams/" + code, Custom: map[string]any{"course_id": 4711},
		LineItem: e.platform.Issuer + "/lineitems/1/scores"}
}

func (e *ltiEnv) me(c *http.Client) map[string]string {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.url+"/graphql", strings.NewReader(`{"query":"{ me { email firstName lastName locale } }"}`))
	req.Header.Set("Content-Type", "application/json")
	p := do(e.t, c, req)
	var out struct {
		Data struct{ Me map[string]string } `json:"data"`
	}
	if err := json.Unmarshal([]byte(p.body), &out); err != nil {
		e.t.Fatalf("%s: %v", p.body, err)
	}
	return out.Data.Me
}

var ltiGrace = ltitest.User{Sub: "st-123", Email: "grace@example.com", GivenName: "Grace", FamilyName: "Hopper"}

func TestLTILaunchIntoDashboard(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		e := newLTIEnv(t, store)
		c := e.browser(true)
		p := e.launch(c, ltiGrace, e.link("DEMO-101"))
		if p.status != http.StatusSeeOther || p.location != "/exams/DEMO-101" {
			t.Fatalf("launch answered %d %s: %s", p.status, p.location, p.body)
		}
		if me := e.me(c); me["email"] != "grace@example.com" || me["firstName"] != "Grace" {
			t.Errorf("signed in as %v", me)
		}
		cand, err := store.CandidateByEmail(context.Background(), "grace@example.com")
		if err != nil {
			t.Fatal(err)
		}
		elig, err := store.Eligibility(context.Background(), cand.ID, "DEMO-101")
		if err != nil || elig.CourseID != "4711" || !elig.EndsAt.Equal(e.now.AddDate(0, 0, 90)) {
			t.Errorf("eligibility %+v %v", elig, err)
		}
		lc, err := store.LTIContext(context.Background(), cand.ID, "DEMO-101")
		if err != nil || lc.LineItemURL != e.platform.Issuer+"/lineitems/1/scores" || lc.Subject != "st-123" {
			t.Errorf("context %+v %v", lc, err)
		}
		// "Back to your course" does not send an LTI learner to TI.
		back := do(t, c, mustGet(e.url+"/exams/DEMO-101/course"))
		if back.status != http.StatusNotFound || !strings.Contains(back.body, "go back to your course in the tab or window you came from") {
			t.Errorf("back to course: %d %s", back.status, back.body)
		}
		// The state cookie is spent.
		for _, ck := range c.Jar.Cookies(mustGet(e.url + "/lti/launch").URL) {
			if strings.HasPrefix(ck.Name, "lti_state_") {
				t.Errorf("state cookie left: %s", ck.Name)
			}
		}
		// Replaying the platform's post is refused, even with a fresh cookie
		// for its state.
		u, _ := url.Parse(e.url + "/lti/")
		c.Jar.SetCookies(u, []*http.Cookie{{Name: lti.StateCookieName(e.lastPost.Get("state")), Value: "anything", Path: "/lti/"}})
		replay := postForm(t, c, e.url+"/lti/launch", e.lastPost)
		if replay.status != http.StatusUnauthorized || !strings.Contains(replay.body, "already used") {
			t.Errorf("replay answered %d: %s", replay.status, replay.body)
		}
	})
}

// Course staff get a preview that stores nothing; learners, including a
// learner who is also staff of the institution, get the dashboard; a launch
// without roles is refused.
func TestLTIRoles(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		e := newLTIEnv(t, store)
		count := func() (n int) {
			for _, table := range []string{"candidates", "eligibilities", "sessions", "lti_identities", "jobs"} {
				var k int
				if err := store.Bun().QueryRow("SELECT count(*) FROM " + table).Scan(&k); err != nil {
					t.Fatal(err)
				}
				n += k
			}
			return n
		}
		for _, roles := range [][]string{
			{ltitest.RoleInstructor},
			{ltitest.RoleTeachingAssistant},
			{ltitest.RoleContentDeveloper, ltitest.RoleLearner},
			{"Instructor"},
			{ltitest.RoleAdministrator},
		} {
			link := e.link("DEMO-101")
			link.Roles = roles
			link.ReturnURL = e.platform.Issuer + "/course"
			p := e.launch(e.browser(true), ltiGrace, link)
			if p.status != http.StatusOK || !strings.Contains(p.body, "Preview for course staff") || !strings.Contains(p.body, "Demo Certification Exam") ||
				!strings.Contains(p.body, "Back to the course") || !strings.Contains(p.header.Get("Content-Security-Policy"), "frame-ancestors") {
				t.Fatalf("roles %v: %d\n%s", roles, p.status, p.body)
			}
			if n := count(); n != 0 {
				t.Fatalf("roles %v: a preview stored %d rows", roles, n)
			}
		}
		if !strings.Contains(e.logs.String(), "lti preview") {
			t.Fatalf("previews are not logged:\n%s", e.logs.String())
		}

		// Staff can try an exam: answered and scored, recorded nowhere.
		quiz := e.link("QUIZ-1")
		quiz.Roles = []string{ltitest.RoleInstructor}
		pv := e.launch(e.browser(true), ltiGrace, quiz)
		if pv.status != http.StatusOK || !strings.Contains(pv.body, "Try the exam") || !strings.Contains(pv.body, "Ice is <strong>cold</strong>.") ||
			strings.Contains(pv.body, `correct`) {
			t.Fatalf("preview of an exam with questions: %d\n%s", pv.status, pv.body)
		}
		m := regexp.MustCompile(`name="grant" value="([^"]+)"`).FindStringSubmatch(pv.body)
		if m == nil {
			t.Fatalf("no grant in %s", pv.body)
		}
		grant := htmlUnescape(m[1])
		answers := url.Values{"grant": {grant}, "item.q1": {"true"}, "item.q2": {"a"}}
		scored := postForm(t, e.browser(false), e.url+"/lti/preview", answers)
		if scored.status != http.StatusOK || !strings.Contains(scored.body, "50% (1 of 2 points, 2 questions answered): passed") {
			t.Fatalf("preview score: %d\n%s", scored.status, scored.body)
		}
		if n := count(); n != 0 {
			t.Fatalf("a preview try stored %d rows", n)
		}
		answers.Set("grant", grant[:len(grant)-4]+"AAAA")
		if bad := postForm(t, e.browser(false), e.url+"/lti/preview", answers); bad.status != http.StatusUnauthorized {
			t.Fatalf("forged grant: %d %s", bad.status, bad.body)
		}

		link := e.link("DEMO-101")
		link.NoRoles = true
		p := e.launch(e.browser(true), ltiGrace, link)
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, "did not say what your role") || count() != 0 {
			t.Fatalf("no roles: %d\n%s", p.status, p.body)
		}

		link.NoRoles, link.Roles = false, []string{ltitest.RoleLearner, ltitest.RoleAdministrator}
		if p := e.launch(e.browser(true), ltiGrace, link); p.status != http.StatusSeeOther || p.location != "/exams/DEMO-101" {
			t.Fatalf("learner who is an institution administrator: %d %s", p.status, p.body)
		}
	})
}

func TestLTIValidLaunchesOverHTTP(t *testing.T) {
	e := newLTIEnv(t, dbtest.OpenSQLite(t))
	// Without email or names, the learner still reaches the dashboard.
	c := e.browser(true)
	if p := e.launch(c, ltitest.User{Sub: "anon-7"}, e.link("DEMO-101")); p.status != http.StatusSeeOther {
		t.Fatalf("anonymous launch %d: %s", p.status, p.body)
	}
	if me := e.me(c); me == nil || me["email"] != "" {
		t.Errorf("anonymous learner %v", me)
	}
	// Key rotation at the platform.
	e.platform.Rotate()
	e.platform.RetireOldKeys()
	e.now = e.now.Add(time.Minute)
	if p := e.launch(e.browser(true), ltiGrace, e.link("DEMO-101")); p.status != http.StatusSeeOther {
		t.Fatalf("launch after key rotation %d: %s", p.status, p.body)
	}
	// The platform's return URL is where "Back to your course" goes.
	back := e.link("DEMO-101")
	back.ReturnURL = "https://platform.example.com/course/7"
	rc := e.browser(true)
	if p := e.launch(rc, ltitest.User{Sub: "returning"}, back); p.status != http.StatusSeeOther {
		t.Fatalf("launch with return URL %d: %s", p.status, p.body)
	}
	noFollow := *rc
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if p := do(t, &noFollow, mustGet(e.url+"/exams/DEMO-101/course")); p.status != http.StatusSeeOther || p.location != "https://platform.example.com/course/7" {
		t.Errorf("back to course: %d %q", p.status, p.location)
	}
	// Exam from custom exam_code, course from the deployment.
	link := ltitest.Link{TargetLinkURI: e.url + "/lti/provide/course/12345", Custom: map[string]any{"exam_code": "OTHER-1"}}
	if p := e.launch(e.browser(true), ltiGrace, link); p.location != "/exams/OTHER-1" {
		t.Fatalf("custom exam_code launch %d %s: %s", p.status, p.location, p.body)
	}
}

// The platform's launch_presentation.locale is the learner's language: kept
// when a later launch says none, replaced when it says another, and a
// malformed one is ignored.
func TestLTILaunchLocale(t *testing.T) {
	e := newLTIEnv(t, dbtest.OpenSQLite(t))
	link := e.link("DEMO-101")
	for _, step := range []struct{ sent, want string }{
		{"nl-NL", "nl-NL"},
		{"", "nl-NL"},
		{"<script>", "nl-NL"},
		{"en_US", "en_US"},
	} {
		link.Locale = step.sent
		c := e.browser(true)
		if p := e.launch(c, ltiGrace, link); p.status != http.StatusSeeOther {
			t.Fatalf("launch with locale %q: %d %s", step.sent, p.status, p.body)
		}
		if got := e.me(c)["locale"]; got != step.want {
			t.Errorf("after a launch with locale %q: me.locale %q, want %q", step.sent, got, step.want)
		}
	}
}

// A platform that refuses the authorization request posts an OpenID
// Connect error back; the learner is told what it said and whom to ask,
// and the log names the platform.
func TestLTIPlatformErrorPage(t *testing.T) {
	e := newLTIEnv(t, dbtest.OpenSQLite(t))
	e.platform.AuthError, e.platform.AuthErrorDescription = "unauthorized_client", "Tool disabled in this course"
	p := e.launch(e.browser(true), ltiGrace, e.link("DEMO-101"))
	if p.status != http.StatusForbidden || !strings.Contains(p.body, "unauthorized_client: Tool disabled in this course") || !strings.Contains(p.body, "course administrator") {
		t.Fatalf("got %d:\n%s", p.status, p.body)
	}
	logged := e.logs.String()
	if !strings.Contains(logged, "lti platform refused the login") || !strings.Contains(logged, e.platform.Issuer) || !strings.Contains(logged, "error=unauthorized_client") {
		t.Fatalf("log lacks the platform and its error:\n%s", logged)
	}
	// A forged error post cannot smuggle markup or control characters.
	p = postForm(t, e.browser(true), e.url+"/lti/launch", url.Values{"error": {"<b>x</b>\r\nX: y"}, "error_description": {strings.Repeat("d", 5000)}})
	if p.status != http.StatusForbidden || strings.Contains(p.body, "<b>x</b>") || strings.Contains(p.body, strings.Repeat("d", 400)) {
		t.Fatalf("forged error page: %d\n%s", p.status, p.body)
	}
}

// An instructor adding examgate in the platform's activity picker sees the
// catalog, picks an exam, and the platform receives a signed Deep Linking
// response it accepts; Cancel sends none, and a picker that takes no
// resource links gets an error message.
func TestLTIDeepLinking(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		e := newLTIEnv(t, store)
		link := ltitest.Link{TargetLinkURI: e.url + "/lti/launch", DeepLinking: true, Roles: []string{ltitest.RoleInstructor}}
		picker := e.launch(e.browser(true), ltiGrace, link)
		if picker.status != http.StatusOK || !strings.Contains(picker.body, "Add an exam from examgate") ||
			!strings.Contains(picker.body, "Demo Certification Exam") || !strings.Contains(picker.header.Get("Content-Security-Policy"), "form-action 'self' "+e.platform.Issuer) {
			t.Fatalf("picker: %d %v\n%s", picker.status, picker.header, picker.body)
		}
		// The first form adds the first exam of the catalog.
		action, form, err := ltitest.ParseForm(picker.body)
		if err != nil || action != e.platform.Issuer+ltitest.DeepLinkReturnPath {
			t.Fatalf("form to %q: %v", action, err)
		}
		if p := postForm(t, e.browser(false), action, form); p.status != http.StatusOK || !strings.Contains(p.body, "Activity added") {
			t.Fatalf("platform answered %d: %s", p.status, p.body)
		}
		got := e.platform.DeepLinkResponses()
		if len(got) != 1 || !got[0].Valid || len(got[0].ContentItems) != 1 {
			t.Fatalf("responses %+v", got)
		}
		item := got[0].ContentItems[0]
		custom, _ := item["custom"].(map[string]any)
		li, _ := item["lineItem"].(map[string]any)
		if item["url"] != e.url+"/lti/exams/DEMO-101" || custom["exam_code"] != "DEMO-101" || li["resourceId"] != "DEMO-101" || li["scoreMaximum"] == nil {
			t.Fatalf("content item %v", item)
		}
		var n int
		if err := store.Bun().QueryRow("SELECT count(*) FROM candidates").Scan(&n); err != nil || n != 0 {
			t.Fatalf("the picker stored %d candidates", n)
		}

		// Cancel: the last form of the page, with no items.
		forms := regexp.MustCompile(`(?s)<form method="post" action="[^"]*"><input type="hidden" name="JWT" value="([^"]*)">`).FindAllStringSubmatch(picker.body, -1)
		cancel := url.Values{"JWT": {htmlUnescape(forms[len(forms)-1][1])}}
		if p := postForm(t, e.browser(false), action, cancel); p.status != http.StatusOK || !strings.Contains(p.body, "Nothing was added") {
			t.Fatalf("cancel: %d %s", p.status, p.body)
		}

		link.AcceptTypes = []string{"file"}
		refused := e.launch(e.browser(true), ltiGrace, link)
		if refused.status != http.StatusOK || !strings.Contains(refused.body, "does not accept LTI resource links") {
			t.Fatalf("picker without ltiResourceLink: %d %s", refused.status, refused.body)
		}
		_, back, _ := ltitest.ParseForm(refused.body)
		postForm(t, e.browser(false), action, back)
		if last := e.platform.DeepLinkResponses(); !last[len(last)-1].Valid || !strings.Contains(last[len(last)-1].ErrorMsg, "does not accept") {
			t.Fatalf("responses %+v", last)
		}
	})
}

// A platform admin pastes the registration link: examgate reads the
// platform's configuration, shows what it will register, posts its client
// registration with the token, stores the platform, and a learner can
// launch through the new registration. The link works once, and only with
// its secret.
func TestLTIDynamicRegistration(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		e := newLTIEnv(t, store)
		const secret = "one-time-registration-secret"
		if err := store.SaveRegistrationLink(context.Background(), lti.Hash(secret), e.now, e.now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		b := e.browser(false)
		link := e.url + "/lti/register?secret=" + secret

		// Without the secret, or with a wrong one, nothing is read or shown.
		for _, bad := range []string{e.url + "/lti/register", e.url + "/lti/register?secret=guess"} {
			if p := do(t, b, mustGet(e.platform.RegistrationStartURL(bad))); p.status != http.StatusForbidden || !strings.Contains(p.body, "registration-link") {
				t.Fatalf("%s: %d %s", bad, p.status, p.body)
			}
		}

		confirm := do(t, b, mustGet(e.platform.RegistrationStartURL(link)))
		if confirm.status != http.StatusOK || !strings.Contains(confirm.body, "Register examgate with this platform") ||
			!strings.Contains(confirm.body, e.platform.Issuer) || !strings.Contains(confirm.body, "examgate-ltitest") ||
			!strings.Contains(confirm.header.Get("Content-Security-Policy"), "frame-ancestors 'self' "+e.platform.Issuer) {
			t.Fatalf("confirmation: %d %v\n%s", confirm.status, confirm.header, confirm.body)
		}
		action, form, err := ltitest.ParseForm(confirm.body)
		if err != nil || action != "/lti/register" {
			t.Fatalf("confirmation form to %q: %v", action, err)
		}
		done := postForm(t, b, e.url+action, form)
		if done.status != http.StatusOK || !strings.Contains(done.body, "examgate is registered") || !strings.Contains(done.body, `id="lti-close"`) {
			t.Fatalf("registration: %d\n%s", done.status, done.body)
		}
		var stored *lti.Registration
		regs := e.platform.DynamicRegistrations()
		if len(regs) != 1 || regs[0].LoginURL != e.url+"/lti/login" || regs[0].RedirectURI != e.url+"/lti/launch" || regs[0].JWKSURL != e.url+"/lti/jwks" {
			t.Fatalf("platform registrations %+v", regs)
		}
		stored, err = store.Registration(context.Background(), e.platform.Issuer, regs[0].ClientID)
		if err != nil || !stored.HasDeployment(regs[0].DeploymentID) || stored.AuthURL != e.platform.Issuer+ltitest.AuthPath || stored.Name != "examgate-ltitest" {
			t.Fatalf("stored %+v %v", stored, err)
		}

		// The link is used up.
		if p := do(t, b, mustGet(e.platform.RegistrationStartURL(link))); p.status != http.StatusForbidden {
			t.Fatalf("second use: %d %s", p.status, p.body)
		}

		// The platform launches through the new registration.
		e.platform.UseRegistration(regs[0])
		if p := e.launch(e.browser(true), ltiGrace, e.link("DEMO-101")); p.status != http.StatusSeeOther {
			t.Fatalf("launch after registration: %d %s", p.status, p.body)
		}
	})
}

// A link with only the line items container (AGS 2.0) is remembered with
// the launch, so that the scores find or create the line item; a later
// launch from a link without AGS keeps it.
func TestLTILineItemsOnly(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		e := newLTIEnv(t, store)
		link := e.link("DEMO-101")
		link.LineItem, link.LineItems = "", e.platform.Issuer+"/lineitems"
		if p := e.launch(e.browser(true), ltiGrace, link); p.status != http.StatusSeeOther {
			t.Fatalf("launch: %d %s", p.status, p.body)
		}
		cand, err := store.CandidateByEmail(context.Background(), "grace@example.com")
		if err != nil {
			t.Fatal(err)
		}
		check := func(when string) {
			lc, err := store.LTIContext(context.Background(), cand.ID, "DEMO-101")
			if err != nil || lc.LineItemURL != "" || lc.LineItemsURL != link.LineItems || lc.ResourceLinkID != "rl-1" || !lc.TakesScores() {
				t.Fatalf("%s: context %+v %v", when, lc, err)
			}
		}
		check("after the launch")
		bare := e.link("DEMO-101")
		bare.LineItem, bare.ResourceLinkID = "", "rl-without-ags"
		if p := e.launch(e.browser(true), ltiGrace, bare); p.status != http.StatusSeeOther {
			t.Fatalf("relaunch: %d %s", p.status, p.body)
		}
		check("after a launch without AGS")
	})
}

// /lti/login stores a pending login for anyone: each address has a budget.
func TestLTILoginBudget(t *testing.T) {
	e := newLTIEnvWith(t, dbtest.OpenSQLite(t), func(d *server.Deps) {
		d.RateLimits.LTILogin = server.Budget{Rate: 1.0 / 3600, Burst: 2}
	})
	hint := e.platform.AddLaunch(ltiGrace, e.link("DEMO-101"))
	for i := range 3 {
		p := postForm(t, &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
			e.url+"/lti/login", e.platform.LoginParams(hint))
		if i < 2 {
			if p.status != http.StatusFound {
				t.Fatalf("login %d: %d %s", i, p.status, p.body)
			}
			continue
		}
		if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" || !strings.Contains(p.body, "Too many exam sign-ins") ||
			!strings.Contains(p.header.Get("Content-Security-Policy"), "frame-ancestors 'self' "+e.platform.Issuer) {
			t.Fatalf("login over budget: %d %v\n%s", p.status, p.header, p.body)
		}
	}
	var n int
	if err := e.store.Bun().QueryRow("SELECT count(*) FROM lti_logins").Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d pending logins stored (%v), want 2", n, err)
	}
}

// Moodle requires the scope openid exactly; SkillsTown's guide shows
// "openid profile email". The registration says which a platform gets.
func TestLTILoginScopePerPlatform(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		e := newLTIEnv(t, store)
		e.platform.Scope = "openid profile email"
		if p := e.launch(e.browser(true), ltiGrace, e.link("DEMO-101")); p.status != http.StatusForbidden || !strings.Contains(p.body, "invalid_scope") {
			t.Fatalf("default scope against a platform that wants more: %d %s", p.status, p.body)
		}
		reg := e.platform.Registration()
		if reg.LoginScope != "openid profile email" {
			t.Fatalf("registration scope %q", reg.LoginScope)
		}
		if err := store.SaveRegistration(context.Background(), &reg, e.now); err != nil {
			t.Fatal(err)
		}
		if p := e.launch(e.browser(true), ltiGrace, e.link("DEMO-101")); p.status != http.StatusSeeOther {
			t.Fatalf("with the registration's scope: %d %s", p.status, p.body)
		}
		bad := reg
		bad.LoginScope = "profile email"
		if err := store.SaveRegistration(context.Background(), &bad, e.now); err == nil || !strings.Contains(err.Error(), "include openid") {
			t.Fatalf("a scope without openid was stored: %v", err)
		}
	})
}

func TestLTIRefusalPages(t *testing.T) {
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	e := newLTIEnv(t, dbtest.OpenSQLite(t))
	tamper := func(fn func(c, h map[string]any)) func() { return func() { e.platform.Tamper = fn } }
	cases := []struct {
		name   string
		setup  func()
		status int
		text   string // on the learner's page
		why    string // in examgate's log
	}{
		{"no kid", tamper(func(c, h map[string]any) { delete(h, "kid") }), 401, "could not be verified", "header has no kid"},
		{"unknown kid", tamper(func(c, h map[string]any) { h["kid"] = "nope" }), 401, "could not be verified", "no key with kid"},
		{"wrong signature", func() { e.platform.SignWith = otherKey }, 401, "could not be verified", "verification error"},
		{"HS256 keyed with the public key", tamper(func(c, h map[string]any) { h["alg"] = "HS256" }), 401, "could not be verified", "signing method HS256 is invalid"},
		{"not a JWT", func() { e.platform.RawToken = func(string) string { return "garbage" } }, 400, "could not be verified", "is not a JWT"},
		{"wrong version", tamper(func(c, h map[string]any) { c[lti.ClaimVersion] = "1.0" }), 400, "not supported", "want 1.3.0"},
		{"missing version", tamper(func(c, h map[string]any) { delete(c, lti.ClaimVersion) }), 400, "not supported", "want 1.3.0"},
		{"missing message_type", tamper(func(c, h map[string]any) { delete(c, lti.ClaimMessageType) }), 400, "not supported", "message_type"},
		{"missing deployment_id", tamper(func(c, h map[string]any) { delete(c, lti.ClaimDeploymentID) }), 403, "unknown deployment", "login sent"},
		{"missing resource_link.id", tamper(func(c, h map[string]any) { delete(c, lti.ClaimResourceLink) }), 400, "which activity", "resource_link.id missing"},
		{"missing sub", tamper(func(c, h map[string]any) { delete(c, "sub") }), 401, "who you are", "sub missing"},
		{"expired", tamper(func(c, h map[string]any) {
			c["exp"] = e.now.Add(-time.Hour).Unix()
			c["iat"] = e.now.Add(-2 * time.Hour).Unix()
		}), 401, "expired", "id_token expired at"},
		{"iat in the future", tamper(func(c, h map[string]any) { c["iat"] = e.now.Add(time.Hour).Unix() }), 401, "clock is ahead", "in the future"},
		{"wrong aud", tamper(func(c, h map[string]any) { c["aud"] = []string{"someone-else"} }), 401, "could not be verified", "does not contain client id"},
		{"wrong iss", tamper(func(c, h map[string]any) { c["iss"] = "https://evil.example.com" }), 401, "could not be verified", "is not the registered"},
		{"nonce not the login's", tamper(func(c, h map[string]any) { c["nonce"] = "replayed-nonce" }), 401, "already used", "nonce does not match the login"},
		{"unknown exam", tamper(func(c, h map[string]any) {
			delete(c, lti.ClaimTargetLinkURI)
			c[lti.ClaimCustom] = map[string]any{"exam_code": "NOPE"}
		}), 404, "", "code=NOT_FOUND"},
		{"target link not the login's", tamper(func(c, h map[string]any) { c[lti.ClaimTargetLinkURI] = e.url + "/lti/exams/OTHER-1" }), 400, "was changed", "differs from the login"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.platform.Tamper, e.platform.SignWith, e.platform.RawToken = nil, nil, nil
			c.setup()
			before := len(e.logs.String())
			p := e.launch(e.browser(true), ltiGrace, e.link("DEMO-101"))
			if p.status != c.status || !strings.Contains(p.body, c.text) || !strings.Contains(p.body, "Reference:") {
				t.Fatalf("got %d, want %d with %q:\n%s", p.status, c.status, c.text, p.body)
			}
			if logged := e.logs.String()[before:]; !strings.Contains(logged, c.why) {
				t.Errorf("log lacks the reason %q:\n%s", c.why, logged)
			}
			// Frameable by the registered platform, and by no one else.
			if csp := p.header.Get("Content-Security-Policy"); p.header.Get("X-Frame-Options") != "" ||
				!strings.Contains(csp, "frame-ancestors 'self' "+e.platform.Issuer+";") {
				t.Errorf("refusal page not frameable by the platform alone: %v", p.header)
			}
		})
	}
	e.platform.Tamper, e.platform.SignWith, e.platform.RawToken = nil, nil, nil

	t.Run("missing state", func(t *testing.T) {
		p := postForm(t, e.browser(true), e.url+"/lti/launch", url.Values{"id_token": {"x.y.z"}})
		if p.status != 401 || !strings.Contains(p.body, "expired or was already used") {
			t.Fatalf("%d %s", p.status, p.body)
		}
	})
	t.Run("state of another browser", func(t *testing.T) {
		// The attacker's browser starts a login; the victim's browser posts
		// its id_token: the victim has no cookie for that state and gets the
		// new-window page, never the attacker's session.
		c := e.browser(true)
		hint := e.platform.AddLaunch(ltiGrace, e.link("DEMO-101"))
		authPage := submit(t, c, do(t, c, mustGet(e.platform.Issuer+ltitest.StartPath+"?hint="+hint)))
		victim := e.browser(true)
		p := submit(t, victim, authPage)
		if p.status != 200 || !strings.Contains(p.body, "Open the exam in a new window") {
			t.Fatalf("%d %s", p.status, p.body)
		}
		_, v, _ := ltitest.ParseForm(authPage.body)
		v.Set("binding", "guessed")
		p = postForm(t, victim, e.url+"/lti/launch", v, "Sec-Fetch-Site", "same-origin")
		if p.status != 200 || !strings.Contains(p.body, "Open the exam in a new window") {
			t.Fatalf("binding in the form of a login without platform storage: %d %s", p.status, p.body)
		}
		// A binding that matches, from the attacker's own browser, signs in.
		c.Jar.SetCookies(mustGet(e.url+"/lti/").URL, nil)
		p = submit(t, c, authPage)
		if p.status != http.StatusSeeOther {
			t.Fatalf("the login's own browser: %d %s", p.status, p.body)
		}
	})
	t.Run("target link elsewhere at login", func(t *testing.T) {
		p := postForm(t, e.browser(true), e.url+"/lti/login", url.Values{"iss": {e.platform.Issuer}, "login_hint": {"u"},
			"target_link_uri": {"https://evil.example.com/"}, "client_id": {"examgate-client"}})
		if p.status != 400 || !strings.Contains(p.body, "does not point to examgate") {
			t.Fatalf("%d %s", p.status, p.body)
		}
	})
	t.Run("unknown platform", func(t *testing.T) {
		p := do(t, e.browser(true), mustGet(e.url+"/lti/login?iss=https://unknown.example.com&login_hint=u&target_link_uri="+url.QueryEscape(e.url+"/lti/exams/DEMO-101")))
		if p.status != 403 || !strings.Contains(p.body, "not registered") {
			t.Fatalf("%d %s", p.status, p.body)
		}
	})
}

func TestLTIWithoutThirdPartyCookies(t *testing.T) {
	e := newLTIEnv(t, dbtest.OpenSQLite(t))
	t.Run("new window fallback", func(t *testing.T) {
		c := e.browser(false) // drops every cookie, as Safari does in an iframe
		p := e.launch(c, ltiGrace, e.link("DEMO-101"))
		if p.status != 200 || !strings.Contains(p.body, `target="_blank"`) || !strings.Contains(p.body, `action="/lti/login"`) {
			t.Fatalf("%d %s", p.status, p.body)
		}
		// The new window restarts the login with the same parameters and,
		// with first-party cookies, reaches the dashboard.
		_, v, _ := ltitest.ParseForm(p.body)
		if v.Get("iss") != e.platform.Issuer || v.Get("login_hint") != "st-123" || v.Get("lti_deployment_id") != "dep-1" {
			t.Errorf("restart parameters %v", v)
		}
		top := e.browser(true)
		authPage := postForm(t, top, e.url+"/lti/login", v)
		if p := submit(t, top, authPage); p.status != http.StatusSeeOther || p.location != "/exams/DEMO-101" {
			t.Fatalf("new window launch %d: %s", p.status, p.body)
		}
	})
	t.Run("platform storage", func(t *testing.T) {
		e.platform.Storage = true
		defer func() { e.platform.Storage = false }()
		c := e.browser(false)
		hint := e.platform.AddLaunch(ltiGrace, e.link("DEMO-101"))
		start := do(t, c, mustGet(e.platform.Issuer+ltitest.StartPath+"?hint="+hint))
		if _, v, _ := ltitest.ParseForm(start.body); v.Get("lti_storage_target") != "_parent" {
			t.Fatalf("platform offered no storage: %v", v)
		}
		// examgate's login page stores the binding in the platform, then
		// goes on to the authorization URL (what lti.js does).
		action, v, _ := ltitest.ParseForm(start.body)
		put := postForm(t, c, action, v)
		binding := attr(t, put.body, "data-value")
		next := attr(t, put.body, "data-next")
		if attr(t, put.body, "data-mode") != "put" || attr(t, put.body, "data-target") != "_parent" || attr(t, put.body, "data-origin") != e.platform.Issuer {
			t.Fatalf("storage page: %s", put.body)
		}
		authPage := do(t, c, mustGet(next))
		// Without the cookie the launch asks the platform's storage.
		get := submit(t, c, authPage)
		if attr(t, get.body, "data-mode") != "get" || attr(t, get.body, "data-key") != attr(t, put.body, "data-key") {
			t.Fatalf("launch page: %s", get.body)
		}
		_, form, _ := ltitest.ParseForm(get.body)
		form.Set("binding", binding)
		// lti.js posts the form from examgate's own page.
		if p := postForm(t, c, e.url+"/lti/launch", form, "Sec-Fetch-Site", "same-origin"); p.status != http.StatusSeeOther || p.location != "/exams/DEMO-101" {
			t.Fatalf("storage launch %d: %s", p.status, p.body)
		}
	})
	t.Run("iframe continues in a new window", func(t *testing.T) {
		c := e.browser(true)
		p := e.launch(c, ltiGrace, e.link("DEMO-101"), "Sec-Fetch-Dest", "iframe")
		if p.status != 200 || !strings.Contains(p.body, `action="/lti/continue"`) {
			t.Fatalf("%d %s", p.status, p.body)
		}
		for _, ck := range c.Jar.Cookies(mustGet(e.url).URL) {
			if ck.Name == server.SessionCookie {
				t.Error("session cookie set inside the frame")
			}
		}
		_, v, _ := ltitest.ParseForm(p.body)
		window := e.browser(true)
		if p := postForm(t, window, e.url+"/lti/continue", v); p.status != http.StatusSeeOther || p.location != "/exams/DEMO-101" {
			t.Fatalf("continue %d: %s", p.status, p.body)
		}
		if me := e.me(window); me["email"] != "grace@example.com" {
			t.Errorf("new window signed in as %v", me)
		}
		v.Set("session", "forged")
		if p := postForm(t, e.browser(true), e.url+"/lti/continue", v); p.status != 401 {
			t.Errorf("forged session continued: %d", p.status)
		}
	})
}

func attr(t *testing.T, body, name string) string {
	t.Helper()
	m := regexp.MustCompile(name + `="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s in %s", name, body)
	}
	return htmlUnescape(m[1])
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(s)
}

// storageLaunch runs a launch through platform storage in a cookieless
// browser up to examgate's storage-get page, and returns the form that page
// posts, with the binding the platform's storage would give it.
func (e *ltiEnv) storageLaunch(t *testing.T) url.Values {
	t.Helper()
	c := e.browser(false)
	hint := e.platform.AddLaunch(ltiGrace, e.link("DEMO-101"))
	start := do(t, c, mustGet(e.platform.Issuer+ltitest.StartPath+"?storage=1&hint="+hint))
	put := submit(t, c, start)
	get := submit(t, c, do(t, c, mustGet(attr(t, put.body, "data-next"))))
	if attr(t, get.body, "data-mode") != "get" {
		t.Fatalf("no storage-get page: %s", get.body)
	}
	_, form, _ := ltitest.ParseForm(get.body)
	form.Set("binding", attr(t, put.body, "data-value"))
	return form
}

// A binding in the launch form counts only when examgate's storage-get page
// posts it: someone holding a state, its binding and the id_token must not
// be able to make another browser post them and sign it in as themselves.
func TestLTIFormBindingOnlyFromStoragePage(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		e := newLTIEnv(t, store)
		refused := []struct {
			name   string
			header []string
		}{
			{"cross-site post", []string{"Sec-Fetch-Site", "cross-site"}},
			{"same-site post", []string{"Sec-Fetch-Site", "same-site"}},
			{"no fetch metadata, foreign Origin", []string{"Origin", "https://attacker.example.com"}},
			{"no fetch metadata, no Origin", nil},
			{"foreign Sec-Fetch-Site despite our Origin", []string{"Sec-Fetch-Site", "cross-site", "Origin", e.url}},
		}
		for _, c := range refused {
			t.Run(c.name, func(t *testing.T) {
				form := e.storageLaunch(t)
				victim := e.browser(true)
				p := postForm(t, victim, e.url+"/lti/launch", form, c.header...)
				if p.status != 200 || !strings.Contains(p.body, "Open the exam in a new window") {
					t.Fatalf("got %d %s", p.status, p.body)
				}
				for _, ck := range victim.Jar.Cookies(mustGet(e.url).URL) {
					if ck.Name == server.SessionCookie {
						t.Fatal("the victim's browser was signed in")
					}
				}
				// The login is still pending: examgate's own page can finish it.
				if p := postForm(t, e.browser(true), e.url+"/lti/launch", form, "Sec-Fetch-Site", "same-origin"); p.status != http.StatusSeeOther {
					t.Fatalf("own page after the refusal: %d %s", p.status, p.body)
				}
			})
		}
		for _, h := range [][]string{{"Sec-Fetch-Site", "same-origin"}, {"Origin", e.url}} {
			t.Run("accepted with "+h[0], func(t *testing.T) {
				form := e.storageLaunch(t)
				if p := postForm(t, e.browser(true), e.url+"/lti/launch", form, h...); p.status != http.StatusSeeOther || p.location != "/exams/DEMO-101" {
					t.Fatalf("got %d %s", p.status, p.body)
				}
			})
		}
	})
}
