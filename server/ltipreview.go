package server

import (
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/lti/ags"
)

// A preview grant lets course staff try an exam for a while after their
// launch: a JWT signed with the tool key, naming the exam. Trying stores
// nothing, so the grant is all the state there is.
const (
	previewAudience = "examgate-preview"
	previewLifetime = 3 * time.Hour
	previewSeed     = 1 // one fixed order: a preview shows what a learner might see
)

type previewItem struct {
	examgate.PresentedItem
	Stem     template.HTML // rendered from Markdown without raw HTML at load
	Multiple bool
}

// previewGrant signs the grant of exam, or "" when the store keeps no tool
// keys (then the preview shows the facts only).
func (s *Server) previewGrant(r *http.Request, exam *examgate.Exam) string {
	ks, ok := s.Store.(ags.KeyStore)
	if !ok || exam.Delivery == nil {
		return ""
	}
	key, err := ags.NewKeys(ks, s.Clock).Signing(r.Context())
	if err != nil {
		s.Logger.ErrorContext(r.Context(), "could not sign a preview grant", "err", err)
		return ""
	}
	now := s.Clock.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"aud": previewAudience, "exam": exam.Code, "iat": now.Unix(), "exp": now.Add(previewLifetime).Unix(),
	})
	tok.Header["kid"] = key.KID
	signed, err := tok.SignedString(key.Key)
	if err != nil {
		return ""
	}
	return signed
}

// previewItems is the exam's content in the preview's order.
func previewItems(exam *examgate.Exam) []previewItem {
	var out []previewItem
	for _, sec := range exam.Delivery.Present(previewSeed) {
		for _, it := range sec.Items {
			// StemHTML is rendered by the catalog's Markdown renderer, which
			// drops raw HTML.
			out = append(out, previewItem{PresentedItem: it, Stem: template.HTML(it.StemHTML), Multiple: it.Type == examgate.ItemMultiple})
		}
	}
	return out
}

// handleLTIPreviewScore scores a preview try and shows the score; nothing
// is stored or sent anywhere.
func (s *Server) handleLTIPreviewScore(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.ltiError(w, r, examgate.Errorf(examgate.EINVALID, "The answers could not be read. Open the activity again from your course."))
		return
	}
	exam, err := s.checkPreviewGrant(r, r.PostForm.Get("grant"))
	if err != nil {
		s.ltiError(w, r, err)
		return
	}
	answers := map[string][]string{}
	for _, it := range previewItems(exam) {
		if v := r.PostForm["item."+it.ID]; len(v) > 0 && len(v) <= len(it.Options) {
			answers[it.ID] = v
		}
	}
	score := exam.Delivery.Score(answers)
	s.Logger.InfoContext(r.Context(), "lti preview tried", "exam", exam.Code)
	s.ltiFrameable(w, r)
	s.ltiPage(w, "preview-score", map[string]any{"Exam": exam, "Score": score, "Answered": len(answers)})
}

var errPreviewGrant = examgate.Errorf(examgate.EUNAUTHORIZED, "This preview has expired or is not valid. Open the activity again from your course.")

func (s *Server) checkPreviewGrant(r *http.Request, raw string) (*examgate.Exam, error) {
	ks, ok := s.Store.(ags.KeyStore)
	if raw == "" || len(raw) > 4096 || !ok {
		return nil, errPreviewGrant
	}
	keys := ags.NewKeys(ks, s.Clock)
	claims := jwt.MapClaims{}
	_, err := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience(previewAudience),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(s.Clock.Now)).
		ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
			kid, _ := t.Header["kid"].(string)
			current, err := keys.Current(r.Context())
			if err != nil {
				return nil, err
			}
			for _, k := range current {
				if k.KID == kid {
					return &k.Key.PublicKey, nil
				}
			}
			return nil, fmt.Errorf("no tool key %q", kid)
		})
	if err != nil {
		return nil, examgate.Wrap(examgate.EUNAUTHORIZED, err, errPreviewGrant.Message)
	}
	code, _ := claims["exam"].(string)
	exam, err := s.Catalog.Exam(code)
	if err != nil || exam.Delivery == nil {
		return nil, errPreviewGrant
	}
	return exam, nil
}
