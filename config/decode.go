package config

import (
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxSteps bounds the nodes aliases and merge keys add to a decode. They can
// make a small file expand exponentially; real configurations stay far below
// this. What the file writes out is not counted: the parser has already read
// all of it, and a large file is no reason to refuse it.
const maxSteps = 100_000

// valueInfo is what the decoder learned about one decoded Go value: where it
// was written and whether it came through interpolation. Validation looks it
// up by the value's address to point at values, not only at their structs.
type valueInfo struct {
	pos  Pos
	null bool // written as null: treated as absent
	// empty: the null is nothing at all (`key:`), not ~ or null written
	// out: a key whose settings are all left out or commented out.
	empty bool
	bad   bool // could not be decoded; validation stays quiet about it
	// unset: a connection setting from a ${NAME} that is not set, read
	// with Options.UnsetConnections (bad too).
	unset bool
	env   bool // the scalar had ${...}: never show the value
	// secret: a Secret, whose text is never shown, even as written in
	// the file, unless it is only a ${NAME}
	secret bool
	raw    string      // the scalar as written, shown instead of an env value
	style  yaml.Style  // how the scalar was written: plain, quoted, block
	items  []valueInfo // StringList: one per item
}

// show renders a decoded scalar for a message: quoted, or described by its
// template when the environment supplied it.
func (vi *valueInfo) show(value string) string {
	if vi != nil && vi.env {
		return fromEnv(vi.raw)
	}
	return quote(value)
}

// showInt is show for a decoded integer, unquoted.
func (vi *valueInfo) showInt(value int) string {
	if vi != nil && vi.env {
		return fromEnv(vi.raw)
	}
	return itoa(value)
}

// decoder walks a yaml.Node tree into the Config structs. It never stops at
// the first problem: every error is added to errs and decoding goes on with
// the next key.
type decoder struct {
	file        string
	lookup      func(string) (string, bool)
	errs        Errors
	info        map[any]*valueInfo // by pointer to the decoded value
	active      map[*yaml.Node]bool
	steps       int
	expanding   int // depth of aliases and merged pairs being decoded
	aborted     bool
	offline     bool // Options.Offline
	unsetOK     bool // Options.UnsetConnections
	unsetStores bool // Options.UnsetStores
}

func newDecoder(file string, lookup func(string) (string, bool)) *decoder {
	return &decoder{
		file:   file,
		lookup: lookup,
		info:   make(map[any]*valueInfo),
		active: make(map[*yaml.Node]bool),
	}
}

func (d *decoder) pos(n *yaml.Node) Pos { return Pos{File: d.file, Line: n.Line, Col: n.Column} }

func (d *decoder) top() Pos { return Pos{File: d.file, Line: 1, Col: 1} }

// lookupInfo returns what is known about the value ptr points to, or nil when
// its key was not in the file.
func (d *decoder) lookupInfo(ptr any) *valueInfo { return d.info[ptr] }

// present reports whether the key for *ptr was written with a non-null value.
func (d *decoder) present(ptr any) bool {
	vi := d.info[ptr]
	return vi != nil && !vi.null
}

var (
	posType        = reflect.TypeFor[Pos]()
	durationType   = reflect.TypeFor[Duration]()
	stringListType = reflect.TypeFor[StringList]()
	fieldType      = reflect.TypeFor[Field]()
	secretType     = reflect.TypeFor[Secret]()
	objectType     = reflect.TypeFor[map[string]any]()
	mapMarker      = reflect.TypeFor[interface{ isMap() }]()
)

// isMap marks Map types for the decoder.
func (Map[T]) isMap() {}

// resolve follows aliases. An alias to a node that is being decoded (an
// anchor that contains its own alias) would recurse forever: it is an error.
func (d *decoder) resolve(n *yaml.Node) (*yaml.Node, bool) {
	alias := n
	for n.Kind == yaml.AliasNode {
		if n.Alias == nil || d.active[n.Alias] {
			d.errs.Add(d.pos(alias), "alias *%s refers to a node that contains it", alias.Value)
			return nil, false
		}
		n = n.Alias
	}
	return n, true
}

// step counts node n against maxSteps when an alias brings it in: n is an
// alias, or lies under one or under a pair a merge key copied.
func (d *decoder) step(n *yaml.Node) bool {
	if d.expanding == 0 && n.Kind != yaml.AliasNode {
		return !d.aborted
	}
	return d.stepBy(n, 1)
}

// stepBy counts k nodes visited at once, such as the keys a merge copies.
func (d *decoder) stepBy(n *yaml.Node, k int) bool {
	if d.aborted {
		return false
	}
	d.steps += k
	if d.steps > maxSteps {
		d.aborted = true
		d.errs.Add(d.pos(n), "the configuration is too large after expanding aliases (over %d nodes)", maxSteps)
		return false
	}
	return true
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// decode writes node n into v, which must be addressable. path is the list
// of keys leading to n, used to name it in messages.
func (d *decoder) decode(v reflect.Value, n *yaml.Node, path []string) {
	if !d.step(n) {
		return
	}
	written := n
	n, ok := d.resolve(n)
	if !ok {
		// Written, but not usable: no second problem about it.
		d.info[v.Addr().Interface()] = &valueInfo{pos: d.pos(written), bad: true}
		return
	}
	defer d.expand(written != n)()
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		d.active[n] = true
		defer delete(d.active, n)
	}
	vi := &valueInfo{pos: d.pos(n), style: n.Style}
	d.info[v.Addr().Interface()] = vi
	if isNull(n) {
		vi.null = true
		vi.empty = n.Value == ""
		if v.Kind() == reflect.Struct {
			// A null list item (`- ~`) is still where its problems are.
			if f := v.FieldByName("Pos"); f.IsValid() && f.Type() == posType {
				f.Set(reflect.ValueOf(vi.pos))
			}
		}
		return
	}
	t := v.Type()
	switch {
	case t == durationType:
		d.decodeDuration(v, n, path, vi)
	case t == stringListType:
		d.decodeStringList(v, n, path, vi)
	case t == fieldType && n.Kind == yaml.ScalarNode:
		// Short form: `name: column`.
		v.FieldByName("Pos").Set(reflect.ValueOf(vi.pos))
		d.decode(v.FieldByName("Column"), n, path)
	case t.Implements(mapMarker):
		d.decodeMap(v, n, path, vi)
	case t == objectType:
		d.decodeObject(v, n, path, vi)
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct:
		p := reflect.New(t.Elem())
		d.decode(p.Elem(), n, path)
		if inner := d.info[p.Interface()]; inner != nil && inner.bad {
			// Already reported; a nil sink is simply not validated further.
			vi.bad = true
			return
		}
		v.Set(p)
	case t.Kind() == reflect.Struct:
		d.decodeStruct(v, n, path, vi)
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		d.decodeSeq(v, n, path, vi)
	case t == secretType:
		vi.secret = true
		if s, ok := d.scalar(n, path, vi, "a string"); ok {
			v.SetString(s)
		}
	case t.Kind() == reflect.String:
		if s, ok := d.scalar(n, path, vi, "a string"); ok {
			v.SetString(s)
		}
	case t.Kind() == reflect.Int:
		d.decodeInt(v, n, path, vi)
	case t.Kind() == reflect.Bool:
		d.decodeBool(v, n, path, vi)
	default:
		// Only reachable if config.go gains a field of a new kind.
		vi.bad = true
		d.errs.Add(vi.pos, "internal error: %s has unsupported Go type %s", describe(path), t)
	}
}

// wrongKind reports a node of the wrong kind and marks the value bad.
func (d *decoder) wrongKind(n *yaml.Node, path []string, vi *valueInfo, want string) {
	vi.bad = true
	d.errs.Add(vi.pos, "%s must be %s, not %s", describe(path), want, kindName(n))
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a single value"
	default:
		return "empty"
	}
}

func (d *decoder) decodeStruct(v reflect.Value, n *yaml.Node, path []string, vi *valueInfo) {
	if n.Kind != yaml.MappingNode {
		d.wrongKind(n, path, vi, "a mapping")
		return
	}
	if f := v.FieldByName("Pos"); f.IsValid() && f.Type() == posType {
		f.Set(reflect.ValueOf(vi.pos))
	}
	fields := yamlFields(v.Type())
	own := ownValues(n)
	for _, p := range d.pairs(n, path) {
		i, ok := fields[p.key.Value]
		if !ok {
			// Counted too: an alias to a mapping of unknown keys, written
			// in many places, would otherwise add a problem per key each.
			if d.step(p.key) {
				d.unknownField(p.key, path, fields, v.Type())
			}
			continue
		}
		d.decodePair(v.Field(i), p, own, appendPath(path, p.key.Value))
	}
}

func (d *decoder) unknownField(key *yaml.Node, path []string, fields map[string]int, in reflect.Type) {
	where := describeIn(path)
	names := slices.Sorted(maps.Keys(fields))
	if s := suggest(key.Value, names); s != "" {
		d.errs.Add(d.pos(key), "unknown field %q %s (did you mean %q?)", key.Value, where, s)
		return
	}
	for _, sink := range sinkTypes {
		if _, ok := yamlFields(sink.t)[key.Value]; ok && sink.t != in && len(path) > 0 && path[0] == "views" {
			d.errs.Add(d.pos(key), "unknown field %q %s (a setting of sinks.%s)", key.Value, where, sink.name)
			return
		}
	}
	d.errs.Add(d.pos(key), "unknown field %q %s (valid: %s)", key.Value, where, strings.Join(names, ", "))
}

// sinkTypes are the settings of each sink, to say where a sink's setting
// written elsewhere belongs.
var sinkTypes = []struct {
	name string
	t    reflect.Type
}{
	{"postgres", reflect.TypeFor[PostgresSink]()},
	{"redis", reflect.TypeFor[RedisSink]()},
	{"elasticsearch", reflect.TypeFor[ElasticsearchSink]()},
}

func (d *decoder) decodeMap(v reflect.Value, n *yaml.Node, path []string, vi *valueInfo) {
	if n.Kind != yaml.MappingNode {
		d.wrongKind(n, path, vi, "a mapping")
		return
	}
	pairs := d.pairs(n, path)
	own := ownValues(n)
	// Sized once: validation finds values by address, so the backing array
	// must not move after decoding.
	s := reflect.MakeSlice(v.Type(), len(pairs), len(pairs))
	for i, p := range pairs {
		e := s.Index(i)
		e.FieldByName("Key").SetString(p.key.Value)
		e.FieldByName("KeyPos").Set(reflect.ValueOf(d.pos(p.key)))
		d.decodePair(e.FieldByName("Value"), p, own, appendPath(path, p.key.Value))
	}
	v.Set(s)
}

// ownValues is the set of values mapping n writes itself, or nil when n has
// no merge key and so every one of its pairs is its own.
func ownValues(n *yaml.Node) map[*yaml.Node]bool {
	var own map[*yaml.Node]bool
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := keyNode(n.Content[i]); k != nil && isMergeKey(k) {
			own = make(map[*yaml.Node]bool, len(n.Content)/2)
			break
		}
	}
	for i := 0; own != nil && i+1 < len(n.Content); i += 2 {
		own[n.Content[i+1]] = true
	}
	return own
}

// copied reports whether a merge key brought pair p into a mapping whose
// own values are own: an anchored mapping merged in many places has its
// values decoded in each, as an alias's anchor is.
func copied(p pair, own map[*yaml.Node]bool) bool { return own != nil && !own[p.value] }

// expand counts the nodes decoded until done is called against maxSteps,
// when on: they are an alias's anchor or values a merge key copied.
func (d *decoder) expand(on bool) (done func()) {
	if !on {
		return func() {}
	}
	d.expanding++
	return func() { d.expanding-- }
}

// decodePair decodes the value of pair p of a mapping whose own values are
// own (see ownValues).
func (d *decoder) decodePair(v reflect.Value, p pair, own map[*yaml.Node]bool, path []string) {
	defer d.expand(copied(p, own))()
	d.decode(v, p.value, path)
}

func (d *decoder) decodeSeq(v reflect.Value, n *yaml.Node, path []string, vi *valueInfo) {
	if n.Kind != yaml.SequenceNode {
		d.wrongKind(n, path, vi, "a list")
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.decode(s.Index(i), item, appendPath(path, itoa(i)))
	}
	v.Set(s)
}

// yamlFields maps yaml tag names to field indexes; `yaml:"-"` and untagged
// fields are not decodable.
func yamlFields(t reflect.Type) map[string]int {
	m := make(map[string]int)
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			m[name] = i
		}
	}
	return m
}

// appendPath returns path+keys without writing into path's backing array,
// which sibling paths share.
func appendPath(path []string, keys ...string) []string {
	return append(path[:len(path):len(path)], keys...)
}

// decodeObject decodes a free-form mapping (an Elasticsearch mapping
// object) into map[string]any: nested mappings and lists as map[string]any
// and []any, integers as int64, floats as float64, booleans, null as nil,
// and strings interpolated like every other scalar.
func (d *decoder) decodeObject(v reflect.Value, n *yaml.Node, path []string, vi *valueInfo) {
	if n.Kind != yaml.MappingNode {
		d.wrongKind(n, path, vi, "a mapping")
		return
	}
	obj, ok := d.anyValue(n, path)
	if !ok {
		vi.bad = true
		return
	}
	v.Set(reflect.ValueOf(obj))
}

// anyValue is one node of a free-form value; ok is false after an error.
//
// path grows in place down the tree (a message formats it at once, and a
// sibling's overwrites an element only after the one before returned):
// a copy per level made a list nested thousands deep cost the square of
// its depth.
func (d *decoder) anyValue(n *yaml.Node, path []string) (any, bool) {
	if !d.step(n) {
		return nil, false
	}
	written := n
	n, ok := d.resolve(n)
	if !ok {
		return nil, false
	}
	defer d.expand(written != n)()
	switch n.Kind {
	case yaml.MappingNode:
		d.active[n] = true
		defer delete(d.active, n)
		out := map[string]any{}
		own := ownValues(n)
		for _, p := range d.pairs(n, path) {
			done := d.expand(copied(p, own))
			val, good := d.anyValue(p.value, append(path, p.key.Value))
			done()
			ok = ok && good
			out[p.key.Value] = val
		}
		return out, ok
	case yaml.SequenceNode:
		d.active[n] = true
		defer delete(d.active, n)
		out := make([]any, len(n.Content))
		for i, item := range n.Content {
			val, good := d.anyValue(item, append(path, itoa(i)))
			ok = ok && good
			out[i] = val
		}
		return out, ok
	case yaml.ScalarNode:
	default:
		return nil, true
	}
	vi := valueInfo{pos: d.pos(n)}
	switch n.ShortTag() {
	case "!!null":
		return nil, true
	case "!!int":
		if i, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
			return i, true
		}
	case "!!float":
		var f float64
		if err := n.Decode(&f); err == nil {
			return f, true
		}
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err == nil {
			return b, true
		}
	}
	// Strings, and what a mapping object has no use for (timestamps, big
	// integers): the text as written, interpolated.
	return d.scalar(n, path, &vi, "")
}
