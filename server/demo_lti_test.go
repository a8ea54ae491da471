package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db/dbtest"
	"github.com/examgate/examgate/lti"
	"github.com/examgate/examgate/lti/ltitest"
	"github.com/examgate/examgate/mail"
	"github.com/examgate/examgate/server"
	"github.com/examgate/examgate/tiapi/titest"
)

// The demo's "course id taken from" choice sets the simulated platform's
// courseIdSource, and the launch carries all four values: the course id
// examgate records is the chosen one.
func TestDemoLTICourseIDChoice(t *testing.T) {
	store := dbtest.OpenSQLite(t)
	ctx := context.Background()
	catalog, err := examgate.ParseCatalog([]byte(catalogYAML))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	clock := examgate.ClockFunc(func() time.Time { return now })
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	var handler http.Handler
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(hs.Close)
	base, _ := url.Parse(hs.URL)

	p := ltitest.New(hs.URL+"/lti-sim", "examgate-demo", "demo-deployment")
	p.ToolLoginURL, p.ToolRedirectURI, p.Now = hs.URL+lti.LoginPath, hs.URL+lti.LaunchPath, clock.Now
	reg := p.Registration()
	if err := store.SaveRegistration(ctx, &reg, now); err != nil {
		t.Fatal(err)
	}
	setSource := func(ctx context.Context, source string) error {
		r := reg
		r.CourseIDSource = source
		return store.SaveRegistration(ctx, &r, clock.Now())
	}
	tool := &lti.Tool{BaseURL: base, Registrations: store, Store: store, Clock: clock, Keys: &lti.JWKSCache{Clock: clock}}
	attempts := &examgate.Attempts{Store: store, Catalog: catalog, Clock: clock, Logger: logger, LTI: store}
	handler = server.New(server.Deps{
		BaseURL: base, Store: store, Catalog: catalog, Clock: clock, Logger: logger,
		Attempts: attempts, Bookings: &examgate.Bookings{Store: store, Catalog: catalog, Clock: clock, Attempts: attempts},
		LTITool: tool, LTILaunch: &examgate.LTILauncher{Store: store, Catalog: catalog, Clock: clock, Logger: logger},
		Demo: &server.Demo{TI: titest.New("demo-key"), Secret: "demo-secret", Mail: &mail.Sink{}, LTI: p, LTICourseIDSource: setSource},
	})

	env := &ltiEnv{t: t, store: store, url: hs.URL}
	for _, c := range []struct{ source, want string }{
		{lti.CourseIDFromCustomCourseID, "demo-course-DEMO-101"},
		{lti.CourseIDFromCustomID, "demo-id-DEMO-101"},
		{lti.CourseIDFromDeployment, "demo-deployment"},
		{lti.CourseIDFromTargetLink, hs.URL + "/lti/provide/course/DEMO-101"},
	} {
		t.Run(c.source, func(t *testing.T) {
			b := env.browser(true)
			start := postForm(t, b, hs.URL+"/demo/lti-launch", url.Values{"sub": {"demo-" + c.source}, "email": {c.source + "@example.com"},
				"exam": {"DEMO-101"}, "courseSource": {c.source}, "where": {"window"}}, "Sec-Fetch-Site", "same-origin")
			authPage := submit(t, b, start) // the platform's start page posts the login initiation
			if p := submit(t, b, authPage); p.status != http.StatusSeeOther || p.location != "/exams/DEMO-101" {
				t.Fatalf("launch %d %s: %s", p.status, p.location, p.body)
			}
			got, err := store.Registration(ctx, reg.Issuer, reg.ClientID)
			if err != nil || got.CourseIDSource != c.source {
				t.Fatalf("registration %+v %v", got, err)
			}
			cand, err := store.CandidateByEmail(ctx, c.source+"@example.com")
			if err != nil {
				t.Fatal(err)
			}
			if elig, err := store.Eligibility(ctx, cand.ID, "DEMO-101"); err != nil || elig.CourseID != c.want {
				t.Fatalf("course id %+v %v, want %q", elig, err, c.want)
			}
		})
	}
}
