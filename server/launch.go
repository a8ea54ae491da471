package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
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
		s.Metrics.launch("ti", err, "")
		s.errorPage(w, r, err)
		return
	}
	claims.Browser = browserFamily(r.UserAgent())
	done, err := s.Launcher.Launch(r.Context(), claims, examCode)
	s.Metrics.launch("ti", err, "ok")
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

// browserFamily names the browser of a User-Agent coarsely: a new launch
// ends the learner's earlier sessions in the same family, so that another
// browser on the same machine (or a phone) keeps its own.
func browserFamily(ua string) string {
	switch {
	case ua == "":
		return "other"
	case strings.Contains(ua, "Edg/"):
		return "edge"
	case strings.Contains(ua, "OPR/"):
		return "opera"
	case strings.Contains(ua, "Firefox/"):
		return "firefox"
	case strings.Contains(ua, "Chrome/") || strings.Contains(ua, "Chromium/"):
		return "chrome"
	case strings.Contains(ua, "Safari/"):
		return "safari"
	}
	return "other"
}

// pinger is a store that can say whether its database answers.
type pinger interface {
	Ping(ctx context.Context) error
}

// pooled is a store that tells how busy its main pool is.
type pooled interface {
	PoolStats() sql.DBStats
}

// readyTimeout bounds the database check of /readyz: a load balancer asks
// often and must get an answer before its own timeout.
const readyTimeout = 2 * time.Second

// handleReady is readiness, for a load balancer: the migrations are
// applied, the database answers within readyTimeout, and the job worker's
// loop is turning. It lists each check and answers 503 when one fails.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	var lines []string
	failed := false
	check := func(name string, err error) {
		if err != nil {
			failed = true
			lines = append(lines, name+": FAIL ("+err.Error()+")")
			return
		}
		lines = append(lines, name+": ok")
	}
	if s.Ready() {
		check("migrations", nil)
	} else {
		check("migrations", errors.New("not applied yet"))
	}
	if p, ok := s.Store.(pinger); ok {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		err := p.Ping(ctx)
		cancel()
		if err != nil && ctx.Err() != nil {
			err = fmt.Errorf("no answer within %s", readyTimeout)
		}
		check("database", err)
	}
	if p, ok := s.Store.(pooled); ok && p.PoolStats().MaxOpenConnections > 1 { // SQLite has one
		// Reported, not failed: with one table stalled, requests that do
		// not need it still answer, and taking this instance out of the
		// load balancer would only move the stall elsewhere.
		st := p.PoolStats()
		state := "ok"
		if st.MaxOpenConnections > 0 && st.InUse >= st.MaxOpenConnections {
			state = "saturated"
		}
		lines = append(lines, fmt.Sprintf("database pool: %s (%d of %d connections in use, %d waits so far)", state, st.InUse, st.MaxOpenConnections, st.WaitCount))
	}
	if c, ok := s.Store.(interface{ ClassStats() []db.ClassStats }); ok {
		// Reported too: a class at its bound (its table stalled) leaves
		// the rest of the pool to everything else.
		for _, st := range c.ClassStats() {
			state := "ok"
			if st.InUse >= st.Limit {
				state = "saturated"
			}
			lines = append(lines, fmt.Sprintf("%s statements: %s (%d of %d connections, %d waiting)", st.Name, state, st.InUse, st.Limit, st.Waiting))
		}
	}
	if s.WorkerAlive != nil {
		if s.WorkerAlive() {
			check("job worker", nil)
		} else {
			check("job worker", errors.New("its loop has not turned lately"))
		}
	}
	if failed {
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusServiceUnavailable)
		s.Logger.WarnContext(r.Context(), "not ready", "checks", strings.Join(lines, "; "))
	}
	_, _ = w.Write([]byte(strings.Join(lines, "\n") + "\n"))
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if !s.Ready() {
		http.Error(w, "starting: migrations not applied yet", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}
