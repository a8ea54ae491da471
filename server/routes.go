package server

import "net/http"

// routes lists every route of examgate in one place.
func (s *Server) routes() {
	csrf := http.NewCrossOriginProtection()
	gql := csrf.Handler(s.withAPIKeys(s.graphHandler()))

	s.mux.HandleFunc("GET /healthz", s.handleHealth)
	s.mux.HandleFunc("GET /launch/ti", s.handleTILaunch)
	s.mux.Handle("GET /graphql", gql)
	s.mux.Handle("POST /graphql", gql)
	s.mux.HandleFunc("GET /bookings/{id}/calendar.ics", s.handleCalendar)
	s.mux.HandleFunc("GET /exams/{code}/course", s.handleBackToCourse)
	s.mux.Handle("POST /logout", csrf.Handler(http.HandlerFunc(s.handleLogout)))
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
	}
	s.mux.HandleFunc("GET /", s.handleApp)
}
