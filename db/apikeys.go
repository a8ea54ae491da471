package db

import (
	"context"
	"strings"
	"time"

	"github.com/examgate/examgate"
	"github.com/uptrace/bun"
)

var _ examgate.APIKeyStore = (*DB)(nil)

type apiKeyRow struct {
	bun.BaseModel `bun:"table:api_keys"`

	ID        int64      `bun:"id,pk,autoincrement"`
	Name      string     `bun:"name"`
	KeyHash   string     `bun:"key_hash"`
	Hint      string     `bun:"hint"`
	Scopes    string     `bun:"scopes"`
	CreatedAt time.Time  `bun:"created_at"`
	RevokedAt *time.Time `bun:"revoked_at"`
}

func (r *apiKeyRow) domain() *examgate.APIKey {
	k := &examgate.APIKey{ID: r.ID, Name: r.Name, Hint: r.Hint, Scopes: strings.Split(r.Scopes, ","), CreatedAt: r.CreatedAt.UTC()}
	if r.RevokedAt != nil {
		k.RevokedAt = r.RevokedAt.UTC()
	}
	return k
}

// CreateAPIKey stores a key by the hash of its secret.
func (db *DB) CreateAPIKey(ctx context.Context, k *examgate.APIKey, hash string) (*examgate.APIKey, error) {
	row := apiKeyRow{Name: k.Name, KeyHash: hash, Hint: k.Hint, Scopes: strings.Join(k.Scopes, ","), CreatedAt: k.CreatedAt.UTC()}
	if _, err := db.bun.NewInsert().Model(&row).Returning("id").Exec(ctx); err != nil {
		return nil, examgate.Wrap(examgate.EINTERNAL, err, "could not store the API key")
	}
	return row.domain(), nil
}

// APIKeyByHash returns the live key with this hash, or NotFound.
func (db *DB) APIKeyByHash(ctx context.Context, hash string) (*examgate.APIKey, error) {
	var row apiKeyRow
	if err := db.bun.NewSelect().Model(&row).Where("key_hash = ? AND revoked_at IS NULL", hash).Scan(ctx); err != nil {
		return nil, notFound(err, "API key")
	}
	return row.domain(), nil
}

// APIKeys lists every key, revoked ones too, oldest first.
func (db *DB) APIKeys(ctx context.Context) ([]*examgate.APIKey, error) {
	var rows []apiKeyRow
	if err := db.bun.NewSelect().Model(&rows).Order("id").Scan(ctx); err != nil {
		return nil, notFound(err, "API keys")
	}
	out := make([]*examgate.APIKey, len(rows))
	for i := range rows {
		out[i] = rows[i].domain()
	}
	return out, nil
}

// RevokeAPIKey revokes a live key.
func (db *DB) RevokeAPIKey(ctx context.Context, id int64, at time.Time) error {
	res, err := db.bun.NewUpdate().Model((*apiKeyRow)(nil)).Set("revoked_at = ?", at.UTC()).
		Where("id = ? AND revoked_at IS NULL", id).Exec(ctx)
	if err != nil {
		return examgate.Wrap(examgate.EINTERNAL, err, "could not revoke the API key")
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return examgate.Errorf(examgate.ENOTFOUND, "No live API key with id %d (see examgate apikey list).", id)
	}
	return nil
}
