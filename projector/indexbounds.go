package projector

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/klauspost/compress/snappy"
	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/projections"
)

// indexedValues are the values of a row change that the state's indexes
// will hold: the row's, or, for an update carrying only its changes (a
// MongoDB patch), the top-level columns it sets.
func indexedValues(row map[string]any, patch *debezium.Patch) map[string]any {
	if row != nil || patch == nil {
		return row
	}
	return patch.Set // a dotted path names no column: it is no index's
}

// checkIndexed refuses values the state's indexes cannot hold: a column
// joins look rows up by longer than maxIndexedText, or group_by columns
// indexed together whose entry would be longer than maxGroupEntry, their
// values compressed as PostgreSQL compresses them when compressed is set
// (groupEntryBytes), as they are otherwise. The columns a patch does not
// set keep their values, unknown here: a patch is bounded by what it sets.
func checkIndexed(src *projections.Source, vals map[string]any, compressed bool) error {
	for _, col := range src.Indexed {
		if t, ok := text(vals[col]); ok && len(t) > maxIndexedText {
			return fmt.Errorf("%w: column %q of this %s row, which joins look rows up by, is %d bytes long; projector indexes join values of at most %d bytes",
				ErrBadRecord, col, src.Name, len(t), maxIndexedText)
		}
	}
	for _, cols := range src.IndexedTogether {
		texts := make([]string, 0, len(cols))
		for _, col := range cols {
			if t, ok := text(vals[col]); ok {
				texts = append(texts, t)
			}
		}
		if n := groupEntryBytes(texts, compressed); n > maxGroupEntry {
			return fmt.Errorf("%w: columns %s of this %s row, which a view groups by, take %d bytes together in an index entry; projector indexes group values of at most %d bytes together",
				ErrBadRecord, strings.Join(cols, ", "), src.Name, n, maxGroupEntry)
		}
	}
	return nil
}

// maxGroupEntry bounds the values of group_by columns indexed together:
// a btree entry holds at most 2,704 bytes, less its header and a length
// word a value, with room.
const maxGroupEntry = 2600

// groupEntryBytes is about what values take in one index entry. PostgreSQL
// compresses a value over 510 bytes in an index entry (pglz, kept when it
// saves a quarter); with compressed set, snappy, of the same family of
// compressors (LZ77, no entropy coding), stands for it.
func groupEntryBytes(values []string, compressed bool) int {
	n := 0
	for _, v := range values {
		size := len(v)
		if compressed && size > 510 {
			if c := snappy.MaxEncodedLen(size); c > 0 {
				if z := len(snappy.Encode(make([]byte, c), []byte(v))); z <= size*3/4 {
					size = z
				}
			}
		}
		n += size
	}
	return n
}

// oversizedSQL is checkIndexed's bound in SQL, of the row data (an
// expression), values uncompressed (SQL has no compressor to ask): true
// when a value the state's indexes would hold is too long for them.
func oversizedSQL(src *projections.Source, data string) string {
	var conds []string
	for _, col := range src.Indexed {
		conds = append(conds, `coalesce(octet_length(`+data+`->>`+quoteLiteral(col)+`), 0) > `+strconv.Itoa(maxIndexedText))
	}
	for _, cols := range src.IndexedTogether {
		sum := make([]string, len(cols))
		for i, col := range cols {
			sum[i] = `coalesce(octet_length(` + data + `->>` + quoteLiteral(col) + `), 0)`
		}
		conds = append(conds, `(`+strings.Join(sum, " + ")+`) > `+strconv.Itoa(maxGroupEntry))
	}
	if len(conds) == 0 {
		return "false"
	}
	return "(" + strings.Join(conds, " OR ") + ")"
}
