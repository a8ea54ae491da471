package lti_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/examgate/examgate/lti"
)

// The platform's configuration must name an issuer on the host it was
// fetched from (DR 1.0, 3.5.1), and https endpoints.
func TestFetchPlatformConfiguration(t *testing.T) {
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, body) }))
	defer srv.Close()
	good := func(issuer string) string {
		return fmt.Sprintf(`{"issuer":%q,"authorization_endpoint":"%[1]s/auth","token_endpoint":"%[1]s/token","jwks_uri":"%[1]s/jwks",
			"registration_endpoint":"%[1]s/register","https://purl.imsglobal.org/spec/lti-platform-configuration":{"product_family_code":"moodle","version":"4.4"}}`, issuer)
	}
	body = good(srv.URL)
	pc, err := lti.FetchPlatformConfiguration(context.Background(), nil, srv.URL+"/.well-known/openid-configuration")
	if err != nil || pc.Issuer != srv.URL || pc.LTI.ProductFamilyCode != "moodle" {
		t.Fatalf("good configuration: %+v, %v", pc, err)
	}
	for name, b := range map[string]string{
		"issuer elsewhere": good("https://evil.example.com"),
		"http token URL":   strings.Replace(good(srv.URL), `"token_endpoint":"`+srv.URL, `"token_endpoint":"http://evil.example.com`, 1),
		"no registration":  strings.Replace(good(srv.URL), `"registration_endpoint"`, `"other"`, 1),
		"not JSON":         "<html>",
	} {
		body = b
		if _, err := lti.FetchPlatformConfiguration(context.Background(), nil, srv.URL+"/.well-known/openid-configuration"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := lti.FetchPlatformConfiguration(context.Background(), nil, "http://evil.example.com/config"); err == nil {
		t.Error("plain http to another host accepted")
	}
}
