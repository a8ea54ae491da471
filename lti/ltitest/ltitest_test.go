package ltitest_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/examgate/examgate/lti"
	"github.com/examgate/examgate/lti/ltitest"
)

// The fake platform checks the authorization request as Moodle's
// mod/lti/auth.php does, and answers problems to the tool as OpenID Connect
// errors, except a redirect_uri it cannot trust.
func TestAuthorizationRequestChecks(t *testing.T) {
	p := ltitest.New("https://platform.example.com", "client-1", "dep-1")
	p.ToolRedirectURI = "https://exams.example.com/lti/launch"
	hint := p.AddLaunch(ltitest.User{Sub: "u1"}, ltitest.Link{TargetLinkURI: "https://exams.example.com/lti/exams/X"})
	good := url.Values{
		"response_type": {"id_token"}, "response_mode": {"form_post"}, "scope": {"openid"},
		"prompt": {"none"}, "client_id": {"client-1"}, "redirect_uri": {p.ToolRedirectURI},
		"state": {"s"}, "nonce": {"n"}, "login_hint": {"u1"}, "lti_message_hint": {hint},
	}
	get := func(v url.Values) (int, string) {
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, ltitest.AuthPath+"?"+v.Encode(), nil))
		b, _ := io.ReadAll(rec.Body)
		return rec.Code, string(b)
	}
	code, body := get(good)
	action, form, err := ltitest.ParseForm(body)
	if code != 200 || err != nil || action != p.ToolRedirectURI || form.Get("state") != "s" || form.Get("id_token") == "" {
		t.Fatalf("good request: %d %v %s", code, err, body)
	}
	for name, tc := range map[string]struct {
		edit func(url.Values)
		err  string
	}{
		"scope with profile":   {func(v url.Values) { v.Set("scope", "openid profile email") }, "invalid_scope"},
		"response_type code":   {func(v url.Values) { v.Set("response_type", "code") }, "unsupported_response_type"},
		"no form_post":         {func(v url.Values) { v.Del("response_mode") }, "invalid_request"},
		"prompt login":         {func(v url.Values) { v.Set("prompt", "login") }, "invalid_request"},
		"other client":         {func(v url.Values) { v.Set("client_id", "client-2") }, "unauthorized_client"},
		"no nonce":             {func(v url.Values) { v.Del("nonce") }, "invalid_request"},
		"hint of another user": {func(v url.Values) { v.Set("login_hint", "u2") }, "access_denied"},
	} {
		v := url.Values{}
		for k, vs := range good {
			v[k] = append([]string(nil), vs...)
		}
		tc.edit(v)
		code, body := get(v)
		action, form, err := ltitest.ParseForm(body)
		if code != 200 || err != nil || action != p.ToolRedirectURI || form.Get("error") != tc.err || form.Get("state") != "s" || form.Get("id_token") != "" {
			t.Errorf("%s: %d %v %s, want a form_post of error %s", name, code, err, body, tc.err)
		}
	}
	v := url.Values{}
	for k, vs := range good {
		v[k] = vs
	}
	v.Set("redirect_uri", "https://evil.example.com/")
	if code, body := get(v); code != 400 || strings.Contains(body, "<form") {
		t.Errorf("other redirect: %d %s, want a 400 page that posts nothing", code, body)
	}
}

// The JWKS lists the previous key during a rotation and drops it after.
func TestJWKSRotation(t *testing.T) {
	p := ltitest.New("https://platform.example.com", "client-1", "dep-1")
	keys := func() map[string]bool {
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, ltitest.JWKSPath, nil))
		set, err := lti.ParseJWKS(rec.Body.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for kid := range set {
			out[kid] = true
		}
		return out
	}
	first := p.CurrentKID()
	p.Rotate()
	if k := keys(); len(k) != 2 || !k[first] || !k[p.CurrentKID()] {
		t.Errorf("during rotation: %v", k)
	}
	p.RetireOldKeys()
	if k := keys(); len(k) != 1 || k[first] {
		t.Errorf("after rotation: %v", k)
	}
}
