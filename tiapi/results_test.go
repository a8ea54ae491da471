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
	"sync"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/tiapi"
	"github.com/examgate/examgate/tiapi/titest"
)

// class names how the job worker will treat err.
func class(err error) string {
	var later *examgate.RetryLater
	var perm *examgate.PermanentError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &perm):
		return "permanent"
	case errors.As(err, &later):
		return "retry after " + later.After.String()
	default:
		return "backoff"
	}
}

func noKey(t *testing.T, err error) {
	t.Helper()
	if err != nil && (strings.Contains(err.Error(), apiKey) || strings.Contains(err.Error(), "wrong-key")) {
		t.Fatalf("error leaks the API key: %v", err)
	}
}

func TestPostResultPayload(t *testing.T) {
	f := newFixture(t)
	u := f.ti.AddUser(titest.User{ID: "223e4567-e89b-12d3-a456-426614174000", Email: "ada@example.com"})
	for _, tc := range []struct {
		name string
		post tiapi.ResultPost
		want string
	}{
		{"pass", tiapi.ResultPost{Status: tiapi.ResultCompleted, AssignmentID: "123e4567-e89b-12d3-a456-426614174000", LearnerID: u.ID, Grade: 100, GradeFeedback: "Great Job!"},
			`{"status":"completed","assignmentId":"123e4567-e89b-12d3-a456-426614174000","learnerId":"223e4567-e89b-12d3-a456-426614174000","grade":100,"gradeFeedback":"Great Job!"}`},
		{"fail", tiapi.ResultPost{Status: tiapi.ResultIncomplete, AssignmentID: "123e4567-e89b-12d3-a456-426614174000", LearnerID: u.ID, Grade: 40.5, GradeFeedback: "Failed"},
			`{"status":"incomplete","assignmentId":"123e4567-e89b-12d3-a456-426614174000","learnerId":"223e4567-e89b-12d3-a456-426614174000","grade":40.5,"gradeFeedback":"Failed"}`},
		{"fraction and markup", tiapi.ResultPost{Status: tiapi.ResultCompleted, AssignmentID: "123e4567-e89b-12d3-a456-426614174000", LearnerID: u.ID, Grade: 66.67, GradeFeedback: `Score < 70 & "retake"`},
			`{"status":"completed","assignmentId":"123e4567-e89b-12d3-a456-426614174000","learnerId":"223e4567-e89b-12d3-a456-426614174000","grade":66.67,"gradeFeedback":"Score < 70 & \"retake\""}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.ti.Reset()
			if err := f.c.PostResult(context.Background(), tc.post); err != nil {
				t.Fatal(err)
			}
			posts := f.ti.ResultPosts()
			if len(posts) != 1 {
				t.Fatalf("TI received %d result posts, want 1", len(posts))
			}
			p := posts[0]
			if string(p.Body) != tc.want {
				t.Fatalf("body =\n%s\nwant\n%s", p.Body, tc.want)
			}
			if p.Status != http.StatusFound || p.ContentType != "application/json" {
				t.Fatalf("post = %+v, want a 302 answer to application/json", p)
			}
			// The 302 to /learn is success and is not followed.
			if calls := f.ti.Calls(); len(calls) != 1 || calls[0].Method != http.MethodPost {
				t.Fatalf("calls = %+v, want the POST only", calls)
			}
		})
	}
}

func TestPostResultDoesNotFollowRedirect(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.Path)
		mu.Unlock()
		http.Redirect(w, r, srv.URL+"/learn", http.StatusFound)
	}))
	defer srv.Close()
	var slept []time.Duration
	err := newClient(srv.URL, apiKey, &slept).PostResult(context.Background(), tiapi.ResultPost{Status: "completed", AssignmentID: "123e4567-e89b-12d3-a456-426614174000", LearnerID: "323e4567-e89b-12d3-a456-426614174000"})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(paths) != 1 || paths[0] != "POST /incoming/v2/assignmentExternalActivity" {
		t.Fatalf("requests = %v, want the POST only", paths)
	}
}

func TestResetProgressPayload(t *testing.T) {
	f := newFixture(t)
	f.ti.AddUser(titest.User{ID: "ti user/1", Email: "ada@example.com"})
	if err := f.c.ResetProgress(context.Background(), "ti user/1", "demo-course"); err != nil {
		t.Fatal(err)
	}
	resets := f.ti.Resets()
	if len(resets) != 1 {
		t.Fatalf("TI received %d resets, want 1", len(resets))
	}
	r := resets[0]
	if want := `{"slug":"demo-course","resetProgress":true,"revokeAccess":true}`; string(r.Body) != want {
		t.Fatalf("body = %s, want %s", r.Body, want)
	}
	if r.Path != "/incoming/v2/users/ti user/1/resetProgress" || r.Status != http.StatusOK {
		t.Fatalf("reset = %+v", r)
	}
	if len(f.ti.ResultPosts()) != 0 {
		t.Fatal("a reset was counted as a result post")
	}

	err := f.c.ResetProgress(context.Background(), "nobody", "demo-course")
	if class(err) != "permanent" || !strings.Contains(err.Error(), "User not found") {
		t.Fatalf("unknown user: %v (%s), want permanent with TI's message", err, class(err))
	}
}

func TestPostInvalidInputIsNotSent(t *testing.T) {
	f := newFixture(t)
	for name, p := range map[string]tiapi.ResultPost{
		"status":     {Status: "passed", AssignmentID: "123e4567-e89b-12d3-a456-426614174000", LearnerID: "323e4567-e89b-12d3-a456-426614174000"},
		"assignment": {Status: "completed", AssignmentID: " ", LearnerID: "323e4567-e89b-12d3-a456-426614174000"},
		"learner":    {Status: "completed", AssignmentID: "123e4567-e89b-12d3-a456-426614174000"},
		"grade":      {Status: "completed", AssignmentID: "123e4567-e89b-12d3-a456-426614174000", LearnerID: "323e4567-e89b-12d3-a456-426614174000", Grade: 100.5},
	} {
		if err := f.c.PostResult(context.Background(), p); class(err) != "permanent" {
			t.Errorf("%s: %v (%s), want permanent", name, err, class(err))
		}
	}
	for _, args := range [][2]string{{"", "slug"}, {"u", ""}} {
		if err := f.c.ResetProgress(context.Background(), args[0], args[1]); class(err) != "permanent" {
			t.Errorf("ResetProgress%q: %v, want permanent", args, err)
		}
	}
	if calls := f.ti.Calls(); len(calls) != 0 {
		t.Fatalf("invalid input reached TI: %+v", calls)
	}
}

func TestPostClassification(t *testing.T) {
	const configRetry = 17 * time.Minute
	valid := func(f *fixture) tiapi.ResultPost {
		u := f.ti.AddUser(titest.User{Email: "ada@example.com"})
		return tiapi.ResultPost{Status: "completed", AssignmentID: "123e4567-e89b-12d3-a456-426614174000", LearnerID: u.ID, Grade: 80}
	}
	for _, tc := range []struct {
		name  string
		setup func(*fixture) tiapi.ResultPost
		want  string
		text  string
	}{
		{"unknown learner", func(f *fixture) tiapi.ResultPost {
			return tiapi.ResultPost{Status: "completed", AssignmentID: "123e4567-e89b-12d3-a456-426614174000", LearnerID: "323e4567-e89b-12d3-a456-426614174000"}
		}, "permanent", "Learner not found"},
		{"400 messages", func(f *fixture) tiapi.ResultPost {
			f.ti.FailNextWith(1, 400, "", `{"errors":[{"message":"grade is invalid"},{"message":"assignment is closed"}]}`)
			return valid(f)
		}, "permanent", "grade is invalid; assignment is closed"},
		{"400 not json", func(f *fixture) tiapi.ResultPost {
			f.ti.FailNextWith(1, 400, "", "bad\x00request")
			return valid(f)
		}, "permanent", "bad request"},
		{"422", func(f *fixture) tiapi.ResultPost { f.ti.FailNext(1, 422, ""); return valid(f) }, "permanent", "HTTP 422"},
		{"wrong key", func(f *fixture) tiapi.ResultPost {
			p := valid(f)
			f.c = newClient(f.srv.URL, "wrong-key", &f.slept)
			f.c.ConfigRetry = configRetry
			return p
		}, "retry after 17m0s", "EXAMGATE_TI_API_KEY"},
		{"403", func(f *fixture) tiapi.ResultPost { f.ti.FailNext(1, 403, ""); return valid(f) }, "retry after 17m0s", "EXAMGATE_TI_API_KEY"},
		{"429 seconds", func(f *fixture) tiapi.ResultPost { f.ti.FailNext(1, 429, "7"); return valid(f) }, "retry after 7s", "HTTP 429"},
		{"429 no header", func(f *fixture) tiapi.ResultPost { f.ti.FailNext(1, 429, ""); return valid(f) }, "retry after 1m0s", "HTTP 429"},
		{"404 learner", func(f *fixture) tiapi.ResultPost {
			f.ti.FailNextWith(1, 404, "", `{"errors":[{"message":"Learner not found"}]}`)
			return valid(f)
		}, "permanent", "Learner not found"},
		{"404 assignment", func(f *fixture) tiapi.ResultPost {
			f.ti.FailNextWith(1, 404, "", `{"errors":[{"message":"Assignment does not exist"}]}`)
			return valid(f)
		}, "permanent", "Assignment does not exist"},
		{"404 wrong base URL", func(f *fixture) tiapi.ResultPost {
			p := valid(f)
			f.c = newClient(f.srv.URL+"/wrong", apiKey, &f.slept)
			f.c.ConfigRetry = configRetry
			return p
		}, "retry after 17m0s", "EXAMGATE_TI_BASE_URL"},
		{"500", func(f *fixture) tiapi.ResultPost { f.ti.FailNext(1, 500, ""); return valid(f) }, "backoff", "HTTP 500"},
		{"down", func(f *fixture) tiapi.ResultPost { f.ti.SetDown(true); return valid(f) }, "backoff", "HTTP 503"},
		{"connection refused", func(f *fixture) tiapi.ResultPost { p := valid(f); f.srv.Close(); return p }, "backoff", "POST assignmentExternalActivity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.c.ConfigRetry = configRetry
			p := tc.setup(f)
			err := f.c.PostResult(context.Background(), p)
			if got := class(err); got != tc.want || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("error = %v (%s), want %s mentioning %q", err, got, tc.want, tc.text)
			}
			noKey(t, err)
		})
	}
}

func TestResetProgressConnectionRefused(t *testing.T) {
	f := newFixture(t)
	f.srv.Close()
	err := f.c.ResetProgress(context.Background(), "learner-secret-id", "slug")
	if class(err) != "backoff" || strings.Contains(err.Error(), "learner-secret-id") {
		t.Fatalf("error = %v (%s), want a plain error without the request URL", err, class(err))
	}
}

func TestPostRedirects(t *testing.T) {
	for _, tc := range []struct {
		name, location string
		status         int
		want, text     string
	}{
		{"302 to the endpoint on https", "https://ti.example.com/incoming/v2/assignmentExternalActivity", 302, "retry after 30m0s", "https://ti.example.com"},
		{"301", "https://ti.example.com/", 301, "retry after 30m0s", "HTTP 301"},
		{"307", "/elsewhere", 307, "retry after 30m0s", "HTTP 307"},
		{"302 to a page", "/learn", 302, "ok", ""},
		{"302 without Location", "", 302, "ok", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Location", tc.location)
				w.WriteHeader(tc.status)
			}))
			defer srv.Close()
			// NewClient's default ConfigRetry applies.
			c := tiapi.NewClient(srv.URL, apiKey)
			err := c.PostResult(context.Background(), tiapi.ResultPost{Status: "completed", AssignmentID: "123e4567-e89b-12d3-a456-426614174000", LearnerID: "323e4567-e89b-12d3-a456-426614174000"})
			if got := class(err); got != tc.want || (err != nil && !strings.Contains(err.Error(), tc.text)) {
				t.Fatalf("error = %v (%s), want %s mentioning %q", err, got, tc.want, tc.text)
			}
		})
	}
}

func TestPostRetryAfterDate(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", time.Now().Add(90*time.Second).UTC().Format(http.TimeFormat))
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	err := tiapi.NewClient(srv.URL, apiKey).ResetProgress(context.Background(), "u", "slug")
	var later *examgate.RetryLater
	if !errors.As(err, &later) || later.After < 80*time.Second || later.After > 90*time.Second {
		t.Fatalf("error = %v, want RetryAfter about 90s", err)
	}
}

func TestPostRefusedKeyIsLogged(t *testing.T) {
	f := newFixture(t)
	var logs bytes.Buffer
	c := newClient(f.srv.URL, "wrong-key", &f.slept)
	c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	err := c.ResetProgress(context.Background(), "u", "slug")
	if class(err) != "retry after 30m0s" {
		t.Fatalf("error = %v (%s), want retry after the default 30m", err, class(err))
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "TI refused the API key; check EXAMGATE_TI_API_KEY") {
		t.Fatalf("log = %q, want an ERROR naming EXAMGATE_TI_API_KEY", logs.String())
	}
	if strings.Contains(logs.String(), "wrong-key") {
		t.Fatalf("log leaks the API key: %q", logs.String())
	}
}

// A proxy that echoes the request must not put the key into job errors.
func TestPostErrorRedactsEchoedKey(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "bad request; you sent Authorization: %s", r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	err := tiapi.NewClient(srv.URL, apiKey).PostResult(context.Background(), tiapi.ResultPost{Status: "completed", AssignmentID: "123e4567-e89b-12d3-a456-426614174000", LearnerID: "323e4567-e89b-12d3-a456-426614174000"})
	if class(err) != "permanent" || !strings.Contains(err.Error(), "REDACTED") {
		t.Fatalf("error = %v, want permanent with the key redacted", err)
	}
	noKey(t, err)
}

func TestPostHeldThenReleased(t *testing.T) {
	f := newFixture(t)
	u := f.ti.AddUser(titest.User{Email: "ada@example.com"})
	release := f.ti.Hold()
	done := make(chan error, 1)
	go func() {
		done <- f.c.PostResult(context.Background(), tiapi.ResultPost{Status: "completed", AssignmentID: "123e4567-e89b-12d3-a456-426614174000", LearnerID: u.ID, Grade: 90})
	}()
	if err := f.ti.WaitHeld(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("PostResult returned %v while TI held the request", err)
	default:
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if posts := f.ti.ResultPosts(); len(posts) != 1 || posts[0].Status != http.StatusFound {
		t.Fatalf("posts = %+v, want one answered 302", posts)
	}
}

func TestPostTimeoutWhileHeld(t *testing.T) {
	f := newFixture(t)
	defer f.ti.Hold()()
	f.c.HTTP.Timeout = 20 * time.Millisecond
	err := f.c.PostResult(context.Background(), tiapi.ResultPost{Status: "completed", AssignmentID: "123e4567-e89b-12d3-a456-426614174000", LearnerID: "323e4567-e89b-12d3-a456-426614174000"})
	if class(err) != "backoff" {
		t.Fatalf("error = %v (%s), want a plain error for backoff", err, class(err))
	}
}

func TestPostCancelledWhileHeld(t *testing.T) {
	f := newFixture(t)
	release := f.ti.Hold()
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- f.c.ResetProgress(ctx, "u", "slug")
	}()
	if err := f.ti.WaitHeld(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; class(err) != "backoff" || !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want a plain error wrapping context.Canceled", err)
	}
	f.srv.Close() // waits for the handler to finish
	if r := f.ti.Resets(); len(r) != 1 || r[0].Status != titest.StatusClientGone {
		t.Fatalf("resets = %+v, want one never answered", r)
	}
}
