package tiapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/examgate/examgate"
)

// PingResult is TI's answer to a ping, with what its headers tell of the
// key's rate limit and of TI's clock.
type PingResult struct {
	Valid     bool
	Date      time.Time // TI's clock, from the Date header; zero when absent
	Limit     int       // X-RateLimit-Limit; 0 when absent
	Remaining int       // X-RateLimit-Remaining; -1 when absent
}

// Ping checks that TI answers and takes the API key: GET
// /incoming/v2/ping answers {"valid": true} (docs/rest/ping); a key TI
// refuses is a 401 with an empty body (docs/rest/, Authentication).
func (c *Client) Ping(ctx context.Context) (PingResult, error) {
	const label = "/incoming/v2/ping"
	res := PingResult{Remaining: -1}
	ans, err := c.get(ctx, label, label, nil)
	if errors.Is(err, errNotFound) {
		return res, unavailable(errors.New("thought industries answered 404 for ping; check EXAMGATE_TI_BASE_URL (the address of your TI site, without /incoming)"))
	}
	if err != nil {
		return res, err
	}
	var body struct {
		Valid *bool `json:"valid"`
	}
	if json.Unmarshal(ans.body, &body) != nil || body.Valid == nil {
		return res, c.unreadable(ctx, &shapeError{label: label, want: `{"valid": true}`, keys: keysOf(ans.body)})
	}
	res.Valid = *body.Valid
	if d, err := http.ParseTime(ans.header.Get("Date")); err == nil {
		res.Date = d
	}
	if n, err := strconv.Atoi(strings.TrimSpace(ans.header.Get("X-RateLimit-Limit"))); err == nil {
		res.Limit = n
	}
	if n, err := strconv.Atoi(strings.TrimSpace(ans.header.Get("X-RateLimit-Remaining"))); err == nil {
		res.Remaining = n
	}
	return res, nil
}

// CourseExists looks a course up by id with GET
// /incoming/v2/courses/:courseId/structure (docs/rest/courses/structure),
// the nearest TI has to a course lookup: {"data":{"APICourseStructure":
// {"id",…}}}, or bare as the course-structure tutorial shows it.
func (c *Client) CourseExists(ctx context.Context, courseID string) (bool, error) {
	const label = "/incoming/v2/courses/{id}/structure"
	ans, err := c.get(ctx, "/incoming/v2/courses/"+url.PathEscape(courseID)+"/structure", label, nil)
	if errors.Is(err, errNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	raw, _, err := unwrap(label, ans.body, "APICourseStructure", "id")
	if err != nil {
		return false, c.unreadable(ctx, err)
	}
	return !isNull(raw), nil
}

// Verdicts of a check line.
const (
	CheckOK   = "ok"
	CheckWarn = "warn"
	CheckFail = "FAIL"
)

// CheckLine is one line of `examgate ti check`.
type CheckLine struct {
	Check   string
	Verdict string // CheckOK, CheckWarn or CheckFail
	Detail  string // what was seen and, if not ok, what to do; never a secret
}

// CheckSetup is what `examgate ti check` looks at.
type CheckSetup struct {
	Client  *Client
	Exams   []*examgate.Exam
	Secrets int  // launch secrets configured
	Plan    Plan // the pace examgate keeps; PerMinute 0 when unpaced
	Now     func() time.Time
}

// maxClockSkew is how far from TI's clock a sign-in token's iat may be
// (TI's JWT SSO: 500 seconds).
const maxClockSkew = 500 * time.Second

// Check proves a TI setup before learners arrive: the key, the clock, the
// rate limit, every exam's TI ids and one page of purchase events, and the
// launch secrets. It reads from TI and writes nothing.
func Check(ctx context.Context, s CheckSetup) []CheckLine {
	var out []CheckLine
	add := func(check, verdict, detail string, args ...any) {
		out = append(out, CheckLine{Check: check, Verdict: verdict, Detail: fmt.Sprintf(detail, args...)})
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}

	switch {
	case s.Secrets == 0:
		add("launch secret", CheckFail, "none is set: TI's launch links cannot be checked; set EXAMGATE_TI_SECRETS to the External Activity's shared secret")
	case s.Secrets == 1:
		add("launch secret", CheckOK, "1 set")
	default:
		add("launch secret", CheckOK, "%d set (the second is accepted while rotating)", s.Secrets)
	}

	ping, err := s.Client.Ping(ctx)
	switch {
	case err != nil:
		add("API key", CheckFail, "%s", checkError(err))
		return out // nothing else can be asked
	case !ping.Valid:
		add("API key", CheckFail, "TI's ping answered valid: false; check EXAMGATE_TI_API_KEY")
		return out
	default:
		add("API key", CheckOK, "TI's ping accepted it")
	}

	if ping.Date.IsZero() {
		add("clock", CheckWarn, "TI sent no Date header; cannot compare clocks (TI refuses sign-in tokens more than 500 s off)")
	} else {
		skew := now().Sub(ping.Date)
		if skew < 0 {
			skew = -skew
		}
		switch {
		case skew > maxClockSkew:
			add("clock", CheckFail, "this machine is %s off TI's clock, more than TI's 500 s for sign-in tokens; synchronise the clock (NTP)", skew.Round(time.Second))
		case skew > maxClockSkew/5:
			add("clock", CheckWarn, "%s off TI's clock; TI allows 500 s, synchronise the clock before it drifts further", skew.Round(time.Second))
		default:
			add("clock", CheckOK, "within %s of TI's clock (TI allows 500 s)", max(skew.Round(time.Second), time.Second))
		}
	}

	paced := "unpaced"
	if s.Plan.PerMinute > 0 {
		paced = fmt.Sprintf("%s, %d a minute", s.Plan.Name, s.Plan.PerMinute)
	}
	switch {
	case ping.Limit == 0:
		add("rate limit", CheckWarn, "TI sent no X-RateLimit-Limit; examgate paces as configured (%s)", paced)
	case s.Plan.PerMinute == 0:
		add("rate limit", CheckWarn, "TI allows %d a minute but examgate does not pace; set EXAMGATE_TI_PLAN", ping.Limit)
	case ping.Limit < s.Plan.PerMinute:
		add("rate limit", CheckFail, "TI allows %d a minute, examgate paces for %s; set EXAMGATE_TI_PLAN to match TI", ping.Limit, paced)
	case ping.Limit >= PlanEnterprise.PerMinute && s.Plan.PerMinute < PlanEnterprise.PerMinute:
		add("rate limit", CheckWarn, "TI allows %d a minute, examgate paces for %s; set EXAMGATE_TI_PLAN=enterprise to use it", ping.Limit, paced)
	default:
		add("rate limit", CheckOK, "TI allows %d a minute (%d left now); examgate paces for %s", ping.Limit, ping.Remaining, paced)
	}

	var firstCourse string
	for _, e := range s.Exams {
		name := "exam " + e.Code
		for _, id := range e.TI.CourseIDs {
			if !examgate.IsUUID(id) {
				add(name+" course", CheckFail, "%q is not a UUID; TI's course ids are, so no purchase would ever be found; copy the course id from TI", truncate(id))
				continue
			}
			if firstCourse == "" {
				firstCourse = id
			}
			switch ok, err := s.Client.CourseExists(ctx, id); {
			case err != nil:
				add(name+" course", CheckFail, "%s: %s", id, checkError(err))
			case !ok:
				add(name+" course", CheckFail, "%s: TI has no such course; correct ti.courseIds", id)
			default:
				add(name+" course", CheckOK, "%s exists", id)
			}
		}
		switch a := e.TI.AssignmentID; {
		case a == "":
			add(name+" assignment", CheckWarn, "no ti.assignmentId: results reach TI only if its launch links carry assignmentId")
		case !examgate.IsUUID(a):
			add(name+" assignment", CheckFail, "%q is not a UUID; TI refuses results for it", truncate(a))
		default:
			add(name+" assignment", CheckOK, "%s is well formed (TI offers no assignment lookup)", a)
		}
		if e.TI.CourseSlug == "" {
			add(name+" course slug", CheckWarn, "no ti.courseSlug: after a failed exam the course cannot be reset in TI")
		}
	}

	if firstCourse == "" {
		add("purchase events", CheckWarn, "no exam has a well-formed course id to read purchases of")
		return out
	}
	page, err := s.Client.FirstPurchasePage(ctx, firstCourse)
	if err != nil {
		add("purchase events", CheckFail, "%s", checkError(err))
	} else {
		add("purchase events", CheckOK, "read %d event(s) of course %s, %s layout", page.Events, firstCourse, page.Shape)
	}
	return out
}

// checkError is the operator's reason behind an error.
func checkError(err error) string {
	var e *examgate.Error
	if errors.As(err, &e) && e.Err != nil {
		err = e.Err
	}
	s := err.Error()
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// Failed reports whether any line failed.
func Failed(lines []CheckLine) bool {
	for _, l := range lines {
		if l.Verdict == CheckFail {
			return true
		}
	}
	return false
}
