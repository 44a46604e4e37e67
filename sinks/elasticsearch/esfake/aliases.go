package esfake

import (
	"net/http"
	"sort"
	"strings"
)

// target is one concrete index reached by an expression, with the filters of
// the aliases it was reached through (none when reached directly).
type target struct {
	ix         *index
	filters    []map[string]any
	unfiltered bool
}

// resolve expands a comma-separated expression of indices, aliases and
// wildcards. A missing concrete name fails the whole expression, as with
// Elasticsearch's default ignore_unavailable=false. Callers hold s.mu.
func (s *Server) resolve(expr string) ([]*target, string, bool) {
	byName := map[string]*target{}
	add := func(ix *index, filter map[string]any) {
		t := byName[ix.name]
		if t == nil {
			t = &target{ix: ix}
			byName[ix.name] = t
		}
		if filter == nil {
			t.unfiltered = true
		} else {
			t.filters = append(t.filters, filter)
		}
	}
	for _, part := range strings.Split(expr, ",") {
		if part == "_all" || part == "*" || strings.ContainsAny(part, "*?") {
			for _, ix := range s.indices {
				if globMatch(part, ix.name) {
					add(ix, nil)
				}
				for a, meta := range ix.aliases {
					if globMatch(part, a) && part != "_all" && part != "*" {
						f, _ := meta["filter"].(map[string]any)
						add(ix, f)
					}
				}
			}
			continue
		}
		if ix, ok := s.indices[part]; ok {
			add(ix, nil)
			continue
		}
		found := false
		for _, ix := range s.indices {
			if meta, ok := ix.aliases[part]; ok {
				found = true
				f, _ := meta["filter"].(map[string]any)
				add(ix, f)
			}
		}
		if !found {
			return nil, part, false
		}
	}
	out := make([]*target, 0, len(byName))
	for _, t := range byName {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ix.name < out[j].ix.name })
	return out, "", true
}

// writeIndex resolves a write target: an index, or an alias's write index
// (its is_write_index member, or its only index). Callers hold s.mu.
func (s *Server) writeIndex(name string) (*index, *esError) {
	if ix, ok := s.indices[name]; ok {
		return ix, nil
	}
	var members []*index
	var explicit *index
	for _, ix := range s.indices {
		if meta, ok := ix.aliases[name]; ok {
			members = append(members, ix)
			if w, _ := meta["is_write_index"].(bool); w {
				explicit = ix
			}
		}
	}
	switch {
	case explicit != nil:
		return explicit, nil
	case len(members) == 1:
		if w, ok := members[0].aliases[name]["is_write_index"].(bool); ok && !w {
			break
		}
		return members[0], nil
	case len(members) == 0:
		return nil, nil
	}
	return nil, &esError{
		Type: "illegal_argument_exception",
		Reason: "no write index is defined for alias [" + name + "]. The write index may be explicitly disabled using is_write_index=false" +
			" or the alias points to multiple indices without one being designated as a write index",
	}
}

func (s *Server) aliasExists(name string) bool {
	for _, ix := range s.indices {
		if _, ok := ix.aliases[name]; ok {
			return true
		}
	}
	return false
}

// aliasMeta keeps the alias properties Elasticsearch stores and echoes.
func aliasMeta(m map[string]any) map[string]any {
	out := map[string]any{}
	for _, k := range []string{"filter", "is_write_index", "is_hidden", "routing", "index_routing", "search_routing"} {
		if v, ok := m[k]; ok {
			out[k] = deepCopy(v)
		}
	}
	return out
}

func aliasesJSON(aliases map[string]map[string]any) map[string]any {
	out := map[string]any{}
	for a, meta := range aliases {
		out[a] = deepCopy(meta)
	}
	return out
}

// handleAliases applies POST /_aliases: every action is resolved and checked
// first, then all are applied together, so the change is atomic.
func (s *Server) handleAliases(w http.ResponseWriter, body []byte) {
	req, err := decodeObject(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, parseError(err))
		return
	}
	actions, _ := req["actions"].([]any)
	if len(actions) == 0 {
		writeError(w, http.StatusBadRequest, esError{
			Type: "action_request_validation_exception", Reason: "Validation Failed: 1: no action specified;",
		})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	// Work on copies of the alias maps; commit only when every action is valid.
	next := map[string]map[string]map[string]any{}
	for n, ix := range s.indices {
		c := make(map[string]map[string]any, len(ix.aliases))
		for a, m := range ix.aliases {
			c[a] = m
		}
		next[n] = c
	}
	removeIndex := map[string]bool{}
	var results []any
	errors := false
	applied := 0

	for _, raw := range actions {
		act, _ := raw.(map[string]any)
		if len(act) != 1 {
			writeError(w, http.StatusBadRequest, esError{Type: "illegal_argument_exception", Reason: "Expected one action per object"})
			return
		}
		for kind, v := range act {
			spec, _ := v.(map[string]any)
			indexExprs := append(stringList(spec["index"]), stringList(spec["indices"])...)
			aliasNames := append(stringList(spec["alias"]), stringList(spec["aliases"])...)
			var concrete []string
			for _, e := range indexExprs {
				if strings.ContainsAny(e, "*?") {
					for n := range s.indices {
						if globMatch(e, n) {
							concrete = append(concrete, n)
						}
					}
					continue
				}
				if _, ok := s.indices[e]; !ok {
					writeError(w, http.StatusNotFound, indexNotFound(e))
					return
				}
				concrete = append(concrete, e)
			}
			sort.Strings(concrete)
			switch kind {
			case "add":
				for _, n := range concrete {
					for _, a := range aliasNames {
						if _, clash := s.indices[a]; clash {
							writeError(w, http.StatusBadRequest, esError{
								Type:   "invalid_alias_name_exception",
								Reason: "Invalid alias name [" + a + "]: an index or data stream exists with the same name as the alias",
								Index:  a,
							})
							return
						}
						next[n][a] = aliasMeta(spec)
						applied++
					}
				}
			case "remove":
				mustExist, _ := spec["must_exist"].(bool)
				removed := 0
				for _, n := range concrete {
					for _, pattern := range aliasNames {
						hit := false
						for a := range next[n] {
							if globMatch(pattern, a) {
								delete(next[n], a)
								removed++
								hit = true
							}
						}
						if !hit && mustExist {
							// AliasAction.Remove.apply: the alias passes
							// through unexpanded and is not found.
							writeError(w, http.StatusNotFound, esError{
								Type:   "resource_not_found_exception",
								Reason: "required alias [" + pattern + "] does not exist",
							})
							return
						}
					}
				}
				applied += removed
				// 8.12+: a remove that removed nothing is reported per action.
				if removed == 0 {
					errors = true
					e := aliasesNotFound(aliasNames)
					results = append(results, map[string]any{
						"action": map[string]any{"type": "remove", "indices": concrete, "aliases": aliasNames},
						"status": http.StatusNotFound,
						"error":  e.object(),
					})
				} else {
					results = append(results, map[string]any{
						"action": map[string]any{"type": "remove", "indices": concrete, "aliases": aliasNames},
						"status": http.StatusOK,
					})
				}
				continue
			case "remove_index":
				for _, n := range concrete {
					removeIndex[n] = true
					applied++
				}
			default:
				writeError(w, http.StatusBadRequest, esError{
					Type: "x_content_parse_exception", Reason: "[1:1] [alias_action] unknown field [" + kind + "]",
				})
				return
			}
			results = append(results, map[string]any{
				"action": map[string]any{"type": kind, "indices": concrete, "aliases": aliasNames},
				"status": http.StatusOK,
			})
		}
	}
	if applied == 0 {
		var names []string
		for _, raw := range actions {
			for _, v := range raw.(map[string]any) {
				spec, _ := v.(map[string]any)
				names = append(names, append(stringList(spec["alias"]), stringList(spec["aliases"])...)...)
			}
		}
		writeError(w, http.StatusNotFound, aliasesNotFound(names))
		return
	}
	// An alias may have at most one write index.
	writers := map[string][]string{}
	for n, al := range next {
		if removeIndex[n] {
			continue
		}
		for a, meta := range al {
			if wr, _ := meta["is_write_index"].(bool); wr {
				writers[a] = append(writers[a], n)
			}
		}
	}
	for a, ws := range writers {
		if len(ws) > 1 {
			sort.Strings(ws)
			writeError(w, http.StatusBadRequest, esError{
				Type:   "illegal_argument_exception",
				Reason: "alias [" + a + "] has more than one write index [" + strings.Join(ws, ",") + "]",
			})
			return
		}
	}
	for n, al := range next {
		s.indices[n].aliases = al
	}
	for n := range removeIndex {
		delete(s.indices, n)
	}
	resp := map[string]any{"acknowledged": true, "errors": errors}
	if errors {
		resp["action_results"] = results
	}
	writeJSON(w, http.StatusOK, resp)
}

func aliasesNotFound(names []string) esError {
	return esError{
		Type:   "aliases_not_found_exception",
		Reason: "aliases [" + strings.Join(names, ",") + "] missing",
		Extra:  map[string]any{"resource.type": "aliases", "resource.id": strings.Join(names, ",")},
	}
}

// handleGetAlias answers GET /_alias/{name}. A missing explicit alias gives
// 404 with the flat body {"error":"alias [x] missing","status":404}
// (RestGetAliasesAction), unlike most APIs.
func (s *Server) handleGetAlias(w http.ResponseWriter, expr string, head bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]any{}
	found := map[string]bool{}
	for _, ix := range s.indices {
		for a, meta := range ix.aliases {
			for _, p := range strings.Split(expr, ",") {
				if globMatch(p, a) {
					entry, ok := out[ix.name].(map[string]any)
					if !ok {
						entry = map[string]any{"aliases": map[string]any{}}
						out[ix.name] = entry
					}
					entry["aliases"].(map[string]any)[a] = deepCopy(meta)
					found[p] = true
				}
			}
		}
	}
	var missing []string
	for _, p := range strings.Split(expr, ",") {
		if !strings.ContainsAny(p, "*?") && p != "_all" && !found[p] {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		if head {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		word := "alias"
		if len(missing) > 1 {
			word = "aliases"
		}
		out["error"] = word + " [" + strings.Join(missing, ",") + "] missing"
		out["status"] = http.StatusNotFound
		writeJSON(w, http.StatusNotFound, out)
		return
	}
	if head {
		w.WriteHeader(http.StatusOK)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// handleGetIndexAliases answers GET /{index}/_alias.
func (s *Server) handleGetIndexAliases(w http.ResponseWriter, expr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	targets, missing, ok := s.resolve(expr)
	if !ok {
		writeError(w, http.StatusNotFound, indexNotFound(missing))
		return
	}
	out := map[string]any{}
	for _, t := range targets {
		out[t.ix.name] = map[string]any{"aliases": aliasesJSON(t.ix.aliases)}
	}
	writeJSON(w, http.StatusOK, out)
}
