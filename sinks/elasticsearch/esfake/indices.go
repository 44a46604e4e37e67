package esfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// index is one concrete index.
type index struct {
	name     string
	uuid     string
	created  time.Time
	settings map[string]string // flat "index.*" keys, string values as Elasticsearch keeps them
	mappings map[string]any    // {"dynamic":…, "properties":{…}, "_meta":…}
	aliases  map[string]map[string]any

	docs        map[string]*doc // real time, with tombstones
	searchable  map[string]*doc // as of the last refresh
	refreshedAt time.Time
	seqNo       int64
}

// template is a composable index template (PUT /_index_template/{name}).
type template struct {
	name     string
	body     map[string]any // as sent, returned by GET
	patterns []string
	priority int64
}

func decodeObject(body []byte) (map[string]any, error) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

func parseError(err error) esError {
	return esError{Type: "parse_exception", Reason: "request body is required or malformed: " + err.Error()}
}

func (s *Server) handlePutTemplate(w http.ResponseWriter, name string, body []byte) {
	m, err := decodeObject(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, parseError(err))
		return
	}
	patterns := stringList(m["index_patterns"])
	if len(patterns) == 0 {
		writeError(w, http.StatusBadRequest, esError{
			Type:   "action_request_validation_exception",
			Reason: "Validation Failed: 1: index patterns are missing;",
		})
		return
	}
	// MetadataIndexTemplateService.validateIndexTemplateV2 parses the
	// template's mappings as an index created from it would.
	if tt, ok := m["template"].(map[string]any); ok {
		if mp, ok := tt["mappings"].(map[string]any); ok {
			e := checkMapping(mp)
			if e == nil {
				settings := map[string]string{}
				if st, ok := tt["settings"].(map[string]any); ok {
					flattenSettings("", st, settings)
				}
				e = checkFieldLimit(mp, settings)
			}
			if e != nil {
				writeError(w, http.StatusBadRequest, esError{
					Type:   "illegal_argument_exception",
					Reason: "composable template [" + name + "] template after composition is invalid",
					Cause: &esError{Type: "illegal_argument_exception", Reason: "invalid composite mappings for [" + name + "]",
						Cause: e},
				})
				return
			}
		}
	}
	prio := int64(0)
	if p, ok := m["priority"].(json.Number); ok {
		prio, _ = p.Int64()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Elasticsearch refuses two templates of equal priority whose patterns
	// overlap, that is some index name matches both
	// (MetadataIndexTemplateService.findConflictingV2Templates).
	for _, t := range s.templates {
		if t.name == name || t.priority != prio {
			continue
		}
		if patternsOverlap(t.patterns, patterns) {
			writeError(w, http.StatusBadRequest, esError{
				Type: "illegal_argument_exception",
				Reason: fmt.Sprintf("index template [%s] has index patterns %s matching patterns from existing templates [%s] with patterns (%s => %s) that have the same priority [%d], multiple index templates may not match during index creation, please use a different priority",
					name, bracketList(patterns), t.name, t.name, bracketList(t.patterns), prio),
			})
			return
		}
	}
	s.templates[name] = &template{name: name, body: m, patterns: patterns, priority: prio}
	writeJSON(w, http.StatusOK, map[string]any{"acknowledged": true})
}

func (s *Server) handleGetTemplate(w http.ResponseWriter, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []any
	names := make([]string, 0, len(s.templates))
	for n := range s.templates {
		if globMatch(name, n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		out = append(out, map[string]any{"name": n, "index_template": s.templates[n].body})
	}
	if len(out) == 0 {
		writeError(w, http.StatusNotFound, esError{
			Type:   "resource_not_found_exception",
			Reason: "index template matching [" + name + "] not found",
		})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"index_templates": out})
}

func (s *Server) handleDeleteTemplate(w http.ResponseWriter, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.templates[name]; !ok {
		writeError(w, http.StatusNotFound, esError{
			Type:   "resource_not_found_exception",
			Reason: "index_template [" + name + "] missing",
		})
		return
	}
	delete(s.templates, name)
	writeJSON(w, http.StatusOK, map[string]any{"acknowledged": true})
}

func (s *Server) handleCreateIndex(w http.ResponseWriter, name string, body []byte) {
	var req map[string]any
	if len(bytes.TrimSpace(body)) > 0 {
		m, err := decodeObject(body)
		if err != nil {
			writeError(w, http.StatusBadRequest, parseError(err))
			return
		}
		req = m
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, e, status := s.createIndex(name, req); status != 0 {
		writeError(w, status, e)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"acknowledged": true, "shards_acknowledged": true, "index": name})
}

// createIndex creates an index from the highest-priority matching template
// overlaid with the request's settings, mappings and aliases. It returns a
// non-zero status with the error when it cannot. Callers hold s.mu.
func (s *Server) createIndex(name string, req map[string]any) (*index, esError, int) {
	if e, ok := validIndexName(name); !ok {
		return nil, e, http.StatusBadRequest
	}
	if ix, ok := s.indices[name]; ok {
		// Elasticsearch 8 answers 400 resource_already_exists_exception.
		return nil, esError{
			Type:   "resource_already_exists_exception",
			Reason: "index [" + name + "/" + ix.uuid + "] already exists",
			Index:  name, UUID: ix.uuid,
		}, http.StatusBadRequest
	}
	if s.aliasExists(name) {
		return nil, esError{
			Type:   "invalid_index_name_exception",
			Reason: "Invalid index name [" + name + "], already exists as alias",
			Index:  name,
		}, http.StatusBadRequest
	}
	ix := &index{
		name:     name,
		uuid:     s.newUUID(),
		created:  s.now(),
		settings: map[string]string{},
		mappings: map[string]any{},
		aliases:  map[string]map[string]any{},
		docs:     map[string]*doc{},
	}
	// Composable templates: only the single highest-priority match applies.
	if t := s.matchTemplate(name); t != nil {
		if tt, ok := t.body["template"].(map[string]any); ok {
			applyIndexBody(ix, tt)
		}
	}
	applyIndexBody(ix, req)
	if e := checkMapping(ix.mappings); e != nil {
		return nil, esError{Type: e.Type, Reason: "Failed to parse mapping: " + e.Reason, Cause: e}, http.StatusBadRequest
	}
	if e := checkFieldLimit(ix.mappings, ix.settings); e != nil {
		return nil, *e, http.StatusBadRequest
	}
	ix.settings["index.uuid"] = ix.uuid
	ix.settings["index.provided_name"] = name
	ix.settings["index.creation_date"] = strconv.FormatInt(ix.created.UnixMilli(), 10)
	if _, ok := ix.settings["index.number_of_shards"]; !ok {
		ix.settings["index.number_of_shards"] = "1"
	}
	if _, ok := ix.settings["index.number_of_replicas"]; !ok {
		ix.settings["index.number_of_replicas"] = "1"
	}
	for a := range ix.aliases {
		if _, clash := s.indices[a]; clash || a == name {
			return nil, esError{
				Type:   "invalid_alias_name_exception",
				Reason: "Invalid alias name [" + a + "]: an index or data stream exists with the same name as the alias",
				Index:  a,
			}, http.StatusBadRequest
		}
	}
	ix.searchable = map[string]*doc{}
	ix.refreshedAt = ix.created
	s.indices[name] = ix
	return ix, esError{}, 0
}

func applyIndexBody(ix *index, body map[string]any) {
	if body == nil {
		return
	}
	if st, ok := body["settings"].(map[string]any); ok {
		flattenSettings("", st, ix.settings)
	}
	if mp, ok := body["mappings"].(map[string]any); ok {
		mergeMapping(ix.mappings, deepCopy(mp).(map[string]any))
	}
	if al, ok := body["aliases"].(map[string]any); ok {
		for name, meta := range al {
			m, _ := meta.(map[string]any)
			ix.aliases[name] = aliasMeta(m)
		}
	}
}

// flattenSettings turns {"index":{"refresh_interval":"1s"}} and
// {"refresh_interval":"1s"} alike into "index.refresh_interval" = "1s".
func flattenSettings(prefix string, in map[string]any, out map[string]string) {
	for k, v := range in {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		if sub, ok := v.(map[string]any); ok {
			flattenSettings(key, sub, out)
			continue
		}
		if !strings.HasPrefix(key, "index.") {
			key = "index." + key
		}
		out[key] = scalarString(v)
	}
}

func nestSettings(flat map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range flat {
		parts := strings.Split(k, ".")
		m := out
		for _, p := range parts[:len(parts)-1] {
			sub, ok := m[p].(map[string]any)
			if !ok {
				sub = map[string]any{}
				m[p] = sub
			}
			m = sub
		}
		m[parts[len(parts)-1]] = v
	}
	return out
}

func (s *Server) matchTemplate(name string) *template {
	var best *template
	for _, t := range s.templates {
		for _, p := range t.patterns {
			if globMatch(p, name) && (best == nil || t.priority > best.priority) {
				best = t
				break
			}
		}
	}
	return best
}

func (s *Server) handleHeadIndex(w http.ResponseWriter, target string) {
	s.mu.Lock()
	_, _, ok := s.resolve(target)
	s.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) handleGetIndex(w http.ResponseWriter, target string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	targets, missing, ok := s.resolve(target)
	if !ok {
		writeError(w, http.StatusNotFound, indexNotFound(missing))
		return
	}
	out := map[string]any{}
	for _, t := range targets {
		out[t.ix.name] = map[string]any{
			"aliases":  aliasesJSON(t.ix.aliases),
			"mappings": deepCopy(t.ix.mappings),
			"settings": nestSettings(t.ix.settings),
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleDeleteIndex(w http.ResponseWriter, target string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for _, n := range strings.Split(target, ",") {
		if _, ok := s.indices[n]; ok {
			names = append(names, n)
			continue
		}
		if s.aliasExists(n) {
			writeError(w, http.StatusBadRequest, esError{
				Type:   "illegal_argument_exception",
				Reason: "The provided expression [" + n + "] matches an alias, specify the corresponding concrete indices instead.",
			})
			return
		}
		if strings.ContainsAny(n, "*?") {
			for name := range s.indices {
				if globMatch(n, name) {
					names = append(names, name)
				}
			}
			continue
		}
		writeError(w, http.StatusNotFound, indexNotFound(n))
		return
	}
	for _, n := range names {
		delete(s.indices, n)
	}
	writeJSON(w, http.StatusOK, map[string]any{"acknowledged": true})
}

// validIndexName applies Elasticsearch's index name rules
// (MetadataCreateIndexService.validateIndexOrAliasName).
func validIndexName(name string) (esError, bool) {
	bad := func(why string) (esError, bool) {
		return esError{Type: "invalid_index_name_exception", Reason: "Invalid index name [" + name + "], " + why, Index: name}, false
	}
	switch {
	case name == "" || name == "." || name == "..":
		return bad("must not be '.' or '..'")
	case strings.ToLower(name) != name:
		return bad("must be lowercase")
	case strings.ContainsAny(name, `\/*?"<>| ,#:`):
		return bad(`must not contain the following characters ['\','/','*','?','"','<','>','|',' ',',','#',':']`)
	case strings.HasPrefix(name, "_") || strings.HasPrefix(name, "-") || strings.HasPrefix(name, "+"):
		return bad("must not start with '_', '-', or '+'")
	case len(name) > 255:
		return bad("index name is too long, (" + strconv.Itoa(len(name)) + " > 255)")
	}
	return esError{}, true
}

func (s *Server) newUUID() string {
	s.seq++
	return fmt.Sprintf("esfake%016d", s.seq)
}

// globMatch is Elasticsearch's Regex.simpleMatch, which index patterns,
// index expressions and source filters use: "*" matches any run of
// characters; every other character, "?" and "[" included, only itself.
func globMatch(pattern, name string) bool {
	if pattern == "_all" {
		return true
	}
	// Greedy match with backtracking to the last star.
	p, n, star, mark := 0, 0, -1, 0
	for n < len(name) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, n
			p++
		case p < len(pattern) && pattern[p] == name[n]:
			p++
			n++
		case star >= 0:
			mark++
			p, n = star+1, mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// patternsOverlap tells whether some index name matches a pattern of a and
// one of b, the check MetadataIndexTemplateService makes on the
// intersection of their automata.
func patternsOverlap(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if globsIntersect(x, y) {
				return true
			}
		}
	}
	return false
}

// globsIntersect tells whether one string matches both simpleMatch
// patterns: a search over pairs of positions in x and y, where a star may
// end (match nothing more) or take the other pattern's next character.
func globsIntersect(x, y string) bool {
	type state struct{ i, j int }
	seen := map[state]bool{}
	var walk func(i, j int) bool
	walk = func(i, j int) bool {
		if seen[state{i, j}] {
			return false
		}
		seen[state{i, j}] = true
		xStar := i < len(x) && x[i] == '*'
		yStar := j < len(y) && y[j] == '*'
		switch {
		case i == len(x) && j == len(y):
			return true
		case xStar && walk(i+1, j), yStar && walk(i, j+1):
			return true
		case xStar && j < len(y) && !yStar:
			return walk(i, j+1) // x's star takes y's character
		case yStar && i < len(x) && !xStar:
			return walk(i+1, j) // y's star takes x's character
		case i < len(x) && j < len(y) && !xStar && !yStar && x[i] == y[j]:
			return walk(i+1, j+1)
		}
		return false
	}
	return walk(0, 0)
}

func bracketList(xs []string) string { return "[" + strings.Join(xs, ", ") + "]" }

func stringList(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func scalarString(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		return t.String()
	case bool:
		return strconv.FormatBool(t)
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, e := range t {
			s[i] = deepCopy(e)
		}
		return s
	}
	return v
}
