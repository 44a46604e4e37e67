package projtest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/shopspring/decimal"
	"gopkg.in/yaml.v3"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// Failure is one unmet expectation, at its file:line.
type Failure struct {
	File string
	Line int
	Case string
	Msg  string
}

func (f Failure) String() string {
	return fmt.Sprintf("%s:%d: case %q: %s", f.File, f.Line, f.Case, f.Msg)
}

// Result is the outcome of a file's cases.
type Result struct {
	Passed, Failed int
	Failures       []Failure
}

// Run runs every case of a file, each on a fresh in-memory engine. The
// error is for a file that cannot run (ErrMalformed) or an engine failure;
// unmet expectations are in the Result.
func Run(ctx context.Context, f *File) (*Result, error) {
	plan, err := loadPlan(f.Config)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: config %s: %w", ErrMalformed, f.Path, f.Config, err)
	}
	if err := check(f, plan); err != nil {
		return nil, err
	}
	decs, err := rowDecoders(plan)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, f.Path, err)
	}
	res := &Result{}
	for _, c := range f.Cases {
		fails, err := runCase(ctx, f, plan, decs, c)
		if err != nil {
			return nil, err
		}
		if len(fails) == 0 {
			res.Passed++
			continue
		}
		res.Failed++
		res.Failures = append(res.Failures, fails...)
	}
	return res, nil
}

// loadPlan compiles the config the cases test. Its connections are never
// used: a variable the config needs (${NAME}, no default) that is not set
// stands for an unused connection of the kind its name says, so that the
// cases run where the services' settings are not set.
func loadPlan(path string) (*projections.Plan, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	required := map[string]bool{}
	for _, m := range requiredVar.FindAllStringSubmatch(string(raw), -1) {
		required[m[1]] = true
	}
	lookup := func(k string) (string, bool) {
		if v, ok := os.LookupEnv(k); ok || !required[k] {
			return v, ok
		}
		return placeholder(k), true
	}
	cfg, err := config.ParseDraft(path, raw, lookup)
	if cfg == nil {
		return nil, err
	}
	return projections.CompileDraft(cfg, err)
}

var requiredVar = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

func placeholder(name string) string {
	n := strings.ToUpper(name)
	switch {
	case strings.Contains(n, "POSTGRES") || strings.Contains(n, "PG"):
		return "postgres://unset/unset"
	case strings.Contains(n, "REDIS"):
		return "redis://unset:6379"
	case strings.Contains(n, "ELASTIC") || strings.Contains(n, "ES_"):
		return "http://unset:9200"
	case strings.Contains(n, "BROKER") || strings.Contains(n, "KAFKA"):
		return "unset:9092"
	}
	return "unset"
}

// check reports the names of sources and views the plan does not have.
func check(f *File, plan *projections.Plan) error {
	p := &parser{path: f.Path}
	bad := func(line int, format string, args ...any) error {
		return p.errf(&yaml.Node{Line: line}, format, args...)
	}
	for _, c := range f.Cases {
		for _, g := range c.Given {
			if g.Source != "" && plan.Source(g.Source) == nil {
				return bad(g.Line, "unknown source %q", g.Source)
			}
		}
		for _, e := range c.Expect {
			if plan.View(e.View) == nil {
				return bad(e.Line, "unknown view %q", e.View)
			}
		}
		for _, a := range c.Absent {
			if plan.View(a.View) == nil {
				return bad(a.Line, "unknown view %q", a.View)
			}
		}
	}
	return nil
}

// docSink keeps the newest doc per view and id, like a store would.
type docSink struct {
	mu   sync.Mutex
	docs map[string]sinks.Doc
}

func (s *docSink) Name() string { return "test" }
func (s *docSink) Write(_ context.Context, docs []sinks.Doc) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range docs {
		k := d.View + "\x00" + d.ID
		if old, ok := s.docs[k]; !ok || old.Rev < d.Rev {
			s.docs[k] = d
		}
	}
	return nil
}

func runCase(ctx context.Context, f *File, plan *projections.Plan, decs map[string]*debezium.Decoder, c *Case) ([]Failure, error) {
	sink := &docSink{docs: map[string]sinks.Doc{}}
	views := make([]string, 0, len(plan.Views))
	for _, v := range plan.Views {
		views = append(views, v.Name)
	}
	eng, err := projector.New(projector.Options{Plan: plan, Memory: true, Sinks: []projector.Route{{Sink: sink, Views: views}}})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, f.Path, err)
	}
	var fails []Failure
	fail := func(line int, format string, args ...any) {
		fails = append(fails, Failure{File: f.Path, Line: line, Case: c.Name, Msg: fmt.Sprintf(format, args...)})
	}
	pos := int64(0)
	for i, g := range c.Given {
		if g.Topic != "" {
			dead, err := eng.Process(ctx, []projector.Record{{Topic: g.Topic, Offset: int64(i), Key: g.Key, Value: g.Value}})
			if err != nil {
				return nil, err
			}
			for _, d := range dead {
				fail(g.Line, "record of %s not projected: %v", g.Topic, d.Err)
			}
			continue
		}
		// Short records follow each other: positions increase in the order
		// given, so a later change of a row wins, as in a real stream.
		pos++
		ch, err := shortChange(plan.Source(g.Source), decs[g.Source], g, pos)
		if err == nil {
			err = eng.ProcessChanges(ctx, g.Source, []debezium.Change{ch})
		}
		if err != nil {
			fail(g.Line, "change of %s not projected: %v", g.Source, err)
		}
	}
	for _, e := range c.Expect {
		d, ok := sink.docs[e.View+"\x00"+e.ID]
		if !ok || d.Deleted {
			fail(e.Line, "view %s doc %s: missing, want a document", e.View, e.ID)
			continue
		}
		for _, m := range match("", e.Fields, d.Fields) {
			fail(m.line, "view %s doc %s: %s", e.View, e.ID, m.msg)
		}
	}
	for _, a := range c.Absent {
		if d, ok := sink.docs[a.View+"\x00"+a.ID]; ok && !d.Deleted {
			fail(a.Line, "view %s doc %s: present, want absent: %s", a.View, a.ID, show(d.Fields))
		}
	}
	return fails, nil
}

// shortChange makes a decoded change of a short record. Its rows go
// through the decoder's reading of the source's declared column types, as
// the row of a Debezium record without a schema does: a short record and a
// Debezium record of the same row give the same document.
func shortChange(src *projections.Source, dec *debezium.Decoder, g *Given, pos int64) (debezium.Change, error) {
	op, _ := debezium.ParseOp(g.Op)
	ch := debezium.Change{Kind: debezium.KindChange, Op: op, Position: debezium.Position{Lo: pos}}
	var err error
	if ch.Before, err = decodeRow(src, dec, g.Before); err != nil {
		return ch, fmt.Errorf("before: %w", err)
	}
	if ch.After, err = decodeRow(src, dec, g.After); err != nil {
		return ch, fmt.Errorf("after: %w", err)
	}
	if op == debezium.OpDelete {
		if ch.Before == nil {
			ch.Before = ch.After
		}
		ch.After = nil
	}
	return ch, nil
}

func decodeRow(src *projections.Source, dec *debezium.Decoder, row map[string]any) (map[string]any, error) {
	if row == nil {
		return nil, nil
	}
	raw, err := json.Marshal(numbersFromText(src, row))
	if err != nil {
		return nil, err
	}
	return dec.DecodeRow(raw)
}

// numbersFromText lets a short record give an integer or float column as
// text ("7"), which YAML makes easy to write: the decoder wants a JSON
// number there (decimals it reads from text itself).
func numbersFromText(src *projections.Source, row map[string]any) map[string]any {
	out := make(map[string]any, len(row))
	for k, v := range row {
		out[k] = v
		t, _ := src.ColumnType(k)
		s, isText := v.(string)
		if !isText || t.Array || !slices.Contains(floatOrInt, t.Name) {
			continue
		}
		if _, err := strconv.ParseFloat(s, 64); err == nil && json.Valid([]byte(s)) {
			out[k] = json.Number(s)
		}
	}
	return out
}

var floatOrInt = []string{"smallint", "integer", "bigint", "real", "double precision"}

// rowDecoders makes, per source, the decoder of its short records: the
// engine's, without a format (a short record has no envelope).
func rowDecoders(plan *projections.Plan) (map[string]*debezium.Decoder, error) {
	out := make(map[string]*debezium.Decoder, len(plan.Sources))
	for _, src := range plan.Sources {
		cols := make(map[string]string, len(src.Columns))
		for name, t := range src.Columns {
			cols[name] = t.String()
		}
		dec, err := debezium.NewDecoder(debezium.Options{Columns: cols})
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", src.Name, err)
		}
		out[src.Name] = dec
	}
	return out, nil
}

type mismatch struct {
	line int
	msg  string
}

// match compares a doc's value with what a case expects: mappings as
// subsets, lists element by element, numbers by value ("10.00" == 10), the
// rest as text.
func match(path string, want *yaml.Node, got any) []mismatch {
	field := path
	if field == "" {
		field = "(doc)"
	}
	switch want.Kind {
	case yaml.AliasNode:
		return match(path, want.Alias, got)
	case yaml.MappingNode:
		m, ok := got.(map[string]any)
		if !ok {
			return []mismatch{{want.Line, fmt.Sprintf("field %s = %s, want an object", field, show(got))}}
		}
		var out []mismatch
		for i := 0; i+1 < len(want.Content); i += 2 {
			k, w := want.Content[i].Value, want.Content[i+1]
			sub := k
			if path != "" {
				sub = path + "." + k
			}
			v, present := m[k]
			if !present && w.Tag != "!!null" {
				out = append(out, mismatch{w.Line, fmt.Sprintf("field %s missing, want %s", sub, show(value(w)))})
				continue
			}
			out = append(out, match(sub, w, v)...)
		}
		return out
	case yaml.SequenceNode:
		a, ok := got.([]any)
		if !ok || len(a) != len(want.Content) {
			return []mismatch{{want.Line, fmt.Sprintf("field %s = %s, want %d elements %s", field, show(got), len(want.Content), show(value(want)))}}
		}
		var out []mismatch
		for i, w := range want.Content {
			out = append(out, match(fmt.Sprintf("%s[%d]", path, i), w, a[i])...)
		}
		return out
	}
	if !sameScalar(value(want), got) {
		return []mismatch{{want.Line, fmt.Sprintf("field %s = %s, want %s", field, show(got), show(value(want)))}}
	}
	return nil
}

func sameScalar(want, got any) bool {
	if want == nil || got == nil {
		return want == nil && got == nil
	}
	if dw, err := decimal.NewFromString(fmt.Sprint(want)); err == nil {
		if dg, err := decimal.NewFromString(fmt.Sprint(got)); err == nil {
			return dw.Equal(dg)
		}
	}
	switch got.(type) {
	case map[string]any, []any:
		return false
	}
	return fmt.Sprint(want) == fmt.Sprint(got)
}

// show renders a value as JSON, numbers as they are.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// Sorted orders failures by file and line.
func Sorted(fs []Failure) []Failure {
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].File != fs[j].File {
			return fs[i].File < fs[j].File
		}
		return fs[i].Line < fs[j].Line
	})
	return fs
}
