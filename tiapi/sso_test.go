package tiapi_test

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate/tiapi"
	"github.com/examgate/examgate/tiapi/titest"
)

var ada = tiapi.SSOUser{Email: "ada@example.com", ExternalCustomerID: "cust-1", FirstName: "Ada", LastName: "Lovelace"}

func ssoToken(t *testing.T, key string, u tiapi.SSOUser, returnTo string, now time.Time) string {
	t.Helper()
	tok, err := tiapi.SSOToken(key, u, returnTo, now)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func visit(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestSSOClaims(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		user     tiapi.SSOUser
		returnTo string
		want     string
	}{
		{"all", ada, "/learn/course/demo",
			`{"email":"ada@example.com","externalCustomerId":"cust-1","firstName":"Ada","lastName":"Lovelace","exp":1772366520,"iat":1772366400,"jti":"*","returnTo":"/learn/course/demo"}`},
		// An empty name would erase the one TI has for the learner.
		{"no external id, last name or returnTo", tiapi.SSOUser{Email: " bob@example.com ", FirstName: "Bob", LastName: " "}, "",
			`{"email":"bob@example.com","firstName":"Bob","exp":1772366520,"iat":1772366400,"jti":"*"}`},
		{"no names at all", tiapi.SSOUser{Email: "cy@example.com"}, "",
			`{"email":"cy@example.com","exp":1772366520,"iat":1772366400,"jti":"*"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[string]bool{}
			for range 2 {
				tok := ssoToken(t, apiKey, tc.user, tc.returnTo, now.Add(700*time.Millisecond))
				parts := strings.Split(tok, ".")
				header, _ := base64.RawURLEncoding.DecodeString(parts[0])
				payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
				// Each token has its own jti; the rest is fixed.
				jti := regexp.MustCompile(`"jti":"([A-Z2-7]{26})"`).FindSubmatch(payload)
				if jti == nil || seen[string(jti[1])] {
					t.Fatalf("token %s has no fresh jti", payload)
				}
				seen[string(jti[1])] = true
				got := strings.Replace(string(payload), string(jti[1]), "*", 1)
				if string(header) != `{"alg":"HS256","typ":"JWT"}` || got != tc.want {
					t.Fatalf("token = %s.%s, want HS256 with %s", header, got, tc.want)
				}
			}
		})
	}
}

func TestSSORoundTrip(t *testing.T) {
	f := newFixture(t)
	now := time.Now()
	for _, tc := range []struct {
		name, key string
		iat       time.Time
		status    int
		text      string
	}{
		{"valid", apiKey, now, 200, "Signed in to the simulated TI as ada@example.com. You would now be at /learn/course/demo?tab=&lt;notes&gt;."},
		{"wrong key", "wrong-key", now, 401, "signature is invalid"},
		{"iat 600s old", apiKey, now.Add(-600 * time.Second), 401, "more than 8m20s from the server time"},
		{"iat 600s ahead", apiKey, now.Add(600 * time.Second), 401, "more than 8m20s from the server time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.ti.Reset()
			tok := ssoToken(t, tc.key, ada, "/learn/course/demo?tab=<notes>", tc.iat)
			status, body := visit(t, tiapi.SSOURL(f.srv.URL+"/", tok))
			if status != tc.status || !strings.Contains(body, tc.text) {
				t.Fatalf("GET /access/jwt = %d %q, want %d containing %q", status, body, tc.status, tc.text)
			}
			logins := f.ti.SSOLogins()
			if len(logins) != 1 {
				t.Fatalf("logins = %+v", logins)
			}
			l := logins[0]
			if l.Valid != (tc.status == 200) || (l.Error == "") != l.Valid {
				t.Fatalf("login = %+v", l)
			}
			if l.Valid && (l.Email != ada.Email || l.ExternalCustomerID != "cust-1" || l.FirstName != "Ada" || l.LastName != "Lovelace" || l.ReturnTo != "/learn/course/demo?tab=<notes>") {
				t.Fatalf("login = %+v", l)
			}
		})
	}
}

func TestSSOFakeRefusesReplayAndExpiry(t *testing.T) {
	f := newFixture(t)
	tok := ssoToken(t, apiKey, ada, "", time.Now())
	if status, body := visit(t, tiapi.SSOURL(f.srv.URL, tok)); status != 200 {
		t.Fatalf("first visit = %d %s", status, body)
	}
	if status, body := visit(t, tiapi.SSOURL(f.srv.URL, tok)); status != 401 || !strings.Contains(body, "jti was used before") {
		t.Fatalf("replay = %d %s, want 401", status, body)
	}
	// Inside TI's 500 s iat window but past the token's own exp.
	old := ssoToken(t, apiKey, ada, "", time.Now().Add(-tiapi.SSOLifetime-time.Second))
	if status, body := visit(t, tiapi.SSOURL(f.srv.URL, old)); status != 401 || !strings.Contains(body, "expired") {
		t.Fatalf("expired = %d %s, want 401", status, body)
	}
}

func TestSSOTokenRefusesBadInput(t *testing.T) {
	now := time.Now()
	for name, tc := range map[string]struct {
		key      string
		user     tiapi.SSOUser
		returnTo string
		text     string
	}{
		"no key":            {"", ada, "", "EXAMGATE_TI_API_KEY"},
		"no email":          {apiKey, tiapi.SSOUser{FirstName: "Ada"}, "", "not an address"},
		"bad email":         {apiKey, tiapi.SSOUser{Email: "Ada <ada@example.com>"}, "", "not an address"},
		"absolute returnTo": {apiKey, ada, "https://evil.example/", "must be a path"},
		"scheme-relative":   {apiKey, ada, "//evil.example/", "must be a path"},
		"backslash":         {apiKey, ada, "/\\evil.example", "must be a path"},
		"control character": {apiKey, ada, "/learn\r\nX: y", "must be a path"},
	} {
		t.Run(name, func(t *testing.T) {
			tok, err := tiapi.SSOToken(tc.key, tc.user, tc.returnTo, now)
			if err == nil || tok != "" || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("SSOToken = %q, %v; want an error mentioning %q", tok, err, tc.text)
			}
			noKey(t, err)
		})
	}
}

func TestSSOURL(t *testing.T) {
	if got, want := tiapi.SSOURL("https://academy.example.com/", "a.b_c-d"), "https://academy.example.com/access/jwt?jwt=a.b_c-d"; got != want {
		t.Fatalf("SSOURL = %q, want %q", got, want)
	}
}

// The simulator is mounted under a prefix in the demo.
func TestSSOBehindStripPrefix(t *testing.T) {
	ti := titest.New(apiKey)
	mux := http.NewServeMux()
	mux.Handle("/ti-sim/", http.StripPrefix("/ti-sim", ti))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	status, body := visit(t, tiapi.SSOURL(srv.URL+"/ti-sim", ssoToken(t, apiKey, ada, "", time.Now())))
	if status != 200 || !strings.Contains(body, "You would now be at the TI home page.") {
		t.Fatalf("GET = %d %q", status, body)
	}
}
