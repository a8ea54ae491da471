package server

import (
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/examgate/examgate"
)

// handleBookingLink serves the page a booking's emails and calendar file
// link to. Sessions last hours and start only from the course, so on exam
// day that link is often opened without one: the page names the exam and
// the time and sends the learner through their course to sign in. With the
// booking's own session it goes straight to the exam's dashboard.
func (s *Server) handleBookingLink(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	b, exam, err := s.Bookings.ByLink(ctx, r.PathValue("token"))
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Robots-Tag", "noindex")
	if sess, err := examgate.RequireSession(ctx); err == nil && sess.CandidateID == b.CandidateID {
		http.Redirect(w, r, "/exams/"+exam.Code, http.StatusSeeOther)
		return
	}
	cand, err := s.Store.CandidateByID(ctx, b.CandidateID)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	zone := b.TimeZone
	if cand.TimeZone != "" {
		zone = cand.TimeZone
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		loc, zone = time.UTC, "UTC"
	}
	opens, _ := exam.Policy.CheckInWindow(b)
	opensAt := opens.In(loc).Format("15:04")
	if y, m, d := opens.In(loc).Date(); !sameDay(b.StartsAt.In(loc), y, m, d) {
		opensAt = opens.In(loc).Format("Monday 2 January, 15:04")
	}
	page := bookingLinkPage{
		Exam:   exam.Title,
		When:   b.StartsAt.In(loc).Format("Monday 2 January 2006, 15:04") + "–" + b.EndsAt.In(loc).Format("15:04"),
		Zone:   zone,
		Status: string(b.Status),
		Opens:  opensAt,
	}
	page.Course, page.CourseLabel = s.signInRoute(r, cand, exam)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := bookingLinkTmpl.Execute(w, page); err != nil {
		s.Logger.ErrorContext(ctx, "booking page", "err", err)
	}
}

func sameDay(t time.Time, y int, m time.Month, d int) bool {
	ty, tm, td := t.Date()
	return ty == y && tm == m && td == d
}

// signInRoute is where a learner without a session signs in for an exam:
// the platform they came from (LTI), else the course page (TI), which asks
// them to sign in there. An empty URL means "open it from your course".
func (s *Server) signInRoute(r *http.Request, cand *examgate.Candidate, exam *examgate.Exam) (url, label string) {
	if s.LTILaunch != nil {
		if lc, err := s.LTILaunch.Store.LTIContext(r.Context(), cand.ID, exam.Code); err == nil {
			return lc.ReturnURL, "Open your course"
		}
	}
	if s.CoursePage != nil {
		return s.CoursePage(exam), "Open your course"
	}
	return "", ""
}

type bookingLinkPage struct {
	Exam, When, Zone, Status, Opens string
	Course, CourseLabel             string
}

// logPath is the path as logged: a booking link's token is left out.
func logPath(path string) string {
	if strings.HasPrefix(path, "/b/") {
		return "/b/…"
	}
	return path
}

var bookingLinkTmpl = template.Must(template.New("booking").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<link rel="icon" href="/favicon.svg">
<title>{{.Exam}} · your booking · examgate</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f4f6f8}
main{max-width:36rem;margin:8vh auto;padding:2rem;background:#fff;border-radius:8px;box-shadow:0 1px 3px #0002}
h1{font-size:1.4rem;margin-top:0}.when{font-size:1.1rem}
a.button{display:inline-block;padding:.6rem 1.1rem;border-radius:.5rem;background:#0b5cad;color:#fff;text-decoration:none;font-weight:600}
a:focus-visible{outline:3px solid #1b1f24;outline-offset:2px;box-shadow:0 0 0 2px #f2b600}
.note{color:#4f5863;font-size:.9rem}
</style></head>
<body><main>
<h1>{{.Exam}}</h1>
{{if eq .Status "pending"}}
<p class="when" data-testid="booking-when">Your booking: <strong>{{.When}}</strong> ({{.Zone}})</p>
<p>Start opens at {{.Opens}}. To start, sign in through your course, then open the exam there.</p>
{{else if eq .Status "cancelled"}}
<p class="when" data-testid="booking-when">This booking for <strong>{{.When}}</strong> ({{.Zone}}) was cancelled.</p>
<p>To book another time, sign in through your course and open the exam there.</p>
{{else if eq .Status "no_show"}}
<p class="when" data-testid="booking-when">This booking for <strong>{{.When}}</strong> ({{.Zone}}) was missed: its check-in closed.</p>
<p>Sign in through your course and open the exam there to see what you can do next, or contact support.</p>
{{else}}
<p class="when" data-testid="booking-when">This exam was started at the booking for <strong>{{.When}}</strong> ({{.Zone}}).</p>
<p>To see your result, sign in through your course and open the exam there.</p>
{{end}}
{{if .Course}}<p><a class="button" href="{{.Course}}">{{.CourseLabel}}</a></p>
{{else}}<p>Open the exam from your course in your learning platform.</p>{{end}}
<p class="note">You see this page because this browser is not signed in to examgate: sign-in always starts from your course.</p>
</main></body></html>
`))
