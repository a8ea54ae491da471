package db_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/db/dbtest"
	"github.com/examgate/examgate/lti"
	"github.com/examgate/examgate/lti/ltitest"
)

var platformReg = lti.Registration{
	Name: "Inspire", Issuer: "https://account.onlineacademy.nl", ClientID: "71bafed5", DeploymentIDs: []string{"dep-b", "dep-a"},
	AuthURL: "https://account.onlineacademy.nl/connect/authorize", TokenURL: "https://account.onlineacademy.nl/connect/token",
	JWKSURL: "https://account.onlineacademy.nl/.well-known/jwks",
}

func TestLTIRegistrations(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		if _, err := store.Registration(ctx, platformReg.Issuer, platformReg.ClientID); examgate.ErrorCode(err) != examgate.ENOTFOUND {
			t.Fatalf("before: %v", err)
		}
		if err := store.SaveRegistration(ctx, &platformReg, t0); err != nil {
			t.Fatal(err)
		}
		second := platformReg
		second.ClientID, second.DeploymentIDs = "other-client", []string{"dep-x"}
		if err := store.SaveRegistration(ctx, &second, t0); err != nil {
			t.Fatal(err)
		}
		got, err := store.Registration(ctx, platformReg.Issuer, platformReg.ClientID)
		if err != nil {
			t.Fatal(err)
		}
		if got.AuthURL != platformReg.AuthURL || len(got.DeploymentIDs) != 2 || got.DeploymentIDs[0] != "dep-a" || got.Name != "Inspire" {
			t.Errorf("got %+v", got)
		}
		// Saving again replaces URLs and deployments.
		changed := platformReg
		changed.DeploymentIDs = []string{"dep-c"}
		changed.JWKSURL = "https://account.onlineacademy.nl/jwks2"
		if err := store.SaveRegistration(ctx, &changed, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, _ = store.Registration(ctx, platformReg.Issuer, platformReg.ClientID)
		if len(got.DeploymentIDs) != 1 || got.DeploymentIDs[0] != "dep-c" || got.JWKSURL != changed.JWKSURL || got.CourseIDSource != "" {
			t.Errorf("after update %+v", got)
		}
		// The course id source is kept, and can be set back to the default.
		for _, src := range []string{lti.CourseIDFromTargetLink, ""} {
			changed.CourseIDSource = src
			if err := store.SaveRegistration(ctx, &changed, t0.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if got, err = store.Registration(ctx, platformReg.Issuer, platformReg.ClientID); err != nil || got.CourseIDSource != src {
				t.Errorf("courseIdSource %q read back as %+v %v", src, got, err)
			}
		}
		all, err := store.RegistrationsByIssuer(ctx, platformReg.Issuer)
		if err != nil || len(all) != 2 {
			t.Fatalf("by issuer: %v %v", all, err)
		}
		bad := platformReg
		bad.CourseIDSource = "context_id"
		if err := store.SaveRegistration(ctx, &bad, t0); examgate.ErrorCode(err) != examgate.EINVALID {
			t.Errorf("unknown course id source saved: %v", err)
		}
		bad = platformReg
		bad.TokenURL = "ftp://x"
		if err := store.SaveRegistration(ctx, &bad, t0); examgate.ErrorCode(err) != examgate.EINVALID {
			t.Errorf("invalid registration saved: %v", err)
		}
	})
}

func TestLTILoginsAndNonces(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		l := &lti.PendingLogin{StateHash: "s1", Nonce: "n1", BindingHash: "b1", Issuer: "iss", ClientID: "c",
			TargetLinkURI: "https://exams.example.com/lti/exams/X", LoginHint: "u", StorageTarget: "_parent", ExpiresAt: t0.Add(10 * time.Minute)}
		if err := store.SaveLogin(ctx, l); err != nil {
			t.Fatal(err)
		}
		if p, err := store.PeekLogin(ctx, "s1", t0); err != nil || p.Nonce != "n1" || p.StorageTarget != "_parent" {
			t.Fatalf("peek: %+v %v", p, err)
		}
		if _, err := store.TakeLogin(ctx, "s1", t0.Add(11*time.Minute)); examgate.ErrorCode(err) != examgate.ENOTFOUND {
			t.Fatalf("expired login taken: %v", err)
		}
		p, err := store.TakeLogin(ctx, "s1", t0)
		if err != nil || p.BindingHash != "b1" || !p.ExpiresAt.Equal(l.ExpiresAt) {
			t.Fatalf("take: %+v %v", p, err)
		}
		if _, err := store.TakeLogin(ctx, "s1", t0); examgate.ErrorCode(err) != examgate.ENOTFOUND {
			t.Fatalf("second take: %v", err)
		}
		if err := store.UseNonce(ctx, "iss", "n1", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := store.UseNonce(ctx, "iss", "n1", t0.Add(time.Hour)); examgate.ErrorCode(err) != examgate.ECONFLICT {
			t.Fatalf("replayed nonce: %v", err)
		}
		if err := store.UseNonce(ctx, "other-iss", "n1", t0.Add(time.Hour)); err != nil {
			t.Fatalf("same nonce, other platform: %v", err)
		}
		_ = store.SaveLogin(ctx, &lti.PendingLogin{StateHash: "s2", ExpiresAt: t0.Add(time.Minute)})
		_ = store.SaveLogin(ctx, &lti.PendingLogin{StateHash: "s3", ExpiresAt: t0.Add(10 * time.Minute)})
		// The minute sweep forgets expired logins only.
		if err := store.DeleteExpiredLTI(ctx, t0.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if n := count(t, store, "lti_logins"); n != 1 {
			t.Errorf("%d logins left after the sweep, want the live one", n)
		}
		if err := store.DeleteExpired(ctx, t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if n := count(t, store, "lti_nonces") + count(t, store, "lti_logins"); n != 0 {
			t.Errorf("%d expired rows left", n)
		}
	})
}

func ltiRecord(sub, email, first string, at time.Time) *examgate.LTILaunchRecord {
	return &examgate.LTILaunchRecord{
		Claims: examgate.LTILaunchClaims{Issuer: "https://platform.example.com", ClientID: "c1", DeploymentID: "d1",
			Subject: sub, Email: email, FirstName: first, LastName: "Hopper", CourseID: "course-9",
			ResourceLinkID: "rl-1", LineItemURL: "https://platform.example.com/lineitems/1/scores"},
		ExamCode: "DEMO-101",
		Eligibility: examgate.Eligibility{ExamCode: "DEMO-101", CourseID: "course-9", PurchasedAt: at,
			EndsAt: at.AddDate(0, 0, 90), CheckedAt: at},
		Session: examgate.Session{TokenHash: "h-" + sub + at.String(), CreatedAt: at, ExpiresAt: at.Add(examgate.SessionLifetime)},
	}
}

func TestCompleteLTILaunch(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		cand, elig, err := store.CompleteLTILaunch(ctx, ltiRecord("sub-1", "grace@example.com", "Grace", t0))
		if err != nil {
			t.Fatal(err)
		}
		if cand.Email != "grace@example.com" || cand.FirstName != "Grace" || !elig.EndsAt.Equal(t0.AddDate(0, 0, 90)) {
			t.Fatalf("first launch: %+v %+v", cand, elig)
		}
		// A later launch keeps the window, updates the context and keeps
		// names it did not get.
		later := ltiRecord("sub-1", "", "", t0.AddDate(0, 0, 30))
		later.Claims.LastName = ""
		later.Claims.LineItemURL = "https://platform.example.com/lineitems/2"
		again, elig2, err := store.CompleteLTILaunch(ctx, later)
		if err != nil {
			t.Fatal(err)
		}
		if again.ID != cand.ID || again.FirstName != "Grace" || again.Email != "grace@example.com" {
			t.Errorf("relaunch candidate %+v", again)
		}
		if !elig2.EndsAt.Equal(elig.EndsAt) || !elig2.PurchasedAt.Equal(t0) {
			t.Errorf("relaunch moved the window: %+v", elig2)
		}
		lc, err := store.LTIContext(ctx, cand.ID, "DEMO-101")
		if err != nil || lc.LineItemURL != "https://platform.example.com/lineitems/2" || lc.Subject != "sub-1" || lc.ClientID != "c1" {
			t.Fatalf("context %+v %v", lc, err)
		}
		// Learners without email: each their own candidate, email empty.
		a, _, err := store.CompleteLTILaunch(ctx, ltiRecord("anon-1", "", "", t0))
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := store.CompleteLTILaunch(ctx, ltiRecord("anon-2", "", "", t0))
		if err != nil {
			t.Fatal(err)
		}
		if a.ID == b.ID || a.Email != "" || b.Email != "" {
			t.Errorf("anonymous candidates %+v %+v", a, b)
		}
		if got, err := store.CandidateByID(ctx, a.ID); err != nil || got.Email != "" {
			t.Errorf("read back %+v %v", got, err)
		}
		// Another learner with a taken email is refused.
		if _, _, err := store.CompleteLTILaunch(ctx, ltiRecord("sub-2", "grace@example.com", "G", t0)); examgate.ErrorCode(err) != examgate.ECONFLICT {
			t.Errorf("taken email: %v", err)
		}
		if _, err := store.LTIContext(ctx, a.ID, "OTHER"); examgate.ErrorCode(err) != examgate.ENOTFOUND {
			t.Errorf("no context: %v", err)
		}
		if n := count(t, store, "sessions"); n != 4 {
			t.Errorf("%d sessions, want 4", n)
		}
	})
}

// A TI launch never takes over a learner who came from an LTI platform by
// their email: the platform's email is unverified, and whoever launches as
// that (issuer, sub) would share the TI learner's account.
func TestTILaunchRefusesLTICandidateEmail(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		lti, _, err := store.CompleteLTILaunch(ctx, ltiRecord("sub-1", "ada@example.com", "Mallory", t0))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.CompleteLaunch(ctx, record("tok1", "ext-1", "ada@example.com")); examgate.ErrorCode(err) != examgate.ECONFLICT {
			t.Fatalf("TI launch with the LTI learner's email: %v", err)
		}
		if n := count(t, store, "sessions"); n != 1 {
			t.Fatalf("%d sessions, want only the LTI one", n)
		}
		if got, err := store.CandidateByID(ctx, lti.ID); err != nil || got.ExternalID != "" || got.FirstName != "Mallory" {
			t.Fatalf("the LTI learner changed: %+v %v", got, err)
		}
		// Another email is no problem.
		if _, err := store.CompleteLaunch(ctx, record("tok2", "ext-1", "ada@ti.example.com")); err != nil {
			t.Fatal(err)
		}
	})
}

// Two posts of one launch at the same moment: one takes the login.
func TestLTITakeLoginOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		if err := store.SaveLogin(ctx, &lti.PendingLogin{StateHash: "race", Nonce: "n", BindingHash: "b", Issuer: "i", ClientID: "c",
			TargetLinkURI: "https://exams.example.com/lti/exams/X", LoginHint: "u", ExpiresAt: t0.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		const n = 8
		errs := make(chan error, n)
		for range n {
			go func() {
				_, err := store.TakeLogin(ctx, "race", t0)
				errs <- err
			}()
		}
		won := 0
		for range n {
			switch err := <-errs; examgate.ErrorCode(err) {
			case "":
				won++
			case examgate.ENOTFOUND:
			default:
				t.Errorf("take: %v", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d posts took the login, want 1", won)
		}
	})
}

// A launch without a line item (no AGS claim) keeps the stored line item and
// the client id whose token it needs; one with a line item replaces both.
func TestLTIContextKeepsLineItem(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		cand, _, err := store.CompleteLTILaunch(ctx, ltiRecord("sub-1", "", "", t0))
		if err != nil {
			t.Fatal(err)
		}
		noAGS := ltiRecord("sub-1", "", "", t0.Add(time.Hour))
		noAGS.Claims.LineItemURL, noAGS.Claims.ClientID, noAGS.Claims.CourseID = "", "c2", "course-10"
		if _, _, err := store.CompleteLTILaunch(ctx, noAGS); err != nil {
			t.Fatal(err)
		}
		lc, err := store.LTIContext(ctx, cand.ID, "DEMO-101")
		if err != nil || lc.LineItemURL != "https://platform.example.com/lineitems/1/scores" || lc.ClientID != "c1" || lc.CourseID != "course-10" {
			t.Fatalf("after a launch without line item: %+v %v", lc, err)
		}
		other := ltiRecord("sub-1", "", "", t0.Add(2*time.Hour))
		other.Claims.LineItemURL, other.Claims.ClientID = "https://platform.example.com/lineitems/9", "c2"
		if _, _, err := store.CompleteLTILaunch(ctx, other); err != nil {
			t.Fatal(err)
		}
		lc, err = store.LTIContext(ctx, cand.ID, "DEMO-101")
		if err != nil || lc.LineItemURL != other.Claims.LineItemURL || lc.ClientID != "c2" {
			t.Fatalf("after a launch with another line item: %+v %v", lc, err)
		}
	})
}

// An attempt keeps the line item of the launch in force when it started.
func TestLTIAttemptFixedAtStart(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		cand, _, err := store.CompleteLTILaunch(ctx, ltiRecord("sub-1", "", "", t0))
		if err != nil {
			t.Fatal(err)
		}
		a, err := store.StartAttempt(ctx, &examgate.Attempt{CandidateID: cand.ID, ExamCode: "DEMO-101", Seed: 1,
			StartedAt: t0, Deadline: t0.Add(time.Hour), Status: examgate.AttemptOpen}, nil,
			examgate.Request{CandidateID: cand.ID, ClientKey: "k", Action: examgate.ActionStart, At: t0}, nil)
		if err != nil {
			t.Fatal(err)
		}
		later := ltiRecord("sub-1", "", "", t0.Add(time.Minute))
		later.Claims.LineItemURL, later.Claims.ClientID = "https://platform.example.com/lineitems/9", "c2"
		if _, _, err := store.CompleteLTILaunch(ctx, later); err != nil {
			t.Fatal(err)
		}
		la, err := store.LTIAttempt(ctx, a.ID)
		if err != nil || la.LineItemURL != "https://platform.example.com/lineitems/1/scores" || la.ClientID != "c1" ||
			la.Subject != "sub-1" || la.Issuer != "https://platform.example.com" {
			t.Fatalf("attempt's LTI target %+v %v", la, err)
		}
		// A candidate who never launched from LTI: no LTI target.
		other, err := store.StartAttempt(ctx, &examgate.Attempt{CandidateID: cand.ID, ExamCode: "OTHER", Seed: 2,
			StartedAt: t0, Deadline: t0.Add(time.Hour), Status: examgate.AttemptOpen}, nil,
			examgate.Request{CandidateID: cand.ID, ClientKey: "k2", Action: examgate.ActionStart, At: t0}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.LTIAttempt(ctx, other.ID); examgate.ErrorCode(err) != examgate.ENOTFOUND {
			t.Fatalf("attempt without launch: %v", err)
		}
	})
}

// A launch whose (issuer, nonce) the store has already recorded is refused
// by the store's unique key (UseNonce's ECONFLICT), after every other check
// passed: the last line against a token accepted twice.
func TestLTILaunchNonceReplayedInStore(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, store *db.DB) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Second)
		clock := examgate.ClockFunc(func() time.Time { return now })
		p := ltitest.NewServer(t, "client-1", "dep-1")
		p.Now = func() time.Time { return now }
		reg := p.Registration()
		if err := store.SaveRegistration(ctx, &reg, now); err != nil {
			t.Fatal(err)
		}
		base, _ := url.Parse("https://exams.example.com")
		tool := &lti.Tool{BaseURL: base, Registrations: store, Store: store, Clock: clock, Keys: &lti.JWKSCache{Clock: clock}}
		p.ToolRedirectURI = tool.RedirectURI()
		launch := func(recordNonceFirst bool) error {
			t.Helper()
			v := p.LoginParams(p.AddLaunch(ltitest.User{Sub: "u1"}, ltitest.Link{TargetLinkURI: tool.TargetLink("DEMO-101")}))
			login, err := tool.StartLogin(ctx, &lti.LoginRequest{Issuer: v.Get("iss"), LoginHint: v.Get("login_hint"),
				TargetLinkURI: v.Get("target_link_uri"), LTIMessageHint: v.Get("lti_message_hint"), ClientID: v.Get("client_id")})
			if err != nil {
				t.Fatal(err)
			}
			auth, _ := url.Parse(login.AuthURL)
			if recordNonceFirst {
				if err := store.UseNonce(ctx, p.Issuer, auth.Query().Get("nonce"), now.Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			resp, err := http.Get(login.AuthURL)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			_, form, err := ltitest.ParseForm(string(body))
			if err != nil {
				t.Fatal(err)
			}
			_, err = tool.Launch(ctx, lti.LaunchRequest{IDToken: form.Get("id_token"), State: form.Get("state"), Binding: login.Binding})
			return err
		}
		if err := launch(false); err != nil {
			t.Fatalf("launch: %v", err)
		}
		err := launch(true)
		if examgate.ErrorCode(err) != examgate.EUNAUTHORIZED || !strings.Contains(examgate.ErrorMessage(err), "already used") ||
			!strings.Contains(err.Error(), "nonce replayed") {
			t.Fatalf("got %v, want the nonce refused as replayed", err)
		}
	})
}
