package db

import (
	"context"

	"github.com/examgate/examgate"
)

// RawSave is one statement of a group-commit batch in tests: a guarded save
// as SaveIfOpen builds it, or any other statement.
type RawSave struct {
	Query string
	Args  []any
}

// GuardedSave returns the statement SaveIfOpen runs for a save of choices.
func (db *DB) GuardedSave(g examgate.SaveGuard, a examgate.Answer) RawSave {
	s := db.guardedSave(g, a, false)
	return RawSave{s.query, s.args}
}

// RunSaveBatch runs statements as one group-commit batch and reports what
// each did.
func (db *DB) RunSaveBatch(ctx context.Context, saves []RawSave) (wrote []bool, errs []error) {
	batch := make([]*pendingSave, len(saves))
	for i, s := range saves {
		batch[i] = &pendingSave{query: s.Query, args: s.Args}
	}
	db.runSaveBatch(ctx, batch)
	for _, s := range batch {
		wrote = append(wrote, s.wrote)
		errs = append(errs, s.err)
	}
	return wrote, errs
}
