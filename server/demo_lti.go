package server

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/lti"
	"github.com/examgate/examgate/lti/ltitest"
)

// DemoScore is one score the demo's LTI platform received, for the demo page.
type DemoScore struct {
	Time             time.Time // when the platform received it
	Timestamp        string    // the score's timestamp, as examgate sent it
	UserID           string
	LineItem         string
	ActivityProgress string
	GradingProgress  string
	ScoreGiven       *float64
	ScoreMaximum     float64
}

// demoLTISection is the LTI part of the demo page.
var demoLTISection = template.Must(template.New("demo-lti").Parse(`
<section aria-labelledby="lti-h">
<h2 id="lti-h">Launch from an LTI 1.3 platform</h2>
<p>This plays an LTI platform such as SkillsTown Inspire: it sends the login initiation to examgate, answers examgate's
authorization request with a signed <code>id_token</code> posted back to <code>/lti/launch</code>, and publishes its keys.</p>
<form method="post" action="/demo/lti-launch">
<label for="lti-sub">Platform user id (sub)</label><input id="lti-sub" name="sub" value="st-1001" required maxlength="100">
<label for="lti-given">First name (optional)</label><input id="lti-given" name="givenName" value="Grace" maxlength="100">
<label for="lti-family">Last name (optional)</label><input id="lti-family" name="familyName" value="Hopper" maxlength="100">
<label for="lti-email">Email (optional)</label><input id="lti-email" name="email" type="email" value="grace@example.com" maxlength="254">
<label for="lti-exam">Exam</label>
<select id="lti-exam" name="exam">{{range .Exams}}<option value="{{.Code}}">{{.Title}} ({{.Code}})</option>{{end}}</select>
<label for="lti-course">Course id taken from (the platform registration's courseIdSource; the launch carries all four)</label>
<select id="lti-course" name="courseSource">
<option value="course_id">custom course_id</option><option value="id">custom id</option>
<option value="deployment_id">deployment_id</option><option value="target_link_uri">target link, exam as custom exam_code</option>
</select>
<label for="lti-as">Launch as</label>
<select id="lti-as" name="as">
<option value="learner">a learner (the Learner role)</option>
<option value="instructor">an instructor opening the activity (preview)</option>
<option value="picker">an instructor adding an activity (Deep Linking picker)</option>
</select>
<label for="lti-locale">Platform language (launch_presentation.locale)</label>
<select id="lti-locale" name="locale">
<option value="">not sent</option>
<option value="en-US">en-US</option>
<option value="nl-NL">nl-NL</option>
</select>
<label for="lti-where">Open the tool</label>
<select id="lti-where" name="where">
<option value="window">in this window</option>
<option value="iframe">in an iframe on the course page (with platform storage)</option>
</select>
<button type="submit">Launch from the LTI platform</button>
</form>
<h3>Scores the platform received</h3>
{{if .ScoresConnected}}<div class="wide"><table data-testid="lti-scores"><thead><tr><th scope="col">Received (UTC)</th><th scope="col">User</th><th scope="col">Line item</th><th scope="col">Progress</th><th scope="col">Grading</th><th scope="col">Score</th><th scope="col">Timestamp</th></tr></thead>
<tbody>{{range .Scores}}<tr><td>{{.Time.Format "15:04:05"}}</td><td>{{.UserID}}</td><td>{{.LineItem}}</td><td>{{.ActivityProgress}}</td><td>{{.GradingProgress}}</td><td>{{if .ScoreGiven}}{{.ScoreGiven}} / {{.ScoreMaximum}}{{else}}no score yet{{end}}</td><td>{{.Timestamp}}</td></tr>
{{else}}<tr><td colspan="7">No scores yet.</td></tr>{{end}}</tbody></table></div>
{{else}}<p data-testid="lti-scores">The simulated platform's score service is not connected in this build.</p>{{end}}
</section>
`))

// demoLTIData is what the LTI section shows.
func (s *Server) demoLTIData() map[string]any {
	d := map[string]any{"Exams": s.Catalog.Exams()}
	if s.Demo.LTIScores != nil {
		d["ScoresConnected"] = true
		d["Scores"] = s.Demo.LTIScores()
	}
	return d
}

// handleDemoLTILaunch is what the platform does when a learner opens the
// exam link in a course: it knows the learner and sends the login
// initiation, in this window or in the course page's iframe.
func (s *Server) handleDemoLTILaunch(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, examgate.Errorf(examgate.EINVALID, "The form could not be read."))
		return
	}
	field := func(name string) string { return strings.TrimSpace(r.PostForm.Get(name)) }
	exam, err := s.Catalog.Exam(field("exam"))
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	sub := field("sub")
	if sub == "" {
		s.errorPage(w, r, examgate.Errorf(examgate.EINVALID, "Give the platform user id (sub)."))
		return
	}
	p := s.Demo.LTI
	base := strings.TrimRight(s.BaseURL.String(), "/")
	link := ltitest.Link{
		TargetLinkURI: base + "/lti/exams/" + url.PathEscape(exam.Code),
		LineItem:      p.Issuer + "/lineitems/" + url.PathEscape(exam.Code) + "/scores",
		ReturnURL:     base + "/demo", // the simulated course is this page
		Locale:        field("locale"),
	}
	// The launch carries all four course id sources, as an Inspire link
	// can; the platform's registration names the one examgate takes, as
	// Inspire's admin chooses it. The demo has one registration, so the
	// latest choice applies to every launch that follows.
	link.Custom = map[string]any{"course_id": "demo-course-" + exam.Code, "id": "demo-id-" + exam.Code}
	source := field("courseSource")
	switch source {
	case lti.CourseIDFromCustomID, lti.CourseIDFromDeployment:
	case lti.CourseIDFromTargetLink:
		// The course is the target link, and the exam comes from a custom
		// parameter.
		link.TargetLinkURI = base + "/lti/provide/course/" + url.PathEscape(exam.Code)
		link.Custom["exam_code"] = exam.Code
	default:
		source = lti.CourseIDFromCustomCourseID
	}
	if s.Demo.LTICourseIDSource != nil {
		if err := s.Demo.LTICourseIDSource(r.Context(), source); err != nil {
			s.errorPage(w, r, err)
			return
		}
	}
	switch field("as") {
	case "instructor":
		link.Roles = []string{ltitest.RoleInstructor}
	case "picker":
		link.Roles = []string{ltitest.RoleInstructor}
		link.DeepLinking = true
		link.TargetLinkURI = base + lti.LaunchPath
	}
	hint := p.AddLaunch(ltitest.User{Sub: sub, Email: field("email"), GivenName: field("givenName"), FamilyName: field("familyName")}, link)
	to := "/lti-sim" + ltitest.StartPath + "?hint=" + url.QueryEscape(hint)
	if field("where") == "iframe" {
		to = "/lti-sim" + ltitest.CoursePath + "?hint=" + url.QueryEscape(hint)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
