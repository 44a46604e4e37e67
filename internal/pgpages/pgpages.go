// Package pgpages walks a PostgreSQL table a range of pages at a time, for
// the collections that delete old rows no index finds by age (tombstones):
// a chunk that looked for them from the start of the table each time would
// make a backlog cost its square; a walk reads the table about once.
package pgpages

import (
	"context"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// Querier is what Sweep reads the table's size through.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Chunk handles up to its limit of the rows at positions from from up to
// to, in the table's order (a TID range scan; see Cond), and returns how
// many it handled and the position of the last one.
type Chunk func(ctx context.Context, from, to pgtype.TID) (n int64, last pgtype.TID, err error)

// Cond is the condition that keeps a chunk's scan to its positions, $1
// and $2 being from and to.
func Cond(first int) string {
	return fmt.Sprintf("ctid >= $%d AND ctid < $%d", first, first+1)
}

// Sweep runs chunk over table's pages, rangePages at a time: again from
// after the last row it handled while it handles limit rows (a range
// dense with them is read once, not once per chunk), then on the next
// range. The pages are those the table has when the sweep starts: the
// rows it is after (old ones) are not on pages added since, as a row
// only moves when written, which dates it anew. A missing table has none.
func Sweep(ctx context.Context, db Querier, table pgx.Identifier, rangePages, limit int64, chunk Chunk) (int64, error) {
	var pages int64
	err := db.QueryRow(ctx, `SELECT coalesce(pg_relation_size(to_regclass($1)), 0) / current_setting('block_size')::bigint`,
		table.Sanitize()).Scan(&pages)
	if err != nil {
		return 0, err
	}
	var total int64
	for first := int64(0); first < pages; first += rangePages {
		from, to := pageStart(first), pageStart(first+rangePages)
		for {
			n, last, err := chunk(ctx, from, to)
			total += n
			if err != nil {
				return total, err
			}
			if n < limit || !last.Valid {
				break
			}
			from = after(last)
		}
	}
	return total, nil
}

// pageStart is the first row position of a page.
func pageStart(page int64) pgtype.TID {
	return pgtype.TID{BlockNumber: uint32(min(page, math.MaxUint32)), Valid: true}
}

// after is the row position right after t.
func after(t pgtype.TID) pgtype.TID {
	if t.OffsetNumber == math.MaxUint16 {
		return pgtype.TID{BlockNumber: t.BlockNumber + 1, Valid: true}
	}
	return pgtype.TID{BlockNumber: t.BlockNumber, OffsetNumber: t.OffsetNumber + 1, Valid: true}
}
