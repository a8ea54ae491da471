package server

import (
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/lti"
	"github.com/examgate/examgate/lti/ags"
)

//go:embed lti.js
var ltiScript []byte

// ltiFrameable lets registered platforms show an LTI page in their iframe
// (and no one else: a page framed by any site could be clickjacked), and
// lets forms on it go to examgate and to the platform's authorization URL.
func (s *Server) ltiFrameable(w http.ResponseWriter, r *http.Request, formTargets ...string) {
	setLTIFrameHeaders(w, s.ltiAncestors.get(r.Context(), s.LTITool.Registrations), formTargets...)
}

// setLTIFrameHeaders lets ancestors frame an LTI page and its forms post to
// examgate and to the origins of formTargets.
func setLTIFrameHeaders(w http.ResponseWriter, ancestors string, formTargets ...string) {
	h := w.Header()
	h.Del("X-Frame-Options")
	actions := "'self'"
	for _, t := range formTargets {
		if u, err := url.Parse(t); err == nil && u.Scheme != "" && u.Host != "" {
			actions += " " + u.Scheme + "://" + u.Host
		}
	}
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors "+ancestors+"; base-uri 'none'; form-action "+actions)
	h.Set("Cache-Control", "no-store")
}

// ltiError answers an LTI request with the learner error page, frameable.
func (s *Server) ltiError(w http.ResponseWriter, r *http.Request, err error) {
	s.ltiFrameable(w, r)
	s.errorPage(w, r, err)
}

// handleLTILogin is the OIDC login initiation a platform calls (GET or POST).
// It sends the browser on to the platform's authorization URL with a state
// bound to this browser by a cookie and, when the platform offers it, by the
// platform's postMessage storage.
func (s *Server) handleLTILogin(w http.ResponseWriter, r *http.Request) {
	req, err := lti.ParseLoginRequest(w, r)
	if err != nil {
		s.ltiError(w, r, err)
		return
	}
	login, err := s.LTITool.StartLogin(r.Context(), req)
	if err != nil {
		s.ltiError(w, r, err)
		return
	}
	http.SetCookie(w, s.ltiStateCookie(login.State, login.Binding, int(lti.LoginLifetime.Seconds())))
	s.ltiFrameable(w, r, login.AuthURL)
	if login.StorageTarget == "" {
		http.Redirect(w, r, login.AuthURL, http.StatusFound)
		return
	}
	s.ltiPage(w, "storage-put", map[string]any{
		"Target": login.StorageTarget, "Origin": origin(login.Registration.AuthURL),
		"Key": ltiStorageKey(login.State), "Value": login.Binding, "Next": login.AuthURL,
	})
}

// ltiStateCookie is SameSite=None so that the platform's cross-site POST
// to the launch carries it; browsers take that only with Secure, so over
// plain http (local demo, where platform and tool share a site) it is Lax.
func (s *Server) ltiStateCookie(state, binding string, maxAge int) *http.Cookie {
	c := &http.Cookie{
		Name: lti.StateCookieName(state), Value: binding, Path: "/lti/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secureCookie, SameSite: http.SameSiteNoneMode,
	}
	if !s.secureCookie {
		c.SameSite = http.SameSiteLaxMode
	}
	return c
}

func ltiStorageKey(state string) string { return "examgate_state_" + lti.Hash(state)[:32] }

// handleLTILaunch is the redirect URI: the platform posts id_token and state.
func (s *Server) handleLTILaunch(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.ltiError(w, r, examgate.Errorf(examgate.EINVALID, "The learning platform's sign-in could not be read. Go back to your course and open the exam again."))
		return
	}
	f := r.PostForm
	state := f.Get("state")
	if f.Get("id_token") == "" && f.Get("error") != "" {
		// The platform refused the authorization request (OpenID Connect
		// Core 3.2.2.6): say what it said, and to whom to turn.
		issuer := "an unknown platform"
		if p, err := s.LTITool.Pending(r.Context(), state); err == nil {
			issuer = p.Issuer
		}
		s.Logger.WarnContext(r.Context(), "lti platform refused the login", "issuer", issuer,
			"error", lti.Printable(f.Get("error"), 64), "error_description", lti.Printable(f.Get("error_description"), 300))
		s.ltiError(w, r, lti.PlatformError(issuer, f.Get("error"), f.Get("error_description")))
		return
	}
	binding := ""
	if state != "" && len(state) <= 128 {
		if c, err := r.Cookie(lti.StateCookieName(state)); err == nil {
			binding = c.Value
		}
	}
	if binding == "" && f.Get("id_token") != "" {
		// No cookie: the browser dropped it (third-party context).
		pending, err := s.LTITool.Pending(r.Context(), state)
		if err != nil {
			s.ltiError(w, r, err)
			return
		}
		switch fb := f.Get("binding"); {
		case fb != "" && s.fromStoragePage(r, pending):
			binding = fb
		case pending.StorageTarget != "" && f.Get("storage_tried") == "":
			reg, err := s.LTITool.Registrations.Registration(r.Context(), pending.Issuer, pending.ClientID)
			if err != nil {
				s.ltiError(w, r, err)
				return
			}
			s.ltiFrameable(w, r)
			s.ltiPage(w, "storage-get", map[string]any{
				"Target": pending.StorageTarget, "Origin": origin(reg.AuthURL), "Key": ltiStorageKey(state),
				"IDToken": f.Get("id_token"), "State": state,
			})
			return
		default:
			s.ltiNewWindow(w, r, pending)
			return
		}
	}
	launch, err := s.LTITool.Launch(r.Context(), lti.LaunchRequest{IDToken: f.Get("id_token"), State: state, Binding: binding})
	if err != nil {
		s.Metrics.launch("lti", err, "")
		s.ltiError(w, r, err)
		return
	}
	if launch.DeepLinking != nil {
		s.Metrics.launch("lti", nil, "picker")
		http.SetCookie(w, s.ltiStateCookie(state, "", -1))
		s.ltiDeepLinkPicker(w, r, launch)
		return
	}
	if launch.Audience == lti.AudienceStaff {
		s.Metrics.launch("lti", nil, "preview")
		s.ltiPreview(w, r, launch, state)
		return
	}
	claims := &examgate.LTILaunchClaims{
		Issuer: launch.Issuer, ClientID: launch.ClientID, DeploymentID: launch.DeploymentID, Subject: launch.Subject,
		Email: launch.Email, FirstName: launch.GivenName, LastName: launch.FamilyName,
		CourseID: launch.CourseID, ResourceLinkID: launch.ResourceLinkID, ReturnURL: launch.ReturnURL,
		Browser: browserFamily(r.UserAgent()), Locale: launch.Locale,
	}
	switch g := launch.Grades; {
	case g.CanPostScores():
		claims.LineItemURL = g.LineItem
	case g.CanFindLineItem():
		claims.LineItemsURL = g.LineItems
	case g != nil:
		// The platform offers AGS but nothing examgate can post to: say so
		// where an operator looks, not only in the absence of grades.
		s.Logger.WarnContext(r.Context(), "lti launch offers AGS without a usable line item; scores will not be sent",
			"issuer", launch.Issuer, "has_lineitem", g.LineItem != "", "has_lineitems", g.LineItems != "", "scopes", len(g.Scope))
	}
	done, err := s.LTILaunch.Launch(r.Context(), claims, launch.ExamCode)
	s.Metrics.launch("lti", err, "ok")
	if err != nil {
		s.ltiError(w, r, err)
		return
	}
	http.SetCookie(w, s.ltiStateCookie(state, "", -1))
	s.Logger.InfoContext(r.Context(), "lti launch", "candidate_id", done.Candidate.ID, "exam", done.Exam.Code,
		"issuer", launch.Issuer, "eligible_until", done.Eligibility.EndsAt, "scores", claims.LineItemURL != "" || claims.LineItemsURL != "")
	dashboard := "/exams/" + url.PathEscape(done.Exam.Code)
	if r.Header.Get("Sec-Fetch-Dest") == "iframe" {
		// Inside the platform's frame our cookies may be dropped and the
		// dashboard may not be framed: continue in a window of its own.
		s.ltiFrameable(w, r)
		s.ltiPage(w, "continue", map[string]any{"Exam": done.Exam, "Token": done.SessionToken})
		return
	}
	s.setSessionCookie(w, done.SessionToken)
	http.Redirect(w, r, dashboard, http.StatusSeeOther)
}

// ltiPreview answers a launch by an instructor, teaching assistant,
// content developer, administrator or mentor: a page with the exam's facts,
// marked as a preview. Nothing is stored: no candidate, no eligibility
// window, no seat, no score to the gradebook or to TI.
func (s *Server) ltiPreview(w http.ResponseWriter, r *http.Request, launch *lti.Launch, state string) {
	exam, err := s.Catalog.Exam(launch.ExamCode)
	if err != nil {
		s.ltiError(w, r, err)
		return
	}
	http.SetCookie(w, s.ltiStateCookie(state, "", -1))
	s.Logger.InfoContext(r.Context(), "lti preview", "exam", exam.Code, "issuer", launch.Issuer, "roles", len(launch.Roles))
	data := map[string]any{"Exam": exam, "ReturnURL": launch.ReturnURL}
	if grant := s.previewGrant(r, exam); grant != "" {
		data["Grant"], data["Items"] = grant, previewItems(exam)
	}
	s.ltiFrameable(w, r)
	s.ltiPage(w, "preview", data)
}

// maxPickerExams bounds how many exams the picker signs a response for.
const maxPickerExams = 200

// ltiDeepLinkPicker answers an LtiDeepLinkingRequest with examgate's
// catalog: each exam is a form that posts its signed LtiDeepLinkingResponse
// (one ltiResourceLink with the exam's target link, custom exam_code and a
// line item) to the platform's deep_link_return_url, and Cancel posts one
// without items. Nothing is stored: the responses are signed up front.
func (s *Server) ltiDeepLinkPicker(w http.ResponseWriter, r *http.Request, launch *lti.Launch) {
	ks, ok := s.Store.(ags.KeyStore)
	if !ok {
		s.ltiError(w, r, examgate.Errorf(examgate.EINTERNAL, "examgate cannot sign its answer to the activity picker. Contact support."))
		return
	}
	key, err := ags.NewKeys(ks, s.Clock).Signing(r.Context())
	if err != nil {
		s.ltiError(w, r, err)
		return
	}
	now := s.Clock.Now()
	sign := func(items []lti.ResourceLinkItem, errorMsg string) (string, error) {
		return lti.DeepLinkingResponse(key.Key, key.KID, launch, items, errorMsg, now)
	}
	dl := launch.DeepLinking
	type choice struct {
		Title, Facts, JWT string
	}
	var choices []choice
	var problem string
	if dl.AcceptsResourceLinks() {
		for _, exam := range s.Catalog.Exams() {
			if len(choices) == maxPickerExams {
				break
			}
			facts, maximum := "not yet deliverable in the browser", 100.0
			if d := exam.Delivery; d != nil {
				how := "booked in a time slot"
				if d.OnDemand {
					how = "on demand"
				}
				facts = fmt.Sprintf("%d minutes, %d questions, %s", d.DurationMinutes, d.ItemCount(), how)
				if d.MaxPoints() > 0 {
					maximum = d.MaxPoints()
				}
			}
			tok, err := sign([]lti.ResourceLinkItem{{
				Title: exam.Title, Text: facts, URL: s.LTITool.TargetLink(exam.Code),
				Custom:   map[string]string{"exam_code": exam.Code},
				LineItem: &lti.ItemLineItem{ScoreMaximum: maximum, Label: exam.Title, ResourceID: exam.Code, Tag: ags.LineItemTag},
			}}, "")
			if err != nil {
				s.ltiError(w, r, examgate.Wrap(examgate.EINTERNAL, err, "examgate could not sign its answer to the activity picker. Try again, or contact support."))
				return
			}
			choices = append(choices, choice{exam.Title, facts, tok})
		}
	} else {
		problem = "This activity picker does not accept LTI resource links, which is what examgate adds."
	}
	cancel, err := sign(nil, problem)
	if err != nil {
		s.ltiError(w, r, examgate.Wrap(examgate.EINTERNAL, err, "examgate could not sign its answer to the activity picker. Try again, or contact support."))
		return
	}
	s.Logger.InfoContext(r.Context(), "lti deep linking picker", "issuer", launch.Issuer, "exams", len(choices))
	s.ltiFrameable(w, r, dl.ReturnURL)
	s.ltiPage(w, "picker", map[string]any{"ReturnURL": dl.ReturnURL, "Choices": choices, "Cancel": cancel, "Problem": problem})
}

// fromStoragePage reports whether a launch post carrying the binding in its
// form comes from examgate's own storage-get page. Anyone holding a state,
// its binding and the id_token could otherwise make a victim's browser post
// them cross-site and sign it in as themselves (login CSRF): the form
// binding counts only for a login that offered platform storage, posted
// from examgate's origin.
func (s *Server) fromStoragePage(r *http.Request, p *lti.PendingLogin) bool {
	if p.StorageTarget == "" {
		return false
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	o := r.Header.Get("Origin")
	return o != "" && s.BaseURL != nil && strings.EqualFold(o, origin(s.BaseURL.String()))
}

// ltiNewWindow is the fallback when neither the state cookie nor platform
// storage reached the launch: the login starts again in a window of its
// own, where examgate's cookies are first-party.
func (s *Server) ltiNewWindow(w http.ResponseWriter, r *http.Request, p *lti.PendingLogin) {
	reg, err := s.LTITool.Registrations.Registration(r.Context(), p.Issuer, p.ClientID)
	if err != nil {
		s.ltiError(w, r, err)
		return
	}
	s.ltiFrameable(w, r, reg.AuthURL)
	params := url.Values{
		"iss": {p.Issuer}, "client_id": {p.ClientID}, "login_hint": {p.LoginHint},
		"target_link_uri": {p.TargetLinkURI},
	}
	if p.MessageHint != "" {
		params.Set("lti_message_hint", p.MessageHint)
	}
	if p.DeploymentID != "" {
		params.Set("lti_deployment_id", p.DeploymentID)
	}
	s.ltiPage(w, "new-window", map[string]any{"Params": params})
}

// handleLTIContinue signs in the window opened from the platform's frame,
// with the session the launch created there.
func (s *Server) handleLTIContinue(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	_ = r.ParseForm()
	token, exam := r.PostForm.Get("session"), r.PostForm.Get("exam")
	if token == "" || len(token) > 128 || exam == "" || len(exam) > 64 {
		s.errorPage(w, r, examgate.Errorf(examgate.EINVALID, "This link is incomplete. Go back to your course and open the exam again."))
		return
	}
	if _, err := s.Store.SessionByTokenHash(r.Context(), examgate.HashSessionToken(token), s.Clock.Now()); err != nil {
		s.errorPage(w, r, err)
		return
	}
	s.setSessionCookie(w, token)
	http.Redirect(w, r, "/exams/"+url.PathEscape(exam), http.StatusSeeOther)
}

// handleLTITargetLink answers a browser that opens an exam's target link
// directly rather than through a launch: the dashboard, which asks to launch
// from the course when there is no session.
func (s *Server) handleLTITargetLink(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/exams/"+url.PathEscape(r.PathValue("code")), http.StatusSeeOther)
}

func (s *Server) handleLTIScript(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(ltiScript)
}

func (s *Server) setSessionCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: token, Path: "/", MaxAge: int(examgate.SessionLifetime.Seconds()),
		HttpOnly: true, Secure: s.secureCookie, SameSite: http.SameSiteLaxMode,
	})
}

func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

func (s *Server) ltiPage(w http.ResponseWriter, name string, data map[string]any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := ltiTmpl.ExecuteTemplate(w, name, data); err != nil {
		s.Logger.Error("lti page", "page", name, "err", err)
	}
}

var ltiTmpl = template.Must(template.New("lti").Parse(`
{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="/favicon.svg">
<title>{{.}} · examgate</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1a1a1a;background:#f6f7f9}
main{max-width:36rem;margin:6vh auto;padding:2rem;background:#fff;border-radius:8px;box-shadow:0 1px 3px #0002}
h1{font-size:1.4rem;margin-top:0}
button{font:inherit;padding:.6rem 1.2rem;background:#1d4ed8;color:#fff;border:0;border-radius:6px;cursor:pointer}
button:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
</style></head><body><main role="main">{{end}}

{{define "storage-put"}}{{template "head" "Opening your exam"}}
<h1>Opening your exam…</h1>
<div id="lti-storage" data-mode="put" data-target="{{.Target}}" data-origin="{{.Origin}}" data-key="{{.Key}}" data-value="{{.Value}}" data-next="{{.Next}}"></div>
<noscript><p><a href="{{.Next}}">Continue</a></p></noscript>
<script src="/lti/storage.js"></script>
</main></body></html>{{end}}

{{define "storage-get"}}{{template "head" "Opening your exam"}}
<h1>Opening your exam…</h1>
<form method="post" action="/lti/launch" id="lti-form">
<input type="hidden" name="id_token" value="{{.IDToken}}">
<input type="hidden" name="state" value="{{.State}}">
<input type="hidden" name="binding" value="">
<input type="hidden" name="storage_tried" value="1">
<noscript><button type="submit">Continue</button></noscript>
</form>
<div id="lti-storage" data-mode="get" data-target="{{.Target}}" data-origin="{{.Origin}}" data-key="{{.Key}}"></div>
<script src="/lti/storage.js"></script>
</main></body></html>{{end}}

{{define "new-window"}}{{template "head" "Open your exam in a new window"}}
<h1>Open your exam in a new window</h1>
<p>Your browser blocks examgate from signing you in inside the course page. Open the exam in a window of its own; you stay signed in to your course here.</p>
<form method="post" action="/lti/login" target="_blank">
{{range $k, $vs := .Params}}{{range $vs}}<input type="hidden" name="{{$k}}" value="{{.}}">
{{end}}{{end}}<button type="submit">Open the exam in a new window</button>
</form>
</main></body></html>{{end}}

{{define "preview"}}{{template "head" "Preview"}}
<p><strong>Preview for course staff.</strong> Your role in this course is not a learner's, so examgate shows what the activity holds and records nothing: no eligibility window starts, no seat is booked and no score goes to the gradebook.</p>
<h1>{{.Exam.Title}}</h1>
<dl>
<dt>Exam code</dt><dd>{{.Exam.Code}}</dd>
<dt>Learners may take it</dt><dd>within {{.Exam.EligibilityDays}} days of their first launch</dd>
{{with .Exam.Delivery}}<dt>Length</dt><dd>{{.DurationMinutes}} minutes, {{.ItemCount}} questions, pass mark {{.PassMark}}%</dd>
<dt>How learners start</dt><dd>{{if .OnDemand}}at once, from the activity (on demand){{else}}by booking a time slot first{{end}}</dd>
<dt>Attempts</dt><dd>{{.Attempts}}</dd>{{else}}<dt>Delivery</dt><dd>not in the browser yet</dd>{{end}}
</dl>
<p>Learners who open this activity see their exam dashboard; their scores are sent to this activity's gradebook column.</p>
{{if .ReturnURL}}<p><a href="{{.ReturnURL}}">Back to the course</a></p>{{end}}
{{if .Grant}}<h2>Try the exam</h2>
<p>Answer as a learner would and see the score. Nothing is recorded; there is no timer here.</p>
<form method="post" action="/lti/preview">
<input type="hidden" name="grant" value="{{.Grant}}">
{{range .Items}}<fieldset><legend>{{.Number}}.</legend>{{.Stem}}
{{$it := .}}{{range .Options}}<label style="display:block"><input type="{{if $it.Multiple}}checkbox{{else}}radio{{end}}" name="item.{{$it.ID}}" value="{{.ID}}"> {{.Text}}</label>
{{end}}</fieldset>
{{end}}<button type="submit">See the score</button>
</form>{{end}}
</main></body></html>{{end}}

{{define "preview-score"}}{{template "head" "Preview score"}}
<p><strong>Preview for course staff.</strong> This score is not recorded and goes nowhere.</p>
<h1>{{.Exam.Title}}</h1>
<p data-testid="preview-score">{{printf "%.4g" .Score.Percent}}% ({{.Score.Points}} of {{.Score.MaxPoints}} points, {{.Answered}} questions answered): {{if .Score.Passed}}passed{{else}}not passed{{end}}, with a pass mark of {{.Score.PassMark}}%.</p>
<p>Go back to try again.</p>
</main></body></html>{{end}}

{{define "picker"}}{{template "head" "Add an exam"}}
<h1>Add an exam from examgate</h1>
{{if .Problem}}<p role="alert">{{.Problem}}</p>{{else}}<p>Choose the exam this activity opens. Learners who open it book or start that exam; their scores go to the activity's gradebook column.</p>
<ul style="list-style:none;padding:0">{{range .Choices}}<li style="margin:0 0 1rem">
<form method="post" action="{{$.ReturnURL}}"><input type="hidden" name="JWT" value="{{.JWT}}">
<button type="submit">Add “{{.Title}}”</button> <span>{{.Facts}}</span></form></li>
{{else}}<li>The catalog has no exams.</li>{{end}}</ul>{{end}}
<form method="post" action="{{.ReturnURL}}"><input type="hidden" name="JWT" value="{{.Cancel}}">
<button type="submit" style="background:#555">{{if .Problem}}Back to the course{{else}}Cancel{{end}}</button></form>
</main></body></html>{{end}}

{{define "register"}}{{template "head" "Register examgate"}}
<h1>Register examgate with this platform</h1>
<dl>
<dt>Platform</dt><dd>{{.Platform.Issuer}}{{with .Platform.LTI.ProductFamilyCode}} ({{.}}{{with $.Platform.LTI.Version}} {{.}}{{end}}){{end}}</dd>
<dt>examgate asks to be registered with</dt><dd>login URL {{.Tool.LoginURL}}, launch URL {{.Tool.RedirectURI}}, public keys {{.Tool.JWKSURL}}</dd>
<dt>Launches</dt><dd>resource links (learners open an exam) and deep linking (instructors add an exam in the activity picker)</dd>
<dt>Grades</dt><dd>posting scores and managing the exam's line item (LTI Assignment and Grade Services)</dd>
<dt>About learners</dt><dd>their platform id, name and email</dd>
</dl>
<form method="post" action="/lti/register">
<input type="hidden" name="secret" value="{{.Secret}}">
<input type="hidden" name="openid_configuration" value="{{.Config}}">
<input type="hidden" name="registration_token" value="{{.Token}}">
<button type="submit">Register examgate</button>
</form>
</main></body></html>{{end}}

{{define "registered"}}{{template "head" "examgate registered"}}
<h1>examgate is registered</h1>
<p>The platform {{.Registration.Issuer}} gave examgate the client id {{.Registration.ClientID}} and the deployment {{index .Registration.DeploymentIDs 0}}. Enable the tool on the platform; learners can then open exams from their courses.</p>
<div id="lti-close"></div>
<script src="/lti/storage.js"></script>
</main></body></html>{{end}}

{{define "continue"}}{{template "head" "Your exam is ready"}}
<h1>{{.Exam.Title}}</h1>
<p>The exam opens in a window of its own, so that nothing in the course page can get in its way.</p>
<form method="post" action="/lti/continue" target="_blank">
<input type="hidden" name="session" value="{{.Token}}">
<input type="hidden" name="exam" value="{{.Exam.Code}}">
<button type="submit">Open the exam</button>
</form>
</main></body></html>{{end}}
`))
