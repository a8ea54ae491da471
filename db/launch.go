package db

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/examgate/examgate"
	"github.com/uptrace/bun"
)

var _ examgate.Store = (*DB)(nil)

// CandidateByID returns a candidate or a NotFound error.
func (db *DB) CandidateByID(ctx context.Context, id int64) (*examgate.Candidate, error) {
	return db.candidateWhere(ctx, nil, "id", id)
}

// CandidateByExternalID returns a candidate or a NotFound error.
func (db *DB) CandidateByExternalID(ctx context.Context, externalID string) (*examgate.Candidate, error) {
	return db.candidateWhere(ctx, nil, "external_id", externalID)
}

// CandidateByEmail returns a candidate or a NotFound error.
func (db *DB) CandidateByEmail(ctx context.Context, email string) (*examgate.Candidate, error) {
	return db.candidateWhere(ctx, nil, "email", examgate.NormalizeEmail(email))
}

var errTokenReplayed = examgate.Errorf(examgate.EUNAUTHORIZED, "This link has already been used. Go back to your course and open the exam again.")

// CompleteLaunch writes a launch in one transaction. The token insert comes
// first: its primary key makes a token single-use even when two processes
// receive it at the same moment.
func (db *DB) CompleteLaunch(ctx context.Context, l *examgate.LaunchRecord) (*examgate.Candidate, error) {
	var out *examgate.Candidate
	err := db.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := db.exec(ctx, &tx, insertUsedToken, l.TokenID, db.timeArg(l.Session.CreatedAt), db.timeArg(l.TokenExpiresAt))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errTokenReplayed
		}
		cand, err := db.upsertCandidate(ctx, tx, &l.Candidate, l.Session.CreatedAt)
		if err != nil {
			return err
		}
		e := l.Eligibility
		_, err = db.exec(ctx, &tx, upsertEligibility, cand.ID, e.ExamCode, e.CourseID, e.AssignmentID,
			db.timeArg(e.PurchasedAt), db.timeArg(e.EndsAt), db.timeArg(e.CheckedAt))
		if err != nil {
			return err
		}
		if err := db.insertSession(ctx, &tx, cand.ID, l.Session); err != nil {
			return err
		}
		out = cand
		return nil
	})
	if err != nil {
		var de *examgate.Error
		if errors.As(err, &de) {
			return nil, err
		}
		if isUniqueViolation(err) {
			// Another launch created the same candidate or email meanwhile.
			return nil, examgate.Wrap(examgate.ECONFLICT, err, "Your account was being updated by another sign-in at the same moment. Go back to your course and open the exam again.")
		}
		return nil, examgate.Wrap(examgate.EINTERNAL, err, "could not record the launch")
	}
	return out, nil
}

// upsertCandidate finds the candidate by external id, else by email, inside
// the transaction, applies the domain's identity rule and writes the row.
func (db *DB) upsertCandidate(ctx context.Context, tx bun.Tx, c *examgate.Candidate, now time.Time) (*examgate.Candidate, error) {
	var byExt, byEmail *examgate.Candidate
	var err error
	email := examgate.NormalizeEmail(c.Email)
	if c.ExternalID != "" {
		if byExt, err = db.candidateWhere(ctx, &tx, "external_id", c.ExternalID); err != nil && examgate.ErrorCode(err) != examgate.ENOTFOUND {
			return nil, err
		}
	}
	if byEmail, err = db.candidateWhere(ctx, &tx, "email", email); err != nil && examgate.ErrorCode(err) != examgate.ENOTFOUND {
		return nil, err
	}
	match, err := examgate.MatchCandidate(byExt, byEmail, &examgate.LaunchClaims{Email: email, ExternalCustomerID: c.ExternalID})
	if err != nil {
		return nil, err
	}
	if match != nil && byExt == nil {
		// Found by email only: never a learner who came from an LTI
		// platform, whose email that platform asserted unverified. Merging
		// would give whoever launches as (issuer, sub) this TI learner's
		// account. (An LTI launch with a TI learner's email is refused too.)
		n, err := tx.NewSelect().Model((*ltiIdentityRow)(nil)).Where("candidate_id = ?", match.ID).Count(ctx)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			return nil, examgate.EmailTaken(email)
		}
	}
	row := candidateRow{
		ExternalID: nullable(c.ExternalID), Email: email, FirstName: c.FirstName,
		LastName: c.LastName, Name: c.Name, TIUserID: c.TIUserID, CreatedAt: now, UpdatedAt: now,
	}
	if match == nil {
		if _, err := tx.NewInsert().Model(&row).Returning("id").Exec(ctx); err != nil {
			return nil, err
		}
		return row.domain(), nil
	}
	row.ID, row.CreatedAt = match.ID, match.CreatedAt
	if row.ExternalID == nil && match.ExternalID != "" {
		row.ExternalID = nullable(match.ExternalID) // a launch without the id keeps it
	}
	if row.TIUserID == "" {
		row.TIUserID = match.TIUserID
	}
	if _, err := db.exec(ctx, &tx, updateCandidate, row.ExternalID, row.Email, row.FirstName, row.LastName, row.Name,
		row.TIUserID, db.timeArg(row.UpdatedAt), row.ID); err != nil {
		return nil, err
	}
	return row.domain(), nil
}

// SessionByTokenHash returns a live session or an Unauthenticated error: one
// past its expiry, or unused for longer than the idle timeout, has ended.
// Reading a session records it as seen, writing only when the time stored
// is a minute old or more.
func (db *DB) SessionByTokenHash(ctx context.Context, hash string, now time.Time) (*examgate.Session, error) {
	// Prepared: every learner request reads its session, and parsing and
	// planning the select cost more than running it.
	st, err := db.prepared.get(ctx, db.hotPool(), db.dialectParams(sessionByTokenHash))
	if err != nil {
		return nil, examgate.Wrap(examgate.EINTERNAL, err, "database error")
	}
	row := sessionRow{TokenHash: hash}
	var seen timeValue
	err = st.QueryRowContext(ctx, hash, db.timeArg(now), db.timeArg(db.seenSince(now))).
		Scan(&row.ID, &row.CandidateID, &row.CreatedAt, &row.ExpiresAt, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, examgate.ErrSessionEnded()
	}
	if err != nil {
		return nil, examgate.Wrap(examgate.EINTERNAL, err, "database error")
	}
	if now.Sub(seen.t) >= examgate.SessionSeenEvery {
		db.touch(ctx, hash, now)
		seen.t = now
	}
	db.seen.noteSeen(hash, seen.t)
	return &examgate.Session{ID: row.ID, TokenHash: row.TokenHash, CandidateID: row.CandidateID,
		CreatedAt: row.CreatedAt.UTC(), ExpiresAt: row.ExpiresAt.UTC(), LastSeenAt: seen.t}, nil
}

const sessionByTokenHash = `SELECT id, candidate_id, created_at, expires_at, last_seen_at FROM sessions
	WHERE token_hash = ?text AND expires_at > ?timestamptz AND last_seen_at > ?timestamptz`

// DeleteSession signs a browser out.
func (db *DB) DeleteSession(ctx context.Context, hash string) error {
	_, err := db.bun.NewDelete().Model((*sessionRow)(nil)).Where("token_hash = ?", hash).Exec(ctx)
	return notFound(err, "session")
}

// DeleteExpired removes sessions (expired or idle) and replay records that
// can no longer matter.
func (db *DB) DeleteExpired(ctx context.Context, now time.Time) error {
	if _, err := db.bun.NewDelete().Model((*sessionRow)(nil)).
		Where("expires_at <= ? OR last_seen_at <= ?", now, db.seenSince(now)).Exec(ctx); err != nil {
		return err
	}
	if _, err := db.bun.NewDelete().Model((*usedTokenRow)(nil)).Where("expires_at <= ?", now).Exec(ctx); err != nil {
		return err
	}
	return db.DeleteExpiredLTI(ctx, now)
}

// isUniqueViolation recognises a unique-constraint failure on either database.
func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLSTATE 23505") || strings.Contains(msg, "UNIQUE constraint failed")
}
