package server

import (
	"net/http"
	"net/url"

	"github.com/examgate/examgate"
)

// handleTILaunch is the URL configured in TI's External Activity:
// /launch/ti?exam_id=<code>&jwt=<token>. It checks the token, signs the
// learner in and sends them to the exam dashboard, so that the token never
// stays in the address bar or in history.
func (s *Server) handleTILaunch(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	q := r.URL.Query()
	raw, examCode := q.Get("jwt"), q.Get("exam_id")
	if raw == "" || examCode == "" {
		s.errorPage(w, r, examgate.Errorf(examgate.EINVALID, "This exam link is incomplete. Go back to your course and open the exam again."))
		return
	}
	claims, err := s.Verifier.Verify(raw)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	done, err := s.Launcher.Launch(r.Context(), claims, examCode)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     SessionCookie,
		Value:    done.SessionToken,
		Path:     "/",
		MaxAge:   int(examgate.SessionLifetime.Seconds()),
		HttpOnly: true,
		Secure:   s.secureCookie,
		SameSite: http.SameSiteLaxMode,
	})
	s.Logger.InfoContext(r.Context(), "launch", "candidate_id", done.Candidate.ID, "exam", done.Exam.Code,
		"eligible_until", done.Eligibility.EndsAt)
	http.Redirect(w, r, "/exams/"+url.PathEscape(done.Exam.Code), http.StatusSeeOther)
}

// handleLogout ends the session of this browser.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil {
		if err := s.Store.DeleteSession(r.Context(), examgate.HashSessionToken(c.Value)); err != nil {
			s.errorPage(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secureCookie, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if !s.Ready() {
		http.Error(w, "starting: migrations not applied yet", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}
