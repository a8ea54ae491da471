package db

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/lti"
)

var (
	_ examgate.LTIStore    = (*DB)(nil)
	_ examgate.LTIContexts = (*DB)(nil)
	_ lti.Registrations    = (*DB)(nil)
	_ lti.LaunchStore      = (*DB)(nil)
)

type ltiPlatformRow struct {
	bun.BaseModel `bun:"table:lti_platforms"`

	ID       int64  `bun:"id,pk,autoincrement"`
	Issuer   string `bun:"issuer"`
	ClientID string `bun:"client_id"`
	Name     string `bun:"name"`
	AuthURL  string `bun:"auth_url"`
	TokenURL string `bun:"token_url"`
	JWKSURL  string `bun:"jwks_url"`
	// CourseIDSource is lti.Registration.CourseIDSource.
	CourseIDSource string `bun:"course_id_source"`
	LoginScope     string `bun:"login_scope"`
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

type ltiDeploymentRow struct {
	bun.BaseModel `bun:"table:lti_deployments"`

	PlatformID   int64  `bun:"platform_id,pk"`
	DeploymentID string `bun:"deployment_id,pk"`
}

type ltiLoginRow struct {
	bun.BaseModel `bun:"table:lti_logins"`

	StateHash     string `bun:"state_hash,pk"`
	Nonce         string `bun:"nonce"`
	BindingHash   string `bun:"binding_hash"`
	Issuer        string `bun:"issuer"`
	ClientID      string `bun:"client_id"`
	DeploymentID  string `bun:"deployment_id"`
	TargetLinkURI string `bun:"target_link_uri"`
	LoginHint     string `bun:"login_hint"`
	MessageHint   string `bun:"message_hint"`
	StorageTarget string `bun:"storage_target"`
	ExpiresAt     time.Time
}

type ltiNonceRow struct {
	bun.BaseModel `bun:"table:lti_nonces"`

	Issuer    string `bun:"issuer,pk"`
	Nonce     string `bun:"nonce,pk"`
	ExpiresAt time.Time
}

type ltiIdentityRow struct {
	bun.BaseModel `bun:"table:lti_identities"`

	Issuer      string `bun:"issuer,pk"`
	Sub         string `bun:"sub,pk"`
	CandidateID int64  `bun:"candidate_id"`
	CreatedAt   time.Time
}

type ltiContextRow struct {
	bun.BaseModel `bun:"table:lti_contexts"`

	CandidateID    int64  `bun:"candidate_id,pk"`
	ExamCode       string `bun:"exam_code,pk"`
	Issuer         string `bun:"issuer"`
	ClientID       string `bun:"client_id"`
	DeploymentID   string `bun:"deployment_id"`
	Sub            string `bun:"sub"`
	ResourceLinkID string `bun:"resource_link_id"`
	CourseID       string `bun:"course_id"`
	LineitemURL    string `bun:"lineitem_url"`
	LineitemsURL   string `bun:"lineitems_url"`
	ReturnURL      string `bun:"return_url"`
	UpdatedAt      time.Time
}

// SaveRegistration adds a platform or replaces the one with the same issuer
// and client id, deployments included.
func (db *DB) SaveRegistration(ctx context.Context, r *lti.Registration, now time.Time) error {
	if err := r.Validate(); err != nil {
		return err
	}
	return db.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		row := ltiPlatformRow{Issuer: r.Issuer, ClientID: r.ClientID, Name: r.Name, AuthURL: r.AuthURL,
			TokenURL: r.TokenURL, JWKSURL: r.JWKSURL, CourseIDSource: r.CourseIDSource, LoginScope: r.LoginScope, CreatedAt: now, UpdatedAt: now}
		if _, err := tx.NewInsert().Model(&row).
			On("CONFLICT (issuer, client_id) DO UPDATE").
			Set("name = EXCLUDED.name").Set("auth_url = EXCLUDED.auth_url").
			Set("token_url = EXCLUDED.token_url").Set("jwks_url = EXCLUDED.jwks_url").
			Set("course_id_source = EXCLUDED.course_id_source").Set("login_scope = EXCLUDED.login_scope").
			Set("updated_at = EXCLUDED.updated_at").
			Returning("id").Exec(ctx); err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model((*ltiDeploymentRow)(nil)).Where("platform_id = ?", row.ID).Exec(ctx); err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, d := range r.DeploymentIDs {
			if seen[d] {
				continue
			}
			seen[d] = true
			if _, err := tx.NewInsert().Model(&ltiDeploymentRow{PlatformID: row.ID, DeploymentID: d}).Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	})
}

// Registration returns the platform with issuer and client id, or NotFound.
func (db *DB) Registration(ctx context.Context, issuer, clientID string) (*lti.Registration, error) {
	regs, err := db.registrations(ctx, "issuer = ? AND client_id = ?", issuer, clientID)
	if err != nil {
		return nil, err
	}
	if len(regs) == 0 {
		return nil, examgate.Errorf(examgate.ENOTFOUND, "no LTI platform %s with client id %s", issuer, clientID)
	}
	return regs[0], nil
}

// TokenURL is the OAuth2 token URL of a registered platform, where scores
// get their access token (examgate.LTIPlatforms).
func (db *DB) TokenURL(ctx context.Context, issuer, clientID string) (string, error) {
	reg, err := db.Registration(ctx, issuer, clientID)
	if err != nil {
		return "", err
	}
	return reg.TokenURL, nil
}

// RegistrationsByIssuer returns the platform's registrations (one per
// client id).
func (db *DB) RegistrationsByIssuer(ctx context.Context, issuer string) ([]*lti.Registration, error) {
	return db.registrations(ctx, "issuer = ?", issuer)
}

// Registrations returns every registered platform.
func (db *DB) Registrations(ctx context.Context) ([]*lti.Registration, error) {
	return db.registrations(ctx, "1 = 1")
}

func (db *DB) registrations(ctx context.Context, where string, args ...any) ([]*lti.Registration, error) {
	var rows []ltiPlatformRow
	if err := db.bun.NewSelect().Model(&rows).Where(where, args...).Order("issuer", "client_id").Limit(1000).Scan(ctx); err != nil {
		return nil, notFound(err, "LTI platform")
	}
	out := make([]*lti.Registration, 0, len(rows))
	for _, r := range rows {
		var deps []ltiDeploymentRow
		if err := db.bun.NewSelect().Model(&deps).Where("platform_id = ?", r.ID).Order("deployment_id").Scan(ctx); err != nil {
			return nil, notFound(err, "LTI deployments")
		}
		reg := &lti.Registration{Name: r.Name, Issuer: r.Issuer, ClientID: r.ClientID,
			AuthURL: r.AuthURL, TokenURL: r.TokenURL, JWKSURL: r.JWKSURL, CourseIDSource: r.CourseIDSource, LoginScope: r.LoginScope}
		for _, d := range deps {
			reg.DeploymentIDs = append(reg.DeploymentIDs, d.DeploymentID)
		}
		out = append(out, reg)
	}
	return out, nil
}

// SaveLogin stores a started login.
func (db *DB) SaveLogin(ctx context.Context, l *lti.PendingLogin) error {
	_, err := db.bun.NewInsert().Model(&ltiLoginRow{
		StateHash: l.StateHash, Nonce: l.Nonce, BindingHash: l.BindingHash, Issuer: l.Issuer, ClientID: l.ClientID,
		DeploymentID: l.DeploymentID, TargetLinkURI: l.TargetLinkURI, LoginHint: l.LoginHint,
		MessageHint: l.MessageHint, StorageTarget: l.StorageTarget, ExpiresAt: l.ExpiresAt,
	}).Exec(ctx)
	return notFound(err, "LTI login")
}

// PeekLogin returns a live pending login without consuming it.
func (db *DB) PeekLogin(ctx context.Context, stateHash string, now time.Time) (*lti.PendingLogin, error) {
	var row ltiLoginRow
	err := db.bun.NewSelect().Model(&row).Where("state_hash = ? AND expires_at > ?", stateHash, now).Scan(ctx)
	if err != nil {
		return nil, notFound(err, "LTI login")
	}
	return row.domain(), nil
}

// TakeLogin consumes a live pending login: of two launches with the same
// state, one gets it.
func (db *DB) TakeLogin(ctx context.Context, stateHash string, now time.Time) (*lti.PendingLogin, error) {
	var row ltiLoginRow
	err := db.bun.NewDelete().Model(&row).Where("state_hash = ? AND expires_at > ?", stateHash, now).
		Returning("*").Scan(ctx)
	if err != nil {
		return nil, notFound(err, "LTI login")
	}
	return row.domain(), nil
}

func (r *ltiLoginRow) domain() *lti.PendingLogin {
	return &lti.PendingLogin{
		StateHash: r.StateHash, Nonce: r.Nonce, BindingHash: r.BindingHash, Issuer: r.Issuer, ClientID: r.ClientID,
		DeploymentID: r.DeploymentID, TargetLinkURI: r.TargetLinkURI, LoginHint: r.LoginHint,
		MessageHint: r.MessageHint, StorageTarget: r.StorageTarget, ExpiresAt: r.ExpiresAt.UTC(),
	}
}

// UseNonce records a nonce; ECONFLICT when it was recorded before.
func (db *DB) UseNonce(ctx context.Context, issuer, nonce string, expiresAt time.Time) error {
	res, err := db.bun.NewInsert().Model(&ltiNonceRow{Issuer: issuer, Nonce: nonce, ExpiresAt: expiresAt}).
		On("CONFLICT DO NOTHING").Exec(ctx)
	if err != nil {
		return examgate.Wrap(examgate.EINTERNAL, err, "database error")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return examgate.Errorf(examgate.ECONFLICT, "nonce already used")
	}
	return nil
}

// DeleteExpiredLTI forgets logins never completed and nonces whose tokens
// have expired. It is cheap enough to run every minute, so that a burst of
// abandoned logins does not sit in the table for an hour.
func (db *DB) DeleteExpiredLTI(ctx context.Context, now time.Time) error {
	if _, err := db.bun.NewDelete().Model((*ltiLoginRow)(nil)).Where("expires_at <= ?", now).Exec(ctx); err != nil {
		return err
	}
	_, err := db.bun.NewDelete().Model((*ltiNonceRow)(nil)).Where("expires_at <= ?", now).Exec(ctx)
	return err
}

// noEmailPrefix marks the stored email of a learner whose platform shares
// none. candidates.email is NOT NULL UNIQUE, and SQLite cannot relax that
// without rebuilding the table its children reference, so such a learner
// gets a unique value that cannot be an address (no @); it reads back as "".
const noEmailPrefix = "lti-no-email:"

func noEmail(issuer, sub string) string {
	sum := sha256.Sum256([]byte(issuer + "\x00" + sub))
	return noEmailPrefix + hex.EncodeToString(sum[:])
}

var errLTIEmailTaken = "The email address %s already belongs to another learner account here. Ask your course administrator or support to merge or correct the accounts."

// CompleteLTILaunch writes an LTI launch in one transaction.
func (db *DB) CompleteLTILaunch(ctx context.Context, r *examgate.LTILaunchRecord) (*examgate.Candidate, *examgate.Eligibility, error) {
	var cand *examgate.Candidate
	var elig *examgate.Eligibility
	now := r.Session.CreatedAt
	c := r.Claims
	err := db.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if cand, err = db.upsertLTICandidate(ctx, tx, &c, now); err != nil {
			return err
		}
		e := r.Eligibility
		// The first launch of the exam opens the window; later ones keep it.
		if _, err := tx.NewInsert().Model(&eligibilityRow{
			CandidateID: cand.ID, ExamCode: r.ExamCode, CourseID: e.CourseID,
			PurchasedAt: e.PurchasedAt, EndsAt: e.EndsAt, CheckedAt: e.CheckedAt,
		}).On("CONFLICT (candidate_id, exam_code) DO NOTHING").Exec(ctx); err != nil {
			return err
		}
		var er eligibilityRow
		if err := tx.NewSelect().Model(&er).Where("candidate_id = ? AND exam_code = ?", cand.ID, r.ExamCode).Scan(ctx); err != nil {
			return err
		}
		elig = er.domain()
		// A launch from a link without a line item (no AGS claim) keeps the
		// line item stored, with the client id its token needs: that launch
		// must not silently drop the scores of the learner's next attempt.
		// The line items container and the resource link it is searched by
		// are kept together with the line item, for the same reason.
		if _, err := tx.NewRaw(`INSERT INTO lti_contexts (candidate_id, exam_code, issuer, client_id, deployment_id, sub,
				resource_link_id, course_id, lineitem_url, lineitems_url, return_url, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (candidate_id, exam_code) DO UPDATE SET
				issuer = EXCLUDED.issuer, sub = EXCLUDED.sub,
				client_id = CASE WHEN EXCLUDED.lineitem_url = '' AND EXCLUDED.lineitems_url = ''
						AND (lti_contexts.lineitem_url <> '' OR lti_contexts.lineitems_url <> '')
					THEN lti_contexts.client_id ELSE EXCLUDED.client_id END,
				resource_link_id = CASE WHEN EXCLUDED.lineitem_url = '' AND EXCLUDED.lineitems_url = ''
						AND (lti_contexts.lineitem_url <> '' OR lti_contexts.lineitems_url <> '')
					THEN lti_contexts.resource_link_id ELSE EXCLUDED.resource_link_id END,
				lineitem_url = CASE WHEN EXCLUDED.lineitem_url = '' AND EXCLUDED.lineitems_url = ''
					THEN lti_contexts.lineitem_url ELSE EXCLUDED.lineitem_url END,
				lineitems_url = CASE WHEN EXCLUDED.lineitem_url = '' AND EXCLUDED.lineitems_url = ''
					THEN lti_contexts.lineitems_url ELSE EXCLUDED.lineitems_url END,
				deployment_id = EXCLUDED.deployment_id,
				course_id = EXCLUDED.course_id, return_url = EXCLUDED.return_url, updated_at = EXCLUDED.updated_at`,
			cand.ID, r.ExamCode, c.Issuer, c.ClientID, c.DeploymentID, c.Subject,
			c.ResourceLinkID, c.CourseID, c.LineItemURL, c.LineItemsURL, c.ReturnURL, now).Exec(ctx); err != nil {
			return err
		}
		return db.insertSession(ctx, &tx, cand.ID, r.Session)
	})
	if err != nil {
		var de *examgate.Error
		if errors.As(err, &de) {
			return nil, nil, err
		}
		if isUniqueViolation(err) {
			return nil, nil, examgate.Wrap(examgate.ECONFLICT, err, "Your account was being updated by another sign-in at the same moment. Go back to your course and open the exam again.")
		}
		return nil, nil, examgate.Wrap(examgate.EINTERNAL, err, "could not record the launch")
	}
	return cand, elig, nil
}

// upsertLTICandidate finds the candidate of (issuer, sub) or creates it. An
// email the platform sends is taken when no other learner has it: a new
// learner whose email is someone else's is refused (as for TI), a known one
// keeps their stored email.
func (db *DB) upsertLTICandidate(ctx context.Context, tx bun.Tx, c *examgate.LTILaunchClaims, now time.Time) (*examgate.Candidate, error) {
	var ident ltiIdentityRow
	err := tx.NewSelect().Model(&ident).Where("issuer = ? AND sub = ?", c.Issuer, c.Subject).Scan(ctx)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	var byEmail *examgate.Candidate
	if c.Email != "" {
		if byEmail, err = db.candidateWhere(ctx, &tx, "email", c.Email); err != nil && examgate.ErrorCode(err) != examgate.ENOTFOUND {
			return nil, err
		}
	}
	if ident.CandidateID == 0 {
		if byEmail != nil {
			return nil, examgate.Errorf(examgate.ECONFLICT, errLTIEmailTaken, c.Email)
		}
		row := candidateRow{Email: c.Email, FirstName: c.FirstName, LastName: c.LastName, Locale: c.Locale, CreatedAt: now, UpdatedAt: now}
		if row.Email == "" {
			row.Email = noEmail(c.Issuer, c.Subject)
		}
		if _, err := tx.NewInsert().Model(&row).Returning("id").Exec(ctx); err != nil {
			return nil, err
		}
		if _, err := tx.NewInsert().Model(&ltiIdentityRow{Issuer: c.Issuer, Sub: c.Subject, CandidateID: row.ID, CreatedAt: now}).Exec(ctx); err != nil {
			return nil, err
		}
		return row.domain(), nil
	}
	var row candidateRow
	if err := tx.NewSelect().Model(&row).Where("id = ?", ident.CandidateID).Scan(ctx); err != nil {
		return nil, err
	}
	if c.Email != "" && (byEmail == nil || byEmail.ID == row.ID) {
		row.Email = c.Email
	}
	// Names the platform did not send are kept, not erased.
	if c.FirstName != "" || c.LastName != "" {
		row.FirstName, row.LastName = c.FirstName, c.LastName
	}
	// So is a locale: a platform that stopped saying keeps the learner's language.
	if c.Locale != "" {
		row.Locale = c.Locale
	}
	row.UpdatedAt = now
	if _, err := tx.NewUpdate().Model(&row).WherePK().Column("email", "first_name", "last_name", "locale", "updated_at").Exec(ctx); err != nil {
		return nil, err
	}
	return row.domain(), nil
}

// LTIContext returns where a candidate's scores for an exam go, or NotFound
// when they never launched it from an LTI platform.
func (db *DB) LTIContext(ctx context.Context, candidateID int64, examCode string) (*examgate.LTIContext, error) {
	var r ltiContextRow
	if err := db.bun.NewSelect().Model(&r).Where("candidate_id = ? AND exam_code = ?", candidateID, examCode).Scan(ctx); err != nil {
		return nil, notFound(err, "LTI launch")
	}
	return &examgate.LTIContext{
		CandidateID: r.CandidateID, ExamCode: r.ExamCode, Issuer: r.Issuer, ClientID: r.ClientID,
		DeploymentID: r.DeploymentID, Subject: r.Sub, ResourceLinkID: r.ResourceLinkID,
		CourseID: r.CourseID, LineItemURL: r.LineitemURL, LineItemsURL: r.LineitemsURL, ReturnURL: r.ReturnURL, UpdatedAt: r.UpdatedAt.UTC(),
	}, nil
}

type ltiAttemptRow struct {
	bun.BaseModel `bun:"table:lti_attempts"`

	AttemptID      int64  `bun:"attempt_id,pk"`
	Issuer         string `bun:"issuer"`
	ClientID       string `bun:"client_id"`
	DeploymentID   string `bun:"deployment_id"`
	Sub            string `bun:"sub"`
	ResourceLinkID string `bun:"resource_link_id"`
	CourseID       string `bun:"course_id"`
	LineitemURL    string `bun:"lineitem_url"`
	LineitemsURL   string `bun:"lineitems_url"`
	CreatedAt      time.Time
}

// fixLTIAttempt records, in the transaction that starts an attempt, where
// its scores go: the candidate's latest launch of the exam, if any.
func fixLTIAttempt(ctx context.Context, tx bun.Tx, a *examgate.Attempt, attemptID int64) error {
	_, err := tx.NewRaw(`INSERT INTO lti_attempts (attempt_id, issuer, client_id, deployment_id, sub, resource_link_id,
			course_id, lineitem_url, lineitems_url, created_at)
		SELECT ?, issuer, client_id, deployment_id, sub, resource_link_id, course_id, lineitem_url, lineitems_url, ?
		FROM lti_contexts WHERE candidate_id = ? AND exam_code = ?`,
		attemptID, a.StartedAt, a.CandidateID, a.ExamCode).Exec(ctx)
	return err
}

// LTIAttempt returns where an attempt's scores go, fixed when it started,
// or NotFound when its candidate had not launched the exam from an LTI
// platform.
func (db *DB) LTIAttempt(ctx context.Context, attemptID int64) (*examgate.LTIContext, error) {
	var r ltiAttemptRow
	if err := db.bun.NewSelect().Model(&r).Where("attempt_id = ?", attemptID).Scan(ctx); err != nil {
		return nil, notFound(err, "LTI attempt")
	}
	return &examgate.LTIContext{
		Issuer: r.Issuer, ClientID: r.ClientID, DeploymentID: r.DeploymentID, Subject: r.Sub,
		ResourceLinkID: r.ResourceLinkID, CourseID: r.CourseID, LineItemURL: r.LineitemURL, LineItemsURL: r.LineitemsURL,
		UpdatedAt: r.CreatedAt.UTC(),
	}, nil
}

func isNoEmail(email string) bool { return strings.HasPrefix(email, noEmailPrefix) }

type ltiLineItemRow struct {
	bun.BaseModel `bun:"table:lti_lineitems"`

	Issuer         string `bun:"issuer,pk"`
	ClientID       string `bun:"client_id,pk"`
	ResourceLinkID string `bun:"resource_link_id,pk"`
	LineitemURL    string `bun:"lineitem_url"`
	CreatedAt      time.Time
}

// LTILineItem returns the line item examgate found or created for a
// resource link, or NotFound.
func (db *DB) LTILineItem(ctx context.Context, issuer, clientID, resourceLinkID string) (string, error) {
	var r ltiLineItemRow
	err := db.bun.NewSelect().Model(&r).
		Where("issuer = ? AND client_id = ? AND resource_link_id = ?", issuer, clientID, resourceLinkID).Scan(ctx)
	if err != nil {
		return "", notFound(err, "LTI line item")
	}
	return r.LineitemURL, nil
}

// SaveLTILineItem remembers the line item of a resource link. The first one
// stored wins, so that two workers that created one each agree afterwards.
func (db *DB) SaveLTILineItem(ctx context.Context, issuer, clientID, resourceLinkID, lineItemURL string, now time.Time) (string, error) {
	if _, err := db.bun.NewInsert().Model(&ltiLineItemRow{Issuer: issuer, ClientID: clientID, ResourceLinkID: resourceLinkID,
		LineitemURL: lineItemURL, CreatedAt: now}).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
		return "", err
	}
	return db.LTILineItem(ctx, issuer, clientID, resourceLinkID)
}

type ltiRegistrationLinkRow struct {
	bun.BaseModel `bun:"table:lti_registration_links"`

	SecretHash string `bun:"secret_hash,pk"`
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// SaveRegistrationLink stores the hash of a Dynamic Registration secret.
func (db *DB) SaveRegistrationLink(ctx context.Context, secretHash string, now, expiresAt time.Time) error {
	_, err := db.bun.NewInsert().Model(&ltiRegistrationLinkRow{SecretHash: secretHash, CreatedAt: now, ExpiresAt: expiresAt}).Exec(ctx)
	return err
}

// RegistrationLinkLive reports whether a registration secret may still be
// used, without using it.
func (db *DB) RegistrationLinkLive(ctx context.Context, secretHash string, now time.Time) (bool, error) {
	n, err := db.bun.NewSelect().Model((*ltiRegistrationLinkRow)(nil)).
		Where("secret_hash = ? AND expires_at > ?", secretHash, now).Count(ctx)
	return n > 0, err
}

// TakeRegistrationLink uses a registration secret up: NotFound when it is
// unknown, expired or used already.
func (db *DB) TakeRegistrationLink(ctx context.Context, secretHash string, now time.Time) error {
	res, err := db.bun.NewDelete().Model((*ltiRegistrationLinkRow)(nil)).
		Where("secret_hash = ? AND expires_at > ?", secretHash, now).Exec(ctx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return examgate.Errorf(examgate.ENOTFOUND, "registration link unknown, expired or used")
	}
	return nil
}
