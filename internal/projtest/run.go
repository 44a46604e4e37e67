package projtest

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"
	"gopkg.in/yaml.v3"

	"github.com/projectorhq/projector/config"
	"github.com/projectorhq/projector/debezium"
	"github.com/projectorhq/projector/projections"
	"github.com/projectorhq/projector/projector"
	"github.com/projectorhq/projector/sinks"
)

// Result is the outcome of a file's cases.
type Result struct {
	Passed, Failed int
	Drafts         int // cases that expect nothing yet (see ParseDrafts)
	Failures       []Failure
	Cases          []CaseDocs // every case's documents, in the file's order
}

// Run runs every case of a file, each on a fresh in-memory engine. The
// error is for a file that cannot run (ErrMalformed) or an engine failure;
// unmet expectations are in the Result.
func Run(ctx context.Context, f *File) (*Result, error) {
	plan, err := loadPlan(f.Config)
	if err != nil {
		return nil, configProblem(f, err)
	}
	if problems := check(f, plan); len(problems) > 0 {
		return nil, errors.Join(inOrder(problems)...)
	}
	decs, err := newDecoders(plan)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, f.Path, err)
	}
	res := &Result{}
	for _, c := range f.Cases {
		fails, docs, err := runCase(ctx, f, plan, decs, c)
		if err != nil {
			return nil, err
		}
		res.Cases = append(res.Cases, docs)
		if len(c.Expect)+len(c.Absent) == 0 {
			res.Drafts++
			continue
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
// used: it is read offline, its connection settings (kafka, stores,
// admin) neither checked nor needing their variables set, so that the
// cases run where only the views can be.
func loadPlan(path string) (*projections.Plan, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cfg, err := config.ParseDraftWith(path, raw, os.LookupEnv, config.Options{Offline: true})
	if cfg == nil {
		return nil, err
	}
	return projections.CompileDraft(cfg, err)
}

// configProblem is the error of a config the file names that cannot be
// read or compiled (err), at the file's config: value.
func configProblem(f *File, err error) error {
	if err == nil {
		return nil
	}
	if f.ConfigAt == nil {
		return fmt.Errorf("%w: %s: config %s: %w", ErrMalformed, f.Path, f.Config, err)
	}
	return (&parser{path: f.Path}).errf(f.ConfigAt, "config %s: %v", f.Config, err)
}

// check reports, all together, the names of sources and views the plan
// does not have, and ids that are none of their views'.
func check(f *File, plan *projections.Plan) []error {
	p := &parser{path: f.Path}
	at := func(n *yaml.Node, line int) *yaml.Node {
		if n == nil {
			return &yaml.Node{Line: line}
		}
		return n
	}
	topics := map[string]bool{}
	for _, src := range plan.Sources {
		topics[src.Topic] = true
	}
	for _, c := range f.Cases {
		for _, g := range c.Given {
			if g.Source != "" && plan.Source(g.Source) == nil {
				p.report(p.errf(at(g.At, g.Line), "unknown source %q (known: %s)", g.Source, strings.Join(sourceNames(plan), ", ")))
			}
			if src := plan.Source(g.Source); src != nil {
				unknownColumns(p, src, g)
			}
			if g.Topic != "" && !topics[g.Topic] {
				p.report(p.errf(at(g.At, g.Line), "unknown topic %q: no source reads it (known: %s)", g.Topic, strings.Join(slices.Sorted(maps.Keys(topics)), ", ")))
			}
		}
		unknown := map[string]bool{} // views reported unknown, once
		checkID := func(view, id string, viewAt, idAt *yaml.Node, line int) {
			v := plan.View(view)
			switch {
			case v == nil && !unknown[view]:
				unknown[view] = true
				p.report(p.errf(at(viewAt, line), "unknown view %q (known: %s)", view, strings.Join(viewNames(plan), ", ")))
			case v != nil:
				if _, _, err := idValues(v, id); err != nil {
					p.report(p.errf(at(idAt, line), "%v", err))
				}
			}
		}
		for _, e := range c.Expect {
			checkID(e.View, e.ID, e.ViewAt, e.IDAt, e.Line)
		}
		for _, a := range c.Absent {
			checkID(a.View, a.ID, a.ViewAt, a.IDAt, a.Line)
		}
	}
	return p.problems
}

func viewNames(plan *projections.Plan) []string {
	out := make([]string, 0, len(plan.Views))
	for _, v := range plan.Views {
		out = append(out, v.Name)
	}
	return out
}

func sourceNames(plan *projections.Plan) []string {
	out := make([]string, 0, len(plan.Sources))
	for _, src := range plan.Sources {
		out = append(out, src.Name)
	}
	return out
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

func runCase(ctx context.Context, f *File, plan *projections.Plan, decs *decoders, c *Case) ([]Failure, CaseDocs, error) {
	sink := &docSink{docs: map[string]sinks.Doc{}}
	views := make([]string, 0, len(plan.Views))
	for _, v := range plan.Views {
		views = append(views, v.Name)
	}
	opts := projector.Options{Plan: plan, Memory: true, Sinks: []projector.Route{{Sink: sink, Views: views}}}
	clock := caseClock(c)
	if clock != nil {
		opts.Clock = clock.now
	}
	eng, err := projector.New(opts)
	if err != nil {
		return nil, CaseDocs{}, fmt.Errorf("%w: %s: %w", ErrMalformed, f.Path, err)
	}
	var fails []Failure
	fail := func(line int, format string, args ...any) {
		fails = append(fails, Failure{File: f.Path, Line: line, Case: c.Name, Msg: fmt.Sprintf(format, args...)})
	}
	at := positions{}
	for _, g := range c.Given {
		if g.Now != nil {
			clock.at = *g.Now
			if err := refreshAll(ctx, eng, plan); err != nil {
				fail(g.Line, "views not refreshed at %s: %v", g.Now.Format(time.RFC3339Nano), err)
			}
			continue
		}
		if g.Topic != "" {
			td := decs.raw[g.Topic]
			ch, err := td.dec.DecodeRecord(g.Key, g.Value, g.Headers)
			if err == nil {
				ch.Position = at.raw(td.src.Name, ch)
				err = eng.ProcessChanges(ctx, td.src.Name, []debezium.Change{ch})
			}
			if err != nil {
				fail(g.Line, "record of %s not projected: %v", g.Topic, err)
			}
			continue
		}
		ch, err := shortChange(plan.Source(g.Source), decs.short[g.Source], g, at.next(g.Source))
		if err == nil {
			err = eng.ProcessChanges(ctx, g.Source, []debezium.Change{ch})
		}
		if err != nil {
			fail(g.Line, "change of %s not projected: %v", g.Source, err)
		}
	}
	for _, e := range c.Expect {
		d, ok := sink.find(plan.View(e.View), e.ID)
		if !ok || d.Deleted {
			fail(e.Line, "view %s doc %s: %s", e.View, e.ID, sink.missing(e.View, cmp.Or(d.ID, e.ID)))
			continue
		}
		from := len(fails)
		for _, m := range match("", e.Fields, d.Fields, shape{fields: plan.View(e.View).Fields}) {
			fail(m.line, "view %s doc %s: %s", e.View, e.ID, m.msg)
		}
		if len(fails) > from {
			fails[from+lastAt(fails[from:])].Actual = actual(d)
		}
	}
	for _, a := range c.Absent {
		if d, ok := sink.find(plan.View(a.View), a.ID); ok && !d.Deleted {
			fail(a.Line, "view %s doc %s: present, want absent", a.View, a.ID)
			fails[len(fails)-1].Actual = actual(d)
		}
	}
	return fails, caseDocs(f, c, sink), nil
}

// positions orders a case's given records as they are written, per
// source. A raw record keeps the order of the source position it carries,
// so that one written with an older position than an earlier record of the
// same row is dropped as older, as projector drops it. A short record, and
// a raw one without a position, comes right after the newest record of its
// source so far: it is the newest change. Raw positions are spread out
// (Lo times shortSlots) to leave room for the short records after them:
// a MongoDB record at ord 2 written after one at ord 1 and two short ones
// stays newer than the short ones. (A raw TRUNCATE without a position is
// refused, as projector refuses it.)
type positions map[string]*mark

// mark is how far the given records of a source have got.
type mark struct {
	top    debezium.Position // the greatest position written
	stream debezium.Position // the greatest one not of a snapshot read
	// newest is the newest record's: a record replaces it as projector
	// replaces a stored row (Position.Replaces), so a streamed change
	// written after a snapshot read is newer though below its LSN.
	newest debezium.Position
}

// shortSlots is how many short records fit between two raw positions.
const shortSlots = 1 << 10

func (p positions) of(source string) *mark {
	m := p[source]
	if m == nil {
		m = &mark{}
		p[source] = m
	}
	return m
}

// next is the position of a short record. After the greatest position,
// unless that is an initial snapshot's read: a position after the read
// would be newer than the changes Debezium streams after the snapshot
// whose LSN is below the read's, which replace the read whatever their
// LSN (see Position.Replaces), so it would hide those written after the
// short record. The short record then shares the newest record's position
// instead (an equal position replaces): the read's, or that of a change
// streamed after it below its LSN. Either replaces the reads of every row
// and is replaced by the changes written after it that replace the newest
// record.
func (p positions) next(source string) debezium.Position {
	m := p.of(source)
	switch {
	case m.top.Lo != debezium.SnapshotLo:
		m.top.Lo++
		m.stream, m.newest = m.top, m.top
		return m.top
	case m.newest == m.stream && m.stream.Lo == 0 && m.stream.Hi > 0:
		return m.stream
	}
	return m.top
}

func (p positions) raw(source string, ch debezium.Change) debezium.Position {
	switch {
	case ch.Kind != debezium.KindChange:
		return ch.Position
	case ch.Position == (debezium.Position{}) && ch.Op != debezium.OpTruncate:
		return p.next(source)
	}
	pos := ch.Position
	if pos.Lo >= 0 && pos.Lo <= math.MaxInt64/shortSlots {
		pos.Lo *= shortSlots
	}
	m := p.of(source)
	if m.top.Compare(pos) < 0 {
		m.top = pos
	}
	if pos.Lo != debezium.SnapshotLo && m.stream.Compare(pos) < 0 {
		m.stream = pos
	}
	if pos.Replaces(m.newest) {
		m.newest = pos
	}
	return pos
}

// shortChange makes a decoded change of a short record. Its rows go
// through the decoder's reading of the source's declared column types, as
// the row of a Debezium record without a schema does: a short record and a
// Debezium record of the same row give the same document.
func shortChange(src *projections.Source, dec *debezium.Decoder, g *Given, pos debezium.Position) (debezium.Change, error) {
	op, _ := debezium.ParseOp(g.Op)
	ch := debezium.Change{Kind: debezium.KindChange, Op: op, Position: pos}
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

// decoders are the decoders of a plan's given records.
type decoders struct {
	short map[string]*debezium.Decoder // by source: the rows of short records
	raw   map[string]topicDecoder      // by topic: raw records, as the engine decodes them
}

type topicDecoder struct {
	src *projections.Source
	dec *debezium.Decoder
}

// newDecoders makes, per source, the engine's decoder of its records and
// the one of its short records: the same without a format (a short record
// has no envelope).
func newDecoders(plan *projections.Plan) (*decoders, error) {
	out := &decoders{short: map[string]*debezium.Decoder{}, raw: map[string]topicDecoder{}}
	for _, src := range plan.Sources {
		cols := make(map[string]string, len(src.Columns))
		for name, t := range src.Columns {
			cols[name] = t.String()
		}
		format, err := debezium.ParseFormat(src.Format)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", src.Name, err)
		}
		raw, err := debezium.NewDecoder(debezium.Options{Format: format, Columns: cols, Key: src.Key,
			FieldsPrefix: src.Unwrapped.FieldsPrefix, HeadersPrefix: src.Unwrapped.HeadersPrefix})
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", src.Name, err)
		}
		short, err := debezium.NewDecoder(debezium.Options{Columns: cols, Key: src.Key})
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", src.Name, err)
		}
		out.raw[src.Topic] = topicDecoder{src: src, dec: raw}
		out.short[src.Name] = short
	}
	return out, nil
}

type mismatch struct {
	line int
	msg  string
}

// shape is what the plan says of a value of a doc: the type of a field,
// and the fields of an object (a doc, a joined row); both unknown inside
// a jsonb value.
type shape struct {
	typ    config.Type
	fields []*projections.Field
}

func (s shape) field(name string) shape {
	for _, f := range s.fields {
		if f.Name == name {
			sh := shape{typ: f.Type}
			if f.Join != nil && f.Column == "" {
				sh.fields = f.Join.Fields
			}
			return sh
		}
	}
	return shape{}
}

// item is the shape of an element of a list: a joined row of a many join,
// an element of an array column.
func (s shape) item() shape {
	if s.typ.Array {
		return shape{typ: config.Type{Name: s.typ.Name, Precision: s.typ.Precision, Scale: s.typ.Scale}}
	}
	return shape{fields: s.fields}
}

// match compares a doc's value with what a case expects: mappings as
// subsets (a field expected must be in the doc, null or not), lists
// element by element, scalars as sameScalar says.
func match(path string, want *yaml.Node, got any, sh shape) []mismatch {
	field := path
	if field == "" {
		field = "(doc)"
	}
	switch want.Kind {
	case yaml.MappingNode:
		m, ok := got.(map[string]any)
		if !ok {
			return []mismatch{{want.Line, fmt.Sprintf("field %s = %s, want an object", field, show(got))}}
		}
		var out []mismatch
		for i := 0; i+1 < len(want.Content); i += 2 {
			key, w := want.Content[i], want.Content[i+1]
			k := key.Value
			sub := k
			if path != "" {
				sub = path + "." + k
			}
			v, present := m[k]
			if !present { // at the key: a block value starts on the line after it
				out = append(out, mismatch{key.Line, fmt.Sprintf("field %s missing, want %s", sub, show(value(w)))})
				continue
			}
			out = append(out, match(sub, w, v, sh.field(k))...)
		}
		return out
	case yaml.SequenceNode:
		a, ok := got.([]any)
		if !ok || len(a) != len(want.Content) {
			return []mismatch{{want.Line, fmt.Sprintf("field %s = %s, want %d elements %s", field, show(got), len(want.Content), show(value(want)))}}
		}
		var out []mismatch
		for i, w := range want.Content {
			out = append(out, match(fmt.Sprintf("%s[%d]", path, i), w, a[i], sh.item())...)
		}
		return out
	}
	if !sameScalar(want, got, sh.typ) {
		return []mismatch{{want.Line, fmt.Sprintf("field %s = %s, want %s", field, show(got), show(value(want)))}}
	}
	return nil
}

// sameScalar compares a scalar of a doc, of type t when the plan knows
// it, with the one a case expects. Null matches only null, a boolean only
// a boolean. Numbers, and the decimal text of numeric fields ("12.50"),
// compare by value with a number or numeric text (12.5, "12.5"). Other
// text compares exactly with the expected value as written: 7 matches
// "7", not "007".
func sameScalar(want *yaml.Node, got any, t config.Type) bool {
	if want.Tag == "!!null" {
		return got == nil
	}
	switch g := got.(type) {
	case bool:
		b, err := strconv.ParseBool(want.Value)
		return want.Tag == "!!bool" && err == nil && b == g
	case json.Number:
		return sameNumber(want, g.String())
	case float64, int64, int:
		return sameNumber(want, fmt.Sprint(g))
	case string:
		if isNumber(t) {
			if _, err := decimal.NewFromString(g); err == nil {
				return sameNumber(want, g)
			}
		}
		return want.Tag != "!!bool" && want.Value == g
	}
	return false
}

// sameNumber compares a number's text with an expected number or
// numeric text, by value.
func sameNumber(want *yaml.Node, got string) bool {
	text := want.Value
	switch want.Tag {
	case "!!int", "!!float":
		num, ok := jsonNumber(want) // 0x10, 1_000: YAML's, not decimal's
		if !ok {
			return false
		}
		text = num.String()
	case "!!str":
	default:
		return false
	}
	dw, err := decimal.NewFromString(text)
	if err != nil {
		return false
	}
	dg, err := decimal.NewFromString(got)
	return err == nil && dw.Equal(dg)
}

func isNumber(t config.Type) bool {
	return !t.Array && slices.Contains(numberTypes, t.Name)
}

var numberTypes = append([]string{"numeric"}, floatOrInt...)

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
