package mail

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/examgate/examgate"
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
	// (examgate.Policy.Rules).
	ExamMinutes int
	Rules       []string
	// Locked says what the booking can no longer do when the email is sent
	// (examgate.Policy.Locked): booked inside a cutoff.
	Locked string
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
	ev := bookingEvent(b, title, code, d.LinkURL, stamp, seq, cancelled)
	filename := "exam-" + safeFilename(code) + ".ics"
	method := "PUBLISH"
	if cancelled {
		method = "CANCEL"
	}

	var t strings.Builder
	if name := oneLine(d.FirstName); name != "" {
		fmt.Fprintf(&t, "Hello %s,\n\n", name)
	} else {
		t.WriteString("Hello,\n\n")
	}
	when := whenLines(b.StartsAt, b.EndsAt, learnerLoc, examLoc, d.LearnerTimeZone != "")
	link := strings.TrimSpace(d.LinkURL)
	length := formatDuration(b.EndsAt.Sub(b.StartsAt))
	if d.ExamMinutes > 0 {
		length = formatDuration(time.Duration(d.ExamMinutes) * time.Minute)
	}
	var subject string
	switch kind {
	case KindBooked:
		subject = "Your exam is booked: "
		t.WriteString("Your exam is booked.\n\n")
		field(&t, "Exam:", title+" ("+code+")")
		field(&t, "When:", when...)
		writeTerms(&t, length, d, link)
		fmt.Fprintf(&t, "\nThe attached file %s adds the exam to your calendar.\n", filename)
	case KindRescheduled:
		subject = "Your exam is rescheduled: "
		t.WriteString("Your exam has a new time.\n\n")
		field(&t, "Exam:", title+" ("+code+")")
		field(&t, "New time:", when...)
		if !d.PreviousStart.IsZero() {
			field(&t, "Old time:", d.PreviousStart.In(learnerLoc).Format(longTime)+" ("+learnerLoc.String()+")")
		}
		writeTerms(&t, length, d, link)
		fmt.Fprintf(&t, "\nThe attached file %s moves the exam in your calendar.\n", filename)
	case KindCancelled:
		subject = "Your exam is cancelled: "
		t.WriteString("Your exam booking is cancelled. You no longer have a seat at this time:\n\n")
		field(&t, "Exam:", title+" ("+code+")")
		field(&t, "When:", when...)
		if link != "" {
			fmt.Fprintf(&t, "\nTo book a new time, open this link:\n%s\n", link)
		} else {
			t.WriteString("\nTo book a new time, open the exam from your course.\n")
		}
		fmt.Fprintf(&t, "\nThe attached file %s removes the exam from your calendar.\n", filename)
	}
	t.WriteString("Its times are in UTC; your calendar app shows them in your own time zone.\n\nexamgate\n")
	subject += title + " on " + b.StartsAt.In(learnerLoc).Format(subjectTime)

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
func writeTerms(t *strings.Builder, length string, d BookingDetails, link string) {
	field(t, "Length:", length)
	field(t, "Rules:", d.Rules...)
	if d.Locked != "" {
		fmt.Fprintf(t, "\nNote: %s\n", d.Locked)
	}
	writeLink(t, link)
}

// writeLink ends the email's body with the booking's page.
func writeLink(t *strings.Builder, link string) {
	if link == "" {
		t.WriteString("\nWhen it is time, open the exam from your course and press Start.\n")
		return
	}
	fmt.Fprintf(t, "\nYour booking, and Start when check-in opens:\n%s\n", link)
	t.WriteString("If you are asked to sign in, open the exam from your course.\n")
}

// BookingEvent is the calendar entry of a booking, as its emails attach it
// and the dashboard serves it. baseURL is examgate's public URL; now stamps
// this version.
func BookingEvent(b *examgate.Booking, exam *examgate.Exam, baseURL string, now time.Time) Event {
	code, title := b.ExamCode, b.ExamCode
	if exam != nil {
		title = oneLine(exam.Title)
	}
	cancelled := b.Status == examgate.BookingCancelled
	return bookingEvent(*b, title, code, BookingURL(baseURL, b), now, sequence(b.Reschedules, cancelled), cancelled)
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

func bookingEvent(b examgate.Booking, title, code, link string, stamp time.Time, seq int, cancelled bool) Event {
	ev := Event{
		UID:       fmt.Sprintf("booking-%d@%s", b.ID, uidDomain(link)),
		Summary:   "Exam: " + title,
		Location:  link,
		URL:       link,
		Start:     b.StartsAt,
		End:       b.EndsAt,
		Stamp:     stamp,
		TimeZone:  b.TimeZone,
		Sequence:  seq,
		Cancelled: cancelled,
	}
	ev.Description = title + " (" + code + ")."
	if link != "" {
		ev.Description += "\nYour booking, and Start when check-in opens: " + link
	}
	if cancelled {
		ev.Summary = "Cancelled: " + title
		ev.Description = "This booking of " + title + " (" + code + ") is cancelled."
		if link != "" {
			ev.Description += "\nBook a new time: " + link
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

const (
	longTime    = "Mon 2 Jan 2006, 15:04 MST"
	subjectTime = "Mon 2 Jan 2006 at 15:04 MST"
)

// whenLines gives the slot in the learner's zone, then the exam's when it
// differs, then UTC, each with the zone named.
func whenLines(start, end time.Time, learner, exam *time.Location, learnerKnown bool) []string {
	var lines []string
	if learnerKnown && learner.String() != exam.String() {
		lines = append(lines, formatRange(start, end, learner)+" ("+learner.String()+", your time zone)")
		lines = append(lines, formatRange(start, end, exam)+" ("+exam.String()+", the exam's time zone)")
	} else {
		lines = append(lines, formatRange(start, end, exam)+" ("+exam.String()+")")
	}
	if learner.String() != "UTC" && exam.String() != "UTC" {
		lines = append(lines, formatRange(start, end, time.UTC))
	}
	return lines
}

// formatRange writes a slot compactly, repeating the date or the zone
// abbreviation only when the slot crosses midnight or a DST change.
func formatRange(start, end time.Time, loc *time.Location) string {
	s, e := start.In(loc), end.In(loc)
	sy, sm, sd := s.Date()
	ey, em, ed := e.Date()
	sameDay := sy == ey && sm == em && sd == ed
	switch {
	case sameDay && s.Format("MST") == e.Format("MST"):
		return s.Format("Mon 2 Jan 2006, 15:04") + "–" + e.Format("15:04 MST")
	case sameDay:
		return s.Format("Mon 2 Jan 2006, 15:04 MST") + "–" + e.Format("15:04 MST")
	default:
		return s.Format(longTime) + " – " + e.Format(longTime)
	}
}

func formatDuration(d time.Duration) string {
	d = d.Round(time.Minute)
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	unit := func(n int, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %ss", n, one)
	}
	switch {
	case h == 0:
		return unit(m, "minute")
	case m == 0:
		return unit(h, "hour")
	default:
		return unit(h, "hour") + " " + unit(m, "minute")
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
