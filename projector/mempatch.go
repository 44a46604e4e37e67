package projector

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// The memory state's patches: patchFunction and truncateFunction (SQL) in
// Go, with jsonb's operators they use.

// jsonbTruncate is truncateFunction's jsonb_truncate in Go.
func jsonbTruncate(doc map[string]any, trunc map[string]int64) map[string]any {
	if len(trunc) == 0 || doc == nil {
		return doc
	}
	var root any = cloneRow(doc)
	for k, n := range trunc {
		p := strings.Split(k, ".")
		if a, ok := at(root, p).([]any); ok && int64(len(a)) > n {
			root, _ = jsonbSet(root, p, a[:max(n, 0)])
		}
	}
	m, _ := root.(map[string]any)
	return m
}

// errPathNotViable: a $set steps into an array with a field name.
var errPathNotViable = errors.New("path not viable")

// jsonbPatch is patchFunction's jsonb_patch in Go: set each dotted path in
// jsonb's key order (shorter keys first), creating objects on the way, then
// remove each unset path. doc is not changed.
func jsonbPatch(doc map[string]any, set map[string]any, unset []string) (map[string]any, error) {
	var root any = cloneRow(doc)
	if doc == nil {
		root = map[string]any{}
	}
	keys := slices.SortedFunc(maps.Keys(set), func(a, b string) int {
		return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b))
	})
	padded := 0 // nulls padded in all (see patchFunction)
sets:
	for _, k := range keys {
		p := strings.Split(k, ".")
		for i := 1; i <= len(p); i++ {
			if a, ok := at(root, p[:i-1]).([]any); ok {
				n, ok := mongoIndex(p[i-1])
				if !ok {
					return nil, errPathNotViable
				}
				if n >= len(a) {
					if padded+n-len(a) >= maxArrayPad {
						continue sets
					}
					padded += n + 1 - len(a)
					root, _ = jsonbSet(root, p[:i-1], append(a, make([]any, n+1-len(a))...))
				}
			}
			if i == len(p) {
				break
			}
			switch at(root, p[:i]).(type) {
			case map[string]any, []any:
			default:
				var err error
				if root, err = jsonbSet(root, p[:i], map[string]any{}); err != nil {
					return nil, err
				}
			}
		}
		var err error
		if root, err = jsonbSet(root, p, cloneValue(set[k])); err != nil {
			return nil, err
		}
	}
unsets:
	for _, k := range unset {
		p := strings.Split(k, ".")
		for i := 1; i < len(p); i++ {
			if _, ok := at(root, p[:i-1]).([]any); ok {
				if _, ok := mongoIndex(p[i-1]); !ok {
					continue unsets
				}
			}
		}
		if a, ok := at(root, p[:len(p)-1]).([]any); ok {
			if n, ok := mongoIndex(p[len(p)-1]); ok && n < len(a) {
				a[n] = nil // an array element is set to null, not removed
			}
			continue
		}
		root = jsonbRemove(root, p)
	}
	m, _ := root.(map[string]any)
	return m, nil
}

// mongoIndex reads a path step as MongoDB reads an array index: digits
// only (at most 9, as patchFunction's SQL).
func mongoIndex(p string) (int, bool) {
	if len(p) == 0 || len(p) > 9 || strings.Trim(p, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(p)
	return n, err == nil
}

// at is doc #> path: nil when the path does not lead anywhere.
func at(doc any, path []string) any {
	for _, p := range path {
		switch x := doc.(type) {
		case map[string]any:
			doc = x[p]
		case []any:
			i, ok := arrayIndex(p, len(x))
			if !ok || i < 0 || i >= len(x) {
				return nil
			}
			doc = x[i]
		default:
			return nil
		}
	}
	return doc
}

// arrayIndex parses a jsonb path element as an array index (negative ones
// count from the end).
func arrayIndex(p string, n int) (int, bool) {
	i, err := strconv.Atoi(p)
	if err != nil {
		return 0, false
	}
	if i < 0 {
		i += n
	}
	return i, true
}

// jsonbSet is jsonb_set(doc, path, v, create_missing => true): a missing
// last key is created, an index past an array's end appends (before its
// start prepends), and a path through a missing or scalar value is a no-op.
func jsonbSet(doc any, path []string, v any) (any, error) {
	if len(path) == 0 {
		return v, nil
	}
	switch x := doc.(type) {
	case map[string]any:
		child, ok := x[path[0]]
		if !ok && len(path) > 1 {
			return doc, nil
		}
		nv, err := jsonbSet(child, path[1:], v)
		if err != nil {
			return nil, err
		}
		x[path[0]] = nv
	case []any:
		i, ok := arrayIndex(path[0], len(x))
		if !ok {
			return nil, fmt.Errorf("path element %q is not an integer", path[0])
		}
		switch {
		case i >= 0 && i < len(x):
			nv, err := jsonbSet(x[i], path[1:], v)
			if err != nil {
				return nil, err
			}
			x[i] = nv
		case len(path) > 1:
		case i < 0:
			return append([]any{v}, x...), nil
		default:
			return append(x, v), nil
		}
	}
	return doc, nil
}

// jsonbRemove is doc #- path.
func jsonbRemove(doc any, path []string) any {
	if len(path) == 0 {
		return doc
	}
	switch x := doc.(type) {
	case map[string]any:
		if len(path) == 1 {
			delete(x, path[0])
		} else if c, ok := x[path[0]]; ok {
			x[path[0]] = jsonbRemove(c, path[1:])
		}
	case []any:
		i, ok := arrayIndex(path[0], len(x))
		if !ok || i < 0 || i >= len(x) {
			return doc
		}
		if len(path) == 1 {
			return slices.Delete(x, i, i+1)
		}
		x[i] = jsonbRemove(x[i], path[1:])
	}
	return doc
}
