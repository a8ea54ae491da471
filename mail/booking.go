package mail

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/i18n"
)

// Kinds of booking email.
const (
	KindBooked      = "booked"
	KindRescheduled = "rescheduled"
	KindCancelled   = "cancelled"
)

// BookingDetails is what a booking email says.
type BookingDetails struct {
	To        string
	FirstName string
	ExamTitle string // empty: the exam code
	ExamCode  string // empty: Booking.ExamCode
	Booking   examgate.Booking
	// PreviousStart is the old start of a rescheduled booking.
	PreviousStart time.Time
	// LearnerTimeZone is the learner's IANA zone; empty or unknown means
	// the exam's zone.
	LearnerTimeZone string
	// LinkURL is the booking's page (BookingURL): it opens without a
	// session and leads to the exam.
	LinkURL string
	// ExamMinutes is how long the exam itself takes; zero gives the seat's
	// length. Rules are the booking's cancel and reschedule rules
	// (examgate.Policy.RulesIn).
	ExamMinutes int
	Rules       []string
	// Locked says what the booking can no longer do when the email is sent
	// (examgate.Policy.LockedIn): booked inside a cutoff.
	Locked string
	// Lang is the language the email is written in; empty is English.
	Lang i18n.Lang
	// Sequence is the calendar SEQUENCE; zero derives it from the booking
	// as BookingEvent does, which keeps the attachment and the dashboard's
	// calendar download in step.
	Sequence int
}

// BookingEmail returns the email for kind ("booked", "rescheduled" or
// "cancelled") with the booking's calendar file attached. From is left
// empty for the Sender to fill.
func BookingEmail(kind string, d BookingDetails) (*Message, error) {
	switch kind {
	case KindBooked, KindRescheduled, KindCancelled:
	default:
		return nil, fmt.Errorf("mail: booking email kind %q is unknown; use %q, %q or %q", kind, KindBooked, KindRescheduled, KindCancelled)
	}
	b := d.Booking
	if strings.TrimSpace(d.To) == "" {
		return nil, fmt.Errorf("mail: booking %d has no recipient; the candidate needs an email address", b.ID)
	}
	if b.StartsAt.IsZero() || !b.EndsAt.After(b.StartsAt) {
		return nil, fmt.Errorf("mail: booking %d runs from %v to %v; a booking email needs a start before its end", b.ID, b.StartsAt, b.EndsAt)
	}
	examLoc, err := loadZone(b.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("mail: booking %d: exam time zone %q is unknown (%v); fix the exam's availability timeZone in the catalog", b.ID, b.TimeZone, err)
	}
	learnerLoc := examLoc
	if d.LearnerTimeZone != "" {
		// A bad stored preference must not stop the confirmation.
		if loc, err := loadZone(d.LearnerTimeZone); err == nil {
			learnerLoc = loc
		}
	}
	code := oneLine(d.ExamCode)
	if code == "" {
		code = oneLine(b.ExamCode)
	}
	title := oneLine(d.ExamTitle)
	if title == "" {
		title = code
	}
	cancelled := kind == KindCancelled
	seq := d.Sequence
	if seq == 0 {
		seq = sequence(b.Reschedules, cancelled)
	}
	stamp := b.UpdatedAt
	if stamp.IsZero() {
		stamp = time.Now()
	}
	l := cmp.Or(d.Lang, i18n.English)
	ev := bookingEvent(l, b, title, code, d.LinkURL, stamp, seq, cancelled)
	filename := "exam-" + safeFilename(code) + ".ics"
	method := "PUBLISH"
	if cancelled {
		method = "CANCEL"
	}

	var t strings.Builder
	if name := oneLine(d.FirstName); name != "" {
		t.WriteString(l.T("mail.hello", name) + "\n\n")
	} else {
		t.WriteString(l.T("mail.helloAnon") + "\n\n")
	}
	when := whenLines(l, b.StartsAt, b.EndsAt, learnerLoc, examLoc, d.LearnerTimeZone != "")
	link := strings.TrimSpace(d.LinkURL)
	length := formatDuration(l, b.EndsAt.Sub(b.StartsAt))
	if d.ExamMinutes > 0 {
		length = formatDuration(l, time.Duration(d.ExamMinutes)*time.Minute)
	}
	var subject string
	switch kind {
	case KindBooked:
		subject = "mail.bookedSubject"
		t.WriteString(l.T("mail.booked") + "\n\n")
		field(&t, l.T("mail.exam"), title+" ("+code+")")
		field(&t, l.T("mail.when"), when...)
		writeTerms(&t, l, length, d, link)
		t.WriteString("\n" + l.T("mail.icsBooked", filename) + "\n")
	case KindRescheduled:
		subject = "mail.rescheduledSubject"
		t.WriteString(l.T("mail.rescheduled") + "\n\n")
		field(&t, l.T("mail.exam"), title+" ("+code+")")
		field(&t, l.T("mail.newTime"), when...)
		if !d.PreviousStart.IsZero() {
			field(&t, l.T("mail.oldTime"), l.Date(d.PreviousStart.In(learnerLoc), longTime)+" ("+learnerLoc.String()+")")
		}
		writeTerms(&t, l, length, d, link)
		t.WriteString("\n" + l.T("mail.icsRescheduled", filename) + "\n")
	case KindCancelled:
		subject = "mail.cancelledSubject"
		t.WriteString(l.T("mail.cancelled") + "\n\n")
		field(&t, l.T("mail.exam"), title+" ("+code+")")
		field(&t, l.T("mail.when"), when...)
		if link != "" {
			t.WriteString("\n" + l.T("mail.bookAgainLink") + "\n" + link + "\n")
		} else {
			t.WriteString("\n" + l.T("mail.bookAgain") + "\n")
		}
		t.WriteString("\n" + l.T("mail.icsCancelled", filename) + "\n")
	}
	t.WriteString(l.T("mail.icsUTC") + "\n\nexamgate\n")
	subject = l.T(subject, title, l.Date(b.StartsAt.In(learnerLoc), l.T("mail.subjectTime")))

	return &Message{
		To:      d.To,
		Subject: subject,
		Text:    t.String(),
		Attachments: []Attachment{{
			Filename:    filename,
			ContentType: "text/calendar; charset=utf-8; method=" + method,
			Data:        ICS(ev),
		}},
	}, nil
}

// writeTerms writes what the learner agreed to (the exam's length, the
// rules, what is no longer possible) and the booking's page.
func writeTerms(t *strings.Builder, l i18n.Lang, length string, d BookingDetails, link string) {
	field(t, l.T("mail.length"), length)
	field(t, l.T("mail.rules"), d.Rules...)
	if d.Locked != "" {
		t.WriteString("\n" + l.T("mail.note", d.Locked) + "\n")
	}
	writeLink(t, l, link)
}

// writeLink ends the email's body with the booking's page.
func writeLink(t *strings.Builder, l i18n.Lang, link string) {
	if link == "" {
		t.WriteString("\n" + l.T("mail.noLink") + "\n")
		return
	}
	t.WriteString("\n" + l.T("mail.link") + "\n" + link + "\n")
	t.WriteString(l.T("mail.signIn") + "\n")
}

// BookingEvent is the calendar entry of a booking, as its emails attach it
// and the dashboard serves it. baseURL is examgate's public URL; now stamps
// this version; l is the language of its summary and description.
func BookingEvent(l i18n.Lang, b *examgate.Booking, exam *examgate.Exam, baseURL string, now time.Time) Event {
	code, title := b.ExamCode, b.ExamCode
	if exam != nil {
		title = oneLine(exam.Title)
	}
	cancelled := b.Status == examgate.BookingCancelled
	return bookingEvent(l, *b, title, code, BookingURL(baseURL, b), now, sequence(b.Reschedules, cancelled), cancelled)
}

// BookingURL is where a booking's emails and calendar file lead: its own
// page, which needs no session, or for a booking made before such pages
// existed, the exam's dashboard.
func BookingURL(baseURL string, b *examgate.Booking) string {
	if b.LinkToken != "" {
		return strings.TrimRight(baseURL, "/") + examgate.BookingLinkPath(b.LinkToken)
	}
	return DashboardURL(baseURL, b.ExamCode)
}

// DashboardURL is the learner's page of an exam under examgate's public URL.
func DashboardURL(baseURL, examCode string) string {
	return strings.TrimRight(baseURL, "/") + "/exams/" + url.PathEscape(examCode)
}

// sequence grows with each change that calendars must apply: every
// reschedule, and the cancellation after them.
func sequence(reschedules int, cancelled bool) int {
	if cancelled {
		return reschedules + 1
	}
	return reschedules
}

func bookingEvent(l i18n.Lang, b examgate.Booking, title, code, link string, stamp time.Time, seq int, cancelled bool) Event {
	ev := Event{
		UID:       fmt.Sprintf("booking-%d@%s", b.ID, uidDomain(link)),
		Summary:   l.T("ics.summary", title),
		Location:  link,
		URL:       link,
		Start:     b.StartsAt,
		End:       b.EndsAt,
		Stamp:     stamp,
		TimeZone:  b.TimeZone,
		Sequence:  seq,
		Cancelled: cancelled,
		Lang:      l,
	}
	ev.Description = title + " (" + code + ")."
	if link != "" {
		ev.Description += "\n" + l.T("ics.link", link)
	}
	if cancelled {
		ev.Summary = l.T("ics.cancelledSummary", title)
		ev.Description = l.T("ics.cancelled", title, code)
		if link != "" {
			ev.Description += "\n" + l.T("ics.bookAgain", link)
		}
	}
	return ev
}

// uidDomain makes UIDs of different examgate installations distinct while
// keeping them stable per booking.
func uidDomain(link string) string {
	if u, err := url.Parse(link); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "examgate"
}

// longTime is a start on its own; the subject's layout is in the catalogue
// (mail.subjectTime), as it holds a word.
const longTime = "Mon 2 Jan 2006, 15:04 MST"

// whenLines gives the slot in the learner's zone, then the exam's when it
// differs, then UTC, each with the zone named.
func whenLines(l i18n.Lang, start, end time.Time, learner, exam *time.Location, learnerKnown bool) []string {
	var lines []string
	if learnerKnown && learner.String() != exam.String() {
		lines = append(lines, formatRange(l, start, end, learner)+" ("+l.T("mail.yourZone", learner.String())+")")
		lines = append(lines, formatRange(l, start, end, exam)+" ("+l.T("mail.examZone", exam.String())+")")
	} else {
		lines = append(lines, formatRange(l, start, end, exam)+" ("+exam.String()+")")
	}
	if learner.String() != "UTC" && exam.String() != "UTC" {
		lines = append(lines, formatRange(l, start, end, time.UTC))
	}
	return lines
}

// formatRange writes a slot compactly, repeating the date or the zone
// abbreviation only when the slot crosses midnight or a DST change.
func formatRange(l i18n.Lang, start, end time.Time, loc *time.Location) string {
	s, e := start.In(loc), end.In(loc)
	sy, sm, sd := s.Date()
	ey, em, ed := e.Date()
	sameDay := sy == ey && sm == em && sd == ed
	switch {
	case sameDay && s.Format("MST") == e.Format("MST"):
		return l.Date(s, "Mon 2 Jan 2006, 15:04") + "–" + e.Format("15:04 MST")
	case sameDay:
		return l.Date(s, "Mon 2 Jan 2006, 15:04 MST") + "–" + e.Format("15:04 MST")
	default:
		return l.Date(s, longTime) + " – " + l.Date(e, longTime)
	}
}

func formatDuration(l i18n.Lang, d time.Duration) string {
	d = d.Round(time.Minute)
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h == 0:
		return l.N("unit.minutes", m)
	case m == 0:
		return l.N("unit.hours", h)
	default:
		return l.N("unit.hours", h) + " " + l.N("unit.minutes", m)
	}
}

// field writes a labelled value; further values line up under the first.
func field(t *strings.Builder, label string, values ...string) {
	for i, v := range values {
		if i > 0 {
			label = ""
		}
		fmt.Fprintf(t, "%-10s%s\n", label, v)
	}
}

func loadZone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	if name == "Local" {
		// The server's zone says nothing about the exam or the learner.
		return nil, errors.New("Local is not an IANA zone name")
	}
	return time.LoadLocation(name)
}

// oneLine collapses white space, so that a catalog title written as a YAML
// block scalar cannot break the Subject header.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func safeFilename(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '-'
	}, s)
	if s == "" {
		return "booking"
	}
	return s
}
