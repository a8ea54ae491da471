package graph

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/graph/model"
)

func toCandidate(c *examgate.Candidate) *model.Candidate {
	m := &model.Candidate{ID: strconv.FormatInt(c.ID, 10), Email: c.Email, FirstName: c.FirstName, LastName: c.LastName, Name: c.DisplayName()}
	if c.ExternalID != "" {
		m.ExternalID = &c.ExternalID
	}
	if c.TimeZone != "" {
		m.TimeZone = &c.TimeZone
	}
	return m
}

func toExam(e *examgate.Exam) *model.Exam {
	m := &model.Exam{Code: e.Code, Title: e.Title, EligibilityDays: e.EligibilityDays, Bookable: e.Availability != nil}
	if a := e.Availability; a != nil {
		m.TimeZone = &a.TimeZone
		m.SlotMinutes = &a.SlotMinutes
	}
	if d := e.Delivery; d != nil {
		m.Deliverable, m.OnDemand = true, d.OnDemand
		n := d.ItemCount()
		allowed := d.Attempts()
		m.DurationMinutes, m.PassMark, m.ItemCount, m.AttemptsAllowed = &d.DurationMinutes, &d.PassMark, &n, &allowed
	}
	if a := e.Availability; a != nil {
		p := e.Policy.WithDefaults()
		m.Policy = &model.BookingPolicy{
			CheckInOpensMinutesBefore: minutes(p.CheckInBefore.D()), CheckInClosesMinutesAfter: minutes(p.CheckInAfter.D()),
			CancelCutoffMinutes: minutes(p.CancelCutoff.D()), RescheduleCutoffMinutes: minutes(p.RescheduleCutoff.D()),
			MaxReschedules: *p.MaxReschedules, LeadTimeMinutes: minutes(a.LeadTime.D()),
		}
	}
	return m
}

// minutes rounds a policy duration up to whole minutes, the unit the API
// gives them in: a rule is never shown as shorter than it is.
func minutes(d time.Duration) int { return int((d + time.Minute - 1) / time.Minute) }

func toPermission(d examgate.Decision) *model.Permission {
	p := &model.Permission{Allowed: d.Allowed}
	if !d.Allowed {
		p.Code, p.Reason = &d.Code, &d.Reason
	}
	return p
}

func toBooking(b *examgate.Booking, exam *examgate.Exam, now time.Time) *model.Booking {
	p := exam.Policy
	opens, closes := p.CheckInWindow(b)
	id := strconv.FormatInt(b.ID, 10)
	return &model.Booking{
		ID: id, ExamCode: b.ExamCode, Status: model.BookingStatus(upper(string(b.Status))),
		StartsAt: b.StartsAt, EndsAt: b.EndsAt, TimeZone: b.TimeZone,
		CheckInOpensAt: opens, CheckInClosesAt: closes,
		ReschedulesLeft: p.ReschedulesLeft(b),
		CanStart:        toPermission(p.CanStart(b, now)),
		CanCancel:       toPermission(p.CanCancel(b, now)),
		CanReschedule:   toPermission(p.CanReschedule(b, now)),
		CalendarURL:     "/bookings/" + id + "/calendar.ics",
		CreatedAt:       b.CreatedAt, UpdatedAt: b.UpdatedAt,
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// parseID reads an ID argument; a malformed one is simply not found.
func parseID(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return 0, examgate.Errorf(examgate.ENOTFOUND, "This booking does not exist. Reload the page.")
	}
	return n, nil
}

func toDelivery(j *examgate.QueuedJob) *model.Delivery {
	d := &model.Delivery{
		ID: strconv.FormatInt(j.ID, 10), Kind: j.Kind, State: model.JobState(upper(j.State)),
		Attempts: j.Attempts, NextTryAt: j.RunAt, CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt,
	}
	if j.LastError != "" {
		d.LastError = &j.LastError
	}
	var p examgate.TIResultJob
	if json.Unmarshal(j.Payload, &p) == nil && p.ResultID != 0 {
		id := strconv.FormatInt(p.ResultID, 10)
		d.ResultID = &id
	}
	return d
}

// Cursors are opaque to clients; inside they are the id to continue below.
func encodeCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("job:" + strconv.FormatInt(id, 10)))
}

func decodeCursor(c string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if s, ok := strings.CutPrefix(string(b), "job:"); err == nil && ok {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil && id > 0 {
			return id, nil
		}
	}
	return 0, examgate.Errorf(examgate.EINVALID, "after is not a cursor from this list; use pageInfo.endCursor.")
}
