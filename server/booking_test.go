package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
	"github.com/examgate/examgate/server"
	"github.com/examgate/examgate/tiapi/titest"
)

// bookableCatalog is catalogYAML with DEMO-101 bookable: one seat an hour
// on Mondays and Tuesdays, UTC.
var bookableCatalog = strings.Replace(catalogYAML, "ti: {courseIds: [course-101], courseSlug: demo-course, assignmentId: 9b1d5e2a-7c4f-4a8e-b3d6-0f1e2d3c4b5a}",
	`ti: {courseIds: [course-101], courseSlug: demo-course, assignmentId: 9b1d5e2a-7c4f-4a8e-b3d6-0f1e2d3c4b5a}
    availability: {timeZone: UTC, slotMinutes: 60, seats: 1, weekly: {mon: ["09:00-17:00"], tue: ["09:00-17:00"]}}`, 1)

func TestBookingOverGraphQL(t *testing.T) {
	e := newEnvWithCatalog(t, dbtest.OpenSQLite(t), bookableCatalog, nil)
	ada, bob := e.browser(), e.browser()
	e.launch(ada, "DEMO-101", e.token(nil))
	other := e.ti.AddUser(titest.User{Email: "bob@example.com", ExternalCustomerID: "cust-bob"})
	e.ti.AddPurchase(titest.Purchase{UserID: other.ID, CourseID: course, Time: purchased})
	e.launch(bob, "DEMO-101", e.token(func(c *titest.LaunchToken) { c.Email, c.ExternalCustomerID = "bob@example.com", "cust-bob" }))

	// Monday 30 November 2026, 10:00 UTC: three days after the test clock.
	slot := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC).Format(time.RFC3339)
	got := e.graphql(ada, `{ availableSlots(examCode: "DEMO-101", from: "2026-11-30T00:00:00Z", to: "2026-12-01T00:00:00Z") { startsAt seatsLeft } }`)
	if len(got.Errors) > 0 || !strings.Contains(string(got.Data["availableSlots"]), `{"startsAt":"`+slot+`","seatsLeft":1}`) {
		t.Fatalf("slots: %s %+v", got.Data["availableSlots"], got.Errors)
	}
	// first: 1 is "first available": the earliest open slot only.
	got = e.graphql(ada, `{ availableSlots(examCode: "DEMO-101", from: "2026-11-30T00:00:00Z", to: "2026-12-08T00:00:00Z", first: 1) { startsAt } }`)
	if len(got.Errors) > 0 || string(got.Data["availableSlots"]) != `[{"startsAt":"2026-11-30T09:00:00Z"}]` {
		t.Fatalf("first available: %s %+v", got.Data["availableSlots"], got.Errors)
	}
	if got = e.graphql(ada, `{ availableSlots(examCode: "DEMO-101", from: "2026-11-30T00:00:00Z", to: "2026-12-08T00:00:00Z", first: 0) { startsAt } }`); len(got.Errors) != 1 || got.Errors[0].Extensions["code"] != "INVALID" {
		t.Fatalf("first: 0: %+v", got.Errors)
	}
	book := func(c *http.Client, k string) gqlResponse {
		return e.graphql(c, fmt.Sprintf(`mutation { bookSlot(input: {examCode: "DEMO-101", startsAt: %q, clientKey: %q}) {
			id status startsAt canStart { allowed code reason } canCancel { allowed } calendarUrl } }`, slot, k))
	}
	got = book(ada, "ada-click-1")
	if len(got.Errors) > 0 {
		t.Fatalf("book: %+v", got.Errors)
	}
	var booking struct {
		ID       string
		Status   string
		CanStart struct {
			Allowed      bool
			Code, Reason string
		}
		CalendarURL string
	}
	_ = json.Unmarshal(got.Data["bookSlot"], &booking)
	if booking.Status != "PENDING" || booking.CanStart.Allowed || booking.CanStart.Code != "NOT_IN_CHECKIN_WINDOW" || booking.CanStart.Reason == "" {
		t.Fatalf("booking = %+v", booking)
	}
	// The same click again answers the same booking.
	if again := book(ada, "ada-click-1"); !strings.Contains(string(again.Data["bookSlot"]), `"id":"`+booking.ID+`"`) {
		t.Fatalf("retried booking: %s %+v", again.Data["bookSlot"], again.Errors)
	}
	// The only seat is gone: Bob gets SLOT_FULL as a code the SPA understands.
	full := book(bob, "bob-click-1")
	if len(full.Errors) != 1 || full.Errors[0].Extensions["code"] != "SLOT_FULL" {
		t.Fatalf("full slot: %+v", full.Errors)
	}
	// Bob can neither cancel Ada's booking nor download its calendar.
	cancel := e.graphql(bob, fmt.Sprintf(`mutation { cancelBooking(input: {bookingId: %q, clientKey: "bob-click-2"}) { id } }`, booking.ID))
	if len(cancel.Errors) != 1 || cancel.Errors[0].Extensions["code"] != "NOT_FOUND" {
		t.Fatalf("cancel by another: %+v", cancel.Errors)
	}
	for _, c := range []*http.Client{bob, e.browser()} {
		resp, err := c.Get(e.url + booking.CalendarURL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatalf("calendar served to someone else: %d", resp.StatusCode)
		}
	}
	resp, err := ada.Get(e.url + booking.CalendarURL)
	if err != nil {
		t.Fatal(err)
	}
	ics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/calendar") ||
		!strings.Contains(string(ics), "DTSTART:20261130T100000Z") {
		t.Fatalf("calendar: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), ics)
	}
	// Without a session, mutations are refused.
	anon := e.graphql(e.browser(), fmt.Sprintf(`mutation { bookSlot(input: {examCode: "DEMO-101", startsAt: %q, clientKey: "anon-click"}) { id } }`, slot))
	if len(anon.Errors) != 1 || anon.Errors[0].Extensions["code"] != "UNAUTHENTICATED" {
		t.Fatalf("anonymous booking: %+v", anon.Errors)
	}
}

// The link in a booking's emails and calendar file works without a session:
// it names the exam and the time and leads to the course to sign in; the
// booking's own browser goes straight to the dashboard. It signs no one in.
func TestBookingLinkWithoutSession(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		e := newEnvWithCatalog(t, store, bookableCatalog, func(d *server.Deps) {
			d.CoursePage = func(exam *examgate.Exam) string { return "https://ti.example/learn/course/" + exam.TI.CourseSlug }
		})
		ada := e.browser()
		e.launch(ada, "DEMO-101", e.token(nil))
		got := e.graphql(ada, `mutation { bookSlot(input: {examCode: "DEMO-101", startsAt: "2026-11-30T10:00:00Z", clientKey: "ada-book-link"}) { id } }`)
		var booked struct{ ID string }
		if err := json.Unmarshal(got.Data["bookSlot"], &booked); err != nil || len(got.Errors) > 0 {
			t.Fatalf("book: %s %+v", got.Data["bookSlot"], got.Errors)
		}
		id, _ := strconv.ParseInt(booked.ID, 10, 64)
		b, err := store.BookingByID(context.Background(), id)
		if err != nil || len(b.LinkToken) < 16 {
			t.Fatalf("booking %+v: %v", b, err)
		}
		link := e.url + examgate.BookingLinkPath(b.LinkToken)

		get := func(c *http.Client, u string) (*http.Response, string) {
			t.Helper()
			resp, err := c.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp, string(body)
		}
		// A browser that never had a session: the exam, the time, the way in.
		resp, body := get(e.browser(), link)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("link without a session: %d %s", resp.StatusCode, body)
		}
		for _, want := range []string{"Demo Certification Exam", "Monday 30 November 2026, 10:00–11:00", "(UTC)", "Start opens at 09:30",
			`href="https://ti.example/learn/course/demo-course"`} {
			if !strings.Contains(body, want) {
				t.Errorf("page lacks %q:\n%s", want, body)
			}
		}
		if strings.Contains(body, "session has ended") || resp.Header.Get("Set-Cookie") != "" || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("page: cookie %q, cache %q:\n%s", resp.Header.Get("Set-Cookie"), resp.Header.Get("Cache-Control"), body)
		}
		// The booking's own browser goes to its dashboard.
		if resp, _ := get(ada, link); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/exams/DEMO-101" {
			t.Errorf("link with the session: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		// A made-up or shortened token is a plain "not valid".
		for _, bad := range []string{"/b/" + strings.Repeat("A", 26), "/b/x", "/b/" + b.LinkToken[:20]} {
			if resp, body := get(e.browser(), e.url+bad); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "booking link is not valid") {
				t.Errorf("GET %s: %d %s", bad, resp.StatusCode, body)
			}
		}
		if strings.Contains(e.logs.String(), b.LinkToken) {
			t.Error("the booking link's token was logged")
		}
	})
}
