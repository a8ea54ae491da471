package server

import (
	"net/http"

	"github.com/examgate/examgate"
)

// handleBackToCourse signs the learner into their course platform and sends
// them to the exam's course. The sign-in token is made at the click, not
// when the result page loads, because TI accepts it only for a few minutes.
func (s *Server) handleBackToCourse(w http.ResponseWriter, r *http.Request) {
	sess, err := examgate.RequireSession(r.Context())
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	exam, err := s.Catalog.Exam(r.PathValue("code"))
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	cand, err := s.Store.CandidateByID(r.Context(), sess.CandidateID)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	if s.LTILaunch != nil {
		// A learner from an LTI platform has no TI account to sign in to.
		if lc, err := s.LTILaunch.Store.LTIContext(r.Context(), cand.ID, exam.Code); err == nil {
			if lc.ReturnURL != "" {
				w.Header().Set("Cache-Control", "no-store")
				http.Redirect(w, r, lc.ReturnURL, http.StatusSeeOther)
				return
			}
			s.errorPage(w, r, examgate.Errorf(examgate.ENOTFOUND, "You opened this exam from your learning platform: go back to your course in the tab or window you came from."))
			return
		} else if examgate.ErrorCode(err) != examgate.ENOTFOUND {
			s.errorPage(w, r, err)
			return
		}
	}
	if s.CourseURL == nil {
		s.errorPage(w, r, examgate.Errorf(examgate.ENOTFOUND, "Go back to your course in the tab or window you came from."))
		return
	}
	to, err := s.CourseURL(cand, exam)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, to, http.StatusSeeOther)
}
