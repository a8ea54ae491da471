package mail_test

import (
	"context"
	"encoding/json"
	"mime"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db/dbtest"
	exammail "github.com/examgate/examgate/mail"
	"github.com/examgate/examgate/mail/mailtest"
)

// TestBookingEmailSurvivesMailOutage books through the domain, so that the
// email job is written with the booking, then works the queue while the mail
// server is down and again once it is up: the email is delayed, not lost.
func TestBookingEmailSurvivesMailOutage(t *testing.T) {
	ctx := context.Background()
	store := dbtest.OpenSQLite(t)
	catalog := exOne(t)
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	clock := examgate.ClockFunc(func() time.Time { return now })
	cand, err := store.CompleteLaunch(ctx, &examgate.LaunchRecord{
		TokenID: "t1", TokenExpiresAt: now.Add(time.Hour),
		Candidate:   examgate.Candidate{Email: "ada@example.com", FirstName: "Ada"},
		Eligibility: examgate.Eligibility{ExamCode: "EX-1", CourseID: "c1", PurchasedAt: now, EndsAt: now.AddDate(0, 0, 30), CheckedAt: now},
		Session:     examgate.Session{TokenHash: "h1", CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.SetTimeZone(ctx, cand.ID, "America/New_York"); err != nil {
		t.Fatal(err)
	}
	bookings := &examgate.Bookings{Store: store, Catalog: catalog, Clock: clock}
	// Wednesday 2 December, 10:00 in Amsterdam is 09:00 UTC and 04:00 in New York.
	if _, err := bookings.Book(ctx, cand.ID, "EX-1", time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC), "click-key-1"); err != nil {
		t.Fatal(err)
	}

	srv := mailtest.Start(t)
	smtp, err := exammail.NewSMTP(srv.URL(), "examgate <no-reply@examgate.test>")
	if err != nil {
		t.Fatal(err)
	}
	jobs := &exammail.BookingJobs{Candidates: store, Catalog: catalog, Sender: smtp, BaseURL: "https://examgate.test"}
	w := &examgate.Worker{Store: store, Clock: clock, Backoff: func(int) time.Duration { return time.Minute }}
	w.Handle(examgate.JobBookingEmail, jobs.Handle)

	srv.SetDown(true)
	if worked, err := w.RunOnce(ctx); !worked || err != nil {
		t.Fatalf("RunOnce = %v, %v", worked, err)
	}
	queued, _ := store.Jobs(ctx, examgate.JobFilter{Kind: examgate.JobBookingEmail})
	if len(queued) != 1 || queued[0].State != examgate.JobQueued || queued[0].LastError == "" || !queued[0].RunAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("after outage: %+v", queued)
	}
	if worked, _ := w.RunOnce(ctx); worked {
		t.Fatal("retried before its backoff")
	}

	srv.SetDown(false)
	now = now.Add(time.Minute)
	if worked, err := w.RunOnce(ctx); !worked || err != nil {
		t.Fatalf("RunOnce = %v, %v", worked, err)
	}
	got := srv.Messages()
	if len(got) != 1 || got[0].To[0] != "ada@example.com" {
		t.Fatalf("delivered = %+v", got)
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(got[0].Data)))
	if err != nil {
		t.Fatal(err)
	}
	dec := new(mime.WordDecoder)
	subject, _ := dec.DecodeHeader(msg.Header.Get("Subject"))
	if !strings.Contains(subject, "Exam One") || !strings.Contains(subject, "04:00") {
		t.Fatalf("subject %q should name the exam and the learner's local time", subject)
	}
	done, _ := store.Jobs(ctx, examgate.JobFilter{Kind: examgate.JobBookingEmail})
	if done[0].State != examgate.JobDone || done[0].Attempts != 2 {
		t.Fatalf("job = %+v", done[0])
	}
}

// exOne is a catalog of one exam, EX-1, bookable on Wednesdays in Amsterdam.
func exOne(t *testing.T) *examgate.Catalog {
	t.Helper()
	catalog, err := examgate.ParseCatalog([]byte(`
exams:
  - code: EX-1
    title: Exam One
    eligibilityDays: 30
    ti: {courseIds: [c1]}
    availability: {timeZone: Europe/Amsterdam, slotMinutes: 60, seats: 3, weekly: {wed: ["09:00-17:00"]}}
`))
	if err != nil {
		t.Fatal(err)
	}
	return catalog
}

type oneCandidate examgate.Candidate

func (c *oneCandidate) CandidateByID(context.Context, int64) (*examgate.Candidate, error) {
	cand := examgate.Candidate(*c)
	return &cand, nil
}

// A learner whose platform launched in Dutch gets the booking email, its
// rules, dates and calendar file in Dutch.
func TestBookingEmailInDutch(t *testing.T) {
	catalog := exOne(t)
	sink := &exammail.Sink{}
	jobs := &exammail.BookingJobs{
		Candidates: &oneCandidate{ID: 7, Email: "sanne@example.com", FirstName: "Sanne", Locale: "nl-NL"},
		Catalog:    catalog, Sender: sink, BaseURL: "https://examgate.test",
	}
	booking := examgate.Booking{
		ID: 9, CandidateID: 7, ExamCode: "EX-1", TimeZone: "Europe/Amsterdam", Status: examgate.BookingPending, LinkToken: "k3y",
		// Wednesday 2 December 2026, 10:00 in Amsterdam; booked two days before.
		StartsAt: time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC), EndsAt: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC),
		UpdatedAt: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC),
	}
	payload, _ := json.Marshal(examgate.BookingEmailJob{Event: exammail.KindBooked, CandidateID: 7, Booking: booking})
	if err := jobs.Handle(context.Background(), &examgate.QueuedJob{ID: 1, Payload: payload}); err != nil {
		t.Fatal(err)
	}
	sent := sink.Messages()
	if len(sent) != 1 {
		t.Fatalf("sent %d messages", len(sent))
	}
	m := sent[0].Message
	if want := "Uw examen is geboekt: Exam One op wo 2 dec 2026 om 10:00 CET"; m.Subject != want {
		t.Errorf("Subject = %q", m.Subject)
	}
	for _, want := range []string{
		"Beste Sanne,\n\nUw examen is geboekt.",
		"Wanneer:  wo 2 dec 2026, 10:00–11:00 CET (Europe/Amsterdam)",
		"Regels:   U kunt 30 minuten voor het geboekte tijdstip starten.",
		"U kunt annuleren of verzetten tot 24 uur voor de start",
		"Uw boeking, en Start zodra het inchecken begint:\nhttps://examgate.test/b/k3y",
		"Met het bijgevoegde bestand exam-EX-1.ics zet u het examen in uw agenda.",
	} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("body lacks %q:\n%s", want, m.Text)
		}
	}
	for _, english := range []string{"Your ", "Hello", "When:", "Rules:", "Wed ", "Dec "} {
		if strings.Contains(m.Text, english) {
			t.Errorf("body has English %q:\n%s", english, m.Text)
		}
	}
	ics := string(m.Attachments[0].Data)
	if !strings.Contains(ics, "SUMMARY:Examen: Exam One") || !strings.Contains(ics, "Tijdzone van het examen") {
		t.Errorf("calendar file is not in Dutch:\n%s", ics)
	}
}
