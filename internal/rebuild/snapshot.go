package rebuild

// The snapshot verification (the default, --verify revs) checks the new
// PostgreSQL generation against the state without recomputing every
// document, in one REPEATABLE READ snapshot of the query PostgreSQL, which
// holds the state, the revisions, the pending documents and the table:
//
//   - every document the state roots (a live root row; for an aggregation a
//     group) must be in the table at its latest revision (projector.revs);
//   - every live row of the table must be such a document;
//   - documents with a pending recompute (projector.pending, written in the
//     same transaction as the state change) are in flight and left out.
//
// Why that is enough: a document is recomputed under its revision lock from
// the state committed then, and every later state change that affects it
// records it as pending in its own transaction, until every sink
// acknowledged the write of its next revision. So a document that is not
// pending and is stored at its latest revision holds what the state gives
// now; one stored at an older revision and not pending lost a write — a
// daemon that did not write to the new generation, say. The counts and the
// sums of (id, revision) hashes of both sides are what the registry records.
//
// Redis and Elasticsearch are then checked for presence against the table,
// page by page; a random sample of documents is recomputed and compared
// field by field (catching a sink that stores something else than it was
// given); and whatever differs goes through the same settling as the full
// verification (verify.go), so a live write in flight is not a mismatch.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/projectorhq/projector/internal/rebuild/registry"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/sinks"
	"github.com/projectorhq/projector/sinks/postgres"
)

// sampleSize is how many documents the snapshot verification recomputes
// and compares field by field.
const sampleSize = 1000

// snapshotExprs are the SQL expressions of a document id on each side, as
// text for one id column and as jsonb for several (the engine writes those
// as a JSON array; jsonb compares them whatever the spacing). rooted is the
// condition a state row roots a document on: every id column not null (a
// JSON array of several is never null itself; a row with a null among them
// is in no group, as the engine's listing has it).
type snapshotExprs struct {
	state, rooted, table, revs, pending string
}

// snapshotPlan says whether the snapshot verification applies to the
// generation and how: it needs a PostgreSQL target and id columns whose
// text form is the state's.
func (r *run) snapshotPlan() (*snapshotExprs, *postgres.View, *projections.View, bool) {
	if !r.gen.Has(registry.StorePostgres) || r.opts.Verify == VerifyFull {
		return nil, nil, nil, false
	}
	v := pgView(r.env.Plan, r.gen.View)
	pv, err := r.env.View(r.gen.View)
	if v == nil || err != nil {
		return nil, nil, nil, false
	}
	types := map[string]string{}
	for _, c := range v.Columns {
		types[c.Name] = strings.ToLower(c.Type)
	}
	var s, t []string
	for i, id := range pv.ID {
		if !textIDTypes[types[id]] {
			return nil, nil, nil, false
		}
		s = append(s, "s.data->>"+quoteLiteral(pv.IDColumns[i]))
		t = append(t, "t."+quoteIdent(id)+"::text")
	}
	rooted := strings.Join(s, " IS NOT NULL AND ") + " IS NOT NULL"
	if len(s) == 1 {
		return &snapshotExprs{state: s[0], rooted: rooted, table: t[0], revs: "r.doc_id", pending: "p.doc_id"}, v, pv, true
	}
	return &snapshotExprs{
		state: "jsonb_build_array(" + strings.Join(s, ", ") + ")", rooted: rooted, table: "jsonb_build_array(" + strings.Join(t, ", ") + ")",
		revs: "r.doc_id::jsonb", pending: "p.doc_id::jsonb",
	}, v, pv, true
}

// verifySnapshot runs the snapshot verification (see the top of the file).
func (r *run) verifySnapshot(ctx context.Context, x *snapshotExprs, v *postgres.View, pv *projections.View) (report, error) {
	g := &r.gen
	schema := r.env.Registry.Schema()
	table := pgTable(v, g.Number).Sanitize()
	joined := `WITH s AS (SELECT DISTINCT ` + x.state + ` AS id FROM ` + r.stateTable(pv) + ` s
			WHERE NOT s.deleted AND ` + x.rooted + `),
		t AS (SELECT ` + x.table + ` AS id, t._rev AS rev, t._deleted AS deleted FROM ` + table + ` t),
		r AS (SELECT ` + x.revs + ` AS id, r.rev FROM ` + pgx.Identifier{schema, "revs"}.Sanitize() + ` r WHERE r.view = $1),
		p AS (SELECT DISTINCT ` + x.pending + ` AS id FROM ` + pgx.Identifier{schema, "pending"}.Sanitize() + ` p WHERE p.view = $1),
		j AS (SELECT coalesce(s.id, t.id) AS id, s.id IS NOT NULL AS want, t.id IS NOT NULL AS have,
				coalesce(t.deleted, false) AS deleted, t.rev AS stored, r.rev AS latest
			FROM s FULL JOIN t ON t.id = s.id LEFT JOIN r ON r.id = coalesce(s.id, t.id)
			WHERE NOT EXISTS (SELECT 1 FROM p WHERE p.id = coalesce(s.id, t.id)))`
	var rep report
	suspects := map[string]suspect{}
	err := pgx.BeginTxFunc(ctx, r.env.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		// The joins hash every document of the view: in memory, not in
		// temporary files (this transaction only).
		if _, err := tx.Exec(ctx, `SET LOCAL work_mem = '256MB'`); err != nil {
			return err
		}
		var want, live, wrong int64
		var stateSum, genSum string
		err := tx.QueryRow(ctx, joined+`
			SELECT count(*) FILTER (WHERE want), count(*) FILTER (WHERE have AND NOT deleted),
				count(*) FILTER (WHERE (want AND (NOT have OR stored IS DISTINCT FROM latest)) OR (NOT want AND have AND NOT deleted)),
				coalesce(sum(hashtextextended(id::text || '/' || latest, 0)) FILTER (WHERE want), 0)::text,
				coalesce(sum(hashtextextended(id::text || '/' || stored, 0)) FILTER (WHERE want AND have), 0)::text
			FROM j`, g.View).Scan(&want, &live, &wrong, &stateSum, &genSum)
		if err != nil {
			return fmt.Errorf("verify %s: counts: %w", g.View, err)
		}
		rep = report{verified: live, checksum: checksumText(stateSum)}
		r.opts.Log.Info("verify", "view", g.View, "generation", g.Number, "documents", want, "live_rows", live,
			"differ", wrong, "state_checksum", stateSum, "generation_checksum", genSum)
		if wrong == 0 {
			return nil
		}
		rows, err := tx.Query(ctx, joined+`
			SELECT id::text, CASE
				WHEN NOT have THEN 'missing'
				WHEN NOT want THEN 'present, the state has no such document'
				ELSE 'stored at rev ' || stored || ', latest is ' || coalesce(latest, 0) END
			FROM j WHERE (want AND (NOT have OR stored IS DISTINCT FROM latest)) OR (NOT want AND have AND NOT deleted)
			LIMIT `+strconv.Itoa(maxSuspects+1), g.View)
		if err != nil {
			return fmt.Errorf("verify %s: list differences: %w", g.View, err)
		}
		defer rows.Close()
		for rows.Next() {
			var id, why string
			if err := rows.Scan(&id, &why); err != nil {
				return err
			}
			canon, key, err := canonicalID(pv, id)
			if err != nil {
				return err
			}
			suspects[canon] = suspect{key: key, why: "postgres: " + why}
		}
		return rows.Err()
	})
	if err != nil {
		return report{}, err
	}
	if len(suspects) > maxSuspects {
		return report{}, fmt.Errorf("%w: view %s generation %d: more than %d documents differ from the state", ErrMismatch, g.View, g.Number, maxSuspects)
	}
	checkers, err := r.checkers()
	if err != nil {
		return report{}, err
	}
	if err := r.presence(ctx, v, pv, checkers, suspects); err != nil {
		return report{}, err
	}
	if err := r.sample(ctx, pv, checkers, suspects); err != nil {
		return report{}, err
	}
	if err := r.settle(ctx, checkers, suspects); err != nil {
		return report{}, err
	}
	return rep, nil
}

// checksumText shortens the sum of hashes (a numeric of any size) to a
// fixed-width hex fingerprint: the sum modulo 2^64.
func checksumText(sum string) string {
	n, ok := new(big.Int).SetString(sum, 10)
	if !ok {
		return sum
	}
	mod := new(big.Int).Lsh(big.NewInt(1), 64)
	return fmt.Sprintf("%016x", new(big.Int).Mod(n, mod))
}

// presence checks, page by page over the new table, that Redis and
// Elasticsearch hold the table's live documents and not its tombstones.
func (r *run) presence(ctx context.Context, v *postgres.View, pv *projections.View, checkers []checker, suspects map[string]suspect) error {
	var others []checker
	for _, c := range checkers {
		if c.store() != registry.StorePostgres {
			others = append(others, c)
		}
	}
	if len(others) == 0 {
		return nil
	}
	for _, c := range others {
		if err := c.prepare(ctx); err != nil {
			return err
		}
	}
	r.opts.Progress.Phase("verify", r.gen.DocsTotal)
	defer r.opts.Progress.Done()
	cols := make([]string, len(pv.ID))
	types := map[string]string{}
	for _, c := range v.Columns {
		types[c.Name] = c.Type
	}
	params := make([]string, len(pv.ID))
	for i, id := range pv.ID {
		cols[i] = "t." + quoteIdent(id)
		params[i] = "$" + strconv.Itoa(i+1) + "::" + types[id]
	}
	list := strings.Join(cols, ", ")
	first := `SELECT ` + list + `, t._deleted, t._rev FROM ` + pgTable(v, r.gen.Number).Sanitize() + ` t ORDER BY ` + list + ` LIMIT ` + strconv.Itoa(5*r.opts.Chunk)
	next := `SELECT ` + list + `, t._deleted, t._rev FROM ` + pgTable(v, r.gen.Number).Sanitize() + ` t WHERE (` + list + `) > (` +
		strings.Join(params, ", ") + `) ORDER BY ` + list + ` LIMIT ` + strconv.Itoa(5*r.opts.Chunk)
	// Pages are read in key order by this goroutine and checked by the
	// workers, so that reading the table and asking the stores overlap.
	pages := make(chan []sinks.Doc, r.opts.Workers)
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, r.opts.Workers)
	for w := range r.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for docs := range pages {
				if errs[w] != nil {
					continue // drain
				}
				errs[w] = r.checkPresence(ctx, others, docs, &mu, suspects)
				r.opts.Progress.Add(int64(len(docs)))
			}
		}()
	}
	err := r.readPages(ctx, first, next, cols, pv, pages)
	close(pages)
	wg.Wait()
	return errors.Join(append(errs, err)...)
}

// readPages sends the new table's rows, page by page in key order.
func (r *run) readPages(ctx context.Context, first, next string, cols []string, pv *projections.View, pages chan<- []sinks.Doc) error {
	cursor := make([]string, len(pv.ID))
	list := strings.Join(cols, ", ")
	for page := 0; ; page++ {
		q, args := first, []any(nil)
		if page > 0 {
			q = next
			for _, c := range cursor {
				args = append(args, c)
			}
		}
		// Cast the id columns to text so that keys and ids render as the
		// engine renders them.
		q = strings.Replace(q, "SELECT "+list+",", "SELECT "+textList(cols)+",", 1)
		rows, err := r.env.Pool.Query(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("verify %s: read the new table: %w", r.gen.View, err)
		}
		docs, err := tableDocs(rows, pv)
		if err != nil {
			return fmt.Errorf("verify %s: read the new table: %w", r.gen.View, err)
		}
		if len(docs) == 0 {
			return nil
		}
		last := docs[len(docs)-1]
		for i, id := range pv.ID {
			cursor[i], _ = last.Key[id].(string)
		}
		select {
		case pages <- docs:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// checkPresence checks one page with the stores other than PostgreSQL.
func (r *run) checkPresence(ctx context.Context, others []checker, docs []sinks.Doc, mu *sync.Mutex, suspects map[string]suspect) error {
	for _, c := range others {
		bad, err := c.check(ctx, docs)
		if err != nil {
			return err
		}
		mu.Lock()
		for i, why := range bad {
			suspects[docs[i].ID] = suspect{key: docs[i].Key, why: c.store() + ": " + why}
		}
		n := len(suspects)
		mu.Unlock()
		if n > maxSuspects {
			return fmt.Errorf("%w: view %s generation %d: more than %d documents differ from the state", ErrMismatch, r.gen.View, r.gen.Number, maxSuspects)
		}
	}
	return nil
}

func textList(cols []string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c + "::text"
	}
	return strings.Join(out, ", ")
}

// sample recomputes a random sample of the view's documents and compares
// them with every store, field by field for PostgreSQL.
func (r *run) sample(ctx context.Context, pv *projections.View, checkers []checker, suspects map[string]suspect) error {
	rows, err := r.env.Pool.Query(ctx, `SELECT data FROM `+r.stateTable(pv)+` WHERE NOT deleted ORDER BY random() LIMIT `+strconv.Itoa(sampleSize))
	if err != nil {
		return fmt.Errorf("verify %s: sample: %w", r.gen.View, err)
	}
	ids := map[string]map[string]any{}
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			rows.Close()
			return err
		}
		if id, key, ok := rootKey(pv, data); ok {
			ids[id] = key
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("verify %s: sample: %w", r.gen.View, err)
	}
	if len(ids) == 0 {
		return nil
	}
	docs, err := r.env.Engine.ComputeDocs(ctx, r.gen.View, ids)
	if err != nil {
		return fmt.Errorf("verify %s: sample: %w", r.gen.View, err)
	}
	for _, c := range checkers {
		bad, err := c.check(ctx, docs)
		if err != nil {
			return err
		}
		for i, why := range bad {
			suspects[docs[i].ID] = suspect{key: docs[i].Key, why: c.store() + ": " + why}
		}
	}
	return nil
}

// rootKey is the id and key of the document rooted at a state row.
func rootKey(pv *projections.View, data []byte) (string, map[string]any, bool) {
	d := json.NewDecoder(strings.NewReader(string(data)))
	d.UseNumber()
	var row map[string]any
	if err := d.Decode(&row); err != nil {
		return "", nil, false
	}
	vals := make([]string, len(pv.IDColumns))
	for i, c := range pv.IDColumns {
		switch x := row[c].(type) {
		case string:
			vals[i] = x
		case json.Number:
			vals[i] = x.String()
		case bool:
			vals[i] = strconv.FormatBool(x)
		default:
			return "", nil, false
		}
	}
	id, key := docKey(pv, vals)
	return id, key, true
}

// canonicalID turns an id as SQL printed it (text, or jsonb text for
// several columns) into the engine's id and the document key.
func canonicalID(pv *projections.View, text string) (string, map[string]any, error) {
	if len(pv.ID) == 1 {
		id, key := docKey(pv, []string{text})
		return id, key, nil
	}
	var parts []string
	if err := json.Unmarshal([]byte(text), &parts); err != nil || len(parts) != len(pv.ID) {
		return "", nil, fmt.Errorf("document id %q is not an array of %d values", text, len(pv.ID))
	}
	id, key := docKey(pv, parts)
	return id, key, nil
}

// tableDocs reads rows of id texts and _deleted as documents to check.
func tableDocs(rows pgx.Rows, pv *projections.View) ([]sinks.Doc, error) {
	defer rows.Close()
	var out []sinks.Doc
	vals := make([]string, len(pv.ID))
	dest := make([]any, len(pv.ID)+2)
	for i := range vals {
		dest[i] = &vals[i]
	}
	for rows.Next() {
		var deleted bool
		var rev int64
		dest[len(vals)], dest[len(vals)+1] = &deleted, &rev
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		id, key := docKey(pv, vals)
		// At the revision the table holds, which the snapshot checked
		// against projector.revs: what the other stores must hold too
		// (by revision, for a view that reads the clock).
		out = append(out, sinks.Doc{View: pv.Name, ID: id, Key: key, Deleted: deleted, Rev: rev})
	}
	return out, rows.Err()
}
