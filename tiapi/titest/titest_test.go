package titest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate/tiapi/titest"
)

const key = "fake-ti-key"

func get(t *testing.T, h http.Handler, path, bearer string) (*http.Response, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	b, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("GET %s: body %q is not a JSON object: %v", path, b, err)
	}
	return resp, body
}

// errorMessage reads {"errors":["…"]}, the documented error body.
func errorMessage(body map[string]any) string {
	errs, _ := body["errors"].([]any)
	if len(errs) != 1 {
		return ""
	}
	s, _ := errs[0].(string)
	return s
}

// data returns body.data[op], or nil when body is not enveloped so.
func data(body map[string]any, op string) map[string]any {
	d, _ := body["data"].(map[string]any)
	v, _ := d[op].(map[string]any)
	return v
}

func TestUsers(t *testing.T) {
	s := titest.New(key)
	u := s.AddUser(titest.User{Email: "Ada@Example.com", FirstName: "Ada", ExternalCustomerID: "ext-1"})
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(u.ID) {
		t.Fatalf("generated ID %q is not a UUID", u.ID)
	}
	for _, idOrEmail := range []string{u.ID, "ada@example.com", url.PathEscape("Ada@Example.com"), "ext-1"} {
		resp, body := get(t, s, "/incoming/v2/users/"+idOrEmail, key)
		user := data(body, "UserById")
		if resp.StatusCode != 200 || user["id"] != u.ID || user["email"] != "Ada@Example.com" || user["externalCustomerId"] != "ext-1" || user["name"] != "Ada" {
			t.Fatalf("GET user %s = %d %v", idOrEmail, resp.StatusCode, body)
		}
	}
	s.SetShape(titest.Bare)
	if resp, body := get(t, s, "/incoming/v2/users/"+u.ID, key); resp.StatusCode != 200 || body["id"] != u.ID || body["data"] != nil {
		t.Fatalf("bare user = %d %v", resp.StatusCode, body)
	}
	s.SetShape(titest.Enveloped)
	resp, body := get(t, s, "/incoming/v2/users/nobody@example.com", key)
	if resp.StatusCode != 404 || errorMessage(body) == "" {
		t.Fatalf("unknown user = %d %v, want 404 with an error message", resp.StatusCode, body)
	}

	// Replacing by email keeps the ID so purchases stay attached.
	again := s.AddUser(titest.User{Email: "ada@example.com", LastName: "Lovelace"})
	if again.ID != u.ID {
		t.Fatalf("replacement got ID %q, want %q", again.ID, u.ID)
	}
	if got, ok := s.UserByEmail("ADA@example.com"); !ok || got.LastName != "Lovelace" {
		t.Fatalf("UserByEmail = %+v, %v", got, ok)
	}
	if _, ok := s.UserByEmail("nobody@example.com"); ok {
		t.Fatal("UserByEmail found an unknown user")
	}
}

func TestAuthAndUnknownRoutes(t *testing.T) {
	s := titest.New(key)
	for _, bearer := range []string{"", "wrong"} {
		req := httptest.NewRequest(http.MethodGet, "/incoming/v2/ping", nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		// docs/rest/: "Unauthenticated requests return 401 with an empty body."
		if rec.Code != 401 || rec.Body.Len() != 0 {
			t.Fatalf("bearer %q = %d %q, want 401 with an empty body", bearer, rec.Code, rec.Body)
		}
	}
	if resp, body := get(t, s, "/incoming/v2/ping", key); resp.StatusCode != 200 || body["valid"] != true {
		t.Fatalf("ping = %d %v", resp.StatusCode, body)
	}
	for _, path := range []string{"/", "/incoming/v2/nothing", "/incoming/v2/users/", "/incoming/v2/users/a/b"} {
		if resp, body := get(t, s, path, key); resp.StatusCode != 404 || errorMessage(body) == "" {
			t.Fatalf("GET %s = %d %v, want 404 JSON", path, resp.StatusCode, body)
		}
	}
}

func TestPurchasePaging(t *testing.T) {
	s := titest.New(key)
	s.PageSize = 2
	u := s.AddUser(titest.User{Email: "ada@example.com", ExternalCustomerID: "ext-1"})
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range 5 {
		s.AddPurchase(titest.Purchase{UserID: u.ID, CourseID: "c1", Slug: "demo-course", SKU: "sku-1", Time: base.Add(time.Duration(i) * time.Hour)})
	}
	s.AddPurchase(titest.Purchase{UserID: u.ID, CourseID: "c2", Time: base})
	s.AddPurchase(titest.Purchase{UserID: "someone-else", CourseID: "c1", Time: base})

	q := url.Values{"userId": {u.ID}, "notifiableId": {"c1"}}
	var stamps []string
	for pages := 1; ; pages++ {
		resp, body := get(t, s, "/incoming/v2/events/coursePurchase?"+q.Encode(), key)
		page := data(body, "APIEvents")
		if resp.StatusCode != 200 || page == nil {
			t.Fatalf("page %d = %d %v", pages, resp.StatusCode, body)
		}
		events := page["events"].([]any)
		for _, e := range events {
			ev := e.(map[string]any)
			if ev["notifiableId"] != "c1" || ev["userId"] != u.ID || ev["kind"] != "coursePurchase" || ev["slug"] != "demo-course" {
				t.Fatalf("event = %v", ev)
			}
			stamps = append(stamps, ev["timestamp"].(string))
		}
		info := page["pageInfo"].(map[string]any)
		if info["perPage"] != 2.0 || info["total"] != 5.0 {
			t.Fatalf("pageInfo = %v, want perPage 2 and total 5", info)
		}
		if info["hasMore"] != true {
			if pages != 3 {
				t.Fatalf("got %d pages, want 3", pages)
			}
			break
		}
		q.Set("cursor", info["cursor"].(string))
	}
	if len(stamps) != 5 || stamps[0] != "2026-01-02T03:04:05.000Z" || stamps[4] != "2026-01-02T07:04:05.000Z" {
		t.Fatalf("timestamps = %v, want 5 in insertion order", stamps)
	}

	if resp, _ := get(t, s, "/incoming/v2/events/coursePurchase?cursor=bogus", key); resp.StatusCode != 400 {
		t.Fatalf("bogus cursor = %d, want 400", resp.StatusCode)
	}

	// The pagination guide's bare layout, and date filters in either unit.
	s.SetShape(titest.Bare)
	s.PageSize = 10
	from := base.Add(3 * time.Hour)
	for _, start := range []string{from.Format(time.RFC3339), strconv.FormatInt(from.UnixMilli(), 10)} {
		q := url.Values{"userId": {u.ID}, "notifiableId": {"c1"}, "startDate": {start}}
		resp, body := get(t, s, "/incoming/v2/events/coursePurchase?"+q.Encode(), key)
		events, _ := body["events"].([]any)
		info, _ := body["pageInfo"].(map[string]any)
		if resp.StatusCode != 200 || len(events) != 2 || info["hasMore"] != false || body["data"] != nil {
			t.Fatalf("bare page from %s = %d %v", start, resp.StatusCode, body)
		}
	}
}

func TestEventTimeVariants(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		et   titest.EventTime
		key  string
		want any
	}{
		{titest.TimestampISO, "timestamp", "2026-01-02T03:04:05.000Z"},
		{titest.CreatedAtISO, "createdAt", "2026-01-02T03:04:05.000Z"},
		{titest.TimestampMillis, "timestamp", float64(at.UnixMilli())},
		{titest.NoTime, "timestamp", nil},
	} {
		s := titest.New(key)
		s.SetEventTime(tc.et)
		s.AddPurchase(titest.Purchase{UserID: "u1", CourseID: "c1", Time: at})
		_, body := get(t, s, "/incoming/v2/events/coursePurchase", key)
		ev := data(body, "APIEvents")["events"].([]any)[0].(map[string]any)
		if ev[tc.key] != tc.want {
			t.Errorf("event time %d: event = %v, want %s = %v", tc.et, ev, tc.key, tc.want)
		}
	}
}

func TestCourseStructureAndRateLimit(t *testing.T) {
	s := titest.New(key)
	clock := time.Date(2026, 1, 2, 3, 4, 30, 0, time.UTC)
	s.Now = func() time.Time { return clock }
	s.AddCourse(titest.Course{ID: "c1", Slug: "intro", Title: "Intro"})
	if resp, body := get(t, s, "/incoming/v2/courses/c1/structure", key); resp.StatusCode != 200 || data(body, "APICourseStructure")["id"] != "c1" {
		t.Fatalf("course = %d %v", resp.StatusCode, body)
	}
	if resp, body := get(t, s, "/incoming/v2/courses/c9/structure", key); resp.StatusCode != 404 || errorMessage(body) == "" {
		t.Fatalf("unknown course = %d %v", resp.StatusCode, body)
	}

	s.SetRateLimit(2)
	for i := range 2 {
		resp, _ := get(t, s, "/incoming/v2/ping", key)
		if resp.StatusCode != 200 || resp.Header.Get("X-RateLimit-Limit") != "2" || resp.Header.Get("X-RateLimit-Remaining") != strconv.Itoa(1-i) ||
			resp.Header.Get("X-RateLimit-Reset") != strconv.FormatInt(clock.Truncate(time.Minute).Add(time.Minute).Unix(), 10) {
			t.Fatalf("request %d = %d %v", i, resp.StatusCode, resp.Header)
		}
	}
	resp, body := get(t, s, "/incoming/v2/ping", key)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "30" || body["error"] != "rate_limit_exceeded" || body["retryAfter"] != 30.0 {
		t.Fatalf("over the limit = %d %v %v", resp.StatusCode, resp.Header, body)
	}
	clock = clock.Add(30 * time.Second)
	if resp, _ := get(t, s, "/incoming/v2/ping", key); resp.StatusCode != 200 {
		t.Fatalf("next window = %d", resp.StatusCode)
	}
}

func TestFailureInjection(t *testing.T) {
	s := titest.New(key)
	s.AddUser(titest.User{ID: "u1", Email: "ada@example.com"})
	s.FailNext(2, http.StatusTooManyRequests, "3")
	for range 2 {
		resp, _ := get(t, s, "/incoming/v2/users/u1", key)
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" {
			t.Fatalf("injected = %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	if resp, _ := get(t, s, "/incoming/v2/users/u1", key); resp.StatusCode != 200 {
		t.Fatalf("after injected failures = %d, want 200", resp.StatusCode)
	}
	s.SetDown(true)
	for range 3 {
		if resp, _ := get(t, s, "/incoming/v2/users/u1", key); resp.StatusCode != 503 {
			t.Fatalf("down = %d, want 503", resp.StatusCode)
		}
	}
	s.SetDown(false)
	if resp, _ := get(t, s, "/incoming/v2/users/u1", key); resp.StatusCode != 200 {
		t.Fatalf("back up = %d, want 200", resp.StatusCode)
	}
}

func TestCallLog(t *testing.T) {
	s := titest.New(key)
	get(t, s, "/incoming/v2/events/coursePurchase?userId=u1&api_key="+key+"&note=x"+key, key)
	calls := s.Calls()
	if len(calls) != 1 {
		t.Fatalf("calls = %v", calls)
	}
	c := calls[0]
	if c.Method != "GET" || c.Path != "/incoming/v2/events/coursePurchase" || c.Status != 200 || c.Time.IsZero() {
		t.Fatalf("call = %+v", c)
	}
	if strings.Contains(c.Query, key) || !strings.Contains(c.Query, "userId=u1") {
		t.Fatalf("query = %q, want userId kept and the key redacted", c.Query)
	}

	for range 600 {
		get(t, s, "/nope", "")
	}
	if n := len(s.Calls()); n != 500 {
		t.Fatalf("kept %d calls, want 500", n)
	}
	s.Reset()
	if n := len(s.Calls()); n != 0 {
		t.Fatalf("after Reset kept %d calls", n)
	}
}

func TestStripPrefix(t *testing.T) {
	s := titest.New(key)
	s.AddUser(titest.User{ID: "u1", Email: "ada@example.com"})
	h := http.StripPrefix("/demo/ti", s)
	if resp, body := get(t, h, "/demo/ti/incoming/v2/users/ada@example.com", key); resp.StatusCode != 200 || data(body, "UserById")["id"] != "u1" {
		t.Fatalf("behind prefix = %d %v", resp.StatusCode, body)
	}
	if c := s.Calls(); c[0].Path != "/incoming/v2/users/ada@example.com" {
		t.Fatalf("logged path %q, want it without the prefix", c[0].Path)
	}
}

func TestLaunchURL(t *testing.T) {
	got := titest.LaunchURL("https://exams.example.com/", "exam 1&x", "a.b+c/d")
	want := "https://exams.example.com/launch/ti?exam_id=exam+1%26x&jwt=a.b%2Bc%2Fd"
	if got != want {
		t.Fatalf("LaunchURL = %q, want %q", got, want)
	}
}
