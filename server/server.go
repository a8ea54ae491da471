// Package server is examgate's HTTP side: routes, the TI launch, cookie
// sessions, the GraphQL endpoint, the SPA and, in demo mode, the TI simulator.
package server

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/graph"
	"github.com/examgate/examgate/lti"
	"github.com/examgate/examgate/lti/ltitest"
	"github.com/examgate/examgate/mail"
	"github.com/examgate/examgate/tiapi"
	"github.com/examgate/examgate/tiapi/titest"
)

// SessionCookie is the name of the session cookie.
const SessionCookie = "examgate_session"

// Deps is what the server is built from; cmd/examgate wires it.
type Deps struct {
	BaseURL    *url.URL
	Store      examgate.Store
	Catalog    *examgate.Catalog
	Clock      examgate.Clock
	Logger     *slog.Logger
	Verifier   *tiapi.LaunchVerifier
	Launcher   *examgate.Launcher
	Bookings   *examgate.Bookings
	Attempts   *examgate.Attempts
	Deliveries *examgate.Deliveries
	Webhooks   *examgate.Webhooks
	// AdminKey, when set, is a bootstrap API key with the admin scope
	// (EXAMGATE_ADMIN_API_KEY).
	AdminKey string
	// APIKeys authenticates partner and staff keys; nil takes them from
	// Store when it keeps keys.
	APIKeys *examgate.APIKeys
	// CourseURL signs the candidate into their learning platform and returns
	// where to send them for an exam's course ("Back to your course").
	CourseURL func(c *examgate.Candidate, exam *examgate.Exam) (string, error)
	// CoursePage, when set, is the exam's course page on the course
	// platform, where a learner without a session signs in (no token: the
	// platform asks for their password).
	CoursePage func(exam *examgate.Exam) string
	Playground bool
	// GraphQLExecutorOnly answers every GraphQL operation with gqlgen's
	// general executor, the web app's compiled hot documents too (see
	// graph/compiled.go); tests hold the two paths to the same answers.
	GraphQLExecutorOnly bool
	// Metrics, when set, counts requests, GraphQL operations, launches and
	// outbound calls. MetricsKey, when set, serves them at /metrics on this
	// listener to that Bearer key; the demo serves them there openly.
	Metrics    *Metrics
	MetricsKey string
	// Deadlines bound each request's work; the zero value takes defaults.
	Deadlines Deadlines
	// RateLimits are the request budgets of /graphql; the zero value sets
	// none.
	RateLimits RateLimits
	// CORSOrigins are the origins (scheme://host[:port]) whose pages may
	// call /graphql from a browser; none sends no CORS headers at all.
	CORSOrigins []string
	// Ready reports whether the server may take traffic (migrations ran).
	Ready func() bool
	// WorkerAlive, when set, reports whether the job worker's loop is
	// turning; /readyz checks it.
	WorkerAlive func() bool
	// App is the built SPA; nil serves a page that says how to build it.
	App fs.FS
	// Demo, when set, mounts the TI simulator at /ti-sim and the demo page.
	Demo *Demo
	// LTITool and LTILaunch, when set, serve LTI 1.3 launches under /lti/.
	LTITool   *lti.Tool
	LTILaunch *examgate.LTILauncher
}

// Demo is the built-in TI simulator of demo mode.
type Demo struct {
	TI     *titest.Server
	Secret string     // signs the simulated launch links
	Mail   *mail.Sink // the emails examgate sent
	// LTI, when set, is the LTI platform simulator mounted at /lti-sim.
	LTI *ltitest.Platform
	// LTIScores, when set, lists the scores the simulated platform received.
	LTIScores func() []DemoScore
	// LTICourseIDSource, when set, changes where the simulated platform's
	// registration takes the course id from (lti.Registration.CourseIDSource).
	LTICourseIDSource func(ctx context.Context, source string) error
	// Check, when set, runs `examgate ti check` against the simulator.
	Check func(ctx context.Context) []tiapi.CheckLine
}

// Server is the HTTP handler of examgate.
type Server struct {
	Deps
	secureCookie bool
	mux          *http.ServeMux
	hsts         bool
	ltiAncestors frameAncestors
}

// New returns the examgate HTTP handler.
func New(d Deps) *Server {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Clock == nil {
		d.Clock = examgate.SystemClock{}
	}
	if ks, ok := d.Store.(examgate.APIKeyStore); ok && d.APIKeys == nil {
		d.APIKeys = &examgate.APIKeys{Store: ks, Clock: d.Clock}
	}
	if d.Ready == nil {
		d.Ready = func() bool { return true }
	}
	s := &Server{Deps: d, mux: http.NewServeMux()}
	s.secureCookie = d.BaseURL == nil || !strings.EqualFold(d.BaseURL.Scheme, "http")
	// Browsers that once reached examgate over https keep to it: no
	// downgrade on a later visit from a hostile network.
	s.hsts = d.BaseURL != nil && strings.EqualFold(d.BaseURL.Scheme, "https")
	s.routes()
	return s
}

func (s *Server) graphHandler() http.Handler {
	partners, _ := s.Store.(examgate.PartnerStore)
	r := &graph.Resolver{
		Store: s.Store, Booker: s.Bookings, Attempts: s.Attempts, DeliveryLog: s.Deliveries, Hooks: s.Webhooks, Catalog: s.Catalog, Clock: s.Clock, Logger: s.Logger,
		Partners: partners,
	}
	return r.WithLoaders(graph.NewHandler(r, graph.Options{
		Introspection: s.Playground, RequestID: RequestID, Observe: s.Metrics.ObserveOperation, ExecutorOnly: s.GraphQLExecutorOnly,
	}))
}
