package server

import (
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/tiapi"
	"github.com/examgate/examgate/tiapi/titest"
)

var demoTmpl = template.Must(template.Must(demoLTISection.Clone()).New("demo").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="/favicon.svg">
<title>examgate demo · Thought Industries simulator</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1a1a1a;background:#f6f7f9}
main{max-width:52rem;margin:2rem auto;padding:0 1rem}
section{background:#fff;border-radius:8px;box-shadow:0 1px 3px #0002;padding:1.5rem;margin-bottom:1.5rem}
label{display:block;margin:.75rem 0 .25rem;font-weight:600}
input,select{font:inherit;padding:.5rem;width:100%;max-width:24rem;box-sizing:border-box}
button{font:inherit;margin-top:1rem;padding:.6rem 1.2rem;background:#1d4ed8;color:#fff;border:0;border-radius:6px;cursor:pointer}
button:focus-visible,input:focus-visible,select:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
table{border-collapse:collapse;width:100%;font-size:.875rem}th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #ddd}
.hint{color:#555;font-size:.875rem}
.wide{overflow-x:auto}
pre{white-space:pre-wrap;background:#f3f4f6;padding:.75rem;border-radius:6px}
</style></head>
<body><main>
<h1>examgate demo</h1>
<p>This page plays Thought Industries: it creates the learner and their course purchase in the built-in TI simulator,
signs a launch link the way TI does, and sends your browser through it.</p>
<section aria-labelledby="launch-h">
<h2 id="launch-h">Launch an exam as a learner</h2>
<form method="post" action="/demo/launch">
<label for="firstName">First name</label><input id="firstName" name="firstName" value="Ada" required maxlength="100">
<label for="lastName">Last name</label><input id="lastName" name="lastName" value="Lovelace" required maxlength="100">
<label for="email">Email</label><input id="email" name="email" type="email" value="ada@example.com" required maxlength="254">
<label for="externalId">External id (TI externalCustomerId)</label><input id="externalId" name="externalId" value="cust-1001" maxlength="100">
<label for="exam">Exam</label>
<select id="exam" name="exam">{{range .Exams}}<option value="{{.Code}}">{{.Title}} ({{.Code}})</option>{{end}}</select>
<label for="purchasedOn">Course bought on</label><input id="purchasedOn" name="purchasedOn" type="date" value="{{.PurchasedOn}}" required>
<p class="hint">The simulator records the purchase at 12:00 UTC that day; eligibility ends that many days later as the exam says.</p>
<button type="submit">Launch as learner</button>
</form>
</section>
{{if .LTI}}{{template "demo-lti" .LTI}}{{end}}
{{if .CanCheck}}<section aria-labelledby="check-h">
<h2 id="check-h">Check the TI setup</h2>
<p>Runs <code>examgate ti check</code> against the simulator, as an operator runs it against their TI after configuring it:
the API key, the clock, the rate limit, each exam's course and assignment ids, and one page of purchase events.</p>
<form method="get" action="/demo#check-h"><input type="hidden" name="check" value="1"><button type="submit">Run the check</button></form>
{{if .Check}}<div class="wide"><table data-testid="ti-check"><thead><tr><th scope="col">Check</th><th scope="col">Verdict</th><th scope="col">Detail</th></tr></thead>
<tbody>{{range .Check}}<tr><td>{{.Check}}</td><td>{{.Verdict}}</td><td>{{.Detail}}</td></tr>{{end}}</tbody></table></div>{{end}}
</section>{{end}}
<section aria-labelledby="mode-h">
<h2 id="mode-h">Make the simulated TI misbehave</h2>
<p>To watch result deliveries retry (see <code>examgate deliveries list</code> or the <code>deliveries</code> query with the admin key).</p>
<form method="post" action="/demo/ti-mode">
<label for="mode">TI answers</label>
<select id="mode" name="mode">
<option value="normal">normally, in the layouts of TI's endpoint pages</option>
<option value="bare">normally, in the bare layouts of TI's guides, with error objects</option>
<option value="feature-off">refusing results: External Activity feature not enabled</option>
<option value="down">503 to everything until set back (down)</option>
<option value="429">429 Too Many Requests, Retry-After 30, to the next 5 requests</option>
<option value="500">500 to the next 5 requests</option>
<option value="slow">slowly: 3 s per request until set back</option>
</select>
<button type="submit">Apply</button>
</form>
{{if .Mode}}<p role="status">TI simulator: {{.Mode}}.</p>{{end}}
</section>
<section aria-labelledby="calls-h">
<h2 id="calls-h">Calls the simulated TI received</h2>
<table data-testid="ti-calls"><thead><tr><th scope="col">Time (UTC)</th><th scope="col">Method</th><th scope="col">Path</th><th scope="col">Query</th><th scope="col">Status</th></tr></thead>
<tbody>{{range .Calls}}<tr><td>{{.Time.Format "15:04:05"}}</td><td>{{.Method}}</td><td>{{.Path}}</td><td>{{.Query}}</td><td>{{.Status}}</td></tr>
{{else}}<tr><td colspan="5">No calls yet.</td></tr>{{end}}</tbody></table>
</section>
<section aria-labelledby="mail-h">
<h2 id="mail-h">Emails examgate sent</h2>
<div data-testid="mails">{{range .Mails}}<details><summary>{{.At.Format "15:04:05"}} to {{.To}}: {{.Subject}}</summary>
<pre>{{.Text}}</pre>{{range .Attachments}}<p>Attachment: {{.Filename}} ({{.ContentType}})</p>{{end}}</details>
{{else}}<p>No emails yet.</p>{{end}}</div>
</section>
</main></body></html>
`))

func (s *Server) handleDemo(w http.ResponseWriter, r *http.Request) {
	var check []tiapi.CheckLine
	if r.URL.Query().Get("check") == "1" && s.Demo.Check != nil {
		check = s.Demo.Check(r.Context())
	}
	calls := s.Demo.TI.Calls()
	slices.Reverse(calls) // newest first
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = demoTmpl.Execute(w, map[string]any{
		"Exams":       s.Catalog.Exams(),
		"PurchasedOn": s.Clock.Now().AddDate(0, 0, -10).Format(time.DateOnly),
		"Calls":       calls,
		"Mails":       s.Demo.Mail.Messages(),
		"Mode":        demoModes[r.URL.Query().Get("mode")],
		"LTI":         s.demoLTI(),
		"CanCheck":    s.Demo.Check != nil,
		"Check":       check,
	})
}

// demoLTI is the data of the LTI section, or nil without the simulator.
func (s *Server) demoLTI() map[string]any {
	if s.Demo.LTI == nil || s.LTITool == nil {
		return nil
	}
	return s.demoLTIData()
}

var demoModes = map[string]string{
	"normal": "answering normally", "bare": "answering in bare layouts", "feature-off": "refusing results (feature not enabled)", "down": "down (503)", "429": "answering 429 to the next 5 requests",
	"500": "answering 500 to the next 5 requests", "slow": "answering after 3 s",
}

// handleDemoTIMode switches the simulated TI between answering normally and
// the failures a real TI shows, so that the demo can show retries.
func (s *Server) handleDemoTIMode(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<10)
	_ = r.ParseForm()
	ti := s.Demo.TI
	mode := r.PostForm.Get("mode")
	ti.SetDown(false)
	ti.SetLatency(0)
	ti.FailNext(0, 0, "")
	ti.SetShape(titest.Enveloped)
	ti.SetErrorStyle(titest.StringErrors)
	ti.SetExternalActivityEnabled(true)
	switch mode {
	case "bare":
		// The layouts of TI's pagination guide and tutorials, which the
		// client reads as well as the endpoint pages' envelopes.
		ti.SetShape(titest.Bare)
		ti.SetErrorStyle(titest.ObjectErrors)
	case "feature-off":
		ti.SetExternalActivityEnabled(false)
	case "down":
		ti.SetDown(true)
	case "429":
		ti.FailNext(5, http.StatusTooManyRequests, "30")
	case "500":
		ti.FailNext(5, http.StatusInternalServerError, "")
	case "slow":
		ti.SetLatency(3 * time.Second)
	default:
		mode = "normal"
	}
	http.Redirect(w, r, "/demo?mode="+mode, http.StatusSeeOther)
}

// handleDemoLaunch does what TI does when a learner opens the External
// Activity: it knows the learner and their purchase, signs a launch token
// and sends the browser to examgate's launch URL.
func (s *Server) handleDemoLaunch(w http.ResponseWriter, r *http.Request) {
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
	day, err := time.Parse(time.DateOnly, field("purchasedOn"))
	if err != nil {
		s.errorPage(w, r, examgate.Errorf(examgate.EINVALID, "Give the purchase date as YYYY-MM-DD."))
		return
	}
	email := field("email")
	if email == "" {
		s.errorPage(w, r, examgate.Errorf(examgate.EINVALID, "Give the learner an email address."))
		return
	}
	user := s.Demo.TI.AddUser(titest.User{
		Email: email, ExternalCustomerID: field("externalId"),
		FirstName: field("firstName"), LastName: field("lastName"),
	})
	s.Demo.TI.AddPurchase(titest.Purchase{
		UserID: user.ID, CourseID: exam.TI.CourseIDs[0], Slug: exam.TI.CourseSlug,
		SKU: exam.Code, Time: day.Add(12 * time.Hour),
	})
	token, err := titest.SignLaunch(s.Demo.Secret, titest.LaunchToken{
		Email: email, FirstName: user.FirstName, LastName: user.LastName,
		ExternalCustomerID: user.ExternalCustomerID, CourseID: exam.TI.CourseIDs[0],
		AssignmentID: exam.TI.AssignmentID, IssuedAt: s.Clock.Now(),
	})
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	http.Redirect(w, r, titest.LaunchURL("", exam.Code, token), http.StatusSeeOther)
}
