package tiapi_test

// Contract tests: each example body below is typed in from the TI
// documentation page named beside it. Every example is held against the
// client (served as it is, the client must read it) and against the fake
// in titest (its answer may use no key the page does not show, and must
// show every key the page does), so that the two cannot agree on a shape TI
// never documented.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/tiapi"
	"github.com/examgate/examgate/tiapi/titest"
)

const zeroUUID = "00000000-0000-0000-0000-000000000000"

// docs/rest/users/details, "Example response" (the first fields; the page
// goes on with purchasedCourses and more).
const docUserByID = `{
  "data": {
    "UserById": {
      "id": "00000000-0000-0000-0000-000000000000",
      "email": "string",
      "firstName": "string",
      "abbreviatedName": "string",
      "asset": "string",
      "lastName": "string",
      "name": "string",
      "lastActiveAt": "2024-01-01T00:00:00.000Z",
      "bio": "string",
      "twoFactorEnabled": true,
      "firstInitial": "string",
      "lastInitial": "string",
      "invitedByName": "string",
      "shouldHighlight": true,
      "externalCustomerId": "string"
    }
  }
}`

// docs/rest/events/course-purchase, "Example response". The page documents
// no event fields: "events": [{}].
const docCoursePurchase = `{
  "data": {
    "APIEvents": {
      "pageInfo": {
        "perPage": 0,
        "cursor": "string",
        "total": 0,
        "hasMore": true
      },
      "events": [
        {}
      ]
    }
  }
}`

// docs/rest/pagination, "Events endpoint pagination": bare.
const docEventsBare = `{
  "pageInfo": {
    "cursor": "MTUxODM2NTg1Mzk5OQ",
    "hasMore": true
  },
  "events": []
}`

// docs/rest/privacy/reset-course-progress, "Example response".
const docResetProgress = `{
  "data": {
    "ResetUserCourseProgress": true
  }
}`

// docs/rest/ping, "Example response".
const docPing = `{
  "valid": true
}`

// docs/rest/rate-limits, "Handling rate limit errors".
const docRateLimited = `{
  "error": "rate_limit_exceeded",
  "message": "Request rate limit reached. Retry after 32 seconds.",
  "retryAfter": 32
}`

// docs/rest/assignments/external-activity: the feature note and the UUID
// rule, both {errors: ["…"]}.
const (
	docFeatureOff = `{"errors":["externalActivity feature is not enabled"]}`
	docBadIDs     = `{"errors":["Invalid assignmentId or learnerId (both are required)"]}`
)

// docs/rest/courses/structure, "Example response" (the first fields).
const docCourseStructure = `{
  "data": {
    "APICourseStructure": {
      "id": "00000000-0000-0000-0000-000000000000",
      "title": "string",
      "status": "string",
      "sections": []
    }
  }
}`

// paths lists the key paths of a JSON value: "data.UserById.id",
// "data.APIEvents.events[]"; arrays are entered through their elements.
func paths(t *testing.T, body []byte) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, body)
	}
	var out []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				out = append(out, p)
				walk(p, c)
			}
		case []any:
			out = append(out, prefix+"[]")
			for _, c := range x {
				walk(prefix+"[]", c)
			}
		}
	}
	walk("", v)
	slices.Sort(out)
	return slices.Compact(out)
}

// fakeAnswer sends one request to f and returns the status and body.
func fakeAnswer(t *testing.T, f *titest.Server, method, path, body string) (*http.Response, []byte) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+apiKey)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	f.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Result(), b
}

// TestFakeServesTheDocumentedShapes holds the fake to each example: it uses
// only keys the page shows (below undocumented objects, such as an event,
// anything goes), and it shows every key the page does, except the long
// tail of a user profile that examgate does not read.
func TestFakeServesTheDocumentedShapes(t *testing.T) {
	f := titest.New(apiKey)
	u := f.AddUser(titest.User{ID: zeroUUID, Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace", ExternalCustomerID: "ext-1"})
	f.AddPurchase(titest.Purchase{UserID: u.ID, CourseID: zeroUUID, Slug: "intro", Time: time.Now()})
	f.AddPurchase(titest.Purchase{UserID: u.ID, CourseID: zeroUUID, Slug: "intro", Time: time.Now()})
	f.PageSize = 1
	for _, tc := range []struct {
		name, doc            string
		setup                func()
		method, path, body   string
		status               int
		undocumentedBelow    string   // the page shows this as {}
		notServed            []string // documented keys the fake leaves out
		docKeysMayBeExtended bool
	}{
		{name: "users/details", doc: docUserByID, method: "GET", path: "/incoming/v2/users/" + zeroUUID, status: 200,
			notServed: []string{"abbreviatedName", "asset", "lastActiveAt", "bio", "twoFactorEnabled", "firstInitial", "lastInitial", "invitedByName", "shouldHighlight"}},
		{name: "events/course-purchase", doc: docCoursePurchase, method: "GET", path: "/incoming/v2/events/coursePurchase?notifiableId=" + zeroUUID, status: 200,
			undocumentedBelow: "data.APIEvents.events[]"},
		{name: "pagination (bare events)", doc: docEventsBare, setup: func() { f.SetShape(titest.Bare) }, method: "GET", path: "/incoming/v2/events/coursePurchase", status: 200,
			undocumentedBelow: "events[]"},
		{name: "privacy/reset-course-progress", doc: docResetProgress, method: "POST", path: "/incoming/v2/users/" + zeroUUID + "/resetProgress",
			body: `{"userId":"00000000-0000-0000-0000-000000000000","slug":"string","resetProgress":true,"revokeAccess":true}`, status: 200},
		{name: "ping", doc: docPing, method: "GET", path: "/incoming/v2/ping", status: 200},
		{name: "courses/structure", doc: docCourseStructure, method: "GET", path: "/incoming/v2/courses/" + zeroUUID + "/structure", status: 200},
		{name: "external-activity, feature off", doc: docFeatureOff, setup: func() { f.SetExternalActivityEnabled(false) }, method: "POST", path: "/incoming/v2/assignmentExternalActivity",
			body: `{"status":"completed","assignmentId":"123e4567-e89b-12d3-a456-426614174000","learnerId":"00000000-0000-0000-0000-000000000000"}`, status: 400},
		{name: "external-activity, bad ids", doc: docBadIDs, method: "POST", path: "/incoming/v2/assignmentExternalActivity",
			body: `{"status":"completed","assignmentId":"a1","learnerId":"u1"}`, status: 400},
		{name: "rate-limits", doc: docRateLimited, setup: func() { f.SetRateLimit(1); fakeAnswer(t, f, "GET", "/incoming/v2/ping", "") }, method: "GET", path: "/incoming/v2/ping", status: 429},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.SetShape(titest.Enveloped)
			f.SetExternalActivityEnabled(true)
			f.SetRateLimit(0)
			if tc.setup != nil {
				tc.setup()
			}
			resp, body := fakeAnswer(t, f, tc.method, tc.path, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("fake answered %d %s, the page shows %d", resp.StatusCode, body, tc.status)
			}
			doc, got := paths(t, []byte(tc.doc)), paths(t, body)
			for _, p := range got {
				if tc.undocumentedBelow != "" && strings.HasPrefix(p, tc.undocumentedBelow+".") {
					continue
				}
				if !slices.Contains(doc, p) && !strings.HasSuffix(p, "externalCustomerId") {
					t.Errorf("fake serves %s, which the page does not show\nfake: %s", p, body)
				}
			}
			for _, p := range doc {
				if !slices.Contains(got, p) && !slices.ContainsFunc(tc.notServed, func(n string) bool { return strings.HasSuffix(p, "."+n) }) {
					t.Errorf("fake leaves out %s, which the page shows\nfake: %s", p, body)
				}
			}
		})
	}
}

// docServer answers every request with status, headers and body as given.
func docServer(t *testing.T, status int, header map[string]string, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestClientReadsTheDocumentedExamples(t *testing.T) {
	ctx := context.Background()
	var slept []time.Duration
	client := func(url string) *tiapi.Client { return newClient(url, apiKey, &slept) }

	t.Run("users/details enveloped and bare", func(t *testing.T) {
		var bare map[string]map[string]json.RawMessage
		_ = json.Unmarshal([]byte(docUserByID), &bare)
		bareUser, _ := json.Marshal(bare["data"]["UserById"])
		for _, body := range []string{docUserByID, string(bareUser)} {
			id, err := client(docServer(t, 200, nil, body)).UserID(ctx, "ada@example.com")
			if err != nil || id != zeroUUID {
				t.Fatalf("UserID = %q, %v", id, err)
			}
		}
	})
	t.Run("users/details null is not found", func(t *testing.T) {
		_, err := client(docServer(t, 200, nil, `{"data":{"UserById":null}}`)).UserID(ctx, "ada@example.com")
		wantCode(t, err, examgate.ENOTFOUND)
	})
	t.Run("course-purchase example: an event without a time is an outage", func(t *testing.T) {
		_, err := client(docServer(t, 200, nil, docCoursePurchase)).LatestPurchase(ctx, zeroUUID, zeroUUID)
		e := wantCode(t, err, examgate.EUNAVAILABLE)
		if !strings.Contains(e.Message, "try again") {
			t.Fatalf("message = %q, want the try-again page", e.Message)
		}
	})
	t.Run("course-purchase example with events that carry a time", func(t *testing.T) {
		for _, ev := range []string{
			`{"timestamp":"2026-01-02T03:04:05.000Z"}`,
			`{"createdAt":"2026-01-02T03:04:05Z","notifiableId":"` + zeroUUID + `"}`,
			`{"timestamp":1767323045000}`,
		} {
			body := strings.Replace(strings.Replace(docCoursePurchase, "{}", ev, 1), `"hasMore": true`, `"hasMore": false`, 1)
			got, err := client(docServer(t, 200, nil, body)).LatestPurchase(ctx, zeroUUID, zeroUUID)
			if err != nil || !got.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
				t.Fatalf("event %s: LatestPurchase = %v, %v", ev, got, err)
			}
		}
	})
	t.Run("pagination guide: bare pages follow the cursor", func(t *testing.T) {
		var cursors []string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cursors = append(cursors, r.URL.Query().Get("cursor"))
			if r.URL.Query().Get("cursor") == "" {
				_, _ = io.WriteString(w, docEventsBare)
				return
			}
			_, _ = io.WriteString(w, `{"pageInfo":{"hasMore":false},"events":[{"timestamp":"2026-01-02T03:04:05Z"}]}`)
		}))
		defer srv.Close()
		got, err := client(srv.URL).LatestPurchase(ctx, zeroUUID, zeroUUID)
		if err != nil || got.Year() != 2026 || !slices.Equal(cursors, []string{"", "MTUxODM2NTg1Mzk5OQ"}) {
			t.Fatalf("LatestPurchase = %v, %v after cursors %q", got, err, cursors)
		}
	})
	t.Run("an answer in neither shape is an outage, never no purchase", func(t *testing.T) {
		for _, body := range []string{`{"data":{"Events":{"events":[]}}}`, `{"items":[]}`, `[]`, `null`, `{"data":null,"errors":["boom"]}`} {
			_, err := client(docServer(t, 200, nil, body)).LatestPurchase(ctx, zeroUUID, zeroUUID)
			wantCode(t, err, examgate.EUNAVAILABLE)
			_, err = client(docServer(t, 200, nil, body)).UserID(ctx, "ada@example.com")
			wantCode(t, err, examgate.EUNAVAILABLE)
		}
	})
	t.Run("reset-course-progress: only true is done", func(t *testing.T) {
		for body, done := range map[string]bool{
			docResetProgress:                             true,
			`{"ResetUserCourseProgress":true}`:           true,
			`{"data":{"ResetUserCourseProgress":false}}`: false,
			`{"data":{"ResetUserCourseProgress":null}}`:  false,
			`{}`: false,
			``:   false,
		} {
			err := client(docServer(t, 200, nil, body)).ResetProgress(ctx, zeroUUID, "intro")
			if (err == nil) != done || (err != nil && class(err) != "backoff") {
				t.Errorf("answer %q: err = %v (%s), want done=%v, else retried with backoff", body, err, class(err), done)
			}
		}
	})
	post := tiapi.ResultPost{Status: tiapi.ResultCompleted, AssignmentID: "123e4567-e89b-12d3-a456-426614174000", LearnerID: "223e4567-e89b-12d3-a456-426614174000", Grade: 95, GradeFeedback: "Great Job!"}
	t.Run("external-activity: 302 with no body is done", func(t *testing.T) {
		if err := client(docServer(t, 302, map[string]string{"Location": "/learn"}, "")).PostResult(ctx, post); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("external-activity: feature off is configuration, retried later", func(t *testing.T) {
		c := client(docServer(t, 400, nil, docFeatureOff))
		err := c.PostResult(ctx, post)
		if class(err) != fmt.Sprintf("retry after %s", tiapi.DefaultConfigRetry) || !strings.Contains(err.Error(), "feature is not enabled") {
			t.Fatalf("err = %v (%s)", err, class(err))
		}
	})
	t.Run("external-activity: bad ids are permanent", func(t *testing.T) {
		err := client(docServer(t, 400, nil, docBadIDs)).PostResult(ctx, post)
		if class(err) != "permanent" || !strings.Contains(err.Error(), "Invalid assignmentId or learnerId") {
			t.Fatalf("err = %v (%s)", err, class(err))
		}
	})
	t.Run("rate-limits: the 429 example", func(t *testing.T) {
		url := docServer(t, 429, map[string]string{"Retry-After": "32"}, docRateLimited)
		if err := client(url).PostResult(ctx, post); class(err) != "retry after 32s" {
			t.Fatalf("post: err = %v (%s)", err, class(err))
		}
		// 32 s is more than a learner's launch waits: "try again" at once.
		slept = nil
		_, err := client(url).UserID(ctx, "ada@example.com")
		if wantCode(t, err, examgate.EUNAVAILABLE); len(slept) != 0 {
			t.Fatalf("slept %v on a launch", slept)
		}
	})
	t.Run("overview: 401 with an empty body", func(t *testing.T) {
		_, err := client(docServer(t, 401, nil, "")).UserID(ctx, "ada@example.com")
		if e := wantCode(t, err, examgate.EUNAVAILABLE); !strings.Contains(e.Err.Error(), "API key") {
			t.Fatalf("err = %v", err)
		}
	})
}
