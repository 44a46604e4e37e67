package debezium

import (
	"math"
	"slices"
	"strings"
)

// mongoChange combines a MongoDB change event. after, before, patch, filter
// and updatedFields are Extended JSON text; the position is the oplog time
// in seconds (source.ts_ms / 1000, or 0.x's source.sec) and source.ord.
func mongoChange(op Op, e *envelope, p *path) (Change, error) {
	ch := Change{Kind: KindChange, Op: op, Source: e.source, Before: e.before, After: e.after}
	switch {
	case e.mongoSec != nil:
		ch.Position.Hi = *e.mongoSec
	case e.source.TsMs != nil:
		ch.Position.Hi = *e.source.TsMs / 1000
	}
	if e.source.Ord != nil {
		ch.Position.Lo = *e.source.Ord
	}
	var err error
	if e.mongoAfter != nil {
		ap := p.field("after")
		if ch.After, err = parseExtDoc(e.mongoAfter, &ap); err != nil {
			return Change{}, err
		}
	}
	if e.mongoBefore != nil {
		bp := p.field("before")
		if ch.Before, err = parseExtDoc(e.mongoBefore, &bp); err != nil {
			if op == OpDelete {
				return Change{}, err
			}
			ch.Before = nil // an update's pre-image is not used (see mongoHints)
		}
	}
	if e.filter != nil {
		fp := p.field("filter")
		filter, err := parseExtDoc(e.filter, &fp)
		if err != nil {
			return Change{}, err
		}
		// The filter names the document when the record has no key.
		if id, ok := filter["_id"]; ok {
			ch.Key = map[string]any{"_id": id}
		}
	}
	if ch.After == nil && e.patch != nil {
		pp := p.field("patch")
		doc, err := parseExtDoc(e.patch, &pp)
		if err != nil {
			return Change{}, err
		}
		if isOperatorPatch(doc) {
			if ch.Patch, err = operatorPatch(doc, &pp); err != nil {
				return Change{}, err
			}
		} else if op != OpDelete {
			ch.After = doc // a whole-document replacement
		}
	}
	if ch.After == nil && ch.Patch == nil && e.hasUpdateDescr && op == OpUpdate {
		patch := &Patch{Set: map[string]any{}, Unset: e.removed, Truncated: e.truncated}
		if e.updated != nil {
			ud := p.field("updateDescription")
			up := ud.field("updatedFields")
			set, err := parseExtDoc(e.updated, &up)
			if err != nil {
				return Change{}, err
			}
			patch.Set = set
		}
		ch.Patch = normalisePatch(patch)
		ud := p.field("updateDescription")
		if err := boundedPatch(ch.Patch, &ud); err != nil {
			return Change{}, err
		}
	}
	return ch, nil
}

// isOperatorPatch tells an oplog update ({"$set": …}, {"$v": 2, "diff": …})
// from a replacement document.
func isOperatorPatch(doc map[string]any) bool {
	for k := range doc {
		if strings.HasPrefix(k, "$") || k == "diff" && has(doc, "$v") {
			return true
		}
	}
	return false
}

func operatorPatch(doc map[string]any, p *path) (*Patch, error) {
	patch := &Patch{Set: map[string]any{}}
	for k, v := range doc {
		fp := p.field(k)
		switch k {
		case "$set", "$setOnInsert":
			set, ok := v.(map[string]any)
			if !ok {
				return nil, malformed(&fp, "expected a document")
			}
			for f, x := range set {
				patch.Set[f] = x
			}
		case "$unset":
			unset, ok := v.(map[string]any)
			if !ok {
				return nil, malformed(&fp, "expected a document")
			}
			for f := range unset {
				patch.Unset = append(patch.Unset, f)
			}
		case "diff": // MongoDB 5+ oplog ($v: 2)
			d, ok := v.(map[string]any)
			if !ok {
				return nil, malformed(&fp, "expected a document")
			}
			if err := applyDiff(patch, d, "", &fp, 0); err != nil {
				return nil, err
			}
		case "$v":
		default:
			return nil, malformed(&fp, "unsupported update operator")
		}
	}
	patch = normalisePatch(patch)
	if err := boundedPatch(patch, p); err != nil {
		return nil, err
	}
	return patch, nil
}

// boundedPatch holds the paths of a partial update ($set, $unset,
// updatedFields, removedFields, truncatedArrays) to the bounds a diff's
// are held to: MongoDB's nesting limit and maxDiffPaths bytes in all. A
// path 10,000 levels deep made the state's jsonb patch exceed PostgreSQL's
// stack depth, a batch failing for ever, while the memory state took it.
func boundedPatch(patch *Patch, p *path) error {
	budget := maxDiffPaths
	check := func(path string) error {
		if budget -= len(path); budget < 0 {
			return malformed(p, "update paths exceed %d bytes", maxDiffPaths)
		}
		if strings.Count(path, ".") >= maxDiffDepth {
			return malformed(p, "update path nested deeper than %d levels", maxDiffDepth)
		}
		return nil
	}
	for f := range patch.Set {
		if err := check(f); err != nil {
			return err
		}
	}
	for _, f := range patch.Unset {
		if err := check(f); err != nil {
			return err
		}
	}
	for f := range patch.Truncated {
		if err := check(f); err != nil {
			return err
		}
	}
	return nil
}

// applyDiff flattens a $v:2 oplog diff: "u" and "i" set fields, "d" removes
// them, "s<field>" descends into a sub-document or array, and an array diff
// ("a": true) holds "l", its new length, "u<index>" to set an element and
// "s<index>" to descend into one. What MongoDB's own reader refuses is
// malformed here too; so is a field name with a dot, which a diff names
// plainly but a patch path would split.
func applyDiff(patch *Patch, d map[string]any, prefix string, p *path, depth int) error {
	budget := maxDiffPaths
	return diffInto(patch, d, prefix, p, depth, &budget)
}

// maxDiffDepth is MongoDB's own nesting limit; maxDiffPaths bounds the
// bytes of the paths a diff flattens to, which share their prefixes in the
// record but not in the patch.
const (
	maxDiffDepth = 100
	maxDiffPaths = 16 << 20
)

func diffInto(patch *Patch, d map[string]any, prefix string, p *path, depth int, budget *int) error {
	if depth > maxDiffDepth {
		return malformed(p, "diff nested deeper than %d levels", maxDiffDepth)
	}
	array := d["a"] == true
	name := func(fp *path, f string) (string, error) {
		if f == "" || strings.Contains(f, ".") {
			return "", malformed(fp, "field name %q cannot be named in a patch path", f)
		}
		*budget -= len(prefix) + len(f)
		if *budget < 0 {
			return "", malformed(fp, "diff paths exceed %d bytes", maxDiffPaths)
		}
		return prefix + f, nil
	}
	for k, v := range d {
		fp := p.field(k)
		switch {
		case !array && (k == "u" || k == "i" || k == "d"):
			m, ok := v.(map[string]any)
			if !ok {
				return malformed(&fp, "expected a document")
			}
			for f, x := range m {
				ffp := fp.field(f)
				at, err := name(&ffp, f)
				if err != nil {
					return err
				}
				if k == "d" {
					patch.Unset = append(patch.Unset, at)
				} else {
					patch.Set[at] = x
				}
			}
		case k == "a":
			if v != true {
				return malformed(&fp, "expected true")
			}
		case array && k == "l":
			n, ok := v.(int64)
			if !ok || prefix == "" || n < 0 || n > math.MaxInt32 {
				return malformed(&fp, "expected an array length")
			}
			if patch.Truncated == nil {
				patch.Truncated = map[string]int64{}
			}
			patch.Truncated[strings.TrimSuffix(prefix, ".")] = n
		case len(k) > 1 && (k[0] == 's' || array && k[0] == 'u'):
			f := k[1:]
			if array && (len(f) > 9 || strings.Trim(f, "0123456789") != "") {
				return malformed(&fp, "expected an array index")
			}
			at, err := name(&fp, f)
			if err != nil {
				return err
			}
			if k[0] == 'u' {
				patch.Set[at] = v
				continue
			}
			m, ok := v.(map[string]any)
			if !ok {
				return malformed(&fp, "expected a document")
			}
			if err := diffInto(patch, m, at+".", &fp, depth+1, budget); err != nil {
				return err
			}
		default:
			return malformed(&fp, "unknown diff member")
		}
	}
	return nil
}

func normalisePatch(p *Patch) *Patch {
	if p.Set == nil {
		p.Set = map[string]any{}
	}
	if p.Unset == nil {
		p.Unset = []string{}
	}
	slices.Sort(p.Unset)
	p.Unset = slices.Compact(p.Unset)
	return p
}

// updateDescription reads change streams' {updatedFields, removedFields,
// truncatedArrays}. Errors are relative to it.
func (st *dec) updateDescription(e *envelope) error {
	s := &st.s
	if s.null() {
		return nil
	}
	if err := s.expect('{'); err != nil {
		return bad("%v", err)
	}
	e.hasUpdateDescr = true
	e.mongoShape = true
	for first := true; ; first = false {
		k, ok, err := s.nextMember(first)
		if err != nil {
			return bad("%v", err)
		}
		if !ok {
			return nil
		}
		switch string(k) {
		case "updatedFields":
			switch s.peek() {
			case 'n':
				err = st.lit("null")
			case '{': // a document rather than its text: keep the text
				var span []byte
				if span, err = s.span(1); err != nil {
					err = bad("%v", err)
				}
				e.updated = span
			default:
				e.updated, err = st.str()
			}
		case "removedFields":
			var v any
			if v, err = st.value(removedCodec, 1); err == nil {
				arr, _ := v.([]any)
				for _, f := range arr {
					if f, ok := f.(string); ok {
						e.removed = append(e.removed, f)
					}
				}
			}
		case "truncatedArrays":
			var v any
			if v, err = st.value(truncatedCodec, 1); err == nil {
				arr, _ := v.([]any)
				for _, t := range arr {
					t, _ := t.(map[string]any)
					f, ok1 := t["field"].(string)
					n, ok2 := t["size"].(int64)
					if ok2 && n < 0 {
						return prefixErr(bad("negative size %d", n), "truncatedArrays")
					}
					if ok1 && ok2 {
						if e.truncated == nil {
							e.truncated = map[string]int64{}
						}
						e.truncated[f] = n
					}
				}
			}
		default:
			if err = s.skip(1); err != nil {
				err = bad("%v", err)
			}
		}
		if err != nil {
			return prefixErr(err, string(k))
		}
	}
}

var (
	removedCodec   = &codec{kind: kArray, elem: &codec{kind: kString}}
	truncatedCodec = &codec{kind: kArray, elem: &codec{kind: kStruct, fields: []field{
		{name: "field", c: &codec{kind: kString}},
		{name: "size", c: &codec{kind: kInt}},
	}}}
)

// mongoKey turns the connector's key {"id": "<Extended JSON>"} into
// {"_id": value}, so that it matches the document's _id. strict says the
// record is known to come from MongoDB: then an id that is not Extended JSON
// is the id's text (ExtractNewDocumentState's form); otherwise the key is
// left as it is. onlyWrapped reads only a wrapper ({"$oid": …}) as Extended
// JSON: ExtractNewDocumentState writes the id as its value, so its string
// "12345678901234567890" is that text, not a number.
func mongoKey(k map[string]any, strict, onlyWrapped bool, p *path) (map[string]any, error) {
	if len(k) != 1 {
		return k, nil
	}
	id, ok := k["id"]
	if !ok {
		return k, nil
	}
	text, ok := id.(string)
	if !ok {
		if strict {
			return map[string]any{"_id": id}, nil
		}
		return k, nil
	}
	if onlyWrapped && !looksWrapped(text) {
		if strict {
			return map[string]any{"_id": text}, nil
		}
		return k, nil
	}
	ip := p.field("id")
	v, err := parseExtValue([]byte(text), &ip)
	if err != nil {
		if strict && looksWrapped(text) {
			return nil, err
		}
		if strict {
			// ExtractNewDocumentState rewrites the key as the value is
			// rewritten: an ObjectId as its hex, a string as it is.
			return map[string]any{"_id": text}, nil
		}
		return k, nil
	}
	return map[string]any{"_id": v}, nil
}

// looksWrapped reports Extended JSON text of a wrapper such as {"$oid": …}.
func looksWrapped(s string) bool {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") {
		return false
	}
	return strings.HasPrefix(strings.TrimSpace(s[1:]), `"$`)
}
