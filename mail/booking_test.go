package mail_test

import (
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/i18n"
	"github.com/examgate/examgate/mail"
)

// The slot is on 2026-11-02, the day after New York leaves DST (EDT, UTC-4,
// to EST, UTC-5) and a week after Amsterdam did (CEST to CET): 14:00 UTC is
// 09:00 in New York, not 10:00, and 15:00 in Amsterdam.
func details() mail.BookingDetails {
	return mail.BookingDetails{
		To:        "Ada Lovelace <ada@example.com>",
		FirstName: "Ada",
		ExamTitle: "Demo Certification Exam",
		ExamCode:  "DEMO-101",
		Booking: examgate.Booking{
			ID:        42,
			ExamCode:  "DEMO-101",
			StartsAt:  time.Date(2026, 11, 2, 14, 0, 0, 0, time.UTC),
			EndsAt:    time.Date(2026, 11, 2, 16, 0, 0, 0, time.UTC),
			TimeZone:  "Europe/Amsterdam",
			Status:    examgate.BookingPending,
			LinkToken: "k3y",
			UpdatedAt: time.Date(2026, 10, 20, 8, 0, 0, 0, time.UTC),
		},
		LearnerTimeZone: "America/New_York",
		LinkURL:         "https://examgate.example.com/b/k3y",
		ExamMinutes:     20,
		Rules:           examgate.Policy{}.RulesIn(i18n.English),
	}
}

func TestBookingEmailKinds(t *testing.T) {
	cases := []struct {
		kind        string
		edit        func(d *mail.BookingDetails)
		subject     string
		body        []string
		method      string
		sequence    string
		status      string
		summaryHead string
	}{
		{
			kind:    "booked",
			subject: "Your exam is booked: Demo Certification Exam on Mon 2 Nov 2026 at 09:00 EST",
			body: []string{
				"Hello Ada,", "Your exam is booked.", "Demo Certification Exam (DEMO-101)",
				"Mon 2 Nov 2026, 09:00–11:00 EST (America/New_York, your time zone)",
				"Mon 2 Nov 2026, 15:00–17:00 CET (Europe/Amsterdam, the exam's time zone)",
				"Mon 2 Nov 2026, 14:00–16:00 UTC",
				// The exam's own length, not the two-hour seat, and the rules.
				"Length:   20 minutes",
				"Rules:    Start opens 30 minutes before the booked time.\n          You can cancel or move it until 24 hours before it starts (move it at most 3 times).",
				"Your booking, and Start when check-in opens:\nhttps://examgate.example.com/b/k3y",
				"exam-DEMO-101.ics", "in UTC",
			},
			method: "PUBLISH", sequence: "0", status: "CONFIRMED", summaryHead: "Exam: ",
		},
		{
			kind: "rescheduled",
			edit: func(d *mail.BookingDetails) {
				d.Booking.Reschedules = 1
				d.PreviousStart = time.Date(2026, 10, 30, 13, 0, 0, 0, time.UTC) // still EDT
				d.Locked = "It starts too soon to be cancelled or moved."
			},
			subject: "Your exam is rescheduled: Demo Certification Exam on Mon 2 Nov 2026 at 09:00 EST",
			body: []string{
				"Your exam has a new time.",
				"New time: Mon 2 Nov 2026, 09:00–11:00 EST (America/New_York, your time zone)",
				"Old time: Fri 30 Oct 2026, 09:00 EDT (America/New_York)",
				"Note: It starts too soon to be cancelled or moved.\n\nYour booking",
				"moves the exam in your calendar", "in UTC",
			},
			method: "PUBLISH", sequence: "1", status: "CONFIRMED", summaryHead: "Exam: ",
		},
		{
			kind: "cancelled",
			edit: func(d *mail.BookingDetails) {
				d.Booking.Reschedules = 1
				d.Booking.Status = examgate.BookingCancelled
			},
			subject: "Your exam is cancelled: Demo Certification Exam on Mon 2 Nov 2026 at 09:00 EST",
			body: []string{
				"Your exam booking is cancelled.",
				"When:     Mon 2 Nov 2026, 09:00–11:00 EST (America/New_York, your time zone)",
				"To book a new time, open this link:\nhttps://examgate.example.com/b/k3y",
				"removes the exam from your calendar", "in UTC",
			},
			method: "CANCEL", sequence: "2", status: "CANCELLED", summaryHead: "Cancelled: ",
		},
	}
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			d := details()
			if c.edit != nil {
				c.edit(&d)
			}
			m, err := mail.BookingEmail(c.kind, d)
			if err != nil {
				t.Fatal(err)
			}
			if m.Subject != c.subject {
				t.Errorf("Subject = %q\nwant      %q", m.Subject, c.subject)
			}
			for _, want := range c.body {
				if !strings.Contains(m.Text, want) {
					t.Errorf("body lacks %q:\n%s", want, m.Text)
				}
			}
			if strings.Contains(m.Text, "10:00") {
				t.Errorf("body has the EDT time 10:00 for an EST date:\n%s", m.Text)
			}
			if m.To != d.To || m.From != "" || len(m.Attachments) != 1 {
				t.Fatalf("To %q From %q, %d attachments", m.To, m.From, len(m.Attachments))
			}
			a := m.Attachments[0]
			if a.Filename != "exam-DEMO-101.ics" || a.ContentType != "text/calendar; charset=utf-8; method="+c.method {
				t.Errorf("attachment %q %q", a.Filename, a.ContentType)
			}
			cal, ev := eventProps(t, parseICS(t, a.Data))
			checks := map[string][2]string{
				"METHOD":   {cal["METHOD"].Value, c.method},
				"UID":      {ev["UID"].Value, "booking-42@examgate.example.com"},
				"DTSTART":  {ev["DTSTART"].Value, "20261102T140000Z"},
				"DTEND":    {ev["DTEND"].Value, "20261102T160000Z"},
				"DTSTAMP":  {ev["DTSTAMP"].Value, "20261020T080000Z"},
				"SEQUENCE": {ev["SEQUENCE"].Value, c.sequence},
				"STATUS":   {ev["STATUS"].Value, c.status},
				"SUMMARY":  {ev["SUMMARY"].Value, c.summaryHead + "Demo Certification Exam"},
				"TZ":       {cal["X-WR-TIMEZONE"].Value, "Europe/Amsterdam"},
			}
			for name, v := range checks {
				if v[0] != v[1] {
					t.Errorf("%s = %q, want %q", name, v[0], v[1])
				}
			}

			// The whole email renders and parses back.
			m.From = "examgate <no-reply@examgate.example.com>"
			raw, err := m.Bytes(time.Now(), "")
			if err != nil {
				t.Fatal(err)
			}
			_, parts := parseMessage(t, raw)
			if len(parts) != 2 || strings.ReplaceAll(string(parts[0].body), "\r\n", "\n") != m.Text || string(parts[1].body) != string(a.Data) {
				t.Errorf("rendered email does not carry the text and calendar")
			}
		})
	}
}

func TestBookingEmailZones(t *testing.T) {
	t.Run("no learner zone: the exam's zone and UTC", func(t *testing.T) {
		d := details()
		d.LearnerTimeZone = ""
		m, err := mail.BookingEmail("booked", d)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(m.Subject, "on Mon 2 Nov 2026 at 15:00 CET") {
			t.Errorf("Subject = %q", m.Subject)
		}
		if !strings.Contains(m.Text, "When:     Mon 2 Nov 2026, 15:00–17:00 CET (Europe/Amsterdam)\n          Mon 2 Nov 2026, 14:00–16:00 UTC\n") || strings.Contains(m.Text, "your time zone") {
			t.Errorf("body:\n%s", m.Text)
		}
	})
	t.Run("unknown learner zone falls back to the exam's", func(t *testing.T) {
		d := details()
		d.LearnerTimeZone = "Mars/Olympus_Mons"
		m, err := mail.BookingEmail("booked", d)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(m.Subject, "at 15:00 CET") {
			t.Errorf("Subject = %q", m.Subject)
		}
	})
	t.Run("UTC exam shows no separate UTC line", func(t *testing.T) {
		d := details()
		d.Booking.TimeZone, d.LearnerTimeZone = "UTC", ""
		m, err := mail.BookingEmail("booked", d)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(m.Text, "14:00–16:00 UTC") != 1 {
			t.Errorf("body:\n%s", m.Text)
		}
	})
	t.Run("slot across the DST change names both abbreviations", func(t *testing.T) {
		d := details()
		d.ExamMinutes = 0 // the seat's length, then
		// 01:00 EDT to 01:30 EST on 2026-11-01 in New York.
		d.Booking.StartsAt = time.Date(2026, 11, 1, 5, 0, 0, 0, time.UTC)
		d.Booking.EndsAt = time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC)
		m, err := mail.BookingEmail("booked", d)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Sun 1 Nov 2026, 01:00 EDT–01:30 EST (America/New_York, your time zone)", "Length:   1 hour 30 minutes"} {
			if !strings.Contains(m.Text, want) {
				t.Errorf("body lacks %q:\n%s", want, m.Text)
			}
		}
	})
	t.Run("slot across midnight repeats the date", func(t *testing.T) {
		d := details()
		d.Booking.StartsAt = time.Date(2026, 11, 3, 4, 0, 0, 0, time.UTC) // 23:00 EST on the 2nd
		d.Booking.EndsAt = time.Date(2026, 11, 3, 6, 0, 0, 0, time.UTC)
		m, err := mail.BookingEmail("booked", d)
		if err != nil {
			t.Fatal(err)
		}
		if want := "Mon 2 Nov 2026, 23:00 EST – Tue 3 Nov 2026, 01:00 EST (America/New_York, your time zone)"; !strings.Contains(m.Text, want) {
			t.Errorf("body lacks %q:\n%s", want, m.Text)
		}
	})
}

func TestBookingEmailFallbacksAndErrors(t *testing.T) {
	d := details()
	d.FirstName, d.LinkURL, d.ExamTitle = "", "", "Demo\n  Certification Exam\n" // a YAML block scalar
	m, err := mail.BookingEmail("cancelled", d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.Text, "Hello,\n") || !strings.Contains(m.Text, "open the exam from your course") {
		t.Errorf("body:\n%s", m.Text)
	}
	if m.Subject != "Your exam is cancelled: Demo Certification Exam on Mon 2 Nov 2026 at 09:00 EST" {
		t.Errorf("Subject = %q", m.Subject)
	}
	_, ev := eventProps(t, parseICS(t, m.Attachments[0].Data))
	if ev["UID"].Value != "booking-42@examgate" {
		t.Errorf("UID without a dashboard URL = %q", ev["UID"].Value)
	}

	bad := map[string]func(d *mail.BookingDetails) string{
		"unknown kind": func(d *mail.BookingDetails) string { return "moved" },
		"no recipient": func(d *mail.BookingDetails) string { d.To = " "; return "booked" },
		"no times":     func(d *mail.BookingDetails) string { d.Booking.EndsAt = d.Booking.StartsAt; return "booked" },
		"bad exam zone": func(d *mail.BookingDetails) string {
			d.Booking.TimeZone = "Europe/Atlantis"
			return "booked"
		},
	}
	for name, edit := range bad {
		d := details()
		kind := edit(&d)
		if _, err := mail.BookingEmail(kind, d); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestBookingEventMatchesEmail(t *testing.T) {
	d := details()
	d.Booking.Reschedules = 2
	m, err := mail.BookingEmail("rescheduled", d)
	if err != nil {
		t.Fatal(err)
	}
	_, fromEmail := eventProps(t, parseICS(t, m.Attachments[0].Data))
	exam := &examgate.Exam{Code: "DEMO-101", Title: "Demo Certification Exam"}
	b := d.Booking
	_, served := eventProps(t, parseICS(t, mail.ICS(mail.BookingEvent(i18n.English, &b, exam, "https://examgate.example.com/", b.UpdatedAt))))
	for _, name := range []string{"UID", "SEQUENCE", "DTSTART", "DTEND", "SUMMARY", "URL"} {
		if fromEmail[name].Value != served[name].Value {
			t.Errorf("%s: email %q, download %q", name, fromEmail[name].Value, served[name].Value)
		}
	}
	b.Status = examgate.BookingCancelled
	cal, ev := eventProps(t, parseICS(t, mail.ICS(mail.BookingEvent(i18n.English, &b, exam, "https://examgate.example.com", b.UpdatedAt))))
	if cal["METHOD"].Value != "CANCEL" || ev["SEQUENCE"].Value != "3" {
		t.Errorf("cancelled download: METHOD %q SEQUENCE %q", cal["METHOD"].Value, ev["SEQUENCE"].Value)
	}
	if got := mail.BookingURL("https://x.example/", &examgate.Booking{ExamCode: "A B", LinkToken: "t0k"}); got != "https://x.example/b/t0k" {
		t.Errorf("BookingURL = %q", got)
	}
	// A booking made before booking pages existed leads to the dashboard.
	if got := mail.BookingURL("https://x.example/", &examgate.Booking{ExamCode: "A B"}); got != "https://x.example/exams/A%20B" {
		t.Errorf("BookingURL without a token = %q", got)
	}
}
