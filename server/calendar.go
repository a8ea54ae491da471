package server

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/i18n"
	"github.com/examgate/examgate/mail"
)

// handleCalendar serves a booking as an .ics file to its candidate.
func (s *Server) handleCalendar(w http.ResponseWriter, r *http.Request) {
	sess, err := examgate.RequireSession(r.Context())
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.errorPage(w, r, examgate.Errorf(examgate.ENOTFOUND, "This booking does not exist."))
		return
	}
	b, err := s.Bookings.Own(r.Context(), sess.CandidateID, id)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	exam, err := s.Catalog.Exam(b.ExamCode)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	l := i18n.English
	if cand, err := s.Store.CandidateByID(r.Context(), sess.CandidateID); err == nil {
		l = pageLang(r, cand)
	}
	ics := mail.ICS(mail.BookingEvent(l, b, exam, s.BaseURL.String(), s.Clock.Now()))
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="exam-%s.ics"`, b.ExamCode))
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(ics)
}
