package projections_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/projections"
)

// r36dPositions checks that every problem of err points at a place of
// data: a line it has and a column on that line (its end included).
func r36dPositions(t *testing.T, data []byte, err error) {
	t.Helper()
	var errs config.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error is %T %v, want config.Errors", err, err)
	}
	lines := bytes.Split(data, []byte("\n"))
	for _, e := range errs {
		if e.Pos.Line == len(lines)+1 && e.Pos.Col == 1 && strings.HasPrefix(e.Msg, "invalid YAML") {
			continue // config's TestR36DSyntaxErrorAtEndOfFileIsInTheFile
		}
		if e.Pos.Line < 1 || e.Pos.Line > len(lines) {
			t.Fatalf("problem at line %d of a file of %d lines: %v", e.Pos.Line, len(lines), e)
		}
		l := bytes.TrimSuffix(lines[e.Pos.Line-1], []byte("\r"))
		if n := utf8.RuneCount(l); e.Pos.Col < 1 || e.Pos.Col > n+1 {
			t.Fatalf("problem at column %d of line %d, of %d characters %q: %v", e.Pos.Col, e.Pos.Line, n, l, e)
		}
	}
}

// FuzzR36DCompile: what config accepts, Compile neither panics on nor
// hangs over, and its problems point at places of the file.
func FuzzR36DCompile(f *testing.F) {
	files, _ := filepath.Glob("../config/testdata/*.yml")
	files = append(files, "../examples/shop/projector.yaml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, problems := config.ParseDraft("fuzz.yml", data, lookup)
		if cfg == nil {
			return
		}
		start := time.Now()
		func() {
			// Compile itself, not CompileDraft, which drops every problem
			// of the compiler's when it panics on a draft.
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("Compile panicked (validate would drop every problem of the views' meaning)\n%v\n: %v", problems, r)
				}
			}()
			_, _ = projections.Compile(cfg)
		}()
		_, err := projections.CompileDraft(cfg, problems)
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("compiling took %v", d)
		}
		if err != nil {
			r36dPositions(t, data, err)
		}
	})
}

const r36dExprConfig = `version: 1
kafka: { brokers: "localhost:9092" }
stores: { postgres: { url: "postgres://localhost/x" } }
sources:
  t:
    topic: db.public.t
    key: id
    columns: { id: bigint, n: bigint, i: integer, f: double precision, d: "numeric(10,2)", u: numeric, s: text, b: boolean, ts: timestamptz, dt: date, j: jsonb, arr: "text[]", nums: "bigint[]", decs: "numeric(10,2)[]" }
views:
  v:
    from: t
    where: "${W}"
    fields: { id: id, x: { expr: "${E}", type: "${T}" } }
    sinks: { postgres: {} }
`

var r36dTypes = []string{"jsonb", "text", "bigint", "numeric(10,2)", "double precision", "boolean", "timestamptz", "date", "text[]", "integer", "real", "uuid", "time"}

// r36dCompileExpr compiles the where w and the expr e of type typ over
// r36dExprConfig; nil when they do not validate.
func r36dCompileExpr(w, e, typ string) *projections.View {
	v, _ := r36dCompileExprErr(w, e, typ)
	return v
}

// r36dCompileExprErr is r36dCompileExpr with the problems.
func r36dCompileExprErr(w, e, typ string) (*projections.View, error) {
	env := func(name string) (string, bool) {
		switch name {
		case "W":
			return w, true
		case "E":
			return e, true
		case "T":
			return typ, true
		}
		return "", false
	}
	cfg, err := config.Parse("t.yaml", []byte(r36dExprConfig), env)
	if err != nil {
		return nil, err
	}
	plan, err := projections.Compile(cfg)
	if err != nil {
		return nil, err
	}
	return plan.View("v"), nil
}

// r36dRow is a row of r36dExprConfig as the state holds it.
func r36dRow(n int64, f float64, d, s, j string, b bool) map[string]any {
	row := map[string]any{
		"id": json.Number("1"), "n": json.Number(strconv.FormatInt(n, 10)), "i": json.Number(strconv.FormatInt(n%(1<<31), 10)),
		"f": json.Number(strconv.FormatFloat(f, 'g', -1, 64)), "d": d, "u": d, "s": s, "b": b,
		"ts": "2024-01-02T03:04:05Z", "dt": "2024-01-02",
	}
	if _, err := strconv.ParseFloat(d, 64); err == nil {
		row["d"], row["u"] = json.Number(d), json.Number(d)
	}
	dec := json.NewDecoder(strings.NewReader(j))
	dec.UseNumber()
	var jv any
	if dec.Decode(&jv) == nil {
		row["j"] = jv
	}
	var arr, nums, decs []any
	for i, part := range strings.SplitN(s, ",", 50) {
		arr = append(arr, part)
		nums = append(nums, json.Number(strconv.FormatInt(n+int64(i), 10)))
		decs = append(decs, json.Number(strconv.Itoa(i)+".50"))
	}
	row["arr"], row["nums"], row["decs"] = arr, nums, decs
	return row
}

var r36dExprSeeds = []string{
	`n / 0`, `n % 0`, `d / 0`, `d % 0`, `f / 0`, `n * n * n`, `-n`, `abs(n)`, `int(f)`, `int(s)`, `float(s)`,
	`repeat(s, n)`, `replace(s, "", s)`, `join(arr, s)`, `split(s, "")`, `upper(s) + lower(s)`,
	`let x = repeat(s, 10); toJSON(map(1..10, x))`, `string(map(1..n, s))`, `reduce(1..n, #acc * d, d)`,
	`d ** n`, `f ** f`, `2 ** 1000`, `1..n`, `map(1..n, #)`, `sort(arr)`, `sortBy(nums, -#)`, `uniq(arr)`,
	`groupBy(nums, # % 3)`, `keys(j)`, `values(j)`, `toPairs(j)`, `fromPairs([[s, n]])`, `j.a.b.c`, `j[n]`, `j[0:n]`,
	`fromJSON(s)`, `toJSON(j)`, `fromBase64(s)`, `toBase64(s)`, `date(s)`, `duration(s)`, `now() - ts`, `ts + duration(s)`,
	`dt + duration("24h")`, `bitshl(n, n)`, `bitshr(n, n)`, `bitnot(n)`, `max(nums)`, `min(decs)`, `mean(decs)`, `median(nums)`,
	`sum(decs)`, `first(arr)`, `last(nums)`, `get(j, s)`, `flatten([arr, [arr]])`, `concat(arr, arr)`, `indexOf(s, "a")`,
	`trim(s, s)`, `s matches s`, `s[n:]`, `s[-n:n]`, `arr[n]`, `round(d)`, `ceil(f)`, `floor(u)`, `string(d)`, `string(ts)`,
	`n == 1 ? s : nil`, `n ?? 0`, `len(s) > n`, `any(arr, # == s)`, `all(nums, # > n)`, `count(decs, # > d)`,
	`timezone(s)`, `date(s, s)`, `ts.Year()`, `now().Add(duration(s))`, `int(d) + n`, `n + i + int(f)`,
}

// FuzzR36DExprRun: an expression that validates never panics, and every
// evaluation over a row finishes within a few seconds.
func FuzzR36DExprRun(f *testing.F) {
	for i, e := range r36dExprSeeds {
		f.Add(e, uint8(i), int64(3), 1.5, "10.25", "a,b,c", `{"a":{"b":[1,2.5,"x"]}}`, true)
		f.Add(e, uint8(0), int64(-9223372036854775808), 1e308, "-99999999.99", "é😀\x00", `[1e2, null, {"": -0}]`, false)
		f.Add(e, uint8(i+1), int64(62), -0.0, "NaN", "2024-01-02T03:04:05Z", `"1e999"`, false)
	}
	f.Fuzz(func(t *testing.T, e string, typ uint8, n int64, fl float64, d, s, j string, b bool) {
		v := r36dCompileExpr("true", e, r36dTypes[int(typ)%len(r36dTypes)])
		if v == nil {
			return
		}
		x := v.Fields[1].Expr
		src := v.Root
		row := r36dRow(n, fl, d, s, j, b)
		names, _ := x.Reads()
		env := map[string]any{}
		for col, val := range row {
			ct, _ := src.ColumnType(col)
			env[col] = projections.ExprValue(ct, val)
		}
		_ = names
		projections.PinClock(env, time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC))
		done := make(chan struct{})
		var panicked any
		go func() {
			defer close(done)
			defer func() { panicked = recover() }()
			_, _ = x.Run(env)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			if strings.Contains(e, "toJSON") || strings.Contains(e, "string(") {
				t.Skip("uncounted text (TestR36DTextBudgetCountsToJSONAndString)")
			}
			t.Fatalf("%q over %v has run for 5s", e, row)
		}
		if panicked != nil {
			t.Fatalf("%q over %v panicked: %v", e, row, panicked)
		}
	})
}
