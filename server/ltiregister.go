package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/lti"
)

// ltiRegistrationStore is what Dynamic Registration needs of the store.
type ltiRegistrationStore interface {
	RegistrationLinkLive(ctx context.Context, secretHash string, now time.Time) (bool, error)
	TakeRegistrationLink(ctx context.Context, secretHash string, now time.Time) error
	SaveRegistration(ctx context.Context, r *lti.Registration, now time.Time) error
}

var errRegistrationLink = examgate.Errorf(examgate.EFORBIDDEN, "This registration link is not valid, has expired or was used already. Make a new one with `examgate lti registration-link` and paste that into the platform.")

// registrationParams reads the link's secret and what the platform added
// (DR 1.0, 3.3): openid_configuration and, usually, registration_token.
func registrationParams(v url.Values) (secret, configURL, token string) {
	return v.Get("secret"), v.Get("openid_configuration"), v.Get("registration_token")
}

// ltiRegistrationFrame lets the registering platform, and only it, frame
// the registration pages, which it shows in an iframe before it is
// registered.
func ltiRegistrationFrame(w http.ResponseWriter, configURL string) {
	setLTIFrameHeaders(w, strings.Join(append([]string{"'self'"}, platformSources(configURL)...), " "))
}

// checkRegistrationLink answers whether the link's secret is live.
func (s *Server) checkRegistrationLink(ctx context.Context, st ltiRegistrationStore, secret string) error {
	if secret == "" || len(secret) > 128 {
		return errRegistrationLink
	}
	live, err := st.RegistrationLinkLive(ctx, lti.Hash(secret), s.Clock.Now())
	if err != nil {
		return err
	}
	if !live {
		return errRegistrationLink
	}
	return nil
}

// handleLTIRegisterStart is the registration URL a platform admin pastes:
// it reads the platform's configuration and shows what will be
// registered, behind the one-time secret of the link.
func (s *Server) handleLTIRegisterStart(w http.ResponseWriter, r *http.Request) {
	st, ok := s.Store.(ltiRegistrationStore)
	secret, configURL, token := registrationParams(r.URL.Query())
	ltiRegistrationFrame(w, configURL)
	if !ok {
		s.errorPage(w, r, examgate.Errorf(examgate.ENOTFOUND, "Dynamic registration is not available here."))
		return
	}
	if err := s.checkRegistrationLink(r.Context(), st, secret); err != nil {
		s.errorPage(w, r, err)
		return
	}
	if configURL == "" || len(configURL) > 2048 || len(token) > 8192 {
		s.errorPage(w, r, examgate.Errorf(examgate.EINVALID, "Open this link from the platform's tool registration page: the platform adds its openid_configuration to it."))
		return
	}
	pc, err := lti.FetchPlatformConfiguration(r.Context(), nil, configURL)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	s.ltiPage(w, "register", map[string]any{
		"Platform": pc, "Tool": s.LTITool, "Secret": secret, "Config": configURL, "Token": token,
	})
}

// handleLTIRegister posts examgate's client registration to the platform,
// stores the platform with the client id and deployment id it answered,
// and closes the platform's registration frame.
func (s *Server) handleLTIRegister(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	_ = r.ParseForm()
	secret, configURL, token := registrationParams(r.PostForm)
	ltiRegistrationFrame(w, configURL)
	st, ok := s.Store.(ltiRegistrationStore)
	if !ok {
		s.errorPage(w, r, examgate.Errorf(examgate.ENOTFOUND, "Dynamic registration is not available here."))
		return
	}
	if err := s.checkRegistrationLink(r.Context(), st, secret); err != nil {
		s.errorPage(w, r, err)
		return
	}
	pc, err := lti.FetchPlatformConfiguration(r.Context(), nil, configURL)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	reg, err := s.LTITool.RegisterWith(r.Context(), nil, pc, token)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	now := s.Clock.Now()
	if err := st.SaveRegistration(r.Context(), reg, now); err != nil {
		s.errorPage(w, r, err)
		return
	}
	// Used up only now, so that a platform that refused can be tried again
	// with the same link.
	if err := st.TakeRegistrationLink(r.Context(), lti.Hash(secret), now); err != nil && examgate.ErrorCode(err) != examgate.ENOTFOUND {
		s.Logger.ErrorContext(r.Context(), "could not use up the registration link", "err", err)
	}
	s.Logger.InfoContext(r.Context(), "lti platform registered", "issuer", reg.Issuer, "client_id", reg.ClientID,
		"deployment", strings.Join(reg.DeploymentIDs, ","), "product", reg.Name)
	s.ltiPage(w, "registered", map[string]any{"Registration": reg})
}
