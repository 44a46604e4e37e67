package projector_test

// The oracle of review 34g's differential (aggsql_review34g_test.go):
// the delivered rows, and PostgreSQL's own GROUP BY over them.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"
)

// r34gState is what the delivered records leave: per key its newest
// record's row, unless a newer truncate was delivered.
type r34gState struct {
	rows  map[string]map[string]r34gRec
	trunc map[string]int64
}

func (s *r34gState) apply(x r34gRec) {
	if x.trunc {
		s.trunc[x.src] = max(s.trunc[x.src], x.lsn)
		return
	}
	if s.rows[x.src] == nil {
		s.rows[x.src] = map[string]r34gRec{}
	}
	if old, ok := s.rows[x.src][x.key]; !ok || old.lsn <= x.lsn {
		s.rows[x.src][x.key] = x
	}
}

func (s *r34gState) live(src string) []r34gRow {
	var out []r34gRow
	for _, x := range s.rows[src] {
		if x.row != nil && x.lsn > s.trunc[src] {
			out = append(out, x.row)
		}
	}
	return out
}

// r34gOracle loads the live rows into real PostgreSQL tables and computes
// every view's documents with SQL, as "view/id" → field → JSON value.
func r34gOracle(t *testing.T, pool *pgxpool.Pool, s *r34gState) map[string]map[string]any {
	t.Helper()
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	must2 := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must2(conn.Exec(ctx, `SET TIME ZONE 'UTC'`))
	must2(conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS r34g_facts (id bigint PRIMARY KEY, g text, h bigint, amt numeric(10,2), qty bigint, score float8, at timestamptz, flag text, note text)`))
	must2(conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS r34g_items (id bigint PRIMARY KEY, pid bigint, amt numeric(10,2), qty bigint, score float8, at timestamptz, flag text)`))
	must2(conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS r34g_parents (id bigint PRIMARY KEY, name text)`))
	must2(conn.Exec(ctx, `TRUNCATE r34g_facts, r34g_items, r34g_parents`))
	for _, src := range []string{"facts", "items", "parents"} {
		rows := s.live(src)
		if len(rows) == 0 {
			continue
		}
		b, _ := json.Marshal(rows)
		must2(conn.Exec(ctx, `INSERT INTO r34g_`+src+` SELECT * FROM jsonb_populate_recordset(NULL::r34g_`+src+`, $1::jsonb)`, string(b)))
	}
	aggSQL := func(prefix string, nested bool) string {
		var parts []string
		for _, f := range r34gFields(nested) {
			col := prefix + "id"
			if f[2] != "" {
				col = prefix + f[2]
			}
			var e, cast string
			switch {
			case f[1] == "count":
				e = "count(" + col + ")"
			case f[2] == "score" && f[1] == "sum":
				e, cast = "sum("+col+"::numeric)", "::float8" // the exact sum, rounded
			case f[2] == "score" && f[1] == "avg":
				e = "avg(" + col + "::numeric)" // from the exact sum
			case f[2] == "note":
				e = f[1] + "(" + col + ` COLLATE "C")`
			default:
				e = f[1] + "(" + col + ")"
			}
			if f[3] != "" {
				e += " FILTER (WHERE " + prefix + "flag = 'y')"
			}
			e = "(" + e + ")" + cast
			parts = append(parts, fmt.Sprintf("'%s', %s", f[0], e))
		}
		// jsonb_build_object takes 100 arguments at most: merge objects.
		var objs []string
		for i := 0; i < len(parts); i += 40 {
			objs = append(objs, "jsonb_build_object("+strings.Join(parts[i:min(i+40, len(parts))], ", ")+")")
		}
		return strings.Join(objs, " || ")
	}
	out := map[string]map[string]any{}
	read := func(view, q string) {
		t.Helper()
		rows, err := conn.Query(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v\n%s", view, err, q)
		}
		var id, doc string
		_, err = pgx.ForEachRow(rows, []any{&id, &doc}, func() error {
			var m map[string]any
			dec := json.NewDecoder(strings.NewReader(doc))
			dec.UseNumber()
			if err := dec.Decode(&m); err != nil {
				return err
			}
			if strings.HasPrefix(id, "[") { // a composite id, as docID renders it
				var parts []string
				if err := json.Unmarshal([]byte(id), &parts); err != nil {
					return err
				}
				id = string(must(json.Marshal(parts)))
			}
			out[view+"/"+id] = m
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", view, err)
		}
	}
	read("by_g", `SELECT g, (jsonb_build_object('g', g) || `+aggSQL("", false)+`)::text FROM r34g_facts WHERE g IS NOT NULL GROUP BY g`)
	read("by_gh", `SELECT jsonb_build_array(g, h::text)::text, (jsonb_build_object('g', g, 'h', h) || `+aggSQL("", false)+`)::text
		FROM r34g_facts WHERE g IS NOT NULL AND h IS NOT NULL AND flag <> 'x' GROUP BY g, h`)
	read("by_hn", `SELECT jsonb_build_array(h::text, note)::text, (jsonb_build_object('h', h, 'note', note) || `+aggSQL("", false)+`)::text
		FROM r34g_facts WHERE h IS NOT NULL AND note IS NOT NULL AND qty > 0 AND g <> 'b' GROUP BY h, note`)
	read("par", `SELECT p.id::text, (jsonb_build_object('id', p.id, 'name', p.name, 'n', count(i.id), 'n_y', count(i.id) FILTER (WHERE i.flag = 'y')) || `+aggSQL("i.", true)+`)::text
		FROM r34g_parents p LEFT JOIN r34g_items i ON i.pid = p.id GROUP BY p.id, p.name`)
	return out
}

// r34gSame compares a document's value with the oracle's: numbers by
// value, timestamps as instants, the rest as JSON.
func r34gSame(got, want any) bool {
	if got == nil || want == nil {
		return got == nil && want == nil
	}
	gs, ws := fmt.Sprint(got), fmt.Sprint(want)
	if gd, err := decimal.NewFromString(gs); err == nil {
		wd, err := decimal.NewFromString(ws)
		return err == nil && gd.Equal(wd)
	}
	if gt, err := time.Parse(time.RFC3339Nano, gs); err == nil {
		wt, err := time.Parse(time.RFC3339Nano, ws)
		return err == nil && gt.Equal(wt)
	}
	return canonicalJSONValue(got) == canonicalJSONValue(want)
}

func r34gDiff(t *testing.T, label string, s *viewSink, want map[string]map[string]any) []string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var bad []string
	keys := map[string]bool{}
	for k := range want {
		keys[k] = true
	}
	for k, d := range s.docs {
		if !d.Deleted {
			keys[k] = true
		}
	}
	for _, k := range slices.Sorted(func(y func(string) bool) {
		for k := range keys {
			if !y(k) {
				return
			}
		}
	}) {
		d, ok := s.docs[k]
		w, wok := want[k]
		switch {
		case (!ok || d.Deleted) && wok:
			bad = append(bad, fmt.Sprintf("%s: %s missing, want %s", label, k, canonicalJSONValue(w)))
		case ok && !d.Deleted && !wok:
			bad = append(bad, fmt.Sprintf("%s: %s = %s, want no document", label, k, canonicalJSONValue(d.Fields)))
		case wok:
			for f, wv := range w {
				if !r34gSame(d.Fields[f], wv) {
					bad = append(bad, fmt.Sprintf("%s: %s field %s = %v, want %v", label, k, f, d.Fields[f], wv))
				}
			}
		}
	}
	return bad
}
