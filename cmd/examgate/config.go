package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/tiapi"
)

// config is examgate's configuration, read from EXAMGATE_* variables; flags
// of the same meaning override them.
type config struct {
	Addr        string
	BaseURL     string
	DatabaseURL string
	ExamsFile   string
	TIBaseURL   string
	TIAPIKey    string
	TISecrets   []string
	TISkew      time.Duration
	SMTPURL     string
	MailFrom    string
	AdminKey    string
	TIPlan      tiapi.Plan    // TI's rate-limit plan; PerMinute 0 means unpaced
	JobLease    time.Duration // how long a worker owns a job before another may take it
	SessionIdle time.Duration // how long a session lasts without a request
	Demo        bool
	Playground  bool
	// Request budgets of /graphql, per minute, with the burst allowed at
	// once; a zero limit turns that budget off.
	KeyRateLimit     int // per API key
	KeyRateBurst     int
	LearnerRateLimit int // per learner session, or client IP without one
	LearnerRateBurst int
	CORSOrigins      []string // origins whose pages may call /graphql
	// WebhookAllowPrivate lets webhooks reach private addresses and
	// http://localhost: for tests and demos only.
	WebhookAllowPrivate bool
	// LTIPlatforms is a file of LTI 1.3 platform registrations, stored at start.
	LTIPlatforms string
	TIOff        bool // LTI only: no TI setting was given
	// MetricsAddr is a listen address of its own for /metrics; MetricsKey
	// a Bearer key that /metrics asks for (on the main listener, where it
	// is served only with a key, or in demo mode).
	MetricsAddr, MetricsKey string
}

const (
	demoAPIKey   = "demo-ti-api-key"
	demoSecret   = "demo-launch-secret"
	demoAdminKey = "demo-admin-api-key"
)

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (*config, error) {
	c := &config{
		Addr:        or(getenv("EXAMGATE_ADDR"), ":8080"),
		BaseURL:     getenv("EXAMGATE_BASE_URL"),
		DatabaseURL: or(getenv("EXAMGATE_DATABASE_URL"), defaultDatabase),
		ExamsFile:   getenv("EXAMGATE_EXAMS"),
		TIBaseURL:   getenv("EXAMGATE_TI_BASE_URL"),
		TIAPIKey:    getenv("EXAMGATE_TI_API_KEY"),
		SMTPURL:     getenv("EXAMGATE_SMTP_URL"),
		AdminKey:    getenv("EXAMGATE_ADMIN_API_KEY"),
		TIPlan:      tiapi.PlanStandard,
		JobLease:    2 * time.Minute,
		SessionIdle: examgate.DefaultSessionIdle,
		MailFrom:    getenv("EXAMGATE_MAIL_FROM"),
		Demo:        isTrue(getenv("EXAMGATE_DEMO")),
		Playground:  isTrue(getenv("EXAMGATE_PLAYGROUND")),
		TISkew:      500 * time.Second,
		// 10 a second leaves a partner's polling and page walks plenty of
		// room; the SPA autosaves every answer, so a learner gets more.
		KeyRateLimit:     600,
		KeyRateBurst:     60,
		LearnerRateLimit: 1200,
		LearnerRateBurst: 120,

		WebhookAllowPrivate: isTrue(getenv("EXAMGATE_WEBHOOK_ALLOW_PRIVATE")),
	}
	for _, v := range []struct {
		name string
		dst  *int
		max  int
	}{
		{"EXAMGATE_KEY_RATE_LIMIT", &c.KeyRateLimit, 1_000_000},
		{"EXAMGATE_KEY_RATE_BURST", &c.KeyRateBurst, 100_000},
		{"EXAMGATE_LEARNER_RATE_LIMIT", &c.LearnerRateLimit, 1_000_000},
		{"EXAMGATE_LEARNER_RATE_BURST", &c.LearnerRateBurst, 100_000},
	} {
		s := getenv(v.name)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > v.max {
			return nil, fmt.Errorf("%s=%q: give a whole number from 0 to %d (requests a minute for a limit, 0 turns it off; requests at once for a burst)", v.name, s, v.max)
		}
		*v.dst = n
	}
	if (c.KeyRateLimit > 0 && c.KeyRateBurst < 1) || (c.LearnerRateLimit > 0 && c.LearnerRateBurst < 1) {
		return nil, errors.New("EXAMGATE_KEY_RATE_BURST and EXAMGATE_LEARNER_RATE_BURST must be at least 1 while their limit is on")
	}
	origins, err := parseOrigins(getenv("EXAMGATE_CORS_ORIGINS"))
	if err != nil {
		return nil, err
	}
	c.CORSOrigins = origins
	c.LTIPlatforms = getenv("EXAMGATE_LTI_PLATFORMS")
	c.MetricsAddr, c.MetricsKey = getenv("EXAMGATE_METRICS_ADDR"), getenv("EXAMGATE_METRICS_KEY")
	if c.MetricsKey != "" && len(c.MetricsKey) < 16 {
		return nil, errors.New("EXAMGATE_METRICS_KEY must be at least 16 characters")
	}
	secrets := getenv("EXAMGATE_TI_SECRETS")
	rateSet := getenv("EXAMGATE_TI_RATE") != "" || getenv("EXAMGATE_TI_PLAN") != ""
	if v := getenv("EXAMGATE_TI_PLAN"); v != "" {
		plan, err := tiapi.ParsePlan(v)
		if err != nil {
			return nil, fmt.Errorf("EXAMGATE_TI_PLAN: %w", err)
		}
		c.TIPlan = plan
	}
	if v := getenv("EXAMGATE_TI_RATE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 6000 {
			return nil, fmt.Errorf("EXAMGATE_TI_RATE=%q: give TI's request limit per minute, such as 120", v)
		}
		// A limit agreed with TI outside its two plans: a sixth at once.
		c.TIPlan = tiapi.Plan{Name: "custom", PerMinute: n, Burst: max(n/6, 1)}
	}
	if v := getenv("EXAMGATE_JOB_LEASE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			return nil, fmt.Errorf("EXAMGATE_JOB_LEASE=%q: give a duration of at least 1s, such as 2m", v)
		}
		c.JobLease = d
	}
	if v := getenv("EXAMGATE_SESSION_IDLE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 5*time.Minute || d > examgate.SessionLifetime {
			return nil, fmt.Errorf("EXAMGATE_SESSION_IDLE=%q: give a duration from 5m to %v, such as 1h", v, examgate.SessionLifetime)
		}
		c.SessionIdle = d
	}
	if v := getenv("EXAMGATE_TI_IAT_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("EXAMGATE_TI_IAT_WINDOW=%q: give a duration such as 500s", v)
		}
		c.TISkew = d
	}

	fs := flag.NewFlagSet("examgate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address (EXAMGATE_ADDR)")
	fs.StringVar(&c.BaseURL, "base-url", c.BaseURL, "public URL of this server (EXAMGATE_BASE_URL)")
	fs.StringVar(&c.DatabaseURL, "db", c.DatabaseURL, "SQLite file or postgres:// URL (EXAMGATE_DATABASE_URL)")
	fs.StringVar(&c.ExamsFile, "exams", c.ExamsFile, "exam catalog YAML file (EXAMGATE_EXAMS)")
	fs.BoolVar(&c.Demo, "demo", c.Demo, "run the demo with the built-in TI simulator (EXAMGATE_DEMO)")
	fs.BoolVar(&c.Playground, "playground", c.Playground, "serve the GraphQL playground at /playground (EXAMGATE_PLAYGROUND)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}

	if c.BaseURL == "" {
		c.BaseURL = defaultBaseURL(c.Addr)
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("EXAMGATE_BASE_URL=%q: give the public URL, such as https://exams.example.com", c.BaseURL)
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.MailFrom == "" {
		c.MailFrom = "examgate <no-reply@" + u.Hostname() + ">"
	}
	for _, s := range strings.Split(secrets, ",") {
		if s = strings.TrimSpace(s); s != "" {
			c.TISecrets = append(c.TISecrets, s)
		}
	}
	if len(c.TISecrets) > 2 {
		return nil, errors.New("EXAMGATE_TI_SECRETS: give one secret, or two while TI rotates its API keys")
	}

	if c.AdminKey != "" && len(c.AdminKey) < 16 {
		return nil, errors.New("EXAMGATE_ADMIN_API_KEY: use at least 16 random characters")
	}
	if c.Demo && (secrets != "" || c.TIBaseURL != "") {
		// The demo signs launch links for any email typed in: with real TI
		// settings it would let anyone sign in as any learner.
		return nil, errors.New("EXAMGATE_DEMO=1 cannot be combined with EXAMGATE_TI_SECRETS or EXAMGATE_TI_BASE_URL: the demo signs its own launch links; unset one or the other")
	}
	if c.Demo {
		if !rateSet {
			c.TIPlan = tiapi.Plan{Name: "unpaced"} // the built-in simulator is not TI: no limit unless asked for
		}
		c.Playground = true
		if c.AdminKey == "" {
			c.AdminKey = demoAdminKey
		}
		if len(c.TISecrets) == 0 {
			c.TISecrets = []string{demoSecret}
		}
		if c.TIAPIKey == "" {
			c.TIAPIKey = demoAPIKey
		}
		if c.TIBaseURL == "" {
			c.TIBaseURL = c.BaseURL + "/ti-sim"
		}
		return c, nil
	}
	var missing []string
	// With LTI platforms and no TI setting at all, examgate serves LTI only.
	c.TIOff = c.LTIPlatforms != "" && len(c.TISecrets) == 0 && c.TIAPIKey == "" && c.TIBaseURL == ""
	if len(c.TISecrets) == 0 && !c.TIOff {
		missing = append(missing, "EXAMGATE_TI_SECRETS (the shared secret TI signs launch tokens with)")
	}
	if c.TIAPIKey == "" && !c.TIOff {
		missing = append(missing, "EXAMGATE_TI_API_KEY (a TI API key, to look up purchases)")
	}
	if c.TIBaseURL == "" && !c.TIOff {
		missing = append(missing, "EXAMGATE_TI_BASE_URL (your TI instance, such as https://academy.example.com)")
	}
	if c.ExamsFile == "" {
		missing = append(missing, "EXAMGATE_EXAMS (the exam catalog file)")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing configuration:\n  %s\nor set EXAMGATE_DEMO=1 to try examgate with its built-in TI simulator", strings.Join(missing, "\n  "))
	}
	return c, nil
}

// parseOrigins reads a comma-separated list of origins such as
// https://lms.example.com; each must be exactly an origin, since a browser
// compares the whole of it.
func parseOrigins(v string) ([]string, error) {
	var out []string
	for _, o := range strings.Split(v, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || strings.Contains(u.Host, "*") {
			return nil, fmt.Errorf("EXAMGATE_CORS_ORIGINS: %q is not an origin: list scheme://host[:port] of each partner site, such as https://lms.example.com, separated by commas (no wildcards, no paths)", o)
		}
		out = append(out, strings.ToLower(u.Scheme+"://"+u.Host))
	}
	return out, nil
}

func defaultBaseURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://localhost:8080"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func isTrue(v string) bool {
	b, _ := strconv.ParseBool(v)
	return b
}
