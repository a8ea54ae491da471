package db

import (
	"context"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// stampChange gives a changed booking its place in the change order that
// partners poll (bookings.change_us, and updated_at to match), and returns
// the new updated_at. Call it after the transaction's other writes to the
// booking and before building the jobs that report the change, so that
// their events carry this updated_at; only those jobs' inserts follow it.
//
// The value comes from one counter row, whose lock is then held only until
// the commit that follows: the next change waits for this one to commit
// before it takes a value, so values increase in commit order. A clock (or
// sequence) read earlier in the transaction would not: on PostgreSQL a
// transaction that took an earlier value could commit after a poller had
// read past it, and its change would never be seen. SQLite has one writer at
// a time, so there the lock costs nothing. The value is the change's time in
// microseconds, or one more than the last value when the clock has not
// moved past it (several processes with clock skew, or a fixed test clock).
// Every transaction takes this lock after all its other row locks (the
// jobs table's inserts take none that another transaction holds while
// waiting for this one), so it adds no lock-order cycle.
func stampChange(ctx context.Context, tx bun.Tx, bookingID int64, at time.Time) (time.Time, error) {
	us := at.UnixMicro()
	var last int64
	if tx.Dialect().Name() == dialect.PG {
		// One round trip while the counter is locked, not two.
		err := tx.NewRaw(`WITH c AS (
				UPDATE change_clock SET last_us = CASE WHEN last_us < ? THEN ? ELSE last_us + 1 END WHERE name = 'bookings' RETURNING last_us)
			UPDATE bookings SET change_us = c.last_us, updated_at = 'epoch'::timestamptz + c.last_us * interval '1 microsecond'
			FROM c WHERE bookings.id = ? RETURNING c.last_us`, us, us, bookingID).Scan(ctx, &last)
		return time.UnixMicro(last).UTC(), err
	}
	err := tx.NewRaw(`UPDATE change_clock SET last_us = CASE WHEN last_us < ? THEN ? ELSE last_us + 1 END WHERE name = 'bookings' RETURNING last_us`,
		us, us).Scan(ctx, &last)
	if err != nil {
		return time.Time{}, err
	}
	stamp := time.UnixMicro(last).UTC()
	_, err = tx.NewUpdate().Model((*bookingRow)(nil)).Set("change_us = ?", last).Set("updated_at = ?", stamp).
		Where("id = ?", bookingID).Exec(ctx)
	return stamp, err
}
