package tiapi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/tiapi"
	"github.com/examgate/examgate/tiapi/titest"
)

const apiKey = "ti-key-9f8e7d6c5b4a"

type fixture struct {
	ti    *titest.Server
	srv   *httptest.Server
	c     *tiapi.Client
	slept []time.Duration
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{ti: titest.New(apiKey)}
	f.srv = httptest.NewServer(f.ti)
	t.Cleanup(f.srv.Close)
	f.c = newClient(f.srv.URL, apiKey, &f.slept)
	return f
}

// newClient returns a client whose Sleep records the waits instead of
// waiting.
func newClient(baseURL, key string, slept *[]time.Duration) *tiapi.Client {
	c := tiapi.NewClient(baseURL, key)
	c.Sleep = func(ctx context.Context, d time.Duration) error {
		*slept = append(*slept, d)
		return ctx.Err()
	}
	return c
}

// wantCode fails unless err is an *examgate.Error with code, and checks
// that no API key leaks into it.
func wantCode(t *testing.T, err error, code string) *examgate.Error {
	t.Helper()
	var e *examgate.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error = %v, want code %s", err, code)
	}
	if strings.Contains(err.Error(), apiKey) || strings.Contains(err.Error(), "wrong-key") {
		t.Fatalf("error leaks the API key: %v", err)
	}
	return e
}

func TestUserID(t *testing.T) {
	f := newFixture(t)
	u := f.ti.AddUser(titest.User{Email: "ada+exam@example.com", FirstName: "Ada"})

	got, err := f.c.UserID(context.Background(), "ada+exam@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if got != u.ID || got == "" {
		t.Fatalf("UserID = %q, want %q", got, u.ID)
	}

	_, err = f.c.UserID(context.Background(), "nobody@example.com")
	e := wantCode(t, err, examgate.ENOTFOUND)
	if !strings.Contains(e.Message, "could not be found") {
		t.Fatalf("message = %q", e.Message)
	}
}

func TestUserIDNumericIDAndHeaders(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != "application/json" || r.Header.Get("Authorization") != "Bearer "+apiKey {
			http.Error(w, "bad headers", http.StatusBadRequest)
			return
		}
		if r.URL.EscapedPath() != "/incoming/v2/users/a%2Fb@example.com" {
			http.Error(w, "bad path "+r.URL.EscapedPath(), http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, `{"id": 12345, "email": "a/b@example.com"}`)
	}))
	defer srv.Close()
	var slept []time.Duration
	got, err := newClient(srv.URL+"/", apiKey, &slept).UserID(context.Background(), "a/b@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if got != "12345" {
		t.Fatalf("UserID = %q, want 12345", got)
	}
}

func TestLatestPurchasePagination(t *testing.T) {
	f := newFixture(t)
	f.ti.PageSize = 2
	ada := f.ti.AddUser(titest.User{Email: "ada@example.com"})
	bob := f.ti.AddUser(titest.User{Email: "bob@example.com"})
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	newest := base.Add(72 * time.Hour)
	for _, p := range []titest.Purchase{
		{UserID: ada.ID, CourseID: "course-1", Time: base},
		{UserID: ada.ID, CourseID: "course-2", Time: base.Add(1000 * time.Hour)},
		{UserID: ada.ID, CourseID: "course-1", Time: base.Add(24 * time.Hour)},
		{UserID: bob.ID, CourseID: "course-1", Time: base.Add(2000 * time.Hour)},
		{UserID: ada.ID, CourseID: "course-1", Time: newest},
		{UserID: ada.ID, CourseID: "course-1", Time: base.Add(48 * time.Hour)},
		{UserID: ada.ID, CourseID: "course-1", Time: base.Add(-24 * time.Hour)},
	} {
		f.ti.AddPurchase(p)
	}

	got, err := f.c.LatestPurchase(context.Background(), ada.ID, "course-1")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(newest) {
		t.Fatalf("LatestPurchase = %s, want %s", got, newest)
	}
	var pages, withCursor int
	for _, c := range f.ti.Calls() {
		if c.Path == "/incoming/v2/events/coursePurchase" {
			pages++
			if strings.Contains(c.Query, "cursor=") {
				withCursor++
			}
		}
	}
	if pages != 3 || withCursor != 2 {
		t.Fatalf("fetched %d pages (%d with cursor), want 3 (2)", pages, withCursor)
	}
}

func TestLatestPurchaseNewestWins(t *testing.T) {
	f := newFixture(t)
	u := f.ti.AddUser(titest.User{Email: "ada@example.com"})
	newest := time.Date(2026, 2, 1, 9, 30, 0, 123e6, time.UTC)
	for _, d := range []time.Duration{-48 * time.Hour, 0, -time.Hour, -24 * time.Hour} {
		f.ti.AddPurchase(titest.Purchase{UserID: u.ID, CourseID: "c1", Slug: "demo-course", Time: newest.Add(d)})
	}
	got, err := f.c.LatestPurchase(context.Background(), u.ID, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(newest) {
		t.Fatalf("LatestPurchase = %s, want %s", got, newest)
	}
}

func TestLatestPurchaseNone(t *testing.T) {
	f := newFixture(t)
	u := f.ti.AddUser(titest.User{Email: "ada@example.com"})
	f.ti.AddPurchase(titest.Purchase{UserID: u.ID, CourseID: "other", Time: time.Now()})
	_, err := f.c.LatestPurchase(context.Background(), u.ID, "c1")
	e := wantCode(t, err, examgate.ENOTFOUND)
	if !strings.Contains(e.Message, "could not find a purchase") {
		t.Fatalf("message = %q", e.Message)
	}
}

func TestLatestPurchaseIgnoresOtherCourses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"pageInfo":{"cursor":"","hasMore":false},"events":[
			{"timestamp":"2026-01-02T03:04:05.000Z","purchasableId":"c1","purchasableType":"course"},
			{"timestamp":"2026-05-01T00:00:00.000Z","purchasableId":"c2","purchasableType":"course"},
			{"timestamp":"2026-01-03T00:00:00Z"}]}`)
	}))
	defer srv.Close()
	var slept []time.Duration
	got, err := newClient(srv.URL, apiKey, &slept).LatestPurchase(context.Background(), "u1", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("LatestPurchase = %s, want %s", got, want)
	}
}

func TestLatestPurchaseBadResponses(t *testing.T) {
	for name, body := range map[string]string{
		"not json":       `<html>maintenance</html>`,
		"bad timestamp":  `{"pageInfo":{"hasMore":false},"events":[{"timestamp":"yesterday","purchasableId":"c1"}]}`,
		"more no cursor": `{"pageInfo":{"hasMore":true},"events":[]}`,
		"too large":      `{"pad":"` + strings.Repeat("x", 1<<20) + `"}`,
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, body)
			}))
			defer srv.Close()
			var slept []time.Duration
			_, err := newClient(srv.URL, apiKey, &slept).LatestPurchase(context.Background(), "u1", "c1")
			wantCode(t, err, examgate.EUNAVAILABLE)
		})
	}
}

func TestLatestPurchasePageBound(t *testing.T) {
	requests := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests++
		fmt.Fprintf(w, `{"pageInfo":{"cursor":"c%d","hasMore":true},"events":[]}`, requests)
	}))
	defer srv.Close()
	var slept []time.Duration
	_, err := newClient(srv.URL, apiKey, &slept).LatestPurchase(context.Background(), "u1", "c1")
	wantCode(t, err, examgate.EUNAVAILABLE)
	if requests != 100 {
		t.Fatalf("requests = %d, want 100", requests)
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name, header string
		min, max     time.Duration
	}{
		{"seconds", "7", 7 * time.Second, 7 * time.Second},
		{"absent", "", time.Second, time.Second},
		{"http date", time.Now().Add(5 * time.Second).UTC().Format(http.TimeFormat), time.Second, 5 * time.Second},
	} {
		// Each setup fails both calls below.
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			u := f.ti.AddUser(titest.User{Email: "ada@example.com"})
			f.ti.FailNext(2, http.StatusTooManyRequests, tc.header)
			got, err := f.c.UserID(context.Background(), "ada@example.com")
			if err != nil {
				t.Fatal(err)
			}
			if got != u.ID {
				t.Fatalf("UserID = %q, want %q", got, u.ID)
			}
			if len(f.slept) != 2 {
				t.Fatalf("slept %v, want 2 waits", f.slept)
			}
			for _, d := range f.slept {
				if d < tc.min || d > tc.max {
					t.Fatalf("slept %v, want each in [%s, %s]", f.slept, tc.min, tc.max)
				}
			}
		})
	}
}

func TestRetryAfterOverCap(t *testing.T) {
	f := newFixture(t)
	f.ti.AddUser(titest.User{Email: "ada@example.com"})
	f.ti.FailNext(1, http.StatusTooManyRequests, "120")
	_, err := f.c.UserID(context.Background(), "ada@example.com")
	wantCode(t, err, examgate.EUNAVAILABLE)
	if len(f.slept) != 0 {
		t.Fatalf("slept %v, want no wait", f.slept)
	}
}

func TestRetryGivesUp(t *testing.T) {
	f := newFixture(t)
	f.ti.AddUser(titest.User{Email: "ada@example.com"})
	f.ti.FailNext(10, http.StatusTooManyRequests, "1")
	_, err := f.c.UserID(context.Background(), "ada@example.com")
	wantCode(t, err, examgate.EUNAVAILABLE)
	if len(f.slept) != 3 || len(f.ti.Calls()) != 4 {
		t.Fatalf("slept %d times over %d calls, want 3 over 4", len(f.slept), len(f.ti.Calls()))
	}
}

func TestRetrySleepCancelled(t *testing.T) {
	f := newFixture(t)
	f.ti.FailNext(1, http.StatusTooManyRequests, "1")
	f.c.Sleep = func(context.Context, time.Duration) error { return context.Canceled }
	_, err := f.c.UserID(context.Background(), "ada@example.com")
	wantCode(t, err, examgate.EUNAVAILABLE)
}

func TestUnavailable(t *testing.T) {
	const msg = "We could not reach your course platform to confirm your purchase. Please try again in a minute."
	for _, tc := range []struct {
		name  string
		setup func(*fixture)
		cause string
	}{
		{"500", func(f *fixture) { f.ti.FailNext(2, 500, "") }, "HTTP 500"},
		{"down", func(f *fixture) { f.ti.SetDown(true) }, "HTTP 503"},
		{"400", func(f *fixture) { f.ti.FailNext(2, 400, "") }, "HTTP 400"},
		{"wrong key", func(f *fixture) { f.c = newClient(f.srv.URL, "wrong-key", &f.slept) }, "EXAMGATE_TI_API_KEY"},
		{"forbidden", func(f *fixture) { f.ti.FailNext(2, 403, "") }, "EXAMGATE_TI_API_KEY"},
		{"connection refused", func(f *fixture) { f.srv.Close() }, "GET"},
	} {
		// Each setup fails both calls below.
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			u := f.ti.AddUser(titest.User{Email: "ada@example.com"})
			f.ti.AddPurchase(titest.Purchase{UserID: u.ID, CourseID: "c1"})
			tc.setup(f)
			_, err := f.c.UserID(context.Background(), "ada@example.com")
			e := wantCode(t, err, examgate.EUNAVAILABLE)
			if e.Message != msg || !strings.Contains(err.Error(), tc.cause) {
				t.Fatalf("error = %v, want message %q and cause mentioning %q", err, msg, tc.cause)
			}
			_, err = f.c.LatestPurchase(context.Background(), u.ID, "c1")
			wantCode(t, err, examgate.EUNAVAILABLE)
		})
	}
}

func TestCancelledContext(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.c.UserID(ctx, "ada@example.com")
	wantCode(t, err, examgate.EUNAVAILABLE)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want it to wrap context.Canceled", err)
	}
	if strings.Contains(err.Error(), "ada@example.com") {
		t.Fatalf("error repeats the learner's email: %v", err)
	}
}

func TestRefusedKeyIsLogged(t *testing.T) {
	f := newFixture(t)
	var logs bytes.Buffer
	c := newClient(f.srv.URL, "wrong-key", &f.slept)
	c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	_, err := c.UserID(context.Background(), "ada@example.com")
	wantCode(t, err, examgate.EUNAVAILABLE)
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "EXAMGATE_TI_API_KEY") {
		t.Fatalf("log = %q, want an ERROR naming EXAMGATE_TI_API_KEY", logs.String())
	}
	if strings.Contains(logs.String(), "wrong-key") {
		t.Fatalf("log leaks the API key: %q", logs.String())
	}
}

// The demo mounts the fake under a prefix; the client must work there too.
func TestBehindStripPrefix(t *testing.T) {
	ti := titest.New(apiKey)
	mux := http.NewServeMux()
	mux.Handle("/fake-ti/", http.StripPrefix("/fake-ti", ti))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	u := ti.AddUser(titest.User{Email: "ada@example.com"})
	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ti.AddPurchase(titest.Purchase{UserID: u.ID, CourseID: "c1", Time: when})

	var slept []time.Duration
	c := newClient(srv.URL+"/fake-ti", apiKey, &slept)
	id, err := c.UserID(context.Background(), "ada@example.com")
	if err != nil || id != u.ID {
		t.Fatalf("UserID = %q, %v; want %q", id, err, u.ID)
	}
	got, err := c.LatestPurchase(context.Background(), id, "c1")
	if err != nil || !got.Equal(when) {
		t.Fatalf("LatestPurchase = %s, %v; want %s", got, err, when)
	}
}
