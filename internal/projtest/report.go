package projtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
	"gopkg.in/yaml.v3"

	"github.com/projectorhq/projector/sinks"
)

// Failure is one unmet expectation, at its file:line.
type Failure struct {
	File string
	Line int
	Case string
	Msg  string
	// Actual is the document the failure is about as the engine computed
	// it, shown after the doc's last failure (see lastAt), so that a user
	// sees what to fix, the case or the projection, and can paste it.
	Actual *Doc
}

// String is the failure as projector test prints it: a file:line line,
// which editors and CI annotations pick up, then the actual document,
// indented so that no line of it looks like a location.
func (f Failure) String() string {
	s := fmt.Sprintf("%s:%d: case %q: %s", f.File, f.Line, f.Case, f.Msg)
	if f.Actual != nil {
		s += fmt.Sprintf("\n    actual %s doc %s:\n%s", f.Actual.View, f.Actual.ID, f.Actual.yaml(6))
	}
	return strings.TrimSuffix(s, "\n")
}

// Doc is a document a case left in a view.
type Doc struct {
	View, ID string
	Fields   map[string]any // nil when Deleted
	Deleted  bool           // the engine wrote its deletion: its rows gone or outside the where
}

// yaml renders the doc as a case expects it, "id": fields, at indent.
func (d Doc) yaml(indent int) string {
	return render(&yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{text(d.ID), block(d.Fields)}}, indent)
}

// CaseDocs is what a case left in the views: `projector test --print`
// shows it, so that a new case can start from what the engine computes.
type CaseDocs struct {
	File string
	Line int
	Case string
	Docs []Doc // by view, then id (see byID)
}

// String is the case's documents at its file:line, as expect: and absent:
// sections indented as a case's keys usually are, to be pasted into it: a
// document the engine deleted is absent.
func (c CaseDocs) String() string {
	expect := &yaml.Node{Kind: yaml.MappingNode}
	absent := &yaml.Node{Kind: yaml.MappingNode}
	for _, d := range c.Docs {
		section := expect
		if d.Deleted {
			section = absent
		}
		n := len(section.Content)
		if n == 0 || section.Content[n-2].Value != d.View {
			section.Content = append(section.Content, text(d.View), &yaml.Node{Kind: yaml.MappingNode})
			n += 2
		}
		docs := section.Content[n-1]
		if d.Deleted {
			docs.Kind, docs.Style = yaml.SequenceNode, yaml.FlowStyle
			docs.Content = append(docs.Content, text(d.ID))
		} else {
			docs.Content = append(docs.Content, text(d.ID), block(d.Fields))
		}
	}
	top := &yaml.Node{Kind: yaml.MappingNode}
	if len(expect.Content) > 0 {
		top.Content = append(top.Content, text("expect"), expect)
	}
	if len(absent.Content) > 0 {
		top.Content = append(top.Content, text("absent"), absent)
	}
	head := fmt.Sprintf("%s:%d: case %q: ", c.File, c.Line, c.Case)
	if len(top.Content) == 0 {
		return head + "no documents"
	}
	return head + "documents:\n" + strings.TrimSuffix(render(top, 4), "\n")
}

// caseDocs collects the docs a case left in its sink, in a stable order.
func caseDocs(f *File, c *Case, s *docSink) CaseDocs {
	out := CaseDocs{File: f.Path, Line: c.Line, Case: c.Name}
	for _, d := range s.docs {
		out.Docs = append(out.Docs, Doc{View: d.View, ID: d.ID, Fields: d.Fields, Deleted: d.Deleted})
	}
	slices.SortFunc(out.Docs, func(a, b Doc) int {
		if a.View != b.View {
			return strings.Compare(a.View, b.View)
		}
		return byID(a.ID, b.ID)
	})
	return out
}

// byID orders ids as a user counts them: numbers by value (2 before 10),
// before other text, which sorts as text.
func byID(a, b string) int {
	da, errA := decimal.NewFromString(a)
	db, errB := decimal.NewFromString(b)
	switch {
	case errA == nil && errB == nil:
		if c := da.Cmp(db); c != 0 {
			return c
		}
	case errA == nil:
		return -1
	case errB == nil:
		return 1
	}
	return strings.Compare(a, b)
}

// missing says what the view holds instead of an expected doc: that the
// engine deleted it, else the ids of the docs it has (an id written
// wrong).
func (s *docSink) missing(view, id string) string {
	if d, ok := s.docs[view+"\x00"+id]; ok && d.Deleted {
		return "missing (deleted: its rows are gone or outside the view's where), want a document"
	}
	var ids []string
	for _, d := range s.docs {
		if d.View == view && !d.Deleted {
			ids = append(ids, d.ID)
		}
	}
	if len(ids) == 0 {
		return fmt.Sprintf("missing, want a document (%s holds none)", view)
	}
	slices.SortFunc(ids, byID)
	const most = 10
	more := ""
	if len(ids) > most {
		more = fmt.Sprintf(" and %d more", len(ids)-most)
		ids = ids[:most]
	}
	quoted := make([]string, len(ids))
	for i, id := range ids {
		quoted[i] = strconv.Quote(id) // the empty id, and ids with ", " in them, told apart
	}
	return fmt.Sprintf("missing, want a document (%s holds %s%s)", view, strings.Join(quoted, ", "), more)
}

// actual is the doc d of the case as a failure shows it.
func actual(d sinks.Doc) *Doc {
	return &Doc{View: d.View, ID: d.ID, Fields: d.Fields}
}

// lastAt is the index of the failure after which a document's failures,
// once Sorted (stable, by line), end: the last of the greatest line.
func lastAt(fails []Failure) int {
	at := 0
	for i, f := range fails {
		if f.Line >= fails[at].Line {
			at = i
		}
	}
	return at
}

// text is a string scalar, quoted when it would read as something else
// ("1", "true", "null"). Invalid UTF-8, which YAML cannot hold as text,
// shows as U+FFFD, as JSON, the doc's own form, shows it.
func text(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: strings.ToValidUTF8(s, "\uFFFD")}
	if s == "<<" {
		// yaml.v3 writes it plain, and reads a plain << back as a merge
		// key: pasted into a case, the document would mean another one.
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

// block is a doc's fields as a block mapping, keys sorted; see node.
func block(fields map[string]any) *yaml.Node {
	n := node(normal(fields))
	n.Style = 0
	return n
}

// normal is v as JSON reads it, numbers as written: whatever Go types
// the engine's docs hold, they print as the stores give them.
func normal(v any) any {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out any
	if dec.Decode(&out) != nil {
		return string(raw)
	}
	return out
}

// node is a YAML node of a JSON value: mappings with sorted keys, and a
// mapping or list of scalars on one line, as cases are usually written.
func node(v any) *yaml.Node {
	switch v := v.(type) {
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(v)}
	case json.Number:
		return &yaml.Node{Kind: yaml.ScalarNode, Value: v.String()} // plain: a number again when read
	case string:
		return text(v)
	case map[string]any:
		n := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
		for _, k := range slices.Sorted(maps.Keys(v)) {
			n.Content = append(n.Content, text(k), node(v[k]))
		}
		return flowIfFlat(n)
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, e := range v {
			n.Content = append(n.Content, node(e))
		}
		return flowIfFlat(n)
	}
	return text(fmt.Sprint(v))
}

func flowIfFlat(n *yaml.Node) *yaml.Node {
	for _, c := range n.Content {
		if c.Kind != yaml.ScalarNode {
			n.Style = 0
		}
	}
	return n
}

// render writes n as YAML, every line indented.
func render(n *yaml.Node, indent int) string {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	err := enc.Encode(n)
	if err == nil {
		err = enc.Close()
	}
	out := b.String()
	if err != nil { // not seen: its strings are valid UTF-8 (see text)
		out = fmt.Sprintf("(cannot show it: %v)", err)
	}
	pad := strings.Repeat(" ", indent)
	return pad + strings.ReplaceAll(strings.TrimSuffix(out, "\n"), "\n", "\n"+pad) + "\n"
}
