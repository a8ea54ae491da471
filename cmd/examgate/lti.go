package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/lti"
	"github.com/examgate/examgate/lti/ltitest"
	"github.com/examgate/examgate/server"
)

// ltiPlatformsFile is the EXAMGATE_LTI_PLATFORMS file (YAML, or JSON which
// is YAML too).
type ltiPlatformsFile struct {
	Platforms []lti.Registration `yaml:"platforms"`
}

// loadLTIPlatforms reads and checks the platforms file.
func loadLTIPlatforms(path string) ([]lti.Registration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("EXAMGATE_LTI_PLATFORMS: %w", err)
	}
	var f ltiPlatformsFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i := range f.Platforms {
		if err := f.Platforms[i].Validate(); err != nil {
			return nil, fmt.Errorf("%s: platforms[%d]: %w", path, i, err)
		}
	}
	return f.Platforms, nil
}

const ltiPlatformUsage = `usage:
  examgate lti add-platform --issuer URL --client-id ID --deployment ID [--deployment ID2]
                            --auth-url URL --token-url URL --jwks-url URL [--name NAME]
                            [--course-id-source course_id|id|deployment_id|target_link_uri]
  examgate lti list-platforms
  examgate lti tool-urls [--base-url URL] [--exam CODE]
add-platform registers an LTI 1.3 platform (or replaces the one with the same
issuer and client id); --course-id-source names the launch value that carries
the course id, as chosen on the platform (default: the first present of
custom course_id, custom id, deployment_id, target_link_uri). tool-urls
prints what to enter on the platform. The
database is EXAMGATE_DATABASE_URL (or --db).`

type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*m = append(*m, s)
		}
	}
	return nil
}

func init() {
	// The platform commands join the tool-key commands of `examgate lti`.
	for verb, usage := range map[string]string{
		"add-platform":   "add-platform --issuer URL --client-id ID --deployment ID [--deployment ID2] --auth-url URL --token-url URL --jwks-url URL [--name NAME] [--course-id-source SOURCE]",
		"list-platforms": "list-platforms          list the registered platforms",
		"tool-urls":      "tool-urls [--base-url URL] [--exam CODE]   what to enter on the platform",
	} {
		ltiSubcommands[verb] = ltiSubcommand{usage: usage, run: func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
			return ltiCommand(ctx, append([]string{verb}, args...), getenv, stdout, stderr)
		}}
	}
}

// ltiCommand manages LTI platform registrations.
func ltiCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(ltiPlatformUsage)
	}
	verb := args[0]
	fs := flag.NewFlagSet("examgate lti "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dsn := dbFlag(fs, getenv)
	var reg lti.Registration
	var deployments multiFlag
	fs.StringVar(&reg.Name, "name", "", "a name for people")
	fs.StringVar(&reg.Issuer, "issuer", "", "the platform's issuer (iss)")
	fs.StringVar(&reg.ClientID, "client-id", "", "the client id the platform gave examgate")
	fs.Var(&deployments, "deployment", "a deployment id (repeat or comma-separate)")
	fs.StringVar(&reg.AuthURL, "auth-url", "", "the platform's OIDC authorization URL")
	fs.StringVar(&reg.TokenURL, "token-url", "", "the platform's OAuth2 token URL")
	fs.StringVar(&reg.JWKSURL, "jwks-url", "", "the platform's public key set URL")
	fs.StringVar(&reg.LoginScope, "login-scope", "", "the scope of the authorization request (default openid; SkillsTown Inspire: \"openid profile email\")")
	fs.StringVar(&reg.CourseIDSource, "course-id-source", "", "the launch value carrying the course id: "+strings.Join(lti.CourseIDSources, ", ")+" (default: the first present, in that order)")
	baseURL := fs.String("base-url", getenv("EXAMGATE_BASE_URL"), "examgate's public URL")
	exam := fs.String("exam", "", "exam code for the target link")
	switch verb {
	case "add-platform", "list-platforms", "tool-urls":
	default:
		return errors.New(ltiPlatformUsage)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if verb == "tool-urls" {
		return printToolURLs(stdout, *baseURL, *exam)
	}
	store, err := openExisting(ctx, *dsn, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	if verb == "list-platforms" {
		regs, err := store.Registrations(ctx)
		if err != nil {
			return err
		}
		if len(regs) == 0 {
			fmt.Fprintln(stdout, "no LTI platforms: add one with `examgate lti add-platform` or EXAMGATE_LTI_PLATFORMS")
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tISSUER\tCLIENT ID\tDEPLOYMENTS\tCOURSE ID FROM\tAUTH URL\tTOKEN URL\tJWKS URL")
		for _, r := range regs {
			src := r.CourseIDSource
			if src == "" {
				src = "first present"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Issuer, r.ClientID, strings.Join(r.DeploymentIDs, ","), src, r.AuthURL, r.TokenURL, r.JWKSURL)
		}
		return tw.Flush()
	}
	reg.DeploymentIDs = deployments
	if err := store.SaveRegistration(ctx, &reg, time.Now().UTC()); err != nil {
		return fmt.Errorf("%w\n%s", err, ltiPlatformUsage)
	}
	fmt.Fprintf(stdout, "registered %s (client id %s, %d deployment(s))\n", reg.Issuer, reg.ClientID, len(reg.DeploymentIDs))
	return nil
}

// printToolURLs prints what a platform admin enters for examgate.
func printToolURLs(w io.Writer, base, exam string) error {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || u.Host == "" {
		return errors.New("give examgate's public URL with --base-url or EXAMGATE_BASE_URL")
	}
	t := &lti.Tool{BaseURL: u}
	if exam == "" {
		exam = "{exam code}"
	}
	fmt.Fprintf(w, "Dynamic registration URL:    %s (with the secret of `examgate lti registration-link`, which prints it whole)\n", strings.TrimRight(u.String(), "/")+lti.RegisterPath)
	fmt.Fprintf(w, "Login (OIDC initiation) URL: %s\nRedirect (launch) URL:       %s\nDeep linking URL:            %s\nPublic keys (JWKS) URL:      %s\nTarget link URI:             %s\n",
		t.LoginURL(), t.RedirectURI(), t.RedirectURI(), t.JWKSURL(), strings.ReplaceAll(t.TargetLink(exam), "%7Bexam%20code%7D", "{exam code}"))
	return nil
}

// setUpLTI stores the platforms of EXAMGATE_LTI_PLATFORMS and returns the
// LTI tool. Platforms added with `examgate lti add-platform` stay too.
func setUpLTI(ctx context.Context, cfg *config, base *url.URL, store *db.DB, clock examgate.Clock, logger *slog.Logger) (*lti.Tool, error) {
	if cfg.LTIPlatforms != "" {
		regs, err := loadLTIPlatforms(cfg.LTIPlatforms)
		if err != nil {
			return nil, err
		}
		for i := range regs {
			if err := store.SaveRegistration(ctx, &regs[i], clock.Now()); err != nil {
				return nil, fmt.Errorf("EXAMGATE_LTI_PLATFORMS: %w", err)
			}
		}
		logger.Info("LTI platforms loaded", "file", cfg.LTIPlatforms, "platforms", len(regs))
	}
	return &lti.Tool{BaseURL: base, Registrations: store, Store: store, Keys: &lti.JWKSCache{Clock: clock}, Clock: clock}, nil
}

// demoLTIPlatform is the LTI platform simulator of demo mode, mounted at
// /lti-sim and registered like a real platform, with its score service
// (AGS) at the registration's token URL and its line items; scores lists
// what that service received, for /demo, and setSource changes the
// registration's course id source, as the demo's form chooses it.
func demoLTIPlatform(ctx context.Context, cfg *config, store *db.DB, clock examgate.Clock, logger *slog.Logger) (p *ltitest.Platform, scores func() []server.DemoScore, setSource func(context.Context, string) error) {
	p = ltitest.New(cfg.BaseURL+"/lti-sim", "examgate-demo", "demo-deployment")
	p.ToolLoginURL = cfg.BaseURL + lti.LoginPath
	p.ToolRedirectURI = cfg.BaseURL + lti.LaunchPath
	p.ToolJWKSURL = cfg.BaseURL + lti.JWKSPath // verifies Deep Linking responses
	p.Now = func() time.Time { return clock.Now() }
	reg := p.Registration()
	reg.Name = "LTI platform simulator (demo)"
	if err := store.SaveRegistration(ctx, &reg, clock.Now()); err != nil {
		// Platform URLs must be https or loopback: a demo on a plain-http
		// host name runs without the LTI simulator.
		logger.Warn("the LTI platform simulator is off", "err", err)
		return nil, nil, nil
	}
	// The score service checks examgate's client assertions against the
	// tool keys examgate publishes, fetched from this very server.
	svc := p.ServeAGS(cfg.BaseURL + lti.JWKSPath)
	setSource = func(ctx context.Context, source string) error {
		r := reg
		r.CourseIDSource = source
		return store.SaveRegistration(ctx, &r, clock.Now())
	}
	return p, func() []server.DemoScore { return demoScores(svc.Scores()) }, setSource
}

// demoScores is what /demo shows of the scores the platform received.
func demoScores(in []ltitest.AGSScore) []server.DemoScore {
	out := make([]server.DemoScore, len(in))
	for i, s := range in {
		out[i] = server.DemoScore{
			Time: s.Received.UTC(), Timestamp: s.Timestamp, UserID: s.UserID, LineItem: s.LineItem,
			ActivityProgress: s.ActivityProgress, GradingProgress: s.GradingProgress, ScoreGiven: s.ScoreGiven,
		}
		if s.ScoreMaximum != nil {
			out[i].ScoreMaximum = *s.ScoreMaximum
		}
	}
	return out
}

// tiCourseURL is courseURL, or nil when examgate serves LTI only.
func tiCourseURL(cfg *config, clock examgate.Clock) func(*examgate.Candidate, *examgate.Exam) (string, error) {
	if cfg.TIOff {
		return nil
	}
	return courseURL(cfg, clock)
}
