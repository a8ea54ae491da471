package titest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/examgate/examgate/tiapi/titest"
)

const resultPath = "/incoming/v2/assignmentExternalActivity"

func post(t *testing.T, h http.Handler, path, bearer, contentType, body string) (*http.Response, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	b, _ := io.ReadAll(resp.Body)
	var parsed map[string]any
	_ = json.Unmarshal(b, &parsed)
	return resp, parsed
}

// The ids of docs/rest/assignments/external-activity's example request.
const (
	docAssignment = "123e4567-e89b-12d3-a456-426614174000"
	docLearner    = "223e4567-e89b-12d3-a456-426614174000"
)

func TestResultPost(t *testing.T) {
	s := titest.New(key)
	s.AddUser(titest.User{ID: docLearner, Email: "ada@example.com"})
	// The page's example request body, as typed there.
	const valid = `{"status":"completed","assignmentId":"123e4567-e89b-12d3-a456-426614174000","learnerId":"223e4567-e89b-12d3-a456-426614174000","grade":95,"gradeFeedback":"Nice work"}`

	resp, _ := post(t, s, resultPath, key, "application/json; charset=utf-8", valid)
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/learn" || len(b) != 0 {
		t.Fatalf("valid post = %d Location %q body %q, want 302 to /learn with no body", resp.StatusCode, resp.Header.Get("Location"), b)
	}
	withReturn := `{"status":"incomplete","assignmentId":"` + docAssignment + `","learnerId":"` + docLearner + `","returnUrl":"/learn/course/intro"}`
	if resp, _ := post(t, s, resultPath, key, "application/json", withReturn); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/learn/course/intro" {
		t.Fatalf("post with returnUrl = %d Location %q, want 302 to it", resp.StatusCode, resp.Header.Get("Location"))
	}

	const badIDs = "Invalid assignmentId or learnerId (both are required)"
	ids := `"assignmentId":"` + docAssignment + `","learnerId":"` + docLearner + `"`
	for _, tc := range []struct{ name, contentType, body, msg string }{
		{"unknown learner", "application/json", `{"status":"completed","assignmentId":"` + docAssignment + `","learnerId":"323e4567-e89b-12d3-a456-426614174000"}`, "Learner not found"},
		{"learner as email", "application/json", `{"status":"completed","assignmentId":"` + docAssignment + `","learnerId":"ada@example.com"}`, badIDs},
		{"status", "application/json", `{"status":"passed",` + ids + `}`, "status"},
		{"no assignment", "application/json", `{"status":"completed","learnerId":"` + docLearner + `"}`, badIDs},
		{"assignment not a uuid", "application/json", `{"status":"completed","assignmentId":"a1","learnerId":"` + docLearner + `"}`, badIDs},
		{"empty learner", "application/json", `{"status":"completed","assignmentId":"` + docAssignment + `","learnerId":""}`, badIDs},
		{"grade as string", "application/json", `{"status":"completed",` + ids + `,"grade":"90"}`, "grade"},
		{"grade null", "application/json", `{"status":"completed",` + ids + `,"grade":null}`, "grade"},
		{"feedback as number", "application/json", `{"status":"completed",` + ids + `,"gradeFeedback":1}`, "gradeFeedback"},
		{"absolute returnUrl", "application/json", `{"status":"completed",` + ids + `,"returnUrl":"https://evil.example"}`, "returnUrl"},
		{"not json", "application/json", `status=completed`, "JSON object"},
		{"array", "application/json", `[]`, "JSON object"},
		{"form content type", "application/x-www-form-urlencoded", valid, "Content-Type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, s, resultPath, key, tc.contentType, tc.body)
			if resp.StatusCode != 400 || !strings.Contains(errorMessage(body), tc.msg) {
				t.Fatalf("post = %d %v, want 400 mentioning %q", resp.StatusCode, body, tc.msg)
			}
		})
	}

	s.SetExternalActivityEnabled(false)
	if resp, body := post(t, s, resultPath, key, "application/json", valid); resp.StatusCode != 400 || errorMessage(body) != "externalActivity feature is not enabled" {
		t.Fatalf("feature off = %d %v", resp.StatusCode, body)
	}
	s.SetExternalActivityEnabled(true)
	s.SetErrorStyle(titest.ObjectErrors)
	if resp, body := post(t, s, resultPath, key, "application/json", `{}`); resp.StatusCode != 400 || body["errors"].([]any)[0].(map[string]any)["error"] == "" {
		t.Fatalf("object errors = %d %v", resp.StatusCode, body)
	}
	s.SetErrorStyle(titest.StringErrors)

	if resp, _ := post(t, s, resultPath, "wrong", "application/json", valid); resp.StatusCode != 401 {
		t.Fatalf("wrong key = %d, want 401", resp.StatusCode)
	}

	// Every body is recorded as received, refused ones included.
	posts := s.ResultPosts()
	if len(posts) != 18 {
		t.Fatalf("recorded %d posts, want 18", len(posts))
	}
	if string(posts[0].Body) != valid || posts[0].Status != 302 || posts[0].ContentType != "application/json; charset=utf-8" || posts[0].Time.IsZero() {
		t.Fatalf("first post = %+v", posts[0])
	}
	if last := posts[17]; last.Status != 401 || string(last.Body) != valid {
		t.Fatalf("last post = %+v", last)
	}
	posts[0].Body[0] = 'X'
	if s.ResultPosts()[0].Body[0] != '{' {
		t.Fatal("ResultPosts shares its bodies with the server")
	}
	if calls := s.Calls(); len(calls) != 18 || calls[0].Method != http.MethodPost || calls[0].Status != 302 {
		t.Fatalf("calls = %+v", calls)
	}
}

func TestResetProgress(t *testing.T) {
	s := titest.New(key)
	s.AddUser(titest.User{ID: "u/1", Email: "ada@example.com"})
	// The page's example body (docs/rest/privacy/reset-course-progress).
	const valid = `{"userId":"00000000-0000-0000-0000-000000000000","slug":"demo-course","resetProgress":true,"revokeAccess":true}`
	for _, tc := range []struct {
		name, path, body string
		status           int
		msg              string
	}{
		{"valid", "/incoming/v2/users/u%2F1/resetProgress", valid, 200, ""},
		{"by email", "/incoming/v2/users/ada@example.com/resetProgress", valid, 200, ""},
		{"only the required fields", "/incoming/v2/users/u%2F1/resetProgress", `{"slug":"s","revokeAccess":true}`, 200, ""},
		{"unknown user", "/incoming/v2/users/nobody/resetProgress", valid, 404, "User not found"},
		{"no slug", "/incoming/v2/users/u%2F1/resetProgress", `{"resetProgress":true,"revokeAccess":true}`, 400, "slug"},
		{"userId not a uuid", "/incoming/v2/users/u%2F1/resetProgress", `{"userId":"u1","slug":"s","revokeAccess":true}`, 400, "userId"},
		{"flag as string", "/incoming/v2/users/u%2F1/resetProgress", `{"slug":"s","resetProgress":"yes","revokeAccess":true}`, 400, "resetProgress"},
		{"no revoke", "/incoming/v2/users/u%2F1/resetProgress", `{"slug":"s","resetProgress":true}`, 400, "revokeAccess"},
		{"unescaped slash", "/incoming/v2/users/u/1/resetProgress", valid, 404, "Not found"},
		{"no user", "/incoming/v2/users//resetProgress", valid, 404, "Not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, s, tc.path, key, "application/json", tc.body)
			if resp.StatusCode != tc.status || (tc.msg != "" && !strings.Contains(errorMessage(body), tc.msg)) {
				t.Fatalf("POST %s = %d %v, want %d %q", tc.path, resp.StatusCode, body, tc.status, tc.msg)
			}
			if d, _ := body["data"].(map[string]any); tc.status == 200 && d["ResetUserCourseProgress"] != true {
				t.Fatalf("success body = %v, want {\"data\":{\"ResetUserCourseProgress\":true}}", body)
			}
		})
	}
	if n := len(s.Resets()); n != 10 {
		t.Fatalf("recorded %d resets, want 10", n)
	}
	s.SetShape(titest.Bare)
	s.SetResetAnswer(false)
	if resp, body := post(t, s, "/incoming/v2/users/u%2F1/resetProgress", key, "application/json", valid); resp.StatusCode != 200 || body["ResetUserCourseProgress"] != false {
		t.Fatalf("bare false answer = %d %v", resp.StatusCode, body)
	}
	if n := len(s.ResultPosts()); n != 0 {
		t.Fatalf("resets counted as result posts: %d", n)
	}
	if r := s.Resets()[0]; r.Path != "/incoming/v2/users/u/1/resetProgress" || string(r.Body) != valid {
		t.Fatalf("reset = %+v", r)
	}
	if resp, _ := get(t, s, "/incoming/v2/users/u%2F1/resetProgress", key); resp.StatusCode != 404 {
		t.Fatalf("GET resetProgress = %d, want 404", resp.StatusCode)
	}
}

func TestPostFailureInjection(t *testing.T) {
	s := titest.New(key)
	s.AddUser(titest.User{ID: docLearner, Email: "ada@example.com"})
	const valid = `{"status":"completed","assignmentId":"` + docAssignment + `","learnerId":"` + docLearner + `","grade":1,"gradeFeedback":""}`
	s.FailNextWith(1, 404, "", `{"errors":["Assignment not found"]}`)
	if resp, body := post(t, s, resultPath, key, "application/json", valid); resp.StatusCode != 404 || errorMessage(body) != "Assignment not found" {
		t.Fatalf("injected = %d %v", resp.StatusCode, body)
	}
	s.FailNext(1, 429, "7")
	if resp, _ := post(t, s, resultPath, key, "application/json", valid); resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "7" {
		t.Fatalf("injected = %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	s.SetDown(true)
	if resp, _ := post(t, s, resultPath, key, "application/json", valid); resp.StatusCode != 503 {
		t.Fatalf("down = %d", resp.StatusCode)
	}
	s.SetDown(false)
	s.SetLatency(time.Millisecond)
	if resp, _ := post(t, s, resultPath, key, "application/json", valid); resp.StatusCode != 302 {
		t.Fatalf("slow = %d", resp.StatusCode)
	}
	if posts := s.Posted(); len(posts) != 4 || posts[0].Status != 404 || posts[2].Status != 503 {
		t.Fatalf("posted = %+v", posts)
	}
	big := `{"status":"` + strings.Repeat("x", 70<<10) + `"}`
	if resp, _ := post(t, s, resultPath, key, "application/json", big); resp.StatusCode != 413 {
		t.Fatalf("large body = %d, want 413", resp.StatusCode)
	}
	s.Reset()
	if len(s.Posted()) != 0 || len(s.Calls()) != 0 {
		t.Fatal("Reset kept posts or calls")
	}
}

func TestHold(t *testing.T) {
	s := titest.New(key)
	s.AddUser(titest.User{ID: "u1", Email: "ada@example.com"})
	srv := httptest.NewServer(s)
	defer srv.Close()
	do := func(ctx context.Context) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/incoming/v2/users/u1", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}

	release := s.Hold()
	answered := make(chan int, 2)
	for range 2 {
		go func() {
			status, _ := do(context.Background())
			answered <- status
		}()
	}
	if err := s.WaitHeld(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	select {
	case status := <-answered:
		t.Fatalf("a held request was answered %d", status)
	default:
	}
	release()
	release() // idempotent
	for range 2 {
		if status := <-answered; status != 200 {
			t.Fatalf("released request = %d, want 200", status)
		}
	}
	if status, err := do(context.Background()); err != nil || status != 200 {
		t.Fatalf("after release = %d %v", status, err)
	}

	// A client that leaves while held is logged as never answered.
	defer s.Hold()()
	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan error, 1)
	go func() {
		_, err := do(ctx)
		gone <- err
	}()
	if err := s.WaitHeld(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-gone; err == nil {
		t.Fatal("cancelled request succeeded")
	}
	srv.Close() // waits for the handler to return
	calls := s.Calls()
	if last := calls[len(calls)-1]; last.Status != titest.StatusClientGone {
		t.Fatalf("last call = %+v, want status %d", last, titest.StatusClientGone)
	}

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if err := s.WaitHeld(ctx, 5); err != context.Canceled {
		t.Fatalf("WaitHeld on a cancelled context = %v", err)
	}
}

func TestSSOPage(t *testing.T) {
	s := titest.New(key)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	sign := func(method jwt.SigningMethod, k any, claims jwt.MapClaims) string {
		tok, err := jwt.NewWithClaims(method, claims).SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := jwt.MapClaims{"email": "ada@example.com", "firstName": "<b>Ada</b>", "iat": now.Unix(), "returnTo": "/learn?x=<y>"}
	for _, tc := range []struct {
		name, token string
		status      int
		text        string
	}{
		{"valid", sign(jwt.SigningMethodHS256, []byte(key), good), 200, "as ada@example.com. You would now be at /learn?x=&lt;y&gt;."},
		{"missing", "", 401, "missing"},
		{"HS512", sign(jwt.SigningMethodHS512, []byte(key), good), 401, "signing method HS512 is invalid"},
		{"none", sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good), 401, "not accepted"},
		{"no iat", sign(jwt.SigningMethodHS256, []byte(key), jwt.MapClaims{"email": "ada@example.com"}), 401, "iat"},
		{"no email", sign(jwt.SigningMethodHS256, []byte(key), jwt.MapClaims{"iat": now.Unix()}), 401, "email"},
		{"numeric name", sign(jwt.SigningMethodHS256, []byte(key), jwt.MapClaims{"email": "ada@example.com", "firstName": 7, "iat": now.Unix()}), 401, "firstName"},
		{"iat 501s old", sign(jwt.SigningMethodHS256, []byte(key), jwt.MapClaims{"email": "a@example.com", "iat": now.Unix() - 501}), 401, "more than"},
		{"iat 500s old", sign(jwt.SigningMethodHS256, []byte(key), jwt.MapClaims{"email": "a@example.com", "iat": now.Unix() - 500}), 200, "a@example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/access/jwt?jwt="+tc.token, nil))
			body := rec.Body.String()
			if rec.Code != tc.status || !strings.Contains(body, tc.text) || strings.Contains(body, "<b>") || strings.Contains(body, "<y>") {
				t.Fatalf("GET = %d %q, want %d containing %q, all escaped", rec.Code, body, tc.status, tc.text)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Fatalf("Content-Type = %q", ct)
			}
		})
	}
	logins := s.SSOLogins()
	if len(logins) != 9 {
		t.Fatalf("logins = %d, want 9", len(logins))
	}
	if l := logins[0]; !l.Valid || l.Email != "ada@example.com" || l.FirstName != "<b>Ada</b>" || l.ReturnTo != "/learn?x=<y>" || !l.Time.Equal(now) {
		t.Fatalf("first login = %+v", l)
	}
	if l := logins[2]; l.Valid || l.Error == "" || l.Email != "" {
		t.Fatalf("HS512 login = %+v, want refused with no names", l)
	}
	// The token never reaches the call log.
	for _, c := range s.Calls() {
		if c.Path != "/access/jwt" || strings.Contains(c.Query, "eyJ") {
			t.Fatalf("call = %+v", c)
		}
	}
	// Sign-ins are a browser page: API failure injection leaves them alone.
	s.SetDown(true)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/access/jwt?jwt="+sign(jwt.SigningMethodHS256, []byte(key), good), nil))
	if rec.Code != 200 {
		t.Fatalf("sign-in while the API is down = %d", rec.Code)
	}
}
