package db

import (
	"context"
	"time"

	"github.com/examgate/examgate"
	"github.com/uptrace/bun"
)

type ltiToolKeyRow struct {
	bun.BaseModel `bun:"table:lti_tool_keys"`

	KID        string     `bun:"kid,pk"`
	PrivateKey string     `bun:"private_key"`
	CreatedAt  time.Time  `bun:"created_at"`
	RetiredAt  *time.Time `bun:"retired_at"`
}

func (r *ltiToolKeyRow) domain() examgate.LTIToolKey {
	return examgate.LTIToolKey{KID: r.KID, PrivateKeyPEM: r.PrivateKey, CreatedAt: r.CreatedAt.UTC(), RetiredAt: utcPtr(r.RetiredAt)}
}

// LTIToolKeys returns the active tool key first (if any), then the keys
// retired after retiredSince, newest first.
func (db *DB) LTIToolKeys(ctx context.Context, retiredSince time.Time) ([]examgate.LTIToolKey, error) {
	var rows []ltiToolKeyRow
	err := db.bun.NewSelect().Model(&rows).
		Where("retired_at IS NULL OR retired_at > ?", retiredSince).
		OrderExpr("retired_at IS NULL DESC, created_at DESC, kid").
		Scan(ctx)
	if err != nil {
		return nil, examgate.Wrap(examgate.EINTERNAL, err, "could not read the LTI tool keys")
	}
	keys := make([]examgate.LTIToolKey, len(rows))
	for i := range rows {
		keys[i] = rows[i].domain()
	}
	return keys, nil
}

// AddFirstLTIToolKey stores k as the active key unless there is one
// already, and reports whether it did. Two processes making the first key
// at once both call it; the unique index lets one win.
func (db *DB) AddFirstLTIToolKey(ctx context.Context, k examgate.LTIToolKey) (bool, error) {
	row := ltiToolKeyRow{KID: k.KID, PrivateKey: k.PrivateKeyPEM, CreatedAt: k.CreatedAt}
	res, err := db.bun.NewInsert().Model(&row).On("CONFLICT DO NOTHING").Exec(ctx)
	if err != nil {
		return false, examgate.Wrap(examgate.EINTERNAL, err, "could not store the LTI tool key")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, examgate.Wrap(examgate.EINTERNAL, err, "could not store the LTI tool key")
	}
	return n == 1, nil
}

// RotateLTIToolKey makes k the active key and retires the previous one at
// k.CreatedAt, in one transaction; keys retired at or before pruneBefore are
// deleted, so private keys no longer published do not linger. A rotation
// racing another one fails with ECONFLICT.
func (db *DB) RotateLTIToolKey(ctx context.Context, k examgate.LTIToolKey, pruneBefore time.Time) error {
	err := db.bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewDelete().Model((*ltiToolKeyRow)(nil)).
			Where("retired_at IS NOT NULL AND retired_at <= ?", pruneBefore).Exec(ctx); err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model((*ltiToolKeyRow)(nil)).
			Set("retired_at = ?", k.CreatedAt).
			Where("retired_at IS NULL").Exec(ctx); err != nil {
			return err
		}
		row := ltiToolKeyRow{KID: k.KID, PrivateKey: k.PrivateKeyPEM, CreatedAt: k.CreatedAt}
		_, err := tx.NewInsert().Model(&row).Exec(ctx)
		return err
	})
	if isUniqueViolation(err) {
		return examgate.Errorf(examgate.ECONFLICT, "another key rotation ran at the same time; list the keys and rotate again only if needed")
	}
	if err != nil {
		return examgate.Wrap(examgate.EINTERNAL, err, "could not rotate the LTI tool key")
	}
	return nil
}
