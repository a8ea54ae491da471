package server

import (
	"net/http"

	"github.com/examgate/examgate/graph"
)

// routes lists every route of examgate in one place.
func (s *Server) routes() {
	csrf := http.NewCrossOriginProtection()
	// CORS answers preflights before anything counts them; rate limits
	// come before the key is looked up, so a bad key is throttled too.
	gql := withCompression(s.withCORS(s.withRateLimit(s.withGraphQLDeadline(withCSRFUnlessBearer(s.withAPIKeys(noStore(s.graphHandler())))))))

	s.mux.HandleFunc("GET /healthz", s.handleHealth)
	s.mux.HandleFunc("GET /readyz", s.handleReady)
	if s.Metrics != nil && (s.MetricsKey != "" || s.Demo != nil) {
		s.mux.Handle("GET /metrics", s.Metrics.Handler(s.MetricsKey))
	}
	s.mux.Handle("GET /lti/jwks", s.ltiJWKS())
	s.mux.HandleFunc("GET /launch/ti", withDeadline(s.Deadlines.launch(), s.handleTILaunch))
	s.mux.Handle("GET /graphql", gql)
	s.mux.Handle("POST /graphql", gql)
	others := []string{"PUT", "PATCH", "DELETE"}
	if len(s.CORSOrigins) > 0 {
		s.mux.Handle("OPTIONS /graphql", gql)
	} else {
		others = append(others, "OPTIONS")
	}
	for _, m := range others {
		s.mux.HandleFunc(m+" /graphql", graph.MethodNotAllowed)
	}

	s.mux.HandleFunc("GET /bookings/{id}/calendar.ics", s.handleCalendar)
	s.mux.HandleFunc("GET /exams/{code}/course", s.handleBackToCourse)
	s.mux.HandleFunc("GET /b/{token}", s.handleBookingLink)
	s.mux.Handle("POST /logout", csrf.Handler(http.HandlerFunc(s.handleLogout)))
	if s.LTITool != nil {
		// Platforms call these cross-site: they carry their own checks (state,
		// browser binding, signed id_token) instead of the CSRF middleware.
		login := s.withLoginBudget(s.handleLTILogin)
		s.mux.HandleFunc("GET /lti/login", login)
		s.mux.HandleFunc("POST /lti/login", login)
		s.mux.HandleFunc("POST /lti/launch", withDeadline(s.Deadlines.launch(), s.handleLTILaunch))
		s.mux.HandleFunc("GET /lti/register", s.withLoginBudget(s.handleLTIRegisterStart))
		s.mux.HandleFunc("POST /lti/register", s.withLoginBudget(s.handleLTIRegister))
		s.mux.Handle("POST /lti/continue", csrf.Handler(http.HandlerFunc(s.handleLTIContinue)))
		s.mux.HandleFunc("POST /lti/preview", s.withLoginBudget(s.handleLTIPreviewScore))
		s.mux.HandleFunc("GET /lti/storage.js", s.handleLTIScript)
		s.mux.HandleFunc("GET /lti/exams/{code}", s.handleLTITargetLink)
	}
	if s.Playground {
		s.mux.HandleFunc("GET /playground", s.handlePlayground)
	}
	if s.Demo != nil {
		sim := http.StripPrefix("/ti-sim", s.Demo.TI)
		s.mux.Handle("GET /ti-sim/", sim)
		s.mux.Handle("POST /ti-sim/", sim)
		s.mux.HandleFunc("GET /demo", s.handleDemo)
		s.mux.Handle("POST /demo/launch", csrf.Handler(http.HandlerFunc(s.handleDemoLaunch)))
		s.mux.Handle("POST /demo/ti-mode", csrf.Handler(http.HandlerFunc(s.handleDemoTIMode)))
		if s.Demo.LTI != nil && s.LTITool != nil {
			platform := http.StripPrefix("/lti-sim", s.Demo.LTI)
			s.mux.Handle("GET /lti-sim/", platform)
			s.mux.Handle("POST /lti-sim/", platform)
			s.mux.Handle("POST /demo/lti-launch", csrf.Handler(http.HandlerFunc(s.handleDemoLTILaunch)))
		}
	}
	s.mux.HandleFunc("GET /", s.handleApp)
}
