package server

import (
	"fmt"
	"html/template"
	"net/http"
	"strconv"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/i18n"
)

// StatusFor maps a domain error code to an HTTP status.
func StatusFor(code string) int {
	switch code {
	case examgate.EINVALID:
		return http.StatusBadRequest
	case examgate.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case examgate.EFORBIDDEN:
		return http.StatusForbidden
	case examgate.ENOTFOUND:
		return http.StatusNotFound
	case examgate.ECONFLICT, examgate.ESLOTFULL, examgate.ECUTOFFPASSED, examgate.ETOOMANYRESCHEDULES, examgate.ENOTINCHECKIN:
		return http.StatusConflict
	case examgate.EOUTSIDEELIGIBILITY:
		return http.StatusForbidden
	case examgate.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	case examgate.ERATELIMITED:
		return http.StatusTooManyRequests
	default:
		return http.StatusInternalServerError
	}
}

var errorTmpl = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="/favicon.svg">
<title>{{.Title}} · examgate</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1a1a1a;background:#f6f7f9}
main{max-width:36rem;margin:10vh auto;padding:2rem;background:#fff;border-radius:8px;box-shadow:0 1px 3px #0002}
h1{font-size:1.4rem;margin-top:0}.ref{color:#555;font-size:.875rem}
</style></head>
<body><main role="main">
<h1>{{.Title}}</h1>
<p>{{.Message}}</p>
<p class="ref">{{.Reference}}</p>
</main></body></html>
`))

// errorKey is the catalogue key of an error page's title; its message is
// the same key with ".message".
func errorKey(status int) string {
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusConflict,
		http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusBadRequest:
		return "error." + strconv.Itoa(status)
	}
	return "error.500"
}

// errorPage answers with a page a learner understands and logs the cause
// under the same reference the page shows.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, err error) {
	err = examgate.Outage(err, "examgate cannot answer just now. Try again in a minute.")
	code := examgate.ErrorCode(err)
	if code == examgate.EUNAVAILABLE && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", retryAfterBusy)
	}
	status := StatusFor(code)
	id := RequestID(r.Context())
	level := "refused"
	if status >= 500 {
		s.Logger.ErrorContext(r.Context(), "request failed", "path", r.URL.Path, "status", status, "code", code, "err", err)
	} else {
		s.Logger.WarnContext(r.Context(), level, "path", r.URL.Path, "status", status, "code", code, "err", err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	l := pageLang(r, s.sessionCandidate(r))
	key := errorKey(status)
	// The server words its messages in English only: other languages say
	// the catalogue's sentence for the status.
	message := l.T(key + ".message")
	if l == i18n.English {
		message = examgate.ErrorMessage(err)
	}
	_ = errorTmpl.Execute(w, map[string]any{
		"Lang": l, "Title": l.T(key), "Message": message,
		"Reference": htmlSentence(l, "error.reference", "<code>"+template.HTMLEscapeString(id)+"</code>"),
	})
}

// pageLang is the language of a page for a learner: their platform's launch
// locale when examgate has its language, else the browser's first language
// (Accept-Language), else English. cand may be nil.
func pageLang(r *http.Request, cand *examgate.Candidate) i18n.Lang {
	locale := ""
	if cand != nil {
		locale = cand.Locale
	}
	return i18n.Choose(locale, r.Header.Get("Accept-Language"))
}

// sessionCandidate is the signed-in learner of the request, or nil.
func (s *Server) sessionCandidate(r *http.Request) *examgate.Candidate {
	sess := examgate.SessionFromContext(r.Context())
	if sess == nil || s.Store == nil {
		return nil
	}
	cand, err := s.Store.CandidateByID(r.Context(), sess.CandidateID)
	if err != nil {
		return nil
	}
	return cand
}

// htmlSentence is the catalogue sentence key as HTML, with args (HTML the
// caller has escaped) in place of its verbs.
func htmlSentence(l i18n.Lang, key string, args ...any) template.HTML {
	return template.HTML(fmt.Sprintf(template.HTMLEscapeString(l.T(key)), args...))
}
